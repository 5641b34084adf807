#!/usr/bin/env bash
# The README's quick start, run as written: the block between <!-- quickstart --> and
# <!-- /quickstart --> in README.md, line by line, on a fresh folder. Only the port is changed (to
# a free one) and `joincheck` is the binary under test. The run must exit 0 with no MUST check
# skipped for want of a device; run again, it passes again (the state file); a Python session
# with the same state file continues the same counters (pytest's --joincheck-state takes it).
set -euo pipefail
bin=${1:?usage: test_quickstart.sh PATH/TO/joincheck}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
readme=$here/../../README.md
python_dir=$(cd "$(dirname "$bin")/../bindings/python" 2>/dev/null && pwd || true)

# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
enter_temp_dir quickstart

sed -n '/^<!-- quickstart/,/^<!-- \/quickstart -->/p' "$readme" | sed -n '/^```sh$/,/^```$/p' | grep -v '^```' >block.sh
if [ "$(grep -c '^joincheck ' block.sh)" -ge 3 ]; then ok "README has a quick start block of joincheck commands"
else fail "README has no quick start block between <!-- quickstart --> markers" "$(cat block.sh)"; exit 1; fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
n=0
while IFS= read -r line; do
  case $line in
    export\ PATH=*) continue ;;  # the test runs the binary under test instead
    joincheck\ *) ;;
    *) fail "unexpected line in the quick start: $line"; continue ;;
  esac
  line=${line//8003/$port}
  n=$((n + 1))
  read -r -a words <<<"${line#joincheck }"
  if [ "${words[-1]}" = "&" ]; then
    unset 'words[-1]'
    "$bin" "${words[@]}" 2>js.log &
    js_pid=$!
    for _ in $(seq 100); do grep -q 'listening on' js.log && break; kill -0 "$js_pid" 2>/dev/null || break; sleep 0.1; done
    if grep -q 'listening on' js.log; then ok "quick start: joincheck ${words[0]} started"
    else fail "quick start: joincheck ${words[0]} did not start" "$(cat js.log)"; exit 1; fi
    if grep -q 'warning' js.log; then fail "quick start: serve-js warns about its set-up" "$(grep warning js.log)"
    else ok "quick start: serve-js has nothing to warn about"; fi
  else
    jc "step$n" "${words[@]}"
    expect_rc "quick start: joincheck ${words[0]}" "step$n" 0
    last="step$n"
    last_words=("${words[@]}")
  fi
done <block.sh

expect_eq "the last step of the quick start is joincheck run" "${last_words[0]}" run
expect_grep "quick start: the run's summary has 0 fail, 0 error" "$last.out" '^joincheck: [0-9]+ checks: [0-9]+ pass, 0 fail, [0-9]+ warn, [0-9]+ skip, 0 error'
expect_no_grep "quick start: no check skipped for want of a device" "$last.out" '^SKIP .*the fleet has'
bad_skips=$(grep -E '^SKIP  ' "$last.out" | grep -vE '^SKIP  (async|tls|air)/|^SKIP  kek/.*no KEK' || true)
if [ -z "$bad_skips" ]; then ok "quick start: only async, tls, air (plain HTTP, no gateway) and KEK checks are skipped"
else fail "quick start: other checks are skipped" "$bad_skips"; fi

# Again: the state file continues the counters, the JS still knows the first run's DevNonces.
jc again "${last_words[@]}"
expect_rc "quick start: the run again, with the same state file" again 0

# The Python package shares the state file (pytest's --joincheck-state FILE is this State).
if [ -n "$python_dir" ] && [ -f "$python_dir/joincheck/__init__.py" ]; then
  url=$(sed -n 's/.*listening on \(http:[^ ]*\) .*/\1/p' js.log)
  if out=$(PYTHONPATH=$python_dir python3 - "$url" 2>&1 <<'PY'
import sys, joincheck
with joincheck.Harness(sys.argv[1], fleet="fleet.json", state="run-state.json") as h:
    report = h.run(only="devnonce")
    assert report.passed(strict=True), str(report)
    print(report.counts)
PY
  ); then ok "quick start: a Python run with the same state file passes"
  else fail "quick start: a Python run with the same state file" "$out"; fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
