#!/usr/bin/env bash
# The brocaar profile against a stand-in written from the measured behaviour of the real
# ChirpStack v3 Join Server (tests/standin/brocaar_js.py, docs/profiles.md#brocaar), both ways:
#   --profile brocaar: the measured quirks are warnings with the profile's reason, and exactly the
#     real bug fails (keys/rejoin-session-keys: a device that cannot talk after a rejoin);
#   --profile strict:  the quirks that break a MUST fail as well.
set -euo pipefail
bin=${1:?usage: test_brocaar_standin.sh PATH/TO/joincheck}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "python3 is needed"; exit 1; }
python3 -c 'import cryptography' 2>/dev/null || { echo "python3-cryptography is needed"; exit 1; }

# shellcheck source=tests/cli/lib.sh
source "$here/../cli/lib.sh"
enter_temp_dir standin

# A LoRaWAN 1.0.2/1.0.3/1.0.4/1.1 fleet, two devices each.
"$bin" devices generate --count 8 --join-eui 0000000000000001 --mac-version 1.0.2,1.0.3,1.0.4,1.1 --seed 1 \
  --out all.json 2>/dev/null

kek_ns=000102030405060708090a0b0c0d0e0f
kek_as=0f0e0d0c0b0a09080706050403020100
cat >target.toml <<TOML
url = "http://127.0.0.1:9/"
[ns]
net_id = "000001"
[[kek]]
label = "000001"
kek = "$kek_ns"
[[kek]]
label = "as-kek"
kek = "$kek_as"
[application_server]
as_id = "joincheck-as"
kek_label = "as-kek"
TOML

# start_standin LOG: a fresh stand-in (fresh JoinNonces) on a free port; sets js_pid and js_url.
start_standin() {
  python3 "$here/brocaar_js.py" --devices all.json --kek "000001=$kek_ns" --kek "as-kek=$kek_as" \
    --as-kek as-kek --home-net-id 000001 >"$1" 2>&1 &
  js_pid=$!
  js_url=""
  for _ in $(seq 100); do
    js_url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$1" 2>/dev/null || true)  # the log may not exist yet
    [ -n "$js_url" ] && break
    kill -0 "$js_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$js_url" ]; then echo "the stand-in did not start:"; cat "$1"; exit 1; fi
}
stop_standin() { kill "$js_pid" 2>/dev/null || true; wait "$js_pid" 2>/dev/null || true; js_pid=""; }

# ids FILE VERDICT: the sorted ids of the checks with VERDICT in a JSON report, space-separated.
ids() { python3 -c 'import json, sys
print(" ".join(sorted(r["id"] for r in json.load(open(sys.argv[1]))["results"] if r["verdict"] == sys.argv[2])))' "$1" "$2"; }
# reason FILE ID: the reason of one check in a JSON report.
reason() { python3 -c 'import json, sys
print([r.get("reason", "") + " " + r.get("known_deviation", "") for r in json.load(open(sys.argv[1]))["results"] if r["id"] == sys.argv[2]][0])' "$1" "$2"; }

# The measured quirks that break a MUST of the specification: known under the profile.
must_quirks="devnonce/decrease-1.0.4 devnonce/decrease-1.1 devnonce/replay-1.0 devnonce/replay-1.0.4 devnonce/replay-1.1
header/protocol-version-echo header/receiver-nsid-echo header/receiver-token-echo http/content-type http/json-answer
http/status-200 hygiene/hex-0x join/unknown-receiver join/unknown-sender malformed/bad-hex malformed/invalid-json
malformed/missing-field protocol/unsupported-version"
must_quirks=$(echo $must_quirks | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')

echo "# --profile brocaar"
start_standin standin1.log
jc brocaar run --config target.toml --target "$js_url" --devices all.json --profile brocaar --skip tls --skip air \
  --json brocaar.json
stop_standin
expect_rc "--profile brocaar: the rejoin key bug fails the run" brocaar 1
expect_eq "--profile brocaar: exactly the real bug fails" "$(ids brocaar.json fail)" "keys/rejoin-session-keys"
expect_eq "--profile brocaar: no error" "$(ids brocaar.json error)" ""
warned=" $(ids brocaar.json warn) "
missing=""
for id in $must_quirks answer/lifetime answer/session-key-id protocol/1.1-requires-sender-nsid; do
  case $warned in *" $id "*) ;; *) missing="$missing $id" ;; esac
done
if [ -z "$missing" ]; then ok "--profile brocaar: every measured quirk is a warning"
else fail "--profile brocaar: measured quirks that do not warn:$missing" "$(both brocaar)"; fi
expect_grep "--profile brocaar: a warning gives the profile's reason" <(reason brocaar.json hygiene/hex-0x) 'profile brocaar: .*measured'
expect_grep "--profile brocaar: the key failure says which key differs" <(reason brocaar.json keys/rejoin-session-keys; \
  python3 -c 'import json; print([r["actual"] for r in json.load(open("brocaar.json"))["results"] if r["id"] == "keys/rejoin-session-keys"][0])') \
  'differs'
expect_grep "--profile brocaar: the rejoin itself is answered (rejoin/type-0 passes)" brocaar.out '^PASS  rejoin/type-0 '
expect_grep "--profile brocaar: the console says FAIL for the rejoin keys" brocaar.out '^FAIL  keys/rejoin-session-keys '

echo "# --profile strict"
start_standin standin2.log
jc strict run --config target.toml --target "$js_url" --devices all.json --profile strict --skip tls --skip air \
  --json strict.json
stop_standin
expect_rc "--profile strict: fails" strict 1
expect_eq "--profile strict: the MUST quirks fail, and the rejoin keys" "$(ids strict.json fail)" \
  "$(echo $must_quirks keys/rejoin-session-keys | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')"
expect_eq "--profile strict: no error" "$(ids strict.json error)" ""
expect_no_grep "--profile strict: no profile reason" strict.json 'profile brocaar'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
