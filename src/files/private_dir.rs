//! A run's private directory (`disk`'s files, the Python runtime's runner): made by the program
//! before any worker, under a name no one can guess and with mode 0700, removed by it alone (the
//! process that made it, the directory it made) when its owner goes, and swept up by the next
//! one of the same purpose when a program killed with SIGKILL could not, but only when it is this
//! user's and carries the program's mark.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The run's private directory, `$TMPDIR/concur-tui-PURPOSE-PID-RANDOM`: made by the program
/// before any worker and removed by it when its owner goes, after every worker ended (normal end,
/// Ctrl-C, a crashed or killed worker). Workers never remove it: a forked one leaves with
/// `_exit`, a spawned one never made it. A program killed with SIGKILL leaves it behind; the
/// next run of the same purpose removes those of this user whose program is gone.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    path: PathBuf,
    /// Who made it, and which directory it was: only that process removes that directory.
    owner: u32,
    identity: Option<(u64, u64)>,
    filesystem: String,
}

/// Names of the directories, before the purpose.
const PREFIX: &str = "concur-tui-";
/// Hex digits of the random part of a name: 64 bits, so that no one can make the directory
/// before the program does, or guess which one to replace.
const RANDOM_DIGITS: usize = 16;

impl PrivateDir {
    /// Removes this user's directories of `purpose` (`disk`, `python`) of programs that are
    /// gone, then makes this program's in the temporary directory.
    pub(crate) fn create(purpose: &str) -> std::io::Result<Self> {
        Self::create_in(&std::env::temp_dir(), purpose)
    }

    /// [`PrivateDir::create`] in `base`.
    pub(crate) fn create_in(base: &Path, purpose: &str) -> std::io::Result<Self> {
        use std::os::unix::fs::DirBuilderExt;
        remove_orphans(base, purpose);
        let path = base.join(format!("{PREFIX}{purpose}-{}-{}", std::process::id(), random_hex()?));
        // mkdir never follows a link in place of the name, and fails if the name exists.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|error| std::io::Error::new(error.kind(), format!("cannot make {}: {error}", path.display())))?;
        Ok(Self::at(path))
    }

    /// The directory that the program `parent` made in the temporary directory, for a spawned
    /// worker, which cannot be told its random name without a change to every spawn spec: the
    /// one of this user's marked directories that carries the parent's pid.
    pub(crate) fn find_for(purpose: &str, parent: nix::unistd::Pid) -> Result<PathBuf, String> {
        let base = std::env::temp_dir();
        let entries = std::fs::read_dir(&base).map_err(|error| format!("cannot read {}: {error}", base.display()))?;
        entries
            .flatten()
            .map(|entry| entry.path())
            .find(|path| marked(path, purpose).is_some_and(|pid| pid == parent.as_raw()) && owned_by_this_user(path))
            .ok_or_else(|| format!("no directory of program {parent} in {}", base.display()))
    }

    /// Takes charge of the existing directory `path`.
    pub(crate) fn at(path: PathBuf) -> Self {
        let identity = std::fs::metadata(&path).ok().map(|meta| (meta.dev(), meta.ino()));
        let filesystem = filesystem_of(&path);
        Self { path, owner: std::process::id(), identity, filesystem }
    }

    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    pub(crate) fn filesystem(&self) -> &str {
        &self.filesystem
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let same = std::fs::symlink_metadata(&self.path).ok().map(|meta| (meta.dev(), meta.ino()));
        if std::process::id() == self.owner && same.is_some() && same == self.identity {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// 64 random bits in hex, from the kernel.
fn random_hex() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; RANDOM_DIGITS / 2];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut random| random.read_exact(&mut bytes))
        .map_err(|error| std::io::Error::new(error.kind(), format!("cannot read /dev/urandom: {error}")))?;
    Ok(format!("{:0width$x}", u64::from_le_bytes(bytes), width = RANDOM_DIGITS))
}

/// The program's pid when `path`'s name has the mark of a private directory of `purpose`
/// (`concur-tui-disk-PID-` and 16 hex digits).
fn marked(path: &Path, purpose: &str) -> Option<i32> {
    let rest = path.file_name()?.to_str()?.strip_prefix(PREFIX)?.strip_prefix(purpose)?.strip_prefix('-')?;
    let (pid, random) = rest.split_once('-')?;
    let hex = random.len() == RANDOM_DIGITS && random.bytes().all(|byte| byte.is_ascii_hexdigit());
    pid.parse::<i32>().ok().filter(|pid| *pid > 0 && hex)
}

/// A real directory (not a link to one) owned by this process's user, private to it.
fn owned_by_this_user(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .is_ok_and(|meta| meta.file_type().is_dir() && meta.uid() == effective_uid() && meta.mode() & 0o777 == 0o700)
}

/// This process's effective user, the owner of what it makes.
fn effective_uid() -> u32 {
    // SAFETY: geteuid takes nothing, always succeeds and touches no memory of ours.
    unsafe { libc::geteuid() }
}

/// Removes this user's marked directories in `base` whose program no longer exists (it was
/// killed with SIGKILL, which nothing can clean up after). Another user's directory, or one
/// without the mark, is never touched, whatever its name says.
fn remove_orphans(base: &Path, purpose: &str) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()) {
        let Some(pid) = marked(&path, purpose) else {
            continue;
        };
        let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) == Err(nix::errno::Errno::ESRCH);
        if gone && owned_by_this_user(&path) {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// The file system under `path`, by name for the common ones.
fn filesystem_of(path: &std::path::Path) -> String {
    use nix::sys::statfs::{
        statfs, BTRFS_SUPER_MAGIC, EXT4_SUPER_MAGIC, OVERLAYFS_SUPER_MAGIC, TMPFS_MAGIC, XFS_SUPER_MAGIC,
    };
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
    known
        .iter()
        .find(|(magic, _)| *magic == kind)
        .map_or_else(|| format!("{:#x}", kind.0), |(_, name)| (*name).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_directory_is_private_and_named_by_chance() {
        let base = std::env::temp_dir().join(format!("concur-tui-scratch-test-{}", std::process::id()));
        std::fs::create_dir_all(&base).expect("base");
        let (first, second) =
            (PrivateDir::create_in(&base, "disk").expect("made"), PrivateDir::create_in(&base, "disk").expect("made"));
        assert_ne!(first.path(), second.path(), "a random part in each name");
        for scratch in [&first, &second] {
            let meta = std::fs::symlink_metadata(scratch.path()).expect("made");
            assert_eq!(meta.mode() & 0o777, 0o700);
            assert_eq!(marked(scratch.path(), "disk"), Some(std::process::id() as i32));
            assert_eq!(marked(scratch.path(), "python"), None, "another purpose's");
            assert!(owned_by_this_user(scratch.path()));
        }
        // A name without the random part, or a link, is not the program's.
        assert_eq!(marked(Path::new("/tmp/concur-tui-disk-123"), "disk"), None);
        let link = base.join(format!("{PREFIX}disk-1-{}", "0".repeat(RANDOM_DIGITS)));
        std::os::unix::fs::symlink(first.path(), &link).expect("link");
        assert!(marked(&link, "disk").is_some() && !owned_by_this_user(&link));
        std::fs::remove_file(&link).expect("unlink");
        drop((first, second));
        assert_eq!(std::fs::read_dir(&base).expect("base").count(), 0, "both removed with their workload");
        std::fs::remove_dir(&base).expect("clean");
    }
}
