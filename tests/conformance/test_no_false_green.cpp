// No false green: a run that did not test what it claims does not pass. A check whose setup
// step did not go as expected is `error` (never a quiet skip), a refused setup join says why it
// was most likely refused, a JS that misses the deadline again and again stops the run instead
// of costing minutes, a run that judged nothing does not pass, and scenarios that need "any
// device" run on whatever versions the fleet has. Each is proven both ways: the right run passes.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "conformance/embedded_target.hpp"
#include "conformance/profile.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "report_support.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::conformance {
namespace {

using test_support::describe;
using test_support::failures;
using test_support::result_of;

RunOptions options_for(EmbeddedTarget& target, std::vector<std::string> only = {}) {
  RunOptions o;
  o.target = target.target();
  o.fleet = target.fleet();
  o.scenarios = builtin_suite();
  o.profile = resolve_profile("strict");
  o.only = std::move(only);
  return o;
}

// `--only devnonce` twice against a JS that remembers, without the fleet's state: the second
// run's setup joins replay the first run's DevNonces and are refused. The devnonce checks were
// not judged; they must not pass, nor be skipped.
TEST(NoFalseGreen, ChecksWhoseSetupJoinWasRefusedAreErrorsNotSkips) {
  EmbeddedTarget target;
  const RunOptions o = options_for(target, {"devnonce"});
  const RunReport first = run_scenarios(o);
  ASSERT_EQ(first.exit_code(true), exit_ok) << failures(first);
  EXPECT_EQ(first.counts().skip, 0u) << failures(first);

  const RunReport second = run_scenarios(o);
  EXPECT_EQ(second.counts().pass + second.counts().skip, 0u) << failures(second);
  EXPECT_NE(second.exit_code(false), exit_ok);
  EXPECT_NE(second.exit_code(true), exit_ok);
  for (const char* id : {"devnonce/replay-1.0.4", "devnonce/decrease-1.0.4", "devnonce/replay-1.1", "devnonce/decrease-1.1"}) {
    const CheckResult& r = result_of(second, id);
    EXPECT_EQ(r.verdict, Verdict::error) << describe(r);
    EXPECT_NE(r.reason.find("step 1 was refused"), std::string::npos) << describe(r);
    // The likely cause comes with the error: the JS remembers the first run.
    EXPECT_NE(r.reason.find("likely cause: the JS refused a DevNonce it has seen before"), std::string::npos)
        << describe(r);
    EXPECT_NE(r.reason.find("--state FILE"), std::string::npos) << describe(r);
  }
}

// The step's own check, refused as a replay, fails with the same explanation.
TEST(NoFalseGreen, ASuccessStepRefusedAsAReplaySaysWhyFirst) {
  EmbeddedTarget target;
  RunOptions o = options_for(target, {"join/success-1.0.4"});
  ASSERT_EQ(run_scenarios(o).exit_code(true), exit_ok);
  const RunReport again = run_scenarios(o);
  const CheckResult& r = result_of(again, "join/success-1.0.4");
  EXPECT_EQ(r.verdict, Verdict::fail) << describe(r);
  EXPECT_NE(r.reason.find("likely cause"), std::string::npos) << describe(r);

  // A refusal for another reason gets no such hint.
  EmbeddedTargetOptions eo;
  sim::add_fault(eo.faults, "bad-accept-mic");
  EmbeddedTarget faulty(eo);
  const RunReport bad = run_scenarios(options_for(faulty, {"join/success-1.0.4"}));
  const CheckResult& b = result_of(bad, "join/success-1.0.4");
  EXPECT_EQ(b.verdict, Verdict::fail) << describe(b);
  EXPECT_EQ(b.reason.find("likely cause"), std::string::npos) << describe(b);
}

// A JS slower than the deadline: three misses in a row stop the run, the rest is `error` with
// the reason, and the run fails (exit 1, not 3: the target was reached).
TEST(NoFalseGreen, RepeatedDeadlineMissesStopTheRunWithTheReason) {
  EmbeddedTargetOptions eo;
  sim::add_fault(eo.faults, "slow-answer=400");
  EmbeddedTarget target(eo);
  RunOptions o = options_for(target);
  o.target.ns.timeout = std::chrono::milliseconds(100);
  const auto t0 = std::chrono::steady_clock::now();
  const RunReport report = run_scenarios(o);
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  EXPECT_NE(report.stopped_early.find("missed the 100 ms deadline of 3 exchanges in a row"), std::string::npos)
      << report.stopped_early;
  EXPECT_TRUE(report.setup_error.empty()) << report.setup_error;
  EXPECT_EQ(report.exit_code(false), exit_failed);
  EXPECT_EQ(report.counts().pass, 0u) << failures(report);
  EXPECT_GT(report.counts().error, 50u) << failures(report);
  // Three exchanges of 100 ms, not ~60 of them.
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  const CheckResult& r = result_of(report, "devnonce/replay-1.1");
  EXPECT_EQ(r.verdict, Verdict::error) << describe(r);
  EXPECT_NE(r.reason.find("missed the 100 ms deadline"), std::string::npos) << describe(r);

  // One slow answer is not a pattern: the run goes on and judges the rest.
  EmbeddedTargetOptions once;
  EmbeddedTarget fast(once);
  RunOptions ok = options_for(fast);
  ok.target.ns.timeout = std::chrono::milliseconds(2000);
  const RunReport fine = run_scenarios(ok);
  EXPECT_TRUE(fine.stopped_early.empty()) << fine.stopped_early;
  EXPECT_EQ(fine.exit_code(true), exit_ok) << failures(fine);
}

// Every selected check skipped (TLS checks against an http target): nothing was tested.
TEST(NoFalseGreen, ARunThatJudgedNothingDoesNotPass) {
  EmbeddedTarget target;
  const RunReport report = run_scenarios(options_for(target, {"tls"}));
  ASSERT_GT(report.results.size(), 0u);
  EXPECT_EQ(report.counts().skip, report.results.size()) << failures(report);
  EXPECT_TRUE(report.nothing_judged());
  EXPECT_EQ(report.exit_code(false), exit_failed);

  EmbeddedTarget fresh;  // the run above joined every device already
  const RunReport judged = run_scenarios(options_for(fresh, {"join/success-1.1"}));
  EXPECT_FALSE(judged.nothing_judged());
  EXPECT_EQ(judged.exit_code(true), exit_ok) << failures(judged);
}

// `--only devnonce --skip devnonce` selects nothing: a run of no check tested nothing either.
TEST(NoFalseGreen, ARunThatSelectedNoCheckDoesNotPass) {
  EmbeddedTarget target;
  RunOptions o = options_for(target, {"devnonce"});
  o.skip = {"devnonce"};
  const RunReport report = run_scenarios(o);
  EXPECT_TRUE(report.results.empty());
  EXPECT_TRUE(report.nothing_judged());
  EXPECT_EQ(report.exit_code(false), exit_failed);
}

// A fleet of one MAC version still runs the scenarios that need "any device" (malformed
// bodies, header edits, unknown senders): only version-specific checks are skipped.
TEST(NoFalseGreen, ScenariosNeedingAnyDeviceRunOnASingleVersionFleet) {
  EmbeddedTargetOptions eo;
  eo.fleet = sim::generate_fleet(3, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_1, 5);
  EmbeddedTarget target(eo);
  const RunReport report = run_scenarios(options_for(target));
  EXPECT_EQ(report.counts().fail, 0u) << failures(report);
  EXPECT_EQ(report.counts().error, 0u) << failures(report);
  for (const char* id : {"join/unknown-sender", "join/unknown-receiver", "homens/answer", "malformed/bad-hex",
                         "malformed/missing-field", "hygiene/hex-0x", "protocol/unsupported-version",
                         "header/transaction-id-zero", "http/request-charset"}) {
    EXPECT_EQ(result_of(report, id).verdict, Verdict::pass) << describe(result_of(report, id));
  }
  // A 1.0.3-only check has nothing to run on, and says so.
  const CheckResult& old = result_of(report, "devnonce/replay-1.0");
  EXPECT_EQ(old.verdict, Verdict::skip) << describe(old);
  EXPECT_NE(old.reason.find("LoRaWAN 1.0.3"), std::string::npos) << describe(old);
}

// "any" takes the fleet's devices in a fixed order of versions: 1.0.3 first when there is one,
// so a mixed fleet judges these checks exactly as before.
TEST(NoFalseGreen, AnyDevicePrefersLoRaWAN103) {
  EmbeddedTarget target;  // 1.0.2, 1.0.3, 1.0.4 and 1.1 devices
  const RunReport report = run_scenarios(options_for(target, {"join/unknown-sender"}));
  const CheckResult& r = result_of(report, "join/unknown-sender");
  ASSERT_EQ(r.verdict, Verdict::pass) << describe(r);
  ASSERT_FALSE(r.trace.empty());
  std::string dev_eui_103;
  for (const auto& d : target.fleet().devices) {
    if (d.mac_version == lorawan::MacVersion::v1_0_3) {
      dev_eui_103 = d.dev_eui.hex();
      break;
    }
  }
  EXPECT_NE(report.exchanges.at(r.trace.front()).request_body.find(dev_eui_103), std::string::npos);
}

TEST(NoFalseGreen, AnyIsRefusedForAnUnknownDevice) {
  const std::string text = R"({"id": "custom/x", "title": "t", "level": "MUST", "spec": "TS002 1.0 §6.1",
    "devices": {"who": {"MACVersion": "any", "unknown": true}},
    "steps": [{"send": "join", "device": "who", "expect": "UnknownDevEUI"}]})";
  Catalog catalog = Catalog::builtin();
  try {
    (void)parse_scenarios(text, "custom.json", catalog);
    FAIL() << "an unknown device of any MAC version was accepted";
  } catch (const ScenarioError& e) {
    EXPECT_NE(std::string(e.what()).find("devices.who.MACVersion"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace joincheck::conformance
