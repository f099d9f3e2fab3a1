#!/usr/bin/env bash
# Starts the five services on MariaDB, on their own ports and their own
# schemas (xaa_load_*, emptied first) so a running `make dev-all` is not
# disturbed, drives them over loopback with e2e/cmd/load, and prints each
# service's resident memory. `make bench` runs it after the Go benchmarks.
#
#   MARIADB_URL   the server (default mysql://root@127.0.0.1:3306)
#   LOAD_FLAGS    flags for the driver, e.g. "-users 100 -duration 30s -warmup 10s"
#   LOAD_PROFILE  set to 1 to take CPU profiles of all five services during
#                 the My todos load, into artifacts/profiles/
#   REST_SECONDS  how long the services idle before memory at rest is read
#                 (default 150)
#   SEED_ROWS     rows put first into the tables that grow with traffic, the
#                 todo AS's replay records and the IdP's audit log (default
#                 1000000 each, as load-grants.sh and BenchmarkFullChain;
#                 0 leaves them as the services make them)
set -euo pipefail
cd "$(dirname "$0")/.."

mariadb_url=${MARIADB_URL:-mysql://root@127.0.0.1:3306}
hostport=${mariadb_url#*://}
hostport=${hostport#*@}
hostport=${hostport%%/*}
if ! (exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}") 2>/dev/null; then
  echo "MariaDB does not answer at $hostport. Start it (or set MARIADB_URL), then run make bench again." >&2
  exit 1
fi

# name     folder             port
services=(
  "idp     idp                14000"
  "wiki-as authservers/wiki   15000"
  "todo-as authservers/todo   15001"
  "todo    apps/todo          13001"
  "wiki    apps/wiki          13000"
)
for line in "${services[@]}"; do
  read -r name _ port <<<"$line"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port ($name) is already in use; is another load run going?" >&2
    exit 1
  fi
done

echo "Building the five services and the load driver..."
./scripts/build.sh bin # as make dev-all builds them
go build -o bin/load ./e2e/cmd/load
go build -o bin/grantload ./e2e/cmd/grantload

if command -v mariadb >/dev/null; then
  for line in "${services[@]}"; do
    read -r name _ _ <<<"$line"
    mariadb -h "${hostport%:*}" -P "${hostport#*:}" -u root -e "DROP DATABASE IF EXISTS xaa_load_${name//-/_}" 2>/dev/null || true
  done
fi

logs=$(mktemp -d)
pids=()
stop_all() {
  trap - EXIT INT TERM
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

export IDP_ISSUER=http://localhost:14000 WIKI_AS_ISSUER=http://localhost:15000 TODO_AS_ISSUER=http://localhost:15001
export WIKI_URL=http://localhost:13000 TODO_URL=http://localhost:13001
profiles=""
for line in "${services[@]}"; do
  read -r name _ port <<<"$line"
  pprof=""
  if [[ -n "${LOAD_PROFILE:-}" ]]; then
    pprof="127.0.0.1:$((port + 10000))"
    profiles+="${profiles:+,}$name=http://$pprof"
  fi
  LISTEN_ADDR="127.0.0.1:$port" DATABASE_URL="${mariadb_url%/}/xaa_load_${name//-/_}" PPROF_ADDR="$pprof" \
    "bin/$name" >"$logs/$name.log" 2>&1 &
  pids+=($!)
done
for line in "${services[@]}"; do
  read -r name _ port <<<"$line"
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "$name did not start; its log:" >&2
    cat "$logs/$name.log" >&2
    exit 1
  fi
done

# Data of a running server's size in the tables the load appends to.
seed_rows=${SEED_ROWS:-1000000}
if [[ $seed_rows != 0 ]]; then
  bin/grantload seed -table replay -database "${mariadb_url%/}/xaa_load_todo_as" -rows "$seed_rows"
  bin/grantload seed -table audit -database "${mariadb_url%/}/xaa_load_idp" -rows "$seed_rows"
fi

rss() { # pid field: the field of /proc/<pid>/status in MB, or ps's RSS
  if [[ -r /proc/$1/status ]]; then
    awk -v f="$2:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$1/status"
  else
    ps -o rss= -p "$1" | awk '{ printf "%.1f", $1 / 1024 }'
  fi
}
memory() { # title
  echo
  echo "$1"
  local total=0 peak=0 i=0
  for line in "${services[@]}"; do
    read -r name _ _ <<<"$line"
    local now high
    now=$(rss "${pids[$i]}" VmRSS)
    high=$(rss "${pids[$i]}" VmHWM)
    printf '  %-8s %7s MB resident (peak %s MB)\n' "$name" "$now" "${high:-?}"
    total=$(awk "BEGIN { print $total + $now }")
    peak=$(awk "BEGIN { print $peak + ${high:-0} }")
    i=$((i + 1))
  done
  printf '  %-8s %7.1f MB resident (sum of peaks %.1f MB)\n' "all five" "$total" "$peak"
}

pidlist=""
i=0
for line in "${services[@]}"; do
  read -r name _ _ <<<"$line"
  pidlist+="${pidlist:+,}$name=${pids[$i]}"
  i=$((i + 1))
done
db_pid=$(pgrep -x mariadbd || pgrep -x mysqld || true)
if [[ -n "$db_pid" ]]; then pidlist+=",MariaDB=${db_pid%%$'\n'*}"; fi

# At rest: started, then idle for REST_SECONDS (default 150: past the Go
# runtime's forced collection every two minutes, so what a collection
# touches is counted).
rest=${REST_SECONDS:-150}
echo "Idle for ${rest} s before measuring memory at rest (REST_SECONDS)..."
sleep "$rest"
memory "Resident memory at rest, ${rest} s after start"
status=0
# shellcheck disable=SC2086 # LOAD_FLAGS is a list of flags
bin/load -pids "$pidlist" -profiles "$profiles" -idp "$IDP_ISSUER" -wiki-as "$WIKI_AS_ISSUER" -todo-as "$TODO_AS_ISSUER" -wiki "$WIKI_URL" -todo "$TODO_URL" ${LOAD_FLAGS:-} || status=$?
memory "Resident memory after the load"
if ((status != 0)); then
  echo
  echo "The load run failed. The services' logs are in $logs." >&2
  exit "$status"
fi
rm -rf "$logs"
