// The reference JS's device store: DevNonce and JoinNonce rules per MAC version
// (docs/checks.md#devnonce), fault options, concurrency, group commit and
// durability across reopening.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "sim/join_server/device_store.hpp"
#include "tests/sim/sim_test_support.hpp"
#include "tests/sim/store_test_support.hpp"

namespace joincheck::sim {
namespace {

using lorawan::Aes128Key;
using lorawan::DevNonce;
using lorawan::Eui64;
using lorawan::JoinNonce;
using lorawan::MacVersion;
using test_support::numbered_eui;
using test_support::store_device;
using test_support::TempDir;

const Eui64& kJoinEui = test_support::kStoreJoinEui;
const Aes128Key& kNwkKey = test_support::kStoreNwkKey;

DeviceStoreOptions memory(std::size_t window = 16) {
  DeviceStoreOptions o;
  o.dev_nonce_window = window;
  return o;
}

DeviceStoreOptions file(const std::filesystem::path& db, std::size_t window = 16) {
  DeviceStoreOptions o;
  o.database = db;
  o.dev_nonce_window = window;
  return o;
}

JoinOutcome join(DeviceStore& store, std::uint64_t dev_eui, std::uint32_t dev_nonce,
                 const JoinOptions& options = {}) {
  return store.record_join(numbered_eui(dev_eui), DevNonce(dev_nonce), options);
}

std::vector<std::uint32_t> used(const DeviceStore& store, std::uint64_t dev_eui) {
  std::vector<std::uint32_t> out;
  const auto found = store.find(numbered_eui(dev_eui));
  for (const DevNonce& n : found->state.used_dev_nonces) out.push_back(n.value());
  return out;
}

// ------------------------------------------------------------------------------------------------
// DevNonce rules

TEST(DeviceStoreDevNonce, Mac103RemembersAWindowOfUsedDevNonces) {
  DeviceStore store(memory(4));
  const DeviceIdentity d = store_device(1, MacVersion::v1_0_3);
  store.upsert(std::span(&d, 1));

  // Random DevNonces: any order, 0 allowed, smaller allowed.
  for (std::uint32_t n : {0u, 500u, 3u, 7u}) EXPECT_TRUE(join(store, 1, n).accepted()) << n;
  EXPECT_EQ(used(store, 1), (std::vector<std::uint32_t>{0, 500, 3, 7}));

  const JoinOutcome replay = join(store, 1, 500);
  EXPECT_EQ(replay.status, JoinStatus::dev_nonce_replayed);
  EXPECT_EQ(replay.replay_reason, ReplayReason::already_used);
  EXPECT_EQ(replay.last_dev_nonce, DevNonce(7));
  EXPECT_EQ(replay.describe(),
            "DevNonce 01f4 was used recently by this device (LoRaWAN 1.0.3 devices must not repeat "
            "a recent DevNonce; last accepted 0007)");

  // A fifth DevNonce evicts the oldest (0), which becomes usable again; 500 is still remembered.
  EXPECT_TRUE(join(store, 1, 9).accepted());
  EXPECT_EQ(used(store, 1), (std::vector<std::uint32_t>{500, 3, 7, 9}));
  EXPECT_EQ(join(store, 1, 500).status, JoinStatus::dev_nonce_replayed);
  EXPECT_TRUE(join(store, 1, 0).accepted());
  EXPECT_EQ(used(store, 1), (std::vector<std::uint32_t>{3, 7, 9, 0}));
  EXPECT_TRUE(join(store, 1, 500).accepted());
}

TEST(DeviceStoreDevNonce, DefaultWindowIs16ForEveryVersionBefore104) {
  for (MacVersion v :
       {MacVersion::v1_0_0, MacVersion::v1_0_1, MacVersion::v1_0_2, MacVersion::v1_0_3}) {
    DeviceStore store;
    EXPECT_EQ(store.dev_nonce_window(), 16u);
    const DeviceIdentity d = store_device(1, v);
    store.upsert(std::span(&d, 1));
    for (std::uint32_t n = 100; n < 116; ++n) ASSERT_TRUE(join(store, 1, n).accepted());
    for (std::uint32_t n = 100; n < 116; ++n) {
      EXPECT_EQ(join(store, 1, n).replay_reason, ReplayReason::already_used) << n;
    }
    EXPECT_TRUE(join(store, 1, 116).accepted());  // evicts 100
    EXPECT_TRUE(join(store, 1, 100).accepted());
    EXPECT_EQ(used(store, 1).size(), 16u);
  }
}

TEST(DeviceStoreDevNonce, Mac104And11RefuseADevNonceNotGreaterThanTheLast) {
  for (MacVersion v : {MacVersion::v1_0_4, MacVersion::v1_1}) {
    DeviceStore store;
    const DeviceIdentity d = store_device(1, v);
    store.upsert(std::span(&d, 1));

    EXPECT_TRUE(join(store, 1, 0).accepted());  // the very first join may use 0
    const JoinOutcome again = join(store, 1, 0);
    EXPECT_EQ(again.status, JoinStatus::dev_nonce_replayed);
    EXPECT_EQ(again.replay_reason, ReplayReason::too_small);
    EXPECT_EQ(again.last_dev_nonce, DevNonce(0));

    EXPECT_TRUE(join(store, 1, 5).accepted());  // gaps are fine
    const JoinOutcome smaller = join(store, 1, 3);
    EXPECT_EQ(smaller.replay_reason, ReplayReason::too_small);
    EXPECT_EQ(smaller.last_dev_nonce, DevNonce(5));
    EXPECT_EQ(smaller.describe(),
              "DevNonce 0003 is not greater than the last accepted DevNonce 0005 (LoRaWAN " +
                  std::string(lorawan::to_string(v)) + " devices count DevNonce up)");
    EXPECT_EQ(join(store, 1, 5).replay_reason, ReplayReason::too_small);
    EXPECT_TRUE(join(store, 1, 6).accepted());
    EXPECT_TRUE(join(store, 1, 65535).accepted());
    EXPECT_EQ(join(store, 1, 65535).status, JoinStatus::dev_nonce_replayed);
    // No window is kept for counting devices.
    EXPECT_TRUE(used(store, 1).empty());
    EXPECT_EQ(store.find(numbered_eui(1))->state.last_dev_nonce, DevNonce(65535));
  }
}

TEST(DeviceStoreDevNonce, FirstJoinMayStartAnywhere) {
  DeviceStore store;
  const DeviceIdentity d = store_device(1, MacVersion::v1_1);
  store.upsert(std::span(&d, 1));
  EXPECT_TRUE(join(store, 1, 1000).accepted());
  EXPECT_EQ(join(store, 1, 0).replay_reason, ReplayReason::too_small);
}

TEST(DeviceStoreDevNonce, UnknownDevice) {
  DeviceStore store;
  const JoinOutcome o = join(store, 42, 1);
  EXPECT_EQ(o.status, JoinStatus::unknown_device);
  EXPECT_EQ(o.ticket, CommitTicket{});
  EXPECT_EQ(o.describe(), "no device with this DevEUI");
  EXPECT_FALSE(store.find(numbered_eui(42)));
}

// ------------------------------------------------------------------------------------------------
// JoinNonce

TEST(DeviceStoreJoinNonce, StartsAt1IncrementsPerDeviceAndRejectionsDoNotConsumeOne) {
  DeviceStore store;
  const DeviceIdentity ds[] = {store_device(1, MacVersion::v1_0_3), store_device(2, MacVersion::v1_1)};
  store.upsert(ds);
  EXPECT_EQ(store.find(numbered_eui(1))->state.last_join_nonce, JoinNonce(0));
  EXPECT_EQ(join(store, 1, 10).join_nonce, JoinNonce(1));
  EXPECT_EQ(join(store, 1, 11).join_nonce, JoinNonce(2));
  EXPECT_EQ(join(store, 2, 0).join_nonce, JoinNonce(1));  // per device
  EXPECT_FALSE(join(store, 1, 10).accepted());
  EXPECT_EQ(join(store, 1, 12).join_nonce, JoinNonce(3));
  EXPECT_EQ(store.find(numbered_eui(1))->state.last_join_nonce, JoinNonce(3));
  const JoinOutcome o = join(store, 2, 1);
  EXPECT_EQ(o.describe(), "accepted DevNonce 0001, issued JoinNonce 000002");
}

TEST(DeviceStoreJoinNonce, ExhaustedAt2Pow24Minus1) {
  DeviceStore store;
  const DeviceIdentity d = store_device(1, MacVersion::v1_1);
  store.upsert(std::span(&d, 1));
  JoinState s;
  s.last_join_nonce = JoinNonce(JoinNonce::kMax - 1);
  s.last_dev_nonce = DevNonce(10);
  store.set_join_state(numbered_eui(1), s);
  const JoinOutcome last = join(store, 1, 11);
  ASSERT_TRUE(last.accepted());
  EXPECT_EQ(last.join_nonce.value(), 0xffffffu);
  const JoinOutcome none = join(store, 1, 12);
  EXPECT_EQ(none.status, JoinStatus::join_nonce_exhausted);
  EXPECT_CONTAINS(none.describe(), "every JoinNonce has been issued");
  // The refused join did not record its DevNonce.
  EXPECT_EQ(store.find(numbered_eui(1))->state.last_dev_nonce, DevNonce(11));
  EXPECT_EQ(store.allocate_join_nonce(numbered_eui(1)).status, JoinStatus::join_nonce_exhausted);
}

TEST(DeviceStoreJoinNonce, AllocateForRejoinSkipsDevNonce) {
  DeviceStore store;
  const DeviceIdentity d = store_device(1, MacVersion::v1_1);
  store.upsert(std::span(&d, 1));
  EXPECT_TRUE(join(store, 1, 4).accepted());
  const JoinOutcome r = store.allocate_join_nonce(numbered_eui(1));
  ASSERT_TRUE(r.accepted());
  EXPECT_EQ(r.join_nonce, JoinNonce(2));
  EXPECT_EQ(store.find(numbered_eui(1))->state.last_dev_nonce, DevNonce(4));
  EXPECT_EQ(store.allocate_join_nonce(numbered_eui(9)).status, JoinStatus::unknown_device);
}

// ------------------------------------------------------------------------------------------------
// Fault options

TEST(DeviceStoreFaults, SkipDevNonceCheckAcceptsReplays) {
  DeviceStore store;
  const DeviceIdentity ds[] = {store_device(1, MacVersion::v1_0_3), store_device(2, MacVersion::v1_0_4)};
  store.upsert(ds);
  const JoinOptions skip{.skip_dev_nonce_check = true, .reuse_join_nonce = false};
  for (std::uint64_t dev : {1u, 2u}) {
    EXPECT_TRUE(join(store, dev, 5).accepted());
    const JoinOutcome replay = join(store, dev, 5, skip);
    ASSERT_TRUE(replay.accepted());
    EXPECT_EQ(replay.join_nonce, JoinNonce(2));
    const JoinOutcome smaller = join(store, dev, 1, skip);
    ASSERT_TRUE(smaller.accepted());
    EXPECT_EQ(smaller.join_nonce, JoinNonce(3));
    // The replay is still recorded: without the fault it is refused again.
    EXPECT_FALSE(join(store, dev, 1).accepted());
  }
}

TEST(DeviceStoreFaults, ReuseJoinNonceRepeatsThePreviousOne) {
  DeviceStore store;
  const DeviceIdentity d = store_device(1, MacVersion::v1_1);
  store.upsert(std::span(&d, 1));
  const JoinOptions reuse{.skip_dev_nonce_check = false, .reuse_join_nonce = true};
  // Nothing to reuse yet: the first join still gets 1.
  EXPECT_EQ(join(store, 1, 1, reuse).join_nonce, JoinNonce(1));
  EXPECT_EQ(join(store, 1, 2, reuse).join_nonce, JoinNonce(1));
  EXPECT_EQ(join(store, 1, 3).join_nonce, JoinNonce(2));
  EXPECT_EQ(join(store, 1, 4, reuse).join_nonce, JoinNonce(2));
  // The DevNonce check still applies.
  EXPECT_EQ(join(store, 1, 4, reuse).status, JoinStatus::dev_nonce_replayed);
  EXPECT_EQ(store.find(numbered_eui(1))->state.last_dev_nonce, DevNonce(4));
}

// ------------------------------------------------------------------------------------------------
// Registry

TEST(DeviceStoreRegistry, UpsertUpdatesIdentityAndKeepsJoinState) {
  DeviceStore store;
  DeviceIdentity d = store_device(1, MacVersion::v1_0_4);
  store.upsert(std::span(&d, 1));
  EXPECT_TRUE(store.has_join_eui(kJoinEui));
  EXPECT_FALSE(store.has_join_eui(numbered_eui(5)));
  EXPECT_TRUE(join(store, 1, 7).accepted());

  d.app_key = kNwkKey;
  d.join_eui = numbered_eui(5);
  d.mac_version = MacVersion::v1_0_3;  // now random DevNonces: the last one starts the window
  store.upsert(std::span(&d, 1));
  const auto found = store.find(numbered_eui(1));
  ASSERT_TRUE(found);
  EXPECT_EQ(static_cast<const DeviceIdentity&>(*found), d);
  EXPECT_EQ(found->state.last_join_nonce, JoinNonce(1));
  EXPECT_EQ(used(store, 1), std::vector<std::uint32_t>{7});
  EXPECT_FALSE(join(store, 1, 7).accepted());
  EXPECT_TRUE(join(store, 1, 3).accepted());
  EXPECT_TRUE(store.has_join_eui(numbered_eui(5)));
  EXPECT_FALSE(store.has_join_eui(kJoinEui));

  d.mac_version = MacVersion::v1_1;
  d.nwk_key = kNwkKey;
  store.upsert(std::span(&d, 1));
  EXPECT_EQ(join(store, 1, 3).replay_reason, ReplayReason::too_small);
  EXPECT_EQ(join(store, 1, 4).join_nonce, JoinNonce(3));
  EXPECT_EQ(store.size(), 1u);
}

TEST(DeviceStoreRegistry, UpsertFromAFleet) {
  DeviceStore store;
  const Fleet fleet = generate_fleet(100, kJoinEui, MacVersion::v1_1, 1);
  store.upsert(fleet);
  EXPECT_EQ(store.size(), 100u);
  const auto found = store.find(fleet.devices[42].dev_eui);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->nwk_key, fleet.devices[42].nwk_key);
  EXPECT_EQ(found->app_key, fleet.devices[42].app_key);
  EXPECT_EQ(found->mac_version, MacVersion::v1_1);
}

TEST(DeviceStoreRegistry, RejectsBadOptions) {
  EXPECT_THROW(DeviceStore(memory(0)), std::invalid_argument);
  EXPECT_THROW(DeviceStore(memory(65536)), std::invalid_argument);
  DeviceStore store;
  EXPECT_THROW(store.set_join_state(numbered_eui(1), JoinState{}), DeviceStoreError);
}

// ------------------------------------------------------------------------------------------------
// Commit tickets

TEST(DeviceStoreCommit, MemoryModeCallsBackFromTheCommitterThread) {
  DeviceStore store;
  const DeviceIdentity d = store_device(1, MacVersion::v1_1);
  store.upsert(std::span(&d, 1));
  const JoinOutcome o = join(store, 1, 1);
  ASSERT_TRUE(o.accepted());
  EXPECT_GT(o.ticket.sequence, 0u);
  std::promise<std::thread::id> called;
  store.when_durable(o.ticket, [&](const CommitResult& r) {
    EXPECT_TRUE(r.committed);
    called.set_value(std::this_thread::get_id());
  });
  EXPECT_NE(called.get_future().get(), std::this_thread::get_id());
  // Already durable, and the "nothing to commit" ticket: still called back.
  EXPECT_TRUE(store.wait_durable(o.ticket).committed);
  EXPECT_TRUE(store.wait_durable(CommitTicket{}).committed);
  EXPECT_THROW(
      store.when_durable(CommitTicket{o.ticket.sequence + 100}, [](const CommitResult&) {}),
      std::invalid_argument);
  EXPECT_TRUE(store.flush().committed);
}

TEST(DeviceStoreCommit, DestructionCallsEveryPendingCallback) {
  TempDir dir;
  std::atomic<int> called{0};
  {
    DeviceStore store(file(dir / "js.db"));
    const Fleet fleet = generate_fleet(200, kJoinEui, MacVersion::v1_0_4, 3);
    store.upsert(fleet);
    for (const FleetDevice& d : fleet.devices) {
      const JoinOutcome o = store.record_join(d.dev_eui, DevNonce(1));
      store.when_durable(o.ticket,
                         [&](const CommitResult& r) { called += r.committed ? 1 : 1000; });
    }
  }
  EXPECT_EQ(called.load(), 200);
}

// ------------------------------------------------------------------------------------------------
// Concurrency

// Several threads join the same device and their own devices at once: every JoinNonce of a
// device is issued once, and every DevNonce accepted once.
void run_concurrency(DeviceStore& store, bool wait_durable) {
  constexpr int kThreads = 8;
  constexpr std::uint32_t kNonces = 400;
  // Device 1: shared, counter (1.1). Device 2: shared, window (1.0.3, window >= kNonces).
  // Devices 100+t: one per thread.
  std::vector<DeviceIdentity> ds = {store_device(1, MacVersion::v1_1), store_device(2, MacVersion::v1_0_3)};
  for (int t = 0; t < kThreads; ++t)
    ds.push_back(store_device(100 + static_cast<std::uint64_t>(t), MacVersion::v1_0_4));
  store.upsert(ds);

  std::mutex mutex;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> counter_accepts;  // (JoinNonce, DevNonce)
  std::vector<std::pair<std::uint32_t, std::uint32_t>> window_accepts;
  std::atomic<int> own_failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::pair<std::uint32_t, std::uint32_t>> c;
      std::vector<std::pair<std::uint32_t, std::uint32_t>> w;
      for (std::uint32_t n = 0; n < kNonces; ++n) {
        const JoinOutcome a = join(store, 1, n);
        if (a.accepted()) c.emplace_back(a.join_nonce.value(), n);
        const JoinOutcome b = join(store, 2, (n * 7 + static_cast<std::uint32_t>(t)) % kNonces);
        if (b.accepted()) w.emplace_back(b.join_nonce.value(), b.dev_nonce.value());
        const JoinOutcome own = join(store, 100 + static_cast<std::uint64_t>(t), n);
        if (!own.accepted() || own.join_nonce.value() != n + 1) ++own_failures;
        if (wait_durable && !store.wait_durable(own.ticket).committed) ++own_failures;
      }
      std::lock_guard lk(mutex);
      counter_accepts.insert(counter_accepts.end(), c.begin(), c.end());
      window_accepts.insert(window_accepts.end(), w.begin(), w.end());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(own_failures.load(), 0);

  // Counter device: JoinNonces 1..k each once, and in JoinNonce order the DevNonces increase.
  std::sort(counter_accepts.begin(), counter_accepts.end());
  for (std::size_t i = 0; i < counter_accepts.size(); ++i) {
    ASSERT_EQ(counter_accepts[i].first, i + 1);
    if (i > 0) {
      ASSERT_GT(counter_accepts[i].second, counter_accepts[i - 1].second);
    }
  }
  EXPECT_EQ(counter_accepts.back().second, kNonces - 1);
  EXPECT_EQ(store.find(numbered_eui(1))->state.last_join_nonce.value(), counter_accepts.size());

  // Window device: every DevNonce accepted exactly once, JoinNonces 1..kNonces each once.
  std::sort(window_accepts.begin(), window_accepts.end());
  ASSERT_EQ(window_accepts.size(), kNonces);
  std::set<std::uint32_t> nonces;
  for (std::size_t i = 0; i < window_accepts.size(); ++i) {
    EXPECT_EQ(window_accepts[i].first, i + 1);
    nonces.insert(window_accepts[i].second);
  }
  EXPECT_EQ(nonces.size(), kNonces);
}

TEST(DeviceStoreConcurrency, ManyThreadsInMemory) {
  DeviceStore store(memory(512));
  run_concurrency(store, false);
}

TEST(DeviceStoreConcurrency, ManyThreadsWithGroupCommit) {
  TempDir dir;
  DeviceStore store(file(dir / "js.db", 512));
  run_concurrency(store, true);
  const DeviceStoreStats stats = store.stats();
  EXPECT_EQ(stats.failed_commits, 0u);
  EXPECT_GT(stats.commits, 0u);
  // Group commit: with 8 threads waiting, transactions hold several changes on average.
  EXPECT_LT(stats.commits, stats.changes_committed);
}

// ------------------------------------------------------------------------------------------------
// Durability

TEST(DeviceStoreDurability, ReopenKeepsDevicesStateAndSecret) {
  TempDir dir;
  const auto db = dir / "js.db";
  std::vector<DeviceIdentity> ds = {store_device(1, MacVersion::v1_0_3), store_device(2, MacVersion::v1_0_4),
                                    store_device(3, MacVersion::v1_1)};
  ds[2].app_key.reset();  // a 1.1 device without AppKey round-trips too
  Aes128Key secret;
  std::map<std::uint64_t, StoredDevice> before;
  {
    DeviceStore store(file(db, 4));
    store.upsert(ds);
    secret = store.js_secret();
    for (std::uint32_t n = 1; n <= 6; ++n) {
      for (std::uint64_t dev : {1u, 2u, 3u}) ASSERT_TRUE(join(store, dev, n * 3).accepted());
    }
    ASSERT_TRUE(store.allocate_join_nonce(numbered_eui(3)).accepted());
    for (std::uint64_t dev : {1u, 2u, 3u}) before[dev] = *store.find(numbered_eui(dev));
    EXPECT_EQ(store.database(), db);
  }
  {
    DeviceStore store(file(db, 4));
    EXPECT_EQ(store.js_secret(), secret);
    EXPECT_EQ(store.size(), 3u);
    for (std::uint64_t dev : {1u, 2u, 3u}) {
      const auto after = store.find(numbered_eui(dev));
      ASSERT_TRUE(after);
      EXPECT_EQ(static_cast<const DeviceIdentity&>(*after),
                static_cast<const DeviceIdentity&>(before[dev]));
      EXPECT_EQ(after->state, before[dev].state) << dev;
    }
    EXPECT_EQ(used(store, 1), (std::vector<std::uint32_t>{9, 12, 15, 18}));
    // No DevNonce in the window or below the last is accepted twice, no JoinNonce reused.
    for (std::uint32_t n : {9u, 12u, 15u, 18u}) EXPECT_FALSE(join(store, 1, n).accepted());
    for (std::uint32_t n = 0; n <= 18; ++n) EXPECT_FALSE(join(store, 2, n).accepted()) << n;
    for (std::uint32_t n = 0; n <= 18; ++n) EXPECT_FALSE(join(store, 3, n).accepted()) << n;
    EXPECT_EQ(join(store, 1, 1).join_nonce, JoinNonce(7));
    EXPECT_EQ(join(store, 2, 19).join_nonce, JoinNonce(7));
    EXPECT_EQ(join(store, 3, 19).join_nonce, JoinNonce(8));
    // A fleet upsert updates keys and keeps the state.
    DeviceIdentity changed = ds[0];
    changed.app_key = kNwkKey;
    store.upsert(std::span(&changed, 1));
  }
  {
    // A smaller window keeps the newest DevNonces.
    DeviceStore store(file(db, 2));
    EXPECT_EQ(store.find(numbered_eui(1))->app_key, kNwkKey);
    EXPECT_EQ(store.find(numbered_eui(1))->state.last_join_nonce, JoinNonce(7));
    EXPECT_EQ(used(store, 1), (std::vector<std::uint32_t>{18, 1}));
  }
}

TEST(DeviceStoreDurability, SetJoinStateIsDurable) {
  TempDir dir;
  const auto db = dir / "js.db";
  {
    DeviceStore store(file(db));
    const DeviceIdentity d = store_device(1, MacVersion::v1_0_2);
    store.upsert(std::span(&d, 1));
    JoinState s;
    s.last_join_nonce = JoinNonce(1000);
    s.last_dev_nonce = DevNonce(3);
    s.used_dev_nonces = {DevNonce(1), DevNonce(2), DevNonce(3)};
    EXPECT_TRUE(store.wait_durable(store.set_join_state(numbered_eui(1), s)).committed);
  }
  DeviceStore store(file(db));
  EXPECT_EQ(used(store, 1), (std::vector<std::uint32_t>{1, 2, 3}));
  EXPECT_EQ(join(store, 1, 4).join_nonce, JoinNonce(1001));
}

TEST(DeviceStoreDurability, PowerLossModeWorks) {
  TempDir dir;
  DeviceStoreOptions o = file(dir / "js.db");
  o.power_loss_durable = true;
  DeviceStore store(o);
  const DeviceIdentity d = store_device(1, MacVersion::v1_1);
  store.upsert(std::span(&d, 1));
  EXPECT_TRUE(store.wait_durable(join(store, 1, 1).ticket).committed);
}

TEST(DeviceStoreDurability, OpenErrorsNameTheFileAndTheSqliteError) {
  TempDir dir;
  const auto missing_dir = dir / "no-such-dir" / "js.db";
  try {
    DeviceStore store(file(missing_dir));
    FAIL() << "expected DeviceStoreError";
  } catch (const DeviceStoreError& e) {
    EXPECT_CONTAINS(e.what(), missing_dir.string() +
                                  ": cannot open or create the device database: "
                                  "unable to open database file (SQLite error 14");
  }

  const auto garbage = dir / "garbage.db";
  {
    std::ofstream out(garbage, std::ios::binary);
    out << std::string(4096, 'x');
  }
  try {
    DeviceStore store(file(garbage));
    FAIL() << "expected DeviceStoreError";
  } catch (const DeviceStoreError& e) {
    EXPECT_CONTAINS(e.what(), garbage.string() + ": ");
    EXPECT_CONTAINS(e.what(), "file is not a database (SQLite error 26)");
  }
}

TEST(DeviceStoreDurability, OneStorePerDatabase) {
  TempDir dir;
  const auto db = dir / "js.db";
  DeviceStore first(file(db));
  try {
    DeviceStore second(file(db));
    FAIL() << "expected DeviceStoreError";
  } catch (const DeviceStoreError& e) {
    EXPECT_CONTAINS(e.what(), db.string() + ": ");
    EXPECT_CONTAINS(e.what(), "database is locked");
    EXPECT_CONTAINS(e.what(), "one JS per database");
  }
}

}  // namespace
}  // namespace joincheck::sim
