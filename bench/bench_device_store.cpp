// The reference JS's device store: memory per device and group-commit throughput.
//   build/bench/bench_device_store [--devices N] [--mac 1.0.3|1.0.4|1.1] [--window N]
//                                  [--threads T] [--seconds S] [--database FILE]
//                                  [--wal-restart-frames N]
//
// 1. Memory: loads N generated devices (default 1,000,000) of one MAC version into an in-memory
//    store (or --database FILE), records one join per device (so that 1.0.x devices hold their
//    DevNonce window), and prints the resident set growth per device from /proc/self/statm.
//    Target: under 300 bytes per device with the default window of 16.
// 2. Durability: T threads (default 8) each record a join and wait until it is committed, as a
//    JS answering T requests at once does, for S seconds against a SQLite file in WAL mode
//    (synchronous=NORMAL, then FULL); prints joins/s, commits/s, joins per commit, the latency of
//    a join until durable (p50, p99, p99.9, max), and the size of the write-ahead log while the
//    store is open (the largest seen, sampled every 50 ms, and at the end): it must stay bounded,
//    as the checkpointer restarts it (store_database.hpp).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sim/fleet/fleet.hpp"
#include "sim/join_server/device_store.hpp"

namespace {

using namespace joincheck;
using lorawan::DevNonce;
using lorawan::Eui64;
using lorawan::MacVersion;

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t size = 0;
  std::size_t resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

const Eui64 kJoinEui = Eui64::parse("70b3d57ed0000000");

std::uintmax_t file_size(const std::filesystem::path& p) {
  std::error_code ec;
  const auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : n;
}

void measure_memory(std::size_t devices, MacVersion mac, std::size_t window,
                    const std::filesystem::path& database) {
  sim::DeviceStoreOptions options;
  options.dev_nonce_window = window;
  options.database = database;
  if (!database.empty()) std::filesystem::remove(database);
  std::optional<sim::DeviceStore> store_holder(std::in_place, options);
  sim::DeviceStore& store = *store_holder;
  const std::size_t before = resident_bytes();
  constexpr std::size_t kChunk = 10000;
  const auto start = std::chrono::steady_clock::now();
  std::vector<sim::DeviceIdentity> chunk;
  for (std::size_t first = 0; first < devices; first += kChunk) {
    chunk.clear();
    for (std::size_t i = first; i < std::min(devices, first + kChunk); ++i) {
      chunk.push_back(sim::DeviceIdentity::from(sim::generate_device(i, kJoinEui, mac, 1)));
    }
    store.upsert(chunk);
  }
  const auto loaded = std::chrono::steady_clock::now();
  sim::CommitTicket last;
  for (std::size_t i = 0; i < devices; ++i) {
    const Eui64 dev = sim::generate_device(i, kJoinEui, mac, 1).dev_eui;
    last = store.record_join(dev, DevNonce(7)).ticket;
  }
  store.wait_durable(last);
  const auto joined = std::chrono::steady_clock::now();
  const std::size_t after = resident_bytes();
  const std::size_t window_bytes = store.stats().dev_nonce_window_bytes;
  const double secs_load = std::chrono::duration<double>(loaded - start).count();
  const double secs_join = std::chrono::duration<double>(joined - loaded).count();
  std::printf(
      "memory: %zu devices, MAC %s, window %zu, %s: RSS %.1f MiB -> %.1f MiB, "
      "%.1f bytes/device, of which DevNonce windows %.1f KiB (load %.1f s, one join each %.1f s, "
      "both including generating the devices)\n",
      devices, std::string(lorawan::to_string(mac)).c_str(), window,
      database.empty() ? "in memory" : "SQLite", static_cast<double>(before) / 1048576.0,
      static_cast<double>(after) / 1048576.0,
      static_cast<double>(after - before) / static_cast<double>(devices),
      static_cast<double>(window_bytes) / 1024.0, secs_load, secs_join);
  store_holder.reset();  // closes the database
  if (!database.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    sim::DeviceStore reopened(options);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("reopen: %zu devices loaded from %s in %.2f s\n", reopened.size(),
                database.string().c_str(), secs);
  }
}

std::size_t wal_restart_frames = sim::DeviceStoreOptions{}.wal_restart_frames;

void measure_commits(std::size_t threads, double seconds, bool power_loss,
                     const std::filesystem::path& database) {
  std::filesystem::remove(database);
  std::filesystem::remove(database.string() + "-wal");
  sim::DeviceStoreOptions options;
  options.database = database;
  options.power_loss_durable = power_loss;
  options.wal_restart_frames = wal_restart_frames;
  sim::DeviceStore store(options);
  // One 1.0.4 device per thread: DevNonces count up without a limit worth reaching here.
  std::vector<sim::DeviceIdentity> ids;
  for (std::size_t t = 0; t < threads; ++t) {
    ids.push_back(
        sim::DeviceIdentity::from(sim::generate_device(t, kJoinEui, MacVersion::v1_0_4, 2)));
  }
  store.upsert(ids);
  const sim::DeviceStoreStats base = store.stats();
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> joins{0};
  std::vector<std::thread> workers;
  std::mutex latencies_mutex;
  std::vector<double> latencies;  // microseconds
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<double> mine;
      std::uint32_t nonce = 0;
      while (!stop.load(std::memory_order_relaxed) && nonce < 65535) {
        const auto t0 = std::chrono::steady_clock::now();
        const sim::JoinOutcome o = store.record_join(ids[t].dev_eui, DevNonce(++nonce));
        if (!o.accepted() || !store.wait_durable(o.ticket).committed) std::abort();
        mine.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
        joins.fetch_add(1, std::memory_order_relaxed);
      }
      std::lock_guard lk(latencies_mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  const std::string wal = database.string() + "-wal";
  std::uintmax_t wal_largest = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::duration<double>(seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    wal_largest = std::max(wal_largest, file_size(wal));
  }
  stop = true;
  for (auto& w : workers) w.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::uintmax_t wal_end = file_size(wal);
  const sim::DeviceStoreStats s = store.stats();
  const auto commits = static_cast<double>(s.commits - base.commits);
  std::sort(latencies.begin(), latencies.end());
  const auto pct = [&](double p) {
    return latencies.empty()
               ? 0.0
               : latencies[std::min(
                     latencies.size() - 1,
                     static_cast<std::size_t>(p / 100.0 * static_cast<double>(latencies.size())))];
  };
  std::printf(
      "durability: %zu threads, synchronous=%s: %.0f joins/s, %.0f commits/s, "
      "%.1f joins per commit; join until durable p50 %.0f us, p99 %.0f us, p99.9 %.0f us, "
      "max %.0f us; WAL largest %.1f MiB, at the end %.1f MiB (%llu checkpoints, %llu restarts)\n",
      threads, power_loss ? "FULL" : "NORMAL", static_cast<double>(joins) / secs, commits / secs,
      static_cast<double>(s.changes_committed - base.changes_committed) / commits, pct(50), pct(99),
      pct(99.9), latencies.empty() ? 0.0 : latencies.back(),
      static_cast<double>(wal_largest) / 1048576.0, static_cast<double>(wal_end) / 1048576.0,
      static_cast<unsigned long long>(s.wal_checkpoints),
      static_cast<unsigned long long>(s.wal_restarts));
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t devices = 1000000;
  std::size_t window = 16;
  std::size_t threads = 8;
  double seconds = 2.0;
  MacVersion mac = MacVersion::v1_0_3;
  std::filesystem::path database;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--devices") {
      devices = std::stoul(value);
    } else if (flag == "--window") {
      window = std::stoul(value);
    } else if (flag == "--threads") {
      threads = std::stoul(value);
    } else if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--mac") {
      mac = lorawan::parse_mac_version_or_throw(value, "--mac");
    } else if (flag == "--wal-restart-frames") {
      wal_restart_frames = std::stoul(value);
    } else if (flag == "--database") {
      database = value;
    } else {
      std::cerr << "unknown option " << flag << "\n";
      return 2;
    }
  }
  try {
    measure_memory(devices, mac, window, database);
    const auto scratch = std::filesystem::temp_directory_path() /
                         ("bench-device-store-" + std::to_string(::getpid()) + ".db");
    measure_commits(threads, seconds, false, scratch);
    measure_commits(threads, seconds, true, scratch);
    std::filesystem::remove(scratch);
    std::filesystem::remove(scratch.string() + "-wal");
    std::filesystem::remove(scratch.string() + "-shm");
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
