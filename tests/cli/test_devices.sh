#!/usr/bin/env bash
# `joincheck devices generate` and `devices export` run as a user runs them: determinism with a
# seed, the formats, round trips through export and `serve-js --devices`, and exit codes.
set -u
bin=${1:?usage: test_devices.sh PATH/TO/joincheck}
case $bin in /*) ;; *) bin=$PWD/$bin ;; esac
passed=0 failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/joincheck-devices.XXXXXX")
js_pid=""
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
  if [ -n "$js_pid" ] && kill -0 "$js_pid" 2>/dev/null; then kill "$js_pid"; wait "$js_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1

ok() { echo "ok   $1"; passed=$((passed+1)); }
fail() { echo "FAIL $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/    /'; failed=$((failed+1)); }

check() {  # check NAME EXPECTED_EXIT PATTERN -- ARGS...
  local name=$1 want_exit=$2 pattern=$3; shift 4
  local out rc
  out=$("$bin" "$@" 2>&1); rc=$?
  if [ "$rc" -ne "$want_exit" ]; then fail "$name: exit $rc, expected $want_exit" "$out"; return; fi
  if ! grep -qE -- "$pattern" <<<"$out"; then fail "$name: output does not match /$pattern/" "$out"; return; fi
  ok "$name"
}

same() {  # same NAME FILE1 FILE2
  if cmp -s "$2" "$3"; then ok "$1"; else fail "$1: $2 and $3 differ" "$(diff "$2" "$3" | head -5)"; fi
}

differ() {  # differ NAME FILE1 FILE2
  if cmp -s "$2" "$3"; then fail "$1: $2 and $3 are identical"; else ok "$1"; fi
}

jeui=70b3d57ed0000000
gen() { "$bin" devices generate --join-eui $jeui "$@" 2>/dev/null; }

# Determinism: a seed fixes the fleet; another seed gives another one.
gen --count 5 --mac-version 1.1 --seed 42 --out s42a.json
gen --count 5 --mac-version 1.1 --seed 42 --out s42b.json
gen --count 5 --mac-version 1.1 --seed 43 --out s43.json
same "same seed, same JSON fleet" s42a.json s42b.json
differ "other seed, other fleet" s42a.json s43.json
gen --count 5 --mac-version 1.0.3 --seed 42 --out s42a.csv
gen --count 5 --mac-version 1.0.3 --seed 42 --out s42b.csv
same "same seed, same CSV fleet" s42a.csv s42b.csv
check "JSON written" 0 '"MACVersion": "1.1"' -- devices export --devices s42a.json
check "CSV written with a header row" 0 '^DevEUI,JoinEUI,MACVersion,AppKey,NwkKey' -- \
  devices export --devices s42a.csv --format csv
if [ "$(grep -c "^[0-9a-f]\{16\},$jeui,1.0.3," s42a.csv)" -eq 5 ]; then ok "CSV has 5 devices"
else fail "CSV has 5 devices" "$(cat s42a.csv)"; fi
if [ "$(stat -c %a s42a.json)" = 600 ]; then ok "fleet file readable by its owner only"
else fail "fleet file readable by its owner only: mode $(stat -c %a s42a.json)"; fi

# Without --seed: a random one, printed so the run can be repeated.
out=$("$bin" devices generate --count 3 --join-eui $jeui --mac-version 1.0.4 --out r1.json 2>&1)
seed=$(sed -n 's/.*using --seed \([0-9][0-9]*\).*/\1/p' <<<"$out")
if [ -n "$seed" ]; then
  ok "random seed printed"
  gen --count 3 --mac-version 1.0.4 --seed "$seed" --out r2.json
  same "printed seed repeats the run" r1.json r2.json
else
  fail "random seed printed" "$out"
fi

# Export: the five provisioning fields, JSON and CSV, one warning line on stderr.
"$bin" devices export --devices s42a.json >e.json 2>e.err
if [ "$(wc -l <e.err)" -eq 1 ] && grep -q 'warning: the output holds the root keys' e.err; then
  ok "export warns once about root keys"
else fail "export warns once about root keys" "$(cat e.err)"; fi
if grep -q DevNonce e.json; then fail "JSON export holds only provisioning fields" "$(head -12 e.json)"
elif [ "$(grep -c '"NwkKey"' e.json)" -eq 5 ] && [ "$(grep -c '"AppKey"' e.json)" -eq 5 ]; then
  ok "JSON export holds only provisioning fields"
else fail "JSON export holds only provisioning fields" "$(head -12 e.json)"; fi
missing=""
for k in $(sed -n 's/.*"\(AppKey\|NwkKey\)": "\([0-9a-f]*\)".*/\2/p' s42a.json); do
  grep -q "$k" e.json || missing="$missing $k"
done
if [ -z "$missing" ] && [ "$(grep -c Key s42a.json)" -eq 10 ]; then ok "JSON export keeps the keys"
else fail "JSON export keeps the keys" "missing:$missing"; fi

"$bin" devices export --devices s42a.json --out e1.csv 2>/dev/null
"$bin" devices export --devices e1.csv --out e2.json 2>/dev/null
"$bin" devices export --devices e2.json --out e3.csv 2>/dev/null
same "CSV -> JSON -> CSV export round trip" e1.csv e3.csv
"$bin" devices export --devices e2.json --format json >e4.json 2>/dev/null
same "JSON export of the CSV equals the JSON export" e.json e4.json
"$bin" devices export --devices s42a.csv --out c1.json 2>/dev/null
"$bin" devices export --devices c1.json --format csv >c2.csv 2>/dev/null
"$bin" devices export --devices c2.csv --out c3.json 2>/dev/null
same "1.0.3 CSV fleet round trip" c1.json c3.json
check "CSV export of 1.0.3 leaves NwkKey empty" 0 "^[0-9a-f]{16},$jeui,1.0.3,[0-9a-f]{32},\$" -- \
  devices export --devices s42a.csv --format csv

# serve-js provisions the devices from the exported files.
serve() {  # serve NAME FLEET COUNT
  local name=$1 fleet=$2 count=$3
  "$bin" serve-js --listen 127.0.0.1:0 --devices "$fleet" --quiet 2>"js.err" &
  js_pid=$!
  for _ in $(seq 50); do
    grep -q 'listening on' js.err && break
    kill -0 "$js_pid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -q "serve-js: $count devices, listening on http://127.0.0.1:" js.err; then ok "$name"
  else fail "$name" "$(cat js.err)"; fi
  kill "$js_pid" 2>/dev/null; wait "$js_pid" 2>/dev/null; js_pid=""
}
serve "serve-js accepts the exported CSV" e1.csv 5
serve "serve-js accepts the exported JSON" e2.json 5
serve "serve-js accepts the generated CSV" s42a.csv 5

# Bad input: exit 2, saying what was expected and what was seen.
g=(devices generate --join-eui "$jeui" --mac-version 1.1 --seed 1)
check "bad MAC version" 2 '--mac-version: expected one of 1.0, .*1.1.*got "1.2"' -- \
  devices generate --count 1 --join-eui $jeui --mac-version 1.2 --out x.json
check "count 0" 2 '--count: expected a whole number from 1 to 1000000, got "0"' -- "${g[@]}" --count 0 --out x.json
check "count huge" 2 '--count: expected a whole number from 1 to 1000000, got "1000001"' -- \
  "${g[@]}" --count 1000001 --out x.json
check "count not a number" 2 '--count: expected a whole number .*got "ten"' -- "${g[@]}" --count ten --out x.json
check "count overflows" 2 '--count: expected a whole number' -- "${g[@]}" --count 99999999999999999999999 --out x.json
check "bad JoinEUI length" 2 '--join-eui: expected 16 hex digits' -- \
  devices generate --count 1 --join-eui 70b3d57e --mac-version 1.1 --out x.json
check "bad JoinEUI digit" 2 '--join-eui: expected' -- \
  devices generate --count 1 --join-eui 70b3d57ed000000g --mac-version 1.1 --out x.json
check "bad seed" 2 '--seed: expected a whole number from 0 to 18446744073709551615, got "-1"' -- \
  devices generate --count 1 --join-eui $jeui --mac-version 1.1 --seed -1 --out x.json
check "unknown extension" 2 '--out: expected a file name ending in .json or .csv.*"x.txt"' -- \
  "${g[@]}" --count 1 --out x.txt
check "no --out" 2 '--out is required' -- "${g[@]}" --count 1
check "a MAC version given twice" 2 '--mac-version: "1.1" is given twice' -- \
  devices generate --count 4 --join-eui $jeui --mac-version 1.1,1.0.3,1.1 --out x.json
check "fewer devices than MAC versions" 2 '--count: 3 MAC versions need at least 3 devices, got 2' -- \
  devices generate --count 2 --join-eui $jeui --mac-version 1.0.3,1.0.4,1.1 --out x.json
check "an empty --mac-version" 2 'mac-version: expected .*got an empty value' -- \
  devices generate --count 2 --join-eui $jeui --mac-version "" --out x.json

# A mixed fleet in one command: the versions take turns, DevEUIs are distinct; without
# --mac-version, the versions the built-in suite needs.
check "mixed fleet, comma-separated" 0 'wrote 6 devices \(LoRaWAN 1.0.3, 1.1 in turn\) to mixed.json' -- \
  devices generate --count 6 --join-eui $jeui --mac-version 1.0.3,1.1 --seed 9 --out mixed.json
check "mixed fleet, repeated option" 0 'wrote 6 devices \(LoRaWAN 1.0.3, 1.1 in turn\) to mixed2.json' -- \
  devices generate --count 6 --join-eui $jeui --mac-version 1.0.3 --mac-version 1.1 --seed 9 --out mixed2.json
same "comma-separated and repeated --mac-version give the same fleet" mixed.json mixed2.json
check "default MAC versions" 0 'wrote 8 devices \(LoRaWAN 1.0.2, 1.0.3, 1.0.4, 1.1 in turn\) to suite.json' -- \
  devices generate --count 8 --join-eui $jeui --seed 9 --out suite.json
if python3 - <<'PY'
import collections, json
mixed = json.load(open("mixed.json"))["devices"]
assert [d["MACVersion"] for d in mixed] == ["1.0.3", "1.1"] * 3, [d["MACVersion"] for d in mixed]
assert all(("NwkKey" in d) == (d["MACVersion"] == "1.1") for d in mixed), "NwkKey on the wrong devices"
suite = json.load(open("suite.json"))["devices"]
assert collections.Counter(d["MACVersion"] for d in suite) == {"1.0.2": 2, "1.0.3": 2, "1.0.4": 2, "1.1": 2}
assert len({d["DevEUI"] for d in suite}) == 8 and len({d["DevEUI"] for d in mixed}) == 6, "DevEUIs collide"
PY
then ok "mixed fleets: versions in turn, NwkKey for 1.1 only, distinct DevEUIs"
else fail "mixed fleets: versions in turn, NwkKey for 1.1 only, distinct DevEUIs" "$(cat mixed.json suite.json)"; fi
cp s42a.json keep.json
check "existing output without --force" 2 '--out: s42a.json already exists; give --force' -- \
  "${g[@]}" --count 1 --out s42a.json
same "existing output left untouched" s42a.json keep.json
check "existing output with --force" 0 'wrote 1 LoRaWAN 1.1 device to s42a.json' -- \
  "${g[@]}" --count 1 --out s42a.json --force
check "export: existing output without --force" 2 '--out: e1.csv already exists; give --force' -- \
  devices export --devices e2.json --out e1.csv
check "export: bad format" 2 '--format: expected json or csv, got "xml"' -- devices export --devices e2.json --format xml
check "export: format contradicts extension" 2 '--format csv contradicts --out y.json' -- \
  devices export --devices e2.json --format csv --out y.json
check "export: missing fleet" 2 'nope.json: cannot read the fleet file' -- devices export --devices nope.json
printf 'DevEUI,JoinEUI,MACVersion,Appkey\n0102030405060708,%s,1.0.3,%s\n' $jeui 01020304050607080102030405060708 >typo.csv
check "export: fleet with a typo" 2 'Appkey' -- devices export --devices typo.csv
check "no subcommand" 2 'A subcommand is required' -- devices

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
