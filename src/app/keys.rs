//! Keys: one table that maps key presses to actions and also feeds the footer hints and the
//! help overlay, so what is shown is always what works: every key that does something is
//! listed in [`BINDINGS`]. It reads no terminal; key presses arrive as events.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Focus, State};
use crate::engine::Phase;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    CycleSort,
    Left,
    Right,
    FocusNext,
    FocusPrevious,
    Run,
    RunBaseline,
    CycleModel,
    MoreWorkers,
    FewerWorkers,
    CycleAffinity,
    ToggleLock,
    ToggleDrain,
    TogglePriority,
    PauseResume,
    Cancel,
    InjectCrash,
    Interrupt,
    Quit,
    Help,
    CloseOverlay,
    Timeline,
    ZoomIn,
    ZoomOut,
    ExportTrace,
    Sweep,
    SaveResults,
}

/// A key that triggers an action: its code, and the modifiers that must be held with it.
///
/// Ctrl is strict: a key listed without it does nothing with Ctrl held. Other modifiers
/// (Shift, Alt) are not required unless listed, since terminals report Shift inconsistently
/// (`?` and `+` arrive with or without it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    #[must_use]
    pub(crate) fn matches(self, event: KeyEvent) -> bool {
        let ctrl = KeyModifiers::CONTROL;
        self.code == event.code
            && event.modifiers.contains(self.modifiers)
            && (self.modifiers.contains(ctrl) || !event.modifiers.contains(ctrl))
    }
}

const fn plain(code: KeyCode) -> Key {
    Key { code, modifiers: KeyModifiers::NONE }
}

const fn typed(c: char) -> Key {
    plain(KeyCode::Char(c))
}

const fn ctrl(c: char) -> Key {
    Key { code: KeyCode::Char(c), modifiers: KeyModifiers::CONTROL }
}

/// One row of the key table: what the help overlay and the footer show, and the keys behind
/// it. Two directions of one control (up and down, more and fewer) share a row.
pub(crate) struct Binding {
    /// The keys as shown.
    pub keys: &'static str,
    /// Each action of the row with the keys that trigger it; the first is the row's own, which
    /// decides whether the footer shows it and with which word.
    pub actions: &'static [(Action, &'static [Key])],
    pub help: &'static str,
    /// Shown in the footer (when it applies); the rest only in the help overlay.
    pub in_footer: bool,
}

impl Binding {
    /// The row's own action. Every row has one: [`bind`] refuses an empty row at compile time.
    #[must_use]
    pub(crate) fn action(&self) -> Action {
        self.actions[0].0
    }
}

const fn bind(
    keys: &'static str,
    actions: &'static [(Action, &'static [Key])],
    help: &'static str,
    in_footer: bool,
) -> Binding {
    assert!(!actions.is_empty(), "a key row needs an action");
    Binding { keys, actions, help, in_footer }
}

/// Every key the dashboard knows, in the order the help overlay lists them.
pub(crate) const BINDINGS: &[Binding] = &[
    bind(
        "↑↓ jk",
        &[(Action::Up, &[plain(KeyCode::Up), typed('k')]), (Action::Down, &[plain(KeyCode::Down), typed('j')])],
        "select (in the focused panel)",
        true,
    ),
    bind(
        "PgUp/Dn",
        &[
            (Action::PageUp, &[plain(KeyCode::PageUp)]),
            (Action::PageDown, &[plain(KeyCode::PageDown)]),
            (Action::Home, &[plain(KeyCode::Home)]),
            (Action::End, &[plain(KeyCode::End)]),
        ],
        "a page up / down; Home, End: first, last row (workers, results)",
        true,
    ),
    bind(
        "s",
        &[(Action::CycleSort, &[typed('s')])],
        "sort the workers, from any panel: #, state, progress, cpu time",
        true,
    ),
    bind(
        "←→ hl",
        &[(Action::Left, &[plain(KeyCode::Left), typed('h')]), (Action::Right, &[plain(KeyCode::Right), typed('l')])],
        "change the selected setting; in the catalog, the workload",
        true,
    ),
    bind(
        "Tab",
        &[(Action::FocusNext, &[plain(KeyCode::Tab)]), (Action::FocusPrevious, &[plain(KeyCode::BackTab)])],
        "next panel (Shift-Tab: previous)",
        true,
    ),
    bind(
        "Enter",
        &[(Action::Run, &[plain(KeyCode::Enter)])],
        "run the experiment or the workload (again: skip its baseline)",
        true,
    ),
    bind(
        "b",
        &[(Action::RunBaseline, &[typed('b')])],
        "run the baseline: sequential, same workload, size and tasks",
        true,
    ),
    bind("m", &[(Action::CycleModel, &[typed('m')])], "cycle the model: sequential, threads, processes, async", true),
    bind(
        "+/-",
        &[(Action::MoreWorkers, &[typed('+'), typed('=')]), (Action::FewerWorkers, &[typed('-'), typed('_')])],
        "more / fewer workers",
        true,
    ),
    bind("a", &[(Action::CycleAffinity, &[typed('a')])], "cycle affinity: none, spread, single", true),
    bind("g", &[(Action::ToggleLock, &[typed('g')])], "emulated interpreter lock on / off (native runtime)", true),
    bind("d", &[(Action::ToggleDrain, &[typed('d')])], "drain policy on stop: next chunk / end of task", false),
    bind(
        "i",
        &[(Action::TogglePriority, &[typed('i')])],
        "workers idle, so the screen keeps up at 1,000 / normal, as in run",
        false,
    ),
    bind("space", &[(Action::PauseResume, &[typed(' ')])], "pause / resume the run", true),
    bind("c", &[(Action::Cancel, &[typed('c')])], "cancel the run and stay (again: kill now)", true),
    bind(
        "x",
        &[(Action::InjectCrash, &[typed('x')])],
        "crash a worker: a panic in a thread, a real SIGSEGV in a process",
        true,
    ),
    bind("t", &[(Action::Timeline, &[typed('t')])], "timeline: one lane per worker, then one per CPU, then off", true),
    // `w` shares the timeline's row so that every key, `i` included, fits an 80×24 terminal.
    bind(
        "[ ] e w",
        &[
            (Action::ZoomIn, &[typed('[')]),
            (Action::ZoomOut, &[typed(']')]),
            (Action::ExportTrace, &[typed('e')]),
            (Action::SaveResults, &[typed('w')]),
        ],
        "zoom the timeline; e: export its trace; w: save the results here",
        false,
    ),
    bind("p", &[(Action::Sweep, &[typed('p')])], "sweep models × workers, chart the speedup (c or Esc cancels)", false),
    bind("Ctrl-C", &[(Action::Interrupt, &[ctrl('c'), ctrl('C')])], "drain the run and quit (again: kill now)", false),
    bind("q", &[(Action::Quit, &[typed('q')])], "quit (drains a run first, as Ctrl-C)", true),
    // Esc shares the help's row so that every key fits an 80×24 terminal.
    bind(
        "? Esc",
        &[(Action::Help, &[typed('?')]), (Action::CloseOverlay, &[plain(KeyCode::Esc)])],
        "this help / close it or the sweep's chart",
        true,
    ),
];

/// The action of a key press, from [`BINDINGS`], if any. Releases are ignored; presses and
/// repeats count.
#[must_use]
pub(crate) fn action_for(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    BINDINGS
        .iter()
        .flat_map(|binding| binding.actions)
        .find(|(_, keys)| keys.iter().any(|bound| bound.matches(key)))
        .map(|(action, _)| *action)
}

/// Whether `action` does something in `state`: the footer shows only those.
#[must_use]
pub(crate) fn available(action: Action, state: &State) -> bool {
    let running = state.running();
    let draining = state.shutdown.is_some() || state.run.as_ref().is_some_and(|run| run.stop_reason.is_some());
    match action {
        // While the baseline that runs first is in hand, Enter skips it.
        // Between an experiment's runs no run is on, yet nothing else may start.
        Action::Run => (!running && state.course.is_none()) || (running && state.baseline.skippable() && !draining),
        // An experiment's runs all run at the priority it began with.
        Action::RunBaseline | Action::Sweep | Action::TogglePriority => !running && state.course.is_none(),
        Action::CycleModel
        | Action::MoreWorkers
        | Action::FewerWorkers
        | Action::CycleAffinity
        | Action::ToggleDrain => !running,
        // Under Python the interpreter's own GIL runs: there is no lock to toggle.
        Action::ToggleLock => !running && !state.settings.runtime.is_python(),
        Action::Left | Action::Right => match state.focus {
            Focus::Catalog => true,
            Focus::Settings => !running,
            Focus::Experiments | Focus::Workers | Focus::Results => false,
        },
        Action::PauseResume | Action::InjectCrash => running && !draining,
        Action::Cancel => running,
        Action::CloseOverlay => state.overlay.is_some() || state.sweep.is_some(),
        Action::PageUp | Action::PageDown | Action::Home | Action::End => {
            matches!(state.focus, Focus::Workers | Focus::Results)
        }
        // The workers' order, whichever panel has focus: the key names what it sorts.
        Action::CycleSort => state.worker_rows() > 0,
        Action::ZoomIn | Action::ZoomOut => state.timeline.is_some(),
        // During a run, `e` asks for its trace once it has ended.
        Action::ExportTrace => running || !state.results.is_empty(),
        Action::SaveResults => !state.results.is_empty(),
        Action::Up
        | Action::Down
        | Action::FocusNext
        | Action::FocusPrevious
        | Action::Interrupt
        | Action::Quit
        | Action::Help
        | Action::Timeline => true,
    }
}

/// The footer: the keys that work now.
#[must_use]
pub(crate) fn footer_hints(state: &State) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|binding| {
            binding.in_footer && available(binding.action(), state) && worth_the_room(binding.action(), state)
        })
        .map(|binding| (binding.keys, short_help(binding.action(), state)))
        .collect()
}

/// Whether a key that works is worth a place in the footer, which is short: ←/→ and `s`
/// work in other panels too (the help says so), but are hinted only where they are the
/// panel's own, so that pause and baseline keep their place.
fn worth_the_room(action: Action, state: &State) -> bool {
    match action {
        Action::Left | Action::Right => state.focus == Focus::Settings,
        Action::CycleSort => state.focus == Focus::Workers,
        _ => true,
    }
}

fn short_help(action: Action, state: &State) -> &'static str {
    match action {
        Action::PauseResume if state.run.as_ref().is_some_and(|run| run.phase == Phase::Paused) => "resume",
        Action::Up | Action::Down => "select",
        Action::PageUp | Action::PageDown | Action::Home | Action::End => "page",
        Action::CycleSort => "sort",
        Action::Left | Action::Right => "change",
        Action::FocusNext | Action::FocusPrevious => "panel",
        Action::Run if state.running() => "skip baseline",
        Action::Run if state.focus == Focus::Experiments => "run experiment",
        Action::Run => "run",
        Action::RunBaseline => "baseline",
        Action::CycleModel => "model",
        Action::MoreWorkers | Action::FewerWorkers => "workers",
        Action::CycleAffinity => "affinity",
        Action::ToggleLock => "lock",
        Action::ToggleDrain => "drain",
        Action::TogglePriority => "priority",
        Action::PauseResume => "pause",
        Action::Cancel => "cancel",
        Action::InjectCrash => "crash one",
        Action::Interrupt | Action::Quit => "quit",
        Action::Help => "help",
        Action::CloseOverlay => "close",
        Action::Timeline => "timeline",
        Action::ZoomIn | Action::ZoomOut => "zoom",
        Action::ExportTrace => "export",
        Action::Sweep => "sweep",
        Action::SaveResults => "save",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn the_usual_keys_map_to_their_actions() {
        assert_eq!(action_for(key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(action_for(key(KeyCode::Up)), Some(Action::Up));
        assert_eq!(action_for(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)), Some(Action::Interrupt));
        assert_eq!(action_for(key(KeyCode::Char('c'))), Some(Action::Cancel));
        assert_eq!(action_for(key(KeyCode::Char('z'))), None);
    }

    #[test]
    fn the_footer_changes_with_the_state() {
        let mut state = State::new(2, std::time::Duration::from_secs(3));
        assert!(footer_hints(&state).contains(&("Enter", "run experiment")), "it opens on the experiments");
        state.focus = Focus::Catalog;
        let idle: Vec<_> = footer_hints(&state).into_iter().map(|(_, help)| help).collect();
        assert!(idle.contains(&"run") && !idle.contains(&"pause"), "{idle:?}");
        state.focus = Focus::Settings;
        assert!(footer_hints(&state).iter().any(|(_, help)| *help == "change"));
        let plan = state.settings.request(state.workload()).validate_with(&[0, 1]).expect("plan");
        let mut run = crate::telemetry::RunView::of_plan(plan);
        state.run = Some(run.clone());
        assert!(footer_hints(&state).contains(&("space", "pause")));
        run.phase = Phase::Paused;
        state.run = Some(run);
        assert!(footer_hints(&state).contains(&("space", "resume")));
    }

    /// The action after `action`, in declaration order: the match is exhaustive, so a new
    /// action fails to compile here until it is listed, and [`every_action`] stays complete.
    fn after(action: Option<Action>) -> Option<Action> {
        use Action as A;
        match action {
            None => Some(A::Up),
            Some(A::Up) => Some(A::Down),
            Some(A::Down) => Some(A::PageUp),
            Some(A::PageUp) => Some(A::PageDown),
            Some(A::PageDown) => Some(A::Home),
            Some(A::Home) => Some(A::End),
            Some(A::End) => Some(A::CycleSort),
            Some(A::CycleSort) => Some(A::Left),
            Some(A::Left) => Some(A::Right),
            Some(A::Right) => Some(A::FocusNext),
            Some(A::FocusNext) => Some(A::FocusPrevious),
            Some(A::FocusPrevious) => Some(A::Run),
            Some(A::Run) => Some(A::RunBaseline),
            Some(A::RunBaseline) => Some(A::CycleModel),
            Some(A::CycleModel) => Some(A::MoreWorkers),
            Some(A::MoreWorkers) => Some(A::FewerWorkers),
            Some(A::FewerWorkers) => Some(A::CycleAffinity),
            Some(A::CycleAffinity) => Some(A::ToggleLock),
            Some(A::ToggleLock) => Some(A::ToggleDrain),
            Some(A::ToggleDrain) => Some(A::TogglePriority),
            Some(A::TogglePriority) => Some(A::PauseResume),
            Some(A::PauseResume) => Some(A::Cancel),
            Some(A::Cancel) => Some(A::InjectCrash),
            Some(A::InjectCrash) => Some(A::Interrupt),
            Some(A::Interrupt) => Some(A::Quit),
            Some(A::Quit) => Some(A::Help),
            Some(A::Help) => Some(A::CloseOverlay),
            Some(A::CloseOverlay) => Some(A::Timeline),
            Some(A::Timeline) => Some(A::ZoomIn),
            Some(A::ZoomIn) => Some(A::ZoomOut),
            Some(A::ZoomOut) => Some(A::ExportTrace),
            Some(A::ExportTrace) => Some(A::Sweep),
            Some(A::Sweep) => Some(A::SaveResults),
            Some(A::SaveResults) => None,
        }
    }

    fn every_action() -> Vec<Action> {
        std::iter::successors(after(None), |action| after(Some(*action))).collect()
    }

    #[test]
    fn every_key_in_the_table_maps_to_its_action() {
        for binding in BINDINGS {
            for (action, keys) in binding.actions {
                assert!(!keys.is_empty(), "{} lists {action:?} without a key", binding.keys);
                for bound in *keys {
                    let press = KeyEvent::new(bound.code, bound.modifiers);
                    assert_eq!(action_for(press), Some(*action), "{} lists {bound:?}", binding.keys);
                }
            }
        }
    }

    #[test]
    fn every_action_is_in_the_table_once() {
        let listed: Vec<Action> =
            BINDINGS.iter().flat_map(|binding| binding.actions.iter().map(|(action, _)| *action)).collect();
        for action in every_action() {
            let rows = listed.iter().filter(|&&found| found == action).count();
            assert_eq!(rows, 1, "{action:?} is listed {rows} times");
        }
        assert_eq!(listed.len(), every_action().len());
    }

    #[test]
    fn ctrl_is_strict_and_shift_is_not() {
        assert_eq!(action_for(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL)), None);
        assert_eq!(action_for(KeyEvent::new(KeyCode::Up, KeyModifiers::CONTROL)), None);
        assert_eq!(action_for(KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT)), Some(Action::Help));
        assert_eq!(action_for(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)), Some(Action::FocusPrevious));
        let ctrl_shift = KeyModifiers::CONTROL | KeyModifiers::SHIFT;
        assert_eq!(action_for(KeyEvent::new(KeyCode::Char('C'), ctrl_shift)), Some(Action::Interrupt));
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(action_for(release), None);
    }
}
