#!/usr/bin/env bash
# The project's files speak only of the project: no source, test, doc or comment may cite the
# team's private notes (the backend-interfaces, vectors, prior-art and secure-element notes kept
# outside the repository), which a user cannot open. References name the primary source (TS002,
# LoRaWAN, an RFC, an upstream file) and, where the project explains more, a file under docs/.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

# The patterns, written so that this file does not match itself.
pattern='backend-interfaces[.]md|shared/refer''ence|vectors[.]md|prior-art[.]md|reference/secure''-element'

# TEMPORARY_EXCEPTIONS: citations in files other changes are rewriting right now (issue 18).
# Each entry is a path, or "path|text" for one line of that file. Remove an entry once its change
# has landed; the list must end up empty.
TEMPORARY_EXCEPTIONS=(
  "conformance/profiles/brocaar.toml"
  "conformance/profiles/lorawan-js.toml"
  "conformance/profiles/simple-join-server.toml"
  "conformance/profiles/tts.toml"
  "sim/join_server/faults.hpp"
  "sim/join_server/faults.cpp"
  "sim/join_server/join_server.cpp"
  "conformance/runner.cpp"
  "docs/proof.md"
  "tests/conformance/test_suite_proof.cpp"
  "tests/conformance/test_profile.cpp"
  "tests/sim/test_join_server_faults.cpp"
  "conformance/check.cpp|\"LoRaWAN 1.1 §6.2.4; backend-interfaces"".md §4.4\"},"
)

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard)
else
  mapfile -t files < <(find . -type f -not -path './build*' -not -path '*/node_modules/*' -not -path './.git/*' | sed 's|^\./||')
fi

excepted() {  # $1 = path, $2 = line text
  local e
  for e in "${TEMPORARY_EXCEPTIONS[@]}"; do
    if [[ $e == *"|"* ]]; then
      [[ $1 == "${e%%|*}" && $2 == *"${e#*|}"* ]] && return 0
    else
      [[ $1 == "$e" ]] && return 0
    fi
  done
  return 1
}

found=0
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  case $f in build/* | build-*/* | */node_modules/*) continue ;; esac
  while IFS= read -r hit; do
    line=${hit%%:*}
    text=${hit#*:}
    excepted "$f" "$text" && continue
    echo "$f:$line: cites the private notes: ${text:0:160}"
    found=$((found + 1))
  done < <(grep -nIE "$pattern" -- "$f" 2>/dev/null)
done

if ((found > 0)); then
  echo "FAIL: $found citation(s) of the private notes; cite the primary source and docs/ instead"
  exit 1
fi
echo "ok: no citation of the private notes (${#TEMPORARY_EXCEPTIONS[@]} temporary exception(s) left)"
