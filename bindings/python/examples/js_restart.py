#!/usr/bin/env python3
"""A Join Server restart keeps its state: a DevNonce used before the restart is still refused.

The reference JS keeps its devices' DevNonces and JoinNonces in a SQLite file. This example joins
a LoRaWAN 1.0.4 device and a 1.0.3 device, stops the JS, starts it again on the same file, and
checks that a replay of each device's DevNonce is refused, that a fresh DevNonce is accepted, and
that the JoinNonce went on increasing. The same run against a JS without a database shows what
is at stake: after its restart, the replay is accepted.

    python3 js_restart.py                 # the database in a temporary folder
    python3 js_restart.py --database js.sqlite

Exits 0 when the JS with a database kept its state (and the one without did not).
"""

import argparse
import pathlib
import sys
import tempfile

import joincheck

REFUSED = ("JoinReqFailed", "FrameReplayed")


def restart_and_replay(database, label: str) -> bool:
    """Joins, restarts the JS, replays; True when the replays were refused after the restart."""
    print(f"{label}:")
    with joincheck.ReferenceJS(database=database) as js, joincheck.Harness(js) as harness:
        devices = [harness.device("1.0.4"), harness.device("1.0.3")]
        before = {}
        for device in devices:
            answer = harness.join(device)
            assert answer.result == "Success", answer
            before[device.dev_eui] = answer
            print(f"  {device.dev_eui} ({device.mac_version}): DevNonce {answer.dev_nonce} -> {answer.result}, "
                  f"JoinNonce {answer.join_accept.join_nonce}")

        js.stop()
        js.start()  # same options, same database (when there is one), a new port
        print(f"  restarted at {js.url}")

        kept = True
        for device in devices:
            first = before[device.dev_eui]
            replay = harness.join(device, dev_nonce=first.dev_nonce)
            fresh = harness.join(device)
            refused = replay.result in REFUSED
            print(f"  {device.dev_eui}: replayed DevNonce {first.dev_nonce} -> {replay.result}; "
                  f"fresh DevNonce {fresh.dev_nonce} -> {fresh.result}, JoinNonce {fresh.join_accept.join_nonce}")
            kept &= refused and fresh.result == "Success"
            kept &= fresh.join_accept.join_nonce > first.join_accept.join_nonce
        return kept


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="the JS's SQLite file (default: in a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.database or pathlib.Path(tmp) / "js.sqlite"
        durable = restart_and_replay(database, f"reference JS with database {database}")
    forgetful = restart_and_replay(None, "reference JS in memory only")
    print("the JS with a database refused every replay after its restart" if durable
          else "FAILED: the JS with a database forgot its DevNonces")
    print("the JS without one accepted a replay after its restart" if not forgetful
          else "UNEXPECTED: the JS without a database refused the replays")
    return 0 if durable and not forgetful else 1


if __name__ == "__main__":
    sys.exit(main())
