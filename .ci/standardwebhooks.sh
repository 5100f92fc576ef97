#!/usr/bin/env bash
# Checks that a Standard Webhooks library other than holdfast's own code verifies holdfast's
# deliveries: the Python reference package `standardwebhooks` in the same virtual environment
# as schemathesis (.ci/schemathesis.sh makes it), against a real server started with
# --webhook-allow-private (the receiver runs on loopback). Called by .ci/run after
# schemathesis.sh; also runs by hand from the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

STANDARDWEBHOOKS_VERSION=1.1.0
VENV=.ci/venv
if [ ! -x "$VENV/bin/python" ]; then
  echo "no $VENV: run .ci/schemathesis.sh first (it makes the virtual environment)" >&2
  exit 1
fi
if ! "$VENV/bin/python" -c "import standardwebhooks" 2>/dev/null ||
   ! "$VENV/bin/pip" show standardwebhooks 2>/dev/null | grep -q "^Version: $STANDARDWEBHOOKS_VERSION$"; then
  "$VENV/bin/pip" install -q --disable-pip-version-check "standardwebhooks==$STANDARDWEBHOOKS_VERSION"
fi

cargo build --bin holdfast
target_dir="$(cargo metadata --format-version 1 --no-deps |
  "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
binary="$target_dir/debug/holdfast"

work="$(mktemp -d)"
server_pid=""
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop_server EXIT

port="$("$VENV/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
"$binary" serve --bind "127.0.0.1:$port" --data-dir "$work/data" --log-format json \
  --webhook-allow-private >"$work/server.log" 2>&1 </dev/null &
server_pid=$!

if ! "$VENV/bin/python" - "$base/healthz" <<'PY'; then
import sys, time, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
  echo "the server did not start:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

if ! "$VENV/bin/python" .ci/verify_webhooks.py "$base"; then
  echo "server log:" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi
