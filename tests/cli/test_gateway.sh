#!/usr/bin/env bash
# `joincheck gateway` and `joincheck serve-ns` run as an operator runs them: serve-js and serve-ns
# on ephemeral ports (each prints the address it bound), a fleet made with `devices generate`,
# then every device joins and sends through two simulated gateways; the console lines, the
# summary, the JUnit report (validated against junit-10.xsd) and the JSON report; a device the JS
# does not know (exit 1, the step it died at); --state across runs against a JS that remembers;
# serve-ns configured from a target file; an NS that does not answer (exit 3 within seconds);
# usage errors (exit 2, one clear line); no root key in any output.
set -euo pipefail
bin=${1:?usage: test_gateway.sh PATH/TO/joincheck}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
xsd=$here/../reports/schema/jenkins-xunit-junit-10.xsd
[ -f "$xsd" ] || { echo "missing schema $xsd"; exit 1; }
command -v xmllint >/dev/null || { echo "xmllint is needed (apt-get install libxml2-utils)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-gateway.XXXXXX")
js_pid="" ns_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  for p in "$ns_pid" "$js_pid"; do
    if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then kill "$p"; wait "$p" 2>/dev/null || true; fi
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"

# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"

expect_valid_junit() {  # expect_valid_junit WHAT FILE
  local out
  if [ ! -s "$2" ]; then fail "$1: $2 was not written"; return; fi
  if out=$(xmllint --noout --schema "$xsd" "$2" 2>&1); then ok "$1: $2 validates against junit-10.xsd"
  else fail "$1: $2 does not validate against junit-10.xsd" "$out"; fi
}
cat >jq.py <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {"d": d, "re": re}))
PY
jq_py() { python3 jq.py "$1" "$2"; }
# junit_py FILE EXPR: EXPR evaluated with the testcases as `cases` (ElementTree elements).
cat >junit.py <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).iter("testcase"))
print(eval(sys.argv[2], {"cases": cases}))
PY
junit_py() { python3 junit.py "$1" "$2"; }

# --- fleets -------------------------------------------------------------------------------------
seed=0
for v in 1.0.3 1.0.4 1.1; do
  seed=$((seed + 1))
  "$bin" devices generate --count $([ $v = 1.0.3 ] && echo 2 || echo 1) --join-eui 0000000000000001 \
    --mac-version $v --seed $seed --out "f$v.json" 2>/dev/null
done
"$bin" devices generate --count 1 --join-eui 0000000000000001 --mac-version 1.0.3 --seed 99 --out stranger.json 2>/dev/null
python3 - <<'PY'
import json
devices = []
for v in ("1.0.3", "1.0.4", "1.1"):
    devices += json.load(open("f%s.json" % v))["devices"]
assert len({d["DevEUI"] for d in devices}) == 4, "DevEUIs collide"
json.dump({"devices": devices}, open("all.json", "w"), indent=2)
stranger = json.load(open("stranger.json"))["devices"][0]
json.dump({"devices": [devices[0], stranger]}, open("unknown.json", "w"), indent=2)
print(stranger["DevEUI"], file=open("stranger.eui", "w"))
PY
stranger=$(cat stranger.eui)
root_keys=$(python3 -c 'import json; print(" ".join(d[k] for f in ("all.json", "unknown.json") for d in json.load(open(f))["devices"] for k in ("AppKey", "NwkKey") if k in d))')
kek=000102030405060708090a0b0c0d0e0f

# --- serve-js and serve-ns on ephemeral ports ------------------------------------------------------
# start_ns LOG ARGS...: serve-ns on a free UDP port; events in LOG.out; sets ns_pid and ns_port.
start_ns() {
  local log=$1; shift
  "$bin" serve-ns --listen udp://127.0.0.1:0 "$@" >"$log.out" 2>"$log.err" &
  ns_pid=$!
  for _ in $(seq 100); do
    grep -q 'listening on' "$log.err" && break
    kill -0 "$ns_pid" 2>/dev/null || break
    sleep 0.1
  done
  ns_port=$(sed -n 's/.*listening on udp:\/\/127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$log.err")
  if [ -z "$ns_port" ]; then echo "serve-ns did not start:"; cat "$log.err"; exit 1; fi
}
stop_ns() { kill "$ns_pid" 2>/dev/null || true; wait "$ns_pid" 2>/dev/null || true; ns_pid=""; }

start_js js.log --devices all.json --ns 000001 --kek "000001=$kek"
start_ns ns --js "$js_url" --kek "000001=$kek" --devices all.json
expect_grep "serve-ns: says where it listens, the region, the JS and the NetID" ns.err \
  "^joincheck serve-ns: listening on udp://127\.0\.0\.1:$ns_port \(EU868\), JS $js_url, NetID 000001, 4 devices"

# --- every device joins and sends ----------------------------------------------------------------
echo "# four devices through two gateways"
jc ok gateway --ns "udp://127.0.0.1:$ns_port" --devices all.json --gateways 2 --uplinks 1 --junit ok.xml --json ok.json
expect_rc "gateway (serve-ns + serve-js)" ok 0
expect_grep "header: the gateway EUIs to register in the NS" ok.out \
  "^joincheck gateway: 4 devices, one at a time, through 2 gateways \(6a63[0-9a-f]{12}, 6a63[0-9a-f]{12}\) to NS 127\.0\.0\.1:$ns_port, EU868$"
n=$(grep -cE '^PASS  [0-9a-f]{16} 1\.(0\.[34]|1) joined in RX1 \(SF7BW125 868\.[135]00 MHz, [0-9]+\.[0-9] s\), 1/1 uplinks acknowledged$' ok.out || true)
expect_eq "one PASS line per device: joined in RX1, 1/1 uplinks acknowledged" "$n" 4
expect_grep "summary line" ok.out \
  "^joincheck gateway: 4 devices: 4 pass, 0 fail, 0 error in [0-9.]+ s \(NS 127\.0\.0\.1:$ns_port, EU868, 2 gateways, 1 confirmed uplink per device\)$"
expect_valid_junit "gateway" ok.xml
expect_eq "JUnit: one passing testcase per device, classname gateway.<MACVersion>" \
  "$(junit_py ok.xml "sorted((c.get('classname'), len(list(c))) for c in cases)")" \
  "[('gateway.1.0.3', 1), ('gateway.1.0.3', 1), ('gateway.1.0.4', 1), ('gateway.1.1', 1)]"
expect_eq "JUnit: system-out lists every step" \
  "$(junit_py ok.xml "cases[0].find('system-out').text.count('pass  ')")" 6
expect_eq "JSON: summary" "$(jq_py ok.json "(d['summary']['pass'], d['summary']['total'], d['exit_code'])")" "(4, 4, 0)"
expect_eq "JSON: steps per device" "$(jq_py ok.json "[len(x['steps']) for x in d['devices']]")" "[6, 6, 6, 6]"
expect_eq "JSON: the 1.1 device joined with OptNeg=1" \
  "$(jq_py ok.json "'OptNeg=1' in d['devices'][3]['steps'][3]['detail']")" True
for k in join-request join-accepted data-uplink downlink-sent; do
  expect_eq "serve-ns printed a $k event per device" "$(grep -c " $k " ns.out || true)" \
    "$([ $k = downlink-sent ] && echo 8 || echo 4)"
done

# --- a device the JS does not know ---------------------------------------------------------------
echo "# a device the JS does not know"
# Another seed: the 1.0.3 device draws other random DevNonces than in the run above (the JS remembers).
jc unknown gateway --ns "udp://127.0.0.1:$ns_port" --devices unknown.json --timeout-join 2 --seed 3 \
  --junit unknown.xml --json unknown.json
expect_rc "a device the JS does not know" unknown 1
expect_grep "its line names the step it died at" unknown.out \
  "^FAIL  $stranger 1\.0\.3 died at join-accept received: no join-accept within 2000 ms of the join-request"
expect_grep "the known device still passes" unknown.out '^PASS  [0-9a-f]{16} 1\.0\.3 joined in RX1 '
expect_grep "summary: 1 pass, 1 fail" unknown.out '^joincheck gateway: 2 devices: 1 pass, 1 fail, 0 error '
expect_valid_junit "a device the JS does not know" unknown.xml
expect_eq "JUnit: its testcase has a <failure> of type join-accept received" \
  "$(junit_py unknown.xml "[c.find('failure').get('type') for c in cases if c.get('name') == '$stranger']")" \
  "['join-accept received']"
expect_eq "JSON: died_at" "$(jq_py unknown.json "d['devices'][1]['died_at']['step']")" "join-accept received"
expect_grep "serve-ns shows why: the JS answered UnknownDevEUI" ns.out \
  "join-failed .*dev_eui=$stranger .*result=UnknownDevEUI"

# --- --state: DevNonces keep counting across runs against a JS that remembers -------------------------
echo "# --state"
jc state1 gateway --ns "udp://127.0.0.1:$ns_port" --devices f1.0.4.json --uplinks 0 --state state.json --timeout-join 2
expect_rc "1.0.4 device, --state (first run; the JS saw DevNonce 0 above)" state1 1
jc state2 gateway --ns "udp://127.0.0.1:$ns_port" --devices f1.0.4.json --uplinks 0 --state state.json
expect_rc "1.0.4 device, --state (second run)" state2 0
expect_eq "the state file holds the next DevNonce" \
  "$(jq_py state.json "[v['DevNonceNext'] for v in d['devices'].values()]")" "[2]"
jc state3 gateway --ns "udp://127.0.0.1:$ns_port" --devices f1.0.4.json --uplinks 0 --timeout-join 2
expect_rc "1.0.4 device without --state replays DevNonce 0" state3 1
expect_grep "the replay dies at join-accept received" state3.out 'died at join-accept received'
expect_grep "the replay: the likely cause comes first, with what to do" state3.out \
  'died at join-accept received: no join-accept within 2000 ms[^;]*; likely cause: the JS refused a DevNonce it has seen before.*--state FILE'
expect_grep "serve-ns shows the JS's actual answer to the replay" ns.out 'join-failed .*result=(JoinReqFailed|FrameReplayed)'
stop_ns
expect_grep "serve-ns: a summary line when stopped" ns.err \
  '^joincheck serve-ns: [0-9]+ join-requests, [0-9]+ joined, [1-9][0-9]* join failures, [0-9]+ data uplinks'

# --- serve-ns from a target file --------------------------------------------------------------------
echo "# serve-ns --target"
cat >target.toml <<TOML
url = "$js_url"
[ns]
net_id = "000001"
[[kek]]
label = "000001"
kek = "$kek"
TOML
start_ns ns2 --target target.toml --devices all.json
# A 1.0.3 device (random DevNonces, another seed): the counting devices have used their next DevNonce.
jc target gateway --ns "udp://127.0.0.1:$ns_port" --devices f1.0.3.json --max-devices 1 --unconfirmed --uplinks 2 --seed 5 \
  --stat-interval 0
expect_rc "serve-ns --target target.toml, unconfirmed uplinks, no stat" target 0
expect_grep "unconfirmed uplinks are counted as sent" target.out \
  '^PASS  [0-9a-f]{16} 1\.0\.3 joined in RX1 \(.*\), 2/2 uplinks sent$'
expect_grep "serve-ns --target: the session keys came wrapped with the file's KEK" ns2.out \
  'join-accepted .*NwkSKey \(KEK 000001\)'
stop_ns

# --- an NS that does not answer -------------------------------------------------------------------
echo "# unreachable NS"
free_port=$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start=$(date +%s)
jc unreach gateway --ns "udp://127.0.0.1:$free_port" --devices all.json --junit unreach.xml --json unreach.json
elapsed=$(( $(date +%s) - start ))
expect_rc "nothing listens on the NS port" unreach 3
if [ "$elapsed" -le 10 ]; then ok "unreachable NS: exit within $elapsed s"; else fail "unreachable NS: took $elapsed s"; fi
expect_grep "unreachable NS: says so" unreach.out \
  "^joincheck gateway: the NS at 127\.0\.0\.1:$free_port could not be reached: .*never acknowledged PULL_DATA"
expect_valid_junit "unreachable NS" unreach.xml
expect_eq "unreachable NS: one <error> testcase" \
  "$(junit_py unreach.xml "[(c.get('name'), c.find('error') is not None) for c in cases]")" "[('setup/ns-reachable', True)]"
expect_eq "unreachable NS: JSON setup_error and exit_code" \
  "$(jq_py unreach.json "('PULL_DATA' in d['setup_error'], d['exit_code'])")" "(True, 3)"

# --- usage errors: exit 2, one clear line ------------------------------------------------------------
echo "# usage errors"
jc bad_ns gateway --ns http://127.0.0.1:1700 --devices all.json
expect_rc "--ns http://..." bad_ns 2
expect_grep "--ns http://...: one line naming --ns and the expected form" bad_ns.err \
  '^joincheck gateway: --ns: expected udp://HOST:PORT .*got "http://127\.0\.0\.1:1700"$'
jc bad_port gateway --ns udp://127.0.0.1:99999 --devices all.json
expect_rc "--ns with port 99999" bad_port 2
jc no_fleet gateway --ns udp://127.0.0.1:1700 --devices missing.json
expect_rc "--devices missing.json" no_fleet 2
expect_grep "--devices missing.json: names the file" no_fleet.err '^joincheck gateway: --devices: .*missing\.json'
jc bad_stat gateway --ns udp://127.0.0.1:1700 --devices all.json --stat-interval -1
expect_rc "--stat-interval -1" bad_stat 2
expect_eq "--stat-interval -1: one line" "$(cat bad_stat.err)" \
  'joincheck gateway: --stat-interval: expected seconds, 0 (no stat) to 86400'
jc bad_region gateway --ns udp://127.0.0.1:1700 --devices all.json --region AS923
expect_rc "--region AS923" bad_region 2
expect_eq "--region AS923: one line" "$(cat bad_region.err)" \
  'joincheck gateway: --region: expected EU868 or US915, got "AS923"'
jc bad_listen serve-ns --listen tcp://127.0.0.1:1700 --js http://127.0.0.1:9/
expect_rc "serve-ns --listen tcp://..." bad_listen 2
expect_grep "serve-ns --listen tcp://...: one line" bad_listen.err '^joincheck serve-ns: --listen: expected udp://HOST:PORT'
jc no_js serve-ns --listen udp://127.0.0.1:0
expect_rc "serve-ns without --js" no_js 2
expect_grep "serve-ns without --js: says what is missing" no_js.err '^joincheck serve-ns: no Join Server: give --js URL'

# --- no root key anywhere -------------------------------------------------------------------------
leaks=""
for k in $root_keys; do
  for f in ./*.out ./*.err ./*.xml ok.json unknown.json unreach.json state.json; do
    grep -qi "$k" "$f" && leaks="$leaks $k in $f"
  done
done
if [ -n "$root_keys" ] && [ -z "$leaks" ]; then ok "no root key in any output, report or state file"
else fail "root keys printed:${leaks:- (no root key read from the fleets)}"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
