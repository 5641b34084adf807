// The simulated packet forwarder against a fake NS written here (an Asio UDP socket on
// loopback): PULL_DATA at start, uplinks as rxpk with the gateway counter, PUSH_ACK matching and
// retries, the clear error when the NS never acknowledges, TX_ACK for right and wrong PULL_RESPs,
// garbage and strangers logged while the gateway keeps working, several gateways hearing one
// uplink; and classify_downlink for EU868 and US915 join-accepts and data downlinks, right and
// wrong. Every wait has a deadline of a few seconds; no test asserts how fast something is.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "sim/gateway/gateway.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using gwmp::PacketType;
using gwmp::TxAckError;
using lorawan::Bytes;
using lorawan::Eui64;
using lorawan::Region;
using lorawan::RegionId;

const Eui64 kGatewayA = Eui64::parse("0016c001ff10a235");
const Eui64 kGatewayB = Eui64::parse("0016c001ff10a236");
// A join-request's PHYPayload (LoRaWAN 1.0.x, MHDR 0x00; bytes as they appear on the air).
const Bytes kJoinRequest =
    lorawan::from_hex("00dc0000d07ed5b3701e6fedf57ceeaf0085cc587fe913", "test");

// A Network Server that records every datagram and acknowledges PUSH_DATA and PULL_DATA unless
// told not to.
class FakeNs {
 public:
  struct Datagram {
    Bytes bytes;
    std::optional<gwmp::Packet> packet;  // nullopt when it does not decode
    udp::endpoint from;
  };

  explicit FakeNs(const asio::ip::address& address = asio::ip::address_v4::loopback()) {
    socket_.open(address.is_v6() ? udp::v6() : udp::v4());
    socket_.bind(udp::endpoint(address, 0));
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
  std::atomic<bool> ack_push{true};
  std::atomic<bool> ack_pull{true};

  // Waits until `pred(datagrams)` holds; false at the timeout.
  template <class Pred>
  bool wait(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(received_); });
  }

  std::vector<gwmp::Packet> packets(PacketType type) const {
    std::lock_guard lock(mu_);
    std::vector<gwmp::Packet> out;
    for (const auto& d : received_) {
      if (d.packet && d.packet->type() == type) out.push_back(*d.packet);
    }
    return out;
  }
  std::size_t count(PacketType type) const { return packets(type).size(); }

  // The bytes of the datagram of `type` with `token`, as received.
  std::optional<Bytes> raw(PacketType type, std::uint16_t token) const {
    std::lock_guard lock(mu_);
    for (const auto& d : received_) {
      if (d.packet && d.packet->type() == type && d.packet->token == token) return d.bytes;
    }
    return std::nullopt;
  }

  // The address a gateway sent its PULL_DATA from.
  udp::endpoint gateway(const Eui64& eui) const {
    std::lock_guard lock(mu_);
    return gateways_.at(eui);
  }

  void send_to(const Eui64& eui, Bytes datagram) {
    const udp::endpoint to = gateway(eui);
    asio::post(io_, [this, to, d = std::move(datagram)] {
      boost::system::error_code ec;
      socket_.send_to(asio::buffer(d), to, 0, ec);
    });
  }
  void send_to(const Eui64& eui, std::string_view text) {
    send_to(eui, Bytes(text.begin(), text.end()));
  }

  void pull_resp(const Eui64& eui, const gwmp::TxPacket& txpk, std::uint16_t token) {
    gwmp::Packet p;
    p.token = token;
    p.payload = gwmp::PullResp{txpk};
    send_to(eui, gwmp::encode(p));
  }

  // The TX_ACK for `token`, once it arrives.
  std::optional<gwmp::TxAck> wait_tx_ack(std::uint16_t token,
                                         std::chrono::milliseconds timeout = 5000ms) {
    std::optional<gwmp::TxAck> found;
    wait(
        [&](const std::vector<Datagram>& all) {
          for (const auto& d : all) {
            if (d.packet && d.packet->type() == PacketType::tx_ack && d.packet->token == token) {
              found = std::get<gwmp::TxAck>(d.packet->payload);
              return true;
            }
          }
          return false;
        },
        timeout);
    return found;
  }

 private:
  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
          if (ec) return;
          on_datagram(Bytes(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n)),
                      from_);
          receive();
        });
  }

  void on_datagram(Bytes bytes, const udp::endpoint& from) {
    Datagram d;
    d.from = from;
    try {
      d.packet = gwmp::decode(bytes);
    } catch (const gwmp::GwmpError&) {
    }
    d.bytes = std::move(bytes);
    // Recorded before the acknowledgement leaves, so a test that got its ack finds the datagram.
    std::optional<gwmp::Packet> ack;
    if (d.packet && d.packet->type() == PacketType::push_data && ack_push) {
      ack.emplace();
      ack->payload = gwmp::PushAck{};
    } else if (d.packet && d.packet->type() == PacketType::pull_data && ack_pull) {
      ack.emplace();
      ack->payload = gwmp::PullAck{};
    }
    if (ack) {
      ack->token = d.packet->token;
      ack->protocol_version = d.packet->protocol_version;
    }
    {
      std::lock_guard lock(mu_);
      if (d.packet && d.packet->type() == PacketType::pull_data) {
        gateways_[std::get<gwmp::PullData>(d.packet->payload).gateway] = from;
      }
      received_.push_back(std::move(d));
      cv_.notify_all();
    }
    if (ack) {
      boost::system::error_code ec;
      socket_.send_to(asio::buffer(gwmp::encode(*ack)), from, 0, ec);
    }
  }

  asio::io_context io_;
  udp::socket socket_{io_};
  std::uint16_t port_ = 0;
  std::array<std::uint8_t, 65536> buffer_{};
  udp::endpoint from_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Datagram> received_;
  std::map<Eui64, udp::endpoint> gateways_;
};

SimGatewayOptions options_for(const FakeNs& ns, const Eui64& eui = kGatewayA) {
  SimGatewayOptions o;
  o.gateway_eui = eui;
  o.ns_host = "127.0.0.1";
  o.ns_port = ns.port();
  o.seed = 42;
  return o;
}

// Polls `pred` until it holds or `timeout` passes.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 5000ms) {
  const auto deadline = Clock::now() + timeout;
  while (!pred()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

const gwmp::RxPacket& only_rxpk(const gwmp::Packet& p) {
  return std::get<gwmp::PushData>(p.payload).rxpk.at(0);
}

// A txpk answering `receipt` `offset_us` after it, on `freq` at `datr`.
gwmp::TxPacket answer(const UplinkReceipt& receipt, std::uint32_t offset_us, std::uint64_t freq,
                      std::string datr) {
  gwmp::TxPacket t;
  t.tmst = receipt.tmst + offset_us;
  t.frequency_hz = freq;
  t.datr = std::move(datr);
  t.powe = 14;
  t.ipol = true;
  t.ncrc = true;
  t.data = {0x20, 0x01, 0x02, 0x03};
  return t;
}

TEST(SimGateway, StartsWithPullDataAndForwardsAnUplinkAsRxpk) {
  FakeNs ns;
  SimGateway gw(options_for(ns));
  ASSERT_EQ(ns.count(PacketType::pull_data), 1u);
  EXPECT_EQ(std::get<gwmp::PullData>(ns.packets(PacketType::pull_data)[0].payload).gateway,
            kGatewayA);
  EXPECT_EQ(gw.ns_address(), "127.0.0.1:" + std::to_string(ns.port()));

  UplinkRadio radio;
  radio.frequency_hz = 868'300'000;
  radio.data_rate = 5;
  radio.rssi = -42;
  radio.lsnr = 7.5;
  radio.chan = 1;
  const UplinkReceipt receipt = gw.uplink(kJoinRequest, radio);
  EXPECT_EQ(receipt.frequency_hz, 868'300'000u);
  EXPECT_EQ(receipt.data_rate, 5);
  EXPECT_EQ(receipt.datr, "SF7BW125");
  EXPECT_EQ(receipt.attempts, 1u);
  EXPECT_EQ(receipt.tmst, static_cast<std::uint32_t>(receipt.counter_us));
  EXPECT_GE(gw.counter_us(), receipt.counter_us);

  const auto pushes = ns.packets(PacketType::push_data);
  ASSERT_EQ(pushes.size(), 1u);
  EXPECT_EQ(pushes[0].token, receipt.token);
  EXPECT_EQ(std::get<gwmp::PushData>(pushes[0].payload).gateway, kGatewayA);
  const gwmp::RxPacket& rx = only_rxpk(pushes[0]);
  EXPECT_EQ(rx.tmst, receipt.tmst);
  EXPECT_EQ(rx.time, receipt.time);
  EXPECT_EQ(rx.frequency_hz, 868'300'000u);
  EXPECT_EQ(rx.datr, "SF7BW125");
  EXPECT_EQ(rx.modu, "LORA");
  EXPECT_EQ(rx.rssi, -42);
  EXPECT_DOUBLE_EQ(rx.lsnr, 7.5);
  EXPECT_EQ(rx.chan, 1);
  EXPECT_EQ(rx.stat, 1);
  EXPECT_EQ(rx.data, kJoinRequest);

  const GatewayCounters c = gw.counters();
  EXPECT_EQ(c.rxnb, 1u);
  EXPECT_EQ(c.rxok, 1u);
  EXPECT_EQ(c.rxfw, 1u);
  EXPECT_EQ(c.push_sent, 1u);
  EXPECT_EQ(c.push_acked, 1u);
  EXPECT_EQ(c.pull_sent, 1u);
  EXPECT_EQ(c.pull_acked, 1u);
  EXPECT_DOUBLE_EQ(c.ackr(), 100.0);
  EXPECT_EQ(gw.problem_count(), 0u);
}

TEST(SimGateway, DefaultsToTheRegionsFirstChannelAndDefaultDr) {
  FakeNs ns;
  SimGatewayOptions o = options_for(ns);
  o.region = RegionId::us915;
  SimGateway gw(o);
  const UplinkReceipt r = gw.uplink(kJoinRequest);
  EXPECT_EQ(r.frequency_hz, 902'300'000u);
  EXPECT_EQ(r.datr, "SF7BW125");  // DR3
  UplinkRadio bad;
  bad.data_rate = 8;  // a downlink DR
  try {
    gw.uplink(kJoinRequest, bad);
    ADD_FAILURE() << "no GatewayError";
  } catch (const GatewayError& e) {
    EXPECT_CONTAINS(e.what(), "DR8 is not a LoRa uplink data rate of US915");
  }
}

TEST(SimGateway, NeverAcknowledgedPushDataIsAClearErrorWithinTheDeadline) {
  FakeNs ns;
  SimGatewayOptions o = options_for(ns);
  o.ack_timeout = 100ms;
  SimGateway gw(o);
  ns.ack_push = false;
  const auto start = Clock::now();
  try {
    gw.uplink(kJoinRequest);
    ADD_FAILURE() << "no GatewayError";
  } catch (const GatewayError& e) {
    EXPECT_EQ(std::string(e.what()), "NS at 127.0.0.1:" + std::to_string(ns.port()) +
                                         " never acknowledged PUSH_DATA (3 attempts, 100 ms each)");
  }
  EXPECT_LT(Clock::now() - start, 10s);  // bounded by the deadline, not by the NS
  ASSERT_TRUE(eventually([&] { return ns.count(PacketType::push_data) == 3; }));
  const auto pushes = ns.packets(PacketType::push_data);
  ASSERT_EQ(pushes.size(), 3u);
  // Three sends of the same rxpk, each with its own token.
  EXPECT_EQ(std::set<std::uint16_t>({pushes[0].token, pushes[1].token, pushes[2].token}).size(),
            3u);
  EXPECT_EQ(only_rxpk(pushes[0]), only_rxpk(pushes[2]));
  const GatewayCounters c = gw.counters();
  EXPECT_EQ(c.push_sent, 3u);
  EXPECT_EQ(c.push_acked, 0u);
  EXPECT_DOUBLE_EQ(c.ackr(), 0.0);
}

TEST(SimGateway, AnAckOfAnEarlierAttemptCounts) {
  FakeNs ns;
  SimGatewayOptions o = options_for(ns);
  o.ack_timeout = 300ms;
  SimGateway gw(o);
  ns.ack_push = false;
  // Acknowledge the first PUSH_DATA late, while the gateway waits for its second attempt.
  std::thread late([&] {
    if (ns.wait([](const auto& all) {
          return std::count_if(all.begin(), all.end(), [](const FakeNs::Datagram& d) {
                   return d.packet && d.packet->type() == PacketType::push_data;
                 }) >= 2;
        })) {
      gwmp::Packet ack;
      ack.token = ns.packets(PacketType::push_data)[0].token;
      ack.payload = gwmp::PushAck{};
      ns.send_to(kGatewayA, gwmp::encode(ack));
    }
  });
  const UplinkReceipt r = gw.uplink(kJoinRequest);
  late.join();
  EXPECT_EQ(r.token, ns.packets(PacketType::push_data)[0].token);
  EXPECT_GE(r.attempts, 2u);
}

TEST(SimGateway, NeverAcknowledgedPullDataFailsTheStart) {
  FakeNs ns;
  ns.ack_pull = false;
  SimGatewayOptions o = options_for(ns);
  o.ack_timeout = 100ms;
  o.attempts = 2;
  try {
    SimGateway gw(o);
    ADD_FAILURE() << "no GatewayError";
  } catch (const GatewayError& e) {
    EXPECT_EQ(std::string(e.what()), "NS at 127.0.0.1:" + std::to_string(ns.port()) +
                                         " never acknowledged PULL_DATA (2 attempts, 100 ms each)");
  }
  EXPECT_EQ(ns.count(PacketType::pull_data), 2u);
}

TEST(SimGateway, UnresolvableHostIsAnErrorWithinTheDeadline) {
  SimGatewayOptions o;
  o.gateway_eui = kGatewayA;
  o.ns_host = "ns.joincheck.invalid";  // RFC 6761: never resolves
  o.resolve_timeout = 2000ms;
  try {
    SimGateway gw(o);
    ADD_FAILURE() << "no GatewayError";
  } catch (const GatewayError& e) {
    EXPECT_CONTAINS(e.what(), "NS host \"ns.joincheck.invalid\"");
  }
}

TEST(SimGateway, JoinAcceptInRx1AndRx2AreAcceptedAndFitTheirWindows) {
  FakeNs ns;
  SimGateway gw(options_for(ns));
  const UplinkReceipt receipt = gw.uplink(kJoinRequest);  // 868.1 MHz, DR5
  const gwmp::TxPacket in_rx1 = answer(receipt, 5'000'000, 868'100'000, "SF7BW125");
  ns.pull_resp(kGatewayA, in_rx1, 0x4242);
  const auto ack = ns.wait_tx_ack(0x4242);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->gateway, kGatewayA);
  // Accepted: a TX_ACK without JSON, the header and the gateway EUI only, as lora_pkt_fwd sends.
  EXPECT_EQ(ack->error, std::nullopt);
  EXPECT_EQ(ns.raw(PacketType::tx_ack, 0x4242)->size(), 12u);

  const auto d = gw.wait_downlink(receipt, 5000ms);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->txpk, in_rx1);
  EXPECT_EQ(d->token, 0x4242);
  EXPECT_EQ(d->tx_ack, TxAckError::none);
  EXPECT_EQ(d->note, "");
  ASSERT_TRUE(d->lead_us);
  EXPECT_GT(*d->lead_us, 0);
  EXPECT_LE(*d->lead_us, 5'000'000);
  const DownlinkFit fit = classify_downlink(gw.region(), receipt, d->txpk, true);
  EXPECT_EQ(fit.window, RxWindow::rx1) << fit.reason();
  EXPECT_EQ(fit.tmst_offset_us, 5'000'000);

  const gwmp::TxPacket in_rx2 = answer(receipt, 6'000'000, 869'525'000, "SF12BW125");
  ns.pull_resp(kGatewayA, in_rx2, 0x4343);
  ASSERT_TRUE(ns.wait_tx_ack(0x4343));
  EXPECT_EQ(ns.wait_tx_ack(0x4343)->error, std::nullopt);
  const auto all = gw.downlinks();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].sequence, 1u);
  EXPECT_EQ(classify_downlink(gw.region(), receipt, all[1].txpk, true).window, RxWindow::rx2);
  EXPECT_EQ(gw.counters().dwnb, 2u);
  EXPECT_EQ(gw.counters().txnb, 2u);
}

TEST(SimGateway, WrongPullRespsGetTheTxAckErrorOfLoraPktFwd) {
  FakeNs ns;
  SimGatewayOptions o = options_for(ns);
  o.max_tx_power_dbm = 27;
  SimGateway gw(o);
  const UplinkReceipt r = gw.uplink(kJoinRequest);

  struct Case {
    std::uint16_t token;
    gwmp::TxPacket txpk;
    TxAckError expected;
    std::string_view note;
  };
  gwmp::TxPacket gps = answer(r, 0, 868'100'000, "SF7BW125");
  gps.tmst.reset();
  gps.tmms = 1'300'000'000'000ull;
  gwmp::TxPacket loud = answer(r, 5'000'000, 868'100'000, "SF7BW125");
  loud.powe = 40;
  gwmp::TxPacket imme = answer(r, 0, 869'525'000, "SF12BW125");
  imme.tmst.reset();
  imme.imme = true;
  const Case cases[] = {
      {0x0001, answer(r, 0, 868'100'000, "SF7BW125"), TxAckError::too_late,
       "in the past on the gateway counter"},
      {0x0002, answer(r, 5'000'000, 915'000'000, "SF7BW125"), TxAckError::tx_freq,
       "frequency 915.000 MHz is not a downlink frequency of EU868"},
      {0x0003, gps, TxAckError::gps_unlocked, "no GPS"},
      {0x0004, loud, TxAckError::tx_power, "powe 40 dBm is outside 0 .. 27 dBm"},
      {0x0005, answer(r, 600'000'000, 868'100'000, "SF7BW125"), TxAckError::too_early,
       "at most 512 s"},
      {0x0006, answer(r, 5'000'000, 868'100'000, "SF7BW125"), TxAckError::none, ""},
      {0x0007, answer(r, 5'000'000, 868'100'000, "SF7BW125"), TxAckError::collision_packet,
       "overlaps the downlink accepted at tmst"},
      {0x0008, imme, TxAckError::none, ""},
  };
  for (const Case& c : cases) {
    ns.pull_resp(kGatewayA, c.txpk, c.token);
    const auto ack = ns.wait_tx_ack(c.token);
    ASSERT_TRUE(ack) << c.token;
    // Success goes without JSON (error nullopt on decoding); a refusal names its error.
    EXPECT_EQ(ack->error,
              c.expected == TxAckError::none ? std::nullopt : std::optional<TxAckError>(c.expected))
        << c.token;
  }
  const auto all = gw.downlinks();
  ASSERT_EQ(all.size(), std::size(cases));
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].token, cases[i].token);
    EXPECT_EQ(all[i].tx_ack, cases[i].expected);
    EXPECT_CONTAINS(all[i].note, cases[i].note);
  }
  EXPECT_LT(*all[0].lead_us, 0);
  EXPECT_FALSE(all[2].lead_us);
  EXPECT_EQ(gw.counters().dwnb, std::size(cases));
  EXPECT_EQ(gw.counters().txnb, 2u);

  // A datr lora_pkt_fwd cannot parse: kept, no TX_ACK at all.
  ns.pull_resp(kGatewayA, answer(r, 5'500'000, 868'100'000, "SF13BW125"), 0x0009);
  ASSERT_TRUE(eventually([&] { return gw.downlinks().size() == std::size(cases) + 1; }));
  EXPECT_EQ(gw.downlinks().back().tx_ack, std::nullopt);
  EXPECT_CONTAINS(gw.downlinks().back().note, "without a TX_ACK");
  EXPECT_FALSE(ns.wait_tx_ack(0x0009, 300ms));
}

TEST(SimGateway, ATxpkLackingWhatLoraPktFwdRequiresGetsNoTxAck) {
  // lora_pkt_fwd.c (thread_down): "no mandatory \"txpk.size\" object in JSON, TX aborted", the
  // same for a LoRa txpk without `codr`, and "format error in \"txpk.codr\"": no TX_ACK at all.
  FakeNs ns;
  SimGateway gw(options_for(ns));
  const UplinkReceipt r = gw.uplink(kJoinRequest);
  gwmp::TxPacket no_size = answer(r, 5'000'000, 868'100'000, "SF7BW125");
  no_size.missing_fields = {"size"};  // encoded without it, as such an NS would
  gwmp::TxPacket no_codr = answer(r, 5'000'000, 868'100'000, "SF7BW125");
  no_codr.missing_fields = {"codr"};
  gwmp::TxPacket bad_codr = answer(r, 5'000'000, 868'100'000, "SF7BW125");
  bad_codr.codr = "4/9";
  ns.pull_resp(kGatewayA, no_size, 0x0101);
  ns.pull_resp(kGatewayA, no_codr, 0x0102);
  ns.pull_resp(kGatewayA, bad_codr, 0x0103);
  // A complete one last: the aborted ones were not scheduled, so it collides with none.
  ns.pull_resp(kGatewayA, answer(r, 5'000'000, 868'100'000, "SF7BW125"), 0x0104);
  ASSERT_TRUE(eventually([&] { return gw.downlinks().size() == 4; }));
  const auto ack = ns.wait_tx_ack(0x0104);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->error, std::nullopt);
  const auto all = gw.downlinks();
  EXPECT_EQ(all[0].txpk.missing_fields, std::vector<std::string>{"size"});
  EXPECT_EQ(all[0].tx_ack, std::nullopt);
  EXPECT_EQ(all[0].note, "no \"size\" (mandatory): lora_pkt_fwd aborts such a TX without a TX_ACK");
  EXPECT_EQ(all[1].tx_ack, std::nullopt);
  EXPECT_CONTAINS(all[1].note, "no \"codr\" (mandatory for LoRa)");
  EXPECT_EQ(all[2].tx_ack, std::nullopt);
  EXPECT_CONTAINS(all[2].note, "codr \"4/9\" is not a coding rate");
  EXPECT_EQ(all[3].tx_ack, TxAckError::none);
  // The gateway answered in order: had it answered the first three, those TX_ACKs would be in.
  for (const std::uint16_t token :
       {std::uint16_t{0x0101}, std::uint16_t{0x0102}, std::uint16_t{0x0103}}) {
    EXPECT_FALSE(ns.raw(PacketType::tx_ack, token)) << token;
  }
  EXPECT_EQ(gw.counters().txnb, 1u);
}

TEST(SimGateway, TooLateUnlessTheJitQueueLeadIsLeft) {
  // Lora-net/packet_forwarder v4.0.1 jitqueue.c: a downlink must come more than TX_START_DELAY
  // + TX_MARGIN_DELAY + TX_JIT_DELAY (1500 + 1000 + 30000 us) before its tmst. Each tmst below
  // is set from the gateway counter before the PULL_RESP leaves, so the lead at reception is at
  // most that much, whatever the delay on the way.
  FakeNs ns;
  SimGateway gw(options_for(ns));
  UplinkReceipt now;
  now.tmst = gw.tmst_now();
  ns.pull_resp(kGatewayA, answer(now, 20'000, 868'100'000, "SF7BW125"), 0x0201);
  auto ack = ns.wait_tx_ack(0x0201);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->error, TxAckError::too_late);
  const ReceivedDownlink d = gw.downlinks().back();
  ASSERT_TRUE(d.lead_us);
  EXPECT_LE(*d.lead_us, 20'000);
  if (*d.lead_us >= 0) {
    EXPECT_CONTAINS(d.note, "(more than 32500 needed");
  }

  // TX_JIT_DELAY is an option (sx1302_hal's forwarder: 40000 us); 2 s here, to be unmistakable.
  SimGatewayOptions o = options_for(ns, kGatewayB);
  o.seed = 43;
  o.tx_jit_delay = std::chrono::microseconds(2'000'000);
  SimGateway slow(o);
  now.tmst = slow.tmst_now();
  ns.pull_resp(kGatewayB, answer(now, 1'500'000, 868'100'000, "SF7BW125"), 0x0202);
  ack = ns.wait_tx_ack(0x0202);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->error, TxAckError::too_late);
  EXPECT_CONTAINS(slow.downlinks().back().note, "(more than 2002500 needed");
  now.tmst = slow.tmst_now();
  ns.pull_resp(kGatewayB, answer(now, 5'000'000, 868'100'000, "SF7BW125"), 0x0203);
  ack = ns.wait_tx_ack(0x0203);
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->error, std::nullopt);
}

TEST(SimGateway, SendsAStatAtStartWhenAnIntervalIsSet) {
  FakeNs ns;
  const auto stats_from = [&](const Eui64& eui) {
    std::size_t n = 0;
    for (const auto& p : ns.packets(PacketType::push_data)) {
      const auto& push = std::get<gwmp::PushData>(p.payload);
      if (push.gateway == eui && push.stat) ++n;
    }
    return n;
  };
  SimGatewayOptions o = options_for(ns);
  o.stat_interval = std::chrono::hours(1);
  SimGateway gw(o);
  // At start, not an interval later.
  EXPECT_TRUE(eventually([&] { return stats_from(kGatewayA) == 1; }));
  EXPECT_TRUE(eventually([&] { return gw.counters().push_acked == 1; }));

  // 0 disables it. The uplink's PUSH_DATA leaves after anything sent at start, on the same
  // socket: once it is acknowledged, a stat at start would have been received.
  SimGatewayOptions off = options_for(ns, kGatewayB);
  off.seed = 43;
  off.stat_interval = std::chrono::milliseconds(0);
  SimGateway quiet(off);
  quiet.uplink(kJoinRequest);
  EXPECT_EQ(stats_from(kGatewayB), 0u);
  EXPECT_EQ(quiet.counters().push_sent, 1u);
}

TEST(SimGateway, TriesEveryAddressOfTheNsIpv4First) {
  boost::system::error_code ec;
  {
    asio::io_context io;
    udp::socket probe(io);
    probe.open(udp::v6(), ec);
    if (!ec) probe.bind(udp::endpoint(asio::ip::address_v6::loopback(), 0), ec);
  }
  if (ec) GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  // An NS on [::1] only, its name resolving to ::1 first and 127.0.0.1 (e.g. `localhost`).
  FakeNs ns(asio::ip::address_v6::loopback());
  const std::string port = std::to_string(ns.port());
  SimGatewayOptions o = options_for(ns);
  o.ns_host = "localhost";
  o.ns_addresses = {"::1", "127.0.0.1"};
  o.ack_timeout = 100ms;
  o.attempts = 2;
  SimGateway gw(o);
  EXPECT_EQ(gw.ns_address(), "[::1]:" + port);
  EXPECT_EQ(gw.counters().pull_sent, 3u);  // 127.0.0.1 twice (IPv4 first), then [::1] once
  EXPECT_EQ(ns.count(PacketType::pull_data), 1u);
  EXPECT_EQ(gw.uplink(kJoinRequest).attempts, 1u);

  // No address answers: the error names each one tried, in order.
  ns.ack_pull = false;
  try {
    SimGateway again(o);
    ADD_FAILURE() << "no GatewayError";
  } catch (const GatewayError& e) {
    EXPECT_EQ(std::string(e.what()), "NS at localhost:" + port +
                                         " never acknowledged PULL_DATA (tried 127.0.0.1:" + port +
                                         ", [::1]:" + port + "; 2 attempts, 100 ms each)");
  }
}

TEST(SimGateway, WaitDownlinkReturnsTheFirstAfterTheUplinkOrNothingAtTheDeadline) {
  FakeNs ns;
  SimGateway gw(options_for(ns));
  const UplinkReceipt first = gw.uplink(kJoinRequest);
  EXPECT_FALSE(gw.wait_downlink(first, 200ms));  // nothing sent
  ns.pull_resp(kGatewayA, answer(first, 5'000'000, 868'100'000, "SF7BW125"), 0x1001);
  ASSERT_TRUE(ns.wait_tx_ack(0x1001));
  const UplinkReceipt second = gw.uplink(kJoinRequest);
  EXPECT_EQ(gw.wait_downlink(first, 1000ms)->token, 0x1001);
  EXPECT_FALSE(gw.wait_downlink(second, 200ms));  // received before the second uplink
  ns.pull_resp(kGatewayA, answer(second, 5'000'000, 868'100'000, "SF7BW125"), 0x1002);
  const auto d = gw.wait_downlink(second, Clock::now() + 5000ms);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->token, 0x1002);
}

TEST(SimGateway, GarbageAndStrangersAreLoggedAndTheGatewayKeepsWorking) {
  FakeNs ns;
  SimGatewayOptions o = options_for(ns);
  o.max_kept_problems = 5;
  SimGateway gw(o);
  ns.send_to(kGatewayA, "hello");
  ns.send_to(kGatewayA, Bytes{2, 0, 1});
  ns.send_to(kGatewayA, Bytes{9, 0, 1, 1});
  ns.send_to(kGatewayA, Bytes{2, 0x77, 0x77, 0x01});       // PUSH_ACK, unknown token
  ns.send_to(kGatewayA, Bytes{2, 0x77, 0x78, 0x04});       // PULL_ACK, unknown token
  ns.send_to(kGatewayA, Bytes{2, 0x00, 0x01, 0x03, '{'});  // PULL_RESP, bad JSON
  gwmp::Packet pull;
  pull.payload = gwmp::PullData{kGatewayB};
  ns.send_to(kGatewayA, gwmp::encode(pull));  // what a gateway sends
  ASSERT_TRUE(eventually([&] { return gw.problem_count() == 7; })) << gw.problem_count();
  {
    // A PUSH_ACK from another address.
    asio::io_context io;
    udp::socket stranger(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
    const Bytes ack = {2, 0, 1, 1};
    stranger.send_to(asio::buffer(ack), ns.gateway(kGatewayA));
  }
  ASSERT_TRUE(eventually([&] { return gw.problem_count() == 8; })) << gw.problem_count();
  const auto problems = gw.problems();
  ASSERT_EQ(problems.size(), 5u);  // the newest 5 kept, all 8 counted
  std::string all;
  for (const auto& p : problems) all += p.what + "\n";
  EXPECT_CONTAINS(all, "PULL_ACK with token 0x7778 that no PULL_DATA awaits");
  EXPECT_CONTAINS(all, "PULL_RESP JSON: JSON does not parse");
  EXPECT_CONTAINS(all, "unexpected PULL_DATA");
  EXPECT_CONTAINS(all, "not from the NS at 127.0.0.1:" + std::to_string(ns.port()));
  EXPECT_EQ(problems.back().peer.rfind("127.0.0.1:", 0), 0u);

  // Still working.
  const UplinkReceipt r = gw.uplink(kJoinRequest);
  EXPECT_EQ(r.attempts, 1u);
  EXPECT_EQ(gw.counters().dwnb, 0u);
}

TEST(SimGateway, EarlyProblemsAreWordedPrecisely) {
  FakeNs ns;
  SimGateway gw(options_for(ns));
  ns.send_to(kGatewayA, Bytes{2, 0, 1});
  ns.send_to(kGatewayA, Bytes{9, 0, 1, 1});
  ns.send_to(kGatewayA, Bytes{2, 0x77, 0x77, 0x01});
  ASSERT_TRUE(eventually([&] { return gw.problem_count() == 3; }));
  const auto p = gw.problems();
  EXPECT_CONTAINS(
      p[0].what,
      "expected at least 4 bytes (version, token, identifier), got 3 (3 bytes): dropped");
  EXPECT_CONTAINS(p[1].what, "expected protocol version 2 (or 1), got 9");
  EXPECT_CONTAINS(p[2].what, "PUSH_ACK with token 0x7777 that no PUSH_DATA awaits");
  EXPECT_EQ(p[0].peer, "127.0.0.1:" + std::to_string(ns.port()));
}

TEST(SimGateway, SeveralGatewaysHearTheSameUplink) {
  FakeNs ns;
  SimGateway a(options_for(ns, kGatewayA));
  SimGatewayOptions ob = options_for(ns, kGatewayB);
  ob.seed = 43;
  SimGateway b(ob);
  UplinkRadio near;
  near.rssi = -50;
  UplinkRadio far;
  far.rssi = -110;
  far.lsnr = -7.0;
  const UplinkReceipt ra = a.uplink(kJoinRequest, near);
  const UplinkReceipt rb = b.uplink(kJoinRequest, far);
  const auto pushes = ns.packets(PacketType::push_data);
  ASSERT_EQ(pushes.size(), 2u);
  std::map<Eui64, gwmp::RxPacket> by_gateway;
  for (const auto& p : pushes)
    by_gateway[std::get<gwmp::PushData>(p.payload).gateway] = only_rxpk(p);
  ASSERT_EQ(by_gateway.size(), 2u);
  EXPECT_EQ(by_gateway[kGatewayA].data, kJoinRequest);
  EXPECT_EQ(by_gateway[kGatewayB].data, kJoinRequest);
  EXPECT_EQ(by_gateway[kGatewayA].rssi, -50);
  EXPECT_EQ(by_gateway[kGatewayB].rssi, -110);
  EXPECT_DOUBLE_EQ(by_gateway[kGatewayB].lsnr, -7.0);
  EXPECT_EQ(by_gateway[kGatewayA].tmst, ra.tmst);
  EXPECT_EQ(by_gateway[kGatewayB].tmst, rb.tmst);  // each its own counter
  EXPECT_NE(ns.gateway(kGatewayA), ns.gateway(kGatewayB));
}

TEST(SimGateway, KeepAliveAndStat) {
  FakeNs ns;
  SimGatewayOptions o = options_for(ns);
  o.keepalive = 50ms;
  o.stat_interval = 50ms;
  o.latitude = 46.24;
  o.longitude = 3.2523;
  o.altitude = 145;
  SimGateway gw(o);
  gw.uplink(kJoinRequest);
  EXPECT_TRUE(ns.wait([](const std::vector<FakeNs::Datagram>& all) {
    std::size_t pulls = 0, stats = 0;
    for (const auto& d : all) {
      if (!d.packet) continue;
      if (d.packet->type() == PacketType::pull_data) ++pulls;
      if (d.packet->type() == PacketType::push_data &&
          std::get<gwmp::PushData>(d.packet->payload).stat)
        ++stats;
    }
    return pulls >= 3 && stats >= 2;
  }));
  const std::uint16_t token = gw.send_status();
  ASSERT_TRUE(ns.wait([&](const std::vector<FakeNs::Datagram>& all) {
    return std::any_of(all.begin(), all.end(),
                       [&](const auto& d) { return d.packet && d.packet->token == token; });
  }));
  std::optional<gwmp::GatewayStatus> stat;
  for (const auto& p : ns.packets(PacketType::push_data)) {
    if (p.token == token) stat = std::get<gwmp::PushData>(p.payload).stat;
  }
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->rxnb, 1u);
  EXPECT_EQ(stat->rxok, 1u);
  EXPECT_EQ(stat->rxfw, 1u);
  EXPECT_EQ(stat->dwnb, 0u);
  EXPECT_EQ(stat->lati, 46.24);
  EXPECT_EQ(stat->alti, 145);
  EXPECT_EQ(stat->time.size(), std::string("2014-01-12 08:59:28 GMT").size());
  // The stat PUSH_DATAs are acknowledged too.
  EXPECT_TRUE(eventually([&] {
    const GatewayCounters c = gw.counters();
    return c.push_acked >= 3 && c.pull_acked >= 3;
  }));
  EXPECT_EQ(gw.local_address().rfind("0.0.0.0:", 0), 0u) << gw.local_address();
}

// ---- classify_downlink (no sockets) ---------------------------------------------------------

UplinkReceipt receipt_at(std::uint32_t tmst, std::uint64_t freq, std::uint8_t dr) {
  UplinkReceipt r;
  r.tmst = tmst;
  r.frequency_hz = freq;
  r.data_rate = dr;
  return r;
}

const Region& eu() { return Region::get(RegionId::eu868); }
const Region& us() { return Region::get(RegionId::us915); }

TEST(ClassifyDownlink, Eu868JoinAcceptRx1AndRx2) {
  const UplinkReceipt r = receipt_at(1000, 868'100'000, 5);
  const DownlinkFit rx1 =
      classify_downlink(eu(), r, answer(r, 5'000'000, 868'100'000, "SF7BW125"), true);
  EXPECT_EQ(rx1.window, RxWindow::rx1);
  EXPECT_EQ(rx1.timing, RxWindow::rx1);
  EXPECT_TRUE(rx1.reasons.empty()) << rx1.reason();
  const DownlinkFit rx2 =
      classify_downlink(eu(), r, answer(r, 6'000'000, 869'525'000, "SF12BW125"), true);
  EXPECT_EQ(rx2.window, RxWindow::rx2);
  EXPECT_EQ(rx2.reason(), "");
  EXPECT_EQ(to_string(rx2.window), "RX2");
}

TEST(ClassifyDownlink, Eu868JoinAcceptWrongTimeFrequencyDataRate) {
  const UplinkReceipt r = receipt_at(1000, 868'100'000, 5);
  const DownlinkFit early =
      classify_downlink(eu(), r, answer(r, 4'000'000, 868'100'000, "SF7BW125"), true);
  EXPECT_EQ(early.window, RxWindow::none);
  EXPECT_EQ(early.timing, RxWindow::none);
  EXPECT_EQ(early.tmst_offset_us, 4'000'000);
  EXPECT_EQ(early.reason(),
            "tmst is uplink tmst + 4000000 us; a join-accept belongs at +5000000 (RX1) or +6000000 "
            "(RX2)");

  const DownlinkFit freq =
      classify_downlink(eu(), r, answer(r, 5'000'000, 868'300'000, "SF7BW125"), true);
  EXPECT_EQ(freq.window, RxWindow::none);
  EXPECT_EQ(freq.timing, RxWindow::rx1);
  EXPECT_EQ(freq.reason(), "frequency 868.300 MHz; RX1 is 868.100 MHz, RX2 869.525 MHz");

  const DownlinkFit datr =
      classify_downlink(eu(), r, answer(r, 5'000'000, 868'100'000, "SF9BW125"), true);
  EXPECT_EQ(datr.window, RxWindow::none);
  EXPECT_EQ(datr.reason(), "datr SF9BW125; RX1 expects SF7BW125 (DR5)");

  // RX2 timing with RX1's frequency and data rate: both wrong for RX2.
  const DownlinkFit mixed =
      classify_downlink(eu(), r, answer(r, 6'000'000, 868'100'000, "SF7BW125"), true);
  EXPECT_EQ(mixed.timing, RxWindow::rx2);
  EXPECT_EQ(mixed.reasons,
            (std::vector<std::string>{"frequency 868.100 MHz; RX1 is 868.100 MHz, RX2 869.525 MHz",
                                      "datr SF7BW125; RX2 expects SF12BW125 (DR0)"}));

  const DownlinkFit before =
      classify_downlink(eu(), r, answer(r, 0xffffffffu - 999, 868'100'000, "SF7BW125"), true);
  EXPECT_EQ(before.tmst_offset_us, -1000);
  EXPECT_CONTAINS(before.reason(), "tmst is uplink tmst - 1000 us;");
}

TEST(ClassifyDownlink, ImmeTmmsAndIpolFitNoClassAWindow) {
  const UplinkReceipt r = receipt_at(1000, 868'100'000, 5);
  gwmp::TxPacket imme = answer(r, 0, 868'100'000, "SF7BW125");
  imme.tmst.reset();
  imme.imme = true;
  const DownlinkFit a = classify_downlink(eu(), r, imme, true);
  EXPECT_EQ(a.window, RxWindow::none);
  EXPECT_FALSE(a.tmst_offset_us);
  EXPECT_EQ(
      a.reason(),
      "imme is set (emitted at once, tmst ignored); a join-accept belongs at +5000000 (RX1) or "
      "+6000000 (RX2): class A answers are sent at a tmst");
  gwmp::TxPacket gps = answer(r, 0, 868'100'000, "SF7BW125");
  gps.tmst.reset();
  gps.tmms = 123;
  EXPECT_CONTAINS(classify_downlink(eu(), r, gps, true).reason(),
                  "no tmst (GPS time tmms instead)");
  gwmp::TxPacket plain = answer(r, 5'000'000, 868'100'000, "SF7BW125");
  plain.ipol = false;
  const DownlinkFit c = classify_downlink(eu(), r, plain, true);
  EXPECT_EQ(c.window, RxWindow::none);
  EXPECT_EQ(c.timing, RxWindow::rx1);
  EXPECT_EQ(c.reason(), "ipol is false; a device listens with inverted polarity (ipol true)");
}

TEST(ClassifyDownlink, Eu868DataDownlinkUsesRxDelayOffsetAndRx2DataRate) {
  const UplinkReceipt r = receipt_at(4'000'000'000u, 867'500'000, 5);
  // RxDelay 1 (0 counts as 1 too), RX1DROffset 2, RX2 at SF9 (DR3).
  EXPECT_EQ(
      classify_downlink(eu(), r, answer(r, 1'000'000, 867'500'000, "SF9BW125"), false, 0, 2, 3)
          .window,
      RxWindow::rx1);
  EXPECT_EQ(
      classify_downlink(eu(), r, answer(r, 2'000'000, 869'525'000, "SF9BW125"), false, 1, 2, 3)
          .window,
      RxWindow::rx2);
  EXPECT_EQ(
      classify_downlink(eu(), r, answer(r, 3'000'000, 867'500'000, "SF9BW125"), false, 3, 2, 3)
          .window,
      RxWindow::rx1);
  const DownlinkFit late =
      classify_downlink(eu(), r, answer(r, 5'000'000, 867'500'000, "SF9BW125"), false, 1, 2, 3);
  EXPECT_EQ(late.reason(),
            "tmst is uplink tmst + 5000000 us; a data downlink (RxDelay 1 s) belongs at +1000000 "
            "(RX1) or +2000000 (RX2)");
  const DownlinkFit dr =
      classify_downlink(eu(), r, answer(r, 2'000'000, 869'525'000, "SF12BW125"), false, 1, 2, 3);
  EXPECT_EQ(dr.reason(), "datr SF12BW125; RX2 expects SF9BW125 (DR3)");
}

TEST(ClassifyDownlink, ToleranceIsExactByDefault) {
  const UplinkReceipt r = receipt_at(1000, 868'100'000, 5);
  const gwmp::TxPacket off = answer(r, 5'000'010, 868'100'000, "SF7BW125");
  const DownlinkFit exact = classify_downlink(eu(), r, off, true);
  EXPECT_EQ(exact.window, RxWindow::none);
  EXPECT_EQ(exact.reason(),
            "tmst is uplink tmst + 5000010 us; a join-accept belongs at +5000000 (RX1) or +6000000 "
            "(RX2)");
  EXPECT_EQ(classify_downlink(eu(), r, off, true, 1, 0, std::nullopt, 20).window, RxWindow::rx1);
  EXPECT_CONTAINS(classify_downlink(eu(), r, off, true, 1, 0, std::nullopt, 5).reason(),
                  "(RX2) ± 5 us");
}

TEST(ClassifyDownlink, CounterWrapAround) {
  const UplinkReceipt r = receipt_at(0xfff0'0000u, 868'100'000, 5);
  const gwmp::TxPacket t = answer(r, 5'000'000, 868'100'000, "SF7BW125");
  EXPECT_LT(*t.tmst, r.tmst);  // wrapped
  EXPECT_EQ(classify_downlink(eu(), r, t, true).window, RxWindow::rx1);
}

TEST(ClassifyDownlink, Us915JoinAcceptRx1AndRx2) {
  // Channel 8 (903.9 MHz) at DR3: RX1 923.3 MHz DR13 (SF7BW500); RX2 923.3 MHz DR8.
  const UplinkReceipt r = receipt_at(77, 903'900'000, 3);
  EXPECT_EQ(classify_downlink(us(), r, answer(r, 5'000'000, 923'300'000, "SF7BW500"), true).window,
            RxWindow::rx1);
  EXPECT_EQ(classify_downlink(us(), r, answer(r, 6'000'000, 923'300'000, "SF12BW500"), true).window,
            RxWindow::rx2);
  // Channel 9 (904.1 MHz): RX1 923.9 MHz.
  const UplinkReceipt r9 = receipt_at(77, 904'100'000, 3);
  EXPECT_EQ(
      classify_downlink(us(), r9, answer(r9, 5'000'000, 923'900'000, "SF7BW500"), true).window,
      RxWindow::rx1);
  // Channel 64 (903.0 MHz, 500 kHz) at DR4: RX1 923.3 MHz DR13.
  const UplinkReceipt r64 = receipt_at(77, 903'000'000, 4);
  EXPECT_EQ(
      classify_downlink(us(), r64, answer(r64, 5'000'000, 923'300'000, "SF7BW500"), true).window,
      RxWindow::rx1);
}

TEST(ClassifyDownlink, Us915Wrong) {
  const UplinkReceipt r9 = receipt_at(77, 904'100'000, 3);
  EXPECT_EQ(
      classify_downlink(us(), r9, answer(r9, 5'000'000, 923'300'000, "SF7BW500"), true).reason(),
      "frequency 923.300 MHz; RX1 is 923.900 MHz, RX2 923.300 MHz");
  EXPECT_EQ(
      classify_downlink(us(), r9, answer(r9, 5'000'000, 923'900'000, "SF7BW125"), true).reason(),
      "datr SF7BW125; RX1 expects SF7BW500 (DR13)");
  // Data downlink with RX1DROffset 1: DR3 -> DR12.
  EXPECT_EQ(classify_downlink(us(), r9, answer(r9, 1'000'000, 923'900'000, "SF8BW500"), false, 1, 1)
                .window,
            RxWindow::rx1);
  // An uplink frequency that is no US915 channel: RX1 cannot be known, RX2 still can.
  const UplinkReceipt odd = receipt_at(77, 903'950'000, 3);
  const DownlinkFit f =
      classify_downlink(us(), odd, answer(odd, 6'000'000, 923'300'000, "SF12BW500"), true);
  EXPECT_EQ(f.timing, RxWindow::rx2);
  EXPECT_EQ(f.window, RxWindow::none);
  EXPECT_CONTAINS(
      f.reason(),
      "RX1 unknown: US915 RX1: uplink frequency 903.950 MHz is not a US902-928 uplink channel");
}

TEST(ClassifyDownlink, TimeOnAir) {
  // 13 bytes (an empty LoRaWAN data frame) at SF7BW125, CR 4/5, CRC on, 8 preamble symbols:
  // 12.25 preamble + 33 payload symbols of 1.024 ms = 46.336 ms.
  gwmp::TxPacket t;
  t.datr = "SF7BW125";
  t.codr = "4/5";
  t.ncrc = false;
  t.data = Bytes(13, 0);
  EXPECT_EQ(time_on_air_us(t), 46'336u);
  t.ncrc = true;  // 28 payload symbols
  EXPECT_EQ(time_on_air_us(t), 41'216u);
  t.datr = "SF13BW125";
  EXPECT_EQ(time_on_air_us(t), std::nullopt);
}

}  // namespace
}  // namespace joincheck::sim
