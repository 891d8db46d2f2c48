#!/usr/bin/env bash
# bench/rss-phases.sh: when the peak RSS of a `reconcile run` happens. Runs
# the CASE (100k or 1m, as bench/memory.sh builds them; run it once first)
# and samples /proc/PID/status every 0.2 s: total, anonymous and file-backed
# RSS, the CPU seconds used so far, and the last log line the run had
# printed as the phase. It ends with the peak, the CPU seconds and the wall
# time of the run.
#
#   bench/rss-phases.sh [CASE]      (default 1m; samples in bench/out/memory/phases-CASE.txt)
#   BIN=path bench/rss-phases.sh    # measure a reconcile built elsewhere
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
CASE=${1:-1m}
OUT=bench/out/memory
bin=${BIN:-$OUT/bin/reconcile-new}
if [ -z "${BIN:-}" ]; then
  go build -o "$bin" ./cmd/reconcile
fi
SANDBOX_BIN=$bin
trap stop_sandbox EXIT
start_sandbox
dir=$OUT/phases-$CASE
rm -rf "$dir" "$dir.state"
samples=$OUT/phases-$CASE.txt
tick=$(getconf CLK_TCK)
RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench "$bin" run --concurrency 16 \
  --report-dir "$dir" --state-dir "$dir.state" "$OUT/rows-$CASE.csv" >"$dir.stdout" 2>"$dir.log" &
pid=$!
start=$(date +%s.%N)
echo "t_s rss_kb anon_kb file_kb cpu_s phase" >"$samples"
while [ -r /proc/$pid/status ]; do
  line=$(awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssFile/ {f = $2} END {print r, a, f}' /proc/$pid/status 2>/dev/null || true)
  # utime and stime, fields 14 and 15 after the command's name in parentheses.
  cpu=$(sed 's/.*) //' /proc/$pid/stat 2>/dev/null | awk -v t="$tick" '{printf "%.2f", ($12 + $13) / t}' || true)
  phase=$(tail -c 300 "$dir.log" 2>/dev/null | tr '\r' '\n' | grep -v '^$' | tail -1 | cut -c1-80 || true)
  [ -n "$line" ] && [ -n "$cpu" ] && echo "$(echo "$(date +%s.%N) - $start" | bc) $line $cpu $phase" >>"$samples"
  sleep 0.2
done
wait $pid || echo "reconcile run exited $?"
wall=$(echo "$(date +%s.%N) - $start" | bc)
sort -k2 -n "$samples" | tail -1 | sed 's/^/peak: /'
echo "cpu_s $(tail -1 "$samples" | awk '{print $5}') (at the last sample) wall_s $wall"
