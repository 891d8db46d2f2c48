#!/usr/bin/env bash
# The web console on large files, driven over HTTP as a browser drives it:
# upload, settings, mapping (a check of every row), preview pages, a
# corrected cell (a check of the whole file again). Medians of each step and
# the peak RSS, for 100,000 CSV rows and 100,000 XLSX rows.
#
#   bench/web.sh             # 5 runs of each
#   bench/web.sh 3 300000    # runs, rows
#   bench/web.sh 3 100000 main
#
# With a BASE revision, the console of BASE and the working tree's are run in
# alternation, one upload each per round (the order swapping every round),
# and each step's median is printed for both with the ratio head/base.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
runs=${1:-5}
rows=${2:-100000}
base=${3:-}
out=bench/out/web
mkdir -p "$out"
go build -o "$out/webpreview" ./bench/webpreview
if [ -z "$base" ]; then
  for kind in csv xlsx; do
    echo "== $rows rows, $kind, $runs runs"
    "$out/webpreview" -rows "$rows" -runs "$runs" -kind "$kind"
  done
  exit 0
fi

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git archive "$base" | tar -x -C "$src"
(cd "$src" && go build -o "$OLDPWD/$out/webpreview-base" ./bench/webpreview)
mv "$out/webpreview" "$out/webpreview-head"
for kind in csv xlsx; do
  file="$out/$rows.$kind"
  [ -f "$file" ] || go run ./bench/gen -rows "$rows" "-$kind" "$file"
  results="$out/ab-$kind.txt"
  : >"$results"
  echo "== $rows rows, $kind, $runs rounds of $base and the working tree"
  for round in $(seq "$runs"); do
    order="base head"
    [ $((round % 2)) -eq 0 ] && order="head base"
    for build in $order; do
      # The base build may not know -file: it then generates the same rows.
      flags=(-rows "$rows" -runs 1 -kind "$kind")
      "$out/webpreview-$build" -h 2>&1 | grep -q -- '-file' && flags+=(-file "$file")
      "$out/webpreview-$build" "${flags[@]}" |
        sed -n "s/^\(.*[^ ]\) *median *\([0-9.]*\) ms.*/$build|\1|\2/p" >>"$results"
    done
  done
  awk -F'|' "$MEDIAN_AWK"'
    { v[$1 "|" $2] = v[$1 "|" $2] " " $3; if (!($2 in seen)) { seen[$2] = 1; order[n++] = $2 } }
    END {
      printf "%-32s %12s %12s %8s\n", "step", "base ms", "head ms", "ratio"
      for (i = 0; i < n; i++) {
        s = order[i]; b = median(v["base|" s]); h = median(v["head|" s])
        printf "%-32s %12.1f %12.1f %8.3f\n", s, b, h, (b > 0 ? h / b : 0)
      }
    }' "$results"
done
