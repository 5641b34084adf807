"""Targets (the settings of a target TOML file, from keywords, files, TOML text or dicts) and the
reference JS in-process (context manager, faults, restart)."""

import datetime
import pathlib

import pytest

import joincheck
from conftest import REPO

KEK = "000102030405060708090a0b0c0d0e0f"


def test_keywords_are_the_target_file_settings_and_repr_hides_secrets(tmp_path):
    t = joincheck.Target("https://js.example.net:8443", net_id="000013", ns_id="0000000000000013",
                         protocol_version="1.1", keks={"000013": KEK, "as": bytes(range(16))},
                         as_kek_label="as", headers={"Authorization": "Bearer s3cret"},
                         paths={"JoinReq": "/join"}, timeout=datetime.timedelta(milliseconds=1500),
                         ca_cert="ca.pem", tls_cert="ns.pem", tls_key="ns-key.pem",
                         async_listen="127.0.0.1:0", capabilities={"rejoin": False, "home-ns": False},
                         sender_token=b"abc", devices=tmp_path / "fleet.json")
    assert t.url == "https://js.example.net:8443" and t.net_id == "000013" and t.ns_id == "0000000000000013"
    assert t.protocol_version == "1.1" and t.timeout == 1.5 and t.paths == {"JoinReq": "/join"}
    assert t.keks == {"000013": bytes.fromhex(KEK), "as": bytes(range(16))} and t.as_kek_label == "as"
    assert t.headers == [("Authorization", "Bearer s3cret")] and t.sender_token == b"abc"
    assert t.async_listen == "127.0.0.1:0" and t.devices == str(tmp_path / "fleet.json")
    assert pathlib.Path(t.ca_cert).is_absolute() and t.ca_cert.endswith("ca.pem")
    caps = set(t.capabilities)
    assert {"async", "as-kek", "app-s-key"} <= caps and not {"rejoin", "home-ns"} & caps
    for text in (repr(t), str(t)):
        assert KEK not in text and "s3cret" not in text and "<redacted>" in text
    faster = t.replace(url="http://127.0.0.1:9/", timeout=0.25)
    assert (faster.url, faster.timeout, t.url) == ("http://127.0.0.1:9/", 0.25, "https://js.example.net:8443")


def test_defaults_are_the_target_files():
    t = joincheck.Target("http://127.0.0.1:8003")
    assert (t.net_id, t.ns_id, t.protocol_version, t.timeout, t.unknown_net_id) == (
        "000001", "0000000000000001", "1.0", 5.0, "ffff01")
    assert t.sender_token == b"joincheck" and t.keks == {} and t.profile is None


def test_file_toml_and_dict_give_the_same_target():
    example = REPO / "scenarios" / "examples" / "target.toml"
    from_file = joincheck.Target.from_file(example)
    assert from_file.url == "https://js.example.net:8443" and from_file.as_kek_label == "as-kek"
    assert from_file.devices == str(example.parent / "fleet.json") and from_file.source == str(example)
    from_text = joincheck.Target.from_toml(example.read_text(), source=example)
    assert repr(from_text) == repr(from_file)
    from_dict = joincheck.Target.from_dict({"url": "http://js:8003", "ns": {"net_id": "000013"},
                                            "kek": [{"label": "000013", "kek": bytes(16)}]})
    assert from_dict.net_id == "000013" and from_dict.keks == {"000013": bytes(16)}


def test_config_errors_name_the_key_and_never_quote_a_kek():
    with pytest.raises(joincheck.ConfigError, match=r"ns\.net_id") as e:
        joincheck.Target("http://js:8003", net_id="00001")
    assert isinstance(e.value, joincheck.Error)
    with pytest.raises(joincheck.ConfigError, match="urll"):
        joincheck.Target.from_dict({"url": "http://js:8003", "urll": "x"})
    with pytest.raises(joincheck.ConfigError) as e:
        joincheck.Target("http://js:8003", keks={"a": "00112233445566778899aabbccddeeZZ"})
    assert "00112233445566778899aabbccddee" not in str(e.value)
    with pytest.raises(joincheck.ConfigError, match="url"):
        joincheck.Target("ftp://js")
    with pytest.raises(joincheck.ConfigError, match="url"):
        joincheck.Target("http://js:8003").replace(url="js:8003")
    with pytest.raises(joincheck.ConfigError, match="as-kek"):
        joincheck.Target("http://js:8003", as_kek_label="as-kek")
    with pytest.raises(TypeError):
        joincheck.Target("http://js:8003", netid="000001")


def test_reference_js_is_a_context_manager_and_restarts_on_a_new_port():
    with joincheck.ReferenceJS(seed=5, devices_per_version=1) as js:
        assert js.running and js.url.startswith("http://127.0.0.1:") and js.target.url == js.url
        assert js.label == f"embedded reference JS ({js.url})" and len(js.fleet) == 4
        assert "as-kek" in js.target.capabilities and js.target.keks
        assert repr(js).startswith("ReferenceJS(url='http://127.0.0.1:")
        first_fleet, first_keks = js.fleet, js.target.keks
        js.stop()
        assert not js.running and "stopped" in repr(js) and js.fleet == first_fleet
        with pytest.raises(ValueError, match="stopped"):
            js.url
        js.start()
        assert js.running and js.fleet == first_fleet and js.target.keks == first_keks
    assert not js.running


def test_faults_and_behaviours_are_listed_and_checked():
    names = joincheck.faults()
    assert "wrong-kek-label" in names and "slow-answer" in names and all(names.values())
    assert joincheck.behaviours() == ["strict", "brocaar", "tts"]
    with joincheck.ReferenceJS(faults=["wrong-kek-label", "slow-answer=10"], behave_like="tts") as js:
        assert js.faults == ["wrong-kek-label", "slow-answer=10"] and js.behave_like == "tts"
    with pytest.raises(ValueError, match="wrong-kek-label"):  # the message lists the known names
        joincheck.ReferenceJS(faults=["wrong-kek-lable"])
    with pytest.raises(ValueError, match="behave_like"):
        joincheck.ReferenceJS(behave_like="chirpstack-v4")
    with pytest.raises(TypeError):
        joincheck.ReferenceJS(faults="wrong-kek-label")


def test_a_database_is_held_by_one_reference_js_at_a_time(tmp_path):
    db = tmp_path / "js.sqlite"
    with joincheck.ReferenceJS(database=db) as js:
        assert js.database == str(db) and db.exists()
        with pytest.raises(joincheck.DatabaseError) as e:
            joincheck.ReferenceJS(database=db)
        assert str(db) in str(e.value)
