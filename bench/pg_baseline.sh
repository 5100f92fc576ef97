#!/usr/bin/env bash
# Peer baseline: what a user would pick instead of holdfast, PostgreSQL 15 with an exclusion
# constraint (btree_gist) that forbids two overlapping holds on one resource. Same workload shape
# as bench/holds.lua gives holdfast over HTTP (wrk): random 30-minute holds on a 15-minute grid, 100 resources, 30 days.
# Usage: pg_baseline.sh [clients] [seconds] [sync:on|off]   prints pgbench's tps and latency lines.
set -eu
clients=${1:-16} secs=${2:-10} sync=${3:-on}
dir=$(mktemp -d)
port=55432
chown postgres "$dir"
su postgres -c "initdb -D $dir/data -A trust" >/dev/null
su postgres -c "pg_ctl -D $dir/data -o '-p $port -k $dir -c max_connections=200 -c synchronous_commit=$sync' -l $dir/log -w start" >/dev/null
trap 'su postgres -c "pg_ctl -D $dir/data -m fast stop" >/dev/null; rm -rf "$dir"' EXIT
psql="psql -h $dir -p $port -U postgres -q"
$psql -c "DROP TABLE IF EXISTS holds" -c "CREATE EXTENSION IF NOT EXISTS btree_gist" -c "
CREATE TABLE holds(
  token uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  company int NOT NULL, resource int NOT NULL, period tstzrange NOT NULL,
  status text NOT NULL DEFAULT 'active', expires_at timestamptz NOT NULL,
  call_id text, customer_phone text,
  EXCLUDE USING gist (company WITH =, resource WITH =, period WITH &&))"
cat > $dir/hold.sql <<'SQL'
\set r random(1, 100)
\set s random(0, 2880)
INSERT INTO holds(company, resource, period, expires_at, call_id, customer_phone)
VALUES (1, :r, tstzrange(timestamptz '2027-01-01' + :s * interval '15 minutes',
                         timestamptz '2027-01-01' + (:s + 2) * interval '15 minutes'),
        now() + interval '5 minutes', 'call-' || :client_id, '+4915112345678')
ON CONFLICT DO NOTHING RETURNING token;
SQL
chown postgres $dir/hold.sql
su postgres -c "pgbench -h $dir -p $port -U postgres -n -c $clients -j 2 -T $secs -f $dir/hold.sql postgres" 2>&1 | grep -E "tps|latency|clients|processed"
$psql -At -c "SELECT 'rows held: ' || count(*) FROM holds"
