#pragma once
// One self-contained HTML page per report (`--html FILE` of run, doctor, gateway, load): the
// command's JSON report (json_report.hpp, air_report.hpp) embedded in a page whose style and
// script are inline (reports/html/), so it opens offline, from a CI artifact or a mail, with no
// network. The script draws it: the totals and a bar per check group, the failures first with
// expected/actual, the spec reference, the fix and their exchanges (request, answer, timings,
// decoded join-accept), a timeline of the exchanges' latency, filters by verdict, group and
// text; for doctor the decision path of each JoinEUI; for gateway one row per device and its
// steps. It holds what the JSON report holds, so no key unless the run revealed them.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "conformance/air_run.hpp"
#include "conformance/result.hpp"

namespace joincheck::reports {

// The page for `document`, a JSON report with its "command" ("run", "doctor", "gateway",
// "load"), which chooses how the page draws it; `title` is the page's title.
std::string html_page(std::string_view title, const nlohmann::ordered_json& document);

// `command`: "run" or "doctor" (a doctor's findings are a RunReport too).
std::string html_report(const conformance::RunReport& report, std::string_view command);
std::string air_html_report(const conformance::AirReport& report);

// Writes `html` to `path`, creating missing folders; throws std::runtime_error naming the file.
void write_html_report(const std::filesystem::path& path, std::string_view html);

}  // namespace joincheck::reports
