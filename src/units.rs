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

/// A `--size` the user typed that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read '{text}' as a size in {unit}: use a whole number{examples}")]
pub(crate) struct SizeError {
    text: String,
    unit: String,
    examples: &'static str,
}

/// Reads a `--size` in a workload's `short_unit` as the dashboard shows it (`150M ints`,
/// `1.5G ints`, `400 ms`, `512 MiB`), with or without the unit word: counts take the decimal
/// multipliers K, M, G, T (`150M`, `1.5G`); milliseconds take a time unit (`400ms`, `1.5s`,
/// `2m`); MiB take a binary one (`512MiB`, `2G`, `1.5GiB`). The result must be a whole number of
/// the unit.
pub(crate) fn parse_size(text: &str, short_unit: &str) -> Result<u64, SizeError> {
    let (multipliers, examples): (&[(&str, u64)], _) = match short_unit {
        "ms" => (
            &[("", 1), ("ms", 1), ("s", 1000), ("m", 60_000), ("min", 60_000), ("h", 3_600_000)],
            ", or one with a unit: 400, 400ms, 1.5s, 2m",
        ),
        unit if unit.starts_with("MiB") => (
            &[("", 1), ("M", 1), ("MiB", 1), ("G", 1024), ("GiB", 1024), ("T", 1 << 20), ("TiB", 1 << 20)],
            ", or one with a unit: 512, 512MiB, 1.5GiB, 2G",
        ),
        _ => (
            &[("", 1), ("K", 1000), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000)],
            ", or one with a multiplier: 150000000, 150M, 1.5G",
        ),
    };
    let unreadable = || SizeError { text: text.to_owned(), unit: short_unit.to_owned(), examples };
    // The unit word as shown (`ints`, `MiB data`) may follow; so may `_` between digit groups.
    let trimmed = text.trim();
    let trimmed = trimmed.strip_suffix(short_unit).filter(|rest| !rest.is_empty()).unwrap_or(trimmed).trim_end();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_')).unwrap_or(trimmed.len());
    let (number, suffix) = trimmed.split_at(split);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| -> Option<String> {
        let kept: String = part.chars().filter(|c| *c != '_').collect();
        kept.chars().all(|c| c.is_ascii_digit()).then_some(kept)
    };
    let (Some(whole), Some(fraction)) = (digits(whole), digits(fraction)) else {
        return Err(unreadable());
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(unreadable());
    }
    let &(_, multiplier) = multipliers.iter().find(|(name, _)| *name == suffix.trim()).ok_or_else(unreadable)?;
    // number × multiplier in whole units, exactly: (whole.fraction × 10^len) × multiplier / 10^len.
    let scale = 10u128.checked_pow(u32::try_from(fraction.len()).map_err(|_| unreadable())?).ok_or_else(unreadable)?;
    let mantissa: u128 = format!("{whole}{fraction}").parse().map_err(|_| unreadable())?;
    let scaled = mantissa.checked_mul(u128::from(multiplier)).ok_or_else(unreadable)?;
    if scaled % scale != 0 {
        return Err(unreadable());
    }
    u64::try_from(scaled / scale).map_err(|_| unreadable())
}

/// `834 µs`, `12.5 ms`, `3.21 s`: three significant figures in a unit that fits.
#[must_use]
pub(crate) fn format_duration(duration: Duration) -> String {
    format_seconds(duration.as_secs_f64())
}

/// `212 µs`, `12.5 ms`, `3.21 s`, `123.5 s`, `2049 s`: at most 8 characters below 100,000 s,
/// so a figure fits its table column whole.
#[must_use]
pub(crate) fn format_seconds(seconds: f64) -> String {
    if seconds > 0.0 && seconds < 1e-6 {
        format!("{:.0} ns", seconds * 1e9)
    } else if seconds < 1e-3 {
        format!("{:.0} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds < 100.0 {
        format!("{seconds:.2} s")
    } else if seconds < 1000.0 {
        format!("{seconds:.1} s")
    } else {
        // A thousand workers' CPU time: whole seconds keep it within a table's 8 columns.
        format!("{seconds:.0} s")
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

/// `text` in at most `width` characters, cut after a whole word and marked ` …` when it
/// does not fit (a separator left at the cut goes with it); a first word too long for
/// `width` is cut as [`truncate`] cuts it.
#[must_use]
pub(crate) fn truncate_words(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_owned();
    }
    let limit = width.saturating_sub(2).min(chars.len());
    let Some(mut cut) = (1..=limit).rev().find(|at| chars[*at] == ' ') else {
        return truncate(text, width);
    };
    while cut > 0 && matches!(chars[cut - 1], ' ' | '·' | '×' | ':' | ',' | ';') {
        cut -= 1;
    }
    if cut == 0 {
        return truncate(text, width);
    }
    format!("{} …", chars[..cut].iter().collect::<String>())
}

/// `142M`, `512`, `12k`: a count in at most 4 characters (rounded down), for a table cell.
#[must_use]
pub(crate) fn brief_count(count: u64) -> String {
    match count {
        0..=999 => count.to_string(),
        1_000..=999_999 => format!("{}k", count / 1_000),
        1_000_000..=999_999_999 => format!("{}M", count / 1_000_000),
        _ => format!("{}G", count / 1_000_000_000),
    }
}

/// `142,224,382`: a count with its thousands apart.
#[must_use]
pub(crate) fn grouped(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
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
    fn sizes_read_as_the_dashboard_shows_them() {
        let ints = |text| parse_size(text, "ints");
        assert_eq!(ints("150000000"), Ok(150_000_000));
        assert_eq!(ints("150M"), Ok(150_000_000));
        assert_eq!(ints("150M ints"), Ok(150_000_000));
        assert_eq!(ints("1.5G"), Ok(1_500_000_000));
        assert_eq!(ints("1.5G ints"), Ok(1_500_000_000));
        assert_eq!(ints("4_800_000_000"), Ok(4_800_000_000));
        assert_eq!(ints("20k"), Ok(20_000));
        assert_eq!(parse_size("90K trips", "trips"), Ok(90_000));
        let ms = |text| parse_size(text, "ms");
        assert_eq!(ms("400"), Ok(400));
        assert_eq!(ms("400ms"), Ok(400));
        assert_eq!(ms("400 ms"), Ok(400));
        assert_eq!(ms("1.5s"), Ok(1500));
        assert_eq!(ms("2m"), Ok(120_000));
        let mib = |text| parse_size(text, "MiB");
        assert_eq!(mib("512"), Ok(512));
        assert_eq!(mib("512MiB"), Ok(512));
        assert_eq!(mib("512 MiB"), Ok(512));
        assert_eq!(mib("1.5GiB"), Ok(1536));
        assert_eq!(mib("2G"), Ok(2048));
        assert_eq!(parse_size("512 MiB data", "MiB data"), Ok(512));
        assert_eq!(parse_size("1GiB", "MiB data"), Ok(1024));
    }

    #[test]
    fn sizes_that_cannot_be_read_are_refused_in_one_line() {
        for (text, unit) in [
            ("", "ints"),
            ("M", "ints"),
            ("1.5", "ints"),
            ("150X", "ints"),
            ("-3", "ints"),
            ("1.2.3M", "ints"),
            ("99999999999999999999999", "ints"),
            ("20000000T", "ints"),
            ("1.0001s", "ms"),
            ("400us", "ms"),
            ("5 parsecs", "ms"),
            ("1.5M", "MiB"),
            ("150M ints", "MiB"),
        ] {
            let refused = parse_size(text, unit);
            assert!(refused.is_err(), "'{text}' in {unit} gave {refused:?}");
            let message = refused.map_err(|error| error.to_string()).err().unwrap_or_default();
            assert_eq!(message.lines().count(), 1, "{message}");
        }
        assert_eq!(
            parse_size("150X", "ints").map_err(|error| error.to_string()),
            Err("cannot read '150X' as a size in ints: use a whole number, or one with a multiplier: 150000000, 150M, 1.5G"
                .to_owned())
        );
    }

    #[test]
    fn formats_in_a_fitting_unit() {
        assert_eq!(format_seconds(0.000_212), "212 µs");
        assert_eq!(format_seconds(1e-9), "1 ns");
        assert_eq!(format_seconds(0.0), "0 µs");
        assert_eq!(format_seconds(0.0125), "12.5 ms");
        assert_eq!(format_seconds(3.214), "3.21 s");
        assert_eq!(format_seconds(123.456), "123.5 s");
        assert_eq!(format_seconds(2048.7), "2049 s");
        assert!(format_seconds(99_999.0).chars().count() <= 8, "a results cell");
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
        assert_eq!(truncate_words("cpu · processes × 2: failed in 420.0 ms", 24), "cpu · processes × 2 …");
        assert_eq!(truncate_words("finished in 3.98 s", 18), "finished in 3.98 s");
        assert_eq!(truncate_words("abcdefgh ij", 5), "abcd…");
    }
}
