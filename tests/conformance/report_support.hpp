#pragma once
// Helpers the conformance tests (and the report tests) share to make a real RunReport, read it
// and say what went wrong.

#include <stdexcept>
#include <string>
#include <vector>

#include "conformance/embedded_target.hpp"
#include "conformance/profile.hpp"
#include "conformance/result.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"

namespace joincheck::conformance::test_support {

// "id [verdict] expected: ... | actual: ... | reason: ... | scenario".
inline std::string describe(const CheckResult& r) {
  return r.check.id + " [" + std::string(to_string(r.verdict)) + "] expected: " + r.expected + " | actual: " + r.actual +
         " | reason: " + r.reason + " | " + r.scenario;
}

// Every fail, error and warn of the report, one per line: the message of a failed assertion.
inline std::string failures(const RunReport& report) {
  std::string s;
  for (const auto& r : report.results) {
    if (r.verdict == Verdict::fail || r.verdict == Verdict::error || r.verdict == Verdict::warn) s += describe(r) + "\n";
  }
  return s;
}

// The built-in suite's `only` checks (strict profile) against a fresh embedded reference JS,
// with `fault` switched on unless empty: a real report, as `joincheck run --only ...` makes it.
inline RunReport embedded_run(std::vector<std::string> only, const std::string& fault = "") {
  EmbeddedTargetOptions eo;
  if (!fault.empty()) sim::add_fault(eo.faults, fault);
  EmbeddedTarget target(eo);
  RunOptions o;
  o.target = target.target();
  o.fleet = target.fleet();
  o.target_label = target.label();
  o.scenarios = builtin_suite();
  o.profile = resolve_profile("strict");
  o.only = std::move(only);
  return run_scenarios(o);
}

// The result of check `id`; std::out_of_range when the report has none.
inline const CheckResult& result_of(const RunReport& report, const std::string& id) {
  for (const auto& r : report.results) {
    if (r.check.id == id) return r;
  }
  throw std::out_of_range(id);
}

}  // namespace joincheck::conformance::test_support
