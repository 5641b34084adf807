// The load generator against the embedded reference JS: a correct JS gives verified joins and no
// error; a JS that sends wrong keys, refuses devices or stalls is charged for it, each error in
// its class; DevNonces continue across runs with the state and never collide across shards.
#include <gtest/gtest.h>

#include <string>

#include "conformance/embedded_target.hpp"
#include "load/load_run.hpp"
#include "sim/join_server/faults.hpp"

namespace {

using namespace joincheck;
using namespace std::chrono_literals;
using load::LoadMode;
using load::LoadOptions;
using load::LoadResult;

std::unique_ptr<conformance::EmbeddedTarget> embedded(std::size_t per_version, std::vector<std::string> faults = {},
                                                      sim::Behaviour behaviour = sim::Behaviour::strict) {
  conformance::EmbeddedTargetOptions eo;
  eo.devices_per_version = per_version;
  eo.behaviour = behaviour;
  for (const auto& f : faults) sim::add_fault(eo.faults, f);
  return std::make_unique<conformance::EmbeddedTarget>(eo);
}

LoadOptions options_for(const conformance::EmbeddedTarget& js, LoadMode mode, std::size_t connections) {
  LoadOptions o;
  o.target = js.target();
  o.fleet = js.fleet();
  o.mode = mode;
  o.connections = connections;
  o.duration = 400ms;
  return o;
}

std::string classes(const LoadResult& r) {
  std::string out;
  for (const auto& [name, e] : r.error_classes) out += name + " x" + std::to_string(e.count) + ": " + e.example + "\n";
  return out;
}

TEST(LoadRun, AClosedLoopAgainstACorrectJsVerifiesEveryJoin) {
  const auto js = embedded(4);
  LoadOptions o = options_for(*js, LoadMode::closed, 3);
  const LoadResult r = load::run_load(o);
  EXPECT_GT(r.ok, 10u);
  EXPECT_EQ(r.errors, 0u) << classes(r);
  EXPECT_EQ(r.sent, r.ok);
  EXPECT_EQ(r.latency.count(), r.ok);
  ASSERT_FALSE(r.series.empty());
  std::uint64_t per_second = 0;
  for (const auto& s : r.series) per_second += s.ok;
  EXPECT_EQ(per_second, r.ok);
  EXPECT_EQ(r.settings.at("mode"), "closed");
  EXPECT_EQ(r.processes.size(), 1u);
  EXPECT_EQ(r.devices, o.fleet.devices.size());
}

TEST(LoadRun, WrongSessionKeysAreVerificationErrorsNeverSuccesses) {
  for (const char* fault : {"wrong-app-s-key", "bad-accept-mic", "wrong-transaction-id"}) {
    const auto js = embedded(2, {fault});
    const LoadResult r = load::run_load(options_for(*js, LoadMode::closed, 2));
    EXPECT_EQ(r.ok, 0u) << fault;
    EXPECT_GT(r.errors, 0u) << fault;
    ASSERT_FALSE(r.error_classes.empty()) << fault;
    for (const auto& [name, e] : r.error_classes) EXPECT_EQ(name.rfind("verify ", 0), 0u) << fault << ": " << classes(r);
  }
}

TEST(LoadRun, RefusedJoinsAreCountedByResultCode) {
  const auto js = embedded(2);
  LoadOptions o = options_for(*js, LoadMode::closed, 2);
  // Devices the JS was never given.
  o.fleet = sim::generate_fleet(4, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_3, 999);
  const LoadResult r = load::run_load(o);
  EXPECT_EQ(r.ok, 0u);
  ASSERT_EQ(r.error_classes.size(), 1u) << classes(r);
  EXPECT_EQ(r.error_classes.begin()->first, "result UnknownDevEUI");
}

TEST(LoadRun, AnUnreachableTargetIsATransportError) {
  const auto js = embedded(1);
  LoadOptions o = options_for(*js, LoadMode::closed, 1);
  o.target.ns.url = "http://127.0.0.1:1/";
  o.duration = 100ms;
  const LoadResult r = load::run_load(o);
  EXPECT_EQ(r.ok, 0u);
  EXPECT_GT(r.error_classes.count("transport refused"), 0u) << classes(r);
}

TEST(LoadRun, TheStateContinuesDevNoncesAcrossRunsAndWithoutItTheJsSeesReplays) {
  const auto js = embedded(3);
  sim::DeviceCountersMap counters;
  LoadOptions o = options_for(*js, LoadMode::closed, 2);
  o.duration = 300ms;
  o.counters = &counters;
  const LoadResult first = load::run_load(o);
  EXPECT_GT(first.ok, 0u);
  EXPECT_EQ(first.errors, 0u) << classes(first);
  const LoadResult second = load::run_load(o);
  EXPECT_GT(second.ok, 0u);
  EXPECT_EQ(second.errors, 0u) << classes(second);
  // Without the state the devices start over, and the JS (which remembers) refuses the replays.
  o.counters = nullptr;
  const LoadResult fresh = load::run_load(o);
  EXPECT_GT(fresh.errors, 0u);
}

TEST(LoadRun, ShardsShareTheFleetWithoutOverlap) {
  const auto js = embedded(4);
  LoadResult merged;
  for (std::uint32_t k = 1; k <= 3; ++k) {
    LoadOptions o = options_for(*js, LoadMode::closed, 1);
    o.shard = load::ShardSpec{k, 3};
    o.duration = 200ms;
    const LoadResult r = load::run_load(o);
    EXPECT_EQ(r.errors, 0u) << classes(r);
    load::merge(merged, r);
  }
  EXPECT_EQ(merged.devices, js->fleet().devices.size());
  EXPECT_EQ(merged.processes.size(), 3u);
  EXPECT_GT(merged.ok, 0u);
}

// Open loop: a JS that takes 200 ms per answer on one connection, asked for 20 joins a second.
// The requests queue up behind each other, and each is charged from the time it was due, so the
// latency grows far above the 200 ms service time (coordinated omission is not hidden); a closed
// loop on the same JS sees 200 ms.
TEST(LoadRun, AnOpenLoopChargesAStallToEveryRequestThatWaited) {
  const auto js = embedded(2, {"slow-answer=200"});
  sim::DeviceCountersMap counters;  // the second run continues the devices' DevNonces
  LoadOptions open = options_for(*js, LoadMode::open, 1);
  open.counters = &counters;
  open.rate = 20;
  open.duration = 500ms;  // 10 requests due over 0.5 s, served one per 200 ms
  const LoadResult r = load::run_load(open);
  EXPECT_EQ(r.errors, 0u) << classes(r);
  EXPECT_EQ(r.ok, 10u);
  EXPECT_GE(r.latency.max(), 1'200'000u);  // the last: due at 450 ms, answered after 2 s
  EXPECT_GE(r.latency.value_at_percentile(50), 700'000u);

  LoadOptions closed = options_for(*js, LoadMode::closed, 1);
  closed.counters = &counters;
  closed.duration = 500ms;
  const LoadResult c = load::run_load(closed);
  EXPECT_EQ(c.errors, 0u) << classes(c);
  EXPECT_GT(c.ok, 0u);
  EXPECT_LT(c.latency.value_at_percentile(50), 700'000u);
  EXPECT_GE(c.latency.value_at_percentile(50), 190'000u);
}

// A storm of 6 devices within 100 ms against a JS taking 300 ms per answer on one connection:
// the first is answered within RX1 (500 ms here), the next within RX2 (1 s), the rest too late.
TEST(LoadRun, AStormCountsTheDevicesAnsweredWithinEachWindow) {
  const auto js = embedded(4, {"slow-answer=300"});
  LoadOptions o = options_for(*js, LoadMode::storm, 1);
  o.storm = load::StormSpec{6, 100ms};
  o.rx1_deadline = 500ms;
  o.rx2_deadline = 1000ms;
  const LoadResult r = load::run_load(o);
  ASSERT_TRUE(r.storm.has_value());
  EXPECT_EQ(r.storm->devices, 6u);
  EXPECT_EQ(r.sent, 6u);
  EXPECT_EQ(r.ok, 6u) << classes(r);
  EXPECT_GE(r.storm->within_rx1, 1u);
  EXPECT_LE(r.storm->within_rx1, 2u);
  EXPECT_GT(r.storm->within_rx2, r.storm->within_rx1);
  EXPECT_LT(r.storm->within_rx2, 6u);
}

// More threads than connections: every thread that runs has a connection, and the whole storm is
// sent (none of it left to a thread without one).
TEST(LoadRun, ThreadsShareTheStormWhateverTheirNumber) {
  const auto js = embedded(4);
  LoadOptions o = options_for(*js, LoadMode::storm, 2);
  o.threads = 3;
  o.storm = load::StormSpec{8, 200ms};
  const LoadResult r = load::run_load(o);
  ASSERT_TRUE(r.storm.has_value());
  EXPECT_EQ(r.storm->devices, 8u);
  EXPECT_EQ(r.sent, 8u);
  EXPECT_EQ(r.ok, 8u) << classes(r);
  EXPECT_EQ(r.storm->within_rx1, 8u);
}

// --mix: RejoinReqs of each type asked for, from LoRaWAN 1.1 devices once joined, every one
// verified like a JoinReq (the new session keys are the device's derivation).
TEST(LoadRun, AMixSendsRejoinReqsOfEachTypeAndVerifiesThem) {
  const auto js = embedded(4);
  LoadOptions o = options_for(*js, LoadMode::closed, 4);
  o.duration = 1s;
  load::parse_mix("rejoin0=20%,rejoin1=10%,rejoin2=10%", o.mix);
  const LoadResult r = load::run_load(o);
  EXPECT_EQ(r.errors, 0u) << classes(r);
  ASSERT_EQ(r.requests.size(), 4u);
  std::uint64_t sent = 0;
  for (const auto& [kind, n] : r.requests) {
    EXPECT_EQ(n.ok, n.sent) << kind;
    sent += n.sent;
  }
  EXPECT_EQ(sent, r.sent);
  // Each type near its share: the first requests of a run are JoinReqs (no device has joined yet).
  const auto share = [&r](const char* kind) {
    return static_cast<double>(r.requests.at(kind).sent) / static_cast<double>(r.sent);
  };
  // The first requests, before devices have joined, owe at most 4 RejoinReqs of each type that
  // are caught up later; how far that moves a share depends on how many were sent (a few
  // thousand in a release build, far fewer under the sanitizers).
  ASSERT_GE(r.sent, 50u);
  const double tolerance = 0.03 + 10.0 / static_cast<double>(r.sent);
  EXPECT_NEAR(share("RejoinReq type 0"), 0.20, tolerance);
  EXPECT_NEAR(share("RejoinReq type 1"), 0.10, tolerance);
  EXPECT_NEAR(share("RejoinReq type 2"), 0.10, tolerance);
  for (const auto& outcome : load::judge(r, {})) EXPECT_TRUE(outcome.passed) << outcome.message;
  EXPECT_EQ(r.settings.at("mix"), "rejoin0=20%,rejoin1=10%,rejoin2=10%");
}

// A JS that takes JoinReqs but not RejoinReqs (The Things Stack), and one that answers RejoinReqs
// with wrong session keys (brocaar's JS): the RejoinReqs are errors of their own classes, the
// JoinReqs stay verified, and the run fails.
TEST(LoadRun, RejoinReqsAJsGetsWrongAreErrorsOfTheirOwnClass) {
  const struct {
    sim::Behaviour behaviour;
    const char* error_class;
  } cases[] = {{sim::Behaviour::tts, "result MalformedRequest (RejoinReq type 0)"},
               {sim::Behaviour::brocaar, "verify keys/rejoin-session-keys (RejoinReq type 0)"}};
  for (const auto& c : cases) {
    const auto js = embedded(2, {}, c.behaviour);
    LoadOptions o = options_for(*js, LoadMode::closed, 2);
    if (c.behaviour == sim::Behaviour::tts) {
      // The tts profile says RejoinReqs are not taken (and load refuses --mix under it); its
      // Content-Type deviation is excused here so that only the RejoinReqs are errors.
      o.profile.known.push_back({"http/content-type", conformance::Verdict::warn, "answers text/plain"});
    } else {
      o.profile = conformance::resolve_profile("brocaar");
    }
    load::parse_mix("rejoin0=25%", o.mix);
    const LoadResult r = load::run_load(o);
    EXPECT_GT(r.requests.at("JoinReq").ok, 0u) << classes(r);
    EXPECT_EQ(r.requests.at("RejoinReq type 0").ok, 0u) << classes(r);
    ASSERT_EQ(r.error_classes.count(c.error_class), 1u) << classes(r);
    EXPECT_EQ(r.error_classes.at(c.error_class).count, r.requests.at("RejoinReq type 0").sent);
    EXPECT_EQ(r.errors, r.requests.at("RejoinReq type 0").sent) << classes(r);
    bool failed = false;
    for (const auto& outcome : load::judge(r, {load::parse_assertion("errors<=1000000")})) {
      if (outcome.assertion.text == "RejoinReq type 0 verified") failed = !outcome.passed;
    }
    EXPECT_TRUE(failed) << "a JS that verifies no RejoinReq must fail a --mix run";
  }
}

// RJcount1 continues across runs with the state, as DevNonces do; a state whose RJcount1s start
// over (the DevNonces continuing) makes the JS refuse the repeated RJcount1s, and only them.
TEST(LoadRun, TheStateContinuesRjCount1AcrossRuns) {
  const auto js = embedded(2);
  sim::DeviceCountersMap counters;
  LoadOptions o = options_for(*js, LoadMode::closed, 2);
  o.duration = 600ms;
  o.counters = &counters;
  load::parse_mix("rejoin1=50%", o.mix);
  const LoadResult first = load::run_load(o);
  EXPECT_GT(first.requests.at("RejoinReq type 1").ok, 0u);
  EXPECT_EQ(first.errors, 0u) << classes(first);
  const LoadResult second = load::run_load(o);
  EXPECT_GT(second.requests.at("RejoinReq type 1").ok, 0u);
  EXPECT_EQ(second.errors, 0u) << classes(second);
  sim::DeviceCountersMap rj_count1_reset = counters;
  for (auto& [dev_eui, c] : rj_count1_reset) c.next_rj_count1 = 0;
  o.counters = &rj_count1_reset;
  const LoadResult replayed = load::run_load(o);
  EXPECT_GT(replayed.requests.at("JoinReq").ok, 0u) << classes(replayed);
  // (A device that sent no type 1 RejoinReq before may be served: its RJcount1 0 is new.)
  EXPECT_LT(replayed.requests.at("RejoinReq type 1").ok, replayed.requests.at("RejoinReq type 1").sent);
  ASSERT_FALSE(replayed.error_classes.empty());
  for (const auto& [name, e] : replayed.error_classes) {
    EXPECT_NE(name.find("(RejoinReq type 1)"), std::string::npos) << classes(replayed);
  }
}

TEST(LoadRun, AMixThatCannotBeSentIsRefusedBeforeSending) {
  const auto js = embedded(2);
  const auto error_of = [](const LoadOptions& o) {
    try {
      (void)load::run_load(o);
    } catch (const load::LoadSetupError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  LoadOptions o = options_for(*js, LoadMode::storm, 1);
  o.storm = load::StormSpec{2, 1s};
  load::parse_mix("rejoin0=10%", o.mix);
  EXPECT_NE(error_of(o).find("a storm sends one JoinReq per device"), std::string::npos) << error_of(o);
  o = options_for(*js, LoadMode::closed, 1);
  load::parse_mix("rejoin0=10%", o.mix);
  o.target.capabilities.erase(conformance::Capability::rejoin);
  EXPECT_NE(error_of(o).find("rejoin = false"), std::string::npos) << error_of(o);
  o = options_for(*js, LoadMode::closed, 1);
  load::parse_mix("rejoin0=10%", o.mix);
  o.profile = conformance::resolve_profile("tts");
  EXPECT_NE(error_of(o).find("the profile tts says the JS takes no RejoinReqs"), std::string::npos) << error_of(o);
  o = options_for(*js, LoadMode::closed, 1);
  load::parse_mix("rejoin0=10%", o.mix);
  std::erase_if(o.fleet.devices, [](const sim::FleetDevice& d) { return lorawan::is_1_1(d.mac_version); });
  EXPECT_NE(error_of(o).find("no LoRaWAN 1.1 device"), std::string::npos) << error_of(o);
}

TEST(LoadRun, SetupsThatCannotWorkAreRefusedBeforeSending) {
  const auto js = embedded(1);
  const std::size_t devices = js->fleet().devices.size();
  LoadOptions o = options_for(*js, LoadMode::closed, devices + 1);
  EXPECT_THROW(load::run_load(o), load::LoadSetupError);
  o = options_for(*js, LoadMode::storm, 1);
  o.storm = load::StormSpec{devices + 1, 1s};
  EXPECT_THROW(load::run_load(o), load::LoadSetupError);
  o = options_for(*js, LoadMode::closed, 1);
  o.target.ns.async_listen = "127.0.0.1:0";
  EXPECT_THROW(load::run_load(o), load::LoadSetupError);
  o = options_for(*js, LoadMode::closed, 1);
  o.fleet.devices.clear();
  try {
    (void)load::run_load(o);
    FAIL() << "no error";
  } catch (const load::LoadSetupError& e) {
    EXPECT_NE(std::string(e.what()).find("no device"), std::string::npos) << e.what();
  }
}

}  // namespace
