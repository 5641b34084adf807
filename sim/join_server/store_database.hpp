#pragma once
// The device store's SQLite database (internal to DeviceStore; see device_store.hpp): the schema,
// loading every device on open, the group-commit writes, and the checkpointer that keeps the
// write-ahead log bounded while the JS serves.
//
// The WAL: commits only append to "<database>-wal" (synchronous=NORMAL: no fsync at commit). A
// checkpoint copies the appended pages into the database file; the WAL can start over from its
// beginning only once every page in it has been copied and no reader still uses it
// (https://sqlite.org/wal.html#checkpointing, #avoiding_excessively_large_wal_files). A
// checkpointer thread, on a connection of its own, does a PASSIVE checkpoint every second (it
// never blocks the committer; it does the copying and the fsyncs) and, once the WAL holds
// `wal_restart_frames` pages, or the JS is idle, restarts it: it pauses the committer (db_mutex),
// checkpoints the few pages written since the PASSIVE one and resets the WAL
// (SQLITE_CHECKPOINT_RESTART, or TRUNCATE when idle,
// https://sqlite.org/c3ref/wal_checkpoint_v2.html). A WAL of twice that size makes the
// committer wait for the checkpointer (backpressure), so the WAL stays bounded even when the
// checkpointer thread is starved.

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "sim/join_server/device_store.hpp"

namespace joincheck::sim::detail {

// A device's join state as the database holds it.
struct StateRow {
  lorawan::Eui64 dev_eui;
  std::uint32_t join_nonce = 0;
  std::optional<std::uint16_t> last_dev_nonce;
  std::optional<std::uint16_t> last_rj_count1;
  std::vector<std::uint16_t> window;  // oldest first
};

// The state change of one join (or set_join_state), as the committer writes it.
struct Change {
  std::uint64_t sequence = 0;
  StateRow row;
};

class StoreDatabase {
 public:
  // Opens (or creates) the database, holds its lock file, and calls `each` for every stored
  // device, in the opening transaction. Throws DeviceStoreError.
  StoreDatabase(const DeviceStoreOptions& options,
                const std::function<void(const DeviceIdentity&, const StateRow&)>& each);
  ~StoreDatabase();
  StoreDatabase(const StoreDatabase&) = delete;
  StoreDatabase& operator=(const StoreDatabase&) = delete;

  const std::array<std::uint8_t, 16>& secret() const { return secret_; }
  // Adds devices or updates their identity; committed when it returns. Throws DeviceStoreError.
  void upsert(std::span<const DeviceIdentity> devices);
  // Writes a batch in one transaction; a later change of a device supersedes an earlier one.
  CommitResult write(const std::vector<Change>& batch);

  std::uint64_t wal_checkpoints() const { return checkpoints_.load(); }
  std::uint64_t wal_restarts() const { return restarts_.load(); }

 private:
  [[noreturn]] void fail(std::string_view doing, int rc) const;
  void exec(const char* sql, std::string_view doing) const;
  // Prepares `sql` into `*statement`; fail()s with `doing` when SQLite refuses it.
  void prepare(const char* sql, sqlite3_stmt** statement, std::string_view doing) const;
  // Opens the database, its lock, its tables and its secret, loads the devices (`each`) and
  // prepares the statements of the writes, in the steps below.
  void open(const std::function<void(const DeviceIdentity&, const StateRow&)>& each);
  void open_and_lock();          // the connection, and the lock file: one JS per database
  void set_up_connection();      // WAL journal, synchronous, checkpoints left to the checkpointer
  void check_schema_version();   // upgrades schema 1; refuses a version this joincheck cannot read
  void read_or_create_secret();  // the JS secret, created once
  void write_meta();             // schema version, secret and opening time, on every open
  void prepare_statements();     // the join state update and the device upsert
  void load(const std::function<void(const DeviceIdentity&, const StateRow&)>& each);
  CommitResult write_locked(const std::vector<Change>& batch);
  void close();

  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
  void checkpointer_loop();
  void wait_for_checkpointer();

  DeviceStoreOptions options_;
  std::string file_;  // for messages
  std::array<std::uint8_t, 16> secret_{};
  int lock_fd_ = -1;  // flock on "<database>.lock": one JS per database

  // Held by every write on db_ (upsert, write) and by the checkpointer while it restarts the WAL.
  std::mutex db_mutex_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* update_stmt_ = nullptr;
  sqlite3_stmt* upsert_stmt_ = nullptr;

  std::thread checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_cv_;
  bool checkpoint_stop_ = false;
  bool checkpointer_running_ = false;
  bool restart_wanted_ = false;
  bool last_restart_blocked_ = false;  // a reader outside this store pinned the WAL
  std::atomic<int> wal_frames_{0};     // pages in the WAL after the last commit on db_
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> checkpoints_{0};
  std::atomic<std::uint64_t> restarts_{0};
};

}  // namespace joincheck::sim::detail
