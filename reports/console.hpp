#pragma once
// Console output of `joincheck run`: one line per check as it finishes, then every fail, error
// and warning in detail with its trace, then a summary line.
//
// The human-readable text of a result and of an exchange is written here once and reused by the
// JUnit report (failure and system-out text), so a CI log and a terminal show the same thing.

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

#include "conformance/result.hpp"

namespace joincheck::reports {

// Text from a peer made safe to print or put in XML: valid UTF-8, no control character but tab
// and newline. Anything else (C0 and C1 controls, DEL, U+FFFE/U+FFFF, bytes that are not UTF-8)
// is shown as `\xNN` per byte, so a hostile body cannot drive the terminal or break the XML, and
// the reader still sees which bytes were there.
std::string printable(std::string_view text);

// One exchange of the trace, as lines prefixed by `indent`: label, URL, request headers and body
// (`> `), status, response headers and body (`< `), async answer, transport error, elapsed time,
// notes. Bodies longer than 16 KiB are cut (the JSON report keeps up to 64 KiB). Already printable.
std::string exchange_text(const conformance::TraceExchange& exchange, std::size_t index,
                          std::string_view indent = "");

// The detail of a result, as lines prefixed by `indent`: expected, actual, reason, known
// deviation, scenario, evaluation counts, then the exchanges of its trace (`exchanges` is the
// run's, which the indices point into). Already printable.
std::string result_detail_text(const conformance::CheckResult& result,
                               const conformance::RunReport& report, std::string_view indent = "");

class ConsoleReporter {
 public:
  // `colour`: ANSI colours on the verdicts (decide with stdout_is_terminal()).
  ConsoleReporter(std::ostream& out, bool colour);

  // One line for a check that just finished: "PASS  header/transaction-id-echo  The answer ...";
  // a warn or skip line ends with its reason, cut short.
  void check_line(const conformance::CheckResult& result);

  // Every warn, error and fail again in detail (failures last, next to the summary), then a
  // blank line and summary().
  void finish(const conformance::RunReport& report);

  // "joincheck: N checks: ... in T s against TARGET (profile P)", then the line that says why
  // the run does not pass whatever its checks (its setup error, why it stopped early, nothing
  // judged), if any.
  void summary(const conformance::RunReport& report);

 private:
  std::string verdict_tag(conformance::Verdict verdict) const;

  std::ostream& out_;
  bool colour_;
};

// Whether standard output is a terminal (the CLI's default for colour).
bool stdout_is_terminal();

}  // namespace joincheck::reports
