"""The pytest plugin (joincheck.pytest), run as a user runs it: `pytest` with and without
--joincheck-target/--joincheck-config, in a subprocess (pytester), with JUnit output."""

import xml.etree.ElementTree as ET

import pytest

import joincheck
from conftest import write_target_file

REPLAY_TEST = """
import joincheck

def test_replay(joincheck_target):
    first = joincheck_target.join("1.0.4")
    assert first.result == "Success", str(first)
    replay = joincheck_target.join("1.0.4", dev_nonce=first.dev_nonce)
    assert replay.result in ("JoinReqFailed", "FrameReplayed")

def test_devnonce_checks(joincheck_target):
    joincheck_target.run(only="devnonce").assert_passed()

def test_where(joincheck_target):
    print("TARGET", joincheck_target.target.url, joincheck_target.reference_js is not None)
"""


def junit_cases(path):
    return {c.get("name"): c for c in ET.parse(path).getroot().iter("testcase")}


def test_without_options_the_reference_js_is_the_target(pytester):
    pytester.makepyfile(test_js=REPLAY_TEST)
    result = pytester.runpytest_subprocess("-s", "--junitxml", "out.xml")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*TARGET http://127.0.0.1:* True*"])
    assert set(junit_cases(pytester.path / "out.xml")) == {"test_replay", "test_devnonce_checks", "test_where"}


def test_an_external_target_by_url_and_fleet_file(pytester):
    # A JS in this process is an external target for the pytest subprocess: it is reached over HTTP.
    pytester.makepyfile(test_js=REPLAY_TEST)
    with joincheck.ReferenceJS(seed=3) as js:
        url = js.url
        js.fleet.save(pytester.path / "fleet.json")
        result = pytester.runpytest_subprocess("-s", "--joincheck-target", url, "--joincheck-devices",
                                               "fleet.json", "-k", "replay or where")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines([f"joincheck *: {url}", f"*TARGET {url} False*"])


def test_an_external_target_by_config_file_passes_the_whole_suite(pytester):
    pytester.makepyfile(test_suite="""
        def test_suite(joincheck_target):
            report = joincheck_target.run(junit="suite-junit.xml")
            report.assert_passed()
            assert report.profile == "strict"
    """)
    with joincheck.ReferenceJS(seed=4) as js:
        write_target_file(js, pytester.path)
        result = pytester.runpytest_subprocess("--joincheck-config", "target.toml", "--joincheck-profile", "strict",
                                               "--junitxml", "out.xml")
    result.assert_outcomes(passed=1)
    suite = junit_cases(pytester.path / "suite-junit.xml")
    assert set(suite) == {c.id for c in joincheck.checks()}


def test_a_failing_check_fails_the_test_with_its_explanation(pytester):
    pytester.makepyfile(test_kek="""
        import joincheck

        def test_kek(joincheck_reference_js):
            js = joincheck_reference_js(faults=["wrong-kek-label"])
            joincheck.run(js, only="kek").assert_passed()
    """)
    result = pytester.runpytest_subprocess("--junitxml", "out.xml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: joincheck: * 1 fail*", "*FAIL  kek/known-label*", "*expected:*"])
    assert junit_cases(pytester.path / "out.xml")["test_kek"].find("failure") is not None


def test_bad_options_are_usage_errors(pytester):
    pytester.makepyfile(test_js=REPLAY_TEST)
    result = pytester.runpytest_subprocess("--joincheck-target", "http://127.0.0.1:9/")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*joincheck: --joincheck-target needs the devices*--joincheck-devices*"])
    result = pytester.runpytest_subprocess("--joincheck-target", "ftp://js", "--joincheck-devices", "x.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*joincheck: <python>:*url*"])
    result = pytester.runpytest_subprocess("--joincheck-profile", "nosuchprofile")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # An unset variable never falls back to the reference JS.
    for option in ("--joincheck-target", "--joincheck-config", "--joincheck-devices", "--joincheck-state"):
        result = pytester.runpytest_subprocess(option, "")
        assert result.ret == pytest.ExitCode.USAGE_ERROR, option
        result.stderr.fnmatch_lines([f"*joincheck: {option}: expected a value, got an empty one*"])


def test_the_options_are_in_pytest_help(pytester):
    result = pytester.runpytest_subprocess("--help")
    result.stdout.fnmatch_lines(["*joincheck: the LoRaWAN Join Server under test*", "*--joincheck-target=URL*",
                                 "*--joincheck-config=FILE*", "*--joincheck-devices=FILE*",
                                 "*--joincheck-profile=NAME*"])


def test_the_plugin_loads_by_entry_point_by_name_or_from_a_conftest(pytester):
    pytester.makepyfile(test_x="""
        def test_x(joincheck_target):
            assert joincheck_target.join().result == "Success"
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)  # the pytest11 entry point
    pytester.runpytest_subprocess("-p", "joincheck.pytest").assert_outcomes(passed=1)
    pytester.makeconftest('pytest_plugins = ["joincheck.pytest"]')
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    pytester.runpytest_subprocess("-p", "joincheck.pytest").assert_outcomes(passed=1)


def test_a_second_session_against_the_same_js_continues_the_devices_state(pytester):
    # A Join Server remembers DevNonces across sessions; so does the plugin (pytest's cache), or
    # the second session would replay the first one's DevNonces and be refused.
    pytester.makepyfile(test_suite="""
        def test_suite(joincheck_target):
            joincheck_target.run().assert_passed()
    """)
    with joincheck.ReferenceJS(seed=5) as js:
        write_target_file(js, pytester.path)
        first = pytester.runpytest_subprocess("--joincheck-config", "target.toml")
        second = pytester.runpytest_subprocess("--joincheck-config", "target.toml")
        forgetful = pytester.runpytest_subprocess("--joincheck-config", "target.toml", "-p", "no:cacheprovider")
    first.assert_outcomes(passed=1)
    second.assert_outcomes(passed=1)
    forgetful.assert_outcomes(failed=1)
    forgetful.stdout.fnmatch_lines(["*FAIL  join/success-*"])
