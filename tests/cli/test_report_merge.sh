#!/usr/bin/env bash
# `joincheck report merge` of run reports as a CI matrix uses it: `joincheck run --only A` and
# `--only B` against the embedded reference JS, merged into one report that holds both halves'
# checks and exchanges and passes (exit 0); a half against a faulty JS makes the merge fail
# (exit 1) and shows the failure; warnings fail under --strict; a half that could not reach the JS
# exits 3; a merged report merges again; runs of another target or profile, a report given twice,
# reports of load and run mixed, and a malformed report are usage errors (exit 2) naming the files.
#
# usage: tests/cli/test_report_merge.sh PATH/TO/joincheck
set -uo pipefail
bin=${1:?usage: test_report_merge.sh PATH/TO/joincheck}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
xsd=$here/../reports/schema/jenkins-xunit-junit-10.xsd
command -v xmllint >/dev/null || { echo "xmllint is needed (apt-get install libxml2-utils)"; exit 1; }
# shellcheck source=lib.sh
. "$here/lib.sh"
enter_temp_dir report-merge

# py WHAT SCRIPT: runs the python SCRIPT (asserts), a line ok/FAIL named WHAT.
py() {
  local out
  if out=$(python3 -c "$2" 2>&1); then ok "$1"; else fail "$1" "$out"; fi
}

# --- two halves of the suite, merged: both halves' checks, exit 0 -------------------------------
jc half_a run --only devnonce --json a.json
expect_rc "run --only devnonce" half_a 0
jc half_b run --only join --json b.json
expect_rc "run --only join" half_b 0
jc merged report merge a.json b.json --json m.json --junit m.xml --html m.html
expect_rc "merge of the devnonce and join halves" merged 0
expect_grep "merge: says how many reports it merged" merged.out '^2 report\(s\) of joincheck run merged$'
expect_grep "merge: the summary of a run, against the embedded JS" merged.out \
  '^joincheck: [0-9]+ checks: [0-9]+ pass, 0 fail, [0-9]+ warn, [0-9]+ skip, 0 error in [0-9.]+ s against embedded reference JS \(profile strict\)$'
py "merged JSON: every check of both halves once, counts and exchanges added, traces moved with their exchanges" '
import json
a, b, m = (json.load(open(f)) for f in ("a.json", "b.json", "m.json"))
assert m["command"] == "run", m["command"]
ids = [r["id"] for r in m["results"]]
assert sorted(ids) == sorted([r["id"] for r in a["results"]] + [r["id"] for r in b["results"]]), ids
assert any(i.startswith("devnonce/") for i in ids) and any(i.startswith("join/") for i in ids), ids
assert len(set(ids)) == len(ids)
for key in ("pass", "fail", "warn", "skip", "error", "total"):
    assert m["summary"][key] == a["summary"][key] + b["summary"][key], key
assert len(m["exchanges"]) == len(a["exchanges"]) + len(b["exchanges"])
assert [e["index"] for e in m["exchanges"]] == list(range(len(m["exchanges"])))
shift = len(a["exchanges"])
by_id = {r["id"]: r for r in m["results"]}
for r in b["results"]:
    mine = by_id[r["id"]]
    assert mine["trace"] == [t + shift for t in r["trace"]], (r["id"], mine["trace"], r["trace"])
    for t in r["trace"]:
        assert m["exchanges"][t + shift]["label"] == b["exchanges"][t]["label"]
for r in a["results"]:
    assert by_id[r["id"]]["trace"] == r["trace"] and by_id[r["id"]]["verdict"] == r["verdict"]
assert m["started_at"] == min(a["started_at"], b["started_at"])
assert m["duration_ms"] == a["duration_ms"] + b["duration_ms"]
assert m["target"] == "embedded reference JS", m["target"]
assert m["setup_error"] == "" and m["stopped_early"] == ""
'
if out=$(xmllint --noout --schema "$xsd" m.xml 2>&1); then ok "merged JUnit validates against junit-10.xsd"
else fail "merged JUnit validates against junit-10.xsd" "$out"; fi
py "merged JUnit: a testcase per check of both halves, no failure" '
import json, xml.etree.ElementTree as ET
m = json.load(open("m.json"))
cases = list(ET.parse("m.xml").iter("testcase"))
assert len(cases) == m["summary"]["total"], (len(cases), m["summary"]["total"])
assert not [c for c in cases if c.find("failure") is not None]
'
expect_grep "merged HTML: the page of a run" m.html '"command":"run"'

# A merged report is a run report: it merges again.
jc half_c run --only kek --json c.json
expect_rc "run --only kek" half_c 0
jc again report merge m.json c.json --json m2.json
expect_rc "a merged report merged with a third half" again 0
py "merged twice: the three halves' checks" '
import json
ids = lambda f: sorted(r["id"] for r in json.load(open(f))["results"])
assert ids("m2.json") == sorted(ids("a.json") + ids("b.json") + ids("c.json"))
'

# --- a half against a faulty JS: the merge fails and shows the failure -------------------------
jc faulty run --only join --fault bad-accept-mic --json bad.json
expect_rc "run --only join --fault bad-accept-mic" faulty 1
jc merged_bad report merge a.json bad.json --json mb.json --junit mb.xml
expect_rc "merge with the faulty half" merged_bad 1
expect_grep "merge with the faulty half: a FAIL line per failed check" merged_bad.out '^FAIL  join/success-1\.0\.3 '
expect_grep "merge with the faulty half: the summary counts the failures" merged_bad.out '^joincheck: [0-9]+ checks: [0-9]+ pass, [1-9][0-9]* fail'
py "merge with the faulty half: the faulty half decides its checks, in JSON and JUnit" '
import json, xml.etree.ElementTree as ET
bad, mb = json.load(open("bad.json")), json.load(open("mb.json"))
by_id = {r["id"]: r for r in mb["results"]}
for r in bad["results"]:
    assert by_id[r["id"]]["verdict"] == r["verdict"], r["id"]
    assert by_id[r["id"]]["actual"] == r["actual"], r["id"]
assert by_id["join/success-1.0.3"]["verdict"] == "fail"
assert mb["summary"]["fail"] == bad["summary"]["fail"] > 0
failed = [c.get("name") for c in ET.parse("mb.xml").iter("testcase") if c.find("failure") is not None]
assert "join/success-1.0.3" in failed, failed
'
# Both ways: the faulty half last or first, the same verdicts.
jc merged_bad_first report merge bad.json a.json --json mb2.json
expect_rc "merge with the faulty half first" merged_bad_first 1

# --- --strict: warnings fail the merged report, as they fail a run ---------------------------------
jc tts_a run --behave-like tts --profile tts --only macversion --json tts-a.json
expect_rc "run --behave-like tts --profile tts --only macversion (warnings)" tts_a 0
jc tts_b run --behave-like tts --profile tts --only devnonce --json tts-b.json
expect_rc "run --behave-like tts --profile tts --only devnonce" tts_b 0
jc tts_merge report merge tts-a.json tts-b.json --json tts.json
expect_rc "merge with warnings" tts_merge 0
expect_grep "merge with warnings: a WARN line per warning" tts_merge.out '^WARN  macversion/'
jc tts_strict report merge tts-a.json tts-b.json --strict --json tts.json
expect_rc "merge with warnings, --strict" tts_strict 1

# --- refused: exit 2, the files named -------------------------------------------------------------
python3 - <<'PY'
import json
a = json.load(open("a.json"))
def write(name, **changes):
    d = json.loads(json.dumps(a))
    d.update(changes)
    json.dump(d, open(name, "w"))
write("other-target.json", target="https://js.example:8443/")
write("other-profile.json", profile="tts")
bad = json.loads(json.dumps(a))
bad["results"][0]["verdict"] = "maybe"
json.dump(bad, open("bad-verdict.json", "w"))
json.dump({"command": "load"}, open("load.json", "w"))
json.dump({"command": "doctor"}, open("doctor.json", "w"))
json.dump({"command": "gateway"}, open("gateway.json", "w"))
PY
jc other_target report merge a.json other-target.json --json x.json
expect_rc "another target" other_target 2
expect_grep "another target: both files and targets named" other_target.err \
  'other-target\.json: target "https://js\.example:8443/", but a\.json: "embedded reference JS \(http'
jc other_profile report merge a.json other-profile.json --json x.json
expect_rc "another profile" other_profile 2
expect_grep "another profile: both files and profiles named" other_profile.err 'other-profile\.json: profile "tts", but a\.json: "strict"'
jc twice report merge a.json b.json a.json --json x.json
expect_rc "a report given twice" twice 2
expect_grep "a report given twice: says so" twice.err 'a\.json is the same report as a\.json'
jc mixed report merge a.json load.json --json x.json
expect_rc "a run report and a load report" mixed 2
expect_grep "run and load mixed: both files named" mixed.err 'load\.json is a report of joincheck load, a\.json of joincheck run'
jc doctor report merge doctor.json a.json --json x.json
expect_rc "a doctor report" doctor 2
expect_grep "a doctor report: says which reports merge" doctor.err 'doctor\.json: a report of joincheck doctor'
jc gateway report merge gateway.json a.json --json x.json
expect_rc "a gateway report" gateway 2
expect_grep "a gateway report: says which reports merge" gateway.err 'gateway\.json: a report of joincheck gateway'
jc malformed report merge a.json bad-verdict.json --json x.json
expect_rc "a malformed run report" malformed 2
expect_grep "malformed: the file, the JSON path, expected and seen" malformed.err \
  'bad-verdict\.json\.results\[0\]\.verdict: expected one of pass, fail, warn, skip, error, got "maybe"'
jc assert_on_run report merge a.json b.json --assert 'p99<=50ms' --json x.json
expect_rc "--assert with run reports" assert_on_run 2
if [ -e x.json ]; then fail "no report is written on a usage error" "$(ls)"; else ok "no report is written on a usage error"; fi

# --- a real load report: merged alone as before, refused among run reports ---------------------
"$bin" devices generate --count 8 --join-eui 0000000000000002 --mac-version 1.0.3 --seed 4 \
  --out load-fleet.json >/dev/null || { echo "devices generate failed"; exit 1; }
start_js load-js.log --devices load-fleet.json
jc load_run load --target "$js_url" --devices load-fleet.json --max --duration 300ms --connections 1 --shard 1/1 \
  --quiet --json load-real.json
expect_rc "joincheck load --shard 1/1" load_run 0
stop_js
jc load_alone report merge load-real.json --json load-merged.json
expect_rc "a load report merged alone (the load branch)" load_alone 0
expect_grep "the load branch: its summary line" load_alone.out '^1 report\(s\) merged: [0-9]+ JoinReqs sent, [0-9]+ verified, 0 errors$'
jc load_then_run report merge load-real.json a.json --json x.json
expect_rc "a load report, then a run report" load_then_run 2
expect_grep "load then run: both files named" load_then_run.err 'a\.json is a report of joincheck run, load-real\.json of joincheck load'
jc load_strict report merge load-real.json --strict --json x.json
expect_rc "--strict with a load report" load_strict 2

# --- a half that could not reach its JS: the merge exits 3 and says which -------------------------
"$bin" devices generate --count 8 --join-eui 0000000000000001 --mac-version 1.0.3,1.0.4,1.1 --seed 3 \
  --out fleet.json >/dev/null || { echo "devices generate failed"; exit 1; }
start_js js.log --devices fleet.json
jc up run --target "$js_url" --devices fleet.json --only devnonce --json up.json
expect_rc "run --only devnonce against serve-js" up 0
stop_js
jc down run --target "$js_url" --devices fleet.json --only join --json down.json
expect_rc "run --only join once serve-js is gone" down 3
jc merged_down report merge up.json down.json --json md.json
expect_rc "merge with the half that could not reach the JS" merged_down 3
expect_grep "unreachable half: named in the summary" merged_down.out '^target could not be reached: down\.json: cannot reach '
py "unreachable half: its checks are errors in the merged JSON" '
import json
md = json.load(open("md.json"))
assert md["setup_error"].startswith("down.json: cannot reach "), md["setup_error"]
assert all(r["verdict"] == "error" for r in md["results"] if r["id"].startswith("join/"))
assert md["summary"]["error"] > 0
'

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
