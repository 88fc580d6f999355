//! The rules of `files.rs` on a real directory: planted links are never followed, a failed
//! write leaves nothing, a named file is replaced whole or not at all.

use super::*;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A directory of its own, removed with what is in it when the test ends, passed or failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!("concur-tui-files-test-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).expect("a scratch directory");
        Self(path)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("the scratch directory")
            .filter_map(Result::ok)
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A disk that fills after `room` bytes, as a full filesystem does.
struct FullAfter {
    room: usize,
}

impl Write for FullAfter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.room {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        self.room -= buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn text(line: &'static str) -> impl FnMut(&mut dyn Write) -> io::Result<()> {
    move |out| out.write_all(line.as_bytes())
}

#[test]
fn a_planted_link_is_never_written_through_and_the_next_free_name_is_taken() {
    let dir = Scratch::new();
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").expect("the victim");
    std::os::unix::fs::symlink(&victim, dir.join("out-0.json")).expect("a planted link");
    let written = write_new(|attempt| dir.join(&format!("out-{attempt}.json")), &mut text("{}")).expect("written");
    assert_eq!(written, dir.join("out-1.json"));
    assert_eq!(std::fs::read_to_string(&victim).expect("the victim"), "precious");
    assert_eq!(std::fs::read_to_string(&written).expect("the file"), "{}");
    let mode = std::fs::metadata(&written).expect("metadata").permissions().mode() & 0o777;
    assert_eq!(mode & !0o644, 0, "0644 or tighter: {mode:o}");
}

#[test]
fn a_set_of_names_moves_on_together_when_one_of_them_is_taken() {
    let dir = Scratch::new();
    std::fs::write(dir.join("r-0.json"), "someone else's").expect("a planted file");
    let created =
        create_first_free(|n| vec![dir.join(&format!("r-{n}.md")), dir.join(&format!("r-{n}.json"))]).expect("created");
    let names: Vec<_> = created.iter().map(|(path, _)| path.clone()).collect();
    assert_eq!(names, [dir.join("r-1.md"), dir.join("r-1.json")]);
    assert_eq!(dir.names(), ["r-0.json", "r-1.json", "r-1.md"], "r-0.md made and removed again");
}

#[test]
fn a_failed_write_removes_the_partial_file_and_says_so() {
    let dir = Scratch::new();
    let path = dir.join("results.json");
    let file = create_new(&path).expect("created");
    let mut content = |out: &mut dyn Write| {
        out.write_all(b"{\"results\": [")?;
        // The disk fills here: what reaches the file must not stay.
        out.flush()?;
        FullAfter { room: 4 }.write_all(b"more than four bytes")
    };
    let error = fill(file, &path, &mut content).expect_err("the disk is full");
    assert_eq!(error.raw_os_error().or(Some(libc::ENOSPC)), Some(libc::ENOSPC));
    assert!(error.to_string().contains("the partial file was removed"), "{error}");
    assert!(dir.names().is_empty(), "left {:?}", dir.names());
}

#[test]
fn a_named_file_is_replaced_whole_and_a_failed_write_leaves_it_as_it_was() {
    let dir = Scratch::new();
    let path = dir.join("trace.json");
    std::fs::write(&path, "old").expect("an earlier trace");
    let named = Named::prepare(&path).expect("prepared");
    named.write(&mut text("new")).expect("written");
    assert_eq!(std::fs::read_to_string(&path).expect("the trace"), "new");
    let named = Named::prepare(&path).expect("prepared");
    let mut failing = |_: &mut dyn Write| Err(io::Error::from_raw_os_error(libc::ENOSPC));
    assert!(named.write(&mut failing).is_err());
    assert_eq!(std::fs::read_to_string(&path).expect("the trace"), "new", "untouched");
    assert_eq!(dir.names(), ["trace.json"], "no temporary file left");
    drop(Named::prepare(&path).expect("prepared, never written"));
    assert_eq!(dir.names(), ["trace.json"], "no temporary file left");
}

#[test]
fn a_named_path_that_is_a_link_is_refused() {
    let dir = Scratch::new();
    let victim = dir.join("victim");
    std::fs::write(&victim, "precious").expect("the victim");
    let link = dir.join("trace.json");
    std::os::unix::fs::symlink(&victim, &link).expect("a planted link");
    let error = Named::prepare(&link).err().expect("refused");
    assert!(error.to_string().contains("symbolic link"), "{error}");
    assert_eq!(std::fs::read_to_string(&victim).expect("the victim"), "precious");
    assert_eq!(dir.names(), ["trace.json", "victim"]);
}

#[test]
fn dev_null_is_written_as_it_is() {
    let named = Named::prepare(Path::new("/dev/null")).expect("a device");
    named.write(&mut text("gone")).expect("written");
    assert!(Path::new("/dev/null").exists());
}

#[test]
fn one_file_under_two_spellings_is_the_same_file() {
    let dir = Scratch::new();
    assert!(same_file(&dir.join("a.json"), &dir.join("./a.json")));
    assert!(!same_file(&dir.join("a.json"), &dir.join("b.json")));
    std::fs::write(dir.join("a.json"), "").expect("a file");
    std::os::unix::fs::symlink(dir.join("a.json"), dir.join("b.json")).expect("a link");
    assert!(same_file(&dir.join("a.json"), &dir.join("b.json")));
}
