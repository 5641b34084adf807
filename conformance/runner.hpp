#pragma once
// The scenario runner: plays the NS (sim::NsClient) and the devices (sim::SimDevice) through the
// scenarios, has every answer judged by the validator, judges each step's expectation, applies
// the profile and aggregates one verdict per check (conformance/result.hpp).
//
// Devices: a scenario's k-th device of a MACVersion is the fleet's k-th device of that version,
// the same in every scenario of a run, so DevNonce counters and JoinNonce history carry over
// exactly as they do on the target. "unknown" devices are generated and never provisioned.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "conformance/check.hpp"
#include "conformance/profile.hpp"
#include "conformance/result.hpp"
#include "conformance/scenario.hpp"
#include "conformance/target.hpp"
#include "lorawan/region.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::conformance {

struct RunOptions {
  TargetConfig target;
  sim::Fleet fleet;                // the devices the target knows
  std::vector<Scenario> scenarios;  // run in this order
  Catalog catalog = Catalog::builtin();  // with the custom scenarios' checks added
  Profile profile;
  // Selectors (check ids or groups, see Catalog::select); empty `only` selects every check.
  std::vector<std::string> only;
  std::vector<std::string> skip;
  bool reveal_keys = false;
  std::uint64_t seed = 1;    // DevAddr, TransactionID and unknown devices
  std::string target_label;  // for the report; default: the target URL
  // Called once per check as soon as its verdict is final (the console's live lines).
  std::function<void(const CheckResult&)> on_check;
  // The fleet's DevNonce/RJcount1/JoinNonce state from earlier runs against the same target
  // (sim/device/counters_file.hpp): devices continue from it, and it is updated at the end.
  // Null: every device starts afresh.
  sim::DeviceCountersMap* device_counters = nullptr;
  // Asked before every step and every scenario: true stops the run there (Ctrl-C in Python).
  // The report's setup_error is then "interrupted", checks judged so far keep their verdicts,
  // the others are `error`, and run_scenarios returns normally. Null: never cancelled.
  std::function<bool()> cancelled;
  // Over the air (`joincheck run --via-gateway`): joincheck's NS (sim/network_server) runs in
  // front of the target with a simulated gateway (sim/gateway/air_link.hpp). Join steps that
  // edit nothing of the request travel device -> gateway -> NS -> JS -> NS -> gateway -> device
  // (the NS composes the JoinReq; the validator judges the exchange it had with the JS), and
  // scenarios with uplink / expect_downlink steps run (air/ checks). nullopt: every request goes
  // straight to the JS, and scenarios with over-the-air steps are skipped.
  struct ViaGateway {
    lorawan::RegionId region = lorawan::RegionId::eu868;
    std::size_t gateways = 1;
  };
  std::optional<ViaGateway> via_gateway;
};

// Runs the scenarios. Never throws for anything the target does; a target that cannot be
// reached or set up gives RunReport::setup_error and `error` verdicts. Throws std::invalid_argument
// for a selector that names no check.
RunReport run_scenarios(const RunOptions& options);

// The check ids the options select, in catalog order.
std::vector<std::string> selected_checks(const RunOptions& options);

}  // namespace joincheck::conformance
