#!/usr/bin/env bash
# Installs (if needed) and starts a local PostgreSQL for the ledger's contract suite,
# then prints the DATABASE_URL to use. Debian's package; loopback only.
set -euo pipefail
if ! command -v pg_lsclusters >/dev/null 2>&1 || [ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
ver=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$ver main$"; then
  pg_createcluster "$ver" main >&2
fi
pg_ctlcluster "$ver" main start >&2 2>/dev/null || true
for _ in $(seq 1 30); do
  su postgres -c "psql -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -qAtc \"select 1 from pg_roles where rolname='ferry'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"create role ferry login superuser password 'ferry'\"" >&2
su postgres -c "psql -qAtc \"select 1 from pg_database where datname='ferry_test'\"" | grep -q 1 ||
  su postgres -c "createdb -O ferry ferry_test" >&2
port=$(pg_lsclusters -h | awk -v v="$ver" '$1==v && $2=="main" {print $3}')
echo "postgres://ferry:ferry@127.0.0.1:${port}/ferry_test"
