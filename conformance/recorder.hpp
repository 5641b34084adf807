#pragma once
// The recorder of a run: every evaluation of a check (from the validator, a step's expectation,
// the tls/ checks, a skipped scenario) goes through it, and it keeps one result per check, the
// worst of its evaluations with the evaluation that decided it. On the way in, a violated SHOULD
// or INFO check becomes a warning and the profile's known deviations apply.

#include <map>
#include <set>
#include <string>

#include "conformance/check.hpp"
#include "conformance/profile.hpp"
#include "conformance/result.hpp"

namespace joincheck::conformance {

class Recorder {
 public:
  Recorder(const Catalog& catalog, const Profile& profile, std::set<std::string> selected)
      : catalog_(catalog), profile_(profile), selected_(std::move(selected)) {}

  bool selected(const std::string& id) const { return selected_.count(id) != 0; }

  // Checks the NS persona makes inapplicable: never judged, whatever a step sent.
  void set_not_applicable(std::map<std::string, std::string> reasons) { not_applicable_ = std::move(reasons); }

  // One evaluation of a selected check; evaluations of other checks are dropped. Throws
  // std::logic_error for a check the catalog lacks (a harness defect).
  void record(const std::string& id, Evaluation e);

  // The final result of a check (skip with a reason when it was never judged).
  CheckResult result(const std::string& id, const std::string& never_reason) const;
  bool evaluated(const std::string& id) const { return tallies_.count(id) != 0; }
  // A check whose final result was handed on (RunOptions::on_check).
  bool emitted(const std::string& id) const { return emitted_.count(id) != 0; }
  void mark_emitted(const std::string& id) { emitted_.insert(id); }

 private:
  // One check's evaluations so far: their worst as a result, with a few traces of it.
  struct CheckTally {
    CheckResult result;
    bool evaluated = false;
  };

  const Catalog& catalog_;
  const Profile& profile_;
  std::set<std::string> selected_;
  std::map<std::string, CheckTally> tallies_;
  std::set<std::string> emitted_;
  std::map<std::string, std::string> not_applicable_;
};

}  // namespace joincheck::conformance
