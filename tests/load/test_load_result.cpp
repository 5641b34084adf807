// Load results: merged exactly, judged without false green, and read back from their JSON with
// errors that name the place.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "load/load_result.hpp"

namespace {

using namespace joincheck::load;

LoadResult part(std::uint64_t ok, std::uint64_t errors, std::uint64_t base_latency, std::size_t seconds,
                const std::string& shard) {
  LoadResult r;
  r.settings = {{"mode", "closed"}, {"connections", 4}};
  r.processes = nlohmann::ordered_json::array({{{"shard", shard}}});
  r.elapsed_s = static_cast<double>(seconds);
  r.sent = ok + errors;
  r.ok = ok;
  r.errors = errors;
  if (errors > 0) r.error_classes["result UnknownDevEUI"] = ErrorClass{errors, "UnknownDevEUI (device unknown)"};
  r.series.resize(seconds);
  for (std::uint64_t i = 0; i < ok + errors; ++i) {
    const std::uint64_t latency = base_latency + i % 1000;
    r.latency.record(latency);
    SecondSample& s = r.series[i % seconds];
    s.latency.record(latency);
    ++s.sent;
    if (i < ok) ++s.ok; else ++s.errors;
  }
  r.devices = 10;
  r.warnings["accept/cflist"] = 2;
  r.requests["JoinReq"] = RequestCount{ok + errors, ok};
  return r;
}

TEST(LoadResult, MergeAddsEverythingExactly) {
  const LoadResult a = part(1000, 5, 1000, 3, "1/2");
  const LoadResult b = part(2000, 0, 50'000, 5, "2/2");
  LoadResult merged;
  merge(merged, a);
  merge(merged, b);
  EXPECT_EQ(merged.sent, a.sent + b.sent);
  EXPECT_EQ(merged.ok, 3000u);
  EXPECT_EQ(merged.errors, 5u);
  EXPECT_EQ(merged.error_classes.at("result UnknownDevEUI").count, 5u);
  EXPECT_EQ(merged.warnings.at("accept/cflist"), 4u);
  EXPECT_EQ(merged.processes.size(), 2u);
  EXPECT_DOUBLE_EQ(merged.elapsed_s, 5);
  ASSERT_EQ(merged.series.size(), 5u);
  EXPECT_EQ(merged.series[0].sent, a.series[0].sent + b.series[0].sent);
  EXPECT_EQ(merged.series[4].sent, b.series[4].sent);
  // The histogram is the one of all samples.
  LatencyHistogram all = a.latency;
  all.merge(b.latency);
  EXPECT_EQ(merged.latency, all);
  EXPECT_EQ(merged.latency.count(), merged.sent);
  // Order does not matter.
  LoadResult other;
  merge(other, b);
  merge(other, a);
  EXPECT_EQ(other.latency, merged.latency);
  EXPECT_EQ(other.ok, merged.ok);
}

TEST(LoadResult, MergingRunsOfDifferentModesIsRefused) {
  LoadResult a = part(10, 0, 100, 1, "1/2");
  LoadResult b = part(10, 0, 100, 1, "2/2");
  b.settings["mode"] = "open";
  LoadResult merged;
  merge(merged, a);
  EXPECT_THROW(merge(merged, b), std::invalid_argument);
  EXPECT_EQ(merged.ok, 10u);  // unchanged
}

TEST(LoadResult, TheSameShardTwiceOrShardsOfDifferentSplitsAreRefused) {
  LoadResult merged;
  merge(merged, part(10, 0, 100, 1, "1/2"));
  EXPECT_THROW(merge(merged, part(10, 0, 100, 1, "1/2")), std::invalid_argument);
  EXPECT_THROW(merge(merged, part(10, 0, 100, 1, "2/3")), std::invalid_argument);
  EXPECT_EQ(merged.ok, 10u);
  merge(merged, part(10, 0, 100, 1, "2/2"));
  EXPECT_EQ(merged.ok, 20u);
}

TEST(LoadResult, WithoutAssertionsErrorsFailTheRun) {
  const auto outcomes = judge(part(100, 1, 100, 1, "1/1"), {});
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].implicit);
  EXPECT_FALSE(outcomes[0].passed);
  EXPECT_EQ(outcomes[0].assertion.text, "errors=0");
  EXPECT_TRUE(judge(part(100, 0, 100, 1, "1/1"), {})[0].passed);
}

TEST(LoadResult, ARunThatVerifiedNothingNeverPasses) {
  LoadResult nothing;
  nothing.settings = {{"mode", "closed"}};
  const auto outcomes = judge(nothing, {parse_assertion("errors=0")});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].passed);  // no error indeed...
  EXPECT_FALSE(outcomes[1].passed);  // ...but nothing verified
  EXPECT_EQ(outcomes[1].assertion.text, "ok>0");
  // A latency asked of a run without answers is not met.
  const auto latency = judge(nothing, {parse_assertion("p99<=50ms")});
  EXPECT_FALSE(latency[0].passed);
  EXPECT_NE(latency[0].message.find("nothing measured"), std::string::npos);
}

TEST(LoadResult, ARunCutShortByTheHarnessNeverPasses) {
  LoadResult r = part(100, 0, 100, 1, "1/1");
  r.setup_error = "internal error of the harness: something";
  const auto outcomes = judge(r, {});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].passed);
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_EQ(outcomes[1].message, r.setup_error);
}

TEST(LoadResult, AnAssertionOfLatencyDoesNotExcuseErrors) {
  const LoadResult r = part(100, 5, 100, 1, "1/1");  // 5 wrong answers among fast ones
  const auto outcomes = judge(r, {parse_assertion("p99<=50ms")});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].passed);
  EXPECT_EQ(outcomes[1].assertion.text, "errors=0");
  EXPECT_TRUE(outcomes[1].implicit);
  EXPECT_FALSE(outcomes[1].passed);
  // Saying how many errors are fine replaces the default.
  const auto tolerant = judge(r, {parse_assertion("error_rate<=5%")});
  ASSERT_EQ(tolerant.size(), 1u);
  EXPECT_TRUE(tolerant[0].passed) << tolerant[0].message;
}

TEST(LoadResult, AnInterruptedRunNeverPasses) {
  LoadResult r = part(100, 0, 100, 1, "1/1");
  r.stopped = "interrupted (Ctrl-C)";
  const auto outcomes = judge(r, {});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_NE(outcomes[1].message.find("interrupted"), std::string::npos);
}

TEST(LoadResult, MissingShardsAreNamed) {
  LoadResult merged;
  merge(merged, part(10, 0, 100, 1, "1/3"));
  merge(merged, part(10, 0, 100, 1, "3/3"));
  EXPECT_EQ(missing_shards(merged), "shard(s) 2/3 missing");
  merge(merged, part(10, 0, 100, 1, "2/3"));
  EXPECT_EQ(missing_shards(merged), "");
  EXPECT_EQ(missing_shards(part(10, 0, 100, 1, "1/1")), "");
  const LoadResult none;
  EXPECT_EQ(missing_shards(none), "no process");
}

TEST(LoadResult, StormsJudgedByDifferentWindowsAreNotMerged) {
  LoadResult a = part(10, 0, 100, 1, "1/2");
  LoadResult b = part(10, 0, 100, 1, "2/2");
  a.storm = StormOutcome{10, 1'000'000, 5'000'000, 6'000'000, 10, 10, 10};
  b.storm = StormOutcome{10, 1'000'000, 4'000'000, 6'000'000, 10, 10, 10};
  LoadResult merged;
  merge(merged, a);
  EXPECT_THROW(merge(merged, b), std::invalid_argument);
  EXPECT_EQ(merged.storm->devices, 10u);
}

TEST(LoadResult, AssertionsAreJudgedOnTheMeasuredValues) {
  const LoadResult r = part(1000, 0, 10'000, 2, "1/1");  // latencies 10.000 .. 10.999 ms
  const auto outcomes = judge(r, {parse_assertion("p99<=11ms"), parse_assertion("p50<=5ms"),
                                  parse_assertion("rate>=400"), parse_assertion("rx1>=99%")});
  EXPECT_TRUE(outcomes[0].passed) << outcomes[0].message;
  EXPECT_FALSE(outcomes[1].passed) << outcomes[1].message;
  EXPECT_TRUE(outcomes[2].passed) << outcomes[2].message;  // 1000 in 2 s
  EXPECT_FALSE(outcomes[3].passed);  // not a storm
  EXPECT_NE(outcomes[3].message.find("--storm"), std::string::npos);
}

// --mix: requests of each kind add up in a merge; a kind asked for that was never verified fails
// the run, whatever else passed (the JS was not tested on what was asked).
TEST(LoadResult, RequestKindsMergeAndAKindNeverVerifiedFailsTheRun) {
  LoadResult a = part(90, 0, 1000, 2, "1/2");
  a.requests["JoinReq"] = RequestCount{80, 80};
  a.requests["RejoinReq type 0"] = RequestCount{10, 10, 0.1};
  LoadResult b = part(45, 0, 1000, 2, "2/2");
  b.requests["JoinReq"] = RequestCount{40, 40};
  b.requests["RejoinReq type 0"] = RequestCount{5, 5, 0.1};
  b.requests["RejoinReq type 1"] = RequestCount{0, 0, 0.05};  // asked, none could be sent
  LoadResult merged;
  merge(merged, a);
  merge(merged, b);
  EXPECT_EQ(merged.requests.at("JoinReq"), (RequestCount{120, 120}));
  EXPECT_EQ(merged.requests.at("RejoinReq type 0"), (RequestCount{15, 15, 0.1}));
  const auto outcomes = judge(merged, {});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_TRUE(outcomes[0].passed);  // errors=0
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_EQ(outcomes[1].assertion.text, "RejoinReq type 1 verified");
  EXPECT_NE(outcomes[1].message.find("no device could send one"), std::string::npos) << outcomes[1].message;
  // Once enough are verified, the run passes.
  merged.requests["RejoinReq type 1"] = RequestCount{6, 6, 0.05};
  for (const auto& o : judge(merged, {})) EXPECT_TRUE(o.passed) << o.message;
  // Sent but never verified (the JS refuses RejoinReqs): also a failure, with the count sent.
  merged.requests["RejoinReq type 1"] = RequestCount{3, 0, 0.05};
  const auto refused = judge(merged, {parse_assertion("errors<=3")});
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_FALSE(refused[1].passed);
  EXPECT_NE(refused[1].message.find("(3 sent)"), std::string::npos) << refused[1].message;
}

// --mix asked for more than the run could send (few LoRaWAN 1.1 devices, all busy): fewer than
// half the share asked fails, saying both shares; a share that owes less than one request says so.
TEST(LoadResult, AKindFarBelowItsShareFailsTheRun) {
  LoadResult r = part(1000, 0, 1000, 2, "1/1");
  r.requests["JoinReq"] = RequestCount{990, 990};
  r.requests["RejoinReq type 0"] = RequestCount{10, 10, 0.5};
  auto outcomes = judge(r, {});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_FALSE(outcomes[1].passed);
  EXPECT_EQ(outcomes[1].assertion.text, "RejoinReq type 0 share");
  EXPECT_NE(outcomes[1].message.find("RejoinReq type 0 were 1% of the requests, 50% asked"), std::string::npos)
      << outcomes[1].message;
  r.requests["JoinReq"] = RequestCount{700, 700};
  r.requests["RejoinReq type 0"] = RequestCount{300, 300, 0.5};  // 30%: short of 50%, more than half of it
  for (const auto& o : judge(r, {})) EXPECT_TRUE(o.passed) << o.message;

  LoadResult few = part(100, 0, 1000, 2, "1/1");
  few.requests["JoinReq"] = RequestCount{100, 100};
  few.requests["RejoinReq type 2"] = RequestCount{0, 0, 0.005};
  outcomes = judge(few, {});
  ASSERT_EQ(outcomes.size(), 2u);
  EXPECT_NE(outcomes[1].message.find("0.5% of 100 requests is less than one"), std::string::npos) << outcomes[1].message;
}

TEST(LoadResult, AReportWithoutRequestKindsIsReadAsJoinReqsOnly) {
  const LoadResult r = part(50, 1, 2000, 2, "1/1");
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(to_json(r, judge(r, {})).dump());
  j.erase("requests");
  const LoadResult back = load_result_from_json(j, "old.json");
  EXPECT_EQ(back.requests.at("JoinReq"), (RequestCount{51, 50}));
}

TEST(LoadResult, JsonRoundTrip) {
  LoadResult r = part(500, 3, 2000, 3, "1/1");
  r.storm = StormOutcome{100, 30'000'000, 5'000'000, 6'000'000, 98, 97, 98};
  r.stopped = "interrupted (Ctrl-C)";
  const auto outcomes = judge(r, {parse_assertion("p99<=50ms")});
  const nlohmann::ordered_json j = to_json(r, outcomes);
  const nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(j.dump());
  const LoadResult back = load_result_from_json(parsed, "shard.json");
  EXPECT_EQ(back, r);
  const auto asserts = assertions_from_json(parsed, "shard.json");
  ASSERT_EQ(asserts.size(), 1u);
  EXPECT_EQ(asserts[0].text, "p99<=50ms");
}

TEST(LoadResult, MalformedJsonIsRefusedWithItsPlace) {
  const LoadResult r = part(50, 1, 2000, 2, "1/1");
  const nlohmann::ordered_json good = nlohmann::ordered_json::parse(to_json(r, judge(r, {})).dump());
  const auto error_of = [](const nlohmann::ordered_json& j) {
    try {
      (void)load_result_from_json(j, "s.json");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  nlohmann::ordered_json j = good;
  j["command"] = "run";
  EXPECT_NE(error_of(j).find("s.json.command: expected \"load\""), std::string::npos) << error_of(j);
  j = good;
  j["totals"]["ok"] = -1;
  EXPECT_NE(error_of(j).find("s.json.totals.ok"), std::string::npos) << error_of(j);
  j = good;
  j["totals"]["errors"] = 7;  // not the sum of the classes
  EXPECT_NE(error_of(j).find("sum of the error classes"), std::string::npos) << error_of(j);
  j = good;
  j["series"][1]["second"] = 5;
  EXPECT_NE(error_of(j).find("s.json.series[1].second"), std::string::npos) << error_of(j);
  j = good;
  j["latency"]["count"] = 1;
  EXPECT_NE(error_of(j).find("s.json.latency.count"), std::string::npos) << error_of(j);
  j = good;
  j["latency"]["histogram"]["buckets"] = "none";
  EXPECT_NE(error_of(j).find("s.json.latency.histogram"), std::string::npos) << error_of(j);
  j = good;
  j["requests"]["JoinReq"]["sent"] = 70;  // not the total
  EXPECT_NE(error_of(j).find("sum of requests"), std::string::npos) << error_of(j);
  j = good;
  j["requests"]["JoinReq"]["ok"] = 1000;  // more than sent
  EXPECT_NE(error_of(j).find("s.json.requests.JoinReq.ok: expected at most sent"), std::string::npos) << error_of(j);
  j = good;
  j.erase("settings");
  EXPECT_NE(error_of(j).find("settings"), std::string::npos) << error_of(j);
  EXPECT_EQ(error_of(good), "no error");
}

}  // namespace
