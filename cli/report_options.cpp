#include "cli/commands.hpp"

namespace joincheck::cli {

void add_report_options(CLI::App& command, reports::ReportFiles& files) {
  command.add_option("--junit", files.junit, "write a JUnit XML report to FILE");
  command.add_option("--json", files.json, "write a JSON report to FILE");
  command.add_option("--html", files.html,
                     "write an HTML report to FILE: one self-contained page (no network needed) with the failures "
                     "first, their exchanges and a timeline");
}

}  // namespace joincheck::cli
