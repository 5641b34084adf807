#!/usr/bin/env python3
"""A fleet from a CSV inventory: every device joins once, then the suite runs with those devices.

An inventory is a CSV file with the fleet file's column names (DevEUI, JoinEUI, MACVersion,
AppKey, NwkKey; optionally DevNoncePolicy, DevNonceStart). A typo in a column or a bad key is an
error naming the line, the device and the column.

    python3 fleet_from_csv.py inventory.csv                        # the reference JS, provisioned with it
    python3 fleet_from_csv.py inventory.csv --config target.toml   # your JS, which knows these devices
    python3 fleet_from_csv.py                                      # a demo inventory, written to a temp dir

It prints one line per device (DevEUI, MAC version, result, DevAddr, JoinNonce), runs the suite,
writes JUnit when asked (--junit), and exits 0 when every device joined and the suite passed.
"""

import argparse
import pathlib
import sys
import tempfile

import joincheck

DEMO_INVENTORY = """\
DevEUI,JoinEUI,MACVersion,AppKey,NwkKey
70b3d57ed0001001,70b3d57ed0000000,1.0.2,2b7e151628aed2a6abf7158809cf4f3c,
70b3d57ed0001002,70b3d57ed0000000,1.0.2,6bc1bee22e409f96e93d7e117393172a,
70b3d57ed0001003,70b3d57ed0000000,1.0.3,ae2d8a571e03ac9c9eb76fac45af8e51,
70b3d57ed0001004,70b3d57ed0000000,1.0.3,30c81c46a35ce411e5fbc1191a0a52ef,
70b3d57ed0001005,70b3d57ed0000000,1.0.4,f69f2445df4f9b17ad2b417be66c3710,
70b3d57ed0001006,70b3d57ed0000000,1.0.4,603deb1015ca71be2b73aef0857d7781,
70b3d57ed0001007,70b3d57ed0000000,1.1,1f352c073b6108d72d9810a30914dff4,000102030405060708090a0b0c0d0e0f
70b3d57ed0001008,70b3d57ed0000000,1.1,8e73b0f7da0e6452c810f32b809079e5,101112131415161718191a1b1c1d1e1f
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("inventory", nargs="?", help="CSV inventory (default: a demo one)")
    parser.add_argument("--config", help="target TOML file of a JS that knows these devices")
    parser.add_argument("--junit", help="write the suite's JUnit report here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        inventory = args.inventory
        if inventory is None:
            inventory = pathlib.Path(tmp) / "inventory.csv"
            inventory.write_text(DEMO_INVENTORY)
        fleet = joincheck.Fleet.load(inventory)
    print(f"{inventory}: {fleet!r}")

    if args.config:
        harness = joincheck.Harness(joincheck.Target.from_file(args.config), fleet=fleet)
    else:
        harness = joincheck.Harness(fleet=fleet)  # the reference JS, provisioned with the inventory
    with harness:
        joined = 0
        for device in fleet:
            answer = harness.join(device)
            accept = answer.join_accept
            where = f"DevAddr {accept.dev_addr}, JoinNonce {accept.join_nonce}" if accept else "-"
            print(f"  {device.dev_eui}  {device.mac_version:6} {answer.result or answer.setup_error:14} {where}"
                  f"  [{answer.verdict}]")
            joined += answer.accepted and answer.verdict != "fail"
        # The harness's State continues each device's DevNonces: the suite does not replay the joins above.
        report = harness.run(junit=args.junit)
    print(f"{joined} of {len(fleet)} devices joined; suite: {report.counts['pass']} pass, "
          f"{report.counts['fail']} fail, {report.counts['warn']} warn, {report.counts['skip']} skip")
    for failure in report.failures:
        print(failure)
    return 0 if joined == len(fleet) and report.passed() else 1


if __name__ == "__main__":
    sys.exit(main())
