#pragma once
// A reference JS on a loopback port and an NS-side helper that builds requests for its
// devices and checks the answers with the device's own keys.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/codec.hpp"
#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "lorawan/join_procedure.hpp"
#include "sim/join_server/service.hpp"

namespace joincheck::sim::test_support {

using namespace joincheck::lorawan;

// The devices every JS test knows (the keys of brocaar/lorawan
// backend/joinserver/joinserver_test.go), one per DevNonce rule.
inline FleetDevice device(std::string_view dev_eui, MacVersion v) {
  FleetDevice d;
  d.dev_eui = Eui64::parse(dev_eui);
  d.join_eui = Eui64::parse("0807060504030201");
  d.mac_version = v;
  if (is_1_1(v)) {
    d.nwk_key = Aes128Key::parse("01020304050607080102030405060708");
    d.app_key = Aes128Key::parse("0f0e0d0c0b0a09080706050403020100");
  } else {
    d.app_key = Aes128Key::parse("01020304050607080102030405060708");
  }
  return d;
}
inline const FleetDevice kDev103 = device("0102030405060708", MacVersion::v1_0_3);
inline const FleetDevice kDev104 = device("0102030405060709", MacVersion::v1_0_4);
inline const FleetDevice kDev11 = device("010203040506070a", MacVersion::v1_1);
inline const NetId kNetId = NetId::parse("010203");
inline const Eui64 kNsId = Eui64::parse("0a0b0c0d0e0f0001");
inline const Bytes kNsKek = from_hex("000102030405060708090a0b0c0d0e0f", "kek");
inline const Bytes kAsKek = from_hex("0f0e0d0c0b0a09080706050403020100", "kek");

// The usual JS: NetID 010203 known, with KEK "ns-kek"; AppSKey wrapped with "as-kek".
inline JoinServerServiceOptions default_options() {
  JoinServerServiceOptions o;
  o.http.threads = 1;
  o.fleets.push_back(Fleet{{kDev103, kDev104, kDev11}});
  o.js.net_ids.push_back(NetIdPeer{kNetId, "ns-kek", kNsKek, {}, {}});
  o.js.as_kek_label = "as-kek";
  o.js.as_kek = kAsKek;
  o.js.lifetime = 86400;
  o.js.home_net_id = NetId::parse("000013");
  o.js.home_ns_id = Eui64::parse("0000000000000013");
  return o;
}

struct JoinReqOptions {
  backend::ProtocolVersion protocol = backend::ProtocolVersion::v1_0;
  std::optional<MacVersion> mac_version;  // default: the device's
  std::string sender_id = "010203";
  std::optional<std::string> receiver_id;  // default: the JoinEUI
  std::uint32_t transaction_id = 4242;
  bool cf_list = true;
  std::optional<Aes128Key> mic_key;        // default: the device's
};

inline backend::JoinReq join_req(const FleetDevice& d, std::uint16_t dev_nonce, JoinReqOptions o = {}) {
  const MacVersion v = o.mac_version.value_or(d.mac_version);
  JoinRequest jr{d.join_eui, d.dev_eui, DevNonce(dev_nonce), {}};
  const Aes128Key key = o.mic_key.value_or(d.nwk_key ? *d.nwk_key : *d.app_key);
  backend::JoinReq r;
  r.header.protocol_version = o.protocol;
  r.header.sender_id = o.sender_id;
  r.header.receiver_id = o.receiver_id.value_or(d.join_eui.hex());
  r.header.transaction_id = o.transaction_id;
  r.header.sender_token = Bytes{0xab, 0xcd};
  if (o.protocol == backend::ProtocolVersion::v1_1) r.header.sender_ns_id = kNsId;
  r.mac_version = backend::MacVersionField{v, {}};
  r.phy_payload = build_join_request(key, jr);
  r.dev_eui = d.dev_eui;
  r.dev_addr = DevAddr::parse("01020304");
  r.dl_settings = static_cast<std::uint8_t>(is_1_1(v) ? 0x95 : 0x15);
  r.rx_delay = 1;
  if (o.cf_list) r.cf_list = CfList::parse("988d8468958400000000000000000000");
  return r;
}

// An AS asking for the AppSKey of a session.
inline backend::AppSKeyReq app_s_key_req(const FleetDevice& d, std::optional<Bytes> session_key_id) {
  backend::AppSKeyReq ask;
  ask.header.sender_id = "as-1";
  ask.header.receiver_id = d.join_eui.hex();
  ask.header.transaction_id = 99;
  ask.dev_eui = d.dev_eui;
  ask.session_key_id = std::move(session_key_id);
  return ask;
}

// A RejoinReq around a rejoin-request MIC'd with `mic_key`, the other fields as join_req()'s.
inline backend::RejoinReq rejoin_req(const FleetDevice& d, const RejoinRequest& rejoin,
                                     const Aes128Key& mic_key, JoinReqOptions o = {}) {
  const backend::JoinReq base = join_req(d, 0, std::move(o));
  backend::RejoinReq r;
  r.header = base.header;
  r.header.message_type = backend::MessageType::rejoin_req;
  r.mac_version = base.mac_version;
  r.phy_payload = build_rejoin_request(mic_key, rejoin);
  r.dev_eui = base.dev_eui;
  r.dev_addr = base.dev_addr;
  r.dl_settings = base.dl_settings;
  r.rx_delay = base.rx_delay;
  return r;
}

// A JS and a client talking to it.
class JsFixture {
 public:
  explicit JsFixture(JoinServerServiceOptions options = default_options())
      : js_(std::make_unique<JoinServerService>(std::move(options))) {}

  JoinServerService& js() { return *js_; }
  void restart(JoinServerServiceOptions options) {
    js_.reset();
    js_ = std::make_unique<JoinServerService>(std::move(options));
  }

  backend::HttpClientResponse post_raw(std::string body, std::string path = "/") {
    return client_.post(js_->url() + path, "application/json", std::move(body));
  }
  backend::HttpClientResponse post(const backend::Message& m, std::string path = "/") {
    return post_raw(backend::encode(m), std::move(path));
  }
  // Posts and decodes the answer strictly: the reference JS must answer exactly.
  template <class Answer>
  Answer ask(const backend::Message& m, std::string path = "/") {
    const auto r = post(m, std::move(path));
    EXPECT_EQ(r.status, 200) << r.body;
    return backend::decode_as<Answer>(r.body, backend::DecodeMode::strict).message;
  }
  backend::JoinAns join(const FleetDevice& d, std::uint16_t dev_nonce, JoinReqOptions o = {}) {
    return ask<backend::JoinAns>(join_req(d, dev_nonce, std::move(o)));
  }

 private:
  std::unique_ptr<JoinServerService> js_;
  backend::BlockingHttpClient client_;
};

// Checks a successful answer the way the device and the NS would: the accept decrypts, its
// MIC verifies, its fields are the request's, and every key unwraps to the device's own.
inline OpenedJoinAccept check_join_ans(const backend::JoinAns& ans, const backend::JoinReq& req,
                                       const FleetDevice& d, JoinReqType type = JoinReqType::join) {
  EXPECT_TRUE(ans.result && ans.result->is_success())
      << (ans.result ? std::string(backend::to_string(ans.result->code)) + " " +
                           ans.result->description.value_or("")
                     : "no Result");
  EXPECT_TRUE(ans.phy_payload.has_value());
  if (!ans.phy_payload) return {};
  const JoinRequest jr = parse_join_request(*req.phy_payload);
  OpenJoinAcceptInput in{d.nwk_key.has_value(), RootKeys{d.app_key, d.nwk_key}, type, d.join_eui,
                         d.dev_eui, jr.dev_nonce};
  OpenedJoinAccept opened = open_join_accept(*ans.phy_payload, in);
  EXPECT_EQ(opened.mic_valid, true);
  EXPECT_EQ(opened.accept.net_id, NetId::parse(req.header.sender_id));
  EXPECT_EQ(opened.accept.dev_addr, *req.dev_addr);
  EXPECT_EQ(opened.accept.dl_settings.raw, *req.dl_settings);
  EXPECT_EQ(opened.accept.rx_delay, *req.rx_delay);
  EXPECT_EQ(opened.accept.cf_list, req.cf_list);
  EXPECT_TRUE(opened.keys.has_value());
  if (!opened.keys) return opened;
  const backend::KekTable keks{{"ns-kek", kNsKek}, {"as-kek", kAsKek}};
  if (opened.mode == JoinMode::lorawan_1_1) {
    EXPECT_FALSE(ans.nwk_s_key.has_value());
    EXPECT_EQ(ans.f_nwk_s_int_key->unwrap(keks), opened.keys->f_nwk_s_int_key);
    EXPECT_EQ(ans.s_nwk_s_int_key->unwrap(keks), opened.keys->s_nwk_s_int_key);
    EXPECT_EQ(ans.nwk_s_enc_key->unwrap(keks), opened.keys->nwk_s_enc_key);
  } else {
    EXPECT_FALSE(ans.f_nwk_s_int_key.has_value());
    EXPECT_EQ(ans.nwk_s_key->unwrap(keks), opened.keys->nwk_s_key());
  }
  EXPECT_EQ(ans.app_s_key->unwrap(keks), opened.keys->app_s_key);
  return opened;
}

// A listener for async answers: the NS's own Backend Interfaces endpoint.
class AsyncListener {
 public:
  AsyncListener()
      : server_(backend::HttpServerOptions{},
                backend::HttpHandler([this](const backend::HttpRequest& r) {
                  std::lock_guard lock(m_);
                  bodies_.push_back(r.body);
                  return backend::HttpResponse{};
                })) {}
  std::string url() const { return server_.url() + "/bi"; }
  // Waits until `n` answers arrived or `limit` passed; returns what arrived.
  std::vector<std::string> wait_for(std::size_t n, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(m_);
        if (bodies_.size() >= n) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::lock_guard lock(m_);
    return bodies_;
  }

 private:
  std::mutex m_;
  std::vector<std::string> bodies_;
  backend::HttpServer server_;
};

inline std::string code_of(const std::optional<backend::Result>& r) {
  return r ? std::string(backend::to_string(r->code)) : "(no Result)";
}

}  // namespace joincheck::sim::test_support
