#include "sim/join_server/store_database.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unordered_set>

namespace joincheck::sim::detail {
namespace {

using lorawan::Aes128Key;
using lorawan::Eui64;
using lorawan::JoinNonce;
using lorawan::MacVersion;

struct EuiHash {
  std::size_t operator()(const Eui64& eui) const noexcept {
    std::uint64_t v = 0;
    for (std::uint8_t b : eui.bytes()) v = (v << 8) | b;
    return std::hash<std::uint64_t>{}(v);
  }
};

// ---------------------------------------------------------------------------------------------
// SQLite

class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() { sqlite3_finalize(stmt_); }
  sqlite3_stmt** out() { return &stmt_; }
  sqlite3_stmt* get() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

std::string sqlite_message(sqlite3* db, int rc) {
  const char* msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  std::string out = std::string(msg) + " (SQLite error " + std::to_string(code) + ")";
  if ((code & 0xff) == SQLITE_BUSY) {
    out += "; another process (a second JS?) has the database open: one JS per database";
  }
  return out;
}

std::string mac_text(MacVersion v) { return std::string(lorawan::to_string(v)); }

std::vector<std::uint8_t> window_blob(const std::vector<std::uint16_t>& window) {
  std::vector<std::uint8_t> blob;
  blob.reserve(window.size() * 2);
  for (std::uint16_t v : window) {
    blob.push_back(static_cast<std::uint8_t>(v >> 8));
    blob.push_back(static_cast<std::uint8_t>(v));
  }
  return blob;
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS devices (
  dev_eui TEXT PRIMARY KEY,               -- 16 hex digits, display order, lower case
  join_eui TEXT NOT NULL,
  mac_version TEXT NOT NULL,              -- "1.0", "1.0.1", ... "1.0.4", "1.1"
  app_key BLOB,                           -- 16 bytes or NULL
  nwk_key BLOB,
  join_nonce INTEGER NOT NULL DEFAULT 0,  -- last issued; 0: none
  last_dev_nonce INTEGER,                 -- last accepted; NULL: never joined
  dev_nonces BLOB NOT NULL DEFAULT x'',   -- MAC <= 1.0.3: window, oldest first, 2 bytes MSB first
  last_rj_count1 INTEGER                  -- LoRaWAN 1.1 rejoin type 1; NULL: none (schema 2)
) WITHOUT ROWID;
)sql";
constexpr std::int64_t kSchemaVersion = 2;

// The committer waits for the checkpointer once the WAL holds this many times
// wal_restart_frames pages.
constexpr std::size_t kBackpressure = 2;
// Appended during a PASSIVE checkpoint: few enough to copy with the committer paused.
constexpr int kFewFrames = 256;

// A column holding NULL or a 16-bit counter (a DevNonce, an RJcount1); `name` says which in the
// error for any other value.
std::optional<std::uint16_t> optional_u16_column(sqlite3_stmt* st, int column, const char* name) {
  if (sqlite3_column_type(st, column) == SQLITE_NULL) return std::nullopt;
  const std::int64_t v = sqlite3_column_int64(st, column);
  if (v < 0 || v > 0xffff) {
    throw lorawan::Error(std::string(name) + ": expected 0 to 65535, got " + std::to_string(v));
  }
  return static_cast<std::uint16_t>(v);
}

}  // namespace

StoreDatabase::StoreDatabase(
    const DeviceStoreOptions& options,
    const std::function<void(const DeviceIdentity&, const StateRow&)>& each)
    : options_(options), file_(options.database.string()) {
  try {
    open(each);
  } catch (...) {
    close();
    throw;
  }
  checkpointer_running_ = true;
  checkpointer_ = std::thread([this] { checkpointer_loop(); });
}

StoreDatabase::~StoreDatabase() {
  {
    std::lock_guard lk(checkpoint_mutex_);
    checkpoint_stop_ = true;
  }
  checkpoint_cv_.notify_all();
  if (checkpointer_.joinable()) checkpointer_.join();
  close();
}

void StoreDatabase::fail(std::string_view doing, int rc) const {
  throw DeviceStoreError(file_ + ": " + std::string(doing) + ": " + sqlite_message(db_, rc));
}

void StoreDatabase::exec(const char* sql, std::string_view doing) const {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(doing, rc);
}

void StoreDatabase::prepare(const char* sql, sqlite3_stmt** statement,
                            std::string_view doing) const {
  const int rc = sqlite3_prepare_v2(db_, sql, -1, statement, nullptr);
  if (rc != SQLITE_OK) fail(doing, rc);
}

void StoreDatabase::close() {
  sqlite3_finalize(update_stmt_);
  sqlite3_finalize(upsert_stmt_);
  update_stmt_ = upsert_stmt_ = nullptr;
  // The last connection to close checkpoints the whole WAL and deletes it.
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

void StoreDatabase::open(const std::function<void(const DeviceIdentity&, const StateRow&)>& each) {
  open_and_lock();
  set_up_connection();
  exec("BEGIN IMMEDIATE", "cannot lock the device database");
  try {
    exec(kSchema, "cannot create the tables of the device database");
    check_schema_version();
    read_or_create_secret();
    write_meta();
    load(each);
    exec("COMMIT", "cannot write the device database");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  prepare_statements();
}

void StoreDatabase::open_and_lock() {
  const int rc =
      sqlite3_open_v2(options_.database.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) fail("cannot open or create the device database", rc);
  // One process per database. SQLite's exclusive locking mode would do it too, but it would
  // keep the checkpointer's connection out.
  const std::string lock_file = file_ + ".lock";
  lock_fd_ = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    throw DeviceStoreError(lock_file + ": cannot create the lock file of the device database: " +
                           std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    throw DeviceStoreError(file_ +
                           ": the database is locked: another process (a second JS?) has "
                           "the database open: one JS per database");
  }
}

void StoreDatabase::set_up_connection() {
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_busy_timeout(db_, 200);
  const std::string doing = "cannot set up the device database";
  {
    Statement st;
    prepare("PRAGMA journal_mode=WAL", st.out(), doing);
    const int rc = sqlite3_step(st.get());
    if (rc != SQLITE_ROW) fail(doing + " (journal_mode=WAL)", rc);
    const std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    if (mode != "wal") {
      throw DeviceStoreError(file_ + ": " + doing +
                             ": SQLite refused WAL journal mode (it kept \"" + mode + "\")");
    }
  }
  // NORMAL: in WAL mode a commit survives the death of the process (kill -9) but not a power
  // loss or kernel crash; FULL also survives those (one fsync of the WAL per commit).
  exec(options_.power_loss_durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
       doing);
  // checkpointer_loop() checkpoints, not the committing connection (its fsyncs made the slowest
  // 1 % of joins ten times slower). When the WAL starts over, the writer truncates the file to
  // about the size a restart leaves it (https://sqlite.org/pragma.html#pragma_journal_size_limit).
  exec("PRAGMA wal_autocheckpoint=0", doing);
  const std::string size_limit =
      "PRAGMA journal_size_limit=" + std::to_string(options_.wal_restart_frames * (4096 + 24) + 32);
  exec(size_limit.c_str(), doing);
  // After wal_autocheckpoint, which installs a WAL hook of its own
  // (https://sqlite.org/c3ref/wal_hook.html).
  sqlite3_wal_hook(db_, &StoreDatabase::on_wal_commit, this);
}

void StoreDatabase::check_schema_version() {
  Statement st;
  prepare("SELECT value FROM meta WHERE key = 'schema_version'", st.out(),
          "cannot read the device database");
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_ROW) {
    const std::int64_t v = sqlite3_column_int64(st.get(), 0);
    if (v == 1) {
      // Schema 1 had no RJcount1: add the column, NULL (none) for every device.
      exec("ALTER TABLE devices ADD COLUMN last_rj_count1 INTEGER",
           "cannot upgrade the device database to schema version 2");
    } else if (v != kSchemaVersion) {
      throw DeviceStoreError(file_ + ": device database schema version " + std::to_string(v) +
                             ", this joincheck reads version " + std::to_string(kSchemaVersion));
    }
  } else if (rc != SQLITE_DONE) {
    fail("cannot read the device database", rc);
  }
}

void StoreDatabase::read_or_create_secret() {
  bool have_secret = false;
  {
    Statement st;
    prepare("SELECT value FROM meta WHERE key = 'js_secret'", st.out(),
            "cannot read the device database");
    const int rc = sqlite3_step(st.get());
    if (rc == SQLITE_ROW) {
      const int n = sqlite3_column_bytes(st.get(), 0);
      if (n != 16) {
        throw DeviceStoreError(file_ + ": meta js_secret: expected 16 bytes, got " +
                               std::to_string(n));
      }
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.get(), 0));
      std::copy(p, p + 16, secret_.begin());
      have_secret = true;
    } else if (rc != SQLITE_DONE) {
      fail("cannot read the device database", rc);
    }
  }
  if (!have_secret && RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1) {
    throw DeviceStoreError(file_ + ": cannot create the JS secret: OpenSSL RAND_bytes failed");
  }
}

void StoreDatabase::write_meta() {
  Statement st;
  prepare(
      "INSERT OR REPLACE INTO meta(key, value) VALUES "
      "('schema_version', ?1), ('js_secret', ?2), ('opened_at', ?3)",
      st.out(), "cannot write the device database");
  sqlite3_bind_int64(st.get(), 1, kSchemaVersion);
  sqlite3_bind_blob(st.get(), 2, secret_.data(), 16, SQLITE_STATIC);
  sqlite3_bind_int64(st.get(), 3, static_cast<std::int64_t>(std::time(nullptr)));
  const int rc = sqlite3_step(st.get());
  if (rc != SQLITE_DONE) fail("cannot write the device database", rc);
}

void StoreDatabase::prepare_statements() {
  int rc = sqlite3_prepare_v3(
      db_,
      "UPDATE devices SET join_nonce = ?2, last_dev_nonce = ?3, dev_nonces = ?4, "
      "last_rj_count1 = ?5 "
      "WHERE dev_eui = ?1",
      -1, SQLITE_PREPARE_PERSISTENT, &update_stmt_, nullptr);
  if (rc != SQLITE_OK) fail("cannot prepare the join state update", rc);
  rc = sqlite3_prepare_v3(db_,
                          "INSERT INTO devices(dev_eui, join_eui, mac_version, app_key, nwk_key) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(dev_eui) DO UPDATE SET "
                          "join_eui = excluded.join_eui, mac_version = excluded.mac_version, "
                          "app_key = excluded.app_key, nwk_key = excluded.nwk_key",
                          -1, SQLITE_PREPARE_PERSISTENT, &upsert_stmt_, nullptr);
  if (rc != SQLITE_OK) fail("cannot prepare the device upsert", rc);
}

void StoreDatabase::load(const std::function<void(const DeviceIdentity&, const StateRow&)>& each) {
  Statement st;
  prepare(
      "SELECT dev_eui, join_eui, mac_version, app_key, nwk_key, "
      "join_nonce, last_dev_nonce, dev_nonces, last_rj_count1 FROM devices",
      st.out(), "cannot read the devices");
  int rc = SQLITE_OK;
  const auto text = [&](int col) {
    const auto* p = sqlite3_column_text(st.get(), col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  };
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const std::string eui_text = text(0);
    const std::string where = file_ + ": devices row DevEUI " + lorawan::quote_for_error(eui_text);
    try {
      DeviceIdentity d;
      d.dev_eui = Eui64::parse(eui_text, "dev_eui");
      d.join_eui = Eui64::parse(text(1), "join_eui");
      d.mac_version = lorawan::parse_mac_version_or_throw(text(2), "mac_version");
      for (int col : {3, 4}) {
        if (sqlite3_column_type(st.get(), col) == SQLITE_NULL) continue;
        const int n = sqlite3_column_bytes(st.get(), col);
        const char* name = col == 3 ? "app_key" : "nwk_key";
        if (n != 16) {
          throw lorawan::Error(std::string(name) + ": expected 16 bytes, got " + std::to_string(n));
        }
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.get(), col));
        Aes128Key::Array a{};
        std::copy(p, p + 16, a.begin());
        (col == 3 ? d.app_key : d.nwk_key) = Aes128Key(a);
      }
      const std::int64_t join_nonce = sqlite3_column_int64(st.get(), 5);
      if (join_nonce < 0 || join_nonce > JoinNonce::kMax) {
        throw lorawan::Error("join_nonce: expected 0 to 16777215, got " +
                             std::to_string(join_nonce));
      }
      const std::optional<std::uint16_t> last = optional_u16_column(st.get(), 6, "last_dev_nonce");
      const std::optional<std::uint16_t> last_rj1 = optional_u16_column(st.get(), 8, "last_rj_count1");
      const int n = sqlite3_column_bytes(st.get(), 7);
      if (n % 2 != 0) throw lorawan::Error("dev_nonces: odd length " + std::to_string(n));
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.get(), 7));
      std::vector<std::uint16_t> used;
      for (int i = 0; i + 1 < n; i += 2) {
        used.push_back(static_cast<std::uint16_t>(p[i] << 8 | p[i + 1]));
      }

      StateRow row;
      row.dev_eui = d.dev_eui;
      row.join_nonce = static_cast<std::uint32_t>(join_nonce);
      row.last_dev_nonce = last;
      row.last_rj_count1 = last_rj1;
      row.window = std::move(used);
      each(d, row);
    } catch (const lorawan::Error& err) {
      throw DeviceStoreError(where + ": " + err.what());
    }
  }
  if (rc != SQLITE_DONE) fail("cannot read the devices", rc);
}

CommitResult StoreDatabase::write_locked(const std::vector<Change>& batch) {
  const auto failure = [&](std::string_view doing, int rc) {
    CommitResult r{false, file_ + ": " + std::string(doing) + ": " + sqlite_message(db_, rc)};
    if (sqlite3_get_autocommit(db_) == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return r;
  };
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure("cannot begin a join state transaction", rc);
  // Newest first: an older change of a device that changed again in this batch is superseded.
  std::unordered_set<Eui64, EuiHash> written;
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    const StateRow& c = it->row;
    if (!written.insert(c.dev_eui).second) continue;
    const std::string eui = c.dev_eui.hex();
    const std::vector<std::uint8_t> blob = window_blob(c.window);
    sqlite3_stmt* st = update_stmt_;
    sqlite3_bind_text(st, 1, eui.data(), static_cast<int>(eui.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c.join_nonce);
    if (c.last_dev_nonce) {
      sqlite3_bind_int64(st, 3, *c.last_dev_nonce);
    } else {
      sqlite3_bind_null(st, 3);
    }
    // A zero-length blob, not NULL, when the window is empty.
    sqlite3_bind_blob(st, 4, blob.empty() ? "" : static_cast<const void*>(blob.data()),
                      static_cast<int>(blob.size()), SQLITE_STATIC);
    if (c.last_rj_count1) {
      sqlite3_bind_int64(st, 5, *c.last_rj_count1);
    } else {
      sqlite3_bind_null(st, 5);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return failure("cannot write the join state of " + eui, rc);
    if (sqlite3_changes(db_) != 1) {
      CommitResult r{false, file_ + ": cannot write the join state of " + eui +
                                ": the device has no row in the database"};
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return r;
    }
  }
  rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure("cannot commit the join state", rc);
  return {};
}

void StoreDatabase::upsert(std::span<const DeviceIdentity> devices) {
  std::lock_guard lk(db_mutex_);
  int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail("cannot add devices", rc);
  try {
    sqlite3_stmt* st = upsert_stmt_;
    for (const DeviceIdentity& d : devices) {
      const std::string dev = d.dev_eui.hex();
      const std::string join = d.join_eui.hex();
      const std::string mac = mac_text(d.mac_version);
      sqlite3_bind_text(st, 1, dev.data(), static_cast<int>(dev.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 2, join.data(), static_cast<int>(join.size()), SQLITE_STATIC);
      sqlite3_bind_text(st, 3, mac.data(), static_cast<int>(mac.size()), SQLITE_STATIC);
      const std::optional<Aes128Key>* keys[2] = {&d.app_key, &d.nwk_key};
      for (int k = 0; k < 2; ++k) {
        if (*keys[k]) {
          sqlite3_bind_blob(st, 4 + k, (*keys[k])->bytes().data(), 16, SQLITE_STATIC);
        } else {
          sqlite3_bind_null(st, 4 + k);
        }
      }
      rc = sqlite3_step(st);
      sqlite3_reset(st);
      if (rc != SQLITE_DONE) fail("cannot add device " + dev, rc);
    }
    rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail("cannot add devices", rc);
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

CommitResult StoreDatabase::write(const std::vector<Change>& batch) {
  CommitResult result;
  {
    std::lock_guard lk(db_mutex_);
    result = write_locked(batch);
  }
  if (static_cast<std::size_t>(wal_frames_.load()) >= kBackpressure * options_.wal_restart_frames) {
    wait_for_checkpointer();
  }
  return result;
}

int StoreDatabase::on_wal_commit(void* self, sqlite3*, const char*, int frames) {
  auto& d = *static_cast<StoreDatabase*>(self);
  d.wal_frames_.store(frames);
  d.commits_.fetch_add(1);
  if (static_cast<std::size_t>(frames) >= d.options_.wal_restart_frames) {
    std::lock_guard lk(d.checkpoint_mutex_);
    if (!d.restart_wanted_) {
      d.restart_wanted_ = true;
      d.checkpoint_cv_.notify_all();
    }
  }
  return SQLITE_OK;
}

void StoreDatabase::wait_for_checkpointer() {
  std::unique_lock lk(checkpoint_mutex_);
  // Nothing to wait for when the checkpointer is gone or a reader outside this store (an sqlite3
  // shell?) pins the WAL: the WAL grows until it lets go.
  if (!checkpointer_running_ || last_restart_blocked_) return;
  restart_wanted_ = true;
  checkpoint_cv_.notify_all();
  checkpoint_cv_.wait_for(lk, std::chrono::seconds(10), [&] {
    return checkpoint_stop_ || !checkpointer_running_ || last_restart_blocked_ ||
           static_cast<std::size_t>(wal_frames_.load()) <
               kBackpressure * options_.wal_restart_frames;
  });
}

void StoreDatabase::checkpointer_loop() {
  sqlite3* c = nullptr;
  int rc = sqlite3_open_v2(options_.database.c_str(), &c,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  // A connection opens the WAL only when it first reads the database: until then
  // sqlite3_wal_checkpoint_v2() returns SQLITE_OK having done nothing (*pnLog = -1). This
  // connection never read, so for a long time no checkpoint ran and the WAL grew by every commit.
  if (rc == SQLITE_OK) rc = sqlite3_exec(c, "SELECT count(*) FROM meta", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(c);
    std::lock_guard lk(checkpoint_mutex_);
    checkpointer_running_ = false;  // the WAL grows until the database is closed
    checkpoint_cv_.notify_all();
    return;
  }
  // RESTART and TRUNCATE wait (through the busy handler) for readers still using the WAL; there
  // are none in this process while db_mutex_ is held, so this bounds the wait for an outside
  // reader, during which the committer waits too.
  sqlite3_busy_timeout(c, 20);
  std::uint64_t commits_seen = commits_.load();
  std::unique_lock lk(checkpoint_mutex_);
  for (;;) {
    checkpoint_cv_.wait_for(lk, std::chrono::seconds(1),
                            [&] { return checkpoint_stop_ || restart_wanted_; });
    if (checkpoint_stop_) break;
    restart_wanted_ = false;
    lk.unlock();
    // PASSIVE: copies what it can without waiting for anyone, fsyncs included; the committer
    // keeps appending meanwhile.
    int frames = -1;
    int copied = -1;
    rc = sqlite3_wal_checkpoint_v2(c, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
    if (rc == SQLITE_OK) checkpoints_.fetch_add(1);
    // Idle: nothing committed for a round, everything copied; the WAL file can go.
    const std::uint64_t commits = commits_.load();
    const bool idle = rc == SQLITE_OK && frames > 0 && copied == frames && commits == commits_seen;
    commits_seen = commits;
    bool blocked = false;
    const bool full =
        rc == SQLITE_OK && static_cast<std::size_t>(frames) >= options_.wal_restart_frames;
    if (full) {
      // Catch up without pausing anyone first: each PASSIVE copies what was appended during the
      // previous one, less each time, so that little is left for the paused step below.
      for (int round = 0; round < 4; ++round) {
        const int before = frames;
        if (sqlite3_wal_checkpoint_v2(c, nullptr, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
            SQLITE_OK) {
          break;
        }
        checkpoints_.fetch_add(1);
        if (frames - before < kFewFrames) break;
      }
    }
    if (idle || full) {
      // Under continuous load PASSIVE alone never lets the WAL start over: the committer always
      // appends during it, so a commit never finds the WAL fully copied. Pause the committer,
      // copy the pages written since, and reset. No commit runs meanwhile, so the committer
      // waits for this copy and its fsyncs (and its next commit for one more, of the new WAL
      // header): each restart costs the joins in flight a few fsyncs, hence restarts only every
      // wal_restart_frames pages.
      std::lock_guard db(db_mutex_);
      rc = sqlite3_wal_checkpoint_v2(c, nullptr,
                                     idle ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART,
                                     nullptr, nullptr);
      if (rc == SQLITE_OK) {
        restarts_.fetch_add(1);
        wal_frames_.store(0);
      }
      blocked = (rc & 0xff) == SQLITE_BUSY;
    }
    lk.lock();
    last_restart_blocked_ = blocked;
    checkpoint_cv_.notify_all();
  }
  checkpointer_running_ = false;
  lk.unlock();
  sqlite3_close_v2(c);
}

}  // namespace joincheck::sim::detail
