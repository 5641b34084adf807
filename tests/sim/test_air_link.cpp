// AirLink, the radio side of an over-the-air run, end to end on loopback: simulated devices join
// and send confirmed uplinks through AirLink's gateways, joincheck's Network Server and the
// reference JS in-process (LoRaWAN 1.0.3, 1.0.4 and 1.1; two gateways; US915); and against a
// fake NS written here, which answers with downlinks that are not the device's (another
// DevAddr, a frame that is no join-accept, one the gateway refuses, a malformed join-accept) so
// that AirLink is seen to skip them; an NS that acknowledges nothing, or no PUSH_DATA.
//
// Values asserted are LoRaWAN's (JOIN_ACCEPT_DELAY1 5 s, RECEIVE_DELAY1 1 s: LoRaWAN 1.0.x/1.1
// §6; RP002-1.0.x for EU868 and US915 channels and data rates) on the gateway counter, never how
// fast anything ran. Every wait has a deadline of a few seconds.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <mutex>
#include <thread>

#include "js_test_support.hpp"
#include "lorawan/data_frame.hpp"
#include "lorawan/join_frames.hpp"
#include "sim/device/device.hpp"
#include "sim/gateway/air_link.hpp"
#include "sim/network_server/network_server.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using namespace test_support;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;

const lorawan::Bytes kPayload{0x01, 0x02, 0x03};

NetworkServerOptions ns_options(const std::string& js_url, lorawan::RegionId region = lorawan::RegionId::eu868,
                                NsFaults faults = {}) {
  NetworkServerOptions o;
  o.js.url = js_url;
  o.js.net_id = kNetId;
  o.js.keks = backend::KekTable{{"ns-kek", kNsKek}};
  o.js.timeout = 3000ms;
  o.region = region;
  o.mac_versions = mac_versions_of(Fleet{{kDev103, kDev104, kDev11}});
  o.faults = faults;
  return o;
}

// The reference JS and joincheck's NS in front of it.
struct Network {
  explicit Network(lorawan::RegionId region = lorawan::RegionId::eu868, NsFaults faults = {})
      : ns(ns_options(js.js().url(), region, faults)) {
    ns.start();
  }
  JsFixture js;
  NetworkServer ns;
};

AirLinkOptions link_options(std::uint16_t port, std::size_t gateways = 1,
                            lorawan::RegionId region = lorawan::RegionId::eu868) {
  AirLinkOptions o;
  o.ns_port = port;
  o.gateways = gateways;
  o.region = region;
  o.seed = 7;
  o.wait_for_emission = false;  // the test that needs it says so
  return o;
}

std::string dump(const NetworkServer& ns) {
  std::string s;
  for (const NsEvent& e : ns.events()) s += to_string(e) + "\n";
  return s;
}

TEST(AirLink, DevicesOfEveryVersionJoinAndGetTheirConfirmedUplinksAcknowledged) {
  Network net;
  AirLink link(link_options(net.ns.port()));
  // One channel per device in turn: EU868's default channels (RP002 §2.1.2).
  const std::array<std::uint64_t, 3> frequencies{868'100'000, 868'300'000, 868'500'000};
  const std::array<FleetDevice, 3> devices{kDev103, kDev104, kDev11};
  for (std::size_t i = 0; i < devices.size(); ++i) {
    SCOPED_TRACE(devices[i].dev_eui.hex());
    SimDeviceOptions so;
    so.seed = 5;
    SimDevice dev(devices[i], so);
    const AirJoin j = link.join(dev);
    ASSERT_EQ(j.status, AirStatus::answered) << j.problem << "\n" << dump(net.ns);
    ASSERT_TRUE(j.accepted()) << to_string(*j.result);
    EXPECT_TRUE(j.ignored.empty());
    EXPECT_EQ(j.radio.frequency_hz, frequencies[i]);
    EXPECT_EQ(j.radio.channel_index, i);
    EXPECT_EQ(j.radio.data_rate, 5);  // EU868 DR5
    EXPECT_EQ(j.radio.datr, "SF7BW125");
    ASSERT_EQ(j.copies.size(), 1u);
    ASSERT_TRUE(j.copies[0].receipt.has_value());
    EXPECT_EQ(j.copies[0].receipt->frequency_hz, frequencies[i]);
    // RX1 of a join-accept: uplink + 5 s, same channel, same DR (RX1DROffset 0).
    const AirDownlink& d = *j.downlink;
    EXPECT_EQ(d.fit.window, RxWindow::rx1) << d.fit.reason();
    EXPECT_EQ(d.fit.tmst_offset_us, 5'000'000);
    EXPECT_EQ(d.downlink.txpk.frequency_hz, frequencies[i]);
    EXPECT_EQ(d.downlink.txpk.datr, "SF7BW125");
    EXPECT_EQ(j.dev_nonce, *dev.last_dev_nonce());
    // The device's session is the one the NS installed.
    const auto state = net.ns.device(devices[i].dev_eui);
    ASSERT_TRUE(state.has_value());
    ASSERT_TRUE(state->joined);
    EXPECT_EQ(dev.session()->dev_addr, *state->dev_addr);
    EXPECT_EQ(dev.session()->mode, lorawan::is_1_1(devices[i].mac_version) ? lorawan::JoinMode::lorawan_1_1
                                                                           : lorawan::JoinMode::lorawan_1_0);
    for (std::uint32_t n = 0; n < 2; ++n) {
      const AirUplink u = link.uplink(dev, 1, kPayload, true);
      ASSERT_EQ(u.status, AirStatus::answered) << u.problem << "\n" << dump(net.ns);
      EXPECT_TRUE(u.acknowledged()) << to_string(*u.result);
      EXPECT_EQ(u.fcnt, n);
      EXPECT_EQ(u.radio.frequency_hz, frequencies[i]);
      // RX1 of a data downlink: uplink + RECEIVE_DELAY1 (RxDelay 1 s).
      EXPECT_EQ(u.downlink->fit.window, RxWindow::rx1) << u.downlink->fit.reason();
      EXPECT_EQ(u.downlink->fit.tmst_offset_us, 1'000'000);
      EXPECT_EQ(u.result->fcnt, n);  // FCntDown counts from 0 with the session
      EXPECT_TRUE(u.result->mic_valid);
    }
    const auto after = net.ns.device(devices[i].dev_eui);
    EXPECT_EQ(after->mic_valid, 2u);
    EXPECT_EQ(after->mic_invalid, 0u);
    EXPECT_EQ(after->last_fcnt_up, 1u);
  }
}

TEST(AirLink, EveryGatewayHearsTheFrameAndTheBestOneCarriesTheDownlink) {
  Network net;
  AirLink link(link_options(net.ns.port(), 2));
  const auto euis = link.gateway_euis();
  ASSERT_EQ(euis.size(), 2u);
  EXPECT_NE(euis[0], euis[1]);
  EXPECT_EQ(euis[0], AirLink::gateway_eui(7, 0));
  EXPECT_EQ(euis[1].hex().substr(0, 4), "6a63");
  // The best gateway rotates with the device: the first device's is gateway 0, the second's 1.
  const std::array<FleetDevice, 2> devices{kDev103, kDev11};
  for (std::size_t i = 0; i < devices.size(); ++i) {
    SCOPED_TRACE(devices[i].dev_eui.hex());
    SimDevice dev(devices[i]);
    const AirJoin j = link.join(dev);
    ASSERT_TRUE(j.accepted()) << j.problem << "\n" << dump(net.ns);
    ASSERT_EQ(j.copies.size(), 2u);
    EXPECT_TRUE(j.copies[0].receipt && j.copies[1].receipt);
    EXPECT_EQ(j.copies[i].rssi, -57);
    EXPECT_EQ(j.copies[1 - i].rssi, -63);
    EXPECT_EQ(j.downlink->gateway, i);
    EXPECT_EQ(j.downlink->gateway_eui, euis[i]);
    // Classified on the counter of the gateway that carried it.
    EXPECT_EQ(j.downlink->fit.tmst_offset_us, 5'000'000);
    const AirUplink u = link.uplink(dev, 2, kPayload, true);
    ASSERT_TRUE(u.acknowledged()) << u.problem << "\n" << dump(net.ns);
    EXPECT_EQ(u.downlink->gateway, i);
  }
  // The NS grouped the two copies of each frame.
  std::size_t joins = 0;
  for (const NsEvent& e : net.ns.events()) {
    if (e.kind != NsEventKind::join_request) continue;
    ++joins;
    EXPECT_EQ(e.copies, 2u) << to_string(e);
  }
  EXPECT_EQ(joins, 2u);
}

TEST(AirLink, Us915SubBand2AndTheDeviceWaitsForTheEmission) {
  Network net(lorawan::RegionId::us915);
  AirLinkOptions o = link_options(net.ns.port(), 1, lorawan::RegionId::us915);
  o.wait_for_emission = true;
  AirLink link(o);
  SimDevice dev(kDev11);
  const AirJoin j = link.join(dev);
  ASSERT_TRUE(j.accepted()) << j.problem << "\n" << dump(net.ns);
  // Channel 8 (903.9 MHz, sub-band 2) at DR3 SF7BW125; RX1 923.3 MHz + 600 kHz × (8 mod 8) at
  // DR13 SF7BW500 (RP002 US902-928 RX1 table, RX1DROffset 0).
  EXPECT_EQ(j.radio.channel_index, 8);
  EXPECT_EQ(j.radio.frequency_hz, 903'900'000u);
  EXPECT_EQ(j.radio.data_rate, 3);
  EXPECT_EQ(j.downlink->fit.window, RxWindow::rx1) << j.downlink->fit.reason();
  EXPECT_EQ(j.downlink->downlink.txpk.frequency_hz, 923'300'000u);
  EXPECT_EQ(j.downlink->downlink.txpk.datr, "SF7BW500");
  // join() returned once the gateway had emitted the join-accept (its tmst is in the past).
  const std::uint32_t now = link.gateway(0).tmst_now();
  EXPECT_GE(static_cast<std::int32_t>(now - *j.downlink->downlink.txpk.tmst), 0);
  // The 1.1 uplink's MIC carries TxCh 8 (B1): the NS verifies it.
  const AirUplink u = link.uplink(dev, 1, kPayload, true);
  ASSERT_TRUE(u.acknowledged()) << u.problem << "\n" << dump(net.ns);
  EXPECT_EQ(u.downlink->downlink.txpk.frequency_hz, 923'300'000u);
  EXPECT_EQ(net.ns.device(kDev11.dev_eui)->mic_valid, 1u);
}

TEST(AirLink, AConfirmedUplinkWithoutAckIsNoDownlinkAtTheDeadline) {
  NsFaults faults;
  faults.no_ack = true;
  Network net(lorawan::RegionId::eu868, faults);
  AirLink link(link_options(net.ns.port()));
  SimDevice dev(kDev104);
  ASSERT_TRUE(link.join(dev).accepted());
  AirWaitOptions w;
  w.timeout = 1500ms;
  const AirUplink u = link.uplink(dev, 1, kPayload, true, w);
  EXPECT_TRUE(u.sent());
  EXPECT_EQ(u.status, AirStatus::no_downlink);
  EXPECT_FALSE(u.acknowledged());
  EXPECT_EQ(u.timeout, 1500ms);
  EXPECT_CONTAINS(u.problem, "no downlink for DevAddr " + dev.session()->dev_addr.hex() + " within 1500 ms");
  // Unconfirmed, no wait by default.
  const AirUplink v = link.uplink(dev, 1, kPayload, false);
  EXPECT_TRUE(v.sent());
  EXPECT_EQ(v.timeout, 0ms);
  EXPECT_EQ(v.fcnt, 1u);
}

TEST(AirLink, ACancelledWaitReturnsAtOnce) {
  NsFaults faults;
  faults.no_join_accept = true;
  Network net(lorawan::RegionId::eu868, faults);
  AirLink link(link_options(net.ns.port()));
  SimDevice dev(kDev103);
  std::atomic<bool> cancel{true};
  AirWaitOptions w;
  w.cancel = &cancel;
  const AirJoin j = link.join(dev, w);
  EXPECT_TRUE(j.sent());
  EXPECT_EQ(j.status, AirStatus::cancelled);
  EXPECT_FALSE(j.accepted());
}

// ---------------------------------------------------------------------------------------------
// A fake NS: acknowledges PULL_DATA and (unless told not to) PUSH_DATA, and calls `on_rxpk` for
// every rxpk, which may answer with PULL_RESPs to the gateway that sent it.

class FakeNs {
 public:
  using OnRxpk = std::function<void(const gwmp::RxPacket&, FakeNs&)>;

  explicit FakeNs(bool ack_pull = true, bool ack_push = true) : ack_pull_(ack_pull), ack_push_(ack_push) {
    socket_.open(udp::v4());
    socket_.bind(udp::endpoint(asio::ip::address_v4::loopback(), 0));
    port_ = socket_.local_endpoint().port();
    receive();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeNs() {
    io_.stop();
    thread_.join();
  }
  FakeNs(const FakeNs&) = delete;
  FakeNs& operator=(const FakeNs&) = delete;

  std::uint16_t port() const { return port_; }
  void on_rxpk(OnRxpk f) {
    std::lock_guard lock(m_);
    on_rxpk_ = std::move(f);
  }
  // A PULL_RESP to the gateway whose datagram is being handled (call from on_rxpk).
  void pull_resp(const gwmp::TxPacket& txpk) {
    gwmp::Packet p;
    p.token = token_++;
    p.payload = gwmp::PullResp{txpk};
    boost::system::error_code ec;
    socket_.send_to(asio::buffer(gwmp::encode(p)), pull_from_, 0, ec);
  }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), from_,
                               [this](const boost::system::error_code& ec, std::size_t n) {
                                 if (ec) return;
                                 handle(lorawan::ByteSpan(buffer_.data(), n));
                                 receive();
                               });
  }
  void handle(lorawan::ByteSpan bytes) {
    gwmp::Packet p;
    try {
      p = gwmp::decode(bytes);
    } catch (const std::exception&) {
      return;
    }
    gwmp::Packet ack;
    ack.token = p.token;
    boost::system::error_code ec;
    if (std::holds_alternative<gwmp::PullData>(p.payload)) {
      pull_from_ = from_;
      if (!ack_pull_) return;
      ack.payload = gwmp::PullAck{};
      socket_.send_to(asio::buffer(gwmp::encode(ack)), from_, 0, ec);
    } else if (auto* push = std::get_if<gwmp::PushData>(&p.payload)) {
      if (!ack_push_) return;
      ack.payload = gwmp::PushAck{};
      socket_.send_to(asio::buffer(gwmp::encode(ack)), from_, 0, ec);
      OnRxpk f;
      {
        std::lock_guard lock(m_);
        f = on_rxpk_;
      }
      for (const gwmp::RxPacket& rx : push->rxpk) {
        if (f) f(rx, *this);
      }
    }
  }

  asio::io_context io_;
  udp::socket socket_{io_};
  std::uint16_t port_ = 0;
  bool ack_pull_;
  bool ack_push_;
  std::array<std::uint8_t, 65536> buffer_{};
  udp::endpoint from_;
  udp::endpoint pull_from_;
  std::uint16_t token_ = 1;
  std::mutex m_;
  OnRxpk on_rxpk_;
  std::thread thread_;
};

gwmp::TxPacket txpk_at(std::uint32_t tmst, std::uint64_t frequency, lorawan::Bytes data) {
  gwmp::TxPacket t;
  t.tmst = tmst;
  t.frequency_hz = frequency;
  t.datr = "SF7BW125";
  t.powe = 14;
  t.data = std::move(data);
  return t;
}

TEST(AirLink, DownlinksNotForTheDeviceAreSkippedAndListed) {
  FakeNs fake;
  const FleetDevice& fd = kDev103;
  const lorawan::DevAddr ours = lorawan::DevAddr::parse("26011bda");
  const lorawan::DevAddr theirs = lorawan::DevAddr::parse("26011bdb");
  std::atomic<int> phase{0};  // 0: the join-request, 1: the uplink
  std::optional<lorawan::NetworkSessionKeys> keys;  // set before the uplink
  fake.on_rxpk([&](const gwmp::RxPacket& rx, FakeNs& ns) {
    if (phase == 0) {
      // Another device's data downlink: not a join-accept. (Downlinks of one gateway are spaced
      // so that none overlaps another: the gateway would refuse it as COLLISION_PACKET.)
      lorawan::DataParams other;
      other.dev_addr = theirs;
      ns.pull_resp(txpk_at(rx.tmst + 4'000'000, rx.frequency_hz,
                           lorawan::build_downlink(other, lorawan::NetworkSessionKeys::v1_0(*fd.app_key)).encode()));
      // A "join-accept" of 5 bytes: the device refuses it as malformed.
      ns.pull_resp(txpk_at(rx.tmst + 4'500'000, rx.frequency_hz, {0x20, 0x01, 0x02, 0x03, 0x04}));
      // The device's real join-accept (LoRaWAN 1.0.x, AppKey), first too late for the gateway...
      const lorawan::JoinRequest jr = lorawan::parse_join_request(rx.data);
      lorawan::JoinAccept fields;
      fields.join_nonce = lorawan::JoinNonce(7);
      fields.net_id = kNetId;
      fields.dev_addr = ours;
      fields.rx_delay = 1;
      const auto built = lorawan::build_join_accept(
          lorawan::JoinMode::lorawan_1_0, lorawan::RootKeys{fd.app_key, std::nullopt},
          lorawan::JoinContext{lorawan::JoinReqType::join, fd.join_eui, fd.dev_eui, jr.dev_nonce}, fields);
      ns.pull_resp(txpk_at(rx.tmst, rx.frequency_hz, built.phy_payload));
      // ...then in RX1.
      ns.pull_resp(txpk_at(rx.tmst + 5'000'000, rx.frequency_hz, built.phy_payload));
    } else if (keys) {
      // Another device's ACK, then the device's.
      lorawan::DataParams p;
      p.dev_addr = theirs;
      p.fctrl.ack = true;
      ns.pull_resp(txpk_at(rx.tmst + 1'000'000, rx.frequency_hz, lorawan::build_downlink(p, *keys).encode()));
      p.dev_addr = ours;
      ns.pull_resp(txpk_at(rx.tmst + 1'100'000, rx.frequency_hz, lorawan::build_downlink(p, *keys).encode()));
    }
  });
  AirLinkOptions o = link_options(fake.port());
  AirLink link(o);
  SimDevice dev(fd);
  AirWaitOptions w;
  w.timeout = 3000ms;
  const AirJoin j = link.join(dev, w);
  ASSERT_EQ(j.status, AirStatus::answered) << j.problem;
  ASSERT_TRUE(j.accepted()) << to_string(*j.result);
  EXPECT_EQ(j.result->accept->join_nonce, lorawan::JoinNonce(7));
  EXPECT_EQ(j.downlink->fit.window, RxWindow::rx1);
  ASSERT_EQ(j.ignored.size(), 3u);
  EXPECT_CONTAINS(j.ignored[0].why, "MType UnconfirmedDataDown, not a join-accept");
  EXPECT_CONTAINS(j.ignored[1].why, "refused by the gateway: TX_ACK TOO_LATE");
  EXPECT_CONTAINS(j.ignored[2].why, "refused by the device");
  EXPECT_EQ(dev.session()->dev_addr, ours);

  keys = dev.session()->network_keys();
  phase = 1;
  const AirUplink u = link.uplink(dev, 1, kPayload, true, w);
  ASSERT_EQ(u.status, AirStatus::answered) << u.problem;
  EXPECT_TRUE(u.acknowledged()) << to_string(*u.result);
  ASSERT_EQ(u.ignored.size(), 1u);
  EXPECT_CONTAINS(u.ignored[0].why, "DevAddr 26011bdb, another device's (the session's is 26011bda)");
  // 1.1 s after the uplink: no window (RX1 is at 1 s), said exactly.
  EXPECT_EQ(u.downlink->fit.window, RxWindow::none);
  EXPECT_CONTAINS(u.downlink->fit.reason(), "tmst is uplink tmst + 1100000 us");
}

TEST(AirLink, AMalformedJoinAcceptAloneIsTheAnswerAtTheDeadline) {
  FakeNs fake;
  fake.on_rxpk([](const gwmp::RxPacket& rx, FakeNs& ns) {
    ns.pull_resp(txpk_at(rx.tmst + 5'000'000, rx.frequency_hz, {0x20, 0x01, 0x02}));
  });
  AirLink link(link_options(fake.port()));
  SimDevice dev(kDev103);
  AirWaitOptions w;
  w.timeout = 800ms;
  const AirJoin j = link.join(dev, w);
  ASSERT_EQ(j.status, AirStatus::answered);
  EXPECT_FALSE(j.accepted());
  EXPECT_EQ(j.result->status, AcceptStatus::malformed);
  EXPECT_TRUE(j.ignored.empty());
}

TEST(AirLink, EachGatewaySendsAStatAtStartUnlessTurnedOff) {
  // So that an NS (ChirpStack) shows the simulated gateways as seen: a `stat` at start, then
  // every 30 s (lora_pkt_fwd's stat_interval).
  FakeNs fake;
  AirLinkOptions o = link_options(fake.port(), 2);
  EXPECT_EQ(o.stat_interval, std::chrono::milliseconds(30000));
  {
    AirLink link(o);
    for (std::size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(link.gateway(i).counters().push_sent, 1u) << i;  // sent before the start returned
      EXPECT_EQ(link.gateway(i).counters().rxfw, 0u) << i;
    }
  }
  o.stat_interval.reset();
  AirLink quiet(o);
  EXPECT_EQ(quiet.gateway(0).counters().push_sent, 0u);
}

TEST(AirLink, NoPushAckIsNotSentAndNothingAtAllFailsTheStart) {
  {
    FakeNs fake(true, false);
    AirLinkOptions o = link_options(fake.port());
    o.ack_timeout = 100ms;
    o.attempts = 2;
    AirLink link(o);
    SimDevice dev(kDev103);
    const AirJoin j = link.join(dev);
    EXPECT_EQ(j.status, AirStatus::not_sent);
    EXPECT_FALSE(j.sent());
    EXPECT_CONTAINS(j.problem, "never acknowledged PUSH_DATA (2 attempts, 100 ms each)");
    EXPECT_CONTAINS(j.copies[0].error, "127.0.0.1:" + std::to_string(fake.port()));
  }
  FakeNs silent(false, false);
  AirLinkOptions o = link_options(silent.port());
  o.ack_timeout = 100ms;
  o.attempts = 2;
  try {
    AirLink link(o);
    ADD_FAILURE() << "no GatewayError";
  } catch (const GatewayError& e) {
    EXPECT_CONTAINS(e.what(), "127.0.0.1:" + std::to_string(silent.port()) + " never acknowledged PULL_DATA");
  }
}

TEST(AirLink, BadOptionsAreNamed) {
  AirLinkOptions o;
  o.gateways = 0;
  EXPECT_THROW(AirLink{o}, lorawan::Error);
  o.gateways = 1;
  o.channels = {3};  // EU868 has its three default channels, 0..2
  try {
    AirLink link(o);
    ADD_FAILURE() << "no error";
  } catch (const lorawan::Error& e) {
    EXPECT_CONTAINS(e.what(), "AirLink channels");
  }
  o.region = lorawan::RegionId::us915;
  o.channels = {64};  // a 500 kHz channel at SF7BW125
  try {
    AirLink link(o);
    ADD_FAILURE() << "no error";
  } catch (const lorawan::Error& e) {
    EXPECT_CONTAINS(e.what(), "US915 channel 64 is a 500 kHz channel");
  }
}

TEST(UdpAddress, ParsesTheForms) {
  EXPECT_EQ(parse_udp_address("udp://127.0.0.1:1700", "--ns").text(), "127.0.0.1:1700");
  EXPECT_EQ(parse_udp_address("udp://chirpstack.example.net", "--ns").text(), "chirpstack.example.net:1700");
  EXPECT_EQ(parse_udp_address("10.0.0.1:1701", "--ns").port, 1701);
  EXPECT_EQ(parse_udp_address("UDP://[::1]:1700/", "--ns").text(), "[::1]:1700");
  EXPECT_EQ(parse_udp_address("udp://0.0.0.0:0", "--listen", true).port, 0);
  const auto error = [](std::string_view text) {
    try {
      parse_udp_address(text, "--ns");
    } catch (const lorawan::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("http://127.0.0.1:1700"),
            "--ns: expected udp://HOST:PORT (e.g. udp://127.0.0.1:1700): the Semtech UDP packet forwarder "
            "protocol (GWMP) runs over UDP, got \"http://127.0.0.1:1700\"");
  EXPECT_CONTAINS(error("udp://:1700"), "with a host");
  EXPECT_CONTAINS(error("udp://host:70000"), "a port 1-65535");
  EXPECT_CONTAINS(error("udp://host:0"), "a port 1-65535");
  EXPECT_CONTAINS(error("udp://::1:1700"), "an IPv6 address in brackets");
  EXPECT_CONTAINS(error("udp://host/path:1700"), "a host without a path");
}

}  // namespace
}  // namespace joincheck::sim
