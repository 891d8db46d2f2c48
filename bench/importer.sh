#!/usr/bin/env bash
# Importer benchmark: reading and validating 100,000 and 1,000,000 CSV rows
# and 200,000 XLSX rows, beside the bare libraries on the same files, with
# the peak RSS (maximum resident set size) of each run from /usr/bin/time -v.
#
#   bench/importer.sh [RUNS]      (default 3 runs of each; medians reported)
#
# Modes (bench/readbench): bare = encoding/csv Read loop or excelize
# Rows()/Columns() loop doing nothing else; read = importer with every
# field's Value; check = importer + validate.Validator.Check per row on one
# goroutine; ours = importer + Validator.CheckAll, as `reconcile validate`
# runs it. The importer reads ahead on a goroutine of its own and CheckAll
# checks rows on another, so the CPU seconds (user + system, from
# /usr/bin/time) are shown beside the wall-clock ones: bare uses one core,
# ours both. Files and raw output go to bench/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-3}
out=bench/out
mkdir -p "$out"

go build -o "$out/readbench" ./bench/readbench
[ -f "$out/100k.csv" ] || go run ./bench/gen -rows 100000 -csv "$out/100k.csv"
[ -f "$out/1m.csv" ] || go run ./bench/gen -rows 1000000 -csv "$out/1m.csv"
[ -f "$out/200k.xlsx" ] || go run ./bench/gen -rows 200000 -xlsx "$out/200k.xlsx"

results="$out/results.txt"
: > "$results"
for run in $(seq "$runs"); do
  for file in 100k.csv 1m.csv 200k.xlsx; do
    for mode in bare read check ours; do
      measure "$results" "run=$run" "$out/readbench" -mode "$mode" "$out/$file"
    done
  done
done

echo
echo "medians over $runs runs (ratio = seconds / bare seconds, each ratio from the same run, then the median):"
printf "%-10s %-5s %10s %12s %12s %8s %8s %8s\n" file mode seconds rows/s maxrss_MiB "x bare" cpu_s "cpu x"
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    key = v["file"] " " v["mode"]
    secs[key] = secs[key] " " v["seconds"]; rate[key] = rate[key] " " v["rows_per_s"]; rss[key] = rss[key] " " v["maxrss_kb"]
    cpus[key] = cpus[key] " " v["cpu_s"]; cpu[v["run"] " " key] = v["cpu_s"]
    run[v["run"] " " key] = v["seconds"]; files[v["file"]] = 1; modes[v["mode"]] = 1; runs[v["run"]] = 1
  }
  END {
    for (f in files) for (m in modes) {
      key = f " " m; ratios = ""; cratios = ""
      for (r in runs) ratios = ratios " " run[r " " key] / run[r " " f " bare"]
      for (r in runs) cratios = cratios " " cpu[r " " key] / cpu[r " " f " bare"]
      printf "%-10s %-5s %10.3f %12.0f %12.1f %8.2f %8.2f %8.2f\n", f, m, median(secs[key]), median(rate[key]), median(rss[key]) / 1024, median(ratios), median(cpus[key]), median(cratios)
    }
  }' "$results" | sort
