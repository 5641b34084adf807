"""joincheck: a LoRaWAN Join Server conformance harness, from Python.

joincheck plays the Network Server and the devices towards a LoRaWAN Join Server (TS002 Backend
Interfaces 1.0 and 1.1), replays scenarios, and judges every answer against the specification::

    import joincheck

    # The whole suite against the reference JS, started in-process.
    report = joincheck.run()
    assert report.passed(), str(report)

    # Your JS: the devices it knows, and how to reach it (the settings of a target TOML file).
    target = joincheck.Target("https://js.example.net:8443", net_id="000013",
                              keks={"000013": "00112233445566778899aabbccddeeff"})
    with joincheck.Harness(target, fleet=joincheck.Fleet.load("fleet.json")) as harness:
        report = harness.run(only=["devnonce", "kek"])
        report.write_junit("junit.xml")
        answer = harness.join(harness.fleet[0])           # one JoinReq, judged
        replay = harness.join(harness.fleet[0], dev_nonce=answer.dev_nonce)
        assert replay.result == "FrameReplayed" or replay.result == "JoinReqFailed"

Values: EUIs, NetID and DevAddr are hex strings, MSB first (as TS002 writes them); DevNonce and
JoinNonce are ints; keys, MICs, CFLists and frames are bytes. Inputs take bytes or hex strings.
Keys never appear in repr() or str(), nor in reports unless a run is asked to reveal them.

Errors are subclasses of joincheck.Error, with the C++ message intact (it names the file, the
field, what was expected and what was seen): ScenarioError, ConfigError, ProfileError,
FleetError, StateError, KeyUnwrapError, KeyEnvelopeError, SecureElementError, DatabaseError.

A pytest plugin, joincheck.pytest, gives tests a ``joincheck_target`` fixture (a Harness):
``pytest --joincheck-target URL --joincheck-devices fleet.json --junitxml out.xml``, or without
options the reference JS.
"""

from __future__ import annotations

import json as _json
import os as _os
import re as _re
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from ._joincheck import (  # noqa: F401  (re-exported)
    SECURE_ELEMENT_KINDS,
    Catalog,
    Check,
    CheckResult,
    ConfigError,
    DatabaseError,
    Device,
    Error,
    Exchange,
    Fleet,
    FleetError,
    FleetWarning,
    JoinAccept,
    JoinRequest,
    JsKeys,
    KeyEnvelope,
    KeyEnvelopeError,
    KeyUnwrapError,
    Profile,
    ProfileError,
    ReferenceJS,
    Report,
    Scenario,
    ScenarioError,
    SecureElementError,
    SessionKeys,
    State,
    StateError,
    Target,
    TraceJoinAccept,
    aes_key_unwrap,
    aes_key_wrap,
    behaviours,
    build_join_accept,
    build_join_request,
    builtin_suite,
    decrypt_join_accept,
    derive_js_keys,
    derive_session_keys_1_0,
    derive_session_keys_1_1,
    faults,
    parse_join_request,
    profiles,
    resolve_profile,
)
from . import _joincheck

try:
    from ._version import __version__  # written by the build from the CMake project's version
except ImportError:  # pragma: no cover - a source tree without a build
    __version__ = "0+unknown"

__all__ = [
    "SECURE_ELEMENT_KINDS", "Catalog", "Check", "CheckResult", "ConfigError", "DatabaseError",
    "Device", "Error", "Exchange", "ExchangeResult", "Fleet", "FleetError", "FleetWarning",
    "Harness", "JoinAccept", "JoinRequest", "JsKeys", "KeyEnvelope", "KeyEnvelopeError",
    "KeyUnwrapError", "Profile", "ProfileError", "ReferenceJS", "Report", "Scenario",
    "ScenarioError", "SecureElementError", "SessionKeys", "State", "StateError", "Target",
    "TraceJoinAccept", "aes_key_unwrap", "aes_key_wrap", "behaviours", "build_join_accept",
    "build_join_request", "builtin_suite", "checks", "decrypt_join_accept", "derive_js_keys",
    "derive_session_keys_1_0", "derive_session_keys_1_1", "faults", "load_scenarios",
    "parse_join_request", "parse_scenarios", "profiles", "resolve_profile", "run", "unwrap_key",
    "wrap_key",
]

PathLike = Union[str, "_os.PathLike[str]"]
BytesLike = Union[bytes, bytearray, memoryview, str]

# The scenario id of a single exchange (Harness.exchange): a check of its own, judged only when
# the step says what it expects.
_EXCHANGE_ID = "python/exchange"


def checks() -> list[Check]:
    """Every built-in check, in the stable catalog order (what ``joincheck list`` prints)."""
    return Catalog.builtin().checks


def parse_scenarios(scenarios: Union[Mapping[str, Any], Sequence[Mapping[str, Any]]], *,
                    catalog: Optional[Catalog] = None, source: str = "<python>") -> list[Scenario]:
    """Parses scenarios given as Python objects in the scenario-file shape.

    ``scenarios`` is one scenario dict, ``{"scenarios": [...]}``, or a list of scenario dicts
    (the format is that of the JSON files; see the README). Checks are looked up in ``catalog``
    (default: the built-in one). Raises ScenarioError naming the source, the scenario, the step
    and the field, e.g. ``<python>: custom/x: steps[1].DevNonce: expected ...``.
    """
    if catalog is None:
        catalog = Catalog.builtin()
    try:
        text = _json.dumps(scenarios, allow_nan=False)  # NaN/Infinity are not JSON
    except (TypeError, ValueError) as e:
        raise ScenarioError(f"{source}: not JSON data: {e}") from None
    return _joincheck._parse_scenarios(text, source, catalog)


def load_scenarios(path: PathLike, *, catalog: Optional[Catalog] = None) -> list[Scenario]:
    """Reads a scenario file (one scenario, ``{"scenarios": [...]}`` or a list). Raises ScenarioError."""
    if catalog is None:
        catalog = Catalog.builtin()
    return _joincheck._load_scenarios(path, catalog)


def wrap_key(key: BytesLike, *, kek: Optional[BytesLike] = None, label: str = "") -> KeyEnvelope:
    """Wraps a 16-byte key as a TS002 KeyEnvelope under ``kek`` labelled ``label`` (clear without both)."""
    return KeyEnvelope.wrap(key, kek=kek, label=label)


def unwrap_key(envelope: Union[KeyEnvelope, Mapping[str, Any]],
               keks: Optional[Mapping[str, BytesLike]] = None) -> bytes:
    """The key of a KeyEnvelope (or its JSON dict {"KEKLabel", "AESKey"}), unwrapped with ``keks[label]``."""
    if not isinstance(envelope, KeyEnvelope):
        envelope = KeyEnvelope.from_json(dict(envelope))
    return envelope.unwrap(dict(keks or {}))


def _as_list(value: Union[None, str, Iterable[str]]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _hex_or_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


# Keyword arguments of Harness.join/exchange -> the scenario step's fields.
_STEP_FIELDS = {
    "dev_nonce": "DevNonce",
    "rejoin_type": "RejoinType",
    "mic": "MIC",
    "mac_version": "MACVersion",
    "opt_neg": "OptNeg",
    "phy_payload": "PHYPayload",
    "dev_addr": "DevAddr",
    "dl_settings": "DLSettings",
    "rx_delay": "RxDelay",
    "cf_list": "CFList",
    "session_key_id": "SessionKeyID",
    "protocol_version": "ProtocolVersion",
    "sender_id": "SenderID",
    "receiver_id": "ReceiverID",
    "sender_token": "SenderToken",
    "sender_ns_id": "SenderNSID",
    "transaction_id": "TransactionID",
    "vs_extension": "VSExtension",
    "omit": "omit",
    "null": "null",
    "set": "set",
    "hex": "hex",
    "content_type": "Content-Type",
    "expect": "expect",
    "check": "check",
    "body": "body",
    "message_type": "MessageType",
}


def _step_from_keywords(send: str, modifiers: Mapping[str, Any]) -> dict[str, Any]:
    step: dict[str, Any] = {"send": send}
    for name, value in modifiers.items():
        if name == "corrupt_mic":
            if value:
                step["MIC"] = "corrupt"
            continue
        field = _STEP_FIELDS.get(name)
        if field is None:
            known = ", ".join(sorted(list(_STEP_FIELDS) + ["corrupt_mic"]))
            raise TypeError(f"unexpected keyword argument {name!r}; the modifiers are {known}")
        if field == "DLSettings" and isinstance(value, int):
            value = f"{value:02x}"
        elif field in ("omit", "null"):
            value = _as_list(value)
        else:
            value = _hex_or_value(value)
        step[field] = value
    return step


class ExchangeResult:
    """One exchange sent by Harness.join() or Harness.exchange(), and how it was judged.

    Attributes: ``exchange`` (the Exchange: request, answer, timing, notes), ``result`` (the
    answer's ResultCode, e.g. 'Success' or 'FrameReplayed'; None without one), ``answer`` (the
    answer as a dict), ``join_accept`` (the TraceJoinAccept the device decrypted, or None),
    ``accepted`` (the device took the join-accept), ``dev_nonce`` (of the join-request sent),
    ``checks`` (the CheckResults of every check that applied to this exchange), ``verdict``
    (the worst of them) and ``report`` (the whole Report, for write_junit/write_json).
    """

    _SEVERITY = {"skip": 0, "pass": 1, "warn": 2, "error": 3, "fail": 4}

    def __init__(self, report: Report, device: Optional[Device]):
        """The result of the single-exchange run `report`, sent for `device` (None for a raw step)."""
        self.report = report
        self.device = device
        exchanges = report.exchanges
        self.exchange: Optional[Exchange] = exchanges[-1] if exchanges else None
        self.checks: list[CheckResult] = [r for r in report.results if r.evaluations > 0]

    @property
    def result(self) -> Optional[str]:
        """The answer's Result.ResultCode ('Success', 'MICFailed', ...), or None."""
        return self.exchange.result_code if self.exchange is not None else None

    @property
    def answer(self) -> Optional[dict]:
        """The answer parsed as JSON (keys redacted unless the harness reveals them), or None."""
        return self.exchange.answer if self.exchange is not None else None

    @property
    def join_accept(self) -> Optional[TraceJoinAccept]:
        """The join-accept as the device decrypted it, or None."""
        return self.exchange.join_accept if self.exchange is not None else None

    @property
    def accepted(self) -> bool:
        """Whether the device took the join-accept (decrypted, MIC valid, JoinNonce fresh)."""
        accept = self.join_accept
        return accept is not None and accept.accepted

    @property
    def dev_nonce(self) -> Optional[int]:
        """The DevNonce of the join-request sent, or None (not a join, or a modified frame)."""
        request = self.exchange.request if self.exchange is not None else None
        if not isinstance(request, dict) or request.get("MessageType") != "JoinReq":
            return None
        try:
            return parse_join_request(str(request.get("PHYPayload", ""))).dev_nonce
        except Error:
            return None

    @property
    def verdict(self) -> str:
        """The worst verdict among the checks that applied ('pass' when none did)."""
        verdicts = [r.verdict for r in self.checks]
        return max(verdicts, key=self._SEVERITY.__getitem__) if verdicts else "pass"

    @property
    def failures(self) -> list[CheckResult]:
        """The checks that failed or errored on this exchange."""
        return [r for r in self.checks if r.verdict in ("fail", "error")]

    @property
    def setup_error(self) -> str:
        """Why the target could not be reached ('' when it answered)."""
        return self.report.setup_error

    def __getitem__(self, check_id: str) -> CheckResult:
        for r in self.checks:
            if r.id == check_id:
                return r
        raise KeyError(f"check {check_id!r} did not apply to this exchange "
                       f"(applied: {', '.join(r.id for r in self.checks) or 'none'})")

    def __contains__(self, check_id: str) -> bool:
        return any(r.id == check_id for r in self.checks)

    def __iter__(self):
        return iter(self.checks)

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for r in self.checks:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "no check applied"
        device = f"device={self.device.dev_eui!r}, " if self.device is not None else ""
        nonce = f"dev_nonce={self.dev_nonce}, " if self.dev_nonce is not None else ""
        return (f"ExchangeResult({device}{nonce}result={self.result!r}, accepted={self.accepted}, "
                f"verdict={self.verdict!r}, checks: {summary})")

    def __str__(self) -> str:
        lines = [str(self.exchange) if self.exchange is not None else f"no exchange: {self.setup_error}"]
        lines += [r.line() for r in self.checks]
        return "\n".join(lines)


def _looks_like_url(text: str) -> bool:
    """A string meant as a URL rather than a target file: empty (an unset variable must never fall
    back to a default target), with a scheme (``htp://`` too), or ``host:port`` that names no file."""
    if not text.strip() or "://" in text:
        return True
    return not text.lower().endswith(".toml") and not _os.path.exists(text)


class Harness:
    """A Join Server under test, the devices it knows, and the state the harness keeps for them.

    ``target`` is a Target, a URL, a target TOML file, a ReferenceJS, or None: the reference JS
    started in-process (with ``faults`` and ``behave_like``, provisioned with ``fleet`` when
    given) and stopped by close(). ``fleet`` is a Fleet or a fleet file (default: the target
    file's ``devices``, or the reference JS's fleet). ``profile`` names a profile or a .toml file
    (default: the target file's, else 'strict'). ``state`` is a State or a state file: the
    DevNonce counters carry over from run to run and from exchange to exchange (a file is saved
    after each). ``timeout`` overrides the target's per-exchange deadline, in seconds.

    Use it as a context manager::

        with joincheck.Harness(faults=["wrong-kek-label"]) as harness:
            assert harness.run(only="kek")["kek/known-label"].verdict == "fail"
    """

    def __init__(self, target: Union[None, Target, ReferenceJS, PathLike] = None, *,
                 fleet: Union[None, Fleet, PathLike, Iterable[Device]] = None,
                 profile: Union[None, str, Profile] = None, reveal_keys: bool = False,
                 seed: int = 1, timeout: Optional[float] = None,
                 state: Union[None, State, PathLike] = None,
                 faults: Iterable[str] = (), behave_like: str = "strict"):
        """See the class documentation. Raises ConfigError when an external target has no fleet."""
        self.reveal_keys = reveal_keys
        self.seed = seed
        self._runs = 0  # each run draws from seed + runs so far: DevAddrs and TransactionIDs differ
        self._timeout = timeout
        self._owned_js: Optional[ReferenceJS] = None
        self._js: Optional[ReferenceJS] = None
        self._target: Optional[Target] = None
        faults = list(faults)
        if isinstance(fleet, (str, _os.PathLike)):
            fleet = Fleet.load(fleet)
        elif fleet is not None and not isinstance(fleet, Fleet):
            fleet = Fleet(list(fleet))

        if target is None:
            self._owned_js = ReferenceJS(faults=faults, behave_like=behave_like, seed=seed, fleet=fleet)
            self._js = self._owned_js
        else:
            if faults or behave_like != "strict":
                raise ValueError("faults and behave_like configure the reference JS that Harness starts "
                                 "when no target is given; start a ReferenceJS(faults=...) to pass one")
            if isinstance(target, ReferenceJS):
                self._js = target
            elif isinstance(target, Target):
                self._target = target
            elif isinstance(target, str) and _looks_like_url(target):
                self._target = Target(target)  # a bad URL raises ConfigError saying what is wrong
            elif isinstance(target, (str, _os.PathLike)):
                self._target = Target.from_file(target)
            else:
                raise TypeError(f"target: expected a Target, a URL, a target file, a ReferenceJS or None, "
                                f"got {type(target).__name__}")
        if fleet is None:
            if self._js is not None:
                fleet = self._js.fleet
            elif self._target is not None and self._target.devices:
                fleet = Fleet.load(self._target.devices)
            else:
                raise ConfigError("the target must know the devices the harness joins: give fleet= (a Fleet "
                                  "or a fleet file) or devices = \"...\" in the target file. Make one with "
                                  "Fleet.generate() and provision it on the Join Server.")
        self.fleet: Fleet = fleet
        if profile is None and self._target is not None and self._target.profile:
            profile = self._target.profile
        self.profile: Union[str, Profile] = profile if profile is not None else "strict"
        self._state_file: Optional[str] = None
        if isinstance(state, (str, _os.PathLike)):
            self._state_file = _os.fspath(state)
            state = State.load(state)
        self.state: State = state if state is not None else State()

    # --- what it talks to ---------------------------------------------------------------------

    @property
    def reference_js(self) -> Optional[ReferenceJS]:
        """The reference JS under test, or None for an external target."""
        return self._js

    @property
    def target(self) -> Target:
        """The Target requests go to (a reference JS's changes with every start())."""
        target = self._js.target if self._js is not None else self._target
        assert target is not None
        if self._timeout is not None:
            target = target.replace(timeout=self._timeout)
        return target

    @property
    def target_label(self) -> str:
        """How reports name the target."""
        return self._js.label if self._js is not None else self.target.url

    def close(self) -> None:
        """Stops the reference JS this harness started (if any) and saves a state file."""
        if self._owned_js is not None:
            self._owned_js.stop()
        self.save_state()

    def save_state(self, path: Optional[PathLike] = None) -> None:
        """Writes the state to ``path`` (default: the state file given to the constructor, if any)."""
        path = path if path is not None else self._state_file
        if path is not None:
            self.state.save(path)

    def __enter__(self) -> "Harness":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        profile = self.profile if isinstance(self.profile, str) else self.profile.name
        return (f"Harness(target={self.target_label!r}, fleet={self.fleet!r}, profile={profile!r}, "
                f"state={self.state!r})")

    # --- devices --------------------------------------------------------------------------------

    def device(self, which: Union[None, int, str, Device] = None) -> Device:
        """A device of the fleet: the first (None), by position, by DevEUI, or the first of a MAC
        version ('1.0.4', '1.1'). A Device is returned as it is (it need not be in the fleet: an
        unknown device)."""
        if isinstance(which, Device):
            return which
        if which is None:
            if len(self.fleet) == 0:
                raise ConfigError("the fleet has no device")
            return self.fleet[0]
        if isinstance(which, int):
            return self.fleet[which]
        if isinstance(which, str) and _re.fullmatch(r"(0[xX])?[0-9a-fA-F]{16}", which):
            return self.fleet[which]
        if isinstance(which, str):
            for d in self.fleet:
                if d.mac_version == which:
                    return d
            raise KeyError(f"no LoRaWAN {which} device in the fleet ({', '.join(self.fleet.mac_versions)})")
        raise TypeError(f"device: expected a Device, an index, a DevEUI or a MAC version, got {type(which).__name__}")

    # --- runs -----------------------------------------------------------------------------------

    def _catalog_and_scenarios(self, scenarios: Any, suite: bool) -> tuple[Catalog, list[Scenario]]:
        catalog = Catalog.builtin()
        out: list[Scenario] = list(builtin_suite()) if suite else []
        if scenarios is None:
            return catalog, out
        if isinstance(scenarios, (Mapping, Scenario, str, _os.PathLike)):
            scenarios = [scenarios]
        for item in scenarios:
            if isinstance(item, Scenario):
                parsed = [item]
            elif isinstance(item, Mapping):
                parsed = parse_scenarios(item, catalog=catalog)
            elif isinstance(item, (str, _os.PathLike)):
                parsed = load_scenarios(item, catalog=catalog)
            else:
                raise TypeError(f"scenarios: expected dicts, Scenario objects or scenario files, "
                                f"got {type(item).__name__}")
            for sc in parsed:
                if sc.custom and sc.id not in catalog:
                    catalog.add(sc.check)
            out.extend(parsed)
        return catalog, out

    def _profile(self, catalog: Catalog, profile: Union[None, str, Profile]) -> Profile:
        profile = profile if profile is not None else self.profile
        if isinstance(profile, Profile):
            return profile
        return resolve_profile(profile, catalog)

    def _run(self, fleet: Fleet, catalog: Catalog, scenarios: list[Scenario], *, only: Any = None,
             skip: Any = None, profile: Any = None, reveal_keys: Optional[bool] = None,
             seed: Optional[int] = None, on_check: Optional[Callable[[CheckResult], Any]] = None,
             via_gateway: Union[None, bool, str] = None, gateways: int = 1) -> Report:
        if seed is None:
            seed = self.seed + self._runs
        self._runs += 1
        try:
            return _joincheck._run(
                self.target, fleet, scenarios, catalog, self._profile(catalog, profile),
                _as_list(only), _as_list(skip),
                self.reveal_keys if reveal_keys is None else reveal_keys,
                seed, self.target_label, on_check, self.state,
                _via_gateway_region(via_gateway), gateways)
        finally:
            if self._state_file is not None:
                self.state.save(self._state_file)

    def run(self, scenarios: Any = None, *, suite: Optional[bool] = None,
            only: Union[None, str, Iterable[str]] = None, skip: Union[None, str, Iterable[str]] = None,
            profile: Union[None, str, Profile] = None, reveal_keys: Optional[bool] = None,
            seed: Optional[int] = None, on_check: Optional[Callable[[CheckResult], Any]] = None,
            junit: Optional[PathLike] = None, json: Optional[PathLike] = None,
            html: Optional[PathLike] = None,
            via_gateway: Union[None, bool, str] = None, gateways: int = 1) -> Report:
        """Runs scenarios against the target and returns the Report.

        ``scenarios``: scenario dicts (the JSON files' shape), Scenario objects or scenario files;
        one or a list. ``suite``: run the built-in suite too (default: only when no scenarios are
        given). ``only``/``skip``: check ids or groups ('devnonce', 'kek/known-label'); a selector
        naming nothing raises ValueError. ``on_check`` is called with each CheckResult as soon as
        its verdict is final. ``junit``/``json``/``html``: report files to write. ``via_gateway``: True
        (EU868) or a region ("US915"): plain joins travel through ``gateways`` simulated gateways
        and joincheck's NS (``joincheck run --via-gateway``), and scenarios with "uplink" and
        "expect_downlink" steps run. Ctrl-C stops the run
        between two exchanges and raises KeyboardInterrupt (an exception raised by on_check stops
        it too); the exception's ``report`` attribute is the partial Report.
        """
        if suite is None:
            suite = scenarios is None
        catalog, parsed = self._catalog_and_scenarios(scenarios, suite)
        if not parsed:
            raise ValueError("no scenario to run (give scenarios=..., or suite=True)")
        report = self._run(self.fleet, catalog, parsed, only=only, skip=skip, profile=profile,
                           reveal_keys=reveal_keys, seed=seed, on_check=on_check,
                           via_gateway=via_gateway, gateways=gateways)
        if junit is not None:
            report.write_junit(junit)
        if json is not None:
            report.write_json(json)
        if html is not None:
            report.write_html(html)
        return report

    def run_scenario(self, scenario: Any, **options: Any) -> Report:
        """Runs one scenario (a dict, a Scenario or a file) alone: run([scenario], suite=False)."""
        return self.run([scenario], suite=False, **options)

    def exchange(self, step: Mapping[str, Any], device: Union[None, int, str, Device] = None, *,
                 reveal_keys: Optional[bool] = None) -> ExchangeResult:
        """Sends one request, a scenario step as a dict ({"send": "join", "DevNonce": 5, ...}; the
        device is given here, not in the step), and judges the answer with every check that
        applies. A step with "expect" also judges it, under the step's "check" (default: a check
        of its own, 'python/exchange'). The device continues from the harness's State, so
        successive exchanges use fresh DevNonces. Exactly one request is sent: the tls/ checks,
        which make handshakes of their own, are judged by run()."""
        step = dict(step)
        if "device" in step:
            raise ScenarioError("<python>: the step's device is given as the device= argument, not in the step")
        send = step.get("send")
        dev: Optional[Device] = None
        devices: dict[str, Any] = {}
        if send != "raw":
            dev = self.device(device)
            step["device"] = "dev"
            devices["dev"] = {"MACVersion": dev.mac_version}
        scenario = {"id": _EXCHANGE_ID, "title": "A single exchange sent from Python", "level": "MUST",
                    "spec": "joincheck Python API (Harness.exchange)", "devices": devices, "steps": [step]}
        catalog = Catalog.builtin()
        parsed = parse_scenarios(scenario, catalog=catalog)
        catalog.add(parsed[0].check)
        fleet = Fleet([dev]) if dev is not None else self.fleet
        # One request: the tls/ group's own handshakes (judged once per run) are left to run().
        skip = [group for group in ("tls",) if catalog.select(group)]
        report = self._run(fleet, catalog, parsed, skip=skip, reveal_keys=reveal_keys)
        return ExchangeResult(report, dev)

    def join(self, device: Union[None, int, str, Device] = None, *,
             reveal_keys: Optional[bool] = None, **modifiers: Any) -> ExchangeResult:
        """Sends one JoinReq for ``device`` (see device()) and judges the answer.

        Modifiers, as a scenario step names them in snake_case: dev_nonce ('next', 'previous',
        'lower', 'ahead' or an int), corrupt_mic=True, mac_version (the spelling sent), opt_neg,
        phy_payload, dev_addr, dl_settings (int), rx_delay, cf_list (bytes or hex; None: none),
        protocol_version, sender_id, receiver_id, sender_token, sender_ns_id, transaction_id,
        vs_extension, omit, null, set, hex ('upper' or '0x'), content_type, expect, check.
        """
        return self.exchange(_step_from_keywords("join", modifiers), device, reveal_keys=reveal_keys)


def _via_gateway_region(via_gateway: Union[None, bool, str]) -> Optional[str]:
    """None/False: straight to the JS; True: EU868; a string: that region."""
    if via_gateway is None or via_gateway is False:
        return None
    if via_gateway is True:
        return "EU868"
    if isinstance(via_gateway, str):
        return via_gateway
    raise TypeError(f"via_gateway: expected True, False or a region such as 'US915', got {via_gateway!r}")


def run(target: Union[None, Target, ReferenceJS, PathLike] = None, *, scenarios: Any = None,
        suite: Optional[bool] = None, only: Union[None, str, Iterable[str]] = None,
        skip: Union[None, str, Iterable[str]] = None,
        fleet: Union[None, Fleet, PathLike, Iterable[Device]] = None,
        profile: Union[None, str, Profile] = None, reveal_keys: bool = False, seed: int = 1,
        timeout: Optional[float] = None, state: Union[None, State, PathLike] = None,
        faults: Iterable[str] = (), behave_like: str = "strict",
        on_check: Optional[Callable[[CheckResult], Any]] = None,
        junit: Optional[PathLike] = None, json: Optional[PathLike] = None,
        html: Optional[PathLike] = None,
        via_gateway: Union[None, bool, str] = None, gateways: int = 1) -> Report:
    """Runs the suite (or ``scenarios``) once and returns the Report: ``joincheck run`` in Python.

    Without a target, the reference JS is started in-process for the run (with ``faults`` and
    ``behave_like``). See Harness for the arguments and Harness.run for the run's.
    """
    with Harness(target, fleet=fleet, profile=profile, reveal_keys=reveal_keys, seed=seed,
                 timeout=timeout, state=state, faults=faults, behave_like=behave_like) as harness:
        return harness.run(scenarios, suite=suite, only=only, skip=skip, on_check=on_check,
                           junit=junit, json=json, html=html, via_gateway=via_gateway, gateways=gateways)
