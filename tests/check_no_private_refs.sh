#!/usr/bin/env bash
# The project's files speak only of the project: no source, test, doc or comment may cite notes
# that are not part of this repository (backend-interfaces, vectors, prior-art and secure-element
# notes), which a user cannot open. References name the primary source (TS002,
# LoRaWAN, an RFC, an upstream file) and, where the project explains more, a file under docs/.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2

# The patterns, written so that this file does not match itself.
pattern='backend-interfaces[.]md|shared/refer''ence|vectors[.]md|prior-art[.]md|reference/secure''-element'

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files -co --exclude-standard)
else
  mapfile -t files < <(find . -type f -not -path './build*' -not -path '*/node_modules/*' -not -path './.git/*' | sed 's|^\./||')
fi

found=0
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  case $f in build/* | build-*/* | */node_modules/*) continue ;; esac
  while IFS= read -r hit; do
    line=${hit%%:*}
    text=${hit#*:}
    echo "$f:$line: cites notes outside the repository: ${text:0:160}"
    found=$((found + 1))
  done < <(grep -nIE "$pattern" -- "$f" 2>/dev/null)
done

if ((found > 0)); then
  echo "FAIL: $found citation(s) of notes outside the repository; cite the primary source and docs/ instead"
  exit 1
fi
echo "ok: no citation of notes outside the repository"
