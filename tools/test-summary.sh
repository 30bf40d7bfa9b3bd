#!/usr/bin/env bash
# Sums vitest's per-package "Tests  N passed | M failed" lines into one closing line.
set -euo pipefail
sed 's/\x1b\[[0-9;]*m//g' "$1" | grep -E ' Tests +[0-9]' | grep -v 'Test Files' | awk '
  { if (match($0, /[0-9]+ passed/)) p += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ failed/)) f += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ skipped/)) s += substr($0, RSTART, RLENGTH) + 0 }
  END { printf "tests: %d passed, %d failed", p, f; if (s) printf ", %d skipped", s; printf "\n" }'
