#!/usr/bin/env bash
# Sums vitest's per-package "Tests  N passed | M failed | K skipped" lines into one closing line,
# after the reasons tests were skipped (the "skipped: ..." lines of @cbtm/testing), each once.
set -euo pipefail
clean=$(sed 's/\x1b\[[0-9;]*m//g' "$1")
sed -nE 's/.*(skipped: .* which is not installed.*)$/\1/p' <<<"$clean" | awk '!seen[$0]++'
grep -E ' Tests +[0-9]' <<<"$clean" | grep -v 'Test Files' | awk '
  { if (match($0, /[0-9]+ passed/)) p += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ failed/)) f += substr($0, RSTART, RLENGTH) + 0
    if (match($0, /[0-9]+ skipped/)) s += substr($0, RSTART, RLENGTH) + 0 }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }'
