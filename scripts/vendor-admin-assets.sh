#!/usr/bin/env bash
# Re-fetches the admin page's third-party assets at their pinned versions from the npm registry
# into src/http/admin/assets/vendor/, with their licences. The files are committed and compiled
# into the binary: nothing is fetched at run time or at build time. Run from the repository root
# after changing a version here, then review the diff.
set -euo pipefail
cd "$(dirname "$0")/.."

HTMX_VERSION=2.0.4
HTMX_SSE_VERSION=2.2.4
out=src/http/admin/assets/vendor
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # package version
  curl -fsSL "https://registry.npmjs.org/$1/-/$1-$2.tgz" -o "$work/$1.tgz"
  mkdir -p "$work/$1"
  tar -xzf "$work/$1.tgz" -C "$work/$1"
}

fetch htmx.org "$HTMX_VERSION"
cp "$work/htmx.org/package/dist/htmx.min.js" "$out/htmx.min.js"
cp "$work/htmx.org/package/LICENSE" "$out/htmx.LICENSE"
fetch htmx-ext-sse "$HTMX_SSE_VERSION"
cp "$work/htmx-ext-sse/package/sse.js" "$out/htmx-ext-sse.js"
cp "$work/htmx-ext-sse/package/LICENSE" "$out/htmx-ext-sse.LICENSE"
printf 'htmx.org %s\nhtmx-ext-sse %s\n' "$HTMX_VERSION" "$HTMX_SSE_VERSION" > "$out/VERSIONS"
ls -l "$out"
