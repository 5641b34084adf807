#!/usr/bin/env bash
# `joincheck decode` run as a user runs it: outputs, JSON fields and exit codes.
# Vectors from upstream tests: brocaar/lorawan backend/joinserver/joinserver_test.go and
# TheThingsNetwork/lorawan-stack pkg/crypto, each named where it is used.
set -u
bin=${1:?usage: test_decode.sh PATH/TO/joincheck}
passed=0 failed=0

check() {  # check NAME EXPECTED_EXIT PATTERN -- ARGS...
  local name=$1 want_exit=$2 pattern=$3; shift 4
  local out rc
  out=$("$bin" "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want_exit" ]; then
    echo "FAIL $name: exit $rc, expected $want_exit"; echo "$out" | sed 's/^/    /'; failed=$((failed+1)); return
  fi
  if ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output does not match /$pattern/"; echo "$out" | sed 's/^/    /'; failed=$((failed+1)); return
  fi
  echo "ok   $name"; passed=$((passed+1))
}

ja10=2026f4b247f0a5d7e46a720e61c8bccbc5179f4566e185ed6889589bb1a9c68cc0
jr10=00010203040506070808070605040302010201cde6acb8
ja11=20a4c899795a42f5d16067a822c21b379af8aaa301a90d1c60d4cb792cb8eeb0a3
key=01020304050607080102030405060708

check "1.0 join-request MIC valid" 0 'MIC +cde6acb8  valid' -- decode $jr10 --app-key $key
check "1.0 join-request wrong key" 0 '"MICValid": false' -- decode $jr10 --app-key 000102030405060708090a0b0c0d0e0f --json
check "1.0 join-request base64" 0 '"DevNonce": "0303"' -- decode AAEBAQEBAQEBAgICAgICAgIDAwm5ezI= --json
check "1.0 join-accept NwkSKey" 0 '"NwkSKey": "df53c35f3034ccced0ff354c70de04df"' -- decode $ja10 --app-key $key --dev-nonce 0102 --json
check "1.0 join-accept AppSKey" 0 'AppSKey +927b9c911183cffe4cb2ff4b75545f6d' -- decode $ja10 --app-key $key --join-request $jr10
check "1.0 join-accept CFList" 0 '868.7 MHz, 868.9 MHz' -- decode $ja10 --app-key $key
check "1.0 join-accept no DevNonce" 0 'session keys need the DevNonce' -- decode $ja10 --app-key $key
check "1.1 join-accept keys" 0 '"SNwkSIntKey": "589498993092cfdb5fd2e02ac7510bf1"' -- \
  decode $ja11 --nwk-key $key --app-key 00000000000000000000000000000000 --join-request $jr10 --json
check "1.1 join-accept OptNeg" 0 '"OptNeg": true' -- decode $ja11 --nwk-key $key --join-request $jr10 --json
check "1.1 join-accept MIC needs context" 0 '"MICValid": null' -- decode $ja11 --nwk-key $key --json
check "1.1 rejoin-accept type 2" 0 '"MICValid": true' -- \
  decode 20296bc45da4b01356e5453109a10f9ab3 --nwk-key $key --join-req-type 02 \
  --dev-eui 0102030405060708 --join-eui 0807060504030201 --dev-nonce 007b --json
check "rejoin-request type 0 with SNwkSIntKey" 0 '"MICValid": true' -- \
  decode c0000302010807060504030201020111da47bd --s-nwk-s-int-key 01010101010101010101010101010101 --json
check "odd hex" 2 'even number of hex digits' -- decode 0x0001020
check "wrong size" 2 'expected 23 bytes' -- decode 0001020304
check "data frame MType" 2 'MType UnconfirmedDataUp' -- decode 4001020304
check "short key" 2 '--app-key: expected 32 hex digits' -- decode $jr10 --app-key 0102
check "bad join-req-type" 2 'expected ff' -- decode $ja10 --app-key $key --join-req-type 07
check "accept without key" 2 'give --app-key' -- decode $ja10
check "not hex nor base64" 2 'expected hex' -- decode 'zz!'
check "join-req-type contradicts join-request" 2 'contradicts --join-req-type 02' -- \
  decode $ja10 --app-key $key --join-request $jr10 --join-req-type 02
check "no frame" 2 'frame is required|required' -- decode

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
