// The over-the-air procedure of `joincheck gateway` (run_over_the_air), judged end to end on
// loopback: joincheck's NS (sim/network_server) in front of the reference JS (the embedded
// target), simulated gateways and devices. A correct set-up passes every step for a mixed fleet
// (1.0.3, 1.0.4, 1.1, and a 1.1 device whose keys live in an emulated ATECC608) through two
// gateways, and keeps DevNonces counting across runs with the counters state; a broken NS fails
// at exactly the step it breaks, with the reason: a join-accept at uplink + 4 s, RX1 on the
// wrong frequency, no ACK, no join-accept; a JS that does not know the device fails "join-accept
// received"; an NS that acknowledges nothing is a setup error (exit 3) within the GWMP deadline,
// one that acknowledges no PUSH_DATA an error (exit 3); a secure element that fails is an error
// naming it.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <thread>

#include "conformance/air_run.hpp"
#include "conformance/embedded_target.hpp"
#include "sim/gateway/gwmp.hpp"
#include "sim/network_server/network_server.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"
#include "sim/sim_test_support.hpp"

namespace joincheck::conformance {
namespace {

using namespace std::chrono_literals;
using sim::test_support::TempDir;
namespace asio = boost::asio;
using udp = asio::ip::udp;

const lorawan::Eui64 kJoinEui = lorawan::Eui64::parse("0000000000000001");

const std::vector<std::string> kSteps1 = {"join-request sent", "join-accept received", "join-accept window",
                                          "join-accept MIC", "keys derived", "uplink 1 acknowledged"};

// 1.0.3, 1.0.4 and 1.1 devices with software keys, and (with `dir`) a 1.1 device in an emulated
// chip; `se_extra` adds members to that device's SecureElement object (faults).
sim::Fleet fleet(const TempDir* dir = nullptr, const std::string& se_extra = "") {
  sim::Fleet f;
  f.devices.push_back(sim::generate_device(0, kJoinEui, lorawan::MacVersion::v1_0_3, 11));
  f.devices.push_back(sim::generate_device(1, kJoinEui, lorawan::MacVersion::v1_0_4, 11));
  f.devices.push_back(sim::generate_device(2, kJoinEui, lorawan::MacVersion::v1_1, 11));
  if (dir != nullptr) {
    sim::FleetDevice d = sim::generate_device(3, kJoinEui, lorawan::MacVersion::v1_1, 11);
    sim::atecc608::ChipFile chips;
    chips.chips.push_back(sim::atecc608::generate_chip(99, 0, d.dev_eui, d.join_eui, *d.app_key, d.nwk_key));
    sim::atecc608::save_chip_file(chips, *dir / "chips.json");
    d.secure_element = R"({"kind": "atecc608-emulated", "chip": "chips.json#0")" +
                       (se_extra.empty() ? std::string() : ", " + se_extra) + "}";
    f.devices.push_back(d);
    f.folder = dir->path();
  }
  return f;
}

// The reference JS provisioned with `provisioned`, and joincheck's NS in front of it.
struct Network {
  Network(const sim::Fleet& provisioned, const sim::Fleet& run, sim::NsFaults faults = {})
      : target(target_options(provisioned)), ns(ns_options(run, faults)) {
    ns.start();
  }
  static EmbeddedTargetOptions target_options(const sim::Fleet& f) {
    EmbeddedTargetOptions o;
    o.fleet = f;
    return o;
  }
  sim::NetworkServerOptions ns_options(const sim::Fleet& run, sim::NsFaults faults) const {
    sim::NetworkServerOptions o;
    o.js = target.target().ns;
    o.mac_versions = sim::mac_versions_of(run);
    o.faults = faults;
    return o;
  }
  std::string dump() const {
    std::string s;
    for (const auto& e : ns.events()) s += sim::to_string(e) + "\n";
    return s;
  }
  EmbeddedTarget target;
  sim::NetworkServer ns;
};

AirRunOptions run_options(std::uint16_t port, const sim::Fleet& f) {
  AirRunOptions o;
  o.ns_port = port;
  o.fleet = f;
  o.wait_for_emission = false;  // proven in tests/sim/test_air_link.cpp; keeps this suite short
  o.join_timeout = 3000ms;
  o.ack_timeout = 2500ms;
  return o;
}

std::vector<std::string> names(const AirDeviceResult& d) {
  std::vector<std::string> out;
  for (const auto& s : d.steps) out.push_back(s.name);
  return out;
}

std::string steps(const AirDeviceResult& d) {
  std::string out = d.dev_eui + " " + d.mac_version + "\n";
  for (const auto& s : d.steps) out += "  " + std::string(to_string(s.verdict)) + " " + s.name + ": " + s.detail + "\n";
  return out;
}

const AirStep& step(const AirDeviceResult& d, const std::string& name) {
  for (const auto& s : d.steps) {
    if (s.name == name) return s;
  }
  throw std::runtime_error("no step " + name + " in\n" + steps(d));
}

// One device, one uplink, against an NS with `faults`; the device's result.
AirDeviceResult run_one(sim::NsFaults faults) {
  const sim::Fleet f = fleet();
  Network net(f, f, faults);
  AirRunOptions o = run_options(net.ns.port(), f);
  o.max_devices = 1;
  o.join_timeout = 1500ms;
  o.ack_timeout = 1500ms;
  const AirReport r = run_over_the_air(o);
  EXPECT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_EQ(r.devices.size(), 1u);
  EXPECT_EQ(r.exit_code(), exit_failed);
  if (r.devices.empty()) return {};
  return r.devices.front();
}

TEST(AirRun, ACorrectSetUpPassesEveryStepForAMixedFleetThroughTwoGateways) {
  TempDir dir;
  const sim::Fleet f = fleet(&dir);
  Network net(f, f);
  AirRunOptions o = run_options(net.ns.port(), f);
  o.gateways = 2;
  o.uplinks = 2;
  sim::DeviceCountersMap counters;
  o.device_counters = &counters;
  std::vector<std::string> live;
  o.on_device = [&](const AirDeviceResult& d) { live.push_back(d.dev_eui); };
  const AirReport r = run_over_the_air(o);
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_EQ(r.exit_code(), exit_ok) << net.dump();
  EXPECT_EQ(r.counts().pass, 4u);
  EXPECT_EQ(r.gateways.size(), 2u);
  EXPECT_EQ(r.region, "EU868");
  EXPECT_EQ(r.ns, "127.0.0.1:" + std::to_string(net.ns.port()));
  ASSERT_EQ(r.devices.size(), 4u);
  const std::vector<std::string> want = {"join-request sent", "join-accept received", "join-accept window",
                                         "join-accept MIC",   "keys derived",         "uplink 1 acknowledged",
                                         "uplink 2 acknowledged"};
  const std::array<std::string, 4> versions{"1.0.3", "1.0.4", "1.1", "1.1"};
  for (std::size_t i = 0; i < r.devices.size(); ++i) {
    const AirDeviceResult& d = r.devices[i];
    SCOPED_TRACE(steps(d));
    EXPECT_EQ(d.dev_eui, f.devices[i].dev_eui.hex());
    EXPECT_EQ(d.mac_version, versions[i]);
    EXPECT_EQ(names(d), want);
    EXPECT_EQ(d.verdict(), Verdict::pass);
    EXPECT_TRUE(d.died_at.empty());
    EXPECT_EQ(d.join_window, "RX1");
    EXPECT_EQ(d.join_datr, "SF7BW125");
    EXPECT_EQ(d.uplinks_acknowledged, 2u);
    EXPECT_EQ(d.dev_addr, net.ns.device(f.devices[i].dev_eui)->dev_addr->hex());
    // The best gateway rotates with the device: every gateway carried downlinks.
    EXPECT_EQ(d.join_gateway, r.gateways[i % 2]);
    EXPECT_CONTAINS(step(d, "join-request sent").detail, "PUSH_DATA acknowledged through 2 of 2 gateways");
    EXPECT_CONTAINS(step(d, "join-accept window").detail, "RX1: " + lorawan::mhz_text(868'100'000 + 200'000 * (i % 3)));
    EXPECT_CONTAINS(step(d, "join-accept window").detail, "tmst uplink + 5000000 us");
    EXPECT_CONTAINS(step(d, "uplink 2 acknowledged").detail, "FCntDown 1, MIC valid");
  }
  EXPECT_CONTAINS(step(r.devices[2], "join-accept MIC").detail, "LoRaWAN 1.1, OptNeg=1");
  EXPECT_CONTAINS(step(r.devices[3], "keys derived").detail, "LoRaWAN 1.1, OptNeg=1");
  EXPECT_EQ(live.size(), 4u);
  // DevNonces were kept: the 1.0.4 and 1.1 devices count from 0.
  ASSERT_EQ(counters.size(), 4u);
  EXPECT_EQ(counters.at(f.devices[1].dev_eui.hex()).next_dev_nonce, 1u);
  EXPECT_EQ(counters.at(f.devices[2].dev_eui.hex()).next_dev_nonce, 1u);

  // Again against the same JS, which remembers DevNonces: with the state, the devices go on
  // counting and join again...
  const AirReport again = run_over_the_air(o);
  EXPECT_EQ(again.exit_code(), exit_ok) << net.dump();
  EXPECT_EQ(counters.at(f.devices[1].dev_eui.hex()).next_dev_nonce, 2u);
  // ...without it, the 1.0.4 device replays DevNonce 0 and the JS refuses it.
  AirRunOptions fresh = run_options(net.ns.port(), f);
  fresh.join_timeout = 1500ms;
  fresh.uplinks = 0;
  const AirReport replay = run_over_the_air(fresh);
  EXPECT_EQ(replay.exit_code(), exit_failed);
  EXPECT_EQ(replay.devices[1].died_at, "join-accept received") << steps(replay.devices[1]);
  // The likely cause first: the same fleet again without its state replays DevNonces.
  EXPECT_NE(replay.devices[1].died_detail.find("likely cause: the JS refused a DevNonce it has seen before"),
            std::string::npos)
      << replay.devices[1].died_detail;
}

TEST(AirRun, AJoinAcceptAtUplinkPlus4SecondsFailsTheWindowStep) {
  sim::NsFaults faults;
  faults.downlink_tmst_offset_us = -1'000'000;
  const AirDeviceResult d = run_one(faults);
  SCOPED_TRACE(steps(d));
  EXPECT_EQ(names(d), kSteps1);
  EXPECT_EQ(d.died_at, "join-accept window");
  EXPECT_CONTAINS(d.died_detail,
                  "tmst is uplink tmst + 4000000 us; a join-accept belongs at +5000000 (RX1) or +6000000 (RX2)");
  EXPECT_EQ(step(d, "join-accept received").verdict, Verdict::pass);
  EXPECT_EQ(step(d, "join-accept window").verdict, Verdict::fail);
  for (const char* later : {"join-accept MIC", "keys derived", "uplink 1 acknowledged"}) {
    EXPECT_EQ(step(d, later).verdict, Verdict::skip);
    EXPECT_EQ(step(d, later).detail, "not run: the device died at join-accept window");
  }
  EXPECT_EQ(d.verdict(), Verdict::fail);
}

TEST(AirRun, RX1OnTheWrongFrequencyFailsTheWindowStep) {
  sim::NsFaults faults;
  faults.rx1_frequency_offset_hz = 200'000;
  const AirDeviceResult d = run_one(faults);
  SCOPED_TRACE(steps(d));
  EXPECT_EQ(d.died_at, "join-accept window");
  EXPECT_CONTAINS(d.died_detail, "frequency 868.300 MHz; RX1 is 868.100 MHz");
}

TEST(AirRun, NoAckFailsTheUplinkStep) {
  sim::NsFaults faults;
  faults.no_ack = true;
  const AirDeviceResult d = run_one(faults);
  SCOPED_TRACE(steps(d));
  EXPECT_EQ(d.died_at, "uplink 1 acknowledged");
  EXPECT_CONTAINS(d.died_detail, "no downlink for DevAddr " + d.dev_addr + " within 1500 ms of the uplink");
  EXPECT_EQ(step(d, "keys derived").verdict, Verdict::pass);
  EXPECT_EQ(d.uplinks_acknowledged, 0u);
  EXPECT_EQ(d.uplinks_sent, 1u);
  // Unconfirmed uplinks ask for no ACK: the same NS passes them.
  const sim::Fleet f = fleet();
  Network net(f, f, faults);
  AirRunOptions o = run_options(net.ns.port(), f);
  o.max_devices = 1;
  o.confirmed = false;
  const AirReport r = run_over_the_air(o);
  EXPECT_EQ(r.exit_code(), exit_ok);
  EXPECT_EQ(r.devices.at(0).steps.back().name, "uplink 1 sent");
  EXPECT_EQ(r.devices.at(0).steps.back().verdict, Verdict::pass);
}

TEST(AirRun, NoJoinAcceptFailsTheReceivedStep) {
  sim::NsFaults faults;
  faults.no_join_accept = true;
  const AirDeviceResult d = run_one(faults);
  SCOPED_TRACE(steps(d));
  EXPECT_EQ(d.died_at, "join-accept received");
  EXPECT_CONTAINS(d.died_detail, "no join-accept within 1500 ms of the join-request");
  EXPECT_EQ(step(d, "join-request sent").verdict, Verdict::pass);
  EXPECT_EQ(step(d, "join-accept window").detail, "not run: the device died at join-accept received");
}

TEST(AirRun, ADeviceTheJsDoesNotKnowFailsTheReceivedStepTheOthersPass) {
  const sim::Fleet known = fleet();
  sim::Fleet run = known;
  run.devices.insert(run.devices.begin() + 1, sim::generate_device(9, kJoinEui, lorawan::MacVersion::v1_0_3, 77));
  Network net(known, run);
  AirRunOptions o = run_options(net.ns.port(), run);
  o.join_timeout = 1500ms;
  const AirReport r = run_over_the_air(o);
  EXPECT_EQ(r.exit_code(), exit_failed);
  ASSERT_EQ(r.devices.size(), 4u);
  EXPECT_EQ(r.counts().pass, 3u);
  EXPECT_EQ(r.counts().fail, 1u);
  EXPECT_EQ(r.devices[1].died_at, "join-accept received") << steps(r.devices[1]);
  // The NS's log says why: the JS answered UnknownDevEUI.
  bool unknown = false;
  for (const auto& e : net.ns.events()) {
    if (e.kind == sim::NsEventKind::join_failed && e.dev_eui == run.devices[1].dev_eui &&
        e.result == backend::ResultCode::unknown_dev_eui) {
      unknown = true;
    }
  }
  EXPECT_TRUE(unknown) << net.dump();
}

TEST(AirRun, AnNsThatAcknowledgesNothingIsASetupErrorWithinTheDeadline) {
  // A UDP socket that reads nothing and answers nothing.
  asio::io_context io;
  udp::socket silent(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  AirRunOptions o = run_options(silent.local_endpoint().port(), fleet());
  o.gwmp_ack_timeout = 200ms;
  o.gwmp_attempts = 2;
  const auto start = std::chrono::steady_clock::now();
  const AirReport r = run_over_the_air(o);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // bounded by the deadline
  EXPECT_EQ(r.exit_code(), exit_unreachable);
  EXPECT_CONTAINS(r.setup_error, "never acknowledged PULL_DATA (2 attempts, 200 ms each)");
  EXPECT_TRUE(r.devices.empty());
}

// Acknowledges PULL_DATA, never PUSH_DATA.
class PullOnlyNs {
 public:
  PullOnlyNs() : socket_(io_, udp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    socket_.non_blocking(true);
    thread_ = std::thread([this] {
      std::array<std::uint8_t, 65536> buffer{};
      while (!stop_) {
        udp::endpoint from;
        boost::system::error_code ec;
        const std::size_t n = socket_.receive_from(asio::buffer(buffer), from, 0, ec);
        if (ec) {
          std::this_thread::sleep_for(2ms);
          continue;
        }
        try {
          const sim::gwmp::Packet p = sim::gwmp::decode(lorawan::ByteSpan(buffer.data(), n));
          if (p.type() != sim::gwmp::PacketType::pull_data) continue;
          sim::gwmp::Packet ack;
          ack.token = p.token;
          ack.payload = sim::gwmp::PullAck{};
          socket_.send_to(asio::buffer(sim::gwmp::encode(ack)), from, 0, ec);
        } catch (const std::exception&) {
        }
      }
    });
  }
  ~PullOnlyNs() {
    stop_ = true;
    thread_.join();
  }
  std::uint16_t port() const { return socket_.local_endpoint().port(); }

 private:
  asio::io_context io_;
  udp::socket socket_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(AirRun, AnNsThatAcknowledgesNoPushDataIsAnErrorAndExit3) {
  PullOnlyNs ns;
  AirRunOptions o = run_options(ns.port(), fleet());
  o.gwmp_ack_timeout = 100ms;
  o.gwmp_attempts = 2;
  o.max_devices = 2;
  const AirReport r = run_over_the_air(o);
  EXPECT_TRUE(r.setup_error.empty());
  EXPECT_EQ(r.exit_code(), exit_unreachable);
  ASSERT_EQ(r.devices.size(), 2u);
  for (const auto& d : r.devices) {
    EXPECT_EQ(d.died_at, "join-request sent") << steps(d);
    EXPECT_EQ(step(d, "join-request sent").verdict, Verdict::error);
    EXPECT_CONTAINS(d.died_detail, "never acknowledged PUSH_DATA (2 attempts, 100 ms each)");
    EXPECT_TRUE(d.ns_unreachable);
    EXPECT_EQ(d.verdict(), Verdict::error);
  }
}

TEST(AirRun, AFailingSecureElementIsAnErrorNamingIt) {
  TempDir dir;
  const sim::Fleet f = fleet(&dir, R"("faults": {"no_wake": "always"})");
  Network net(f, f);
  AirRunOptions o = run_options(net.ns.port(), f);
  const AirReport r = run_over_the_air(o);
  ASSERT_EQ(r.devices.size(), 4u);
  EXPECT_EQ(r.counts().pass, 3u);
  EXPECT_EQ(r.counts().error, 1u);
  EXPECT_EQ(r.exit_code(), exit_failed);
  const AirDeviceResult& d = r.devices[3];
  EXPECT_EQ(d.died_at, "join-request sent") << steps(d);
  EXPECT_EQ(step(d, "join-request sent").verdict, Verdict::error);
  EXPECT_CONTAINS(d.died_detail, "secure element");
  EXPECT_CONTAINS(d.died_detail, f.devices[3].dev_eui.hex());
  EXPECT_CONTAINS(d.died_detail, "wake");
}

TEST(AirRun, CancellingStopsAtTheNextWaitAndListsTheRest) {
  const sim::Fleet f = fleet();
  Network net(f, f);
  AirRunOptions o = run_options(net.ns.port(), f);
  std::atomic<bool> cancel{false};
  o.cancel = &cancel;
  std::size_t calls = 0;
  o.on_device = [&](const AirDeviceResult&) {
    ++calls;
    cancel = true;
  };
  const AirReport r = run_over_the_air(o);
  EXPECT_TRUE(r.cancelled);
  ASSERT_EQ(r.devices.size(), 3u);
  EXPECT_EQ(r.devices[0].verdict(), Verdict::pass);
  EXPECT_EQ(r.devices[1].verdict(), Verdict::skip);
  EXPECT_EQ(r.devices[1].steps.front().detail, "not run: the run was cancelled");
  EXPECT_EQ(r.devices_not_run, 2u);
  EXPECT_EQ(calls, 3u);  // the devices not run are reported too
  EXPECT_EQ(r.counts().skip, 2u);
  EXPECT_EQ(r.exit_code(), exit_failed);
}

TEST(AirRun, OptionsThatCannotWorkAreRefused) {
  AirRunOptions o;
  EXPECT_THROW(run_over_the_air(o), lorawan::Error);  // no device
  o.fleet = fleet();
  o.fport = 0;
  EXPECT_THROW(run_over_the_air(o), lorawan::Error);
}

}  // namespace
}  // namespace joincheck::conformance
