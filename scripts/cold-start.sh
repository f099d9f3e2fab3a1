#!/usr/bin/env bash
# Times a cold start as issue 19 states it: a fresh clone of this checkout
# (HEAD, or the revision given), an empty Go module cache and an empty build
# cache, then `make dev-all` until all five services answer /healthz. Prints
# the seconds from the clone, what dev-all says of its build and start, how
# large the module cache grew, and the machine's load before and after.
#
#   scripts/cold-start.sh [revision]
#
# Nothing outside a temporary folder is touched: the clone, both caches and
# dev-all's log live there and are removed at the end. Ports 3000, 3001,
# 4000, 5000 and 5001 must be free (dev-all refuses otherwise).
#
#   COLD_START_TIMEOUT   seconds to wait for dev-all's "healthy" line
#                        before giving up (default 1800)
set -euo pipefail
cd "$(dirname "$0")/.."

rev=${1:-HEAD}
commit=$(git rev-parse --verify "$rev^{commit}")
work=$(mktemp -d)
pgid=""
cleanup() {
  if [[ -n $pgid ]]; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s.%N)
git clone -q --no-checkout "$PWD" "$work/clone"
git -C "$work/clone" checkout -q "$commit"
mkdir "$work/gomodcache" "$work/gocache"

# setsid: dev-all and everything it starts get a process group of their
# own, so that the clean-up above stops them all and not this script.
(
  cd "$work/clone"
  export GOMODCACHE="$work/gomodcache" GOCACHE="$work/gocache" GOFLAGS=-modcacherw
  exec setsid make dev-all
) >"$work/dev-all.log" 2>&1 &
pgid=$!

# dev-all says so once all five answer /healthz. Should that line never
# come (a build that hangs, the message reworded), the wait ends anyway.
deadline=$((SECONDS + ${COLD_START_TIMEOUT:-1800}))
while ! grep -q 'All five services are healthy' "$work/dev-all.log"; do
  if ! kill -0 "$pgid" 2>/dev/null || ((SECONDS > deadline)); then
    echo "cold-start: the services were not healthy (make dev-all stopped, or COLD_START_TIMEOUT passed); its log:" >&2
    cat "$work/dev-all.log" >&2
    exit 1
  fi
  sleep 0.1
done
t1=$(date +%s.%N)

echo "revision    $commit"
echo "clone to healthy: $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
grep -o 'built in [0-9.]* s, started in [0-9.]* s' "$work/dev-all.log" | sed 's/^/dev-all:     /'
echo "module cache: $(du -sm "$work/gomodcache" | cut -f1) MB, build cache: $(du -sm "$work/gocache" | cut -f1) MB"
echo "load before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
