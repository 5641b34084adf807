#pragma once
// The simulated devices of a run (conformance/runner.hpp, "Devices"): a scenario's k-th device of
// a MACVersion is the fleet's k-th device of that version, the same SimDevice in every scenario,
// so DevNonce counters and JoinNonce history carry over as they do on the target. "unknown"
// devices are generated once per scenario and name, and never provisioned. A device whose secure
// element fails is not tried again. Each DeviceState also keeps what later steps need of the
// device's earlier ones: its SessionKeyIDs and AppSKeys, and over the air its last answer.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "conformance/result.hpp"
#include "conformance/scenario.hpp"
#include "conformance/validator.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/device/device.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/gateway/gateway.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"

namespace joincheck::conformance {

struct DeviceState {
  sim::FleetDevice fleet_device;
  std::unique_ptr<sim::SimDevice> device;
  DeviceHistory history;
  std::optional<lorawan::Bytes> last_session_key_id;      // of the last accepted join
  std::optional<lorawan::Bytes> previous_session_key_id;  // of the accepted join before it
  std::map<lorawan::Bytes, sim::SessionKeyCheck> app_s_keys;  // by SessionKeyID: the device's AppSKey
  // Over the air: what answered the device's last uplink (join-request or data), for an
  // expect_downlink step.
  struct AirAnswer {
    bool join = true;         // it answered a join-request (else a data uplink)
    bool confirmed = false;   // a confirmed data uplink
    std::optional<sim::DownlinkFit> fit;  // of the downlink; nullopt when none came
    std::string downlink;     // the downlink in words
    std::string problem;      // why none came, or why it is not the JS's join-accept
    std::optional<sim::DownlinkResult> taken;  // data: what the device made of it
  };
  std::optional<AirAnswer> last_air;
  bool counters_from_state = false;  // its DevNonce counters were read from the --state file
};

class RunDevices {
 public:
  // `counters` (RunOptions::device_counters) may be null: every device starts afresh.
  RunDevices(const sim::Fleet& fleet, std::uint64_t seed, sim::DeviceCountersMap* counters)
      : fleet_(fleet), seed_(seed), counters_(counters) {}

  // The device `name` of `scenario` (the run's scenario_index-th), created on first use. nullptr
  // with `why` and the verdict its steps get: skip when the fleet lacks such a device, error when
  // it cannot be simulated.
  DeviceState* resolve(const Scenario& scenario, std::size_t scenario_index, const std::string& name, std::string& why,
                       Verdict& verdict);
  // A device (by DevEUI hex) whose secure element failed: resolve() gives `why` from now on.
  void mark_broken(const std::string& dev_eui, std::string why) { broken_[dev_eui] = std::move(why); }
  // Writes the counters of the fleet's devices used so far (not the generated unknown ones) to
  // `counters`, when there is one.
  void save_counters() const;

 private:
  // The fleet device that `need` stands for in `scenario`; nullptr with `why` when the fleet lacks it.
  const sim::FleetDevice* fleet_device(const Scenario& scenario, const DeviceNeed& need, std::string& why) const;
  // The SimDevice of `fd`, created on first use.
  DeviceState* simulated(const sim::FleetDevice& fd, bool unknown, std::string& why, Verdict& verdict);

  const sim::Fleet& fleet_;
  std::uint64_t seed_;
  sim::DeviceCountersMap* counters_;
  std::map<std::string, DeviceState> devices_;  // by DevEUI hex
  // Devices that cannot be simulated (their secure element failed), by DevEUI hex: why.
  std::map<std::string, std::string> broken_;
  sim::atecc608::ChipFileCache chip_files_;
  std::uint64_t unknown_counter_ = 0;
  std::map<std::pair<std::size_t, std::string>, std::string> unknown_devices_;  // (scenario, name) -> DevEUI
};

}  // namespace joincheck::conformance
