// Decoding what real peers send: reference examples, and each deviation proven to give the
// right observation (observing mode) and the right error (strict mode).
#include <gtest/gtest.h>

#include "backend/codec.hpp"
#include "codec_test_support.hpp"

namespace joincheck::backend {
namespace {

using lorawan::Eui64;
using nlohmann::ordered_json;
using test::codec_error;
using test::find;
using test::hex;
using Kind = ObservationKind;

// The brocaar join-server test data as a JoinReq (brocaar/lorawan
// backend/joinserver/joinserver_test.go, "valid join-request (LoRaWAN 1.0)").
constexpr std::string_view kBrocaarJoinReq =
    R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201",
 "TransactionID":1234,"MessageType":"JoinReq","MACVersion":"1.0.2",
 "PHYPayload":"00010203040506070808070605040302010201cde6acb8",
 "DevEUI":"0102030405060708","DevAddr":"01020304","DLSettings":"15","RxDelay":1,
 "CFList":"988d8468958400000000000000000000"})";

// A complete JoinReq/JoinAns pair from TheThingsNetwork/lorawan-stack
// pkg/interop/client_test.go "Backend Interfaces 1.0/Success".
constexpr std::string_view kTtnJoinReq =
    R"({"ProtocolVersion":"1.0","TransactionID":0,"MessageType":"JoinReq","SenderID":"42FFFF",)"
    R"("ReceiverID":"70B3D57ED0000000","MACVersion":"1.0.3",)"
    R"("PHYPayload":"00000000D07ED5B370080706050403020100003851F0B6","DevEUI":"0102030405060708",)"
    R"("DevAddr":"01020304","DLSettings":"00","RxDelay":5})";
// The JoinAns payload fields are those of the same test; its header is the answer header of
// kTtnJoinReq (the test builds it at run time).
constexpr std::string_view kTtnJoinAns =
    R"({"ProtocolVersion":"1.0","TransactionID":0,"MessageType":"JoinAns",)"
    R"("SenderID":"70B3D57ED0000000","ReceiverID":"42FFFF",)"
    R"("PHYPayload":"204D675073BB4153B23653EFA82C1F3A49E19C2A8696C9A34BF492674779E4BEFA",)"
    R"("NwkSKey":{"KEKLabel":"ns:42ffff",)"
    R"("AESKey":"EB56FE6681999F25D548CFEDD4A6528B331BB5ADE1CAF17F"},)"
    R"("AppSKey":{"KEKLabel":"as:010042",)"
    R"("AESKey":"2A195CC93CA54AD82CFB36C83D91450F3D2D523556F13E69"},)"
    R"("SessionKeyID":"016BFA7BAD4756346A674981E75CDBDC","Result":{"ResultCode":"Success"},)"
    R"("Lifetime":0})";

// A conformant JoinAns for failure cases.
constexpr std::string_view kFailedJoinAns =
    R"({"ProtocolVersion":"1.0","SenderID":"0807060504030201","ReceiverID":"010203",)"
    R"("TransactionID":1234,"MessageType":"JoinAns","Result":{"ResultCode":"MICFailed"}})";

// `base` with `change` applied to its JSON object.
template <class F>
std::string patched(std::string_view base, F&& change) {
  ordered_json j = ordered_json::parse(base);
  change(j);
  return j.dump();
}

// Decodes `body` in observing mode and expects exactly one observation of `kind` at `path`
// whose detail contains `detail`; returns the message.
Decoded observe_one(const std::string& body, Kind kind, const std::string& path,
                    const std::string& detail) {
  Decoded d = decode(body, DecodeMode::observing);
  const auto found = find(d.observations, kind, path);
  EXPECT_EQ(found.size(), 1u) << to_string(kind) << " " << path << " in\n"
                              << test::describe(d.observations);
  if (!found.empty()) {
    EXPECT_NE(found[0].detail.find(detail), std::string::npos) << found[0].detail;
  }
  return d;
}

// ---- Reference examples ---------------------------------------------------------------------

TEST(DecodeReference, BrocaarJoinReqDecodesToItsValues) {
  const auto d = decode_as<JoinReq>(kBrocaarJoinReq, DecodeMode::strict);
  const JoinReq& r = d.message;
  EXPECT_TRUE(d.observations.empty());
  EXPECT_EQ(r.header.protocol_version, ProtocolVersion::v1_0);
  EXPECT_EQ(r.header.sender_id, "010203");
  EXPECT_EQ(r.header.receiver_id, "0807060504030201");
  EXPECT_EQ(r.header.transaction_id, 1234u);
  EXPECT_EQ(r.header.message_type, MessageType::join_req);
  ASSERT_TRUE(r.mac_version.has_value());
  EXPECT_EQ(r.mac_version->version, lorawan::MacVersion::v1_0_2);
  EXPECT_EQ(r.mac_version->spelling(), "1.0.2");
  EXPECT_EQ(r.phy_payload, hex("00010203040506070808070605040302010201cde6acb8"));
  EXPECT_EQ(r.dev_eui, Eui64::parse("0102030405060708"));
  EXPECT_EQ(r.dev_addr, lorawan::DevAddr::parse("01020304"));
  ASSERT_TRUE(r.dl_settings.has_value());
  const lorawan::DlSettings dl{*r.dl_settings};
  EXPECT_EQ(dl.rx1_dr_offset(), 1);
  EXPECT_EQ(dl.rx2_data_rate(), 5);
  EXPECT_FALSE(dl.opt_neg());
  EXPECT_EQ(r.rx_delay, 1);
  EXPECT_EQ(r.cf_list, lorawan::CfList::parse("988d8468958400000000000000000000"));
}

TEST(DecodeReference, TtnJoinReqIsReadWithUpperCaseObservations) {
  const auto d = decode_as<JoinReq>(kTtnJoinReq, DecodeMode::observing);
  EXPECT_EQ(d.message.header.sender_id, "42FFFF");  // IDs are kept as sent
  EXPECT_EQ(d.message.header.transaction_id, 0u);
  EXPECT_EQ(d.message.phy_payload, hex("00000000d07ed5b370080706050403020100003851f0b6"));
  EXPECT_EQ(d.message.mac_version->version, lorawan::MacVersion::v1_0_3);
  EXPECT_EQ(d.message.rx_delay, 5);
  ASSERT_EQ(d.observations.size(), 3u) << test::describe(d.observations);
  EXPECT_EQ(find(d.observations, Kind::uppercase_hex, "SenderID").size(), 1u);
  EXPECT_EQ(find(d.observations, Kind::uppercase_hex, "ReceiverID").size(), 1u);
  const auto phy = find(d.observations, Kind::uppercase_hex, "PHYPayload");
  ASSERT_EQ(phy.size(), 1u);
  EXPECT_EQ(
      phy[0].detail,
      "expected lower-case hex, got upper case \"00000000D07ED5B370080706050403020100003851F0B6\"");
}

TEST(DecodeReference, TtnJoinReqFailsStrictDecodingNamingTheField) {
  EXPECT_EQ(codec_error(kTtnJoinReq, DecodeMode::strict),
            "JoinReq.SenderID: expected lower-case hex, got upper case \"42FFFF\"");
  const std::string lower_ids = patched(kTtnJoinReq, [](ordered_json& j) {
    j["SenderID"] = "42ffff";
    j["ReceiverID"] = "70b3d57ed0000000";
  });
  EXPECT_EQ(codec_error(lower_ids, DecodeMode::strict),
            "JoinReq.PHYPayload: expected lower-case hex, got upper case "
            "\"00000000D07ED5B370080706050403020100003851F0B6\"");
}

TEST(DecodeReference, TtnJoinAnsIsReadWithUpperCaseObservations) {
  const auto d = decode_as<JoinAns>(kTtnJoinAns, DecodeMode::observing);
  const JoinAns& a = d.message;
  EXPECT_EQ(a.result, (Result{ResultCode::success, std::nullopt}));
  EXPECT_EQ(a.lifetime, 0u);
  EXPECT_EQ(a.nwk_s_key,
            (KeyEnvelope{"ns:42ffff", hex("eb56fe6681999f25d548cfedd4a6528b331bb5ade1caf17f")}));
  EXPECT_EQ(a.app_s_key,
            (KeyEnvelope{"as:010042", hex("2a195cc93ca54ad82cfb36c83d91450f3d2d523556f13e69")}));
  EXPECT_EQ(a.session_key_id, hex("016bfa7bad4756346a674981e75cdbdc"));
  EXPECT_TRUE(missing_fields(a, lorawan::MacVersion::v1_0_3).empty());
  std::vector<std::string> upper;
  for (const auto& o : d.observations) {
    EXPECT_EQ(o.kind, Kind::uppercase_hex) << o.path << ": " << o.detail;
    upper.push_back(o.path);
  }
  EXPECT_EQ(upper, (std::vector<std::string>{"SenderID", "ReceiverID", "PHYPayload",
                                             "NwkSKey.AESKey", "AppSKey.AESKey", "SessionKeyID"}));
  EXPECT_EQ(codec_error(kTtnJoinAns, DecodeMode::strict),
            "JoinAns.SenderID: expected lower-case hex, got upper case \"70B3D57ED0000000\"");
}

// ---- Absent, null, unknown and duplicate fields ---------------------------------------------

TEST(DecodeFields, NullIsTreatedAsAbsent) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["CFList"] = nullptr; });
  const auto d = observe_one(body, Kind::null_field, "CFList", "got null (treated as absent)");
  EXPECT_FALSE(std::get<JoinReq>(d.message).cf_list.has_value());
  EXPECT_EQ(d.observations.size(), 1u);
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinReq.CFList: expected a value or no field at all, got null");
}

TEST(DecodeFields, NullMandatoryFieldIsReportedOnceAsNull) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["DevEUI"] = nullptr; });
  const auto d = observe_one(body, Kind::null_field, "DevEUI", "got null");
  EXPECT_TRUE(find(d.observations, Kind::missing_field, "DevEUI").empty());
  EXPECT_FALSE(std::get<JoinReq>(d.message).dev_eui.has_value());
}

TEST(DecodeFields, NullDescriptionFromSerdeIsObserved) {
  // ChirpStack serialised absent optionals as null before PR 316.
  const auto body = patched(kFailedJoinAns, [](ordered_json& j) {
    j["Result"]["Description"] = nullptr;
    j["SenderToken"] = nullptr;
  });
  const auto d = observe_one(body, Kind::null_field, "Result.Description", "got null");
  EXPECT_EQ(find(d.observations, Kind::null_field, "SenderToken").size(), 1u);
  EXPECT_EQ(std::get<JoinAns>(d.message).result, (Result{ResultCode::mic_failed, std::nullopt}));
}

TEST(DecodeFields, MissingMandatoryFieldIsObservedOrRefused) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j.erase("DevAddr"); });
  const auto d = observe_one(body, Kind::missing_field, "DevAddr", "missing (mandatory)");
  EXPECT_EQ(d.observations.size(), 1u);
  EXPECT_EQ(codec_error(body, DecodeMode::strict), "JoinReq.DevAddr: missing (mandatory)");
}

TEST(DecodeFields, MissingHeaderFieldKeepsItsDefault) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j.erase("TransactionID"); });
  const auto d = observe_one(body, Kind::missing_field, "TransactionID", "left at its default");
  EXPECT_EQ(header_of(d.message).transaction_id, 0u);
  EXPECT_EQ(codec_error(body, DecodeMode::strict), "JoinReq.TransactionID: missing (mandatory)");
}

TEST(DecodeFields, SuccessWithoutPhyPayloadMissesAnMsField) {
  const auto body = patched(kTtnJoinAns, [](ordered_json& j) { j.erase("PHYPayload"); });
  observe_one(body, Kind::missing_field, "PHYPayload",
              "missing (mandatory when Result is Success)");
  const auto lower = patched(body, [](ordered_json& j) {
    j["SenderID"] = "70b3d57ed0000000";
    j["ReceiverID"] = "42ffff";
    j["NwkSKey"]["AESKey"] = "eb56fe6681999f25d548cfedd4a6528b331bb5ade1caf17f";
    j["AppSKey"]["AESKey"] = "2a195cc93ca54ad82cfb36c83d91450f3d2d523556f13e69";
    j["SessionKeyID"] = "016bfa7bad4756346a674981e75cdbdc";
  });
  EXPECT_EQ(codec_error(lower, DecodeMode::strict),
            "JoinAns.PHYPayload: missing (mandatory when Result is Success)");
}

TEST(DecodeFields, FailedJoinAnsWithOnlyResultIsConformant) {
  const auto d = decode(kFailedJoinAns, DecodeMode::strict);
  EXPECT_TRUE(d.observations.empty());
  EXPECT_EQ(std::get<JoinAns>(d.message).result->code, ResultCode::mic_failed);
}

TEST(DecodeFields, UnknownFieldsAreIgnoredAndObserved) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["NetID"] = "010203"; });
  const auto d = observe_one(body, Kind::unknown_field, "NetID",
                             "not a field of JoinReq; value string \"010203\" (ignored)");
  EXPECT_EQ(std::get<JoinReq>(d.message).dev_eui, Eui64::parse("0102030405060708"));
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinReq.NetID: not a field of JoinReq; value string \"010203\"");
}

TEST(DecodeFields, UnknownFieldsInsideNestedObjectsHaveTheirPath) {
  const auto body = patched(kFailedJoinAns, [](ordered_json& j) { j["Result"]["Code"] = 5; });
  observe_one(body, Kind::unknown_field, "Result.Code", "not a field of Result");
  const auto env = patched(kTtnJoinAns, [](ordered_json& j) { j["AppSKey"]["Algorithm"] = "kw"; });
  observe_one(env, Kind::unknown_field, "AppSKey.Algorithm", "not a field of KeyEnvelope");
}

TEST(DecodeFields, DuplicateKeysAreObservedWithTheLastValueUsed) {
  const std::string body(R"({"ProtocolVersion":"1.0","SenderID":"0807060504030201",)"
                         R"("ReceiverID":"010203","TransactionID":1,"MessageType":"JoinAns",)"
                         R"("Result":{"ResultCode":"Success","ResultCode":"MICFailed"}})");
  const auto d = observe_one(body, Kind::duplicate_field, "Result.ResultCode",
                             "appears more than once in its object (the last value is used)");
  EXPECT_EQ(std::get<JoinAns>(d.message).result->code, ResultCode::mic_failed);
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinAns.Result.ResultCode: appears more than once in its object");
}

TEST(DecodeFields, VsExtensionIsKeptAsReceived) {
  // TTS HomeNSAns extension (TheThingsNetwork/lorawan-stack pkg/interop/extensions.go).
  const auto body = patched(kFailedJoinAns, [](ordered_json& j) {
    j["VSExtension"] = {{"VendorID", "EC656E"}, {"Object", {{"TTSV3", {{"HTenantID", "x"}}}}}};
  });
  const auto d = decode(body, DecodeMode::strict);
  const auto& ext = header_of(d.message).vs_extension;
  ASSERT_TRUE(ext.has_value());
  EXPECT_EQ((*ext)["Object"]["TTSV3"]["HTenantID"], "x");
  const auto odd = patched(kFailedJoinAns, [](ordered_json& j) { j["VSExtension"] = "EC656E"; });
  const auto o = observe_one(odd, Kind::wrong_json_type, "VSExtension", "kept as received");
  EXPECT_EQ(*header_of(o.message).vs_extension, "EC656E");
}

// ---- Hex ------------------------------------------------------------------------------------

TEST(DecodeHex, ZeroXPrefixIsStrippedAndObserved) {
  const auto body =
      patched(kBrocaarJoinReq, [](ordered_json& j) { j["DevEUI"] = "0x0102030405060708"; });
  const auto d = observe_one(body, Kind::hex_prefix_0x, "DevEUI",
                             "expected hex without a 0x prefix, got \"0x0102030405060708\" "
                             "(prefix stripped)");
  EXPECT_EQ(std::get<JoinReq>(d.message).dev_eui, Eui64::parse("0102030405060708"));
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinReq.DevEUI: expected hex without a 0x prefix, got \"0x0102030405060708\"");
  // "0X" too, which the studied implementations do not strip.
  const auto upper_x = patched(kBrocaarJoinReq, [](ordered_json& j) { j["DLSettings"] = "0X15"; });
  const auto u = observe_one(upper_x, Kind::hex_prefix_0x, "DLSettings", "\"0X15\"");
  EXPECT_EQ(std::get<JoinReq>(u.message).dl_settings, 0x15);
}

TEST(DecodeHex, ZeroXPrefixOnAnIdIsObservedButKept) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["SenderID"] = "0x010203"; });
  const auto d = observe_one(body, Kind::hex_prefix_0x, "SenderID", "kept as sent");
  EXPECT_EQ(header_of(d.message).sender_id, "0x010203");
}

TEST(DecodeHex, MixedCaseIsObserved) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) {
    j["CFList"] = "988D8468958400000000000000000000";
    j["PHYPayload"] = "00010203040506070808070605040302010201CDe6acb8";
  });
  const auto d = observe_one(body, Kind::mixed_case_hex, "PHYPayload",
                             "expected lower-case hex, got mixed case");
  EXPECT_EQ(find(d.observations, Kind::uppercase_hex, "CFList").size(), 1u);
}

TEST(DecodeHex, WrongLengthIsInvalidAndTheFieldAbsent) {
  const auto body =
      patched(kBrocaarJoinReq, [](ordered_json& j) { j["DevEUI"] = "010203040506070"; });
  const auto d = observe_one(body, Kind::invalid_value, "DevEUI",
                             "expected 16 hex digits (8 bytes), got 15 characters "
                             "\"010203040506070\" (treated as absent)");
  EXPECT_FALSE(std::get<JoinReq>(d.message).dev_eui.has_value());
  EXPECT_TRUE(find(d.observations, Kind::missing_field, "DevEUI").empty());
  EXPECT_EQ(
      codec_error(body, DecodeMode::strict),
      "JoinReq.DevEUI: expected 16 hex digits (8 bytes), got 15 characters \"010203040506070\"");
}

TEST(DecodeHex, NonHexCharacterIsInvalid) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["DevAddr"] = "0102030g"; });
  observe_one(body, Kind::invalid_value, "DevAddr", "found 'g' at position 7");
  const auto odd = patched(kBrocaarJoinReq, [](ordered_json& j) { j["PHYPayload"] = "001"; });
  observe_one(odd, Kind::invalid_value, "PHYPayload", "expected an even number of hex digits");
}

TEST(DecodeHex, CfListMustBe16Bytes) {
  const auto body =
      patched(kBrocaarJoinReq, [](ordered_json& j) { j["CFList"] = "988d846895840000"; });
  EXPECT_EQ(
      codec_error(body, DecodeMode::strict),
      "JoinReq.CFList: expected 32 hex digits (16 bytes), got 16 characters \"988d846895840000\"");
}

TEST(DecodeHex, HexAsANumberIsTheWrongType) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["DLSettings"] = 21; });
  const auto d = observe_one(body, Kind::wrong_json_type, "DLSettings",
                             "expected a hex string, got number 21 (treated as absent)");
  EXPECT_FALSE(std::get<JoinReq>(d.message).dl_settings.has_value());
}

TEST(DecodeHex, KeyEnvelopeSizeMustMatchItsLabel) {
  const auto clear24 = patched(kTtnJoinAns, [](ordered_json& j) { j["NwkSKey"]["KEKLabel"] = ""; });
  const auto d = observe_one(clear24, Kind::invalid_value, "NwkSKey.AESKey",
                             "expected 32 hex digits (16 bytes) for a clear key, as KEKLabel is "
                             "empty, got 24 bytes");
  EXPECT_FALSE(std::get<JoinAns>(d.message).nwk_s_key.has_value());
  const auto wrapped16 = patched(kTtnJoinAns, [](ordered_json& j) {
    j["AppSKey"]["AESKey"] = "00112233445566778899AABBCCDDEEFF";
  });
  observe_one(wrapped16, Kind::invalid_value, "AppSKey.AESKey",
              "expected 48 hex digits (24 bytes) for an RFC 3394 wrapped key, as KEKLabel is "
              "\"as:010042\", got 16 bytes");
}

TEST(DecodeHex, AbsentKekLabelMeansAClearKey) {
  // TS002 1.0 §21: no KEKLabel, key in clear. Conformant, so not an observation.
  const auto body = patched(kFailedJoinAns, [](ordered_json& j) {
    j["Result"]["ResultCode"] = "Success";
    j["PHYPayload"] = "20";
    j["Lifetime"] = 0;
    j["NwkSKey"] = {{"AESKey", "00112233445566778899aabbccddeeff"}};
    j["SessionKeyID"] = "01";
  });
  const auto d = decode_as<JoinAns>(body, DecodeMode::strict);
  EXPECT_TRUE(d.message.nwk_s_key->is_clear());
  EXPECT_EQ(d.message.nwk_s_key->aes_key, hex("00112233445566778899aabbccddeeff"));
}

// ---- Result codes ---------------------------------------------------------------------------

TEST(DecodeResult, UnknownReceiverSpellingIsAcceptedAndObserved) {
  const auto body = patched(kFailedJoinAns,
                            [](ordered_json& j) { j["Result"]["ResultCode"] = "UnknownReceiver"; });
  const auto d =
      observe_one(body, Kind::alternative_result_code_spelling, "Result.ResultCode",
                  "expected the spec spelling \"UnkownReceiver\", got \"UnknownReceiver\"");
  EXPECT_EQ(std::get<JoinAns>(d.message).result->code, ResultCode::unknown_receiver);
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinAns.Result.ResultCode: expected the spec spelling \"UnkownReceiver\", got "
            "\"UnknownReceiver\"");
  // The spec spelling itself is conformant.
  const auto spec = patched(kFailedJoinAns,
                            [](ordered_json& j) { j["Result"]["ResultCode"] = "UnkownReceiver"; });
  EXPECT_EQ(std::get<JoinAns>(decode(spec, DecodeMode::strict).message).result->code,
            ResultCode::unknown_receiver);
}

TEST(DecodeResult, MisspelledCodeIsReadAndObserved) {
  const auto body = patched(
      kFailedJoinAns, [](ordered_json& j) { j["Result"]["ResultCode"] = "RoamingActDisallowedA"; });
  const auto d = observe_one(body, Kind::misspelled_result_code, "Result.ResultCode",
                             "expected \"RoamingActDisallowed\", got \"RoamingActDisallowedA\"");
  EXPECT_EQ(std::get<JoinAns>(d.message).result->code, ResultCode::roaming_act_disallowed);
}

TEST(DecodeResult, UnknownCodeLeavesResultAbsent) {
  const auto body = patched(kFailedJoinAns,
                            [](ordered_json& j) { j["Result"]["ResultCode"] = "DevNonceReplay"; });
  const auto d = observe_one(body, Kind::unknown_result_code, "Result.ResultCode",
                             "got \"DevNonceReplay\" (Result treated as absent)");
  EXPECT_FALSE(std::get<JoinAns>(d.message).result.has_value());
  EXPECT_TRUE(find(d.observations, Kind::missing_field, "Result").empty());
  EXPECT_EQ(d.observations.size(), 1u);
}

TEST(DecodeResult, MissingResultCodeIsNamed) {
  const auto body = patched(kFailedJoinAns, [](ordered_json& j) {
    j["Result"] = {{"Description", "x"}};
  });
  observe_one(body, Kind::missing_field, "Result.ResultCode", "missing (mandatory)");
  const auto none = patched(kFailedJoinAns, [](ordered_json& j) { j.erase("Result"); });
  EXPECT_EQ(codec_error(none, DecodeMode::strict), "JoinAns.Result: missing (mandatory)");
}

TEST(DecodeResult, BareStringResultIsReadAsItsCode) {
  const auto body = patched(kFailedJoinAns, [](ordered_json& j) { j["Result"] = "MICFailed"; });
  const auto d = observe_one(body, Kind::wrong_json_type, "Result", "read as the ResultCode");
  EXPECT_EQ(std::get<JoinAns>(d.message).result->code, ResultCode::mic_failed);
}

// ---- Numbers and MACVersion -----------------------------------------------------------------

TEST(DecodeNumber, RxDelayAsStringIsCoercedAndObserved) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["RxDelay"] = "1"; });
  const auto d = observe_one(body, Kind::wrong_json_type, "RxDelay",
                             "expected a JSON number, got string \"1\" (coerced to 1)");
  EXPECT_EQ(std::get<JoinReq>(d.message).rx_delay, 1);
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinReq.RxDelay: expected a JSON number, got string \"1\"");
}

TEST(DecodeNumber, NonNumericStringIsNotCoerced) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["RxDelay"] = "one"; });
  const auto d = observe_one(body, Kind::wrong_json_type, "RxDelay", "(treated as absent)");
  EXPECT_FALSE(std::get<JoinReq>(d.message).rx_delay.has_value());
}

TEST(DecodeNumber, IntegralFloatIsCoercedAndObserved) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["RxDelay"] = 1.0; });
  const auto d = observe_one(body, Kind::wrong_json_type, "RxDelay",
                             "expected an integer from 0 to 255, got number 1.0 (coerced to 1)");
  EXPECT_EQ(std::get<JoinReq>(d.message).rx_delay, 1);
}

TEST(DecodeNumber, RxDelayAboveAByteIsInvalid) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["RxDelay"] = 256; });
  observe_one(body, Kind::invalid_value, "RxDelay",
              "expected an integer from 0 to 255, got number 256 (treated as absent)");
}

TEST(DecodeNumber, TransactionIdAsStringIsCoerced) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["TransactionID"] = "1234"; });
  const auto d = observe_one(body, Kind::wrong_json_type, "TransactionID", "(coerced to 1234)");
  EXPECT_EQ(header_of(d.message).transaction_id, 1234u);
}

TEST(DecodeNumber, TransactionIdAbove32BitsIsInvalid) {
  const auto body =
      patched(kBrocaarJoinReq, [](ordered_json& j) { j["TransactionID"] = 4294967296u; });
  const auto d = observe_one(body, Kind::invalid_value, "TransactionID",
                             "expected an integer from 0 to 4294967295, got number 4294967296");
  EXPECT_EQ(header_of(d.message).transaction_id, 0u);
  EXPECT_EQ(
      codec_error(body, DecodeMode::strict),
      "JoinReq.TransactionID: expected an integer from 0 to 4294967295, got number 4294967296");
}

TEST(DecodeNumber, EnormousTransactionIdIsInvalidNotTruncated) {
  // Beyond 2^64 nlohmann parses it as a double; it must not wrap to some small id.
  std::string body(kBrocaarJoinReq);
  body.replace(body.find("1234"), 4, "123456789012345678901234567890");
  const auto d =
      observe_one(body, Kind::invalid_value, "TransactionID",
                  "expected an integer from 0 to 4294967295, got number 1.2345678901234568e+29");
  EXPECT_EQ(header_of(d.message).transaction_id, 0u);
}

TEST(DecodeNumber, NegativeTransactionIdIsInvalid) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["TransactionID"] = -1; });
  observe_one(body, Kind::invalid_value, "TransactionID", "got number -1");
}

TEST(DecodeMacVersion, PatchLevelSpellingsAreReadAndObserved) {
  for (const auto& [text, version] : {std::pair{"1.1.0", lorawan::MacVersion::v1_1},
                                      std::pair{"1.0.0", lorawan::MacVersion::v1_0_0}}) {
    SCOPED_TRACE(text);
    const std::string spelling = text;  // clang 14 does not capture structured bindings
    const auto body = patched(kBrocaarJoinReq, [&](ordered_json& j) { j["MACVersion"] = spelling; });
    const auto d = observe_one(body, Kind::non_canonical_mac_version, "MACVersion", text);
    const auto& mv = std::get<JoinReq>(d.message).mac_version;
    ASSERT_TRUE(mv.has_value());
    EXPECT_EQ(mv->version, version);
    EXPECT_EQ(mv->spelling(), text);
    // Re-encoding sends the spelling that was received.
    EXPECT_EQ(to_json(d.message)["MACVersion"], text);
  }
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["MACVersion"] = "1.1.0"; });
  EXPECT_EQ(codec_error(body, DecodeMode::strict),
            "JoinReq.MACVersion: expected \"1.1\", got \"1.1.0\"");
}

TEST(DecodeMacVersion, UnknownVersionIsInvalid) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["MACVersion"] = "1.2"; });
  const auto d = observe_one(body, Kind::invalid_value, "MACVersion", "got \"1.2\"");
  EXPECT_FALSE(std::get<JoinReq>(d.message).mac_version.has_value());
}

TEST(DecodeHeader, UnsupportedProtocolVersionIsNamed) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) { j["ProtocolVersion"] = "2.0"; });
  observe_one(body, Kind::invalid_value, "ProtocolVersion",
              "expected \"1.0\" or \"1.1\", got \"2.0\"");
  try {
    (void)decode(body, DecodeMode::strict);
    FAIL() << "expected CodecError";
  } catch (const CodecError& e) {
    // A JS maps this path to InvalidProtocolVersion rather than MalformedRequest.
    EXPECT_EQ(e.path(), "ProtocolVersion");
  }
}

TEST(DecodeHeader, AsIdIsAFreeString) {
  const auto body =
      patched(kBrocaarJoinReq, [](ordered_json& j) { j["SenderID"] = "AS-Server.Example"; });
  EXPECT_EQ(header_of(decode(body, DecodeMode::strict).message).sender_id, "AS-Server.Example");
}

TEST(DecodeHeader, Ts011NsidsAreEuis) {
  const auto body = patched(kBrocaarJoinReq, [](ordered_json& j) {
    j["ProtocolVersion"] = "1.1";
    j["SenderNSID"] = "0000000000000001";
  });
  EXPECT_EQ(header_of(decode(body, DecodeMode::strict).message).sender_ns_id,
            Eui64::parse("0000000000000001"));
  // An early TTS draft sent a host name (TheThingsNetwork/lorawan-stack pull request 4726).
  const auto host = patched(body, [](ordered_json& j) { j["SenderNSID"] = "localhost"; });
  observe_one(host, Kind::invalid_value, "SenderNSID", "expected 16 hex digits (8 bytes)");
}

// ---- Bodies that are not messages -----------------------------------------------------------

TEST(DecodeBody, TruncatedJsonIsAnErrorWithTheByteOffset) {
  const std::string body(kBrocaarJoinReq.substr(0, 40));
  for (DecodeMode mode : {DecodeMode::strict, DecodeMode::observing}) {
    const std::string error = codec_error(body, mode);
    EXPECT_EQ(error.rfind("body: not valid JSON (at byte 41): syntax error while parsing", 0), 0u)
        << error;
  }
}

TEST(DecodeBody, InvalidJsonNamesWhereItBroke) {
  EXPECT_EQ(codec_error(R"({"MessageType":"JoinReq",})", DecodeMode::observing),
            "body: not valid JSON (at byte 26): syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  EXPECT_EQ(codec_error("", DecodeMode::observing).rfind("body: not valid JSON (at byte 1)", 0),
            0u);
  EXPECT_EQ(codec_error(R"({"RxDelay":1e999})", DecodeMode::observing),
            "body: not valid JSON: number overflow parsing '1e999'");
}

TEST(DecodeBody, ArrayBodyIsNotAMessage) {
  for (DecodeMode mode : {DecodeMode::strict, DecodeMode::observing}) {
    EXPECT_EQ(codec_error(R"([{"MessageType":"JoinReq"}])", mode),
              "body: expected a JSON object, got an array of 1 element");
  }
  EXPECT_EQ(codec_error("null", DecodeMode::observing), "body: expected a JSON object, got null");
}

TEST(DecodeBody, UnknownMessageTypeIsNamed) {
  try {
    (void)decode(R"({"ProtocolVersion":"1.0","MessageType":"PRStartReq"})", DecodeMode::observing);
    FAIL() << "expected CodecError";
  } catch (const CodecError& e) {
    EXPECT_EQ(e.path(), "MessageType");
    EXPECT_EQ(std::string(e.what()).rfind("MessageType: unknown message type \"PRStartReq\" "
                                          "(expected one of JoinReq, JoinAns,",
                                          0),
              0u)
        << e.what();
  }
}

TEST(DecodeBody, MissingOrNonStringMessageTypeIsAnError) {
  EXPECT_EQ(codec_error(R"({"ProtocolVersion":"1.0"})", DecodeMode::observing),
            "MessageType: missing; it is mandatory and says which message this is");
  EXPECT_EQ(codec_error(R"({"MessageType":3})", DecodeMode::observing),
            "MessageType: expected a JSON string, got number 3");
}

TEST(DecodeBody, BrocaarBareResultBodyIsNotAMessage) {
  // The brocaar JS answers an unparsable request with a bare Result object (brocaar/lorawan
  // backend/joinserver/joinserver.go; docs/checks.md#http).
  EXPECT_EQ(codec_error(R"({"ResultCode":"Other","Description":"x"})", DecodeMode::observing),
            "MessageType: missing; it is mandatory and says which message this is");
}

}  // namespace
}  // namespace joincheck::backend
