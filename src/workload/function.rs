//! `function`: the user's own Python function (`--function FILE.py:NAME` or `MODULE:NAME`),
//! called as `NAME(i)` for each task `i` on CPython's threads, processes, pools or event loop.
//! Not a lesson of the catalog but the user's question, "threads or processes for my code?":
//! the entry is listed only when `--function` names a function, runs under the Python
//! runtime only, and its twin is an adapter that loads the function and calls it.

use super::kind::{Kind, OptionError, OptionSpec, Options, PythonTwin, Setup, Shape, SizeSpec, Values};
use super::task::{TaskEnd, Hooks, Workload};

/// The catalog entry.
pub(super) struct Function;

/// The option that names the function, and picks this entry.
const FLAG: &str = "function";

const OPTIONS: &[OptionSpec] = &[OptionSpec {
    flag: FLAG,
    help: "Your own Python function, FILE.py:NAME or MODULE:NAME (importable from the current \
           directory), called as NAME(i) for each task i; implies --runtime python",
    values: Values::Text,
    default: None,
}];

/// One call a task: the function takes the task's index, nothing else.
const SIZE: SizeSpec = SizeSpec {
    unit: "call per task: the function takes only the task's index",
    short_unit: "call",
    default: 1,
    watchable: 1,
    max: Some(1),
    in_millions: false,
};

impl Kind for Function {
    fn name(&self) -> &'static str {
        "function"
    }

    fn summary(&self) -> &'static str {
        "your own Python function, called once per task with the task's index"
    }

    fn explanation(&self) -> &'static str {
        "Your own function, called with each task's index on CPython's threads, processes, \
         pools or event loop: run it under each model, or sweep them, to see which one your \
         code wants. Its numeric results add up to the checksum, which nothing can check in \
         advance: compare it between models. A task that raises ends its worker failed; the \
         traceback is kept with the saved results."
    }

    fn size(&self) -> SizeSpec {
        SIZE
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn check(&self, options: &mut Options, _shape: &Shape) -> Result<(), OptionError> {
        let spec = options.get(FLAG);
        match spec.rsplit_once(':') {
            Some((target, name)) if !target.is_empty() && !name.is_empty() => Ok(()),
            _ => Err(OptionError::Refused(format!(
                "--function takes FILE.py:NAME or MODULE:NAME, such as examples/work.py:crunch, not '{spec}'"
            ))),
        }
    }

    fn build(&self, _setup: &Setup) -> Box<dyn Workload> {
        Box::new(Calls)
    }

    fn python(&self) -> Option<PythonTwin> {
        Some(PythonTwin { source: PYTHON_ADAPTER, size: SIZE, on_event_loop: true })
    }

    fn user_code_flag(&self) -> Option<&'static str> {
        Some(FLAG)
    }
}

/// The workload as the engine sees it: one unit a task, and no checksum known in advance. Its
/// tasks are Python's: the plan refuses a native run of it, so `run_task` only says why.
struct Calls;

impl Workload for Calls {
    fn units_for(&self, _task: u64) -> u64 {
        1
    }

    fn run_task(&self, _task: u64, _hooks: &mut dyn Hooks) -> TaskEnd {
        TaskEnd::Failed("the user's function is Python code: it runs under --runtime python only".to_owned())
    }

    fn expected_checksum(&self, _tasks: u64) -> Option<u64> {
        None
    }
}

/// The adapter: loads the function once per process (a file with its directory first on
/// `sys.path`, as `python FILE.py` has it; a module from the current directory, as `python -m`
/// has it), calls it once per task, awaits what it returns when that is awaitable (on the
/// event loop step by step, so that each task's CPU time is its own; elsewhere with
/// `asyncio.run`), and folds the result into the task's digest: an int modulo 2^64 (a bool as
/// 0 or 1), a float by its IEEE-754 bits (so equal results give equal checksums in any order),
/// anything else (None, text) as 0. `check` is what the interpreter's probe runs before
/// anything starts.
const PYTHON_ADAPTER: &str = r#"
import asyncio
import importlib
import importlib.util
import inspect
import numbers
import os
import struct
import sys
import threading

MASK = (1 << 64) - 1
_found = {}
_lock = threading.Lock()


class Refusal(Exception):
    """Why the function cannot run, in one line."""


def _locate(text):
    target, _, name = text.rpartition(":")
    if not target or not name:
        raise Refusal("--function takes FILE.py:NAME or MODULE:NAME, not '{}'".format(text))
    return target, name


def _syntax(text, error, shown, path):
    where = shown if error.filename == path else error.filename
    return Refusal("--function {}: syntax error at {}:{}: {}".format(text, where, error.lineno, error.msg))


def _module(text, target):
    if target.endswith(".py") or os.sep in target:
        path = os.path.abspath(target)
        if not os.path.isfile(path):
            raise Refusal("--function {}: no file {}".format(text, target))
        folder = os.path.dirname(path)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        stem = os.path.splitext(os.path.basename(path))[0]
        name = stem if stem.isidentifier() and stem not in sys.modules else "concur_function"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as error:
            raise _syntax(text, error, target, path)
        except Exception as error:
            raise Refusal("--function {}: importing {} raised {}: {}".format(text, target, type(error).__name__, error))
        return module
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except SyntaxError as error:
        raise _syntax(text, error, target, None)
    except ImportError as error:
        raise Refusal("--function {}: cannot import {}: {}".format(text, target, error))
    except Exception as error:
        raise Refusal("--function {}: importing {} raised {}: {}".format(text, target, type(error).__name__, error))


def _find(text):
    target, name = _locate(text)
    found = _module(text, target)
    for part in name.split("."):
        if not hasattr(found, part):
            raise Refusal("--function {}: {} has no '{}'".format(text, target, name))
        found = getattr(found, part)
    if not callable(found):
        raise Refusal("--function {}: '{}' is a {}, not a function".format(text, name, type(found).__name__))
    return found


def function(options):
    """The user's function, loaded once per process."""
    text = options["function"]
    found = _found.get(text)
    if found is None:
        with _lock:
            found = _found.get(text)
            if found is None:
                found = _found[text] = _find(text)
    return found


def check(options, pickled):
    """Before anything starts: the function loads, and pickles where multiprocessing would
    pickle it (spawn and forkserver processes, process pools)."""
    found = function(options)
    if pickled:
        import pickle

        try:
            pickle.dumps(found)
        except Exception as error:
            raise Refusal(
                "--function {}: multiprocessing sends the function to these processes by pickle, which "
                "refuses it ({}); define it with def at the top level of its module, or use --start fork "
                "and the static schedule".format(options["function"], " ".join(str(error).split()))
            )


def digest(value):
    if value is None:
        return 0
    if isinstance(value, numbers.Integral):
        return int(value) & MASK
    if isinstance(value, numbers.Real):
        return struct.unpack("<Q", struct.pack("<d", float(value)))[0]
    return 0


def _call(found, index):
    try:
        return found(index)
    except (SystemExit, KeyboardInterrupt) as error:
        raise RuntimeError("the function raised {!r}".format(error)) from error


async def _awaited(awaitable):
    return await awaitable


def task(index, size, options, h):
    result = _call(function(options), index)
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    h.checkpoint(1)
    return digest(result)


class _Steps:
    """Drives an awaitable one step at a time, ending the task's turn at each suspension, so
    that the loop's CPU time is split between its tasks as they really used it."""

    def __init__(self, awaitable, h):
        self.inner = awaitable.__await__()
        self.h = h

    def __await__(self):
        sent, thrown = None, None
        while True:
            try:
                yielded = self.inner.throw(thrown) if thrown is not None else self.inner.send(sent)
            except StopIteration as stop:
                return stop.value
            finally:
                self.h.end_turn()
            sent, thrown = None, None
            try:
                sent = yield yielded
            except BaseException as error:
                thrown = error
            self.h.begin_turn()


async def task_async(index, size, options, h):
    # A plain function runs on the loop's thread and holds it, as in any asyncio program.
    result = _call(function(options), index)
    if inspect.isawaitable(result):
        result = await _Steps(result, h)
    h.checkpoint(1)
    return digest(result)
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_needs_a_target_and_a_name() {
        let shape = Shape { workers: 1, tasks: 1, processes: false };
        for good in ["work.py:crunch", "pkg.mod:f", "dir/w.py:Class.method"] {
            let mut options = Options::default();
            options.set(FLAG, good.to_owned());
            assert_eq!(Function.check(&mut options, &shape), Ok(()), "{good}");
        }
        for bad in ["work.py", ":f", "work.py:", ""] {
            let mut options = Options::default();
            options.set(FLAG, bad.to_owned());
            assert!(matches!(Function.check(&mut options, &shape), Err(OptionError::Refused(_))), "{bad}");
        }
    }
}
