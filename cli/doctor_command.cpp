// `joincheck doctor`: a checklist of what is wrong with a ChirpStack + external Join Server
// setup (conformance/doctor.hpp), with the fix for each finding.
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "conformance/doctor.hpp"
#include "reports/console.hpp"
#include "reports/report_files.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/join_server/config.hpp"

namespace joincheck::cli {

namespace {

struct DoctorArgs {
  std::string chirpstack_config;
  bool offline = false;
  bool strict = false;
  int timeout_ms = 5000;
  std::string net_id;
  std::string devices;
  std::optional<std::string> probe_device;  // a DevEUI
  std::string state;
  std::vector<std::string> join_euis;
  int dns_timeout_ms = 3000;
  reports::ReportFiles reports;
};

// An option check for 16 hex digits; `what` ("a DevEUI") says what they name.
std::function<std::string(const std::string&)> eui_option(std::string what) {
  return [what = std::move(what)](const std::string& v) {
    return v.size() == 16 && v.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos
               ? std::string()
               : "expected 16 hex digits (" + what + ", MSB first), got \"" + v + "\"";
  };
}

int doctor(const DoctorArgs& a) {
  conformance::DoctorOptions o;
  o.chirpstack_config = a.chirpstack_config;
  o.live = !a.offline;
  o.timeout = std::chrono::milliseconds(a.timeout_ms);
  if (!a.net_id.empty()) o.net_id = a.net_id;
  o.join_euis = a.join_euis;
  o.dns_timeout = std::chrono::milliseconds(a.dns_timeout_ms);
  if (a.probe_device && a.state.empty()) {
    std::cerr << "joincheck doctor: --probe-device: expected --state FILE, got none: a probe JoinReq with a real device "
                 "uses up one of its DevNonces (a LoRaWAN 1.0.4/1.1 Join Server then refuses every lower one); the state "
                 "file (as joincheck run --state) keeps the device's counter so that DevNonce is never used again\n";
    return kExitUsage;
  }
  if (a.probe_device && a.devices.empty()) {
    std::cerr << "joincheck doctor: --probe-device: expected --devices FILE with the device to probe, got none\n";
    return kExitUsage;
  }
  sim::DeviceCountersMap counters;
  conformance::DoctorResult r;
  try {
    if (a.probe_device) {
      counters = sim::load_device_counters(a.state);
      o.probe_device = a.probe_device;
      o.device_counters = &counters;
    }
    if (!a.devices.empty()) {
      const sim::FleetLoad load = sim::load_fleet(a.devices);
      for (const auto& w : load.warnings) std::cerr << "joincheck doctor: " << w << "\n";
      o.fleet = load.fleet;
    }
    r = conformance::run_doctor(o);
  } catch (const sim::CountersFileError& e) {
    std::cerr << "joincheck doctor: --state: " << e.what() << "\n";
    return kExitUsage;
  } catch (const sim::ConfigError& e) {
    std::cerr << "joincheck doctor: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "joincheck doctor: " << e.what() << "\n";
    return kExitUsage;
  }
  reports::ConsoleReporter console(std::cout, reports::stdout_is_terminal());
  for (const auto& res : r.report.results) console.check_line(res);
  console.finish(r.report);
  int code = r.report.exit_code(a.strict);
  if (o.device_counters != nullptr) {
    try {
      sim::save_device_counters(a.state, counters);
    } catch (const std::exception& e) {
      std::cerr << "joincheck doctor: --state: " << e.what() << "\n";
      code = kExitUsage;
    }
  }
  try {
    reports::write_reports(r.report, "doctor", a.reports);
  } catch (const std::exception& e) {
    std::cerr << "joincheck doctor: " << e.what() << "\n";
    code = kExitUsage;
  }
  return code;
}

}  // namespace

std::function<int()> add_doctor_command(CLI::App& app) {
  auto args = std::make_shared<DoctorArgs>();
  CLI::App* cmd = app.add_subcommand(
      "doctor", "Check a ChirpStack v3/v4 Join Server configuration: files, keys, KEKs, prefixes, TLS to each JS");
  cmd->add_option("--chirpstack-config", args->chirpstack_config, "chirpstack.toml (v4) or chirpstack-network-server.toml (v3)")
      ->required();
  cmd->add_flag("--offline", args->offline, "static findings only: do not connect to the Join Servers");
  cmd->add_option("--timeout", args->timeout_ms, "per connection, and the deadline of a ChirpStack v3 probe (v3 has none; a v4 probe waits v4's 5 s), milliseconds (default 5000)");
  cmd->add_option("--net-id", args->net_id,
                  "the NS NetID the probes send as SenderID (default: the file's [network] net_id, else 000000)");
  cmd->add_option("--devices", args->devices,
                  "a fleet the JSs know: its JoinEUIs are routed and give each probe its JoinEUI; the probe itself "
                  "uses an unknown DevEUI, which must get UnknownDevEUI (see --probe-device)");
  cmd->add_option("--probe-device", args->probe_device,
                  "probe the JS whose prefix holds it with this device of --devices (DevEUI) instead of an unknown "
                  "DevEUI; it must join. COSTS a DevNonce of that device (a 1.0.4/1.1 JS then refuses every lower "
                  "one): requires --state")
      ->check(eui_option("a DevEUI"));
  cmd->add_option("--state", args->state,
                  "with --probe-device: the DevNonce counters file (as joincheck run --state), read before the probe "
                  "and written after it so the device's DevNonce continues");
  cmd->add_option("--join-eui", args->join_euis,
                  "print which Join Server this JoinEUI's JoinReq goes to, decided as the file's ChirpStack version "
                  "decides it (repeatable; the JoinEUIs of --devices are added)")
      ->check(eui_option("a JoinEUI"));
  cmd->add_option("--dns-timeout", args->dns_timeout_ms, "deadline of each DNS lookup of a JoinEUI name, milliseconds (default 3000)");
  cmd->add_flag("--strict", args->strict, "warnings fail too");
  add_report_options(*cmd, args->reports);
  return [args] { return doctor(*args); };
}

}  // namespace joincheck::cli
