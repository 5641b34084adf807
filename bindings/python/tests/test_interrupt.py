"""Ctrl-C: a long run against a slow JS stops between two exchanges with KeyboardInterrupt, quickly
and without a hang, and the reference JS it started is stopped."""

import signal
import subprocess
import sys
import time

import pytest

# Every answer of this JS takes 300 ms: the whole suite would take well over 30 s.
CAUGHT = """
import sys, time
import joincheck
started = None
try:
    with joincheck.Harness(faults=["slow-answer=300"], timeout=60) as harness:
        print("running", flush=True)
        started = time.monotonic()
        harness.run(on_check=lambda r: print(r.line(), flush=True))
    print("finished", flush=True)
    sys.exit(1)
except KeyboardInterrupt as e:
    print(f"KeyboardInterrupt after {time.monotonic() - started:.2f} s; JS stopped: "
          f"{not harness.reference_js.running}; setup_error: {e.report.setup_error}; "
          f"judged: {sum(1 for r in e.report if r.verdict != 'error')}", flush=True)
    sys.exit(42)
"""

UNCAUGHT = """
import joincheck
print("running", flush=True)
joincheck.run(faults=["slow-answer=300"], timeout=60)
"""


def interrupt(script, python_env, after=1.0):
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=python_env)
    assert process.stdout.readline().strip() == "running"
    time.sleep(after)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the run did not stop within 15 s of SIGINT")
    return process.returncode, out, err, time.monotonic() - sent


def test_ctrl_c_raises_keyboard_interrupt_between_exchanges(python_env):
    code, out, err, took = interrupt(CAUGHT, python_env)
    assert code == 42, (out, err)
    assert "finished" not in out and "JS stopped: True; setup_error: interrupted" in out, out
    assert int(out.rsplit("judged: ", 1)[1]) >= 1  # what was judged before the interruption is kept
    assert took < 5, f"{took:.2f} s from SIGINT to exit"
    assert err == ""


def test_an_uncaught_ctrl_c_ends_the_program_like_any_keyboard_interrupt(python_env):
    code, out, err, took = interrupt(UNCAUGHT, python_env)
    assert code in (-signal.SIGINT, 130), (code, err)
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert took < 5
