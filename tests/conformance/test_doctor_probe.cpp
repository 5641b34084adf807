// The doctor's probe verdict is ChirpStack's (conformance/doctor_probe.hpp): the same answer is
// judged per version as chirpstack/chirpstack backend/src/lib.rs (v4) and
// brocaar/chirpstack-network-server internal/backend/joinserver/client.go (v3) read it, and
// every wrapped network key is unwrapped with the file's KEK of its label. A SessionKeyID or a
// wrapped AppSKey makes v4 treat the device as end-to-end encrypted (chirpstack/chirpstack
// chirpstack/src/uplink/data.rs _is_end_to_end_encrypted).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "backend/codec.hpp"
#include "backend/http_server.hpp"
#include "backend/key_envelope.hpp"
#include "backend/test_pki.hpp"
#include "conformance/doctor.hpp"
#include "conformance/doctor_probe.hpp"

namespace joincheck::conformance {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const std::string kKek = "000102030405060708090a0b0c0d0e0f";

std::vector<CsKek> keks(const std::string& label, const std::string& hex) {
  CsKek k;
  k.table = "[[keks]] #1";
  k.line = 7;
  k.label = label;
  k.kek_hex = hex;
  return {k};
}

// A Success JoinAns with a 17-byte join-accept and NwkSKey wrapped under label 000001.
nlohmann::json success_body() {
  backend::JoinAns a;
  a.header.sender_id = "0000000000000001";
  a.header.receiver_id = "000001";
  a.result = backend::Result{};
  lorawan::Bytes phy(17, 0x11);
  phy[0] = 0x20;
  a.phy_payload = phy;
  a.nwk_s_key = backend::KeyEnvelope::wrap(lorawan::Aes128Key::parse("01020304050607080102030405060708"), "000001",
                                           lorawan::from_hex(kKek, "kek"));
  return nlohmann::json::parse(backend::encode(a));
}

ChirpStackJudgement judge(ChirpStackVersion v, int status, const nlohmann::json& body,
                          const std::vector<CsKek>& k = keks("000001", kKek)) {
  return judge_join_ans_as_chirpstack(v, status, body.dump(), k, "chirpstack.toml");
}

TEST(DoctorProbe, BothVersionsAcceptACorrectSuccess) {
  EXPECT_TRUE(judge(ChirpStackVersion::v4, 200, success_body()).success);
  EXPECT_TRUE(judge(ChirpStackVersion::v3, 200, success_body()).success);
}

// v4: error_for_status() before the body is read; v3 decodes the body whatever the status.
TEST(DoctorProbe, HttpErrorStatusWithASuccessBodyFailsOnV4Only) {
  for (const int status : {400, 500}) {
    const auto v4 = judge(ChirpStackVersion::v4, status, success_body());
    EXPECT_FALSE(v4.success) << status;
    EXPECT_NE(v4.ns_error.find("HTTP status"), std::string::npos) << v4.ns_error;
    EXPECT_TRUE(judge(ChirpStackVersion::v3, status, success_body()).success) << status;
  }
}

TEST(DoctorProbe, SuccessWithoutPhyPayloadFailsOnBoth) {
  nlohmann::json body = success_body();
  body.erase("PHYPayload");
  for (const auto v : {ChirpStackVersion::v3, ChirpStackVersion::v4}) {
    const auto j = judge(v, 200, body);
    EXPECT_FALSE(j.success);
    EXPECT_EQ(j.problem, "no PHYPayload");
  }
  EXPECT_EQ(judge(ChirpStackVersion::v4, 200, body).ns_error, "Decode PhyPayload");
  EXPECT_EQ(judge(ChirpStackVersion::v3, 200, body).ns_error, "unmarshal downlink phypayload error");
  body["PHYPayload"] = "20";
  EXPECT_FALSE(judge(ChirpStackVersion::v4, 200, body).success);
}

TEST(DoctorProbe, AnswerWithoutMessageTypeIsAcceptedByBoth) {
  nlohmann::json body = success_body();
  body.erase("MessageType");
  EXPECT_TRUE(judge(ChirpStackVersion::v4, 200, body).success);
  EXPECT_TRUE(judge(ChirpStackVersion::v3, 200, body).success);
}

TEST(DoctorProbe, KekLabelMissingQuotesEachVersionsError) {
  const auto v4 = judge(ChirpStackVersion::v4, 200, success_body(), keks("other", kKek));
  EXPECT_FALSE(v4.success);
  EXPECT_EQ(v4.ns_error, "Unwrap nwk_s_key: KEK label 000001 does not exist");
  const auto v3 = judge(ChirpStackVersion::v3, 200, success_body(), keks("other", kKek));
  EXPECT_EQ(v3.ns_error, "unknown kek label: 000001");
}

TEST(DoctorProbe, RightLabelWrongKekValueFailsWithoutShowingTheKey) {
  const std::string wrong = "0f0e0d0c0b0a09080706050403020100";
  const auto j = judge(ChirpStackVersion::v4, 200, success_body(), keks("000001", wrong));
  EXPECT_FALSE(j.success);
  EXPECT_NE(j.problem.find("does not unwrap it"), std::string::npos) << j.problem;
  EXPECT_NE(j.fix.find("chirpstack.toml:7"), std::string::npos) << j.fix;
  for (const auto& text : {j.problem, j.fix, j.ns_error}) {
    EXPECT_EQ(text.find(wrong), std::string::npos);
    EXPECT_EQ(text.find(kKek), std::string::npos);
  }
}

TEST(DoctorProbe, SessionKeyIdOrWrappedAppSKeyIsEndToEndOnV4Only) {
  EXPECT_EQ(judge(ChirpStackVersion::v4, 200, success_body()).end_to_end, "");
  nlohmann::json body = success_body();
  body["SessionKeyID"] = "0a0b";
  EXPECT_EQ(judge(ChirpStackVersion::v4, 200, body).end_to_end, "the JoinAns carries SessionKeyID 0a0b");
  EXPECT_TRUE(judge(ChirpStackVersion::v4, 200, body).success);
  EXPECT_EQ(judge(ChirpStackVersion::v3, 200, body).end_to_end, "");

  body = success_body();
  body["AppSKey"] = body["NwkSKey"];
  body["AppSKey"]["KEKLabel"] = "as-kek";
  EXPECT_EQ(judge(ChirpStackVersion::v4, 200, body).end_to_end, "the JoinAns wraps AppSKey under KEK label \"as-kek\"");
  body["AppSKey"] = nlohmann::json{{"KEKLabel", ""}, {"AESKey", "01020304050607080102030405060708"}};
  EXPECT_EQ(judge(ChirpStackVersion::v4, 200, body).end_to_end, "");
}

// A stand-in JS that answers every request with `status` and `body`.
struct StandInJs {
  explicit StandInJs(int status, std::string body, std::chrono::milliseconds delay = 0ms)
      : server(options(), [status, body = std::move(body), delay](const backend::HttpRequest&) {
          std::this_thread::sleep_for(delay);
          backend::HttpResponse r;
          r.status = status;
          r.content_type = "application/json";
          r.body = body;
          return r;
        }) {}
  static backend::HttpServerOptions options() {
    backend::HttpServerOptions so;
    so.linger_timeout = 300ms;
    return so;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server.port()) + "/"; }
  backend::HttpServer server;
};

std::string v4_file(const std::string& url) {
  return "[join_server.default]\nenabled = true\nserver = \"" + url + "\"\n[[keks]]\nlabel = \"000001\"\nkek = \"" +
         kKek + "\"\n";
}

std::string v3_file(const std::string& url) {
  return "[network_server]\nnet_id = \"000001\"\n[join_server]\nresolve_join_eui = false\n[join_server.default]\n"
         "server = \"" + url + "\"\n[join_server.kek]\n[[join_server.kek.set]]\nlabel = \"000001\"\nkek = \"" + kKek +
         "\"\n";
}

// Where probe_finding() writes the file `name`.
fs::path finding_file(const char* name) {
  return backend::testing::TestPki::get().dir / "scratch" / "doctor-probe-finding" / name;
}

// doctor's probe-join finding for the file `text`; with `device`, --probe-device on a stand-in JS
// (the DevNonce it uses is of no consequence).
CheckResult probe_finding(const std::string& text, const char* name, std::chrono::milliseconds timeout,
                          bool device = true) {
  backend::testing::scratch_dir("doctor-probe-finding");
  const fs::path file = finding_file(name);
  std::ofstream(file) << text;
  DoctorOptions o;
  o.chirpstack_config = file;
  o.timeout = timeout;
  o.fleet = sim::generate_fleet(1, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_3, 5);
  sim::DeviceCountersMap counters;
  if (device) {
    o.probe_device = "";
    o.device_counters = &counters;
  }
  const DoctorResult r = run_doctor(o);
  for (const auto& res : r.report.results) {
    if (res.check.id == "doctor/default.probe-join") return res;
  }
  ADD_FAILURE() << "no probe finding";
  return CheckResult{};
}

TEST(DoctorProbe, LiveSuccessWithSessionKeyIdSaysV4TreatsTheDeviceAsEndToEndEncrypted) {
  nlohmann::json body = success_body();
  body["SessionKeyID"] = "0a0b";
  StandInJs js(200, body.dump());
  const std::string dev_eui =
      sim::generate_fleet(1, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_3, 5)
          .devices[0]
          .dev_eui.hex();
  const CheckResult v4 = probe_finding(v4_file(js.url()), "e2e-v4.toml", 3000ms);
  EXPECT_EQ(v4.verdict, Verdict::pass) << v4.actual << "\n" << v4.reason;
  EXPECT_EQ(v4.reason.substr(0, v4.reason.find(". the probe used")),
            "ChirpStack v4 will treat device " + dev_eui +
                " as end-to-end encrypted: the JoinAns carries SessionKeyID 0a0b, which it stores with the session, "
                "and its NS then stops decrypting FRMPayload; the application gets the encrypted payload with the "
                "SessionKeyID and the AppSKey envelope, and the payload codec does not run (chirpstack/chirpstack "
                "chirpstack/src/uplink/data.rs). For ChirpStack to decrypt, the JS must send AppSKey without a KEK "
                "label and no SessionKeyID");
  const CheckResult v3 = probe_finding(v3_file(js.url()), "e2e-v3.toml", 3000ms);
  EXPECT_EQ(v3.verdict, Verdict::pass) << v3.actual << "\n" << v3.reason;
  EXPECT_EQ(v3.reason.find("end-to-end"), std::string::npos) << v3.reason;
}

// A JS slower than ChirpStack v4's 5 s: v4 fails the join, whatever doctor's --timeout.
TEST(DoctorProbe, LiveV4ProbeWaitsV4sFiveSecondsWhateverTheTimeoutOption) {
  StandInJs js(200, success_body().dump(), 5600ms);
  const CheckResult v4 = probe_finding(v4_file(js.url()), "slow-v4.toml", 20000ms, false);
  EXPECT_EQ(v4.verdict, Verdict::fail) << v4.actual << "\n" << v4.reason;
  EXPECT_EQ(v4.reason,
            "ChirpStack v4 waits 5000 ms for the JS's answer (its HTTP client's timeout, chirpstack/chirpstack "
            "backend/src/lib.rs) and fails the join when none comes. fix: make the JS answer within that time "
            "(check server of [join_server.default] (" + finding_file("slow-v4.toml").string() + ":3) and the JS's logs)");
}

// v3 has no timeout at all: doctor keeps its own deadline and says that v3 would wait for ever.
TEST(DoctorProbe, LiveV3ProbeTimeoutSaysV3WouldWaitForEver) {
  StandInJs js(200, success_body().dump(), 1500ms);
  const CheckResult v3 = probe_finding(v3_file(js.url()), "slow-v3.toml", 800ms, false);
  EXPECT_EQ(v3.verdict, Verdict::fail) << v3.actual << "\n" << v3.reason;
  EXPECT_EQ(v3.reason,
            "ChirpStack v3 sets no timeout on its Join Server client (brocaar/lorawan backend/client.go NewClient: an "
            "http.Client without Timeout): it would wait for this answer for ever, while the device's join-accept "
            "windows (5 and 6 s after its join-request) pass; doctor gave up after 800 ms (--timeout). fix: make the "
            "JS answer within a few seconds (check server of [join_server.default] (" +
                finding_file("slow-v3.toml").string() + ":6) and the JS's logs)");
}

// End to end: a test-only JS answering HTTP 400 with a Success body. v4 fails the probe, v3
// passes it.
TEST(DoctorProbe, LiveHttp400WithSuccessBodyPerVersion) {
  StandInJs js(400, success_body().dump());
  const CheckResult v4 = probe_finding(v4_file(js.url()), "v4.toml", 3000ms);
  EXPECT_EQ(v4.verdict, Verdict::fail) << v4.actual << "\n" << v4.reason;
  EXPECT_NE(v4.reason.find("error_for_status"), std::string::npos) << v4.reason;
  EXPECT_NE(v4.actual.find("HTTP 400"), std::string::npos) << v4.actual;
  const CheckResult v3 = probe_finding(v3_file(js.url()), "v3.toml", 3000ms);
  EXPECT_EQ(v3.verdict, Verdict::pass) << v3.actual << "\n" << v3.reason;
}

}  // namespace
}  // namespace joincheck::conformance
