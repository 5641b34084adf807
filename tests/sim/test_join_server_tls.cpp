// The reference JS over HTTPS with a PKI generated at test time (tests/backend/test_pki.hpp):
// server TLS, client certificates checked per NetID (The Things Stack's way, answered with
// UnknownSender) or in the handshake against one CA (ChirpStack's way), an expired server
// certificate (TS002 1.0 §20; docs/checks.md#tls). Then the TOML configuration of `serve-js`.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "backend/http_client.hpp"
#include "backend/test_pki.hpp"
#include "js_test_support.hpp"
#include "sim/join_server/config.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using namespace test_support;
using namespace std::chrono_literals;
using backend::ClientCertMode;
using backend::HttpErrorPhase;
using backend::testing::TestPki;
namespace fs = std::filesystem;

const TestPki& pki() { return TestPki::get(); }

// The usual JS (default_options()) over HTTPS with the test server certificate.
JoinServerServiceOptions https(ClientCertMode mode = ClientCertMode::none,
                               const fs::path& client_ca = {},
                               const fs::path& cert = pki().server_cert,
                               const fs::path& key = pki().server_key) {
  JoinServerServiceOptions o = default_options();
  o.http.handshake_timeout = 2000ms;
  o.http.header_timeout = 2000ms;
  o.http.linger_timeout = 300ms;
  backend::TlsServerOptions tls;
  tls.cert_file = cert;
  tls.key_file = key;
  tls.client_cert = mode;
  tls.client_ca_file = client_ca;
  o.http.tls = tls;
  return o;
}

// An NS trusting the test root CA, with a client certificate when `cert` is given.
backend::HttpClientOptions ns_client(const fs::path& cert = {}, const fs::path& key = {}) {
  backend::HttpClientOptions o;
  o.tls.ca_file = pki().root_ca;
  o.tls.cert_file = cert;
  o.tls.key_file = key;
  o.timeout = 3000ms;
  return o;
}

backend::HttpClientResponse post(backend::BlockingHttpClient& client, const JoinServerService& js,
                                 const backend::Message& m) {
  return client.post(js.url(), "application/json", backend::encode(m));
}

backend::JoinAns ask_join(backend::BlockingHttpClient& client, const JoinServerService& js,
                          const backend::JoinReq& req) {
  const auto r = post(client, js, req);
  EXPECT_EQ(r.status, 200) << r.body;
  return backend::decode_as<backend::JoinAns>(r.body, backend::DecodeMode::strict).message;
}

// The transport error of a request that must get no HTTP response.
backend::HttpError expect_http_error(backend::BlockingHttpClient& client,
                                     const JoinServerService& js, const backend::Message& m) {
  try {
    const auto r = post(client, js, m);
    ADD_FAILURE() << "expected an HttpError, got HTTP " << r.status << " " << r.body;
  } catch (const backend::HttpError& e) {
    return e;
  }
  return backend::HttpError("POST", js.url(), HttpErrorPhase::read, "no error");
}

// ---- (a) server TLS ----

TEST(JoinServerTls, ClientTrustingTheRootCaJoins) {
  JoinServerService js(https());
  EXPECT_EQ(js.url().rfind("https://", 0), 0u) << js.url();
  backend::BlockingHttpClient ns(ns_client());
  const backend::JoinReq req = join_req(kDev103, 1);
  const auto r = post(ns, js, req);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_NE(r.tls, nullptr);
  EXPECT_TRUE(r.tls->peer_verified);
  ASSERT_FALSE(r.tls->peer_chain.empty());
  EXPECT_EQ(r.tls->peer_chain[0].common_name(), "js.test");
  check_join_ans(backend::decode_as<backend::JoinAns>(r.body, backend::DecodeMode::strict).message,
                 req, kDev103);

  // An NS trusting another CA does not get that far.
  backend::HttpClientOptions other = ns_client();
  other.tls.ca_file = pki().other_ca;
  backend::BlockingHttpClient stranger(other);
  const backend::HttpError e = expect_http_error(stranger, js, join_req(kDev103, 2));
  EXPECT_EQ(e.phase(), HttpErrorPhase::tls_handshake) << e.what();
  EXPECT_EQ(e.verify_error, "unable to get local issuer certificate") << e.what();
}

// ---- (b) a client CA per NetID: the JS verifies, and answers UnknownSender ----

JoinServerServiceOptions per_net_id_ca() {
  JoinServerServiceOptions o = https(ClientCertMode::request);
  o.js.net_ids.front().client_ca_file = pki().root_ca.string();
  // Another NS without a CA of its own: anyone may speak for it.
  o.js.net_ids.push_back(NetIdPeer{NetId::parse("000013"), {}, {}, {}, {}});
  return o;
}

TEST(JoinServerTls, PerNetIdClientCaAcceptsTheRightCertificate) {
  JoinServerService js(per_net_id_ca());
  backend::BlockingHttpClient ns(ns_client(pki().client_cert, pki().client_key));
  for (std::uint16_t n = 1; n <= 2; ++n) {  // on a new, then on a kept-alive connection
    const backend::JoinReq req = join_req(kDev103, n);
    check_join_ans(ask_join(ns, js, req), req, kDev103);
  }
}

TEST(JoinServerTls, PerNetIdClientCaWithoutACertificateIsUnknownSender) {
  JoinServerService js(per_net_id_ca());
  backend::BlockingHttpClient ns(ns_client());
  const auto ans = ask_join(ns, js, join_req(kDev103, 1));
  EXPECT_EQ(code_of(ans.result), "UnknownSender");
  EXPECT_FALSE(ans.phy_payload.has_value());
  ASSERT_TRUE(ans.result && ans.result->description);
  EXPECT_CONTAINS(*ans.result->description, "NetID 010203 must present a client certificate");
  // The TLS handshake itself succeeded: the refusal is a TS002 answer.
  EXPECT_EQ(js.http_stats().tls_handshake_failures, 0u);

  // The NetID without a CA of its own is served to the same client.
  JoinReqOptions o;
  o.sender_id = "000013";
  const backend::JoinReq req = join_req(kDev103, 2, o);
  const auto other = ask_join(ns, js, req);
  EXPECT_EQ(code_of(other.result), "Success");
}

TEST(JoinServerTls, PerNetIdClientCaWithAnotherCasCertificateIsUnknownSender) {
  JoinServerService js(per_net_id_ca());
  backend::BlockingHttpClient ns(ns_client(pki().other_client_cert, pki().other_client_key));
  const auto ans = ask_join(ns, js, join_req(kDev103, 1));
  EXPECT_EQ(code_of(ans.result), "UnknownSender");
  EXPECT_FALSE(ans.phy_payload.has_value());
  ASSERT_TRUE(ans.result && ans.result->description);
  const std::string& d = *ans.result->description;
  EXPECT_CONTAINS(d, "does not chain to the CA of NetID 010203");
  EXPECT_CONTAINS(d, "unable to get local issuer certificate");  // OpenSSL's verify error
  EXPECT_CONTAINS(d, "CN=ns-other");                             // the certificate refused
}

// The fault ignore-sender-id also ignores the client certificate.
TEST(JoinServerTls, IgnoreSenderIdFaultAcceptsAnyClientCertificate) {
  JoinServerServiceOptions o = per_net_id_ca();
  add_fault(o.js.faults, "ignore-sender-id");
  JoinServerService js(std::move(o));
  backend::BlockingHttpClient other(ns_client(pki().other_client_cert, pki().other_client_key));
  EXPECT_EQ(code_of(ask_join(other, js, join_req(kDev103, 1)).result), "Success");
  backend::BlockingHttpClient anonymous(ns_client());
  EXPECT_EQ(code_of(ask_join(anonymous, js, join_req(kDev103, 2)).result), "Success");
}

// ---- (c) one client CA for everyone, checked in the handshake ----

TEST(JoinServerTls, GlobalClientCaRefusesTheHandshakeWithoutTheRightCertificate) {
  JoinServerService js(https(ClientCertMode::require, pki().root_ca));
  {
    backend::BlockingHttpClient anonymous(ns_client());
    const backend::HttpError e = expect_http_error(anonymous, js, join_req(kDev103, 1));
    EXPECT_EQ(e.phase(), HttpErrorPhase::tls_handshake) << e.what();
  }
  {
    backend::BlockingHttpClient other(ns_client(pki().other_client_cert, pki().other_client_key));
    const backend::HttpError e = expect_http_error(other, js, join_req(kDev103, 2));
    EXPECT_EQ(e.phase(), HttpErrorPhase::tls_handshake) << e.what();
    EXPECT_CONTAINS(e.what(), "CN=ns-other");
  }
  EXPECT_EQ(js.http_stats().requests, 0u);
  // The client may see the alert before the server's thread counts the failure.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (js.http_stats().tls_handshake_failures < 2 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(js.http_stats().tls_handshake_failures, 2u);
  // Nothing was spent: DevNonce 1 still joins.
  backend::BlockingHttpClient ns(ns_client(pki().client_cert, pki().client_key));
  const backend::JoinReq req = join_req(kDev103, 1);
  check_join_ans(ask_join(ns, js, req), req, kDev103);
}

// ---- (d) the JS's own certificate expired ----

TEST(JoinServerTls, ExpiredServerCertificateIsNamedByTheClient) {
  JoinServerService js(
      https(ClientCertMode::none, {}, pki().expired_server_cert, pki().expired_server_key));
  backend::BlockingHttpClient ns(ns_client());
  const backend::HttpError e = expect_http_error(ns, js, join_req(kDev103, 1));
  EXPECT_EQ(e.phase(), HttpErrorPhase::tls_handshake) << e.what();
  EXPECT_EQ(e.verify_error, "certificate has expired") << e.what();
  EXPECT_CONTAINS(e.what(), "certificate has expired");
  EXPECT_CONTAINS(e.what(), "CN=expired.test");
}

// A client CA file that cannot be loaded stops the JS at start, naming the file.
TEST(JoinServerTls, UnreadableNetIdClientCaIsNamedAtStart) {
  JoinServerServiceOptions o = per_net_id_ca();
  o.js.net_ids.front().client_ca_file = (pki().dir / "no-such-ca.pem").string();
  try {
    JoinServerService js(std::move(o));
    ADD_FAILURE() << "the JS started without its client CA";
  } catch (const backend::TlsError& e) {
    EXPECT_CONTAINS(e.what(), "no-such-ca.pem");
  }
}

// ---- serve-js TOML configuration (sim/join_server/config.cpp) ----

fs::path write(const TempDir& dir, std::string_view name, std::string_view text) {
  const fs::path p = dir / name;
  std::ofstream out(p);
  out << text;
  return p;
}

const char* const kCompleteConfig = R"(# every key serve-js knows
listen = "127.0.0.1:8443"
devices = ["fleet.json", "/srv/fleets/more.csv"]
state = "state/js.sqlite"
threads = 4
dev_nonce_window = 32
power_loss_durable = true
lifetime = 3600
max_body_size = 65536
refuse_clear_keys = true
behave_like = "tts"
faults = ["bad-accept-mic", "slow-answer=250"]
join_euis = ["0807060504030201", "7000000000000000/8"]
home_net_id = "000013"
home_ns_id = "0000000000000013"

[tls]
cert = "certs/js.pem"
key = "certs/js-key.pem"
chain = "/etc/joincheck/chain.pem"
min_version = "1.3"
request_client_cert = true

[[kek]]
label = "ns-kek"
kek = "000102030405060708090a0b0c0d0e0f"

[[kek]]
label = "as-kek"
kek = "0x0f0e0d0c0b0a09080706050403020100"

[[kek]]
label = "000013"
kek = "000102030405060708090a0b0c0d0e0f000102030405060708090a0b0c0d0e0f"

[[network_server]]
net_id = "010203"
kek_label = "ns-kek"
client_ca = "cas/ns-010203.pem"
async_url = "https://ns.example:8444/bi"

[[network_server]]
net_id = "000013"

[application_server]
ids = ["as-1", "as-2"]
kek_label = "as-kek"

[paths]
JoinReq = "/join"
AppSKeyReq = "/appskey"
)";

TEST(ServeJsConfig, CompleteFileMapsOntoTheOptions) {
  TempDir dir;
  const fs::path file = write(dir, "js.toml", kCompleteConfig);
  JoinServerServiceOptions o;
  const ServeJsFileSettings s = load_serve_js_config(file, o);

  EXPECT_EQ(o.http.host, "127.0.0.1");
  EXPECT_EQ(o.http.port, 8443);
  ASSERT_EQ(s.fleet_files.size(), 2u);
  EXPECT_EQ(s.fleet_files[0], dir.path() / "fleet.json");  // relative to the file's folder
  EXPECT_EQ(s.fleet_files[1], fs::path("/srv/fleets/more.csv"));
  EXPECT_EQ(o.store.database, dir.path() / "state/js.sqlite");
  EXPECT_EQ(o.http.threads, 4u);
  EXPECT_EQ(o.store.dev_nonce_window, 32u);
  EXPECT_TRUE(o.store.power_loss_durable);
  EXPECT_EQ(o.js.lifetime, 3600u);
  EXPECT_EQ(o.http.max_body_size, 65536u);
  EXPECT_TRUE(o.js.refuse_clear_keys);
  EXPECT_EQ(o.js.behaviour, Behaviour::tts);
  EXPECT_TRUE(o.js.faults.has(Fault::bad_accept_mic));
  EXPECT_TRUE(o.js.faults.has(Fault::slow_answer));
  EXPECT_EQ(o.js.faults.slow_answer, 250ms);
  EXPECT_EQ(o.js.faults.faults.size(), 2u);
  ASSERT_EQ(o.js.join_euis.size(), 2u);
  EXPECT_EQ(o.js.join_euis[0].bits, 64u);
  EXPECT_EQ(o.js.join_euis[1].bits, 8u);
  EXPECT_TRUE(o.js.join_euis[1].contains(Eui64::parse("70b3d57ed0000000")));
  EXPECT_FALSE(o.js.join_euis[1].contains(Eui64::parse("0807060504030201")));
  EXPECT_EQ(o.js.home_net_id, NetId::parse("000013"));
  EXPECT_EQ(o.js.home_ns_id, Eui64::parse("0000000000000013"));

  ASSERT_TRUE(o.http.tls.has_value());
  EXPECT_EQ(o.http.tls->cert_file, dir.path() / "certs/js.pem");
  EXPECT_EQ(o.http.tls->key_file, dir.path() / "certs/js-key.pem");
  EXPECT_EQ(o.http.tls->chain_file, fs::path("/etc/joincheck/chain.pem"));
  EXPECT_EQ(o.http.tls->min_version, backend::TlsVersion::tls1_3);
  EXPECT_EQ(o.http.tls->client_cert, ClientCertMode::request);
  EXPECT_TRUE(o.http.tls->client_ca_file.empty());

  ASSERT_EQ(s.keks.size(), 3u);
  EXPECT_EQ(s.keks.at("ns-kek"), kNsKek);
  EXPECT_EQ(s.keks.at("as-kek"), kAsKek);  // a 0x prefix is allowed
  EXPECT_EQ(s.keks.at("000013").size(), 32u);
  EXPECT_EQ(s.as_kek_label, "as-kek");

  ASSERT_EQ(o.js.net_ids.size(), 2u);
  EXPECT_EQ(o.js.net_ids[0].net_id, kNetId);
  EXPECT_EQ(o.js.net_ids[0].kek_label, "ns-kek");
  EXPECT_EQ(o.js.net_ids[0].client_ca_file, (dir.path() / "cas/ns-010203.pem").string());
  EXPECT_EQ(o.js.net_ids[0].async_url, "https://ns.example:8444/bi");
  EXPECT_EQ(o.js.net_ids[1].net_id, NetId::parse("000013"));
  EXPECT_EQ(o.js.net_ids[1].kek_label, "");
  EXPECT_EQ(o.js.as_ids, (std::vector<std::string>{"as-1", "as-2"}));
  EXPECT_EQ(o.paths.size(), 2u);
  EXPECT_EQ(o.paths.at(backend::MessageType::join_req), "/join");
  EXPECT_EQ(o.paths.at(backend::MessageType::app_s_key_req), "/appskey");

  // The labels bind to their KEKs; a NetID without a label takes the KEK named after it.
  resolve_keks(o.js, s.keks, s.as_kek_label);
  EXPECT_EQ(o.js.net_ids[0].kek, kNsKek);
  EXPECT_EQ(o.js.net_ids[1].kek_label, "000013");
  EXPECT_EQ(o.js.net_ids[1].kek, s.keks.at("000013"));
  EXPECT_EQ(o.js.as_kek_label, "as-kek");
  EXPECT_EQ(o.js.as_kek, kAsKek);
}

TEST(ServeJsConfig, ClientCaRequiresACertificateInTheHandshake) {
  TempDir dir;
  const fs::path file = write(dir, "js.toml", R"([tls]
cert = "js.pem"
key = "js-key.pem"
client_ca = "ca.pem"
)");
  JoinServerServiceOptions o;
  load_serve_js_config(file, o);
  ASSERT_TRUE(o.http.tls.has_value());
  EXPECT_EQ(o.http.tls->client_cert, ClientCertMode::require);
  EXPECT_EQ(o.http.tls->client_ca_file, dir.path() / "ca.pem");
  EXPECT_EQ(o.http.tls->min_version, backend::TlsVersion::tls1_2);
}

TEST(ServeJsConfig, KeysAbsentFromTheFileLeaveTheOptionsAlone) {
  TempDir dir;
  const fs::path file = write(dir, "js.toml", "listen = \":9000\"\n");
  JoinServerServiceOptions o = default_options();
  o.http.threads = 3;
  o.js.behaviour = Behaviour::brocaar;
  const ServeJsFileSettings s = load_serve_js_config(file, o);
  EXPECT_EQ(o.http.host, "0.0.0.0");
  EXPECT_EQ(o.http.port, 9000);
  EXPECT_EQ(o.http.threads, 3u);
  EXPECT_EQ(o.js.behaviour, Behaviour::brocaar);
  EXPECT_EQ(o.js.net_ids.size(), 1u);
  EXPECT_EQ(o.js.lifetime, 86400u);
  EXPECT_FALSE(o.http.tls.has_value());
  EXPECT_TRUE(s.fleet_files.empty());
  EXPECT_TRUE(s.keks.empty());
}

// The error of loading `text` as js.toml (and resolving its KEKs); "" when it loads.
std::string config_error(const TempDir& dir, std::string_view text) {
  const fs::path file = write(dir, "js.toml", text);
  JoinServerServiceOptions o;
  try {
    const ServeJsFileSettings s = load_serve_js_config(file, o);
    resolve_keks(o.js, s.keks, s.as_kek_label, s.kek_label_origins);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error for:\n" << text;
  return "";
}

TEST(ServeJsConfig, ErrorsNameTheFileTheLineAndTheKey) {
  TempDir dir;
  const std::string at = (dir / "js.toml").string() + ":";
  struct Case {
    const char* text;
    std::string where;     // file:line: key
    const char* expected;  // what was expected, what was seen
  };
  const Case cases[] = {
      // unknown keys, at every level
      {"listen = \":8443\"\nlistn = \":8443\"\n", at + "2: listn",
       "unknown key; expected one of listen, devices"},
      {"[tls]\ncert = \"a.pem\"\nkey = \"b.pem\"\ncertificate = \"c.pem\"\n",
       at + "4: tls.certificate", "unknown key; expected one of cert, key"},
      {"[[network_server]]\nnet_id = \"010203\"\nkek = \"x\"\n", at + "3: network_server.kek",
       "unknown key; expected one of net_id, kek_label"},
      {"[application_server]\nid = \"as-1\"\n", at + "2: application_server.id",
       "unknown key; expected one of ids"},
      // wrong types
      {"threads = \"4\"\n", at + "1: threads", "expected an integer, got a string"},
      {"refuse_clear_keys = 1\n", at + "1: refuse_clear_keys",
       "expected true or false, got an integer"},
      {"listen = 8443\n", at + "1: listen", "expected a string, got an integer"},
      {"devices = 3\n", at + "1: devices",
       "expected a string or an array of strings, got an integer"},
      {"[tls]\ncert = 1\nkey = \"k.pem\"\n", at + "2: tls.cert",
       "expected a string, got an integer"},
      {"tls = \"js.pem\"\n", at + "1: tls", "expected a table, got a string"},
      {"[[network_server]]\nnet_id = 10203\n", at + "2: network_server.net_id",
       "expected a string, got an integer"},
      // values out of range or unusable
      {"threads = 0\n", at + "1: threads", "expected 1 to 256, got 0"},
      {"behave_like = \"chirpstack\"\n", at + "1: behave_like",
       "expected strict, brocaar or tts, got \"chirpstack\""},
      {"faults = [\"bad-accept-mac\"]\n", at + "1: faults", "unknown fault \"bad-accept-mac\""},
      {"faults = [\"slow-answer\"]\n", at + "1: faults", "expected slow-answer=MILLISECONDS"},
      {"home_net_id = \"0013\"\n", at + "1: home_net_id", "home_net_id"},
      {"join_euis = [\"0807060504030201/65\"]\n", at + "1: join_euis",
       "expected a prefix length 0-64"},
      {"listen = \"8443\"\n", at + "1: listen", "expected HOST:PORT"},
      {"[tls]\ncert = \"js.pem\"\n", at + "1: tls", "cert and key are both required"},
      {"[tls]\ncert = \"a\"\nkey = \"b\"\nmin_version = \"1.1\"\n", at + "4: tls.min_version",
       "expected \"1.2\" or \"1.3\", got \"1.1\""},
      {"[[network_server]]\nkek_label = \"k\"\n", at + "1: network_server", "needs net_id"},
      // KEKs
      {"[[kek]]\nlabel = \"ns\"\nkek = \"00010203\"\n", at + "3: kek.kek",
       "expected 32, 48 or 64 hex digits (AES-128/192/256), got 8 characters"},
      {"[[kek]]\nlabel = \"ns\"\nkek = \"zz0102030405060708090a0b0c0d0e0f\"\n", at + "3: kek.kek",
       "KEK ns: expected hex digits"},
      {"[[kek]]\nlabel = \"ns\"\n", at + "1: kek", "needs label and kek"},
      {"[[network_server]]\nnet_id = \"010203\"\nkek_label = \"ns-kek\"\n",
       at + "3: network_server.kek_label", "KEK label \"ns-kek\" names no KEK"},
      {"[application_server]\nkek_label = \"as-kek\"\n", at + "2: application_server.kek_label",
       "KEK label \"as-kek\" names no KEK"},
      // paths
      {"[paths]\nJoinReq = \"join\"\n", at + "2: paths.JoinReq",
       "expected a path starting with '/', got \"join\""},
      {"[paths]\nJoinAns = \"/join\"\n", at + "2: paths.JoinAns", "TYPE one of JoinReq, RejoinReq"},
      {"[paths]\nJoinReq = 1\n", at + "2: paths.JoinReq", "expected a string, got an integer"},
      // TOML syntax
      {"listen = \":8443\n", at + "1:", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string message = config_error(dir, c.text);
    EXPECT_EQ(message.rfind(c.where, 0), 0u)
        << message << "\n  expected it to start with " << c.where;
    EXPECT_CONTAINS(message, c.expected);
  }
  // A KEK is a secret: its error never quotes it.
  const std::string bad_hex =
      config_error(dir, "[[kek]]\nlabel = \"ns\"\nkek = \"zz0102030405060708090a0b0c0d0e0f\"\n");
  EXPECT_NOT_CONTAINS(bad_hex, "0102030405060708090a0b0c0d0e0f");
}

// A label given again on the command line is not blamed on the file.
TEST(ServeJsConfig, KekLabelErrorNamesTheFileOnlyForTheFilesLabel) {
  TempDir dir;
  const fs::path file =
      write(dir, "js.toml", "[[network_server]]\nnet_id = \"010203\"\nkek_label = \"ns-kek\"\n");
  JoinServerServiceOptions o;
  const ServeJsFileSettings s = load_serve_js_config(file, o);
  o.js.net_ids.front().kek_label = "from-the-command-line";
  try {
    resolve_keks(o.js, s.keks, s.as_kek_label, s.kek_label_origins);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NOT_CONTAINS(e.what(), file.string());
    EXPECT_CONTAINS(e.what(),
                    "network server 010203: KEK label \"from-the-command-line\" names no KEK");
  }
}

// A KEK that wraps nothing would let keys go in clear without a word.
TEST(ServeJsConfig, AKekThatWrapsNothingIsAnError) {
  JoinServerConfig js;
  const backend::KekTable keks{{"010203", Bytes(16, 1)}};
  try {
    resolve_keks(js, keks, "");
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "KEK \"010203\" wraps no key: declare that network server with --ns 010203");
  }
  js.net_ids.push_back(NetIdPeer{NetId::parse("010203"), {}, {}, {}, {}});
  resolve_keks(js, keks, "");  // bound by its NetID label
  EXPECT_EQ(js.net_ids.front().kek_label, "010203");
}

// A per-NetID client CA makes the server ask for certificates, and needs HTTPS.
TEST(ServeJsConfig, PerNetIdClientCaNeedsHttpsAndRequestsCertificates) {
  JoinServerServiceOptions o;
  o.js.net_ids.push_back(NetIdPeer{NetId::parse("010203"), {}, {}, "ns-ca.pem", {}});
  try {
    finalize_serve_js_options(o);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "network server 010203 has a client CA (ns-ca.pem), which needs HTTPS");
  }
  o.http.tls = backend::TlsServerOptions{};
  finalize_serve_js_options(o);
  EXPECT_EQ(o.http.tls->client_cert, backend::ClientCertMode::request);
}

TEST(ServeJsConfig, MissingFileIsNamed) {
  TempDir dir;
  JoinServerServiceOptions o;
  try {
    load_serve_js_config(dir / "absent.toml", o);
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_CONTAINS(e.what(), "absent.toml");
  }
}

// The file's settings serve: a JS started from a config over HTTPS with a per-NetID CA.
TEST(ServeJsConfig, AJsStartedFromAFileServes) {
  TempDir dir;
  const std::string text =
      "listen = \"127.0.0.1:0\"\nlifetime = 60\n[tls]\ncert = \"" + pki().server_cert.string() +
      "\"\nkey = \"" + pki().server_key.string() +
      "\"\nrequest_client_cert = true\n[[kek]]\nlabel = \"ns-kek\"\nkek = \"" + to_hex(kNsKek) +
      "\"\n[[kek]]\nlabel = \"as-kek\"\nkek = \"" + to_hex(kAsKek) +
      "\"\n[[network_server]]\nnet_id = \"010203\"\nkek_label = \"ns-kek\"\nclient_ca = \"" +
      pki().root_ca.string() + "\"\n[application_server]\nkek_label = \"as-kek\"\n";
  const fs::path file = write(dir, "js.toml", text);
  JoinServerServiceOptions o;
  o.fleets.push_back(Fleet{{kDev103}});
  const ServeJsFileSettings s = load_serve_js_config(file, o);
  resolve_keks(o.js, s.keks, s.as_kek_label, s.kek_label_origins);
  JoinServerService js(std::move(o));
  backend::BlockingHttpClient ns(ns_client(pki().client_cert, pki().client_key));
  const backend::JoinReq req = join_req(kDev103, 1);
  const auto ans = ask_join(ns, js, req);
  check_join_ans(ans, req, kDev103);
  EXPECT_EQ(ans.lifetime, 60u);
  backend::BlockingHttpClient anonymous(ns_client());
  EXPECT_EQ(code_of(ask_join(anonymous, js, join_req(kDev103, 2)).result), "UnknownSender");
}

}  // namespace
}  // namespace joincheck::sim
