// The JSON report: every field of the run under stable snake_case keys, parseable whatever bytes
// a peer sent.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reports/json_report.hpp"
#include "sample_report.hpp"

namespace joincheck::reports {
namespace {

using namespace test_support;
using namespace ::testing;
using nlohmann::json;

// Key order as written: parse with ordered_json (nlohmann::json sorts keys).
std::vector<std::string> keys(const nlohmann::ordered_json& object) {
  std::vector<std::string> out;
  for (const auto& [key, value] : object.items()) out.push_back(key);
  return out;
}

TEST(JsonReport, RoundTripsWithRunFieldsAndSummary) {
  const std::string text = json_report_text(sample_report());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_THAT(text, HasSubstr("\n  \"target\": \"http://127.0.0.1:4000\""));  // indented by 2
  const json doc = json::parse(text);
  EXPECT_EQ(doc["target"], "http://127.0.0.1:4000");
  EXPECT_EQ(doc["profile"], "strict");
  EXPECT_EQ(doc["protocol_version"], "1.0");
  EXPECT_EQ(doc["mac_versions"], json::array({"1.0.3", "1.1"}));
  EXPECT_EQ(doc["started_at"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(doc["duration_ms"], 2345);
  EXPECT_EQ(doc["setup_error"], "");
  EXPECT_EQ(doc["summary"],
            json::parse(R"({"pass":1,"fail":1,"warn":1,"skip":1,"error":1,"total":5})"));
  EXPECT_EQ(doc["results"].size(), 5u);
  EXPECT_EQ(doc["exchanges"].size(), 4u);
}

TEST(JsonReport, KeysAreStableAndInOrder) {
  const auto doc = nlohmann::ordered_json::parse(json_report_text(sample_report()));
  EXPECT_THAT(keys(doc),
              ElementsAre("joincheck", "command", "target", "profile", "protocol_version", "mac_versions", "started_at",
                          "duration_ms", "setup_error", "stopped_early", "summary", "results", "exchanges"));
  EXPECT_THAT(keys(doc["results"][0]),
              ElementsAre("id", "group", "level", "title", "spec", "verdict", "expected", "actual",
                          "reason", "scenario", "known_deviation", "evaluations",
                          "failed_evaluations", "trace"));
  EXPECT_THAT(keys(doc["exchanges"][0]),
              ElementsAre("index", "label", "url", "request_headers", "request_body", "http_status",
                          "http_reason", "response_headers", "response_body", "async_answer_body",
                          "transport_error", "elapsed_ms", "notes"));
}

// The command says which report it is, for `joincheck report merge` (a doctor's findings are a
// RunReport too, and do not merge as a run).
TEST(JsonReport, SaysWhichCommandWroteIt) {
  EXPECT_EQ(json_report(sample_report())["command"], "run");
  EXPECT_EQ(json_report(sample_report(), "doctor")["command"], "doctor");
}

TEST(JsonReport, ResultsCarryVerdictLevelAndTrace) {
  const json doc = json::parse(json_report_text(sample_report()));
  const auto& fail = doc["results"][1];
  EXPECT_EQ(fail["id"], "header/transaction-id-echo");
  EXPECT_EQ(fail["group"], "header");
  EXPECT_EQ(fail["level"], "MUST");
  EXPECT_EQ(fail["title"], "The answer carries the request's TransactionID");
  EXPECT_EQ(fail["spec"], "TS002 1.0 §22.1");
  EXPECT_EQ(fail["verdict"], "fail");
  EXPECT_EQ(fail["expected"], "TransactionID 42");
  EXPECT_EQ(fail["actual"], "TransactionID 43");
  EXPECT_EQ(fail["reason"], "the answer belongs to another transaction");
  EXPECT_EQ(fail["scenario"], "header/transaction-id-echo step 1");
  EXPECT_EQ(fail["evaluations"], 3);
  EXPECT_EQ(fail["failed_evaluations"], 1);
  EXPECT_EQ(fail["trace"], json::array({0}));

  const auto& warn = doc["results"][2];
  EXPECT_EQ(warn["verdict"], "warn");
  EXPECT_EQ(warn["level"], "SHOULD");
  EXPECT_EQ(warn["known_deviation"], "vendor-x sends null for absent fields");
  EXPECT_EQ(doc["results"][3]["verdict"], "skip");
  EXPECT_EQ(doc["results"][3]["trace"], json::array());
  EXPECT_EQ(doc["results"][4]["verdict"], "error");
  EXPECT_EQ(doc["results"][0]["trace"], json::array({0, 3}));
  EXPECT_EQ(doc["results"][0]["verdict"], "pass");
}

TEST(JsonReport, ExchangesKeepEveryField) {
  const json doc = json::parse(json_report_text(sample_report()));
  const auto& join = doc["exchanges"][0];
  EXPECT_EQ(join["index"], 0);
  EXPECT_EQ(join["label"], "header/transaction-id-echo step 1: JoinReq");
  EXPECT_EQ(join["url"], "http://127.0.0.1:4000/");
  EXPECT_EQ(
      join["request_headers"],
      json::parse(R"j([["Content-Type","application/json"],["Authorization","(redacted)"]])j"));
  EXPECT_EQ(join["request_body"],
            R"({"ProtocolVersion":"1.0","TransactionID":42,"MessageType":"JoinReq"})");
  EXPECT_EQ(join["http_status"], 200);
  EXPECT_EQ(join["http_reason"], "OK");
  EXPECT_EQ(join["response_headers"][1], json::array({"Server", "js-under-test"}));
  EXPECT_EQ(join["response_body"],
            R"({"ProtocolVersion":"1.0","TransactionID":43,"MessageType":"JoinAns"})");
  EXPECT_DOUBLE_EQ(join["elapsed_ms"].get<double>(), 12.3456);
  EXPECT_EQ(join["notes"],
            json::array({"JoinAccept decrypted: DevAddr 01020304, JoinNonce 000001"}));
  EXPECT_EQ(join["async_answer_body"], "");
  EXPECT_EQ(join["transport_error"], "");

  const auto& tls = doc["exchanges"][2];
  EXPECT_EQ(tls["http_status"], 0);
  EXPECT_EQ(tls["transport_error"], "TLS handshake failed: certificate unknown (alert 46)");
  EXPECT_EQ(doc["exchanges"][3]["async_answer_body"],
            R"({"MessageType":"JoinAns","Result":{"ResultCode":"Success"}})");
  // A body under the trace limit is kept whole, newlines included.
  EXPECT_EQ(doc["exchanges"][1]["response_body"],
            "{\"MessageType\":\"JoinAns\",\n\"Lifetime\":null}");
}

TEST(JsonReport, HostileBytesStillParse) {
  auto report = sample_report();
  report.exchanges[0].response_body = hostile_bytes;
  report.exchanges[0].response_headers.emplace_back("X-Evil", hostile_bytes);
  report.results[1].actual = hostile_bytes;
  report.setup_error = hostile_bytes;
  std::string text;
  ASSERT_NO_THROW(text = json_report_text(report));
  json doc;
  ASSERT_NO_THROW(doc = json::parse(text)) << text;
  // Control characters survive as JSON escapes; bytes that are not UTF-8 become U+FFFD.
  const std::string body = doc["exchanges"][0]["response_body"];
  EXPECT_THAT(body, StartsWith(std::string("A\x01"
                                           "B\x1b[31mred\x00"
                                           "Z",
                                           13)));
  EXPECT_THAT(body, HasSubstr("\xef\xbf\xbd"));
  EXPECT_THAT(body, EndsWith("end"));
  EXPECT_THAT(text, HasSubstr("\\u0001"));
  EXPECT_THAT(text, HasSubstr("\\u001b"));
  EXPECT_EQ(doc["results"][1]["actual"], doc["exchanges"][0]["response_body"]);
}

TEST(JsonReport, NonFiniteElapsedIsNull) {
  auto report = sample_report();
  report.exchanges[0].elapsed_ms = std::numeric_limits<double>::quiet_NaN();
  const json doc = json::parse(json_report_text(report));
  EXPECT_TRUE(doc["exchanges"][0]["elapsed_ms"].is_null());
}

TEST(JsonReport, SetupErrorAlone) {
  RunReport report;
  report.target = "https://js.example:8443";
  report.setup_error = "connect to js.example:8443: Connection refused";
  const json doc = json::parse(json_report_text(report));
  EXPECT_EQ(doc["setup_error"], "connect to js.example:8443: Connection refused");
  EXPECT_EQ(doc["results"], json::array());
  EXPECT_EQ(doc["exchanges"], json::array());
  EXPECT_EQ(doc["summary"]["total"], 0);
  EXPECT_EQ(doc["mac_versions"], json::array());
}

TEST(JsonReport, WriteJsonReport) {
  TempDir dir("json-write");
  const auto path = dir.path() / "sub" / "report.json";
  write_json_report(sample_report(), path);
  EXPECT_EQ(read_file(path), json_report_text(sample_report()));
  EXPECT_EQ(json::parse(read_file(path))["summary"]["total"], 5);
  try {
    write_json_report(sample_report(), dir.path());
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot write JSON report " + dir.path().string()));
  }
}

}  // namespace
}  // namespace joincheck::reports
