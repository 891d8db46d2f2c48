#!/usr/bin/env bash
# Compares the CSV reading of two builds of reconcile on the whole command,
# in alternation so that both see the same machine: medians of wall seconds,
# CPU seconds (user + system) and peak RSS, and of the ratio new/base within
# each round. BASE (a git revision, exported with git archive) is "base", the
# working tree "new". cf4ec63 has the hand-written parser this replaced
# (docs/speed-layers.md): CASES=validate bench/csvparser-ab.sh 11 cf4ec63.
#
#   bench/csvparser-ab.sh [RUNS] [BASE]   (default 5 rounds; N, RATE, LATENCY, CASES below)
#   CASES=validate bench/csvparser-ab.sh 11 cf4ec63   # only the first case
#
#  1. `reconcile validate` on 1,000,000 CSV rows (bench/out/1m.csv), the
#     1M-row case: reading and checking, report.csv written.
#  2. `reconcile run` on N rows (default 20,000) against a stand-alone
#     sandbox answering after LATENCY (35ms) and answering 429 above
#     RATE+100 requests a second, reconcile sending at --rate RATE (400).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
RUNS=${1:-5}
BASE=${2:-HEAD}
N=${N:-20000}
RATE=${RATE:-400}
LATENCY=${LATENCY:-35ms}
CASES=${CASES:-validate run}
OUT=bench/out
mkdir -p "$OUT/bin"
[ -f "$OUT/1m.csv" ] || go run ./bench/gen -rows 1000000 -csv "$OUT/1m.csv"
src=$(mktemp -d)
git archive "$BASE" | tar -x -C "$src"
(cd "$src" && go build -o "$OLDPWD/$OUT/bin/reconcile-base" ./cmd/reconcile)
go build -o "$OUT/bin/reconcile-new" ./cmd/reconcile
go build -o "$OUT/bin/submitgen" ./bench/submitgen
"$OUT/bin/submitgen" -n "$N" -dir "$OUT"
cat >"$OUT/configs.json" <<JSON
{"fetched_at": "2026-01-01T00:00:00Z", "base_url": "http://bench", "configs": [
 {"code": "SALE_COMPLETED", "label": "Venta completada"}, {"code": "NOT_INTERESTED", "label": "No interesado"},
 {"code": "RESCHEDULE", "label": "Reprogramar visita", "requiresFutureScheduledAt": true}, {"code": "NO_CONTACT", "label": "Sin contacto"}]}
JSON

# timed RESULTS PREFIX CMD...: runs CMD under /usr/bin/time -v, appends the
# wall seconds, CPU seconds and peak RSS to RESULTS.
timed() {
  local results=$1 prefix=$2 timing wall cpu rss
  shift 2
  timing=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$timing" || { echo "failed: $*" >&2; tail -5 "$timing" >&2; exit 1; }
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$timing")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$timing")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
  rm -f "$timing"
  echo "$prefix wall_s=$wall cpu_s=$cpu maxrss_kb=$rss" | tee -a "$results"
}

SANDBOX_BIN=$OUT/bin/reconcile-new
trap 'stop_sandbox; rm -rf "$src"' EXIT

results="$OUT/csvparser-ab.txt"
: >"$results"
for run in $(seq "$RUNS"); do
  case " $CASES " in *" validate "*) ;; *) break ;; esac
  order="base new"
  [ $((run % 2)) -eq 0 ] && order="new base"
  for build in $order; do
    rm -rf "$OUT/ab-validate"
    timed "$results" "case=validate-1m run=$run build=$build" \
      sh -c "'$OUT/bin/reconcile-$build' validate --configs '$OUT/configs.json' --report-dir '$OUT/ab-validate' '$OUT/1m.csv'; [ \$? -le 1 ]"
  done
done
for run in $(seq "$RUNS"); do
  case " $CASES " in *" run "*) ;; *) break ;; esac
  order="base new"
  [ $((run % 2)) -eq 0 ] && order="new base"
  for build in $order; do
    start_sandbox --latency "$LATENCY" --rate-limit $((RATE + 100))
    rm -rf "$OUT/ab-run" "$OUT/ab-run.state"
    timed "$results" "case=run-${N} run=$run build=$build" \
      env RETEN_BASE_URL="$URL" RETEN_API_KEY=rtn_sk_bench "$OUT/bin/reconcile-$build" run --rate "$RATE" \
      --report-dir "$OUT/ab-run" --state-dir "$OUT/ab-run.state" "$OUT/rows.csv"
  done
done
stop_sandbox

echo
echo "medians over $RUNS alternating rounds (new/base: ratio of the two builds within a round, then the median):"
printf "%-14s %-5s %8s %8s %12s %10s %10s\n" case build wall_s cpu_s maxrss_MiB "new/base" "cpu n/b"
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    k = v["case"] " " v["build"]; keys[k] = 1; cases[v["case"]] = 1; runs[v["run"]] = 1
    wall[k] = wall[k] " " v["wall_s"]; cpu[k] = cpu[k] " " v["cpu_s"]; rss[k] = rss[k] " " v["maxrss_kb"]
    w[v["case"] " " v["run"] " " v["build"]] = v["wall_s"]; c[v["case"] " " v["run"] " " v["build"]] = v["cpu_s"]
  }
  END {
    for (k in keys) {
      split(k, cb, " "); ratios = ""; cratios = ""
      if (cb[2] == "new") for (r in runs) { ratios = ratios " " w[cb[1] " " r " new"] / w[cb[1] " " r " base"]; cratios = cratios " " c[cb[1] " " r " new"] / c[cb[1] " " r " base"] }
      printf "%-14s %-5s %8.3f %8.2f %12.1f %10s %10s\n", cb[1], cb[2], median(wall[k]), median(cpu[k]), median(rss[k]) / 1024, (ratios == "" ? "" : sprintf("%.3f", median(ratios))), (cratios == "" ? "" : sprintf("%.3f", median(cratios)))
    }
  }' "$results" | sort
