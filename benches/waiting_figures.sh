#!/bin/bash
# io and net on threads, processes and async at 1, 8 and 64 workers, 64 tasks each, with the
# catalog defaults (io 200 ms a task; net 64 KiB bodies after 100 ms). Run after
# `cargo build --release`; prints one line per run: wall, CPU, peak RSS, start-up median.
set -euo pipefail
cd "$(dirname "$0")/.."
for w in io net; do for n in 1 8 64; do for m in threads processes async; do
  target/release/concur-tui run --workload $w --model $m --workers $n --tasks 64 --format json | python3 -c "
import json,sys; r=json.load(sys.stdin); m=r['metrics']
print('$w', '$m', $n, r['outcome'], 'wall %.3f s'%r['wall_seconds'], 'cpu %.3f s'%r['cpu_seconds'], 'rss %.0f MiB'%(r['peak_rss_bytes']/2**20), 'startup %.2f ms'%(1000*m['startup_median_seconds']), ('%.1f MB/s mean %.0f ms'%(m['megabytes_per_second'],m['mean_request_ms']) if '$w'=='net' else ''))"
done; done; done
