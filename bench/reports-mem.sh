#!/usr/bin/env bash
# Peak memory of writing every report (report.csv, report.xlsx, rejects,
# summary.json) for 20,000 and 200,000 rows. Memory must stay flat: the rows
# are streamed to disk, only counts and the top messages stay in memory. The
# rows finish shuffled within windows of 512 (reportsmem -window), as
# concurrent requests make them, so the reports must put them back in order.
#
#   bench/reports-mem.sh                   # 20,000 and 200,000 rows
#   bench/reports-mem.sh 20000 1000000     # any row counts; output in bench/out/
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out/reports-mem
rm -rf "$out" && mkdir -p "$out"
go build -o "$out/reportsmem" ./bench/reportsmem
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(20000 200000)
for rows in "${counts[@]}"; do
  /usr/bin/time -v "$out/reportsmem" -rows "$rows" -dir "$out/r$rows" 2>"$out/time-$rows.txt" | sed "s/^/  /"
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time-$rows.txt")
  size=$(du -sh "$out/r$rows" | cut -f1)
  echo "rows=$rows  max RSS ${rss} KiB  reports ${size}"
done
