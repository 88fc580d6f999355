//! A latency histogram that many threads record into at once without a lock: what `ipc` and
//! `latency` time their round trips with, in the program (never in a worker).

use std::sync::atomic::{AtomicU64, Ordering};

/// A histogram of nanoseconds in buckets of 1/16 of a power of two (at most 6 % wide), each an
/// atomic so that every coordinator thread records into it at once.
pub(crate) struct Latencies {
    buckets: Vec<AtomicU64>,
}

/// Below this every nanosecond has its own bucket; above, 16 buckets per power of two.
const EXACT: u64 = 16;
const BUCKETS: usize = 16 + 60 * 16;

impl Latencies {
    pub(crate) fn new() -> Self {
        Self { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect() }
    }

    fn bucket_of(ns: u64) -> usize {
        if ns < EXACT {
            return ns as usize;
        }
        let power = 63 - u64::from(ns.leading_zeros());
        let mantissa = (ns >> (power - 4)) & 15;
        16 + (power as usize - 4) * 16 + mantissa as usize
    }

    /// The middle of a bucket.
    fn value_of(bucket: usize) -> u64 {
        if bucket < EXACT as usize {
            return bucket as u64;
        }
        let power = (bucket - 16) / 16 + 4;
        let mantissa = ((bucket - 16) % 16) as u64;
        let width = 1u64 << (power - 4);
        (16 + mantissa) * width + width / 2
    }

    pub(crate) fn record(&self, ns: u64) {
        self.buckets[Self::bucket_of(ns).min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count(&self) -> u64 {
        self.buckets.iter().map(|bucket| bucket.load(Ordering::Relaxed)).sum()
    }

    /// The value at `quantile` (0.5: the median), None with no samples.
    pub(crate) fn quantile(&self, quantile: f64) -> Option<u64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = ((quantile * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0;
        for (bucket, count) in self.buckets.iter().enumerate() {
            seen += count.load(Ordering::Relaxed);
            if seen >= rank {
                return Some(Self::value_of(bucket));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_narrow() {
        let mut last = 0;
        for ns in (0..200).chain((200..10_000_000).step_by(997)) {
            let bucket = Latencies::bucket_of(ns);
            assert!(bucket >= last, "{ns}");
            last = bucket;
            let middle = Latencies::value_of(bucket);
            assert!(middle.abs_diff(ns) as f64 <= (ns as f64 / 16.0).max(1.0), "{ns} → {middle}");
        }
        assert!(Latencies::bucket_of(u64::MAX) < BUCKETS);
    }

    #[test]
    fn quantiles_of_a_known_spread() {
        let latencies = Latencies::new();
        assert_eq!(latencies.quantile(0.5), None);
        for ns in 1..=1000 {
            latencies.record(ns * 1000);
        }
        let p50 = latencies.quantile(0.5).expect("p50");
        let p99 = latencies.quantile(0.99).expect("p99");
        assert!((470_000..=530_000).contains(&p50), "{p50}");
        assert!((930_000..=1_050_000).contains(&p99), "{p99}");
    }
}
