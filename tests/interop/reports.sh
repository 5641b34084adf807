#!/usr/bin/env bash
# joincheck's reports read by independent programs (reports.mjs): the HTML report of `run` (with
# failures and without), `doctor`, `gateway` and `load` (passing, failing an assertion, and with
# no answer at all) in headless Chromium, and their JUnit files with junit2json. Screenshots are kept in SCREENSHOT_DIR (the build tree, under ctest).
#
# usage: tests/interop/reports.sh PATH/TO/joincheck SCREENSHOT_DIR
# Needs node, chromium and tests/interop/node_modules (scripts/install-deps installs them).
set -euo pipefail

bin=${1:?usage: reports.sh PATH/TO/joincheck SCREENSHOT_DIR}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
shots=${2:?usage: reports.sh PATH/TO/joincheck SCREENSHOT_DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "reports: $*" >&2; exit 1; }

[ -x "$bin" ] || die "$bin is not an executable joincheck binary"
command -v node >/dev/null || die "node is not installed; run scripts/install-deps"
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || die "$chromium is missing; run scripts/install-deps (it installs Debian's chromium)"
for p in puppeteer-core junit2json; do
  [ -f "$here/node_modules/$p/package.json" ] || die "$here/node_modules/$p is missing; run scripts/install-deps (npm ci in tests/interop)"
done
mkdir -p "$shots"
shots=$(cd "$shots" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-reports.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

# reports NAME: the three report options, files named after NAME.
reports() { echo --json "$1.json" --junit "$1.xml" --html "$1.html"; }
# expect_exit WANT NAME ARGS...: runs joincheck, its output in NAME.log.
expect_exit() {
  local want=$1 name=$2; shift 2
  local rc=0
  "$bin" "$@" >"$name.log" 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || { cat "$name.log"; die "joincheck $* exited $rc, expected $want"; }
}

# run: the embedded reference JS, all green; then a KEK label the NS does not have: failures.
# shellcheck disable=SC2046  # reports() gives several words on purpose
expect_exit 0 run-pass run --only join/success-1.0.3 --only join/success-1.1 $(reports run-pass)
# shellcheck disable=SC2046
expect_exit 1 run-fail run --fault wrong-kek-label --only kek --only join/success-1.0.3 $(reports run-fail)

# run: a JS that cannot be reached: a setup error, every check an error (exit 3).
# shellcheck disable=SC2046
"$bin" devices generate --count 1 --join-eui 70b3d57ed0000000 --mac-version 1.0.3 --seed 3 --out one.json >/dev/null
expect_exit 3 run-unreachable run --target http://127.0.0.1:1 --devices one.json --only join/success-1.0.3 $(reports run-unreachable)

# doctor: a ChirpStack v3 file whose default JS has an empty server (v3's `Post ""`), with the
# decision path of a JoinEUI.
cat >v3.toml <<'TOML'
[network_server]
net_id = "000001"

[join_server]
resolve_join_eui = false

[join_server.default]
server = ""
TOML
# shellcheck disable=SC2046
expect_exit 1 doctor doctor --chirpstack-config v3.toml --offline --join-eui 0102030405060708 $(reports doctor)

# gateway: serve-js and serve-ns; two devices the JS knows join, two it does not know fail.
kek=000102030405060708090a0b0c0d0e0f
"$bin" devices generate --count 2 --join-eui 70b3d57ed0000000 --mac-version 1.0.3 --seed 1 --out known.json >/dev/null
"$bin" devices generate --count 2 --join-eui 70b3d57ed0000000 --mac-version 1.1 --seed 2 --out unknown.json >/dev/null
node -e '
  const fs = require("fs");
  const a = JSON.parse(fs.readFileSync("known.json")), b = JSON.parse(fs.readFileSync("unknown.json"));
  a.devices.push(...b.devices);
  fs.writeFileSync("both.json", JSON.stringify(a));'
# wait_listening LOG PID: until LOG says "listening on" (10 s at most).
wait_listening() {
  for _ in $(seq 100); do
    grep -q 'listening on' "$1" && return 0
    kill -0 "$2" 2>/dev/null || break
    sleep 0.1
  done
  cat "$1"; die "$1: the server did not start"
}
"$bin" serve-js --listen 127.0.0.1:0 --devices known.json --ns 000001 --kek "000001=$kek" --quiet 2>js.log &
pids+=($!); wait_listening js.log "$!"
js_url=$(sed -n 's/.*listening on \(http:[^ ]*\) .*/\1/p' js.log)
"$bin" serve-ns --listen udp://127.0.0.1:0 --js "$js_url" --devices both.json \
  --kek "000001=$kek" >ns.out 2>ns.err &
pids+=($!); wait_listening ns.err "$!"
ns_port=$(sed -n 's/.*listening on udp:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' ns.err)
# shellcheck disable=SC2046
expect_exit 1 gateway gateway --ns "udp://127.0.0.1:$ns_port" --devices both.json --uplinks 1 --timeout-join 2 \
  $(reports gateway)

# load: a closed loop against the embedded reference JS, judged by the default errors=0 (passes);
# the same judged by a p99 no JS meets (fails); and a JS that cannot be reached (exit 3): one
# second of errors, no latency to plot; and a closed loop with RejoinReqs among the JoinReqs.
# shellcheck disable=SC2046
expect_exit 0 load-pass load --max --duration 2s --connections 4 $(reports load-pass)
# shellcheck disable=SC2046
expect_exit 1 load-fail load --max --duration 2s --connections 4 --assert 'p99<=1us' $(reports load-fail)
# shellcheck disable=SC2046
expect_exit 0 load-mix load --max --duration 2s --connections 4 --mix rejoin0=10%,rejoin1=5% $(reports load-mix)
# shellcheck disable=SC2046
expect_exit 3 load-unreachable load --target http://127.0.0.1:1 --devices one.json --max --duration 1s \
  --connections 1 $(reports load-unreachable)

node "$here/reports.mjs" "$shots" \
  run-pass:run:run-pass.json:run-pass.xml:run-pass.html \
  run-fail:run:run-fail.json:run-fail.xml:run-fail.html \
  run-unreachable:run:run-unreachable.json:run-unreachable.xml:run-unreachable.html \
  doctor:doctor:doctor.json:doctor.xml:doctor.html \
  gateway:gateway:gateway.json:gateway.xml:gateway.html \
  load-pass:load:load-pass.json:load-pass.xml:load-pass.html \
  load-fail:load:load-fail.json:load-fail.xml:load-fail.html \
  load-mix:load:load-mix.json:load-mix.xml:load-mix.html \
  load-unreachable:load:load-unreachable.json:load-unreachable.xml:load-unreachable.html
