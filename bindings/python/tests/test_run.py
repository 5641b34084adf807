"""Runs: the built-in suite, subsets, profiles, dict scenarios, results as objects, JUnit and JSON
reports, key redaction, state across runs, callbacks, and the GIL released while the harness works.
The judge is proven both ways: the clean reference JS passes, a faulty one fails the named check."""

import json
import threading
import time
import xml.etree.ElementTree as ET

import pytest

import joincheck
from conftest import write_target_file

# The README's custom scenario: a DevNonce used before a rejoin is still refused.
REPLAY_AFTER_REJOIN = {
    "id": "custom/replay-after-rejoin", "title": "A DevNonce used before a rejoin is still refused",
    "level": "MUST", "spec": "LoRaWAN 1.1 §6.2.2", "requires": ["rejoin"],
    "devices": {"dev": {"MACVersion": "1.1"}},
    "steps": [
        {"send": "join", "device": "dev", "check": "join/success-1.1", "expect": "Success"},
        {"send": "rejoin", "device": "dev", "RejoinType": 0, "check": "rejoin/type-0", "expect": "Success"},
        {"send": "join", "device": "dev", "DevNonce": "previous",
         "expect": {"result": "failure", "prefer": ["JoinReqFailed", "FrameReplayed"]}},
    ],
}


def test_the_suite_passes_the_clean_reference_js(clean_report):
    r = clean_report
    assert r.passed() and r.passed(strict=True) and r.exit_code() == 0, str(r)
    assert r.setup_error == "" and r.failures == [] and r.profile == "strict"
    assert r.counts["fail"] == 0 and r.counts["pass"] > 50 and r.counts["total"] == len(r) == len(joincheck.checks())
    assert [c.id for c in r] == [c.id for c in joincheck.checks()]
    assert set(r.mac_versions) == {"1.0.2", "1.0.3", "1.0.4", "1.1"} and r.target.startswith("embedded reference JS")
    result = r["devnonce/replay-1.0.4"]
    assert (result.id, result.group, result.level, result.verdict, result.ok) == (
        "devnonce/replay-1.0.4", "devnonce", "MUST", "pass", True)
    assert result.spec and result.title and result.expected and result.actual and result.evaluations >= 1
    assert result.trace and isinstance(result.trace[0], joincheck.Exchange)
    assert result.trace[0].http_status == 200 and result.trace[0].request["MessageType"] == "JoinReq"
    assert "devnonce/replay-1.0.4" in r and r.get("no/such-check") is None
    with pytest.raises(KeyError, match="no/such-check"):
        r["no/such-check"]
    assert repr(r).startswith("Report(target='embedded reference JS") and "0 fail" in repr(r)
    assert "joincheck:" in str(r)
    r.assert_passed()


def test_a_faulty_js_fails_the_check_that_names_the_fault():
    r = joincheck.run(faults=["wrong-kek-label"])
    assert not r.passed() and r.exit_code() == 1
    assert [f.id for f in r.failures] == ["kek/known-label"]
    failed = r["kek/known-label"]
    assert failed.verdict == "fail" and not failed.ok and "wrong" in failed.actual
    assert "KEKLabel" in failed.expected and failed.trace
    text = str(failed)
    assert text.startswith("FAIL  kek/known-label") and "expected:" in text and "actual:" in text
    assert repr(failed) == f"CheckResult(id='kek/known-label', level='MUST', verdict='fail', actual={failed.actual!r})"
    with pytest.raises(AssertionError, match="kek/known-label"):
        r.assert_passed()


def test_only_skip_and_selectors():
    r = joincheck.run(only=["devnonce", "kek/known-label"], skip="devnonce/replay-1.0.4")
    ids = [c.id for c in r]
    assert "kek/known-label" in ids and "devnonce/replay-1.0.4" not in ids
    assert all(i.startswith("devnonce/") or i == "kek/known-label" for i in ids)
    assert r.passed()
    with pytest.raises(ValueError, match="--only nosuchgroup"):
        joincheck.run(only="nosuchgroup")


# Under its profile a vendor's quirks warn and only its real bugs fail: brocaar's rejoin keys,
# which leave a device that cannot talk (docs/profiles.md#brocaar).
@pytest.mark.parametrize("vendor,bugs", [("brocaar", ["keys/rejoin-session-keys"]), ("tts", [])])
def test_a_vendor_is_known_under_its_profile_and_fails_under_strict(vendor, bugs):
    known = joincheck.run(behave_like=vendor, profile=vendor)
    assert [f.id for f in known.failures] == bugs and known.passed() == (not bugs)
    assert known.warnings and all(w.known_deviation or w.reason for w in known.warnings)
    assert known.profile == vendor
    assert not joincheck.run(behave_like=vendor).passed()
    assert joincheck.resolve_profile(vendor).known and vendor in joincheck.profiles()
    with pytest.raises(joincheck.ProfileError):
        joincheck.resolve_profile("nosuchprofile")


def test_a_dict_scenario_runs_alone_or_with_the_suite(harness):
    alone = harness.run(REPLAY_AFTER_REJOIN)
    assert alone.passed(), str(alone)
    assert alone["custom/replay-after-rejoin"].verdict == "pass"
    assert alone["custom/replay-after-rejoin"].spec == "LoRaWAN 1.1 §6.2.2"
    with_suite = joincheck.run(scenarios=[REPLAY_AFTER_REJOIN], suite=True)
    assert with_suite.passed() and len(with_suite) == len(joincheck.checks()) + 1
    parsed = joincheck.parse_scenarios(REPLAY_AFTER_REJOIN)
    assert parsed[0].custom and parsed[0].id == "custom/replay-after-rejoin" and parsed[0].source == "<python>"
    assert parsed[0].devices == {"dev": {"MACVersion": "1.1", "unknown": False}} and len(parsed[0].steps) == 3
    assert parsed[0].requires == ["rejoin"] and parsed[0].check.level == "MUST"
    # The same scenario, caught both ways: a JS that forgets DevNonces fails it.
    faulty = joincheck.run(scenarios=REPLAY_AFTER_REJOIN, faults=["accept-replayed-devnonce"])
    assert faulty["custom/replay-after-rejoin"].verdict == "fail"


# Over the air: a confirmed uplink after the join, through a simulated gateway and joincheck's NS.
ACK_AFTER_JOIN = {
    "id": "custom/ack-after-join", "title": "A confirmed uplink after the join is acknowledged",
    "level": "MUST", "spec": "LoRaWAN 1.0.4 §4.3.1.2",
    "devices": {"dev": {"MACVersion": "1.0.4"}},
    "steps": [
        {"send": "join", "device": "dev", "check": "join/success-1.0.4", "expect": "Success"},
        {"send": "expect_downlink", "device": "dev", "check": "air/join-accept-window", "window": "RX1"},
        {"send": "uplink", "device": "dev", "FPort": 3, "FRMPayload": "cafe", "confirmed": True},
        {"send": "expect_downlink", "device": "dev", "ack": True},
    ],
}


def test_over_the_air_scenarios_run_through_the_gateway_and_are_skipped_without_it():
    report = joincheck.run(scenarios=ACK_AFTER_JOIN, via_gateway=True, gateways=2)
    assert report["custom/ack-after-join"].verdict == "pass", str(report)
    assert report["air/join-accept-window"].verdict == "pass", str(report)
    # A JS that hands the NS another NwkSKey than the device derived: the join-accept still
    # arrives, but the NS cannot verify the uplink's MIC, so no ACK comes.
    faulty = joincheck.run(scenarios=ACK_AFTER_JOIN, via_gateway=True, faults=["wrong-session-key"])
    assert faulty["air/join-accept-window"].verdict == "pass", str(faulty)
    assert faulty["custom/ack-after-join"].verdict == "fail", str(faulty)
    direct = joincheck.run(scenarios=ACK_AFTER_JOIN)
    assert direct["custom/ack-after-join"].verdict == "skip"
    assert "--via-gateway" in direct["custom/ack-after-join"].reason
    with pytest.raises(ValueError, match="US916"):
        joincheck.run(scenarios=ACK_AFTER_JOIN, via_gateway="US916")


def test_a_dict_scenario_with_a_typo_names_the_step_and_the_field():
    typo = json.loads(json.dumps(REPLAY_AFTER_REJOIN))
    typo["steps"][2]["DevNonse"] = typo["steps"][2].pop("DevNonce")
    with pytest.raises(joincheck.ScenarioError) as e:
        joincheck.run(scenarios=typo)
    message = str(e.value)
    assert message.startswith('<python>: scenario "custom/replay-after-rejoin": steps[2].DevNonse: unknown field; '
                              'a "join" step takes send, device, check, expect, DevNonce,'), message
    assert isinstance(e.value, joincheck.Error)
    bad_value = json.loads(json.dumps(REPLAY_AFTER_REJOIN))
    bad_value["steps"][2]["DevNonce"] = "prev"
    with pytest.raises(joincheck.ScenarioError, match=r"steps\[2\]\.DevNonce: expected .*got \"prev\""):
        joincheck.parse_scenarios(bad_value)
    with pytest.raises(joincheck.ScenarioError, match="not JSON data"):
        joincheck.parse_scenarios({"id": object()})


def test_scenario_files_and_the_builtin_suite(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"scenarios": [REPLAY_AFTER_REJOIN]}))
    loaded = joincheck.load_scenarios(path)
    assert loaded[0].source == str(path)
    assert joincheck.run(scenarios=path).passed()
    suite = joincheck.builtin_suite()
    assert suite and all(isinstance(s, joincheck.Scenario) for s in suite)
    assert joincheck.run(scenarios=[s for s in suite if s.id.startswith("devnonce/")]).passed()


def test_junit_json_and_html_reports(tmp_path):
    r = joincheck.run(faults=["wrong-kek-label"], junit=tmp_path / "out" / "junit.xml",
                      json=tmp_path / "out" / "report.json", html=tmp_path / "out" / "report.html")
    suite = ET.parse(tmp_path / "out" / "junit.xml").getroot().find("testsuite")
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {c.id for c in r}
    assert cases["kek/known-label"].get("classname") == "kek"
    assert cases["kek/known-label"].find("failure") is not None
    assert cases["join/success-1.0.3"].find("failure") is None
    doc = json.loads((tmp_path / "out" / "report.json").read_text())
    assert doc == r.to_json() or doc["summary"] == r.to_json()["summary"]
    assert doc["summary"]["fail"] == 1 and doc["summary"]["total"] == len(r)
    joins = [e for e in doc["exchanges"] if "join_accept" in e]
    assert joins and joins[0]["join_accept"]["NetID"] == "000001" and len(joins[0]["join_accept"]["JoinNonce"]) == 6
    assert r.junit_xml().startswith("<?xml") and json.loads(r.json_text())["summary"] == doc["summary"]
    with pytest.raises(OSError, match="cannot write"):
        r.write_junit("/proc/joincheck/junit.xml")
    page = (tmp_path / "out" / "report.html").read_text()
    data = page.split('<script type="application/json" id="joincheck-data">', 1)[1].split("</script>", 1)[0]
    embedded = json.loads(data)
    assert embedded["command"] == "run" and embedded["summary"] == doc["summary"]
    assert embedded["joincheck"]["version"] == joincheck.__version__
    with pytest.raises(OSError, match="cannot write HTML report"):
        r.write_html("/proc/joincheck/report.html")


def _texts(report):
    yield repr(report)
    yield str(report)
    yield report.junit_xml()
    yield report.json_text()
    for c in report:
        yield repr(c)
        yield str(c)
    for e in report.exchanges:
        yield repr(e)
        yield str(e)
        yield repr(e.join_accept)


def test_keys_appear_only_when_revealed(harness, reference_js):
    def session_keys(report):
        """The NwkSKeys of the 1.0.x joins the devices accepted, derived here from the root keys."""
        keys = []
        for e in report.exchanges:
            accept = e.join_accept
            request = e.request
            if accept is None or not accept.accepted or request.get("MACVersion", "").startswith("1.1"):
                continue
            device = reference_js.fleet[request["DevEUI"]]
            if device.mac_version == "1.1":
                continue
            nonce = joincheck.parse_join_request(request["PHYPayload"]).dev_nonce
            derived = joincheck.derive_session_keys_1_0(device.app_key, join_nonce=accept.join_nonce,
                                                        net_id=accept.net_id, dev_nonce=nonce)
            keys.append(derived.nwk_s_key.hex())
        return keys

    hidden = harness.run(only="join")
    secrets = [d.app_key.hex() for d in reference_js.fleet] + [k.hex() for k in reference_js.target.keks.values()]
    secrets += session_keys(hidden)
    assert len(secrets) > len(reference_js.fleet)
    for text in _texts(hidden):
        for secret in secrets:
            assert secret not in text
    shown = harness.run(only="join", reveal_keys=True)
    revealed = session_keys(shown)
    assert revealed and all(any(k in str(e) for e in shown.exchanges) for k in revealed)


def test_a_shared_state_continues_the_devnonces_of_a_js_that_remembers(tmp_path):
    with joincheck.ReferenceJS() as js:
        state_file = tmp_path / "state.json"
        checks = ["devnonce", "join"]
        first = joincheck.run(js, only=checks, state=state_file)
        assert first.passed() and state_file.exists()
        state = joincheck.State.load(state_file)
        assert len(state) > 0 and all("DevNonceNext" in state[eui] for eui in state)
        again = joincheck.run(js, only=checks, state=state)
        assert again.passed(), str(again)
        forgetful = joincheck.run(js, only=checks)  # a fresh State: the JS sees replays
        assert not forgetful.passed()
        assert "used recently" in forgetful["join/success-1.0.3"].actual
    assert repr(state).startswith("State(")


def test_on_check_is_called_live_and_an_exception_in_it_stops_the_run():
    seen = []
    r = joincheck.run(on_check=seen.append)
    assert len(seen) == len(r) and {c.id for c in seen} == {c.id for c in r}
    assert seen[0].trace == [] and seen[0].line().split()[0] in ("PASS", "SKIP", "WARN")

    class Stop(Exception):
        pass

    def stop(result):
        raise Stop(result.id)

    with pytest.raises(Stop) as e:
        joincheck.run(on_check=stop)
    partial = e.value.report  # the run stopped at once: the report says so
    assert partial.setup_error == "interrupted" and partial.counts["error"] > 0


def test_an_unreachable_target_is_an_error_not_a_failure(reference_js):
    target = reference_js.target.replace(url="http://127.0.0.1:9/", timeout=1)
    r = joincheck.run(target, fleet=reference_js.fleet)
    assert r.exit_code() == 3 and "cannot reach" in r.setup_error
    assert r.counts["error"] > 0 and r.counts["fail"] == 0


def test_an_external_target_needs_its_fleet(reference_js):
    with pytest.raises(joincheck.ConfigError, match="devices"):
        joincheck.Harness(reference_js.target)
    with pytest.raises(ValueError, match="faults"):
        joincheck.Harness(reference_js.target, fleet=reference_js.fleet, faults=["wrong-kek-label"])


def test_the_gil_is_released_while_the_harness_works():
    # Each answer of this JS takes 20 ms; a Python thread counting meanwhile must not be held up.
    with joincheck.Harness(faults=["slow-answer=20"]) as harness:
        ticks = 0
        done = threading.Event()

        def count():
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                time.sleep(0.001)

        counter = threading.Thread(target=count)
        counter.start()
        started = time.monotonic()
        report = harness.run(only="devnonce")
        elapsed = time.monotonic() - started
        done.set()
        counter.join()
    assert report.passed() and elapsed > 0.2
    # A held GIL would leave the counter near 0; sleeping 1 ms a tick, it runs far more.
    assert ticks > elapsed * 100


def test_asynchronous_answers_are_judged_both_ways():
    with joincheck.ReferenceJS(asynchronous=True) as js:
        assert "async" in js.target.capabilities and js.target.async_listen.startswith("127.0.0.1:")
        report = joincheck.run(js, only="async")
        assert report.passed() and {c.verdict for c in report} == {"pass"}, str(report)
    with joincheck.ReferenceJS(asynchronous=True, faults=["async-wrong-transaction-id"]) as js:
        with joincheck.Harness(js, timeout=0.3) as harness:
            answer = harness.join()
    assert answer["async/transaction-id"].verdict == "fail"


def test_a_target_file_names_everything_a_run_needs(tmp_path):
    with joincheck.ReferenceJS(seed=8) as js:
        path = write_target_file(js, tmp_path)
        report = joincheck.run(path)  # URL, NetID, KEKs, AS KEK and the fleet file, from the file
        assert report.passed() and report.target == js.url, str(report)
        assert report["kek/known-label"].verdict == "pass" and report["keys/app-s-key"].verdict == "pass"
        with joincheck.Harness(str(path), profile="tts") as harness:
            assert harness.target.url == js.url and len(harness.fleet) == len(js.fleet)
            assert harness.run(only="header").profile == "tts"
