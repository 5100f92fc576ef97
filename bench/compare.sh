#!/usr/bin/env bash
# One alternating run of the HTTP figures of BENCHMARKS.md ("Request path"), old and new binaries
# side by side: each measurement runs against a fresh server of each binary in turn, `rounds`
# times. Needs wrk (`apt-get install wrk`) and oha (`cargo install oha`).
#
# Usage: bench/compare.sh OLD_BINARY NEW_BINARY [rounds=2] [seconds=10] [rate]
# Without a rate: closed loops (`/healthz`, `holds.lua`, first-available holds) in both modes.
# With a rate (a quarter of the `/healthz` ceiling measured in the closed loops): `/healthz` and
# first-available holds at that fixed rate, latency measured from each request's scheduled send.
# Prints one line per run; the figures in BENCHMARKS.md are the medians of these lines.
set -u
old=$1 new=$2 rounds=${3:-2} secs=${4:-10} rate=${5:-}
here=$(cd "$(dirname "$0")" && pwd)
port=${PORT:-18080}
oha=${OHA:-oha}
find_body='{"find":{"resources":["r1","r2","r3","r4"],"earliest":"2027-01-01T00:00:00Z","latest":"2027-12-31T00:00:00Z","duration_seconds":1800,"step_seconds":900},"call_id":"call-1"}'
# First-available holds spread over 1,000 companies (c000 to c999): every one succeeds.
find_url="http://127.0.0.1:$port/v1/companies/c[0-9]{3}/holds"

start() { # binary mode -> sets pid and dir
  dir=$(mktemp -d)
  "$1" serve --bind 127.0.0.1:$port --data-dir "$dir" --durability "$2" --log-filter warn >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && return; sleep 0.1; done
  echo "server $1 did not start" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null; rm -rf "$dir"; }
threads() { ls /proc/$pid/task | wc -l; }

wrk_line() { # label wrk-args...
  local label=$1; shift
  local out; out=$(wrk -t2 -c64 -d${secs}s --latency "$@")
  echo "$label threads=$(threads) rps=$(echo "$out" | awk '/Requests\/sec/{print $2}') p50=$(echo "$out" | awk '/ 50%/{print $2}') p99=$(echo "$out" | awk '/ 99%/{print $2}')"
}
oha_line() { # label oha-args...
  local label=$1; shift
  "$oha" -c 64 -z ${secs}s --no-tui --output-format json "$@" > /tmp/compare-oha.json
  python3 - "$label" "$(threads)" <<'PY'
import json, sys
r = json.load(open('/tmp/compare-oha.json'))
s, p = r['summary'], r['latencyPercentiles']
codes = r.get('statusCodeDistribution', {})
ok = sum(v for k, v in codes.items() if k.startswith('2'))
print(f"{sys.argv[1]} threads={sys.argv[2]} rps={s['requestsPerSec']:.0f} ok/s={ok / s['total']:.0f} "
      f"p50={p['p50'] * 1e3:.2f}ms p99={p['p99'] * 1e3:.2f}ms p99.9={p['p99.9'] * 1e3:.2f}ms codes={codes}")
PY
}

for round in $(seq "$rounds"); do
  for bin in "$old" "$new"; do
    name=$(basename "$bin")
    if [ -n "$rate" ]; then
      start "$bin" snapshot
      oha_line "r$round $name healthz rate=$rate" -q "$rate" --latency-correction http://127.0.0.1:$port/healthz
      stop
      for mode in snapshot wal; do
        start "$bin" $mode
        oha_line "r$round $name first-available $mode rate=$rate" -q "$rate" --latency-correction \
          --rand-regex-url -m POST -T application/json -d "$find_body" "$find_url"
        stop
      done
      continue
    fi
    start "$bin" snapshot; wrk_line "r$round $name healthz closed" http://127.0.0.1:$port/healthz; stop
    for mode in snapshot wal; do
      start "$bin" $mode; wrk_line "r$round $name holds.lua $mode closed" -s "$here/holds.lua" http://127.0.0.1:$port; stop
      start "$bin" $mode
      oha_line "r$round $name first-available $mode closed" --rand-regex-url -m POST -T application/json -d "$find_body" "$find_url"
      stop
    done
  done
done
