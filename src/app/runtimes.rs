//! The runtime row's choices: native, and each Python interpreter found on PATH (or named with
//! `--python`), as it answered when asked what it is. The asking runs interpreters, so the
//! loop does it on threads of its own and hands each answer to `update`
//! ([`super::Event::Interpreter`]); until then the row says it is asking. One interpreter under
//! two names (`python3` and `python3.11`) is offered once, under the first name.

use std::path::{Path, PathBuf};

use crate::engine::plan::runtime::{Interpreter, PythonError, Runtime};

/// What an interpreter said when asked what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Not answered yet.
    Asking,
    Usable(Interpreter),
    /// It cannot run the workers, and why.
    Unusable(PythonError),
}

/// One interpreter the row offers: its name as found on PATH (`python3.12`) or given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Offered {
    pub name: PathBuf,
    pub probe: Probe,
}

impl Offered {
    /// `python3.12`, or a path as given.
    #[must_use]
    pub(crate) fn shown_name(&self) -> String {
        self.name.display().to_string()
    }

    /// Why it cannot be used, in a word or two for the row (`not installed`, `too old`), and
    /// in one word for a narrow one (`absent`, `old`).
    #[must_use]
    pub(crate) fn short_why(&self) -> Option<(&'static str, &'static str)> {
        match &self.probe {
            Probe::Unusable(error) => Some(short_why(error)),
            Probe::Asking | Probe::Usable(_) => None,
        }
    }
}

/// A word or two for why an interpreter cannot be used. A pyenv shim for a version that is not
/// installed exits 127 ("command not found"), as a shell does for a missing command.
#[must_use]
fn short_why(error: &PythonError) -> (&'static str, &'static str) {
    match error {
        PythonError::NotFound(_) => ("not found", "absent"),
        PythonError::TooOld { .. } => ("too old", "old"),
        PythonError::Unusable { reason, .. } if reason.contains("status: 127") => ("not installed", "absent"),
        PythonError::Unusable { reason, .. } if reason.contains("did not answer") => ("no answer", "hangs"),
        PythonError::Unusable { .. } => ("fails to start", "fails"),
        PythonError::Refused(_) => ("refused the code", "refuses"),
    }
}

/// Which runtime the row has chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Choice {
    #[default]
    Native,
    /// The interpreter offered under this name.
    Python(PathBuf),
}

/// The runtime row: what it offers and what is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct RuntimeRow {
    /// The interpreters, in the order offered (`python3` first); native is always offered too.
    pub offered: Vec<Offered>,
    pub chosen: Choice,
}

impl RuntimeRow {
    /// The interpreters that answered and can run workers, in the order offered.
    pub(crate) fn usable(&self) -> impl Iterator<Item = &Interpreter> {
        self.offered.iter().filter_map(|offered| match &offered.probe {
            Probe::Usable(interpreter) => Some(interpreter),
            Probe::Asking | Probe::Unusable(_) => None,
        })
    }

    /// Offers `names` (from `interpreters_on_path`), not yet asked; a name already offered
    /// keeps what it said.
    pub(crate) fn offer(&mut self, names: impl IntoIterator<Item = PathBuf>) {
        for name in names {
            if !self.offered.iter().any(|offered| offered.name == name) {
                self.offered.push(Offered { name, probe: Probe::Asking });
            }
        }
    }

    /// The names not yet asked.
    #[must_use]
    pub(crate) fn to_ask(&self) -> Vec<PathBuf> {
        self.offered
            .iter()
            .filter(|offered| offered.probe == Probe::Asking)
            .map(|offered| offered.name.clone())
            .collect()
    }

    /// Chooses `interpreter`, asked already (`--python`, `--runtime python`): offered under its
    /// path's name unless an interpreter offered is the same one.
    pub(crate) fn choose_interpreter(&mut self, given: &Path, interpreter: Interpreter) {
        if let Some(same) = self.offered.iter().find(|offered| is_same(offered, &interpreter)) {
            self.chosen = Choice::Python(same.name.clone());
            return;
        }
        self.offered.retain(|offered| offered.name != given);
        self.offered.insert(0, Offered { name: given.to_path_buf(), probe: Probe::Usable(interpreter) });
        self.chosen = Choice::Python(given.to_path_buf());
    }

    /// What `name` answered. An interpreter another name already offers is dropped, the first
    /// name in the row kept, and a choice of the dropped name moves to the kept one.
    pub(crate) fn answer(&mut self, name: &Path, answer: Result<Interpreter, PythonError>) {
        let Some(at) = self.offered.iter().position(|offered| offered.name == name) else { return };
        match answer {
            Err(error) => self.offered[at].probe = Probe::Unusable(error),
            Ok(interpreter) => {
                let same = self.offered.iter().position(|offered| is_same(offered, &interpreter));
                let (keep, drop) = match same {
                    Some(other) if other < at => (other, at),
                    Some(other) => (at, other),
                    None => {
                        self.offered[at].probe = Probe::Usable(interpreter);
                        return;
                    }
                };
                self.offered[keep].probe = Probe::Usable(interpreter);
                let kept = self.offered[keep].name.clone();
                let dropped = self.offered.remove(drop);
                if self.chosen == Choice::Python(dropped.name) {
                    self.chosen = Choice::Python(kept);
                }
            }
        }
    }

    /// The choice `step` places from the chosen one, wrapping: native, then each interpreter.
    pub(crate) fn step(&mut self, step: isize) {
        let choices: Vec<Choice> = std::iter::once(Choice::Native)
            .chain(self.offered.iter().map(|offered| Choice::Python(offered.name.clone())))
            .collect();
        let at = choices.iter().position(|choice| *choice == self.chosen).unwrap_or(0) as isize;
        let len = choices.len() as isize;
        self.chosen = choices[(at + step).rem_euclid(len) as usize].clone();
    }

    /// The chosen interpreter as offered; None for native.
    #[must_use]
    pub(crate) fn chosen_offer(&self) -> Option<&Offered> {
        match &self.chosen {
            Choice::Native => None,
            Choice::Python(name) => self.offered.iter().find(|offered| offered.name == *name),
        }
    }

    #[must_use]
    pub(crate) fn is_python(&self) -> bool {
        self.chosen != Choice::Native
    }

    /// The chosen runtime, or why it cannot run the workers, in whole sentences that name the
    /// key that fixes it.
    pub(crate) fn runtime(&self) -> Result<Runtime, String> {
        let Choice::Python(name) = &self.chosen else { return Ok(Runtime::Native) };
        let fix = "Press ←/→ on the runtime row for another interpreter, or native.";
        match self.chosen_offer().map(|offered| &offered.probe) {
            Some(Probe::Usable(interpreter)) => Ok(Runtime::Python(interpreter.clone())),
            Some(Probe::Asking) => Err(format!("{} has not said yet what it is: wait a moment. {fix}", name.display())),
            Some(Probe::Unusable(error)) if short_why(error).0 == "not installed" => Err(format!(
                "{} is not installed: the command exits 127, as pyenv's shim does for a version it does not have. \
                 {fix}",
                name.display()
            )),
            Some(Probe::Unusable(error)) => Err(format!(
                "{} cannot run the workers: {}. {fix}",
                name.display(),
                error.to_string().trim_end_matches('.')
            )),
            None => Err(format!("{} is not offered. {fix}", name.display())),
        }
    }
}

/// Whether `offered` answered as `interpreter`: the same implementation, version and build.
fn is_same(offered: &Offered, interpreter: &Interpreter) -> bool {
    matches!(&offered.probe, Probe::Usable(found) if same_interpreter(found, interpreter))
}

/// The same interpreter for what a run measures: implementation, version, build and GIL (two
/// files of one version, `python3` and `python3.11`, are one).
#[must_use]
pub(crate) fn same_interpreter(a: &Interpreter, b: &Interpreter) -> bool {
    a.label() == b.label() && a.gil == b.gil
}

/// Asks each of `names` what it is, each on a thread of its own, and hands every answer to
/// `send`; returns at once. At most [`PROBE_TIMEOUT`](crate::engine::plan::runtime) each.
pub(crate) fn ask_all(
    names: Vec<PathBuf>,
    send: impl Fn(PathBuf, Result<Interpreter, PythonError>) + Clone + Send + 'static,
) {
    for name in names {
        let send = send.clone();
        let spawned = std::thread::Builder::new().name("ask-python".to_owned()).spawn(move || {
            let answer = Interpreter::probe(&name);
            send(name, answer);
        });
        // No thread: the row keeps saying it is asking, and Enter refuses that interpreter.
        drop(spawned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpython(version: (u32, u32, u32), path: &str) -> Interpreter {
        Interpreter {
            path: PathBuf::from(path),
            implementation: "CPython".to_owned(),
            version,
            free_threaded: false,
            gil: true,
        }
    }

    #[test]
    fn one_interpreter_under_two_names_is_offered_once_under_the_first() {
        let mut row = RuntimeRow::default();
        row.offer(["python3", "python3.11", "python3.12"].map(PathBuf::from));
        assert_eq!(row.to_ask().len(), 3);
        row.step(2);
        assert_eq!(row.chosen, Choice::Python("python3.11".into()));
        // python3.11 answers first, then python3 says it is the same one.
        row.answer(Path::new("python3.11"), Ok(cpython((3, 11, 7), "/v/3.11/python3.11")));
        row.answer(Path::new("python3"), Ok(cpython((3, 11, 7), "/v/3.11/python3")));
        let error =
            PythonError::Unusable { path: "python3.12".into(), reason: "it exited with exit status: 127: x".into() };
        row.answer(Path::new("python3.12"), Err(error));
        let names: Vec<String> = row.offered.iter().map(Offered::shown_name).collect();
        assert_eq!(names, ["python3", "python3.12"]);
        assert_eq!(row.chosen, Choice::Python("python3".into()), "the choice follows the interpreter");
        assert!(matches!(row.runtime(), Ok(Runtime::Python(found)) if found.version == (3, 11, 7)));
        assert_eq!(row.offered[1].short_why(), Some(("not installed", "absent")));
        row.step(1);
        let refused = row.runtime().expect_err("python3.12 is not installed");
        assert!(refused.starts_with("python3.12 is not installed") && refused.contains("runtime row"), "{refused}");
        row.step(1);
        assert_eq!(row.runtime(), Ok(Runtime::Native), "wraps to native");
    }

    #[test]
    fn an_interpreter_given_on_the_command_line_is_chosen_and_offered_first() {
        let mut row = RuntimeRow::default();
        row.choose_interpreter(Path::new("/venv/bin/python"), cpython((3, 12, 1), "/venv/bin/python"));
        row.offer(["python3"].map(PathBuf::from));
        assert_eq!(row.to_ask(), [PathBuf::from("python3")]);
        assert_eq!(row.chosen, Choice::Python("/venv/bin/python".into()));
        row.answer(Path::new("python3"), Ok(cpython((3, 11, 7), "/usr/bin/python3")));
        assert_eq!(row.offered.len(), 2, "another version is another interpreter");
        let pending = RuntimeRow { chosen: Choice::Python("python3".into()), ..RuntimeRow::default() };
        assert!(pending.runtime().is_err(), "not offered");
    }
}
