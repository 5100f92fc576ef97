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

# The receiver runs on loopback: the server must deliver there.
# shellcheck source=.ci/server.sh
. .ci/server.sh
start_server --webhook-allow-private

if ! "$VENV/bin/python" .ci/verify_webhooks.py "$base"; then
  echo "server log:" >&2
  tail -50 "$work/server.log" >&2
  exit 1
fi
