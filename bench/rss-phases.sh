#!/usr/bin/env bash
# bench/rss-phases.sh: when the peak RSS of a `reconcile run` happens. Runs
# the CASE (100k or 1m, as bench/memory.sh builds them; run it once first)
# and samples /proc/PID/status every 0.2 s: total, anonymous and file-backed
# RSS, with the last log line the run had printed as the phase.
#
#   bench/rss-phases.sh [CASE]      (default 1m; samples in bench/out/memory/phases-CASE.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
CASE=${1:-1m}
OUT=bench/out/memory
go build -o "$OUT/bin/reconcile-new" ./cmd/reconcile
SANDBOX_BIN=$OUT/bin/reconcile-new
trap stop_sandbox EXIT
start_sandbox
dir=$OUT/phases-$CASE
rm -rf "$dir" "$dir.state"
samples=$OUT/phases-$CASE.txt
RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench "$OUT/bin/reconcile-new" run --concurrency 16 \
  --report-dir "$dir" --state-dir "$dir.state" "$OUT/rows-$CASE.csv" >"$dir.stdout" 2>"$dir.log" &
pid=$!
start=$(date +%s.%N)
echo "t_s rss_kb anon_kb file_kb phase" >"$samples"
while [ -r /proc/$pid/status ]; do
  line=$(awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {print r, a, f}' /proc/$pid/status 2>/dev/null || true)
  phase=$(tail -c 300 "$dir.log" 2>/dev/null | tr '\r' '\n' | grep -v '^$' | tail -1 | cut -c1-80 || true)
  [ -n "$line" ] && echo "$(echo "$(date +%s.%N) - $start" | bc) $line $phase" >>"$samples"
  sleep 0.2
done
wait $pid || echo "reconcile run exited $?"
sort -k2 -n "$samples" | tail -1 | sed 's/^/peak: /'
