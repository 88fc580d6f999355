"""Ctrl-C to exit, median of 20, on the real binary: `run` after SIGINT (threads, processes) and
the dashboard after the Ctrl-C key during a processes run, in a pseudo-terminal.
Run from the repository after `cargo build --release`:  python3 benches/ctrl_c_to_exit.py"""
import os, subprocess, time, signal, statistics, pty, select, shutil, sys, tempfile
B=os.path.abspath("target/release/concur-tui")
def run_once(model):
    p=subprocess.Popen([B,"run","-w","cpu","-m",model,"-n","2","-t","64","-f","json"],stdout=subprocess.DEVNULL,stderr=subprocess.DEVNULL,preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(0.3); t=time.perf_counter(); p.send_signal(signal.SIGINT); p.wait(); return time.perf_counter()-t, p.returncode
# The dashboard saves its results in its current directory on exit: a scratch one, removed at the end.
SCRATCH=tempfile.mkdtemp(prefix="concur-tui-ctrl-c-")
def dash_once():
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(SCRATCH)
        os.execv(B,[B])
    buf=b""; t0=time.time()
    while b"Catalog" not in buf and time.time()-t0<5:
        r,_,_=select.select([fd],[],[],0.05)
        if r: buf+=os.read(fd,65536)
    os.write(fd,b"m\r")  # processes, run cpu: its sequential baseline starts first
    time.sleep(0.2)
    os.write(fd,b"\r")  # skip the baseline: the processes run starts
    time.sleep(0.4)
    t=time.perf_counter(); os.write(fd,b"\x03")
    while True:
        r,_,_=select.select([fd],[],[],0.01)
        if r:
            try: os.read(fd,65536)
            except OSError: pass
        p,st=os.waitpid(pid,os.WNOHANG)
        if p: return time.perf_counter()-t, os.waitstatus_to_exitcode(st)
def report(label, xs):
    codes = set(x[1] for x in xs)
    print(f"{label}: Ctrl-C to exit median {statistics.median(x[0] for x in xs)*1000:.1f} ms, max {max(x[0] for x in xs)*1000:.1f} ms, codes {codes}")
    # 130 is an exit by SIGINT; anything else ended for another reason and timed nothing.
    if codes != {130}:
        print(f"  NOT A MEASUREMENT: {label} exited {codes}, not 130 (run it by hand to see why)")
for model in ["threads","processes"]:
    report(f"run {model}", [run_once(model) for _ in range(20)])
report("dashboard processes run", [dash_once() for _ in range(20)])
shutil.rmtree(SCRATCH, ignore_errors=True)
