//! What runs the workers' code: this program's own native workers, or a CPython interpreter
//! ([`Interpreter`]) found on PATH or named by the user, asked once for its version and whether
//! its GIL is on. Asking runs the interpreter for a moment; nothing here starts a worker.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where a run's workers execute.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Runtime {
    /// The program's own threads and processes, with the emulated lock on request.
    #[default]
    Native,
    /// CPython's threads, processes, pools and event loop, with its own GIL.
    Python(Interpreter),
}

impl Runtime {
    /// `native`, or the interpreter as a person names it (`CPython 3.11.7`).
    #[must_use]
    pub fn label(&self) -> String {
        match self {
            Self::Native => "native".to_owned(),
            Self::Python(interpreter) => interpreter.label(),
        }
    }

    /// `native` or `python`, as `--runtime` takes it.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Python(_) => "python",
        }
    }

    #[must_use]
    pub fn interpreter(&self) -> Option<&Interpreter> {
        match self {
            Self::Native => None,
            Self::Python(interpreter) => Some(interpreter),
        }
    }
}

/// One CPython interpreter, as it described itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Interpreter {
    /// As given or found on PATH (a venv's `python` stays the venv's).
    pub path: PathBuf,
    pub implementation: String,
    /// Major, minor, micro.
    pub version: (u32, u32, u32),
    /// Built without the GIL (`Py_GIL_DISABLED`, a `python3.13t`).
    pub free_threaded: bool,
    /// The GIL is on in this interpreter as started (`sys._is_gil_enabled()`, true before 3.13).
    pub gil: bool,
}

/// Why an interpreter cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PythonError {
    #[error("no Python interpreter '{0}' on PATH: install python3 or name one with --python PATH")]
    NotFound(String),
    #[error("cannot run {path}: {reason}")]
    Unusable { path: String, reason: String },
    #[error("{path} is {version}: the Python runtime needs CPython 3.8 or later")]
    TooOld { path: String, version: String },
    /// The twin's `check` refused the user's code, in its own words (one line).
    #[error("{0}")]
    Refused(String),
}

/// Code the interpreter checks when it is probed, in the same start: a twin's source defining
/// `check(options, pickled)`, which raises with a one-line reason when the run cannot start
/// (the user's function: a missing file, a syntax error, a missing name, nothing to call, or
/// no pickle where multiprocessing would need one).
#[derive(Debug, Clone, Copy)]
pub struct CodeCheck<'a> {
    pub source: &'a str,
    /// The workload's options, flag and value, as the twin's `task` will see them.
    pub options: &'a [(String, String)],
    /// True when the run sends the code to other processes by pickle.
    pub pickled: bool,
}

/// What the interpreter prints about itself: implementation, version, build and GIL.
const DESCRIBE: &str = "import sys, sysconfig, platform\n\
gil = getattr(sys, '_is_gil_enabled', lambda: True)()\n\
ft = bool(sysconfig.get_config_var('Py_GIL_DISABLED'))\n\
v = sys.version_info\n\
print(platform.python_implementation(), v[0], v[1], v[2], int(ft), int(gil))\n";

/// After the description: the twin's source (argv 1) loaded as a module, its `check` called
/// with the options (argv 2, JSON) and whether they are pickled (argv 3); the verdict is the
/// last line, after anything the user's code printed, which goes to stderr. `-c` put the
/// current directory first on `sys.path`, where the runner has its own directory: it goes.
const CHECK: &str = r"import json, os, types
if sys.path and sys.path[0] in ('', os.getcwd()):
    del sys.path[0]
twin = types.ModuleType('concur_twin')
sys.modules['concur_twin'] = twin
shown, sys.stdout = sys.stdout, sys.stderr
try:
    exec(compile(sys.argv[1], 'twin.py', 'exec'), twin.__dict__)
    twin.check(json.loads(sys.argv[2]), sys.argv[3] == '1')
    verdict = 'ok'
except BaseException as error:
    told = str(error) if type(error).__name__ == 'Refusal' else type(error).__name__ + ': ' + str(error)
    verdict = 'refused ' + ' '.join(told.split())
sys.stdout = shown
print('concur-tui-check', verdict)
";

/// How long an interpreter may take to describe itself.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long it may take to describe itself and check the user's code, which imports modules
/// of its own.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

impl Interpreter {
    /// Asks the interpreter at `path` (or the command of that name on PATH) what it is, started as
    /// the host will be (its environment counts: `PYTHON_GIL=1` turns a free-threaded build's GIL on).
    pub fn probe(path: &Path) -> Result<Self, PythonError> {
        let resolved = resolve(path)?;
        let output = run_briefly(Command::new(&resolved).args(["-B", "-c", DESCRIBE]), PROBE_TIMEOUT)
            .map_err(|reason| PythonError::Unusable { path: path.display().to_string(), reason })?;
        Self::described(path, resolved, &output)
    }

    /// [`Self::probe`], and `check` run by the same start of the interpreter: one start for
    /// both. Not isolated (`-I`), since the user's code may need the environment a run has
    /// (PYTHONPATH, the user's site-packages); `-B`, as a run, writes no `.pyc` beside it.
    pub fn probe_checking(path: &Path, check: &CodeCheck<'_>) -> Result<Self, PythonError> {
        let resolved = resolve(path)?;
        let options: serde_json::Map<String, serde_json::Value> =
            check.options.iter().map(|(flag, value)| (flag.clone(), value.as_str().into())).collect();
        let script = format!("{DESCRIBE}{CHECK}");
        let args = ["-B", "-c", &script, check.source, &serde_json::Value::Object(options).to_string()];
        let output =
            run_briefly(Command::new(&resolved).args(args).arg(if check.pickled { "1" } else { "0" }), CHECK_TIMEOUT)
                .map_err(|reason| PythonError::Unusable { path: path.display().to_string(), reason })?;
        let interpreter = Self::described(path, resolved, &output)?;
        let verdict = output.lines().rev().find_map(|line| line.strip_prefix("concur-tui-check "));
        match verdict.map(|verdict| verdict.split_once(' ').map_or((verdict, ""), |(word, rest)| (word, rest))) {
            Some(("ok", _)) => Ok(interpreter),
            Some((_, reason)) => Err(PythonError::Refused(reason.to_owned())),
            None => Err(PythonError::Unusable {
                path: path.display().to_string(),
                reason: "it ended before it had checked the function".to_owned(),
            }),
        }
    }

    /// The interpreter from the first line of its description.
    fn described(path: &Path, resolved: PathBuf, output: &str) -> Result<Self, PythonError> {
        let shown = path.display().to_string();
        let output = output.lines().next().unwrap_or("");
        let fields: Vec<&str> = output.split_whitespace().collect();
        let number = |at: usize| fields.get(at).and_then(|field| field.parse::<u32>().ok());
        let (Some(implementation), Some(major), Some(minor), Some(micro), Some(ft), Some(gil)) =
            (fields.first(), number(1), number(2), number(3), number(4), number(5))
        else {
            return Err(PythonError::Unusable { path: shown, reason: format!("it answered '{}'", output.trim()) });
        };
        let interpreter = Self {
            path: resolved,
            implementation: (*implementation).to_owned(),
            version: (major, minor, micro),
            free_threaded: ft == 1,
            gil: gil == 1,
        };
        if (major, minor) < (3, 8) {
            return Err(PythonError::TooOld { path: shown, version: interpreter.label() });
        }
        Ok(interpreter)
    }

    /// The default: `python3` on PATH.
    pub fn default_python() -> Result<Self, PythonError> {
        Self::probe(Path::new("python3"))
    }

    /// `CPython 3.11.7`, or `CPython 3.13.5t` for a free-threaded build (as its command is
    /// named); whether the GIL is on is [`Interpreter::gil`], said beside it.
    #[must_use]
    pub fn label(&self) -> String {
        let (major, minor, micro) = self.version;
        let threaded = if self.free_threaded { "t" } else { "" };
        format!("{} {major}.{minor}.{micro}{threaded}", self.implementation)
    }

    /// `3.11`.
    #[must_use]
    pub fn short_version(&self) -> String {
        format!("{}.{}", self.version.0, self.version.1)
    }
}

/// `path` itself when it names a file, else the first file of that name on PATH.
fn resolve(path: &Path) -> Result<PathBuf, PythonError> {
    if path.components().count() > 1 {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(PythonError::Unusable { path: path.display().to_string(), reason: "no such file".to_owned() })
        };
    }
    let paths = std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/bin:/bin"));
    std::env::split_paths(&paths)
        .map(|dir| dir.join(path))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| PythonError::NotFound(path.display().to_string()))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// The interpreters on PATH a person would pick from: `python3`, each `python3.N` and
/// `python3.Nt`, one per distinct file, `python3` first.
#[must_use]
pub fn interpreters_on_path() -> Vec<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    let mut names: Vec<String> = vec!["python3".to_owned()];
    for dir in std::env::split_paths(&paths) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_versioned_python(&name) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names[1..].sort_by_key(|name| version_key(name));
    let mut seen = Vec::new();
    let mut found = Vec::new();
    for name in names {
        let Ok(path) = resolve(Path::new(&name)) else { continue };
        let real = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        // pyenv's shims are one script for every version: told apart by name, not by file.
        let key = if real.parent().is_some_and(|dir| dir.ends_with("shims")) { path.clone() } else { real };
        if !seen.contains(&key) {
            seen.push(key);
            found.push(PathBuf::from(name));
        }
    }
    found
}

/// `python3.11`, `python3.13t`: a version-named interpreter, not `python3.11-config`.
fn is_versioned_python(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("python3.") else { return false };
    let digits = rest.strip_suffix('t').unwrap_or(rest);
    !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit())
}

fn version_key(name: &str) -> (u32, bool) {
    let rest = name.trim_start_matches("python3.");
    let threaded = rest.ends_with('t');
    (rest.trim_end_matches('t').parse().unwrap_or(0), threaded)
}

/// Runs `command` to its end within `timeout` and returns its standard output; its failure,
/// a timeout (it is killed and reaped) or a non-zero exit, with its last line of stderr.
pub(crate) fn run_briefly(command: &mut Command, timeout: Duration) -> Result<String, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| error.to_string())?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("it did not answer within {} s", timeout.as_secs()));
            }
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(error.to_string());
            }
        }
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    if status.success() {
        Ok(stdout)
    } else {
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("no message");
        Err(format!("it exited with {status}: {}", last.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_named_interpreters_are_told_from_their_tools() {
        for name in ["python3.11", "python3.13t", "python3.9"] {
            assert!(is_versioned_python(name), "{name}");
        }
        for name in ["python3.11-config", "python3", "python3.", "python3.t", "python2.7"] {
            assert!(!is_versioned_python(name), "{name}");
        }
        assert!(version_key("python3.9") < version_key("python3.11"));
        assert!(version_key("python3.13") < version_key("python3.13t"));
    }

    #[test]
    fn a_missing_interpreter_is_named() {
        let missing = Interpreter::probe(Path::new("python-that-is-not-there"));
        assert_eq!(missing, Err(PythonError::NotFound("python-that-is-not-there".to_owned())));
        let not_a_file = Interpreter::probe(Path::new("/nonexistent/python3"));
        assert!(matches!(not_a_file, Err(PythonError::Unusable { .. })), "{not_a_file:?}");
        let not_python = Interpreter::probe(Path::new("/bin/false"));
        assert!(matches!(not_python, Err(PythonError::Unusable { .. })), "{not_python:?}");
    }

    #[test]
    fn the_machines_python3_describes_itself() {
        let python = Interpreter::default_python().expect("python3 on PATH: the Python runtime's tests need it");
        assert_eq!(python.implementation, "CPython");
        assert!(python.version >= (3, 8, 0));
        assert!(python.label().starts_with("CPython 3."), "{}", python.label());
    }
}
