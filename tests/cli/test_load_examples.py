#!/usr/bin/env python3
"""The sharded load examples (deploy/kubernetes/, examples/ci/load-shards.github-actions.yml) do
what they say, with joincheck from the build.

Kubernetes: the manifests parse and have the shape the README relies on (an Indexed Job whose N
is the same in completions, parallelism and SHARDS; each pod's shard from JOB_COMPLETION_INDEX + 1;
reports and per-shard states on the ReadWriteMany claim; the fleet from the ConfigMap; the merge
Job and the reader on the same claim; one image); then the load pods' shell, as Kubernetes runs
it (its $(VAR) expansion, /bin/sh -c, JOB_COMPLETION_INDEX = 0 to N-1), runs N times at once
against a local serve-js with the mounts mapped to a temporary folder, then the merge Job's
shell: every pod and the merge pass, the merged totals are the shards' sums. Against a faulty JS
the pods still succeed (the merge is the verdict) and the merge fails; a missing report fails the
merge; SIGTERM to a pod still writes its report and state.

GitHub Actions: the workflow's shape (a matrix of 4 shards that does not fail fast, the merge
needing it and running always(), reports uploaded per shard and downloaded together, states
cached per shard); then each matrix cell's shell with ${{ matrix.shard }} substituted, the four
at once (each with its stand-in JS on a free port), the artifacts carried as the workflow
carries them, and the merge job's shell; against a faulty JS the cells and the merge fail.

usage: test_load_examples.py PATH/TO/joincheck
"""
import fnmatch
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from checks import check, free_port, summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
WORKFLOW = ROOT / "examples" / "ci" / "load-shards.github-actions.yml"




def temp_folder(name):
    return Path(tempfile.mkdtemp(prefix=f"joincheck-load-{name}-"))


def start_js(joincheck, fleet, log, fault=None):
    """serve-js on a free port with the fleet; returns (process, URL)."""
    args = [str(joincheck), "serve-js", "--listen", "127.0.0.1:0", "--devices", str(fleet), "--quiet"]
    if fault:
        args += ["--fault", fault]
    with open(log, "w") as out:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=out)
    for _ in range(200):
        m = re.search(r"listening on (http:\S+)", Path(log).read_text())
        if m:
            return proc, m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError("serve-js did not start:\n" + Path(log).read_text())


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_parallel(jobs, timeout):
    """Runs [(argv, cwd, env, log)] at once, each in a session of its own; returns their exit codes."""
    procs = []
    for argv, cwd, env, log in jobs:
        with open(log, "w") as out:
            procs.append(subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
    deadline = time.monotonic() + timeout
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(timeout=max(1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            codes.append(f"did not end within {timeout} s")
        # What a shell left in the background (a stand-in JS) ends with its session.
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        p.wait()
    return codes


def tail(path, n=3000):
    try:
        return Path(path).read_text()[-n:]
    except OSError as e:
        return str(e)


def check_merged(who, shard_files, merged_file, n, expect_errors_zero=True):
    """merged.json against the shards' JSON: totals add, N processes, one per shard."""
    try:
        shards = [json.loads(Path(f).read_text()) for f in shard_files]
        merged = json.loads(Path(merged_file).read_text())
    except (OSError, ValueError) as e:
        check(f"{who}: the shards' and the merged JSON reports read back", False, str(e))
        return None
    sums_ok = all(merged["totals"][k] == sum(s["totals"][k] for s in shards) for k in ("sent", "ok", "errors"))
    check(f"{who}: merged totals are the shards' sums (sent {merged['totals']['sent']}, "
          f"ok {merged['totals']['ok']}, errors {merged['totals']['errors']})", sums_ok,
          json.dumps([s["totals"] for s in shards] + [merged["totals"]]))
    check(f"{who}: merged latency count is the shards' sum",
          merged["latency"]["count"] == sum(s["latency"]["count"] for s in shards))
    shard_names = sorted((p["shard"] for p in merged["processes"]), key=lambda t: int(t.split("/")[0]))
    check(f"{who}: {n} processes in the merged report, shards 1/{n} to {n}/{n}",
          shard_names == [f"{k}/{n}" for k in range(1, n + 1)], str(merged["processes"]))
    if expect_errors_zero:
        check(f"{who}: no errors, some joins verified", merged["totals"]["errors"] == 0 and merged["totals"]["ok"] > 0,
              json.dumps(merged.get("errors")))
    return merged


def junit_failures(path):
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    return int(suite.get("failures", "0")), int(suite.get("tests", "0"))


# --- Kubernetes ---------------------------------------------------------------------------------

def k8s_expand(text, env):
    """Kubernetes' expansion of $(VAR) in a container's command and args: a defined variable is
    replaced, anything else kept as written, and $$ is a $ (k8s.io/kubernetes
    third_party/forked/golang/expansion)."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "$" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt == "$":
                out.append("$")
                i += 2
            elif nxt == "(":
                j = text.find(")", i + 2)
                if j == -1:
                    out.append("$(")
                    i += 2
                else:
                    name = text[i + 2:j]
                    out.append(env[name] if name in env else text[i:j + 1])
                    i = j + 1
            else:
                out.append(text[i:i + 2])
                i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def k8s_documents():
    docs = {}
    for f in sorted(KUBERNETES.glob("*.yaml")):
        try:
            for d in yaml.safe_load_all(f.read_text()):
                if d:
                    docs[(d["kind"], d["metadata"]["name"])] = d
            check(f"kubernetes: {f.name} parses as YAML", True)
        except (yaml.YAMLError, KeyError, TypeError) as e:
            check(f"kubernetes: {f.name} parses as YAML (with kind and metadata.name)", False, str(e))
    return docs


def pod_parts(job):
    """(container, its env as a dict, volume name -> (mountPath, volume))."""
    spec = job["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    env = {e["name"]: str(e["value"]) for e in container.get("env", []) if "value" in e}
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {m["name"]: (m["mountPath"], volumes[m["name"]]) for m in container.get("volumeMounts", [])}
    return container, env, mounts


def local_shell(container, env, mounts, folder):
    """The container's command as Kubernetes runs it, with its mounts mapped under `folder`."""
    argv = [k8s_expand(a, env) for a in container.get("command", []) + container.get("args", [])]
    paths = {path: str(folder / path.strip("/").replace("/", "-")) for path, _ in mounts.values()}
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(re.escape(p) for p in paths) + r")(?=[/\s\"']|$)")
    return [pattern.sub(lambda m: paths[m.group(1)], a) for a in argv], paths


def kubernetes(joincheck, bindir):
    docs = k8s_documents()
    jobs = {name: d for (kind, name), d in docs.items() if kind == "Job"}
    indexed = [d for d in jobs.values() if d["spec"].get("completionMode") == "Indexed"]
    if not check("kubernetes: one Indexed Job (the load)", len(indexed) == 1, str(list(jobs))):
        return
    load = indexed[0]
    merge_jobs = [d for d in jobs.values() if d is not load]
    if not check("kubernetes: one more Job (the merge)", len(merge_jobs) == 1, str(list(jobs))):
        return
    merge = merge_jobs[0]
    spec = load["spec"]
    n = spec.get("completions")
    check(f"kubernetes: completions == parallelism == N ({n})", isinstance(n, int) and n > 1 and spec.get("parallelism") == n)
    check("kubernetes: a shard is not run again (backoffLimit 0, restartPolicy Never)",
          spec.get("backoffLimit") == 0 and spec["template"]["spec"].get("restartPolicy") == "Never")
    container, env, mounts = pod_parts(load)
    script = "\n".join(container.get("args", []))
    check("kubernetes: the pod runs its command with /bin/sh -c", container.get("command") == ["/bin/sh", "-c"])
    check("kubernetes: SHARDS (the N of --shard K/N) equals completions", env.get("SHARDS") == str(n), str(env))
    check("kubernetes: the shard is JOB_COMPLETION_INDEX + 1 (K 1-based, the index 0-based)",
          "$((JOB_COMPLETION_INDEX + 1))" in script and re.search(r'--shard "\$k/\$SHARDS"', script) is not None, script)

    claims = {name: v["persistentVolumeClaim"]["claimName"] for name, (_, v) in mounts.items() if "persistentVolumeClaim" in v}
    pvcs = {name: d for (kind, name), d in docs.items() if kind == "PersistentVolumeClaim"}
    (reports_volume, claim), = claims.items() if len(claims) == 1 else ((None, None),)
    check("kubernetes: the load pods mount a claim defined here", claim in pvcs, str(claims))
    if claim not in pvcs:
        return
    check(f"kubernetes: claim {claim} is ReadWriteMany", pvcs[claim]["spec"].get("accessModes") == ["ReadWriteMany"])
    check("kubernetes: reports-pvc.yaml says what storage class ReadWriteMany needs",
          "ReadWriteMany" in (KUBERNETES / "reports-pvc.yaml").read_text() and "storageClassName" in pvcs[claim]["spec"])
    reports_dir = mounts[reports_volume][0]
    json_arg = re.search(r'--json "?(\S+?)"?(\s|$)', script)
    state_arg = re.search(r'--state "?(\S+?)"?(\s|$)', script)
    check("kubernetes: each shard's JSON report goes to the claim, under a name of its own",
          json_arg is not None and json_arg.group(1).startswith(reports_dir + "/") and "$k" in json_arg.group(1), script)
    check("kubernetes: each shard's --state is a file of its own on the claim",
          state_arg is not None and state_arg.group(1).startswith(reports_dir + "/") and "$k" in state_arg.group(1), script)
    fleet_mounts = [(path, v["configMap"]["name"]) for path, v in mounts.values() if "configMap" in v]
    devices_arg = re.search(r"--devices (\S+)", script)
    check("kubernetes: the fleet comes from a ConfigMap mounted in the pod",
          len(fleet_mounts) == 1 and devices_arg is not None and devices_arg.group(1).startswith(fleet_mounts[0][0] + "/"),
          script)

    merge_container, merge_env, merge_mounts = pod_parts(merge)
    merge_script = "\n".join(merge_container.get("args", []))
    merge_claims = [v["persistentVolumeClaim"]["claimName"] for _, v in merge_mounts.values() if "persistentVolumeClaim" in v]
    check("kubernetes: the merge Job mounts the same claim", merge_claims == [claim], str(merge_claims))
    check("kubernetes: the merge Job mounts it where the shards write", [p for p, _ in merge_mounts.values()] == [reports_dir])
    check("kubernetes: the merge Job's SHARDS equals N", merge_env.get("SHARDS") == str(n), str(merge_env))
    check("kubernetes: the merge runs joincheck report merge of the shards' reports to JSON, JUnit and HTML",
          f"joincheck report merge {reports_dir}/shard-*.json" in merge_script.replace("\\\n", " ")
          and all(f"--{k} {reports_dir}/merged." in merge_script for k in ("json", "junit", "html")), merge_script)
    readers = [d for (kind, _), d in docs.items() if kind == "Pod"]
    check("kubernetes: the reader pod mounts the same claim",
          len(readers) == 1 and [v["persistentVolumeClaim"]["claimName"] for v in readers[0]["spec"]["volumes"]] == [claim])
    images = {c["image"] for d in list(jobs.values()) + readers
              for c in (d["spec"]["template"]["spec"] if d["kind"] == "Job" else d["spec"])["containers"]}
    check("kubernetes: every pod runs the one image, a placeholder to replace",
          len(images) == 1 and next(iter(images)).startswith("registry.example.net/joincheck:"), str(images))
    dockerfile = (KUBERNETES / "Dockerfile").read_text()
    check("kubernetes: the Dockerfile installs the .deb on debian:bookworm-slim, joincheck as entrypoint",
          re.search(r"^FROM debian:bookworm-slim$", dockerfile, re.M) is not None
          and re.search(r"^COPY joincheck_\S*\.deb ", dockerfile, re.M) is not None
          and 'ENTRYPOINT ["joincheck"]' in dockerfile)

    storm = re.fullmatch(r"(\d+)/(\d+)s", env.get("STORM", ""))
    if not check("kubernetes: STORM is N/Ts", storm is not None, str(env)):
        return
    storm_devices, storm_seconds = int(storm.group(1)), int(storm.group(2))

    def run_pods(name, fault=None, storm_text=None):
        """The N load pods at once against a fresh serve-js, then nothing else; returns (folder, codes, paths)."""
        folder = temp_folder(f"k8s-{name}")
        shell, paths = local_shell(container, env, mounts, folder)
        for p in paths.values():
            Path(p).mkdir()
        fleet = Path(paths[fleet_mounts[0][0]]) / Path(devices_arg.group(1)).name
        shutil.copy(fleet_file, fleet)
        js, url = start_js(joincheck, fleet, folder / "js.log", fault)
        try:
            pod_env = {**os.environ, **env, "PATH": f"{bindir}:{os.environ['PATH']}", "JS_URL": url}
            if storm_text:
                pod_env["STORM"] = storm_text
            codes = run_parallel([(shell, folder, dict(pod_env, JOB_COMPLETION_INDEX=str(i)), folder / f"pod-{i}.log")
                                  for i in range(n)], timeout=storm_seconds + 180)
        finally:
            stop(js)
        return folder, codes, paths

    def run_merge(folder):
        shell, _ = local_shell(merge_container, merge_env, merge_mounts, folder)
        menv = {**os.environ, **merge_env, "PATH": f"{bindir}:{os.environ['PATH']}"}
        (code,) = run_parallel([(shell, folder, menv, folder / "merge.log")], timeout=120)
        return code

    work = temp_folder("k8s-fleet")
    fleet_file = work / "fleet.csv"
    subprocess.run([str(joincheck), "devices", "generate", "--count", str(storm_devices), "--join-eui", "70b3d57ed0000000",
                    "--seed", "42", "--out", str(fleet_file)], check=True, capture_output=True)
    check(f"kubernetes: a CSV fleet for the storm ({storm_devices} devices) fits a ConfigMap (1 MiB)",
          fleet_file.stat().st_size < 1024 * 1024, str(fleet_file.stat().st_size))

    # The pods as applied: N at once, the storm as written, against a correct JS.
    folder, codes, paths = run_pods("pass")
    reports = Path(paths[reports_dir])
    check(f"kubernetes: {n} pods at once, each exits 0 (storm {env['STORM']})", codes == [0] * n,
          f"exit codes {codes}\n" + "\n".join(tail(folder / f"pod-{i}.log", 800) for i in range(n)))
    shard_files = [reports / f"shard-{k}.json" for k in range(1, n + 1)]
    check("kubernetes: every shard wrote its report and its state on the claim",
          all(f.is_file() for f in shard_files) and all((reports / f"state-{k}.json").is_file() for k in range(1, n + 1)),
          str(sorted(p.name for p in reports.iterdir())))
    check("kubernetes: every shard's own assertions held", all(json.loads(f.read_text())["passed"] for f in shard_files if f.is_file()))
    code = run_merge(folder)
    check("kubernetes: the merge Job's shell exits 0", code == 0, tail(folder / "merge.log"))
    merged = check_merged("kubernetes", shard_files, reports / "merged.json", n)
    if merged:
        check(f"kubernetes: the merged storm is the whole storm ({storm_devices} devices)",
              merged.get("storm", {}).get("devices") == storm_devices, json.dumps(merged.get("storm")))
    check("kubernetes: merged JUnit (passing) and HTML written",
          (reports / "merged.xml").is_file() and junit_failures(reports / "merged.xml")[0] == 0
          and (reports / "merged.html").is_file())
    shutil.rmtree(folder, ignore_errors=True)

    # A JS sending wrong keys: the pods succeed (their reports say FAIL), the merge fails.
    folder, codes, paths = run_pods("fault", fault="wrong-app-s-key", storm_text=f"{40 * n}/2s")
    reports = Path(paths[reports_dir])
    check("kubernetes: against a faulty JS every pod still exits 0 (the merge gives the verdict)", codes == [0] * n,
          f"exit codes {codes}\n" + tail(folder / "pod-0.log"))
    shard_files = [reports / f"shard-{k}.json" for k in range(1, n + 1)]
    check("kubernetes: and every shard's report says it failed",
          all(f.is_file() and not json.loads(f.read_text())["passed"] for f in shard_files))
    code = run_merge(folder)
    check("kubernetes: the merge Job's shell exits 1 against a faulty JS", code == 1, tail(folder / "merge.log"))
    check("kubernetes: with a failing merged JUnit report",
          (reports / "merged.xml").is_file() and junit_failures(reports / "merged.xml")[0] > 0)
    check_merged("kubernetes (faulty JS)", shard_files, reports / "merged.json", n, expect_errors_zero=False)
    shard_files[0].unlink()
    code = run_merge(folder)
    log = tail(folder / "merge.log")
    check("kubernetes: a missing shard report fails the merge (exit 2, says how many)",
          code == 2 and f"expected {n} shard reports" in log, f"exit {code}\n{log}")
    shutil.rmtree(folder, ignore_errors=True)

    # Not an Indexed Job (no JOB_COMPLETION_INDEX): the pod fails rather than be shard 1 like the others.
    folder = temp_folder("k8s-no-index")
    shell, paths = local_shell(container, env, mounts, folder)
    for p in paths.values():
        Path(p).mkdir()
    pod_env = {k: v for k, v in os.environ.items() if k != "JOB_COMPLETION_INDEX"}
    pod_env.update(env, PATH=f"{bindir}:{os.environ['PATH']}", JS_URL="http://127.0.0.1:1/")
    (code,) = run_parallel([(shell, folder, pod_env, folder / "pod.log")], timeout=30)
    check("kubernetes: a pod without JOB_COMPLETION_INDEX fails and sends nothing",
          code != 0 and not any(Path(paths[reports_dir]).iterdir()),
          f"exit {code}\n" + tail(folder / "pod.log"))
    shutil.rmtree(folder, ignore_errors=True)

    # A pod stopped by Kubernetes (SIGTERM to its shell, PID 1): the report and state are written.
    folder = temp_folder("k8s-sigterm")
    shell, paths = local_shell(container, env, mounts, folder)
    for p in paths.values():
        Path(p).mkdir()
    fleet = Path(paths[fleet_mounts[0][0]]) / Path(devices_arg.group(1)).name
    shutil.copy(fleet_file, fleet)
    js, url = start_js(joincheck, fleet, folder / "js.log")
    try:
        pod_env = {**os.environ, **env, "PATH": f"{bindir}:{os.environ['PATH']}", "JS_URL": url,
                   "STORM": f"{storm_devices}/120s", "JOB_COMPLETION_INDEX": "0"}
        with open(folder / "pod.log", "w") as out:
            pod = subprocess.Popen(shell, cwd=folder, env=pod_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(100):  # until the first progress line: JoinReqs are being sent
            if re.search(r"^\d+ s  sent [1-9]", (folder / "pod.log").read_text(), re.M):
                break
            time.sleep(0.1)
        started = time.monotonic()
        pod.send_signal(signal.SIGTERM)
        try:
            code = pod.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = "still running 30 s after SIGTERM"
            os.killpg(pod.pid, signal.SIGKILL)
            pod.wait()
        reports = Path(paths[reports_dir])
        check("kubernetes: a pod sent SIGTERM ends within seconds and exits 0",
              code == 0 and time.monotonic() - started < 15, f"exit {code}\n" + tail(folder / "pod.log"))
        report = reports / "shard-1.json"
        stopped = json.loads(report.read_text()).get("stopped", "") if report.is_file() else ""
        check("kubernetes: and writes its report (stopped early) and its state",
              stopped != "" and (reports / "state-1.json").is_file(), f"stopped: {stopped!r}\n" + tail(folder / "pod.log"))
    finally:
        stop(js)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


# --- GitHub Actions -----------------------------------------------------------------------------

MATRIX = "${{ matrix.shard }}"


def github(joincheck, bindir):
    try:
        doc = yaml.safe_load(WORKFLOW.read_text())
    except yaml.YAMLError as e:
        check(f"{WORKFLOW.name} parses as YAML", False, str(e))
        return
    check(f"{WORKFLOW.name} parses as YAML", True)
    check("github: runs on demand (workflow_dispatch)", "workflow_dispatch" in doc.get(True, doc.get("on", {})))
    jobs = doc["jobs"]
    shards = [j for j in jobs.values() if "matrix" in j.get("strategy", {})]
    if not check("github: one matrix job (the shards) and a merge job", len(shards) == 1 and len(jobs) == 2, str(list(jobs))):
        return
    load_name = next(k for k, j in jobs.items() if j is shards[0])
    load = jobs[load_name]
    (merge_name, merge), = ((k, j) for k, j in jobs.items() if k != load_name)
    matrix = load["strategy"]["matrix"].get("shard")
    n = len(matrix) if isinstance(matrix, list) else 0
    check("github: strategy.matrix.shard is [1, 2, 3, 4]", matrix == [1, 2, 3, 4], str(matrix))
    check("github: the matrix does not fail fast (one failing shard must not cancel the others)",
          load["strategy"].get("fail-fast") is False)
    needs = merge.get("needs")
    check("github: the merge job needs the matrix job", needs == load_name or needs == [load_name], str(needs))
    check("github: the merge job runs if always()", merge.get("if") == "always()")

    def shell_after_install(job, who):
        steps = job["steps"]
        check(f"github: {who}: every step has run or uses", all(("run" in s) != ("uses" in s) for s in steps))
        names = [s.get("name", "") for s in steps]
        check(f"github: {who}: joincheck is installed first", "Install joincheck" in names)
        after = steps[names.index("Install joincheck") + 1:]
        return after, "\n".join(s["run"] for s in after if "run" in s)

    def uses(steps, action):
        return [s for s in steps if "uses" in s and s["uses"].split("@")[0] == action]

    load_steps, cell_shell = shell_after_install(load, "shards")
    merge_steps, merge_shell = shell_after_install(merge, "merge")
    check(f"github: each cell runs --shard {MATRIX}/{n} with a JSON report of its own",
          f"--shard {MATRIX}/{n} " in cell_shell and f"--json reports/shard-{MATRIX}.json" in cell_shell, cell_shell)
    state = re.search(r"--state (\S+)", cell_shell.replace(MATRIX, "{K}"))
    state = state.group(1).replace("{K}", MATRIX) if state else None
    check("github: each cell's --state is a file of its own", state is not None and MATRIX in state, str(state))
    restores, saves = uses(load_steps, "actions/cache/restore"), uses(load_steps, "actions/cache/save")
    check("github: the shard's state is restored and saved (even when the shard fails) under a key of its own",
          state is not None and len(restores) == 1 and len(saves) == 1
          and restores[0]["with"]["path"] == saves[0]["with"]["path"] == state
          and MATRIX in saves[0]["with"]["key"] and saves[0].get("if") == "always()")
    (upload,) = uses(load_steps, "actions/upload-artifact") or [None]
    check("github: each cell uploads its report, even when it fails",
          upload is not None and upload.get("if") == "always()" and MATRIX in upload["with"]["name"]
          and upload["with"]["path"] == f"reports/shard-{MATRIX}.json")
    (download,) = uses(merge_steps, "actions/download-artifact") or [None]
    check("github: the merge downloads every shard's report into reports/",
          upload is not None and download is not None and download["with"].get("merge-multiple") is True
          and all(fnmatch.fnmatch(upload["with"]["name"].replace(MATRIX, str(k)), download["with"]["pattern"]) for k in matrix)
          and download["with"]["path"].rstrip("/") == "reports")
    check("github: the merge runs joincheck report merge of the shards' reports",
          "joincheck report merge reports/shard-*.json" in merge_shell
          and all(f"--{k} reports/merged." in merge_shell for k in ("json", "junit", "html")), merge_shell)
    for s in uses(merge_steps, "mikepenz/action-junit-report") + uses(merge_steps, "actions/upload-artifact"):
        check(f"github: merge: {s['uses']} runs even when the merge fails", s.get("if") == "always()")
        path = s["with"].get("report_paths") or s["with"].get("path")
        check(f"github: merge: {s['uses']} takes the merged reports", path in ("reports/merged.xml", "reports/"), path)

    def run_workflow(name, fault=None):
        """The cells at once, the artifacts carried, then the merge; returns (cell codes, merge code, folders)."""
        cells = []
        for k in matrix:
            folder = temp_folder(f"github-{name}-{k}")
            port = str(free_port())
            shell = cell_shell.replace(MATRIX, str(k)).replace("8090", port)
            if fault:
                shell, count = re.subn(r"joincheck serve-js ", f"joincheck serve-js --fault {fault} ", shell)
                assert count == 1, "one serve-js line"
                shell = re.sub(r"--duration \S+", "--duration 2s", shell)
            env_vars = {key: str(v).replace("8090", port) for key, v in load.get("env", {}).items() if "${{" not in str(v)}
            env = {**os.environ, **env_vars, "PATH": f"{bindir}:{os.environ['PATH']}"}
            cells.append((["bash", "-e", "-c", shell], folder, env, folder / "cell.log"))
        codes = run_parallel(cells, timeout=240)
        merge_folder = temp_folder(f"github-{name}-merge")
        target = merge_folder / download["with"]["path"]
        target.mkdir(parents=True, exist_ok=True)
        for k, (_, folder, _, _) in zip(matrix, cells):
            report = folder / upload["with"]["path"].replace(MATRIX, str(k))
            if report.is_file():  # upload-artifact of one file: the file at the artifact's root
                shutil.copy(report, target / report.name)
        env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
        (merge_code,) = run_parallel([(["bash", "-e", "-c", merge_shell], merge_folder, env, merge_folder / "merge.log")],
                                     timeout=120)
        return codes, merge_code, [c[1] for c in cells], merge_folder

    codes, merge_code, folders, merge_folder = run_workflow("pass")
    check(f"github: the {n} matrix cells pass at once against a correct JS", codes == [0] * n,
          f"exit codes {codes}\n" + "\n".join(tail(f / "cell.log", 800) for f in folders))
    check("github: every cell wrote its report and state",
          all((f / f"reports/shard-{k}.json").is_file() and (f / f"ci-work/state-{k}.json").is_file() for k, f in zip(matrix, folders)))
    check("github: the merge job's shell passes", merge_code == 0, tail(merge_folder / "merge.log"))
    reports = merge_folder / "reports"
    check_merged("github", [reports / f"shard-{k}.json" for k in matrix], reports / "merged.json", n)
    check("github: merged JUnit (passing) and HTML written",
          (reports / "merged.xml").is_file() and junit_failures(reports / "merged.xml")[0] == 0
          and (reports / "merged.html").is_file())
    for f in folders + [merge_folder]:
        shutil.rmtree(f, ignore_errors=True)

    codes, merge_code, folders, merge_folder = run_workflow("fault", fault="wrong-app-s-key")
    check("github: against a faulty JS every cell fails (joincheck exit 1)", codes == [1] * n,
          f"exit codes {codes}\n" + tail(folders[0] / "cell.log"))
    check("github: the merge job fails too (exit 1)", merge_code == 1, tail(merge_folder / "merge.log"))
    check("github: and still writes the JUnit report to publish", (merge_folder / "reports" / "merged.xml").is_file())
    for f in folders + [merge_folder]:
        shutil.rmtree(f, ignore_errors=True)


def main():
    joincheck = Path(sys.argv[1]).resolve()
    bindir = temp_folder("bin")
    (bindir / "joincheck").symlink_to(joincheck)
    try:
        kubernetes(joincheck, bindir)
        github(joincheck, bindir)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
