// `joincheck run --via-gateway`: the suite's plain joins travel device -> simulated gateway ->
// joincheck's NS -> reference JS -> NS -> gateway -> device, the validator judges the NS's
// exchanges with the JS, and the air/ scenarios (uplink, expect_downlink) run. Proven both ways:
// the strict JS passes everything, a JS too slow for RX1 fails air/join-accept-window, and
// without the gateway the air/ checks are skipped with the reason.
#include <gtest/gtest.h>

#include "conformance/embedded_target.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "sim/join_server/faults.hpp"
#include "sim/network_server/network_server.hpp"
#include "sim/network_server/ns_persona.hpp"
#include "report_support.hpp"

namespace joincheck::conformance {
namespace {

RunReport run_via_gateway(EmbeddedTarget& target, std::vector<std::string> only = {},
                          std::chrono::milliseconds timeout = std::chrono::milliseconds(5000), bool air = true,
                          std::vector<Scenario> scenarios = builtin_suite()) {
  RunOptions o;
  o.target = target.target();
  o.target.ns.timeout = timeout;
  o.fleet = target.fleet();
  o.scenarios = std::move(scenarios);
  o.only = std::move(only);
  if (air) o.via_gateway = RunOptions::ViaGateway{};
  return run_scenarios(o);
}

using test_support::result_of;
using test_support::failures;

TEST(ViaGateway, StrictReferenceJsPassesTheSuiteOverTheAir) {
  EmbeddedTarget target;
  const RunReport r = run_via_gateway(target);
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_EQ(r.counts().fail, 0u) << failures(r);
  EXPECT_EQ(r.counts().error, 0u) << failures(r);
  EXPECT_EQ(result_of(r, "air/join-accept-window").verdict, Verdict::pass) << failures(r);
  EXPECT_EQ(result_of(r, "air/uplink-acknowledged").verdict, Verdict::pass) << failures(r);
  EXPECT_EQ(result_of(r, "join/success-1.1").verdict, Verdict::pass);
  EXPECT_EQ(result_of(r, "keys/network-keys-1.1").verdict, Verdict::pass);
  // Plain joins went through the NS: their JoinReqs carry the DevAddrs it assigns under the
  // harness's NetID, from NwkAddr 1 on.
  const std::string first = "\"DevAddr\":\"" + sim::dev_addr_for(target.target().ns.net_id, 1).hex() + "\"";
  const std::string tenth = "\"DevAddr\":\"" + sim::dev_addr_for(target.target().ns.net_id, 10).hex() + "\"";
  std::size_t found = 0;
  for (const auto& e : r.exchanges) {
    if (e.request_body.find(first) != std::string::npos || e.request_body.find(tenth) != std::string::npos) ++found;
  }
  EXPECT_EQ(found, 2u);
}

TEST(ViaGateway, WithoutTheGatewayTheAirChecksAreSkippedWithTheReason) {
  EmbeddedTarget target;
  const RunReport r = run_via_gateway(target, {"air"}, std::chrono::milliseconds(5000), false);
  const CheckResult& c = result_of(r, "air/uplink-acknowledged");
  EXPECT_EQ(c.verdict, Verdict::skip);
  EXPECT_NE(c.reason.find("--via-gateway"), std::string::npos) << c.reason;
}

TEST(ViaGateway, AJsTooSlowForRx1FailsTheJoinAcceptWindow) {
  EmbeddedTargetOptions eo;
  sim::add_fault(eo.faults, "slow-answer=5200");
  EmbeddedTarget target(eo);
  const std::vector<Scenario> one = parse_scenarios(R"({"id": "air/join-accept-window",
      "devices": {"dev": {"MACVersion": "1.0.3"}},
      "steps": [{"send": "join", "device": "dev", "check": "join/success-1.0.3", "expect": "Success"},
                {"send": "expect_downlink", "device": "dev", "window": "RX1"}]})",
                                                    "slow.json", Catalog::builtin());
  const RunReport r = run_via_gateway(target, {}, std::chrono::milliseconds(8000), true, one);
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  const CheckResult& c = result_of(r, "air/join-accept-window");
  EXPECT_EQ(c.verdict, Verdict::fail) << failures(r);
  EXPECT_NE(c.actual.find("RX2, not RX1"), std::string::npos) << c.actual;
}

// --ns-like over the air: joincheck's NS sends the persona's header, MACVersion spelling and
// CFList (sim::shape_join_req_spelling), with its own DevAddr, DLSettings and RxDelay, and the
// device still joins in RX1.
TEST(ViaGateway, TheNsPersonaShapesTheJoinReqOfTheNs) {
  const std::vector<Scenario> one = parse_scenarios(R"({"id": "air/join-accept-window",
      "devices": {"dev": {"MACVersion": "1.1"}},
      "steps": [{"send": "join", "device": "dev", "check": "join/success-1.1", "expect": "Success"},
                {"send": "expect_downlink", "device": "dev", "window": "RX1"}]})",
                                                    "persona.json", Catalog::builtin());
  for (const sim::NsPersona persona : {sim::NsPersona::chirpstack_v4, sim::NsPersona::chirpstack_v3}) {
    EmbeddedTarget target;
    RunOptions o;
    o.target = target.target();
    o.target.ns.ns_like = persona;
    o.fleet = target.fleet();
    o.scenarios = one;
    o.via_gateway = RunOptions::ViaGateway{};
    const RunReport r = run_scenarios(o);
    ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
    EXPECT_EQ(result_of(r, "air/join-accept-window").verdict, Verdict::pass) << failures(r);
    ASSERT_FALSE(r.exchanges.empty());
    const std::string& body = r.exchanges.front().request_body;
    EXPECT_NE(body.find(R"("ProtocolVersion":"1.0")"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("MACVersion":"1.1.0")"), std::string::npos) << body;
    EXPECT_EQ(body.find("SenderToken"), std::string::npos) << body;
    EXPECT_NE(body.find("\"DevAddr\":\"" + sim::dev_addr_for(target.target().ns.net_id, 1).hex() + "\""),
              std::string::npos)
        << body;
    if (persona == sim::NsPersona::chirpstack_v4) {
      EXPECT_NE(body.find("\"CFList\":\"" + sim::stock_eu868_cf_list().hex() + "\""), std::string::npos) << body;
    } else {
      EXPECT_EQ(body.find("CFList"), std::string::npos) << body;
      EXPECT_NE(body.find(R"("VSExtension":{})"), std::string::npos) << body;
    }
  }
}

// End to end: a JS that gives the NS another network session key than the device derived. The
// join-accept still reaches the device, but the NS cannot verify its uplink, so no ACK comes.
TEST(ViaGateway, AJsGivingTheNsAnotherKeyLeavesTheUplinkUnacknowledged) {
  EmbeddedTargetOptions eo;
  sim::add_fault(eo.faults, "wrong-session-key");
  EmbeddedTarget target(eo);
  const RunReport r = run_via_gateway(target, {"air/uplink-acknowledged"});
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  const CheckResult& c = result_of(r, "air/uplink-acknowledged");
  EXPECT_EQ(c.verdict, Verdict::fail) << failures(r);
  EXPECT_NE(c.actual.find("no downlink"), std::string::npos) << c.actual;
}

}  // namespace
}  // namespace joincheck::conformance
