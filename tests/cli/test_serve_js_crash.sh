#!/usr/bin/env bash
# serve-js killed with SIGKILL keeps every join it answered: after a restart on the same state
# file, a DevNonce it accepted is refused and the next JoinNonce is higher. Run as a user runs it.
set -u
bin=${1:?usage: test_serve_js_crash.sh PATH/TO/joincheck}
passed=0 failed=0
work=$(mktemp -d)
js=""
cleanup() { [ -n "$js" ] && kill -9 "$js" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

cat >"$work/fleet.json" <<'JSON'
{"devices": [{"DevEUI": "0102030405060708", "JoinEUI": "0807060504030201", "MACVersion": "1.0.4",
              "AppKey": "01020304050607080102030405060708"}]}
JSON

# start: serve-js on the state file, on a free port below Linux's ephemeral range (32768 and up,
# where the other tests' connections take their local ports); another port when it is taken.
start() {
  for _attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 12000))
    : >"$work/js.log"
    "$bin" serve-js --listen "127.0.0.1:$port" --devices "$work/fleet.json" --state "$work/js.sqlite" \
      --quiet 2>>"$work/js.log" &
    js=$!
    for _ in $(seq 100); do
      curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
      kill -0 "$js" 2>/dev/null || break
      sleep 0.05
    done
    kill -0 "$js" 2>/dev/null || ! grep -q "Address already in use" "$work/js.log" || continue
    break
  done
  echo "serve-js did not start:"; cat "$work/js.log"; exit 1
}

# A JoinReq for DevNonce $1 of brocaar's test device (brocaar/lorawan
# backend/joinserver/joinserver_test.go, LoRaWAN 1.0). `decode` names the MIC
# the frame should carry (ExpectedMIC), which is then put in.
join() {
  local nonce=$1 frame mic
  frame="0001020304050607080807060504030201$(printf '%02x%02x' $((nonce & 255)) $((nonce >> 8)))00000000"
  mic=$("$bin" decode "$frame" --app-key 01020304050607080102030405060708 --json |
        sed -n 's/.*"ExpectedMIC": "\([0-9a-f]*\)".*/\1/p')
  frame="${frame:0:38}$mic"
  curl -s -X POST -H 'Content-Type: application/json' "http://127.0.0.1:$port/" -d \
    "{\"ProtocolVersion\":\"1.0\",\"SenderID\":\"010203\",\"ReceiverID\":\"0807060504030201\",\"TransactionID\":$nonce,\"MessageType\":\"JoinReq\",\"MACVersion\":\"1.0.4\",\"PHYPayload\":\"$frame\",\"DevEUI\":\"0102030405060708\",\"DevAddr\":\"01020304\",\"DLSettings\":\"00\",\"RxDelay\":1}"
}

join_nonce_of() {  # the JoinNonce of the accept in a JoinAns body
  local phy
  phy=$(sed -n 's/.*"PHYPayload":"\([0-9a-f]*\)".*/\1/p' <<<"$1")
  "$bin" decode "$phy" --app-key 01020304050607080102030405060708 --json |
    sed -n 's/.*"JoinNonce": "\([0-9a-f]*\)".*/\1/p'
}

start
last=""
answered=0
for n in 1 2 3 4 5; do
  a=$(join $n)
  if grep -q '"Success"' <<<"$a"; then
    last=$(join_nonce_of "$a")
    answered=$((answered + 1))
  else
    bad "join $n before the crash: $a"
  fi
done
[ "$answered" -eq 5 ] && ok "5 joins answered before the crash (last JoinNonce $last)"
kill -9 "$js"; wait "$js" 2>/dev/null || true; js=""
start
a=$(join 5)
if grep -q '"JoinReqFailed"' <<<"$a"; then ok "DevNonce 5, answered before SIGKILL, is refused after the restart"; else bad "replay after restart: $a"; fi
a=$(join 6)
if grep -q '"Success"' <<<"$a"; then
  next=$(join_nonce_of "$a")
  if [ $((16#$next)) -gt $((16#$last)) ]; then ok "JoinNonce $next after the restart is above $last"; else bad "JoinNonce $next is not above $last"; fi
else
  bad "join 6 after the restart: $a"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
