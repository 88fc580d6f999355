"""Does the harness change what it measures? The same work done by concur-tui's Python runtime
and by a bare CPython script, interleaved round by round, as a ratio of wall times.

The work is the cpu twin's: 8 tasks of `sum(i * i for i in range(low, low + step))` in chunks of
65,536 integers (the articles' own function), 3 M integers a task. The bare script runs it on a
plain `ThreadPoolExecutor`, a `multiprocessing.Pool`, and a plain loop, timing from the pool's
creation to the last result; concur-tui runs it with `--runtime python` and reports its own
`wall_seconds` (from the first worker asked for to the end). Both exclude the interpreter's own
start-up. Prints the median of each, the ratio harness / bare, and the speedups the issue asks
about (threads x2, processes x2, io threads x16).

Run from the repository after `cargo build --release`:
    python3 benches/python_harness.py [ROUNDS] [PYTHON]
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

B = os.path.abspath("target/release/concur-tui")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
PYTHON = sys.argv[2] if len(sys.argv) > 2 else "python3"
TASKS, SIZE = 8, 3_000_000

BARE = textwrap.dedent(
    """
    import sys, time
    MASK = (1 << 64) - 1
    CHUNK = 1 << 16

    def task(index, size=%d):
        start, total, done = index * size, 0, 0
        while done < size:
            low = start + done
            step = min(CHUNK, size - done)
            total = (total + sum(i * i for i in range(low, low + step))) & MASK
            done += step
        return total

    if __name__ == "__main__":
        how, workers = sys.argv[1], int(sys.argv[2])
        began = time.monotonic()
        if how == "threads":
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(workers) as pool:
                digest = sum(pool.map(task, range(%d)))
        elif how == "processes":
            import multiprocessing
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                digest = sum(pool.map(task, range(%d)))
        else:
            digest = sum(task(index) for index in range(%d))
        print(time.monotonic() - began, digest & MASK)
    """
    % (SIZE, TASKS, TASKS, TASKS)
)


def bare(script, how, workers):
    out = subprocess.run([PYTHON, script, how, str(workers)], check=True, capture_output=True, text=True)
    return float(out.stdout.split()[0])


def harness(model, workers, workload="cpu", size=SIZE, tasks=TASKS, extra=()):
    args = [B, "run", "--format", "json", "--python", PYTHON, "-w", workload, "-m", model, "-t", str(tasks)]
    args += ["-s", str(size)] + list(extra)
    if model != "sequential":
        args += ["-n", str(workers)]
    report = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    assert report["outcome"] == "finished", report["outcome"]
    return report["wall_seconds"]


def main():
    with tempfile.TemporaryDirectory(prefix="concur-tui-bare-") as scratch:
        script = os.path.join(scratch, "bare.py")
        with open(script, "w") as out:
            out.write(BARE)
        cases = {
            "sequential": (lambda: bare(script, "loop", 1), lambda: harness("sequential", 1)),
            "threads x2": (lambda: bare(script, "threads", 2), lambda: harness("threads", 2)),
            "processes x2": (lambda: bare(script, "processes", 2), lambda: harness("processes", 2)),
        }
        walls = {name: ([], []) for name in cases}
        io = {"io sequential": [], "io threads x16": []}
        for _ in range(ROUNDS):
            for name, (bare_run, harness_run) in cases.items():
                walls[name][0].append(bare_run())
                walls[name][1].append(harness_run())
            io["io sequential"].append(harness("sequential", 1, "io", 100, 16))
            io["io threads x16"].append(harness("threads", 16, "io", 100, 16))
    median = {name: (statistics.median(b), statistics.median(h)) for name, (b, h) in walls.items()}
    print(f"{PYTHON}, {ROUNDS} interleaved rounds, medians (wall seconds):")
    print(f"{'':14} {'bare':>8} {'harness':>8} {'ratio':>6}")
    for name, (b, h) in median.items():
        print(f"{name:14} {b:8.3f} {h:8.3f} {h / b:6.3f}")
    seq_b, seq_h = median["sequential"]
    for name in ("threads x2", "processes x2"):
        b, h = median[name]
        print(f"speedup {name}: bare {seq_b / b:.2f}, harness {seq_h / h:.2f}")
    io_seq, io_16 = statistics.median(io["io sequential"]), statistics.median(io["io threads x16"])
    print(f"speedup io threads x16 (16 tasks of 100 ms): {io_seq / io_16:.1f}")


main()
