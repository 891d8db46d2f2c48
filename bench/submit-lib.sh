# Shared by bench/submit.sh and bench/submit-ab.sh; sourced, not run. The
# caller sets OUT (the output folder) and builds $OUT/bin/submitgen, and
# SANDBOX_BIN if the sandbox is not $OUT/bin/reconcile.

. bench/lib.sh # start_sandbox, stop_sandbox
trap stop_sandbox EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p"; } # field NAME < "a=1 b=2"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# run_reconcile BIN DIR FLAGS...: runs BIN on $OUT/rows.csv against $URL
# under /usr/bin/time; prints "wall=S cpu=S rss_mb=M" for the whole command.
run_reconcile() {
  local bin=$1 dir=$2
  shift 2
  rm -rf "$dir" "$dir.state"
  local t0 t1
  t0=$(now)
  RETEN_BASE_URL=$URL RETEN_API_KEY=rtn_sk_bench /usr/bin/time -f 'cpu=%U+%S rss_kb=%M' -o "$dir.time" \
    "$bin" run --report-dir "$dir" --state-dir "$dir.state" "$@" \
    "$OUT/rows.csv" >"$dir.stdout" 2>"$dir.stderr" || {
    echo "reconcile run failed (exit $?):" >&2
    tail -20 "$dir.stderr" >&2
    exit 1
  }
  t1=$(now)
  local cpu rss
  cpu=$(sed -n 's/.*cpu=\([0-9.]*\)+\([0-9.]*\).*/\1 \2/p' "$dir.time" | awk '{print $1 + $2}')
  rss=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' "$dir.time")
  echo "wall=$(calc "$t1 - $t0") cpu=$cpu rss_mb=$(calc "$rss / 1024")"
}
