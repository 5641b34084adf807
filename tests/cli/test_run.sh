#!/usr/bin/env bash
# `joincheck run` and `joincheck list` run as a user runs them: the console lines and summary,
# the JUnit and JSON reports, exit codes 0/1/2/3, faults and vendor behaviours of the embedded
# reference JS, profiles, --strict, --only/--skip, custom scenarios, an unreachable target,
# `serve-js` as an external target (sync and async), and keys kept out of every output.
set -euo pipefail
bin=${1:?usage: test_run.sh PATH/TO/joincheck}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
xsd=$here/../reports/schema/jenkins-xunit-junit-10.xsd
[ -f "$xsd" ] || { echo "missing schema $xsd"; exit 1; }
command -v xmllint >/dev/null || { echo "xmllint is needed (apt-get install libxml2-utils)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed"; exit 1; }

# shellcheck source=tests/cli/lib.sh
source "$here/lib.sh"
enter_temp_dir run
expect_valid_junit() {  # expect_valid_junit WHAT FILE
  local out
  if [ ! -s "$2" ]; then fail "$1: $2 was not written"; return; fi
  if out=$(xmllint --noout --schema "$xsd" "$2" 2>&1); then ok "$1: $2 validates against junit-10.xsd"
  else fail "$1: $2 does not validate against junit-10.xsd" "$out"; fi
}

# junit_case FILE ID: "failure", "error", "skipped" or "passed" for testcase ID; "missing" if none.
cat >junit_case.py <<'PY'
import sys, xml.etree.ElementTree as ET
cases = [c for c in ET.parse(sys.argv[1]).iter("testcase") if c.get("name") == sys.argv[2]]
if not cases:
    print("missing")
else:
    kinds = [k for k in ("failure", "error", "skipped") if cases[0].find(k) is not None]
    print(kinds[0] if kinds else "passed")
PY
junit_case() { python3 junit_case.py "$1" "$2"; }
# jq_py FILE EXPR: EXPR evaluated with the JSON document as `d` (and `re`), printed.
cat >jq.py <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {"d": d, "re": re}))
PY
jq_py() { python3 jq.py "$1" "$2"; }
verdict_of() { jq_py "$1" "[r['verdict'] for r in d['results'] if r['id'] == '$2'] or ['missing']" | tr -d "[]'"; }
count_lines() { grep -cE -- "$2" "$1" || true; }  # count_lines FILE ERE

# --- the embedded reference JS, strict: everything passes -----------------------------------
echo "# run against the embedded reference JS"
jc base run --junit base.xml --json base.json
expect_rc "run (embedded JS)" base 0
expect_grep "one console line per check (PASS header/transaction-id-echo)" base.out '^PASS  header/transaction-id-echo '
expect_grep "summary line" base.out '^joincheck: [0-9]+ checks: [0-9]+ pass, 0 fail, [0-9]+ warn, [0-9]+ skip, 0 error in [0-9.]+ s against embedded reference JS'
total=$(sed -n 's/^joincheck: \([0-9]*\) checks:.*/\1/p' base.out)
lines=$(count_lines base.out '^(PASS|FAIL|WARN|SKIP|ERROR) +[a-z0-9.-]+/[a-z0-9.-]+ ')
expect_eq "as many check lines as the summary counts ($total)" "$lines" "$total"
expect_valid_junit "run (embedded JS)" base.xml
if out=$(jq_py base.json "d['summary']['fail']") && [ "$out" = 0 ]; then ok "JSON report parses, summary fail == 0"
else fail "JSON report parses, summary fail == 0" "$out"; fi
expect_eq "JSON summary total equals the console's" "$(jq_py base.json "d['summary']['total']")" "$total"

# --- faults, behaviours, profiles, --strict ----------------------------------------------------
echo "# faults and profiles"
jc kek run --fault wrong-kek-label --junit kek.xml
expect_rc "--fault wrong-kek-label" kek 1
expect_grep "--fault wrong-kek-label: console line FAIL kek/known-label" kek.out '^FAIL  kek/known-label '
# The detail block of the failure: its header, then expected and actual.
sed -n '/^FAIL  kek\/known-label  \[MUST\]/,/^$/p' kek.out >kek.detail
if grep -q '^ *expected: .*KEKLabel' kek.detail && grep -q '^ *actual: .*KEKLabel "000001-wrong"' kek.detail; then
  ok "--fault wrong-kek-label: the failure shows expected and actual KEKLabel"
else
  fail "--fault wrong-kek-label: the failure shows expected and actual KEKLabel" "$(cat kek.detail kek.out)"
fi
expect_eq "--fault wrong-kek-label: JUnit testcase kek/known-label has a <failure>" "$(junit_case kek.xml kek/known-label)" failure
expect_valid_junit "--fault wrong-kek-label" kek.xml

jc tts run --behave-like tts --profile tts
expect_rc "--behave-like tts --profile tts" tts 0
expect_grep "--behave-like tts --profile tts: WARN lines" tts.out '^WARN  [a-z0-9.-]+/'
expect_grep "--behave-like tts --profile tts: reason \"known deviation (profile tts)\"" tts.out 'known deviation \(profile tts\)'
expect_grep "--behave-like tts --profile tts: summary counts warnings" tts.out '^joincheck: [0-9]+ checks: [0-9]+ pass, 0 fail, [1-9][0-9]* warn'
jc tts_strict run --behave-like tts
expect_rc "--behave-like tts under the strict profile" tts_strict 1
expect_grep "--behave-like tts under the strict profile: FAIL lines" tts_strict.out '^FAIL  '

# NS personas: the strict reference JS works with what ChirpStack v4 sends (the checks it makes
# inapplicable are skipped with the reason); a JS refusing MACVersion "1.1.0" does not.
jc ns_v4 run --ns-like chirpstack-v4
expect_rc "--ns-like chirpstack-v4" ns_v4 0
expect_grep "--ns-like chirpstack-v4: receiver-token-echo skipped with the reason" ns_v4.out '^SKIP +header/receiver-token-echo.*chirpstack-v4 sends no SenderToken'
jc ns_v4_tts run --ns-like chirpstack-v4 --behave-like tts --profile tts
expect_rc "--ns-like chirpstack-v4 --behave-like tts --profile tts" ns_v4_tts 1
expect_grep "--ns-like chirpstack-v4 --behave-like tts: a 1.1 join fails" ns_v4_tts.out '^FAIL +join/success-1.1'
jc ns_bad run --ns-like chirpstack
expect_rc "--ns-like chirpstack (unknown)" ns_bad 2
expect_grep "--ns-like chirpstack: names the choices" ns_bad.err 'expected plain, chirpstack-v3, chirpstack-v4, got "chirpstack"'

jc lifetime run --fault no-lifetime
expect_rc "--fault no-lifetime (a SHOULD: warn only)" lifetime 0
expect_grep "--fault no-lifetime: WARN answer/lifetime" lifetime.out '^WARN  answer/lifetime '
expect_no_grep "--fault no-lifetime: no FAIL line" lifetime.out '^(FAIL|ERROR) '
jc lifetime_strict run --fault no-lifetime --strict
expect_rc "--fault no-lifetime --strict" lifetime_strict 1

# --- selection ---------------------------------------------------------------------------------
echo "# --only and --skip"
jc only run --only kek --skip kek/app-s-key-wrapped
expect_rc "--only kek --skip kek/app-s-key-wrapped" only 0
all_lines=$(count_lines only.out '^(PASS|FAIL|WARN|SKIP|ERROR) ')
kek_lines=$(count_lines only.out '^(PASS|FAIL|WARN|SKIP|ERROR) +kek/')
want_kek=$(( $("$bin" list | grep -c '^kek/') - 1 ))
if [ "$all_lines" -eq "$kek_lines" ] && [ "$kek_lines" -eq "$want_kek" ]; then
  ok "--only kek --skip kek/app-s-key-wrapped: $kek_lines check lines, all kek/"
else
  fail "--only kek --skip ...: $all_lines check lines, $kek_lines of kek/, expected $want_kek" "$(cat only.out)"
fi
expect_no_grep "--skip kek/app-s-key-wrapped: not run" only.out 'kek/app-s-key-wrapped'
expect_grep "--only kek: summary of $want_kek checks" only.out "^joincheck: $want_kek checks: $want_kek pass"
jc nosuch run --only nosuch
expect_rc "--only nosuch" nosuch 2
expect_grep "--only nosuch: names the selector" nosuch.err 'nosuch.*no check or group'

# --- custom scenarios --------------------------------------------------------------------------
echo "# custom scenarios"
cat >custom.json <<'JSON'
{"id": "custom/replay-twice",
 "title": "A replayed LoRaWAN 1.0.4 join-request is refused",
 "spec": "LoRaWAN 1.0.4 §6.2.5",
 "level": "MUST",
 "devices": {"dev": {"MACVersion": "1.0.4"}},
 "steps": [
   {"send": "join", "device": "dev", "expect": "Success"},
   {"send": "join", "device": "dev", "DevNonce": "previous", "expect": "failure"}]}
JSON
sed 's/"previous"/"prev"/' custom.json >broken.json
jc custom run --scenario custom.json --junit custom.xml
expect_rc "--scenario custom.json" custom 0
expect_grep "--scenario: console line PASS custom/replay-twice" custom.out '^PASS  custom/replay-twice +A replayed LoRaWAN 1.0.4'
expect_grep "--scenario: the built-in suite runs too" custom.out '^PASS  devnonce/replay-1.0.4 '
expect_eq "--scenario: JUnit testcase custom/replay-twice passed" "$(junit_case custom.xml custom/replay-twice)" passed
expect_valid_junit "--scenario custom.json" custom.xml
jc custom_only run --scenario custom.json --scenarios-only --json custom_only.json
expect_rc "--scenario custom.json --scenarios-only" custom_only 0
expect_eq "--scenarios-only: custom/replay-twice passes" "$(verdict_of custom_only.json custom/replay-twice)" pass
expect_eq "--scenarios-only: only its 2 exchanges" "$(jq_py custom_only.json "len(d['exchanges'])")" 2
expect_eq "--scenarios-only: built-in scenarios not run" "$(verdict_of custom_only.json devnonce/replay-1.0.4)" skip
jc broken run --scenario broken.json
expect_rc "--scenario with \"DevNonce\": \"prev\"" broken 2
expect_grep "broken scenario: names the file, steps[1] and DevNonce" broken.err 'broken\.json.*steps\[1\]\.DevNonce.*"prev"'
jc list_custom list --scenario custom.json
expect_rc "list --scenario custom.json" list_custom 0
expect_grep "list --scenario: includes custom/replay-twice" list_custom.out '^custom/replay-twice +MUST'

# --- list --------------------------------------------------------------------------------------
echo "# list"
jc list list
expect_rc "list" list 0
expect_grep "list: devnonce/replay-1.0.4" list.out '^devnonce/replay-1.0.4 '
jc listjson list --json
expect_rc "list --json" listjson 0
n=$(jq_py listjson.out "len(d)" 2>&1) || n="not JSON: $n"
if [ "$n" -gt 50 ] 2>/dev/null; then ok "list --json parses, $n entries (> 50)"; else fail "list --json: $n entries" "$(head -20 listjson.out)"; fi
missing=""
for id in $(jq_py listjson.out "' '.join(c['id'] for c in d)"); do
  grep -q "^$id " list.out || missing="$missing $id"
done
if [ -z "$missing" ]; then ok "list prints every id of list --json"; else fail "list misses:$missing"; fi
missing=""
for id in $(jq_py base.json "' '.join(r['id'] for r in d['results'])"); do
  grep -q "^$id " list.out || missing="$missing $id"
done
if [ -z "$missing" ]; then ok "list names every check the run reports"; else fail "list misses checks of run:$missing"; fi

# --- fleets ------------------------------------------------------------------------------------
"$bin" devices generate --count 8 --join-eui 0000000000000001 --mac-version 1.0.3 --seed 1 --out fleet.json 2>/dev/null
# One command makes a mixed fleet: the versions take turns and every DevEUI is distinct.
"$bin" devices generate --count 8 --join-eui 0000000000000001 --mac-version 1.0.2,1.0.3,1.0.4,1.1 --seed 1 \
  --out all.json 2>/dev/null
if python3 - <<'PY'
import collections, json
devices = json.load(open("all.json"))["devices"]
assert len({d["DevEUI"] for d in devices}) == 8, "DevEUIs collide"
assert collections.Counter(d["MACVersion"] for d in devices) == {"1.0.2": 2, "1.0.3": 2, "1.0.4": 2, "1.1": 2}
PY
then ok "devices generate --mac-version 1.0.2,1.0.3,1.0.4,1.1: 2 devices of each, distinct DevEUIs"
else fail "devices generate --mac-version 1.0.2,1.0.3,1.0.4,1.1: 2 devices of each, distinct DevEUIs" "$(cat all.json)"; fi
root_keys=$(python3 -c 'import json; print(" ".join(d[k] for d in json.load(open("all.json"))["devices"] for k in ("AppKey", "NwkKey") if k in d))')

# --- unreachable target: exit 3, both reports ---------------------------------------------------
echo "# unreachable target"
jc unreach run --target http://127.0.0.1:1 --devices fleet.json --junit unreach.xml --json unreach.json
expect_rc "--target http://127.0.0.1:1" unreach 3
expect_grep "unreachable: says so" unreach.out 'could not be reached: .*127\.0\.0\.1:1.*(refused|connect)'
expect_valid_junit "unreachable" unreach.xml
if [ -s unreach.xml ] && python3 - unreach.xml <<'PY'
import sys, xml.etree.ElementTree as ET
cases = list(ET.parse(sys.argv[1]).iter("testcase"))
# Checks the fleet cannot exercise (it has 1.0.3 devices only) are skipped for that reason;
# every other check is an error.
errors = [c for c in cases if c.find("error") is not None]
skipped = [c for c in cases if c.find("skipped") is not None]
assert cases and len(errors) + len(skipped) == len(cases), "a testcase neither <error> nor <skipped>"
assert len(errors) > len(skipped) > 0, (len(errors), len(skipped))
assert all("LoRaWAN" in c.find("skipped").get("message") or "--via-gateway" in c.find("skipped").get("message")
           for c in skipped), "a skip not about the fleet or the over-the-air path"
PY
then ok "unreachable: JUnit testcases are <error>, or <skipped> for the fleet"; else fail "unreachable: JUnit testcases are <error>, or <skipped> for the fleet" "$(head -20 unreach.xml)"; fi
if [ -s unreach.json ] && [ "$(jq_py unreach.json "d['summary']['error'] + d['summary']['skip'] == d['summary']['total'] > 0 and d['summary']['error'] > 0 and 'refused' in d['setup_error']")" = True ]; then
  ok "unreachable: JSON report with setup_error, errors and fleet skips only"
else fail "unreachable: JSON report with setup_error, errors and fleet skips only" "$(head -20 unreach.json 2>&1)"; fi
if [ "$(grep -c '^SKIP  ' unreach.out || true)" = "$(jq_py unreach.json "d['summary']['skip']")" ]; then
  ok "unreachable: the live SKIP lines agree with the final verdicts"
else fail "unreachable: the live SKIP lines agree with the final verdicts" "$(grep '^SKIP' unreach.out)"; fi

# --- no false green: a target option that names no usable target is a usage error --------------
echo "# bad target options"
for bad in "" "htp://127.0.0.1:8003" "127.0.0.1:8003" "http://"; do
  jc bad_target run --target "$bad" --devices fleet.json
  expect_rc "--target \"$bad\"" bad_target 2
  expect_eq "--target \"$bad\": one line on stderr" "$(wc -l <bad_target.err)" 1
  expect_grep "--target \"$bad\": names the option and what it expects" bad_target.err '^joincheck run: --target: .*(empty value|http:// or https://|no host)'
  expect_eq "--target \"$bad\": no check was run" "$(count_lines bad_target.out '^(PASS|FAIL|WARN|SKIP|ERROR) ')" 0
done
for opt in --config --devices --junit --json --state; do
  jc empty_opt run "$opt" ""
  expect_rc "$opt \"\" (an unset variable)" empty_opt 2
  expect_grep "$opt \"\": says the value is empty" empty_opt.err "^joincheck run: $opt: expected .*got an empty value"
done

# --- no false green: a JS that misses the deadline again and again stops the run ---------------
echo "# deadline misses"
start=$(date +%s)
jc slow run --fault slow-answer=1500 --timeout 200 --json slow.json
took=$(( $(date +%s) - start ))
expect_rc "--fault slow-answer=1500 --timeout 200" slow 1
expect_grep "slow JS: the run says why it stopped" slow.out '^run stopped early: the target missed the 200 ms deadline of 3 exchanges in a row'
expect_grep "slow JS: the checks not judged are ERROR" slow.out '^ERROR +devnonce/replay-1\.1 '
if [ "$took" -lt 20 ]; then ok "slow JS: the run took ${took} s, not minutes"; else fail "slow JS: the run took ${took} s"; fi
expect_eq "slow JS: JSON stopped_early" \
  "$(jq_py slow.json "d['stopped_early'].startswith('the target missed the 200 ms deadline of 3 exchanges in a row')")" True

# --- no false green: nothing judged is no pass ---------------------------------------------------
jc only_tls run --only tls
expect_rc "--only tls against the plain-HTTP embedded JS (every check skipped)" only_tls 1
expect_grep "--only tls: says nothing was judged" only_tls.out '^nothing was judged: every selected check was skipped'
jc none_selected run --only devnonce --skip devnonce
expect_rc "--only devnonce --skip devnonce (no check selected)" none_selected 1
expect_grep "no check selected: says nothing was judged" none_selected.out '^nothing was judged: no check was selected'

# --- serve-js as an external target --------------------------------------------------------------

echo "# serve-js, default set-up"
# Without --ns it serves any NetID, without KEKs it sends keys in clear: the suite says so.
start_js js1.log --devices all.json
jc ext_plain run --target "$js_url" --devices all.json --json ext_plain.json
stop_js
expect_rc "serve-js without --ns/--kek" ext_plain 1
expect_grep "serve-js without --ns: join/unknown-sender fails (any NetID served)" ext_plain.out '^FAIL  join/unknown-sender '
expect_grep "serve-js without KEKs: kek/network-keys-wrapped is skipped" ext_plain.out '^SKIP  kek/network-keys-wrapped .*no KEK'
expect_grep "serve-js without KEKs: the clear keys are redacted in the console" ext_plain.out '"AESKey":"<redacted>"'
if [ "$(jq_py ext_plain.json "sum(1 for e in d['exchanges'] for n in e['notes'] if re.search(r'Key: [0-9a-fA-F]{32}', n))")" = 0 ] &&
   [ "$(jq_py ext_plain.json "sum(1 for e in d['exchanges'] if re.search(r'\"AESKey\": *\"[0-9a-fA-F]', e['response_body']))")" = 0 ]; then
  ok "serve-js without KEKs: no clear session key in the JSON report"
else fail "serve-js without KEKs: a clear session key in the JSON report"; fi

echo "# serve-js, set up like the target file"
kek_ns=000102030405060708090a0b0c0d0e0f
kek_as=0f0e0d0c0b0a09080706050403020100
js_args=(--ns 000001 --kek "000001=$kek_ns" --kek "as-kek=$kek_as" --as-kek as-kek --as-id joincheck-as
         --home-net-id 000001)
# url is required in the file; --target overrides it (port 9 would make the run exit 3).
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
start_js js2.log --devices all.json "${js_args[@]}"
jc ext run --config target.toml --target "$js_url" --devices all.json --junit ext.xml --json ext.json \
  --state fleet-state.json
expect_rc "serve-js --ns 000001 with KEKs, --config target.toml" ext 0
# The JS remembers DevNonces: a second run passes only because the fleet remembers too.
jc ext_again run --config target.toml --target "$js_url" --devices all.json --state fleet-state.json
expect_rc "serve-js: a second run with --state" ext_again 0
jc ext_amnesic run --config target.toml --target "$js_url" --devices all.json
expect_rc "serve-js: a third run without --state replays DevNonces" ext_amnesic 1
# The same trap with --only devnonce: every setup join is refused; the checks were not judged.
jc ext_devnonce run --config target.toml --target "$js_url" --devices all.json --only devnonce --strict
expect_rc "serve-js: --only devnonce --strict with every setup join refused" ext_devnonce 1
expect_grep "--only devnonce with refused setup joins: 0 pass, 0 skip" ext_devnonce.out '^joincheck: [0-9]+ checks: 0 pass, 0 fail, 0 warn, 0 skip, [1-9][0-9]* error'
expect_grep "--only devnonce with refused setup joins: ERROR with the likely cause" ext_devnonce.out 'ERROR +devnonce/replay-1\.0\.4 .*likely cause: the JS refused a DevNonce it has seen before'
stop_js
expect_grep "serve-js: the replayed joins are refused" ext_amnesic.out '^FAIL  join/success-1\.0\.4 '
expect_eq "serve-js: the state file holds no key" "$(grep -ciE '[0-9a-f]{32}' fleet-state.json || true)" "0"
expect_grep "serve-js: summary with 0 fail, 0 warn" ext.out '^joincheck: [0-9]+ checks: [0-9]+ pass, 0 fail, 0 warn, [0-9]+ skip, 0 error .* against http://127\.0\.0\.1:'
expect_grep "serve-js: PASS join/unknown-sender" ext.out '^PASS  join/unknown-sender '
expect_grep "serve-js: PASS kek/network-keys-wrapped" ext.out '^PASS  kek/network-keys-wrapped '
expect_grep "serve-js: PASS kek/app-s-key-wrapped" ext.out '^PASS  kek/app-s-key-wrapped '
expect_grep "serve-js: PASS homens/answer" ext.out '^PASS  homens/answer '
other_skips=$(grep -E '^SKIP  ' ext.out | grep -vE '^SKIP  (async|tls|air)/' || true)
if [ -z "$other_skips" ]; then ok "serve-js: only the async, tls (plain HTTP) and air (no --via-gateway) checks are skipped"
else fail "serve-js: checks skipped besides async/, tls/ and air/" "$other_skips"; fi
expect_valid_junit "serve-js" ext.xml
expect_eq "serve-js: JSON mac_versions" "$(jq_py ext.json "','.join(d['mac_versions'])")" "1.0.2,1.0.3,1.0.4,1.1"

echo "# serve-js answering asynchronously"
async_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cp target.toml target_async.toml
printf '[async]\nlisten = "127.0.0.1:%s"\n' "$async_port" >>target_async.toml
start_js js3.log --devices all.json "${js_args[@]}" --async "000001=http://127.0.0.1:$async_port/"
jc ext_async run --config target_async.toml --target "$js_url" --devices all.json --skip tls --skip air  # plain HTTP, no gateway
stop_js
expect_rc "serve-js --async with [async] in the target file" ext_async 0
expect_grep "serve-js --async: every check passes" ext_async.out '^joincheck: ([0-9]+) checks: \1 pass, 0 fail, 0 warn, 0 skip, 0 error'

# --- keys never printed --------------------------------------------------------------------------
echo "# keys"
jc keys run --devices all.json --junit keys.xml --json keys.json
expect_rc "run --devices all.json (embedded JS)" keys 0
leaks=""
for k in $root_keys; do
  for f in keys.out keys.err keys.xml keys.json; do grep -qi "$k" "$f" && leaks="$leaks $k in $f"; done
done
if [ -n "$root_keys" ] && [ -z "$leaks" ]; then ok "no root key of the fleet in stdout, JUnit or JSON"
else fail "root keys printed:${leaks:- (no root key read from all.json)}"; fi
expect_grep "session keys are shown redacted" keys.json 'NwkSKey: <redacted 16-byte key>'

jc reveal run --devices all.json --reveal-keys --json reveal.json
expect_rc "run --devices all.json --reveal-keys" reveal 0
revealed=$(jq_py reveal.json "' '.join(sorted({m for e in d['exchanges'] for n in e['notes'] for m in re.findall(r'^(?:NwkSKey|AppSKey|FNwkSIntKey|SNwkSIntKey|NwkSEncKey): ([0-9a-f]{32})', n)}))")
n_revealed=$(wc -w <<<"$revealed")
if [ "$n_revealed" -gt 0 ]; then ok "--reveal-keys: $n_revealed session keys in the JSON notes"
else fail "--reveal-keys: no 32-hex-digit session key in the JSON notes" "$(grep -m5 'Key:' reveal.json)"; fi
# Same seed, same fleet, fresh JS: the same sessions as the run without --reveal-keys, whose
# outputs must hold none of these keys.
if [ "$(jq_py reveal.json "[n for e in d['exchanges'] for n in e['notes'] if n.startswith('join-accept')]")" = \
     "$(jq_py keys.json "[n for e in d['exchanges'] for n in e['notes'] if n.startswith('join-accept')]")" ]; then
  leaks=""
  for k in $revealed; do
    for f in keys.out keys.xml keys.json; do grep -qi "$k" "$f" && leaks="$leaks $k in $f"; done
  done
  if [ -z "$leaks" ]; then ok "without --reveal-keys none of those session keys is printed"
  else fail "session keys printed without --reveal-keys:$leaks"; fi
else
  fail "the runs with and without --reveal-keys joined differently (cannot compare their keys)"
fi

# Over the air: the suite's plain joins through a simulated gateway and joincheck's NS, and the
# air/ scenarios (confirmed uplinks acknowledged).
jc via run --via-gateway --gateways 2 --junit via.xml
expect_rc "run --via-gateway" via 0
expect_grep "run --via-gateway: PASS air/join-accept-window" via.out '^PASS  air/join-accept-window '
expect_grep "run --via-gateway: PASS air/uplink-acknowledged" via.out '^PASS  air/uplink-acknowledged '
expect_grep "run --via-gateway: the joins of the suite still pass" via.out '^PASS  join/success-1.1 '
jc via_bad run --via-gateway --region EU433
expect_rc "run --via-gateway --region EU433" via_bad 2
expect_grep "run --via-gateway --region EU433: says what regions there are" via_bad.err 'expected EU868 or US915'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
