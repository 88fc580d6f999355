"""An example for `concur-tui --function examples/work.py:crunch`: a CPU-bound function in
plain Python, and an I/O-bound one. Try each under threads and processes:

    concur-tui bench --function examples/work.py:crunch -n 1,2
    concur-tui bench --function examples/work.py:fetch -n 1,2,4,8
"""

import time


def crunch(i):
    """Pure-Python arithmetic: holds the GIL the whole time."""
    return sum(k * k for k in range(i * 1_000_000, (i + 1) * 1_000_000))


def fetch(i):
    """A wait that uses no CPU, standing in for a request: releases the GIL."""
    time.sleep(0.05)
    return i
