//! What a sweep measures, as the user names it: the models (`threads,threads+gil,processes`) and
//! the worker counts (`1,2,4` or `1..8`), read and checked here so that the sweep never sees a
//! bad value. Pure: no engine, no I/O.

use std::fmt;
use std::str::FromStr;

use crate::engine::Model;

/// One model of a sweep: an execution model, with or without the emulated interpreter lock; or,
/// in a native sweep, one of CPython's (`python-threads`, `python-processes`), so that the real
/// GIL's curve is drawn beside the emulated lock's, each over its own runtime's sequential
/// baseline (`python-sequential`, measured whenever a Python model is swept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum BenchModel {
    Sequential,
    Threads,
    ThreadsGil,
    Processes,
    ProcessesGil,
    Async,
    PythonSequential,
    PythonThreads,
    PythonProcesses,
}

impl BenchModel {
    pub(crate) const ALL: [Self; 9] = [
        Self::Sequential,
        Self::Threads,
        Self::ThreadsGil,
        Self::Processes,
        Self::ProcessesGil,
        Self::Async,
        Self::PythonSequential,
        Self::PythonThreads,
        Self::PythonProcesses,
    ];

    /// The name on the command line and in exports.
    #[must_use]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Threads => "threads",
            Self::ThreadsGil => "threads+gil",
            Self::Processes => "processes",
            Self::ProcessesGil => "processes+gil",
            Self::Async => "async",
            Self::PythonSequential => "python-sequential",
            Self::PythonThreads => "python-threads",
            Self::PythonProcesses => "python-processes",
        }
    }

    /// The name in sentences: "threads with the lock".
    #[must_use]
    pub(crate) fn words(self) -> &'static str {
        match self {
            Self::Sequential => "sequential",
            Self::Threads => "threads",
            Self::ThreadsGil => "threads with the lock",
            Self::Processes => "processes",
            Self::ProcessesGil => "processes with the lock",
            Self::Async => "async tasks",
            Self::PythonSequential => "Python sequential",
            Self::PythonThreads => "Python threads",
            Self::PythonProcesses => "Python processes",
        }
    }

    #[must_use]
    pub(crate) fn model(self) -> Model {
        match self {
            Self::Sequential | Self::PythonSequential => Model::Sequential,
            Self::Threads | Self::ThreadsGil | Self::PythonThreads => Model::Threads,
            Self::Processes | Self::ProcessesGil | Self::PythonProcesses => Model::Processes,
            Self::Async => Model::Async,
        }
    }

    #[must_use]
    pub(crate) fn gil(self) -> bool {
        matches!(self, Self::ThreadsGil | Self::ProcessesGil)
    }

    /// One of CPython's models in a native sweep: run on the sweep's Python interpreter.
    #[must_use]
    pub(crate) fn python(self) -> bool {
        matches!(self, Self::PythonSequential | Self::PythonThreads | Self::PythonProcesses)
    }

    /// A sequential baseline: native code's, or Python's for the Python models.
    #[must_use]
    pub(crate) fn is_baseline(self) -> bool {
        matches!(self, Self::Sequential | Self::PythonSequential)
    }

    /// The baseline this model's speedup is measured against.
    #[must_use]
    pub(crate) fn baseline(self) -> Self {
        if self.python() {
            Self::PythonSequential
        } else {
            Self::Sequential
        }
    }

    /// The bench model of a run's model and lock.
    #[must_use]
    pub(crate) fn of(model: Model, gil: bool) -> Self {
        match (model, gil) {
            (Model::Sequential, _) => Self::Sequential,
            (Model::Threads, false) => Self::Threads,
            (Model::Threads, true) => Self::ThreadsGil,
            (Model::Processes, false) => Self::Processes,
            (Model::Processes, true) => Self::ProcessesGil,
            (Model::Async, _) => Self::Async,
        }
    }
}

impl fmt::Display for BenchModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model list or worker list that cannot be used; the message says how to fix it (clap
/// names the flag before it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SpecError {
    #[error(
        "unknown model '{0}'; use a comma list of sequential, threads, threads+gil, processes, processes+gil, async, \
         python-threads, python-processes"
    )]
    UnknownModel(String),
    #[error("give at least one model, such as threads,processes")]
    NoModels,
    #[error("cannot read '{0}'; use a list such as 1,2,4 or a range such as 1..8")]
    Unreadable(String),
    #[error("worker counts start at 1, not 0")]
    Zero,
    #[error("{0} runs backwards; write it low to high, such as 1..8")]
    Backwards(String),
    #[error("{0} workers are more than the board holds ({max})", max = crate::board::MAX_WORKERS)]
    TooMany(usize),
}

/// The models of `--models`, in the order given, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Models(pub Vec<BenchModel>);

impl FromStr for Models {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let mut models = Vec::new();
        for name in text.split(',').map(str::trim).filter(|name| !name.is_empty()) {
            let model = BenchModel::ALL
                .into_iter()
                .find(|model| model.name() == name)
                .ok_or_else(|| SpecError::UnknownModel(name.to_owned()))?;
            if !models.contains(&model) {
                models.push(model);
            }
        }
        if models.is_empty() {
            return Err(SpecError::NoModels);
        }
        Ok(Self(models))
    }
}

/// The worker counts of `--workers`: a comma list of counts and `a..b` ranges (both ends
/// included), sorted, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkerList(pub Vec<usize>);

impl WorkerList {
    /// 1 up to twice the allowed CPUs, so that oversubscription shows.
    #[must_use]
    pub(crate) fn default_for(cpus: usize) -> Self {
        Self((1..=2 * cpus.max(1)).collect())
    }
}

impl FromStr for WorkerList {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        let count = |part: &str| part.trim().parse::<usize>().map_err(|_| SpecError::Unreadable(text.to_owned()));
        let mut counts = Vec::new();
        for part in text.split(',') {
            match part.split_once("..") {
                Some((low, high)) => {
                    let (low, high) = (count(low)?, count(high.trim_start_matches('='))?);
                    if low > high {
                        return Err(SpecError::Backwards(part.trim().to_owned()));
                    }
                    if high > crate::board::MAX_WORKERS {
                        return Err(SpecError::TooMany(high));
                    }
                    counts.extend(low..=high);
                }
                None => counts.push(count(part)?),
            }
        }
        if counts.contains(&0) {
            return Err(SpecError::Zero);
        }
        if let Some(&too_many) = counts.iter().find(|&&n| n > crate::board::MAX_WORKERS) {
            return Err(SpecError::TooMany(too_many));
        }
        counts.sort_unstable();
        counts.dedup();
        Ok(Self(counts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_read_by_their_names() {
        let models: Models = "threads, threads+gil,processes,threads".parse().expect("models");
        assert_eq!(models.0, vec![BenchModel::Threads, BenchModel::ThreadsGil, BenchModel::Processes]);
        assert_eq!("foo".parse::<Models>(), Err(SpecError::UnknownModel("foo".into())));
        assert_eq!(",".parse::<Models>(), Err(SpecError::NoModels));
        for model in BenchModel::ALL.into_iter().filter(|model| !model.python()) {
            assert_eq!(BenchModel::of(model.model(), model.gil()), model);
        }
        let mixed: Models = "threads+gil,python-threads".parse().expect("models");
        assert_eq!(mixed.0, vec![BenchModel::ThreadsGil, BenchModel::PythonThreads]);
        assert_eq!(BenchModel::PythonThreads.baseline(), BenchModel::PythonSequential);
    }

    #[test]
    fn worker_lists_take_counts_and_ranges() {
        assert_eq!("4,1,2".parse::<WorkerList>().expect("list").0, vec![1, 2, 4]);
        assert_eq!("1..4".parse::<WorkerList>().expect("range").0, vec![1, 2, 3, 4]);
        assert_eq!("1..=3,8,2".parse::<WorkerList>().expect("mixed").0, vec![1, 2, 3, 8]);
        assert_eq!("0".parse::<WorkerList>(), Err(SpecError::Zero));
        assert_eq!("0..2".parse::<WorkerList>(), Err(SpecError::Zero));
        assert_eq!("3..1".parse::<WorkerList>(), Err(SpecError::Backwards("3..1".into())));
        assert_eq!("two".parse::<WorkerList>(), Err(SpecError::Unreadable("two".into())));
        assert_eq!("1..".parse::<WorkerList>(), Err(SpecError::Unreadable("1..".into())));
        assert!(matches!("1..99999".parse::<WorkerList>(), Err(SpecError::TooMany(99_999))));
        assert_eq!(WorkerList::default_for(2).0, vec![1, 2, 3, 4]);
    }
}
