"""Key-to-screen latency of the real dashboard with 1,000 cpu workers running, as the dashboard
measures it itself (from reading a key to the end of drawing the frame that shows it) and prints
on exit. In a pseudo-terminal of 120x36: 1000 workers, 1024 tasks, then 600 keys typed in the
workers panel (PgDn, j, k, s, End, Home, PgUp) one every 50 ms, then q.
Run from the repository after `cargo build --release`:
    python3 benches/key_to_screen.py threads|processes [--hog] [--idle]
--hog adds one busy process per CPU from outside for the whole measurement; --idle types the
same keys without starting the run, as a baseline of what the machine itself costs. Also prints
how long the launch of the 1,000 workers took, from the Enter that starts them until the last
one exists (a child process, or a thread named worker-N)."""
import fcntl, os, pty, re, select, shutil, signal, struct, sys, tempfile, termios, time

B = os.path.abspath("target/release/concur-tui")
model = sys.argv[1] if len(sys.argv) > 1 else "threads"
hog = "--hog" in sys.argv
idle = "--idle" in sys.argv
KEYS = ["\x1b[6~", "j", "j", "k", "\x1b[6~", "s", "\x1b[F", "\x1b[H", "\x1b[5~", "j"]
PRESSES = 600

# The dashboard saves its results in its current directory on exit: a scratch one, removed below.
scratch = tempfile.mkdtemp(prefix="concur-tui-keys-")
pid, fd = pty.fork()
if pid == 0:
    os.chdir(scratch)
    os.execv(B, [B, "--grace", "1s"])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 36, 120, 0, 0))
out = bytearray()


def pump(seconds):
    end = time.time() + seconds
    while True:
        left = end - time.time()
        if left <= 0:
            return
        r, _, _ = select.select([fd], [], [], left)
        if r:
            try:
                out.extend(os.read(fd, 1 << 16))
            except OSError:
                return


def workers():
    """The dashboard's worker processes (its children) or threads (named worker-N)."""
    count = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            if model == "processes":
                count += len(open(f"/proc/{pid}/task/{task}/children").read().split())
            elif open(f"/proc/{pid}/task/{task}/comm").read().startswith("worker-"):
                count += 1
        except OSError:
            pass
    return count


def send(keys, settle=0.05):
    os.write(fd, keys.encode())
    pump(settle)


pump(2)
hogs = []
launch = "no launch"
if hog:
    for _ in range(os.cpu_count() or 1):
        child = os.fork()
        if child == 0:
            while True:
                pass
        hogs.append(child)
try:
    if model == "processes":
        send("m")
    send("\t")  # settings
    send("jj")  # tasks
    send("l" * 6)  # 16 -> 1024 tasks
    send("+" * 998, 1.0)  # 2 -> 1000 workers
    if not idle:
        # Enter starts the sequential baseline first (no baseline of 1,024 tasks has run);
        # Enter again skips it, and the 1,000 workers start.
        send("\r", 2.0)
        send("\r", 0.0)
        asked = time.time()
        while workers() < 1000 and time.time() - asked < 120:
            pump(0.05)
        launch = f"{workers()} workers started in {time.time() - asked:.2f} s"
        pump(1.0)
    send("\t")  # focus the workers panel
    started = time.time()
    for n in range(PRESSES):
        send(KEYS[n % len(KEYS)])
    typed = time.time() - started
    send("q", 0.5)
    for _ in range(600):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        pump(0.1)
    pump(0.3)
finally:
    for child in hogs:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    shutil.rmtree(scratch, ignore_errors=True)
text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode("utf-8", "replace"))
ran = re.search(r"while running cpu · (\w+) × (\d+)", text)
figures = re.search(r"concur-tui: key-to-screen .*", text)
if idle:
    ran = None
print(f"{model}{' + outside hog' if hog else ''}{' (idle: no run)' if idle else ''}: {PRESSES} keys in {typed:.1f} s;",
      f"run: {ran.group(1)} × {ran.group(2)}" if ran else "run: not seen in the summary", f"({launch})")
print(figures.group(0) if figures else "no figures in the summary:\n" + text[-2000:])
