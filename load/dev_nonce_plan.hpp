#pragma once
// The DevNonces `joincheck load` sends: fresh ones only, within a run and across runs.
//  - counter devices (LoRaWAN 1.0.4, 1.1): the device's counter, continued from the --state file;
//  - random devices (LoRaWAN 1.0.0-1.0.3): a random-looking order of all 65,536 values, drawn
//    without repetition. A real device draws with replacement and a JS refuses the repeats
//    (LoRaWAN 1.0.3 §6.2.4 "the network server keeps track of a certain number of DevNonce values
//    used by the end-device in the past"); at load rates a device joins hundreds of times, so a
//    draw with replacement would repeat within a run and be counted against the JS. The order is
//    a keyed permutation of 0..65535 (a 4-round Feistel network on two bytes, keyed by the DevEUI
//    alone, so that the order is the same in every run whatever its --seed); the --state file
//    keeps how many were drawn (in DevNonceNext, which a random device does not otherwise use)
//    and the last ones (RecentDevNonces), which are skipped if `joincheck run` drew them
//    meanwhile.
//  - fixed devices replay by design: load sends none of their JoinReqs.

#include <cstdint>
#include <optional>
#include <vector>

#include "lorawan/types.hpp"
#include "sim/device/device.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::load {

// The i-th value (i < 65536) of the permutation of 0..65535 keyed by `key`: a bijection.
std::uint16_t permuted_dev_nonce(std::uint64_t key, std::uint32_t i);
// The key of a device's permutation.
std::uint64_t dev_nonce_key(const lorawan::Eui64& dev_eui);

class DevNoncePlan {
 public:
  // `counters`: the device's saved state (absent: a fresh device). Counter devices start at
  // DevNonceStart on a fresh state, as SimDevice does.
  DevNoncePlan(const sim::FleetDevice& device, const std::optional<sim::SimDevice::Counters>& counters);

  // The next fresh DevNonce; nullopt once the device has none left (65,536 used).
  std::optional<lorawan::DevNonce> next();
  // Values left to draw.
  std::uint32_t remaining() const;
  // The state to save: `base` (the device's counters as its SimDevice keeps them after sending
  // this plan's DevNonces) with this plan's position.
  sim::SimDevice::Counters counters(sim::SimDevice::Counters base) const;

 private:
  sim::DevNoncePolicy policy_;
  std::uint64_t key_ = 0;
  std::uint32_t next_ = 0;                // counter: the value; random: the draw index
  std::vector<std::uint16_t> avoid_;      // random: values drawn before (from the state), sorted
};

}  // namespace joincheck::load
