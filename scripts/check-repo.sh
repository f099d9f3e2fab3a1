#!/usr/bin/env bash
# Fails when the repository holds what must not be committed: a file over
# 1 MiB (a built binary, a data dump), a compiled executable, or an
# executable file that is not a script (no "#!" line). Built things stay
# out of git (.gitignore); `make build` puts the services in bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS= read -r -d '' f; do
  [[ -f "$f" ]] || continue # deleted in the working tree, not yet committed
  size=$(stat -c %s "$f")
  if (( size > 1048576 )); then
    echo "committed file over 1 MiB: $f ($size bytes)" >&2
    status=1
  fi
  magic=$(head -c 4 "$f" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
    7f454c46 | cffaedfe | cefaedfe | feedface | feedfacf | 4d5a*)
      echo "committed compiled executable: $f" >&2
      status=1
      continue
      ;;
  esac
  if [[ -x "$f" ]] && [[ "$(head -c 2 "$f")" != "#!" ]]; then
    echo "committed executable that is not a script: $f" >&2
    status=1
  fi
done < <(git ls-files -z)
exit $status
