#pragma once
// The load generator (docs/load.md): JoinReqs for a fleet's devices at a rate (open loop), as
// fast as N connections allow (closed loop), or as a storm of N distinct devices within T, every
// answer verified as `joincheck run` verifies it (conformance/validator.hpp: the device takes
// the join-accept, the session keys are unwrapped and compared with its own derivation).
//
// Open loop and storm: request i is due at start + i/rate; a connection takes the next due
// request when it is free, and its latency counts from the time it was due, so a JS that stalls
// is charged for the whole stall (coordinated omission, as wrk2 and HdrHistogram describe it).
// Closed loop: each connection sends its next request when the previous one is answered.
//
// A device has at most one JoinReq in flight (as a real device), so a lane of C connections
// needs at least C devices; DevNonces come from load/dev_nonce_plan.hpp. The work runs on
// `threads` lanes, each an io_context on its own thread with its own HTTP client, connections
// and devices; their results merge exactly at the end.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "conformance/profile.hpp"
#include "conformance/target.hpp"
#include "load/load_result.hpp"
#include "load/load_spec.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::load {

enum class LoadMode { open, closed, storm };
std::string_view to_string(LoadMode mode);

struct LoadProgress {
  double elapsed_s = 0;
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  double rate = 0;             // verified answers per second over the last interval
  std::uint64_t p99_us = 0;    // of the last whole second (the slowest lane's); 0 before one
};

struct LoadOptions {
  conformance::TargetConfig target;  // URL, paths, TLS, headers, NS identity, KEKs, timeout
  std::string target_label;          // for reports; the URL when empty
  conformance::Profile profile;      // MUST deviations it lists are warnings, not errors
  sim::Fleet fleet;

  LoadMode mode = LoadMode::closed;
  double rate = 0;                   // open loop: JoinReqs per second
  std::size_t connections = 16;
  std::chrono::microseconds duration{std::chrono::seconds(10)};  // open and closed loop
  std::optional<StormSpec> storm;    // LoadMode::storm
  MixSpec mix;                       // --mix: the share of RejoinReqs of each type (open and closed loop)
  ShardSpec shard;
  unsigned threads = 1;
  // The join-accept windows a storm is judged by: JOIN_ACCEPT_DELAY1/2 (5 s, 6 s: LoRaWAN
  // Regional Parameters RP002-1.0.x §3 default settings) minus what the NS needs itself.
  std::chrono::microseconds rx1_deadline{std::chrono::seconds(5)};
  std::chrono::microseconds rx2_deadline{std::chrono::seconds(6)};
  std::uint64_t seed = 1;
  bool reveal_keys = false;

  // --state: read before, written by the caller after (the devices used are updated in place).
  sim::DeviceCountersMap* counters = nullptr;
  // Set (by a signal handler) to stop: no new request is sent, the ones in flight finish.
  const std::atomic<bool>* stop = nullptr;
  // Called on the calling thread every `progress_interval`.
  std::function<void(const LoadProgress&)> on_progress;
  std::chrono::milliseconds progress_interval{1000};
};

// A load test that cannot start: no device in the shard, fewer devices than connections, a storm
// larger than the fleet, an async target. what() says what was expected and what was seen.
class LoadSetupError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs the load test and returns what it measured (settings and processes filled in). Throws
// LoadSetupError before sending anything.
LoadResult run_load(const LoadOptions& options);

}  // namespace joincheck::load
