//! Numbers and text as people type and read them: `5ms`, `1.5s`, `12.3 MiB`, and text cut to
//! a column's width with a visible mark. Plain functions: no I/O, no state.

use std::time::Duration;

/// A duration the user typed that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DurationError {
    #[error("cannot read '{0}' as a duration: use a number with a unit, such as 5ms, 500us or 1.5s")]
    Unreadable(String),
    #[error("'{0}' is longer than a day, the longest duration taken")]
    TooLong(String),
}

/// Reads `500us`, `5ms`, `1.5s`, `2m`. A bare number is refused: the unit is never guessed.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unreadable = || DurationError::Unreadable(text.to_owned());
    let value: f64 = number.parse().map_err(|_| unreadable())?;
    let seconds_per_unit = match unit.trim() {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err(unreadable()),
    };
    let seconds = value * seconds_per_unit;
    if !seconds.is_finite() || seconds > 86_400.0 {
        return Err(DurationError::TooLong(text.to_owned()));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `834 µs`, `12.5 ms`, `3.21 s`: three significant figures in a unit that fits.
#[must_use]
pub(crate) fn format_duration(duration: Duration) -> String {
    format_seconds(duration.as_secs_f64())
}

#[must_use]
pub(crate) fn format_seconds(seconds: f64) -> String {
    if seconds > 0.0 && seconds < 1e-6 {
        format!("{:.0} ns", seconds * 1e9)
    } else if seconds < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
}

/// `512 B`, `4.0 KiB`, `12.3 MiB`, `1.50 GiB`, `8.00 TiB`.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub(crate) fn format_bytes(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if b < KIB {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / KIB / KIB)
    } else if b < KIB * KIB * KIB * KIB {
        format!("{:.2} GiB", b / KIB / KIB / KIB)
    } else {
        format!("{:.2} TiB", b / KIB / KIB / KIB / KIB)
    }
}

/// Nanoseconds to seconds for reports.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub(crate) fn ns_to_seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Cuts `text` to `width` characters, marking the cut with `…`.
#[must_use]
pub(crate) fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else if width == 0 {
        String::new()
    } else {
        let mut cut: String = text.chars().take(width - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usual_units() {
        assert_eq!(parse_duration("5ms"), Ok(Duration::from_millis(5)));
        assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration(" 2 s "), Ok(Duration::from_secs(2)));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for bad in ["", "5", "ms", "five ms", "5 parsecs", "1e400s", "-3ms", "100000m"] {
            assert!(parse_duration(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(parse_duration("99999s"), Err(DurationError::TooLong("99999s".into())));
    }

    #[test]
    fn formats_in_a_fitting_unit() {
        assert_eq!(format_seconds(0.000_212), "212 µs");
        assert_eq!(format_seconds(1e-9), "1 ns");
        assert_eq!(format_seconds(0.0), "0 µs");
        assert_eq!(format_seconds(0.0125), "12.5 ms");
        assert_eq!(format_seconds(3.214), "3.21 s");
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(5 * 1024 * 1024 + 100 * 1024), "5.1 MiB");
        assert_eq!(format_bytes(8 << 40), "8.00 TiB");
    }

    #[test]
    fn truncate_marks_cuts() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("abcd", 4), "abcd");
        assert_eq!(truncate("crashed (signal 11)", 0), "");
        assert_eq!(truncate("µs→ns", 3), "µs…");
    }
}
