//! CPU affinity: which CPUs this process may use, how a policy maps workers onto them, and
//! pinning the calling thread. Pinning always happens from inside the worker.

use std::fmt;

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Where workers may run.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Affinity {
    /// The scheduler decides.
    #[default]
    None,
    /// Worker i on the i-th allowed CPU, wrapping.
    Spread,
    /// Every worker on the first allowed CPU.
    Single,
    /// Worker i on the i-th CPU of the list, wrapping.
    List(Vec<usize>),
}

/// An affinity the user asked for cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AffinityError {
    #[error("cannot read the affinity '{0}': use none, spread, single or a CPU list such as 0,2-3")]
    Syntax(String),
    #[error("CPU {cpu} is not available to this process (allowed: {allowed})")]
    NotAllowed { cpu: usize, allowed: String },
    #[error("cannot read this process's allowed CPUs: {0}")]
    Query(nix::Error),
}

impl std::str::FromStr for Affinity {
    type Err = AffinityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "none" => Ok(Self::None),
            "spread" => Ok(Self::Spread),
            "single" => Ok(Self::Single),
            list => parse_cpu_list(list).map(Self::List).ok_or_else(|| AffinityError::Syntax(text.to_owned())),
        }
    }
}

impl fmt::Display for Affinity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("none"),
            Self::Spread => f.write_str("spread"),
            Self::Single => f.write_str("single"),
            Self::List(cpus) => f.write_str(&format_in_order(cpus)),
        }
    }
}

/// A pinning list in its given order (worker i goes to the i-th CPU), with
/// ascending runs written as ranges: [1, 0] → `1,0`, [0, 1, 2, 5] → `0-2,5`. It parses back to
/// the same list.
fn format_in_order(cpus: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut start = 0;
    while start < cpus.len() {
        let mut end = start;
        while end + 1 < cpus.len() && cpus[end + 1] == cpus[end] + 1 {
            end += 1;
        }
        parts.push(if start == end { cpus[start].to_string() } else { format!("{}-{}", cpus[start], cpus[end]) });
        start = end + 1;
    }
    parts.join(",")
}

/// `0,2-3` → [0, 2, 3]; None for anything else, including an empty list.
fn parse_cpu_list(text: &str) -> Option<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        if let Some((low, high)) = part.split_once('-') {
            let (low, high): (usize, usize) = (low.trim().parse().ok()?, high.trim().parse().ok()?);
            if low > high || high >= crate::board::MAX_TRACKED_CPUS {
                return None;
            }
            cpus.extend(low..=high);
        } else {
            let cpu: usize = part.parse().ok()?;
            if cpu >= crate::board::MAX_TRACKED_CPUS {
                return None;
            }
            cpus.push(cpu);
        }
    }
    if cpus.is_empty() {
        return None;
    }
    cpus.dedup();
    Some(cpus)
}

/// [0, 1, 2, 5] → `0-2,5`.
#[must_use]
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end { start.to_string() } else { format!("{start}-{end}") });
        i += 1;
    }
    parts.join(",")
}

/// The CPUs this process may run on (taskset, cgroups), ascending.
pub fn allowed_cpus() -> Result<Vec<usize>, AffinityError> {
    let set = sched_getaffinity(Pid::from_raw(0)).map_err(AffinityError::Query)?;
    Ok((0..CpuSet::count()).filter(|&cpu| set.is_set(cpu).unwrap_or(false)).collect())
}

impl Affinity {
    /// Checks the policy against the allowed CPUs and returns the CPU of each worker, if pinned.
    pub fn assign(&self, workers: usize, allowed: &[usize]) -> Result<Vec<Option<usize>>, AffinityError> {
        let allowed_text = || format_cpu_list(allowed);
        let first = *allowed.first().ok_or_else(|| AffinityError::Syntax(self.to_string()))?;
        Ok(match self {
            Self::None => vec![None; workers],
            Self::Single => vec![Some(first); workers],
            Self::Spread => (0..workers).map(|i| Some(allowed[i % allowed.len()])).collect(),
            Self::List(cpus) => {
                if let Some(&cpu) = cpus.iter().find(|cpu| !allowed.contains(cpu)) {
                    return Err(AffinityError::NotAllowed { cpu, allowed: allowed_text() });
                }
                (0..workers).map(|i| Some(cpus[i % cpus.len()])).collect()
            }
        })
    }
}

/// Pins the calling thread to `cpu`. Async-signal-safe: fine in a forked child.
pub fn pin_current_thread(cpu: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(cpu)?;
    sched_setaffinity(Pid::from_raw(0), &set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_policies_and_lists() {
        assert_eq!("none".parse(), Ok(Affinity::None));
        assert_eq!("spread".parse(), Ok(Affinity::Spread));
        assert_eq!("0,2-3".parse(), Ok(Affinity::List(vec![0, 2, 3])));
        for bad in ["", "x", "3-1", "1,,2", "-1", "99999"] {
            assert!(bad.parse::<Affinity>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lists_round_trip_through_display() {
        assert_eq!(format_cpu_list(&[5, 0, 1, 2]), "0-2,5");
        assert_eq!(Affinity::List(vec![0, 2, 3]).to_string(), "0,2-3");
        // Order decides where each worker goes: a list shows it as given.
        for list in [vec![1, 0], vec![3, 0, 1, 2], vec![0, 1, 2, 5]] {
            let shown = Affinity::List(list.clone()).to_string();
            assert_eq!(shown.parse(), Ok(Affinity::List(list.clone())), "{list:?} shown as {shown}");
        }
        assert_eq!(Affinity::List(vec![1, 0]).to_string(), "1,0");
    }

    #[test]
    fn assigns_workers_to_allowed_cpus() {
        let allowed = [2, 3];
        assert_eq!(Affinity::Spread.assign(3, &allowed), Ok(vec![Some(2), Some(3), Some(2)]));
        assert_eq!(Affinity::Single.assign(2, &allowed), Ok(vec![Some(2), Some(2)]));
        assert_eq!(Affinity::None.assign(2, &allowed), Ok(vec![None, None]));
        assert_eq!(
            Affinity::List(vec![0]).assign(1, &allowed),
            Err(AffinityError::NotAllowed { cpu: 0, allowed: "2-3".into() })
        );
    }

    #[test]
    fn this_process_may_use_some_cpu() {
        assert!(!allowed_cpus().expect("sched_getaffinity").is_empty());
    }
}
