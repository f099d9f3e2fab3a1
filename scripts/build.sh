#!/usr/bin/env bash
# Builds the services into a folder (default bin/): all five, or those
# named. make dev-all, make build, the load runs and the Dockerfile build
# with it, so that every binary is built the same way:
#
#   scripts/build.sh [folder [name...]]    e.g. scripts/build.sh bin todo-as
#
# -tags nomsgpack: gin without its MessagePack codec. Nothing here speaks
# MessagePack, and the codec is a quarter of each binary and 3 MB of each
# running service's memory (measured in the history of docs/PERFORMANCE.md). CGO_ENABLED=0: static
# binaries (Go's own DNS resolver), so no process maps the C library and its
# loader, 1.5 MB each; and no C compiler is needed to build.
#
# One go command compiles the packages of all five, so that both cores can
# stay busy from the first package to the last; then the five are linked
# side by side from the build cache. From an empty build cache, three runs
# each, alternately: 84.8-92.0 s this way, 87.8-100.2 s with five go builds
# one after the other (the sixth sitting in the history of docs/PERFORMANCE.md).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-bin}
shift || true
# name     folder
services=(
  "idp     idp"
  "wiki-as authservers/wiki"
  "todo-as authservers/todo"
  "todo    apps/todo"
  "wiki    apps/wiki"
)
export CGO_ENABLED=0

known=" "
for line in "${services[@]}"; do known+="${line%% *} "; done
for want in "$@"; do
  if [[ $known != *" $want "* ]]; then
    echo "build.sh: no service named $want (the services:$known)" >&2
    exit 2
  fi
done
names=() dirs=()
for line in "${services[@]}"; do
  read -r name dir <<<"$line"
  if (($#)) && [[ " $* " != *" $name "* ]]; then continue; fi
  names+=("$name") dirs+=("./$dir")
done
# Several main packages at once: compiled, not linked (go help build). One
# alone would be linked, into the current folder (and fail for idp, a
# folder there): the link below compiles it.
if ((${#dirs[@]} > 1)); then
  go build -tags nomsgpack "${dirs[@]}"
fi

mkdir -p "$out"
pids=()
for i in "${!names[@]}"; do
  go build -tags nomsgpack -o "$out/${names[i]}" "${dirs[i]}" &
  pids+=("$!")
done
failed=0
for pid in "${pids[@]}"; do
  wait "$pid" || failed=1
done
exit "$failed"
