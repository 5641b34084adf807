#!/usr/bin/env python3
"""The CI examples of examples/ci/ (docs/ci.md) do what they say, with joincheck from the build.

For each file: the YAML parses and has the shape its CI reads (GitHub Actions: steps with `run`
or `uses`, the reports published `if: always()`; GitLab CI: `script`, `artifacts:when: always`,
`artifacts:reports:junit`); then its shell, as the CI would run it after installing joincheck
(the install step itself needs the network and is left out), runs in an empty folder with the
built joincheck first in PATH: it must pass and write the JUnit, JSON and HTML reports it
publishes. The same shell with the stand-in JS switched to a faulty one must fail the job.

usage: test_ci_examples.py PATH/TO/joincheck
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import check, free_port, summary  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"




def github_shell(doc):
    """The job's env and the shell of its run steps after the install step, in order."""
    check("github: triggered on push and pull_request", set(doc.get(True, doc.get("on", []))) >= {"push", "pull_request"})
    (job,) = doc["jobs"].values()
    steps = job["steps"]
    check("github: every step has run or uses", all(("run" in s) != ("uses" in s) for s in steps))
    names = [s.get("name", "") for s in steps]
    check("github: joincheck is installed before it runs", names.index("Install joincheck") < names.index("Run the conformance suite"))
    for s in steps:
        if "uses" in s and s["uses"].split("@")[0] in ("mikepenz/action-junit-report", "actions/upload-artifact"):
            check(f"github: {s['uses']} runs even when the suite fails", s.get("if") == "always()")
            path = s["with"].get("report_paths") or s["with"].get("path")
            check(f"github: {s['uses']} takes the reports", path.startswith("reports/"))
    after_install = steps[names.index("Install joincheck") + 1:]
    return job.get("env", {}), "\n".join(s["run"] for s in after_install if "run" in s)


def gitlab_shell(doc):
    (name, job) = next((k, v) for k, v in doc.items() if isinstance(v, dict) and "script" in v)
    check(f"gitlab: job {name} installs joincheck in before_script", any("joincheck.deb" in line for line in job["before_script"]))
    artifacts = job["artifacts"]
    check("gitlab: artifacts are kept when the job fails", artifacts.get("when") == "always")
    check("gitlab: the JUnit report is a junit report", artifacts["reports"]["junit"] == "reports/joincheck.xml")
    check("gitlab: the reports folder is an artifact", "reports/" in artifacts["paths"])
    return job.get("variables", {}), "\n".join(job["script"])


def run_shell(name, env_vars, shell, joincheck, fault=None):
    """Runs `shell` as the CI would (bash -e), the stand-in JS on a free port; returns (exit, folder)."""
    work = Path(tempfile.mkdtemp(prefix=f"joincheck-ci-{name}-"))
    bindir = work / "bin"
    bindir.mkdir()
    (bindir / "joincheck").symlink_to(joincheck)
    port = str(free_port())
    shell = shell.replace("8090", port)
    env_vars = {k: str(v).replace("8090", port) for k, v in env_vars.items() if "${{" not in str(v)}
    if fault:
        shell, n = re.subn(r"joincheck serve-js ", f"joincheck serve-js --fault {fault} ", shell)
        assert n == 1, "one serve-js line"
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", **env_vars)
    # bash -e as both CIs run a script; the stand-in JS is stopped with the process group.
    proc = subprocess.Popen(["bash", "-e", "-c", shell], cwd=work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        out = "the job's shell did not end within 240 s"
    finally:
        # The JS started in the background is in the shell's process group (no job control).
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        proc.wait()
    (work / "ci.log").write_text(out)
    return proc.returncode, work


def main():
    joincheck = Path(sys.argv[1]).resolve()
    for file, shape in (("github-actions.yml", github_shell), ("gitlab-ci.yml", gitlab_shell)):
        name = file.split("-")[0]
        try:
            doc = yaml.safe_load((EXAMPLES / file).read_text())
        except yaml.YAMLError as e:
            check(f"{file} parses as YAML", False, str(e))
            continue
        check(f"{file} parses as YAML", True)
        env_vars, shell = shape(doc)
        code, work = run_shell(name, env_vars, shell, joincheck)
        log = (work / "ci.log").read_text()
        check(f"{name}: the job's shell passes against a correct JS", code == 0, log[-3000:])
        for report in ("joincheck.xml", "joincheck.json", "joincheck.html"):
            check(f"{name}: it writes reports/{report}", (work / "reports" / report).is_file(), log[-1500:])
        shutil.rmtree(work, ignore_errors=True)
        code, work = run_shell(name, env_vars, shell, joincheck, fault="accept-replayed-devnonce")
        log = (work / "ci.log").read_text()
        check(f"{name}: the job fails against a faulty JS (joincheck exit 1)", code == 1, log[-3000:])
        check(f"{name}: and still writes the JUnit report to publish", (work / "reports" / "joincheck.xml").is_file())
        shutil.rmtree(work, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
