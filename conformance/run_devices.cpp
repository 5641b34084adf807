// The simulated devices of a run: scenario device names resolved to fleet devices and simulated.
#include "conformance/run_devices.hpp"

#include <array>
#include <set>

#include "sim/secure_element/factory.hpp"

namespace joincheck::conformance {

namespace {

// A scenario device of "MACVersion": "any" (DeviceNeed::any_version).
const sim::FleetDevice* nth_device_of_any_version(const sim::Fleet& fleet, std::size_t k) {
  using lorawan::MacVersion;
  constexpr std::array kAnyVersionOrder{MacVersion::v1_0_3, MacVersion::v1_0_4, MacVersion::v1_1,
                                        MacVersion::v1_0_2, MacVersion::v1_0_1, MacVersion::v1_0_0};
  for (const MacVersion v : kAnyVersionOrder) {
    for (const auto& d : fleet.devices) {
      if (d.mac_version == v && k-- == 0) return &d;
    }
  }
  return nullptr;
}

}  // namespace

DeviceState* RunDevices::resolve(const Scenario& sc, std::size_t scenario_index, const std::string& name,
                                 std::string& why, Verdict& verdict) {
  verdict = Verdict::skip;
  const DeviceNeed* need = sc.device(name);
  if (need == nullptr) {
    why = "the scenario names no device \"" + name + "\"";
    return nullptr;
  }
  sim::FleetDevice fd;
  if (need->unknown) {
    // One generated device per (scenario, name), whatever the number of steps that use it.
    const auto cache_key = std::make_pair(scenario_index, need->name);
    if (auto cached = unknown_devices_.find(cache_key); cached != unknown_devices_.end()) {
      return &devices_.at(cached->second);
    }
    const lorawan::Eui64 join_eui =
        fleet_.devices.empty() ? lorawan::Eui64::parse("0000000000000001") : fleet_.devices.front().join_eui;
    // Index range far from generated fleets, and a seed of its own: never a provisioned device.
    fd = sim::generate_device((std::uint64_t{1} << 39) + unknown_counter_++, join_eui, need->mac_version,
                              seed_ ^ 0x756e6b6e6f776eULL);
    unknown_devices_[cache_key] = fd.dev_eui.hex();
  } else {
    const sim::FleetDevice* found = fleet_device(sc, *need, why);
    if (found == nullptr) return nullptr;
    fd = *found;
  }
  return simulated(fd, need->unknown, why, verdict);
}

const sim::FleetDevice* RunDevices::fleet_device(const Scenario& sc, const DeviceNeed& need, std::string& why) const {
  // The k-th device of this version in the scenario is the fleet's k-th of that version (for
  // "any", the k-th in the order of kAnyVersionOrder).
  std::size_t k = 0;
  for (const auto& d : sc.devices) {
    if (d.name == need.name) break;
    if (d.any_version == need.any_version && (d.any_version || d.mac_version == need.mac_version) &&
        d.unknown == need.unknown) {
      ++k;
    }
  }
  if (need.any_version) {
    const sim::FleetDevice* found = nth_device_of_any_version(fleet_, k);
    if (found == nullptr) {
      why = "the fleet has " + std::to_string(fleet_.devices.size()) + " device(s); the scenario needs " +
            std::to_string(k + 1) + " of any MAC version (add some: joincheck devices generate)";
    }
    return found;
  }
  std::size_t seen = 0;
  for (const auto& d : fleet_.devices) {
    if (d.mac_version != need.mac_version) continue;
    if (seen++ == k) return &d;
  }
  why = "the fleet has " + std::to_string(seen) + " LoRaWAN " + std::string(lorawan::to_string(need.mac_version)) +
        " device(s); the scenario needs " + std::to_string(k + 1) +
        " (add some: joincheck devices generate --mac-version " + std::string(lorawan::to_string(need.mac_version)) + ")";
  return nullptr;
}

DeviceState* RunDevices::simulated(const sim::FleetDevice& fd, bool unknown, std::string& why, Verdict& verdict) {
  const std::string key = fd.dev_eui.hex();
  if (auto broken = broken_.find(key); broken != broken_.end()) {
    why = broken->second;
    verdict = Verdict::error;
    return nullptr;
  }
  auto it = devices_.find(key);
  if (it == devices_.end()) {
    DeviceState ds;
    ds.fleet_device = fd;
    sim::SimDeviceOptions so;
    so.seed = seed_;
    try {
      ds.device = std::make_unique<sim::SimDevice>(
          fd, sim::make_secure_element(fd, fleet_.folder, seed_ ^ 0x5345ULL, &chip_files_), so);
      if (counters_ != nullptr && !unknown) {
        if (auto c = counters_->find(key); c != counters_->end()) {
          ds.device->restore(c->second);
          ds.counters_from_state = true;
        }
      }
    } catch (const std::exception& e) {
      // Not the JS's doing: every check of the device's scenarios is `error`, said once per
      // scenario, and the device is not tried again.
      why = std::string("device ") + key + " cannot be simulated: " + e.what();
      broken_[key] = why;
      verdict = Verdict::error;
      return nullptr;
    }
    it = devices_.emplace(key, std::move(ds)).first;
  }
  return &it->second;
}

void RunDevices::save_counters() const {
  if (counters_ == nullptr) return;
  std::set<std::string> unknown;
  for (const auto& [k, eui] : unknown_devices_) unknown.insert(eui);
  for (const auto& [eui, ds] : devices_) {
    if (unknown.count(eui) == 0) (*counters_)[eui] = ds.device->counters();
  }
}

}  // namespace joincheck::conformance
