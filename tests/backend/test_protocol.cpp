// ProtocolVersion, MessageType and ResultCode spellings
// (TS002 1.0 §22.1, §22.2 Table 12, §22.4 Table 24; TS002 1.1 §23.5; docs/checks.md#result-codes).
#include <gtest/gtest.h>

#include "backend/protocol.hpp"
#include "backend/result_code.hpp"

namespace joincheck::backend {
namespace {

TEST(ProtocolVersion, ParsesOnlyTheTwoWireSpellings) {
  EXPECT_EQ(parse_protocol_version("1.0"), ProtocolVersion::v1_0);
  EXPECT_EQ(parse_protocol_version("1.1"), ProtocolVersion::v1_1);
  EXPECT_EQ(to_string(ProtocolVersion::v1_0), "1.0");
  EXPECT_EQ(to_string(ProtocolVersion::v1_1), "1.1");
  // TTS config strings never go on the wire; "1.1.0" is not a ProtocolVersion.
  EXPECT_EQ(parse_protocol_version("BI1.0"), std::nullopt);
  EXPECT_EQ(parse_protocol_version("1.1.0"), std::nullopt);
  EXPECT_EQ(parse_protocol_version("2.0"), std::nullopt);
}

TEST(MessageType, EveryTypeRoundTripsThroughItsWireSpelling) {
  const MessageType all[] = {
      MessageType::join_req,    MessageType::join_ans,      MessageType::rejoin_req,
      MessageType::rejoin_ans,  MessageType::app_s_key_req, MessageType::app_s_key_ans,
      MessageType::home_ns_req, MessageType::home_ns_ans,   MessageType::error_notif};
  for (MessageType t : all) EXPECT_EQ(parse_message_type(to_string(t)), t) << to_string(t);
  EXPECT_EQ(to_string(MessageType::app_s_key_req), "AppSKeyReq");
  EXPECT_EQ(to_string(MessageType::home_ns_ans), "HomeNSAns");
  EXPECT_EQ(parse_message_type("joinreq"), std::nullopt);
  EXPECT_EQ(parse_message_type("PRStartReq"), std::nullopt);
}

TEST(MessageType, RequestsMapToTheirAnswers) {
  EXPECT_EQ(answer_type_for(MessageType::join_req), MessageType::join_ans);
  EXPECT_EQ(answer_type_for(MessageType::rejoin_req), MessageType::rejoin_ans);
  EXPECT_EQ(answer_type_for(MessageType::app_s_key_req), MessageType::app_s_key_ans);
  EXPECT_EQ(answer_type_for(MessageType::home_ns_req), MessageType::home_ns_ans);
  EXPECT_EQ(answer_type_for(MessageType::join_ans), std::nullopt);
  EXPECT_EQ(answer_type_for(MessageType::error_notif), std::nullopt);
  EXPECT_TRUE(is_request(MessageType::home_ns_req));
  EXPECT_FALSE(is_request(MessageType::join_ans));
  EXPECT_FALSE(is_request(MessageType::error_notif));
}

TEST(ResultCode, HasEveryTable24CodeAndThe11Additions) {
  const char* table24[] = {"Success",
                           "MICFailed",
                           "JoinReqFailed",
                           "NoRoamingAgreement",
                           "DevRoamingDisallowed",
                           "RoamingActDisallowed",
                           "ActivationDisallowed",
                           "UnknownDevEUI",
                           "UnknownDevAddr",
                           "UnknownSender",
                           "UnkownReceiver",
                           "Deferred",
                           "XmitFailed",
                           "InvalidFPort",
                           "InvalidProtocolVersion",
                           "StaleDeviceProfile",
                           "MalformedRequest",
                           "FrameSizeError",
                           "Other"};
  for (const char* spelling : table24) {
    const auto code = parse_result_code(spelling);
    ASSERT_TRUE(code.has_value()) << spelling;
    EXPECT_EQ(to_string(*code), spelling);
    EXPECT_EQ(first_protocol_version(*code), ProtocolVersion::v1_0) << spelling;
  }
  for (const char* spelling : {"NoAction", "FrameReplayed", "MalformedMessage"}) {
    const auto code = parse_result_code(spelling);
    ASSERT_TRUE(code.has_value()) << spelling;
    EXPECT_EQ(first_protocol_version(*code), ProtocolVersion::v1_1) << spelling;
  }
  EXPECT_EQ(all_result_codes().size(), 22u);
  for (ResultCode c : all_result_codes()) EXPECT_EQ(parse_result_code(to_string(c)), c);
}

TEST(ResultCode, UnknownReceiverIsEmittedWithTheSpecMisspelling) {
  EXPECT_EQ(to_string(ResultCode::unknown_receiver), "UnkownReceiver");
  // The exact parser knows only the spec spelling; the matcher also knows the English one.
  EXPECT_EQ(parse_result_code("UnknownReceiver"), std::nullopt);
  const auto match = match_result_code("UnknownReceiver");
  ASSERT_TRUE(match.has_value());
  EXPECT_EQ(match->code, ResultCode::unknown_receiver);
  EXPECT_EQ(match->spelling, ResultCodeSpelling::alternative);
}

TEST(ResultCode, MatcherRecognisesCaseSlipsAndTheBrocaarTypo) {
  const auto lower = match_result_code("micfailed");
  ASSERT_TRUE(lower.has_value());
  EXPECT_EQ(lower->code, ResultCode::mic_failed);
  EXPECT_EQ(lower->spelling, ResultCodeSpelling::misspelled);
  // brocaar/lorawan backend.go: RoamingActDisallowed = "RoamingActDisallowedA".
  const auto typo = match_result_code("RoamingActDisallowedA");
  ASSERT_TRUE(typo.has_value());
  EXPECT_EQ(typo->code, ResultCode::roaming_act_disallowed);
  EXPECT_EQ(typo->spelling, ResultCodeSpelling::misspelled);
  EXPECT_EQ(match_result_code("Bogus"), std::nullopt);
  EXPECT_EQ(match_result_code("Success")->spelling, ResultCodeSpelling::exact);
}

TEST(ResultCode, MalformedCodeFollowsTheProtocolVersion) {
  EXPECT_EQ(malformed_code(ProtocolVersion::v1_0), ResultCode::malformed_request);
  EXPECT_EQ(malformed_code(ProtocolVersion::v1_1), ResultCode::malformed_message);
}

}  // namespace
}  // namespace joincheck::backend
