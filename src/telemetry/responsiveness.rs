//! The dashboard's own responsiveness: the latest key-to-screen latencies (from reading a key
//! to the end of drawing the frame that shows its effect) and frame times, each kept in a
//! small ring, summed up as p50/p99 for the help overlay. The loop measures; this only keeps
//! and summarises, so it is tested without a clock.

use std::collections::VecDeque;
use std::time::Duration;

/// Measurements kept per ring: enough for a p99 that means something, small enough to sort
/// every time the figures are shown.
pub(crate) const RING: usize = 512;

/// The latest measurements of one kind, oldest dropped first.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ring {
    samples: VecDeque<Duration>,
    /// Every measurement ever taken, kept or dropped.
    count: u64,
}

impl Ring {
    pub(crate) fn push(&mut self, sample: Duration) {
        if self.samples.len() == RING {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        self.count += 1;
    }

    /// The p50 and p99 of the kept measurements, with how many were taken in all.
    #[must_use]
    pub(crate) fn figures(&self) -> Option<Percentiles> {
        let mut sorted: Vec<Duration> = self.samples.iter().copied().collect();
        sorted.sort_unstable();
        let at = |quantile: f64| sorted[((sorted.len() - 1) as f64 * quantile).ceil() as usize];
        (!sorted.is_empty()).then(|| Percentiles {
            p50: at(0.5),
            p99: at(0.99),
            max: sorted[sorted.len() - 1],
            count: self.count,
        })
    }
}

/// A summary of one ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Percentiles {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    /// Measurements taken since the dashboard started (the percentiles cover the last [`RING`]).
    pub count: u64,
}

/// What the help overlay shows of the dashboard's responsiveness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Responsiveness {
    pub key_to_screen: Option<Percentiles>,
    /// Drawing one frame, to the terminal's flush.
    pub frame: Option<Percentiles>,
}

/// Both rings, as the loop fills them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meter {
    pub key_to_screen: Ring,
    pub frame: Ring,
}

impl Meter {
    #[must_use]
    pub(crate) fn figures(&self) -> Responsiveness {
        Responsiveness { key_to_screen: self.key_to_screen.figures(), frame: self.frame.figures() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn percentiles_of_a_known_set() {
        let mut ring = Ring::default();
        assert_eq!(ring.figures(), None);
        for n in 1..=100 {
            ring.push(ms(n));
        }
        let figures = ring.figures().expect("figures");
        assert_eq!((figures.p50, figures.p99, figures.max, figures.count), (ms(51), ms(100), ms(100), 100));
        ring.push(ms(3));
        assert_eq!(ring.figures().map(|f| f.count), Some(101));
    }

    #[test]
    fn one_slow_frame_in_a_hundred_is_the_p99_and_old_ones_leave_the_ring() {
        let mut ring = Ring::default();
        for n in 0..200 {
            ring.push(if n % 100 == 99 { ms(80) } else { ms(2) });
        }
        let figures = ring.figures().expect("figures");
        assert_eq!((figures.p50, figures.p99), (ms(2), ms(80)));
        for _ in 0..RING {
            ring.push(ms(1));
        }
        let figures = ring.figures().expect("figures");
        assert_eq!((figures.p99, figures.max, figures.count), (ms(1), ms(1), 200 + RING as u64));
    }
}
