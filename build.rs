//! Build script: records the git commit the binary is built from, for `--version`, as
//! `CONCUR_TUI_GIT_COMMIT`. Without git (a crate tarball, a source archive) it says "unknown"
//! rather than failing the build, and it reads nothing outside the crate but what git names.

use std::path::Path;
use std::process::Command;

fn main() {
    let crate_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let crate_dir = Path::new(&crate_dir);
    // Only the crate's own checkout counts: a crate unpacked inside some other repository (a
    // vendor folder, ~/.cargo inside a dotfiles repository) must not report that one's commit.
    let commit = if crate_dir.join(".git").exists() { git_commit(crate_dir) } else { None };
    println!("cargo:rustc-env=CONCUR_TUI_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
    // Re-run only when the commit can have changed: never rerun on every build, which a missing
    // watched file would cause.
    println!("cargo:rerun-if-changed=build.rs");
    for watched in watched_git_files(crate_dir) {
        println!("cargo:rerun-if-changed={watched}");
    }
}

/// `git rev-parse --short HEAD`, or None when git is missing or says no.
fn git_commit(crate_dir: &Path) -> Option<String> {
    let hash = git(crate_dir, &["rev-parse", "--short", "HEAD"])?;
    let plain = !hash.is_empty() && hash.chars().all(|c| c.is_ascii_hexdigit());
    plain.then_some(hash)
}

/// The files whose change means a new commit: HEAD, the branch it points at, and packed-refs
/// (where a branch lives once git packs it). Asked of git, since in a worktree `.git` is a file
/// and the branch lives in the main repository.
fn watched_git_files(crate_dir: &Path) -> Vec<String> {
    if !crate_dir.join(".git").exists() {
        return Vec::new();
    }
    let mut names = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(crate_dir, &["symbolic-ref", "-q", "HEAD"]) {
        names.push(branch);
    }
    names
        .iter()
        .filter_map(|name| git(crate_dir, &["rev-parse", "--git-path", name]))
        // git answers relative to the directory it ran in, or absolute (join keeps those).
        .map(|path| crate_dir.join(path))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect()
}

/// One line of git's output, trimmed; None when git cannot run or fails.
fn git(crate_dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(crate_dir).args(args).output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_owned())
}
