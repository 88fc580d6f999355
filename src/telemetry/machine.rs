//! How busy the machine is apart from a run: the CPU time every allowed CPU spent outside its
//! idle states, read from `/proc/stat`, so that a run's own CPU time can be taken out of it and
//! the rest called other programs'. The dashboard's Cores panel and `bench` judge a busy machine
//! by the same [`BUSY_OTHERS`].

/// Other programs using more than this, in percent of one core on average, make a run's
/// figures doubtful.
pub(crate) const BUSY_OTHERS: f32 = 25.0;

/// The busy CPU time of the allowed CPUs at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MachineCpu {
    busy_seconds: f64,
}

impl MachineCpu {
    /// Reads `/proc/stat` now; None where it cannot be read (not Linux, no /proc).
    #[must_use]
    pub(crate) fn now(allowed: &[usize]) -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().filter(|t| *t > 0)?;
        Some(Self { busy_seconds: busy_ticks(&stat, allowed)? as f64 / ticks as f64 })
    }

    /// CPU time other programs used since `self`, given the run's own CPU time over the same
    /// span. May come out slightly below 0: /proc/stat counts in ticks of 10 ms per CPU.
    #[must_use]
    pub(crate) fn others_since(self, later: Self, own_cpu_seconds: f64) -> f64 {
        later.busy_seconds - self.busy_seconds - own_cpu_seconds
    }
}

/// The busy ticks (all but idle and iowait; guest time is already inside user) of the `cpuN`
/// lines of the allowed CPUs.
fn busy_ticks(stat: &str, allowed: &[usize]) -> Option<u64> {
    let mut total = 0u64;
    let mut found = false;
    for line in stat.lines() {
        let mut fields = line.split_whitespace();
        let Some(cpu) = fields.next().and_then(|name| name.strip_prefix("cpu")).and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if !allowed.contains(&cpu) {
            continue;
        }
        let values: Vec<u64> = fields.map(|field| field.parse().unwrap_or(0)).collect();
        // user nice system idle iowait irq softirq steal guest guest_nice
        let busy: u64 = values.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum();
        total += busy;
        found = true;
    }
    found.then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_ticks_count_only_allowed_cpus_outside_idle() {
        let stat = "cpu  30 0 10 100 5 0 0 0 0 0\ncpu0 10 1 2 50 5 3 4 5 7 0\ncpu1 20 0 8 50 0 0 0 0 0 0\nintr 1 2\n";
        assert_eq!(busy_ticks(stat, &[0]), Some(10 + 1 + 2 + 3 + 4 + 5));
        assert_eq!(busy_ticks(stat, &[0, 1]), Some(25 + 28));
        assert_eq!(busy_ticks(stat, &[5]), None);
    }

    #[test]
    fn the_machine_can_be_read_and_time_only_grows() {
        let first = MachineCpu::now(&[0]).expect("/proc/stat");
        let later = MachineCpu::now(&[0]).expect("/proc/stat");
        assert!(first.others_since(later, 0.0) >= 0.0);
    }
}
