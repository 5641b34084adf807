// The tls/ checks (conformance/tls_checks.hpp) against the reference JS over HTTPS with the
// test PKI (tests/backend/test_pki.hpp), each proven both ways: it passes a JS set up right,
// and fails the broken setup it is about, with a diagnosis that names the certificate, the
// file and the setting to change.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include "backend/test_pki.hpp"
#include "conformance/runner.hpp"
#include "conformance/tls_checks.hpp"
#include "sim/join_server/service.hpp"

namespace joincheck::conformance {
namespace {

using namespace std::chrono_literals;
using backend::ClientCertMode;
using backend::testing::TestPki;
namespace fs = std::filesystem;

const TestPki& pki() { return TestPki::get(); }

struct JsSetup {
  ClientCertMode mode = ClientCertMode::none;
  fs::path handshake_ca;           // require: the one client CA
  fs::path net_id_1_ca;            // request: the CA of NetID 000001 (the harness's)
  fs::path cert = pki().server_cert;
  fs::path key = pki().server_key;
  backend::TlsVersion min_version = backend::TlsVersion::tls1_2;
};

sim::JoinServerServiceOptions js_options(const JsSetup& s) {
  sim::JoinServerServiceOptions o;
  o.http.threads = 1;
  o.http.handshake_timeout = 2000ms;
  o.http.header_timeout = 2000ms;
  o.http.linger_timeout = 300ms;
  backend::TlsServerOptions tls;
  tls.cert_file = s.cert;
  tls.key_file = s.key;
  tls.client_cert = s.mode;
  tls.client_ca_file = s.mode == ClientCertMode::require ? s.handshake_ca : s.net_id_1_ca;
  tls.min_version = s.min_version;
  o.http.tls = tls;
  o.js.net_ids.push_back(sim::NetIdPeer{lorawan::NetId::parse("000001"), {}, {}, s.net_id_1_ca.string(), {}});
  o.js.net_ids.push_back(
      sim::NetIdPeer{lorawan::NetId::parse("000099"), {}, {}, s.mode == ClientCertMode::request ? pki().net_id_99_ca.string() : "", {}});
  return o;
}

// The harness as an NS of NetID 000001 trusting the test root, with the test client identity.
TargetConfig target_for(const sim::JoinServerService& js) {
  TargetConfig t = default_target_config();
  t.ns.url = js.url();
  t.ns.timeout = 3000ms;
  t.ns.tls.ca_file = pki().root_ca;
  t.ns.tls.cert_file = pki().client_cert;
  t.ns.tls.key_file = pki().client_key;
  return t;
}

void require_client_auth(TargetConfig& t) {
  t.tls_checks.requires_client_auth = true;
  t.tls_checks.other_ca = {pki().other_client_cert, pki().other_client_key};
  t.tls_checks.expired = {pki().expired_client_cert, pki().expired_client_key};
  t.tls_checks.other_net_id = {pki().net_id_99_client_cert, pki().net_id_99_client_key};
}

std::map<std::string, Evaluation> judge(const TargetConfig& t) {
  std::map<std::string, Evaluation> out;
  TlsCheckInputs in;
  in.names = target_setting_names(t);
  for (auto& j : judge_tls(t, in)) out[j.check] = j.evaluation;
  return out;
}

std::string show(const std::map<std::string, Evaluation>& r) {
  std::string s;
  for (const auto& [id, e] : r) {
    s += id + ": " + std::string(to_string(e.verdict)) + "\n  expected: " + e.expected + "\n  actual: " + e.actual +
         "\n  reason: " + e.reason + "\n";
  }
  return s;
}

Verdict verdict(const std::map<std::string, Evaluation>& r, const std::string& id) {
  auto it = r.find(id);
  if (it == r.end()) {
    ADD_FAILURE() << "no verdict for " << id;
    return Verdict::error;
  }
  return it->second.verdict;
}

void expect_verdicts(const std::map<std::string, Evaluation>& r, const std::map<std::string, Verdict>& want) {
  for (const auto& [id, v] : want) EXPECT_EQ(verdict(r, id), v) << id << "\n" << show(r);
}

constexpr Verdict P = Verdict::pass, F = Verdict::fail, S = Verdict::skip;

TEST(TlsChecks, CorrectJsPassesTheServerChecks) {
  sim::JoinServerService js(js_options({}));
  const auto r = judge(target_for(js));
  expect_verdicts(r, {{"tls/server-chain", P},
                      {"tls/server-hostname", P},
                      {"tls/server-validity", P},
                      {"tls/legacy-versions-refused", P},
                      {"tls/negotiated", P},
                      {"tls/client-cert-accepted", P},
                      {"tls/client-cert-required", S},
                      {"tls/unknown-client-ca", S}});
  EXPECT_NE(r.at("tls/negotiated").actual.find("TLSv1.3"), std::string::npos) << show(r);
  EXPECT_NE(r.at("tls/legacy-versions-refused").actual.find("TLSv1.1 refused"), std::string::npos) << show(r);
}

TEST(TlsChecks, PerNetIdClientCasRefuseEveryWrongIdentity) {
  JsSetup s;
  s.mode = ClientCertMode::request;
  s.net_id_1_ca = pki().intermediate_ca;
  sim::JoinServerService js(js_options(s));
  TargetConfig t = target_for(js);
  require_client_auth(t);
  const auto r = judge(t);
  expect_verdicts(r, {{"tls/client-cert-accepted", P},
                      {"tls/client-cert-required", P},
                      {"tls/unknown-client-ca", P},
                      {"tls/expired-client-cert", P},
                      {"tls/client-cert-net-id", P}});
  // Refused by the application (TTS style), not by the handshake.
  EXPECT_NE(r.at("tls/client-cert-net-id").actual.find("UnknownSender"), std::string::npos) << show(r);
}

TEST(TlsChecks, HandshakeCaRefusesButCannotTellNetIds) {
  JsSetup s;
  s.mode = ClientCertMode::require;
  s.handshake_ca = pki().root_ca;
  sim::JoinServerService js(js_options(s));
  TargetConfig t = target_for(js);
  require_client_auth(t);
  const auto r = judge(t);
  expect_verdicts(r, {{"tls/client-cert-accepted", P},
                      {"tls/client-cert-required", P},
                      {"tls/unknown-client-ca", P},
                      {"tls/expired-client-cert", P},
                      // NetID 000099's certificate chains to the same root: ChirpStack's way lets it in.
                      {"tls/client-cert-net-id", F}});
  EXPECT_NE(r.at("tls/client-cert-required").actual.find("handshake failed"), std::string::npos) << show(r);
  EXPECT_NE(r.at("tls/client-cert-net-id").reason.find("NetID 000001"), std::string::npos) << show(r);
}

TEST(TlsChecks, JsWithoutClientAuthFailsTheClientChecks) {
  sim::JoinServerService js(js_options({}));
  TargetConfig t = target_for(js);
  require_client_auth(t);
  expect_verdicts(judge(t), {{"tls/client-cert-required", F},
                             {"tls/unknown-client-ca", F},
                             {"tls/expired-client-cert", F},
                             {"tls/client-cert-net-id", F}});
}

TEST(TlsChecks, OwnClientCertificateRefusedIsDiagnosed) {
  JsSetup s;
  s.mode = ClientCertMode::require;
  s.handshake_ca = pki().root_ca;
  sim::JoinServerService js(js_options(s));
  TargetConfig t = target_for(js);
  t.ns.tls.cert_file = pki().other_client_cert;
  t.ns.tls.key_file = pki().other_client_key;
  const auto r = judge(t);
  ASSERT_EQ(verdict(r, "tls/client-cert-accepted"), F) << show(r);
  const Evaluation& e = r.at("tls/client-cert-accepted");
  EXPECT_NE(e.actual.find("ns-other"), std::string::npos) << show(r);           // what was presented
  EXPECT_NE(e.actual.find(pki().other_client_cert.string()), std::string::npos) << show(r);  // the file
  EXPECT_NE(e.reason.find("CN=joincheck test root CA"), std::string::npos) << show(r);  // what the JS accepts
  EXPECT_NE(e.reason.find("[tls] tls_cert"), std::string::npos) << show(r);  // the setting
  // The server side is still judged on its own.
  EXPECT_EQ(verdict(r, "tls/server-chain"), P) << show(r);
}

TEST(TlsChecks, WrongCaFileIsDiagnosedWithTheCaToPutThere) {
  sim::JoinServerService js(js_options({}));
  TargetConfig t = target_for(js);
  t.ns.tls.ca_file = pki().other_ca;
  const auto r = judge(t);
  expect_verdicts(r, {{"tls/server-chain", F}, {"tls/server-hostname", P}, {"tls/server-validity", P}});
  const Evaluation& e = r.at("tls/server-chain");
  EXPECT_NE(e.reason.find("issued by CN=joincheck test root CA"), std::string::npos) << show(r);
  EXPECT_NE(e.reason.find("[tls] ca_cert=" + pki().other_ca.string()), std::string::npos) << show(r);
  EXPECT_NE(e.reason.find("put CN=joincheck test root CA"), std::string::npos) << show(r);
  EXPECT_NE(e.expected.find("CN=joincheck other root CA"), std::string::npos) << show(r);
  EXPECT_NE(e.actual.find("valid "), std::string::npos) << show(r);  // validity dates shown
}

TEST(TlsChecks, NoCaFileMeansTheSystemRoots) {
  sim::JoinServerService js(js_options({}));
  TargetConfig t = target_for(js);
  t.ns.tls.ca_file.clear();
  auto r = judge(t);
  ASSERT_EQ(verdict(r, "tls/server-chain"), F) << show(r);
  EXPECT_NE(r.at("tls/server-chain").reason.find("not among the system's root CAs"), std::string::npos) << show(r);
  // ChirpStack v4's way: ca_cert is added to the system roots.
  t.ns.tls.ca_file = pki().root_ca;
  t.ns.tls.ca_adds_to_system_roots = true;
  r = judge(t);
  EXPECT_EQ(verdict(r, "tls/server-chain"), P) << show(r);
}

TEST(TlsChecks, MissingIntermediateIsNamed) {
  JsSetup s;
  s.cert = pki().server_leaf_only;
  sim::JoinServerService js(js_options(s));
  const auto r = judge(target_for(js));
  ASSERT_EQ(verdict(r, "tls/server-chain"), F) << show(r);
  EXPECT_NE(r.at("tls/server-chain").reason.find("intermediate"), std::string::npos) << show(r);
  EXPECT_NE(r.at("tls/server-chain").reason.find("CN=joincheck test intermediate CA"), std::string::npos) << show(r);
}

TEST(TlsChecks, WrongHostIsFailedApartFromTheChain) {
  JsSetup s;
  s.cert = pki().wrong_host_server_cert;
  s.key = pki().wrong_host_server_key;
  sim::JoinServerService js(js_options(s));
  const auto r = judge(target_for(js));
  expect_verdicts(r, {{"tls/server-chain", P}, {"tls/server-hostname", F}, {"tls/server-validity", P}});
  EXPECT_NE(r.at("tls/server-hostname").actual.find("DNS:wrong.example"), std::string::npos) << show(r);
  EXPECT_NE(r.at("tls/server-hostname").reason.find("IP:127.0.0.1"), std::string::npos) << show(r);
}

TEST(TlsChecks, ExpiredServerCertificateIsFailedApartFromTheChain) {
  JsSetup s;
  s.cert = pki().expired_server_cert;
  s.key = pki().expired_server_key;
  sim::JoinServerService js(js_options(s));
  const auto r = judge(target_for(js));
  expect_verdicts(r, {{"tls/server-chain", P}, {"tls/server-hostname", P}, {"tls/server-validity", F}});
  EXPECT_NE(r.at("tls/server-validity").reason.find("expired on"), std::string::npos) << show(r);
}

TEST(TlsChecks, LegacyVersionsAcceptedAreFailed) {
  JsSetup s;
  s.min_version = backend::TlsVersion::tls1_0;
  sim::JoinServerService js(js_options(s));
  const auto r = judge(target_for(js));
  expect_verdicts(r, {{"tls/legacy-versions-refused", F}, {"tls/negotiated", P}});
  EXPECT_NE(r.at("tls/legacy-versions-refused").actual.find("TLSv1.1 accepted"), std::string::npos) << show(r);
}

TEST(TlsChecks, PlainHttpTargetsAreNotProbed) {
  TargetConfig t = default_target_config();
  t.ns.url = "http://127.0.0.1:1/";
  EXPECT_FALSE(tls_checks_apply(t));
  EXPECT_TRUE(judge_tls(t, {}).empty());
}

TEST(TlsChecks, RunRecordsTheTlsGroupOnceBeforeTheScenarios) {
  sim::JoinServerService js(js_options({}));
  RunOptions o;
  o.target = target_for(js);
  o.only = {"tls"};
  const RunReport report = run_scenarios(o);
  EXPECT_TRUE(report.setup_error.empty()) << report.setup_error;
  std::map<std::string, Verdict> got;
  for (const auto& res : report.results) got[res.check.id] = res.verdict;
  EXPECT_EQ(got.at("tls/server-chain"), P);
  EXPECT_EQ(got.at("tls/client-cert-required"), S);
  for (const auto& res : report.results) {
    EXPECT_EQ(res.check.group(), "tls");
    EXPECT_LE(res.evaluations, 1u) << res.check.id;
  }
  EXPECT_FALSE(report.exchanges.empty());
  // A plain-HTTP target: skipped with the reason.
  RunOptions plain = o;
  plain.target.ns.url = "http://127.0.0.1:1/";
  const RunReport skipped = run_scenarios(plain);
  for (const auto& res : skipped.results) {
    EXPECT_EQ(res.verdict, S) << res.check.id;
    EXPECT_NE(res.reason.find("not https"), std::string::npos) << res.reason;
  }
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

TEST(TlsChecksConfig, TargetFileDeclaresClientAuthAndProbeIdentities) {
  const TargetConfig t = parse_target_config(R"(url = "https://js.example.net:8443"
[tls]
ca_cert = "ca.pem"
requires_client_auth = true
[tls.probes]
other_ca_cert = "o.pem"
other_ca_key = "o-key.pem"
expired_cert = "e.pem"
expired_key = "e-key.pem"
)",
                                             "/etc/jc/target.toml");
  EXPECT_TRUE(t.tls_checks.requires_client_auth);
  EXPECT_EQ(t.tls_checks.other_ca.cert, "/etc/jc/o.pem");
  EXPECT_EQ(t.tls_checks.expired.key, "/etc/jc/e-key.pem");
  EXPECT_TRUE(t.tls_checks.other_net_id.empty());
  EXPECT_EQ(target_setting_names(t).ca_cert, "[tls] ca_cert in /etc/jc/target.toml");
  try {
    parse_target_config("url = \"https://js\"\n[tls.probes]\nexpired_cert = \"e.pem\"\n", "t.toml");
    ADD_FAILURE() << "a probe certificate without its key was accepted";
  } catch (const sim::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("t.toml:3: tls.probes.expired_cert: expected expired_key too"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace joincheck::conformance
