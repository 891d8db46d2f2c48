#!/usr/bin/env bash
# bench/memory.sh: peak memory of `reconcile run` at 100,000 and 1,000,000
# rows, the ledger's size on disk, and the realistic run, optionally for two
# builds in alternation.
#
#   bench/memory.sh [RUNS] [BASE]     (default 3 rounds; BASE: a git revision, or a built reconcile, to compare with)
#   CASES=1m bench/memory.sh 5        # only the 1M-row case
#
# Cases (CASES, default "100k 1m"):
#   100k, 1m  `reconcile run --concurrency 16` of that many rows against a
#             stand-alone sandbox with no faults and no latency, on a fresh
#             state dir: every report written (report.csv, report.xlsx,
#             rejects.csv, summary.json: one row in 100 names an unknown
#             result type, so that rejects are written too). The rows are in a
#             random order, as exports are, so that the ledger meets its keys
#             at random places in its B+tree.
#   real      the realistic run: 20,000 of those rows against a sandbox that
#             answers after 35 ms and with 429 above 500 requests a second,
#             reconcile sending at --rate 400.
#
# Each run is measured by /usr/bin/time -v: wall seconds, CPU seconds (user +
# system) and peak RSS, and the ledger file's size per row. With BASE, each
# round runs both builds (BASE as "base", the working tree as "new", the order
# swapping every round); the medians per build are printed, and the median of
# the rounds' new/base ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-3}
BASE=${2:-}
CASES=${CASES:-100k 1m}
OUT=bench/out/memory
mkdir -p "$OUT/bin"

builds=new
go build -o "$OUT/bin/reconcile-new" ./cmd/reconcile
if [ -x "$BASE" ] && [ -f "$BASE" ]; then
  cp "$BASE" "$OUT/bin/reconcile-base"
  builds="base new"
elif [ -n "$BASE" ]; then
  src=$(mktemp -d)
  git archive "$BASE" | tar -x -C "$src"
  (cd "$src" && go build -o "$OLDPWD/$OUT/bin/reconcile-base" ./cmd/reconcile)
  rm -rf "$src"
  builds="base new"
fi
go build -o "$OUT/bin/submitgen" ./bench/submitgen
if [ ! -f "$OUT/rows-1m.csv" ]; then
  "$OUT/bin/submitgen" -n 1000000 -shuffle -invalid 100 -dir "$OUT"
  mv "$OUT/rows.csv" "$OUT/rows-1m.csv"
fi
head -n 100001 "$OUT/rows-1m.csv" >"$OUT/rows-100k.csv"
head -n 20001 "$OUT/rows-1m.csv" >"$OUT/rows-real.csv"

SANDBOX_BIN=$OUT/bin/reconcile-new
trap stop_sandbox EXIT

# one BUILD CASE ROUND FLAGS...: runs the case once against $URL and appends
# its figures to $results.
one() {
  local build=$1 case=$2 round=$3 timing dir rows rc wall cpu rss ledger
  shift 3
  dir=$OUT/run-$case
  rm -rf "$dir" "$dir.state"
  "$OUT/bin/submitgen" -reset "$URL"
  rows=$(($(wc -l <"$OUT/rows-$case.csv") - 1))
  timing=$(mktemp)
  rc=0
  RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench /usr/bin/time -v "$OUT/bin/reconcile-$build" run \
    --report-dir "$dir" --state-dir "$dir.state" "$@" "$OUT/rows-$case.csv" >"$dir.stdout" 2>"$timing" || rc=$?
  # Exit 1: the invalid rows need a person, as they should.
  if [ "$rc" -gt 1 ] || ! grep -q "\"total\": $rows," "$dir/summary.json"; then
    echo "reconcile-$build run failed (exit $rc) on $case:" >&2
    tail -20 "$timing" >&2
    exit 1
  fi
  for f in report.csv report.xlsx rejects.csv summary.json; do
    [ -s "$dir/$f" ] || { echo "reconcile-$build run on $case wrote no $f" >&2; exit 1; }
  done
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$timing")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$timing")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
  ledger=$(cat "$dir.state"/*.db | wc -c)
  rm -f "$timing"
  echo "case=$case round=$round build=$build rows=$rows wall_s=$wall cpu_s=$cpu maxrss_kb=$rss ledger_b_row=$((ledger / rows))" | tee -a "$results"
}

results=$OUT/results.txt
: >"$results"
for case in $CASES; do
  case $case in
  100k | 1m)
    start_sandbox
    flags=(--concurrency 16)
    ;;
  real)
    start_sandbox --latency 35ms --rate-limit 500
    flags=(--rate 400)
    ;;
  *) echo "unknown case $case (100k, 1m, real)" >&2; exit 2 ;;
  esac
  for round in $(seq "$RUNS"); do
    order=$builds
    [ $((round % 2)) -eq 0 ] && [ -n "$BASE" ] && order="new base"
    for build in $order; do one "$build" "$case" "$round" "${flags[@]}"; done
  done
  stop_sandbox
done

echo
echo "medians over $RUNS rounds${BASE:+ (base: $BASE; new/base: the median of the ratios of each round)}:"
printf "%-5s %-5s %8s %8s %8s %11s %13s %9s %9s\n" case build rows wall_s cpu_s maxrss_MiB ledger_B/row "wall n/b" "rss n/b"
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    k = v["case"] " " v["build"]; keys[k] = 1; rows[k] = v["rows"]; rounds[v["round"]] = 1
    wall[k] = wall[k] " " v["wall_s"]; cpu[k] = cpu[k] " " v["cpu_s"]; rss[k] = rss[k] " " v["maxrss_kb"]; led[k] = led[k] " " v["ledger_b_row"]
    W[v["case"] " " v["round"] " " v["build"]] = v["wall_s"]; R[v["case"] " " v["round"] " " v["build"]] = v["maxrss_kb"]
  }
  END {
    for (k in keys) {
      split(k, cb, " "); wr = ""; rr = ""
      if (cb[2] == "new" && ((cb[1] " base") in keys))
        for (r in rounds) { wr = wr " " W[cb[1] " " r " new"] / W[cb[1] " " r " base"]; rr = rr " " R[cb[1] " " r " new"] / R[cb[1] " " r " base"] }
      printf "%-5s %-5s %8d %8.2f %8.2f %11.1f %13d %9s %9s\n", cb[1], cb[2], rows[k], median(wall[k]), median(cpu[k]), median(rss[k]) / 1024, median(led[k]),
        (wr == "" ? "" : sprintf("%.3f", median(wr))), (rr == "" ? "" : sprintf("%.3f", median(rr)))
    }
  }' "$results" | sort
