// The reference JS's device store under heavy or long use: the write-ahead log stays bounded
// while the store is open, and a DevNonce window costs memory for the DevNonces seen, not for its
// size (issue 13, defects 1 and 2). Replay semantics across the window's growth are checked
// against a plain model of "the last N DevNonces used".
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <random>
#include <vector>

#include "sim/join_server/device_store.hpp"
#include "tests/sim/sim_test_support.hpp"
#include "tests/sim/store_test_support.hpp"

namespace joincheck::sim {
namespace {

using lorawan::DevNonce;
using lorawan::Eui64;
using lorawan::MacVersion;
using test_support::TempDir;

std::vector<DeviceIdentity> devices(std::size_t n, MacVersion version) {
  std::vector<DeviceIdentity> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(test_support::store_device(0x0004a30b00000000ULL + i, version));
  return out;
}

std::uintmax_t bytes_of(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

std::vector<std::uint16_t> used(const DeviceStore& store, const Eui64& dev) {
  std::vector<std::uint16_t> out;
  const std::optional<StoredDevice> found = store.find(dev);
  for (const DevNonce& n : found->state.used_dev_nonces) {
    out.push_back(static_cast<std::uint16_t>(n.value()));
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Write-ahead log

TEST(DeviceStoreWal, StaysBoundedWhileTheStoreCommitsContinuously) {
  TempDir dir;
  DeviceStoreOptions options;
  options.database = dir / "js.sqlite";
  options.wal_restart_frames = 100;
  const auto wal = dir / "js.sqlite-wal";
  // A WAL page is 4096 bytes plus a 24-byte frame header; the committer waits for the
  // checkpointer at 2 * 100 pages, and one commit here adds a few pages at most.
  const std::uintmax_t bound = (2 * 100 + 50) * (4096 + 24) + 32;
  const auto ids = devices(2000, MacVersion::v1_0_3);
  DeviceStore store(options);
  store.upsert(ids);
  std::uintmax_t largest = 0;
  // 4000 commits, each rewriting a device row on its own page: without checkpoints that completed,
  // the WAL would hold about 4000 pages (16 MB).
  for (std::uint32_t round = 0; round < 2; ++round) {
    for (const DeviceIdentity& d : ids) {
      const JoinOutcome o = store.record_join(d.dev_eui, DevNonce(round));
      ASSERT_TRUE(o.accepted());
      ASSERT_TRUE(store.wait_durable(o.ticket).committed);
      largest = std::max(largest, bytes_of(wal));
    }
  }
  EXPECT_LE(largest, bound);
  const DeviceStoreStats stats = store.stats();
  EXPECT_GT(stats.wal_restarts, 0u);
  EXPECT_GT(stats.wal_checkpoints, 0u);
}

TEST(DeviceStoreWal, JoinStateSurvivesTheRestartsOfTheWal) {
  TempDir dir;
  DeviceStoreOptions options;
  options.database = dir / "js.sqlite";
  options.wal_restart_frames = 20;
  const auto ids = devices(300, MacVersion::v1_0_4);
  {
    DeviceStore store(options);
    store.upsert(ids);
    for (std::uint32_t n = 1; n <= 5; ++n) {
      for (const DeviceIdentity& d : ids) {
        const JoinOutcome o = store.record_join(d.dev_eui, DevNonce(n));
        ASSERT_TRUE(o.accepted());
        ASSERT_TRUE(store.wait_durable(o.ticket).committed);
      }
    }
    EXPECT_GT(store.stats().wal_restarts, 0u);
  }
  DeviceStore store(options);
  for (const DeviceIdentity& d : ids) {
    const auto found = store.find(d.dev_eui);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->state.last_dev_nonce, DevNonce(5));
    EXPECT_EQ(found->state.last_join_nonce, lorawan::JoinNonce(5));
    EXPECT_FALSE(store.record_join(d.dev_eui, DevNonce(5)).accepted());
  }
}

// ------------------------------------------------------------------------------------------------
// DevNonce window memory

TEST(DeviceStoreWindowMemory, LargestWindowCostsLittleForDevicesThatJoinedOnce) {
  TempDir dir;
  DeviceStoreOptions options;
  options.database = dir / "js.sqlite";
  options.dev_nonce_window = 65535;
  const auto ids = devices(20, MacVersion::v1_0_3);
  {
    DeviceStore store(options);
    store.upsert(ids);
    for (const DeviceIdentity& d : ids) {
      ASSERT_TRUE(
          store.wait_durable(store.record_join(d.dev_eui, DevNonce(0x1234)).ticket).committed);
    }
    // One 32 KiB chunk of small windows per shard used at most (it was 128 MiB per shard:
    // 1024 windows of 65535 DevNonces).
    EXPECT_LE(store.stats().dev_nonce_window_bytes, 20u * 32 * 1024);
  }
  DeviceStore store(options);
  EXPECT_LE(store.stats().dev_nonce_window_bytes, 20u * 32 * 1024);
  for (const DeviceIdentity& d : ids) {
    const JoinOutcome o = store.record_join(d.dev_eui, DevNonce(0x1234));
    EXPECT_EQ(o.status, JoinStatus::dev_nonce_replayed);
    EXPECT_EQ(o.replay_reason, ReplayReason::already_used);
    EXPECT_TRUE(store.record_join(d.dev_eui, DevNonce(0x1235)).accepted());
  }
}

TEST(DeviceStoreWindowMemory, GrowsWithTheDevNoncesSeenAndNoFurther) {
  DeviceStoreOptions options;
  options.dev_nonce_window = 65535;
  options.shards = 1;
  const auto ids = devices(1, MacVersion::v1_0_2);
  DeviceStore store(options);
  store.upsert(ids);
  for (std::uint32_t n = 0; n < 3000; ++n) {
    ASSERT_TRUE(store.record_join(ids[0].dev_eui, DevNonce(n)).accepted()) << n;
  }
  // 3000 DevNonces live in a slot of 4096 (8 KiB); the smaller classes' chunks stay allocated
  // for the next devices, 32 KiB each at most.
  const std::size_t bytes = store.stats().dev_nonce_window_bytes;
  EXPECT_GE(bytes, 3000u * 2);
  EXPECT_LE(bytes, 9u * 32 * 1024);
  for (std::uint32_t n = 0; n < 3000; n += 97) {
    EXPECT_FALSE(store.record_join(ids[0].dev_eui, DevNonce(n)).accepted()) << n;
  }
}

// ------------------------------------------------------------------------------------------------
// Replay semantics while a window grows through its size classes and wraps

void expect_window_like_model(std::size_t window, std::uint32_t nonce_range, int attempts) {
  TempDir dir;
  DeviceStoreOptions options;
  options.database = dir / "js.sqlite";
  options.dev_nonce_window = window;
  const auto ids = devices(3, MacVersion::v1_0_3);
  std::vector<std::deque<std::uint16_t>> model(ids.size());
  std::mt19937 random(static_cast<std::uint32_t>(window));
  const auto play = [&](DeviceStore& store) {
    for (int i = 0; i < attempts; ++i) {
      const std::size_t k = random() % ids.size();
      const auto nonce = static_cast<std::uint16_t>(random() % nonce_range);
      auto& m = model[k];
      const bool replay = std::find(m.begin(), m.end(), nonce) != m.end();
      const JoinOutcome o = store.record_join(ids[k].dev_eui, DevNonce(nonce));
      ASSERT_EQ(o.accepted(), !replay) << "window " << window << ", attempt " << i;
      if (!replay) {
        m.push_back(nonce);
        if (m.size() > window) m.pop_front();
      }
    }
    for (std::size_t k = 0; k < ids.size(); ++k) {
      EXPECT_EQ(used(store, ids[k].dev_eui),
                std::vector<std::uint16_t>(model[k].begin(), model[k].end()));
    }
  };
  {
    DeviceStore store(options);
    store.upsert(ids);
    play(store);
  }
  DeviceStore store(options);  // after a restart: the same windows, the same answers
  for (std::size_t k = 0; k < ids.size(); ++k) {
    EXPECT_EQ(used(store, ids[k].dev_eui),
              std::vector<std::uint16_t>(model[k].begin(), model[k].end()));
  }
  play(store);
}

TEST(DeviceStoreWindowMemory, ReplaysAreRefusedExactlyAsTheLastNDevNoncesSay) {
  expect_window_like_model(5, 12, 400);        // smaller than the smallest size class
  expect_window_like_model(16, 40, 600);       // the default: one class
  expect_window_like_model(100, 260, 3000);    // 16, 32, 64, then 100, wrapping
  expect_window_like_model(1000, 1500, 6000);  // wraps in the last class
}

TEST(DeviceStoreWindowMemory, SetJoinStateAndMacVersionChangesKeepWindowsRight) {
  DeviceStoreOptions options;
  options.dev_nonce_window = 40;
  auto ids = devices(1, MacVersion::v1_0_3);
  DeviceStore store(options);
  store.upsert(ids);
  JoinState state;
  for (std::uint16_t n = 0; n < 100; ++n) state.used_dev_nonces.emplace_back(n);
  state.last_dev_nonce = DevNonce(99);
  store.set_join_state(ids[0].dev_eui, state);
  std::vector<std::uint16_t> newest;
  for (std::uint16_t n = 60; n < 100; ++n) newest.push_back(n);
  EXPECT_EQ(used(store, ids[0].dev_eui), newest);
  EXPECT_FALSE(store.record_join(ids[0].dev_eui, DevNonce(60)).accepted());
  EXPECT_TRUE(store.record_join(ids[0].dev_eui, DevNonce(59)).accepted());
  // A counting device has no window; back to 1.0.3, its last DevNonce starts one.
  ids[0].mac_version = MacVersion::v1_0_4;
  store.upsert(ids);
  EXPECT_TRUE(used(store, ids[0].dev_eui).empty());
  ids[0].mac_version = MacVersion::v1_0_3;
  store.upsert(ids);
  EXPECT_EQ(used(store, ids[0].dev_eui), (std::vector<std::uint16_t>{59}));
  state.used_dev_nonces.clear();
  store.set_join_state(ids[0].dev_eui, state);
  EXPECT_TRUE(used(store, ids[0].dev_eui).empty());
  EXPECT_GT(store.stats().dev_nonce_window_bytes, 0u);  // chunks kept for reuse
}

}  // namespace
}  // namespace joincheck::sim
