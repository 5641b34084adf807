// The doctor's probe verdict is ChirpStack's (conformance/doctor_probe.hpp): the same answer is
// judged per version as chirpstack/chirpstack backend/src/lib.rs (v4) and
// brocaar/chirpstack-network-server internal/backend/joinserver/client.go (v3) read it, and
// every wrapped network key is unwrapped with the file's KEK of its label.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

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

// End to end: a test-only JS answering HTTP 400 with a Success body. v4 fails the probe, v3
// passes it.
TEST(DoctorProbe, LiveHttp400WithSuccessBodyPerVersion) {
  backend::HttpServerOptions so;
  so.linger_timeout = 300ms;
  backend::HttpServer server(so, [](const backend::HttpRequest&) {
    backend::HttpResponse r;
    r.status = 400;
    r.content_type = "application/json";
    r.body = success_body().dump();
    return r;
  });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  const fs::path dir = backend::testing::scratch_dir("doctor-probe-400");
  const sim::Fleet fleet =
      sim::generate_fleet(1, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_3, 5);
  const auto run = [&](const std::string& text, const char* name) {
    const fs::path file = dir / name;
    std::ofstream(file) << text;
    DoctorOptions o;
    o.chirpstack_config = file;
    o.timeout = 3000ms;
    o.fleet = fleet;
    sim::DeviceCountersMap counters;  // a stand-in JS: the DevNonce it uses is of no consequence
    o.probe_device = "";
    o.device_counters = &counters;
    const DoctorResult r = run_doctor(o);
    for (const auto& res : r.report.results) {
      if (res.check.id == "doctor/default.probe-join") return res;
    }
    ADD_FAILURE() << "no probe finding";
    return CheckResult{};
  };
  const CheckResult v4 = run("[join_server.default]\nenabled = true\nserver = \"" + url +
                                 "\"\n[[keks]]\nlabel = \"000001\"\nkek = \"" + kKek + "\"\n",
                             "v4.toml");
  EXPECT_EQ(v4.verdict, Verdict::fail) << v4.actual << "\n" << v4.reason;
  EXPECT_NE(v4.reason.find("error_for_status"), std::string::npos) << v4.reason;
  EXPECT_NE(v4.actual.find("HTTP 400"), std::string::npos) << v4.actual;
  const CheckResult v3 = run("[network_server]\nnet_id = \"000001\"\n[join_server]\nresolve_join_eui = false\n"
                             "[join_server.default]\nserver = \"" + url +
                                 "\"\n[join_server.kek]\n[[join_server.kek.set]]\nlabel = \"000001\"\nkek = \"" + kKek +
                                 "\"\n",
                             "v3.toml");
  EXPECT_EQ(v3.verdict, Verdict::pass) << v3.actual << "\n" << v3.reason;
}

}  // namespace
}  // namespace joincheck::conformance
