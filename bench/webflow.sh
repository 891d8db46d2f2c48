#!/usr/bin/env bash
# The web console's whole flow in a real headless Chromium, upload to report
# (bench/webflow): the 56 rows of `reconcile demo --web`, then ROWS rows
# (default 100,000) as CSV and as XLSX sent by `reconcile serve` to a
# stand-alone sandbox answering after LATENCY (default 10ms) at concurrency
# C (default 16), RUNS times each (default 1).
#
#   bench/webflow.sh            # needs chromium (or CHROMIUM=/path/to/chrome)
#   RUNS=3 ROWS=20000 bench/webflow.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-100000}
RUNS=${RUNS:-1}
LATENCY=${LATENCY:-10ms}
C=${C:-16}
CHROMIUM=${CHROMIUM:-chromium}
out=bench/out/webflow
mkdir -p "$out"
go build -o "$out/reconcile" ./cmd/reconcile
go build -o "$out/webflow" ./bench/webflow
echo "== the demo's samples, reconcile demo --web"
"$out/webflow" -bin "$out/reconcile" -chromium "$CHROMIUM"
for kind in csv xlsx; do
  echo "== $ROWS rows, $kind, reconcile serve"
  "$out/webflow" -bin "$out/reconcile" -chromium "$CHROMIUM" -rows "$ROWS" -kind "$kind" -runs "$RUNS" -latency "$LATENCY" -concurrency "$C"
done
