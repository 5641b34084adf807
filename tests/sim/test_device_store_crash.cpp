// A JS killed with kill -9 loses no join it has answered: a child process records joins and
// reports each one on a pipe only from its when_durable callback (where the JS would send its
// answer); the parent kills it mid-stream, reopens the database and checks every reported join.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "sim/join_server/device_store.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using lorawan::DevNonce;
using lorawan::Eui64;
using lorawan::MacVersion;
using test_support::TempDir;

// One answered join on the pipe: DevEUI (8 bytes), DevNonce (2, MSB first), JoinNonce (4).
constexpr std::size_t kRecordSize = 14;

struct Reported {
  std::uint16_t dev_nonce;
  std::uint32_t join_nonce;
};

constexpr int kChildThreads = 4;
constexpr std::size_t kDevices = 64;
constexpr std::size_t kWindow = 16;

// The child: never returns; exits with 0 only if killed (so any exit is a failure).
[[noreturn]] void run_child(const std::filesystem::path& db, const Fleet& fleet, int out) {
  try {
    DeviceStoreOptions options;
    options.database = db;
    options.dev_nonce_window = kWindow;
    DeviceStore store(options);
    std::vector<std::thread> threads;
    for (int t = 0; t < kChildThreads; ++t) {
      threads.emplace_back([&, t] {
        // Each device belongs to one thread and gets DevNonces 1, 2, 3, ...: every one is new for
        // every version's rule.
        std::map<std::size_t, std::uint16_t> next;
        for (std::uint32_t round = 0;; ++round) {
          CommitTicket last;
          for (std::size_t i = static_cast<std::size_t>(t); i < fleet.devices.size();
               i += kChildThreads) {
            const Eui64 dev = fleet.devices[i].dev_eui;
            const std::uint16_t nonce = ++next[i];
            const JoinOutcome o = store.record_join(dev, DevNonce(nonce));
            if (!o.accepted()) _exit(4);
            const std::uint32_t jn = o.join_nonce.value();
            store.when_durable(o.ticket, [dev, nonce, jn, out](const CommitResult& r) {
              if (!r.committed) _exit(5);
              std::array<std::uint8_t, kRecordSize> rec{};
              std::memcpy(rec.data(), dev.bytes().data(), 8);
              rec[8] = static_cast<std::uint8_t>(nonce >> 8);
              rec[9] = static_cast<std::uint8_t>(nonce);
              for (int b = 0; b < 4; ++b)
                rec[10 + static_cast<std::size_t>(b)] =
                    static_cast<std::uint8_t>(jn >> (24 - 8 * b));
              // Atomic: a pipe write below PIPE_BUF is never interleaved.
              if (::write(out, rec.data(), rec.size()) != static_cast<ssize_t>(rec.size()))
                _exit(6);
            });
            last = o.ticket;
          }
          // Keep a bounded backlog, but never wait for everything to settle.
          store.wait_durable(last);
          if (next.begin()->second > 60000) _exit(7);  // ran out of DevNonces: parent too slow
        }
      });
    }
    for (auto& th : threads) th.join();
  } catch (...) {
    _exit(3);
  }
  _exit(8);
}

TEST(DeviceStoreCrash, EveryJoinAnsweredBeforeKill9SurvivesIt) {
  TempDir dir;
  const auto db = dir / "js.db";
  // A mix of versions: counting devices (1.0.4, 1.1) and window devices (1.0.3).
  Fleet fleet;
  const Eui64 join_eui = Eui64::parse("70b3d57ed0000000");
  const MacVersion versions[] = {MacVersion::v1_0_3, MacVersion::v1_0_4, MacVersion::v1_1};
  for (std::size_t i = 0; i < kDevices; ++i) {
    fleet.devices.push_back(generate_device(i, join_eui, versions[i % 3], 99));
  }
  {
    DeviceStoreOptions options;
    options.database = db;
    DeviceStore store(options);
    store.upsert(fleet);
  }

  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    run_child(db, fleet, fds[1]);
  }
  ::close(fds[1]);

  // Read until enough joins were answered, then kill the child in the middle of its stream.
  std::vector<std::uint8_t> bytes;
  constexpr std::size_t kKillAfter = 20000;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  bool killed = false;
  std::array<std::uint8_t, 4096> buf{};
  for (;;) {
    if (!killed && bytes.size() / kRecordSize >= kKillAfter) {
      ASSERT_EQ(::kill(pid, SIGKILL), 0);
      killed = true;
    }
    if (!killed && std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      killed = true;
      ADD_FAILURE() << "the child reported only " << bytes.size() / kRecordSize << " joins in 30 s";
    }
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::read(fds[0], buf.data(), buf.size());
    if (n <= 0) break;  // EOF: the child is gone and the pipe drained
    bytes.insert(bytes.end(), buf.begin(), buf.begin() + n);
  }
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child stopped by itself (exit " << (WIFEXITED(status) ? WEXITSTATUS(status) : -1)
      << ") before it was killed";
  ASSERT_EQ(bytes.size() % kRecordSize, 0u);
  ASSERT_GE(bytes.size() / kRecordSize, kKillAfter);

  std::map<Eui64, std::vector<Reported>> reported;
  for (std::size_t off = 0; off < bytes.size(); off += kRecordSize) {
    Eui64::Array a{};
    std::memcpy(a.data(), bytes.data() + off, 8);
    const auto nonce = static_cast<std::uint16_t>(bytes[off + 8] << 8 | bytes[off + 9]);
    std::uint32_t jn = 0;
    for (std::size_t b = 0; b < 4; ++b) jn = jn << 8 | bytes[off + 10 + b];
    reported[Eui64(a)].push_back(Reported{nonce, jn});
  }

  DeviceStoreOptions options;
  options.database = db;
  options.dev_nonce_window = kWindow;
  DeviceStore store(options);
  std::size_t checked = 0;
  for (auto& [dev, joins] : reported) {
    const auto stored = store.find(dev);
    ASSERT_TRUE(stored);
    std::uint32_t max_join_nonce = 0;
    std::uint16_t max_dev_nonce = 0;
    for (const Reported& r : joins) {
      max_join_nonce = std::max(max_join_nonce, r.join_nonce);
      max_dev_nonce = std::max(max_dev_nonce, r.dev_nonce);
    }
    EXPECT_GE(stored->state.last_join_nonce.value(), max_join_nonce);
    ASSERT_TRUE(stored->state.last_dev_nonce);
    EXPECT_GE(stored->state.last_dev_nonce->value(), max_dev_nonce);
    const bool window = !lorawan::devnonce_is_counter(stored->mac_version);
    for (const Reported& r : joins) {
      // The DevNonce of every answered join is refused, unless (1.0.3) newer committed joins have
      // pushed it out of the window, which the rule allows.
      if (window) {
        const auto& used = stored->state.used_dev_nonces;
        const bool evicted = used.size() == kWindow && used.front().value() > r.dev_nonce;
        if (evicted) continue;
      }
      const JoinOutcome replay = store.record_join(dev, DevNonce(r.dev_nonce));
      EXPECT_EQ(replay.status, JoinStatus::dev_nonce_replayed)
          << dev.hex() << " DevNonce " << r.dev_nonce << " was answered before the kill";
      ++checked;
    }
    // The next JoinNonce is greater than every one answered.
    const JoinOutcome next = store.record_join(dev, DevNonce(65535));
    ASSERT_TRUE(next.accepted());
    EXPECT_GT(next.join_nonce.value(), max_join_nonce);
  }
  EXPECT_GE(checked, kDevices);  // every device's last answered DevNonce at least
  RecordProperty("answered_joins", static_cast<int>(bytes.size() / kRecordSize));
}

}  // namespace
}  // namespace joincheck::sim
