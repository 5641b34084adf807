// Join cryptography throughput, one core.
//   make bench            (or: build/bench/bench_join --benchmark_min_time=1)
// JS side of one join: parse the join-request and verify its MIC, build and encrypt the
// join-accept, derive the session keys, wrap two keys with RFC 3394 for the JoinAns.
// Device side: decrypt the join-accept, verify its MIC, derive the session keys.
// Target (issue "Foundation"): >= 300,000 JS-side joins per second on one core, for 1.0.x and
// 1.1. Within a call each key's AES schedule is set up once (KeySchedule) and CMAC and RFC 3394
// run over it (lorawan/crypto.hpp). Device keys are never cached across calls, so the one
// device here costs what a million different devices would; only the KEK's schedule is kept
// between joins, as a JS keeps it.
#include <benchmark/benchmark.h>

#include "lorawan/crypto.hpp"
#include "lorawan/join_procedure.hpp"

namespace {

using namespace joincheck::lorawan;

// brocaar/lorawan join-server test data (backend/joinserver/joinserver_test.go, "valid join-request
// (LoRaWAN 1.0)" and "valid join-request (LoRaWAN 1.1)").
const Aes128Key kKey = Aes128Key::parse("01020304050607080102030405060708");
const Aes128Key kAppKey11 = Aes128Key::parse("00000000000000000000000000000000");
const Bytes kKek(16, 0x00);

JoinAccept fields(std::uint8_t dl_settings, std::uint32_t join_nonce) {
  JoinAccept a;
  a.join_nonce = JoinNonce(join_nonce & JoinNonce::kMax);
  a.net_id = NetId::parse("010203");
  a.dev_addr = DevAddr::parse("01020304");
  a.dl_settings.raw = dl_settings;
  a.rx_delay = 1;
  a.cf_list = CfList::parse("988d8468958400000000000000000000");
  return a;
}

// Everything a JS does with keys for one JoinReq, given the device's root keys.
void js_side(benchmark::State& state, JoinMode mode, const RootKeys& root, std::uint8_t dl) {
  const Bytes request = build_join_request(mode == JoinMode::lorawan_1_0 ? *root.app_key : *root.nwk_key,
                                           JoinRequest{Eui64::parse("0807060504030201"),
                                                       Eui64::parse("0102030405060708"),
                                                       DevNonce(258), Mic{}});
  std::uint32_t join_nonce = 0;
  for (auto _ : state) {
    const JoinRequest r = parse_join_request(request);
    const Aes128Key& mic_key = mode == JoinMode::lorawan_1_0 ? *root.app_key : *root.nwk_key;
    if (join_request_mic(mic_key, r) != r.mic) state.SkipWithError("MIC mismatch");
    const BuiltJoinAccept built =
        build_join_accept(mode, root, JoinContext{JoinReqType::join, r.join_eui, r.dev_eui, r.dev_nonce},
                          fields(dl, ++join_nonce));
    Bytes nwk = aes_key_wrap(kKek, built.keys.nwk_s_key().bytes());
    Bytes app = aes_key_wrap(kKek, built.keys.app_s_key.bytes());
    benchmark::DoNotOptimize(built.phy_payload.data());
    benchmark::DoNotOptimize(nwk.data());
    benchmark::DoNotOptimize(app.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_JsSideJoin_1_0(benchmark::State& state) {
  js_side(state, JoinMode::lorawan_1_0, RootKeys{kKey, {}}, 0x15);
}
void BM_JsSideJoin_1_1(benchmark::State& state) {
  js_side(state, JoinMode::lorawan_1_1, RootKeys{kAppKey11, kKey}, 0x95);
}

void device_side(benchmark::State& state, bool device_1_1) {
  const RootKeys root = device_1_1 ? RootKeys{kAppKey11, kKey} : RootKeys{kKey, {}};
  const JoinMode mode = device_1_1 ? JoinMode::lorawan_1_1 : JoinMode::lorawan_1_0;
  const JoinContext ctx{JoinReqType::join, Eui64::parse("0807060504030201"),
                        Eui64::parse("0102030405060708"), DevNonce(258)};
  const Bytes phy = build_join_accept(mode, root, ctx, fields(device_1_1 ? 0x95 : 0x15, 65536)).phy_payload;
  const OpenJoinAcceptInput in{device_1_1, root, JoinReqType::join, ctx.join_eui, ctx.dev_eui, ctx.dev_nonce};
  for (auto _ : state) {
    const OpenedJoinAccept opened = open_join_accept(phy, in);
    if (opened.mic_valid != true) state.SkipWithError("MIC invalid");
    benchmark::DoNotOptimize(opened.keys);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_DeviceSideJoin_1_0(benchmark::State& state) { device_side(state, false); }
void BM_DeviceSideJoin_1_1(benchmark::State& state) { device_side(state, true); }

// The primitives, to see where the time goes.
void BM_Cmac19Bytes(benchmark::State& state) {
  const Bytes data(19, 0x01);
  for (auto _ : state) benchmark::DoNotOptimize(cmac(kKey, data));
}
void BM_KeyWrap128(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(aes_key_wrap(kKek, kKey.bytes()));
}
void BM_KeyUnwrap128(benchmark::State& state) {
  const Bytes wrapped = aes_key_wrap(kKek, kKey.bytes());
  for (auto _ : state) benchmark::DoNotOptimize(aes_key_unwrap(kKek, wrapped));
}

BENCHMARK(BM_JsSideJoin_1_0);
BENCHMARK(BM_JsSideJoin_1_1);
BENCHMARK(BM_DeviceSideJoin_1_0);
BENCHMARK(BM_DeviceSideJoin_1_1);
BENCHMARK(BM_Cmac19Bytes);
BENCHMARK(BM_KeyWrap128);
BENCHMARK(BM_KeyUnwrap128);

}  // namespace

BENCHMARK_MAIN();
