// joincheck's Network Server, uplink side, end to end on loopback: simulated devices
// (sim::SimDevice), a minimal GWMP gateway written here on an Asio UDP socket, the NS, and the
// reference JS in-process. Joins (1.0.3 and 1.1), deduplication across two gateways, the RX2
// retry after a TX_ACK TOO_LATE, JS failures, MIC verification of first uplinks and their ACKs,
// malformed datagrams, stop().
//
// Timing values are LoRaWAN's (JOIN_ACCEPT_DELAY1 5 s, JOIN_ACCEPT_DELAY2 6 s, RECEIVE_DELAY1
// 1 s: LoRaWAN 1.0.x/1.1 §6) applied to the gateway's tmst, so the assertions are on values,
// never on how fast anything ran. Every wait has a deadline of a few seconds.
#include <gtest/gtest.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "js_test_support.hpp"
#include "lorawan/data_frame.hpp"
#include "sim/device/device.hpp"
#include "sim/gateway/gwmp.hpp"
#include "sim/network_server/network_server.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using namespace test_support;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t k8681 = 868100000;
constexpr std::uint64_t k8683 = 868300000;
constexpr std::uint64_t k8685 = 868500000;

// A gateway as the Semtech packet forwarder behaves on the wire, driven step by step. `version`
// is the GWMP protocol version it writes and expects back (2; 1 for an older lora_pkt_fwd).
class TestGateway {
 public:
  TestGateway(std::string_view eui, std::uint16_t ns_port, std::uint8_t version = 2)
      : eui_(Eui64::parse(eui)),
        version_(version),
        socket_(io_, udp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        ns_(asio::ip::make_address("127.0.0.1"), ns_port) {}

  const Eui64& eui() const { return eui_; }
  std::string address() const {
    return "127.0.0.1:" + std::to_string(socket_.local_endpoint().port());
  }

  void send_raw(ByteSpan bytes) { socket_.send_to(asio::buffer(bytes.data(), bytes.size()), ns_); }
  void send(gwmp::Packet p) {
    if (p.type() != gwmp::PacketType::tx_ack) p.protocol_version = version_;
    send_raw(gwmp::encode(p));
  }

  // The next datagram, or nullopt when none came within `limit`.
  std::optional<Bytes> receive_raw(std::chrono::milliseconds limit) {
    std::array<std::uint8_t, 65536> buffer{};
    udp::endpoint from;
    std::optional<std::size_t> got;
    socket_.async_receive_from(asio::buffer(buffer), from,
                               [&](const boost::system::error_code& ec, std::size_t n) {
                                 if (!ec) got = n;
                               });
    io_.restart();
    io_.run_for(limit);
    if (!got) {
      socket_.cancel();
      io_.restart();
      io_.run_for(1s);  // the cancelled handler
      return std::nullopt;
    }
    return Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(*got));
  }
  std::optional<gwmp::Packet> receive(std::chrono::milliseconds limit = 5000ms) {
    auto raw = receive_raw(limit);
    if (!raw) return std::nullopt;
    return gwmp::decode(*raw);
  }

  // PULL_DATA, answered with PULL_ACK: the NS now knows where downlinks go.
  void pull() {
    gwmp::Packet p;
    p.token = 0x1234;
    p.payload = gwmp::PullData{eui_};
    send(p);
    const auto ack = receive();
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->type(), gwmp::PacketType::pull_ack);
    EXPECT_EQ(ack->token, 0x1234);
    EXPECT_EQ(ack->protocol_version, version_);
  }

  // PUSH_DATA with one rxpk, answered with PUSH_ACK (same token).
  void push(const gwmp::RxPacket& rx, std::uint16_t token = 0x4321) {
    gwmp::Packet p;
    p.token = token;
    p.payload = gwmp::PushData{eui_, {rx}, std::nullopt};
    send(p);
    const auto ack = receive();
    ASSERT_TRUE(ack.has_value());
    EXPECT_EQ(ack->type(), gwmp::PacketType::push_ack);
    EXPECT_EQ(ack->token, token);
    EXPECT_EQ(ack->protocol_version, version_);
  }

  // The next PULL_RESP's token and txpk (test failure when none comes); it is written in the
  // gateway's protocol version.
  std::optional<std::pair<std::uint16_t, gwmp::TxPacket>> pull_resp(
      std::chrono::milliseconds limit = 5000ms) {
    const auto p = receive(limit);
    if (!p) return std::nullopt;
    const auto* resp = std::get_if<gwmp::PullResp>(&p->payload);
    EXPECT_NE(resp, nullptr) << gwmp::to_string(p->type());
    if (!resp) return std::nullopt;
    EXPECT_EQ(p->protocol_version, version_);
    return std::make_pair(p->token, resp->txpk);
  }

  void tx_ack(std::uint16_t token, std::optional<gwmp::TxAckError> error) {
    gwmp::Packet p;
    p.token = token;
    p.payload = gwmp::TxAck{eui_, error};
    send(p);
  }

 private:
  Eui64 eui_;
  std::uint8_t version_;
  asio::io_context io_;
  udp::socket socket_;
  udp::endpoint ns_;
};

gwmp::RxPacket rxpk(Bytes data, std::uint32_t tmst, std::uint64_t freq = k8681, int rssi = -60,
                    double lsnr = 9.0, std::string datr = "SF7BW125") {
  gwmp::RxPacket rx;
  rx.tmst = tmst;
  rx.frequency_hz = freq;
  rx.datr = std::move(datr);
  rx.rssi = rssi;
  rx.lsnr = lsnr;
  rx.data = std::move(data);
  return rx;
}

// Exchanges the NS had with the JS, as its observer saw them.
struct ExchangeLog {
  std::mutex m;
  std::vector<Exchange> exchanges;
  std::vector<Exchange> all() {
    std::lock_guard lock(m);
    return exchanges;
  }
};

NetworkServerOptions ns_options(const std::string& js_url, ExchangeLog* log) {
  NetworkServerOptions o;
  o.js.url = js_url;
  o.js.net_id = kNetId;
  o.js.keks = backend::KekTable{{"ns-kek", kNsKek}};
  o.js.timeout = 3000ms;
  o.mac_versions = mac_versions_of(Fleet{{kDev103, kDev104, kDev11}});
  if (log) {
    o.on_exchange = [log](const Exchange& e) {
      std::lock_guard lock(log->m);
      log->exchanges.push_back(e);
    };
  }
  return o;
}

// Polls the event log until an event satisfies `pred` (5 s at most).
std::optional<NsEvent> wait_for_event(const NetworkServer& ns,
                                      const std::function<bool(const NsEvent&)>& pred) {
  const auto deadline = Clock::now() + 5s;
  while (Clock::now() < deadline) {
    for (const NsEvent& e : ns.events()) {
      if (pred(e)) return e;
    }
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}
// Polls the state of `dev_eui` until it satisfies `pred` (5 s at most); the last state seen.
std::optional<NsDeviceState> wait_for_device(
    const NetworkServer& ns, const Eui64& dev_eui,
    const std::function<bool(const NsDeviceState&)>& pred) {
  const auto deadline = Clock::now() + 5s;
  std::optional<NsDeviceState> state = ns.device(dev_eui);
  while (!(state && pred(*state)) && Clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
    state = ns.device(dev_eui);
  }
  return state;
}
std::optional<NsEvent> wait_for_kind(const NetworkServer& ns, NsEventKind kind) {
  return wait_for_event(ns, [kind](const NsEvent& e) { return e.kind == kind; });
}
std::size_t count_kind(const NetworkServer& ns, NsEventKind kind) {
  std::size_t n = 0;
  for (const NsEvent& e : ns.events()) n += e.kind == kind ? 1 : 0;
  return n;
}
std::string dump(const NetworkServer& ns) {
  std::string s;
  for (const NsEvent& e : ns.events()) s += to_string(e) + "\n";
  return s;
}

// The NS's JoinReq as the JS received it, decoded strictly.
backend::JoinReq join_req_of(const Exchange& e) {
  return backend::decode_as<backend::JoinReq>(e.request_body, backend::DecodeMode::strict).message;
}

// Joins `device` through `gw` (uplink tmst `tmst` on 868.1 MHz SF7BW125) and checks the
// PULL_RESP: RX1 at tmst + 5 s, same frequency and data rate, LoRaWAN downlink settings, and a
// join-accept the device accepts. Returns the PULL_RESP token.
std::uint16_t join(TestGateway& gw, SimDevice& device, std::uint32_t tmst) {
  gw.push(rxpk(device.make_join_request(), tmst));
  const auto resp = gw.pull_resp();
  EXPECT_TRUE(resp.has_value());
  if (!resp) return 0;
  const gwmp::TxPacket& tx = resp->second;
  EXPECT_FALSE(tx.imme);
  EXPECT_EQ(tx.tmst, tmst + 5000000u);
  EXPECT_EQ(tx.frequency_hz, k8681);
  EXPECT_EQ(tx.datr, "SF7BW125");
  EXPECT_EQ(tx.codr, "4/5");
  EXPECT_EQ(tx.powe, 14);
  EXPECT_EQ(tx.modu, "LORA");
  EXPECT_TRUE(tx.ipol);
  EXPECT_TRUE(tx.ncrc);
  const JoinResult r = device.accept(tx.data);
  EXPECT_TRUE(r.accepted()) << to_string(r);
  return resp->first;
}

// The ACK answering a confirmed uplink at `tmst` on `freq`: RX1 at tmst + 1 s, unconfirmed data
// down with FCtrl.ACK, no FPort, FCntDown `fcnt_down`, MIC valid with the device's own session
// keys (ConfFCnt `conf_fcnt` in LoRaWAN 1.1).
void expect_ack(TestGateway& gw, const SimDevice& device, std::uint32_t tmst, std::uint64_t freq,
                std::uint32_t fcnt_down, std::uint32_t conf_fcnt) {
  const auto resp = gw.pull_resp();
  ASSERT_TRUE(resp.has_value());
  const gwmp::TxPacket& tx = resp->second;
  EXPECT_EQ(tx.tmst, tmst + 1000000u);
  EXPECT_EQ(tx.frequency_hz, freq);
  EXPECT_EQ(tx.datr, "SF7BW125");
  EXPECT_TRUE(tx.ipol);
  const DataFrame down = DataFrame::parse(tx.data);
  EXPECT_EQ(down.mtype, MType::unconfirmed_data_down);
  EXPECT_EQ(down.dev_addr, device.session()->dev_addr);
  EXPECT_TRUE(down.fctrl.ack);
  EXPECT_EQ(down.fcnt, fcnt_down);
  EXPECT_FALSE(down.fport.has_value());
  EXPECT_TRUE(down.frm_payload.empty());
  MicContext ctx;
  ctx.fcnt = fcnt_down;
  ctx.conf_fcnt = conf_fcnt;
  EXPECT_TRUE(verify_downlink_mic(down, device.session()->network_keys(), ctx));
}

// ---------------------------------------------------------------------------------------------

TEST(NetworkServerDevAddr, FollowsTheNetIdTypeLayout) {
  // DevAddr/NetID pairs from helium/packet-purchaser src/lorawan_devaddr.erl (its net_id_test,
  // "CP data" and the "E009ABCD" case), checked against TS002 1.1 Table 3.
  struct Case {
    std::string_view net_id;
    std::uint32_t nwk_addr;
    std::string_view dev_addr;
    unsigned bits;
  };
  const Case cases[] = {
      {"00002d", 0x1ffffff, "5bffffff", 25}, {"20002d", 0xffffff, "adffffff", 24},
      {"40016d", 0xfffff, "d6dfffff", 20},   {"6005b7", 0x1ffff, "eb6fffff", 17},
      {"800b6d", 0x7fff, "f5b6ffff", 15},    {"a016db", 0x1fff, "fadb7fff", 13},
      {"c05b6d", 0x3ff, "fd6db7ff", 10},     {"e16db6", 0x7f, "feb6db7f", 7},
      {"600004", 0x1abcd, "e009abcd", 17},   {"000002", 0x010bea3, "0410bea3", 25},
  };
  for (const Case& c : cases) {
    const NetId net_id = NetId::parse(c.net_id);
    EXPECT_EQ(nwk_addr_bits(net_id), c.bits) << c.net_id;
    EXPECT_EQ(dev_addr_for(net_id, c.nwk_addr), DevAddr::parse(c.dev_addr)) << c.net_id;
  }
  // The NwkAddr wraps within its bits; NetID 010203 is type 0 with NwkID 000011.
  EXPECT_EQ(dev_addr_for(NetId::parse("010203"), 1), DevAddr::parse("06000001"));
  EXPECT_EQ(dev_addr_for(NetId::parse("010203"), 0x2000001), DevAddr::parse("06000001"));
}

TEST(NetworkServerOptionsCheck, RefusesValuesOutOfRange) {
  NetworkServerOptions o = ns_options("http://127.0.0.1:1/", nullptr);
  o.rx_delay = 16;
  EXPECT_THROW(NetworkServer{o}, lorawan::Error);
  o = ns_options("http://127.0.0.1:1/", nullptr);
  o.rx2_data_rate = 8;  // EU868 has no DR8
  EXPECT_THROW(NetworkServer{o}, lorawan::Error);
  o = ns_options("http://127.0.0.1:1/", nullptr);
  o.listen = "nowhere";
  EXPECT_THROW(NetworkServer{o}, lorawan::Error);
}

TEST(NetworkServer, Lorawan103JoinsAndItsConfirmedUplinkIsAcked) {
  JsFixture f;
  ExchangeLog log;
  NetworkServer ns(ns_options(f.js().url(), &log));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice device(kDev103);
  const std::uint16_t token = join(gw, device, 1000000);
  ASSERT_TRUE(device.joined());

  // The JoinReq: TS002 fields from the join-request and the NS's settings.
  const auto exchanges = log.all();
  ASSERT_EQ(exchanges.size(), 1u);
  const backend::JoinReq req = join_req_of(exchanges[0]);
  EXPECT_EQ(req.header.sender_id, "010203");
  EXPECT_EQ(req.header.receiver_id, kDev103.join_eui.hex());
  EXPECT_EQ(req.mac_version->version, MacVersion::v1_0_3);
  EXPECT_EQ(*req.dev_eui, kDev103.dev_eui);
  EXPECT_EQ(*req.dev_addr, DevAddr::parse("06000001"));  // NetID 010203, NwkAddr 1
  EXPECT_EQ(*req.dl_settings, 0x00);                     // OptNeg 0, RX1DROffset 0, EU868 RX2 DR0
  EXPECT_EQ(*req.rx_delay, 1);
  EXPECT_FALSE(req.cf_list.has_value());
  EXPECT_EQ(device.session()->dev_addr, DevAddr::parse("06000001"));

  gw.tx_ack(token, gwmp::TxAckError::none);
  ASSERT_TRUE(wait_for_kind(ns, NsEventKind::tx_ack)) << dump(ns);

  // A confirmed uplink: MIC verified with the unwrapped NwkSKey, ACKed in RX1.
  gw.push(rxpk(device.make_uplink(1, Bytes{0x01, 0x02}, true), 10000000));
  expect_ack(gw, device, 10000000, k8681, 0, 0);
  // And the next one, with the next FCntDown.
  gw.push(rxpk(device.make_uplink(1, Bytes{0x03}, true), 20000000));
  expect_ack(gw, device, 20000000, k8681, 1, 0);

  // The NS records a downlink before sending it and its TX_ACK's status before the tx-ack event,
  // so the state holds all three once the second ACK came; waited for all the same, with a
  // deadline, rather than assumed.
  const auto state = wait_for_device(ns, kDev103.dev_eui, [](const NsDeviceState& s) {
    return s.downlinks.size() == 3 && s.downlinks[0].status == DownlinkStatus::acknowledged;
  });
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->joined);
  EXPECT_EQ(state->dev_addr, DevAddr::parse("06000001"));
  EXPECT_FALSE(state->lorawan_1_1_session);
  EXPECT_EQ(state->last_join_result, backend::ResultCode::success);
  EXPECT_TRUE(state->app_s_key_received);
  EXPECT_EQ(state->app_s_key_kek_label, "as-kek");
  EXPECT_EQ(state->last_fcnt_up, 1u);
  EXPECT_EQ(state->uplinks, 2u);
  EXPECT_EQ(state->mic_valid, 2u);
  EXPECT_EQ(state->mic_invalid, 0u);
  EXPECT_EQ(state->next_fcnt_down, 2u);
  ASSERT_EQ(state->downlinks.size(), 3u);
  EXPECT_EQ(state->downlinks[0].kind, DownlinkKind::join_accept);
  EXPECT_EQ(state->downlinks[0].window, NsRxWindow::rx1);
  EXPECT_EQ(state->downlinks[0].status, DownlinkStatus::acknowledged);
  EXPECT_EQ(state->downlinks[0].tmst, 6000000u);
  EXPECT_EQ(state->downlinks[1].kind, DownlinkKind::ack);
  EXPECT_EQ(state->downlinks[1].fcnt_down, 0u);
  EXPECT_EQ(state->downlinks[1].status, DownlinkStatus::sent);  // no TX_ACK sent for it

  const auto up = wait_for_event(
      ns, [](const NsEvent& e) { return e.kind == NsEventKind::data_uplink && e.fcnt == 0u; });
  ASSERT_TRUE(up.has_value());
  EXPECT_EQ(up->mic_valid, true);
  EXPECT_EQ(up->fport, 1);
  EXPECT_TRUE(up->confirmed);
  EXPECT_EQ(up->copies, 1u);
  EXPECT_EQ(up->dev_eui, kDev103.dev_eui);
  // No key in any event.
  const std::string all = dump(ns);
  EXPECT_NOT_CONTAINS(all, device.session()->keys->nwk_s_key().hex());
  EXPECT_NOT_CONTAINS(all, device.session()->keys->app_s_key.hex());
}

TEST(NetworkServer, Lorawan11JoinsAndItsUplinkMicUsesTheDataRateAndChannel) {
  JsFixture f;
  ExchangeLog log;
  NetworkServer ns(ns_options(f.js().url(), &log));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice device(kDev11);
  join(gw, device, 3000000);
  ASSERT_TRUE(device.joined());
  ASSERT_EQ(device.session()->mode, JoinMode::lorawan_1_1);
  const auto exchanges = log.all();
  ASSERT_EQ(exchanges.size(), 1u);
  const backend::JoinReq req = join_req_of(exchanges[0]);
  EXPECT_EQ(req.mac_version->version, MacVersion::v1_1);
  EXPECT_EQ(*req.dl_settings, 0x80);  // OptNeg 1

  // Uplinks made with the device's session as a LoRaWAN 1.1 device makes them on the air: B1
  // carries TxDr 5 (SF7BW125) and TxCh = the channel index (868.3 MHz is channel 1). SimDevice's
  // make_uplink has no data rate or channel, so the frames are built here.
  const Session& s = *device.session();
  auto uplink = [&](std::uint32_t fcnt, bool confirmed, std::uint8_t tx_ch) {
    DataParams p;
    p.confirmed = confirmed;
    p.dev_addr = s.dev_addr;
    p.fcnt = fcnt;
    p.fport = 2;
    p.frm_payload = Bytes{0xca, 0xfe};
    p.tx_dr = 5;
    p.tx_ch = tx_ch;
    return build_uplink(p, s.network_keys(), s.keys->app_s_key).encode();
  };
  gw.push(rxpk(uplink(0, false, 1), 4000000, k8683));
  gw.push(rxpk(uplink(1, true, 2), 5000000, k8685));
  // ConfFCnt 1 is in the ACK's MIC: it verifies with 1 and not with 0.
  expect_ack(gw, device, 5000000, k8685, 0, 1);
  // TxCh 0 in the MIC but sent on 868.3 MHz (channel 1): the NS's B1 differs.
  gw.push(rxpk(uplink(2, true, 0), 6000000, k8683));
  const auto bad = wait_for_event(ns, [](const NsEvent& e) {
    return e.kind == NsEventKind::data_uplink && e.mic_valid == false;
  });
  ASSERT_TRUE(bad.has_value()) << dump(ns);
  EXPECT_FALSE(gw.pull_resp(300ms).has_value());

  const auto state = ns.device(kDev11.dev_eui);
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->lorawan_1_1_session);
  EXPECT_EQ(state->mic_valid, 2u);
  EXPECT_EQ(state->mic_invalid, 1u);
  EXPECT_EQ(state->last_fcnt_up, 1u);
}

TEST(NetworkServer, TwoGatewaysGiveOneJoinReqAndOneDownlinkToTheStrongerGateway) {
  JsFixture f;
  ExchangeLog log;
  NetworkServer ns(ns_options(f.js().url(), &log));
  ns.start();
  TestGateway weak("aa555a0000000001", ns.port());
  TestGateway strong("aa555a0000000002", ns.port());
  weak.pull();
  strong.pull();
  SimDevice device(kDev104);
  const Bytes request = device.make_join_request();
  weak.push(rxpk(request, 2000000, k8681, -110, -5.0));
  strong.push(rxpk(request, 7000000, k8681, -70, 7.5));

  const auto resp = strong.pull_resp();
  ASSERT_TRUE(resp.has_value());
  EXPECT_EQ(resp->second.tmst, 12000000u);  // the strong gateway's tmst + 5 s
  EXPECT_TRUE(device.accept(resp->second.data).accepted());
  EXPECT_FALSE(weak.receive(300ms).has_value());

  EXPECT_EQ(log.all().size(), 1u);
  const auto e = wait_for_kind(ns, NsEventKind::join_request);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->copies, 2u);
  EXPECT_EQ(e->gateway, strong.eui());
  EXPECT_EQ(count_kind(ns, NsEventKind::join_request), 1u);
  EXPECT_EQ(count_kind(ns, NsEventKind::downlink_sent), 1u);
}

TEST(NetworkServer, TxAckTooLateForRx1LeadsToTheRx2Resend) {
  JsFixture f;
  NetworkServer ns(ns_options(f.js().url(), nullptr));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice device(kDev103);
  gw.push(rxpk(device.make_join_request(), 4000000));
  const auto rx1 = gw.pull_resp();
  ASSERT_TRUE(rx1.has_value());
  EXPECT_EQ(rx1->second.tmst, 9000000u);
  gw.tx_ack(rx1->first, gwmp::TxAckError::too_late);

  // RX2: tmst + JOIN_ACCEPT_DELAY2, EU868's default 869.525 MHz DR0.
  const auto rx2 = gw.pull_resp();
  ASSERT_TRUE(rx2.has_value());
  EXPECT_NE(rx2->first, rx1->first);
  EXPECT_EQ(rx2->second.tmst, 10000000u);
  EXPECT_EQ(rx2->second.frequency_hz, 869525000u);
  EXPECT_EQ(rx2->second.datr, "SF12BW125");
  EXPECT_EQ(rx2->second.data, rx1->second.data);
  EXPECT_TRUE(device.accept(rx2->second.data).accepted());

  // RX2 refused too: recorded as failed, nothing more is sent.
  gw.tx_ack(rx2->first, gwmp::TxAckError::collision_packet);
  const auto failed = wait_for_kind(ns, NsEventKind::downlink_failed);
  ASSERT_TRUE(failed.has_value()) << dump(ns);
  EXPECT_EQ(failed->window, NsRxWindow::rx2);
  EXPECT_CONTAINS(failed->detail, "COLLISION_PACKET");
  EXPECT_FALSE(gw.receive(300ms).has_value());

  const auto state = ns.device(kDev103.dev_eui);
  ASSERT_TRUE(state.has_value());
  ASSERT_EQ(state->downlinks.size(), 2u);
  EXPECT_EQ(state->downlinks[0].window, NsRxWindow::rx1);
  EXPECT_EQ(state->downlinks[0].status, DownlinkStatus::failed);
  EXPECT_EQ(state->downlinks[0].tx_ack_error, "TOO_LATE");
  EXPECT_EQ(state->downlinks[1].window, NsRxWindow::rx2);
  EXPECT_EQ(state->downlinks[1].status, DownlinkStatus::failed);
  EXPECT_EQ(state->downlinks[1].tx_ack_error, "COLLISION_PACKET");
}

TEST(NetworkServer, UnknownDevEuiIsLoggedWithTheJsResultAndNothingIsSent) {
  JsFixture f;
  ExchangeLog log;
  NetworkServer ns(ns_options(f.js().url(), &log));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice stranger(device("0102030405060799", MacVersion::v1_0_3));
  gw.push(rxpk(stranger.make_join_request(), 1000000));

  const auto e = wait_for_kind(ns, NsEventKind::join_failed);
  ASSERT_TRUE(e.has_value()) << dump(ns);
  EXPECT_EQ(e->result, backend::ResultCode::unknown_dev_eui);
  EXPECT_EQ(e->dev_eui, Eui64::parse("0102030405060799"));
  EXPECT_FALSE(gw.receive(300ms).has_value());
  EXPECT_EQ(count_kind(ns, NsEventKind::downlink_sent), 0u);
  EXPECT_EQ(log.all().size(), 1u);
  const auto state = ns.device(Eui64::parse("0102030405060799"));
  ASSERT_TRUE(state.has_value());
  EXPECT_FALSE(state->joined);
  EXPECT_EQ(state->last_join_result, backend::ResultCode::unknown_dev_eui);
  EXPECT_EQ(state->mac_version, MacVersion::v1_0_3);  // the default
}

TEST(NetworkServer, UnreachableJsAndUnknownKekLabelFailTheJoin) {
  {
    NetworkServerOptions o = ns_options("http://127.0.0.1:1/", nullptr);
    o.js.timeout = 1000ms;
    NetworkServer ns(o);
    ns.start();
    TestGateway gw("aa555a0000000001", ns.port());
    gw.pull();
    SimDevice device(kDev103);
    gw.push(rxpk(device.make_join_request(), 1000000));
    const auto e = wait_for_kind(ns, NsEventKind::join_failed);
    ASSERT_TRUE(e.has_value()) << dump(ns);
    EXPECT_FALSE(e->result.has_value());
    EXPECT_CONTAINS(e->detail, "JS exchange failed");
    EXPECT_FALSE(gw.receive(300ms).has_value());
  }
  {
    // The JS wraps the NwkSKey with "ns-kek", which this NS does not have.
    JsFixture f;
    NetworkServerOptions o = ns_options(f.js().url(), nullptr);
    o.js.keks.clear();
    NetworkServer ns(o);
    ns.start();
    TestGateway gw("aa555a0000000001", ns.port());
    gw.pull();
    SimDevice device(kDev103);
    gw.push(rxpk(device.make_join_request(), 1000000));
    const auto e = wait_for_kind(ns, NsEventKind::join_failed);
    ASSERT_TRUE(e.has_value()) << dump(ns);
    EXPECT_EQ(e->result, backend::ResultCode::success);
    EXPECT_CONTAINS(e->detail, "ns-kek");
    EXPECT_FALSE(gw.receive(300ms).has_value());
    EXPECT_FALSE(ns.device(kDev103.dev_eui)->joined);
  }
}

TEST(NetworkServer, UplinkWithBadMicIsRecordedAndNotAcked) {
  JsFixture f;
  NetworkServer ns(ns_options(f.js().url(), nullptr));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice device(kDev103);
  join(gw, device, 1000000);
  ASSERT_TRUE(device.joined());

  Bytes corrupted = device.make_uplink(1, Bytes{0x42}, true);  // FCnt 0
  corrupted.back() ^= 0x01;
  gw.push(rxpk(corrupted, 2000000));
  // The next PULL_RESP answers the next (good) uplink, not the corrupted one.
  gw.push(rxpk(device.make_uplink(1, Bytes{0x43}, true), 3000000));  // FCnt 1
  expect_ack(gw, device, 3000000, k8681, 0, 0);

  const auto bad = wait_for_event(ns, [](const NsEvent& e) {
    return e.kind == NsEventKind::data_uplink && e.mic_valid == false;
  });
  ASSERT_TRUE(bad.has_value()) << dump(ns);
  EXPECT_EQ(bad->fcnt, 0u);
  EXPECT_TRUE(bad->confirmed);
  const auto state = ns.device(kDev103.dev_eui);
  EXPECT_EQ(state->mic_invalid, 1u);
  EXPECT_EQ(state->mic_valid, 1u);
  EXPECT_EQ(state->last_fcnt_up, 1u);

  // A DevAddr without session is logged as such.
  DataParams p;
  p.dev_addr = DevAddr::parse("06123456");
  p.fcnt = 0;
  gw.push(rxpk(build_uplink(p, NetworkSessionKeys::v1_0(Aes128Key{})).encode(), 4000000));
  const auto unknown = wait_for_kind(ns, NsEventKind::unknown_dev_addr);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->dev_addr, DevAddr::parse("06123456"));
}

TEST(NetworkServer, MalformedDatagramsAreLoggedAndTheServerKeepsWorking) {
  JsFixture f;
  NetworkServer ns(ns_options(f.js().url(), nullptr));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  const std::string text = "hello";
  gw.send_raw(ByteSpan(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
  gw.send_raw(Bytes{0x09, 0x00, 0x01, 0x02});                      // protocol version 9
  Bytes bad_json{0x02, 0x00, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8};  // PUSH_DATA, broken JSON
  for (char c : std::string("{\"rxpk\":[")) bad_json.push_back(static_cast<std::uint8_t>(c));
  gw.send_raw(bad_json);
  gw.send_raw(Bytes{});
  gwmp::Packet ack;
  ack.token = 7;
  ack.payload = gwmp::PushAck{};
  gw.send(ack);  // what a gateway never sends

  ASSERT_TRUE(wait_for_kind(ns, NsEventKind::unexpected_datagram).has_value()) << dump(ns);
  EXPECT_GE(count_kind(ns, NsEventKind::malformed_datagram), 3u) << dump(ns);
  for (const NsEvent& e : ns.events()) {
    if (e.kind != NsEventKind::malformed_datagram) continue;
    EXPECT_EQ(e.peer, gw.address());
    EXPECT_FALSE(e.detail.empty());
  }
  // Still working: PULL_DATA is acknowledged, a bad-CRC rxpk is dropped, a join goes through.
  gw.pull();
  gwmp::RxPacket crc_bad = rxpk(Bytes{0x40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 1000);
  crc_bad.stat = -1;
  gw.push(crc_bad);
  ASSERT_TRUE(wait_for_kind(ns, NsEventKind::rxpk_dropped).has_value());
  SimDevice device(kDev103);
  join(gw, device, 1000000);
  EXPECT_TRUE(device.joined());
}

// A NUL in a PUSH_DATA field cut the event line short (the error's what() is a C string); the
// whole field is shown, its control characters escaped.
TEST(NetworkServer, AControlCharacterInAPushDataFieldIsEscapedNotCutAt) {
  JsFixture f;
  NetworkServer ns(ns_options(f.js().url(), nullptr));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  Bytes datagram{0x02, 0x00, 0x01, 0x00, 0xaa, 0x55, 0x5a, 0, 0, 0, 0, 1};  // PUSH_DATA
  const std::string json =
      R"({"rxpk":[{"tmst":1,"freq":868.1,"chan":0,"rfch":0,"stat":1,"modu":"LORA",)"
      R"("datr":"SF7BW125","codr":"4/5","rssi":-50,"lsnr":9,"size":3,"data":"QUJD\u0000\u0007"}]})";
  for (char c : json) datagram.push_back(static_cast<std::uint8_t>(c));
  gw.send_raw(datagram);
  const auto bad = wait_for_kind(ns, NsEventKind::malformed_datagram);
  ASSERT_TRUE(bad.has_value()) << dump(ns);
  const std::string line = to_string(*bad);
  EXPECT_EQ(line.find('\0'), std::string::npos);
  EXPECT_CONTAINS(line, R"(found '\x00' at position 4 in "QUJD\x00\x07")");
}

TEST(NetworkServer, RejoinRequestIsLoggedNotForwarded) {
  JsFixture f;
  ExchangeLog log;
  NetworkServer ns(ns_options(f.js().url(), &log));
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice device(kDev11);
  join(gw, device, 1000000);
  ASSERT_TRUE(device.joined());
  gw.push(rxpk(device.make_rejoin_request(RejoinType::type0), 2000000));
  const auto e = wait_for_kind(ns, NsEventKind::rejoin_request);
  ASSERT_TRUE(e.has_value()) << dump(ns);
  EXPECT_CONTAINS(e->detail, "rejoin-request received, not forwarded");
  EXPECT_EQ(e->mic_valid, true);  // checked with the session's SNwkSIntKey
  EXPECT_EQ(e->dev_eui, kDev11.dev_eui);
  EXPECT_EQ(log.all().size(), 1u);  // the JoinReq only
}

TEST(NetworkServer, AnswersAVersion1GatewayInVersion1) {
  // An older lora_pkt_fwd (GWMP protocol version 1) drops any datagram whose byte 0 is not 1:
  // its PULL_ACK, PUSH_ACK and the PULL_RESP of its join-accept must all be version 1.
  JsFixture f;
  NetworkServer ns(ns_options(f.js().url(), nullptr));
  ns.start();
  TestGateway old("aa555a0000000001", ns.port(), 1);
  old.pull();  // asserts a version 1 PULL_ACK
  SimDevice device(kDev103);
  join(old, device, 1000000);  // a version 1 PUSH_ACK and PULL_RESP
  EXPECT_TRUE(device.joined());
  const auto pull = wait_for_kind(ns, NsEventKind::gateway_pull);
  ASSERT_TRUE(pull.has_value());
  EXPECT_CONTAINS(pull->detail, "in GWMP protocol version 1");
  // A version 2 gateway next to it still gets version 2 (its own datagrams' version).
  TestGateway current("aa555a0000000002", ns.port());
  current.pull();
}

TEST(NetworkServer, ARepeatedRxpkFromOneGatewayIsOneCopyAndOneJoinReq) {
  // A PUSH_DATA sent again after a lost PUSH_ACK carries the same rxpk: the NS counts it as a
  // repeat, not as a copy, and asks the JS once (a second JoinReq would replay the DevNonce).
  JsFixture f;
  ExchangeLog log;
  NetworkServerOptions o = ns_options(f.js().url(), &log);
  o.dedup_window = 2000ms;  // the repeat surely comes within it, however slow the machine
  NetworkServer ns(o);
  ns.start();
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  SimDevice device(kDev103);
  const gwmp::RxPacket rx = rxpk(device.make_join_request(), 1000000);
  gw.push(rx, 0x0001);
  gw.push(rx, 0x0002);
  const auto resp = gw.pull_resp();
  ASSERT_TRUE(resp.has_value());
  EXPECT_TRUE(device.accept(resp->second.data).accepted());
  const auto e = wait_for_kind(ns, NsEventKind::join_request);
  ASSERT_TRUE(e.has_value()) << dump(ns);
  EXPECT_EQ(e->copies, 1u);
  EXPECT_EQ(e->repeats, 1u);
  EXPECT_CONTAINS(to_string(*e), " copies=1 repeats=1 ");
  EXPECT_CONTAINS(e->detail, "1 repeat (a reception sent again by the same gateway)");

  // Sent again once the frame was handled: logged and dropped, still no second JoinReq.
  gw.push(rx, 0x0003);
  const auto dropped = wait_for_event(ns, [](const NsEvent& x) {
    return x.kind == NsEventKind::rxpk_dropped &&
           x.detail.find("rxpk repeated") != std::string::npos;
  });
  ASSERT_TRUE(dropped.has_value()) << dump(ns);
  EXPECT_EQ(count_kind(ns, NsEventKind::join_request), 1u);
  EXPECT_EQ(log.all().size(), 1u);
  EXPECT_EQ(ns.device(kDev103.dev_eui)->join_requests, 1u);
}

TEST(NetworkServer, GatewaysDevicesAndCopiesAreBounded) {
  JsFixture f;
  NetworkServerOptions o = ns_options(f.js().url(), nullptr);
  o.max_gateways = 3;
  o.max_devices = 2;
  o.max_copies_per_frame = 1;
  o.dedup_window = 2000ms;  // the second copy surely comes within it, however slow the machine
  NetworkServer ns(o);
  ns.start();

  // Five gateways pull; the first two are forgotten, each when a gateway beyond the third came.
  TestGateway first("aa555a0000000001", ns.port());
  first.pull();
  for (const char* eui :
       {"aa555a0000000002", "aa555a0000000003", "aa555a0000000004", "aa555a0000000005"}) {
    TestGateway g(eui, ns.port());
    g.pull();
  }
  EXPECT_EQ(ns.dropped().gateways, 2u);
  const auto forgot = wait_for_event(ns, [](const NsEvent& e) {
    return e.kind == NsEventKind::gateway_pull && e.gateway == Eui64::parse("aa555a0000000004");
  });
  ASSERT_TRUE(forgot.has_value()) << dump(ns);
  EXPECT_CONTAINS(forgot->detail,
                  "gateway aa555a0000000001 forgotten (more than 3 gateways; it sent no PULL_DATA "
                  "for the longest time)");
  // Its join-accept has nowhere to go.
  SimDevice dev103(kDev103);
  first.push(rxpk(dev103.make_join_request(), 1000000));
  const auto lost = wait_for_kind(ns, NsEventKind::downlink_not_sent);
  ASSERT_TRUE(lost.has_value()) << dump(ns);
  EXPECT_CONTAINS(lost->detail, "no PULL_DATA received from gateway aa555a0000000001");

  // Copies: one kept, the other counted.
  TestGateway a("aa555a000000000a", ns.port());
  TestGateway b("aa555a000000000b", ns.port());
  a.pull();
  b.pull();
  SimDevice second(kDev104);
  const Bytes request = second.make_join_request();
  a.push(rxpk(request, 2000000, k8681, -60));
  b.push(rxpk(request, 3000000, k8681, -50));
  const auto two = wait_for_event(ns, [](const NsEvent& e) {
    return e.kind == NsEventKind::join_request && e.dev_eui == kDev104.dev_eui;
  });
  ASSERT_TRUE(two.has_value()) << dump(ns);
  ASSERT_TRUE(a.pull_resp().has_value());  // its join-accept, through the copy kept
  EXPECT_EQ(two->copies, 1u);
  EXPECT_EQ(two->copies_dropped, 1u);
  EXPECT_EQ(ns.dropped().copies, 1u);

  // Devices: a third DevEUI makes the NS forget the first it saw (kDev103).
  SimDevice third(device("0102030405060799", MacVersion::v1_0_3));
  a.push(rxpk(third.make_join_request(), 4000000));
  ASSERT_TRUE(wait_for_event(ns, [](const NsEvent& e) {
    return e.kind == NsEventKind::join_failed && e.dev_eui == Eui64::parse("0102030405060799");
  })) << dump(ns);
  EXPECT_EQ(ns.devices().size(), 2u);
  EXPECT_FALSE(ns.device(kDev103.dev_eui).has_value());
  EXPECT_EQ(ns.dropped().devices, 1u);
}

TEST(NetworkServerEventText, IsOneLineWhateverThePeersSent) {
  NsEvent e;
  e.sequence = 7;
  e.kind = NsEventKind::join_failed;
  e.result = backend::ResultCode::unknown_dev_eui;
  // A JS's Result Description and a detail that try to start a forged event line.
  e.result_description = "no such device\n#8 join-accepted dev_eui=0102030405060708 \"forged\"";
  e.detail = "rxpk modu \"x\r\n#9 join-accepted\"";
  const std::string line = to_string(e);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_CONTAINS(
      line,
      R"( description="no such device\n#8 join-accepted dev_eui=0102030405060708 \"forged\"")");
  EXPECT_CONTAINS(line, R"(: rxpk modu "x\r\n#9 join-accepted")");
  e.result_description = std::string(300, 'a') + "\x1b[2J";
  const std::string long_line = to_string(e);
  EXPECT_CONTAINS(long_line, "description=\"" + std::string(200, 'a') + "...\"");
  EXPECT_EQ(long_line.find('\x1b'), std::string::npos);
}

TEST(NetworkServer, StopIsPromptAndIdempotent) {
  JsFixture f;
  NetworkServer ns(ns_options(f.js().url(), nullptr));
  ns.start();
  EXPECT_THROW(ns.start(), lorawan::Error);
  TestGateway gw("aa555a0000000001", ns.port());
  gw.pull();
  const auto t0 = Clock::now();
  ns.stop();
  EXPECT_LT(Clock::now() - t0, 3s);
  ns.stop();
  gwmp::Packet p;
  p.token = 1;
  p.payload = gwmp::PullData{gw.eui()};
  gw.send(p);
  EXPECT_FALSE(gw.receive(200ms).has_value());
}

}  // namespace
}  // namespace joincheck::sim
