// The JoinReq each NS persona sends (sim/network_server/ns_persona.hpp), field by field, and the
// header of its other requests. Sources of each fact: the table in ns_persona.hpp and
// docs/ns-personas.md (chirpstack/chirpstack backend/src/lib.rs, chirpstack/src/uplink/join.rs,
// chirpstack/src/devaddr.rs, lrwn/src/region/mod.rs, chirpstack/configuration/region_eu868.toml;
// brocaar/chirpstack-network-server internal/uplink/join/join.go,
// internal/storage/device_session.go, cmd/chirpstack-network-server/cmd/configfile.go;
// brocaar/lorawan backend/backend.go, backend/client.go, band/band.go).
#include <gtest/gtest.h>

#include <array>
#include <chrono>

#include "backend/codec.hpp"
#include "sim/network_server/network_server.hpp"
#include "sim/network_server/ns_client.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::sim {
namespace {

using backend::JoinReq;
using lorawan::MacVersion;

// A JoinReq as joincheck's plain NS builds it (NsClient::request_header and the runner's fields).
JoinReq plain_join_req(MacVersion version) {
  NsClientOptions o;
  o.net_id = lorawan::NetId::parse("000001");
  o.ns_id = lorawan::Eui64::parse("0000000000000001");
  o.sender_token = lorawan::Bytes{0x6a, 0x63};
  JoinReq r;
  r.header.protocol_version = backend::ProtocolVersion::v1_1;
  r.header.sender_id = "000001";
  r.header.receiver_id = "0000000000000002";
  r.header.transaction_id = 7;
  r.header.sender_token = o.sender_token;
  r.header.sender_ns_id = o.ns_id;
  r.mac_version = backend::MacVersionField{version, {}};
  r.phy_payload = lorawan::Bytes{0x00, 0x01};
  r.dev_eui = lorawan::Eui64::parse("0000000000000003");
  r.dev_addr = lorawan::DevAddr::parse("abcdef01");
  r.dl_settings = version == MacVersion::v1_1 ? 0x95 : 0x15;
  r.rx_delay = 5;
  return r;
}

constexpr const char* kStockEu868CfList = "184f84e85684b85e84886684586e8400";

TEST(NsPersona, NamesRoundTripAndUnknownNamesAreRefused) {
  for (NsPersona p : {NsPersona::plain, NsPersona::chirpstack_v3, NsPersona::chirpstack_v4}) {
    EXPECT_EQ(parse_ns_persona(to_string(p)), p);
  }
  EXPECT_EQ(to_string(NsPersona::chirpstack_v4), "chirpstack-v4");
  EXPECT_FALSE(parse_ns_persona("chirpstack"));
  EXPECT_FALSE(parse_ns_persona("ChirpStack-v4"));
}

TEST(NsPersona, PlainChangesNothing) {
  JoinReq r = plain_join_req(MacVersion::v1_1);
  const JoinReq before = r;
  shape_join_req(NsPersona::plain, r, lorawan::NetId::parse("000001"), 1);
  EXPECT_EQ(r, before);
}

TEST(NsPersona, ChirpStackV4JoinReqOfA11Device) {
  JoinReq r = plain_join_req(MacVersion::v1_1);
  shape_join_req(NsPersona::chirpstack_v4, r, lorawan::NetId::parse("000001"), 1);
  EXPECT_EQ(
      backend::encode(r),
      std::string(
          R"({"ProtocolVersion":"1.0","SenderID":"000001","ReceiverID":"0000000000000002",)") +
          R"("TransactionID":7,"MessageType":"JoinReq","MACVersion":"1.1.0","PHYPayload":"0001",)" +
          R"("DevEUI":"0000000000000003","DevAddr":"02000001","DLSettings":"80","RxDelay":1,)" +
          R"("CFList":")" + kStockEu868CfList + R"("})");
}

TEST(NsPersona, ChirpStackV4JoinReqOfA103Device) {
  JoinReq r = plain_join_req(MacVersion::v1_0_3);
  shape_join_req(NsPersona::chirpstack_v4, r, lorawan::NetId::parse("000001"), 1);
  const auto j = backend::to_json(r);
  EXPECT_EQ(j["MACVersion"], "1.0.3");
  EXPECT_EQ(j["DLSettings"], "00");
  EXPECT_EQ(j["CFList"], kStockEu868CfList);
  EXPECT_FALSE(j.contains("SenderToken"));
  EXPECT_FALSE(j.contains("SenderNSID"));
  EXPECT_FALSE(j.contains("VSExtension"));
}

// v3 always sends VSExtension {}; its template has no extra_channels, so brocaar/lorawan's
// GetCFList returns none and the omitempty CFList is left out.
TEST(NsPersona, ChirpStackV3SendsAnEmptyVsExtensionAndNoCfList) {
  JoinReq r = plain_join_req(MacVersion::v1_1);
  r.cf_list = lorawan::CfList(std::array<std::uint8_t, 16>{});
  shape_join_req(NsPersona::chirpstack_v3, r, lorawan::NetId::parse("000001"), 1);
  EXPECT_EQ(
      backend::encode(r),
      std::string(
          R"({"ProtocolVersion":"1.0","SenderID":"000001","ReceiverID":"0000000000000002",)") +
          R"("TransactionID":7,"MessageType":"JoinReq","VSExtension":{},"MACVersion":"1.1.0",)" +
          R"("PHYPayload":"0001","DevEUI":"0000000000000003","DevAddr":"02000001","DLSettings":"80",)" +
          R"("RxDelay":1})");
}

TEST(NsPersona, ChirpStackV3JoinReqOfA103Device) {
  JoinReq r = plain_join_req(MacVersion::v1_0_3);
  shape_join_req(NsPersona::chirpstack_v3, r, lorawan::NetId::parse("000001"), 1);
  const auto j = backend::to_json(r);
  EXPECT_EQ(j["MACVersion"], "1.0.3");
  EXPECT_EQ(j["DLSettings"], "00");
  EXPECT_EQ(j["RxDelay"], 1);
  EXPECT_FALSE(j.contains("CFList"));
  EXPECT_FALSE(j.contains("SenderToken"));
}

// What an NS with its own radio side keeps: DevAddr, DLSettings and RxDelay stay its own.
TEST(NsPersona, SpellingLeavesTheNetworkSettingsOfTheNs) {
  for (NsPersona p : {NsPersona::chirpstack_v3, NsPersona::chirpstack_v4}) {
    JoinReq r = plain_join_req(MacVersion::v1_1);
    shape_join_req_spelling(p, r);
    const auto j = backend::to_json(r);
    EXPECT_EQ(j["MACVersion"], "1.1.0") << to_string(p);
    EXPECT_EQ(j["ProtocolVersion"], "1.0") << to_string(p);
    EXPECT_FALSE(j.contains("SenderToken")) << to_string(p);
    EXPECT_EQ(j["DevAddr"], "abcdef01") << to_string(p);
    EXPECT_EQ(j["DLSettings"], "95") << to_string(p);
    EXPECT_EQ(j["RxDelay"], 5) << to_string(p);
    EXPECT_EQ(j.contains("CFList"), p == NsPersona::chirpstack_v4) << to_string(p);
  }
  JoinReq r = plain_join_req(MacVersion::v1_1);
  const JoinReq before = r;
  shape_join_req_spelling(NsPersona::plain, r);
  EXPECT_EQ(r, before);
}

TEST(NsPersona, JsTimeoutIsV4sFiveSecondsAndNoneForV3) {
  EXPECT_EQ(persona_js_timeout(NsPersona::chirpstack_v4), std::chrono::milliseconds(5000));
  EXPECT_FALSE(persona_js_timeout(NsPersona::chirpstack_v3));
  EXPECT_FALSE(persona_js_timeout(NsPersona::plain));
}

TEST(NsPersona, DevAddrCarriesTheNetIdPrefix) {
  JoinReq r = plain_join_req(MacVersion::v1_0_3);
  // NetID 600013 (type 3, NwkID 0x13 in 11 bits): DevAddr prefix 1110 | 00000010011.
  shape_join_req(NsPersona::chirpstack_v4, r, lorawan::NetId::parse("600013"), 0xffffffff);
  EXPECT_EQ(*r.dev_addr, dev_addr_for(lorawan::NetId::parse("600013"), 0xffffffff));
  EXPECT_EQ(r.dev_addr->hex().substr(0, 3), "e02");
}

TEST(NsPersona, RequestHeaderOfTheClientIsShaped) {
  NsClientOptions o;
  o.url = "http://127.0.0.1:1/";
  o.net_id = lorawan::NetId::parse("000001");
  o.protocol_version = backend::ProtocolVersion::v1_1;
  o.ns_id = lorawan::Eui64::parse("0000000000000001");
  o.sender_token = lorawan::Bytes{0x01};
  o.ns_like = NsPersona::chirpstack_v4;
  NsClient client(o);
  const backend::Header h =
      client.request_header(backend::MessageType::app_s_key_req, "0000000000000002");
  EXPECT_EQ(h.protocol_version, backend::ProtocolVersion::v1_0);
  EXPECT_FALSE(h.sender_token);
  EXPECT_FALSE(h.sender_ns_id);
  EXPECT_FALSE(h.vs_extension);
}

}  // namespace
}  // namespace joincheck::sim
