#!/usr/bin/env bash
# What a nightly rerun of an unchanged export costs, before and after the
# ledger's decided refusals: N rows (default 3,000) against a stand-alone
# sandbox answering after LATENCY (default 20ms), at concurrency C (default
# 8), where one row in ten names a commerce that is not its activity's (404)
# and one in ten an activity that already has someone else's result (409).
# Each round: the sandbox forgets everything, the 409 rows' results are
# stored by another client, the first run sends the file, and the second
# run, the one measured, sends it again unchanged with the same ledger.
#
#   bench/rerun-ab.sh BASE [RUNS]    (default 3 rounds)
#
# The two builds alternate within each round (the order swaps every round)
# so that both see the same machine. Printed: medians of the second run's
# wall seconds and of the POSTs the sandbox received during it, per build,
# and the median of the rounds' ratios head/base of wall seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
base=${1:?usage: bench/rerun-ab.sh BASE [RUNS]}
runs=${2:-3}
N=${N:-3000}
C=${C:-8}
LATENCY=${LATENCY:-20ms}
OUT=bench/out/rerun-ab
mkdir -p "$OUT/bin"

src=$(mktemp -d)
cleanup() {
  stop_sandbox
  rm -rf "$src"
}
trap cleanup EXIT
git archive "$base" | tar -x -C "$src"
(cd "$src" && go build -o "$OLDPWD/$OUT/bin/reconcile-base" ./cmd/reconcile)
go build -o "$OUT/bin/reconcile" ./cmd/reconcile
cp "$OUT/bin/reconcile" "$OUT/bin/reconcile-head"

go run ./bench/submitgen -n "$N" -dir "$OUT" >/dev/null
# Rows 2, 12, 22, ...: a commerce not the activity's (404). Rows 7, 17, ...:
# also in taken.csv, which another client sends first (409 for ours).
awk -F, -v OFS=, 'NR == 1 { print; next } (NR - 2) % 10 == 0 { $2 = "NOT-ITS-COMMERCE" } { print }' "$OUT/rows.csv" >"$OUT/rerun.csv"
awk 'NR == 1 || (NR - 7) % 10 == 0' "$OUT/rows.csv" >"$OUT/taken.csv"

start_sandbox --latency "$LATENCY"
posts() { curl -fsS "$URL/_sandbox/requests" | jq '[.[] | select(.method == "POST")] | length'; }
export RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench

results="$OUT/results.txt"
: >"$results"
for run in $(seq "$runs"); do
  order="base head"
  [ $((run % 2)) -eq 0 ] && order="head base"
  for build in $order; do
    bin="$OUT/bin/reconcile-$build"
    go run ./bench/submitgen -reset "$URL"
    rm -rf "$OUT/state" "$OUT/other" "$OUT"/r-*
    "$bin" run --concurrency "$C" --state-dir "$OUT/other" --report-dir "$OUT/r-other" "$OUT/taken.csv" >/dev/null 2>&1
    rc=0
    "$bin" run --concurrency "$C" --state-dir "$OUT/state" --report-dir "$OUT/r-first" "$OUT/rerun.csv" >/dev/null 2>&1 || rc=$?
    [ "$rc" -le 1 ] || { echo "first run of $build: exit $rc" >&2; exit 1; }
    before=$(posts)
    t0=$(date +%s.%N)
    rc=0
    "$bin" run --concurrency "$C" --state-dir "$OUT/state" --report-dir "$OUT/r-second" "$OUT/rerun.csv" >/dev/null 2>&1 || rc=$?
    t1=$(date +%s.%N)
    [ "$rc" -le 1 ] || { echo "second run of $build: exit $rc" >&2; exit 1; }
    echo "run=$run build=$build seconds=$(awk "BEGIN {printf \"%.3f\", $t1 - $t0}") posts=$(($(posts) - before)) first_posts=$before" | tee -a "$results"
  done
done

echo
echo "second run of an unchanged file of $N rows, medians over $runs rounds:"
printf "%-5s %9s %7s %10s\n" build seconds posts head/base
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    secs[v["build"]] = secs[v["build"]] " " v["seconds"]; posts[v["build"]] = posts[v["build"]] " " v["posts"]
    at[v["run"] " " v["build"]] = v["seconds"]; runs[v["run"]] = 1 }
  END {
    for (r in runs) ratios = ratios " " at[r " head"] / at[r " base"]
    printf "%-5s %9.3f %7d %10s\n", "base", median(secs["base"]), median(posts["base"]), ""
    printf "%-5s %9.3f %7d %10.3f\n", "head", median(secs["head"]), median(posts["head"]), median(ratios)
  }' "$results"
