#!/usr/bin/env bash
# Erases the local SQLite databases (users, todos, pages, signing keys) so
# that the next start seeds them afresh. Asks first unless YES=1.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${DATA_DIR:-.data}"
if [[ ! -d "$dir" ]]; then
  echo "Nothing to erase: $dir does not exist."
  exit 0
fi
if [[ "${YES:-}" != 1 ]]; then
  if [[ ! -t 0 ]]; then
    echo "resetdb erases $dir; run it in a terminal to confirm, or with YES=1." >&2
    exit 1
  fi
  read -r -p "Erase every local database and signing key in $dir? Type yes: " answer
  [[ "$answer" == yes ]] || { echo "Nothing erased."; exit 1; }
fi
rm -rf "$dir"
echo "Erased $dir; the services seed fresh databases at their next start."
echo "(MariaDB schemas are not touched: drop xaa_idp, xaa_wiki_as, xaa_todo_as, xaa_wiki and xaa_todo to reset them.)"
