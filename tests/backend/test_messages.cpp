// Answer headers and mandatory-field rules (TS002 1.0 §8, §22.1, §22.2; docs/checks.md#header,
// docs/checks.md#answer).
#include <gtest/gtest.h>

#include <stdexcept>

#include "backend/codec.hpp"
#include "backend/messages.hpp"

namespace joincheck::backend {
namespace {

using lorawan::Aes128Key;
using lorawan::Eui64;

TEST(AnswerHeader, SwapsIdsEchoesTokenAndNsidAndKeepsTransaction) {
  Header req(MessageType::join_req);
  req.protocol_version = ProtocolVersion::v1_1;
  req.sender_id = "010203";
  req.receiver_id = "0807060504030201";
  req.transaction_id = 1234;
  req.sender_token = lorawan::Bytes{0xde, 0xad};
  req.sender_ns_id = Eui64::parse("0000000000000001");
  req.vs_extension = nlohmann::json{{"VendorID", "EC656E"}};

  const Header ans = make_answer_header(req);
  EXPECT_EQ(ans.message_type, MessageType::join_ans);
  EXPECT_EQ(ans.protocol_version, ProtocolVersion::v1_1);
  EXPECT_EQ(ans.sender_id, "0807060504030201");
  EXPECT_EQ(ans.receiver_id, "010203");
  EXPECT_EQ(ans.transaction_id, 1234u);
  EXPECT_EQ(ans.receiver_token, (lorawan::Bytes{0xde, 0xad}));
  EXPECT_EQ(ans.sender_token, std::nullopt);
  EXPECT_EQ(ans.receiver_ns_id, Eui64::parse("0000000000000001"));
  EXPECT_EQ(ans.sender_ns_id, std::nullopt);
  EXPECT_EQ(ans.vs_extension, std::nullopt);  // the request's extension is not echoed
}

TEST(AnswerHeader, UsesTheAnswerTypeOfEachRequest) {
  EXPECT_EQ(make_answer_header(Header(MessageType::rejoin_req)).message_type,
            MessageType::rejoin_ans);
  EXPECT_EQ(make_answer_header(Header(MessageType::app_s_key_req)).message_type,
            MessageType::app_s_key_ans);
  EXPECT_EQ(make_answer_header(Header(MessageType::home_ns_req)).message_type,
            MessageType::home_ns_ans);
}

TEST(AnswerHeader, RefusesAnAnswerAsRequest) {
  try {
    (void)make_answer_header(Header(MessageType::join_ans));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "make_answer_header: JoinAns is not a request type");
  }
}

TEST(MessageVariant, HeaderAndTypeOfEveryAlternative) {
  Message m = HomeNSAns{};
  EXPECT_EQ(message_type_of(m), MessageType::home_ns_ans);
  header_of(m).transaction_id = 7;
  EXPECT_EQ(std::get<HomeNSAns>(m).header.transaction_id, 7u);
  EXPECT_EQ(RejoinReq{}.header.message_type, MessageType::rejoin_req);
  EXPECT_EQ(ErrorNotif{}.header.message_type, MessageType::error_notif);
}

std::vector<std::string> paths(const std::vector<MissingField>& missing) {
  std::vector<std::string> out;
  for (const auto& m : missing) out.push_back(m.path);
  return out;
}

using Paths = std::vector<std::string>;

TEST(MissingFields, JoinReqNeedsEveryFieldButCFList) {
  EXPECT_EQ(paths(missing_fields(JoinReq{})),
            (Paths{"MACVersion", "PHYPayload", "DevEUI", "DevAddr", "DLSettings", "RxDelay"}));
}

TEST(MissingFields, FailedJoinAnsNeedsOnlyResult) {
  JoinAns ans;
  EXPECT_EQ(paths(missing_fields(ans)), (Paths{"Result"}));
  ans.result = Result{ResultCode::mic_failed, std::nullopt};
  EXPECT_TRUE(missing_fields(ans).empty());
}

TEST(MissingFields, SuccessfulJoinAnsNeedsTheNetworkKeysOfTheMacVersion) {
  JoinAns ans;
  ans.result = Result{};
  ans.phy_payload = lorawan::Bytes(17, 0x20);
  ans.lifetime = 0;
  ans.session_key_id = lorawan::Bytes{1};
  const auto key = KeyEnvelope::clear(Aes128Key{});
  // Neither key set: one entry naming both alternatives.
  const auto none = missing_fields(ans);
  ASSERT_EQ(paths(none), (Paths{"NwkSKey"}));
  EXPECT_NE(none[0].rule.find("FNwkSIntKey, SNwkSIntKey and NwkSEncKey (1.1)"), std::string::npos);

  ans.nwk_s_key = key;
  EXPECT_TRUE(missing_fields(ans).empty());
  EXPECT_TRUE(missing_fields(ans, lorawan::MacVersion::v1_0_3).empty());
  EXPECT_EQ(paths(missing_fields(ans, lorawan::MacVersion::v1_1)),
            (Paths{"FNwkSIntKey", "SNwkSIntKey", "NwkSEncKey"}));

  ans.nwk_s_key.reset();
  ans.f_nwk_s_int_key = key;
  EXPECT_EQ(paths(missing_fields(ans)), (Paths{"SNwkSIntKey", "NwkSEncKey"}));
}

TEST(MissingFields, SuccessfulJoinAnsNeedsAppSKeyOrSessionKeyId) {
  JoinAns ans;
  ans.result = Result{};
  ans.phy_payload = lorawan::Bytes(17, 0x20);
  ans.lifetime = 0;
  ans.nwk_s_key = KeyEnvelope::clear(Aes128Key{});
  const auto missing = missing_fields(ans);
  ASSERT_EQ(paths(missing), (Paths{"AppSKey"}));
  EXPECT_EQ(missing[0].rule,
            "AppSKey or SessionKeyID (or both) is mandatory when Result is Success");
  ans.app_s_key = KeyEnvelope::clear(Aes128Key{});
  EXPECT_TRUE(missing_fields(ans).empty());
}

TEST(MissingFields, SuccessfulRejoinAnsNeedsThe11KeysAndLifetime) {
  RejoinAns ans;
  ans.result = Result{};
  EXPECT_EQ(paths(missing_fields(ans)),
            (Paths{"PHYPayload", "Lifetime", "SNwkSIntKey", "FNwkSIntKey", "NwkSEncKey"}));
}

TEST(MissingFields, HomeNSAnsNeedsHNSIDOnlyUnder11) {
  HomeNSAns ans;
  ans.result = Result{};
  ans.h_net_id = lorawan::NetId::parse("010203");
  EXPECT_TRUE(missing_fields(ans).empty());
  ans.header.protocol_version = ProtocolVersion::v1_1;
  EXPECT_EQ(paths(missing_fields(ans)), (Paths{"HNSID"}));
}

}  // namespace
}  // namespace joincheck::backend
