#!/usr/bin/env bash
# The waiting side's figures in one run of the release binary: io and net on threads,
# processes and async at 1, 8 and 64 workers (64 tasks, catalog defaults); throttle's held rate against its
# limit with few and many workers, latency's answers a second with and without the interpreter
# lock (1 and 2 computing workers, two switch intervals), and disk's MB/s. Run from the
# repository after `cargo build --release`:  bash benches/waiting_figures.sh
set -u
B=${B:-target/release/concur-tui}
[[ -x $B ]] || { echo "waiting_figures.sh: build first: cargo build --release" >&2; exit 2; }
j() { "$B" run -f json "$@"; }
echo "## io and net, 64 tasks: wall, CPU, peak RSS, start-up median"
for w in io net; do for n in 1 8 64; do for m in threads processes async; do
  "$B" run --workload $w --model $m --workers $n --tasks 64 --format json | python3 -c "
import json,sys; r=json.load(sys.stdin); m=r['metrics']
print('$w', '$m', $n, r['outcome'], 'wall %.3f s'%r['wall_seconds'], 'cpu %.3f s'%r['cpu_seconds'], 'rss %.0f MiB'%(r['peak_rss_bytes']/2**20), 'startup %.2f ms'%(1000*m['startup_median_seconds']), ('%.1f MB/s mean %.0f ms'%(m['megabytes_per_second'],m['mean_request_ms']) if '$w'=='net' else ''))"
done; done; done
echo "## throttle --rate 50 (burst 2, 4 in flight), 200 tasks of 10 ms"
for m in threads processes; do
  for n in 2 8; do
    j -w throttle -m $m -n $n -t 200 --rate 50 | python3 -c "import json,sys; d=json.load(sys.stdin); m=d['metrics']; w=m['token_wait_seconds']; print(f\"$m x $n: {m['tasks_per_second_after_burst']:.2f} tasks/s past the burst ({m['tasks_per_second']:.2f} in all) in {d['wall_seconds']:.2f} s, peak in flight {m['peak_in_flight']}, token wait {sum(w)/len(w):.2f} s a worker\")"
  done
done
echo "## latency: 1 worker answers, n-1 compute; one 2 s task each"
for si in 5ms 0.1ms; do
  for n in 2 3; do
    for v in "threads" "threads --gil --switch-interval $si" "processes --gil --switch-interval $si"; do
      j -w latency -m $v -n $n -t $n -s 2000 | python3 -c "import json,sys; m=json.load(sys.stdin)['metrics']; print(f\"switch $si, {$n-1} computing, $v: {m['requests_per_second']:8.0f} requests/s  p50 {m['p50_us']:9.1f} us  p99 {m['p99_us']:9.1f} us\")"
    done
  done
done
echo "## latency alone (1 worker)"
j -w latency -m threads -n 1 -t 1 -s 2000 | python3 -c "import json,sys; m=json.load(sys.stdin)['metrics']; print(f\"alone: {m['requests_per_second']:8.0f} requests/s  p50 {m['p50_us']:.1f} us  p99 {m['p99_us']:.1f} us\")"
echo "## disk, 8 tasks of 64 MiB (TMPDIR=${TMPDIR:-/tmp})"
for v in "sequential -n 1" "threads -n 2" "threads -n 4" "processes -n 4" "threads -n 4 --gil"; do
  j -w disk -m $v -t 8 -s 64 | python3 -c "import json,sys; d=json.load(sys.stdin); m=d['metrics']; print(f\"$v: write {m['write_mb_per_second']:.0f} MB/s, read {m['read_mb_per_second']:.0f} MB/s a worker; {m['run_mb_per_second']:.0f} MB/s in all, wall {d['wall_seconds']:.2f} s ({m['filesystem']})\")"
done
