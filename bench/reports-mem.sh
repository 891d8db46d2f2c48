#!/usr/bin/env bash
# Peak memory of writing every report (report.csv, report.xlsx, rejects,
# summary.json) for 20,000 and 200,000 rows. Memory must stay flat: the rows
# are streamed to disk, only counts and the top messages stay in memory. The
# rows finish shuffled within windows of 512 (reportsmem -window), as
# concurrent requests make them, so the reports must put them back in order.
#
#   bench/reports-mem.sh                   # 20,000 and 200,000 rows
#   bench/reports-mem.sh 20000 1000000     # any row counts; output in bench/out/
#   BASE=main ROUNDS=3 bench/reports-mem.sh 100000 1000000
#                                          # against another revision, alternating
#   BASE=. BASE_TAGS=streamwriter ROUNDS=3 bench/reports-mem.sh 1000000
#                                          # the working tree built with a tag as base
#
# With BASE, each round runs each count with the base build and the working
# tree's (the order swapping every round) and the medians of seconds, CPU
# seconds and peak RSS per build are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
out=bench/out/reports-mem
rm -rf "$out" && mkdir -p "$out"
go build -o "$out/reportsmem-head" ./bench/reportsmem
builds=head
if [ "${BASE:-}" = . ]; then
  go build -tags "${BASE_TAGS:-}" -o "$out/reportsmem-base" ./bench/reportsmem
  builds="base head"
elif [ -n "${BASE:-}" ]; then
  src=$(mktemp -d)
  git archive "$BASE" | tar -x -C "$src"
  (cd "$src" && go build -tags "${BASE_TAGS:-}" -o "$OLDPWD/$out/reportsmem-base" ./bench/reportsmem)
  rm -rf "$src"
  builds="base head"
fi
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(20000 200000)
results="$out/results.txt"
: >"$results"
for round in $(seq "${ROUNDS:-1}"); do
  order=$builds
  [ $((round % 2)) -eq 0 ] && [ "$builds" != head ] && order="head base"
  for rows in "${counts[@]}"; do
    for build in $order; do
      rm -rf "$out/r$rows"
      /usr/bin/time -v "$out/reportsmem-$build" -rows "$rows" -dir "$out/r$rows" 2>"$out/time.txt" | sed "s/^/  $build: /"
      rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out/time.txt")
      cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$out/time.txt")
      wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$out/time.txt")
      size=$(du -sh "$out/r$rows" | cut -f1)
      echo "round=$round build=$build rows=$rows seconds=$wall cpu_s=$cpu maxrss_kb=$rss reports=$size" | tee -a "$results"
    done
  done
done

echo
echo "medians over ${ROUNDS:-1} rounds:"
printf "%-9s %-5s %9s %8s %11s\n" rows build seconds cpu_s maxrss_MiB
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    k = v["rows"] " " v["build"]; keys[k] = 1
    secs[k] = secs[k] " " v["seconds"]; cpu[k] = cpu[k] " " v["cpu_s"]; rss[k] = rss[k] " " v["maxrss_kb"] }
  END { for (k in keys) { split(k, p, " "); printf "%-9s %-5s %9.2f %8.2f %11.1f\n", p[1], p[2], median(secs[k]), median(cpu[k]), median(rss[k]) / 1024 } }' "$results" | sort -n
