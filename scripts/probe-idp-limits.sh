#!/usr/bin/env bash
# Measures two of the IdP's limits on a freshly built binary, on loopback:
#   1. resident memory under six parallel 100 MB multipart posts to /login,
#      each with its own session and CSRF token (idle, and peak VmHWM);
#   2. how many wrong passwords for one account the IdP checks in 60 s of
#      guessing as fast as it answers (audited failures), and how many it
#      refuses unchecked (429).
# Usage: scripts/probe-idp-limits.sh [port]   (needs curl and python3)
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-14090}
d=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$d"' EXIT
./scripts/build.sh "$d" idp
head -c 100000000 /dev/zero >"$d/100mb.bin"
base=http://127.0.0.1:$port
DATA_DIR=$d LISTEN_ADDR=127.0.0.1:$port IDP_ISSUER=$base "$d/idp" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
sleep 2
csrf() { curl -s -c "$1" "$base/login" | grep -o 'name="csrf" value="[^"]*"' | sed 's/.*value="//; s/"$//'; }

idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
posts=()
for i in 1 2 3 4 5 6; do
  token=$(csrf "$d/jar$i")
  curl -s -b "$d/jar$i" -o /dev/null -w "%{http_code} " -H "Origin: $base" -F "file=@$d/100mb.bin" -F csrf="$token" -F email=a -F password=b "$base/login" &
  posts+=($!)
done
wait "${posts[@]}"; echo
peak=$(awk '/VmHWM/{print $2}' /proc/$pid/status)
echo "six 100 MB multipart posts: idle $((idle / 1024)) MB, peak $((peak / 1024)) MB; load $(cut -d' ' -f1-3 /proc/loadavg)"

token=$(csrf "$d/guess")
end=$((SECONDS + 60)); refused=0
while ((SECONDS < end)); do
  code=$(curl -s -b "$d/guess" -o /dev/null -w "%{http_code}" -H "Origin: $base" --data "csrf=$token&email=bob%40tables.fake&password=guess$RANDOM" "$base/login")
  [[ $code == 429 ]] && refused=$((refused + 1))
done
checked=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"select count(*) from audit_events where event='user.session.start.failure'\").fetchone()[0])" "$d/idp.db")
echo "60 s of guessing one account: $checked wrong passwords checked, $refused refused unchecked (429); load $(cut -d' ' -f1-3 /proc/loadavg)"
