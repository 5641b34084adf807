// answer/session-key-id (conformance/validator.cpp) on one JoinAns: a SessionKeyID passes; its
// absence fails the SHOULD with the recommendation and what ChirpStack v4 does with one (it
// treats the device as end-to-end encrypted, chirpstack/chirpstack chirpstack/src/uplink/data.rs
// _is_end_to_end_encrypted).
#include <gtest/gtest.h>

#include <string>

#include "backend/codec.hpp"
#include "conformance/validator.hpp"

namespace joincheck::conformance {
namespace {

// A synchronous exchange whose answer is `ans`.
sim::Exchange exchange_of(const backend::JoinAns& ans) {
  sim::Exchange ex;
  ex.request_type = backend::MessageType::join_req;
  ex.transaction_id = ans.header.transaction_id;
  ex.http_status = 200;
  ex.http_body = backend::encode(ans);
  ex.answer_source = sim::AnswerSource::http_response;
  ex.answer_body = ex.http_body;
  ex.decoded = backend::decode(ex.answer_body, backend::DecodeMode::observing);
  return ex;
}

backend::JoinAns success() {
  backend::JoinAns a;
  a.header.sender_id = "0000000000000001";
  a.header.receiver_id = "000001";
  a.header.transaction_id = 3;
  a.result = backend::Result{};
  lorawan::Bytes phy(17, 0x11);
  phy[0] = 0x20;
  a.phy_payload = phy;
  a.nwk_s_key = backend::KeyEnvelope::clear(lorawan::Aes128Key::parse("01020304050607080102030405060708"));
  a.app_s_key = backend::KeyEnvelope::clear(lorawan::Aes128Key::parse("0f0e0d0c0b0a09080706050403020100"));
  a.lifetime = 0;
  return a;
}

const Evaluation& judged(const Validation& v, const std::string& check) {
  for (const auto& j : v.judgements) {
    if (j.check == check) return j.evaluation;
  }
  ADD_FAILURE() << "no judgement " << check;
  static const Evaluation none;
  return none;
}

Validation validate(const backend::JoinAns& ans) {
  SentRequest sent;
  sent.header.sender_id = "000001";
  sent.header.receiver_id = "0000000000000001";
  sent.header.transaction_id = 3;
  sent.mac_version = lorawan::MacVersion::v1_0_3;
  return validate_exchange(exchange_of(ans), sent, nullptr, nullptr, ValidatorSettings{});
}

TEST(AnswerSessionKeyId, PresentPasses) {
  backend::JoinAns a = success();
  a.session_key_id = lorawan::Bytes{0x0a, 0x0b};
  const Validation v = validate(a);
  const Evaluation& e = judged(v, "answer/session-key-id");
  EXPECT_EQ(e.verdict, Verdict::pass);
  EXPECT_EQ(e.reason, "");
}

TEST(AnswerSessionKeyId, AbsentRecommendsOneAndSaysWhatChirpStackV4DoesWithIt) {
  const Validation v = validate(success());
  const Evaluation& e = judged(v, "answer/session-key-id");
  EXPECT_EQ(e.verdict, Verdict::fail);
  EXPECT_EQ(e.actual, "none");
  EXPECT_EQ(e.reason,
            "send a SessionKeyID so that the AS can ask for this session's AppSKey (TS002 1.0 §8 step 8). Know that "
            "ChirpStack v4 stores it and then treats the device as end-to-end encrypted: its NS stops decrypting "
            "FRMPayload and hands the application the encrypted payload with the SessionKeyID, as it does for an "
            "AppSKey wrapped under a KEK label");
}

}  // namespace
}  // namespace joincheck::conformance
