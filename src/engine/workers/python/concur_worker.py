"""One Python worker's life: what a twin's task sees as `h` (checkpoints, waits, turns on the
loop, cells, memory, its line to the program), and the board writes of each step, as the
native worker loop makes them (engine/workers/worker.rs)."""

import os
import signal
import threading
import time
import traceback

from concur_board import (
    BLOCKED,
    CANCELLED,
    DONE,
    DRAINING,
    END,
    FAILED,
    IDLE,
    PAUSED,
    RUNNING,
    S_DRAINING,
    S_PAUSED,
    S_RUNNING,
    STOP_AFTER_CHUNK,
    STOP_AFTER_TASK,
    current_cpu,
)

# Set by SIGTERM: the program's escalation after the grace period. Stop after this chunk.
terminated = threading.Event()


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
            if self.board.by_path:
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
