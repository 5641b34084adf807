// Encoding: exact TS002 names, hex case, omitted optionals, KEKLabel; and encode -> decode
// round trips of every message type.
#include <gtest/gtest.h>

#include "backend/codec.hpp"
#include "codec_test_support.hpp"

namespace joincheck::backend {
namespace {

using lorawan::Aes128Key;
using lorawan::Eui64;
using test::hex;

// The brocaar join-server test data (brocaar/lorawan backend/joinserver/joinserver_test.go, "valid
// join-request (LoRaWAN 1.0)": NS 010203, JoinEUI 0807060504030201, DevNonce 258), as a JoinReq.
JoinReq brocaar_join_req() {
  JoinReq r;
  r.header.sender_id = "010203";
  r.header.receiver_id = "0807060504030201";
  r.header.transaction_id = 1234;
  r.mac_version = MacVersionField{lorawan::MacVersion::v1_0_2, {}};
  r.phy_payload = hex("00010203040506070808070605040302010201cde6acb8");
  r.dev_eui = Eui64::parse("0102030405060708");
  r.dev_addr = lorawan::DevAddr::parse("01020304");
  r.dl_settings = 0x15;
  r.rx_delay = 1;
  r.cf_list = lorawan::CfList::parse("988d8468958400000000000000000000");
  return r;
}

// The 1.1 answer to it, keys wrapped under KEK 00..00 labelled "010203" (the same test file,
// "valid join-request (LoRaWAN 1.1) with KEK").
JoinAns brocaar_join_ans_1_1() {
  JoinAns a;
  a.header = make_answer_header(brocaar_join_req().header);
  a.result = Result{};
  a.phy_payload = hex("20a4c899795a42f5d16067a822c21b379af8aaa301a90d1c60d4cb792cb8eeb0a3");
  a.lifetime = 0;
  a.f_nwk_s_int_key =
      KeyEnvelope{"010203", hex("5755e6c3241ee7e6646f0ffe87787a002cf9e4b083498f00")};
  a.s_nwk_s_int_key =
      KeyEnvelope{"010203", hex("f6b0b81f3d3029125591c0b0b88d76c93b48aca4041685d3")};
  a.nwk_s_enc_key = KeyEnvelope{"010203", hex("4ee1ecdbbd9752ef6de28c41e9bdae2527cef1f2027f9df7")};
  a.app_s_key = KeyEnvelope::clear(Aes128Key::parse("01621215d1ca08febf0c602cc2ad90fa"));
  a.session_key_id = hex("016bfa7bad4756346a674981e75cdbdc");
  return a;
}

TEST(Encode, JoinReqMatchesTheBrocaarExampleByteForByte) {
  // The JoinReq above in TS002 1.0 §22.1/§22.3 JSON, on one line.
  EXPECT_EQ(encode(brocaar_join_req()),
            R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201",)"
            R"("TransactionID":1234,"MessageType":"JoinReq","MACVersion":"1.0.2",)"
            R"("PHYPayload":"00010203040506070808070605040302010201cde6acb8",)"
            R"("DevEUI":"0102030405060708","DevAddr":"01020304","DLSettings":"15","RxDelay":1,)"
            R"("CFList":"988d8468958400000000000000000000"})");
}

TEST(Encode, UpperCaseOptionWritesEveryHexValueInUpperCase) {
  const auto j = to_json(brocaar_join_ans_1_1(), {.hex_case = lorawan::HexCase::upper});
  EXPECT_EQ(j["PHYPayload"], "20A4C899795A42F5D16067A822C21B379AF8AAA301A90D1C60D4CB792CB8EEB0A3");
  EXPECT_EQ(j["FNwkSIntKey"]["AESKey"], "5755E6C3241EE7E6646F0FFE87787A002CF9E4B083498F00");
  EXPECT_EQ(j["SessionKeyID"], "016BFA7BAD4756346A674981E75CDBDC");
  EXPECT_EQ(j["FNwkSIntKey"]["KEKLabel"], "010203");  // labels are not hex
}

TEST(Encode, AbsentOptionalsAreOmittedNeverNull) {
  JoinAns a;
  a.header.sender_id = "0807060504030201";
  a.header.receiver_id = "010203";
  a.result = Result{ResultCode::mic_failed, std::nullopt};
  EXPECT_EQ(encode(a), R"({"ProtocolVersion":"1.0","SenderID":"0807060504030201",)"
                       R"("ReceiverID":"010203","TransactionID":0,"MessageType":"JoinAns",)"
                       R"("Result":{"ResultCode":"MICFailed"}})");
}

TEST(Encode, KekLabelIsWrittenEvenWhenTheKeyIsClear) {
  const auto j = to_json(brocaar_join_ans_1_1());
  EXPECT_EQ(j["AppSKey"].dump(), R"({"KEKLabel":"","AESKey":"01621215d1ca08febf0c602cc2ad90fa"})");
}

TEST(Encode, UnknownReceiverIsWrittenWithTheSpecSpelling) {
  ErrorNotif n;
  n.result = Result{ResultCode::unknown_receiver, "JoinEUI not served"};
  EXPECT_EQ(to_json(n)["Result"].dump(),
            R"({"ResultCode":"UnkownReceiver","Description":"JoinEUI not served"})");
}

TEST(Encode, MacVersionTextIsSentAsGiven) {
  JoinReq r = brocaar_join_req();
  r.mac_version = MacVersionField{lorawan::MacVersion::v1_1, "1.1.0"};
  EXPECT_EQ(to_json(r)["MACVersion"], "1.1.0");
  r.mac_version = MacVersionField{lorawan::MacVersion::v1_1, {}};
  EXPECT_EQ(to_json(r)["MACVersion"], "1.1");
}

TEST(Encode, HeaderOptionalsUseTheirTs002Names) {
  HomeNSAns a;
  a.header.protocol_version = ProtocolVersion::v1_1;
  a.header.receiver_token = hex("0a0b");
  a.header.receiver_ns_id = Eui64::parse("0000000000000001");
  a.header.hns_id = Eui64::parse("70b3d57ed0000000");
  a.header.vs_extension = nlohmann::json{{"VendorID", "EC656E"}, {"Object", {{"TTSV3", 1}}}};
  a.result = Result{};
  a.h_net_id = lorawan::NetId::parse("000013");
  const auto j = to_json(a);
  EXPECT_EQ(j["ProtocolVersion"], "1.1");
  EXPECT_EQ(j["ReceiverToken"], "0a0b");
  EXPECT_EQ(j["ReceiverNSID"], "0000000000000001");
  EXPECT_EQ(j["HNSID"], "70b3d57ed0000000");
  EXPECT_EQ(j["VSExtension"]["VendorID"], "EC656E");
  EXPECT_EQ(j["HNetID"], "000013");
  EXPECT_FALSE(j.contains("SenderToken"));
}

TEST(Encode, RefusesAHeaderWhoseMessageTypeContradictsTheMessage) {
  JoinReq r = brocaar_join_req();
  r.header.message_type = MessageType::join_ans;
  try {
    (void)encode(r);
    FAIL() << "expected CodecError";
  } catch (const CodecError& e) {
    EXPECT_STREQ(e.what(), "JoinReq: header MessageType is JoinAns, expected JoinReq");
  }
}

// One fully populated message of every type.
std::vector<Message> every_message_type() {
  const auto key = Aes128Key::parse("00112233445566778899aabbccddeeff");
  std::vector<Message> out;
  out.emplace_back(brocaar_join_req());
  out.emplace_back(brocaar_join_ans_1_1());

  RejoinReq rj;
  rj.header.protocol_version = ProtocolVersion::v1_1;
  rj.header.sender_id = "000013";
  rj.header.receiver_id = "70b3d57ed0000000";
  rj.header.transaction_id = 4294967295u;
  rj.header.sender_token = hex("01");
  rj.header.sender_ns_id = Eui64::parse("0102030405060708");
  rj.mac_version = MacVersionField{lorawan::MacVersion::v1_1, {}};
  rj.phy_payload = hex("c000130000080706050403020100000102030405");
  rj.dev_eui = Eui64::parse("0102030405060708");
  rj.dev_addr = lorawan::DevAddr::parse("26011f2a");
  rj.dl_settings = 0x95;
  rj.rx_delay = 15;
  out.emplace_back(rj);

  RejoinAns ra;
  ra.header = make_answer_header(rj.header);
  ra.result = Result{};
  ra.phy_payload = hex("20a4c899795a42f5d16067a822c21b37");
  ra.lifetime = 86400;
  ra.s_nwk_s_int_key = KeyEnvelope::clear(key);
  ra.f_nwk_s_int_key = KeyEnvelope::clear(key);
  ra.nwk_s_enc_key = KeyEnvelope::wrap(key, "ns-kek", hex("000102030405060708090a0b0c0d0e0f"));
  out.emplace_back(ra);

  AppSKeyReq sr;
  sr.header.sender_id = "as.example.com";  // an AS-ID is a free string
  sr.header.receiver_id = "0807060504030201";
  sr.header.transaction_id = 42;
  sr.dev_eui = Eui64::parse("0102030405060708");
  sr.session_key_id = hex("0102030405060708");
  out.emplace_back(sr);

  AppSKeyAns sa;
  sa.header = make_answer_header(sr.header);
  sa.result = Result{ResultCode::success, "ok"};
  sa.dev_eui = sr.dev_eui;
  sa.app_s_key = KeyEnvelope::wrap(key, "as-kek", hex("000102030405060708090a0b0c0d0e0f"));
  sa.session_key_id = sr.session_key_id;
  out.emplace_back(sa);

  HomeNSReq hr;
  hr.header.sender_id = "000013";
  hr.header.receiver_id = "0807060504030201";
  hr.dev_eui = Eui64::parse("0102030405060708");
  out.emplace_back(hr);

  HomeNSAns ha;
  ha.header = make_answer_header(hr.header);
  ha.header.vs_extension =
      nlohmann::json{{"VendorID", "EC656E"}, {"Object", {{"TTSV3", {{"HTenantID", "t"}}}}}};
  ha.result = Result{};
  ha.h_net_id = lorawan::NetId::parse("000013");
  out.emplace_back(ha);

  ErrorNotif en;
  en.header.protocol_version = ProtocolVersion::v1_1;
  en.header.sender_id = "000013";
  en.header.receiver_id = "0807060504030201";
  en.result = Result{ResultCode::frame_replayed, "DevNonce already used"};
  out.emplace_back(en);
  return out;
}

TEST(RoundTrip, EveryMessageTypeDecodesStrictlyToWhatWasEncoded) {
  const auto messages = every_message_type();
  ASSERT_EQ(messages.size(), std::variant_size_v<Message>);
  for (const Message& m : messages) {
    SCOPED_TRACE(to_string(message_type_of(m)));
    const std::string body = encode(m);
    const Decoded d = decode(body, DecodeMode::strict);
    EXPECT_EQ(d.message, m) << body;
    EXPECT_TRUE(d.observations.empty());
    EXPECT_EQ(encode(d.message), body);
  }
}

TEST(RoundTrip, UpperCaseHexDecodesToTheSameMessageWithObservations) {
  for (const Message& m : every_message_type()) {
    SCOPED_TRACE(to_string(message_type_of(m)));
    const std::string body = encode(m, {.hex_case = lorawan::HexCase::upper, .indent = 2});
    const Decoded d = decode(body, DecodeMode::observing);
    EXPECT_EQ(d.message, m) << body;
    for (const auto& o : d.observations) {
      EXPECT_EQ(o.kind, ObservationKind::uppercase_hex) << test::describe(d.observations);
    }
  }
}

TEST(RoundTrip, TypedDecodeRefusesAnotherMessageType) {
  const std::string body = encode(brocaar_join_req());
  EXPECT_EQ(decode_as<JoinReq>(body, DecodeMode::strict).message, brocaar_join_req());
  try {
    (void)decode_as<JoinAns>(body, DecodeMode::observing);
    FAIL() << "expected CodecError";
  } catch (const CodecError& e) {
    EXPECT_STREQ(e.what(), "MessageType: expected JoinAns, got JoinReq");
    EXPECT_EQ(e.path(), "MessageType");
  }
}

}  // namespace
}  // namespace joincheck::backend
