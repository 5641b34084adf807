// `joincheck load`: join storms and sustained join rates against a Join Server, every answer
// verified (load/load_run.hpp), judged by --assert, reported as JSON, JUnit and HTML.
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/signals.hpp"
#include "conformance/embedded_target.hpp"
#include "conformance/target.hpp"
#include "load/load_run.hpp"
#include "reports/console.hpp"
#include "reports/load_report.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::cli {

namespace {

constexpr const char* kName = "joincheck load";

struct LoadArgs {
  std::string target;
  std::string config;
  std::string devices;
  std::string profile;
  std::string rate;
  bool max = false;
  std::string storm;
  std::vector<std::string> mix;
  std::size_t connections = 16;
  std::string duration = "10s";
  std::string state;
  std::string shard;
  unsigned threads = 1;
  std::vector<std::string> asserts;
  int timeout_ms = 0;
  std::string rx1 = "5s";
  std::string rx2 = "6s";
  std::string ns_like;
  std::uint64_t seed = 1;
  bool reveal_keys = false;
  bool quiet = false;
  reports::ReportFiles reports;
};

// The command line read into LoadOptions (the fleet and the target included); the assertions
// into `asserts`. Throws std::invalid_argument, sim::ConfigError, sim::FleetError,
// conformance::ProfileError with the message to print.
load::LoadOptions options_from(const LoadArgs& a, std::vector<load::Assertion>& asserts) {
  load::LoadOptions o;
  const int modes = (a.rate.empty() ? 0 : 1) + (a.max ? 1 : 0) + (a.storm.empty() ? 0 : 1);
  if (modes != 1) {
    throw std::invalid_argument(std::string(modes == 0 ? "choose" : "choose one of") +
                                " --rate N/s (open loop: JoinReqs at intended times), --max (closed loop: as fast as "
                                "--connections allow) or --storm N/T (N devices join within T)");
  }
  if (!a.rate.empty()) {
    o.mode = load::LoadMode::open;
    o.rate = load::parse_rate(a.rate);
  } else if (a.max) {
    o.mode = load::LoadMode::closed;
  } else {
    o.mode = load::LoadMode::storm;
    o.storm = load::parse_storm(a.storm);
  }
  for (const auto& text : a.mix) load::parse_mix(text, o.mix);
  o.duration = load::parse_duration(a.duration, "--duration");
  if (o.duration.count() <= 0) throw std::invalid_argument("--duration: expected more than 0, got \"" + a.duration + "\"");
  if (!a.shard.empty()) o.shard = load::parse_shard(a.shard);
  o.connections = a.connections;
  o.threads = a.threads;
  o.rx1_deadline = load::parse_duration(a.rx1, "--rx1");
  o.rx2_deadline = load::parse_duration(a.rx2, "--rx2");
  if (o.rx2_deadline < o.rx1_deadline) throw std::invalid_argument("--rx2: expected at least --rx1 (" + a.rx1 + "), got " + a.rx2);
  for (const auto& text : a.asserts) asserts.push_back(load::parse_assertion(text));
  o.seed = a.seed;
  o.reveal_keys = a.reveal_keys;

  o.target = a.config.empty() ? conformance::default_target_config() : conformance::load_target_config(a.config);
  if (!a.target.empty()) o.target.ns.url = conformance::checked_target_url(a.target, "--target");
  if (a.timeout_ms > 0) o.target.ns.timeout = std::chrono::milliseconds(a.timeout_ms);
  if (!a.ns_like.empty()) {
    const auto p = sim::parse_ns_persona(a.ns_like);
    if (!p) throw std::invalid_argument("--ns-like: expected " + sim::ns_persona_names() + ", got \"" + a.ns_like + "\"");
    o.target.ns.ns_like = *p;
  }
  std::string profile = a.profile;
  if (profile.empty() && o.target.profile) profile = *o.target.profile;
  o.profile = conformance::resolve_profile(profile.empty() ? "strict" : profile);
  std::optional<std::filesystem::path> fleet_file;
  if (!a.devices.empty()) fleet_file = a.devices;
  else if (o.target.devices) fleet_file = o.target.devices;
  if (fleet_file) {
    const sim::FleetLoad load = sim::load_fleet(*fleet_file);
    for (const auto& w : load.warnings) std::cerr << kName << ": " << w << "\n";
    o.fleet = load.fleet;
  }
  return o;
}

// The embedded reference JS as the target, with the given fleet or one large enough for the test.
std::unique_ptr<conformance::EmbeddedTarget> start_embedded(load::LoadOptions& o, bool fleet_given) {
  conformance::EmbeddedTargetOptions eo;
  eo.seed = o.seed;
  if (fleet_given) {
    eo.fleet = o.fleet;
  } else {
    std::uint64_t needed = std::max<std::uint64_t>(1000, o.connections * o.shard.count);
    if (o.storm) needed = std::max(needed, o.storm->devices);
    const std::size_t versions = conformance::suite_mac_versions().size();
    eo.devices_per_version = static_cast<std::size_t>((needed + versions - 1) / versions);
  }
  auto embedded = std::make_unique<conformance::EmbeddedTarget>(eo);
  const auto timeout = o.target.ns.timeout;
  const sim::NsPersona ns_like = o.target.ns.ns_like;
  o.target = embedded->target();
  o.target.ns.timeout = timeout;
  o.target.ns.ns_like = ns_like;
  o.fleet = embedded->fleet();
  o.target_label = embedded->label();
  return embedded;
}

std::string ms(double us) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(us < 10000 ? 2 : 1) << us / 1000 << " ms";
  return out.str();
}

void print_summary(const load::LoadResult& r, const std::vector<load::AssertionOutcome>& outcomes, bool colour) {
  const bool mixed = r.requests.size() > 1;
  std::cout << "\n" << r.sent << (mixed ? " requests sent, " : " JoinReqs sent, ") << r.ok << " verified, " << r.errors << " errors in "
            << std::fixed << std::setprecision(1) << r.elapsed_s << " s ("
            << std::setprecision(1) << (r.elapsed_s > 0 ? static_cast<double>(r.ok) / r.elapsed_s : 0.0)
            << " verified joins/s)\n";
  if (mixed) {
    std::cout << "requests:";
    const char* sep = " ";
    for (const auto& [kind, n] : r.requests) {
      std::cout << sep << n.sent << " " << kind << " (" << n.ok << " verified, " << std::setprecision(1)
                << (r.sent > 0 ? 100.0 * static_cast<double>(n.sent) / static_cast<double>(r.sent) : 0.0) << "%)";
      sep = ", ";
    }
    std::cout << "\n";
  }
  if (r.latency.count() > 0) {
    std::cout << "latency: p50 " << ms(static_cast<double>(r.latency.value_at_percentile(50))) << ", p90 "
              << ms(static_cast<double>(r.latency.value_at_percentile(90))) << ", p99 "
              << ms(static_cast<double>(r.latency.value_at_percentile(99))) << ", p99.9 "
              << ms(static_cast<double>(r.latency.value_at_percentile(99.9))) << ", max "
              << ms(static_cast<double>(r.latency.max())) << "\n";
  }
  if (r.storm) {
    std::cout << "storm: " << r.storm->devices << " devices, " << r.storm->within_rx1 << " answered within RX1 ("
              << ms(static_cast<double>(r.storm->rx1_deadline_us)) << "), " << r.storm->within_rx2
              << " within RX2 (" << ms(static_cast<double>(r.storm->rx2_deadline_us)) << ")\n";
  }
  for (const auto& [name, e] : r.error_classes) {
    std::cout << "  error " << name << ": " << e.count << " (e.g. " << reports::printable(e.example) << ")\n";
  }
  for (const auto& [check, n] : r.warnings) std::cout << "  warning " << check << ": " << n << "\n";
  if (!r.stopped.empty()) std::cout << "stopped: " << r.stopped << "\n";
  if (r.devices_exhausted > 0) std::cout << r.devices_exhausted << " device(s) used all their DevNonces\n";
  for (const auto& o : outcomes) {
    const char* verdict = o.passed ? (colour ? "\033[32mPASS\033[0m" : "PASS") : (colour ? "\033[31mFAIL\033[0m" : "FAIL");
    std::cout << verdict << "  " << o.assertion.text << (o.implicit ? " (default)" : "") << ": " << o.message << "\n";
  }
}

// Exit code of a judged run: 0 when every assertion holds; 3 when nothing reached the target;
// 1 otherwise.
int exit_code(const load::LoadResult& r, const std::vector<load::AssertionOutcome>& outcomes) {
  bool passed = !outcomes.empty();
  for (const auto& o : outcomes) passed = passed && o.passed;
  if (passed) return kExitOk;
  if (r.ok == 0 && r.sent > 0) {
    bool unreachable = true;
    for (const auto& [name, e] : r.error_classes) {
      // A JS whose certificate fails is reached: that is a failure of its own (exit 1).
      unreachable = unreachable && (name == "transport refused" || name == "transport connect" ||
                                    name == "transport resolve");
    }
    if (unreachable) return kExitUnreachable;
  }
  return kExitFailed;
}

int run_load_command(const LoadArgs& a) {
  load::LoadOptions o;
  std::vector<load::Assertion> asserts;
  std::unique_ptr<conformance::EmbeddedTarget> embedded;
  sim::DeviceCountersMap counters;
  try {
    o = options_from(a, asserts);
    const bool external = !a.target.empty() || !a.config.empty();
    if (!external) {
      embedded = start_embedded(o, !o.fleet.devices.empty());
    } else if (o.fleet.devices.empty()) {
      std::cerr << kName << ": the target must know the devices that join: give --devices FLEET (or devices = \"...\" "
                           "in the target file). Make one with `joincheck devices generate` and provision it with "
                           "`joincheck devices export`.\n";
      return kExitUsage;
    }
    if (!a.state.empty()) {
      counters = sim::load_device_counters(a.state);
      o.counters = &counters;
    }
  } catch (const std::exception& e) {
    std::cerr << kName << ": " << e.what() << "\n";
    return kExitUsage;
  }

  const bool terminal = reports::stdout_is_terminal();
  if (!a.quiet) {
    std::cout << kName << ": " << load::to_string(o.mode) << " loop against "
              << (o.target_label.empty() ? o.target.ns.url : o.target_label) << ", " << o.connections
              << " connection(s)" << (o.shard.count > 1 ? ", shard " + o.shard.text() : "") << std::endl;
    o.on_progress = [terminal](const load::LoadProgress& p) {
      std::ostringstream line;
      line << std::fixed << std::setprecision(0) << p.elapsed_s << " s  sent " << p.sent << "  verified " << p.ok
           << "  errors " << p.errors << "  " << p.rate << " joins/s  p99 " << ms(static_cast<double>(p.p99_us));
      if (terminal) {
        std::cout << "\r\033[K" << line.str() << std::flush;
      } else {
        std::cout << line.str() << std::endl;
      }
    };
  }
  load::LoadResult result;
  try {
    const CancelOnSignals cancel_on_signals;
    o.stop = &cancel_requested();
    result = load::run_load(o);
  } catch (const load::LoadSetupError& e) {
    std::cerr << kName << ": " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    result.setup_error = std::string("the load test could not run: ") + e.what();
    std::cerr << kName << ": " << result.setup_error << "\n";
  }
  if (terminal && !a.quiet) std::cout << "\n";
  const std::vector<load::AssertionOutcome> outcomes = load::judge(result, asserts);
  print_summary(result, outcomes, terminal);
  int code = exit_code(result, outcomes);
  try {
    reports::write_load_reports(result, outcomes, a.reports);
  } catch (const std::exception& e) {
    std::cerr << kName << ": " << e.what() << "\n";
    code = kExitUsage;
  }
  if (o.counters != nullptr) {
    try {
      sim::save_device_counters(a.state, counters);
    } catch (const std::exception& e) {
      std::cerr << kName << ": --state: " << e.what() << "\n";
      code = kExitUsage;
    }
  }
  return code;
}

}  // namespace

std::function<int()> add_load_command(CLI::App& app) {
  auto a = std::make_shared<LoadArgs>();
  CLI::App* cmd = app.add_subcommand(
      "load", "Send join storms or a sustained JoinReq rate to a Join Server, verify every answer, measure latency");
  cmd->add_option("--target", a->target, "the JS URL, http(s)://host:port/path (default: the embedded reference JS)");
  cmd->add_option("--config", a->config, "target file (TOML): URL, paths, TLS, headers, NetID, KEKs");
  cmd->add_option("--devices", a->devices, "fleet file (JSON or CSV) of devices the target knows");
  cmd->add_option("--profile", a->profile, "known deviations that are warnings, not errors (strict, brocaar, tts, ...)");
  cmd->add_option("--rate", a->rate, "open loop: JoinReqs per second at intended times, e.g. 2000/s");
  cmd->add_flag("--max", a->max, "closed loop: each connection sends its next JoinReq when answered");
  cmd->add_option("--storm", a->storm, "N distinct devices join within T, e.g. 10000/30s");
  cmd->add_option("--mix", a->mix,
                  "RejoinReqs among the requests by RejoinType, e.g. rejoin0=10%,rejoin1=5% (LoRaWAN 1.1 devices)");
  cmd->add_option("--connections", a->connections, "concurrent connections (default 16)");
  cmd->add_option("--duration", a->duration, "how long --rate and --max run, e.g. 60s (default 10s)");
  cmd->add_option("--state", a->state,
                  "file keeping the devices' DevNonces between runs (created if absent), so none is sent twice");
  cmd->add_option("--shard", a->shard, "this process's shard K of N (1-based, e.g. 2/4): its part of the fleet and storm");
  cmd->add_option("--threads", a->threads, "threads sending (default 1), each with its share of connections");
  cmd->add_option("--assert", a->asserts,
                  "judge the run (repeatable): p50|p90|p99|p99.9|max|mean<=DURATION, rate>=N, errors=N, "
                  "error_rate<=P%, ok>=N, rx1|rx2>=P% (default: errors=0)");
  cmd->add_option("--timeout", a->timeout_ms, "deadline of one exchange in milliseconds (default 5000)");
  cmd->add_option("--rx1", a->rx1, "storm: the RX1 deadline, JOIN_ACCEPT_DELAY1 minus the NS's budget (default 5s)");
  cmd->add_option("--rx2", a->rx2, "storm: the RX2 deadline, JOIN_ACCEPT_DELAY2 minus the NS's budget (default 6s)");
  cmd->add_option("--ns-like", a->ns_like, "send the JoinReqs the way this NS does: plain, chirpstack-v3 or chirpstack-v4");
  cmd->add_option("--seed", a->seed, "seed of DevAddrs, TransactionIDs and random-policy DevNonce orders (default 1)");
  cmd->add_flag("--reveal-keys", a->reveal_keys, "show keys in error examples");
  cmd->add_flag("--quiet", a->quiet, "no progress line");
  add_report_options(*cmd, a->reports);
  return [a] { return run_load_command(*a); };
}

}  // namespace joincheck::cli
