#pragma once
// The end-to-end procedure of `joincheck gateway`: every device of a fleet joins through a real
// (or simulated) Network Server by way of simulated gateways (sim::AirLink), then sends uplinks,
// and each step is judged. The operator's question is answered per device: did it join and send,
// and if not, at which exact step and why.
//
// Steps, in order (a device "dies" at the first step that is not `pass`; every later step is
// `skip` with "not run: the device died at <step>"):
//   "join-request sent"     the NS acknowledged the PUSH_DATA (GWMP PROTOCOL.TXT §3) of at least
//                           one gateway. `error` when none did (the NS is unreachable) or the
//                           device's secure element failed: the harness could not judge.
//   "join-accept received"  a join-accept came before the deadline (default JOIN_ACCEPT_DELAY2 +
//                           2 s). `fail` otherwise: the JS refused the device, the NS could not
//                           reach the JS, or the NS dropped it; see the NS's log for which.
//   "join-accept window"    it fits RX1 or RX2 (LoRaWAN 1.0.x/1.1 §3.3, §6: JOIN_ACCEPT_DELAY1
//                           5 s, JOIN_ACCEPT_DELAY2 6 s on the gateway counter; RP002 for the RX1
//                           and RX2 frequency and data rate; inverted polarity). `fail` with the
//                           reason classify_downlink() gives, e.g. "tmst is uplink tmst + 4000000
//                           us; a join-accept belongs at +5000000 (RX1) or +6000000 (RX2)".
//   "join-accept MIC"       the device accepted it: it decrypts, its MIC verifies with the
//                           device's keys, its JoinNonce is fresh (1.0.4/1.1). `fail` naming why.
//   "keys derived"          the device holds a session (keys derived in its secure element).
//   "uplink N acknowledged" (confirmed uplinks) an ACK came in RX1 or RX2 of the session
//                           (RECEIVE_DELAY1 = RxDelay; RX1DROffset and RX2DataRate from the
//                           join-accept's DLSettings), to the session's DevAddr, with a valid MIC,
//                           FCntDown not going down, and FCtrl.ACK set (LoRaWAN 1.0.x/1.1 §4.3.1.2).
//   "uplink N sent"         (unconfirmed uplinks) the NS acknowledged its PUSH_DATA.
//
// Devices run one after another (sim/gateway/air_link.hpp says why). A gateway that cannot reach
// the NS at all is a setup error (exit 3). No printing or file writing here: reports/ does that.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "conformance/result.hpp"
#include "lorawan/region.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::conformance {

struct AirStep {
  std::string name;  // "join-accept window", "uplink 2 acknowledged"
  Verdict verdict = Verdict::skip;
  std::string detail;                  // what was seen; the reason when not pass
  std::chrono::milliseconds elapsed{0};  // real time the step waited (0 when it did not wait)
};

struct AirDeviceResult {
  std::string dev_eui;      // hex, MSB first
  std::string mac_version;  // "1.0.3"
  std::vector<AirStep> steps;
  // The first step that is not pass (fail or error), and its detail; empty when none.
  std::string died_at;
  std::string died_detail;
  bool ns_unreachable = false;  // no PUSH_DATA acknowledged at all
  // Facts for the console line and scripts (empty/unset when not reached).
  std::string dev_addr;  // hex
  std::string join_window;  // "RX1", "RX2", "none"
  std::string join_datr;    // of the join-accept
  std::uint64_t join_frequency_hz = 0;
  std::string join_gateway;                       // EUI of the gateway that carried it
  std::optional<std::chrono::milliseconds> join_time;  // first PUSH_DATA to the join-accept
  std::size_t uplinks_sent = 0;
  std::size_t uplinks_acknowledged = 0;
  std::chrono::milliseconds duration{0};

  // The worst verdict of the steps (skip < pass < error < fail, as severity()): pass for a
  // device all of whose steps pass, skip for one never run.
  Verdict verdict() const;
};

struct AirRunOptions {
  std::string ns_host = "127.0.0.1";
  std::uint16_t ns_port = 1700;
  sim::Fleet fleet;  // with its folder, for chip references
  lorawan::RegionId region = lorawan::RegionId::eu868;
  std::size_t gateways = 1;
  std::vector<std::uint8_t> channels;  // sim::AirLinkOptions::channels; empty: the default
  std::size_t uplinks = 1;             // per device
  bool confirmed = true;
  std::uint8_t fport = 1;  // 1..223
  lorawan::Bytes payload{'j', 'o', 'i', 'n', 'c', 'h', 'e', 'c', 'k'};
  // Waits for the join-accept and for each ACK; nullopt: sim::AirWaitOptions's defaults.
  std::optional<std::chrono::milliseconds> join_timeout;
  std::optional<std::chrono::milliseconds> ack_timeout;
  // Per PUSH_DATA / PULL_DATA: ack_timeout × attempts (sim::SimGatewayOptions).
  std::chrono::milliseconds gwmp_ack_timeout{1000};
  unsigned gwmp_attempts = 3;
  // sim::AirLinkOptions::wait_for_emission: a device waits for its downlink's emission before
  // the next frame.
  bool wait_for_emission = true;
  // sim::AirLinkOptions::stat_interval: each gateway's `stat` at start and then every interval
  // (30 s, lora_pkt_fwd's default), so that the NS shows the gateways as seen; nullopt or 0: none.
  std::optional<std::chrono::milliseconds> stat_interval = std::chrono::milliseconds(30000);
  std::uint64_t seed = 1;  // gateway EUIs, DevNonces of random-policy devices
  // DevNonce/JoinNonce state across runs against a JS that remembers (like `joincheck run
  // --state`): read before each device, written after it. Not owned.
  sim::DeviceCountersMap* device_counters = nullptr;
  // Set (e.g. by SIGINT): the device under way stops at its next wait; the rest are not run.
  const std::atomic<bool>* cancel = nullptr;
  // How many devices of the fleet to run (from the first); all when unset.
  std::optional<std::size_t> max_devices;
  // Called after each device (on the calling thread), for live console lines; also for the
  // devices a cancellation left out.
  std::function<void(const AirDeviceResult&)> on_device;
};

struct AirReport {
  // What was run.
  std::string ns;  // "127.0.0.1:1700"
  std::string region;  // "EU868"
  std::vector<std::string> gateways;  // EUIs
  std::size_t uplinks = 0;
  bool confirmed = true;
  std::string started_at;  // ISO 8601 UTC
  std::chrono::milliseconds duration{0};
  // The gateways could not be started (the NS does not answer PULL_DATA, its host does not
  // resolve): no device was run.
  std::string setup_error;
  bool cancelled = false;
  // After a cancellation, the devices not run are listed too, every step `skip` ("not run: the
  // run was cancelled"); this counts them.
  std::size_t devices_not_run = 0;

  std::vector<AirDeviceResult> devices;

  // Devices by their verdict (a device never run is skipped).
  struct Counts {
    std::size_t pass = 0, fail = 0, error = 0, skip = 0;
    std::size_t total() const { return pass + fail + error + skip; }
  };
  Counts counts() const;
  // 0 every device passed every step; 1 a step failed (or a harness error, or the run was
  // cancelled); 3 the NS could not be reached (setup error, or no PUSH_DATA acknowledged for a
  // device, when no step failed).
  int exit_code() const;
};

// Runs the procedure. Throws nothing for what the NS, the JS or a device does; lorawan::Error for
// options that cannot work (no device, fport 0 or above 223, a channel the region lacks).
AirReport run_over_the_air(const AirRunOptions& options);

}  // namespace joincheck::conformance
