#!/usr/bin/env bash
# Fails when a generated *_templ.go file does not match its .templ source,
# or when Go files are not gofmt-formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
# Files git knows or would add, that exist in the working tree.
existing() { git ls-files -co --exclude-standard -- "$1" | while IFS= read -r f; do [[ -f "$f" ]] && echo "$f"; done; }
while IFS= read -r src; do
  gen="${src%.templ}_templ.go"
  if [[ ! -f "$gen" ]] || ! diff -q <(go tool templ generate -f "$src" -stdout 2>/dev/null) "$gen" >/dev/null; then
    echo "stale: $gen does not match $src (run 'make generate')" >&2
    status=1
  fi
done < <(existing '*.templ')
unformatted=$(existing '*.go' | grep -v '_templ.go$' | xargs -r gofmt -l)
if [[ -n "$unformatted" ]]; then
  echo "not gofmt-formatted (run 'gofmt -w'):" >&2
  echo "$unformatted" >&2
  status=1
fi
exit $status
