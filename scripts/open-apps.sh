#!/usr/bin/env bash
# Opens the wiki, the todo app and the debug console. OPEN chooses the
# command (default: xdg-open, or open on macOS, or just print the URLs).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f env/codespaces.env && -n "${CODESPACES:-}" ]] && { set -a; . env/codespaces.env; set +a; }
wiki="${WIKI_URL:-http://localhost:3000}" todo="${TODO_URL:-http://localhost:3001}"
opener="${OPEN:-}"
if [[ -z "$opener" ]]; then
  if command -v xdg-open >/dev/null; then opener=xdg-open
  elif command -v open >/dev/null; then opener=open
  else opener=echo; fi
fi
for url in "$wiki" "$todo" "$wiki/debug"; do
  "$opener" "$url" >/dev/null 2>&1 || echo "$url"
  [[ "$opener" == echo ]] && echo "$url"
done
true
