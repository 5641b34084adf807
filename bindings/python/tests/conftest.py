"""Shared fixtures of the joincheck Python tests (run by `ctest -R python`, i.e. `make test`).

The package under test is the one on PYTHONPATH: the build tree's bindings/python folder, which
ctest sets. The plugin joincheck.pytest is loaded through its entry point; pytester tests it in
subprocesses.
"""

import os
import pathlib

import pytest

import joincheck

pytest_plugins = ["pytester"]

HERE = pathlib.Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
REPO = HERE.parent.parent.parent


@pytest.fixture(scope="session")
def reference_js():
    """One strict reference JS for the tests that only read from it."""
    with joincheck.ReferenceJS() as js:
        yield js


@pytest.fixture(scope="session")
def harness(reference_js):
    """A Harness on reference_js: its State carries the devices' DevNonces from test to test, as
    a JS that remembers them requires."""
    with joincheck.Harness(reference_js) as h:
        yield h


@pytest.fixture(scope="session")
def clean_report(harness):
    """The built-in suite against the strict reference JS, run once."""
    return harness.run()


@pytest.fixture
def python_env():
    """The environment a subprocess needs to import the package under test."""
    env = dict(os.environ)
    package_root = str(pathlib.Path(joincheck.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([package_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    return env


def write_target_file(js, folder):
    """A target TOML file (and its fleet file) for reaching `js` as an external target, KEKs
    included: what a user writes for their own JS."""
    target = js.target
    js.fleet.save(folder / "fleet.json")
    keks = "".join(f'[[kek]]\nlabel = "{label}"\nkek = "{kek.hex()}"\n' for label, kek in target.keks.items())
    path = folder / "target.toml"
    path.write_text(f'url = "{target.url}"\ndevices = "fleet.json"\n[ns]\nnet_id = "{target.net_id}"\n{keks}'
                    f'[application_server]\nkek_label = "{target.as_kek_label}"\n')
    return path
