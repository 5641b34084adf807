#!/usr/bin/env python3
"""A custom DevNonce scenario, written as a Python dict, run against a Join Server.

The built-in suite replays a device's *last* DevNonce. A JS that only compares a DevNonce with
the last one would pass that and still accept an older one. This scenario joins a LoRaWAN 1.0.4
device twice, then sends the DevNonce of the first of the two ("lower": one below the last, which
a counting device already used): the JS must refuse it.

    python3 custom_devnonce_scenario.py                       # the reference JS, proven both ways
    python3 custom_devnonce_scenario.py --config target.toml  # your JS (fleet from the file)
    python3 custom_devnonce_scenario.py --target https://js:8443 --devices fleet.json --junit out.xml

Without a target it runs twice: against the strict reference JS (the scenario passes) and against
one with the fault accept-replayed-devnonce (the scenario fails), and exits 0 when both go so.
"""

import argparse
import sys

import joincheck

OLDER_REPLAY = {
    "id": "custom/devnonce-older-replay-1.0.4",
    "title": "LoRaWAN 1.0.4: a DevNonce used two joins ago is refused, not only the last one",
    "level": "MUST",
    "spec": "LoRaWAN 1.0.4 §6.2.5",
    "devices": {"dev": {"MACVersion": "1.0.4"}},
    "steps": [
        {"send": "join", "device": "dev", "check": "join/success-1.0.4", "expect": "Success"},
        {"send": "join", "device": "dev", "check": "join/success-1.0.4", "expect": "Success"},
        {"send": "join", "device": "dev", "DevNonce": "lower",
         "expect": {"result": "failure", "prefer": ["JoinReqFailed", "FrameReplayed"]}},
    ],
}


def show(report: joincheck.Report) -> joincheck.CheckResult:
    result = report[OLDER_REPLAY["id"]]
    print(f"{report.target}: {result.verdict.upper()}  {result.id}")
    print(f"    expected: {result.expected}")
    print(f"    actual:   {result.actual}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="URL of the Join Server (default: the reference JS)")
    parser.add_argument("--config", help="target TOML file")
    parser.add_argument("--devices", help="fleet file of the devices the JS knows")
    parser.add_argument("--junit", help="write a JUnit report here")
    args = parser.parse_args()

    if args.target or args.config:
        target = joincheck.Target.from_file(args.config) if args.config else joincheck.Target(args.target)
        if args.config and args.target:
            target = target.replace(url=args.target)
        with joincheck.Harness(target, fleet=args.devices) as harness:
            report = harness.run(OLDER_REPLAY, junit=args.junit)
        show(report)
        return report.exit_code()

    strict = joincheck.run(scenarios=OLDER_REPLAY, junit=args.junit)
    forgetful = joincheck.run(scenarios=OLDER_REPLAY, faults=["accept-replayed-devnonce"])
    passed = show(strict).verdict == "pass"
    caught = show(forgetful).verdict == "fail"
    print("the scenario passes the strict JS and catches the faulty one" if passed and caught
          else "UNEXPECTED: the scenario did not judge both JSs as it should")
    return 0 if passed and caught else 1


if __name__ == "__main__":
    sys.exit(main())
