#pragma once
// What a `joincheck load` run measured, in a form that merges exactly: counts add, histograms
// add (load/histogram.hpp), per-second samples add second by second (second 0 is each
// process's start), error classes add. `joincheck report merge` reads the JSON of N shards and
// writes the JSON of the whole, from which the JUnit and HTML reports follow as from one run.
//
// Counting (docs/load.md):
//  - sent: JoinReqs that left; ok: answers verified as `joincheck run` verifies them (TS002
//    Result Success, the join-accept decrypted and its MIC verified by the device, the session
//    keys unwrapped and equal to the device's derivation, the header echoed), and errors: the
//    others, each in one class: "http <status>" (no TS002 answer), "result <ResultCode>",
//    "verify <check id>" (a wrong answer), "transport <refused|reset|tls|deadline|...>".
//    sent = ok + errors + unfinished (requests cut short by Ctrl-C are not counted as sent).
//  - latency: of every request that got an HTTP answer or missed its deadline, from its
//    intended send time (open loop and storm: so a stalled JS cannot hide its stall) or its
//    actual send time (closed loop).

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "load/histogram.hpp"
#include "load/load_spec.hpp"

namespace joincheck::load {

// The per-second samples keep a coarser histogram (2 significant digits: 1% relative error).
inline constexpr int kSecondHistogramDigits = 2;

struct SecondSample {
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  LatencyHistogram latency{kSecondHistogramDigits};
  friend bool operator==(const SecondSample&, const SecondSample&) = default;
};

// --storm: how many of its devices were answered (verified) within the join-accept windows.
struct StormOutcome {
  std::uint64_t devices = 0;           // in this process's part of the storm
  std::int64_t within_us = 0;          // T of N/T
  std::int64_t rx1_deadline_us = 0;    // JOIN_ACCEPT_DELAY1 minus the NS's budget
  std::int64_t rx2_deadline_us = 0;    // JOIN_ACCEPT_DELAY2 minus the NS's budget
  std::uint64_t answered = 0;          // verified joins, any latency
  std::uint64_t within_rx1 = 0;        // verified joins with latency <= rx1_deadline
  std::uint64_t within_rx2 = 0;        // verified joins with latency <= rx2_deadline (RX1 included)
  friend bool operator==(const StormOutcome&, const StormOutcome&) = default;
};

struct ErrorClass {
  std::uint64_t count = 0;
  std::string example;  // one occurrence in words (keys redacted)
  friend bool operator==(const ErrorClass&, const ErrorClass&) = default;
};

// Requests of one kind (JoinReq, RejoinReq type 0, 1, 2): how many left and how many were verified.
struct RequestCount {
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  double asked = 0;  // --mix: the share of all requests asked for (RejoinReqs); 0 for JoinReqs
  friend bool operator==(const RequestCount&, const RequestCount&) = default;
};

struct LoadResult {
  // What was asked: mode, rate, connections, duration, storm, target, fleet size, ... as the
  // command wrote it (the first shard's, after a merge).
  nlohmann::ordered_json settings = nlohmann::ordered_json::object();
  // One entry per process: {"shard": "2/4", "started": "2026-...Z", "elapsed_s": 60.0, "devices": N}.
  nlohmann::ordered_json processes = nlohmann::ordered_json::array();

  double elapsed_s = 0;  // the longest process's
  std::uint64_t sent = 0;
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;
  std::map<std::string, ErrorClass> error_classes;
  // By request kind (load/load_spec.hpp request_kind_name): every kind sent, and every kind --mix
  // asked for even when none could be sent (so that the judgement sees it). Sums to sent and ok.
  std::map<std::string, RequestCount> requests;
  // Violated SHOULD/INFO checks (warnings, not errors), and MUST checks the profile excuses.
  std::map<std::string, std::uint64_t> warnings;
  LatencyHistogram latency;
  std::vector<SecondSample> series;
  std::optional<StormOutcome> storm;
  std::uint64_t devices = 0;            // devices that could send
  std::uint64_t devices_exhausted = 0;  // devices that used all 65,536 DevNonces
  std::string stopped;                  // why the run ended early ("interrupted (Ctrl-C)"); "" when it did not
  std::string setup_error;              // why it could not run; nothing was measured

  friend bool operator==(const LoadResult&, const LoadResult&) = default;
};

// Adds `other` into `into` (exactly; throws std::invalid_argument when the two runs cannot be
// merged: a different mode or histogram layout).
void merge(LoadResult& into, const LoadResult& other);

// "" when the processes of `result` are the shards 1..N of one split, all of them; otherwise
// which are missing ("shards 2/4, 4/4 are missing"), so that a merge of part of a test is not
// judged as the whole.
std::string missing_shards(const LoadResult& result);

// The value of a metric (in the unit Assertion::limit uses); nullopt when the run gives none (a
// latency percentile of a run without answers, rx1 without --storm).
std::optional<double> measured(const LoadResult& result, Assertion::Metric metric);

struct AssertionOutcome {
  Assertion assertion;
  std::optional<double> value;  // measured
  bool passed = false;
  bool implicit = false;  // not given by --assert ("errors=0" when none was given)
  std::string message;    // "p99 = 12.3 ms, expected <= 50 ms"
};
// Every assertion judged; with none given, the run is judged by "errors=0". A run that verified
// no join at all never passes (a false green): that adds a failed "ok>0" outcome; nor one that
// verified no request of a kind --mix asked for (a failed "<kind> verified" outcome).
std::vector<AssertionOutcome> judge(const LoadResult& result, const std::vector<Assertion>& assertions);

// The JSON report ("command": "load"), and back. from_json checks every member and throws
// std::runtime_error naming `where`, the member, what was expected and what was seen.
nlohmann::ordered_json to_json(const LoadResult& result, const std::vector<AssertionOutcome>& outcomes);
LoadResult load_result_from_json(const nlohmann::ordered_json& document, std::string_view where);
// The assertions a JSON report was judged by (to judge a merged report the same way).
std::vector<Assertion> assertions_from_json(const nlohmann::ordered_json& document, std::string_view where);

}  // namespace joincheck::load
