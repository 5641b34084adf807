"""pytest plugin: Join Server conformance tests written as ordinary pytest tests.

A test asks for the ``joincheck_target`` fixture, a joincheck.Harness on the Join Server under
test, shared by the whole session (so DevNonces carry over from test to test)::

    def test_replay_is_refused(joincheck_target):
        first = joincheck_target.join("1.0.4")
        assert first.result == "Success"
        replay = joincheck_target.join("1.0.4", dev_nonce=first.dev_nonce)
        assert replay.result in ("JoinReqFailed", "FrameReplayed")

    def test_suite(joincheck_target):
        joincheck_target.run().assert_passed()

and runs ``pytest --joincheck-target https://js:8443 --joincheck-devices fleet.json --junitxml
out.xml`` (or ``--joincheck-config target.toml``). Without these options the reference JS is
started in-process. ``joincheck_reference_js`` starts reference JSs of the test's own (with
faults), stopped when the test ends.

The plugin is registered through the package's ``pytest11`` entry point, so it is active as
soon as joincheck is importable from its build tree or installed; ``-p joincheck.pytest`` or
``pytest_plugins = ["joincheck.pytest"]`` load it explicitly otherwise.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import pytest

import joincheck


def pytest_addoption(parser: pytest.Parser) -> None:
    """Adds --joincheck-target, --joincheck-config, --joincheck-devices and --joincheck-profile."""
    group = parser.getgroup("joincheck", "joincheck: the LoRaWAN Join Server under test")
    group.addoption("--joincheck-target", metavar="URL", default=None,
                    help="URL of the Join Server under test (default: the reference JS, in-process)")
    group.addoption("--joincheck-config", metavar="FILE", default=None,
                    help="target TOML file: URL, paths, TLS, headers, NetID, NSID, KEKs, async, fleet")
    group.addoption("--joincheck-devices", metavar="FILE", default=None,
                    help="fleet file (JSON or CSV) of the devices the Join Server knows")
    group.addoption("--joincheck-profile", metavar="NAME", default=None,
                    help="profile: strict (default), brocaar, tts, simple-join-server, lorawan-js, or a .toml file")
    group.addoption("--joincheck-state", metavar="FILE", default=None,
                    help="the devices' DevNonce/JoinNonce state, kept between sessions against a Join Server that "
                         "remembers (default for --joincheck-target/--joincheck-config: a file in pytest's cache)")


def _settings(config: pytest.Config) -> dict[str, Optional[str]]:
    return {name: config.getoption(f"--joincheck-{name}")
            for name in ("target", "config", "devices", "profile", "state")}


def _state_file(config: pytest.Config, target: Any) -> Optional[str]:
    """Where the session keeps its devices' state: --joincheck-state, else (an external Join
    Server, which remembers DevNonces across sessions) a file per target URL in pytest's cache."""
    s = _settings(config)
    if s["state"]:
        return s["state"]
    cache = getattr(config, "cache", None)
    if target is None or cache is None:
        return None
    import hashlib
    key = hashlib.sha256(str(target.url).encode()).hexdigest()[:16]
    return str(cache.mkdir("joincheck") / f"state-{key}.json")


def _target_from_options(config: pytest.Config) -> Any:
    """The Target of --joincheck-config (its url replaced by --joincheck-target) or of
    --joincheck-target alone; None for the reference JS."""
    s = _settings(config)
    if s["config"]:
        target = joincheck.Target.from_file(s["config"])
        return target.replace(url=s["target"]) if s["target"] else target
    if s["target"]:
        return joincheck.Target(s["target"])
    return None


def harness_from_options(config: pytest.Config) -> joincheck.Harness:
    """The Harness the command-line options describe (the reference JS without a target)."""
    s = _settings(config)
    target = _target_from_options(config)
    return joincheck.Harness(target, fleet=s["devices"], profile=s["profile"], state=_state_file(config, target))


def pytest_configure(config: pytest.Config) -> None:
    """Checks the options before any test runs: a bad file is a usage error, not N failing tests."""
    s = _settings(config)
    # Given but empty (`--joincheck-target "$JS_URL"` with the variable unset) is a usage error:
    # it must never fall back to the reference JS and pass.
    for name, value in s.items():
        if value is not None and not value.strip():
            raise pytest.UsageError(f"joincheck: --joincheck-{name}: expected a value, got an empty one "
                                    "(is a shell variable unset?)")
    if not any(v for k, v in s.items() if k != "state"):
        return
    try:
        target = _target_from_options(config)
        if s["devices"]:
            joincheck.Fleet.load(s["devices"])
        elif target is not None and not target.devices:
            raise joincheck.ConfigError(
                "--joincheck-target needs the devices the Join Server knows: --joincheck-devices FLEET "
                "(or devices = \"...\" in the --joincheck-config file)")
        if s["profile"]:
            joincheck.resolve_profile(s["profile"])
    except joincheck.Error as e:
        raise pytest.UsageError(f"joincheck: {e}") from None


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    """Names the Join Server under test in pytest's header (when an option chose one)."""
    s = _settings(config)
    if not any(s.values()):
        return None
    if s["target"]:
        where = s["target"]
    elif s["config"]:
        where = f"the target of {s['config']}"
    else:
        where = "the reference JS"
    return f"joincheck {joincheck.__version__}: {where}"


@pytest.fixture(scope="session")
def joincheck_target(request: pytest.FixtureRequest) -> Iterator[joincheck.Harness]:
    """A joincheck.Harness on the Join Server under test (--joincheck-target/--joincheck-config,
    else the reference JS started in-process), shared by the session: its State carries the
    devices' DevNonces from test to test."""
    harness = harness_from_options(request.config)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def joincheck_reference_js() -> Iterator[Callable[..., joincheck.ReferenceJS]]:
    """A factory of reference JSs (joincheck.ReferenceJS keywords: faults, behave_like, fleet,
    database, ...), each stopped when the test ends."""
    started: list[joincheck.ReferenceJS] = []

    def start(**options: Any) -> joincheck.ReferenceJS:
        js = joincheck.ReferenceJS(**options)
        started.append(js)
        return js

    try:
        yield start
    finally:
        for js in started:
            js.stop()
