#!/usr/bin/env bash
# bench/submit.sh: how fast `reconcile run` sends, against what the sandbox can take.
#
# Needs only Go. Everything goes to bench/out/ (ignored by git). Two cases:
#
#  1. Throughput. A stand-alone sandbox (no faults, no latency, no rate limit)
#     with N activities; `reconcile run` sends N rows at concurrency C; then,
#     on a fresh sandbox of the same tenant, the load generator vegeta sends
#     the same N bodies at the same concurrency (who goes first alternates). Both rates are the sandbox's own
#     count of POSTs over the time from the first to the last one (the sending
#     alone); reconcile's end-to-end rate (N over the whole command, reading,
#     validation and reports included) is shown too. Goal: reconcile >= 90%.
#  2. Pacing. The sandbox answers after LATENCY; `reconcile run --rate RATE`
#     sends N rows. Goal: the time from first to last request within 5% of
#     N/RATE (and the whole command's time is shown too).
#
# Each case runs RUNS times; the medians are printed last.
#
#   bench/submit.sh                       # N=20000 C=8 RUNS=3 RATE=500 LATENCY=20ms
#   N=5000 RUNS=1 bench/submit.sh         # a quicker look
#   CASES=1 RUNS=5 bench/submit.sh        # only the throughput case
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-20000}
C=${C:-8}
RUNS=${RUNS:-3}
RATE=${RATE:-500}
LATENCY=${LATENCY:-20ms}
# Enough workers to keep RATE going through LATENCY, with room to spare.
C2=${C2:-32}
CASES=${CASES:-1 2}
VEGETA=github.com/tsenart/vegeta/v12@v12.13.0

OUT=bench/out
mkdir -p "$OUT/bin"
echo "building reconcile and the load generator ($VEGETA)..."
go build -o "$OUT/bin/reconcile" ./cmd/reconcile
go build -o "$OUT/bin/submitgen" ./bench/submitgen
[ -x "$OUT/bin/vegeta" ] || GOBIN="$PWD/$OUT/bin" go install "$VEGETA"
"$OUT/bin/submitgen" -n "$N" -dir "$OUT"

. bench/submit-lib.sh
BIN=$OUT/bin/reconcile

case1() {
echo
echo "== case 1: throughput, N=$N rows, concurrency $C, no latency, no rate limit"
: >"$OUT/case1.txt"
for i in $(seq "$RUNS"); do
  # Each client gets a fresh sandbox; who goes first alternates, so neither
  # always meets a warmer or a busier machine.
  order="reconcile vegeta"
  [ $((i % 2)) -eq 0 ] && order="vegeta reconcile"
  for who in $order; do
    start_sandbox
    if [ "$who" = reconcile ]; then
      wall=$(run_reconcile "$BIN" "$OUT/case1-run$i" --concurrency "$C" | field wall)
      rec=$("$OUT/bin/submitgen" -span "$URL")
    else
      "$OUT/bin/submitgen" -n "$N" -dir "$OUT" -url "$URL"
      "$OUT/bin/vegeta" attack -format=json -lazy -targets "$OUT/targets.jsonl" \
        -rate=0 -workers="$C" -max-workers="$C" >"$OUT/vegeta.bin"
      veg=$("$OUT/bin/submitgen" -span "$URL")
    fi
  done
  rec_rate=$(echo "$rec" | field rate)
  veg_rate=$(echo "$veg" | field rate)
  e2e=$(calc "$N / $wall")
  ratio=$(calc "100 * $rec_rate / $veg_rate")
  printf 'run %d: reconcile %s | end to end %.0f rows/s in %.2fs | vegeta %s | reconcile/vegeta %.1f%%\n' \
    "$i" "$rec" "$e2e" "$wall" "$veg" "$ratio"
  echo "$rec_rate $veg_rate $ratio $e2e" >>"$OUT/case1.txt"
done
stop_sandbox
printf 'case 1: reconcile %.0f req/s, vegeta %.0f req/s, reconcile/vegeta %.1f%% (goal >= 90%%); reconcile end to end %.0f rows/s\n' \
  "$(cut -d' ' -f1 "$OUT/case1.txt" | median)" "$(cut -d' ' -f2 "$OUT/case1.txt" | median)" \
  "$(cut -d' ' -f3 "$OUT/case1.txt" | median)" "$(cut -d' ' -f4 "$OUT/case1.txt" | median)" >"$OUT/case1.median"
}

case2() {
echo
echo "== case 2: pacing, N=$N rows, --rate $RATE, latency $LATENCY, concurrency $C2"
target=$(calc "$N / $RATE")
: >"$OUT/case2.txt"
for i in $(seq "$RUNS"); do
  start_sandbox --latency "$LATENCY"
  wall=$(run_reconcile "$BIN" "$OUT/case2-run$i" --concurrency "$C2" --rate "$RATE" | field wall)
  rec=$("$OUT/bin/submitgen" -span "$URL")
  span=$(echo "$rec" | field span_s)
  off=$(calc "100 * ($span - $target) / $target")
  offwall=$(calc "100 * ($wall - $target) / $target")
  printf 'run %d: %s | sending %.2fs vs N/rate %.2fs: %+.1f%% | whole command %.2fs: %+.1f%%\n' \
    "$i" "$rec" "$span" "$target" "$off" "$wall" "$offwall"
  echo "$span $off $wall $offwall" >>"$OUT/case2.txt"
done
stop_sandbox
printf 'case 2: sending %.2fs vs %.2fs: %+.1f%% (goal within 5%%); whole command %.2fs: %+.1f%%\n' \
  "$(cut -d' ' -f1 "$OUT/case2.txt" | median)" "$target" "$(cut -d' ' -f2 "$OUT/case2.txt" | median)" \
  "$(cut -d' ' -f3 "$OUT/case2.txt" | median)" "$(cut -d' ' -f4 "$OUT/case2.txt" | median)" >"$OUT/case2.median"
}

rm -f "$OUT/case1.median" "$OUT/case2.median"
for c in $CASES; do "case$c"; done
echo
echo "== medians of $RUNS runs"
cat "$OUT"/case*.median
