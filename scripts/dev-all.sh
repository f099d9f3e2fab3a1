#!/usr/bin/env bash
# Builds and starts the five services of the demo on embedded defaults, each
# log line prefixed with its service, waits until all are healthy, prints the
# URLs, and stops them all cleanly on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

# name  folder               port
services=(
  "idp     idp                4000"
  "wiki-as authservers/wiki   5000"
  "todo-as authservers/todo   5001"
  "todo    apps/todo          3001"
  "wiki    apps/wiki          3000"
)
colors=(35 36 33 32 34)

# Env files every service reads, in order: env/common.env, the Codespace's
# URLs (scripts/codespaces-env.sh), and XAA_ENV's file (make dev-mariadb:
# env/mariadb.env; make dev-okta: env/okta.env, where an Okta org is the
# IdP and the local IdP does not start). Then each service's own file.
shared_envs=()
[[ -f env/common.env ]] && shared_envs+=(env/common.env)
[[ -n "${CODESPACES:-}" && -f env/codespaces.env ]] && shared_envs+=(env/codespaces.env)
okta_env=""
if [[ -n "${XAA_ENV:-}" ]]; then
  if [[ ! -f "env/$XAA_ENV.env" ]]; then
    echo "env/$XAA_ENV.env is missing: make setup-env copies env/$XAA_ENV.env.example there; then fill it in." >&2
    exit 1
  fi
  shared_envs+=("env/$XAA_ENV.env")
fi
if [[ "${XAA_ENV:-}" == okta ]]; then
  okta_env="env/okta.env"
  if grep -qE '^(WIKI_AS|TODO_AS)_IDP_CLIENT_(ID|SECRET)=$|your-org' "$okta_env"; then
    echo "env/okta.env still has empty or example values; fill in your Okta org's values (README: 'Run against an Okta preview org')." >&2
    exit 1
  fi
  services=("${services[@]:1}")
  colors=("${colors[@]:1}")
fi

# A port that already answers would make the health checks below lie.
busy=()
for line in "${services[@]}"; do
  read -r name _ port <<<"$line"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then busy+=("$port ($name)"); fi
done
if ((${#busy[@]})); then
  echo "These ports are already in use: ${busy[*]}." >&2
  echo "Is another 'make dev-all' running? Stop it, or set LISTEN_ADDR and the URLs in env/<service>.env." >&2
  exit 1
fi

start=$(date +%s.%N)
names=()
for line in "${services[@]}"; do
  read -r name _ <<<"$line"
  names+=("$name")
done
echo "Building the services: ${names[*]}..."
./scripts/build.sh bin "${names[@]}"

built=$(date +%s.%N)

pids=()
stop_all() {
  trap - INT TERM EXIT
  if ((${#pids[@]})); then
    echo
    echo "Stopping all services..."
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
  echo "All services stopped."
}
trap stop_all EXIT
trap 'stop_all; exit 0' INT TERM

i=0
for line in "${services[@]}"; do
  read -r name _ _ <<<"$line"
  prefix=$(printf '\033[%sm%-8s|\033[0m ' "${colors[$i]}" "$name")
  # Each env/<name>.env, when present, overrides the embedded defaults.
  (
    set -a
    for f in "${shared_envs[@]}"; do . "$f"; done
    if [[ -f "env/$name.env" ]]; then . "env/$name.env"; fi
    set +a
    exec "bin/$name"
  ) > >(sed -u "s/^/$prefix/") 2>&1 &
  pids+=($!)
  i=$((i + 1))
done

healthy() { # port
  if command -v curl >/dev/null; then
    curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$1/healthz" 2>/dev/null
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && head -1 <&3 | grep -q ' 200 ') 2>/dev/null
  fi
}

for line in "${services[@]}"; do
  read -r name _ port <<<"$line"
  for _ in $(seq 1 300); do
    healthy "$port" && break
    for pid in "${pids[@]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        echo "A service stopped during start-up; see its log above (a port already in use? set LISTEN_ADDR in env/<service>.env)." >&2
        exit 1
      fi
    done
    sleep 0.1
  done
  healthy "$port" || { echo "$name did not become healthy on port $port" >&2; exit 1; }
done
idp_url="http://localhost:4000"
if [[ -n "$okta_env" ]]; then idp_url="your Okta org (env/okta.env)"; fi
ready=$(date +%s.%N)
build_s=$(awk "BEGIN { printf \"%.1f\", $built - $start }")
start_s=$(awk "BEGIN { printf \"%.2f\", $ready - $built }")

cat <<MSG

  All five services are healthy: built in ${build_s} s, started in ${start_s} s.

    Wiki (start here)   http://localhost:3000
    Todo                http://localhost:3001
    Enterprise IdP      $idp_url
    Wiki AS             http://localhost:5000
    Todo AS             http://localhost:5001

  Sign in to the wiki as bob@tables.fake (password shown on the sign-in page),
  open "My todos", then the "Debug console". Press Ctrl-C to stop everything.

MSG
wait
