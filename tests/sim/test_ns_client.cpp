// The Network Server's client against the reference JS on loopback: sync and async answers,
// TransactionID matching, strays, deadlines, unreachable peers and answers that do not decode.
// Every exchange has a deadline of at most a few seconds, so no test can hang.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "js_test_support.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::sim {
namespace {

using namespace test_support;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

NsClientOptions client_options(std::string url) {
  NsClientOptions o;
  o.url = std::move(url);
  o.net_id = kNetId;
  o.ns_id = kNsId;
  o.keks = backend::KekTable{{"ns-kek", kNsKek}};
  o.timeout = 3000ms;
  return o;
}

JoinReqFields fields_for(const NsClient& client) {
  JoinReqFields f;
  f.header = client.request_header(backend::MessageType::join_req);
  f.dev_addr = DevAddr::parse("01020304");
  f.dl_settings.raw = 0x15;
  f.rx_delay = 1;
  f.cf_list = CfList::parse("988d8468958400000000000000000000");
  return f;
}

const backend::JoinAns* join_ans_of(const Exchange& e) {
  return e.decoded ? std::get_if<backend::JoinAns>(&e.decoded->message) : nullptr;
}

// An async client and a JS that POSTs its answers to the client's listener.
struct AsyncPair {
  std::unique_ptr<NsClient> client;
  std::unique_ptr<JoinServerService> js;

  explicit AsyncPair(JoinServerServiceOptions o = default_options(),
                     std::chrono::milliseconds timeout = 3000ms) {
    NsClientOptions co = client_options("http://127.0.0.1:1/");  // set once the JS is up
    co.async_listen = "127.0.0.1:0";
    co.timeout = timeout;
    client = std::make_unique<NsClient>(std::move(co));
    o.js.net_ids.front().async_url = client->async_listener_url() + "/bi";
    js = std::make_unique<JoinServerService>(std::move(o));
    client->set_url(js->url());
  }
};

TEST(NsClient, SyncJoinDecodesAndKeysUnwrapWithTheKekTable) {
  JsFixture f;
  NsClient client(client_options(f.js().url()));
  EXPECT_FALSE(client.async());
  EXPECT_EQ(client.async_listener_url(), "");
  const backend::JoinReq req = make_join_req(kDev103, DevNonce(258), fields_for(client));
  EXPECT_EQ(req.header.sender_id, "010203");
  EXPECT_EQ(req.header.receiver_id, kDev103.join_eui.hex());
  EXPECT_FALSE(req.header.sender_ns_id.has_value());  // ProtocolVersion 1.0
  EXPECT_EQ(req.dl_settings, 0x15);                   // OptNeg 0 for 1.0.3

  const Exchange e = client.send(req);
  EXPECT_EQ(e.transport_error, "");
  EXPECT_FALSE(e.async);
  EXPECT_EQ(e.http_status, 200);
  EXPECT_EQ(e.answer_source, AnswerSource::http_response);
  EXPECT_EQ(e.answer_body, e.http_body);
  EXPECT_EQ(e.url, f.js().url());
  EXPECT_NE(e.transaction_id, 0u);  // drawn at random
  EXPECT_NE(e.request_body.find("\"TransactionID\":" + std::to_string(e.transaction_id)),
            std::string::npos)
      << e.request_body;
  EXPECT_EQ(e.decode_error, "");
  ASSERT_TRUE(e.answered());
  EXPECT_TRUE(e.decoded->observations.empty());  // the reference JS answers exactly
  const backend::JoinAns* ans = join_ans_of(e);
  ASSERT_NE(ans, nullptr);
  EXPECT_EQ(ans->header.transaction_id, e.transaction_id);
  EXPECT_GT(e.http_elapsed.count(), 0);
  EXPECT_EQ(e.answer_elapsed, e.http_elapsed);
  EXPECT_GE(e.total_elapsed, e.http_elapsed);

  backend::JoinReq sent = req;
  sent.header.transaction_id = e.transaction_id;
  const OpenedJoinAccept opened = check_join_ans(*ans, sent, kDev103);
  ASSERT_TRUE(opened.keys.has_value());
  ASSERT_TRUE(ans->nwk_s_key.has_value());
  EXPECT_EQ(ans->nwk_s_key->kek_label, "ns-kek");
  EXPECT_EQ(ans->nwk_s_key->unwrap(client.keks()), opened.keys->nwk_s_key());
}

TEST(NsClient, TransactionIdsAreRandomUnlessTheCallerSetsOne) {
  JsFixture f;
  NsClient client(client_options(f.js().url()));
  JoinReqFields fields = fields_for(client);
  std::set<std::uint32_t> drawn;
  for (std::uint16_t n = 1; n <= 3; ++n) {
    const Exchange e = client.send(make_join_req(kDev104, DevNonce(n), fields));
    ASSERT_TRUE(e.answered()) << e.transport_error << e.decode_error;
    EXPECT_EQ(backend::header_of(e.decoded->message).transaction_id, e.transaction_id);
    drawn.insert(e.transaction_id);
  }
  EXPECT_EQ(drawn.size(), 3u);
  EXPECT_EQ(drawn.count(0u), 0u);

  fields.header.transaction_id = 77;
  const Exchange own = client.send(make_join_req(kDev104, DevNonce(4), fields));
  EXPECT_EQ(own.transaction_id, 77u);
  SendOptions zero;
  zero.transaction_id = 0;
  const Exchange forced = client.send(make_join_req(kDev104, DevNonce(5), fields), zero);
  EXPECT_EQ(forced.transaction_id, 0u);
  ASSERT_TRUE(forced.answered());
  EXPECT_EQ(backend::header_of(forced.decoded->message).transaction_id, 0u);
}

TEST(NsClient, Join11WithProtocol11AndPerTypePath) {
  auto jo = default_options();
  jo.paths[backend::MessageType::join_req] = "/join";
  JsFixture f(jo);
  NsClientOptions o = client_options(f.js().url());
  o.protocol_version = backend::ProtocolVersion::v1_1;
  o.paths[backend::MessageType::join_req] = "/join";
  NsClient client(o);
  EXPECT_EQ(client.url_for(backend::MessageType::join_req), f.js().url() + "/join");
  EXPECT_EQ(client.url_for(backend::MessageType::home_ns_req), f.js().url());

  JoinReqFields fields = fields_for(client);
  fields.dl_settings.raw = 0x15;
  const backend::JoinReq req = make_join_req(kDev11, DevNonce(1), fields);
  EXPECT_EQ(req.header.sender_ns_id, kNsId);
  EXPECT_EQ(req.dl_settings, 0x95);  // OptNeg from MACVersion 1.1
  EXPECT_EQ(req.mac_version->spelling(), "1.1");

  const Exchange e = client.send(req);
  EXPECT_EQ(e.url, f.js().url() + "/join");
  const backend::JoinAns* ans = join_ans_of(e);
  ASSERT_NE(ans, nullptr) << e.transport_error << e.decode_error << e.http_body;
  EXPECT_EQ(ans->header.receiver_ns_id, kNsId);
  backend::JoinReq sent = req;
  sent.header.transaction_id = e.transaction_id;
  const OpenedJoinAccept opened = check_join_ans(*ans, sent, kDev11);
  ASSERT_TRUE(opened.keys.has_value());
  EXPECT_EQ(opened.mode, JoinMode::lorawan_1_1);
  EXPECT_EQ(ans->f_nwk_s_int_key->unwrap(client.keks()), opened.keys->f_nwk_s_int_key);
  EXPECT_EQ(ans->s_nwk_s_int_key->unwrap(client.keks()), opened.keys->s_nwk_s_int_key);
  EXPECT_EQ(ans->nwk_s_enc_key->unwrap(client.keks()), opened.keys->nwk_s_enc_key);

  // The MACVersion spelling is the caller's; OptNeg can be forced either way.
  fields.mac_version_text = "1.1.0";
  fields.opt_neg = false;
  const backend::JoinReq odd = make_join_req(kDev11, DevNonce(2), fields);
  EXPECT_EQ(odd.mac_version->spelling(), "1.1.0");
  EXPECT_EQ(odd.dl_settings, 0x15);
  EXPECT_NE(backend::encode(odd).find("\"MACVersion\":\"1.1.0\""), std::string::npos);
}

TEST(NsClient, MakeJoinReqMicsWithTheRootKeyOfTheVersion) {
  JoinReqFields fields;
  fields.header.sender_id = "010203";
  const auto mic_of = [](const backend::JoinReq& r) { return parse_join_request(*r.phy_payload); };
  const backend::JoinReq r10 = make_join_req(kDev103, DevNonce(9), fields);
  const JoinRequest j10 = mic_of(r10);
  EXPECT_EQ(j10.dev_nonce, DevNonce(9));
  EXPECT_EQ(j10.mic, join_request_mic(*kDev103.app_key, j10));
  const JoinRequest j11 = mic_of(make_join_req(kDev11, DevNonce(9), fields));
  EXPECT_EQ(j11.mic, join_request_mic(*kDev11.nwk_key, j11));
  EXPECT_NE(j11.mic, join_request_mic(*kDev11.app_key, j11));
  FleetDevice keyless = kDev11;
  keyless.nwk_key.reset();
  EXPECT_THROW(make_join_req(keyless, DevNonce(1), fields), lorawan::Error);
}

TEST(NsClient, AsyncJoinIsAnsweredByPostAndMatchedByTransactionId) {
  AsyncPair p;
  NsClient& client = *p.client;
  EXPECT_TRUE(client.async());
  EXPECT_EQ(client.async_listener_url().rfind("http://127.0.0.1:", 0), 0u);
  for (std::uint16_t n = 1; n <= 2; ++n) {
    const backend::JoinReq req = make_join_req(kDev103, DevNonce(n), fields_for(client));
    const Exchange e = client.send(req);
    EXPECT_EQ(e.transport_error, "");
    EXPECT_TRUE(e.async);
    EXPECT_EQ(e.http_status, 200);  // the acknowledgement
    EXPECT_EQ(e.http_body, "");
    EXPECT_EQ(e.answer_source, AnswerSource::async_post);
    ASSERT_TRUE(e.async_answer.has_value());
    EXPECT_EQ(e.async_answer->target, "/bi");
    EXPECT_EQ(e.async_answer->transaction_id, e.transaction_id);
    EXPECT_EQ(e.answer_body, e.async_answer->body);
    EXPECT_EQ(e.strays_seen, 0u);
    EXPECT_LE(e.answer_elapsed, e.total_elapsed);
    const backend::JoinAns* ans = join_ans_of(e);
    ASSERT_NE(ans, nullptr) << e.decode_error;
    EXPECT_EQ(ans->header.transaction_id, e.transaction_id);
    backend::JoinReq sent = req;
    sent.header.transaction_id = e.transaction_id;
    const OpenedJoinAccept opened = check_join_ans(*ans, sent, kDev103);
    ASSERT_TRUE(opened.keys.has_value());
    EXPECT_EQ(ans->nwk_s_key->unwrap(client.keks()), opened.keys->nwk_s_key());
  }
  EXPECT_EQ(client.stray_answers(), 0u);
}

TEST(NsClient, AsyncStrayAnswerIsCountedAndTheExchangeEndsAtItsDeadline) {
  auto o = default_options();
  add_fault(o.js.faults, "async-wrong-transaction-id");
  // A deadline the JS's acknowledgement and its stray POST fit in on a loaded machine under ASan.
  AsyncPair p(o, 1500ms);
  const auto start = Clock::now();
  const Exchange e = p.client->send(make_join_req(kDev103, DevNonce(1), fields_for(*p.client)));
  const auto took = Clock::now() - start;
  EXPECT_EQ(e.transport_error.rfind("no async answer within 1500 ms", 0), 0u) << e.transport_error;
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.http_status, 200);
  EXPECT_FALSE(e.async_answer.has_value());
  EXPECT_FALSE(e.answered());
  EXPECT_EQ(e.answer_source, AnswerSource::none);
  EXPECT_EQ(e.strays_seen, 1u);
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 3500ms);
  EXPECT_EQ(p.client->stray_answers(), 1u);
  const auto strays = p.client->strays();
  ASSERT_EQ(strays.size(), 1u);
  EXPECT_EQ(strays[0].transaction_id, e.transaction_id + 1);
  EXPECT_NE(strays[0].body.find("\"JoinAns\""), std::string::npos);
}

TEST(NsClient, AsyncNoAnswerGivesUpAtTheDeadline) {
  auto o = default_options();
  add_fault(o.js.faults, "async-no-answer");
  AsyncPair p(o, 300ms);
  const auto start = Clock::now();
  const Exchange e = p.client->send(make_join_req(kDev103, DevNonce(1), fields_for(*p.client)));
  EXPECT_LT(Clock::now() - start, 2000ms);
  EXPECT_EQ(e.transport_error, "no async answer within 300 ms");
  EXPECT_TRUE(e.timed_out);
  EXPECT_EQ(e.strays_seen, 0u);
}

TEST(NsClient, SlowJsGivesATimeoutNotAHang) {
  auto o = default_options();
  add_fault(o.js.faults, "slow-answer=1500");
  JsFixture f(o);
  NsClientOptions co = client_options(f.js().url());
  co.timeout = 200ms;
  NsClient client(co);
  const auto start = Clock::now();
  const Exchange e = client.send(make_join_req(kDev103, DevNonce(1), fields_for(client)));
  const auto took = Clock::now() - start;
  EXPECT_LT(took, 1200ms);
  EXPECT_GE(took, 200ms);
  EXPECT_TRUE(e.timed_out);
  EXPECT_NE(e.transport_error.find("timed out"), std::string::npos) << e.transport_error;
  EXPECT_EQ(e.http_status, 0);
  EXPECT_FALSE(e.answered());
  EXPECT_EQ(e.answer_source, AnswerSource::none);
}

TEST(NsClient, UnreachableUrlGivesTheHttpErrorText) {
  const std::string url = "http://127.0.0.1:1/join";
  NsClientOptions co = client_options(url);
  co.timeout = 2000ms;
  NsClient client(co);
  const backend::JoinReq req = make_join_req(kDev103, DevNonce(1), fields_for(client));
  const Exchange e = client.send(req);
  EXPECT_EQ(e.http_status, 0);
  EXPECT_FALSE(e.answered());
  EXPECT_FALSE(e.timed_out);
  EXPECT_FALSE(e.request_body.empty());
  // The text is HttpError's, as the HTTP client gives it for the same request.
  backend::BlockingHttpClient direct;
  try {
    direct.post(url, "application/json", e.request_body);
    ADD_FAILURE() << "port 1 answered";
  } catch (const backend::HttpError& err) {
    EXPECT_EQ(e.transport_error, err.what());
    EXPECT_EQ(err.phase(), backend::HttpErrorPhase::connect);
  }
  EXPECT_EQ(e.transport_error.rfind("POST " + url, 0), 0u) << e.transport_error;
}

TEST(NsClient, NonJsonAnswerKeepsTheBodyAndTheDecodeError) {
  // The reference JS itself, asked on a path it does not serve: 404 with a text body.
  auto jo = default_options();
  jo.paths[backend::MessageType::join_req] = "/join";
  JsFixture f(jo);
  NsClientOptions co = client_options(f.js().url());
  co.paths[backend::MessageType::join_req] = "/nowhere";
  NsClient client(co);
  const Exchange e = client.send(make_join_req(kDev103, DevNonce(1), fields_for(client)));
  EXPECT_EQ(e.transport_error, "");
  EXPECT_EQ(e.http_status, 404);
  EXPECT_NE(e.http_body.find("no Backend Interfaces endpoint at /nowhere"), std::string::npos)
      << e.http_body;
  EXPECT_EQ(e.answer_body, e.http_body);
  EXPECT_EQ(e.answer_source, AnswerSource::http_response);
  EXPECT_FALSE(e.answered());
  EXPECT_NE(e.decode_error, "");

  // A 200 with HTML, and a 200 with an empty body.
  for (const std::string& body : {std::string("<html>busy</html>"), std::string()}) {
    backend::HttpServer peer(backend::HttpServerOptions{},
                             backend::HttpHandler([body](const backend::HttpRequest&) {
                               return backend::HttpResponse::with_body(200, "text/html", body);
                             }));
    NsClient c(client_options(peer.url()));
    const Exchange h = c.send(make_join_req(kDev103, DevNonce(1), fields_for(c)));
    EXPECT_EQ(h.transport_error, "");
    EXPECT_EQ(h.http_status, 200);
    EXPECT_EQ(h.http_headers.get("Content-Type"), "text/html");
    EXPECT_EQ(h.http_body, body);
    EXPECT_FALSE(h.answered());
    EXPECT_NE(h.decode_error, "");
    if (body.empty()) {
      EXPECT_EQ(h.decode_error, "empty body");
    }
  }
}

TEST(NsClient, AnswerIsDecodedObservingNotStrictly) {
  // A peer that writes hex in upper case and an unknown field: decoded, with observations.
  backend::HttpServer peer(
      backend::HttpServerOptions{}, backend::HttpHandler([](const backend::HttpRequest& r) {
        const auto req =
            backend::decode_as<backend::HomeNSReq>(r.body, backend::DecodeMode::strict).message;
        backend::HomeNSAns ans;
        ans.header = backend::make_answer_header(req.header);
        ans.result = backend::Result{};
        ans.h_net_id = NetId::parse("00000a");
        backend::EncodeOptions eo;
        eo.hex_case = HexCase::upper;
        auto j = backend::to_json(ans, eo);
        j["Vendor"] = 1;
        return backend::HttpResponse::with_body(200, "application/json", j.dump());
      }));
  NsClient client(client_options(peer.url()));
  backend::HomeNSReq req;
  req.header = client.request_header(backend::MessageType::home_ns_req, kDev103.join_eui.hex());
  req.dev_eui = kDev103.dev_eui;
  const Exchange e = client.send(req);
  ASSERT_TRUE(e.answered()) << e.decode_error;
  const auto* ans = std::get_if<backend::HomeNSAns>(&e.decoded->message);
  ASSERT_NE(ans, nullptr);
  EXPECT_EQ(ans->h_net_id, NetId::parse("00000a"));
  std::set<backend::ObservationKind> kinds;
  for (const auto& ob : e.decoded->observations) kinds.insert(ob.kind);
  EXPECT_EQ(kinds.count(backend::ObservationKind::uppercase_hex), 1u);
  EXPECT_EQ(kinds.count(backend::ObservationKind::unknown_field), 1u);
}

TEST(NsClient, BadUrlOrListenAddressIsAConfigurationError) {
  EXPECT_THROW(NsClient(client_options("ftp://js")), backend::HttpError);
  NsClientOptions o = client_options("http://127.0.0.1:1/");
  o.async_listen = "nonsense";
  EXPECT_THROW(NsClient{o}, lorawan::Error);
}

}  // namespace
}  // namespace joincheck::sim
