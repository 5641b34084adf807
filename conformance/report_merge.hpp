#pragma once
// Several runs against one Join Server as one report (`joincheck report merge` of run reports):
// a CI matrix that runs `--only devnonce` on one job and `--only kek` on another, or the suite
// with different fleets, and wants one verdict. The merged report is judged like a run
// (RunReport::exit_code), so it never passes where one of its runs did not judge what it holds.
//
//  - target, profile and protocol_version must be the same in every run (the embedded reference
//    JS is one target whatever its URL: each run starts its own on an ephemeral port).
//  - exchanges: those of each run in turn; each run's trace indices are moved by the exchanges
//    before it.
//  - results: one per check id, in catalog order (Catalog::builtin(), then checks the built-in
//    catalog lacks, a custom scenario's, in the order they first appear). A check in several runs
//    takes the worst verdict by severity() (on a tie, the earlier run's), with that run's
//    expected, actual, reason, scenario and known deviation, and its trace first, then the others'
//    traces in run order; evaluations and failed_evaluations add up. A check must be the same
//    (level, title, spec) in every run.
//  - mac_versions: the union, sorted; started_at: the earliest; duration: the sum, the time the
//    runs spent judging (they may have run at once, on different machines: their span is unknown).
//  - setup_error and stopped_early: each run's, prefixed by its name and joined by "; ", so a
//    merged report with a run that could not reach its target exits 3, one that stopped early 1.
//  - the same report twice is refused: its checks would count twice.

#include <stdexcept>
#include <string>
#include <vector>

#include "conformance/result.hpp"

namespace joincheck::conformance {

// One run's report, and the name messages give it (its file).
struct NamedRunReport {
  std::string name;
  RunReport report;
};

// Thrown when runs cannot be merged: the message names both runs and the values that differ.
class RunMergeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// The runs as one report. Throws RunMergeError (none given, a different target, profile or
// protocol version, a check that differs between runs, the same report twice).
RunReport merge_runs(const std::vector<NamedRunReport>& runs);

}  // namespace joincheck::conformance
