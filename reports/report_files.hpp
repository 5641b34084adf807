#pragma once
// The report files a command was asked for (--junit FILE, --json FILE, --html FILE), written in
// one call.

#include <string>
#include <string_view>

#include "conformance/air_run.hpp"
#include "conformance/result.hpp"

namespace joincheck::reports {

// Paths of the report files; "" means not asked for.
struct ReportFiles {
  std::string junit;
  std::string json;
  std::string html;
};

// Writes the asked-for reports of a run or a doctor (`command`: "run", "doctor", which the JSON
// report says and the HTML page names and draws by), creating missing folders. Throws std::runtime_error naming the
// file that cannot be written.
void write_reports(const conformance::RunReport& report, std::string_view command, const ReportFiles& files);

// The same for an over-the-air run (`joincheck gateway`).
void write_air_reports(const conformance::AirReport& report, const ReportFiles& files);

}  // namespace joincheck::reports
