#!/usr/bin/env bash
# Runs schemathesis against a real holdfast server: the server is built, started on a free
# loopback port with an empty data directory, and fuzzed from its own /openapi.json with the
# checks below; the step fails when schemathesis reports any failure. Called by .ci/run; also
# runs by hand from the repository root (`bash .ci/schemathesis.sh`, MAX_TIME=120 for longer).
set -euo pipefail
cd "$(dirname "$0")/.."

SCHEMATHESIS_VERSION=4.32.5
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection
MAX_TIME="${MAX_TIME:-30}"
VENV=.ci/venv

# A Python that can make a virtual environment: the one on PATH, else Debian's.
python=""
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import ensurepip, venv' 2>/dev/null; then
    python="$candidate"
    break
  fi
done
if [ -z "$python" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv
  python=/usr/bin/python3
fi
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

# shellcheck source=.ci/server.sh
. .ci/server.sh
start_server

# From the temporary directory, so that schemathesis' cache (.schemathesis/) stays out of the
# work tree.
st="$PWD/$VENV/bin/st"
config="$PWD/.ci/schemathesis.toml"
status=0
(cd "$work" && "$st" --config-file "$config" run "$base/openapi.json" --checks "$CHECKS" \
  --max-time "$MAX_TIME" </dev/null) || status=$?
if [ "$status" -ne 0 ]; then
  echo "schemathesis failed (exit $status); the server's log ends:" >&2
  tail -n 50 "$work/server.log" >&2
fi
exit "$status"
