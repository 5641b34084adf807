#pragma once
// The reports of `joincheck load` (and of `joincheck report merge`): the JSON document
// (load/load_result.hpp, with the build info), a JUnit file with one testcase per assertion, and
// the HTML page that draws the JSON (reports/html/report.js, renderers.load).

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "load/load_result.hpp"
#include "reports/report_files.hpp"

namespace joincheck::reports {

nlohmann::ordered_json load_json_document(const load::LoadResult& result,
                                          const std::vector<load::AssertionOutcome>& outcomes);
std::string load_junit_xml(const load::LoadResult& result, const std::vector<load::AssertionOutcome>& outcomes);
// Writes the asked-for reports; throws std::runtime_error naming a file that cannot be written.
void write_load_reports(const load::LoadResult& result, const std::vector<load::AssertionOutcome>& outcomes,
                        const ReportFiles& files);

}  // namespace joincheck::reports
