#pragma once
// What run.cpp and report.cpp share: a check's result as Python holds it (the run hands live ones
// to on_check; report.cpp binds the class, CheckResult) and a verdict's name.

#include <memory>
#include <string>

#include "conformance/result.hpp"

namespace joincheck::python {

using ReportPtr = std::shared_ptr<const conformance::RunReport>;

// A result, with the report its trace points into (null for on_check's live results).
struct PyCheckResult {
  conformance::CheckResult result;
  ReportPtr report;
};

inline std::string verdict_of(conformance::Verdict v) {
  return std::string(conformance::to_string(v));
}

}  // namespace joincheck::python
