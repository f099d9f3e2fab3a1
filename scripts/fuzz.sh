#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 3s). `make test` runs
# them briefly; `make fuzz FUZZTIME=5m` runs them for real.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${FUZZTIME:-3s}"
targets=(
  "FuzzVerify        ./shared/idjag"
  "FuzzTokenEndpoint ./shared/oauth"
  "FuzzRedactForm    ./shared/trace"
)
for t in "${targets[@]}"; do
  read -r name pkg <<<"$t"
  echo "fuzz $name ($pkg) for $time"
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$time" "$pkg"
done
