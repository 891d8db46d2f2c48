# Shared by the importer benchmark scripts; sourced, not run.

# measure RESULTS PREFIX PROGRAM ARGS...: runs PROGRAM (a readbench build,
# which prints one line of key=value figures) under /usr/bin/time -v and
# appends to RESULTS that line, prefixed by PREFIX, with the peak RSS
# (maxrss_kb) and the CPU seconds, user + system (cpu_s); it echoes it too.
measure() {
  local results=$1 prefix=$2 timing line rss cpu
  shift 2
  timing=$(mktemp)
  line=$(/usr/bin/time -v "$@" 2> "$timing")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
  cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$timing")
  rm -f "$timing"
  echo "$prefix $line maxrss_kb=$rss cpu_s=$cpu" | tee -a "$results"
}

# MEDIAN_AWK defines median(list) for awk: the median of the numbers in a
# space-separated list. Use it as awk "$MEDIAN_AWK"' ...program...'.
MEDIAN_AWK='
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
'

# start_sandbox FLAGS...: starts a fresh stand-alone sandbox of
# $OUT/tenant.json on a free loopback port with $SANDBOX_BIN (default
# $OUT/bin/reconcile) and sets URL; stop_sandbox stops it (call it on EXIT).
SANDBOX_PID=
stop_sandbox() {
  if [ -n "$SANDBOX_PID" ]; then
    kill "$SANDBOX_PID" 2>/dev/null || true
    wait "$SANDBOX_PID" 2>/dev/null || true
    SANDBOX_PID=
  fi
}
start_sandbox() {
  stop_sandbox
  : >"$OUT/sandbox.out"
  "${SANDBOX_BIN:-$OUT/bin/reconcile}" sandbox --addr 127.0.0.1:0 --tenant "$OUT/tenant.json" --quiet "$@" \
    >"$OUT/sandbox.out" 2>"$OUT/sandbox.err" &
  SANDBOX_PID=$!
  URL=
  for _ in $(seq 600); do # a tenant of a million activities takes seconds to load
    URL=$(sed -n 's/^sandbox listening on \(http:[^ ]*\).*/\1/p' "$OUT/sandbox.out")
    [ -n "$URL" ] && return 0
    sleep 0.1
  done
  echo "the sandbox did not start:" >&2
  cat "$OUT/sandbox.err" >&2
  exit 1
}
