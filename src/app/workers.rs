//! The workers panel's model at any worker count: the sort orders a key cycles through, the
//! order rows are shown in, the table's selection, page and window of rows on screen
//! ([`WorkersTable`]), and the aggregate that sums up every worker (scrolled away or not). Pure
//! maths on [`WorkerView`]s; `ui` draws what it returns.

use crate::telemetry::{WorkerState, WorkerView};

/// The order of the workers panel's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum WorkerSort {
    /// By worker index, as launched.
    #[default]
    Index,
    /// Grouped by state, in the state machine's order (pending first, failures last).
    State,
    /// Least progress first: the stragglers at the top.
    Progress,
    /// Most CPU time first.
    Cpu,
}

impl WorkerSort {
    pub(crate) const ALL: [Self; 4] = [Self::Index, Self::State, Self::Progress, Self::Cpu];

    #[must_use]
    pub(crate) fn next(self) -> Self {
        let at = Self::ALL.iter().position(|sort| *sort == self).unwrap_or(0);
        Self::ALL[(at + 1) % Self::ALL.len()]
    }

    /// As the panel's title names it; the arrow says which end comes first, as on the
    /// sorted column's header.
    #[must_use]
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Index => "by #",
            Self::State => "by state",
            Self::Progress => "by progress ▲",
            Self::Cpu => "by cpu ▼",
        }
    }
}

/// Progress of a worker as a number that orders workers: the fraction of its tasks when it
/// knows how many it has, else tasks done (a finished run's rows).
fn progress_key(worker: &WorkerView) -> f64 {
    worker.progress().unwrap_or(worker.tasks_done as f64 + worker.task_progress)
}

/// The positions in `workers` of the rows to show, top to bottom. Ties keep index order, so
/// the order is stable from one frame to the next.
#[must_use]
pub(crate) fn order(workers: &[WorkerView], sort: WorkerSort) -> Vec<usize> {
    let mut positions: Vec<usize> = (0..workers.len()).collect();
    let rank = |state: WorkerState| WorkerState::ALL.iter().position(|s| *s == state).unwrap_or(usize::MAX);
    match sort {
        WorkerSort::Index => {}
        WorkerSort::State => positions.sort_by_key(|&at| rank(workers[at].state)),
        WorkerSort::Progress => {
            positions.sort_by(|&a, &b| progress_key(&workers[a]).total_cmp(&progress_key(&workers[b])));
        }
        WorkerSort::Cpu => {
            positions.sort_by(|&a, &b| workers[b].cpu_seconds.total_cmp(&workers[a].cpu_seconds));
        }
    }
    positions
}

/// The first row on screen, for `len` rows of which `visible` fit, the selection at
/// `selected` and the view last starting at `offset`: the view moves only as far as it must
/// to keep the selection on screen, as a list box does.
#[must_use]
pub(crate) fn first_row(len: usize, visible: usize, selected: usize, offset: usize) -> usize {
    let visible = visible.max(1);
    let selected = selected.min(len.saturating_sub(1));
    let first = offset.clamp(selected.saturating_sub(visible - 1), selected);
    first.min(len.saturating_sub(visible))
}

/// Where the workers table stands: its selection, the window of rows on screen, what a page
/// is and the order of the rows. One place for the table's scrolling, as tokio-console keeps
/// its `TableListState`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkersTable {
    /// The selected row, as a position in the shown order.
    pub selected: usize,
    /// The first row the table showed, so the view moves only when the selection leaves it.
    pub offset: usize,
    /// Rows the table had room for in the last frame: what PgUp and PgDn move by.
    pub page: usize,
    pub sort: WorkerSort,
}

impl WorkersTable {
    /// At the top, in index order, a page of one row until a frame says how many fit.
    #[must_use]
    pub(crate) fn new() -> Self {
        Self { selected: 0, offset: 0, page: 1, sort: WorkerSort::Index }
    }

    /// Moves the selection `step` rows through `len`, stopping at either end, and the view
    /// only as far as keeps the selection on screen.
    pub(crate) fn move_by(&mut self, step: isize, len: usize) {
        if len == 0 {
            self.selected = 0;
            return;
        }
        self.selected = self.selected.saturating_add_signed(step).min(len - 1);
        self.offset = first_row(len, self.page, self.selected, self.offset);
    }

    /// The last frame had room for `rows` rows; a page is never less than one.
    pub(crate) fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
    }

    /// The next order, as `s` cycles them.
    pub(crate) fn cycle_sort(&mut self) {
        self.sort = self.sort.next();
    }

    /// Back to the top for the next run's rows; the order and the page stay.
    pub(crate) fn rewind(&mut self) {
        self.selected = 0;
        self.offset = 0;
    }

    /// The first of `len` rows on screen when `visible` fit, the selection kept in view.
    #[must_use]
    pub(crate) fn first_row(&self, len: usize, visible: usize) -> usize {
        first_row(len, visible, self.selected, self.offset)
    }

    /// The selected worker of `workers`, in the shown order.
    #[must_use]
    pub(crate) fn selected_worker<'a>(&self, workers: &'a [WorkerView]) -> Option<&'a WorkerView> {
        order(workers, self.sort).get(self.selected).and_then(|at| workers.get(*at))
    }
}

impl Default for WorkersTable {
    fn default() -> Self {
        Self::new()
    }
}

/// Minimum, median and maximum of some figure over every worker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    /// None for no values.
    #[must_use]
    pub(crate) fn of(mut values: Vec<f64>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let mid = values.len() / 2;
        let median =
            if values.len().is_multiple_of(2) { f64::midpoint(values[mid - 1], values[mid]) } else { values[mid] };
        Some(Self { min: values[0], median, max: values[values.len() - 1] })
    }
}

/// How far the workers have got, over all of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ProgressSpread {
    /// Fractions of each worker's own tasks (a live run).
    Share(Spread),
    /// Tasks each worker completed (a finished run's rows).
    Tasks(Spread),
}

/// The spread of progress over `workers`: as shares of their tasks in a live run (a worker
/// that has not started has done none of its share), else as tasks done.
#[must_use]
pub(crate) fn progress_spread(workers: &[WorkerView], live: bool) -> Option<ProgressSpread> {
    if live {
        Spread::of(workers.iter().map(|w| w.progress().unwrap_or(0.0)).collect()).map(ProgressSpread::Share)
    } else {
        Spread::of(workers.iter().map(|w| w.tasks_done as f64).collect()).map(ProgressSpread::Tasks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(index: usize, state: WorkerState, done: u64, progress: f64, cpu: f64) -> WorkerView {
        WorkerView {
            state,
            tasks_done: done,
            task_progress: progress,
            cpu_seconds: cpu,
            ..WorkerView::running(index, None, 0.0)
        }
    }

    #[test]
    fn each_order_puts_the_right_worker_first_and_ties_keep_the_index_order() {
        let workers = vec![
            worker(0, WorkerState::Done, 4, 0.0, 1.0),
            worker(1, WorkerState::Running, 1, 0.5, 3.0),
            worker(2, WorkerState::Pending, 0, 0.0, 0.0),
            worker(3, WorkerState::Running, 1, 0.5, 2.0),
        ];
        assert_eq!(order(&workers, WorkerSort::Index), vec![0, 1, 2, 3]);
        assert_eq!(order(&workers, WorkerSort::State), vec![2, 1, 3, 0]);
        assert_eq!(order(&workers, WorkerSort::Progress), vec![2, 1, 3, 0]);
        assert_eq!(order(&workers, WorkerSort::Cpu), vec![1, 3, 0, 2]);
        let mut sort = WorkerSort::Index;
        for _ in 0..WorkerSort::ALL.len() {
            sort = sort.next();
        }
        assert_eq!(sort, WorkerSort::Index, "the key cycles through every order");
    }

    #[test]
    fn the_view_follows_the_selection_only_as_far_as_it_must() {
        // 1,000 rows, 10 on screen.
        assert_eq!(first_row(1000, 10, 0, 0), 0);
        assert_eq!(first_row(1000, 10, 9, 0), 0, "still on screen: no move");
        assert_eq!(first_row(1000, 10, 10, 0), 1, "one past the bottom: one row down");
        assert_eq!(first_row(1000, 10, 500, 0), 491);
        assert_eq!(first_row(1000, 10, 495, 491), 491, "back up inside the view: no move");
        assert_eq!(first_row(1000, 10, 480, 491), 480);
        assert_eq!(first_row(1000, 10, 999, 0), 990, "End shows the last page full");
        assert_eq!(first_row(5, 10, 4, 3), 0, "fewer rows than room: from the top");
        assert_eq!(first_row(0, 10, 0, 7), 0);
    }

    #[test]
    fn the_table_moves_its_view_with_the_selection_and_back_to_the_top_for_a_new_run() {
        let mut table = WorkersTable::new();
        table.set_page(0);
        assert_eq!(table.page, 1, "a page is at least a row");
        table.set_page(10);
        table.move_by(25, 1000);
        assert_eq!((table.selected, table.offset), (25, 16));
        table.move_by(isize::MAX, 1000);
        assert_eq!((table.selected, table.offset), (999, 990));
        table.move_by(isize::MIN, 1000);
        assert_eq!((table.selected, table.offset), (0, 0));
        table.move_by(5, 0);
        assert_eq!(table.selected, 0, "no rows: nothing to select");
        table.move_by(5, 1000);
        table.cycle_sort();
        table.rewind();
        assert_eq!((table.selected, table.offset, table.page, table.sort), (0, 0, 10, WorkerSort::State));
        let workers = vec![worker(0, WorkerState::Done, 4, 0.0, 1.0), worker(1, WorkerState::Pending, 0, 0.0, 0.0)];
        assert_eq!(table.selected_worker(&workers).map(|w| w.index), Some(1), "first in state order");
        table.move_by(5, workers.len());
        assert_eq!(table.selected_worker(&workers).map(|w| w.index), Some(0));
        assert_eq!(table.selected_worker(&[]).map(|w| w.index), None);
    }

    #[test]
    fn the_spread_has_min_median_and_max() {
        let spread = Spread::of(vec![0.9, 0.1, 0.5, 0.3]).expect("values");
        assert_eq!((spread.min, spread.median, spread.max), (0.1, 0.4, 0.9));
        assert_eq!(Spread::of(vec![2.0, 7.0, 1.0]).map(|s| s.median), Some(2.0));
        assert_eq!(Spread::of(Vec::new()), None);
        // A live run: shares of each worker's tasks, a pending worker (no count yet) at 0.
        let mut live: Vec<_> = (0..3).map(|i| worker(i, WorkerState::Running, i as u64 + 1, 0.0, 0.0)).collect();
        live[0].tasks_total = 0;
        let Some(ProgressSpread::Share(share)) = progress_spread(&live, true) else { panic!("a share") };
        assert_eq!((share.min, share.median, share.max), (0.0, 0.5, 0.75));
        // A finished run's rows: tasks done.
        let Some(ProgressSpread::Tasks(tasks)) = progress_spread(&live, false) else { panic!("tasks done") };
        assert_eq!((tasks.min, tasks.max), (1.0, 3.0));
    }
}
