// A hostile JS answering every exchange with megabytes of JSON (kept under the 4 MiB body limit)
// made runs of 350-733 MB and JSON reports of 188-262 MB: every body was kept whole. A trace keeps
// at most kMaxTraceBodyBytes of a body, marked as cut, and the run still fails the JS.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "backend/http_server.hpp"
#include "conformance/profile.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "conformance/target.hpp"
#include "conformance/validator.hpp"
#include "reports/json_report.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::reports {
namespace {

using namespace std::chrono_literals;

std::string hostile_body() {
  std::string body = R"({"ProtocolVersion":"1.0","MessageType":"JoinAns","TransactionID":1,"X":[)";
  body.reserve(3u << 20);
  while (body.size() < (3u << 20)) body += "1,";
  body += "1]}";
  return body;
}

// The join checks (strict profile) against a JS answering every request with `body`.
conformance::RunReport run_join_checks_against(const std::string& body) {
  backend::HttpServerOptions so;
  so.linger_timeout = 300ms;
  backend::HttpServer server(so, [&](const backend::HttpRequest&) {
    backend::HttpResponse r;
    r.status = 200;
    r.content_type = "application/json";
    r.body = body;
    return r;
  });
  conformance::RunOptions o;
  o.target = conformance::default_target_config();
  o.target.ns.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";
  o.target.ns.timeout = 5000ms;
  o.fleet = sim::generate_fleet(4, lorawan::Eui64::parse("0000000000000001"),
                                conformance::suite_mac_versions(), 7);
  o.scenarios = conformance::builtin_suite();
  o.profile = conformance::resolve_profile("strict");
  o.only = {"join"};
  return conformance::run_scenarios(o);
}

TEST(HostileBodies, ReportsKeepACappedPartOfEachBodyAndTheRunFails) {
  const std::string body = hostile_body();
  const conformance::RunReport report = run_join_checks_against(body);

  ASSERT_FALSE(report.exchanges.empty());
  EXPECT_NE(report.exit_code(false), conformance::exit_ok);
  for (const auto& e : report.exchanges) {
    if (e.http_status != 200) continue;
    ASSERT_LE(e.response_body.size(), conformance::kMaxTraceBodyBytes + 32) << e.label;
    EXPECT_EQ(e.response_body.substr(0, 40), body.substr(0, 40)) << e.label;
    const std::string tail = e.response_body.substr(e.response_body.size() - 20);
    EXPECT_NE(tail.find("more bytes)"), std::string::npos) << tail;
  }
  // The codec refused each answer at its value limit, and says so.
  bool told = false;
  for (const auto& r : report.results) {
    told = told || r.actual.find("more than 10000 JSON values") != std::string::npos ||
           r.reason.find("more than 10000 JSON values") != std::string::npos;
  }
  EXPECT_TRUE(told);
  const std::string json = json_report_text(report);
  EXPECT_LT(json.size(), report.exchanges.size() * (conformance::kMaxTraceBodyBytes + 8192));
}

// A Result Description of 3 MiB is a handful of values, under the codec's limit: it was copied
// whole into the verdict of every check the answer decided, and into every report.
TEST(HostileBodies, AHugeResultDescriptionIsCutInEveryVerdict) {
  const std::string description =
      std::string(3u << 20, 'x') + "\\n#forged line";  // JSON for a newline
  const std::string body =
      R"({"ProtocolVersion":"1.0","SenderID":"0807060504030201","ReceiverID":"000000",)"
      R"("TransactionID":1,"MessageType":"JoinAns","Result":{"ResultCode":"UnknownDevEUI",)"
      R"("Description":")" +
      description + "\"}}";
  const conformance::RunReport report = run_join_checks_against(body);
  bool seen = false;
  for (const auto& r : report.results) {
    EXPECT_LT(r.actual.size(), 2048u) << r.check.id;
    EXPECT_LT(r.reason.size(), 4096u) << r.check.id;
    EXPECT_EQ(r.actual.find('\n'), std::string::npos) << r.check.id;
    seen = seen || r.actual.find("UnknownDevEUI (xxxx") != std::string::npos;
  }
  std::string actuals;
  for (const auto& r : report.results) actuals += r.check.id + ": " + r.actual.substr(0, 60) + "\n";
  EXPECT_TRUE(seen) << actuals;
  EXPECT_LT(json_report_text(report).size(), 8u << 20);
}

}  // namespace
}  // namespace joincheck::reports
