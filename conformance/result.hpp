#pragma once
// What a run produces: a verdict per check with expected vs actual and the trace of the
// exchanges behind it (DESIGN.md "Verdicts"). Reports (reports/) print and write these; they
// hold no logic of their own. Keys are already redacted in every string here unless the run was
// asked to reveal them.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conformance/check.hpp"

namespace joincheck::conformance {

enum class Verdict {
  pass,
  fail,   // a MUST is violated
  warn,   // a SHOULD or INFO is violated, or a deviation the profile knows
  skip,   // not applicable, with the reason
  error,  // the harness could not judge (target unreachable, unreadable TLS material)
};
std::string_view to_string(Verdict verdict);  // "pass", "fail", ...
// How bad a verdict is, for aggregation: skip < pass < warn < error < fail.
int severity(Verdict verdict);

// The join-accept of an answer as the device decrypted and checked it (no key is held here):
// the structured form of the "join-accept: ..." note, for scripts (Python, the JSON report).
struct TraceJoinAccept {
  std::uint32_t join_nonce = 0;
  std::string net_id;    // hex, MSB first
  std::string dev_addr;  // hex, MSB first
  std::uint8_t dl_settings = 0;
  std::uint8_t rx_delay = 0;
  std::string cf_list;   // hex as on the air; "" when the accept has none
  std::string mic;       // hex as on the air
  std::string mode;      // the formulas it was checked with ("LoRaWAN 1.1, OptNeg=1"); "" if none
  bool accepted = false;  // the device took it (MIC valid, JoinNonce fresh)
  std::string refusal;    // why the device refused it; "" when accepted
  friend bool operator==(const TraceJoinAccept&, const TraceJoinAccept&) = default;
};

// One HTTP exchange as it happened, for the trace of a verdict.
struct TraceExchange {
  std::string label;  // "devnonce/replay-1.0.4 step 2: JoinReq (DevNonce previous)"
  std::string url;    // where the request was POSTed
  std::vector<std::pair<std::string, std::string>> request_headers;  // as sent (Authorization redacted)
  std::string request_body;
  int http_status = 0;  // 0: no HTTP response
  std::string http_reason;
  std::vector<std::pair<std::string, std::string>> response_headers;
  std::string response_body;
  std::string async_answer_body;  // async mode: the answer POSTed by the target
  std::string transport_error;    // "" when the transport worked
  double elapsed_ms = 0;          // until the answer (or the error)
  // What the harness made of the answer, one line each: the decoded join-accept, the codec's
  // observations, the unwrapped keys (redacted unless --reveal-keys).
  std::vector<std::string> notes;
  // The join-accept of a JoinAns/RejoinAns that decrypted; nullopt otherwise.
  std::optional<TraceJoinAccept> join_accept;
  friend bool operator==(const TraceExchange&, const TraceExchange&) = default;
};

// One judgement of a check on one exchange (or on a step of a scenario).
struct Evaluation {
  Verdict verdict = Verdict::pass;
  std::string expected;
  std::string actual;
  std::string reason;    // skip/warn/error reason, or a profile's known-deviation reason
  std::string scenario;  // the scenario id and step: "devnonce/replay-1.0.4 step 2"
  std::optional<std::size_t> exchange;  // index into RunReport::exchanges
};

// A check's verdict over the whole run: the worst of its evaluations (a fail anywhere is a fail),
// with the evaluation that decided it.
struct CheckResult {
  CheckInfo check;
  Verdict verdict = Verdict::skip;
  std::string expected;
  std::string actual;
  std::string reason;
  std::string scenario;
  std::vector<std::size_t> trace;  // indices into RunReport::exchanges, decisive one first
  std::size_t evaluations = 0;     // how many times the check was judged
  std::size_t failed_evaluations = 0;
  // Set when a profile turned a deviation into a warning: the profile's reason.
  std::string known_deviation;
  friend bool operator==(const CheckResult&, const CheckResult&) = default;
};

struct RunCounts {
  std::size_t pass = 0, fail = 0, warn = 0, skip = 0, error = 0;
  std::size_t total() const { return pass + fail + warn + skip + error; }
};

// Exit codes (DESIGN.md): 0 every MUST passes (warnings allowed unless strict); 1 a check failed
// or could not be judged (error), a warning under strict, the run stopped early, or nothing at
// all was judged; 2 usage or configuration error; 3 the target could not be reached or set up.
enum ExitCode : int { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3 };

// "2026-11-25T21:42:59Z": RunReport::started_at.
std::string iso8601_utc(std::chrono::system_clock::time_point time);

struct RunReport {
  std::string target;            // URL, or "embedded reference JS (URL)"
  std::string profile;           // "strict"
  std::string protocol_version;  // "1.0"
  std::vector<std::string> mac_versions;  // MACVersions of the devices used
  std::string started_at;        // ISO 8601 UTC
  std::chrono::milliseconds duration{0};
  // The target could not be reached or set up: why. Checks that could not run are `error`.
  std::string setup_error;
  // The target answered, but the run stopped before its end (it missed the deadline of one
  // exchange again and again): why. Checks not judged by then are `error`; the exit code is 1.
  std::string stopped_early;

  std::vector<CheckResult> results;      // catalog order; only the selected checks
  std::vector<TraceExchange> exchanges;  // every exchange of the run, in order

  RunCounts counts() const;
  // No selected check was judged (pass, warn or fail): every one was skipped, or none was
  // selected. Such a run tested nothing and does not pass.
  bool nothing_judged() const;
  int exit_code(bool strict) const;
  friend bool operator==(const RunReport&, const RunReport&) = default;
};

}  // namespace joincheck::conformance
