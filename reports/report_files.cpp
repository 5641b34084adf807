#include "reports/report_files.hpp"

#include "reports/json_report.hpp"
#include "reports/junit.hpp"

namespace joincheck::reports {

void write_reports(const conformance::RunReport& report, const std::string& junit_path, const std::string& json_path) {
  if (!junit_path.empty()) write_junit(report, junit_path);
  if (!json_path.empty()) write_json_report(report, json_path);
}

}  // namespace joincheck::reports
