#!/usr/bin/env bash
# `joincheck load` as a user runs it: N shard processes against one serve-js, their reports
# merged (totals add, no device in two shards, no DevNonce refused as a replay by a JS that
# remembers every one), across two rounds with --state; exit codes 0/1/2/3; Ctrl-C still writes
# the reports; a JS sending wrong keys fails.
#
# usage: tests/cli/test_load.sh PATH/TO/joincheck
set -uo pipefail
bin=${1:?usage: test_load.sh PATH/TO/joincheck}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
enter_temp_dir load

"$bin" devices generate --count 60 --join-eui 70b3d57ed0000000 --mac-version 1.0.3,1.0.4,1.1 --seed 5 \
  --out fleet.json >/dev/null || { echo "devices generate failed"; exit 1; }

# serve-js remembering every DevNonce of a device, on one worker thread.
js_args=(--devices fleet.json --dev-nonce-window 65535 --threads 1)

# --- usage errors: exit 2 before anything is sent ---------------------------------------------
jc no_mode load --target http://127.0.0.1:1 --devices fleet.json
expect_rc "no --rate/--max/--storm" no_mode 2
expect_grep "no mode: says which to choose" no_mode.err 'choose --rate'
jc two_modes load --target http://127.0.0.1:1 --devices fleet.json --max --rate 10/s
expect_rc "--rate with --max" two_modes 2
jc bad_shard load --target http://127.0.0.1:1 --devices fleet.json --max --shard 4/3
expect_rc "--shard 4/3" bad_shard 2
expect_grep "--shard 4/3: says what was expected and seen" bad_shard.err 'expected K/N.*"4/3"'
jc empty_target load --target "" --devices fleet.json --max
expect_rc "--target \"\"" empty_target 2
jc bad_assert load --target http://127.0.0.1:1 --devices fleet.json --max --assert 'p99<=50'
expect_rc "--assert p99<=50 (no unit)" bad_assert 2
jc too_many_connections load --target http://127.0.0.1:1 --devices fleet.json --max --connections 61
expect_rc "more connections than devices" too_many_connections 2
jc bad_mix load --target http://127.0.0.1:1 --devices fleet.json --max --mix rejoin0=60%,rejoin1=50%
expect_rc "--mix adding up to 110%" bad_mix 2
expect_grep "--mix over 100%: says so" bad_mix.err 'add up to 110%, expected at most 100%'
jc storm_mix load --target http://127.0.0.1:1 --devices fleet.json --storm 10/1s --mix rejoin0=10%
expect_rc "--mix with --storm" storm_mix 2
expect_grep "--mix with --storm: says why" storm_mix.err 'a storm sends one JoinReq per device'
jc tts_mix load --target http://127.0.0.1:1 --devices fleet.json --max --profile tts --mix rejoin0=10%
expect_rc "--mix under a profile of a JS without RejoinReqs" tts_mix 2
expect_grep "--mix --profile tts: the profile's reason" tts_mix.err 'the profile tts says the JS takes no RejoinReqs'

# --- unreachable: exit 3, reports still written ------------------------------------------------
jc unreachable load --target http://127.0.0.1:1 --devices fleet.json --max --duration 300ms --quiet --json unreach.json
expect_rc "unreachable target" unreachable 3
expect_grep "unreachable: the transport error class" unreachable.out 'error transport refused'
expect_grep "unreachable: JSON report written" unreach.json '"transport refused"'

# --- three shards, two rounds, merged ------------------------------------------------------------
start_js js.log "${js_args[@]}"
for round in 1 2; do
  pids=()
  for k in 1 2 3; do
    "$bin" load --target "$js_url" --devices fleet.json --max --duration 1s --connections 2 --shard "$k/3" \
      --state "state-$k.json" --json "r$round-shard-$k.json" --quiet >"r$round-shard-$k.out" 2>&1 &
    pids+=($!)
  done
  round_ok=1
  for i in 0 1 2; do
    rc=0; wait "${pids[$i]}" || rc=$?
    [ "$rc" -eq 0 ] || { round_ok=0; fail "round $round shard $((i + 1)): exit $rc" "$(cat "r$round-shard-$((i + 1)).out")"; }
  done
  [ "$round_ok" -eq 1 ] && ok "round $round: three shards at once, every answer verified (exit 0)"
  jc "merge$round" report merge "r$round-shard-1.json" "r$round-shard-2.json" "r$round-shard-3.json" \
    --json "merged$round.json" --junit "merged$round.xml" --html "merged$round.html"
  expect_rc "round $round: report merge" "merge$round" 0
done
if out=$(python3 - <<'PY' 2>&1
import json
for rnd in (1, 2):
    shards = [json.load(open(f"r{rnd}-shard-{k}.json")) for k in (1, 2, 3)]
    merged = json.load(open(f"merged{rnd}.json"))
    for key in ("sent", "ok", "errors"):
        total = sum(s["totals"][key] for s in shards)
        assert merged["totals"][key] == total, (rnd, key, merged["totals"][key], total)
    assert merged["totals"]["errors"] == 0, merged["errors"]
    assert merged["totals"]["ok"] > 0
    assert len(merged["processes"]) == 3, merged["processes"]
    assert sorted(p["shard"] for p in merged["processes"]) == ["1/3", "2/3", "3/3"]
    assert merged["latency"]["count"] == sum(s["latency"]["count"] for s in shards)
    assert merged["latency"]["histogram"]["count"] == merged["latency"]["count"]
    assert merged["devices"]["used"] == 60, merged["devices"]
# No device in two shards: each shard's state names its own devices, all 60 between them.
seen = {}
for k in (1, 2, 3):
    for eui in json.load(open(f"state-{k}.json"))["devices"]:
        assert eui not in seen, f"device {eui} in shards {seen[eui]} and {k}"
        seen[eui] = k
assert len(seen) == 60, len(seen)
print("ok")
PY
); then ok "merged totals equal the shards' sums, no device in two shards, no DevNonce refused in two rounds"
else fail "merged reports" "$out"; fi
jc partial report merge r2-shard-1.json r2-shard-3.json --json partial.json
expect_rc "merge of 2 of 3 shards" partial 2
expect_grep "partial merge: names the missing shard" partial.err 'shard\(s\) 2/3 missing'
jc partial_ok report merge r2-shard-1.json r2-shard-3.json --allow-partial --json partial.json
expect_rc "merge of 2 of 3 shards with --allow-partial" partial_ok 0
jc twice report merge r2-shard-1.json r2-shard-1.json --json twice.json
expect_rc "the same shard twice" twice 2
if python3 -c "
import sys, xml.etree.ElementTree as ET
suite = ET.parse('merged2.xml').getroot().find('testsuite')
assert suite.get('tests') == '1' and suite.get('failures') == '0', suite.attrib
assert suite.find('testcase').get('name') == 'load/errors=0'
" 2>merge_junit.err; then ok "merged JUnit: one testcase per assertion, passing"
else fail "merged JUnit" "$(cat merge_junit.err)"; fi

# Without the state the devices start over: the JS refuses the replays, and load says so.
jc replay load --target "$js_url" --devices fleet.json --max --duration 500ms --connections 2 --quiet --json replay.json
expect_rc "a rerun without --state" replay 1
expect_grep "the replays are errors by result code" replay.out 'error result '

# --- assertions: a failing one exits 1 and is a JUnit failure -------------------------------------
# (Shards 1 and 2 with their states: their devices continue where the rounds left them.)
jc assert_fail load --target "$js_url" --devices fleet.json --max --duration 300ms --connections 2 --shard 1/3 --state state-1.json \
  --assert 'p99<=1us' --assert 'errors=0' --junit assert.xml --quiet
expect_rc "--assert p99<=1us" assert_fail 1
expect_grep "the failed assertion is printed" assert_fail.out '^FAIL  p99<=1us: p99 = '
if python3 -c "
import xml.etree.ElementTree as ET
s = ET.parse('assert.xml').getroot().find('testsuite')
assert s.get('tests') == '2' and s.get('failures') == '1', s.attrib
" 2>assert_junit.err; then ok "JUnit: two testcases, one failure"; else fail "JUnit of the assertions" "$(cat assert_junit.err)"; fi

# --- Ctrl-C: the run stops, the reports are written ---------------------------------------------
"$bin" load --target "$js_url" --devices fleet.json --rate 200/s --duration 60s --connections 2 --shard 2/3 --state state-2.json \
  --json interrupted.json >interrupted.out 2>interrupted.err &
load_pid=$!
sleep 1.5
kill -INT "$load_pid"
rc=0; wait "$load_pid" || rc=$?
expect_rc "interrupted by SIGINT: not the test that was asked for" interrupted 1
expect_grep "SIGINT: says the run did not complete" interrupted.out '^FAIL  the run completed'
if python3 -c "
import json
d = json.load(open('interrupted.json'))
assert 'Ctrl-C' in d['stopped'], d.get('stopped')
assert d['elapsed_s'] < 10, d['elapsed_s']
assert d['totals']['ok'] > 0
assert not d['passed']
" 2>int.err; then ok "SIGINT: JSON report with stopped, written within seconds"; else fail "SIGINT report" "$(cat int.err)"; fi
stop_js

# --- --mix: RejoinReqs among the JoinReqs, verified; a JS that refuses them fails -------------
start_js js_mix.log "${js_args[@]}"
jc mix load --target "$js_url" --devices fleet.json --max --duration 1s --connections 2 --mix rejoin0=20%,rejoin1=10% \
  --state state-mix.json --json mix.json --quiet
expect_rc "--mix against a JS that takes RejoinReqs" mix 0
expect_grep "--mix: the requests of each kind are printed" mix.out '^requests: .* RejoinReq type 0 \([0-9]+ verified'
if python3 -c "
import json
d = json.load(open('mix.json'))
r = d['requests']
assert set(r) == {'JoinReq', 'RejoinReq type 0', 'RejoinReq type 1'}, r
assert all(k['ok'] == k['sent'] > 0 for k in r.values()), r
assert sum(k['sent'] for k in r.values()) == d['totals']['sent'], (r, d['totals'])
assert d['settings']['mix'] == 'rejoin0=20%,rejoin1=10%', d['settings']
" 2>mix_json.err; then ok "--mix: every kind sent and verified, in the JSON report"; else fail "--mix JSON" "$(cat mix_json.err)"; fi
# RJcount1 continues from the state file: a second run is served, not refused as a replay.
jc mix_again load --target "$js_url" --devices fleet.json --max --duration 500ms --connections 2 --mix rejoin1=30% \
  --state state-mix.json --quiet
expect_rc "--mix rejoin1 again with the state: RJcount1 continues" mix_again 0
stop_js
# A JS that behaves like The Things Stack, judged by a profile excusing only its Content-Type (the
# built-in tts profile says it takes no RejoinReqs, and load refuses --mix under it).
cat >content-type.toml <<'TOML'
name = "content-type-only"
description = "a JS answering text/plain"
[[known]]
check = "http/content-type"
verdict = "warn"
reason = "answers Content-Type text/plain (test)"
TOML
start_js js_tts.log "${js_args[@]}" --behave-like tts
jc mix_refused load --target "$js_url" --devices fleet.json --max --duration 500ms --connections 2 --mix rejoin0=20% \
  --profile content-type.toml --assert 'error_rate<=100%' --quiet
expect_rc "--mix against a JS that refuses RejoinReqs" mix_refused 1
expect_grep "--mix refused: the RejoinReq errors are a class of their own" mix_refused.out \
  '^  error result MalformedRequest \(RejoinReq type 0\): '
expect_grep "--mix refused: the run fails on the kind never verified" mix_refused.out '^FAIL  RejoinReq type 0 verified'
stop_js

# --- a JS that sends wrong keys: every join an error of class verify --------------------------
start_js js_bad.log "${js_args[@]}" --fault wrong-app-s-key
jc wrong_keys load --target "$js_url" --devices fleet.json --max --duration 300ms --connections 2 --quiet --json wrong.json
expect_rc "a JS sending a wrong AppSKey" wrong_keys 1
expect_grep "wrong keys: counted as verification errors" wrong_keys.out '^  error verify '
expect_no_grep "wrong keys: the key itself is not printed" wrong_keys.out '[0-9a-f]{32}'
stop_js

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
