"""An external Join Server over HTTPS with mutual TLS: `joincheck serve-js` in its own process,
reached with a Target carrying the TLS files, the NetID and the KEKs (the settings of a target
file). Needs the joincheck program (JOINCHECK_CLI, set by ctest) and the openssl command."""

import os
import shutil
import socket
import subprocess
import time

import pytest

import joincheck

CLI = os.environ.get("JOINCHECK_CLI")
pytestmark = pytest.mark.skipif(not CLI or not shutil.which("openssl"),
                                reason="needs JOINCHECK_CLI (set by ctest) and openssl")

NS_KEK = "00112233445566778899aabbccddeeff"
AS_KEK = "ffeeddccbbaa99887766554433221100"


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(folder):
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all from that CA."""
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=joincheck test CA",
            "-days", "365", cwd=folder)
    for name, ext in (("js", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                      ("ns", "extendedKeyUsage=clientAuth\n")):
        (folder / f"{name}.ext").write_text(ext)
        openssl("req", *curve, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=folder)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.pem", "-days", "365", "-extfile", f"{name}.ext", cwd=folder)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def serve_js(tmp_path):
    make_pki(tmp_path)
    fleet = joincheck.Fleet.generate(2, mac_version="1.0.4", seed=21)
    fleet.save(tmp_path / "fleet.json")
    port = free_port()
    process = subprocess.Popen(
        [CLI, "serve-js", "--listen", f"127.0.0.1:{port}", "--devices", "fleet.json", "--quiet",
         "--tls-cert", "js.pem", "--tls-key", "js.key", "--global-client-ca", "ca.pem",
         "--ns", "000001", "--kek", f"000001={NS_KEK}", "--kek", f"as={AS_KEK}", "--as-kek", "as"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"serve-js did not start: {process.communicate()[1]}")
            time.sleep(0.05)
    try:
        yield f"https://127.0.0.1:{port}", fleet, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_mutual_tls_target_from_keywords(serve_js):
    url, fleet, pki = serve_js
    target = joincheck.Target(url, ca_cert=pki / "ca.pem", tls_cert=pki / "ns.pem", tls_key=pki / "ns.key",
                              keks={"000001": NS_KEK, "as": AS_KEK}, as_kek_label="as",
                              headers={"Authorization": "Bearer not-checked"})
    with joincheck.Harness(target, fleet=fleet) as harness:
        first = harness.join()
        assert first.result == "Success" and first.accepted and first.verdict == "pass", str(first)
        assert first["kek/known-label"].verdict == "pass" and first["keys/app-s-key"].verdict == "pass"
        assert ("Authorization", "<redacted>") in first.exchange.request_headers
        assert len(first.report.exchanges) == 1  # one request; the tls/ handshakes are run()'s
        replay = harness.join(dev_nonce=first.dev_nonce)
        assert replay.result in ("JoinReqFailed", "FrameReplayed")
        report = harness.run(only=["join", "devnonce", "kek", "keys"])
        assert report.counts["fail"] == 0 and report.counts["error"] == 0, str(report)


def test_without_the_client_certificate_the_handshake_fails(serve_js):
    url, fleet, pki = serve_js
    target = joincheck.Target(url, ca_cert=pki / "ca.pem")
    with joincheck.Harness(target, fleet=fleet) as harness:
        answer = harness.join()
    assert answer.result is None and answer.report.exit_code() == 3
    assert "TLS" in answer.setup_error or "handshake" in answer.setup_error, answer.setup_error


def test_a_missing_tls_file_is_named(serve_js):
    url, fleet, pki = serve_js
    target = joincheck.Target(url, ca_cert=pki / "missing-ca.pem")
    report = joincheck.run(target, fleet=fleet, only="join")
    assert report.exit_code() == 3 and "missing-ca.pem" in report.setup_error
