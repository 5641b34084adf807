#pragma once
// JSON summary of a run, for scripts: the same content as the JUnit report with stable
// snake_case keys. Read back by run_report_from_json (`joincheck report merge`).
//
//   {"joincheck": {"version", "commit"}, "command" ("run", or "doctor" for a doctor's findings),
//    "target", "profile", "protocol_version", "mac_versions": [..], "started_at", "duration_ms",
//    "setup_error" ("" when none), "stopped_early" ("" when none),
//    "summary": {"pass", "fail", "warn", "skip", "error", "total"},
//    "results": [{"id", "group", "level", "title", "spec", "verdict", "expected", "actual",
//                 "reason", "scenario", "known_deviation", "evaluations", "failed_evaluations",
//                 "trace": [exchange index, ...]}],
//    "exchanges": [{"index", "label", "url", "request_headers": [[name, value], ..],
//                   "request_body", "http_status", "http_reason", "response_headers",
//                   "response_body", "async_answer_body", "transport_error", "elapsed_ms",
//                   "notes": [..],
//                   "join_accept": {"JoinNonce", "NetID", "DevAddr", "DLSettings", "RxDelay",
//                                   "CFList" (null: none), "MIC", "mode", "accepted", "refusal"}
//                                  (only on an exchange whose join-accept the device decrypted)}]}
//
// Levels are "MUST"/"SHOULD"/"INFO", verdicts "pass"/"fail"/"warn"/"skip"/"error"; a result's
// "trace" indexes "exchanges". A peer's body is kept up to 64 KiB (conformance::kMaxTraceBodyBytes),
// the rest cut and said so: "... (N more bytes)".

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "conformance/result.hpp"

namespace joincheck::reports {

// The document; `command` is the command whose report it is ("run", "doctor"). Strings are as
// recorded and may hold invalid UTF-8 from a peer: dump it with
// nlohmann::json::error_handler_t::replace (json_report_text does), or dump() throws.
nlohmann::ordered_json json_report(const conformance::RunReport& report, std::string_view command = "run");

// The report of `joincheck run` back from its JSON document, the inverse of json_report: every
// member is checked (and no other may be there), and the first that is missing or malformed
// throws std::runtime_error naming `where` (the file), the JSON path, what was expected and what
// was seen ("a.json.results[3].verdict: expected one of pass, fail, warn, skip, error, got
// \"maybe\""). The counts of "summary" must be those of "results", a trace must index
// "exchanges". A document without "command" is a run report written before json_report wrote
// one; another command's report ("doctor", "load") is refused. "joincheck" (which build wrote
// it) is checked, not kept: json_report writes the build that writes it, so
// json_report(run_report_from_json(d)) == d for a report d of this build.
conformance::RunReport run_report_from_json(const nlohmann::ordered_json& document, std::string_view where);

// {"version": "0.1.0", "commit": "1a2b3c4d5e6f" ("" when not built from git)}: the "joincheck"
// member of every JSON report (reports/build_info.hpp).
nlohmann::ordered_json build_info_json();

// The document indented by 2, invalid UTF-8 replaced by U+FFFD, with a final newline.
std::string json_report_text(const conformance::RunReport& report, std::string_view command = "run");

// Writes json_report_text(report, command) to `path`, creating missing parent directories.
// Throws std::runtime_error naming the file and the reason when it cannot.
void write_json_report(const conformance::RunReport& report, const std::filesystem::path& path,
                       std::string_view command = "run");

}  // namespace joincheck::reports
