#include "reports/report_files.hpp"

#include "reports/air_report.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/junit.hpp"

namespace joincheck::reports {

void write_reports(const conformance::RunReport& report, std::string_view command, const ReportFiles& files) {
  if (!files.junit.empty()) write_junit(report, files.junit);
  if (!files.json.empty()) write_json_report(report, files.json, command);
  if (!files.html.empty()) write_html_report(files.html, html_report(report, command));
}

void write_air_reports(const conformance::AirReport& report, const ReportFiles& files) {
  if (!files.junit.empty()) write_report_file(files.junit, air_junit_xml(report), "JUnit report");
  if (!files.json.empty()) write_report_file(files.json, air_json_text(report), "JSON report");
  if (!files.html.empty()) write_html_report(files.html, air_html_report(report));
}

}  // namespace joincheck::reports
