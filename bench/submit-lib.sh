# Shared by bench/submit.sh and bench/submit-ab.sh; sourced, not run. The
# caller sets OUT (the output folder) and builds $OUT/bin/submitgen.

SANDBOX_PID=
stop_sandbox() {
  if [ -n "$SANDBOX_PID" ]; then
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
  fi
}
trap stop_sandbox EXIT

# start_sandbox BIN FLAGS...: starts a fresh sandbox of BIN (a reconcile
# build) on a free loopback port with $OUT/tenant.json; sets URL.
start_sandbox() {
  local bin=$1
  shift
  stop_sandbox
  : >"$OUT/sandbox.out"
  "$bin" sandbox --addr 127.0.0.1:0 --tenant "$OUT/tenant.json" --quiet "$@" \
    >"$OUT/sandbox.out" 2>"$OUT/sandbox.err" &
  SANDBOX_PID=$!
  URL=
  for _ in $(seq 100); do
    URL=$(sed -n 's/^sandbox listening on \(http:[^ ]*\).*/\1/p' "$OUT/sandbox.out")
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "the sandbox did not start:" >&2
  cat "$OUT/sandbox.err" >&2
  exit 1
}

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
