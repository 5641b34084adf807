#include "sim/join_server/device_store.hpp"

#include <openssl/rand.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace joincheck::sim {
namespace {

using lorawan::Aes128Key;
using lorawan::DevNonce;
using lorawan::Eui64;
using lorawan::JoinNonce;
using lorawan::MacVersion;

// ---------------------------------------------------------------------------------------------
// In memory: one compact entry per device (60 bytes; plus the map node and, for MAC 1.0.0-1.0.3
// devices that have joined, a window slot of 2*N bytes in a per-shard pool).

constexpr std::uint32_t kNoSlot = 0xffffffff;
constexpr std::uint8_t kHasAppKey = 1;
constexpr std::uint8_t kHasNwkKey = 2;
constexpr std::uint8_t kHasJoined = 4;
constexpr std::uint8_t kHasRejoined1 = 8;  // last_rj_count1 is valid

struct Entry {
  Eui64 join_eui;
  Aes128Key app_key;
  Aes128Key nwk_key;
  std::uint32_t join_nonce = 0;         // last issued; 0: none
  std::uint32_t window_slot = kNoSlot;  // MAC <= 1.0.3 after the first join
  std::uint16_t last_dev_nonce = 0;     // valid with kHasJoined
  std::uint16_t window_count = 0;
  std::uint16_t window_head = 0;  // next position written in the ring
  std::uint16_t last_rj_count1 = 0;  // valid with kHasRejoined1
  std::uint8_t mac = 0;           // MacVersion (one byte instead of the enum's four)
  std::uint8_t flags = 0;

  MacVersion mac_version() const { return static_cast<MacVersion>(mac); }
  void set_mac_version(MacVersion v) { mac = static_cast<std::uint8_t>(v); }
  bool joined() const { return (flags & kHasJoined) != 0; }
  bool window_mode() const { return !lorawan::devnonce_is_counter(mac_version()); }
};
static_assert(sizeof(Entry) == 60, "keep the per-device entry compact (see bench_device_store)");

std::uint64_t mix64(std::uint64_t z) {  // splitmix64 finaliser
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t eui_hash(const Eui64& eui) {
  std::uint64_t v = 0;
  for (std::uint8_t b : eui.bytes()) v = (v << 8) | b;
  return mix64(v);
}

struct EuiHash {
  std::size_t operator()(const Eui64& eui) const noexcept {
    return static_cast<std::size_t>(eui_hash(eui));
  }
};

constexpr std::uint32_t kSlotsPerChunk = 1024;

struct alignas(64) Shard {
  mutable std::mutex mutex;
  std::unordered_map<Eui64, Entry, EuiHash> devices;
  // Window slots of `window` DevNonces each, in chunks that never move.
  std::vector<std::unique_ptr<std::uint16_t[]>> chunks;
  std::uint32_t next_slot = 0;
  std::vector<std::uint32_t> free_slots;
};

// A DevNonce window: a ring of `size` values stored in a slot. Filled from position 0; once full,
// `head` is the oldest value.
struct Window {
  std::uint16_t* values;
  std::size_t size;
  Entry& e;

  bool contains(std::uint16_t v) const {
    return std::find(values, values + e.window_count, v) != values + e.window_count;
  }
  void push(std::uint16_t v) {
    values[e.window_head] = v;
    e.window_head = static_cast<std::uint16_t>((e.window_head + 1) % size);
    if (e.window_count < size) ++e.window_count;
  }
  std::vector<std::uint16_t> oldest_first() const {
    std::vector<std::uint16_t> out;
    out.reserve(e.window_count);
    const std::size_t start = e.window_count < size ? 0 : e.window_head;
    for (std::size_t i = 0; i < e.window_count; ++i) out.push_back(values[(start + i) % size]);
    return out;
  }
  void assign(std::span<const std::uint16_t> oldest_first) {
    const std::size_t n = std::min(oldest_first.size(), size);
    std::copy(oldest_first.end() - static_cast<std::ptrdiff_t>(n), oldest_first.end(), values);
    e.window_count = static_cast<std::uint16_t>(n);
    e.window_head = static_cast<std::uint16_t>(n % size);
  }
};

// The state change of one join (or set_join_state), as the committer writes it.
struct Change {
  std::uint64_t sequence = 0;
  Eui64 dev_eui;
  std::uint32_t join_nonce = 0;
  std::int32_t last_dev_nonce = -1;   // -1: none
  std::int32_t last_rj_count1 = -1;   // -1: none
  std::vector<std::uint16_t> window;  // oldest first
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

}  // namespace

// ---------------------------------------------------------------------------------------------

struct DeviceStore::Impl {
  DeviceStoreOptions options;
  std::size_t window = 16;
  std::size_t shard_count = 64;
  std::unique_ptr<Shard[]> shards;
  std::array<std::uint8_t, 16> secret_bytes{};
  Aes128Key secret;  // from secret_bytes once known
  // How many devices each JoinEUI has.
  mutable std::mutex join_euis_mutex;
  std::map<Eui64, std::size_t> join_euis;
  std::string file;  // for messages

  std::mutex db_mutex;
  sqlite3* db = nullptr;
  sqlite3_stmt* update_stmt = nullptr;
  sqlite3_stmt* upsert_stmt = nullptr;

  std::mutex queue_mutex;
  std::condition_variable queue_cv;
  std::vector<Change> pending;
  std::uint64_t last_issued = 0;
  std::uint64_t durable = 0;
  std::multimap<std::uint64_t, DurableCallback> waiters;
  std::vector<std::pair<DurableCallback, CommitResult>> ready;
  bool stopping = false;
  DeviceStoreStats stats;
  std::thread committer;
  // One commit at a time, whoever runs it (the committer thread or commit_pending()).
  std::mutex commit_mutex;
  std::atomic<bool> commit_requested{false};

  ~Impl() {
    stop_checkpointer();
    close_db();
  }

  // Checkpoints run on their own thread and connection, so that a commit never waits for the
  // fsyncs of a checkpoint (they made the slowest 1 % of joins ten times slower).
  std::thread checkpointer;
  std::mutex checkpoint_mutex;
  std::condition_variable checkpoint_cv;
  bool checkpoint_stop = false;
  int lock_fd = -1;  // flock on "<database>.lock": one JS per database
  void checkpointer_loop();
  void stop_checkpointer() {
    {
      std::lock_guard lk(checkpoint_mutex);
      checkpoint_stop = true;
    }
    checkpoint_cv.notify_all();
    if (checkpointer.joinable()) checkpointer.join();
  }

  Shard& shard_of(const Eui64& eui) const {
    return shards[static_cast<std::size_t>((eui_hash(eui) >> 32) % shard_count)];
  }

  // --- window slots (caller holds the shard lock)
  std::uint16_t* slot_values(Shard& s, std::uint32_t slot) const {
    return s.chunks[slot / kSlotsPerChunk].get() + (slot % kSlotsPerChunk) * window;
  }
  Window window_of(Shard& s, Entry& e) const {
    return Window{slot_values(s, e.window_slot), window, e};
  }
  void ensure_slot(Shard& s, Entry& e) const {
    if (e.window_slot != kNoSlot) return;
    std::uint32_t slot;
    if (!s.free_slots.empty()) {
      slot = s.free_slots.back();
      s.free_slots.pop_back();
    } else {
      slot = s.next_slot++;
      if (slot / kSlotsPerChunk >= s.chunks.size()) {
        s.chunks.push_back(std::make_unique<std::uint16_t[]>(std::size_t{kSlotsPerChunk} * window));
      }
    }
    e.window_slot = slot;
    e.window_count = 0;
    e.window_head = 0;
  }
  void release_slot(Shard& s, Entry& e) const {
    if (e.window_slot == kNoSlot) return;
    s.free_slots.push_back(e.window_slot);
    e.window_slot = kNoSlot;
    e.window_count = 0;
    e.window_head = 0;
  }

  // Sets identity fields; keeps the join state (caller holds the shard lock).
  void put_identity(Shard& s, const DeviceIdentity& d) {
    auto [it, inserted] = s.devices.try_emplace(d.dev_eui);
    Entry& e = it->second;
    const bool was_window = !inserted && e.window_mode();
    if (inserted || e.join_eui != d.join_eui) {
      std::lock_guard lk(join_euis_mutex);
      if (!inserted && --join_euis[e.join_eui] == 0) join_euis.erase(e.join_eui);
      ++join_euis[d.join_eui];
    }
    e.join_eui = d.join_eui;
    e.set_mac_version(d.mac_version);
    e.flags = static_cast<std::uint8_t>(e.flags & (kHasJoined | kHasRejoined1));  // state kept
    e.app_key = d.app_key.value_or(Aes128Key{});
    e.nwk_key = d.nwk_key.value_or(Aes128Key{});
    if (d.app_key) e.flags |= kHasAppKey;
    if (d.nwk_key) e.flags |= kHasNwkKey;
    if (was_window && !e.window_mode()) release_slot(s, e);
    if (!inserted && !was_window && e.window_mode() && e.joined()) {
      // Became a random-DevNonce device: its last DevNonce starts the window.
      ensure_slot(s, e);
      window_of(s, e).push(e.last_dev_nonce);
    }
  }

  StoredDevice snapshot(Shard& s, const Eui64& dev_eui, Entry& e) const {
    StoredDevice out;
    out.dev_eui = dev_eui;
    out.join_eui = e.join_eui;
    out.mac_version = e.mac_version();
    if (e.flags & kHasAppKey) out.app_key = e.app_key;
    if (e.flags & kHasNwkKey) out.nwk_key = e.nwk_key;
    out.state.last_join_nonce = JoinNonce(e.join_nonce);
    if (e.joined()) out.state.last_dev_nonce = DevNonce(e.last_dev_nonce);
    if ((e.flags & kHasRejoined1) != 0) out.state.last_rj_count1 = DevNonce(e.last_rj_count1);
    if (e.window_mode() && e.window_slot != kNoSlot) {
      for (std::uint16_t v : window_of(s, e).oldest_first())
        out.state.used_dev_nonces.emplace_back(v);
    }
    return out;
  }

  // Queues the device's state for the committer (caller holds the shard lock, which keeps the
  // changes of one device in order).
  CommitTicket enqueue(Shard& s, const Eui64& dev_eui, Entry& e) {
    Change c;
    c.dev_eui = dev_eui;
    c.join_nonce = e.join_nonce;
    c.last_dev_nonce = e.joined() ? e.last_dev_nonce : -1;
    c.last_rj_count1 = (e.flags & kHasRejoined1) != 0 ? e.last_rj_count1 : -1;
    if (e.window_mode() && e.window_slot != kNoSlot) c.window = window_of(s, e).oldest_first();
    std::uint64_t sequence;
    {
      std::lock_guard lk(queue_mutex);
      sequence = c.sequence = ++last_issued;
      pending.push_back(std::move(c));
    }
    if (options.background_committer) queue_cv.notify_one();
    return CommitTicket{sequence};
  }

  // --- database
  [[noreturn]] void fail(std::string_view doing, int rc) const {
    throw DeviceStoreError(file + ": " + std::string(doing) + ": " + sqlite_message(db, rc));
  }
  void exec(const char* sql, std::string_view doing) const {
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(doing, rc);
  }
  void close_db() {
    sqlite3_finalize(update_stmt);
    sqlite3_finalize(upsert_stmt);
    update_stmt = upsert_stmt = nullptr;
    if (db != nullptr) sqlite3_close_v2(db);
    db = nullptr;
    if (lock_fd >= 0) ::close(lock_fd);
    lock_fd = -1;
  }

  JoinOutcome join(const Eui64& dev_eui, std::optional<DevNonce> dev_nonce,
                   const JoinOptions& faults, std::optional<DevNonce> rj_count1 = std::nullopt);
  void open_db();
  void load_devices();
  CommitResult write_batch(std::vector<Change>& batch);
  // Writes `batch`, publishes what became durable and calls the callbacks; `lk` holds
  // queue_mutex on entry and on return. Caller holds commit_mutex.
  CommitResult commit_batch(std::vector<Change> batch, std::unique_lock<std::mutex>& lk);
  void committer_loop();
};

void DeviceStore::Impl::open_db() {
  int rc =
      sqlite3_open_v2(options.database.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) fail("cannot open or create the device database", rc);
  // One process per database. SQLite's exclusive locking mode would do it too, but it would
  // keep the checkpointer's connection out.
  const std::string lock_file = file + ".lock";
  lock_fd = ::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) {
    throw DeviceStoreError(lock_file + ": cannot create the lock file of the device database: " +
                           std::strerror(errno));
  }
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    throw DeviceStoreError(file + ": the database is locked: another process (a second JS?) has "
                           "the database open: one JS per database");
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 200);
  const std::string doing = "cannot set up the device database";
  {
    Statement st;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, st.out(), nullptr);
    if (rc != SQLITE_OK) fail(doing, rc);
    rc = sqlite3_step(st.get());
    if (rc != SQLITE_ROW) fail(doing + " (journal_mode=WAL)", rc);
    const std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    if (mode != "wal") {
      throw DeviceStoreError(file + ": " + doing + ": SQLite refused WAL journal mode (it kept \"" +
                             mode + "\")");
    }
  }
  // NORMAL: in WAL mode a commit survives the death of the process (kill -9) but not a power
  // loss or kernel crash; FULL also survives those (one fsync of the WAL per commit).
  exec(options.power_loss_durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", doing);
  exec("PRAGMA journal_size_limit=67108864", doing);
  exec("PRAGMA wal_autocheckpoint=0", doing);  // checkpointer_loop() does it

  exec("BEGIN IMMEDIATE", "cannot lock the device database");
  try {
    exec(kSchema, "cannot create the tables of the device database");
    // Schema version.
    {
      Statement st;
      rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                              st.out(), nullptr);
      if (rc != SQLITE_OK) fail("cannot read the device database", rc);
      rc = sqlite3_step(st.get());
      if (rc == SQLITE_ROW) {
        const std::int64_t v = sqlite3_column_int64(st.get(), 0);
        if (v == 1) {
          // Schema 1 had no RJcount1: add the column, NULL (none) for every device.
          exec("ALTER TABLE devices ADD COLUMN last_rj_count1 INTEGER",
               "cannot upgrade the device database to schema version 2");
        } else if (v != kSchemaVersion) {
          throw DeviceStoreError(file + ": device database schema version " + std::to_string(v) +
                                 ", this joincheck reads version " +
                                 std::to_string(kSchemaVersion));
        }
      } else if (rc != SQLITE_DONE) {
        fail("cannot read the device database", rc);
      }
    }
    // The JS secret, created once.
    bool have_secret = false;
    {
      Statement st;
      rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'js_secret'", -1, st.out(),
                              nullptr);
      if (rc != SQLITE_OK) fail("cannot read the device database", rc);
      rc = sqlite3_step(st.get());
      if (rc == SQLITE_ROW) {
        const int n = sqlite3_column_bytes(st.get(), 0);
        if (n != 16) {
          throw DeviceStoreError(file + ": meta js_secret: expected 16 bytes, got " +
                                 std::to_string(n));
        }
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.get(), 0));
        std::copy(p, p + 16, secret_bytes.begin());
        have_secret = true;
      } else if (rc != SQLITE_DONE) {
        fail("cannot read the device database", rc);
      }
    }
    if (!have_secret &&
        RAND_bytes(secret_bytes.data(), static_cast<int>(secret_bytes.size())) != 1) {
      throw DeviceStoreError(file + ": cannot create the JS secret: OpenSSL RAND_bytes failed");
    }
    // Written on every open: the write takes the exclusive lock, held until close.
    Statement st;
    rc = sqlite3_prepare_v2(db,
                            "INSERT OR REPLACE INTO meta(key, value) VALUES "
                            "('schema_version', ?1), ('js_secret', ?2), ('opened_at', ?3)",
                            -1, st.out(), nullptr);
    if (rc != SQLITE_OK) fail("cannot write the device database", rc);
    sqlite3_bind_int64(st.get(), 1, kSchemaVersion);
    sqlite3_bind_blob(st.get(), 2, secret_bytes.data(), 16, SQLITE_STATIC);
    sqlite3_bind_int64(st.get(), 3, static_cast<std::int64_t>(std::time(nullptr)));
    rc = sqlite3_step(st.get());
    if (rc != SQLITE_DONE) fail("cannot write the device database", rc);
    load_devices();
    exec("COMMIT", "cannot write the device database");
  } catch (...) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }

  rc =
      sqlite3_prepare_v3(db,
                         "UPDATE devices SET join_nonce = ?2, last_dev_nonce = ?3, dev_nonces = ?4, "
                         "last_rj_count1 = ?5 "
                         "WHERE dev_eui = ?1",
                         -1, SQLITE_PREPARE_PERSISTENT, &update_stmt, nullptr);
  if (rc != SQLITE_OK) fail("cannot prepare the join state update", rc);
  rc = sqlite3_prepare_v3(db,
                          "INSERT INTO devices(dev_eui, join_eui, mac_version, app_key, nwk_key) "
                          "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(dev_eui) DO UPDATE SET "
                          "join_eui = excluded.join_eui, mac_version = excluded.mac_version, "
                          "app_key = excluded.app_key, nwk_key = excluded.nwk_key",
                          -1, SQLITE_PREPARE_PERSISTENT, &upsert_stmt, nullptr);
  if (rc != SQLITE_OK) fail("cannot prepare the device upsert", rc);
}

void DeviceStore::Impl::load_devices() {
  Statement st;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT dev_eui, join_eui, mac_version, app_key, nwk_key, "
                              "join_nonce, last_dev_nonce, dev_nonces, last_rj_count1 FROM devices",
                              -1, st.out(), nullptr);
  if (rc != SQLITE_OK) fail("cannot read the devices", rc);
  const auto text = [&](int col) {
    const auto* p = sqlite3_column_text(st.get(), col);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
  };
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    const std::string eui_text = text(0);
    const std::string where = file + ": devices row DevEUI " + lorawan::quote_for_error(eui_text);
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
      std::optional<std::uint16_t> last;
      if (sqlite3_column_type(st.get(), 6) != SQLITE_NULL) {
        const std::int64_t v = sqlite3_column_int64(st.get(), 6);
        if (v < 0 || v > 0xffff) {
          throw lorawan::Error("last_dev_nonce: expected 0 to 65535, got " + std::to_string(v));
        }
        last = static_cast<std::uint16_t>(v);
      }
      std::optional<std::uint16_t> last_rj1;
      if (sqlite3_column_type(st.get(), 8) != SQLITE_NULL) {
        const std::int64_t v = sqlite3_column_int64(st.get(), 8);
        if (v < 0 || v > 0xffff) {
          throw lorawan::Error("last_rj_count1: expected 0 to 65535, got " + std::to_string(v));
        }
        last_rj1 = static_cast<std::uint16_t>(v);
      }
      const int n = sqlite3_column_bytes(st.get(), 7);
      if (n % 2 != 0) throw lorawan::Error("dev_nonces: odd length " + std::to_string(n));
      const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(st.get(), 7));
      std::vector<std::uint16_t> used;
      for (int i = 0; i + 1 < n; i += 2) {
        used.push_back(static_cast<std::uint16_t>(p[i] << 8 | p[i + 1]));
      }

      Shard& s = shard_of(d.dev_eui);
      std::lock_guard lk(s.mutex);
      put_identity(s, d);
      Entry& e = s.devices.at(d.dev_eui);
      e.join_nonce = static_cast<std::uint32_t>(join_nonce);
      if (last) {
        e.flags |= kHasJoined;
        e.last_dev_nonce = *last;
      }
      if (last_rj1) {
        e.flags |= kHasRejoined1;
        e.last_rj_count1 = *last_rj1;
      }
      if (e.window_mode() && !used.empty()) {
        ensure_slot(s, e);
        window_of(s, e).assign(used);
      }
    } catch (const lorawan::Error& err) {
      throw DeviceStoreError(where + ": " + err.what());
    }
  }
  if (rc != SQLITE_DONE) fail("cannot read the devices", rc);
}

CommitResult DeviceStore::Impl::write_batch(std::vector<Change>& batch) {
  std::lock_guard lk(db_mutex);
  const auto failure = [&](std::string_view doing, int rc) {
    CommitResult r{false, file + ": " + std::string(doing) + ": " + sqlite_message(db, rc)};
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return r;
  };
  int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure("cannot begin a join state transaction", rc);
  // Newest first: an older change of a device that changed again in this batch is superseded.
  std::unordered_set<Eui64, EuiHash> written;
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    const Change& c = *it;
    if (!written.insert(c.dev_eui).second) continue;
    const std::string eui = c.dev_eui.hex();
    const std::vector<std::uint8_t> blob = window_blob(c.window);
    sqlite3_stmt* st = update_stmt;
    sqlite3_bind_text(st, 1, eui.data(), static_cast<int>(eui.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c.join_nonce);
    if (c.last_dev_nonce < 0) {
      sqlite3_bind_null(st, 3);
    } else {
      sqlite3_bind_int64(st, 3, c.last_dev_nonce);
    }
    // A zero-length blob, not NULL, when the window is empty.
    sqlite3_bind_blob(st, 4, blob.empty() ? "" : static_cast<const void*>(blob.data()),
                      static_cast<int>(blob.size()), SQLITE_STATIC);
    if (c.last_rj_count1 < 0) {
      sqlite3_bind_null(st, 5);
    } else {
      sqlite3_bind_int64(st, 5, c.last_rj_count1);
    }
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return failure("cannot write the join state of " + eui, rc);
    if (sqlite3_changes(db) != 1) {
      CommitResult r{false, file + ": cannot write the join state of " + eui +
                                ": the device has no row in the database"};
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return r;
    }
  }
  rc = sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return failure("cannot commit the join state", rc);
  return {};
}

void DeviceStore::Impl::committer_loop() {
  std::unique_lock lk(queue_mutex);
  for (;;) {
    queue_cv.wait(lk, [&] { return stopping || !pending.empty() || !ready.empty(); });
    if (!ready.empty()) {
      auto calls = std::move(ready);
      ready.clear();
      lk.unlock();
      for (auto& [done, result] : calls) {
        try {
          done(result);
        } catch (...) {
        }
      }
      lk.lock();
      continue;
    }
    if (pending.empty()) {
      if (stopping) return;
      continue;
    }
    // The commit lock first, then the batch: batches are written in the order they were taken.
    lk.unlock();
    std::lock_guard commit(commit_mutex);
    lk.lock();
    if (pending.empty()) continue;
    std::vector<Change> batch = std::move(pending);
    pending.clear();
    commit_batch(std::move(batch), lk);
  }
}

CommitResult DeviceStore::Impl::commit_batch(std::vector<Change> batch,
                                             std::unique_lock<std::mutex>& lk) {
  lk.unlock();
  const CommitResult result = db != nullptr ? write_batch(batch) : CommitResult{};
  lk.lock();
  const std::uint64_t last = batch.back().sequence;
  std::vector<std::pair<DurableCallback, CommitResult>> calls;
  if (result.committed) {
    durable = last;
    ++stats.commits;
    stats.changes_committed += batch.size();
  } else {
    ++stats.failed_commits;
    // Retried with the next batch: the memory state has moved on already, and the database must
    // catch up before a restart.
    batch.insert(batch.end(), std::make_move_iterator(pending.begin()),
                 std::make_move_iterator(pending.end()));
    pending = std::move(batch);
  }
  const auto end = waiters.upper_bound(last);
  for (auto it = waiters.begin(); it != end; ++it) calls.emplace_back(std::move(it->second), result);
  waiters.erase(waiters.begin(), end);
  if (!result.committed && stopping) {
    // Closing and the database refuses: nothing more can be made durable.
    for (auto& [seq, done] : waiters) calls.emplace_back(std::move(done), result);
    waiters.clear();
    pending.clear();
  }
  lk.unlock();
  for (auto& [done, r] : calls) {
    try {
      done(r);
    } catch (...) {
    }
  }
  lk.lock();
  if (!result.committed && !stopping && options.background_committer) {
    // Do not spin on a database that keeps failing (disk full, I/O error).
    queue_cv.wait_for(lk, std::chrono::milliseconds(100), [&] { return stopping; });
  }
  return result;
}

void DeviceStore::commit_pending() {
  Impl& m = *impl_;
  for (;;) {
    m.commit_requested.store(true);
    std::unique_lock commit(m.commit_mutex, std::try_to_lock);
    // Someone else is committing; it looks at commit_requested when it is done.
    if (!commit.owns_lock()) return;
    m.commit_requested.store(false);
    std::unique_lock lk(m.queue_mutex);
    while (!m.pending.empty()) {
      std::vector<Change> batch = std::move(m.pending);
      m.pending.clear();
      // A failed batch goes back to pending: retried at the next call, not in a loop here.
      if (!m.commit_batch(std::move(batch), lk).committed) break;
    }
    auto ready = std::move(m.ready);
    m.ready.clear();
    lk.unlock();
    commit.unlock();
    for (auto& [done, result] : ready) {
      try {
        done(result);
      } catch (...) {
      }
    }
    if (!m.commit_requested.exchange(false)) return;
  }
}

// ---------------------------------------------------------------------------------------------

DeviceIdentity DeviceIdentity::from(const FleetDevice& device) {
  return DeviceIdentity{device.dev_eui, device.join_eui, device.mac_version, device.app_key,
                        device.nwk_key};
}

std::string_view to_string(JoinStatus status) {
  switch (status) {
    case JoinStatus::accepted:
      return "accepted";
    case JoinStatus::unknown_device:
      return "unknown device";
    case JoinStatus::dev_nonce_replayed:
      return "DevNonce replayed";
    case JoinStatus::join_nonce_exhausted:
      return "JoinNonce exhausted";
  }
  return "?";
}

std::string JoinOutcome::describe() const {
  const std::string v(lorawan::to_string(mac_version));
  switch (status) {
    case JoinStatus::accepted:
      return "accepted DevNonce " + dev_nonce.hex() + ", issued JoinNonce " + join_nonce.hex();
    case JoinStatus::unknown_device:
      return "no device with this DevEUI";
    case JoinStatus::dev_nonce_replayed:
      if (rj_count1) {
        return "RJcount1 " + dev_nonce.hex() + " is not greater than the last RJcount1 answered " +
               (last_dev_nonce ? last_dev_nonce->hex() : std::string("?")) +
               " (a LoRaWAN 1.1 device never repeats RJcount1)";
      }
      if (replay_reason == ReplayReason::too_small) {
        return "DevNonce " + dev_nonce.hex() + " is not greater than the last accepted DevNonce " +
               (last_dev_nonce ? last_dev_nonce->hex() : std::string("?")) + " (LoRaWAN " + v +
               " devices count DevNonce up)";
      }
      return "DevNonce " + dev_nonce.hex() + " was used recently by this device (LoRaWAN " + v +
             " devices must not repeat a recent DevNonce; last accepted " +
             (last_dev_nonce ? last_dev_nonce->hex() : std::string("?")) + ")";
    case JoinStatus::join_nonce_exhausted:
      return "every JoinNonce has been issued to this device (the last was ffffff, the largest "
             "3-byte value)";
  }
  return "?";
}

DeviceStore::DeviceStore(DeviceStoreOptions options) : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  if (options.dev_nonce_window < 1 || options.dev_nonce_window > 65535) {
    throw std::invalid_argument("dev_nonce_window: expected 1 to 65535, got " +
                                std::to_string(options.dev_nonce_window));
  }
  if (options.shards < 1) throw std::invalid_argument("shards: expected at least 1, got 0");
  m.options = std::move(options);
  m.window = m.options.dev_nonce_window;
  m.shard_count = m.options.shards;
  m.shards = std::make_unique<Shard[]>(m.shard_count);
  m.file = m.options.database.string();
  if (m.options.database.empty()) {
    if (RAND_bytes(m.secret_bytes.data(), static_cast<int>(m.secret_bytes.size())) != 1) {
      throw DeviceStoreError("cannot create the JS secret: OpenSSL RAND_bytes failed");
    }
  } else {
    m.open_db();  // ~Impl closes the database if this throws
    m.checkpointer = std::thread([&m] { m.checkpointer_loop(); });
  }
  m.secret = Aes128Key(m.secret_bytes);
  if (m.options.background_committer) m.committer = std::thread([&m] { m.committer_loop(); });
}

void DeviceStore::Impl::checkpointer_loop() {
  sqlite3* c = nullptr;
  if (sqlite3_open_v2(options.database.c_str(), &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    sqlite3_close_v2(c);
    return;  // the writer's connection still works; the WAL just grows until the next start
  }
  sqlite3_busy_timeout(c, 1000);
  std::unique_lock lk(checkpoint_mutex);
  for (;;) {
    checkpoint_cv.wait_for(lk, std::chrono::milliseconds(1000), [&] { return checkpoint_stop; });
    const bool last = checkpoint_stop;
    lk.unlock();
    // PASSIVE never blocks the writer; the WAL restarts from its beginning at the next commit
    // once everything in it has been copied.
    sqlite3_wal_checkpoint_v2(c, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lk.lock();
    if (last) break;
  }
  sqlite3_close_v2(c);
}

DeviceStore::~DeviceStore() {
  {
    std::lock_guard lk(impl_->queue_mutex);
    impl_->stopping = true;
  }
  impl_->queue_cv.notify_all();
  if (impl_->committer.joinable()) {
    impl_->committer.join();
  } else {
    commit_pending();
  }
}

void DeviceStore::upsert(std::span<const DeviceIdentity> devices) {
  Impl& m = *impl_;
  if (m.db != nullptr) {
    // The rows exist before the devices do in memory, so that no join state is written for a
    // device without a row.
    std::lock_guard lk(m.db_mutex);
    int rc = sqlite3_exec(m.db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) m.fail("cannot add devices", rc);
    try {
      sqlite3_stmt* st = m.upsert_stmt;
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
        if (rc != SQLITE_DONE) m.fail("cannot add device " + dev, rc);
      }
      rc = sqlite3_exec(m.db, "COMMIT", nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) m.fail("cannot add devices", rc);
    } catch (...) {
      sqlite3_exec(m.db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
  for (const DeviceIdentity& d : devices) {
    Shard& s = m.shard_of(d.dev_eui);
    std::lock_guard lk(s.mutex);
    m.put_identity(s, d);
  }
}

void DeviceStore::upsert(const Fleet& fleet) {
  std::vector<DeviceIdentity> ids;
  ids.reserve(fleet.devices.size());
  for (const FleetDevice& d : fleet.devices) ids.push_back(DeviceIdentity::from(d));
  upsert(ids);
}

CommitTicket DeviceStore::set_join_state(const Eui64& dev_eui, const JoinState& state) {
  Impl& m = *impl_;
  Shard& s = m.shard_of(dev_eui);
  std::lock_guard lk(s.mutex);
  const auto it = s.devices.find(dev_eui);
  if (it == s.devices.end()) {
    throw DeviceStoreError("set_join_state: no device with DevEUI " + dev_eui.hex());
  }
  Entry& e = it->second;
  e.join_nonce = state.last_join_nonce.value();
  e.flags = static_cast<std::uint8_t>(e.flags & ~(kHasJoined | kHasRejoined1));
  e.last_dev_nonce = 0;
  e.last_rj_count1 = 0;
  if (state.last_dev_nonce) {
    e.flags |= kHasJoined;
    e.last_dev_nonce = static_cast<std::uint16_t>(state.last_dev_nonce->value());
  }
  if (state.last_rj_count1) {
    e.flags |= kHasRejoined1;
    e.last_rj_count1 = static_cast<std::uint16_t>(state.last_rj_count1->value());
  }
  if (e.window_mode()) {
    std::vector<std::uint16_t> used;
    for (const DevNonce& n : state.used_dev_nonces)
      used.push_back(static_cast<std::uint16_t>(n.value()));
    if (used.empty()) {
      m.release_slot(s, e);
    } else {
      m.ensure_slot(s, e);
      m.window_of(s, e).assign(used);
    }
  }
  return m.enqueue(s, dev_eui, e);
}

std::optional<StoredDevice> DeviceStore::find(const Eui64& dev_eui) const {
  Impl& m = *impl_;
  Shard& s = m.shard_of(dev_eui);
  std::lock_guard lk(s.mutex);
  const auto it = s.devices.find(dev_eui);
  if (it == s.devices.end()) return std::nullopt;
  return m.snapshot(s, dev_eui, it->second);
}

std::size_t DeviceStore::size() const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    std::lock_guard lk(impl_->shards[i].mutex);
    n += impl_->shards[i].devices.size();
  }
  return n;
}

JoinOutcome DeviceStore::Impl::join(const Eui64& dev_eui, std::optional<DevNonce> dev_nonce,
                                    const JoinOptions& faults, std::optional<DevNonce> rj_count1) {
  JoinOutcome out;
  out.dev_eui = dev_eui;
  if (dev_nonce) out.dev_nonce = *dev_nonce;
  Shard& s = shard_of(dev_eui);
  std::lock_guard lk(s.mutex);
  const auto it = s.devices.find(dev_eui);
  if (it == s.devices.end()) {
    out.status = JoinStatus::unknown_device;
    return out;
  }
  Entry& e = it->second;
  out.mac_version = e.mac_version();
  if (e.joined()) out.last_dev_nonce = DevNonce(e.last_dev_nonce);
  if (rj_count1) {
    out.rj_count1 = true;
    out.dev_nonce = *rj_count1;
    out.last_dev_nonce.reset();
    if ((e.flags & kHasRejoined1) != 0) out.last_dev_nonce = DevNonce(e.last_rj_count1);
    if (!faults.skip_dev_nonce_check && (e.flags & kHasRejoined1) != 0 &&
        rj_count1->value() <= e.last_rj_count1) {
      out.status = JoinStatus::dev_nonce_replayed;
      out.replay_reason = ReplayReason::too_small;
      return out;
    }
  }

  const auto nonce = static_cast<std::uint16_t>(out.dev_nonce.value());
  if (dev_nonce && !faults.skip_dev_nonce_check && e.joined()) {
    if (!e.window_mode()) {
      if (nonce <= e.last_dev_nonce) {
        out.status = JoinStatus::dev_nonce_replayed;
        out.replay_reason = ReplayReason::too_small;
        return out;
      }
    } else if (e.window_slot != kNoSlot && window_of(s, e).contains(nonce)) {
      out.status = JoinStatus::dev_nonce_replayed;
      out.replay_reason = ReplayReason::already_used;
      return out;
    }
  }

  if (!(faults.reuse_join_nonce && e.join_nonce > 0)) {
    if (e.join_nonce >= JoinNonce::kMax) {
      out.status = JoinStatus::join_nonce_exhausted;
      return out;
    }
    ++e.join_nonce;
  }
  if (rj_count1) {
    e.flags |= kHasRejoined1;
    e.last_rj_count1 = static_cast<std::uint16_t>(rj_count1->value());
  }
  if (dev_nonce) {
    e.flags |= kHasJoined;
    e.last_dev_nonce = nonce;
    if (e.window_mode()) {
      ensure_slot(s, e);
      window_of(s, e).push(nonce);
    }
  }
  out.status = JoinStatus::accepted;
  out.join_nonce = JoinNonce(e.join_nonce);
  out.ticket = enqueue(s, dev_eui, e);
  return out;
}

JoinOutcome DeviceStore::record_join(const Eui64& dev_eui, DevNonce dev_nonce,
                                     const JoinOptions& options) {
  return impl_->join(dev_eui, dev_nonce, options);
}

JoinOutcome DeviceStore::allocate_join_nonce(const Eui64& dev_eui, const JoinOptions& options,
                                             std::optional<DevNonce> rj_count1) {
  return impl_->join(dev_eui, std::nullopt, options, rj_count1);
}

void DeviceStore::when_durable(CommitTicket ticket, DurableCallback done) {
  Impl& m = *impl_;
  {
    std::lock_guard lk(m.queue_mutex);
    if (ticket.sequence > m.last_issued) {
      throw std::invalid_argument("when_durable: ticket " + std::to_string(ticket.sequence) +
                                  " was never issued (the last is " +
                                  std::to_string(m.last_issued) + ")");
    }
    if (ticket.sequence > m.durable) {
      m.waiters.emplace(ticket.sequence, std::move(done));
      return;
    }
    if (m.options.background_committer) m.ready.emplace_back(std::move(done), CommitResult{});
  }
  if (m.options.background_committer) {
    m.queue_cv.notify_one();
  } else if (done) {
    done(CommitResult{});  // durable already: at once, on this thread
  }
}

CommitResult DeviceStore::wait_durable(CommitTicket ticket) {
  std::promise<CommitResult> promise;
  auto future = promise.get_future();
  when_durable(ticket, [&promise](const CommitResult& r) { promise.set_value(r); });
  if (!impl_->options.background_committer) commit_pending();
  return future.get();
}

CommitResult DeviceStore::flush() {
  CommitTicket last;
  {
    std::lock_guard lk(impl_->queue_mutex);
    last.sequence = impl_->last_issued;
  }
  return wait_durable(last);
}

const Aes128Key& DeviceStore::js_secret() const { return impl_->secret; }

bool DeviceStore::has_join_eui(const Eui64& join_eui) const {
  std::lock_guard lk(impl_->join_euis_mutex);
  return impl_->join_euis.count(join_eui) != 0;
}
const std::filesystem::path& DeviceStore::database() const { return impl_->options.database; }
std::size_t DeviceStore::dev_nonce_window() const { return impl_->window; }

DeviceStoreStats DeviceStore::stats() const {
  std::lock_guard lk(impl_->queue_mutex);
  return impl_->stats;
}

}  // namespace joincheck::sim
