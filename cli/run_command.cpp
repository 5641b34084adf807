// `joincheck run`: the conformance suite against a Join Server (or the embedded reference JS),
// and `joincheck list`: the check catalog.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/commands.hpp"
#include "conformance/check.hpp"
#include "conformance/embedded_target.hpp"
#include "conformance/profile.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "conformance/target.hpp"
#include "reports/console.hpp"
#include "reports/report_files.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/join_server/config.hpp"

namespace joincheck::cli {

namespace {

struct RunArgs {
  std::string target;
  std::string config;
  std::string devices;
  std::string profile;
  std::vector<std::string> only;
  std::vector<std::string> skip;
  bool strict = false;
  reports::ReportFiles reports;
  bool reveal_keys = false;
  std::vector<std::string> scenarios;
  bool scenarios_only = false;
  std::uint64_t seed = 1;
  int timeout_ms = 0;
  std::vector<std::string> faults;
  std::string behave_like;
  std::string ns_like;
  bool async = false;
  std::string state;
  bool via_gateway = false;
  std::string region = "EU868";
  std::size_t gateways = 1;
};

struct ListArgs {
  std::vector<std::string> scenarios;
  bool json = false;
};

// The catalog with the checks the custom scenarios declare, and those scenarios.
conformance::Catalog catalog_with(const std::vector<std::string>& files, std::vector<conformance::Scenario>& custom) {
  conformance::Catalog catalog = conformance::Catalog::builtin();
  for (const auto& f : files) {
    // Parsed against the catalog so far: a later file may use an earlier file's check.
    for (auto& sc : conformance::load_scenarios(f, catalog)) {
      if (sc.custom) catalog.add(sc.check_info());
      custom.push_back(std::move(sc));
    }
  }
  return catalog;
}

void write_reports(const RunArgs& a, const conformance::RunReport& report) {
  reports::write_reports(report, "run", a.reports);
}

// The built-in suite (unless --scenarios-only) and the --scenario files, with their checks in
// the catalog. An exit code when there is no scenario to run.
std::optional<int> choose_scenarios(const RunArgs& a, conformance::RunOptions& ro) {
  std::vector<conformance::Scenario> custom;
  ro.catalog = catalog_with(a.scenarios, custom);
  if (!a.scenarios_only) ro.scenarios = conformance::builtin_suite();
  ro.scenarios.insert(ro.scenarios.end(), custom.begin(), custom.end());
  if (ro.scenarios.empty()) {
    std::cerr << "joincheck run: no scenario to run (--scenarios-only needs at least one --scenario FILE)\n";
    return kExitUsage;
  }
  return std::nullopt;
}

// The target file (or the defaults) with --target, --timeout and --ns-like over it. An exit code
// for options that do not go together or a persona of no known name.
std::optional<int> configure_target(const RunArgs& a, bool external, conformance::RunOptions& ro) {
  if (external && (!a.faults.empty() || !a.behave_like.empty() || a.async)) {
    std::cerr << "joincheck run: --fault, --behave-like and --embedded-async configure the embedded reference JS; "
                 "they cannot be used with --target or --config\n";
    return kExitUsage;
  }
  if (!a.config.empty()) {
    ro.target = conformance::load_target_config(a.config);
  } else {
    ro.target = conformance::default_target_config();
  }
  if (!a.target.empty()) ro.target.ns.url = conformance::checked_target_url(a.target, "--target");
  if (a.timeout_ms > 0) ro.target.ns.timeout = std::chrono::milliseconds(a.timeout_ms);
  if (!a.ns_like.empty()) {
    const auto p = sim::parse_ns_persona(a.ns_like);
    if (!p) {
      std::cerr << "joincheck run: --ns-like: expected " << sim::ns_persona_names() << ", got \"" << a.ns_like << "\"\n";
      return kExitUsage;
    }
    ro.target.ns.ns_like = *p;
  }
  return std::nullopt;
}

// The fleet of --devices, or of the target file; nullopt when neither names one.
std::optional<std::filesystem::path> load_fleet(const RunArgs& a, conformance::RunOptions& ro) {
  std::optional<std::filesystem::path> fleet_file;
  if (!a.devices.empty()) fleet_file = a.devices;
  else if (ro.target.devices) fleet_file = ro.target.devices;
  if (fleet_file) {
    const sim::FleetLoad load = sim::load_fleet(*fleet_file);
    for (const auto& w : load.warnings) std::cerr << "joincheck run: " << w << "\n";
    ro.fleet = load.fleet;
  }
  return fleet_file;
}

// Starts the embedded reference JS as the target (with its own fleet unless one was given). An
// exit code when it cannot start; the reports say so too.
std::optional<int> start_embedded(const RunArgs& a, bool fleet_given, conformance::RunOptions& ro,
                                  std::unique_ptr<conformance::EmbeddedTarget>& embedded) {
  conformance::EmbeddedTargetOptions eo;
  for (const auto& f : a.faults) sim::add_fault(eo.faults, f);
  if (!a.behave_like.empty()) {
    const auto b = sim::parse_behaviour(a.behave_like);
    if (!b) {
      std::cerr << "joincheck run: --behave-like: expected strict, brocaar or tts, got \"" << a.behave_like << "\"\n";
      return kExitUsage;
    }
    eo.behaviour = *b;
  }
  eo.async = a.async;
  eo.seed = a.seed;
  if (fleet_given) eo.fleet = ro.fleet;
  try {
    embedded = std::make_unique<conformance::EmbeddedTarget>(eo);
  } catch (const std::exception& e) {
    // Reports are written in every case (DESIGN.md), this one included.
    conformance::RunReport report;
    report.target = std::string(conformance::kEmbeddedTargetName);
    report.profile = ro.profile.name;
    report.setup_error = std::string("the embedded reference JS could not start: ") + e.what();
    std::cerr << "joincheck run: " << report.setup_error << "\n";
    try {
      write_reports(a, report);
    } catch (const std::exception& w) {
      std::cerr << "joincheck run: " << w.what() << "\n";
    }
    return kExitUnreachable;
  }
  const auto timeout = ro.target.ns.timeout;
  const sim::NsPersona ns_like = ro.target.ns.ns_like;
  ro.target = embedded->target();
  ro.target.ns.timeout = timeout;
  ro.target.ns.ns_like = ns_like;
  ro.fleet = embedded->fleet();
  ro.target_label = embedded->label();
  return std::nullopt;
}

// --via-gateway, --region and --gateways.
void configure_via_gateway(const RunArgs& a, conformance::RunOptions& ro) {
  const auto region = lorawan::parse_region(a.region);
  if (!region) throw lorawan::Error("--region: expected EU868 or US915, got " + lorawan::quote_for_error(a.region));
  if (a.gateways < 1 || a.gateways > 64) throw lorawan::Error("--gateways: expected 1 to 64, got " + std::to_string(a.gateways));
  conformance::RunOptions::ViaGateway via;
  via.region = *region;
  via.gateways = a.gateways;
  ro.via_gateway = via;
}

// The options of a run, read and checked: scenarios, target, profile, fleet (or the embedded JS),
// --state, the selectors. nullopt when the run can go on; else its exit code (said on stderr).
std::optional<int> prepare(const RunArgs& a, conformance::RunOptions& ro,
                           std::unique_ptr<conformance::EmbeddedTarget>& embedded, sim::DeviceCountersMap& counters) {
  try {
    if (auto code = choose_scenarios(a, ro)) return code;
    const bool external = !a.target.empty() || !a.config.empty();
    if (auto code = configure_target(a, external, ro)) return code;

    std::string profile = a.profile;
    if (profile.empty() && ro.target.profile) profile = *ro.target.profile;
    ro.profile = conformance::resolve_profile(profile.empty() ? "strict" : profile, ro.catalog);

    const std::optional<std::filesystem::path> fleet_file = load_fleet(a, ro);
    if (!external) {
      if (auto code = start_embedded(a, fleet_file.has_value(), ro, embedded)) return code;
    } else if (!fleet_file) {
      std::cerr << "joincheck run: the target must know the devices the suite joins: give --devices FLEET "
                   "(or devices = \"...\" in the target file). Make one with `joincheck devices generate` and "
                   "provision it with `joincheck devices export`.\n";
      return kExitUsage;
    }
    if (ro.target.ns.url.empty()) {
      std::cerr << "joincheck run: no target URL (--target URL or url = \"...\" in the target file)\n";
      return kExitUsage;
    }
    if (!a.state.empty()) {
      counters = sim::load_device_counters(a.state);
      ro.device_counters = &counters;
    }
    ro.only = a.only;
    ro.skip = a.skip;
    ro.reveal_keys = a.reveal_keys;
    ro.seed = a.seed;
    if (a.via_gateway) configure_via_gateway(a, ro);
    (void)conformance::selected_checks(ro);  // reports a selector that names nothing, before the run
  } catch (const sim::CountersFileError& e) {
    std::cerr << "joincheck run: --state: " << e.what() << "\n";
    return kExitUsage;
  } catch (const conformance::ScenarioError& e) {
    std::cerr << "joincheck run: " << e.what() << "\n";
    return kExitUsage;
  } catch (const conformance::ProfileError& e) {
    std::cerr << "joincheck run: " << e.what() << "\n";
    return kExitUsage;
  } catch (const sim::FleetError& e) {
    std::cerr << "joincheck run: " << e.what() << "\n";
    return kExitUsage;
  } catch (const lorawan::Error& e) {
    std::cerr << "joincheck run: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << "joincheck run: " << e.what() << "\n";
    return kExitUsage;
  }
  return std::nullopt;
}

// Runs the suite with a console line per check, then writes the reports and the --state file.
// The exit code.
int run_and_report(const RunArgs& a, conformance::RunOptions& ro) {
  reports::ConsoleReporter console(std::cout, reports::stdout_is_terminal());
  ro.on_check = [&](const conformance::CheckResult& r) { console.check_line(r); };
  conformance::RunReport report;
  try {
    report = conformance::run_scenarios(ro);
  } catch (const std::exception& e) {
    report.target = ro.target_label.empty() ? ro.target.ns.url : ro.target_label;
    report.profile = ro.profile.name;
    report.setup_error = std::string("internal error of the harness: ") + e.what();
  }
  console.finish(report);
  int code = report.exit_code(a.strict);
  try {
    write_reports(a, report);
  } catch (const std::exception& e) {
    std::cerr << "joincheck run: " << e.what() << "\n";
    code = kExitUsage;
  }
  if (ro.device_counters != nullptr) {
    try {
      sim::save_device_counters(a.state, *ro.device_counters);
    } catch (const std::exception& e) {
      std::cerr << "joincheck run: --state: " << e.what() << "\n";
      code = kExitUsage;
    }
  }
  return code;
}

int run(const RunArgs& a) {
  conformance::RunOptions ro;
  std::unique_ptr<conformance::EmbeddedTarget> embedded;  // the target, unless --target or --config
  sim::DeviceCountersMap counters;
  if (auto code = prepare(a, ro, embedded, counters)) return *code;
  return run_and_report(a, ro);
}

int list(const ListArgs& a) {
  std::vector<conformance::Scenario> custom;
  conformance::Catalog catalog;
  try {
    catalog = catalog_with(a.scenarios, custom);
  } catch (const std::exception& e) {
    std::cerr << "joincheck list: " << e.what() << "\n";
    return kExitUsage;
  }
  if (a.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& c : catalog.checks()) {
      out.push_back({{"id", c.id}, {"group", std::string(c.group())}, {"level", std::string(conformance::to_string(c.level))},
                     {"title", c.title}, {"spec", c.spec}});
    }
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::size_t width = 0;
  for (const auto& c : catalog.checks()) width = std::max(width, c.id.size());
  std::string_view group;
  for (const auto& c : catalog.checks()) {
    if (c.group() != group) {
      group = c.group();
      std::cout << (group == catalog.checks().front().group() ? "" : "\n");
    }
    std::cout << std::left << std::setw(static_cast<int>(width) + 2) << c.id << std::setw(8)
              << conformance::to_string(c.level) << c.title << "\n"
              << std::string(width + 10, ' ') << c.spec << "\n";
  }
  std::cout << "\n" << catalog.checks().size() << " checks\n";
  return kExitOk;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run the conformance suite against a Join Server (default: the embedded reference JS)");
  cmd->add_option("--target", a->target, "the JS Target URL, http(s)://host:port/path");
  cmd->add_option("--config", a->config, "target file (TOML): URL, paths, TLS, headers, NetID, KEKs, async");
  cmd->add_option("--devices", a->devices, "fleet file (JSON or CSV) of devices the target knows");
  cmd->add_option("--profile", a->profile, "strict (default), brocaar, tts, simple-join-server, lorawan-js, or a .toml file");
  cmd->add_option("--only", a->only, "run only these checks or groups (repeatable)");
  cmd->add_option("--skip", a->skip, "skip these checks or groups (repeatable)");
  cmd->add_flag("--strict", a->strict, "warnings fail the run (exit 1)");
  add_report_options(*cmd, a->reports);
  cmd->add_flag("--reveal-keys", a->reveal_keys, "show session and root keys in output and reports");
  cmd->add_option("--scenario", a->scenarios, "a scenario file to run as well (repeatable)");
  cmd->add_flag("--scenarios-only", a->scenarios_only, "run the --scenario files instead of the built-in suite");
  cmd->add_option("--state", a->state,
                  "file keeping the devices' DevNonce/JoinNonce state between runs against a JS that remembers "
                  "(created if absent)");
  cmd->add_option("--seed", a->seed, "seed of DevAddrs, TransactionIDs and generated devices (default 1)");
  cmd->add_option("--timeout", a->timeout_ms, "deadline of one exchange in milliseconds (default 5000)");
  cmd->add_option("--fault", a->faults, "embedded JS only: switch on a fault (joincheck serve-js --list-faults)");
  cmd->add_option("--behave-like", a->behave_like, "embedded JS only: strict, brocaar or tts");
  cmd->add_option("--ns-like", a->ns_like,
                  "send the requests the way this NS does: plain (default, TS002), chirpstack-v3 or chirpstack-v4");
  cmd->add_flag("--embedded-async", a->async, "embedded JS only: answers are POSTed asynchronously");
  cmd->add_flag("--via-gateway", a->via_gateway,
                "joins travel device -> simulated gateway -> joincheck's NS -> JS and back, and the "
                "over-the-air scenarios (air/) run");
  cmd->add_option("--region", a->region, "with --via-gateway: EU868 (default) or US915");
  cmd->add_option("--gateways", a->gateways, "with --via-gateway: gateways hearing each uplink (default 1)");
  return [a] { return run(*a); };
}

std::function<int()> add_list_command(CLI::App& app) {
  auto a = std::make_shared<ListArgs>();
  CLI::App* cmd = app.add_subcommand("list", "Print every check: id, level, title and spec reference");
  cmd->add_option("--scenario", a->scenarios, "include the checks these scenario files declare (repeatable)");
  cmd->add_flag("--json", a->json, "print JSON");
  return [a] { return list(*a); };
}

}  // namespace joincheck::cli
