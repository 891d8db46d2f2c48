#!/usr/bin/env bash
# Compares the reconcile command of an earlier commit with the working tree's,
# end to end, running the two builds in alternation so that both see the same
# machine (on a shared machine a load that comes and goes moves the wall times
# of runs minutes apart more than most changes do):
#
#  validate  `reconcile validate` of a CSV of ROWS rows (default 1,000,000)
#            against a configs cache: reading, checking and report.csv, the
#            path where a per-row cost in the command layer (progress, the
#            engine's hand-over to the reports) would show most;
#  run       `reconcile run` of N rows (default 5,000) against a stand-alone
#            sandbox answering after LATENCY (default 20ms), at concurrency C
#            (default 8): the realistic run, bound by the API.
#
#   bench/cli-ab.sh BASE [RUNS]    (default 5 rounds)
#   BASE_TAGS=mapset bench/cli-ab.sh . 5   # one tree, two builds: a layer against its standard part
#
# BASE "." is the working tree itself; BASE_TAGS and HEAD_TAGS are build tags
# for the two builds (go build -tags). CASES (default "validate run") picks
# the cases; SANDBOX_FLAGS are added to the sandbox (e.g. "--rate-limit 600")
# and RATE, when set, is the run's --rate.
#
# Each round runs each case with the base build, then with the working tree's
# (the order swaps every round), under /usr/bin/time; the medians of wall
# seconds, CPU seconds (user + system) and peak RSS per build are printed, and
# the median of the per-round ratios head/base. BASE is any git revision.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
base=${1:?usage: bench/cli-ab.sh BASE [RUNS]}
runs=${2:-5}
ROWS=${ROWS:-1000000}
N=${N:-5000}
C=${C:-8}
LATENCY=${LATENCY:-20ms}
out=bench/out/cli-ab
mkdir -p "$out"

src=$(mktemp -d)
SANDBOX_PID=
cleanup() {
  [ -n "$SANDBOX_PID" ] && kill "$SANDBOX_PID" 2>/dev/null && wait "$SANDBOX_PID" 2>/dev/null
  rm -rf "$src"
}
trap cleanup EXIT
CASES=${CASES:-validate run}
if [ "$base" = . ]; then
  go build -tags "${BASE_TAGS:-}" -o "$out/reconcile-base" ./cmd/reconcile
else
  git archive "$base" | tar -x -C "$src"
  (cd "$src" && go build -tags "${BASE_TAGS:-}" -o "$OLDPWD/$out/reconcile-base" ./cmd/reconcile)
fi
go build -tags "${HEAD_TAGS:-}" -o "$out/reconcile-head" ./cmd/reconcile
rate=()
[ -n "${RATE:-}" ] && rate=(--rate "$RATE")

[ -f "$out/validate.csv" ] || go run ./bench/gen -rows "$ROWS" -csv "$out/validate.csv"
cat >"$out/configs.json" <<'JSON'
{"fetched_at":"2026-01-01T00:00:00Z","base_url":"https://api.reten.ai","configs":[
 {"code":"SALE_COMPLETED","label":"Venta completada"},{"code":"NOT_INTERESTED","label":"No interesado"},
 {"code":"RESCHEDULE","label":"Reprogramar visita","requiresFutureScheduledAt":true},{"code":"NO_CONTACT","label":"Sin contacto"}]}
JSON
go run ./bench/submitgen -n "$N" -dir "$out"

# A sandbox of the bench tenant, forgotten (reset) before every run.
"$out/reconcile-head" sandbox --addr 127.0.0.1:0 --tenant "$out/tenant.json" --quiet --latency "$LATENCY" ${SANDBOX_FLAGS:-} \
  >"$out/sandbox.out" 2>"$out/sandbox.err" &
SANDBOX_PID=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^sandbox listening on \(http:[^ ]*\).*/\1/p' "$out/sandbox.out")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$out/sandbox.err" >&2; exit 1; }

# timed RESULTS PREFIX COMMAND...: runs COMMAND under /usr/bin/time -v and
# appends PREFIX with its wall and CPU seconds and peak RSS. Exit 1 (rows that
# need a person) is the generated files working.
timed() {
  local results=$1 prefix=$2 timing t0 t1 rc
  shift 2
  timing=$(mktemp)
  t0=$(date +%s.%N)
  rc=0
  /usr/bin/time -v "$@" >/dev/null 2>"$timing" || rc=$?
  t1=$(date +%s.%N)
  if [ "$rc" -gt 1 ]; then echo "exit $rc: $*" >&2; tail -5 "$timing" >&2; exit 1; fi
  local rss cpu
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$timing")
  rm -f "$timing"
  echo "$prefix seconds=$(awk "BEGIN {printf \"%.3f\", $t1 - $t0}") cpu_s=$cpu maxrss_kb=$rss" | tee -a "$results"
}

results="$out/results.txt"
: >"$results"
for run in $(seq "$runs"); do
  order="base head"
  [ $((run % 2)) -eq 0 ] && order="head base"
  for build in $order; do
    bin="$out/reconcile-$build"
    if [[ " $CASES " == *" validate "* ]]; then
      rm -rf "$out/r-validate"
      timed "$results" "run=$run build=$build case=validate" \
        "$bin" validate --configs "$out/configs.json" --report-dir "$out/r-validate" "$out/validate.csv"
    fi
    if [[ " $CASES " == *" run "* ]]; then
      go run ./bench/submitgen -reset "$URL"
      rm -rf "$out/r-run" "$out/state"
      RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench timed "$results" "run=$run build=$build case=run" \
        "$bin" run --concurrency "$C" "${rate[@]}" --state-dir "$out/state" --report-dir "$out/r-run" "$out/rows.csv"
    fi
  done
done

echo
echo "medians over $runs rounds (head/base: median of the rounds' ratios of wall seconds):"
printf "%-9s %-5s %9s %8s %11s %10s\n" case build seconds cpu_s maxrss_MiB head/base
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    k = v["case"] " " v["build"]
    secs[k] = secs[k] " " v["seconds"]; cpu[k] = cpu[k] " " v["cpu_s"]; rss[k] = rss[k] " " v["maxrss_kb"]
    at[v["run"] " " k] = v["seconds"]; keys[k] = 1; cases[v["case"]] = 1; runs[v["run"]] = 1
  }
  END {
    for (c in cases) {
      ratios = ""
      for (r in runs) ratios = ratios " " at[r " " c " head"] / at[r " " c " base"]
      for (b = 0; b < 2; b++) {
        build = b ? "head" : "base"; k = c " " build
        printf "%-9s %-5s %9.3f %8.2f %11.1f %10s\n", c, build, median(secs[k]), median(cpu[k]), median(rss[k]) / 1024, b ? sprintf("%.3f", median(ratios)) : ""
      }
    }
  }' "$results" | sort
