// The DevNonces of `joincheck load`: never one twice for a device, within a run and across runs.
#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "load/dev_nonce_plan.hpp"
#include "sim/fleet/fleet.hpp"

namespace {

using namespace joincheck;
using load::DevNoncePlan;

sim::FleetDevice device(lorawan::MacVersion version, std::uint64_t index = 0) {
  return sim::generate_device(index, lorawan::Eui64::parse("0000000000000001"), version, 7);
}

TEST(DevNoncePlan, ThePermutationIsABijectionAndDiffersByKey) {
  for (const std::uint64_t key : {0ULL, 1ULL, 0xdeadbeefULL}) {
    std::vector<bool> seen(65536, false);
    for (std::uint32_t i = 0; i < 65536; ++i) {
      const std::uint16_t v = load::permuted_dev_nonce(key, i);
      ASSERT_FALSE(seen[v]) << "key " << key << " index " << i;
      seen[v] = true;
    }
  }
  int same = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) same += load::permuted_dev_nonce(1, i) == load::permuted_dev_nonce(2, i);
  EXPECT_LT(same, 10);
  // Not the identity: it looks random, as a 1.0.x device's draws do.
  int in_order = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) in_order += load::permuted_dev_nonce(1, i) == i;
  EXPECT_LT(in_order, 10);
}

TEST(DevNoncePlan, ARandomDeviceDrawsAll65536WithoutRepeatingThenStops) {
  const sim::FleetDevice d = device(lorawan::MacVersion::v1_0_3);
  ASSERT_EQ(sim::effective_dev_nonce_policy(d), sim::DevNoncePolicy::random);
  DevNoncePlan plan(d, std::nullopt);
  std::set<std::uint32_t> seen;
  while (auto n = plan.next()) ASSERT_TRUE(seen.insert(n->value()).second) << n->value();
  EXPECT_EQ(seen.size(), 65536u);
  EXPECT_EQ(plan.remaining(), 0u);
}

TEST(DevNoncePlan, ARandomDeviceContinuesFromItsStateAndAvoidsRecentValues) {
  const sim::FleetDevice d = device(lorawan::MacVersion::v1_0_2);
  DevNoncePlan first(d, std::nullopt);
  std::vector<std::uint32_t> sent;
  for (int i = 0; i < 100; ++i) sent.push_back(first.next()->value());
  sim::SimDevice::Counters saved = first.counters({});
  EXPECT_EQ(saved.next_dev_nonce, 100u);
  // `joincheck run` drew a value the plan would give later: it is skipped.
  DevNoncePlan peek(d, saved);
  const std::uint32_t upcoming = peek.next()->value();
  saved.recent_dev_nonces = {static_cast<std::uint16_t>(upcoming)};
  DevNoncePlan second(d, saved);
  std::set<std::uint32_t> all(sent.begin(), sent.end());
  for (int i = 0; i < 100; ++i) {
    const std::uint32_t v = second.next()->value();
    EXPECT_NE(v, upcoming);
    EXPECT_TRUE(all.insert(v).second) << "DevNonce " << v << " sent twice";
  }
}

TEST(DevNoncePlan, ACounterDeviceCountsOnFromItsState) {
  const sim::FleetDevice d = device(lorawan::MacVersion::v1_1);
  DevNoncePlan fresh(d, std::nullopt);
  EXPECT_EQ(fresh.next()->value(), 0u);
  EXPECT_EQ(fresh.next()->value(), 1u);
  sim::SimDevice::Counters c;
  c.next_dev_nonce = 0xfffe;
  DevNoncePlan late(d, c);
  EXPECT_EQ(late.next()->value(), 0xfffeu);
  EXPECT_EQ(late.next()->value(), 0xffffu);
  EXPECT_FALSE(late.next().has_value());  // never wraps
  // The counter is the SimDevice's own: the plan leaves it as the device keeps it.
  sim::SimDevice::Counters base;
  base.next_dev_nonce = 42;
  EXPECT_EQ(late.counters(base).next_dev_nonce, 42u);
}

TEST(DevNoncePlan, AFixedDeviceSendsNothing) {
  sim::FleetDevice d = device(lorawan::MacVersion::v1_0_4);
  d.dev_nonce_policy = sim::DevNoncePolicy::fixed;
  DevNoncePlan plan(d, std::nullopt);
  EXPECT_EQ(plan.remaining(), 0u);
  EXPECT_FALSE(plan.next().has_value());
}

}  // namespace
