#include "sim/join_server/device_store.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "sim/join_server/dev_nonce_windows.hpp"
#include "sim/join_server/store_database.hpp"

namespace joincheck::sim {
namespace {

using lorawan::Aes128Key;
using lorawan::DevNonce;
using lorawan::Eui64;
using lorawan::JoinNonce;
using lorawan::MacVersion;

// ---------------------------------------------------------------------------------------------
// In memory: one compact entry per device (60 bytes; plus the map node and, for MAC 1.0.0-1.0.3
// devices that have joined, 2 bytes per DevNonce remembered: dev_nonce_windows.hpp).

using detail::Change;
using detail::DevNonceWindows;
using detail::StateRow;
using detail::WindowRef;

constexpr std::uint8_t kHasAppKey = 1;
constexpr std::uint8_t kHasNwkKey = 2;
constexpr std::uint8_t kHasJoined = 4;
constexpr std::uint8_t kHasRejoined1 = 8;  // last_rj_count1 is valid

struct Entry {
  Eui64 join_eui;
  Aes128Key app_key;
  Aes128Key nwk_key;
  std::uint32_t join_nonce = 0;      // last issued; 0: none
  WindowRef window;                  // MAC <= 1.0.3 after the first join
  std::uint16_t last_dev_nonce = 0;  // valid with kHasJoined
  std::uint16_t last_rj_count1 = 0;  // valid with kHasRejoined1
  std::uint8_t mac = 0;              // MacVersion (one byte instead of the enum's four)
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

struct alignas(64) Shard {
  mutable std::mutex mutex;
  std::unordered_map<Eui64, Entry, EuiHash> devices;
  DevNonceWindows windows;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

struct DeviceStore::Impl {
  DeviceStoreOptions options;
  std::size_t window = 16;
  std::size_t shard_count = 64;
  std::unique_ptr<Shard[]> shards;
  Aes128Key secret;
  // How many devices each JoinEUI has.
  mutable std::mutex join_euis_mutex;
  std::map<Eui64, std::size_t> join_euis;

  // Null in memory mode.
  std::unique_ptr<detail::StoreDatabase> db;

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

  Shard& shard_of(const Eui64& eui) const {
    return shards[static_cast<std::size_t>((eui_hash(eui) >> 32) % shard_count)];
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
    if (was_window && !e.window_mode()) s.windows.release(e.window);
    if (!inserted && !was_window && e.window_mode() && e.joined()) {
      // Became a random-DevNonce device: its last DevNonce starts the window.
      s.windows.push(e.window, e.last_dev_nonce);
    }
  }

  // Sets the join state of a device loaded from the database (caller holds the shard lock).
  void put_state(Shard& s, Entry& e, const StateRow& row) {
    e.join_nonce = row.join_nonce;
    e.flags = static_cast<std::uint8_t>(e.flags & ~(kHasJoined | kHasRejoined1));
    e.last_dev_nonce = row.last_dev_nonce.value_or(0);
    e.last_rj_count1 = row.last_rj_count1.value_or(0);
    if (row.last_dev_nonce) e.flags |= kHasJoined;
    if (row.last_rj_count1) e.flags |= kHasRejoined1;
    if (e.window_mode()) s.windows.assign(e.window, row.window);
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
    if (e.window_mode()) {
      for (std::uint16_t v : s.windows.oldest_first(e.window))
        out.state.used_dev_nonces.emplace_back(v);
    }
    return out;
  }

  // Queues the device's state for the committer (caller holds the shard lock, which keeps the
  // changes of one device in order).
  CommitTicket enqueue(Shard& s, const Eui64& dev_eui, Entry& e) {
    Change c;
    c.row.dev_eui = dev_eui;
    c.row.join_nonce = e.join_nonce;
    if (e.joined()) c.row.last_dev_nonce = e.last_dev_nonce;
    if ((e.flags & kHasRejoined1) != 0) c.row.last_rj_count1 = e.last_rj_count1;
    if (e.window_mode()) c.row.window = s.windows.oldest_first(e.window);
    std::uint64_t sequence;
    {
      std::lock_guard lk(queue_mutex);
      sequence = c.sequence = ++last_issued;
      pending.push_back(std::move(c));
    }
    if (options.background_committer) queue_cv.notify_one();
    return CommitTicket{sequence};
  }

  JoinOutcome join(const Eui64& dev_eui, std::optional<DevNonce> dev_nonce,
                   const JoinOptions& faults, std::optional<DevNonce> rj_count1 = std::nullopt);
  // Writes `batch`, publishes what became durable and calls the callbacks; `lk` holds
  // queue_mutex on entry and on return. Caller holds commit_mutex.
  CommitResult commit_batch(std::vector<Change> batch, std::unique_lock<std::mutex>& lk);
  void committer_loop();
};

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
  const CommitResult result = db ? db->write(batch) : CommitResult{};
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
  for (auto it = waiters.begin(); it != end; ++it)
    calls.emplace_back(std::move(it->second), result);
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
  for (std::size_t i = 0; i < m.shard_count; ++i) m.shards[i].windows = DevNonceWindows(m.window);
  std::array<std::uint8_t, 16> secret{};
  if (m.options.database.empty()) {
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
      throw DeviceStoreError("cannot create the JS secret: OpenSSL RAND_bytes failed");
    }
  } else {
    m.db = std::make_unique<detail::StoreDatabase>(
        m.options, [&m](const DeviceIdentity& d, const StateRow& row) {
          Shard& s = m.shard_of(d.dev_eui);
          std::lock_guard lk(s.mutex);
          m.put_identity(s, d);
          m.put_state(s, s.devices.at(d.dev_eui), row);
        });
    secret = m.db->secret();
  }
  m.secret = Aes128Key(secret);
  if (m.options.background_committer) m.committer = std::thread([&m] { m.committer_loop(); });
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
  // The rows exist before the devices do in memory, so that no join state is written for a
  // device without a row.
  if (m.db) m.db->upsert(devices);
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
    s.windows.assign(e.window, used);
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
    } else if (s.windows.contains(e.window, nonce)) {
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
    if (e.window_mode()) s.windows.push(e.window, nonce);
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
  DeviceStoreStats out;
  {
    std::lock_guard lk(impl_->queue_mutex);
    out = impl_->stats;
  }
  if (impl_->db) {
    out.wal_checkpoints = impl_->db->wal_checkpoints();
    out.wal_restarts = impl_->db->wal_restarts();
  }
  for (std::size_t i = 0; i < impl_->shard_count; ++i) {
    std::lock_guard lk(impl_->shards[i].mutex);
    out.dev_nonce_window_bytes += impl_->shards[i].windows.bytes_reserved();
  }
  return out;
}

}  // namespace joincheck::sim
