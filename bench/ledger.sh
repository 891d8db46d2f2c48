#!/usr/bin/env bash
# bench/ledger.sh: how many rows per second the ledger records, durably.
#
# Each row is a Begin before its request and a Finish after its answer, each
# committed with an fsync before it returns. "all/batch=N" is what the
# submitter does: N rows begun in one BeginAll while the previous N are
# finished in one FinishAll. The others call Begin and Finish per row from 1,
# 8 and 32 workers at once (how the submitter used the ledger before). Two
# ways of committing are compared: batch (what reconcile uses: bbolt's
# DB.Batch, which waits up to 2 ms to fill a transaction) and solo (one
# transaction per write). The figure to read is rows/s. The ledger file lives in the system's
# temporary folder: point TMPDIR at the disk the state dir will be on.
#
#   bench/ledger.sh               # 2000 rows per case, 3 runs
#   ROWS=500 COUNT=1 bench/ledger.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-2000}
COUNT=${COUNT:-3}
go test -run '^$' -bench BeginFinish -benchtime "${ROWS}x" -count "$COUNT" ./internal/ledger/ |
  awk '/rows\/s/ { name=$1; sub(/^BenchmarkBeginFinishAll\//, "all/", name); sub(/^BenchmarkBeginFinish\//, "", name); sub(/-[0-9]+$/, "", name); r[name] = r[name] " " $(NF-1) }
       END { for (n in r) printf "%-20s rows/s:%s\n", n, r[n] }' | sort
