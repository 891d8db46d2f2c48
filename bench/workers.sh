#!/usr/bin/env bash
# bench/workers.sh: wall time of 1, 2 and 4 `reconcile run` workers sharing one
# PostgreSQL ledger on one file, against a stand-alone sandbox.
#
# Two cases, each over N rows (a fresh sandbox and a fresh ledger schema for
# every run; the worker counts alternate their order from round to round):
#
#  1. Not bound by a rate: the sandbox answers after LATENCY, each worker keeps
#     C requests in flight, no --tenant-rate. Goal: 2 workers >= 1.8x one.
#  2. Bound by the tenant rate: --tenant-rate RATE shared by the workers, each
#     with C2 in flight (enough for RATE alone). Goal: every worker count's
#     sending time (first to last POST, the sandbox's clock) within 3% of N/RATE.
#
# Needs Go and a PostgreSQL database: LEDGER (default $RECONCILE_TEST_POSTGRES,
# which .ci/postgres.sh prints). The medians of RUNS rounds are printed last.
#
#   LEDGER=postgres://... bench/workers.sh            # N=100000 C=16 C2=64 RATE=1000 LATENCY=30ms RUNS=3
#   N=20000 RUNS=1 bench/workers.sh                   # a quicker look
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-100000}
C=${C:-16}
C2=${C2:-64}
RATE=${RATE:-1000}
LATENCY=${LATENCY:-30ms}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-1 2 4}
CASES=${CASES:-1 2}
LEDGER=${LEDGER:-${RECONCILE_TEST_POSTGRES:-}}
if [ -z "$LEDGER" ]; then
  echo "workers.sh: set LEDGER=postgres://USER:PASSWORD@HOST/DB (as root, LEDGER=\$(bash .ci/postgres.sh) starts one)" >&2
  exit 2
fi

OUT=bench/out/workers
mkdir -p "$OUT/bin"
echo "building reconcile..."
go build -o "$OUT/bin/reconcile" ./cmd/reconcile
go build -o "$OUT/bin/submitgen" ./bench/submitgen
"$OUT/bin/submitgen" -n "$N" -dir "$OUT"

. bench/submit-lib.sh # start_sandbox, now, calc, field, median
BIN=$OUT/bin/reconcile

# fresh_ledger: a new schema in LEDGER's database; sets SCHEMA_URL.
SCHEMAS=()
fresh_ledger() {
  local schema
  schema=bench_$(date +%s%N)
  psql "$LEDGER" -qAt -c "CREATE SCHEMA $schema" >/dev/null
  SCHEMAS+=("$schema")
  case "$LEDGER" in
    *\?*) SCHEMA_URL="$LEDGER&search_path=$schema" ;;
    *) SCHEMA_URL="$LEDGER?search_path=$schema" ;;
  esac
  "$BIN" ledger migrate --ledger "$SCHEMA_URL" >/dev/null
}
drop_ledgers() {
  stop_sandbox
  for s in "${SCHEMAS[@]}"; do psql "$LEDGER" -qAt -c "DROP SCHEMA $s CASCADE" >/dev/null 2>&1 || true; done
}
trap drop_ledgers EXIT

# run_workers W DIR FLAGS...: W workers at once on rows.csv with one ledger;
# prints the wall time from the first start to the last exit.
run_workers() {
  local w=$1 dir=$2 t0 t1 pids=() i
  shift 2
  rm -rf "$dir"
  mkdir -p "$dir"
  fresh_ledger
  t0=$(now)
  for i in $(seq "$w"); do
    RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench "$BIN" run --ledger "$SCHEMA_URL" --state-dir "$dir/state" \
      --report-dir "$dir/worker$i" "$@" "$OUT/rows.csv" >"$dir/worker$i.out" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      echo "worker $((i + 1)) failed:" >&2
      tail -5 "$dir/worker$((i + 1)).out" >&2
      exit 1
    fi
  done
  t1=$(now)
  calc "$t1 - $t0"
}

# order R: the worker counts in round R's order (reversed every other round).
order() {
  if [ $(($1 % 2)) -eq 0 ]; then echo "$WORKERS" | tr ' ' '\n' | tac | tr '\n' ' '; else echo "$WORKERS"; fi
}

case1() {
  echo
  echo "== case 1: not rate-bound, N=$N rows, latency $LATENCY, concurrency $C per worker"
  : >"$OUT/case1.txt"
  for r in $(seq "$RUNS"); do
    for w in $(order "$r"); do
      start_sandbox --latency "$LATENCY"
      wall=$(run_workers "$w" "$OUT/case1-w$w" --concurrency "$C")
      span=$("$OUT/bin/submitgen" -span "$URL")
      posts=$(echo "$span" | field posts)
      printf 'round %d, %d worker(s): %.2fs (%s)\n' "$r" "$w" "$wall" "$span"
      [ "$posts" = "$N" ] || { echo "the sandbox saw $posts POSTs for $N rows" >&2; exit 1; }
      echo "$w $wall" >>"$OUT/case1.txt"
    done
  done
  stop_sandbox
  : >"$OUT/case1.median"
  one=$(awk '$1 == 1 {print $2}' "$OUT/case1.txt" | median)
  for w in $WORKERS; do
    m=$(awk -v w="$w" '$1 == w {print $2}' "$OUT/case1.txt" | median)
    printf 'case 1, %d worker(s): %.2fs, %.2fx one worker (runs: %s)\n' "$w" "$m" "$(calc "$one / $m")" \
      "$(awk -v w="$w" '$1 == w {printf "%s ", $2}' "$OUT/case1.txt")" >>"$OUT/case1.median"
  done
}

case2() {
  echo
  echo "== case 2: --tenant-rate $RATE, N=$N rows, latency $LATENCY, concurrency $C2 per worker"
  target=$(calc "$N / $RATE")
  : >"$OUT/case2.txt"
  for r in $(seq "$RUNS"); do
    for w in $(order "$r"); do
      start_sandbox --latency "$LATENCY"
      wall=$(run_workers "$w" "$OUT/case2-w$w" --concurrency "$C2" --tenant-rate "$RATE")
      span=$("$OUT/bin/submitgen" -span "$URL")
      s=$(echo "$span" | field span_s)
      printf 'round %d, %d worker(s): sending %.2fs vs N/rate %.2fs: %+.1f%% | whole %.2fs (%s)\n' \
        "$r" "$w" "$s" "$target" "$(calc "100 * ($s - $target) / $target")" "$wall" "$span"
      echo "$w $s $wall" >>"$OUT/case2.txt"
    done
  done
  stop_sandbox
  : >"$OUT/case2.median"
  for w in $WORKERS; do
    s=$(awk -v w="$w" '$1 == w {print $2}' "$OUT/case2.txt" | median)
    wall=$(awk -v w="$w" '$1 == w {print $3}' "$OUT/case2.txt" | median)
    printf 'case 2, %d worker(s): sending %.2fs vs %.2fs: %+.1f%% (goal within 3%%); whole %.2fs\n' \
      "$w" "$s" "$target" "$(calc "100 * ($s - $target) / $target")" "$wall" >>"$OUT/case2.median"
  done
}

rm -f "$OUT/case1.median" "$OUT/case2.median"
for c in $CASES; do "case$c"; done
echo
echo "== medians of $RUNS round(s)"
cat "$OUT"/case*.median
