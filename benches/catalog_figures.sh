#!/usr/bin/env bash
# The catalog's figures in one run of the release binary: ipc round trips per transport, memory
# of threads against processes, racy lost updates, static against dynamic schedules, fork against
# spawn start-up, data read in place against sent over pipes. Run from the repository after
# `cargo build --release`:  bash benches/catalog_figures.sh
set -u
B=${B:-target/release/concur-tui}
[[ -x $B ]] || { echo "catalog_figures.sh: build first: cargo build --release" >&2; exit 2; }
j() { "$B" run -f json "$@"; }
echo "## ipc round trips (1 worker, 4 tasks x 20000)"
for t in "threads channel" "processes pipe" "processes socket" "processes shm"; do
  set -- $t
  j -w ipc -m $1 -n 1 -t 4 -s 20000 --transport $2 | python3 -c "import json,sys; m=json.load(sys.stdin)['metrics']; print(f\"$1 {m['transport']:8s} p50 {m['p50_us']:7.2f} us  p99 {m['p99_us']:7.2f} us  {m['round_trips_per_second']:10.0f} rt/s\")"
done
echo "## ipc round trips (2 workers)"
for t in "threads channel" "processes pipe" "processes socket" "processes shm"; do
  set -- $t
  j -w ipc -m $1 -n 2 -t 4 -s 20000 --transport $2 | python3 -c "import json,sys; m=json.load(sys.stdin)['metrics']; print(f\"$1 {m['transport']:8s} p50 {m['p50_us']:7.2f} us  p99 {m['p99_us']:7.2f} us  {m['round_trips_per_second']:10.0f} rt/s\")"
done
echo "## memory: 2 workers, 2 tasks of 64 MiB"
for m in threads processes; do
  j -w memory -m $m -n 2 -t 2 -s 64 | python3 -c "import json,sys; d=json.load(sys.stdin); m=d['metrics']; w=d['workers']; print(f\"$m total RSS {m['rss_bytes']>>20} MiB PSS {m['pss_bytes']>>20} MiB; per worker RSS/PSS MiB:\", [(x['metrics']['rss_bytes']>>20, x['metrics']['pss_bytes']>>20) for x in w])"
done
echo "## contention racy, 2 workers x 4 tasks x 1M"
for m in threads processes; do
  j -w contention -m $m -n 2 -t 4 --strategy racy | python3 -c "import json,sys; m=json.load(sys.stdin)['metrics']; print(f\"$m racy lost {m['lost_updates']} of {m['expected']} ({100*m['lost_updates']/m['expected']:.1f} %)\")"
done
echo "## imbalance 2 threads, 16 tasks, seed 42"
for s in "static" "dynamic --chunk 1" "dynamic --chunk 4"; do
  j -w imbalance -m threads -n 2 -t 16 --schedule $s | python3 -c "import json,sys; d=json.load(sys.stdin); print(f\"$s: wall {d['wall_seconds']:.3f} s, idle per worker\", [round(w['metrics']['idle_seconds'],3) for w in d['workers']])"
done
echo "## start-up of one worker process, median of 5 runs"
for s in fork spawn; do
  for _ in 1 2 3 4 5; do
    j -w cpu -m processes -n 1 -t 1 -s 1000 --start $s | python3 -c "import json,sys; print(round(json.load(sys.stdin)['workers'][0]['startup_seconds']*1e6))"
  done | sort -n | sed -n 3p | sed "s/^/$s start-up us: /"
done
echo "## data 64 MiB, 2 processes, 16 tasks"
for t in inherit pipe; do
  j -w data -m processes -n 2 -t 16 --transfer $t | python3 -c "import json,sys; d=json.load(sys.stdin); m=d['metrics']; print(f\"$t: wall {d['wall_seconds']:.3f} s, moved {m['bytes_transferred']>>20} MiB in {m['transfer_seconds']:.3f} s of worker time, peak RSS {d['peak_rss_bytes']>>20} MiB, matches {m['histogram_matches']}\")"
done
