#!/usr/bin/env bash
# Sustained load on the todo AS's jwt-bearer grant (issue 19's measure):
# the todo AS alone, on SQLite (its default) and on MariaDB, trusting an
# issuer of e2e/cmd/grantload's whose RS256 ID-JAGs are signed before each
# round; 16 and 64 concurrent clients over loopback; each round a warm-up
# then a 20 s window; every round printed with the machine's load and the
# CPU the todo AS (and MariaDB) spent per grant.
#
#   ROUNDS        rounds per database and client count (default 2)
#   DATABASES     which to run (default "sqlite mariadb")
#   SEED_ROWS     replay records in the table before each round (default
#                 1000000: the unexpired jtis of ~3,300 grants/s over an
#                 ID-JAG's five minutes; 0 starts from an empty table)
#   CLIENTS       the client counts (default "16 64")
#   WINDOW        the measured window (default 20s)
#   MARIADB_URL   the server (default mysql://root@127.0.0.1:3306)
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-2}
seed_rows=${SEED_ROWS:-1000000}
window=${WINDOW:-20s}
mariadb_url=${MARIADB_URL:-mysql://root@127.0.0.1:3306}
port=15101
issuer_addr=127.0.0.1:14900

mkdir -p bin
./scripts/build.sh bin todo-as
go build -o bin/grantload ./e2e/cmd/grantload

work=$(mktemp -d)
pids=()
stop_all() {
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  pids=()
}
trap 'stop_all; rm -rf "$work"' EXIT
trap 'stop_all; exit 130' INT TERM

bin/grantload serve -addr "$issuer_addr" -key "$work/key.pem" &
issuer_pid=$!

wait_port() { # port
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
wait_port "${issuer_addr#*:}"

db_pid=$(pgrep -x mariadbd || pgrep -x mysqld || true)
db_pid=${db_pid%%$'\n'*}

for db in ${DATABASES:-sqlite mariadb}; do
  for clients in ${CLIENTS:-16 64}; do
    for round in $(seq 1 "$rounds"); do
      rm -rf "$work/data"
      database_url=""
      if [[ $db == mariadb ]]; then
        database_url="${mariadb_url%/}/xaa_load_grants"
        if command -v mariadb >/dev/null; then
          hostport=${mariadb_url#*://}; hostport=${hostport#*@}; hostport=${hostport%%/*}
          mariadb -h "${hostport%:*}" -P "${hostport#*:}" -u root -e "DROP DATABASE IF EXISTS xaa_load_grants" 2>/dev/null || true
        fi
      fi
      if [[ $seed_rows != 0 ]]; then
        if [[ $db == mariadb ]]; then
          bin/grantload seed -database "$database_url" -rows "$seed_rows"
        else
          bin/grantload seed -sqlite "$work/data/todo-as.db" -rows "$seed_rows"
        fi
      fi
      LISTEN_ADDR="127.0.0.1:$port" TODO_AS_ISSUER="http://127.0.0.1:$port" DATA_DIR="$work/data" DATABASE_URL="$database_url" \
        TRUSTED_ISSUER_1="http://$issuer_addr" TRUSTED_ISSUER_1_ALGORITHMS=RS256 TRUSTED_ISSUER_1_JIT_DOMAINS=load.test \
        bin/todo-as >"$work/todo-as.log" 2>&1 &
      as_pid=$!
      pids=("$as_pid")
      if ! wait_port "$port"; then
        cat "$work/todo-as.log" >&2
        exit 1
      fi
      meter="todo-as=$as_pid"
      if [[ $db == mariadb && -n $db_pid ]]; then meter+=",MariaDB=$db_pid"; fi
      echo "== $db, $clients clients, round $round"
      bin/grantload run -key "$work/key.pem" -issuer "http://$issuer_addr" -todo-as "http://127.0.0.1:$port" \
        -clients "$clients" -window "$window" -pids "$meter"
      stop_all
    done
  done
done
kill "$issuer_pid" 2>/dev/null || true
