// Wall time of the whole built-in conformance suite against the embedded reference JS: what
// `joincheck run` without --target costs.
//   make bench            (or: build/bench/bench_suite --runs 10)
// The embedded JS is started once (its start-up is measured on a line of its own) and the suite
// is run --runs times against it. The runner plays the k-th device of each MACVersion of the
// fleet it is given and starts its DevNonces afresh, so each run gets devices of its own: the JS
// provisions runs x 2 devices of each of 1.0.2, 1.0.3, 1.0.4 and 1.1, and run r is given the
// r-th slice. Every run must pass under the strict profile (exit 1 otherwise); --fault NAME
// (joincheck serve-js --list-faults) proves that a failing run is caught.
// Target: the full suite against the embedded JS in under 5 s.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "conformance/embedded_target.hpp"
#include "conformance/profile.hpp"
#include "conformance/result.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/join_server/faults.hpp"

namespace {

using namespace joincheck;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kDevicesPerVersion = 2;  // what the built-in suite needs of each version
constexpr double kTargetSeconds = 5.0;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct Stats {
  double min = 0, median = 0, max = 0;
};

Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return {v.front(), n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.back()};
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s [--runs N] [--fault NAME]...   (N from 1 to 1000, default 10)\n",
               argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  std::vector<std::string> faults;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      char* end = nullptr;
      const long n = std::strtol(argv[++i], &end, 10);
      if (end == argv[i] || *end != '\0' || n < 1 || n > 1000) return usage(argv[0]);
      runs = static_cast<int>(n);
    } else if (arg == "--fault" && i + 1 < argc) {
      faults.emplace_back(argv[++i]);
    } else {
      return usage(argv[0]);
    }
  }

  try {
    // runs x 2 devices of each version; run r plays devices r*2 .. r*2+1 of each version.
    const auto join_eui = lorawan::Eui64::parse("0000000000000001");
    const std::vector<lorawan::MacVersion> versions = {
        lorawan::MacVersion::v1_0_2, lorawan::MacVersion::v1_0_3, lorawan::MacVersion::v1_0_4,
        lorawan::MacVersion::v1_1};
    std::vector<sim::Fleet> slices(static_cast<std::size_t>(runs));
    sim::Fleet all;
    std::uint64_t index = 0;
    for (auto& slice : slices) {
      for (const auto v : versions) {
        for (std::size_t k = 0; k < kDevicesPerVersion; ++k) {
          slice.devices.push_back(sim::generate_device(index++, join_eui, v, 1));
          all.devices.push_back(slice.devices.back());
        }
      }
    }

    const auto start = Clock::now();
    conformance::EmbeddedTargetOptions eo;
    eo.fleet = all;
    for (const auto& f : faults) sim::add_fault(eo.faults, f);
    conformance::EmbeddedTarget target(eo);
    const double startup_ms = ms_since(start);
    std::printf("embedded JS start-up: %8.1f ms  (%zu devices provisioned, %s)\n", startup_ms,
                all.devices.size(), target.label().c_str());

    conformance::RunOptions base;
    base.target = target.target();
    base.scenarios = conformance::builtin_suite();
    base.profile = conformance::resolve_profile("strict", base.catalog);

    std::vector<double> wall;
    bool all_passed = true;
    for (int r = 0; r < runs; ++r) {
      conformance::RunOptions o = base;
      o.fleet = slices[static_cast<std::size_t>(r)];
      const auto t0 = Clock::now();
      const conformance::RunReport report = conformance::run_scenarios(o);
      const double ms = ms_since(t0);
      wall.push_back(ms);
      const auto c = report.counts();
      std::printf(
          "run %3d: %8.1f ms  %4zu exchanges  %3zu checks: %zu pass, %zu fail, %zu warn, %zu skip, "
          "%zu error\n",
          r + 1, ms, report.exchanges.size(), c.total(), c.pass, c.fail, c.warn, c.skip, c.error);
      if (!report.setup_error.empty())
        std::printf("         setup error: %s\n", report.setup_error.c_str());
      if (c.fail != 0 || c.error != 0) {
        all_passed = false;
        for (const auto& res : report.results) {
          if (res.verdict != conformance::Verdict::fail &&
              res.verdict != conformance::Verdict::error)
            continue;
          std::printf("         %s %s: expected %s, actual %s%s%s\n",
                      std::string(conformance::to_string(res.verdict)).c_str(),
                      res.check.id.c_str(), res.expected.c_str(), res.actual.c_str(),
                      res.reason.empty() ? "" : "; ", res.reason.c_str());
        }
      }
    }

    const Stats s = stats(wall);
    std::printf(
        "suite wall time over %d runs: min %.1f ms, median %.1f ms, max %.1f ms (target < %.0f "
        "s)\n",
        runs, s.min, s.median, s.max, kTargetSeconds);
    if (!all_passed) {
      std::printf(
          "FAILED: a run has a fail or error verdict (the strict reference JS must pass every "
          "check)\n");
      return 1;
    }
    if (s.max > kTargetSeconds * 1000)
      std::printf("note: above the %.0f s target\n", kTargetSeconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_suite: %s\n", e.what());
    return 1;
  }
}
