#pragma once
// The reference JS's device registry and durable join state.
//
// For every device: its identity and root keys, its MAC version, and its join state:
//  - the last JoinNonce issued: per device, strictly increasing, 0 until the first join so that
//    the first JoinNonce issued is 1, capped at 2^24-1 (then joins fail: exhausted);
//  - DevNonce history (LoRaWAN 1.0.3 §6.2.4, 1.0.4 §6.2.5, 1.1 §6.2.2; docs/checks.md#devnonce):
//      MAC 1.0.0 to 1.0.3: the last N DevNonces used (N = dev_nonce_window, default 16); a
//        DevNonce among them is a replay;
//      MAC 1.0.4 and 1.1: the last accepted DevNonce; one not greater than it is a replay ("too
//        small"). The very first join may use any value, 0 included.
//
// record_join() checks the rule, and when it accepts, allocates the next JoinNonce and records
// the DevNonce, atomically, under a per-shard lock (many threads may call it at once). It
// returns at once with a CommitTicket: the JS builds its answer meanwhile and sends it only from
// when_durable(ticket, done), which a dedicated committer thread calls once a transaction
// holding the change has committed. The committer writes everything pending in one transaction
// as soon as the previous one has finished (group commit, no fixed delay).
//
// Durability: a SQLite database in WAL mode, or (empty path) memory only, without SQLite, for
// tests. On open every device and its state is loaded; the database is held with an exclusive
// lock so that two JS processes can never hand out JoinNonces from the same state. The SQLite side,
// and how its write-ahead log stays bounded while the JS serves, is in store_database.hpp; how
// DevNonce windows cost memory for the DevNonces seen, in dev_nonce_windows.hpp.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "lorawan/types.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::sim {

// What the JS is provisioned with for a device.
struct DeviceIdentity {
  lorawan::Eui64 dev_eui;
  lorawan::Eui64 join_eui;
  lorawan::MacVersion mac_version = lorawan::MacVersion::v1_0_3;
  std::optional<lorawan::Aes128Key> app_key;
  std::optional<lorawan::Aes128Key> nwk_key;

  static DeviceIdentity from(const FleetDevice& device);
  friend bool operator==(const DeviceIdentity&, const DeviceIdentity&) = default;
};

struct JoinState {
  // The last JoinNonce issued; 0 when none has been.
  lorawan::JoinNonce last_join_nonce;
  // The last DevNonce accepted; nullopt before the first join.
  std::optional<lorawan::DevNonce> last_dev_nonce;
  // MAC 1.0.0 to 1.0.3: the DevNonces in the replay window, oldest first (at most
  // dev_nonce_window). Empty for devices that count DevNonce up.
  std::vector<lorawan::DevNonce> used_dev_nonces;
  // LoRaWAN 1.1: the last RJcount1 of a rejoin-request type 1 answered; nullopt before the first.
  std::optional<lorawan::DevNonce> last_rj_count1;

  friend bool operator==(const JoinState&, const JoinState&) = default;
};

// A device as the store holds it: its identity (device.join_eui, device.app_key, ...) and state.
struct StoredDevice : DeviceIdentity {
  JoinState state;
};

// Fault injection for the JS's fault modes.
struct JoinOptions {
  // Accept a DevNonce the rules call a replay (it is still recorded).
  bool skip_dev_nonce_check = false;
  // Answer with the previous JoinNonce instead of the next one (a device that has never joined
  // still gets 1: there is no previous one to reuse).
  bool reuse_join_nonce = false;
};

// Identifies the state change of one accepted join for when_durable(). The default ticket (0)
// stands for "nothing to commit" and is durable at once.
struct CommitTicket {
  std::uint64_t sequence = 0;
  friend auto operator<=>(const CommitTicket&, const CommitTicket&) = default;
};

enum class JoinStatus {
  accepted,              // join_nonce is the JoinNonce to put in the join-accept
  unknown_device,        // no device with this DevEUI
  dev_nonce_replayed,    // replay_reason and last_dev_nonce say why
  join_nonce_exhausted,  // the device has been issued JoinNonce 2^24-1 already
};
std::string_view to_string(JoinStatus status);

enum class ReplayReason {
  none,
  already_used,  // MAC <= 1.0.3: among the last N DevNonces used
  too_small,     // MAC 1.0.4 / 1.1: not greater than the last accepted DevNonce
};

struct JoinOutcome {
  JoinStatus status = JoinStatus::unknown_device;
  lorawan::Eui64 dev_eui;
  lorawan::DevNonce dev_nonce;        // as asked (RJcount1, or 0, for allocate_join_nonce)
  bool rj_count1 = false;             // dev_nonce is the RJcount1 of a rejoin type 1
  lorawan::MacVersion mac_version{};  // of the device (when known)
  lorawan::JoinNonce join_nonce;      // accepted: the JoinNonce issued
  ReplayReason replay_reason = ReplayReason::none;
  std::optional<lorawan::DevNonce> last_dev_nonce;  // replayed: the last accepted DevNonce
                                                    // (RJcount1 when rj_count1)
  CommitTicket ticket;                              // accepted: the change to wait for

  bool accepted() const { return status == JoinStatus::accepted; }
  // One line for logs and ErrorNotif descriptions, e.g. "DevNonce 0005 is not greater than the
  // last accepted DevNonce 0007 (LoRaWAN 1.0.4 devices count DevNonce up)".
  std::string describe() const;
};

// Whether the change behind a ticket reached the database. On failure `error` names the file and
// the SQLite error; the JS must then not send the answer it built.
struct CommitResult {
  bool committed = true;
  std::string error;
};
// Called from the committer thread; must not throw (exceptions are swallowed).
using DurableCallback = std::function<void(const CommitResult&)>;

struct DeviceStoreOptions {
  // The SQLite database file (created when absent); empty: memory only, no SQLite.
  std::filesystem::path database;
  // How many DevNonces of a MAC 1.0.0-1.0.3 device are remembered (1 to 65535).
  std::size_t dev_nonce_window = 16;
  // false: synchronous=NORMAL. In WAL mode that loses nothing when the process dies (kill -9):
  // a committed transaction is in the WAL file in the OS page cache. A power loss or kernel
  // crash may lose the last transactions. true: synchronous=FULL, which fsyncs the WAL at every
  // commit and survives power loss too, at the cost of one fsync per group commit.
  bool power_loss_durable = false;
  // Lock shards (the device map is split by DevEUI hash).
  std::size_t shards = 64;
  // true: a committer thread commits as soon as there is work. false: no thread; the owner
  // calls commit_pending() (the JS service does, once per batch of requests of its event loop,
  // which saves two thread switches per join on a busy core).
  bool background_committer = true;
  // The checkpointer starts the write-ahead log over once it holds this many pages (4 KiB each:
  // 64 MiB), and the committer waits for it when the WAL holds twice as many: the WAL file stays
  // under about 128 MiB whatever the load, and is truncated when the JS is idle. Each restart
  // pauses commits for a few fsyncs, so a smaller value costs join latency under heavy load:
  // with 1000 pages (SQLite's default autocheckpoint) serve-js restarted the WAL several times a
  // second under wrk -c16 and its p99 doubled (scripts/bench-js-resources).
  std::size_t wal_restart_frames = 16384;
};

struct DeviceStoreStats {
  std::uint64_t commits = 0;  // transactions committed by the committer
  std::uint64_t changes_committed = 0;
  std::uint64_t failed_commits = 0;
  std::uint64_t wal_checkpoints = 0;  // PASSIVE checkpoints run by the checkpointer thread
  std::uint64_t wal_restarts = 0;     // times the WAL was started over (or truncated when idle)
  // Memory reserved for the DevNonce windows of MAC 1.0.0-1.0.3 devices.
  std::size_t dev_nonce_window_bytes = 0;
};

// The database cannot be opened, created, read or written; the message names the file and the
// SQLite error.
class DeviceStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class DeviceStore {
 public:
  using Ticket = CommitTicket;

  // Opens (or creates) the database and loads every device. Throws DeviceStoreError.
  explicit DeviceStore(DeviceStoreOptions options = {});
  // Commits what is pending (calling every callback), then closes.
  ~DeviceStore();
  DeviceStore(const DeviceStore&) = delete;
  DeviceStore& operator=(const DeviceStore&) = delete;

  // Adds devices, or updates the identity, MAC version and keys of known ones; their join state
  // is kept. Committed when it returns. Throws DeviceStoreError.
  void upsert(std::span<const DeviceIdentity> devices);
  void upsert(const Fleet& fleet);

  // Sets a device's join state, e.g. the last JoinNonce of a device migrated from another JS
  // (a 1.1 device accepts only a higher JoinNonce). `used_dev_nonces` beyond the window keep the
  // newest. Throws DeviceStoreError for an unknown device or a JoinNonce that does not fit.
  CommitTicket set_join_state(const lorawan::Eui64& dev_eui, const JoinState& state);

  std::optional<StoredDevice> find(const lorawan::Eui64& dev_eui) const;
  std::size_t size() const;
  // Whether some device is provisioned under this JoinEUI.
  bool has_join_eui(const lorawan::Eui64& join_eui) const;

  // Applies the DevNonce rule of the device's MAC version and, when it accepts, issues the next
  // JoinNonce and records the DevNonce. Thread-safe.
  JoinOutcome record_join(const lorawan::Eui64& dev_eui, lorawan::DevNonce dev_nonce,
                          const JoinOptions& options = {});
  // Issues the next JoinNonce for a LoRaWAN 1.1 rejoin-request. A type 1 rejoin gives its
  // RJcount1, which must be greater than the last one answered (the device never repeats it);
  // types 0 and 2 give none (RJcount0 restarts at every session and only the NS sees its MIC).
  // skip_dev_nonce_check also skips the RJcount1 check. Thread-safe.
  JoinOutcome allocate_join_nonce(const lorawan::Eui64& dev_eui, const JoinOptions& options = {},
                                  std::optional<lorawan::DevNonce> rj_count1 = std::nullopt);
  // Calls `done` from the committer thread once the change behind `ticket` is committed (soon
  // after when it already is), or has failed to commit. Throws std::invalid_argument for a
  // ticket this store never issued.
  void when_durable(CommitTicket ticket, DurableCallback done);
  // Blocks until when_durable() would call back; not from a DurableCallback.
  CommitResult wait_durable(CommitTicket ticket);
  // Commits every change recorded so far on the calling thread and calls the callbacks of the
  // tickets it made durable, there and then. With a background committer it only has to wait
  // for that thread when it is busy. Thread-safe; not from a DurableCallback.
  void commit_pending();
  // Waits for every change recorded so far.
  CommitResult flush();

  // A random 16-byte secret created when the database was (per instance in memory mode); the
  // JS authenticates the SessionKeyIDs it hands out with it.
  const lorawan::Aes128Key& js_secret() const;
  // Empty in memory mode.
  const std::filesystem::path& database() const;
  std::size_t dev_nonce_window() const;
  DeviceStoreStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joincheck::sim
