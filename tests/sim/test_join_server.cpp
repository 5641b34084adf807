// The reference Join Server over real sockets: every message, every result code, header rules,
// KEKs, DevNonce rules, async answers and restart without replay.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "backend/http_server.hpp"
#include "js_test_support.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using namespace test_support;
using backend::ResultCode;

TEST(JoinServer, Join10AnswersWithVerifiableKeysAndHeaderRules) {
  JsFixture f;
  const backend::JoinReq req = join_req(kDev103, 258);
  const auto ans = f.ask<backend::JoinAns>(req);
  check_join_ans(ans, req, kDev103);
  EXPECT_EQ(ans.header.protocol_version, backend::ProtocolVersion::v1_0);
  EXPECT_EQ(ans.header.transaction_id, 4242u);
  EXPECT_EQ(ans.header.sender_id, kDev103.join_eui.hex());
  EXPECT_EQ(ans.header.receiver_id, "010203");
  EXPECT_EQ(ans.header.receiver_token, (Bytes{0xab, 0xcd}));
  EXPECT_EQ(ans.nwk_s_key->kek_label, "ns-kek");
  EXPECT_EQ(ans.app_s_key->kek_label, "as-kek");
  EXPECT_EQ(ans.lifetime, 86400u);
  EXPECT_TRUE(ans.session_key_id.has_value());
}

TEST(JoinServer, Join11WithProtocol11EchoesNsid) {
  JsFixture f;
  JoinReqOptions o;
  o.protocol = backend::ProtocolVersion::v1_1;
  const backend::JoinReq req = join_req(kDev11, 1, o);
  const auto ans = f.ask<backend::JoinAns>(req);
  const OpenedJoinAccept opened = check_join_ans(ans, req, kDev11);
  EXPECT_EQ(opened.mode, JoinMode::lorawan_1_1);
  EXPECT_EQ(ans.header.protocol_version, backend::ProtocolVersion::v1_1);
  EXPECT_EQ(ans.header.receiver_ns_id, kNsId);
}

// A 1.1 device through a 1.0 network: MACVersion 1.0.x, OptNeg=0, NwkKey in the 1.0 formulas.
TEST(JoinServer, Device11ServedAs10UsesOptNeg0) {
  JsFixture f;
  JoinReqOptions o;
  o.mac_version = MacVersion::v1_0_3;
  const backend::JoinReq req = join_req(kDev11, 1, o);
  const auto ans = f.ask<backend::JoinAns>(req);
  const OpenedJoinAccept opened = check_join_ans(ans, req, kDev11);
  EXPECT_EQ(opened.mode, JoinMode::lorawan_1_1_opt_neg_0);
  EXPECT_TRUE(ans.nwk_s_key.has_value());
}

TEST(JoinServer, ClearKeysWithEmptyLabelWhenNoKek) {
  auto o = default_options();
  o.js.net_ids.clear();  // any NetID, no KEK
  o.js.as_kek_label.clear();
  o.js.as_kek.clear();
  JsFixture f(o);
  const backend::JoinReq req = join_req(kDev103, 1);
  const auto ans = f.ask<backend::JoinAns>(req);
  EXPECT_EQ(ans.nwk_s_key->kek_label, "");
  EXPECT_EQ(ans.nwk_s_key->aes_key.size(), 16u);
  check_join_ans(ans, req, kDev103);
}

TEST(JoinServer, RefusesClearKeysWhenConfigured) {
  auto o = default_options();
  o.js.net_ids.front().kek_label.clear();
  o.js.net_ids.front().kek.clear();
  o.js.refuse_clear_keys = true;
  JsFixture f(o);
  const auto ans = f.join(kDev103, 1);
  EXPECT_EQ(code_of(ans.result), "JoinReqFailed");
  EXPECT_FALSE(ans.phy_payload.has_value());
  // The refused join did not spend the DevNonce.
  f.js().store().flush();
  EXPECT_FALSE(f.js().store().find(kDev103.dev_eui)->state.last_dev_nonce.has_value());
}

TEST(JoinServer, JoinNonceIncreasesPerDevice) {
  JsFixture f;
  std::uint32_t last = 0;
  for (std::uint16_t n = 1; n <= 5; ++n) {
    const backend::JoinReq req = join_req(kDev104, n);
    const auto opened = check_join_ans(f.ask<backend::JoinAns>(req), req, kDev104);
    EXPECT_GT(opened.accept.join_nonce.value(), last);
    last = opened.accept.join_nonce.value();
  }
}

TEST(JoinServer, AppSKeyReqReturnsTheJoinAnsKey) {
  JsFixture f;
  const backend::JoinReq req = join_req(kDev11, 7);
  const auto ans = f.ask<backend::JoinAns>(req);
  const OpenedJoinAccept opened = check_join_ans(ans, req, kDev11);
  backend::AppSKeyReq ask = app_s_key_req(kDev11, ans.session_key_id);
  const auto a = f.ask<backend::AppSKeyAns>(ask);
  ASSERT_EQ(code_of(a.result), "Success");
  EXPECT_EQ(a.app_s_key->unwrap(backend::KekTable{{"as-kek", kAsKek}}), opened.keys->app_s_key);
  EXPECT_EQ(a.session_key_id, ans.session_key_id);
  EXPECT_EQ(a.dev_eui, kDev11.dev_eui);
  EXPECT_EQ(a.header.receiver_id, "as-1");

  // A SessionKeyID this JS never issued, or another device's, gets no key.
  auto forged = ask;
  ASSERT_TRUE(ans.session_key_id.has_value());
  Bytes id = *ans.session_key_id;
  id.at(3) ^= 1;
  forged.session_key_id = id;
  EXPECT_EQ(code_of(f.ask<backend::AppSKeyAns>(forged).result), "UnknownDevEUI");
  auto other = ask;
  other.dev_eui = kDev104.dev_eui;
  EXPECT_EQ(code_of(f.ask<backend::AppSKeyAns>(other).result), "UnknownDevEUI");
}

TEST(JoinServer, HomeNSReqAnswersTheHomeNetId) {
  JsFixture f;
  backend::HomeNSReq r;
  r.header.protocol_version = backend::ProtocolVersion::v1_1;
  r.header.sender_id = "010203";
  r.header.sender_ns_id = kNsId;
  r.header.receiver_id = kDev103.join_eui.hex();
  r.dev_eui = kDev103.dev_eui;
  const auto a = f.ask<backend::HomeNSAns>(r);
  EXPECT_EQ(code_of(a.result), "Success");
  EXPECT_EQ(a.h_net_id, NetId::parse("000013"));
  EXPECT_EQ(a.header.hns_id, Eui64::parse("0000000000000013"));
  EXPECT_EQ(a.header.receiver_ns_id, kNsId);
  r.dev_eui = Eui64::parse("ffffffffffffffff");
  EXPECT_EQ(code_of(f.ask<backend::HomeNSAns>(r).result), "UnknownDevEUI");
}

TEST(JoinServer, HomeNSReqWithoutAHomeNetIdIsActivationDisallowed) {
  auto o = default_options();
  o.js.home_net_id.reset();
  JsFixture f(o);
  backend::HomeNSReq r;
  r.header.sender_id = "010203";
  r.header.receiver_id = kDev103.join_eui.hex();
  r.dev_eui = kDev103.dev_eui;
  EXPECT_EQ(code_of(f.ask<backend::HomeNSAns>(r).result), "ActivationDisallowed");
}

// ---- result codes (TS002 1.0 §8, §22.1, §22.4; docs/checks.md#result-codes) ----

TEST(JoinServer, MicFailed) {
  JsFixture f;
  JoinReqOptions o;
  o.mic_key = Aes128Key::parse("ffffffffffffffffffffffffffffffff");
  const auto ans = f.join(kDev103, 3, o);
  EXPECT_EQ(code_of(ans.result), "MICFailed");
  EXPECT_FALSE(ans.phy_payload.has_value());
}

TEST(JoinServer, UnknownDevEui) {
  JsFixture f;
  FleetDevice stranger = kDev103;
  stranger.dev_eui = Eui64::parse("00000000000000aa");
  EXPECT_EQ(code_of(f.join(stranger, 1).result), "UnknownDevEUI");
}

TEST(JoinServer, UnknownSender) {
  JsFixture f;
  JoinReqOptions o;
  o.sender_id = "0000ff";
  EXPECT_EQ(code_of(f.join(kDev103, 1, o).result), "UnknownSender");
  o.sender_id = "not-a-netid";
  EXPECT_EQ(code_of(f.join(kDev103, 2, o).result), "UnknownSender");
}

TEST(JoinServer, UnknownReceiverWithTheSpecSpelling) {
  JsFixture f;
  JoinReqOptions o;
  o.receiver_id = "1111111111111111";
  const auto r = f.post(join_req(kDev103, 1, o));
  EXPECT_NE(r.body.find("\"UnkownReceiver\""), std::string::npos) << r.body;
}

TEST(JoinServer, InvalidProtocolVersion) {
  JsFixture f;
  std::string body = backend::encode(join_req(kDev103, 1));
  body.replace(body.find("\"1.0\""), 5, "\"2.0\"");
  const auto r = f.post_raw(body);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("InvalidProtocolVersion"), std::string::npos) << r.body;
}

TEST(JoinServer, MalformedRequestAndMalformedMessage) {
  JsFixture f;
  auto req = join_req(kDev103, 1);
  req.dev_addr.reset();
  auto ans = f.ask<backend::JoinAns>(req);
  EXPECT_EQ(code_of(ans.result), "MalformedRequest");
  EXPECT_NE(ans.result->description->find("DevAddr"), std::string::npos);

  JoinReqOptions o;
  o.protocol = backend::ProtocolVersion::v1_1;
  req = join_req(kDev11, 1, o);
  req.rx_delay.reset();
  EXPECT_EQ(code_of(f.ask<backend::JoinAns>(req).result), "MalformedMessage");

  // Not JSON at all: still 200 and a Result.
  const auto r = f.post_raw("{\"ProtocolVersion\":\"1.0\",");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("MalformedRequest"), std::string::npos) << r.body;
}

// One sentence per problem, "; " between them, and a field present with a bad value is not also
// called missing (it was: "RxDelay: missing (mandatory)RxDelay: expected an integer ...").
TEST(JoinServer, MalformedRequestDescriptionSaysEachProblemOnce) {
  JsFixture f;
  std::string body = backend::encode(join_req(kDev103, 1));
  const auto rx_delay = body.find("\"RxDelay\":");
  ASSERT_NE(rx_delay, std::string::npos) << body;
  body.replace(rx_delay, body.find_first_of(",}", rx_delay) - rx_delay, "\"RxDelay\":1e20");
  auto r = f.post_raw(body);
  auto ans = backend::decode_as<backend::JoinAns>(r.body, backend::DecodeMode::strict).message;
  EXPECT_EQ(code_of(ans.result), "MalformedRequest");
  EXPECT_EQ(ans.result->description.value_or(""),
            "RxDelay: expected an integer from 0 to 255, got number 1e+20");

  // Two problems: a bad value and a missing field.
  const auto dev_addr = body.find("\"DevAddr\":");
  ASSERT_NE(dev_addr, std::string::npos) << body;
  body.erase(dev_addr, body.find_first_of(",}", dev_addr) + 1 - dev_addr);
  r = f.post_raw(body);
  ans = backend::decode_as<backend::JoinAns>(r.body, backend::DecodeMode::strict).message;
  EXPECT_EQ(ans.result->description.value_or(""),
            "RxDelay: expected an integer from 0 to 255, got number 1e+20; DevAddr: missing (mandatory)");
}

TEST(JoinServer, SenderNsidRequiredUnderTs0021_1) {
  JsFixture f;
  JoinReqOptions o;
  o.protocol = backend::ProtocolVersion::v1_1;
  auto req = join_req(kDev11, 1, o);
  req.header.sender_ns_id.reset();
  EXPECT_EQ(code_of(f.ask<backend::JoinAns>(req).result), "MalformedMessage");
}

TEST(JoinServer, FrameSizeErrorAndDataFrames) {
  JsFixture f;
  auto req = join_req(kDev103, 1);
  req.phy_payload->pop_back();
  EXPECT_EQ(code_of(f.ask<backend::JoinAns>(req).result), "FrameSizeError");
  req = join_req(kDev103, 1);
  (*req.phy_payload)[0] = 0x40;  // an unconfirmed data uplink
  const auto ans = f.ask<backend::JoinAns>(req);
  EXPECT_EQ(code_of(ans.result), "MalformedRequest");
  EXPECT_NE(ans.result->description->find("UnconfirmedDataUp"), std::string::npos);
}

// A NwkKey in the fleet entry of a 1.0.x device is not used: the device's version decides.
TEST(JoinServer, Device10WithAStrayNwkKeyUsesItsAppKey) {
  auto o = default_options();
  FleetDevice d = kDev103;
  d.dev_eui = Eui64::parse("01020304050607ff");
  d.nwk_key = Aes128Key::parse("ffeeddccbbaa99887766554433221100");
  o.fleets.push_back(Fleet{{d}});
  JsFixture f(o);
  FleetDevice as_device = d;
  as_device.nwk_key.reset();  // what the device really has
  const backend::JoinReq req = join_req(as_device, 1);
  const auto opened = check_join_ans(f.ask<backend::JoinAns>(req), req, as_device);
  EXPECT_EQ(opened.mode, JoinMode::lorawan_1_0);
}

// FrameSizeError is for sizes only; other broken frames are malformed.
TEST(JoinServer, BadMhdrMajorIsMalformedNotFrameSize) {
  JsFixture f;
  auto req = join_req(kDev103, 1);
  (*req.phy_payload)[0] = 0x01;
  const auto ans = f.ask<backend::JoinAns>(req);
  EXPECT_EQ(code_of(ans.result), "MalformedRequest");
  EXPECT_NE(ans.result->description->find("major"), std::string::npos);
}

TEST(JoinServer, OptNegMustAgreeWithMacVersion) {
  JsFixture f;
  auto req = join_req(kDev11, 1);
  req.dl_settings = 0x15;  // MACVersion 1.1, OptNeg clear
  const auto ans = f.ask<backend::JoinAns>(req);
  EXPECT_EQ(code_of(ans.result), "MalformedRequest");
  EXPECT_NE(ans.result->description->find("OptNeg"), std::string::npos);
}

TEST(JoinServer, MacVersion11ForA10DeviceFails) {
  JsFixture f;
  JoinReqOptions o;
  o.mac_version = MacVersion::v1_1;
  EXPECT_EQ(code_of(f.join(kDev103, 1, o).result), "JoinReqFailed");
}

// ---- DevNonce rules per MAC version (§4.5) ----

TEST(JoinServer, ReplayedDevNonce103IsJoinReqFailed) {
  JsFixture f;
  check_join_ans(f.join(kDev103, 500), join_req(kDev103, 500), kDev103);
  EXPECT_EQ(code_of(f.join(kDev103, 500).result), "JoinReqFailed");
  // Random DevNonces: a smaller new one is fine for 1.0.3.
  EXPECT_EQ(code_of(f.join(kDev103, 20).result), "Success");
}

TEST(JoinServer, DevNonceMustIncreaseFor104And11) {
  JsFixture f;
  EXPECT_EQ(code_of(f.join(kDev104, 10).result), "Success");
  EXPECT_EQ(code_of(f.join(kDev104, 10).result), "JoinReqFailed");
  EXPECT_EQ(code_of(f.join(kDev104, 9).result), "JoinReqFailed");
  EXPECT_EQ(code_of(f.join(kDev104, 11).result), "Success");
  JoinReqOptions o;
  o.protocol = backend::ProtocolVersion::v1_1;
  EXPECT_EQ(code_of(f.join(kDev11, 3, o).result), "Success");
  EXPECT_EQ(code_of(f.join(kDev11, 3, o).result), "FrameReplayed");
}

// ---- rejoin-requests (LoRaWAN 1.1 devices) ----

TEST(JoinServer, RejoinTypes012AnsweredWithJsEncKey) {
  JsFixture f;
  EXPECT_EQ(code_of(f.join(kDev11, 1).result), "Success");
  const JsKeys js = derive_js_keys(*kDev11.nwk_key, kDev11.dev_eui);
  for (RejoinType t : {RejoinType::type0, RejoinType::type1, RejoinType::type2}) {
    SCOPED_TRACE(static_cast<int>(t));
    RejoinRequest rj;
    rj.type = t;
    rj.net_id = kNetId;
    rj.join_eui = kDev11.join_eui;
    rj.dev_eui = kDev11.dev_eui;
    rj.rj_count = DevNonce(static_cast<std::uint32_t>(t) + 1);
    // Types 0/2 carry the SNwkSIntKey MIC that only the NS checks; type 1 uses JSIntKey.
    const Aes128Key mic_key = t == RejoinType::type1 ? js.js_int_key : Aes128Key{};
    const auto ans = f.ask<backend::RejoinAns>(rejoin_req(kDev11, rj, mic_key));
    ASSERT_EQ(code_of(ans.result), "Success") << ans.result->description.value_or("");
    OpenJoinAcceptInput in{true, RootKeys{kDev11.app_key, kDev11.nwk_key}, join_req_type_of(t),
                           kDev11.join_eui, kDev11.dev_eui, rj.rj_count};
    const OpenedJoinAccept opened = open_join_accept(*ans.phy_payload, in);
    EXPECT_EQ(opened.mic_valid, true);
    EXPECT_EQ(ans.s_nwk_s_int_key->unwrap(backend::KekTable{{"ns-kek", kNsKek}}), opened.keys->s_nwk_s_int_key);
  }
  // A type 1 rejoin with a wrong JSIntKey MIC is refused.
  RejoinRequest bad{RejoinType::type1, kNetId, kDev11.join_eui, kDev11.dev_eui, DevNonce(9), {}};
  EXPECT_EQ(code_of(f.ask<backend::RejoinAns>(rejoin_req(kDev11, bad, Aes128Key{})).result), "MICFailed");
}

// A replayed rejoin-request type 1 (same RJcount1) is refused like a replayed DevNonce.
TEST(JoinServer, RejoinType1ReplayIsRefused) {
  JsFixture f;
  const JsKeys js = derive_js_keys(*kDev11.nwk_key, kDev11.dev_eui);
  auto rejoin = [&](std::uint16_t rj_count1) {
    RejoinRequest rj{RejoinType::type1, kNetId, kDev11.join_eui, kDev11.dev_eui, DevNonce(rj_count1), {}};
    return f.ask<backend::RejoinAns>(rejoin_req(kDev11, rj, js.js_int_key));
  };
  EXPECT_EQ(code_of(rejoin(7).result), "Success");
  const auto replay = rejoin(7);
  EXPECT_EQ(code_of(replay.result), "JoinReqFailed");
  EXPECT_NE(replay.result->description->find("RJcount1"), std::string::npos);
  EXPECT_FALSE(replay.phy_payload.has_value());
  EXPECT_EQ(code_of(rejoin(8).result), "Success");
}

// ---- per-message-type paths ----

TEST(JoinServer, PerMessageTypePaths) {
  auto o = default_options();
  o.paths[backend::MessageType::join_req] = "/join";
  o.paths[backend::MessageType::app_s_key_req] = "/appskey";
  JsFixture f(o);
  EXPECT_EQ(f.post(join_req(kDev103, 1), "/").status, 404);
  EXPECT_EQ(code_of(f.ask<backend::JoinAns>(join_req(kDev103, 2), "/join").result), "Success");
  EXPECT_EQ(code_of(f.ask<backend::JoinAns>(join_req(kDev103, 3), "/appskey").result), "MalformedRequest");
}

// Several message types may share one path (ChirpStack uses one URL for all).
TEST(JoinServer, MessageTypesSharingAPath) {
  auto o = default_options();
  o.paths[backend::MessageType::join_req] = "/bi";
  o.paths[backend::MessageType::home_ns_req] = "/bi";
  JsFixture f(o);
  EXPECT_EQ(code_of(f.ask<backend::JoinAns>(join_req(kDev103, 1), "/bi").result), "Success");
  backend::HomeNSReq r;
  r.header.sender_id = "010203";
  r.header.receiver_id = kDev103.join_eui.hex();
  r.dev_eui = kDev103.dev_eui;
  EXPECT_EQ(code_of(f.ask<backend::HomeNSAns>(r, "/bi").result), "Success");
}

// ---- async answers ----

TEST(JoinServer, AsyncAnswerIsPostedToTheCallback) {
  AsyncListener listener;
  auto o = default_options();
  o.js.net_ids.front().async_url = listener.url();
  JsFixture f(o);
  const auto ack = f.post(join_req(kDev103, 1));
  EXPECT_EQ(ack.status, 200);
  EXPECT_EQ(ack.body, "");
  const auto received = listener.wait_for(1, std::chrono::seconds(2));
  ASSERT_EQ(received.size(), 1u);
  const auto ans = backend::decode_as<backend::JoinAns>(received[0], backend::DecodeMode::strict).message;
  EXPECT_EQ(ans.header.transaction_id, 4242u);
  check_join_ans(ans, join_req(kDev103, 1), kDev103);
}

// Failures are answers too: an async requester gets its MICFailed by POST, not in the ack.
TEST(JoinServer, AsyncFailuresArePostedToo) {
  AsyncListener listener;
  auto o = default_options();
  o.js.net_ids.front().async_url = listener.url();
  JsFixture f(o);
  JoinReqOptions bad;
  bad.mic_key = Aes128Key::parse("ffffffffffffffffffffffffffffffff");
  const auto ack = f.post(join_req(kDev103, 1, bad));
  EXPECT_EQ(ack.status, 200);
  EXPECT_EQ(ack.body, "");
  const auto received = listener.wait_for(1, std::chrono::seconds(2));
  ASSERT_EQ(received.size(), 1u);
  const auto ans = backend::decode_as<backend::JoinAns>(received[0], backend::DecodeMode::strict).message;
  EXPECT_EQ(code_of(ans.result), "MICFailed");
  EXPECT_EQ(ans.header.transaction_id, 4242u);
}

TEST(JoinServer, AsyncDeliveryGivesUpAfterItsAttempts) {
  auto o = default_options();
  o.js.net_ids.front().async_url = "http://127.0.0.1:1/unreachable";
  o.async_attempts = 2;
  o.async_retry_delay = std::chrono::milliseconds(10);
  o.async_timeout = std::chrono::milliseconds(500);
  JsFixture f(o);
  EXPECT_EQ(f.post(join_req(kDev103, 1)).status, 200);
  for (int i = 0; i < 300 && f.js().async_failed() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(f.js().async_failed(), 1u);
  EXPECT_EQ(f.js().async_delivered(), 0u);
}

// ---- durable state ----

TEST(JoinServer, RestartKeepsDevNoncesAndJoinNonces) {
  TempDir dir;
  auto o = default_options();
  o.store.database = dir / "js.sqlite";
  JsFixture f(o);
  const backend::JoinReq req = join_req(kDev104, 40);
  const auto first = check_join_ans(f.join(kDev104, 40), req, kDev104);
  f.restart(o);
  EXPECT_EQ(code_of(f.join(kDev104, 40).result), "JoinReqFailed");
  const backend::JoinReq next = join_req(kDev104, 41);
  const auto second = check_join_ans(f.join(kDev104, 41), next, kDev104);
  EXPECT_GT(second.accept.join_nonce.value(), first.accept.join_nonce.value());
  // SessionKeyIDs stay valid across restarts (the JS secret is in the database).
  const auto ans = f.join(kDev104, 42);
  f.restart(o);
  backend::AppSKeyReq ask;
  ask.header.sender_id = "as-1";
  ask.header.receiver_id = kDev104.join_eui.hex();
  ask.dev_eui = kDev104.dev_eui;
  ask.session_key_id = ans.session_key_id;
  EXPECT_EQ(code_of(f.ask<backend::AppSKeyAns>(ask).result), "Success");
}

// Many clients at once: every join answered once, no JoinNonce handed out twice.
TEST(JoinServer, ConcurrentJoinsNeverShareAJoinNonce) {
  auto o = default_options();
  o.http.threads = 2;
  JsFixture f(o);
  std::mutex m;
  std::set<std::uint32_t> nonces;
  std::atomic<int> successes{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      backend::BlockingHttpClient c;
      for (int i = 0; i < 50; ++i) {
        const auto req = join_req(kDev103, static_cast<std::uint16_t>(1000 + t * 100 + i));
        const auto r = c.post(f.js().url(), "application/json", backend::encode(req));
        const auto ans = backend::decode_as<backend::JoinAns>(r.body, backend::DecodeMode::strict).message;
        if (!ans.result || !ans.result->is_success()) continue;
        ++successes;
        OpenJoinAcceptInput in;
        in.keys.app_key = kDev103.app_key;
        const auto opened = open_join_accept(*ans.phy_payload, in);
        std::lock_guard lock(m);
        EXPECT_TRUE(nonces.insert(opened.accept.join_nonce.value()).second);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(successes, 200);
}

}  // namespace
}  // namespace joincheck::sim
