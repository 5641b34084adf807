#pragma once
// Helpers the conformance tests share to read a RunReport and say what went wrong.

#include <stdexcept>
#include <string>

#include "conformance/result.hpp"

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

// The result of check `id`; std::out_of_range when the report has none.
inline const CheckResult& result_of(const RunReport& report, const std::string& id) {
  for (const auto& r : report.results) {
    if (r.check.id == id) return r;
  }
  throw std::out_of_range(id);
}

}  // namespace joincheck::conformance::test_support
