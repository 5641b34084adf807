// Runs against one Join Server merged into one report (conformance/report_merge.hpp): each check
// takes its worst verdict with the run that decided it, counts add, trace indices follow the
// exchanges they point at, checks stay in catalog order; runs of another target, profile or
// ProtocolVersion are refused; a run that could not judge keeps the merged report from passing.
// Then real runs of the embedded reference JS: two halves of the suite merge to a pass, and a
// half against a faulty JS makes the merged report fail.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conformance/report_merge.hpp"
#include "report_support.hpp"

namespace joincheck::conformance {
namespace {

using namespace std::chrono_literals;
using test_support::embedded_run;
using test_support::failures;
using test_support::result_of;

TraceExchange exchange(const std::string& label) {
  TraceExchange e;
  e.label = label;
  e.url = "http://js.example:8443/";
  e.http_status = 200;
  e.elapsed_ms = 5;
  return e;
}

CheckResult check(const std::string& id, Verdict verdict, std::vector<std::size_t> trace, std::size_t evaluations,
                  std::size_t failed = 0) {
  CheckResult r;
  r.check = Catalog::builtin().at(id);
  r.verdict = verdict;
  r.expected = "expected by " + id;
  r.actual = std::string(to_string(verdict)) + " seen";
  r.reason = std::string(to_string(verdict)) + " reason";
  r.scenario = id + " step 1";
  r.trace = std::move(trace);
  r.evaluations = evaluations;
  r.failed_evaluations = failed;
  return r;
}

RunReport run(const std::string& started_at, std::chrono::milliseconds duration) {
  RunReport r;
  r.target = "https://js.example:8443/";
  r.profile = "strict";
  r.protocol_version = "1.0";
  r.mac_versions = {"1.0.3"};
  r.started_at = started_at;
  r.duration = duration;
  return r;
}

// Run A: devnonce and the header checks on its 3 exchanges; run B: join, and the header checks
// again (one of them failing there) on its 2.
std::vector<NamedRunReport> two_runs() {
  RunReport a = run("2026-03-02T10:00:05Z", 1500ms);
  a.exchanges = {exchange("a0"), exchange("a1"), exchange("a2")};
  a.results = {check("header/message-type", Verdict::pass, {}, 3),
               check("header/transaction-id-echo", Verdict::pass, {}, 3),
               check("devnonce/replay-1.0.4", Verdict::pass, {}, 1)};
  a.results[2].trace = {2};
  RunReport b = run("2026-03-02T09:59:58Z", 2500ms);
  b.mac_versions = {"1.1", "1.0.3"};
  b.exchanges = {exchange("b0"), exchange("b1")};
  b.results = {check("header/message-type", Verdict::pass, {}, 2),
               check("header/transaction-id-echo", Verdict::fail, {1, 0}, 2, 1),
               check("join/success-1.1", Verdict::pass, {0}, 1)};
  return {{"a.json", a}, {"b.json", b}};
}

std::string error_of(const std::vector<NamedRunReport>& runs) {
  try {
    (void)merge_runs(runs);
  } catch (const RunMergeError& e) {
    return e.what();
  }
  return "no error";
}

TEST(ReportMerge, WorstVerdictDecidesWithItsRunsDetailAndCountsAdd) {
  const RunReport m = merge_runs(two_runs());
  ASSERT_EQ(m.results.size(), 4u);
  const CheckResult& echo = result_of(m, "header/transaction-id-echo");
  EXPECT_EQ(echo.verdict, Verdict::fail);
  EXPECT_EQ(echo.expected, "expected by header/transaction-id-echo");
  EXPECT_EQ(echo.actual, "fail seen");
  EXPECT_EQ(echo.reason, "fail reason");
  EXPECT_EQ(echo.evaluations, 5u);
  EXPECT_EQ(echo.failed_evaluations, 1u);
  const CheckResult& type = result_of(m, "header/message-type");
  EXPECT_EQ(type.verdict, Verdict::pass);
  EXPECT_EQ(type.evaluations, 5u);
  const RunCounts c = m.counts();
  EXPECT_EQ(c.pass, 3u);
  EXPECT_EQ(c.fail, 1u);
  EXPECT_EQ(m.exit_code(false), exit_failed);
}

TEST(ReportMerge, TraceIndicesFollowTheirExchanges) {
  const RunReport m = merge_runs(two_runs());
  ASSERT_EQ(m.exchanges.size(), 5u);
  EXPECT_EQ(m.exchanges[3].label, "b0");
  // B's trace {1, 0} is now {4, 3}: the same exchanges b1 and b0.
  EXPECT_EQ(result_of(m, "header/transaction-id-echo").trace, (std::vector<std::size_t>{4, 3}));
  EXPECT_EQ(m.exchanges[4].label, "b1");
  EXPECT_EQ(result_of(m, "join/success-1.1").trace, std::vector<std::size_t>{3});
  EXPECT_EQ(result_of(m, "devnonce/replay-1.0.4").trace, std::vector<std::size_t>{2});
}

TEST(ReportMerge, TheDecidingRunsTraceComesFirstThenTheOthersInRunOrder) {
  std::vector<NamedRunReport> runs = two_runs();
  runs[0].report.results[1] = check("header/transaction-id-echo", Verdict::warn, {0, 1}, 3);
  runs[1].report.results[1] = check("header/transaction-id-echo", Verdict::pass, {1}, 2);
  const RunReport a_decides = merge_runs(runs);
  const CheckResult& warn = result_of(a_decides, "header/transaction-id-echo");
  EXPECT_EQ(warn.verdict, Verdict::warn);
  EXPECT_EQ(warn.trace, (std::vector<std::size_t>{0, 1, 4}));  // A decides: its trace, then B's
  runs[1].report.results[1] = check("header/transaction-id-echo", Verdict::error, {1}, 2, 2);
  const RunReport b_decides = merge_runs(runs);
  const CheckResult& error = result_of(b_decides, "header/transaction-id-echo");
  EXPECT_EQ(error.verdict, Verdict::error);
  EXPECT_EQ(error.reason, "error reason");
  EXPECT_EQ(error.trace, (std::vector<std::size_t>{4, 0, 1}));  // B decides: its trace first
  // On a tie the earlier run's detail stays.
  runs[1].report.results[1] = check("header/transaction-id-echo", Verdict::warn, {1}, 2);
  runs[1].report.results[1].reason = "B's warning";
  const RunReport tie = merge_runs(runs);
  EXPECT_EQ(result_of(tie, "header/transaction-id-echo").reason, "warn reason");
}

TEST(ReportMerge, SkipGivesWayToAJudgedVerdict) {
  std::vector<NamedRunReport> runs = two_runs();
  runs[0].report.results[2] = check("devnonce/replay-1.0.4", Verdict::skip, {}, 0);
  runs[1].report.results.push_back(check("devnonce/replay-1.0.4", Verdict::pass, {1}, 1));
  const RunReport m = merge_runs(runs);
  const CheckResult& r = result_of(m, "devnonce/replay-1.0.4");
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_EQ(r.trace, std::vector<std::size_t>{4});
}

TEST(ReportMerge, ChecksInCatalogOrderAndTheRunsFieldsCombined) {
  const RunReport m = merge_runs(two_runs());
  std::vector<std::string> ids;
  for (const auto& r : m.results) ids.push_back(r.check.id);
  // The built-in catalog's order: header, then join, then devnonce.
  std::vector<std::string> expected;
  for (const auto& c : Catalog::builtin().checks()) {
    for (const auto& id : ids) {
      if (id == c.id) expected.push_back(id);
    }
  }
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(ids.front(), "header/message-type");
  EXPECT_EQ(m.mac_versions, (std::vector<std::string>{"1.0.3", "1.1"}));
  EXPECT_EQ(m.started_at, "2026-03-02T09:59:58Z");
  EXPECT_EQ(m.duration, 4000ms);
  EXPECT_EQ(m.target, "https://js.example:8443/");
  EXPECT_EQ(m.profile, "strict");
  EXPECT_EQ(m.protocol_version, "1.0");
  EXPECT_TRUE(m.setup_error.empty());
  EXPECT_TRUE(m.stopped_early.empty());
}

TEST(ReportMerge, ACustomCheckKeepsItsPlaceAfterTheBuiltinOnes) {
  std::vector<NamedRunReport> runs = two_runs();
  CheckResult custom;
  custom.check = CheckInfo{"acme/rejoin-limit", Level::should, "ACME's rejoin limit", "acme.md"};
  custom.verdict = Verdict::pass;
  custom.evaluations = 1;
  runs[0].report.results.insert(runs[0].report.results.begin(), custom);
  const RunReport m = merge_runs(runs);
  EXPECT_EQ(m.results.back().check.id, "acme/rejoin-limit");
  // The same custom check defined otherwise in another run is not the same check.
  custom.check.level = Level::must;
  runs[1].report.results.push_back(custom);
  EXPECT_EQ(error_of(runs),
            "b.json: check acme/rejoin-limit is MUST \"ACME's rejoin limit\" (\"acme.md\"), but a.json: SHOULD "
            "\"ACME's rejoin limit\" (\"acme.md\"): reports of different joincheck versions or scenario files "
            "judge it differently");
}

TEST(ReportMerge, RefusesRunsOfAnotherTargetProfileOrProtocolVersion) {
  std::vector<NamedRunReport> runs = two_runs();
  runs[1].report.target = "https://other-js.example/";
  EXPECT_EQ(error_of(runs),
            "b.json: target \"https://other-js.example/\", but a.json: \"https://js.example:8443/\": the runs of one "
            "report test one Join Server");
  runs = two_runs();
  runs[1].report.profile = "tts";
  EXPECT_EQ(error_of(runs),
            "b.json: profile \"tts\", but a.json: \"strict\": the runs of one report are judged by one profile "
            "(--profile)");
  runs = two_runs();
  runs[1].report.protocol_version = "1.1";
  EXPECT_EQ(error_of(runs),
            "b.json: protocol_version \"1.1\", but a.json: \"1.0\": the runs of one report speak one TS002 "
            "ProtocolVersion");
  EXPECT_EQ(error_of({}), "no report to merge");
}

TEST(ReportMerge, RefusesTheSameReportTwice) {
  std::vector<NamedRunReport> runs = two_runs();
  runs.push_back({"a-again.json", runs[0].report});
  EXPECT_EQ(error_of(runs), "a-again.json is the same report as a.json: merge each run once (its checks would count twice)");
}

TEST(ReportMerge, TheEmbeddedJsIsOneTargetWhateverItsPort) {
  std::vector<NamedRunReport> runs = two_runs();
  runs[0].report.target = "embedded reference JS (http://127.0.0.1:40001)";
  runs[1].report.target = "embedded reference JS (http://127.0.0.1:40002)";
  EXPECT_EQ(merge_runs(runs).target, "embedded reference JS");
  runs[1].report.target = runs[0].report.target;
  EXPECT_EQ(merge_runs(runs).target, "embedded reference JS (http://127.0.0.1:40001)");
  runs[1].report.target = "http://127.0.0.1:40001";
  EXPECT_NE(error_of(runs), "no error");
}

TEST(ReportMerge, ARunThatCouldNotJudgeKeepsTheMergeFromPassing) {
  std::vector<NamedRunReport> runs = two_runs();
  runs[1].report.results[1] = check("header/transaction-id-echo", Verdict::pass, {}, 2);
  ASSERT_EQ(merge_runs(runs).exit_code(true), exit_ok);

  // B could not reach the JS: its checks are `error`, and the merge says which run.
  std::vector<NamedRunReport> down = runs;
  down[1].report.setup_error = "cannot reach https://js.example:8443/: connection refused";
  down[1].report.exchanges.clear();
  for (auto& r : down[1].report.results) {
    r = check(r.check.id, Verdict::error, {}, 1, 1);
  }
  const RunReport m = merge_runs(down);
  EXPECT_EQ(m.setup_error, "b.json: cannot reach https://js.example:8443/: connection refused");
  EXPECT_EQ(result_of(m, "header/message-type").verdict, Verdict::error);  // passed in A only
  EXPECT_EQ(result_of(m, "devnonce/replay-1.0.4").verdict, Verdict::pass);
  EXPECT_EQ(m.exit_code(false), exit_unreachable);

  // Both stopped early (every check they had reached judged): exit 1, each reason with its run.
  std::vector<NamedRunReport> stopped = runs;
  stopped[0].report.stopped_early = "the target missed 3 deadlines";
  stopped[1].report.stopped_early = "the target missed 4 deadlines";
  const RunReport s = merge_runs(stopped);
  EXPECT_EQ(s.stopped_early, "a.json: the target missed 3 deadlines; b.json: the target missed 4 deadlines");
  EXPECT_EQ(s.exit_code(false), exit_failed);
}

TEST(ReportMerge, NothingJudgedInAnyRunIsNoPass) {
  std::vector<NamedRunReport> runs = two_runs();
  for (auto& run : runs) {
    for (auto& r : run.report.results) r = check(r.check.id, Verdict::skip, {}, 0);
  }
  const RunReport m = merge_runs(runs);
  EXPECT_TRUE(m.nothing_judged());
  EXPECT_EQ(m.exit_code(false), exit_failed);
  // A warning passes unless strict, as in a run.
  runs[0].report.results[0] = check("header/message-type", Verdict::warn, {}, 1);
  EXPECT_EQ(merge_runs(runs).exit_code(false), exit_ok);
  EXPECT_EQ(merge_runs(runs).exit_code(true), exit_failed);
}

// --- real runs of the embedded reference JS ---------------------------------------------------

TEST(ReportMerge, TwoHalvesOfTheSuiteMergeToTheWhole) {
  const RunReport devnonce = embedded_run({"devnonce"});
  const RunReport kek = embedded_run({"kek"});
  ASSERT_EQ(devnonce.exit_code(false), exit_ok) << failures(devnonce);
  ASSERT_EQ(kek.exit_code(false), exit_ok) << failures(kek);
  const RunReport m = merge_runs({{"devnonce.json", devnonce}, {"kek.json", kek}});
  EXPECT_EQ(m.results.size(), devnonce.results.size() + kek.results.size());
  EXPECT_EQ(m.exchanges.size(), devnonce.exchanges.size() + kek.exchanges.size());
  EXPECT_EQ(m.counts().pass, devnonce.counts().pass + kek.counts().pass);
  EXPECT_EQ(result_of(m, "kek/unwrap").verdict, result_of(kek, "kek/unwrap").verdict);
  for (const auto& r : m.results) {
    for (const std::size_t i : r.trace) ASSERT_LT(i, m.exchanges.size()) << r.check.id;
  }
  // A kek/ check's trace points at the same exchange as in its own run.
  const CheckResult& unwrap = result_of(kek, "kek/unwrap");
  ASSERT_FALSE(unwrap.trace.empty());
  EXPECT_TRUE(m.exchanges[result_of(m, "kek/unwrap").trace.front()] == kek.exchanges[unwrap.trace.front()]);
  EXPECT_EQ(m.exit_code(true), exit_ok) << failures(m);
  // One run merged alone is itself.
  RunReport alone = merge_runs({{"kek.json", kek}});
  EXPECT_TRUE(alone == kek);
}

TEST(ReportMerge, AHalfAgainstAFaultyJsFailsTheMerge) {
  const RunReport good = embedded_run({"devnonce"});
  const RunReport bad = embedded_run({"join"}, "bad-accept-mic");
  ASSERT_EQ(bad.exit_code(false), exit_failed);
  const RunReport m = merge_runs({{"good.json", good}, {"bad.json", bad}});
  EXPECT_EQ(m.exit_code(false), exit_failed);
  EXPECT_EQ(m.counts().fail, bad.counts().fail);
  for (const auto& r : bad.results) {
    EXPECT_EQ(result_of(m, r.check.id).verdict, r.verdict) << r.check.id;
  }
}

}  // namespace
}  // namespace joincheck::conformance
