#!/usr/bin/env bash
# Compares the importer of an earlier commit with the working tree's on one
# CSV file, running the two builds in alternation so that both see the same
# machine: on a shared machine a load that comes and goes moves the wall
# times of runs minutes apart more than most changes do.
#
#   bench/importer-ab.sh BASE [RUNS] [FILE]    (default 5 rounds, bench/out/1m.csv)
#
# Each round runs bare, read and ours (bench/readbench) with the base build,
# then with the working tree's, under /usr/bin/time; the medians of the
# ratios to the same build's bare run of that round, of the CPU seconds
# (user + system) and of the peak RSS are printed. BASE is any git revision;
# its sources are exported with git archive into a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
base=${1:?usage: bench/importer-ab.sh BASE [RUNS] [FILE]}
runs=${2:-5}
file=${3:-bench/out/1m.csv}
out=bench/out
mkdir -p "$out"
[ -f "$file" ] || go run ./bench/gen -rows 1000000 -csv "$file"

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git archive "$base" | tar -x -C "$src"
(cd "$src" && go build -o "$OLDPWD/$out/readbench-base" ./bench/readbench)
go build -o "$out/readbench-head" ./bench/readbench

results="$out/ab.txt"
: > "$results"
for run in $(seq "$runs"); do
  for build in base head; do
    for mode in bare read ours; do
      measure "$results" "run=$run build=$build" "$out/readbench-$build" -mode "$mode" "$file"
    done
  done
done

echo
echo "medians over $runs rounds (x bare: ratio to the same build's bare run of the round):"
printf "%-5s %-5s %8s %8s %12s\n" build mode "x bare" cpu_s maxrss_MiB
awk "$MEDIAN_AWK"'
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    k = v["build"] " " v["mode"]
    secs[v["run"] " " k] = v["seconds"]; cpu[k] = cpu[k] " " v["cpu_s"]; rss[k] = rss[k] " " v["maxrss_kb"]
    keys[k] = 1; runs[v["run"]] = 1
  }
  END {
    for (k in keys) {
      split(k, bm, " "); ratios = ""
      for (r in runs) ratios = ratios " " secs[r " " k] / secs[r " " bm[1] " bare"]
      printf "%-5s %-5s %8.2f %8.2f %12.1f\n", bm[1], bm[2], median(ratios), median(cpu[k]), median(rss[k]) / 1024
    }
  }' "$results" | sort
