#include "conformance/report_merge.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "conformance/check.hpp"
#include "conformance/embedded_target.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

namespace {

// The same target: the same text, or the embedded reference JS of each run.
bool same_target(const std::string& a, const std::string& b) {
  return a == b || (is_embedded_target(a) && is_embedded_target(b));
}

// "b.json: target \"X\", but a.json: \"Y\": ...": one member that must agree, and why.
void require_same(const NamedRunReport& first, const NamedRunReport& other, const char* member,
                  const std::string& mine, const std::string& theirs, bool same, const char* why) {
  if (same) return;
  throw RunMergeError(other.name + ": " + member + " " + lorawan::quote_for_error(theirs) + ", but " + first.name +
                      ": " + lorawan::quote_for_error(mine) + ": " + why);
}

// "NAME: TEXT" added to `into`, "; " between.
void add_named(std::string& into, const std::string& name, const std::string& text) {
  if (text.empty()) return;
  into += (into.empty() ? "" : "; ") + name + ": " + text;
}

std::string check_text(const CheckInfo& c) {
  return std::string(to_string(c.level)) + " " + lorawan::quote_for_error(c.title) + " (" +
         lorawan::quote_for_error(c.spec) + ")";
}

// `other`, a result of the same check from a later run (its trace already moved), into `into`:
// the worse verdict decides, and on a tie the earlier run's stays, as Recorder::record keeps the
// first of equally bad evaluations.
void combine(CheckResult& into, const CheckResult& other) {
  if (severity(other.verdict) > severity(into.verdict)) {
    std::vector<std::size_t> trace = other.trace;
    trace.insert(trace.end(), into.trace.begin(), into.trace.end());
    into.verdict = other.verdict;
    into.expected = other.expected;
    into.actual = other.actual;
    into.reason = other.reason;
    into.scenario = other.scenario;
    into.known_deviation = other.known_deviation;
    into.trace = std::move(trace);
  } else {
    into.trace.insert(into.trace.end(), other.trace.begin(), other.trace.end());
  }
  into.evaluations += other.evaluations;
  into.failed_evaluations += other.failed_evaluations;
}

// Catalog order: a built-in check by its place in Catalog::builtin(), any other after them all.
std::map<std::string, std::size_t> builtin_ranks() {
  std::map<std::string, std::size_t> ranks;
  for (const CheckInfo& c : Catalog::builtin().checks()) ranks.emplace(c.id, ranks.size());
  return ranks;
}

}  // namespace

RunReport merge_runs(const std::vector<NamedRunReport>& runs) {
  if (runs.empty()) throw RunMergeError("no report to merge");
  const NamedRunReport& first = runs.front();
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const NamedRunReport& other = runs[i];
    require_same(first, other, "target", first.report.target, other.report.target,
                 same_target(first.report.target, other.report.target),
                 "the runs of one report test one Join Server");
    require_same(first, other, "profile", first.report.profile, other.report.profile,
                 first.report.profile == other.report.profile,
                 "the runs of one report are judged by one profile (--profile)");
    require_same(first, other, "protocol_version", first.report.protocol_version, other.report.protocol_version,
                 first.report.protocol_version == other.report.protocol_version,
                 "the runs of one report speak one TS002 ProtocolVersion");
    for (std::size_t j = 0; j < i; ++j) {
      if (runs[j].report == other.report) {
        throw RunMergeError(other.name + " is the same report as " + runs[j].name +
                            ": merge each run once (its checks would count twice)");
      }
    }
  }

  RunReport merged;
  merged.target = first.report.target;
  for (const NamedRunReport& r : runs) {
    // Runs against the embedded JS name each their own URL: the merged report names none.
    if (r.report.target != merged.target) merged.target = std::string(kEmbeddedTargetName);
  }
  merged.profile = first.report.profile;
  merged.protocol_version = first.report.protocol_version;

  std::set<std::string> mac_versions;
  std::map<std::string, std::size_t> result_of;  // check id -> index in merged.results
  std::map<std::string, std::string> defined_in;  // check id -> the run that first had it
  for (const NamedRunReport& r : runs) {
    const RunReport& part = r.report;
    mac_versions.insert(part.mac_versions.begin(), part.mac_versions.end());
    if (!part.started_at.empty() && (merged.started_at.empty() || part.started_at < merged.started_at)) {
      merged.started_at = part.started_at;  // ISO 8601 UTC: text order is time order
    }
    merged.duration += part.duration;
    add_named(merged.setup_error, r.name, part.setup_error);
    add_named(merged.stopped_early, r.name, part.stopped_early);

    const std::size_t offset = merged.exchanges.size();
    merged.exchanges.insert(merged.exchanges.end(), part.exchanges.begin(), part.exchanges.end());
    for (CheckResult result : part.results) {
      for (std::size_t& index : result.trace) index += offset;
      const auto [at, added] = result_of.emplace(result.check.id, merged.results.size());
      if (added) {
        defined_in.emplace(result.check.id, r.name);
        merged.results.push_back(std::move(result));
        continue;
      }
      CheckResult& mine = merged.results[at->second];
      if (!(mine.check == result.check)) {
        throw RunMergeError(r.name + ": check " + result.check.id + " is " + check_text(result.check) + ", but " +
                            defined_in.at(result.check.id) + ": " + check_text(mine.check) +
                            ": reports of different joincheck versions or scenario files judge it differently");
      }
      combine(mine, result);
    }
  }
  merged.mac_versions.assign(mac_versions.begin(), mac_versions.end());
  // Stable: checks the built-in catalog lacks stay in the order they first appeared.
  const std::map<std::string, std::size_t> ranks = builtin_ranks();
  const auto rank = [&ranks](const CheckResult& r) {
    const auto it = ranks.find(r.check.id);
    return it == ranks.end() ? std::numeric_limits<std::size_t>::max() : it->second;
  };
  std::stable_sort(merged.results.begin(), merged.results.end(),
                   [&rank](const CheckResult& a, const CheckResult& b) { return rank(a) < rank(b); });
  return merged;
}

}  // namespace joincheck::conformance
