#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each: a duration (5m) or a number of
# inputs (100000x). `make test` runs 100,000 inputs each, about 3 s: a
# count, because with a duration Go's fuzzing coordinator can report a bare
# "context deadline exceeded" failure at the deadline when the machine is
# busy (golang/go#75804), with nothing found. `make fuzz FUZZTIME=5m` runs
# them for real.
set -euo pipefail
cd "$(dirname "$0")/.."
time="${FUZZTIME:-100000x}"
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
