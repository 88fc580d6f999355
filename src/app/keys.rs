//! Keys: one table that maps key presses to actions and also feeds the footer hints and the
//! help overlay, so what is shown is always what works.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::state::{Focus, State};
use crate::engine::Phase;

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
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
    PauseResume,
    Cancel,
    InjectCrash,
    Interrupt,
    Quit,
    Help,
    CloseOverlay,
}

/// One row of the key table.
pub struct Binding {
    pub keys: &'static str,
    pub action: Action,
    pub help: &'static str,
    /// Shown in the footer (when it applies); the rest only in the help overlay.
    pub in_footer: bool,
}

const fn bind(keys: &'static str, action: Action, help: &'static str, in_footer: bool) -> Binding {
    Binding { keys, action, help, in_footer }
}

pub const BINDINGS: &[Binding] = &[
    bind("↑↓ jk", Action::Up, "select (in the focused panel)", true),
    bind("←→ hl", Action::Left, "change the selected setting", true),
    bind("Tab", Action::FocusNext, "next panel (Shift-Tab: previous)", true),
    bind("Enter", Action::Run, "run the selected workload with these settings", true),
    bind("b", Action::RunBaseline, "run the baseline: sequential, same workload, size and tasks", true),
    bind("m", Action::CycleModel, "cycle the model: sequential, threads, processes", true),
    bind("+/-", Action::MoreWorkers, "more / fewer workers", true),
    bind("a", Action::CycleAffinity, "cycle affinity: none, spread, single", true),
    bind("g", Action::ToggleLock, "interpreter lock on / off", true),
    bind("d", Action::ToggleDrain, "drain policy on stop: next chunk / end of task", false),
    bind("space", Action::PauseResume, "pause / resume the run", true),
    bind("c", Action::Cancel, "cancel the run and stay (again: kill now)", true),
    bind("x", Action::InjectCrash, "crash a worker: a panic in a thread, a real SIGSEGV in a process", true),
    bind("Ctrl-C", Action::Interrupt, "drain the run and quit (again: kill now)", false),
    bind("q", Action::Quit, "quit (drains a run first, as Ctrl-C)", true),
    bind("?", Action::Help, "this help", true),
    bind("Esc", Action::CloseOverlay, "close the help", false),
];

/// The action of a key press, if any. Releases and repeats of non-arrow keys are ignored.
#[must_use]
pub fn action_for(key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(key.code, KeyCode::Char('c' | 'C')).then_some(Action::Interrupt);
    }
    Some(match key.code {
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrevious,
        KeyCode::Enter => Action::Run,
        KeyCode::Char('b') => Action::RunBaseline,
        KeyCode::Char('m') => Action::CycleModel,
        KeyCode::Char('+' | '=') => Action::MoreWorkers,
        KeyCode::Char('-' | '_') => Action::FewerWorkers,
        KeyCode::Char('a') => Action::CycleAffinity,
        KeyCode::Char('g') => Action::ToggleLock,
        KeyCode::Char('d') => Action::ToggleDrain,
        KeyCode::Char(' ') => Action::PauseResume,
        KeyCode::Char('c') => Action::Cancel,
        KeyCode::Char('x') => Action::InjectCrash,
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Char('?') => Action::Help,
        KeyCode::Esc => Action::CloseOverlay,
        _ => return None,
    })
}

/// Whether `action` does something in `state`: the footer shows only those.
#[must_use]
pub fn available(action: Action, state: &State) -> bool {
    let running = state.running();
    let draining = state.shutdown.is_some() || state.run.as_ref().is_some_and(|run| run.stop_reason.is_some());
    match action {
        Action::Run
        | Action::RunBaseline
        | Action::CycleModel
        | Action::MoreWorkers
        | Action::FewerWorkers
        | Action::CycleAffinity
        | Action::ToggleLock
        | Action::ToggleDrain => !running,
        Action::Left | Action::Right => !running && state.focus == Focus::Settings,
        Action::PauseResume | Action::InjectCrash => running && !draining,
        Action::Cancel => running,
        Action::CloseOverlay => state.overlay.is_some(),
        Action::Up
        | Action::Down
        | Action::FocusNext
        | Action::FocusPrevious
        | Action::Interrupt
        | Action::Quit
        | Action::Help => true,
    }
}

/// The footer: the keys that work now.
#[must_use]
pub fn footer_hints(state: &State) -> Vec<(&'static str, &'static str)> {
    BINDINGS
        .iter()
        .filter(|binding| binding.in_footer && available(binding.action, state))
        .map(|binding| (binding.keys, short_help(binding.action, state)))
        .collect()
}

fn short_help(action: Action, state: &State) -> &'static str {
    match action {
        Action::PauseResume if state.run.as_ref().is_some_and(|run| run.phase == Phase::Paused) => "resume",
        Action::Up | Action::Down => "select",
        Action::Left | Action::Right => "change",
        Action::FocusNext | Action::FocusPrevious => "panel",
        Action::Run => "run",
        Action::RunBaseline => "baseline",
        Action::CycleModel => "model",
        Action::MoreWorkers | Action::FewerWorkers => "workers",
        Action::CycleAffinity => "affinity",
        Action::ToggleLock => "lock",
        Action::ToggleDrain => "drain",
        Action::PauseResume => "pause",
        Action::Cancel => "cancel",
        Action::InjectCrash => "crash one",
        Action::Interrupt | Action::Quit => "quit",
        Action::Help => "help",
        Action::CloseOverlay => "close",
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
        let idle: Vec<_> = footer_hints(&state).into_iter().map(|(_, help)| help).collect();
        assert!(idle.contains(&"run") && !idle.contains(&"pause"), "{idle:?}");
        state.focus = Focus::Settings;
        assert!(footer_hints(&state).iter().any(|(_, help)| *help == "change"));
        let plan = state.settings.request(state.workload()).validate_with(&[0, 1]).expect("plan");
        let mut run = crate::telemetry::RunView {
            plan,
            phase: Phase::Running,
            elapsed: std::time::Duration::from_millis(300),
            tasks_done: 1,
            stop_reason: None,
            workers: Vec::new(),
        };
        state.run = Some(run.clone());
        assert!(footer_hints(&state).contains(&("space", "pause")));
        run.phase = Phase::Paused;
        state.run = Some(run);
        assert!(footer_hints(&state).contains(&("space", "resume")));
    }

    #[test]
    fn every_binding_is_reachable_from_a_key() {
        for binding in BINDINGS {
            let reachable = [
                KeyCode::Up,
                KeyCode::Down,
                KeyCode::Left,
                KeyCode::Right,
                KeyCode::Tab,
                KeyCode::BackTab,
                KeyCode::Enter,
                KeyCode::Esc,
            ]
            .into_iter()
            .chain("bmg+-adcxq? ".chars().map(KeyCode::Char))
            .any(|code| action_for(key(code)) == Some(binding.action))
                || binding.action == Action::Interrupt;
            assert!(reachable, "{} has no key", binding.keys);
        }
    }
}
