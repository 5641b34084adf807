// The JSON report read back (run_report_from_json, for `joincheck report merge`): the exact
// inverse of json_report for real runs of the embedded reference JS, passing and failing, and a
// refusal that names the file, the JSON path, what was expected and what was seen for every
// member that is missing or malformed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "conformance/report_support.hpp"
#include "reports/json_report.hpp"
#include "sample_report.hpp"

namespace joincheck::reports {
namespace {

using conformance::RunReport;
using conformance::test_support::embedded_run;
using nlohmann::ordered_json;
using ::testing::HasSubstr;

// The document, and the same through its text (as a file holds it: doubles printed and parsed).
void expect_round_trip(const RunReport& report) {
  const ordered_json written = json_report(report);
  const RunReport read = run_report_from_json(written, "r.json");
  EXPECT_TRUE(read == report);
  EXPECT_EQ(json_report(read), written);
  const ordered_json from_text = ordered_json::parse(json_report_text(report));
  EXPECT_EQ(json_report_text(run_report_from_json(from_text, "r.json")), json_report_text(report));
}

TEST(JsonReportReader, ReadsBackARealRunExactly) {
  const RunReport report = embedded_run({"join", "devnonce", "kek", "header", "tls"});
  ASSERT_EQ(report.exit_code(false), conformance::exit_ok);
  ASSERT_GT(report.exchanges.size(), 10u);
  bool accept = false;
  for (const auto& e : report.exchanges) accept = accept || e.join_accept.has_value();
  ASSERT_TRUE(accept) << "a decoded join-accept is part of what is read back";
  expect_round_trip(report);
}

TEST(JsonReportReader, ReadsBackAFailingRunExactly) {
  const RunReport report = embedded_run({"join"}, "bad-accept-mic");
  ASSERT_EQ(report.exit_code(false), conformance::exit_failed);
  ASSERT_GT(report.counts().fail, 0u);
  expect_round_trip(report);
}

TEST(JsonReportReader, ReadsBackEveryVerdictAndHostileBytes) {
  RunReport report = test_support::sample_report();
  report.exchanges[1].response_body = test_support::hostile_bytes;
  report.exchanges[2].elapsed_ms = std::numeric_limits<double>::infinity();  // written as null
  const RunReport read = run_report_from_json(json_report(report), "r.json");
  EXPECT_EQ(read.exchanges[1].response_body, test_support::hostile_bytes);
  EXPECT_TRUE(std::isnan(read.exchanges[2].elapsed_ms));
  EXPECT_EQ(json_report(read), json_report(report));
}

TEST(JsonReportReader, ReadsAReportWrittenBeforeCommandWasWritten) {
  const RunReport report = test_support::sample_report();
  ordered_json j = json_report(report);
  j.erase("command");
  EXPECT_TRUE(run_report_from_json(j, "old.json") == report);
}

// The message run_report_from_json refuses `j` with, or "no error".
std::string error_of(const ordered_json& j) {
  try {
    (void)run_report_from_json(j, "r.json");
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

TEST(JsonReportReader, RefusesMalformedMembersNamingTheirPlace) {
  const ordered_json good = json_report(test_support::sample_report());
  ASSERT_EQ(error_of(good), "no error");
  // `edit` applied to the good document gives an error holding `expected`: the file, the JSON
  // path, what was expected and what was seen.
  const auto refused = [&](const std::function<void(ordered_json&)>& edit, const std::string& expected) {
    ordered_json j = good;
    edit(j);
    EXPECT_THAT(error_of(j), HasSubstr(expected));
  };
  refused([](ordered_json& j) { j = ordered_json::array(); }, "r.json: expected an object, got an array");
  refused([](ordered_json& j) { j["command"] = "doctor"; },
          "r.json.command: expected \"run\" (a report of joincheck run), got \"doctor\"");
  refused([](ordered_json& j) { j["command"] = "load"; }, "r.json.command: expected \"run\"");
  refused([](ordered_json& j) { j.erase("target"); }, "r.json.target: expected a member \"target\", got none");
  refused([](ordered_json& j) { j["profile"] = 3; }, "r.json.profile: expected a string, got the number 3");
  refused([](ordered_json& j) { j["mac_versions"][1] = nullptr; }, "r.json.mac_versions[1]: expected a string, got null");
  refused([](ordered_json& j) { j["started_at"] = "yesterday"; },
          "r.json.started_at: expected a UTC time YYYY-MM-DDTHH:MM:SSZ, or \"\", got \"yesterday\"");
  refused([](ordered_json& j) { j["duration_ms"] = -5; }, "r.json.duration_ms: expected a whole number >= 0, got the number -5");
  refused([](ordered_json& j) { j["stopped_early"] = false; }, "r.json.stopped_early: expected a string, got a boolean");
  refused([](ordered_json& j) { j["extra"] = 1; }, "got a member \"extra\"");
  refused([](ordered_json& j) { j["joincheck"].erase("commit"); }, "r.json.joincheck.commit: expected a member");
  // Results.
  refused([](ordered_json& j) { j["results"][1]["verdict"] = "maybe"; },
          "r.json.results[1].verdict: expected one of pass, fail, warn, skip, error, got \"maybe\"");
  refused([](ordered_json& j) { j["results"][0]["level"] = "must"; },
          "r.json.results[0].level: expected one of MUST, SHOULD, INFO, got \"must\"");
  refused([](ordered_json& j) { j["results"][0]["id"] = "no-group"; },
          "r.json.results[0].id: expected a check id <group>/<name>, got \"no-group\"");
  refused([](ordered_json& j) { j["results"][0]["group"] = "join"; },
          "r.json.results[0].group: expected \"header\" (the id's group), got \"join\"");
  refused([](ordered_json& j) { j["results"][2].erase("expected"); }, "r.json.results[2].expected: expected a member");
  refused([](ordered_json& j) { j["results"][1]["failed_evaluations"] = 4; },
          "r.json.results[1].failed_evaluations: expected at most evaluations (3), got 4");
  refused([](ordered_json& j) { j["results"][0]["trace"][1] = 4; },
          "r.json.results[0].trace[1]: expected the index of an exchange (fewer than 4), got the number 4");
  refused([](ordered_json& j) { j["results"][0]["evaluations"] = 1.5; },
          "r.json.results[0].evaluations: expected a whole number >= 0, got the number 1.5");
  // Exchanges.
  refused([](ordered_json& j) { j["exchanges"][2]["index"] = 7; },
          "r.json.exchanges[2].index: expected 2 (exchanges in order), got the number 7");
  refused([](ordered_json& j) { j["exchanges"][0]["request_headers"][0] = ordered_json::array({"Content-Type"}); },
          "r.json.exchanges[0].request_headers[0]: expected a [name, value] pair of strings, got an array of 1 element(s)");
  refused([](ordered_json& j) { j["exchanges"][0]["http_status"] = 1000; },
          "r.json.exchanges[0].http_status: expected a whole number from 0 to 999, got the number 1000");
  refused([](ordered_json& j) { j["exchanges"][1]["elapsed_ms"] = "8"; },
          "r.json.exchanges[1].elapsed_ms: expected a number >= 0, got a string");
  refused([](ordered_json& j) { j["exchanges"][3]["notes"] = "none"; }, "r.json.exchanges[3].notes: expected an array, got a string");
  // The summary is the results' count.
  refused([](ordered_json& j) { j["summary"]["fail"] = 0; },
          "r.json.summary.fail: expected 1 (the count of \"results\"), got 0");
  refused([](ordered_json& j) { j.erase("summary"); }, "r.json.summary: expected a member \"summary\", got none");
}

TEST(JsonReportReader, RefusesAMalformedJoinAccept) {
  RunReport report = test_support::sample_report();
  conformance::TraceJoinAccept a;
  a.join_nonce = 0x0a0b0c;
  a.net_id = "000013";
  a.dev_addr = "26011234";
  a.dl_settings = 0x03;
  a.rx_delay = 1;
  a.mic = "01020304";
  a.mode = "LoRaWAN 1.0.x";
  a.accepted = true;
  report.exchanges[0].join_accept = a;
  const ordered_json good = json_report(report);
  EXPECT_EQ(good["exchanges"][0]["join_accept"]["JoinNonce"], "0a0b0c");
  EXPECT_TRUE(run_report_from_json(good, "r.json") == report);
  const auto refused = [&](const char* member, const ordered_json& value, const std::string& expected) {
    ordered_json j = good;
    j["exchanges"][0]["join_accept"][member] = value;
    EXPECT_THAT(error_of(j), HasSubstr(expected)) << member;
  };
  refused("JoinNonce", "0A0B0C", "r.json.exchanges[0].join_accept.JoinNonce: expected 6 lower-case hex digits, got \"0A0B0C\"");
  refused("JoinNonce", 658188, "JoinNonce: expected 6 lower-case hex digits, got the number 658188");
  refused("DLSettings", "3", "join_accept.DLSettings: expected 2 lower-case hex digits, got \"3\"");
  refused("RxDelay", 256, "join_accept.RxDelay: expected a whole number from 0 to 255, got the number 256");
  refused("CFList", "", "join_accept.CFList: expected hex, or null for none, got \"\"");
  refused("accepted", "yes", "join_accept.accepted: expected true or false, got a string");
}

}  // namespace
}  // namespace joincheck::reports
