//! The run's share of each core, apart from other programs': pure attribution maths.
//!
//! Each worker's CPU time (from the board, refreshed at least every 50 ms while it computes)
//! grows between two progress views; the growth goes to the core the worker was last seen
//! on, for threads and processes alike. At each core sample the time gathered per core over
//! the sample's interval is the run's share; the sampled total minus that (never below 0) is
//! other programs'. No clock, no I/O: `update` feeds it events.

use std::collections::VecDeque;
use std::time::Duration;

use crate::telemetry::WorkerView;

/// The threshold of a busy machine, judged here over the last [`RECENT`].
pub(crate) use crate::telemetry::machine::BUSY_OTHERS;

/// How far back the others' average looks.
pub(crate) const RECENT: Duration = Duration::from_secs(1);

/// At most this much CPU time (seconds) per core is carried into the next sample when the
/// run's share came out above the sampled total: the board's CPU time grows in steps of up to
/// 50 ms, so a step may land just after the sample it belongs to.
const MAX_CARRY_SECONDS: f64 = 0.1;

/// What the attribution remembers between events.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RunShare {
    /// Each worker's CPU seconds at the last progress view of this run, by worker index;
    /// `None` until the first view.
    last_cpu: Vec<Option<f64>>,
    /// CPU seconds the run spent on each core since the last core sample.
    since_sample: Vec<f64>,
    /// Other programs' load of each recent sample (percent of one core, all cores summed),
    /// with the sample's interval; covers at least [`RECENT`] once there are enough.
    others: VecDeque<(Duration, f32)>,
}

impl RunShare {
    /// Folds one progress view: each worker's CPU time since the previous view goes to the
    /// core it was last seen on. A worker's first view only sets its starting point.
    pub(crate) fn observe(&mut self, workers: &[WorkerView]) {
        for worker in workers {
            if self.last_cpu.len() <= worker.index {
                self.last_cpu.resize(worker.index + 1, None);
            }
            let last = self.last_cpu[worker.index].replace(worker.cpu_seconds);
            let (Some(last), Some(core)) = (last, worker.core) else { continue };
            let grown = (worker.cpu_seconds - last).max(0.0);
            if self.since_sample.len() <= core {
                self.since_sample.resize(core + 1, 0.0);
            }
            self.since_sample[core] += grown;
        }
    }

    /// The run ended: the next run's workers start afresh. CPU time already gathered stays
    /// for the sample that covers it.
    pub(crate) fn end_run(&mut self) {
        self.last_cpu.clear();
    }

    /// Splits one core sample: returns the run's share of each core in percent (never above
    /// the sampled total), and remembers what other programs used.
    pub(crate) fn split(&mut self, usage: &[f32], interval: Duration) -> Vec<f32> {
        let seconds = interval.as_secs_f64();
        self.since_sample.resize(usage.len().max(self.since_sample.len()), 0.0);
        let mut others_total = 0.0;
        let run = usage
            .iter()
            .zip(self.since_sample.iter_mut())
            .map(|(total, gathered)| {
                let total = total.clamp(0.0, 100.0);
                let attributed = if seconds > 0.0 { (*gathered / seconds * 100.0) as f32 } else { 0.0 };
                let run = attributed.clamp(0.0, total);
                // What did not fit belongs to the next interval, up to one step of the board.
                let excess = f64::from(attributed - run) / 100.0 * seconds;
                *gathered = excess.min(MAX_CARRY_SECONDS);
                others_total += total - run;
                run
            })
            .collect();
        // Time gathered on cores the sample does not know of is dropped.
        self.since_sample.truncate(usage.len());
        if !interval.is_zero() {
            self.others.push_back((interval, others_total));
        }
        while self.others.len() > 1 && self.others.iter().skip(1).map(|(d, _)| *d).sum::<Duration>() >= RECENT {
            self.others.pop_front();
        }
        run
    }

    /// Other programs' average load over the last [`RECENT`] or so, in percent of one core
    /// (all cores summed: 150 means one and a half cores).
    #[must_use]
    pub(crate) fn others_recent(&self) -> f32 {
        let span: Duration = self.others.iter().map(|(d, _)| *d).sum();
        if span.is_zero() {
            return 0.0;
        }
        let weighted: f64 = self.others.iter().map(|(d, load)| d.as_secs_f64() * f64::from(*load)).sum();
        (weighted / span.as_secs_f64()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUARTER: Duration = Duration::from_millis(250);

    fn worker(index: usize, core: Option<usize>, cpu_seconds: f64) -> WorkerView {
        WorkerView::running(index, core, cpu_seconds)
    }

    fn close(actual: &[f32], expected: &[f32]) -> bool {
        actual.len() == expected.len() && actual.iter().zip(expected).all(|(a, e)| (a - e).abs() < 0.01)
    }

    #[test]
    fn each_workers_cpu_time_goes_to_its_core() {
        let mut share = RunShare::default();
        share.observe(&[worker(0, Some(0), 0.0), worker(1, Some(1), 0.0)]);
        share.observe(&[worker(0, Some(0), 0.125), worker(1, Some(1), 0.05)]);
        share.observe(&[worker(0, Some(0), 0.25), worker(1, Some(1), 0.0625)]);
        let run = share.split(&[100.0, 60.0], QUARTER);
        assert!(close(&run, &[100.0, 25.0]), "{run:?}");
        // Others: 0 on core 0, 35 on core 1.
        assert!((share.others_recent() - 35.0).abs() < 0.01, "{}", share.others_recent());
    }

    #[test]
    fn two_workers_on_one_core_add_up_and_a_move_follows_the_last_core_seen() {
        let mut share = RunShare::default();
        share.observe(&[worker(0, Some(1), 1.0), worker(1, Some(1), 2.0)]);
        share.observe(&[worker(0, Some(1), 1.1), worker(1, Some(0), 2.1)]);
        let run = share.split(&[50.0, 50.0], QUARTER);
        assert!(close(&run, &[40.0, 40.0]), "{run:?}");
    }

    #[test]
    fn the_first_view_of_a_run_is_only_a_starting_point() {
        let mut share = RunShare::default();
        // Whatever a worker had before the dashboard saw it is not this interval's.
        share.observe(&[worker(0, Some(0), 5.0)]);
        assert!(close(&share.split(&[80.0], QUARTER), &[0.0]));
        share.observe(&[worker(0, Some(0), 5.2)]);
        share.end_run();
        // A new run's worker 0 starts from zero again: its first view attributes nothing.
        share.observe(&[worker(0, Some(0), 0.01)]);
        assert!(close(&share.split(&[80.0], QUARTER), &[80.0]), "the first run's 0.2 s, capped at the total");
    }

    #[test]
    fn others_are_the_total_minus_the_run_and_never_negative() {
        let mut share = RunShare::default();
        share.observe(&[worker(0, Some(0), 0.0), worker(1, None, 0.0)]);
        // 0.3 s in 0.25 s on one core: more than the sampled 90 %.
        share.observe(&[worker(0, Some(0), 0.3), worker(1, None, 9.0)]);
        let run = share.split(&[90.0, 10.0], QUARTER);
        assert!(close(&run, &[90.0, 0.0]), "a worker with no known core is not attributed: {run:?}");
        assert!((share.others_recent() - 10.0).abs() < 0.01);
        // The excess (0.3 − 0.225 s) belongs to the next interval.
        let run = share.split(&[100.0, 0.0], QUARTER);
        assert!(close(&run, &[30.0, 0.0]), "{run:?}");
    }

    #[test]
    fn the_carry_is_bounded_and_unknown_cores_are_dropped() {
        let mut share = RunShare::default();
        share.observe(&[worker(0, Some(0), 0.0), worker(1, Some(7), 0.0)]);
        share.observe(&[worker(0, Some(0), 10.0), worker(1, Some(7), 1.0)]);
        assert!(close(&share.split(&[100.0], QUARTER), &[100.0]));
        let run = share.split(&[100.0], QUARTER);
        assert!(close(&run, &[40.0]), "at most 0.1 s carried: {run:?}");
        assert!(close(&share.split(&[100.0], QUARTER), &[0.0]));
    }

    #[test]
    fn the_others_average_covers_the_last_second() {
        let mut share = RunShare::default();
        assert!(share.others_recent().abs() < f32::EPSILON, "nothing known yet");
        share.split(&[100.0, 100.0], Duration::from_secs(1));
        assert!((share.others_recent() - 200.0).abs() < 0.01);
        for _ in 0..4 {
            share.split(&[10.0, 0.0], QUARTER);
        }
        // Four quarter seconds cover the last second: the idle-pace sample has left.
        assert!((share.others_recent() - 10.0).abs() < 0.01, "{}", share.others_recent());
        share.split(&[50.0, 50.0], QUARTER);
        // Weighted by interval: three of 10 and one of 100.
        assert!((share.others_recent() - 32.5).abs() < 0.01, "{}", share.others_recent());
    }
}
