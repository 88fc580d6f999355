"""The board as a Python worker sees it: the program's shared table (a memfd mapped
MAP_SHARED), its cells at the offsets the program gives in the spec (board/layout.rs), and one
worker's slot with its ring of state changes.

Stores are single aligned 8- or 4-byte stores (a memoryview cast to 'Q' or 'I': CPython's item
assignment is one memcpy of that size); the program's reader copes with any order they arrive
in (each ring entry carries its sequence tag).
"""

import mmap
import os
import threading

MASK = (1 << 64) - 1

# Activities of the ring (board/ring.rs).
IDLE, RUNNING, LOCK_WAIT, BLOCKED, PAUSED, DRAINING, END = range(7)
# Slot states (board/slot.rs).
PENDING, S_RUNNING, S_PAUSED, S_DRAINING, DONE, CANCELLED, PANICKED, FAILED = range(8)
# Stop levels (board/mod.rs).
STOP_AFTER_TASK, STOP_AFTER_CHUNK = 1, 2
TAG_SHIFT = 40
TAG_MASK = (1 << 24) - 1


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


class Board:
    """The shared table, mapped from a descriptor or from /proc/PID/fd/N."""

    def __init__(self, source, layout):
        self.layout = layout
        size = layout["table_size"]
        # Mapped by path (/proc/HOST/fd/N) in a spawned or forkserver process, which inherits
        # none of the host's descriptors (nor the lines'); from the descriptor in the host.
        self.by_path = not isinstance(source, int)
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
