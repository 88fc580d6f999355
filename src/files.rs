//! The files the program writes: results, traces and exports. A name the program chose itself
//! is created new (`O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0644 less the umask): a file or link
//! planted under that name in a shared directory keeps its name and its content, and the
//! program takes the next free name. A path the user named may replace a regular file, as
//! hyperfine's exports do, but through a temporary file beside it renamed over it, so a link
//! there is refused, never followed. A write that fails removes what it wrote and says so: no
//! empty or cut file is left to look like a result.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

mod private_dir;

pub(crate) use private_dir::PrivateDir;

/// How many names are tried before giving up: past a few, someone is planting them.
const NAMES_TRIED: usize = 100;

/// What writes a file's content.
pub(crate) type Content<'a> = &'a mut dyn FnMut(&mut dyn Write) -> io::Result<()>;

/// Creates `path`, which must not exist yet, never through a link.
pub(crate) fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
}

/// Creates a set of files named together (a results file's `.md` and `.json`): the first set
/// `names(0)`, `names(1)`, … none of whose names exists yet.
pub(crate) fn create_first_free(names: impl Fn(usize) -> Vec<PathBuf>) -> io::Result<Vec<(PathBuf, File)>> {
    let mut last_taken = None;
    for attempt in 0..NAMES_TRIED {
        let mut created = Vec::new();
        let mut taken = None;
        for path in names(attempt) {
            match create_new(&path) {
                Ok(file) => created.push((path, file)),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                    taken = Some(path);
                    break;
                }
                Err(error) => {
                    remove_all(&created);
                    return Err(error);
                }
            }
        }
        match taken {
            None => return Ok(created),
            Some(path) => {
                remove_all(&created);
                last_taken = Some(path);
            }
        }
    }
    let taken = last_taken.map_or_else(String::new, |path| format!(" (up to {})", path.display()));
    Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("every name tried is taken{taken}")))
}

fn remove_all(created: &[(PathBuf, File)]) {
    for (path, _) in created {
        let _ = std::fs::remove_file(path);
    }
}

/// Writes `content` into `file`, just created at `path`, and makes sure it reached the disk;
/// on failure removes the file and says so in the error.
pub(crate) fn fill(file: File, path: &Path, content: Content<'_>) -> io::Result<()> {
    let mut out = BufWriter::new(file);
    let written = content(&mut out).and_then(|()| out.flush()).and_then(|()| out.get_ref().sync_all());
    written.map_err(|error| {
        let removed = std::fs::remove_file(path).is_ok();
        let what = if removed { "the partial file was removed" } else { "the partial file could not be removed" };
        io::Error::new(error.kind(), format!("{error} ({what})"))
    })
}

/// Writes a new file the program names itself: the first free of `names(0)`, `names(1)`, …
/// Returns where it went.
pub(crate) fn write_new(names: impl Fn(usize) -> PathBuf, content: Content<'_>) -> io::Result<PathBuf> {
    let mut created = create_first_free(|attempt| vec![names(attempt)])?;
    let (path, file) = created.pop().ok_or_else(|| io::Error::other("no name to create"))?;
    fill(file, &path, content)?;
    Ok(path)
}

/// A path the user named (`--trace FILE`, `--export-json FILE`), made ready before the run so
/// that a bad one stops it at once, and written after it. A regular file there is replaced
/// whole when the new content is complete; a link is refused; a device or pipe
/// (`/dev/null`) is written as it is.
pub(crate) struct Named {
    path: PathBuf,
    target: Target,
}

enum Target {
    /// A temporary file beside the path, renamed over it once written; removed if never.
    Replacement { temp: PathBuf, file: Option<File> },
    /// A device or a pipe, opened without following a link.
    Stream(File),
}

impl Named {
    pub(crate) fn prepare(path: &Path) -> io::Result<Self> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "it is a symbolic link, which is never written through: name the file itself",
                ));
            }
            Ok(meta) if is_stream(&meta) => {
                let file =
                    OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC).open(path)?;
                return Ok(Self { path: path.to_owned(), target: Target::Stream(file) });
            }
            Ok(meta) if !meta.is_file() => {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "it exists and is not a regular file"));
            }
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "it names no file"))?
            .to_string_lossy()
            .into_owned();
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let pid = std::process::id();
        let mut created =
            create_first_free(|attempt| vec![dir.join(format!(".{name}.concur-tui-{pid}-{attempt}.tmp"))])?;
        let (temp, file) = created.pop().ok_or_else(|| io::Error::other("no temporary name"))?;
        Ok(Self { path: path.to_owned(), target: Target::Replacement { temp, file: Some(file) } })
    }

    /// Writes `content`, then puts it in place; on failure nothing new is left and a file that
    /// was there is untouched.
    pub(crate) fn write(mut self, content: Content<'_>) -> io::Result<()> {
        match &mut self.target {
            Target::Stream(file) => {
                let mut out = BufWriter::new(file);
                content(&mut out)?;
                out.flush()
            }
            Target::Replacement { temp, file } => {
                let file = file.take().ok_or_else(|| io::Error::other("written twice"))?;
                fill(file, temp, content)?;
                // rename replaces whatever is at the path, a link planted since included, and
                // never writes through it.
                std::fs::rename(&*temp, &self.path).inspect_err(|_| {
                    let _ = std::fs::remove_file(&*temp);
                })?;
                Ok(())
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        if let Target::Replacement { temp, file: Some(_) } = &self.target {
            let _ = std::fs::remove_file(temp);
        }
    }
}

fn is_stream(meta: &std::fs::Metadata) -> bool {
    let kind = meta.file_type();
    kind.is_char_device() || kind.is_fifo() || kind.is_socket()
}

/// True when `a` and `b` name one file: the same file when both exist, else the same path once
/// made absolute and rid of `.` components.
pub(crate) fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(first), Ok(second)) = (std::fs::metadata(a), std::fs::metadata(b)) {
        return (first.dev(), first.ino()) == (second.dev(), second.ino());
    }
    let plain = |path: &Path| {
        std::path::absolute(path)
            .map(|path| path.components().filter(|part| *part != Component::CurDir).collect::<PathBuf>())
            .ok()
    };
    plain(a).is_some_and(|first| plain(b).is_some_and(|second| first == second))
}

#[cfg(test)]
mod tests;
