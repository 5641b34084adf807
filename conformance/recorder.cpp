#include "conformance/recorder.hpp"

#include <algorithm>
#include <stdexcept>

namespace joincheck::conformance {

void Recorder::record(const std::string& id, Evaluation e) {
  if (!selected(id)) return;
  if (not_applicable_.count(id) != 0) return;
  const CheckInfo* info = catalog_.find(id);
  if (info == nullptr) throw std::logic_error("the harness judged check \"" + id + "\", which is not in the catalog");
  CheckTally& tally = tallies_[id];
  if (!tally.evaluated && tally.result.evaluations == 0) tally.result.check = *info;
  std::string known;
  // A violated SHOULD or INFO is a warning.
  if (e.verdict == Verdict::fail && info->level != Level::must) {
    e.reason = (e.reason.empty() ? "" : e.reason + "; ") + std::string(to_string(info->level)) + " check: a warning";
    e.verdict = Verdict::warn;
  }
  if (e.verdict == Verdict::fail || e.verdict == Verdict::warn) {
    if (const KnownDeviation* k = profile_.find(id)) {
      e.verdict = k->verdict;
      known = "profile " + profile_.name + ": " + k->reason;
      e.reason = k->verdict == Verdict::skip ? "known deviation (" + known + ")"
                                             : "known deviation (profile " + profile_.name + ")";
    }
  }
  tally.evaluated = true;
  CheckResult& r = tally.result;
  ++r.evaluations;
  if (e.verdict == Verdict::fail || e.verdict == Verdict::error) ++r.failed_evaluations;
  const bool first = r.evaluations == 1;
  if (first || severity(e.verdict) > severity(r.verdict)) {
    r.verdict = e.verdict;
    r.expected = e.expected;
    r.actual = e.actual;
    r.reason = e.reason;
    r.scenario = e.scenario;
    r.known_deviation = known;
    r.trace.clear();
    if (e.exchange) r.trace.push_back(*e.exchange);
  } else if (severity(e.verdict) == severity(r.verdict) && e.verdict != Verdict::pass && e.exchange &&
             r.trace.size() < 3 && std::find(r.trace.begin(), r.trace.end(), *e.exchange) == r.trace.end()) {
    r.trace.push_back(*e.exchange);  // a few more examples of the same problem
  }
}

CheckResult Recorder::result(const std::string& id, const std::string& never_reason) const {
  auto it = tallies_.find(id);
  if (it != tallies_.end()) return it->second.result;
  CheckResult r;
  r.check = catalog_.at(id);
  r.verdict = Verdict::skip;
  r.reason = never_reason;
  return r;
}

}  // namespace joincheck::conformance
