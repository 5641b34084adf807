"""No false green, from Python as from the CLI: a target that names nothing usable is a
ConfigError before any exchange, a check whose setup did not go as expected is an error (and
Report.passed() is False), a run that judged nothing does not pass, and a mixed fleet comes
from one call."""

import collections

import pytest

import joincheck


@pytest.mark.parametrize("url", ["", "htp://127.0.0.1:8003", "127.0.0.1:8003", "http://"])
def test_an_unusable_target_is_a_config_error_before_any_exchange(url):
    with pytest.raises(joincheck.ConfigError) as e:
        joincheck.Target(url)
    assert "url" in str(e.value)
    for call in (lambda: joincheck.run(url, fleet=joincheck.Fleet.generate(4, seed=1)),
                 lambda: joincheck.Harness(url, fleet=joincheck.Fleet.generate(4, seed=1))):
        with pytest.raises(joincheck.ConfigError) as e:
            call()
        assert "url" in str(e.value) or "target" in str(e.value)


def test_a_refused_setup_join_makes_errors_and_the_report_does_not_pass():
    fleet = joincheck.Fleet.generate(8, mac_version=["1.0.2", "1.0.3", "1.0.4", "1.1"], seed=11)
    with joincheck.ReferenceJS(fleet=fleet) as js:
        first = joincheck.run(js, fleet=fleet, only=["devnonce"])
        assert first.passed(strict=True), str(first)
        # No shared state: the second run replays the first run's DevNonces.
        second = joincheck.run(js, fleet=fleet, only=["devnonce"])
    assert not second.passed() and second.exit_code() == 1
    assert second.counts["pass"] == 0 and second.counts["skip"] == 0 and second.counts["error"] > 0
    r = second["devnonce/replay-1.1"]
    assert r.verdict == "error"
    assert "likely cause: the JS refused a DevNonce it has seen before" in r.reason
    with pytest.raises(AssertionError, match="devnonce/replay-1.1"):
        second.assert_passed()


def test_a_run_that_judged_nothing_does_not_pass():
    report = joincheck.run(only=["tls"])  # plain HTTP: every tls/ check is skipped
    assert report.counts["skip"] == report.counts["total"] > 0
    assert not report.passed()
    with pytest.raises(AssertionError, match="nothing was judged"):
        report.assert_passed()


def test_a_mixed_fleet_from_one_call_has_distinct_dev_euis():
    fleet = joincheck.Fleet.generate(6, mac_version=("1.0.3", "1.1"), seed=3)
    versions = [d.mac_version for d in fleet]
    assert versions == ["1.0.3", "1.1"] * 3
    assert len({d.dev_eui for d in fleet}) == 6
    assert collections.Counter(d.mac_version for d in joincheck.Fleet.generate(4, mac_version="1.1", seed=3)) == {"1.1": 4}
