// A device's side of a join on each secure element back-end, one core:
//   make bench            (or: build/bench/bench_secure_element --benchmark_min_time=1)
// One iteration: the join-request (MIC in the element; 1.1 also derives JSIntKey/JSEncKey), the
// join-accept decrypted and its MIC verified in the element, the session keys derived into its
// slots. Software keys (OpenSSL) against an emulated ATECC608 spoken to byte by byte through the
// command client (CRC, framing, wake/idle, one AES or KDF command per block).
// Counters: `commands` is the chip commands per join; `chip_ms` is the time the same commands
// take on a real chip by the emulator's `max` timing model (secure-element.md §3.8) plus the
// 100 kHz bus, i.e. what a device with a TNGLORA would spend.
#include <benchmark/benchmark.h>

#include <memory>

#include "lorawan/join_procedure.hpp"
#include "sim/device/device.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/secure_element/atecc608/atecc_se.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"
#include "sim/secure_element/atecc608/emulated_transport.hpp"
#include "sim/secure_element/atecc608/emulator.hpp"
#include "sim/secure_element/software_se.hpp"

namespace {

using namespace joincheck;
using namespace joincheck::sim;

FleetDevice device(lorawan::MacVersion version) {
  return generate_device(0, lorawan::Eui64::parse("70b3d57ed0000000"), version, 7);
}

// The join-accept a JS sends for the device's last join-request.
lorawan::Bytes accept_for(const SimDevice& d, const FleetDevice& fd, std::uint32_t join_nonce) {
  lorawan::JoinContext ctx;
  ctx.join_eui = fd.join_eui;
  ctx.dev_eui = fd.dev_eui;
  ctx.dev_nonce = *d.last_dev_nonce();
  lorawan::JoinAccept fields;
  fields.join_nonce = lorawan::JoinNonce(join_nonce);
  fields.net_id = lorawan::NetId::parse("010203");
  fields.dev_addr = lorawan::DevAddr::parse("06000001");
  const bool v11 = lorawan::is_1_1(fd.mac_version);
  fields.dl_settings.raw = v11 ? 0x80 : 0x00;
  fields.rx_delay = 1;
  return lorawan::build_join_accept(v11 ? lorawan::JoinMode::lorawan_1_1 : lorawan::JoinMode::lorawan_1_0,
                                    lorawan::RootKeys{fd.app_key, fd.nwk_key}, ctx, fields)
      .phy_payload;
}

void join_loop(benchmark::State& state, SimDevice& d, const FleetDevice& fd) {
  std::uint32_t join_nonce = 0;
  for (auto _ : state) {
    d.make_join_request();
    if (!d.accept(accept_for(d, fd, ++join_nonce)).accepted()) state.SkipWithError("join-accept refused");
    if (join_nonce > 60000) {  // stay within the DevNonce counter
      state.PauseTiming();
      d.restore(SimDevice::Counters{});
      join_nonce = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DeviceJoin_Software(benchmark::State& state, lorawan::MacVersion version) {
  const FleetDevice fd = device(version);
  SimDevice d(fd, SoftwareSe::from_fleet_device(fd, 1));
  join_loop(state, d, fd);
}

void BM_DeviceJoin_EmulatedAtecc608(benchmark::State& state, lorawan::MacVersion version) {
  const FleetDevice fd = device(version);
  const atecc608::ChipProvisioning chip = atecc608::generate_chip(
      7, 0, fd.dev_eui, fd.join_eui, *fd.app_key, lorawan::is_1_1(version) ? fd.nwk_key : std::nullopt);
  atecc608::EmulatorOptions eo;
  eo.timing = atecc608::TimingModel::max;
  auto emulator = std::make_shared<atecc608::Emulator>(chip, eo);
  auto transport = std::make_unique<atecc608::EmulatedTransport>(emulator, atecc608::EmulatedTransport::kByteTimeAt100kHz);
  auto se = std::make_unique<AteccSe>(std::move(transport), fd.dev_eui, AteccSeOptions::for_version(version));
  AteccSe* chip_se = se.get();
  SimDevice d(fd, std::move(se));
  const std::size_t commands_before = chip_se->client().stats().commands;
  const auto clock_before = emulator->now();
  join_loop(state, d, fd);
  const double joins = static_cast<double>(state.iterations());
  state.counters["commands"] = static_cast<double>(chip_se->client().stats().commands - commands_before) / joins;
  state.counters["chip_ms"] = static_cast<double>((emulator->now() - clock_before).count()) / 1000.0 / joins;
}

BENCHMARK_CAPTURE(BM_DeviceJoin_Software, v1_0_3, lorawan::MacVersion::v1_0_3);
BENCHMARK_CAPTURE(BM_DeviceJoin_Software, v1_1, lorawan::MacVersion::v1_1);
BENCHMARK_CAPTURE(BM_DeviceJoin_EmulatedAtecc608, v1_0_3, lorawan::MacVersion::v1_0_3);
BENCHMARK_CAPTURE(BM_DeviceJoin_EmulatedAtecc608, v1_1, lorawan::MacVersion::v1_1);

}  // namespace

BENCHMARK_MAIN();
