#!/usr/bin/env bash
# Interop: the reference Join Server (`joincheck serve-js`) against lora-packet (npm) acting as
# end device and network server (ns_join.mjs). A fresh fleet with random keys every run.
#
# usage: tests/interop/run.sh PATH/TO/joincheck [SERVE-JS OPTIONS...]
#   further options go to serve-js, e.g. `--fault bad-accept-mic` to see the checks fail
# Needs node (>= 18, for fetch) and tests/interop/node_modules (scripts/install-deps installs both).
set -euo pipefail

bin=${1:?usage: run.sh PATH/TO/joincheck [SERVE-JS OPTIONS...]}
shift
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "interop: $*" >&2; exit 1; }

[ -x "$bin" ] || die "$bin is not an executable joincheck binary"
command -v node >/dev/null ||
  die "node is not installed; run scripts/install-deps (it installs nodejs and the npm packages of tests/interop)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "node $(node --version) is too old (need >= 18 for fetch); run scripts/install-deps"
[ -f "$here/node_modules/lora-packet/package.json" ] ||
  die "$here/node_modules/lora-packet is missing; run scripts/install-deps (npm ci in tests/interop)"
lp_version=$(node -p "require('$here/node_modules/lora-packet/package.json').version")
[ "$lp_version" = "0.9.3" ] ||
  die "tests/interop/node_modules has lora-packet $lp_version, package-lock.json pins 0.9.3; run scripts/install-deps"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-interop.XXXXXX")
js_pid=""
node_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  local pid
  for pid in $node_pid $js_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rand_hex() {  # rand_hex BYTES
  if command -v openssl >/dev/null; then openssl rand -hex "$1"
  else node -e "process.stdout.write(require('crypto').randomBytes($1).toString('hex')+'\n')"; fi
}

# The fleet: three devices per MAC version, two JoinEUIs, every key random.
net_id=000013
ns_kek=$(rand_hex 16)
as_kek=$(rand_hex 16)
join_euis=("$(rand_hex 8)" "$(rand_hex 8)")
{
  echo '{"devices": ['
  sep=""
  i=0
  for version in 1.0.3 1.0.4 1.1; do
    for _ in 1 2 3; do
      join_eui=${join_euis[$((i % 2))]}
      printf '%s  {"DevEUI": "%s", "JoinEUI": "%s", "MACVersion": "%s", "AppKey": "%s"' \
        "$sep" "$(rand_hex 8)" "$join_eui" "$version" "$(rand_hex 16)"
      [ "$version" = 1.1 ] && printf ', "NwkKey": "%s"' "$(rand_hex 16)"
      printf '}'
      sep=$',\n'
      i=$((i + 1))
    done
  done
  printf '\n]}\n'
} >"$tmp/fleet.json"

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The JS answers when a POST gets any HTTP answer (an empty body gets a TS002 error, which is fine).
answers() {  # answers URL
  node -e '
    fetch(process.argv[1], {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}",
                            signal: AbortSignal.timeout(1000)})
      .then(() => process.exit(0), () => process.exit(1));' "$1" 2>/dev/null
}

# Start the JS on a free port; another process may take the port between the probe and the
# bind, so try a few ports.
url=""
for attempt in 1 2 3; do
  port=$(free_port)
  "$bin" serve-js --listen "127.0.0.1:$port" --devices "$tmp/fleet.json" \
    --ns "$net_id" --kek "$net_id=$ns_kek" --kek "as=$as_kek" --as-kek as --quiet "$@" \
    >"$tmp/js.log" 2>&1 &
  js_pid=$!
  for _ in $(seq 1 100); do  # at most ~10 s
    if ! kill -0 "$js_pid" 2>/dev/null; then break; fi
    if answers "http://127.0.0.1:$port/"; then url="http://127.0.0.1:$port/"; break; fi
    sleep 0.1
  done
  [ -n "$url" ] && break
  if kill -0 "$js_pid" 2>/dev/null; then
    echo "interop: serve-js on port $port did not answer within 10 s; its log:" >&2
    sed 's/^/    /' "$tmp/js.log" >&2
    exit 1
  fi
  wait "$js_pid" 2>/dev/null || true
  js_pid=""
  echo "interop: serve-js exited on port $port (attempt $attempt); its log:" >&2
  sed 's/^/    /' "$tmp/js.log" >&2
  grep -qi "address already in use" "$tmp/js.log" || exit 1  # only a lost port race is worth a retry
done
[ -n "$url" ] || die "could not start serve-js"

echo "# joincheck serve-js at $url; lora-packet $lp_version; node $(node --version)"
# In the background so that INT/TERM (a ctest timeout) runs the trap at once.
node "$here/ns_join.mjs" --js "$url" --fleet "$tmp/fleet.json" --net-id "$net_id" \
  --kek "$net_id=$ns_kek" --kek "as=$as_kek" --as-kek-label as &
node_pid=$!
status=0
wait "$node_pid" || status=$?
node_pid=""

if ! kill -0 "$js_pid" 2>/dev/null; then
  echo "interop: serve-js died during the run; its log:" >&2
  sed 's/^/    /' "$tmp/js.log" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
