#include "conformance/result.hpp"

#include <ctime>

namespace joincheck::conformance {

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "fail";
    case Verdict::warn:
      return "warn";
    case Verdict::skip:
      return "skip";
    case Verdict::error:
      return "error";
  }
  return "?";
}

int severity(Verdict verdict) {
  switch (verdict) {
    case Verdict::skip:
      return 0;
    case Verdict::pass:
      return 1;
    case Verdict::warn:
      return 2;
    case Verdict::error:
      return 3;
    case Verdict::fail:
      return 4;
  }
  return 0;
}

RunCounts RunReport::counts() const {
  RunCounts c;
  for (const auto& r : results) {
    switch (r.verdict) {
      case Verdict::pass:
        ++c.pass;
        break;
      case Verdict::fail:
        ++c.fail;
        break;
      case Verdict::warn:
        ++c.warn;
        break;
      case Verdict::skip:
        ++c.skip;
        break;
      case Verdict::error:
        ++c.error;
        break;
    }
  }
  return c;
}

std::string iso8601_utc(std::chrono::system_clock::time_point time) {
  const std::time_t t = std::chrono::system_clock::to_time_t(time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool RunReport::nothing_judged() const {
  const RunCounts c = counts();
  return c.pass + c.warn + c.fail == 0;
}

int RunReport::exit_code(bool strict) const {
  if (!setup_error.empty()) return exit_unreachable;
  const RunCounts c = counts();
  // A run that stopped early did not run all it was asked to, whatever it judged before.
  if (c.fail > 0 || c.error > 0 || !stopped_early.empty() || nothing_judged()) return exit_failed;
  if (strict && c.warn > 0) return exit_failed;
  return exit_ok;
}

}  // namespace joincheck::conformance
