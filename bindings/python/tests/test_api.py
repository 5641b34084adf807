"""The Python API's quality bar: every public class, function, method and property has a docstring,
names are snake_case, and the package imports from the build tree as the README says."""

import inspect
import re

import joincheck

SPECIAL = {"__init__", "__repr__", "__str__", "__eq__", "__hash__", "__len__", "__iter__", "__getitem__",
           "__contains__", "__enter__", "__exit__", "__bytes__", "__delitem__"}


def public_members(cls):
    for name, member in vars(cls).items():
        if name.startswith("_") and name not in ("__init__",):
            continue
        yield name, member


def test_every_public_name_has_a_docstring():
    missing = []
    assert joincheck.__doc__ and len(joincheck.__doc__) > 200
    for name in joincheck.__all__:
        obj = getattr(joincheck, name)
        if isinstance(obj, tuple):  # SECURE_ELEMENT_KINDS
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for member_name, member in public_members(obj):
                doc = getattr(member, "__doc__", None) or ""
                # pybind11 writes the signature first; a docstring is text after it.
                text = re.sub(r"^\w+\(.*?\) -> .*?\n", "", doc.strip(), flags=re.M).strip() if doc else ""
                if not text:
                    missing.append(f"{name}.{member_name}")
    assert missing == []


def test_names_are_snake_case():
    for name in joincheck.__all__:
        obj = getattr(joincheck, name)
        if inspect.isclass(obj):
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", name)
            for member_name, _ in public_members(obj):
                if member_name != "__init__":
                    assert re.fullmatch(r"[a-z][a-z0-9_]*", member_name), f"{name}.{member_name}"
        elif name != "SECURE_ELEMENT_KINDS":
            assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name


def test_errors_are_one_family():
    for name in ("ScenarioError", "ConfigError", "ProfileError", "FleetError", "StateError", "KeyUnwrapError",
                 "KeyEnvelopeError", "SecureElementError", "DatabaseError"):
        cls = getattr(joincheck, name)
        assert issubclass(cls, joincheck.Error) and cls.__module__ == "joincheck"
    assert issubclass(joincheck.Error, Exception) and not issubclass(joincheck.Error, ValueError)
    assert issubclass(joincheck.FleetWarning, UserWarning)


def test_the_plugin_module_is_documented():
    import joincheck.pytest as plugin
    assert plugin.__doc__ and "--joincheck-target" in plugin.__doc__
    for name in ("pytest_addoption", "pytest_configure", "pytest_report_header", "joincheck_target",
                 "joincheck_reference_js", "harness_from_options"):
        assert (getattr(plugin, name).__doc__ or "").strip(), name
