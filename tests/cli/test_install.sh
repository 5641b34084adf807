#!/usr/bin/env bash
# joincheck installed like any other tool: `cmake --install` into a temporary prefix, then the
# installed program, its man pages and `import joincheck` from there, away from the build tree;
# then the .deb of `make package` (CPack): its dependencies, its files, and the program it holds.
#
# usage: tests/cli/test_install.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: test_install.sh BUILD_DIR}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin="$build/cli/joincheck"  # for lib.sh; the checks below run the installed copies
# shellcheck source=lib.sh
source "$here/lib.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

echo "# cmake --install into a temporary prefix"
prefix="$tmp/prefix"
# Every step under a deadline: a step that blocks is a failure that says which, not a test timeout.
if timeout 120 cmake --install "$build" --prefix "$prefix" >install.log 2>&1; then ok "cmake --install"; else fail "cmake --install" "$(cat install.log)"; fi
installed="$prefix/bin/joincheck"
version=$("$bin" --version)
expect_grep "the build's --version names version and commit" <(echo "$version") '^joincheck [0-9]+\.[0-9]+\.[0-9]+( \(git [0-9a-f]{12}(-dirty)?\))?$'
if [ -x "$installed" ]; then ok "the program is in bin/"; else fail "the program is in bin/" "$(find "$prefix" | head -30)"; fi
expect_eq "the installed program says the same version" "$("$installed" --version 2>&1)" "$version"
# A run of the installed program from an empty folder: it needs nothing from the source or build tree.
mkdir away && cd away
rc=0
env -u PYTHONPATH timeout 60 "$installed" run --only join/success-1.0.3 --json r.json --html r.html >run.out 2>&1 || rc=$?
expect_eq "the installed program runs the suite from anywhere (exit 0)" "$rc" 0
expect_grep "its JSON report names the version" r.json "\"version\": \"$(echo "$version" | cut -d' ' -f2)\""
expect_grep "its HTML report is written" r.html '<script type="application/json" id="joincheck-data">'
cd "$tmp"

for page in joincheck joincheck-run joincheck-doctor joincheck-gateway joincheck-serve-js joincheck-serve-ns \
            joincheck-decode joincheck-list joincheck-devices-generate joincheck-devices-export joincheck-load joincheck-report-merge; do
  file="$prefix/share/man/man1/$page.1.gz"
  if [ -f "$file" ]; then
    zcat "$file" >"$page.1"
    expect_grep "man page $page(1) names the command" "$page.1" "^$page \\\\- "
  else
    fail "man page $page(1) is installed" "$(ls "$prefix/share/man/man1" 2>&1)"
  fi
done
expect_grep "joincheck-run(1) documents --html" joincheck-run.1 'html'
expect_grep "joincheck-run(1) documents --target" joincheck-run.1 'target'
if command -v man >/dev/null; then
  if MANWIDTH=80 timeout 30 man -l "$prefix/share/man/man1/joincheck-run.1.gz" </dev/null >man.txt 2>man.err; then
    expect_grep "man renders joincheck-run(1)" man.txt 'NAME'
  else
    fail "man renders joincheck-run(1)" "$(cat man.err)"
  fi
fi
for doc in README.md checks.md doctor.md ci.md examples/ci/github-actions.yml examples/ci/gitlab-ci.yml scenarios/devnonce.json; do
  if [ -f "$prefix/share/doc/joincheck/$doc" ]; then ok "doc $doc is installed"; else fail "doc $doc is installed"; fi
done

with_python=false
if ls "$build"/bindings/python/joincheck/_joincheck*.so >/dev/null 2>&1; then with_python=true; fi
py_site=$(find "$prefix/lib" -path '*dist-packages/joincheck/__init__.py' 2>/dev/null | head -1 || true)
if ! $with_python; then
  echo "skip the Python package: this build tree has no Python module (JOINCHECK_BUILD_PYTHON=OFF)"
elif [ -n "$py_site" ]; then
  site=$(dirname "$(dirname "$py_site")")
  ok "the Python package is installed (${site#"$prefix"/})"
  pyver=$(/usr/bin/python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  expect_eq "under lib/python$pyver/dist-packages, where Debian's Python looks in /usr/local" "${site#"$prefix"/}" "lib/python$pyver/dist-packages"
  rc=0
  (cd away && env PYTHONPATH="$site" timeout 60 /usr/bin/python3 -c '
import joincheck, sys
assert joincheck.__file__.startswith(sys.argv[1]), joincheck.__file__
print(joincheck.__version__)
report = joincheck.run(only=["join/success-1.0.3"])
assert report.exit_code() == 0, report.exit_code()
' "$site") >py.out 2>&1 || rc=$?
  if [ "$rc" -eq 0 ]; then ok "python3 -c 'import joincheck' from the prefix runs a check"; else fail "import joincheck from the prefix" "$(cat py.out)"; fi
else
  fail "the Python package is installed" "$(find "$prefix" -name '*.py' | head)"
fi

echo "# make package: the .deb"
if ! command -v dpkg-deb >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
  fail "dpkg-deb and dpkg-shlibdeps are installed (dpkg-dev, from build-essential: scripts/install-deps)"
else
  if timeout 180 cpack -G DEB -B "$tmp/pkg" --config "$build/CPackConfig.cmake" >cpack.log 2>&1; then ok "cpack builds the .deb"; else fail "cpack" "$(tail -30 cpack.log)"; fi
  deb=$(ls "$tmp"/pkg/joincheck_*.deb 2>/dev/null | head -1)
  if [ -n "$deb" ]; then
    dpkg-deb -f "$deb" Depends >depends.txt
    deps=(libssl3 libsqlite3-0 'libstdc\+\+6' libc6)
    if $with_python; then deps+=('python3 \(>= 3'); fi
    for dep in "${deps[@]}"; do
      expect_grep "the .deb depends on $dep" depends.txt "$dep"
    done
    dpkg-deb -c "$deb" >contents.txt
    for path in ./usr/bin/joincheck ./usr/share/man/man1/joincheck-run.1.gz ./usr/share/doc/joincheck/README.md; do
      expect_grep "the .deb holds $path" contents.txt " $path\$"
    done
    if $with_python; then
      expect_grep "the .deb holds the Python package where Debian's Python looks" contents.txt \
        ' ./usr/lib/python3/dist-packages/joincheck/__init__.py$'
      expect_grep "the Python module is in the .deb" contents.txt './usr/lib/python3/dist-packages/joincheck/_joincheck.*\.so$'
    fi
    dpkg-deb -x "$deb" root
    # cpack builds the tree first: the program it packed is the build's as it is now.
    expect_eq "the .deb's program runs" "$(root/usr/bin/joincheck --version 2>&1)" "$("$bin" --version)"
    for f in root/usr/bin/joincheck root/usr/lib/python3/dist-packages/joincheck/_joincheck*.so; do
      [ -e "$f" ] || continue
      if readelf -S "$f" | grep -q '\.debug_info'; then fail "${f#root} in the .deb is stripped"; else ok "${f#root} in the .deb is stripped"; fi
    done
  else
    fail "cpack wrote joincheck_*.deb" "$(ls "$tmp/pkg")"
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
