"""Every example in bindings/python/examples runs as written (a subprocess, as a user runs it)."""

import subprocess
import sys

import joincheck
from conftest import EXAMPLES, write_target_file


def run_example(name, *args, env, cwd):
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)
    assert done.returncode == 0, f"{name} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert done.stderr == "", done.stderr
    return done.stdout


def test_every_example_is_tested():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == [
        "custom_devnonce_scenario.py", "fleet_from_csv.py", "js_restart.py"]


def test_custom_devnonce_scenario_is_proven_both_ways(python_env, tmp_path):
    out = run_example("custom_devnonce_scenario.py", "--junit", "junit.xml", env=python_env, cwd=tmp_path)
    assert "PASS  custom/devnonce-older-replay-1.0.4" in out and "FAIL  custom/devnonce-older-replay-1.0.4" in out
    assert "the scenario passes the strict JS and catches the faulty one" in out
    assert 'name="custom/devnonce-older-replay-1.0.4"' in (tmp_path / "junit.xml").read_text()


def test_custom_devnonce_scenario_against_an_external_target(python_env, tmp_path):
    with joincheck.ReferenceJS() as js:
        write_target_file(js, tmp_path)
        out = run_example("custom_devnonce_scenario.py", "--config", "target.toml", env=python_env, cwd=tmp_path)
        assert "embedded reference JS" not in out and f"{js.url}: PASS  custom/devnonce-older-replay-1.0.4" in out


def test_fleet_from_csv_with_the_demo_and_with_an_inventory(python_env, tmp_path):
    out = run_example("fleet_from_csv.py", "--junit", "junit.xml", env=python_env, cwd=tmp_path)
    assert "Fleet(8 devices: 2 x 1.0.2, 2 x 1.0.3, 2 x 1.0.4, 2 x 1.1)" in out
    assert out.count("Success") == 8 and "8 of 8 devices joined" in out and " 0 fail" in out
    assert (tmp_path / "junit.xml").exists()
    inventory = tmp_path / "mine.csv"
    inventory.write_text(joincheck.Fleet.generate(3, mac_version="1.0.4", seed=9).to_csv(provisioning=True))
    out = run_example("fleet_from_csv.py", str(inventory), env=python_env, cwd=tmp_path)
    assert "Fleet(3 devices: 3 x 1.0.4)" in out and "3 of 3 devices joined" in out


def test_js_restart_keeps_the_state_in_its_database(python_env, tmp_path):
    out = run_example("js_restart.py", "--database", str(tmp_path / "js.sqlite"), env=python_env, cwd=tmp_path)
    assert "the JS with a database refused every replay after its restart" in out
    assert "the JS without one accepted a replay after its restart" in out
    assert (tmp_path / "js.sqlite").exists()
