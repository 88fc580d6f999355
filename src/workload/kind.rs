//! What a catalog entry is: the [`Kind`] trait every workload file implements once, with its
//! name, texts, size, options and the variants the dashboard offers, and [`Setup`], a workload
//! configured for one run. Options travel as canonical text (flag → value) so that the command
//! line, the dashboard and a spawned worker share one form; each workload file reads them back
//! into its own typed enums.
//!
//! Nothing here knows the engine: a workload sees the run only through [`Shape`].

use std::fmt;

use super::choice::Choice;
use super::task::Workload;

/// What `--size` means for a workload, its default and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeSpec {
    /// For `--help`, errors and the README: "integers per task".
    pub unit: &'static str,
    /// For the dashboard: `ints` in `150M ints`.
    pub short_unit: &'static str,
    pub default: u64,
    /// The size the dashboard starts with: a default run there (16 tasks on two workers) lasts
    /// a few seconds on the reference machine, long enough to watch.
    pub watchable: u64,
    /// The largest size taken, where a larger one would exhaust memory or patience.
    pub max: Option<u64>,
    /// True when sizes are counts shown in millions (`150M ints`); false for `200 ms`.
    pub in_millions: bool,
}

impl SizeSpec {
    /// `150M ints`, `200 ms`, `64 MiB`: a size in the workload's own short unit.
    #[must_use]
    pub fn show(&self, size: u64) -> String {
        if self.in_millions && size >= 1_000_000_000 {
            format!("{:.1}G {}", size as f64 / 1e9, self.short_unit)
        } else if self.in_millions && size >= 1_000_000 {
            if size.is_multiple_of(1_000_000) {
                format!("{}M {}", size / 1_000_000, self.short_unit)
            } else {
                format!("{:.1}M {}", size as f64 / 1e6, self.short_unit)
            }
        } else {
            format!("{size} {}", self.short_unit)
        }
    }
}

/// What a run of a workload holds in memory at its peak, beyond the program itself: the plan
/// refuses a run whose footprint does not fit in the memory the process may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Footprint {
    /// Held by each worker at once (`memory`'s task buffer).
    pub per_worker: u64,
    /// Held once, by the program (`data`'s dataset, `memory`'s buffer to inherit).
    pub once: u64,
    /// Of `per_worker`, the bytes a forked worker copies of pages it inherited (copy-on-write):
    /// memory, but no new address space, so an address-space limit does not count them twice.
    pub copied: u64,
}

impl Footprint {
    /// Bytes in all for `workers` workers.
    #[must_use]
    pub fn total(&self, workers: usize) -> u64 {
        self.per_worker.saturating_mul(workers as u64).saturating_add(self.once)
    }
}

/// The values an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    /// One of these names.
    Choice(&'static [&'static str]),
    /// A whole number (`from` and up).
    Number { from: u64 },
    /// Any text that is not empty, kept as given (the user's `--function FILE.py:NAME`).
    Text,
}

/// One option a workload takes on the command line (`--strategy racy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    /// The long flag without its dashes.
    pub flag: &'static str,
    pub help: &'static str,
    pub values: Values,
    /// None: the workload picks it from the run's shape.
    pub default: Option<&'static str>,
}

/// What a workload may know of the run it is configured for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub workers: usize,
    pub tasks: u64,
    /// True when workers are processes; false for threads (and the sequential worker).
    pub processes: bool,
}

/// Every option of one workload with its value, as text: what the user gave, defaults filled.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Options(Vec<(String, String)>);

impl Options {
    /// The value of `flag`, empty when the workload has no such option.
    #[must_use]
    pub fn get(&self, flag: &str) -> &str {
        self.0.iter().find(|(name, _)| name == flag).map_or("", |(_, value)| value)
    }

    /// The value of a number option, 0 when absent (a configured workload always has it).
    #[must_use]
    pub fn number(&self, flag: &str) -> u64 {
        self.get(flag).parse().unwrap_or(0)
    }

    /// A choice option read into its typed enum; the enum's default when absent.
    #[must_use]
    pub fn choice<T: Choice>(&self, flag: &str) -> T {
        T::parse(self.get(flag)).unwrap_or_default()
    }

    pub fn set(&mut self, flag: &str, value: String) {
        match self.0.iter_mut().find(|(name, _)| name == flag) {
            Some((_, old)) => *old = value,
            None => self.0.push((flag.to_owned(), value)),
        }
    }

    /// `flag value` pairs, in the workload's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value.as_str()))
    }
}

/// One entry of the dashboard's variant row: a label and the options it sets. A flag that is
/// not a workload option (`schedule`) is a run setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variant {
    pub label: &'static str,
    pub sets: &'static [(&'static str, &'static str)],
}

/// An option the configuration refused, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("--{flag} applies to --workload {applies_to} only")]
    NotFor { flag: String, applies_to: String },
    #[error("--{flag} does not take '{value}': use {expected}")]
    BadValue { flag: String, value: String, expected: String },
    /// A rule of the workload's own, in its words.
    #[error("{0}")]
    Refused(String),
}

/// A catalog entry: everything the program knows about one kind of work, in its own file.
pub trait Kind: Sync {
    fn name(&self) -> &'static str;
    /// One line for `concur-tui list`.
    fn summary(&self) -> &'static str;
    /// The paragraph the dashboard shows beside the catalog.
    fn explanation(&self) -> &'static str;
    fn size(&self) -> SizeSpec;
    fn options(&self) -> &'static [OptionSpec] {
        &[]
    }
    /// Checks options that depend on the run (a transport the model cannot use) and fills the
    /// defaults the specs leave to it. `options` holds every option, given or default.
    fn check(&self, _options: &mut Options, _shape: &Shape) -> Result<(), OptionError> {
        Ok(())
    }
    /// Options the dashboard starts with, beside [`SizeSpec::watchable`], so that a default run
    /// lasts long enough to watch; the command line keeps the specs' defaults.
    fn watchable_options(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// The dashboard's variant row for this workload, for threads or processes.
    fn variants(&self, _processes: bool) -> &'static [Variant] {
        &[]
    }
    /// True when the run's checksum checks a computed result (cpu's sum, data's histograms);
    /// false when task digests only prove that each task ran once (io's index + 1).
    fn checksum_checks_result(&self) -> bool {
        false
    }
    /// What a run configured as `setup` holds in memory at its peak; `spawned` when its workers
    /// are re-executed processes, which inherit nothing. Nothing, unless the workload holds
    /// memory in proportion to its size.
    fn footprint(&self, _setup: &Setup, _shape: &Shape, _spawned: bool) -> Footprint {
        Footprint::default()
    }
    /// True when a thread group running it could take its whole process down, so it must run
    /// in a host process of its own.
    fn may_kill_its_process(&self, _options: &Options) -> bool {
        false
    }
    /// The workload, ready to run.
    fn build(&self, setup: &Setup) -> Box<dyn Workload>;
    /// Its Python twin, where the workload's lesson applies to Python; None refuses it under
    /// `--runtime python`.
    fn python(&self) -> Option<PythonTwin> {
        None
    }
    /// Why these options have no meaning under `--runtime python` (an atomic add, which Python
    /// lacks), in one line naming the flag; None when the twin runs them.
    fn python_refusal(&self, _options: &Options) -> Option<String> {
        None
    }
    /// Some(flag) for an entry that runs the user's own Python code, named by its option `flag`
    /// (`function`): giving the option picks the entry, which is listed nowhere else (not in
    /// `list`, `--workload` or the dashboard's catalog unless given); it runs under
    /// `--runtime python` only; and its twin defines `check(options, pickled)`, which the
    /// interpreter runs when it is probed, before anything starts, and which raises with a
    /// one-line reason when the code cannot run.
    fn user_code_flag(&self) -> Option<&'static str> {
        None
    }
}

/// A workload's twin for the Python runtime: the same tasks written in Python, with the same
/// digests, so the native workload's checksum and metrics read its runs unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PythonTwin {
    /// A Python module defining `task(index, size, options, h)`, which returns the task's digest
    /// (an int) or None when `h.checkpoint(units_done)` said stop, and may define
    /// `async def task_async(index, size, options, h)` for `--model async`. `h` is the runner's
    /// worker: `h.checkpoint(units_done)`, `with h.blocked():` around a wait that uses no CPU,
    /// and `await h.turn()` where an async task hands the loop to the others; `h.cell(name)` (a
    /// board cell as a ctypes integer), `h.shared` (what the module's `shared(spec)`, if any,
    /// made once in the host for every worker) and `h.measure_memory()` (RSS and PSS into the
    /// worker's slot).
    pub source: &'static str,
    /// `--size` in the twin's own units: Python is slower than native code.
    pub size: SizeSpec,
    /// True when `source` defines `task_async`: the twin runs as tasks of one asyncio loop.
    pub on_event_loop: bool,
}

impl fmt::Debug for dyn Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for dyn Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl PartialEq for dyn Kind {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for dyn Kind {}

/// A workload configured for one run: what the plan carries and a spawned worker rebuilds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setup {
    pub kind: &'static dyn Kind,
    pub size: u64,
    pub tasks: u64,
    pub options: Options,
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())
    }
}

impl Setup {
    /// Reads `given` (flag → value) for `kind`: refuses options of other workloads and values
    /// the specs do not take, fills defaults, then lets the workload check the rest.
    pub fn configure(
        kind: &'static dyn Kind,
        size: u64,
        given: &[(String, String)],
        shape: &Shape,
    ) -> Result<Self, OptionError> {
        for (flag, _) in given {
            if !kind.options().iter().any(|spec| spec.flag == flag) {
                return Err(OptionError::NotFor { flag: flag.clone(), applies_to: super::takers_of(flag) });
            }
        }
        let mut options = Options::default();
        for spec in kind.options() {
            let value = given.iter().rev().find(|(flag, _)| flag == spec.flag).map(|(_, value)| value.clone());
            if let Some(value) = &value {
                check_value(spec, value)?;
            }
            if let Some(value) = value.or_else(|| spec.default.map(str::to_owned)) {
                options.set(spec.flag, value);
            }
        }
        kind.check(&mut options, shape)?;
        Ok(Self { kind, size, tasks: shape.tasks, options })
    }

    #[must_use]
    pub fn build(&self) -> Box<dyn Workload> {
        self.kind.build(self)
    }

    /// The options that tell this run apart from another of the same workload: `racy`, `pipe`,
    /// `work.py:crunch`.
    #[must_use]
    pub fn variant(&self) -> String {
        self.kind
            .options()
            .iter()
            .filter(|spec| matches!(spec.values, Values::Choice(_) | Values::Text))
            .map(|spec| self.options.get(spec.flag))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Refuses a value that `spec` does not take.
pub(crate) fn check_value(spec: &OptionSpec, value: &str) -> Result<(), OptionError> {
    let bad =
        |expected: String| OptionError::BadValue { flag: spec.flag.to_owned(), value: value.to_owned(), expected };
    match spec.values {
        Values::Choice(names) if !names.contains(&value) => Err(bad(names.join(", "))),
        Values::Number { from } if value.parse::<u64>().map_or(true, |n| n < from) => {
            Err(bad(format!("a whole number from {from}")))
        }
        Values::Text if value.trim().is_empty() => Err(bad("some text".to_owned())),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_show_in_their_unit() {
        let ints = SizeSpec { unit: "", short_unit: "ints", default: 1, watchable: 1, max: None, in_millions: true };
        assert_eq!(ints.show(150_000_000), "150M ints");
        assert_eq!(ints.show(1_500_000), "1.5M ints");
        assert_eq!(ints.show(20_000), "20000 ints");
        let millis = SizeSpec { short_unit: "ms", in_millions: false, ..ints };
        assert_eq!(millis.show(2_000_000), "2000000 ms");
    }

    /// The dashboard shows these texts, and it sets no flag: a text that names one would
    /// point at a knob the reader cannot find there.
    #[test]
    fn catalog_texts_name_no_command_line_flag() {
        for kind in super::super::CATALOG {
            for text in [kind.summary(), kind.explanation()] {
                assert!(!text.contains("--"), "{}: {text}", kind.name());
            }
        }
    }

    #[test]
    fn every_workload_has_a_size_limit() {
        for kind in super::super::CATALOG {
            let size = kind.size();
            assert!(size.max.is_some_and(|max| max >= size.watchable), "{}: no sensible --size limit", kind.name());
        }
    }

    #[test]
    fn values_are_checked_against_the_spec() {
        let spec = OptionSpec { flag: "x", help: "", values: Values::Choice(&["a", "b"]), default: None };
        assert!(check_value(&spec, "a").is_ok());
        assert!(matches!(check_value(&spec, "c"), Err(OptionError::BadValue { .. })));
        let number = OptionSpec { values: Values::Number { from: 1 }, ..spec };
        assert!(check_value(&number, "3").is_ok());
        assert!(check_value(&number, "0").is_err() && check_value(&number, "x").is_err());
    }
}
