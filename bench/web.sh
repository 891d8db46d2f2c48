#!/usr/bin/env bash
# The web console on large files, driven over HTTP as a browser drives it:
# upload, settings, mapping (a check of every row), preview pages, a
# corrected cell (a check of the whole file again). Medians of each step and
# the peak RSS, for 100,000 CSV rows and 100,000 XLSX rows.
#
#   bench/web.sh            # 5 runs of each
#   bench/web.sh 3 300000   # runs, rows
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
rows=${2:-100000}
out=bench/out/web
mkdir -p "$out"
go build -o "$out/webpreview" ./bench/webpreview
for kind in csv xlsx; do
  echo "== $rows rows, $kind, $runs runs"
  "$out/webpreview" -rows "$rows" -runs "$runs" -kind "$kind"
done
