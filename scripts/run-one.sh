#!/usr/bin/env bash
# Runs one service in the foreground with its env files: make run-wiki, ...
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1" dir="$2"
set -a
[[ -f env/common.env ]] && . env/common.env
[[ -f "env/$name.env" ]] && . "env/$name.env"
set +a
exec go run -tags nomsgpack "./$dir" # as make dev-all builds it
