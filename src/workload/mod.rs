//! The workload catalog: the list of what workers can compute, one file per workload.
//!
//! [`task`] holds the trait a workload implements (what a task does with its hooks) and
//! [`kind`] the trait its catalog entry implements (name, texts, size, options, variants).
//! Each workload file is the one home of everything about it; this module only lists them.
//! Adding a workload is its own file and one line of [`catalog!`] below.

pub(crate) mod choice;
pub(crate) mod histogram;
pub(crate) mod kind;
pub(crate) mod task;
#[cfg(test)]
pub(crate) mod testing;

pub use choice::Choice;
pub use cpu::sum_of_squares;
pub(crate) use crash::segfault;
pub use kind::{
    Footprint, Kind, OptionError, OptionSpec, Options, PythonTwin, Setup, Shape, SizeSpec, Values, Variant,
};
pub use task::{
    awaiting, AsyncHooks, AsyncWorkload, ExchangeError, Flow, Hooks, Line, LiveCells, LocalFuture, Measure, Metrics,
    MetricsOf, Preparing, RunCells, ServedWorkload, Service, Stopping, TalkingWorkload, TaskEnd, Transport, Unprepared,
    Workload, Wrong,
};

/// Declares each workload's module and lists its entry, in the order `list` and the dashboard
/// show them. An entry of the user's own code ([`Kind::user_code_flag`]) comes last: it is
/// shown only when its option names the code, and then first.
macro_rules! catalog {
    ($($module:ident :: $entry:ident,)*) => {
        $(mod $module;)*
        /// Every workload of the catalog.
        pub static CATALOG: &[&dyn Kind] = &[$(&$module::$entry),*];
    };
}

catalog! {
    cpu::Cpu,
    io::Io,
    data::Data,
    ipc::Ipc,
    memory::Memory,
    contention::Contention,
    imbalance::Imbalance,
    crash::Crash,
    net::Net,
    disk::Disk,
    throttle::Throttle,
    latency::Latency,
    function::Function,
}

/// The catalog entry called `name`.
#[must_use]
pub fn by_name(name: &str) -> Option<&'static dyn Kind> {
    CATALOG.iter().copied().find(|kind| kind.name() == name)
}

/// The entries shown in `list`, in `--workload`'s values and in the dashboard's catalog:
/// every entry but those of the user's own code.
pub fn listed() -> impl Iterator<Item = &'static dyn Kind> {
    CATALOG.iter().copied().filter(|kind| kind.user_code_flag().is_none())
}

/// The entry that runs the user's own code named by one of `given`'s options, if any.
#[must_use]
pub fn user_code_in(given: &[(String, String)]) -> Option<&'static dyn Kind> {
    CATALOG.iter().copied().find(|kind| kind.user_code_flag().is_some_and(|flag| given.iter().any(|(f, _)| f == flag)))
}

/// The position of `kind` in the catalog.
#[must_use]
pub fn position(kind: &dyn Kind) -> usize {
    CATALOG.iter().position(|entry| entry.name() == kind.name()).unwrap_or(0)
}

/// Every option of every workload, each flag once (`--seed` serves two), with the names of the
/// workloads that take it.
#[must_use]
pub fn all_options() -> Vec<(OptionSpec, String)> {
    let mut options: Vec<(OptionSpec, String)> = Vec::new();
    for spec in CATALOG.iter().flat_map(|kind| kind.options()) {
        if !options.iter().any(|(known, _)| known.flag == spec.flag) {
            options.push((*spec, takers_of(spec.flag)));
        }
    }
    options
}

/// `imbalance or data`: the workloads that take `--flag`.
#[must_use]
pub fn takers_of(flag: &str) -> String {
    let takers: Vec<&str> = CATALOG
        .iter()
        .filter(|kind| kind.options().iter().any(|spec| spec.flag == flag))
        .map(|kind| kind.name())
        .collect();
    if takers.is_empty() {
        "none".to_owned()
    } else {
        takers.join(" or ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_a_unique_name_and_sane_defaults() {
        for (at, kind) in CATALOG.iter().enumerate() {
            assert_eq!(by_name(kind.name()).map(Kind::name), Some(kind.name()));
            assert_eq!(position(*kind), at);
            let size = kind.size();
            assert!(size.default > 0 && size.max.is_none_or(|max| max >= size.default), "{}", kind.name());
            assert!(size.watchable > 0 && size.max.is_none_or(|max| max >= size.watchable), "{}", kind.name());
            for spec in kind.options() {
                if let Some(default) = spec.default {
                    assert_eq!(kind::check_value(spec, default), Ok(()), "{} --{}", kind.name(), spec.flag);
                }
            }
        }
        assert!(takers_of("seed").contains("imbalance") && takers_of("seed").contains("data"));
    }

    #[test]
    fn options_of_another_workload_are_refused_and_defaults_filled() {
        let shape = Shape { workers: 2, tasks: 4, processes: false };
        let cpu = by_name("cpu").expect("cpu");
        let given = vec![("strategy".to_owned(), "mutex".to_owned())];
        assert_eq!(
            Setup::configure(cpu, 1, &given, &shape).map(|_| ()),
            Err(OptionError::NotFor { flag: "strategy".into(), applies_to: "contention".into() })
        );
        let ipc = Setup::configure(by_name("ipc").expect("ipc"), 1, &[], &shape).expect("ipc");
        assert_eq!(ipc.options.get("transport"), "channel");
        let processes = Shape { processes: true, ..shape };
        let ipc = Setup::configure(by_name("ipc").expect("ipc"), 1, &[], &processes).expect("ipc");
        assert_eq!(ipc.options.get("transport"), "pipe");
    }
}
