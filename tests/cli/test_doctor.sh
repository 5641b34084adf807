#!/usr/bin/env bash
# joincheck doctor as an operator runs it: ChirpStack v3 and v4 files written here, a test PKI
# made here with openssl (no private key is committed), and the reference JS over mutual TLS.
set -euo pipefail
bin=$(realpath "${1:?usage: test_doctor.sh JOINCHECK}")
here=$(cd "$(dirname "$0")" && pwd)
xsd="$here/../reports/schema/jenkins-xunit-junit-10.xsd"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-doctor.XXXXXX")
js_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() { [ -n "$js_pid" ] && kill "$js_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
cd "$tmp"

failures=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; [ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    /'; failures=$((failures + 1)); }
run() {  # run NAME ARGS...: stdout to NAME.out, stderr to NAME.err, exit code in rc
  local name=$1; shift
  rc=0
  "$bin" "$@" >"$name.out" 2>"$name.err" || rc=$?
}
expect_rc() { if [ "$rc" -eq "$2" ]; then ok "$1: exit $2"; else fail "$1: exit $rc, expected $2" "$(cat "$3.out" "$3.err")"; fi; }
expect_grep() { if grep -qE -- "$3" "$2"; then ok "$1"; else fail "$1: $2 does not match /$3/" "$(cat "$2")"; fi; }
expect_no_grep() { if grep -qE -- "$3" "$2"; then fail "$1: $2 matches /$3/" "$(grep -E -- "$3" "$2")"; else ok "$1"; fi; }

# --- a test PKI -------------------------------------------------------------------------------
pki() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=doctor test CA" \
    -keyout ca.key -out ca.pem 2>/dev/null
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=another CA" \
    -keyout other-ca.key -out other-ca.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout js.key -out js.csr 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\n' >js.ext
  openssl x509 -req -in js.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile js.ext -out js.pem 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=000001" \
    -keyout ns.key -out ns.csr 2>/dev/null
  openssl x509 -req -in ns.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -out ns.pem 2>/dev/null
}
pki

kek=000102030405060708090a0b0c0d0e0f
v4() {  # v4 SERVER CA KEK
  cat <<TOML
[network]
net_id = "000001"

[join_server]

[[join_server.servers]]
join_eui_prefix = "0000000000000000/0"
server = "$1"
ca_cert = "$2"
tls_cert = "$tmp/ns.pem"
tls_key = "$tmp/ns.key"

[[keks]]
label = "000001"
kek = "$3"
TOML
}
v3() {  # v3 SERVER CA
  cat <<TOML
[network_server]
net_id = "000001"

[join_server]
resolve_join_eui = false

[join_server.default]
server = "$1"
ca_cert = "$2"
tls_cert = "$tmp/ns.pem"
tls_key = "$tmp/ns.key"

[join_server.kek]
[[join_server.kek.set]]
label = "000001"
kek = "$kek"
TOML
}

echo "# static findings"
v4 "https://127.0.0.1:1" "$tmp/ca.pem" "$kek" >good.toml
run good doctor --chirpstack-config good.toml --offline --json good.json --junit good.xml
expect_rc "a correct v4 file, offline" 0 good
expect_grep "the version is detected" good.out '^PASS  doctor/config\.version'
if xmllint --noout --schema "$xsd" good.xml 2>/dev/null; then ok "the JUnit report validates"; else fail "the JUnit report validates" "$(xmllint --noout --schema "$xsd" good.xml 2>&1)"; fi
if python3 -c 'import json,sys; d=json.load(open("good.json")); sys.exit(0 if d["summary"]["fail"] == 0 else 1)'; then ok "the JSON report parses with 0 fail"; else fail "the JSON report parses with 0 fail"; fi

v4 "https://127.0.0.1:1" "$tmp/missing-ca.pem" "$kek" >missing.toml
run missing doctor --chirpstack-config missing.toml --offline
expect_rc "a missing ca_cert" 1 missing
expect_grep "the missing file is named with its setting" missing.out 'missing-ca\.pem'
expect_grep "... and the table it belongs to" missing.out 'ca_cert of \[\[join_server\.servers\]\] #1'

v4 "https://127.0.0.1:1" "$tmp/ca.pem" "0011" >shortkek.toml
run shortkek doctor --chirpstack-config shortkek.toml --offline
expect_rc "a KEK of 2 bytes" 1 shortkek
expect_grep "the KEK finding fails" shortkek.out '^FAIL  doctor/kek-1'
expect_no_grep "the KEK value is not printed" shortkek.out '0011'

cp ns.key mismatch.key
openssl ecparam -name prime256v1 -genkey -noout -out other.key 2>/dev/null
v4 "https://127.0.0.1:1" "$tmp/ca.pem" "$kek" | sed "s|$tmp/ns.key|$tmp/other.key|" >keymismatch.toml
run keymismatch doctor --chirpstack-config keymismatch.toml --offline
expect_rc "a tls_key that is not the tls_cert's" 1 keymismatch
expect_grep "the key mismatch is found" keymismatch.out '^FAIL  doctor/servers-1\.key-matches'

# finding JSON: reason of finding ID in FILE contains TEXT
json_has() {  # json_has NAME FILE ID FIELD TEXT
  if python3 - "$2" "$3" "$4" "$5" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
found = [r for r in d["results"] if r["id"] == sys.argv[2]]
sys.exit(0 if found and sys.argv[4] in found[0][sys.argv[3]] else 1)
PY
  then ok "$1"; else fail "$1: $3 $4 lacks: $5" "$(cat "$2")"; fi
}

# The report this project started from: ChirpStack v3 with an empty default server logs Post "".
v3 "" "" | sed '/^ca_cert\|^tls_cert\|^tls_key/d' >postempty.toml
run postempty doctor --chirpstack-config postempty.toml --offline --join-eui 0102030405060708 --json postempty.json
expect_rc "v3 with server = \"\" in [join_server.default]" 1 postempty
expect_grep "the empty server fails" postempty.out '^FAIL  doctor/default\.server'
json_has "... quoting the line ChirpStack v3 logs" postempty.json doctor/default.server reason \
  'error="join-request to join-server error: http post error: Post \"\": unsupported protocol scheme \"\""'
json_has "... and the setting to fix, with its line" postempty.json doctor/default.server reason \
  'fix: set server of [join_server.default] (postempty.toml:8)'
json_has "the JoinEUI's path is printed" postempty.json doctor/route.0102030405060708 actual \
  'resolve_join_eui is false: ChirpStack v3 uses [join_server.default] for every JoinEUI'

: >empty.toml
run empty doctor --chirpstack-config empty.toml --offline
expect_rc "an empty file" 1 empty
expect_grep "... is reported as empty" empty.out 'doctor/config\.join-servers'

run badeui doctor --chirpstack-config good.toml --offline --join-eui 0102
expect_rc "a --join-eui that is not 16 hex digits" 2 badeui

run nofile doctor --chirpstack-config nosuch.toml
expect_rc "a config file that does not exist" 2 nofile
expect_grep "... is named" nofile.err 'nosuch\.toml'

echo "# live findings against the reference JS over mutual TLS"
"$bin" devices generate --count 2 --join-eui 0000000000000001 --mac-version 1.0.4 --seed 9 --out fleet.json 2>/dev/null
"$bin" serve-js --listen 127.0.0.1:0 --devices fleet.json --quiet --tls-cert js.pem --tls-key js.key \
  --client-ca "000001=$tmp/ca.pem" --ns 000001 --kek "000001=$kek" --join-eui 0000000000000000/0 2>js.log &
js_pid=$!
for _ in $(seq 100); do grep -q 'listening on' js.log && break; kill -0 "$js_pid" 2>/dev/null || break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(https:[^ ]*\) .*/\1/p' js.log)
[ -n "$url" ] || { echo "serve-js did not start:"; cat js.log; exit 1; }

v4 "$url" "$tmp/ca.pem" "$kek" >live4.toml
run live4 doctor --chirpstack-config live4.toml
expect_rc "v4 against the JS: everything fine" 0 live4
expect_grep "the JS's chain verifies" live4.out '^PASS  doctor/servers-1\.tls-server-chain'
expect_grep "an unknown DevEUI gets UnknownDevEUI" live4.out '^PASS  doctor/servers-1\.probe-join'

run live4dev doctor --chirpstack-config live4.toml --devices fleet.json --json live4dev.json
expect_rc "v4 with --devices" 0 live4dev
json_has "... still probes with an unknown DevEUI (no DevNonce of a device used)" live4dev.json doctor/servers-1.probe-join \
  expected 'UnknownDevEUI for the unknown DevEUI'

# Probe safety: a real device only with --probe-device, and only with a --state file.
dev=$(python3 -c 'import json; print(json.load(open("fleet.json"))["devices"][1]["DevEUI"].lower())')
run nostate doctor --chirpstack-config live4.toml --devices fleet.json --probe-device "$dev"
expect_rc "--probe-device without --state" 2 nostate
expect_grep "... says why the state file is needed" nostate.err 'expected --state FILE.*uses up one of its DevNonces'
run probedev doctor --chirpstack-config live4.toml --devices fleet.json --probe-device "$dev" --state state.json --json probedev.json
expect_rc "--probe-device DEVEUI --state: the device joins" 0 probedev
json_has "... and the finding states the DevNonce it cost" probedev.json doctor/servers-1.probe-join reason \
  "the probe used DevNonce 0 of device $dev; the state file now continues from 1"
json_has "... and says ChirpStack v4 will treat it as end-to-end encrypted (the JS sends a SessionKeyID)" \
  probedev.json doctor/servers-1.probe-join reason \
  "ChirpStack v4 will treat device $dev as end-to-end encrypted: the JoinAns carries SessionKeyID "
if python3 -c "import json,sys; d=json.load(open('state.json'))['devices']; sys.exit(0 if d['$dev']['DevNonceNext'] == 1 else 1)"; then
  ok "... and the state file continues from 1"
else
  fail "... and the state file continues from 1" "$(cat state.json)"
fi
run probedev2 doctor --chirpstack-config live4.toml --devices fleet.json --probe-device "$dev" --state state.json --json probedev2.json
expect_rc "a second probe continues the counter" 0 probedev2
json_has "... from DevNonce 1" probedev2.json doctor/servers-1.probe-join reason "the probe used DevNonce 1 of device $dev"

v3 "$url" "$tmp/other-ca.pem" >live3.toml
run live3 doctor --chirpstack-config live3.toml
expect_rc "v3 with the wrong ca_cert" 1 live3
expect_grep "the untrusted chain is diagnosed" live3.out 'CN=doctor test CA'
expect_grep "... with the setting to change" live3.out 'ca_cert of \[join_server\.default\]'

v4 "$url" "$tmp/ca.pem" "$kek" | sed 's/label = "000001"/label = "ns-kek"/' >kek4.toml
run kek4 doctor --chirpstack-config kek4.toml --devices fleet.json --probe-device "$dev" --state state.json
expect_rc "v4 without the KEK label the JS uses" 1 kek4
expect_grep "ChirpStack's own error is predicted" kek4.out 'KEK label 000001 does not exist'

# v3 in the [[join_server.servers]] form: read, and probed like any JS.
v3 "https://unused.example.net/" "$tmp/ca.pem" | sed "s|^\[join_server.default\]|[[join_server.servers]]\njoin_eui = \"0000000000000001\"|; s|^server = .*|server = \"$url\"|" >servers3.toml
run servers3 doctor --chirpstack-config servers3.toml --join-eui 0000000000000001
expect_rc "v3 servers form against the JS" 0 servers3
expect_grep "the form is told from the keys" servers3.out 'ChirpStack v3, \[\[join_server\.servers\]\] form'
expect_grep "its server is probed" servers3.out '^PASS  doctor/servers-1\.probe-join'
expect_grep "the JoinEUI goes to it" servers3.out '^PASS  doctor/route\.0000000000000001'

sed 's/net_id = "000001"/net_id = "000002"/' live4.toml >netid4.toml
run netid4 doctor --chirpstack-config netid4.toml
expect_rc "v4 with a NetID the JS does not know" 1 netid4
expect_grep "UnknownSender is explained" netid4.out '\[network\] net_id'

echo "# one diagnosis per cause"
v4 "https://127.0.0.1:1" "$tmp/ca.pem" "$kek" >refused.toml
run refused doctor --chirpstack-config refused.toml --timeout 2000
expect_rc "a JS port nobody listens on" 1 refused
expect_grep "... is one FAIL naming the peer" refused.out '^FAIL  doctor/servers-1\.reach'
expect_grep "... the probe is not run because of it" refused.out '^SKIP  doctor/servers-1\.probe-join .*not run: doctor/servers-1\.reach failed'
if [ "$(grep -E '^(FAIL|ERROR) ' refused.out | awk '{print $2}' | sort -u | wc -l)" -eq 1 ]; then ok "... and nothing else fails for it"; else fail "... and nothing else fails for it" "$(grep -E '^(FAIL|ERROR) ' refused.out)"; fi

v4 "${url/https:/http:}" "$tmp/ca.pem" "$kek" >httptls.toml
run httptls doctor --chirpstack-config httptls.toml
expect_rc "an http:// URL on the JS's TLS port" 1 httptls
expect_grep "... says the port speaks TLS" httptls.out 'this port speaks TLS: use https://'

# A JS that takes any certificate in the handshake and checks it per NetID afterwards.
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=000001" \
  -keyout other-ns.key -out other-ns.csr 2>/dev/null
openssl x509 -req -in other-ns.csr -CA other-ca.pem -CAkey other-ca.key -CAcreateserial -days 30 -out other-ns.pem 2>/dev/null
kill "$js_pid" 2>/dev/null; wait "$js_pid" 2>/dev/null || true
"$bin" serve-js --listen 127.0.0.1:0 --devices fleet.json --quiet --tls-cert js.pem --tls-key js.key --request-client-cert \
  --client-ca "000001=$tmp/ca.pem" --ns 000001 --kek "000001=$kek" --join-eui 0000000000000000/0 2>js2.log &
js_pid=$!
for _ in $(seq 100); do grep -q 'listening on' js2.log && break; kill -0 "$js_pid" 2>/dev/null || break; sleep 0.1; done
url2=$(sed -n 's/.*listening on \(https:[^ ]*\) .*/\1/p' js2.log)
[ -n "$url2" ] || { echo "serve-js did not start:"; cat js2.log; exit 1; }
v3 "$url2" "$tmp/ca.pem" | sed "s|$tmp/ns.pem|$tmp/other-ns.pem|; s|$tmp/ns.key|$tmp/other-ns.key|" >othercert3.toml
run othercert3 doctor --chirpstack-config othercert3.toml --json othercert3.json
expect_rc "v3 with a client certificate from a CA the JS does not trust" 1 othercert3
json_has "... UnknownSender blames the certificate, not the NetID" othercert3.json doctor/default.probe-join reason \
  'the likely cause is the client certificate, not the NetID'

if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed"; exit 1; fi
echo "all doctor checks passed"
