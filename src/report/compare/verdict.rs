//! The verdict of a comparison: which runs are wrong (they never win), which right run is best
//! by the workload's own measure (wall time when it has none), and the sentence that says so,
//! naming every setting that differs between the two rows it compares.

use std::borrow::Borrow;
use std::cmp::Ordering;

use super::{comparable, right_set, Row};
use crate::engine::affinity::Affinity;
use crate::engine::{Model, Plan, RunOutcome, RunReport, StartMethod};
use crate::workload::{Measure, Wrong};

/// Why `report`'s result is wrong, if it is: the workload's own check (lost updates), a
/// checksum that does not match, or workers that did not end well.
#[must_use]
pub(crate) fn wrong_of(report: &RunReport) -> Option<Wrong> {
    if let Some(wrong) = report.metrics.wrong() {
        return Some(wrong);
    }
    if report.checksum_ok() == Some(false) {
        return Some(Wrong {
            brief: "checksum".to_owned(),
            whole: "ended with a checksum that does not match".to_owned(),
        });
    }
    if report.outcome != RunOutcome::Failed {
        return None;
    }
    let failed = report.workers.iter().filter(|worker| worker.outcome.is_failure()).count().max(1);
    let whole = if failed == 1 { "had a worker fail".to_owned() } else { format!("had {failed} workers fail") };
    Some(Wrong { brief: format!("{failed} failed"), whole })
}

/// The workload's own measure of a row, from its latest run.
fn measure_of<R: Borrow<RunReport>>(row: &Row, reports: &[R]) -> Option<Measure> {
    row.latest(reports).and_then(|report| report.metrics.measure())
}

/// `Less` when row `a` is better than row `b`: by the workload's measure when both have one,
/// else the shorter wall time.
fn rank<R: Borrow<RunReport>>(rows: &[Row], reports: &[R], a: usize, b: usize) -> Ordering {
    match (measure_of(&rows[a], reports), measure_of(&rows[b], reports)) {
        (Some(x), Some(y)) if x.beats(&y) => Ordering::Less,
        (Some(x), Some(y)) if y.beats(&x) => Ordering::Greater,
        (Some(_), Some(_)) => Ordering::Equal,
        _ => rows[a].wall_mean.total_cmp(&rows[b].wall_mean),
    }
}

/// The best and the worst of `set`, by [`rank`]; None for an empty set.
#[must_use]
pub(crate) fn best_and_worst<R: Borrow<RunReport>>(
    rows: &[Row],
    reports: &[R],
    set: &[usize],
) -> Option<(usize, usize)> {
    let best = set.iter().copied().min_by(|a, b| rank(rows, reports, *a, *b))?;
    let worst = set.iter().copied().max_by(|a, b| rank(rows, reports, *a, *b))?;
    Some((best, worst))
}

/// What the latest run's set shows, with the rows it compares (the better, then the other):
/// a wrong result first, since no speed makes up for it; else the best right row against the
/// worst, parallel rows among themselves when there are two.
pub(crate) fn sentence_for<R: Borrow<RunReport>>(
    rows: &[Row],
    reports: &[R],
    latest: usize,
) -> Option<(String, usize, usize)> {
    let latest_row = rows.iter().position(|row| row.runs.contains(&latest))?;
    let plan = &rows[latest_row].latest(reports)?.plan;
    let mut right = right_set(rows, reports, plan);
    // Baselines are what speedup already compares with: the sentence compares the parallel
    // rows among themselves when there are two.
    let parallel: Vec<usize> =
        right.iter().copied().filter(|at| rows[*at].latest(reports).is_some_and(|r| r.plan.workers > 1)).collect();
    let wrong_row = if rows[latest_row].wrong.is_some() {
        Some(latest_row)
    } else if parallel.len() < 2 {
        // No two right parallel runs to compare: the set's latest wrong run is the lesson.
        rows.iter()
            .enumerate()
            .rev()
            .find(|(_, row)| row.wrong.is_some() && judged_with(row, reports, plan))
            .map(|(at, _)| at)
    } else {
        None
    };
    if let Some(wrong_at) = wrong_row {
        // A parallel run that got it right says more than the baseline, which cannot race.
        let partners = if parallel.is_empty() { &right } else { &parallel };
        return Some(wrong_sentence(rows, reports, wrong_at, partners));
    }
    if parallel.len() > 1 {
        right = parallel;
    }
    let (best, worst) = best_and_worst(rows, reports, &right)?;
    if best == worst {
        return None;
    }
    let (w, l) = (rows[best].latest(reports)?, rows[worst].latest(reports)?);
    let (w_label, l_label) = labels(&w.plan, &rows[best].variant, &l.plan, &rows[worst].variant);
    let sentence = match (w.metrics.measure(), l.metrics.measure()) {
        (Some(wm), Some(lm)) if wm.about_the_same(&lm) => {
            format!("{w_label} and {l_label} came out about the same: {} against {}.", wm.text, lm.text)
        }
        (Some(wm), Some(lm)) => format!("{w_label} {} than {l_label}: {} against {}.", wm.wins_by, wm.text, lm.text),
        _ => wall_sentence(&rows[best], &rows[worst], (&w.plan, &w_label), (&l.plan, &l_label)),
    };
    Some((sentence, best, worst))
}

/// Whether `row` ran to its end (finished or failed, not cancelled) in `plan`'s set.
fn judged_with<R: Borrow<RunReport>>(row: &Row, reports: &[R], plan: &Plan) -> bool {
    row.latest(reports).is_some_and(|r| !matches!(r.outcome, RunOutcome::Cancelled(_)) && comparable(&r.plan, plan))
}

/// `threads × 2 (racy) lost 142,224,382 of 288,000,000 updates, so its result is wrong;
/// threads × 2 (mutex) got it right.`
fn wrong_sentence<R: Borrow<RunReport>>(
    rows: &[Row],
    reports: &[R],
    wrong_at: usize,
    right: &[usize],
) -> (String, usize, usize) {
    let wrong = &rows[wrong_at];
    let why = wrong.wrong.as_ref().map_or("failed", |wrong| wrong.whole.as_str());
    let Some(wrong_plan) = wrong.latest(reports).map(|report| &report.plan) else {
        return (String::new(), wrong_at, wrong_at);
    };
    let best_right = best_and_worst(rows, reports, right).map(|(best, _)| best);
    let Some((right_at, right_plan)) = best_right.and_then(|at| Some((at, &rows[at].latest(reports)?.plan))) else {
        let label = label(wrong_plan, &wrong.variant, &[]);
        return (format!("{label} {why}, so its result is wrong."), wrong_at, wrong_at);
    };
    let (right_label, wrong_label) = labels(right_plan, &rows[right_at].variant, wrong_plan, &wrong.variant);
    (format!("{wrong_label} {why}, so its result is wrong; {right_label} got it right."), right_at, wrong_at)
}

/// The sentence by wall time: how many times faster, and why, from what differs.
fn wall_sentence(fast: &Row, slow: &Row, (w, w_label): (&Plan, &str), (l, l_label): (&Plan, &str)) -> String {
    let ratio = slow.wall_mean / fast.wall_mean.max(f64::MIN_POSITIVE);
    if ratio < 1.05 {
        return format!("{w_label} and {l_label} took about the same time ({ratio:.2}×).");
    }
    let shares_a_lock = |p: &Plan| p.gil.is_some() && p.model != Model::Processes && p.workers > 1;
    let reason = if shares_a_lock(l) && !shares_a_lock(w) {
        "the lock lets one thread of a process compute at a time".to_owned()
    } else if shares_a_lock(w) && w.workers > l.workers {
        // Not "shared the work": under one lock only waits overlap, so a large gain in a
        // computing workload says the slower run had less of the machine.
        format!("its {} threads share one lock, so only their waits can overlap", w.workers)
    } else if w.workers > l.workers {
        format!("{} workers shared the work", w.workers)
    } else if w.workers < l.workers {
        format!("{} workers cost more than they gained", l.workers)
    } else if l.affinity == Affinity::Single && w.affinity != Affinity::Single && l.workers > 1 {
        "on one CPU its workers take turns".to_owned()
    } else {
        w.workload.kind.summary().to_owned()
    };
    format!("{w_label} ran {ratio:.2}× faster than {l_label}: {reason}.")
}

/// What a row's label adds when it differs from the other's: affinity, the lock's switch
/// interval, the start method, the chunk, respawning. `threads × 2 pinned to one CPU`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    Affinity,
    SwitchInterval,
    Start,
    Chunk,
    Respawn,
}

/// The labels of two rows, each naming every setting in which they differ, so that the
/// sentence never reads "threads × 2 ran faster than threads × 2".
#[must_use]
pub(crate) fn labels(a: &Plan, a_variant: &str, b: &Plan, b_variant: &str) -> (String, String) {
    let mut extras = Vec::new();
    if a.affinity != b.affinity {
        extras.push(Extra::Affinity);
    }
    if a.gil.is_some() && b.gil.is_some() && a.gil != b.gil {
        extras.push(Extra::SwitchInterval);
    }
    if a.model == Model::Processes && b.model == Model::Processes && a.start != b.start {
        extras.push(Extra::Start);
    }
    if a.chunk != b.chunk && (a.schedule == b.schedule) {
        extras.push(Extra::Chunk);
    }
    if a.respawn != b.respawn {
        extras.push(Extra::Respawn);
    }
    (label(a, a_variant, &extras), label(b, b_variant, &extras))
}

/// `processes × 2`, `threads × 2 with the lock`, `threads × 2 (mutex)`, `CPython 3.11 threads × 2`,
/// with `extras` named.
fn label(plan: &Plan, variant: &str, extras: &[Extra]) -> String {
    let runtime = crate::report::interpreter_words(&plan.runtime).map_or_else(String::new, |words| words + " ");
    let mut words = vec![format!("{runtime}{} × {}", plan.model.name(), plan.workers)];
    if let Some(interval) = plan.gil {
        words.push(if extras.contains(&Extra::SwitchInterval) {
            format!("with the lock ({} ms)", interval.as_millis())
        } else {
            "with the lock".to_owned()
        });
    }
    for extra in extras {
        match extra {
            Extra::Affinity => words.push(match &plan.affinity {
                Affinity::None => "unpinned".to_owned(),
                Affinity::Spread => "pinned one per CPU".to_owned(),
                Affinity::Single => "pinned to one CPU".to_owned(),
                Affinity::List(_) => format!("pinned to CPUs {}", plan.affinity),
            }),
            Extra::Start => words.push(match plan.start {
                StartMethod::Fork => "forked".to_owned(),
                StartMethod::Spawn => "spawned".to_owned(),
                StartMethod::Forkserver => "from a fork server".to_owned(),
            }),
            Extra::Chunk => words.push(format!("chunk {}", plan.chunk)),
            Extra::Respawn if plan.respawn => words.push("respawning".to_owned()),
            Extra::Respawn | Extra::SwitchInterval => {}
        }
    }
    if !variant.is_empty() {
        words.push(format!("({variant})"));
    }
    words.join(" ")
}
