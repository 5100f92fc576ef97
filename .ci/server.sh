# Sourced by the CI steps that need a real holdfast server (schemathesis.sh, standardwebhooks.sh):
# builds the debug binary, starts it on a free loopback port with an empty data directory and
# the flags given, and waits until /healthz answers 200 (restored and listening). Sets `work`
# (a temporary directory, removed at exit with the server stopped), `base` (the server's URL)
# and `server_pid`. Needs `VENV` to name a virtual environment with a Python.

start_server() {
  cargo build --bin holdfast
  local target_dir binary port
  target_dir="$(cargo metadata --format-version 1 --no-deps |
    "$VENV/bin/python" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
  binary="$target_dir/debug/holdfast"

  work="$(mktemp -d)"
  server_pid=""
  trap stop_server EXIT

  port="$("$VENV/bin/python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  "$binary" serve --bind "127.0.0.1:$port" --data-dir "$work/data" --log-format json "$@" \
    >"$work/server.log" 2>&1 </dev/null &
  server_pid=$!

  if ! "$VENV/bin/python" - "$base/healthz" <<'PY'; then
import sys, time, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200:
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.2)
sys.exit(1)
PY
    echo "the server did not answer /healthz with 200 within 60 s; its log:" >&2
    cat "$work/server.log" >&2
    exit 1
  fi
}

stop_server() {
  if [ -n "${server_pid:-}" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "${work:-}"
}
