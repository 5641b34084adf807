#pragma once
// Helpers the doctor tests share to read a DoctorResult and say what it found.

#include <string>

#include "conformance/doctor.hpp"

namespace joincheck::conformance::test_support {

// The finding `id`; nullptr when the report has none.
inline const CheckResult* find(const DoctorResult& r, const std::string& id) {
  for (const auto& res : r.report.results) {
    if (res.check.id == id) return &res;
  }
  return nullptr;
}

// Every finding with its verdict, expected, actual and reason: the message of a failed assertion.
inline std::string show(const DoctorResult& r) {
  std::string s;
  for (const auto& res : r.report.results) {
    s += std::string(to_string(res.verdict)) + " " + res.check.id + "\n  expected: " + res.expected +
         "\n  actual: " + res.actual + "\n  reason: " + res.reason + "\n";
  }
  return s;
}

}  // namespace joincheck::conformance::test_support
