"""concur-tui's Python runner: runs one run's workers on CPython's own threads, processes,
pools or asyncio, the way a Python programmer writes them, and reports into the program's
shared board (a memfd mapped MAP_SHARED) exactly as the native workers do: progress, tasks,
digest, CPU time, pid and tid, and each change of state in the slot's ring, stamped with
CLOCK_MONOTONIC (time.monotonic_ns).

The program writes this file, concur_board.py (the board), concur_worker.py (one worker's
life), the workload's twin (twin.py) and the run's spec (spec.json) into a private directory and
starts `python runner.py spec.json` as the run's host process; this file holds the models.
The host never prints: what goes wrong goes into the board (a failure note per worker) and a
traceback file in that directory, which the program reads and removes.
"""

import json
import os
import signal
import sys
import threading
import time

from concur_board import CANCELLED, DONE, END, FAILED, PANICKED, PENDING, Board
from concur_worker import Life, terminated

# A task that failed ends its worker process with this status, as a native one does.
EXIT_TASK_FAILED = 4


def die_with_parent():
    """A worker process dies when the process that started it does (PR_SET_PDEATHSIG)."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
    except (ImportError, OSError, AttributeError):
        pass


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
