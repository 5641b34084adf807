"""Single exchanges: one JoinReq (or any step) for a device with modifiers, the decoded answer,
the decrypted join-accept and the verdicts of the checks that apply; DevNonces continue from one
exchange to the next through the harness's State."""

import pytest

import joincheck


def test_a_join_is_answered_decrypted_and_judged(harness):
    device = harness.device("1.0.4")
    first = harness.join(device)
    assert first.result == "Success" and first.accepted and first.verdict == "pass", str(first)
    assert first.answer["MessageType"] == "JoinAns" and first.answer["Result"]["ResultCode"] == "Success"
    accept = first.join_accept
    assert accept.net_id == harness.target.net_id and accept.accepted and accept.refusal == ""
    assert accept.dev_addr == first.exchange.request["DevAddr"] and accept.rx_delay == 1
    assert accept.dl_settings == 0x15 and not accept.opt_neg and accept.cf_list is None and len(accept.mic) == 4
    assert first["accept/mic"].verdict == "pass" and "accept/mic" in first
    assert "joinnonce/increases" in first and "devnonce/replay-1.0.4" not in first
    assert all(c.evaluations > 0 for c in first.checks)
    assert repr(first).startswith(f"ExchangeResult(device='{device.dev_eui}', dev_nonce={first.dev_nonce}, "
                                  "result='Success', accepted=True, verdict='pass'")
    assert str(first).splitlines()[0].startswith("[0] python/exchange step 1: join of dev")
    # The next join continues the device's DevNonce counter, and gets a higher JoinNonce.
    second = harness.join(device)
    assert second.result == "Success" and second.dev_nonce == first.dev_nonce + 1
    assert second.join_accept.join_nonce > accept.join_nonce
    # Replaying the first DevNonce is refused; with an expectation the step's check judges it.
    replay = harness.join(device, dev_nonce=first.dev_nonce, check="devnonce/replay-1.0.4",
                          expect={"result": "failure", "prefer": ["JoinReqFailed", "FrameReplayed"]})
    assert replay.result in ("JoinReqFailed", "FrameReplayed") and not replay.accepted and replay.join_accept is None
    assert replay["devnonce/replay-1.0.4"].verdict == "pass"


def test_modifiers_reach_the_request(harness):
    bad_mic = harness.join("1.0.3", corrupt_mic=True, expect="MICFailed")
    assert bad_mic.result == "MICFailed" and bad_mic["python/exchange"].verdict == "pass"
    assert bad_mic["python/exchange"].spec == "joincheck Python API (Harness.exchange)"
    shaped = harness.join("1.1", dl_settings=0xA3, rx_delay=5, dev_addr="01020304",
                          cf_list=bytes.fromhex("184f84e85684b85e84886684586e8400"), hex="upper")
    request = shaped.exchange.request
    assert request["DevAddr"] == "01020304" and request["RxDelay"] == 5 and request["DevEUI"].isupper()
    accept = shaped.join_accept
    assert shaped.result == "Success" and accept.dl_settings == 0xA3 and accept.opt_neg
    assert accept.rx_delay == 5 and accept.dev_addr == "01020304"
    assert accept.cf_list.hex() == "184f84e85684b85e84886684586e8400"
    with pytest.raises(TypeError, match="unexpected keyword argument 'devnonce'"):
        harness.join(devnonce=3)


def test_a_device_the_js_does_not_know(harness):
    stranger = joincheck.Fleet.generate(1, mac_version="1.0.3", seed=999)[0]
    answer = harness.join(stranger, expect="UnknownDevEUI")
    assert answer.result == "UnknownDevEUI" and answer.verdict == "pass"


def test_any_step_can_be_sent(harness):
    raw = harness.exchange({"send": "raw", "body": "{not json", "expect": "failure"})
    assert raw.device is None and raw.exchange.request is None and raw.result is not None
    home = harness.exchange({"send": "home-ns", "expect": "Success"}, "1.0.3")
    assert home.result == "Success" and home.answer["MessageType"] == "HomeNSAns"
    with pytest.raises(joincheck.ScenarioError, match="device="):
        harness.exchange({"send": "join", "device": "x"})
    with pytest.raises(joincheck.ScenarioError, match=r"steps\[0\]\.DevNonce"):
        harness.join(dev_nonce="prev")


def test_a_faulty_js_fails_the_checks_of_the_exchange():
    with joincheck.Harness(faults=["wrong-kek-label"]) as h:
        answer = h.join()
        assert answer.result == "Success" and answer.verdict == "fail"
        assert [c.id for c in answer.failures] == ["kek/known-label"]
        assert "wrong" in answer["kek/known-label"].actual


def test_device_selection(harness):
    fleet = harness.fleet
    assert harness.device() == fleet[0] and harness.device(2) == fleet[2]
    assert harness.device(fleet[3].dev_eui) == fleet[3] and harness.device("1.1").mac_version == "1.1"
    with pytest.raises(KeyError):
        harness.device("1.0.1")
    with pytest.raises(TypeError):
        harness.device(1.5)


def test_an_unreachable_target_says_so(reference_js):
    with joincheck.Harness(reference_js.target.replace(url="http://127.0.0.1:9/"), fleet=reference_js.fleet) as h:
        answer = h.join()
    assert answer.result is None and "cannot reach" in answer.setup_error
    assert answer.report.exit_code() == 3 and answer.exchange.transport_error
