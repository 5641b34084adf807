// `joincheck gateway`: every device of a fleet joins and sends through a real Network Server
// (ChirpStack's gateway bridge, `joincheck serve-ns`, ...) by way of simulated Semtech UDP
// gateways; one line per device says it joined and sent, or the exact step where it stopped
// (conformance/air_run.hpp). Devices run one at a time.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "cli/signals.hpp"
#include "conformance/air_run.hpp"
#include "lorawan/hex.hpp"
#include "reports/air_report.hpp"
#include "reports/console.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/gateway/air_link.hpp"

namespace joincheck::cli {

namespace {

struct GatewayArgs {
  std::string ns;
  std::string devices;
  std::size_t gateways = 1;
  std::string region = "EU868";
  std::size_t uplinks = 1;
  bool unconfirmed = false;
  double timeout_join_s = 0;  // 0: the default
  double timeout_ack_s = 0;
  double stat_interval_s = 30;  // lora_pkt_fwd's default; 0: no stat
  std::string channels;
  unsigned fport = 1;
  std::string payload;
  std::size_t max_devices = 0;  // 0: all
  std::string state;
  reports::ReportFiles reports;
  std::uint64_t seed = 1;
};

std::optional<std::chrono::milliseconds> seconds_option(double s, const char* option) {
  if (s == 0) return std::nullopt;
  if (!std::isfinite(s) || s < 0 || s > 600) {
    throw lorawan::Error(std::string(option) + ": expected seconds, more than 0 and at most 600");
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
}

// "0,1,2", "8-15", "8-15,65".
std::vector<std::uint8_t> parse_channels(const std::string& text) {
  std::vector<std::uint8_t> out;
  const auto fail = [&] {
    return lorawan::Error("--channels: expected channel indices such as 0,1,2 or 8-15, got " +
                          lorawan::quote_for_error(text));
  };
  const auto number = [&](std::string_view s) {
    if (s.empty() || s.size() > 3) throw fail();
    unsigned v = 0;
    for (const char c : s) {
      if (c < '0' || c > '9') throw fail();
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 255) throw fail();
    return v;
  };
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const auto dash = item.find('-');
    const unsigned first = number(item.substr(0, dash));
    const unsigned last = dash == std::string_view::npos ? first : number(item.substr(dash + 1));
    if (last < first) throw fail();
    for (unsigned c = first; c <= last; ++c) out.push_back(static_cast<std::uint8_t>(c));
  }
  if (out.empty()) throw fail();
  return out;
}

// --devices. An exit code when the fleet cannot be read or holds no device.
std::optional<int> read_fleet(const GatewayArgs& a, conformance::AirRunOptions& o) {
  try {
    const sim::FleetLoad load = sim::load_fleet(a.devices);
    for (const auto& w : load.warnings) std::cerr << "joincheck gateway: " << w << "\n";
    o.fleet = load.fleet;
  } catch (const sim::FleetError& e) {
    std::cerr << "joincheck gateway: --devices: " << e.what() << "\n";
    return kExitUsage;
  }
  if (o.fleet.devices.empty()) {
    std::cerr << "joincheck gateway: --devices: " << a.devices << " holds no device\n";
    return kExitUsage;
  }
  return std::nullopt;
}

// --timeout-join, --timeout-ack and --stat-interval. Throws lorawan::Error for a value out of range.
void read_timing(const GatewayArgs& a, conformance::AirRunOptions& o) {
  o.join_timeout = seconds_option(a.timeout_join_s, "--timeout-join");
  o.ack_timeout = seconds_option(a.timeout_ack_s, "--timeout-ack");
  if (!std::isfinite(a.stat_interval_s) || a.stat_interval_s < 0 || a.stat_interval_s > 86400) {
    throw lorawan::Error("--stat-interval: expected seconds, 0 (no stat) to 86400");
  }
  o.stat_interval.reset();
  if (a.stat_interval_s > 0) {
    o.stat_interval = std::chrono::milliseconds(
        std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(a.stat_interval_s * 1000))));
  }
}

// --channels (of o.region), --fport and --payload. An exit code for a channel the region lacks or
// an FPort out of range; throws lorawan::Error for text that cannot be read.
std::optional<int> read_uplink_options(const GatewayArgs& a, conformance::AirRunOptions& o) {
  if (!a.channels.empty()) {
    o.channels = parse_channels(a.channels);
    const lorawan::Region& r = lorawan::Region::get(o.region);
    for (const std::uint8_t c : o.channels) {
      if (c >= r.uplink_channels().size()) {
        std::cerr << "joincheck gateway: --channels: " << r.name() << " has uplink channels 0.."
                  << r.uplink_channels().size() - 1 << ", got " << unsigned{c} << "\n";
        return kExitUsage;
      }
    }
  }
  if (a.fport == 0 || a.fport > 223) {
    std::cerr << "joincheck gateway: --fport: expected 1..223, got " << a.fport << "\n";
    return kExitUsage;
  }
  o.fport = static_cast<std::uint8_t>(a.fport);
  if (!a.payload.empty()) o.payload = lorawan::from_hex(a.payload, "--payload");
  return std::nullopt;
}

// The options of a run, read and checked. nullopt when the run can go on; else its exit code
// (said on stderr).
std::optional<int> read_options(const GatewayArgs& a, conformance::AirRunOptions& o, sim::DeviceCountersMap& counters) {
  try {
    const sim::UdpAddress ns = sim::parse_udp_address(a.ns, "--ns");
    o.ns_host = ns.host;
    o.ns_port = ns.port;
    const auto region = lorawan::parse_region(a.region);
    if (!region) {
      std::cerr << "joincheck gateway: --region: expected EU868 or US915, got " << lorawan::quote_for_error(a.region)
                << "\n";
      return kExitUsage;
    }
    o.region = *region;
    if (auto code = read_fleet(a, o)) return code;
    o.gateways = a.gateways;
    o.uplinks = a.uplinks;
    o.confirmed = !a.unconfirmed;
    read_timing(a, o);
    if (auto code = read_uplink_options(a, o)) return code;
    if (a.max_devices > 0) o.max_devices = a.max_devices;
    o.seed = a.seed;
    if (!a.state.empty()) {
      counters = sim::load_device_counters(a.state);
      o.device_counters = &counters;
    }
  } catch (const sim::CountersFileError& e) {
    std::cerr << "joincheck gateway: --state: " << e.what() << "\n";
    return kExitUsage;
  } catch (const lorawan::Error& e) {
    std::cerr << "joincheck gateway: " << e.what() << "\n";
    return kExitUsage;
  }
  return std::nullopt;
}

// "joincheck gateway: 4 devices, one at a time, through 2 gateways (EUI, EUI) to NS host:port, EU868".
void print_plan(const conformance::AirRunOptions& o) {
  const std::size_t n = std::min(o.max_devices.value_or(o.fleet.devices.size()), o.fleet.devices.size());
  std::cout << "joincheck gateway: " << n << (n == 1 ? " device" : " devices") << ", one at a time, through "
            << o.gateways << (o.gateways == 1 ? " gateway (" : " gateways (");
  for (std::size_t i = 0; i < o.gateways; ++i) {
    std::cout << (i == 0 ? "" : ", ") << sim::AirLink::gateway_eui(o.seed, i).hex();
  }
  std::cout << ") to NS " << sim::UdpAddress{o.ns_host, o.ns_port}.text() << ", "
            << lorawan::to_string(o.region) << std::endl;
}

// Runs the devices, one line each, until done or cancelled by a signal. Sets `code` to the exit
// code; nullopt for options the AirLink refused (said on stderr; exit kExitUsage).
std::optional<conformance::AirReport> run_devices(conformance::AirRunOptions& o, int& code) {
  const bool colour = reports::stdout_is_terminal();
  o.on_device = [colour](const conformance::AirDeviceResult& d) {
    std::cout << reports::air_device_line(d, colour) << std::endl;
  };
  o.cancel = &cancel_requested();
  conformance::AirReport report;
  try {
    const CancelOnSignals cancel_on_signals;
    report = conformance::run_over_the_air(o);
    code = report.exit_code();
  } catch (const lorawan::Error& e) {
    // Options the AirLink refused (a channel the region lacks, too many gateways).
    std::cerr << "joincheck gateway: " << e.what() << "\n";
    return std::nullopt;
  } catch (const std::exception& e) {
    report.ns = sim::UdpAddress{o.ns_host, o.ns_port}.text();
    report.region = std::string(lorawan::to_string(o.region));
    report.setup_error = std::string("internal error of the harness: ") + e.what();
    code = kExitUnreachable;
  }
  return report;
}

int run(const GatewayArgs& a) {
  conformance::AirRunOptions o;
  sim::DeviceCountersMap counters;
  if (auto code = read_options(a, o, counters)) return *code;
  print_plan(o);
  int code = kExitOk;
  const std::optional<conformance::AirReport> report = run_devices(o, code);
  if (!report) return kExitUsage;
  std::cout << reports::air_summary_line(*report) << std::endl;
  try {
    reports::write_air_reports(*report, a.reports);
  } catch (const std::exception& e) {
    std::cerr << "joincheck gateway: " << e.what() << "\n";
    code = kExitUsage;
  }
  if (o.device_counters != nullptr) {
    try {
      sim::save_device_counters(a.state, counters);
    } catch (const std::exception& e) {
      std::cerr << "joincheck gateway: --state: " << e.what() << "\n";
      code = kExitUsage;
    }
  }
  return code;
}

}  // namespace

std::function<int()> add_gateway_command(CLI::App& app) {
  auto a = std::make_shared<GatewayArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gateway",
      "Join every device of a fleet through a Network Server by way of simulated UDP gateways, and send uplinks");
  cmd->add_option("--ns", a->ns, "the NS's Semtech UDP endpoint, udp://HOST:PORT (ChirpStack Gateway Bridge: 1700)")
      ->required();
  cmd->add_option("--devices", a->devices, "fleet file (JSON or CSV); the devices must be provisioned in the JS and the NS")
      ->required();
  cmd->add_option("--gateways", a->gateways, "simulated gateways hearing every frame (default 1)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  cmd->add_option("--region", a->region, "EU868 (default) or US915");
  cmd->add_option("--channels", a->channels,
                  "uplink channel indices the devices use in turn, e.g. 0-2 (EU868 default) or 8-15 (US915 default, "
                  "sub-band 2)");
  cmd->add_option("--uplinks", a->uplinks, "uplinks per device after the join (default 1)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
  cmd->add_flag("--unconfirmed", a->unconfirmed, "send unconfirmed uplinks (default: confirmed, each must be acknowledged)");
  cmd->add_option("--fport", a->fport, "FPort of the uplinks (default 1)");
  cmd->add_option("--payload", a->payload, "FRMPayload of the uplinks in hex (default: \"joincheck\" in ASCII)");
  cmd->add_option("--timeout-join", a->timeout_join_s,
                  "seconds to wait for a join-accept after the join-request (default 8: JOIN_ACCEPT_DELAY2 + 2)");
  cmd->add_option("--timeout-ack", a->timeout_ack_s,
                  "seconds to wait for the ACK of a confirmed uplink (default: RECEIVE_DELAY2 + 2)");
  cmd->add_option("--stat-interval", a->stat_interval_s,
                  "seconds between the gateways' `stat` reports, the first sent at start so that the NS shows "
                  "the gateways as seen (default 30, as lora_pkt_fwd; 0: none)");
  cmd->add_option("--max-devices", a->max_devices, "run only the first N devices of the fleet");
  cmd->add_option("--state", a->state,
                  "file keeping the devices' DevNonce/JoinNonce state between runs against a JS that remembers "
                  "(created if absent)");
  add_report_options(*cmd, a->reports);
  cmd->add_option("--seed", a->seed, "seed of the gateway EUIs and of random DevNonces (default 1)");
  return [a] { return run(*a); };
}

}  // namespace joincheck::cli
