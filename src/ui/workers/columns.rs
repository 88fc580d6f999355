//! The workers table's columns: which of them fit the panel's width, and how wide each is
//! drawn. A column list with priorities and minimum widths, as bottom's data tables keep, and
//! one pure function, [`fit`], that picks the columns shown; the panel draws what it returns.

use ratatui::layout::Constraint;

/// A column of the workers table. Declared in display order, left to right.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum WorkerColumn {
    /// The worker's index.
    Index,
    State,
    /// A gauge of the task in hand.
    Task,
    /// Tasks done, of how many when known.
    Tasks,
    /// Tasks per second.
    Rate,
    /// The core it last ran on.
    Core,
    /// CPU time.
    Cpu,
    /// Its time split into running, waiting for a CPU, off CPU, lock wait, blocked and idle.
    Split,
    LockWait,
    /// Time waiting for a CPU after a preemption.
    CpuWait,
    /// Time off its CPU, meant to run, for a cause not known.
    OffCpu,
    /// pid/tid.
    Pid,
    /// Why it ended badly.
    Reason,
}

/// A column as drawn: which, and how many cells wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ShownColumn {
    pub column: WorkerColumn,
    pub width: u16,
}

impl ShownColumn {
    /// The column's part of the table's layout; the reason takes whatever the others leave,
    /// since it is text of any length.
    #[must_use]
    pub(crate) fn constraint(self) -> Constraint {
        if self.column == WorkerColumn::Reason {
            Constraint::Min(self.width)
        } else {
            Constraint::Length(self.width)
        }
    }
}

/// One column's claim on the width.
#[derive(Debug, Clone, Copy)]
struct Claim {
    column: WorkerColumn,
    /// Narrowest it is drawn.
    min: u16,
    /// Widest it grows to, from what the columns before it in priority order left.
    max: u16,
    /// Drawn at any width, even past the panel's edge; the others only when their minimum fits.
    required: bool,
}

impl Claim {
    const fn required(column: WorkerColumn, min: u16, max: u16) -> Self {
        Self { column, min, max, required: true }
    }

    const fn optional(column: WorkerColumn, width: u16) -> Self {
        Self { column, min: width, max: width, required: false }
    }
}

/// Cells between two columns.
const SPACING: u16 = 1;
/// The task gauge doubles on a panel this wide: the one column that grows with the panel
/// rather than from what the others leave.
const WIDE_GAUGE_FROM: u16 = 96;
/// Widest the time-split bar gets.
const SPLIT_WIDTH: u16 = 10;
/// Narrowest it gets.
const SPLIT_MIN_WIDTH: u16 = 5;

/// The columns in priority order, most wanted first: the base ones, then the time split's
/// full width and the task rate (the split matters more: it is drawn narrower before the rate
/// goes), then the lock wait (only when the run has a lock), pid/tid, the reason a worker
/// ended badly, the time waiting for a CPU, and the time off CPU.
fn claims(width: u16, workers: usize, lock: bool) -> Vec<Claim> {
    // Four digits from worker 1000 on.
    let index_width = if workers > 1000 { 4 } else { 3 };
    let gauge_width = if width >= WIDE_GAUGE_FROM { 16 } else { 8 };
    let mut claims = vec![
        Claim::required(WorkerColumn::Index, index_width, index_width),
        Claim::required(WorkerColumn::State, 9, 9),
        Claim::required(WorkerColumn::Task, gauge_width, gauge_width),
        Claim::required(WorkerColumn::Tasks, 6, 6),
        Claim::required(WorkerColumn::Core, 4, 4),
        Claim::required(WorkerColumn::Cpu, 8, 8),
        Claim::required(WorkerColumn::Split, SPLIT_MIN_WIDTH, SPLIT_WIDTH),
        Claim::optional(WorkerColumn::Rate, 5),
    ];
    if lock {
        claims.push(Claim::optional(WorkerColumn::LockWait, 9));
    }
    claims.extend([
        Claim::optional(WorkerColumn::Pid, 15),
        Claim::optional(WorkerColumn::Reason, 7),
        Claim::optional(WorkerColumn::CpuWait, 9),
        Claim::optional(WorkerColumn::OffCpu, 8),
    ]);
    claims
}

/// The columns the workers table shows in `width` cells, for `workers` rows and a run with a
/// `lock` or not, in display order. The required columns come first, at their narrowest;
/// what they leave goes in priority order, to a required column's growth or to an optional
/// column whose minimum and a space fit.
#[must_use]
pub(crate) fn fit(width: u16, workers: usize, lock: bool) -> Vec<ShownColumn> {
    let claims = claims(width, workers, lock);
    let required: Vec<&Claim> = claims.iter().filter(|claim| claim.required).collect();
    let spacing = SPACING * (required.len() as u16).saturating_sub(1);
    let mut left = width.saturating_sub(required.iter().map(|claim| claim.min).sum::<u16>() + spacing);
    let mut shown: Vec<ShownColumn> =
        required.iter().map(|claim| ShownColumn { column: claim.column, width: claim.min }).collect();
    for claim in &claims {
        if !claim.required {
            if left < claim.min + SPACING {
                continue;
            }
            left -= claim.min + SPACING;
            shown.push(ShownColumn { column: claim.column, width: claim.min });
        }
        let growth = left.min(claim.max - claim.min);
        if let Some(column) = shown.iter_mut().find(|shown| shown.column == claim.column) {
            column.width += growth;
            left -= growth;
        }
    }
    shown.sort_by_key(|shown| shown.column);
    shown
}

#[cfg(test)]
mod tests {
    use super::WorkerColumn::{Core, Cpu, CpuWait, Index, LockWait, Pid, Rate, Reason, Split, State, Task, Tasks};
    use super::*;

    fn names(shown: &[ShownColumn]) -> Vec<WorkerColumn> {
        shown.iter().map(|shown| shown.column).collect()
    }

    fn width_of(shown: &[ShownColumn], column: WorkerColumn) -> Option<u16> {
        shown.iter().find(|shown| shown.column == column).map(|shown| shown.width)
    }

    /// The base columns take 49 cells with a 3-digit index, an 8-cell gauge and the narrowest
    /// split, spaces included.
    #[test]
    fn the_base_columns_show_at_any_width_and_the_split_narrows_before_the_rate_goes() {
        let base = vec![Index, State, Task, Tasks, Core, Cpu, Split];
        for width in [0, 20, 40, 49] {
            let shown = fit(width, 8, true);
            assert_eq!(names(&shown), base, "at {width}");
            assert_eq!(width_of(&shown, Split), Some(5), "at {width}");
        }
        assert_eq!(width_of(&fit(52, 8, false), Split), Some(8));
        let at_59 = fit(59, 8, false);
        assert_eq!((names(&at_59), width_of(&at_59, Split)), (base, Some(10)), "no room yet for the rate");
        let at_60 = fit(60, 8, false);
        assert_eq!(names(&at_60), vec![Index, State, Task, Tasks, Rate, Core, Cpu, Split]);
        assert_eq!(at_60.iter().map(|shown| shown.width + SPACING).sum::<u16>() - SPACING, 60, "it fills the width");
    }

    #[test]
    fn at_80_the_lock_wait_and_the_reason_take_pid_tid_s_place_when_the_run_has_a_lock() {
        assert_eq!(names(&fit(80, 8, false)), vec![Index, State, Task, Tasks, Rate, Core, Cpu, Split, Pid]);
        assert_eq!(names(&fit(80, 8, true)), vec![Index, State, Task, Tasks, Rate, Core, Cpu, Split, LockWait, Reason]);
    }

    #[test]
    fn at_120_every_column_shows_with_the_wide_gauge() {
        let shown = fit(120, 8, true);
        let every = vec![Index, State, Task, Tasks, Rate, Core, Cpu, Split, LockWait, CpuWait, Pid, Reason];
        assert_eq!(names(&shown), every);
        assert_eq!(width_of(&shown, Task), Some(16));
        assert_eq!(shown.last().map(|shown| shown.constraint()), Some(Constraint::Min(7)), "the reason fills the rest");
        assert_eq!(width_of(&fit(95, 8, true), Task), Some(8), "the gauge doubles from 96 cells on");
        assert_eq!(width_of(&fit(96, 8, true), Task), Some(16));
    }

    #[test]
    fn a_four_digit_index_takes_a_cell_from_what_is_left() {
        assert_eq!(width_of(&fit(60, 1000, false), Index), Some(3));
        assert!(names(&fit(60, 1000, false)).contains(&Rate));
        let shown = fit(60, 1001, false);
        assert_eq!(width_of(&shown, Index), Some(4));
        assert!(!names(&shown).contains(&Rate), "the rate no longer fits");
    }
}
