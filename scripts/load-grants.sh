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
#   PEER          peers to run too, in each round and at each client count
#                 right after the todo AS, with the same load client and
#                 ID-JAG issuer: an oidc-provider 8 authorization server with
#                 the Node sample's jwt-bearer grant (scripts/peer/node-as.mjs),
#                 installed from npm into a folder of its own. "node": at its
#                 best (the issuer's keys kept, no log); "node-sample": as the
#                 sample runs it (the issuer's metadata and keys fetched on
#                 every grant, its log lines); "node node-sample": both
#
# Rounds are the outer loop, so that what is compared runs side by side
# in time rather than one after the other.
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
peer_port=15102
peer_secret=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
resource=http://localhost:3001/api
for peer in ${PEER:-}; do
  case $peer in
    node | node-sample) ;;
    *) echo "PEER=$PEER: the peers are node and node-sample" >&2; exit 2 ;;
  esac
done
if [[ -n ${PEER:-} ]]; then
  for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "PEER=$PEER needs $tool" >&2; exit 1; }
  done
  mkdir -p "$work/peer"
  cp scripts/peer/node-as.mjs scripts/peer/package.json "$work/peer/"
  (cd "$work/peer" && npm install --no-audit --no-fund --silent)
  echo "peer: oidc-provider $(node -p 'require("'"$work"'/peer/node_modules/oidc-provider/package.json").version'), node $(node --version)"
fi
pids=()
stop_all() {
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  pids=()
}
issuer_pid=""
# The issuer too, however the script ends: one left running keeps its port
# with another key, and every grant of the next run would be refused.
trap 'stop_all; [[ -z $issuer_pid ]] || kill "$issuer_pid" 2>/dev/null; rm -rf "$work"' EXIT
trap 'stop_all; exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port
  for _ in $(seq 1 300); do
    listening "$1" && return 0
    sleep 0.1
  done
  return 1
}
# A port already answering would be mistaken for the server started on it.
refuse_taken() { # port what
  if listening "$1"; then
    echo "port $1, for $2, is taken (by a run that did not stop? ss -ltnp 'sport = :$1' names it)" >&2
    exit 1
  fi
}

refuse_taken "${issuer_addr#*:}" "the ID-JAG issuer"
bin/grantload serve -addr "$issuer_addr" -key "$work/key.pem" &
issuer_pid=$!
wait_port "${issuer_addr#*:}"

db_pid=$(pgrep -x mariadbd || pgrep -x mysqld || true)
db_pid=${db_pid%%$'\n'*}

for round in $(seq 1 "$rounds"); do
  for clients in ${CLIENTS:-16 64}; do
    for db in ${DATABASES:-sqlite mariadb}; do
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
      refuse_taken "$port" "the todo AS"
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
    for peer in ${PEER:-}; do
      as_sample=0
      if [[ $peer == node-sample ]]; then as_sample=1; fi
      refuse_taken "$peer_port" "the $peer peer"
      (cd "$work/peer" && exec env PORT=$peer_port ISSUER="http://127.0.0.1:$peer_port" \
        TRUSTED_ISSUER="http://$issuer_addr" JWKS_URI="http://$issuer_addr/jwks" \
        CLIENT_ID=load-peer CLIENT_SECRET="$peer_secret" RESOURCE="$resource" AS_SAMPLE=$as_sample \
        node node-as.mjs) >"$work/peer.log" 2>&1 &
      peer_pid=$!
      pids=("$peer_pid")
      if ! wait_port "$peer_port"; then
        cat "$work/peer.log" >&2
        exit 1
      fi
      echo "== $peer peer (oidc-provider, in memory), $clients clients, round $round"
      # Fewer ID-JAGs: the peer grants fewer per second. As the sample, it
      # also has the issuer serve two requests per grant: the issuer's CPU
      # is reported too.
      bin/grantload run -key "$work/key.pem" -issuer "http://$issuer_addr" -todo-as "http://127.0.0.1:$peer_port" \
        -client-id load-peer -client-secret "$peer_secret" -resource "$resource" -tokens 75000 \
        -clients "$clients" -window "$window" -pids "$peer=$peer_pid,issuer=$issuer_pid"
      stop_all
    done
  done
done
