#!/usr/bin/env bash
# Duplicate detection's cost: validating 1,000,000 CSV rows that are all
# distinct, that are one export of 500,000 rows pasted twice, and where one
# row in five repeats a random earlier row, beside the bare encoding/csv loop
# on the same file, with the peak RSS from /usr/bin/time -v. Past
# validate.SpillKeys activities of a kind the validator keeps them in
# temporary files, so repeats are looked up on disk.
#
#   bench/duplicates.sh [RUNS]      (default 3 runs of each; medians reported)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-3}
out=bench/out
mkdir -p "$out"

go build -o "$out/readbench" ./bench/readbench
[ -f "$out/1m.csv" ] || go run ./bench/gen -rows 1000000 -csv "$out/1m.csv"
if [ ! -f "$out/1m-pasted.csv" ]; then
  { head -n 500001 "$out/1m.csv"; head -n 500001 "$out/1m.csv" | tail -n +2; } > "$out/1m-pasted.csv.tmp"
  mv "$out/1m-pasted.csv.tmp" "$out/1m-pasted.csv"
fi
if [ ! -f "$out/1m-repeats.csv" ]; then
  awk 'BEGIN { srand(1) } NR == 1 { print; next }
       { n++; line[n] = $0; if (n > 1 && rand() < 0.2) print line[int(rand() * (n - 1)) + 1]; else print }' \
    "$out/1m.csv" > "$out/1m-repeats.csv.tmp"
  mv "$out/1m-repeats.csv.tmp" "$out/1m-repeats.csv"
fi

results="$out/duplicates.txt"
: > "$results"
for run in $(seq "$runs"); do
  for file in 1m.csv 1m-pasted.csv 1m-repeats.csv; do
    for mode in bare ours; do
      measure "$results" "run=$run" "$out/readbench" -mode "$mode" "$out/$file"
    done
  done
done

echo
echo "medians over $runs runs (ratio = seconds / bare seconds, each from the same run, then the median):"
printf "%-15s %-5s %10s %9s %12s %8s %8s\n" file mode seconds valid maxrss_MiB "x bare" cpu_s
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    key = v["file"] " " v["mode"]; valid[key] = v["valid"]
    secs[key] = secs[key] " " v["seconds"]; rss[key] = rss[key] " " v["maxrss_kb"]; cpus[key] = cpus[key] " " v["cpu_s"]
    run[v["run"] " " key] = v["seconds"]; files[v["file"]] = 1; modes[v["mode"]] = 1; runs[v["run"]] = 1
  }
  END {
    for (f in files) for (m in modes) {
      key = f " " m; ratios = ""
      for (r in runs) ratios = ratios " " run[r " " key] / run[r " " f " bare"]
      printf "%-15s %-5s %10.3f %9s %12.1f %8.2f %8.2f\n", f, m, median(secs[key]), valid[key], median(rss[key]) / 1024, median(ratios), median(cpus[key])
    }
  }' "$results" | sort
