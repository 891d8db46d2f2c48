#!/usr/bin/env bash
# bench/submit-ab.sh: `reconcile run` of an earlier commit against the
# working tree's, end to end, the two builds in alternation so that both meet
# the same machine (on a shared machine a load that comes and goes moves
# runs minutes apart more than most changes do).
#
#   bench/submit-ab.sh BASE [RUNS]     (default 5 rounds; CASES="1 2" picks)
#
# Both builds send the same N rows to a fresh stand-alone sandbox of the
# base build (so that only the client differs):
#
#  1. Unthrottled: no latency, no rate limit, --concurrency C.
#  2. Realistic: the sandbox answers after LATENCY and refuses above
#     LIMIT requests a second (429 with Retry-After); reconcile sends at
#     --rate RATE with --concurrency C2, as against the real API.
#
# Each round runs base then head, or head then base (alternating). For each
# case and build it prints the medians over the rounds of the sending rate
# the sandbox saw, the whole command's wall time, its CPU (user + system)
# and its peak RSS, and the medians of the per-round ratios head/base.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/submit-ab.sh BASE [RUNS]}
RUNS=${2:-${RUNS:-5}}
N=${N:-20000}
C=${C:-8}
C2=${C2:-32}
RATE=${RATE:-500}
LIMIT=${LIMIT:-600}
LATENCY=${LATENCY:-30ms}
CASES=${CASES:-1 2}
OUT=bench/out
mkdir -p "$OUT/bin"
. bench/submit-lib.sh
SANDBOX_BIN=$OUT/bin/reconcile-base

src=$(mktemp -d)
trap 'stop_sandbox; rm -rf "$src"' EXIT
git archive "$base" | tar -x -C "$src"
echo "building $base and the working tree..."
(cd "$src" && go build -o "$OLDPWD/$OUT/bin/reconcile-base" ./cmd/reconcile)
go build -o "$OUT/bin/reconcile-head" ./cmd/reconcile
go build -o "$OUT/bin/submitgen" ./bench/submitgen
"$OUT/bin/submitgen" -n "$N" -dir "$OUT"

results=$OUT/submit-ab.txt
: >"$results"
for c in $CASES; do
  case $c in
  1) sandbox_flags=() run_flags=(--concurrency "$C") ;;
  2) sandbox_flags=(--latency "$LATENCY" --rate-limit "$LIMIT") run_flags=(--concurrency "$C2" --rate "$RATE") ;;
  *) echo "no case $c" >&2; exit 2 ;;
  esac
  echo
  echo "== case $c: N=$N, sandbox ${sandbox_flags[*]:-plain}, reconcile ${run_flags[*]}"
  for i in $(seq "$RUNS"); do
    order="base head"
    [ $((i % 2)) -eq 0 ] && order="head base"
    for build in $order; do
      start_sandbox "${sandbox_flags[@]}"
      m=$(run_reconcile "$OUT/bin/reconcile-$build" "$OUT/ab-$build" "${run_flags[@]}")
      span=$("$OUT/bin/submitgen" -span "$URL")
      line="case=$c run=$i build=$build $m $span"
      echo "$line" | tee -a "$results"
    done
  done
done
stop_sandbox

echo
echo "medians over $RUNS rounds (ratio: the median of the rounds' head/base):"
printf "%-5s %-5s %10s %9s %7s %8s\n" case build "req/s" wall_s cpu_s rss_MB
for c in $CASES; do
  for build in base head; do
    sel() { grep "case=$c " "$results" | grep "build=$build " | field "$1" | median; }
    printf "%-5s %-5s %10.0f %9.2f %7.2f %8.1f\n" "$c" "$build" "$(sel rate)" "$(sel wall)" "$(sel cpu)" "$(sel rss_mb)"
  done
  for f in rate wall cpu rss_mb; do
    for i in $(seq "$RUNS"); do
      b=$(grep "case=$c run=$i build=base " "$results" | field "$f")
      h=$(grep "case=$c run=$i build=head " "$results" | field "$f")
      calc "$h / $b"
    done | median | xargs printf "case %s head/base %-6s %.3f\n" "$c" "$f"
  done
done
