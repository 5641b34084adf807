// `joincheck doctor` (conformance/doctor.hpp) on ChirpStack v3 and v4 files written here,
// pointing at the reference JS over HTTPS with the test PKI: a correct setup gives no failure,
// and each broken setting is diagnosed by its own finding, naming the setting and the fix.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <string>

#include "backend/test_pki.hpp"
#include "conformance/doctor.hpp"
#include "doctor_support.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/join_server/config.hpp"
#include "sim/join_server/service.hpp"

namespace joincheck::conformance {
namespace {

using namespace std::chrono_literals;
using backend::testing::TestPki;
namespace fs = std::filesystem;

const TestPki& pki() { return TestPki::get(); }

fs::path write(const char* name, const std::string& text) {
  const fs::path dir = backend::testing::scratch_dir(name);
  const fs::path file = dir / "chirpstack.toml";
  std::ofstream(file) << text;
  return file;
}

DoctorResult doctor(const fs::path& file, bool live = false) {
  DoctorOptions o;
  o.chirpstack_config = file;
  o.live = live;
  o.timeout = 3000ms;
  return run_doctor(o);
}

using test_support::find;
using test_support::https_js;
using test_support::show;

Verdict verdict(const DoctorResult& r, const std::string& id) {
  const CheckResult* res = find(r, id);
  if (res == nullptr) {
    ADD_FAILURE() << "no finding " << id << "\n" << show(r);
    return Verdict::error;
  }
  return res->verdict;
}

std::string q(const fs::path& p) { return "\"" + p.string() + "\""; }

std::string v4_file(const std::string& server, const std::string& extra_default = "", const std::string& more = "") {
  return "[join_server]\n"
         "[[join_server.servers]]\n"
         "join_eui_prefix = \"0807060504030200/56\"\n"
         "server = \"" + server + "\"\n"
         "ca_cert = " + q(pki().root_ca) + "\n"
         "tls_cert = " + q(pki().client_cert) + "\n"
         "tls_key = " + q(pki().client_key) + "\n" + more +
         "[join_server.default]\n"
         "enabled = false\n" + extra_default +
         "[[keks]]\nlabel = \"000001\"\nkek = \"000102030405060708090a0b0c0d0e0f\"\n";
}

std::string v3_file(const std::string& server, const fs::path& ca) {
  return "[network_server]\nnet_id = \"000001\"\n"
         "[join_server]\nresolve_join_eui = false\n"
         "[join_server.default]\n"
         "server = \"" + server + "\"\n"
         "ca_cert = " + q(ca) + "\n"
         "tls_cert = " + q(pki().client_cert) + "\n"
         "tls_key = " + q(pki().client_key) + "\n"
         "[join_server.kek]\n[[join_server.kek.set]]\nlabel = \"000001\"\nkek = \"000102030405060708090a0b0c0d0e0f\"\n";
}

TEST(Doctor, CorrectV4FileHasNoFailure) {
  const DoctorResult r = doctor(write("v4-ok", v4_file("https://127.0.0.1:1")));
  EXPECT_EQ(r.report.profile, "ChirpStack v4") << show(r);
  EXPECT_EQ(r.report.counts().fail, 0u) << show(r);
  EXPECT_EQ(verdict(r, "doctor/servers-1.key-matches"), Verdict::pass);
  EXPECT_EQ(verdict(r, "doctor/servers-1.join-eui-prefix"), Verdict::pass);
  EXPECT_EQ(verdict(r, "doctor/kek-1"), Verdict::pass);
  EXPECT_EQ(verdict(r, "doctor/config.ignored-keys"), Verdict::pass);
}

TEST(Doctor, V3IsDetectedFromItsKeys) {
  const DoctorResult r = doctor(write("v3-ok", v3_file("https://127.0.0.1:1", pki().root_ca)));
  EXPECT_EQ(r.report.profile, "ChirpStack v3") << show(r);
  EXPECT_EQ(r.report.counts().fail, 0u) << show(r);
  EXPECT_EQ(verdict(r, "doctor/default.key-matches"), Verdict::pass);
  EXPECT_EQ(verdict(r, "doctor/kek-1"), Verdict::pass);
}

TEST(Doctor, MissingCaFileIsNamedWithItsSetting) {
  std::string text = v4_file("https://127.0.0.1:1");
  text.replace(text.find(pki().root_ca.string()), pki().root_ca.string().size(), "/nonexistent/js-ca.pem");
  const DoctorResult r = doctor(write("v4-no-ca", text));
  ASSERT_EQ(verdict(r, "doctor/servers-1.ca-cert"), Verdict::fail) << show(r);
  const CheckResult& f = *find(r, "doctor/servers-1.ca-cert");
  EXPECT_NE(f.actual.find("/nonexistent/js-ca.pem"), std::string::npos) << show(r);
  EXPECT_NE(f.expected.find("ca_cert of [[join_server.servers]] #1 (") , std::string::npos) << show(r);
  EXPECT_NE(f.expected.find("chirpstack.toml:5)"), std::string::npos) << show(r);
}

TEST(Doctor, KeyOfAnotherCertificateIsFound) {
  std::string text = v4_file("https://127.0.0.1:1");
  text.replace(text.find(pki().client_key.string()), pki().client_key.string().size(), pki().other_client_key.string());
  const DoctorResult r = doctor(write("v4-wrong-key", text));
  ASSERT_EQ(verdict(r, "doctor/servers-1.key-matches"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/servers-1.key-matches")->reason.find("tls_key of [[join_server.servers]] #1"), std::string::npos);
}

TEST(Doctor, ExpiredClientCertificateIsFound) {
  std::string text = v3_file("https://127.0.0.1:1", pki().root_ca);
  text.replace(text.find(pki().client_cert.string()), pki().client_cert.string().size(), pki().expired_client_cert.string());
  text.replace(text.find(pki().client_key.string()), pki().client_key.string().size(), pki().expired_client_key.string());
  const DoctorResult r = doctor(write("v3-expired", text));
  ASSERT_EQ(verdict(r, "doctor/default.tls-cert"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.tls-cert")->reason.find("expired on"), std::string::npos) << show(r);
}

TEST(Doctor, BadKekNeverShowsTheKey) {
  std::string text = v4_file("https://127.0.0.1:1");
  text.replace(text.find("000102030405060708090a0b0c0d0e0f"), 32, "000102030405060708090a0b0c0d0e");
  const DoctorResult r = doctor(write("v4-kek", text));
  ASSERT_EQ(verdict(r, "doctor/kek-1"), Verdict::fail) << show(r);
  EXPECT_EQ(show(r).find("000102030405060708090a0b0c0d0e"), std::string::npos) << show(r);
}

TEST(Doctor, CatchAllBeforeASpecificPrefixShadowsIt) {
  std::string text = "[[join_server.servers]]\njoin_eui_prefix = \"0000000000000000/0\"\nserver = \"https://127.0.0.1:2\"\n" +
                     v4_file("https://127.0.0.1:1").substr(std::string("[join_server]\n").size());
  text = "[join_server]\n" + text;
  const DoctorResult r = doctor(write("v4-shadow", text));
  ASSERT_EQ(verdict(r, "doctor/servers-2.join-eui-prefix"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/servers-2.join-eui-prefix")->actual.find("shadowed by 0000000000000000/0"), std::string::npos);
}

TEST(Doctor, TemplateAsyncInterfaceKeysAreIgnoredByV4) {
  const DoctorResult r = doctor(write("v4-async", v4_file("https://127.0.0.1:1", "", "async_interface = true\nasync_interface_timeout = \"1s\"\n")));
  ASSERT_EQ(verdict(r, "doctor/config.ignored-keys"), Verdict::warn) << show(r);
  EXPECT_NE(find(r, "doctor/config.ignored-keys")->reason.find("async_timeout"), std::string::npos) << show(r);
}

TEST(Doctor, DnsSuffixWithoutLeadingDot) {
  std::string text = v4_file("https://127.0.0.1:1");
  text.replace(text.find("enabled = false"), 15, "enabled = true");
  text.replace(0, std::string("[join_server]\n").size(), "[join_server]\nresolve_join_eui_domain_suffix = \"joineuis.lora-alliance.org\"\n");
  const DoctorResult r = doctor(write("v4-dns", text));
  ASSERT_EQ(verdict(r, "doctor/config.dns"), Verdict::warn) << show(r);
  EXPECT_NE(find(r, "doctor/config.dns")->actual.find("0.0.0.0.0.0.0.d.e.7.5.d.3.b.0.7joineuis"), std::string::npos) << show(r);
}


TEST(Doctor, LiveV3WithTheRightCaPassesAndWithAnotherCaFails) {
  sim::JoinServerService js(https_js());
  DoctorResult r = doctor(write("v3-live-ok", v3_file(js.url(), pki().root_ca)), true);
  EXPECT_EQ(verdict(r, "doctor/default.tls-server-chain"), Verdict::pass) << show(r);
  EXPECT_EQ(verdict(r, "doctor/default.tls-client-cert-accepted"), Verdict::pass) << show(r);
  EXPECT_EQ(r.report.counts().fail, 0u) << show(r);

  r = doctor(write("v3-live-other-ca", v3_file(js.url(), pki().other_ca)), true);
  ASSERT_EQ(verdict(r, "doctor/default.tls-server-chain"), Verdict::fail) << show(r);
  const std::string& fix = find(r, "doctor/default.tls-server-chain")->reason;
  EXPECT_NE(fix.find("issued by CN=joincheck test root CA"), std::string::npos) << fix;
  EXPECT_NE(fix.find("ca_cert of [join_server.default] ("), std::string::npos) << fix;
  EXPECT_NE(fix.find("=" + pki().other_ca.string()), std::string::npos) << fix;
}

TEST(Doctor, LiveClientCertificateRefusedByTheJs) {
  sim::JoinServerService js(https_js());
  std::string text = v4_file(js.url());
  text.replace(text.find(pki().client_cert.string()), pki().client_cert.string().size(), pki().other_client_cert.string());
  text.replace(text.find(pki().client_key.string()), pki().client_key.string().size(), pki().other_client_key.string());
  const DoctorResult r = doctor(write("v4-live-client", text), true);
  ASSERT_EQ(verdict(r, "doctor/servers-1.tls-client-cert-accepted"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/servers-1.tls-client-cert-accepted")->reason.find("tls_cert of [[join_server.servers]] #1"),
            std::string::npos)
      << show(r);
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

// The probe JoinReq, sent as ChirpStack sends it (its NetID, its client certificate).
TEST(Doctor, ProbeJoinReqUnknownDeviceKnownDeviceAndUnknownNetId) {
  sim::JoinServerServiceOptions options = https_js();
  const sim::Fleet fleet = sim::generate_fleet(1, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_3, 5);
  options.fleets.push_back(fleet);
  sim::JoinServerService js(options);
  const fs::path file = write("v3-probe", v3_file(js.url(), pki().root_ca));

  DoctorResult r = doctor(file, true);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::pass) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->actual.find("UnknownDevEUI"), std::string::npos) << show(r);

  // --devices alone: its JoinEUI, but still an unknown DevEUI (no DevNonce of a real device used).
  DoctorOptions o;
  o.chirpstack_config = file;
  o.fleet = fleet;
  r = run_doctor(o);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::pass) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->expected.find("UnknownDevEUI for the unknown DevEUI"), std::string::npos)
      << show(r);
  EXPECT_EQ(find(r, "doctor/default.probe-join")->expected.find(fleet.devices[0].dev_eui.hex()), std::string::npos)
      << show(r);

  // --probe-device: the device joins, with the DevNonce its state gives.
  sim::DeviceCountersMap counters;
  o.probe_device = "";
  o.device_counters = &counters;
  r = run_doctor(o);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::pass) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->actual.find("Success"), std::string::npos) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->reason.find("the probe used DevNonce"), std::string::npos) << show(r);
  ASSERT_EQ(counters.count(fleet.devices[0].dev_eui.hex()), 1u);

  // The NS's NetID is not the one the JS knows: UnknownSender, with the setting to change.
  std::string text = v3_file(js.url(), pki().root_ca);
  text.replace(text.find("net_id = \"000001\""), 17, "net_id = \"000002\"");
  r = doctor(write("v3-probe-netid", text), true);
  ASSERT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->reason.find("[network_server] net_id"), std::string::npos) << show(r);

  // A KEK label the file does not have: ChirpStack would fail the join.
  text = v3_file(js.url(), pki().root_ca);
  text.replace(text.find("label = \"000001\""), 16, "label = \"other\"");
  o.chirpstack_config = write("v3-probe-kek", text);
  r = run_doctor(o);
  ASSERT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->reason.find("add [[join_server.kek.set]] label = \"000001\""),
            std::string::npos)
      << show(r);
  // A FAIL never reads "expected Success / actual Success".
  EXPECT_EQ(find(r, "doctor/default.probe-join")->actual,
            "Success, but NwkSKey is wrapped under KEK label \"000001\", which the file lacks")
      << show(r);

  // The right label with another KEK value: ChirpStack would fail to unwrap the key.
  text = v3_file(js.url(), pki().root_ca);
  text.replace(text.find("kek = \"000102030405060708090a0b0c0d0e0f\""), 40, "kek = \"0f0e0d0c0b0a09080706050403020100\"");
  o.chirpstack_config = write("v3-probe-kek-value", text);
  r = run_doctor(o);
  ASSERT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->actual.find("does not unwrap it"), std::string::npos) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->reason.find("unwrap key error"), std::string::npos) << show(r);
  EXPECT_EQ(show(r).find("0f0e0d0c0b0a09080706050403020100"), std::string::npos) << "a KEK is never printed";
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

TEST(Doctor, DnsNameUsesTheJoinEuiOfTheDevices) {
  std::string text = v4_file("https://127.0.0.1:1");
  text.replace(text.find("enabled = false"), 15, "enabled = true");
  text.replace(0, std::string("[join_server]\n").size(),
               "[join_server]\nresolve_join_eui_domain_suffix = \".joineuis.example.net\"\n");
  DoctorOptions o;
  o.chirpstack_config = write("v4-dns-devices", text);
  o.live = false;
  o.fleet = sim::generate_fleet(1, lorawan::Eui64::parse("0102030405060708"), lorawan::MacVersion::v1_0_3, 1);
  const DoctorResult r = run_doctor(o);
  ASSERT_EQ(verdict(r, "doctor/config.dns"), Verdict::pass) << show(r);
  EXPECT_NE(find(r, "doctor/config.dns")->actual.find("JoinEUI 0102030405060708 resolves as https://8.0.7.0.6.0.5.0.4.0.3.0.2.0.1.0.joineuis.example.net"),
            std::string::npos)
      << show(r);
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

TEST(Doctor, V4DefaultWithAServerButNotEnabledIsIgnoredByChirpStack) {
  // enabled defaults to false in v4: the default table's server is never used.
  std::string text = v4_file("https://127.0.0.1:1", "server = \"https://js.example.net:8443\"\n");
  text.replace(text.find("enabled = false\n"), 16, "");
  DoctorResult r = doctor(write("v4-default-not-enabled", text), true);
  ASSERT_EQ(verdict(r, "doctor/default.enabled"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.enabled")->reason.find("enabled = true"), std::string::npos) << show(r);
  EXPECT_EQ(find(r, "doctor/default.probe-join"), nullptr) << "a JS ChirpStack never contacts is not probed";

  text = v4_file("https://127.0.0.1:1", "server = \"https://js.example.net:8443\"\n");
  text.replace(text.find("enabled = false\n"), 16, "enabled = true\n");
  r = doctor(write("v4-default-enabled", text));
  EXPECT_EQ(find(r, "doctor/default.enabled"), nullptr) << show(r);
}

TEST(Doctor, V4KekMustBeSixteenBytes) {
  std::string text = v4_file("https://127.0.0.1:1");
  const std::string kek = "000102030405060708090a0b0c0d0e0f";
  text.replace(text.find(kek), kek.size(), kek + kek);
  const DoctorResult r = doctor(write("v4-kek-32", text));
  ASSERT_EQ(verdict(r, "doctor/kek-1"), Verdict::fail) << show(r);
  EXPECT_EQ(show(r).find(kek + kek), std::string::npos) << "the KEK is never shown";
}

// Every finding cites the primary source of its rule and the project's explanation, never a file
// a user cannot open (tests/conformance/test_check_references.cpp does the same for the catalog).
TEST(Doctor, FindingsCiteAPrimarySourceAndTheProjectDoc) {
  const DoctorResult r = doctor(write("v4-refs", v4_file("https://127.0.0.1:1")));
  ASSERT_FALSE(r.report.results.empty());
  for (const auto& res : r.report.results) {
    SCOPED_TRACE(res.check.id);
    EXPECT_NE(res.check.spec.find("TS002 1.0 §"), std::string::npos) << res.check.spec;
    EXPECT_NE(res.check.spec.find("docs/checks.md#doctor"), std::string::npos) << res.check.spec;
    EXPECT_EQ(res.check.spec.find("backend-interfaces"), std::string::npos) << res.check.spec;
  }
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

// Probe safety (issue 17): a probe with a real device uses up one of its DevNonces, so it needs
// the --state counters, continues from them and says what it cost.
TEST(Doctor, ProbeDeviceNeedsStateAndContinuesItsDevNonceCounter) {
  sim::JoinServerServiceOptions options = https_js();
  const sim::Fleet fleet = sim::generate_fleet(2, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_4, 7);
  options.fleets.push_back(fleet);
  sim::JoinServerService js(options);
  DoctorOptions o;
  o.chirpstack_config = write("v3-probe-device", v3_file(js.url(), pki().root_ca));
  o.timeout = 3000ms;
  o.fleet = fleet;
  o.probe_device = fleet.devices[1].dev_eui.hex();
  try {
    (void)run_doctor(o);
    ADD_FAILURE() << "--probe-device without --state must be refused";
  } catch (const sim::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("expected --state FILE"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("DevNonce"), std::string::npos) << e.what();
  }

  sim::DeviceCountersMap counters;
  counters[fleet.devices[1].dev_eui.hex()].next_dev_nonce = 41;  // a state file from earlier runs
  o.device_counters = &counters;
  DoctorResult r = run_doctor(o);
  ASSERT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::pass) << show(r);
  const std::string cost = "the probe used DevNonce 41 of device " + fleet.devices[1].dev_eui.hex() +
                           "; the state file now continues from 42";
  EXPECT_NE(find(r, "doctor/default.probe-join")->reason.find(cost), std::string::npos) << show(r);
  EXPECT_EQ(counters[fleet.devices[1].dev_eui.hex()].next_dev_nonce, 42u);
  EXPECT_TRUE(counters[fleet.devices[1].dev_eui.hex()].last_join_nonce.has_value()) << "the accepted JoinNonce is kept";
  EXPECT_EQ(counters.count(fleet.devices[0].dev_eui.hex()), 0u) << "only the named device is probed";

  // The next probe continues: the JS (1.0.4 rules) accepts DevNonce 42.
  r = run_doctor(o);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::pass) << show(r);
  EXPECT_EQ(counters[fleet.devices[1].dev_eui.hex()].next_dev_nonce, 43u);

  o.probe_device = "0101010101010101";
  EXPECT_THROW((void)run_doctor(o), sim::ConfigError) << "a DevEUI --devices lacks";

  // A device under no probed JS's prefix: said, not silently skipped.
  sim::Fleet elsewhere = sim::generate_fleet(1, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_4, 8);
  o.fleet = elsewhere;
  o.probe_device = elsewhere.devices[0].dev_eui.hex();
  std::string text = v3_file(js.url(), pki().root_ca);
  text.replace(text.find("[join_server.default]\n"), 22, "[[join_server.servers]]\njoin_eui = \"0102030405060708\"\n");
  o.chirpstack_config = write("v3-probe-device-elsewhere", text);
  r = run_doctor(o);
  ASSERT_EQ(verdict(r, "doctor/config.probe-device"), Verdict::warn) << show(r);
  EXPECT_EQ(counters.count(elsewhere.devices[0].dev_eui.hex()), 0u) << show(r);
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

// One diagnosis per cause (issue 17): a refused port is one FAIL, the TLS checks and the probe
// that would fail for the same reason are listed as not run, never as errors or passes.
TEST(Doctor, RefusedPortIsOneFailAndTheRestIsNotRun) {
  const DoctorResult r = doctor(write("v4-refused", v4_file("https://127.0.0.1:1")), true);
  ASSERT_EQ(verdict(r, "doctor/servers-1.reach"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/servers-1.reach")->actual.find("127.0.0.1:1: "), std::string::npos) << show(r);
  EXPECT_NE(find(r, "doctor/servers-1.reach")->reason.find("server of [[join_server.servers]] #1"), std::string::npos)
      << show(r);
  EXPECT_EQ(verdict(r, "doctor/servers-1.probe-join"), Verdict::skip) << show(r);
  EXPECT_EQ(verdict(r, "doctor/servers-1.tls-server-chain"), Verdict::skip) << show(r);
  EXPECT_EQ(find(r, "doctor/servers-1.probe-join")->reason, "not run: doctor/servers-1.reach failed");
  std::size_t live_failures = 0;
  for (const auto& res : r.report.results) {
    if (res.check.id.starts_with("doctor/servers-1.") && (res.verdict == Verdict::fail || res.verdict == Verdict::error) &&
        res.check.id.find("cert") == std::string::npos) {
      ++live_failures;
    }
  }
  EXPECT_EQ(live_failures, 1u) << show(r);
  EXPECT_EQ(r.report.counts().error, 0u) << show(r);
}

// An http:// URL on a TLS port: "this port speaks TLS", once; on a plain port the probe runs.
TEST(Doctor, HttpUrlOnATlsPortSaysThePortSpeaksTls) {
  sim::JoinServerService tls_js(https_js());
  std::string url = tls_js.url();
  url.replace(0, 5, "http");
  DoctorResult r = doctor(write("v3-http-on-tls", v3_file(url, pki().root_ca)), true);
  ASSERT_EQ(verdict(r, "doctor/default.reach"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.reach")->actual.find("this port speaks TLS"), std::string::npos) << show(r);
  EXPECT_NE(find(r, "doctor/default.reach")->reason.find("use https:// in server of [join_server.default]"),
            std::string::npos)
      << show(r);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::skip) << show(r);
  EXPECT_EQ(find(r, "doctor/default.tls"), nullptr) << "the same cause is not reported twice\n" << show(r);

  sim::JoinServerServiceOptions plain = https_js();
  plain.http.tls.reset();
  sim::JoinServerService plain_js(plain);
  r = doctor(write("v3-http-plain", v3_file(plain_js.url(), pki().root_ca)), true);
  EXPECT_EQ(verdict(r, "doctor/default.reach"), Verdict::pass) << show(r);
  EXPECT_NE(find(r, "doctor/default.reach")->actual.find("plain HTTP"), std::string::npos) << show(r);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::pass) << show(r);

  // The other way round: https:// on the plain port is one FAIL, the TLS checks not run.
  url = plain_js.url();
  url.replace(0, 4, "https");
  r = doctor(write("v3-https-on-plain", v3_file(url, pki().root_ca)), true);
  ASSERT_EQ(verdict(r, "doctor/default.reach"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.reach")->actual.find("this port does not speak TLS"), std::string::npos) << show(r);
  EXPECT_EQ(verdict(r, "doctor/default.tls-server-chain"), Verdict::skip) << show(r);
  EXPECT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::skip) << show(r);
}

}  // namespace
}  // namespace joincheck::conformance

namespace joincheck::conformance {
namespace {

// UnknownSender for a client certificate from a CA the JS does not trust names the certificate
// as the likely cause, not "register the NetID" (issue 17).
TEST(Doctor, UnknownSenderForAnUntrustedClientCertificateBlamesTheCertificate) {
  sim::JoinServerServiceOptions options = https_js();
  options.http.tls->client_cert = backend::ClientCertMode::request;  // the handshake takes any certificate
  options.js.net_ids.front().client_ca_file = pki().root_ca.string();  // NetID 000001: this CA only
  sim::JoinServerService js(options);
  std::string text = v3_file(js.url(), pki().root_ca);
  text.replace(text.find(pki().client_cert.string()), pki().client_cert.string().size(), pki().other_client_cert.string());
  text.replace(text.find(pki().client_key.string()), pki().client_key.string().size(), pki().other_client_key.string());
  DoctorResult r = doctor(write("v3-untrusted-client-cert", text), true);
  ASSERT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::fail) << show(r);
  const std::string& reason = find(r, "doctor/default.probe-join")->reason;
  EXPECT_NE(reason.find("the likely cause is the client certificate, not the NetID"), std::string::npos) << show(r);
  EXPECT_NE(reason.find("tls_cert of [join_server.default] ("), std::string::npos) << show(r);
  EXPECT_EQ(reason.find("register that NetID"), std::string::npos) << show(r);

  // The trusted certificate with a NetID the JS does not know: the NetID is the cause.
  text = v3_file(js.url(), pki().root_ca);
  text.replace(text.find("net_id = \"000001\""), 17, "net_id = \"000002\"");
  r = doctor(write("v3-unknown-netid-trusted-cert", text), true);
  ASSERT_EQ(verdict(r, "doctor/default.probe-join"), Verdict::fail) << show(r);
  EXPECT_NE(find(r, "doctor/default.probe-join")->reason.find("register that NetID"), std::string::npos) << show(r);
}

}  // namespace
}  // namespace joincheck::conformance
