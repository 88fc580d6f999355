//! `disk`'s private directory for a run: made by the program before any worker, removed by
//! it alone (the process that made it, the directory it made) when the workload goes, and swept
//! up by the next run when a program killed with SIGKILL could not.

use std::path::PathBuf;

/// The run's private directory, `$TMPDIR/concur-tui-disk-PID`: made by the program before any
/// worker and removed by it when the workload goes, after every worker ended (normal end,
/// Ctrl-C, a crashed or killed worker). Workers never remove it: a forked one leaves with
/// `_exit`, a spawned one never made it. A program killed with SIGKILL leaves it behind; the
/// next disk run removes directories whose program is gone.
#[derive(Debug)]
pub(crate) struct Scratch {
    path: PathBuf,
    /// Who made it, and which directory it was: only that process removes that directory.
    owner: u32,
    identity: Option<(u64, u64)>,
    filesystem: String,
}

/// Names of the directories, before the program's pid.
const PREFIX: &str = "concur-tui-disk-";

impl Scratch {
    /// The directory of the program `pid`.
    pub(super) fn path_for(pid: nix::unistd::Pid) -> PathBuf {
        std::env::temp_dir().join(format!("{PREFIX}{pid}"))
    }

    /// Removes the directories of programs that are gone, then makes this program's.
    pub(super) fn create() -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        remove_orphans();
        let path = Self::path_for(nix::unistd::getpid());
        // Left by an earlier run of this very program whose workload is still held.
        if path.exists() {
            std::fs::remove_dir_all(&path)?;
        }
        std::fs::DirBuilder::new().mode(0o700).create(&path).map_err(|error| {
            std::io::Error::new(error.kind(), format!("cannot make {}: {error}", path.display()))
        })?;
        Ok(Self::at(path))
    }

    /// Takes charge of the existing directory `path`.
    pub(super) fn at(path: PathBuf) -> Self {
        use std::os::unix::fs::MetadataExt;
        let identity = std::fs::metadata(&path).ok().map(|meta| (meta.dev(), meta.ino()));
        let filesystem = filesystem_of(&path);
        Self { path, owner: std::process::id(), identity, filesystem }
    }

    pub(super) fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub(super) fn filesystem(&self) -> &str {
        &self.filesystem
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        use std::os::unix::fs::MetadataExt;
        let same = std::fs::symlink_metadata(&self.path).ok().map(|meta| (meta.dev(), meta.ino()));
        if std::process::id() == self.owner && same.is_some() && same == self.identity {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes `concur-tui-disk-PID` directories whose program no longer exists (it was killed
/// with SIGKILL, which nothing can clean up after).
fn remove_orphans() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|name| name.strip_prefix(PREFIX)).and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH);
        if pid > 0 && gone && entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The file system under `path`, by name for the common ones.
fn filesystem_of(path: &std::path::Path) -> String {
    use nix::sys::statfs::{statfs, BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, OVERLAYFS_SUPER_MAGIC, TMPFS_MAGIC, XFS_SUPER_MAGIC};
    let Ok(stats) = statfs(path) else {
        return "unknown".to_owned();
    };
    let kind = stats.filesystem_type();
    let known = [
        (EXT4_SUPER_MAGIC, "ext4"),
        (TMPFS_MAGIC, "tmpfs"),
        (XFS_SUPER_MAGIC, "xfs"),
        (BTRFS_SUPER_MAGIC, "btrfs"),
        (OVERLAYFS_SUPER_MAGIC, "overlayfs"),
    ];
    known.iter().find(|(magic, _)| *magic == kind).map_or_else(|| format!("{:#x}", kind.0), |(_, name)| (*name).to_owned())
}
