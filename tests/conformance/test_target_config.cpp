// The target file (conformance/target.hpp): every field, the defaults, relative paths, the
// shipped example, and errors that name the file, the line and the key, what was expected and
// what was seen, without quoting a KEK or a header value.
#include <gtest/gtest.h>

#include <fstream>

#include "conformance/target.hpp"
#include "sim/sim_test_support.hpp"

namespace joincheck::conformance {
namespace {

using sim::test_support::TempDir;

constexpr std::string_view kNsKek = "000102030405060708090a0b0c0d0e0f";
constexpr std::string_view kAsKek = "0f0e0d0c0b0a090807060504030201000f0e0d0c0b0a0908";  // AES-192

std::filesystem::path write(const TempDir& dir, std::string_view name, std::string_view text) {
  const std::filesystem::path p = dir / name;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
  return p;
}

// Loads `text` from target.toml and returns the error message ("" when it loads).
std::string error_of(const TempDir& dir, std::string_view text) {
  try {
    load_target_config(write(dir, "target.toml", text));
  } catch (const sim::ConfigError& e) {
    return e.what();
  }
  return "";
}

// "<dir>/target.toml:LINE: KEY: ", how every error of a value starts.
std::string at(const TempDir& dir, int line, std::string_view key) {
  return (dir / "target.toml").string() + ":" + std::to_string(line) + ": " + std::string(key) +
         ": ";
}

TEST(TargetConfig, FullFileGivesEveryField) {
  TempDir dir;
  const std::string text = std::string(R"(url = "https://js.example.net:8443/bi"
profile = "profiles/mine.toml"
devices = "fleet.json"
timeout = "1500ms"
content_type = "application/json; charset=utf-8"

[paths]
JoinReq = "/join"
RejoinReq = "/rejoin"
AppSKeyReq = "https://as.example.net:9443/appskey"
HomeNSReq = "/homens"

[tls]
ca_cert = "pki/ca.pem"
tls_cert = "/etc/joincheck/ns.pem"
tls_key = "pki/ns-key.pem"

[headers]
Authorization = "Bearer abc"
X-Tenant = "t1"

[ns]
net_id = "C0FFEE"
ns_id = "0a0b0c0d0e0f0001"
protocol_version = "1.1"
sender_token = "0xabcd"
unknown_net_id = "00ff00"

[[kek]]
label = "c0ffee"
kek = ")") + std::string(kNsKek) +
                           R"("

[[kek]]
label = "as-kek"
kek = ")" + std::string(kAsKek) +
                           R"("

[application_server]
as_id = "my-as"
kek_label = "as-kek"

[async]
listen = "127.0.0.1:0"
tls_cert = "listener.pem"
tls_key = "listener-key.pem"
client_ca = "js-ca.pem"

[capabilities]
rejoin = false
known_senders = false
)";
  const std::filesystem::path file = write(dir, "conf/target.toml", text);
  const TargetConfig c = load_target_config(file);
  const std::filesystem::path base = dir / "conf";

  EXPECT_EQ(c.source, file);
  EXPECT_EQ(c.ns.url, "https://js.example.net:8443/bi");
  EXPECT_EQ(c.profile, (base / "profiles/mine.toml").string());
  EXPECT_EQ(c.devices, base / "fleet.json");
  EXPECT_EQ(c.ns.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.ns.content_type, "application/json; charset=utf-8");

  ASSERT_EQ(c.ns.paths.size(), 4u);
  EXPECT_EQ(c.ns.paths.at(backend::MessageType::join_req), "/join");
  EXPECT_EQ(c.ns.paths.at(backend::MessageType::rejoin_req), "/rejoin");
  EXPECT_EQ(c.ns.paths.at(backend::MessageType::app_s_key_req),
            "https://as.example.net:9443/appskey");
  EXPECT_EQ(c.ns.paths.at(backend::MessageType::home_ns_req), "/homens");

  // Relative paths are the file's folder's; absolute ones stay.
  EXPECT_EQ(c.ns.tls.ca_file, base / "pki/ca.pem");
  EXPECT_EQ(c.ns.tls.cert_file, std::filesystem::path("/etc/joincheck/ns.pem"));
  EXPECT_EQ(c.ns.tls.key_file, base / "pki/ns-key.pem");

  ASSERT_EQ(c.ns.headers.size(), 2u);
  EXPECT_EQ(c.ns.headers[0].name, "Authorization");
  EXPECT_EQ(c.ns.headers[0].value, "Bearer abc");
  EXPECT_EQ(c.ns.headers[1].name, "X-Tenant");
  EXPECT_EQ(c.ns.headers[1].value, "t1");

  EXPECT_EQ(c.ns.net_id, lorawan::NetId::parse("c0ffee"));
  EXPECT_EQ(c.ns.ns_id, lorawan::Eui64::parse("0a0b0c0d0e0f0001"));
  EXPECT_EQ(c.ns.protocol_version, backend::ProtocolVersion::v1_1);
  EXPECT_EQ(c.ns.sender_token, (lorawan::Bytes{0xab, 0xcd}));
  EXPECT_EQ(c.unknown_net_id, "00ff00");

  ASSERT_EQ(c.ns.keks.size(), 2u);
  EXPECT_EQ(lorawan::to_hex(c.ns.keks.at("c0ffee")), kNsKek);
  EXPECT_EQ(lorawan::to_hex(c.ns.keks.at("as-kek")), kAsKek);
  EXPECT_EQ(c.as_id, "my-as");
  EXPECT_EQ(c.as_kek_label, "as-kek");

  EXPECT_EQ(c.ns.async_listen, "127.0.0.1:0");
  ASSERT_TRUE(c.ns.async_tls.has_value());
  EXPECT_EQ(c.ns.async_tls->cert_file, base / "listener.pem");
  EXPECT_EQ(c.ns.async_tls->key_file, base / "listener-key.pem");
  EXPECT_EQ(c.ns.async_tls->client_ca_file, base / "js-ca.pem");
  EXPECT_EQ(c.ns.async_tls->client_cert, backend::ClientCertMode::require);

  // Defaults minus the two turned off, plus what [application_server] and [async] add.
  EXPECT_EQ(c.capabilities, (std::set<Capability>{Capability::app_s_key, Capability::home_ns,
                                                  Capability::protocol_1_1, Capability::as_kek,
                                                  Capability::async}));
}

TEST(TargetConfig, DefaultsAreNeutralAndKeepEveryCheckTestable) {
  const TargetConfig d = default_target_config();
  EXPECT_EQ(d.ns.url, "");
  EXPECT_EQ(d.ns.net_id.hex(), "000001");
  EXPECT_EQ(d.ns.ns_id, lorawan::Eui64::parse("0000000000000001"));
  EXPECT_EQ(d.ns.protocol_version, backend::ProtocolVersion::v1_0);
  // ASCII "joincheck", so the ReceiverToken echo can always be checked.
  EXPECT_EQ(d.ns.sender_token, (lorawan::Bytes{'j', 'o', 'i', 'n', 'c', 'h', 'e', 'c', 'k'}));
  EXPECT_EQ(d.ns.timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(d.ns.content_type, "application/json");
  EXPECT_TRUE(d.ns.paths.empty());
  EXPECT_TRUE(d.ns.headers.empty());
  EXPECT_TRUE(d.ns.keks.empty());
  EXPECT_FALSE(d.ns.async_listen.has_value());
  EXPECT_EQ(d.as_id, "joincheck-as");
  EXPECT_EQ(d.as_kek_label, "");
  EXPECT_EQ(d.unknown_net_id, "ffff01");
  EXPECT_FALSE(d.profile.has_value());
  EXPECT_FALSE(d.devices.has_value());
  EXPECT_EQ(d.capabilities,
            (std::set<Capability>{Capability::rejoin, Capability::app_s_key, Capability::home_ns,
                                  Capability::protocol_1_1, Capability::known_senders}));
  EXPECT_EQ(d.capabilities, default_capabilities());

  // A file with a URL only is the defaults with that URL.
  TempDir dir;
  const TargetConfig c =
      load_target_config(write(dir, "target.toml", "url = \"http://127.0.0.1:8080\"\n"));
  EXPECT_EQ(c.ns.url, "http://127.0.0.1:8080");
  EXPECT_EQ(c.ns.net_id, d.ns.net_id);
  EXPECT_EQ(c.ns.sender_token, d.ns.sender_token);
  EXPECT_EQ(c.ns.timeout, d.ns.timeout);
  EXPECT_EQ(c.capabilities, d.capabilities);
  EXPECT_EQ(c.unknown_net_id, d.unknown_net_id);
}

TEST(TargetConfig, SmallerForms) {
  TempDir dir;
  auto load = [&](std::string_view rest) {
    return load_target_config(
        write(dir, "target.toml", "url = \"http://js\"\n" + std::string(rest)));
  };
  EXPECT_EQ(load("timeout = 250\n").ns.timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(load("timeout = \"2s\"\n").ns.timeout, std::chrono::milliseconds(2000));
  // A profile name stays a name; a file is resolved.
  EXPECT_EQ(load("profile = \"tts\"\n").profile, "tts");
  EXPECT_EQ(load("profile = \"/abs/p.toml\"\n").profile, "/abs/p.toml");
  EXPECT_EQ(load("profile = \"p.toml\"\n").profile, (dir / "p.toml").string());
  // "" sends no SenderToken.
  EXPECT_FALSE(load("[ns]\nsender_token = \"\"\n").ns.sender_token.has_value());
  // An NS persona (sim/network_server/ns_persona.hpp); plain by default.
  EXPECT_EQ(load("[ns]\nns_like = \"chirpstack-v4\"\n").ns.ns_like, sim::NsPersona::chirpstack_v4);
  EXPECT_EQ(load("").ns.ns_like, sim::NsPersona::plain);
  // An HTTPS listener without client certificates; a plain one has no TLS.
  const TargetConfig https =
      load("[async]\nlisten = \":8444\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n");
  ASSERT_TRUE(https.ns.async_tls.has_value());
  EXPECT_EQ(https.ns.async_tls->client_cert, backend::ClientCertMode::none);
  EXPECT_FALSE(load("[async]\nlisten = \":8444\"\n").ns.async_tls.has_value());
  // Capabilities can be switched on as well as off.
  EXPECT_TRUE(load("[capabilities]\nrejoin = true\n").capabilities.count(Capability::rejoin));
  // Text with a source name.
  const TargetConfig t =
      parse_target_config("url = \"http://x\"\ndevices = \"f.csv\"\n", "/some/where/t.toml");
  EXPECT_EQ(t.devices, std::filesystem::path("/some/where/f.csv"));
}

TEST(TargetConfig, UnknownKeysAndTablesAreErrors) {
  TempDir dir;
  std::string e = error_of(dir, "url = \"http://js\"\nurll = \"http://js\"\n");
  EXPECT_CONTAINS(e, at(dir, 2, "urll") + "unknown key; expected one of url, profile, devices");
  e = error_of(dir, "url = \"http://js\"\n\n[tsl]\nca_cert = \"x\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "tsl") + "unknown key");
  e = error_of(dir, "url = \"http://js\"\n[tls]\nca = \"x\"\n");
  EXPECT_CONTAINS(e,
                  at(dir, 3, "tls.ca") + "unknown key; expected one of ca_cert, tls_cert, tls_key");
  e = error_of(dir, "url = \"http://js\"\n[ns]\nnetid = \"000001\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "ns.netid") + "unknown key");
  e = error_of(dir, "url = \"http://js\"\n[[kek]]\nlabel = \"a\"\nkey = \"00\"\n");
  EXPECT_CONTAINS(e, at(dir, 4, "kek[1].key") + "unknown key; expected one of label, kek");
  e = error_of(dir, "url = \"http://js\"\n[paths]\nJoinAns = \"/x\"\n");
  EXPECT_CONTAINS(
      e,
      at(dir, 3, "paths.JoinAns") +
          "expected a request type (JoinReq, RejoinReq, AppSKeyReq or HomeNSReq), got \"JoinAns\"");
}

TEST(TargetConfig, BadValuesNameFileLineKeyExpectedAndSeen) {
  TempDir dir;
  std::string e = error_of(dir, "url = \"ftp://js\"\n");
  EXPECT_CONTAINS(
      e, at(dir, 1, "url") + "expected a URL starting with http:// or https://, got \"ftp://js\"");
  e = error_of(dir, "url = 8443\n");
  EXPECT_CONTAINS(e, at(dir, 1, "url") + "expected a string, got an integer");
  e = error_of(dir, "profile = \"strict\"\n");
  EXPECT_CONTAINS(e, (dir / "target.toml").string() + ": url: expected the Join Server's URL");

  e = error_of(dir, "url = \"http://js\"\n[ns]\nnet_id = \"0001\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "ns.net_id") +
                         "NetID: expected 6 hex digits (3 bytes), got 4 characters \"0001\"");
  e = error_of(dir, "url = \"http://js\"\n[ns]\nnet_id = \"00000g\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "ns.net_id") + "NetID: expected hex digits");
  e = error_of(dir, "url = \"http://js\"\n[ns]\nns_like = \"chirpstack\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "ns.ns_like") +
                         "expected one of plain, chirpstack-v3, chirpstack-v4, got \"chirpstack\"");
  e = error_of(dir, "url = \"http://js\"\n[ns]\nprotocol_version = \"2.0\"\n");
  EXPECT_CONTAINS(e,
                  at(dir, 3, "ns.protocol_version") + "expected \"1.0\" or \"1.1\", got \"2.0\"");
  e = error_of(dir, "url = \"http://js\"\n[ns]\nunknown_net_id = \"000001\"\n");
  EXPECT_CONTAINS(e,
                  at(dir, 3, "ns.unknown_net_id") + "expected unknown_net_id and net_id to differ");

  e = error_of(dir, "url = \"http://js\"\ntimeout = \"5 sec\"\n");
  EXPECT_CONTAINS(e, at(dir, 2, "timeout") +
                         "expected a duration such as \"5s\" or \"500ms\", or milliseconds as an "
                         "integer, got \"5 sec\"");
  e = error_of(dir, "url = \"http://js\"\ntimeout = 1.5\n");
  EXPECT_CONTAINS(e, at(dir, 2, "timeout") + "expected a duration");
  EXPECT_CONTAINS(e, "got a number");
  e = error_of(dir, "url = \"http://js\"\ntimeout = 0\n");
  EXPECT_CONTAINS(e, at(dir, 2, "timeout") + "expected 1 ms to 3600 s, got 0 ms");

  e = error_of(dir, "url = \"http://js\"\n[capabilities]\nrejoinn = true\n");
  EXPECT_CONTAINS(e, at(dir, 3, "capabilities.rejoinn") +
                         "unknown capability; expected one of rejoin, app_s_key, home_ns, "
                         "protocol_1_1, known_senders");
  e = error_of(dir, "url = \"http://js\"\n[capabilities]\nrejoin = \"yes\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "capabilities.rejoin") + "expected true or false, got a string");
  e = error_of(dir, "url = \"http://js\"\n[capabilities]\nasync = true\n");
  EXPECT_CONTAINS(e, at(dir, 3, "capabilities.async") +
                         "async is not set here: it follows from an [async] table");

  e = error_of(dir, "url = \"http://js\"\n[paths]\nJoinReq = \"join\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "paths.JoinReq") +
                         "path for JoinReq: expected a path starting with '/', got \"join\"");
  e = error_of(dir, "url = \"http://js\"\n[paths]\nJoinReq = \"https://\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "paths.JoinReq"));

  e = error_of(dir, "url = \"http://js\"\n[tls]\ntls_cert = \"ns.pem\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "tls.tls_cert") + "expected tls_key too");
  e = error_of(dir, "url = \"http://js\"\n[async]\ntls_cert = \"c.pem\"\n");
  EXPECT_CONTAINS(e, (dir / "target.toml").string() + ":2: async: expected listen = \"HOST:PORT\"");
  e = error_of(dir, "url = \"http://js\"\n[async]\nlisten = \"8444\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "async.listen") + "expected HOST:PORT");
  e = error_of(dir, "url = \"http://js\"\n[async]\nlisten = \":1\"\nclient_ca = \"ca.pem\"\n");
  EXPECT_CONTAINS(
      e, at(dir, 4, "async.client_ca") + "expected tls_cert and tls_key for an HTTPS listener");
}

TEST(TargetConfig, KekErrorsNeverShowTheKey) {
  TempDir dir;
  // 32 characters, one of them not hex: neither the value nor the character is shown.
  const std::string bad_char = "000102030405060708090a0b0c0d0e0z";
  std::string e =
      error_of(dir, "url = \"http://js\"\n[[kek]]\nlabel = \"ns\"\nkek = \"" + bad_char + "\"\n");
  EXPECT_CONTAINS(e, at(dir, 4, "kek[1].kek") +
                         "KEK ns: expected hex digits (0-9, a-f), found a non-hex character");
  EXPECT_NOT_CONTAINS(e, bad_char);
  EXPECT_NOT_CONTAINS(e, "'z'");

  const std::string short_kek = "000102030405060708090a0b0c0d0e";
  e = error_of(dir, "url = \"http://js\"\n[[kek]]\nlabel = \"ok\"\nkek = \"" + std::string(kNsKek) +
                        "\"\n[[kek]]\nlabel = \"ns\"\nkek = \"" + short_kek + "\"\n");
  EXPECT_CONTAINS(
      e, at(dir, 7, "kek[2].kek") +
             "KEK ns: expected 32, 48 or 64 hex digits (AES-128/192/256), got 30 characters");
  EXPECT_NOT_CONTAINS(e, short_kek);

  e = error_of(dir, "url = \"http://js\"\n[[kek]]\nlabel = \"ns\"\n");
  EXPECT_CONTAINS(e, "kek[1]: expected label and kek, got no kek");
  e = error_of(dir, "url = \"http://js\"\n[[kek]]\nlabel = \"ns\"\nkek = \"" + std::string(kNsKek) +
                        "\"\n[[kek]]\nlabel = \"ns\"\nkek = \"" + std::string(kNsKek) + "\"\n");
  EXPECT_CONTAINS(e, at(dir, 6, "kek[2].label") + "label \"ns\" is already given at " +
                         (dir / "target.toml").string() + ":3: kek[1].label");
  EXPECT_NOT_CONTAINS(e, kNsKek);

  // kek_label must name a [[kek]], wherever the tables are in the file.
  e = error_of(dir,
               "url = \"http://js\"\n[application_server]\nkek_label = \"as\"\n[[kek]]\nlabel = "
               "\"ns\"\nkek = \"" +
                   std::string(kNsKek) + "\"\n");
  EXPECT_CONTAINS(
      e,
      at(dir, 3, "application_server.kek_label") +
          "expected the label of a [[kek]] table, got \"as\", which names none (labels: \"ns\")");
  EXPECT_NOT_CONTAINS(e, kNsKek);
  e = error_of(dir, "url = \"http://js\"\n[application_server]\nkek_label = \"as\"\n");
  EXPECT_CONTAINS(e, "(no [[kek]] is given)");
}

TEST(TargetConfig, HeaderErrorsNeverShowTheValue) {
  TempDir dir;
  std::string e = error_of(
      dir, "url = \"http://js\"\n[headers]\nAuthorization = \"Bearer secret\\r\\nX: y\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "headers.Authorization") + "expected a header value on one line");
  EXPECT_NOT_CONTAINS(e, "secret");
  e = error_of(dir, "url = \"http://js\"\n[headers]\n\"Bad Name\" = \"v\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "headers.Bad Name") + "expected a header name");
  e = error_of(dir, "url = \"http://js\"\n[headers]\ncontent-type = \"text/plain\"\n");
  EXPECT_CONTAINS(e, at(dir, 3, "headers.content-type") +
                         "Content-Type is set with the top-level content_type key");
}

TEST(TargetConfig, FileErrors) {
  TempDir dir;
  std::string e = error_of(dir, "url = \"http://js\"\n[ns\n");
  EXPECT_CONTAINS(e, (dir / "target.toml").string() + ":2:");
  try {
    load_target_config(dir / "nope.toml");
    FAIL() << "no error";
  } catch (const sim::ConfigError& err) {
    EXPECT_CONTAINS(err.what(), (dir / "nope.toml").string() + ": cannot read: no such file");
  }
  EXPECT_THROW(parse_target_config("url = \n", "inline.toml"), sim::ConfigError);
}

// The example shipped in scenarios/examples loads, and says what its comments say.
TEST(TargetConfig, ShippedExampleLoads) {
  const std::filesystem::path file =
      std::filesystem::path(__FILE__).parent_path() / "../../scenarios/examples/target.toml";
  const TargetConfig c = load_target_config(file);
  EXPECT_EQ(c.ns.url, "https://js.example.net:8443");
  EXPECT_EQ(c.profile, "strict");
  EXPECT_EQ(c.devices, file.parent_path() / "fleet.json");
  EXPECT_EQ(c.ns.timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.ns.paths.size(), 4u);
  EXPECT_EQ(c.ns.tls.ca_file, file.parent_path() / "pki/ca.pem");
  EXPECT_EQ(c.ns.net_id.hex(), "000001");
  EXPECT_EQ(c.ns.sender_token, default_target_config().ns.sender_token);
  EXPECT_EQ(c.ns.keks.size(), 2u);
  EXPECT_EQ(c.as_kek_label, "as-kek");
  EXPECT_FALSE(c.ns.async_listen.has_value());
  std::set<Capability> expected = default_capabilities();
  expected.insert(Capability::as_kek);
  EXPECT_EQ(c.capabilities, expected);
}

}  // namespace
}  // namespace joincheck::conformance
