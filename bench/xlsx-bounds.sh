#!/usr/bin/env bash
# The XLSX reader's bounds, measured: for each bound the importer puts on a
# workbook (a part inflating more than 100x, the 1 GiB unzip limit, 32 MiB of
# parts held in memory, 2,000,000 shared strings, 1 MiB cells, 8 MiB rows,
# importer.MaxColumns columns), `reconcile validate` of the worst workbook it
# still accepts, just under the bound, and of one just over it, under
# /usr/bin/time -v: accepted or refused (and whether that is what the case
# expects), wall seconds and peak RSS (maximum resident set size).
#
#   bench/xlsx-bounds.sh [RUNS]     (default 3 runs of each case; medians)
#
# BIG_RUNS (default 1) is the runs of sheet-under, the 1 GiB sheet, which
# takes about a minute a run; CASES (default all, see
# `go run ./bench/xlsxworst -list`) picks cases. The workbooks
# (bench/xlsxworst, written once, about 40 MB on disk) and raw figures go
# to bench/out/xlsx-bounds/; the command's spills go to a TMPDIR of its own
# there, which must be empty after each run. Exits 1 if a case is not
# decided as it expects.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-3}
big_runs=${BIG_RUNS:-1}
out=bench/out/xlsx-bounds
mkdir -p "$out/tmp"

go build -o "$out/reconcile" ./cmd/reconcile
go run ./bench/xlsxworst -dir "$out" ${CASES:+-case "$CASES"}
cat >"$out/configs.json" <<'JSON'
{"fetched_at":"2026-01-01T00:00:00Z","base_url":"https://api.reten.ai","configs":[
 {"code":"SALE_COMPLETED","label":"Venta completada"},{"code":"NOT_INTERESTED","label":"No interesado"},
 {"code":"RESCHEDULE","label":"Reprogramar visita","requiresFutureScheduledAt":true},{"code":"NO_CONTACT","label":"Sin contacto"}]}
JSON

results="$out/results.txt"
messages="$out/messages.txt"
: >"$results"
: >"$messages"
go run ./bench/xlsxworst -list >"$out/cases.txt"
mismatch=0
while read -r name expect what; do
  if [ -n "${CASES:-}" ] && ! [[ ",$CASES," == *",$name,"* ]]; then continue; fi
  n=$runs
  [ "$name" = sheet-under ] && n=$big_runs
  file="$out/$name.xlsx"
  unzipped=$(unzip -l "$file" | awk 'END {printf "%.0f", $1 / 1048576}')
  for run in $(seq "$n"); do
    rm -rf "$out/report" "$out/tmp"/*
    timing=$(mktemp)
    t0=$(date +%s.%N)
    rc=0
    TMPDIR="$PWD/$out/tmp" /usr/bin/time -v "$out/reconcile" validate --configs "$out/configs.json" \
      --report-dir "$out/report" "$file" >"$out/stdout.txt" 2>"$timing" || rc=$?
    t1=$(date +%s.%N)
    # 0 and 1 are rows read and checked (1: some invalid); 2 is the file refused.
    case $rc in
      0 | 1) verdict=accept ;;
      2) verdict=refuse ;;
      *) echo "$name: exit $rc" >&2; tail -5 "$timing" >&2; exit 1 ;;
    esac
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$timing")
    left=$(du -sk "$out/tmp" | awk '{print $1 - 4}')
    if [ "$run" = 1 ]; then
      if [ "$verdict" = refuse ]; then
        printf '%s: %s\n' "$name" "$(grep -m1 '^reconcile validate:' "$timing" | sed "s|$PWD/||")" >>"$messages"
      else
        printf '%s: %s\n' "$name" "$(grep -m1 ' rows in ' "$out/stdout.txt")" >>"$messages"
      fi
    fi
    rm -f "$timing"
    [ "$verdict" = "$expect" ] || { echo "$name: ${verdict}ed, expected to $expect" >&2; mismatch=1; }
    [ "$left" -le 0 ] || { echo "$name: $left KiB left in TMPDIR" >&2; mismatch=1; }
    echo "case=$name expect=$expect verdict=$verdict run=$run unzipped_mib=$unzipped disk_kb=$(($(stat -c %s "$file") / 1024)) seconds=$(awk "BEGIN {printf \"%.2f\", $t1 - $t0}") maxrss_kb=$rss" | tee -a "$results"
  done
done <"$out/cases.txt"
rm -rf "$out/report"

echo
echo "medians over $runs runs ($big_runs of sheet-under); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-14s %-7s %-7s %12s %9s %9s %12s %5s\n" case expect got unzipped_MiB disk_MiB seconds maxrss_MiB runs
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    k = v["case"]; if (!(k in order)) { order[k] = ++n; names[n] = k }
    secs[k] = secs[k] " " v["seconds"]; rss[k] = rss[k] " " v["maxrss_kb"]; count[k]++
    expect[k] = v["expect"]; got[k] = got[k] == "" || got[k] == v["verdict"] ? v["verdict"] : "mixed"
    unz[k] = v["unzipped_mib"]; disk[k] = v["disk_kb"] / 1024
  }
  END {
    for (i = 1; i <= n; i++) { k = names[i]
      printf "%-14s %-7s %-7s %12d %9.1f %9.2f %12.1f %5d\n", k, expect[k], got[k], unz[k], disk[k], median(secs[k]), median(rss[k]) / 1024, count[k]
    }
  }' "$results"
echo
cat "$messages"
exit "$mismatch"
