#pragma once
// The report files a command was asked for (--junit FILE, --json FILE), written in one call.

#include <string>

#include "conformance/result.hpp"

namespace joincheck::reports {

// Writes the JUnit and/or JSON report (an empty path: not asked for), creating missing
// folders. Throws std::runtime_error naming the file that cannot be written.
void write_reports(const conformance::RunReport& report, const std::string& junit_path, const std::string& json_path);

}  // namespace joincheck::reports
