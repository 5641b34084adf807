#pragma once
// JUnit XML of a run, for CI (Jenkins, GitLab, GitHub Actions). The output validates against the
// Jenkins xUnit plugin's junit-10.xsd (tests/reports/schema/): one <testsuite name="joincheck">
// inside <testsuites>, one <testcase> per check, its name the check id and its classname the
// group (DESIGN.md "Check ids").
//
// Verdicts map to JUnit as: fail -> <failure type="MUST|SHOULD|INFO">, error -> <error>,
// skip -> <skipped>, warn -> a passing testcase whose system-out starts with "WARN:". Every
// testcase's system-out names the level and the spec reference.

#include <filesystem>
#include <string>
#include <string_view>

#include "conformance/result.hpp"

namespace joincheck::reports {

// The report as an XML document (UTF-8, with declaration). Text from peers is made valid XML 1.0
// (see printable()), so hostile bodies cannot break it.
std::string junit_xml(const conformance::RunReport& report);

// Writes junit_xml(report) to `path`, creating missing parent directories. Throws
// std::runtime_error naming the file and the reason when it cannot.
void write_junit(const conformance::RunReport& report, const std::filesystem::path& path);

// Writes `content` to `path` (creating missing parent directories), for every file report.
// Throws std::runtime_error "cannot write <kind> <path>: <reason>".
void write_report_file(const std::filesystem::path& path, std::string_view content,
                       std::string_view kind);

}  // namespace joincheck::reports
