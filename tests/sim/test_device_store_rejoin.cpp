// RJcount1 of LoRaWAN 1.1 rejoin-requests type 1: strictly increasing, durable, and a schema 1
// database (before RJcount1 was kept) is upgraded in place.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "sim/join_server/device_store.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using lorawan::DevNonce;
using lorawan::Eui64;
using test_support::TempDir;

DeviceIdentity device11() {
  DeviceIdentity d;
  d.dev_eui = Eui64::parse("00000000000000b1");
  d.join_eui = Eui64::parse("0807060504030201");
  d.mac_version = lorawan::MacVersion::v1_1;
  d.nwk_key = lorawan::Aes128Key::parse("01020304050607080102030405060708");
  d.app_key = lorawan::Aes128Key::parse("0f0e0d0c0b0a09080706050403020100");
  return d;
}

TEST(DeviceStoreRejoin, RjCount1MustIncrease) {
  DeviceStore store;
  const DeviceIdentity d = device11();
  store.upsert(std::span(&d, 1));
  const JoinOutcome first = store.allocate_join_nonce(d.dev_eui, {}, DevNonce(5));
  ASSERT_TRUE(first.accepted());
  const JoinOutcome again = store.allocate_join_nonce(d.dev_eui, {}, DevNonce(5));
  EXPECT_EQ(again.status, JoinStatus::dev_nonce_replayed);
  EXPECT_NE(again.describe().find("RJcount1 0005 is not greater than the last RJcount1 answered 0005"),
            std::string::npos)
      << again.describe();
  EXPECT_EQ(store.allocate_join_nonce(d.dev_eui, {}, DevNonce(4)).status, JoinStatus::dev_nonce_replayed);
  const JoinOutcome next = store.allocate_join_nonce(d.dev_eui, {}, DevNonce(6));
  ASSERT_TRUE(next.accepted());
  EXPECT_GT(next.join_nonce.value(), first.join_nonce.value());
  // Types 0 and 2 carry no RJcount1 and leave it alone; the fault option skips the check.
  EXPECT_TRUE(store.allocate_join_nonce(d.dev_eui).accepted());
  JoinOptions skip;
  skip.skip_dev_nonce_check = true;
  EXPECT_TRUE(store.allocate_join_nonce(d.dev_eui, skip, DevNonce(6)).accepted());
  // RJcount1 and DevNonce are separate counters.
  EXPECT_TRUE(store.record_join(d.dev_eui, DevNonce(1)).accepted());
  EXPECT_EQ(store.find(d.dev_eui)->state.last_rj_count1, DevNonce(6));
}

TEST(DeviceStoreRejoin, RjCount1SurvivesARestart) {
  TempDir dir;
  DeviceStoreOptions o;
  o.database = dir / "js.sqlite";
  const DeviceIdentity d = device11();
  {
    DeviceStore store(o);
    store.upsert(std::span(&d, 1));
    const JoinOutcome r = store.allocate_join_nonce(d.dev_eui, {}, DevNonce(9));
    ASSERT_TRUE(r.accepted());
    ASSERT_TRUE(store.wait_durable(r.ticket).committed);
  }
  DeviceStore store(o);
  EXPECT_EQ(store.find(d.dev_eui)->state.last_rj_count1, DevNonce(9));
  EXPECT_EQ(store.allocate_join_nonce(d.dev_eui, {}, DevNonce(9)).status, JoinStatus::dev_nonce_replayed);
  EXPECT_TRUE(store.allocate_join_nonce(d.dev_eui, {}, DevNonce(10)).accepted());
}

// A database written before RJcount1 was kept (schema version 1) opens and is upgraded.
TEST(DeviceStoreRejoin, Schema1DatabaseIsUpgraded) {
  TempDir dir;
  const auto file = dir / "old.sqlite";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  const char* schema1 = R"sql(
    CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
    CREATE TABLE devices (
      dev_eui TEXT PRIMARY KEY, join_eui TEXT NOT NULL, mac_version TEXT NOT NULL,
      app_key BLOB, nwk_key BLOB, join_nonce INTEGER NOT NULL DEFAULT 0,
      last_dev_nonce INTEGER, dev_nonces BLOB NOT NULL DEFAULT x'') WITHOUT ROWID;
    INSERT INTO meta VALUES ('schema_version', 1);
    INSERT INTO devices(dev_eui, join_eui, mac_version, nwk_key, join_nonce, last_dev_nonce)
      VALUES ('00000000000000b1', '0807060504030201', '1.1',
              x'01020304050607080102030405060708', 7, 3);
  )sql";
  ASSERT_EQ(sqlite3_exec(db, schema1, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  sqlite3_close(db);

  DeviceStoreOptions o;
  o.database = file;
  {
    DeviceStore store(o);
    const auto dev = store.find(Eui64::parse("00000000000000b1"));
    ASSERT_TRUE(dev.has_value());
    EXPECT_EQ(dev->state.last_join_nonce.value(), 7u);
    EXPECT_EQ(dev->state.last_dev_nonce, DevNonce(3));
    EXPECT_FALSE(dev->state.last_rj_count1.has_value());
    const JoinOutcome r = store.allocate_join_nonce(dev->dev_eui, {}, DevNonce(1));
    ASSERT_TRUE(r.accepted());
    EXPECT_EQ(r.join_nonce.value(), 8u);
    ASSERT_TRUE(store.wait_durable(r.ticket).committed);
  }
  DeviceStore reopened(o);
  EXPECT_EQ(reopened.find(Eui64::parse("00000000000000b1"))->state.last_rj_count1, DevNonce(1));
}

}  // namespace
}  // namespace joincheck::sim
