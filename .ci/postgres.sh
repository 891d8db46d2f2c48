#!/usr/bin/env bash
# Starts PostgreSQL 15 from Debian's packages for the ledger tests, creates
# their role and database, and prints the URL to export as
# RECONCILE_TEST_POSTGRES. Needs root; installs the server where missing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "postgres.sh: run as root (it starts the cluster and creates the role)" >&2
  exit 1
fi
if [ ! -x /usr/lib/postgresql/15/bin/postgres ]; then
  echo "installing postgresql" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
if ! pg_lsclusters -h | awk '$1 == "15" && $2 == "main" { found = 1 } END { exit !found }'; then
  pg_createcluster 15 main >&2
fi
# Another run may have started it already.
pg_ctlcluster 15 main start >/dev/null 2>&1 || true
port=$(pg_lsclusters -h | awk '$1 == "15" && $2 == "main" { print $3 }')
for _ in $(seq 60); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "PostgreSQL 15 did not start on port $port" >&2; exit 1; }

psql_admin() { (cd /tmp && runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -qAt "$@"); }
# Runs of other worktrees may create them at the same moment: tolerate losing that race.
psql_admin -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reconcile_test') THEN
    CREATE ROLE reconcile_test LOGIN PASSWORD 'reconcile_test';
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END \$\$;" >&2
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = 'reconcile_test'")" ]; then
  psql_admin -c "CREATE DATABASE reconcile_test OWNER reconcile_test" >&2 || true
fi
url="postgres://reconcile_test:reconcile_test@127.0.0.1:$port/reconcile_test"
psql "$url" -qAt -c "SELECT 1" >/dev/null
echo "$url"
