"""Fleets and devices: built, generated, loaded and saved as JSON and CSV, checked like a fleet
file (the same rules and messages), and never showing a key in repr()."""

import json
import os
import stat

import pytest

import joincheck

APP_KEY = "000102030405060708090a0b0c0d0e0f"
NWK_KEY = "0f0e0d0c0b0a09080706050403020100"


def test_device_from_keywords_is_a_value_without_keys_in_repr():
    d = joincheck.Device("0102030405060708", "0807060504030201", mac_version="1.1",
                         app_key=APP_KEY, nwk_key=bytes.fromhex(NWK_KEY))
    assert (d.dev_eui, d.join_eui, d.mac_version) == ("0102030405060708", "0807060504030201", "1.1")
    assert d.app_key == bytes.fromhex(APP_KEY) and d.nwk_key == bytes.fromhex(NWK_KEY)
    assert d.dev_nonce_policy is None and d.effective_dev_nonce_policy == "counter"
    assert repr(d) == ("Device(dev_eui='0102030405060708', join_eui='0807060504030201', mac_version='1.1', "
                       "app_key=<redacted>, nwk_key=<redacted>)")
    assert APP_KEY not in str(d) and NWK_KEY not in repr(d)
    assert d.to_dict() == {"DevEUI": "0102030405060708", "JoinEUI": "0807060504030201", "MACVersion": "1.1",
                           "AppKey": APP_KEY, "NwkKey": NWK_KEY}
    assert joincheck.Device.from_dict(d.to_dict()) == d
    assert hash(joincheck.Device.from_dict(d.to_dict())) == hash(d)
    older = d.replace(mac_version="1.0.4", nwk_key=None, dev_nonce_start=7)
    assert (older.mac_version, older.nwk_key, older.dev_nonce_start) == ("1.0.4", None, 7)
    with pytest.raises(AttributeError):
        d.mac_version = "1.0.3"  # immutable


def test_device_errors_name_the_field():
    with pytest.raises(joincheck.FleetError) as e:
        joincheck.Device("0102030405060708", "0807060504030201", mac_version="1.1", app_key=APP_KEY)
    assert "NwkKey" in str(e.value) and e.value.errors and isinstance(e.value, joincheck.Error)
    with pytest.raises(joincheck.Error, match="DevEUI"):
        joincheck.Device("01020304", "0807060504030201", app_key=APP_KEY)
    with pytest.raises(joincheck.Error, match="MACVersion"):
        joincheck.Device("0102030405060708", "0807060504030201", mac_version="1.2", app_key=APP_KEY)
    with pytest.raises(joincheck.Error, match="DevNoncePolicy"):
        joincheck.Device("0102030405060708", "0807060504030201", app_key=APP_KEY, dev_nonce_policy="sometimes")
    with pytest.raises(TypeError, match="secure_element"):
        joincheck.Device("0102030405060708", "0807060504030201", app_key=APP_KEY, secure_element="software")
    with pytest.raises(TypeError, match="unexpected keyword argument 'appkey'"):
        joincheck.Device("0102030405060708", "0807060504030201", app_key=APP_KEY).replace(appkey=APP_KEY)


def test_remarks_are_warnings():
    with pytest.warns(joincheck.FleetWarning, match="NwkKey"):
        joincheck.Device("0102030405060708", "0807060504030201", mac_version="1.0.3", app_key=APP_KEY,
                         nwk_key=NWK_KEY)


def test_secure_element_kinds_and_the_checked_object():
    assert joincheck.SECURE_ELEMENT_KINDS == ("software", "atecc608", "atecc608-emulated")
    chip = {"kind": "atecc608", "i2c": "/dev/i2c-1", "address": "0x59"}
    d = joincheck.Device("0102030405060708", "0807060504030201", secure_element=chip)
    assert d.secure_element == chip and d.app_key is None  # the chip holds the root keys
    assert joincheck.Fleet([d]).to_dict()["devices"][0]["SecureElement"] == chip
    with pytest.raises(joincheck.FleetError, match=r'SecureElement: unknown member "slot"'):
        joincheck.Device("0102030405060708", "0807060504030201", app_key=APP_KEY,
                         secure_element={"kind": "software", "slot": 0})
    with pytest.raises(joincheck.FleetError, match=r"SecureElement.chip: missing"):
        joincheck.Device("0102030405060708", "0807060504030201", secure_element={"kind": "atecc608-emulated"})


def test_a_fleet_of_emulated_chips_runs_the_suite_with_the_verdicts_of_software_keys(tmp_path):
    software = joincheck.Fleet.generate(2, join_eui="70b3d57ed0000000", mac_version="1.0.4", seed=3)
    # The chip file (docs/secure-element.md): each device's identity and root key in a chip.
    (tmp_path / "chips.json").write_text(json.dumps({"chips": [
        {"Serial": f"0123000000000{i}0027", "DevEUI": d.dev_eui, "JoinEUI": d.join_eui, "AppKey": d.app_key.hex()}
        for i, d in enumerate(software)]}))
    joincheck.Fleet([d.replace(secure_element={"kind": "atecc608-emulated", "chip": f"chips.json#{i}"})
                     for i, d in enumerate(software)]).save(tmp_path / "fleet.json")
    chips = joincheck.Fleet.load(tmp_path / "fleet.json")
    assert chips[0].secure_element["kind"] == "atecc608-emulated"
    a = joincheck.run(fleet=chips, only="devnonce")
    b = joincheck.run(fleet=software, only="devnonce")
    assert [(c.id, c.verdict) for c in a] == [(c.id, c.verdict) for c in b]
    assert a["devnonce/replay-1.0.4"].verdict == "pass", str(a)


def test_generate_is_deterministic_and_indexable():
    a = joincheck.Fleet.generate(5, join_eui="70b3d57ed0000000", mac_version="1.1", seed=42)
    b = joincheck.Fleet.generate(5, join_eui="70b3d57ed0000000", mac_version="1.1", seed=42)
    assert a == b and len(a) == 5 and a.mac_versions == ["1.1"]
    assert a != joincheck.Fleet.generate(5, join_eui="70b3d57ed0000000", mac_version="1.1", seed=43)
    assert all(d.nwk_key is not None and d.join_eui == "70b3d57ed0000000" for d in a)
    assert a[a[3].dev_eui] == a[3] and a[-1] == a[4] and a[3].dev_eui in a and a[3] in a
    with pytest.raises(KeyError):
        a["ffffffffffffffff"]
    with pytest.raises(IndexError):
        a[5]
    assert repr(a) == "Fleet(5 devices: 5 x 1.1)"
    mixed = joincheck.Fleet(list(a))
    mixed.extend(joincheck.Fleet.generate(2, mac_version="1.0.3", seed=1))
    assert mixed.mac_versions == ["1.0.3", "1.1"] and len(mixed.select(mac_version="1.0.3")) == 2


@pytest.mark.parametrize("name", ["fleet.json", "fleet.csv"])
def test_save_and_load_round_trip_with_owner_only_files(tmp_path, name):
    fleet = joincheck.Fleet.generate(3, mac_version="1.0.4", seed=7)
    path = tmp_path / name
    fleet.save(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert joincheck.Fleet.load(path) == fleet
    assert joincheck.Fleet.load(str(path)) == fleet


def test_csv_inventory_and_json_objects_parse_strictly():
    csv = ("DevEUI,JoinEUI,MACVersion,AppKey\n"
           "0102030405060708,0807060504030201,1.0.3," + APP_KEY + "\n")
    fleet = joincheck.Fleet.parse(csv)
    assert fleet[0].app_key == bytes.fromhex(APP_KEY)
    assert "DevEUI,JoinEUI,MACVersion,AppKey,NwkKey" in fleet.to_csv(provisioning=True)
    assert joincheck.Fleet.from_json([fleet[0].to_dict()]) == fleet
    with pytest.raises(joincheck.FleetError) as e:
        joincheck.Fleet.parse(csv.replace("AppKey", "Appkey"), source="inventory.csv")
    assert "inventory.csv" in str(e.value) and "Appkey" in str(e.value)
    with pytest.raises(joincheck.FleetError, match="cannot read"):
        joincheck.Fleet.load("/nonexistent/fleet.json")
