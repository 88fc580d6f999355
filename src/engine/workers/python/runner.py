"""concur-tui's Python runner: runs one run's workers on CPython's own threads, processes,
pools or asyncio, the way a Python programmer writes them, and reports into the program's
shared board (a memfd mapped MAP_SHARED) exactly as the native workers do: progress, tasks,
digest, CPU time, pid and tid, and each change of state in the slot's ring, stamped with
CLOCK_MONOTONIC (time.monotonic_ns).

The program writes this file, the workload's twin (twin.py) and the run's spec (spec.json)
into a private directory and starts `python runner.py spec.json` as the run's host process.
The host never prints: what goes wrong goes into the board (a failure note per worker) and a
traceback file in that directory, which the program reads and removes.

Stores into the board are single aligned 8- or 4-byte stores (a memoryview cast to 'Q' or
'I'); the program's reader copes with any order they arrive in (see the ring's tags).
"""

import json
import mmap
import os
import signal
import sys
import threading
import time
import traceback

MASK = (1 << 64) - 1

# Activities of the ring (board/ring.rs).
IDLE, RUNNING, LOCK_WAIT, BLOCKED, PAUSED, DRAINING, END = range(7)
# Slot states (board/slot.rs).
PENDING, S_RUNNING, S_PAUSED, S_DRAINING, DONE, CANCELLED, PANICKED, FAILED = range(8)
# Stop levels (board/mod.rs).
STOP_AFTER_TASK, STOP_AFTER_CHUNK = 1, 2
# A task that failed ends its worker process with this status, as a native one does.
EXIT_TASK_FAILED = 4
TAG_SHIFT = 40
TAG_MASK = (1 << 24) - 1

# Set by SIGTERM: the program's escalation after the grace period. Stop after this chunk.
terminated = threading.Event()


def _sched_getcpu():
    try:
        import ctypes

        # PyDLL: the call keeps the GIL. A CDLL call releases it, so every checkpoint of a
        # computing thread would hand the GIL to a waiting one: a switch CPython never makes.
        libc = ctypes.PyDLL(None)
        getcpu = libc.sched_getcpu
        getcpu.restype = ctypes.c_int
        getcpu.argtypes = []
        return lambda: getcpu()
    except (ImportError, OSError, AttributeError):
        return lambda: -1


current_cpu = _sched_getcpu()


def die_with_parent():
    """A worker process dies when the process that started it does (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


class Board:
    """The shared table, mapped from a descriptor or from /proc/PID/fd/N."""

    def __init__(self, source, layout):
        self.layout = layout
        size = layout["table_size"]
        if isinstance(source, int):
            self.mm = mmap.mmap(source, size)
        else:
            fd = os.open(source, os.O_RDWR | os.O_CLOEXEC)
            try:
                self.mm = mmap.mmap(fd, size)
            finally:
                os.close(fd)
        self.q = memoryview(self.mm).cast("Q")
        self.i = memoryview(self.mm).cast("I")

    def get64(self, offset):
        return self.q[offset >> 3]

    def set64(self, offset, value):
        self.q[offset >> 3] = value & MASK

    def add64(self, offset, value):
        self.q[offset >> 3] = (self.q[offset >> 3] + value) & MASK

    def get32(self, offset):
        return self.i[offset >> 2]

    def set32(self, offset, value):
        self.i[offset >> 2] = value & 0xFFFFFFFF

    def header(self, name):
        return self.layout[name]

    def slot(self, index):
        return Slot(self, index)


class Slot:
    """One worker's row: written by that worker alone, or by the host once it has ended."""

    def __init__(self, board, index):
        self.board = board
        layout = board.layout
        self.base = layout["slots"] + index * layout["slot_size"]
        self.at = {name[5:]: self.base + off for name, off in layout.items() if name.startswith("slot.")}
        self.events = layout["ring_events"]
        self.entry_size = layout["ring_entry_size"]
        self.entry_ns = layout["ring_entry.ns"]
        self.entry_what = layout["ring_entry.what"]

    def get(self, name):
        return self.board.get64(self.at[name])

    def set(self, name, value):
        self.board.set64(self.at[name], value)

    def add(self, name, value):
        self.board.add64(self.at[name], value)

    def set_state(self, state):
        self.board.set32(self.at["state"], state)

    def state(self):
        return self.board.get32(self.at["state"])

    def set_ids(self):
        self.board.set32(self.at["pid"], os.getpid())
        self.board.set32(self.at["tid"], threading.get_native_id())

    def note_core(self, cpu):
        if cpu < 0:
            return
        self.board.set32(self.at["core"], cpu)
        if cpu < 256:
            word = self.at["cores_seen"] + (cpu // 64) * 8
            self.board.set64(word, self.board.get64(word) | (1 << (cpu % 64)))

    def record(self, ns, activity, cpu):
        head_at = self.at["ring_head"]
        seq = self.board.get64(head_at)
        entry = self.at["ring_entries"] + (seq % self.events) * self.entry_size
        cpu_field = cpu + 1 if cpu >= 0 else 0
        self.board.set64(entry + self.entry_ns, ns)
        self.board.set64(entry + self.entry_what, activity | (cpu_field << 8) | ((seq & TAG_MASK) << TAG_SHIFT))
        self.board.set64(head_at, seq + 1)

    def write_failure(self, reason):
        limit = self.board.layout["failure_bytes"]
        text = " ".join(reason.split()).encode("utf-8", "replace")
        if len(text) > limit:
            text = text[: limit - 3].decode("utf-8", "ignore").encode() + "…".encode()
        start = self.at["failure_text"]
        self.board.mm[start : start + len(text)] = text
        self.board.set32(self.at["failure_len"], len(text))

    def report_exit(self, exitcode):
        """The wait status of this worker's process, from multiprocessing's exitcode."""
        status = (-exitcode) & 0x7F if exitcode < 0 else (exitcode & 0xFF) << 8
        self.board.set32(self.at["exit_status"], status)
        self.board.set32(self.at["exit_known"], 1)


class Life:
    """One worker from its first instruction to its end, task by task (engine/workers/worker.rs)."""

    def __init__(self, run, index, started_ns, pin=True, on_loop=False):
        self.run = run
        # On an event loop every worker shares one thread: each counts only the CPU time of
        # its own turns, from the thread's clock read at each turn's start and end.
        self.on_loop = on_loop
        self.own_cpu = 0
        self.turn_mark = time.thread_time_ns()
        self.board = run.board
        self.index = index
        self.slot = run.board.slot(index)
        self.stop_at = self.board.header("stop")
        self.at_inject = self.slot.at["inject"]
        self.pause_at = self.board.header("pause")
        self.generation = run.spec["generation"]
        self.final = DONE
        self.activity = IDLE
        self.cpu = current_cpu()
        self.draining = False
        slot = self.slot
        slot.set("started_ns", started_ns)
        slot.set_ids()
        self.cpu_at_start = time.thread_time_ns()
        self.record_at(started_ns, IDLE, self.cpu)
        cpu = run.spec["pinning"][index] if index < len(run.spec["pinning"]) else None
        if pin and cpu is not None:
            try:
                os.sched_setaffinity(0, {cpu})
            except OSError:
                pass
        self.cpu = current_cpu()
        slot.note_core(self.cpu)
        slot.set_state(S_RUNNING)
        self.record(IDLE)
        self.task_start = started_ns

    # -- the ring --------------------------------------------------------------------------------
    def record_at(self, ns, activity, cpu):
        self.slot.record(ns, activity, cpu)
        self.activity = activity

    def record(self, activity):
        self.record_at(time.monotonic_ns(), activity, self.cpu)

    def computing(self):
        return DRAINING if self.draining else RUNNING

    # -- the hooks a task sees -------------------------------------------------------------------
    def is_current(self):
        return self.slot.get("generation") == self.generation

    def stop_level(self):
        level = self.board.get32(self.stop_at)
        return STOP_AFTER_CHUNK if terminated.is_set() else level

    def checkpoint(self, units_done):
        """Progress inside a task; False when the task must stop now."""
        slot = self.slot
        slot.set("units_done", units_done)
        cpu = current_cpu()
        if cpu != self.cpu:
            self.cpu = cpu
            slot.note_core(cpu)
            self.record(self.activity)
        if not self.is_current():
            return False
        injected = self.board.get32(self.at_inject)
        if injected:
            self.board.set32(self.at_inject, 0)
            self.crash(injected)
        level = self.stop_level()
        if level == STOP_AFTER_CHUNK:
            return False
        if level == STOP_AFTER_TASK and not self.draining:
            self.draining = True
            slot.set_state(S_DRAINING)
            self.record(DRAINING)
        if self.board.get32(self.pause_at):
            self.pause()
        return True

    def crash(self, injected):
        """The dashboard's `x`: an exception (1), or a real SIGSEGV (2), which takes the whole
        process down, every thread of it, as in any Python program."""
        if injected == 2:
            signal.signal(signal.SIGSEGV, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGSEGV)
        raise RuntimeError("crash injected from the dashboard")

    def pause(self):
        before = self.activity
        self.slot.set_state(S_PAUSED)
        self.record(PAUSED)
        while self.board.get32(self.pause_at) and self.stop_level() != STOP_AFTER_CHUNK and self.is_current():
            time.sleep(0.01)
        self.slot.set_state(S_DRAINING if self.draining else S_RUNNING)
        self.record(before)

    def blocked(self):
        """`with h.blocked():` around a wait that uses no CPU (a sleep, I/O)."""
        return _Blocked(self)

    async def turn(self):
        """`await h.turn()`: hands the event loop to the other tasks, as `asyncio.sleep(0)`."""
        import asyncio

        self.end_turn()
        await asyncio.sleep(0)
        self.begin_turn()

    def end_turn(self):
        now = time.thread_time_ns()
        self.own_cpu += now - self.turn_mark
        self.turn_mark = now

    def begin_turn(self):
        self.turn_mark = time.thread_time_ns()

    def cpu_spent(self):
        if self.on_loop:
            self.end_turn()
            return self.own_cpu
        return time.thread_time_ns() - self.cpu_at_start

    # -- cells, shared objects and memory, for the twins that use them -------------------------
    def cell(self, name):
        """A board cell as a ctypes integer over the shared mapping, which is what
        multiprocessing's RawValue is: `.value` is one plain load or store. `name` is a header
        cell (`"shared_counter"`) or one of this worker's own (`"slot.own_counter"`)."""
        import ctypes

        offset = self.slot.at[name[5:]] if name.startswith("slot.") else self.board.layout[name]
        return ctypes.c_uint64.from_buffer(self.board.mm, offset)

    @property
    def shared(self):
        """What the twin's `shared(spec)` made once in the host for every worker (a lock)."""
        return self.run.shared

    def measure_memory(self):
        """This process's RSS and PSS in bytes from /proc/self/smaps_rollup, stored in the
        worker's slot (rss_bytes, pss_bytes) as a native worker stores them; (0, 0) unread."""
        found = {}
        try:
            with open("/proc/self/smaps_rollup") as rollup:
                for line in rollup:
                    name, _, rest = line.partition(":")
                    if name in ("Rss", "Pss"):
                        found[name] = int(rest.split()[0]) * 1024
        except (OSError, ValueError, IndexError):
            return 0, 0
        rss, pss = found.get("Rss", 0), found.get("Pss", 0)
        self.slot.set("rss_bytes", rss)
        self.slot.set("pss_bytes", pss)
        return rss, pss

    # -- tasks -----------------------------------------------------------------------------------
    def begin_task(self, task, units):
        slot = self.slot
        slot.set("units_done", 0)
        slot.set("units_total", units)
        slot.set("current_task", task + 1)
        self.task_start = time.monotonic_ns()
        if self.on_loop:
            self.begin_turn()
        self.record(self.computing())

    def end_task(self, digest):
        """Accounts for a task's end; False when the worker must leave its loop."""
        slot = self.slot
        now = time.monotonic_ns()
        if self.is_current():
            slot.add("busy_ns", now - self.task_start)
            slot.set("current_task", 0)
        if digest is None or not self.is_current():
            self.final = CANCELLED
            return False
        slot.add("digest", digest)
        slot.add("tasks_done", 1)
        self.record(IDLE)
        slot.set("cpu_ns", self.cpu_spent())
        return True

    def fail(self, error):
        """A task raised: the worker ends failed, its reason in one line, its traceback kept."""
        reason = "{}: {}".format(type(error).__name__, error) if str(error) else type(error).__name__
        if self.is_current():
            self.slot.write_failure(reason)
            self.slot.set("current_task", 0)
            try:
                path = os.path.join(self.run.spec["dir"], "traceback-{}.txt".format(self.index))
                with open(path, "w") as out:
                    out.write("".join(traceback.format_exception(type(error), error, error.__traceback__)))
            except OSError:
                pass
        self.final = FAILED

    def may_take_task(self):
        if self.stop_level() != 0 or not self.is_current():
            self.final = CANCELLED
            return False
        return True

    def run_task(self, task):
        """One task from begin to end; False when the worker must leave its loop."""
        self.begin_task(task, self.run.units)
        try:
            digest = self.run.task(task, self.run.size, self.run.options, self)
        except Exception as error:  # noqa: BLE001 - any exception of the user's code ends the worker
            self.fail(error)
            return False
        return self.end_task(digest)

    def run_block(self, tasks):
        for task in tasks:
            if not self.may_take_task():
                break
            if not self.run_task(task):
                break
        return self.end()

    def end(self, now=None):
        if not self.is_current():
            return CANCELLED
        slot = self.slot
        slot.set("cpu_ns", self.cpu_spent())
        finished = now or time.monotonic_ns()
        slot.set("finished_ns", finished)
        self.record_at(finished, END, current_cpu())
        slot.set_state(self.final)
        return self.final

    # -- the run's cells and line, for twins that count or talk (net, disk, latency) ------------
    def context(self, name):
        """What the program told the twin of this run (net's `server`, disk's `dir`)."""
        value = self.run.spec.get("context", {}).get(name)
        if value is None:
            raise RuntimeError("the program did not tell this run its {}".format(name))
        return value

    def tasks_done(self):
        return self.slot.get("tasks_done")

    def add_helper_cpu(self, ns):
        """CPU time a helper thread spent on this task on the loop (a file call run off it)."""
        self.own_cpu += ns

    def add_own(self, value):
        """Adds to this worker's own counter (its slot has one writer: this worker)."""
        if self.is_current():
            self.slot.add("own_counter", value)

    def add_shared(self, value):
        """Adds to the run's shared counter, which every worker writes: under a lock."""
        with _SharedLock(self):
            if self.is_current():
                self.board.add64(self.board.header("shared_counter"), value)

    def shared_once(self, value):
        """Sets the run's shared counter to `value` if it is still 0; returns what it holds."""
        at = self.board.header("shared_counter")
        with _SharedLock(self):
            if self.board.get64(at) == 0 and self.is_current():
                self.board.set64(at, value)
            return self.board.get64(at)

    def exchange(self, message):
        """Sends `message` to the program's coordinator over this worker's line and returns its
        reply (bytes), the wait recorded as blocked; None when the run stops at the next chunk
        meanwhile. A line the other end hung up raises ConnectionError."""
        read_fd, write_fd = self.line()
        started = time.monotonic_ns()

        def keep_waiting():
            return self.stop_level() != STOP_AFTER_CHUNK and self.is_current()

        with self.blocked():
            reply = _recv_frame(read_fd, keep_waiting) if _send_frame(write_fd, message, keep_waiting) else None
        if self.is_current():
            self.slot.add("line_ns", time.monotonic_ns() - started)
            self.slot.add("line_bytes", len(message) + len(reply or b""))
        return reply

    def line(self):
        """This worker's line: the descriptors the host inherited, or in a spawned or
        forkserver process (which multiprocessing passes none) its own opening of the host's."""
        fds = getattr(self, "line_fds", None)
        if fds is None:
            lines = self.run.spec.get("lines", [])
            if self.index >= len(lines):
                raise RuntimeError("this workload has no line to the program")
            fds = tuple(lines[self.index])
            if BOARD is None:
                fds = tuple(
                    os.open(_host_fd(self.run.spec, fd), flags | os.O_NONBLOCK | os.O_CLOEXEC)
                    for fd, flags in zip(fds, (os.O_RDONLY, os.O_WRONLY))
                )
            self.line_fds = fds
        return fds


# The program's lines frame each message with its length (engine/workers/line.rs).
LINE_SLICE_MS = 20


def _host_fd(spec, fd):
    return "/proc/{}/fd/{}".format(spec["host_pid"], fd)


def _ready(fd, events, keep_waiting):
    """Waits until `fd` is ready, a slice at a time; False when told to stop waiting."""
    import select

    poller = select.poll()
    poller.register(fd, events)
    while not poller.poll(LINE_SLICE_MS):
        if not keep_waiting():
            return False
    return True


def _send_frame(fd, message, keep_waiting):
    import select
    import struct

    data = struct.pack("<I", len(message)) + bytes(message)
    while data:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            if not _ready(fd, select.POLLOUT, keep_waiting):
                return False
    return True


def _recv_frame(fd, keep_waiting):
    """One framed message: waits until readable, then reads what is there, as a socket with a
    timeout does (one message in flight: whatever arrives belongs to it, usually all at once)."""
    import select

    got = b""
    while len(got) < 4 or len(got) < 4 + int.from_bytes(got[:4], "little"):
        if not _ready(fd, select.POLLIN, keep_waiting):
            return None
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            raise ConnectionError("the line to the program broke: the other end hung up")
        got += chunk
    return got[4 : 4 + int.from_bytes(got[:4], "little")]


# F_OFD_SETLKW from asm-generic/fcntl.h, the same on every Linux architecture.
F_OFD_SETLKW = 38


class _SharedLock:
    """The lock around the run's shared counter, for every worker of the run, threads and
    processes alike: an open-file-description lock on the counter's bytes of the board's memfd,
    each worker holding its own description (Python has no atomic read-modify-write)."""

    def __init__(self, life):
        self.life = life

    def _lock(self, kind):
        import fcntl
        import struct

        life = self.life
        fd = getattr(life, "lock_fd", None)
        if fd is None:
            fd = life.lock_fd = os.open(_host_fd(life.run.spec, life.run.spec["board_fd"]), os.O_RDWR | os.O_CLOEXEC)
        # struct flock: type, whence, start, length, pid (0 for a description's lock).
        flock = struct.pack("=hh4xqqi4x", kind, 0, life.board.header("shared_counter"), 8, 0)
        fcntl.fcntl(fd, F_OFD_SETLKW, flock)

    def __enter__(self):
        import fcntl

        self._lock(fcntl.F_WRLCK)

    def __exit__(self, *exc):
        import fcntl

        self._lock(fcntl.F_UNLCK)
        return False


class _Blocked:
    def __init__(self, life):
        self.life = life

    def __enter__(self):
        self.before = self.life.activity
        if self.life.on_loop:
            self.life.end_turn()
        self.life.record(BLOCKED)

    def __exit__(self, *exc):
        if self.life.on_loop:
            self.life.begin_turn()
        self.life.record(self.before)
        return False


class Run:
    """What every worker of the run shares: the spec, the board, the twin's task."""

    def __init__(self, spec, board):
        self.spec = spec
        self.board = board
        self.size = spec["size"]
        self.units = spec["units"]
        self.options = spec["options"]
        module = load_twin(spec)
        self.task = module.task
        self.task_async = getattr(module, "task_async", None)
        # What the twin's workers share (contention's lock), made once in the host before any
        # worker and carried in the spec: fork inherits it, spawn pickles it, as multiprocessing
        # hands a Lock to a Process.
        if "shared" not in spec and hasattr(module, "shared"):
            spec["shared"] = module.shared(spec)
        self.shared = spec.get("shared")

    def block(self, index):
        tasks, workers = self.spec["tasks"], self.spec["workers"]
        return range(tasks * index // workers, tasks * (index + 1) // workers)


def load_twin(spec):
    import importlib.util

    path = os.path.join(spec["dir"], "twin.py")
    loaded = importlib.util.spec_from_file_location("concur_twin", path)
    module = importlib.util.module_from_spec(loaded)
    sys.modules["concur_twin"] = module
    loaded.loader.exec_module(module)
    return module


# -- the models --------------------------------------------------------------------------------


def requested(run, index):
    run.board.slot(index).set("requested_ns", time.monotonic_ns())


def run_sequential(run):
    requested(run, 0)
    Life(run, 0, time.monotonic_ns()).run_block(range(run.spec["tasks"]))


def thread_main(run, index):
    started = time.monotonic_ns()
    Life(run, index, started).run_block(run.block(index))


def run_threads(run):
    threads = []
    for index in range(run.spec["workers"]):
        thread = threading.Thread(target=thread_main, args=(run, index), name="worker-{}".format(index))
        requested(run, index)
        thread.start()
        threads.append(thread)
    for thread in threads:
        while thread.is_alive():
            thread.join(0.05)
            watch_parent(run.spec)


def process_main(spec, index):
    started = time.monotonic_ns()
    become_worker_process()
    board = BOARD if BOARD is not None else Board(spec["board_path"], spec["layout"])
    run = Run(spec, board)
    life = Life(run, index, started)
    life.run_block(run.block(index))
    if life.final == FAILED:
        sys.exit(EXIT_TASK_FAILED)


def become_worker_process(stop_at_sigterm=True):
    """Dies with its parent, leaves Ctrl-C to the program; SIGTERM means "stop after this chunk",
    except in a pool's process, which the pool itself may terminate and join."""
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if stop_at_sigterm:
        signal.signal(signal.SIGTERM, lambda *_: terminated.set())
    else:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def run_processes(run):
    import multiprocessing

    context = multiprocessing.get_context(run.spec["start"])
    processes = []
    for index in range(run.spec["workers"]):
        process = context.Process(target=process_main, args=(run.spec, index), name="worker-{}".format(index))
        requested(run, index)
        process.start()
        processes.append(process)
    for index, process in enumerate(processes):
        while process.exitcode is None:
            process.join(0.05)
            watch_parent(run.spec)
        run.board.slot(index).report_exit(process.exitcode)


# Pools: a pool's worker claims a slot with its first act (the pool's initializer) and keeps it.
pool_life = threading.local()
POOL_RUN = None


def pool_thread_init(run, slots):
    started = time.monotonic_ns()
    pool_life.life = Life(run, slots.get_nowait(), started)


def pool_process_init(spec, slots):
    global POOL_RUN
    started = time.monotonic_ns()
    become_worker_process(stop_at_sigterm=False)
    board = BOARD if BOARD is not None else Board(spec["board_path"], spec["layout"])
    POOL_RUN = Run(spec, board)
    pool_life.life = Life(POOL_RUN, slots.get(), started)


def pool_task(task):
    """One task in a pool's worker: True when it completed."""
    life = pool_life.life
    if life.final != DONE or not life.may_take_task():
        return False
    return life.run_task(task)


def pool_chunk(tasks):
    """A chunk of tasks in a pool's worker, as `executor.map(..., chunksize=N)` hands them out."""
    for task in tasks:
        if not pool_task(task):
            return False
    return True


def run_pool(run):
    """`concurrent.futures`: the pool hands tasks out a chunk at a time, as `map` does."""
    import concurrent.futures as futures

    workers, tasks, chunk = run.spec["workers"], run.spec["tasks"], run.spec["chunk"]
    for index in range(workers):
        requested(run, index)
    if run.spec["model"] == "threads":
        import queue

        slots = queue.Queue()
        executor = futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="worker", initializer=pool_thread_init, initargs=(run, slots)
        )
    else:
        import multiprocessing

        context = multiprocessing.get_context(run.spec["start"])
        slots = context.SimpleQueue()
        executor = futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=pool_process_init, initargs=(run.spec, slots)
        )
    for index in range(workers):
        slots.put(index)
    submitted = [executor.submit(pool_chunk, tuple(range(at, min(at + chunk, tasks)))) for at in range(0, tasks, chunk)]
    processes = dict(getattr(executor, "_processes", None) or {})
    cancelled = False
    while True:
        pending = futures.wait(submitted, timeout=0.02)[1]
        processes.update(getattr(executor, "_processes", None) or {})
        if not pending:
            break
        if run.board.get32(run.board.header("stop")) != 0 or terminated.is_set():
            # executor.shutdown(cancel_futures=True), which Python 3.8 lacks.
            for future in pending:
                future.cancel()
            cancelled = True
            break
        watch_parent(run.spec)
    executor.shutdown(wait=True)
    end_pool(run, processes, cancelled)


def end_pool(run, processes, cancelled):
    """The host ends each pool worker's life once the pool is shut down."""
    by_pid = {process.pid: process for process in processes.values()}
    for index in range(run.spec["workers"]):
        slot = run.board.slot(index)
        state = slot.state()
        if state in (DONE, CANCELLED, FAILED, PANICKED):
            continue
        process = by_pid.get(slot.board.get32(slot.at["pid"]))
        if process is not None and process.exitcode is not None:
            slot.report_exit(process.exitcode)
        if state == PENDING:
            slot.set_state(CANCELLED if cancelled else DONE)
            continue
        now = time.monotonic_ns()
        slot.set("finished_ns", now)
        slot.record(now, END, -1)
        failed = slot.board.get32(slot.at["failure_len"]) > 0
        slot.set_state(FAILED if failed else CANCELLED if cancelled else DONE)


def run_async(run):
    import asyncio

    async def worker(index):
        life = Life(run, index, time.monotonic_ns(), pin=False, on_loop=True)
        for task in run.block(index):
            if not life.may_take_task():
                break
            life.begin_task(task, run.units)
            try:
                digest = await run.task_async(task, run.size, run.options, life)
            except Exception as error:  # noqa: BLE001
                life.fail(error)
                break
            if not life.end_task(digest):
                break
        life.end()

    async def main():
        for index in range(run.spec["workers"]):
            requested(run, index)
        await asyncio.gather(*(worker(index) for index in range(run.spec["workers"])))

    asyncio.run(main())


def watch_parent(spec):
    """The program is gone (killed with SIGKILL): take the run's whole process group with it."""
    if os.getppid() != spec["program_pid"]:
        leave_with_the_group()


def kill_the_group_but_the_tracker():
    """SIGKILL to every other process of the host's group (worker processes, a pool's, the
    forkserver and its children) but multiprocessing's resource tracker: once the others are gone
    it unlinks the semaphores they left and leaves by itself, so that nothing stays in /dev/shm."""
    tracking = sys.modules.get("multiprocessing.resource_tracker")
    tracker = getattr(getattr(tracking, "_resource_tracker", None), "_pid", None)
    me, group = os.getpid(), os.getpgid(0)
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in (me, tracker):
            continue
        try:
            with open("/proc/{}/stat".format(entry)) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


def leave_with_the_group():
    import shutil

    if SPEC:
        shutil.rmtree(SPEC["dir"], ignore_errors=True)
    kill_the_group_but_the_tracker()
    os._exit(1)


def on_sigterm(*_):
    """The program's escalation after the grace period, or its death (PR_SET_PDEATHSIG). Worker
    processes get SIGTERM too (stop after this chunk); whatever is still running 0.3 s later is
    killed, before the program's SIGKILL to the whole group, so the resource tracker survives to
    clean up."""
    terminated.set()
    if SPEC and os.getppid() != SPEC["program_pid"]:
        leave_with_the_group()
    if "multiprocessing" in sys.modules:
        for child in sys.modules["multiprocessing"].active_children():
            try:
                os.kill(child.pid, signal.SIGTERM)
            except OSError:
                pass
    timer = threading.Timer(0.3, lambda: (kill_the_group_but_the_tracker(), os._exit(1)))
    timer.daemon = True
    timer.start()


BOARD = None
SPEC = None


def main():
    global BOARD, SPEC
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(sys.argv[1]) as source:
        SPEC = spec = json.load(source)
    signal.signal(signal.SIGTERM, on_sigterm)
    if os.getppid() != spec["program_pid"]:
        leave_with_the_group()
    BOARD = Board(spec["board_fd"], spec["layout"])
    spec["board_path"] = "/proc/{}/fd/{}".format(os.getpid(), spec["board_fd"])
    spec["host_pid"] = os.getpid()
    try:
        run = Run(spec, BOARD)
    except BaseException as error:  # noqa: BLE001 - the twin or the user's module did not load
        for index in range(spec["workers"]):
            slot = BOARD.slot(index)
            slot.write_failure("cannot load the workload: {}: {}".format(type(error).__name__, error))
            slot.set_state(FAILED)
        sys.exit(EXIT_TASK_FAILED)
    model, schedule = spec["model"], spec["schedule"]
    if model == "sequential":
        run_sequential(run)
    elif model == "async":
        run_async(run)
    elif schedule == "dynamic":
        run_pool(run)
    elif model == "threads":
        run_threads(run)
    else:
        run_processes(run)


if __name__ == "__main__":
    main()
