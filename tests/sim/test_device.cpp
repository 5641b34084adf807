// The software secure element and the simulated device: against the public join vectors of
// brocaar/lorawan backend/joinserver/joinserver_test.go, "valid join-request (LoRaWAN 1.0)" / "(LoRaWAN 1.1)",
// commit 7a20fad), RFC 4493 and NIST SP 800-38A, and end to end against the reference JS.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "js_test_support.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/device/device.hpp"
#include "sim/join_server/join_server.hpp"
#include "sim/secure_element/software_se.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using namespace lorawan;

Bytes hex(std::string_view s) { return from_hex(s, "test vector"); }
Block block(std::string_view s) {
  const Bytes b = hex(s);
  Block out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

// brocaar/lorawan backend/joinserver/joinserver_test.go, "valid join-request (LoRaWAN 1.0)" (the
// NwkKey field plays the AppKey role).
constexpr std::string_view kV10AppKey = "01020304050607080102030405060708";
constexpr std::string_view kV10JoinRequest = "00010203040506070808070605040302010201cde6acb8";
constexpr std::string_view kV10Plaintext =
    "20000001030201040302011501988d84689584000000000000000000007d57c47f";
constexpr std::string_view kV10Accept =
    "2026f4b247f0a5d7e46a720e61c8bccbc5179f4566e185ed6889589bb1a9c68cc0";
constexpr std::string_view kV10NwkSKey = "df53c35f3034ccced0ff354c70de04df";
constexpr std::string_view kV10AppSKey = "927b9c911183cffe4cb2ff4b75545f6d";

// The same test file, "valid join-request (LoRaWAN 1.1)" (AppKey all zero).
constexpr std::string_view kV11NwkKey = "01020304050607080102030405060708";
constexpr std::string_view kV11AppKey = "00000000000000000000000000000000";
constexpr std::string_view kV11JoinRequest = kV10JoinRequest;
constexpr std::string_view kV11Accept =
    "20a4c899795a42f5d16067a822c21b379af8aaa301a90d1c60d4cb792cb8eeb0a3";
constexpr std::string_view kV11JsIntKey = "b8ae379696825f22c8abbec24c31a84b";
constexpr std::string_view kV11JsEncKey = "d4bd9461adaa3b4e601953ebd08bffc6";
constexpr std::string_view kV11FNwkSIntKey = "537f8aae896c79e015d102d06286354e";
constexpr std::string_view kV11SNwkSIntKey = "589498993092cfdb5fd2e02ac7510bf1";
constexpr std::string_view kV11NwkSEncKey = "9898283c4f66eb6c6fd5165882046c40";
constexpr std::string_view kV11AppSKey = "01621215d1ca08febf0c602cc2ad90fa";

// The vectors' device: DevEUI 0102030405060708, JoinEUI 0807060504030201, DevNonce 0102 (258).
FleetDevice vector_device(MacVersion v) {
  FleetDevice d;
  d.dev_eui = Eui64::parse("0102030405060708");
  d.join_eui = Eui64::parse("0807060504030201");
  d.mac_version = v;
  if (is_1_1(v)) {
    d.nwk_key = Aes128Key::parse(kV11NwkKey);
    d.app_key = Aes128Key::parse(kV11AppKey);
  } else {
    d.app_key = Aes128Key::parse(kV10AppKey);
  }
  d.dev_nonce_policy = DevNoncePolicy::counter;
  d.dev_nonce_start = 0x0102;
  return d;
}

// A join-accept answering `device`'s last join-request, built by the JS-side function.
Bytes accept_for(const SimDevice& device, const FleetDevice& d, std::uint32_t join_nonce,
                 JoinMode mode) {
  JoinContext ctx;
  ctx.join_eui = d.join_eui;
  ctx.dev_eui = d.dev_eui;
  ctx.dev_nonce = *device.last_dev_nonce();
  JoinAccept fields;
  fields.join_nonce = JoinNonce(join_nonce);
  fields.net_id = NetId::parse("010203");
  fields.dev_addr = DevAddr::parse("01020304");
  fields.dl_settings.raw = mode == JoinMode::lorawan_1_1 ? 0x95 : 0x15;
  fields.rx_delay = 1;
  return build_join_accept(mode, RootKeys{d.app_key, d.nwk_key}, ctx, fields).phy_payload;
}

// ---- SoftwareSe ----

SoftwareSe rfc4493_se() {
  SeIdentity id;
  id.dev_eui = Eui64::parse("0102030405060708");
  id.join_eui = Eui64::parse("0807060504030201");
  return SoftwareSe(id, RootKeys{Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c"), {}}, 1);
}

TEST(SoftwareSe, AesEncryptWithAStoredKeyMatchesSp800_38a) {
  SoftwareSe se = rfc4493_se();
  // NIST SP 800-38A F.1.1 ECB-AES128.Encrypt, block 1.
  EXPECT_EQ(to_hex(se.aes_encrypt(KeySlot::app_key, block("6bc1bee22e409f96e93d7e117393172a"))),
            "3ad77bb40d7a3660a89ecaf32466ef97");
}

TEST(SoftwareSe, CmacWithAStoredKeyMatchesRfc4493) {
  SoftwareSe se = rfc4493_se();
  EXPECT_EQ(to_hex(se.cmac(KeySlot::app_key, {})), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(to_hex(se.cmac(KeySlot::app_key, hex("6bc1bee22e409f96e93d7e117393172a"))),
            "070a16b46b4d4144f79bdd9dd04a287c");
}

TEST(SoftwareSe, DeriveAndStoreGivesTheVectorsLifetimeKeys) {
  SeIdentity id;
  id.dev_eui = Eui64::parse("0102030405060708");
  id.join_eui = Eui64::parse("0807060504030201");
  RootKeys roots;
  roots.app_key = Aes128Key::parse(kV11AppKey);
  roots.nwk_key = Aes128Key::parse(kV11NwkKey);
  SoftwareSe se(id, roots);
  // JSIntKey = E(NwkKey, 06|DevEUI|pad16), JSEncKey = E(NwkKey, 05|...) (LoRaWAN 1.1 §6.1.1.4): the 1.1 vector.
  se.derive_and_store(KeySlot::nwk_key, block("06080706050403020100000000000000"),
                      KeySlot::js_int_key);
  se.derive_and_store(KeySlot::nwk_key, block("05080706050403020100000000000000"),
                      KeySlot::js_enc_key);
  EXPECT_EQ(se.key(KeySlot::js_int_key)->hex(), kV11JsIntKey);
  EXPECT_EQ(se.key(KeySlot::js_enc_key)->hex(), kV11JsEncKey);
  // And the same as lorawan's derivation.
  const JsKeys js = derive_js_keys(Aes128Key::parse(kV11NwkKey), Eui64::parse("0102030405060708"));
  EXPECT_EQ(*se.key(KeySlot::js_int_key), js.js_int_key);
  EXPECT_EQ(*se.key(KeySlot::js_enc_key), js.js_enc_key);
  // A derived key is usable like any stored key.
  EXPECT_EQ(se.cmac(KeySlot::js_int_key, hex("00")), cmac(js.js_int_key, hex("00")));
}

TEST(SoftwareSe, ErrorsNameDeviceOperationAndSlotButNoKey) {
  SoftwareSe se = rfc4493_se();
  try {
    se.cmac(KeySlot::js_int_key, hex("00"));
    FAIL() << "no error";
  } catch (const SecureElementError& e) {
    EXPECT_EQ(std::string(e.what()),
              "secure element (software) of device 0102030405060708: cmac with JSIntKey: the "
              "slot holds no key");
    EXPECT_EQ(e.operation(), "cmac");
    EXPECT_EQ(e.slot(), KeySlot::js_int_key);
  }
  EXPECT_THROW(se.aes_encrypt(KeySlot::nwk_key, Block{}), SecureElementError);
  try {
    se.set_key(KeySlot::app_key, Aes128Key::parse("000102030405060708090a0b0c0d0e0f"));
    FAIL() << "no error";
  } catch (const SecureElementError& e) {
    EXPECT_CONTAINS(e.what(), "set-key with AppKey: root keys are provisioned");
  }
  try {
    se.derive_and_store(KeySlot::app_key, Block{}, KeySlot::nwk_key);
    FAIL() << "no error";
  } catch (const SecureElementError& e) {
    EXPECT_CONTAINS(e.what(), "derive-and-store from AppKey with NwkKey");
    EXPECT_NOT_CONTAINS(e.what(), "2b7e1516");
  }
  // The root key was not touched by the refused writes.
  EXPECT_EQ(se.key(KeySlot::app_key)->hex(), "2b7e151628aed2a6abf7158809cf4f3c");
}

TEST(SoftwareSe, IdentityKeysAndSeededRandom) {
  const FleetDevice d = vector_device(MacVersion::v1_1);
  auto a = SoftwareSe::from_fleet_device(d, 42);
  auto b = SoftwareSe::from_fleet_device(d, 42);
  EXPECT_EQ(a->identity().dev_eui, d.dev_eui);
  EXPECT_EQ(a->identity().join_eui, d.join_eui);
  EXPECT_EQ(a->backend(), "software");
  ASSERT_NE(a->key_access(), nullptr);
  EXPECT_EQ(a->key_access()->key(KeySlot::nwk_key), d.nwk_key);
  EXPECT_FALSE(a->has_key(KeySlot::app_s_key));
  a->set_key(KeySlot::app_s_key, Aes128Key::parse(kV11AppSKey));
  EXPECT_TRUE(a->has_key(KeySlot::app_s_key));

  Bytes ra(21), rb(21);
  a->random(ra);
  b->random(rb);
  EXPECT_EQ(ra, rb);
  a->random(ra);
  EXPECT_NE(ra, rb);
  EXPECT_NE(ra, Bytes(21, 0));
}

// ---- SimDevice: the vectors ----

TEST(SimDevice, JoinRequestEqualsTheVectors) {
  // Both brocaar vectors: DevNonce 0102 from the counter policy starting there.
  SimDevice d10(vector_device(MacVersion::v1_0_4));
  EXPECT_EQ(to_hex(d10.make_join_request()), kV10JoinRequest);
  SimDevice d11(vector_device(MacVersion::v1_1));
  EXPECT_EQ(to_hex(d11.make_join_request()), kV11JoinRequest);
  EXPECT_EQ(d11.last_dev_nonce(), DevNonce(0x0102));
}

TEST(SimDevice, AcceptsTheV10AcceptAndDerivesItsKeys) {
  SimDevice d(vector_device(MacVersion::v1_0_3));
  d.make_join_request();
  const JoinResult r = d.accept(hex(kV10Accept));
  ASSERT_TRUE(r.accepted()) << to_string(r);
  EXPECT_EQ(to_hex(encode_join_accept_plaintext(*r.accept)), kV10Plaintext);
  ASSERT_TRUE(d.session());
  const Session& s = *d.session();
  EXPECT_EQ(s.mode, JoinMode::lorawan_1_0);
  EXPECT_EQ(s.dev_addr, DevAddr::parse("01020304"));
  EXPECT_EQ(s.net_id, NetId::parse("010203"));
  EXPECT_EQ(s.join_nonce, JoinNonce(0x010000));
  EXPECT_EQ(s.rx_delay, 1);
  EXPECT_EQ(s.dl_settings.raw, 0x15);
  EXPECT_EQ(s.cf_list, CfList::parse("988d8468958400000000000000000000"));
  EXPECT_EQ(s.keys->nwk_s_key().hex(), kV10NwkSKey);
  EXPECT_EQ(s.keys->s_nwk_s_int_key.hex(), kV10NwkSKey);
  EXPECT_EQ(s.keys->nwk_s_enc_key.hex(), kV10NwkSKey);
  EXPECT_EQ(s.keys->app_s_key.hex(), kV10AppSKey);
  EXPECT_FALSE(s.js_keys);
  // Stored back into the secure element's slots.
  const KeyAccess& keys = *d.secure_element().key_access();
  EXPECT_EQ(keys.key(KeySlot::f_nwk_s_int_key)->hex(), kV10NwkSKey);
  EXPECT_EQ(keys.key(KeySlot::app_s_key)->hex(), kV10AppSKey);
  EXPECT_FALSE(keys.key(KeySlot::js_int_key));
  // No key in any text.
  for (const std::string& text : {to_string(r), to_string(s)}) {
    EXPECT_NOT_CONTAINS(text, kV10NwkSKey);
    EXPECT_NOT_CONTAINS(text, kV10AppSKey);
    EXPECT_NOT_CONTAINS(text, kV10AppKey);
  }
  EXPECT_CONTAINS(to_string(s), "DevAddr 01020304");
}

TEST(SimDevice, AcceptsTheV11AcceptAndDerivesItsKeys) {
  SimDevice d(vector_device(MacVersion::v1_1));
  d.make_join_request();
  const JoinResult r = d.accept(hex(kV11Accept));
  ASSERT_TRUE(r.accepted()) << to_string(r);
  const Session& s = *d.session();
  EXPECT_EQ(s.mode, JoinMode::lorawan_1_1);  // OptNeg set in DLSettings 95
  EXPECT_TRUE(s.dl_settings.opt_neg());
  EXPECT_EQ(s.keys->f_nwk_s_int_key.hex(), kV11FNwkSIntKey);
  EXPECT_EQ(s.keys->s_nwk_s_int_key.hex(), kV11SNwkSIntKey);
  EXPECT_EQ(s.keys->nwk_s_enc_key.hex(), kV11NwkSEncKey);
  EXPECT_EQ(s.keys->app_s_key.hex(), kV11AppSKey);
  ASSERT_TRUE(s.js_keys);
  EXPECT_EQ(s.js_keys->js_int_key.hex(), kV11JsIntKey);
  const KeyAccess& keys = *d.secure_element().key_access();
  EXPECT_EQ(keys.key(KeySlot::js_enc_key)->hex(), kV11JsEncKey);
  EXPECT_EQ(keys.key(KeySlot::s_nwk_s_int_key)->hex(), kV11SNwkSIntKey);
  EXPECT_EQ(keys.key(KeySlot::nwk_s_enc_key)->hex(), kV11NwkSEncKey);
  for (const std::string& text : {to_string(r), to_string(s)}) {
    for (auto k : {kV11FNwkSIntKey, kV11SNwkSIntKey, kV11NwkSEncKey, kV11AppSKey, kV11JsIntKey}) {
      EXPECT_NOT_CONTAINS(text, k);
    }
  }
}

TEST(SimDevice, A11DeviceServedWithOptNeg0UsesThe10Formulas) {
  const FleetDevice fd = vector_device(MacVersion::v1_1);
  SimDevice d(fd);
  d.make_join_request();
  const JoinResult r = d.accept(accept_for(d, fd, 1, JoinMode::lorawan_1_1_opt_neg_0));
  ASSERT_TRUE(r.accepted()) << to_string(r);
  EXPECT_EQ(d.session()->mode, JoinMode::lorawan_1_1_opt_neg_0);
  EXPECT_EQ(*d.session()->keys, derive_session_keys_1_0(*fd.nwk_key, JoinNonce(1),
                                                       NetId::parse("010203"), DevNonce(0x0102)));
}

TEST(SimDevice, WrongMicIsRefusedNotAccepted) {
  SimDevice d(vector_device(MacVersion::v1_0_3));
  d.make_join_request();
  // The 1.0 vector's plaintext with its last MIC byte changed, encrypted as a JS would.
  Bytes plain = hex(kV10Plaintext);
  plain.back() ^= 0x01;
  const JoinResult bad = d.accept(encrypt_join_accept(plain, Aes128Key::parse(kV10AppKey)));
  EXPECT_EQ(bad.status, AcceptStatus::mic_invalid);
  EXPECT_CONTAINS(bad.reason, "7d57c47e");
  EXPECT_FALSE(d.joined());
  EXPECT_FALSE(d.last_join_nonce());
  // A wrong key gives a wrong MIC too; garbage is malformed, reported as well.
  EXPECT_EQ(d.accept(encrypt_join_accept(hex(kV10Plaintext), Aes128Key{})).status,
            AcceptStatus::mic_invalid);
  const JoinResult junk = d.accept(hex("2001020304"));
  EXPECT_EQ(junk.status, AcceptStatus::malformed);
  EXPECT_CONTAINS(to_string(junk), "17 bytes");
  EXPECT_EQ(d.accept(hex(kV10JoinRequest)).status, AcceptStatus::malformed);
  // The request is still pending: the genuine accept is taken.
  EXPECT_TRUE(d.accept(hex(kV10Accept)).accepted());
}

TEST(SimDevice, AcceptWithoutJoinRequestIsAnError) {
  SimDevice d(vector_device(MacVersion::v1_0_3));
  EXPECT_THROW(d.accept(hex(kV10Accept)), Error);
  d.make_join_request();
  EXPECT_TRUE(d.accept(hex(kV10Accept)).accepted());
  // The request has been answered.
  EXPECT_THROW(d.accept(hex(kV10Accept)), Error);
}

TEST(SimDevice, JoinNonceReplayRefusedFor104And11) {
  for (const auto& [version, mode] : {std::pair{MacVersion::v1_0_4, JoinMode::lorawan_1_0},
                                      std::pair{MacVersion::v1_1, JoinMode::lorawan_1_1}}) {
    SCOPED_TRACE(std::string(to_string(version)));
    const FleetDevice fd = vector_device(version);
    SimDevice d(fd);
    d.make_join_request();
    ASSERT_TRUE(d.accept(accept_for(d, fd, 5, mode)).accepted());
    const auto first_keys = *d.session()->keys;

    d.make_join_request();
    const JoinResult same = d.accept(accept_for(d, fd, 5, mode));
    EXPECT_EQ(same.status, AcceptStatus::join_nonce_replay) << to_string(same);
    EXPECT_CONTAINS(same.reason, "JoinNonce 000005 is not greater than the last accepted 000005");
    EXPECT_EQ(d.accept(accept_for(d, fd, 4, mode)).status, AcceptStatus::join_nonce_replay);
    EXPECT_EQ(*d.session()->keys, first_keys);  // the old session stays
    EXPECT_EQ(d.session()->dev_nonce, DevNonce(0x0102));

    const JoinResult next = d.accept(accept_for(d, fd, 6, mode));
    EXPECT_TRUE(next.accepted()) << to_string(next);
    EXPECT_EQ(d.last_join_nonce(), JoinNonce(6));
    EXPECT_EQ(d.session()->dev_nonce, DevNonce(0x0103));
  }
}

TEST(SimDevice, JoinNonceNotCheckedBefore104) {
  const FleetDevice fd = vector_device(MacVersion::v1_0_3);
  SimDevice d(fd);
  d.make_join_request();
  ASSERT_TRUE(d.accept(accept_for(d, fd, 5, JoinMode::lorawan_1_0)).accepted());
  d.make_join_request();
  EXPECT_TRUE(d.accept(accept_for(d, fd, 5, JoinMode::lorawan_1_0)).accepted());
  d.make_join_request();
  EXPECT_TRUE(d.accept(accept_for(d, fd, 2, JoinMode::lorawan_1_0)).accepted());
}

// ---- DevNonce policies ----

TEST(SimDevice, CounterPolicyCountsUpFromDevNonceStartUntilExhausted) {
  FleetDevice fd = vector_device(MacVersion::v1_0_4);
  fd.dev_nonce_policy.reset();  // counter is 1.0.4's default
  fd.dev_nonce_start = 0xfffd;
  SimDevice d(fd);
  EXPECT_EQ(d.dev_nonce_policy(), DevNoncePolicy::counter);
  EXPECT_EQ(parse_join_request(d.make_join_request()).dev_nonce, DevNonce(0xfffd));
  EXPECT_EQ(d.next_dev_nonce(), DevNonce(0xfffe));
  // An explicit DevNonce leaves the counter alone.
  EXPECT_EQ(parse_join_request(d.make_join_request(DevNonce(7))).dev_nonce, DevNonce(7));
  EXPECT_EQ(d.last_dev_nonce(), DevNonce(7));
  EXPECT_EQ(d.next_dev_nonce(), DevNonce(0xffff));
  try {
    d.make_join_request();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "device 0102030405060708: DevNonce counter exhausted");
  }

  fd.dev_nonce_start.reset();
  SimDevice zero(fd);
  EXPECT_EQ(zero.next_dev_nonce(), DevNonce(0));
  EXPECT_EQ(zero.next_dev_nonce(), DevNonce(1));
}

TEST(SimDevice, FixedPolicyRepeatsDevNonceStart) {
  FleetDevice fd = vector_device(MacVersion::v1_0_4);
  fd.dev_nonce_policy = DevNoncePolicy::fixed;
  fd.dev_nonce_start = 0x1234;
  SimDevice d(fd);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(parse_join_request(d.make_join_request()).dev_nonce, DevNonce(0x1234));
  }
}

TEST(SimDevice, RandomPolicyIsSeededAndAvoidsRecentRepeats) {
  FleetDevice fd = vector_device(MacVersion::v1_0_2);
  fd.dev_nonce_policy.reset();  // random is 1.0.2's default
  SimDeviceOptions options;
  options.seed = 7;
  options.recent_dev_nonces = 300;
  SimDevice a(fd, options), b(fd, options);
  EXPECT_EQ(a.dev_nonce_policy(), DevNoncePolicy::random);
  std::vector<std::uint32_t> drawn;
  for (int i = 0; i < 3000; ++i) {
    const DevNonce n = a.next_dev_nonce();
    ASSERT_EQ(n, b.next_dev_nonce());  // same seed, same sequence
    drawn.push_back(n.value());
  }
  for (std::size_t i = 0; i < drawn.size(); ++i) {
    for (std::size_t j = i > 300 ? i - 300 : 0; j < i; ++j) {
      ASSERT_NE(drawn[i], drawn[j]) << "draws " << j << " and " << i;
    }
  }
  EXPECT_GT(std::set<std::uint32_t>(drawn.begin(), drawn.end()).size(), 2800u);

  // Another seed, or another device under the same seed, draws another sequence.
  SimDeviceOptions other_seed = options;
  other_seed.seed = 8;
  SimDevice c(fd, other_seed);
  FleetDevice other_fd = fd;
  other_fd.dev_eui = Eui64::parse("0102030405060709");
  SimDevice other(other_fd, options);
  SimDevice a2(fd, options);
  bool seed_differs = false;
  bool device_differs = false;
  for (int i = 0; i < 4; ++i) {
    const DevNonce n = a2.next_dev_nonce();
    seed_differs |= c.next_dev_nonce() != n;
    device_differs |= other.next_dev_nonce() != n;
  }
  EXPECT_TRUE(seed_differs);
  EXPECT_TRUE(device_differs);
}

// ---- construction ----

TEST(SimDevice, RefusesASecureElementThatDoesNotMatch) {
  const FleetDevice fd = vector_device(MacVersion::v1_1);
  FleetDevice other = fd;
  other.dev_eui = Eui64::parse("00000000000000ff");
  try {
    SimDevice d(fd, SoftwareSe::from_fleet_device(other));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(),
                    "device 0102030405060708: the secure element (software) holds "
                    "DevEUI 00000000000000ff");
  }
  FleetDevice no_nwk = fd;
  no_nwk.nwk_key.reset();
  EXPECT_THROW(SimDevice{no_nwk}, Error);
  FleetDevice no_app = vector_device(MacVersion::v1_0_3);
  no_app.app_key.reset();
  try {
    SimDevice d(no_app);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "needs an AppKey");
    EXPECT_NOT_CONTAINS(e.what(), kV10AppKey);
  }
  EXPECT_THROW(SimDevice(fd, nullptr), Error);
}

// ---- uplinks ----

TEST(SimDevice, FirstUplinksVerifyWithTheDerivedKeys10) {
  SimDevice d(vector_device(MacVersion::v1_0_3));
  EXPECT_THROW(d.make_uplink(1, hex("01")), Error);
  d.make_join_request();
  ASSERT_TRUE(d.accept(hex(kV10Accept)).accepted());
  const auto nwk = NetworkSessionKeys::v1_0(Aes128Key::parse(kV10NwkSKey));
  const Bytes payload = hex("68656c6c6f");
  for (std::uint32_t fcnt = 0; fcnt < 3; ++fcnt) {
    const DataFrame f = DataFrame::parse(d.make_uplink(10, payload, fcnt == 1));
    EXPECT_EQ(f.mtype, fcnt == 1 ? MType::confirmed_data_up : MType::unconfirmed_data_up);
    EXPECT_EQ(f.dev_addr, DevAddr::parse("01020304"));
    EXPECT_EQ(f.fcnt, fcnt);
    EXPECT_EQ(f.fport, 10);
    MicContext ctx;
    ctx.fcnt = fcnt;
    EXPECT_TRUE(verify_uplink_mic(f, nwk, ctx));
    EXPECT_EQ(decrypt_frm_payload(f, fcnt, nwk, Aes128Key::parse(kV10AppSKey)), payload);
  }
  EXPECT_EQ(d.session()->fcnt_up, 3u);
}

TEST(SimDevice, FirstUplinkVerifiesWithTheDerivedKeys11) {
  SimDevice d(vector_device(MacVersion::v1_1));
  d.make_join_request();
  ASSERT_TRUE(d.accept(hex(kV11Accept)).accepted());
  const auto nwk =
      NetworkSessionKeys::v1_1(Aes128Key::parse(kV11FNwkSIntKey), Aes128Key::parse(kV11SNwkSIntKey),
                               Aes128Key::parse(kV11NwkSEncKey));
  const DataFrame f = DataFrame::parse(d.make_uplink(0, hex("02")));  // LinkCheckReq on FPort 0
  MicContext ctx;
  EXPECT_TRUE(verify_uplink_mic(f, nwk, ctx));
  EXPECT_FALSE(
      verify_uplink_mic(f, NetworkSessionKeys::v1_0(Aes128Key::parse(kV11FNwkSIntKey)), ctx));
  EXPECT_EQ(decrypt_frm_payload(f, 0, nwk), hex("02"));
  d.make_uplink(1, hex("00"));
  EXPECT_EQ(d.session()->fcnt_up, 2u);
}

// ---- a secure element whose keys never leave it ----

// The software element behind an interface that exports nothing, as a chip is: the device must
// join and send with its primitives alone, and its keys are compared by key check value.
class SealedSe final : public SecureElement {
 public:
  explicit SealedSe(const FleetDevice& d) : inner_(SoftwareSe::from_fleet_device(d, 7)) {}
  std::string_view backend() const override { return "sealed"; }
  SeIdentity identity() const override { return inner_->identity(); }
  bool has_key(KeySlot slot) const override { return inner_->has_key(slot); }
  void set_key(KeySlot slot, const Aes128Key& key) override { inner_->set_key(slot, key); }
  Block aes_encrypt(KeySlot slot, const Block& in) override { ++operations; return inner_->aes_encrypt(slot, in); }
  Block cmac(KeySlot slot, ByteSpan message) override { ++operations; return inner_->cmac(slot, message); }
  void derive_and_store(KeySlot root, const Block& input, KeySlot target) override {
    ++operations;
    inner_->derive_and_store(root, input, target);
  }
  void random(std::span<std::uint8_t> out) override { inner_->random(out); }
  int operations = 0;

 private:
  std::unique_ptr<SoftwareSe> inner_;
};

TEST(SimDevice, JoinsAndSendsWithASecureElementThatKeepsItsKeys) {
  for (const MacVersion v : {MacVersion::v1_0_3, MacVersion::v1_1}) {
    SCOPED_TRACE(std::string(to_string(v)));
    const FleetDevice fd = vector_device(v);
    auto sealed = std::make_unique<SealedSe>(fd);
    SealedSe* se = sealed.get();
    SimDevice d(fd, std::move(sealed));
    EXPECT_EQ(d.make_join_request(), hex(kV10JoinRequest));  // the vectors' request, MIC in the element
    const JoinResult r = d.accept(hex(is_1_1(v) ? kV11Accept : kV10Accept));
    ASSERT_TRUE(r.accepted()) << to_string(r);
    EXPECT_GT(se->operations, 0);
    const Session& s = *d.session();
    EXPECT_FALSE(s.keys);  // nothing came out of the element
    EXPECT_FALSE(s.js_keys);
    EXPECT_THROW(s.network_keys(), Error);
    const Aes128Key app_s = Aes128Key::parse(is_1_1(v) ? kV11AppSKey : kV10AppSKey);
    const Aes128Key f = Aes128Key::parse(is_1_1(v) ? kV11FNwkSIntKey : kV10NwkSKey);
    const SessionKeyCheck kcv = d.session_key(KeySlot::app_s_key);
    EXPECT_FALSE(kcv.value);
    EXPECT_TRUE(kcv.matches(app_s));
    EXPECT_FALSE(kcv.matches(f));
    EXPECT_TRUE(d.session_key(KeySlot::f_nwk_s_int_key).matches(f));
    // An uplink built in the element verifies with the vectors' keys.
    const NetworkSessionKeys nwk =
        is_1_1(v) ? NetworkSessionKeys::v1_1(f, Aes128Key::parse(kV11SNwkSIntKey), Aes128Key::parse(kV11NwkSEncKey))
                  : NetworkSessionKeys::v1_0(f);
    const DataFrame up = DataFrame::parse(d.make_uplink(2, hex("cafe"), true));
    MicContext ctx;
    EXPECT_TRUE(verify_uplink_mic(up, nwk, ctx));
    EXPECT_EQ(decrypt_frm_payload(up, 0, nwk, app_s), hex("cafe"));
  }
}

TEST(SimDevice, TakesTheAckOfItsConfirmedUplinkAndRefusesOthers) {
  for (const MacVersion v : {MacVersion::v1_0_3, MacVersion::v1_1}) {
    SCOPED_TRACE(std::string(to_string(v)));
    SimDevice d(vector_device(v));
    d.make_join_request();
    ASSERT_TRUE(d.accept(hex(is_1_1(v) ? kV11Accept : kV10Accept)).accepted());
    EXPECT_THROW(SimDevice(vector_device(v)).take_downlink(hex("60")), Error);  // no session
    d.make_uplink(1, hex("01"));        // FCnt 0
    d.make_uplink(1, hex("02"), true);  // FCnt 1, confirmed
    const NetworkSessionKeys nwk = d.session()->network_keys();
    DataParams p;
    p.dev_addr = d.session()->dev_addr;
    p.fcnt = 0;
    p.fctrl.ack = true;
    p.conf_fcnt = 1;  // a 1.1 ACK's MIC carries the acknowledged FCntUp
    const DownlinkResult ok = d.take_downlink(build_downlink(p, nwk).encode());
    EXPECT_TRUE(ok.taken()) << to_string(ok);
    EXPECT_TRUE(ok.ack);
    EXPECT_EQ(ok.fcnt, 0u);
    // The same frame again: FCntDown went on, so it is taken as 0x10000, whose MIC differs.
    EXPECT_FALSE(d.take_downlink(build_downlink(p, nwk).encode()).mic_valid);
    p.fcnt = 1;
    p.dev_addr = DevAddr::parse("01020399");
    const DownlinkResult other = d.take_downlink(build_downlink(p, nwk).encode());
    EXPECT_FALSE(other.for_this_device);
    EXPECT_CONTAINS(other.reason, "DevAddr 01020399");
    p.dev_addr = d.session()->dev_addr;
    Bytes bad = build_downlink(p, nwk).encode();
    bad.back() ^= 1;
    const DownlinkResult refused = d.take_downlink(bad);
    EXPECT_TRUE(refused.for_this_device);
    EXPECT_FALSE(refused.mic_valid);
    EXPECT_CONTAINS(refused.reason, "does not verify");
    EXPECT_FALSE(d.take_downlink(d.make_uplink(1, hex("03"))).for_this_device);  // an uplink
  }
}

// ---- rejoin-requests (LoRaWAN 1.1) ----

TEST(SimDevice, RejoinNeedsALoRaWAN11DeviceWithAnOptNeg1Session) {
  // A 1.0.x device has no rejoin-requests, joined or not.
  const FleetDevice fd10 = vector_device(MacVersion::v1_0_4);
  SimDevice d10(fd10);
  d10.make_join_request();
  ASSERT_TRUE(d10.accept(accept_for(d10, fd10, 1, JoinMode::lorawan_1_0)).accepted());
  try {
    d10.make_rejoin_request(RejoinType::type0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "device 0102030405060708: rejoin-request type 0: rejoin-requests are "
                              "LoRaWAN 1.1 only, and this device is LoRaWAN 1.0.4");
  }

  // A 1.1 device before its first join.
  const FleetDevice fd = vector_device(MacVersion::v1_1);
  SimDevice d(fd);
  for (RejoinType t : {RejoinType::type0, RejoinType::type1, RejoinType::type2}) {
    try {
      d.make_rejoin_request(t);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_CONTAINS(e.what(), "device 0102030405060708: rejoin-request type " +
                                    std::to_string(static_cast<int>(t)) + ": no session");
      EXPECT_NOT_CONTAINS(e.what(), kV11NwkKey);
    }
  }
  EXPECT_EQ(d.next_rj_count1(), 0u);  // nothing was consumed

  // A 1.1 device served with OptNeg=0 runs the 1.0 MAC rules, which have no rejoin.
  d.make_join_request();
  ASSERT_TRUE(d.accept(accept_for(d, fd, 1, JoinMode::lorawan_1_1_opt_neg_0)).accepted());
  try {
    d.make_rejoin_request(RejoinType::type1);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "OptNeg=0");
  }
}

TEST(SimDevice, RejoinFramesCarryTheirFieldsCountersAndMics) {
  const FleetDevice fd = vector_device(MacVersion::v1_1);
  SimDevice d(fd);
  d.make_join_request();
  ASSERT_TRUE(d.accept(accept_for(d, fd, 1, JoinMode::lorawan_1_1)).accepted());
  const Session& s = *d.session();
  const JsKeys js = derive_js_keys(*fd.nwk_key, fd.dev_eui);

  // Types 0 and 2 share RJcount0: 0, 1, 2 in this session; NetID from the session, SNwkSIntKey MIC.
  std::uint32_t expected0 = 0;
  for (RejoinType t : {RejoinType::type0, RejoinType::type2, RejoinType::type0}) {
    const Bytes phy = d.make_rejoin_request(t);
    ASSERT_EQ(phy.size(), kRejoin02Size);
    const RejoinRequest rj = parse_rejoin_request(phy);
    EXPECT_EQ(rj.type, t);
    EXPECT_EQ(rj.net_id, NetId::parse("010203"));
    EXPECT_EQ(rj.dev_eui, fd.dev_eui);
    EXPECT_EQ(rj.rj_count, DevNonce(expected0++));
    EXPECT_EQ(rj.mic, rejoin_request_mic(s.keys->s_nwk_s_int_key, rj));
    EXPECT_NE(rj.mic, rejoin_request_mic(js.js_int_key, rj));
    EXPECT_EQ(d.pending_rejoin(), t);
  }
  EXPECT_EQ(d.session()->rj_count0, 3u);

  // Type 1 counts RJcount1 on its own: JoinEUI, JSIntKey MIC (the 1.1 vector's JSIntKey).
  for (std::uint32_t expected1 = 0; expected1 < 3; ++expected1) {
    const Bytes phy = d.make_rejoin_request(RejoinType::type1);
    ASSERT_EQ(phy.size(), kRejoin1Size);
    const RejoinRequest rj = parse_rejoin_request(phy);
    EXPECT_EQ(rj.type, RejoinType::type1);
    EXPECT_EQ(rj.join_eui, fd.join_eui);
    EXPECT_EQ(rj.dev_eui, fd.dev_eui);
    EXPECT_EQ(rj.rj_count, DevNonce(expected1));
    EXPECT_EQ(rj.mic, rejoin_request_mic(Aes128Key::parse(kV11JsIntKey), rj));
  }
  EXPECT_EQ(d.next_rj_count1(), 3u);
  EXPECT_EQ(d.session()->rj_count0, 3u);  // untouched by type 1

  // A join-request replaces the pending rejoin-request.
  d.make_join_request();
  EXPECT_FALSE(d.pending_rejoin().has_value());
}

// The answer must be the one for the pending request's JoinReqType and RJcount.
TEST(SimDevice, RejoinAnswerIsOpenedWithTheRequestsJoinReqTypeAndRjCount) {
  const FleetDevice fd = vector_device(MacVersion::v1_1);
  SimDevice d(fd);
  d.make_join_request();
  ASSERT_TRUE(d.accept(accept_for(d, fd, 1, JoinMode::lorawan_1_1)).accepted());
  const RejoinRequest rj = parse_rejoin_request(d.make_rejoin_request(RejoinType::type1));

  auto answer = [&](JoinReqType type, DevNonce counter, std::uint32_t join_nonce) {
    JoinContext ctx;
    ctx.type = type;
    ctx.join_eui = fd.join_eui;
    ctx.dev_eui = fd.dev_eui;
    ctx.dev_nonce = counter;
    JoinAccept fields;
    fields.join_nonce = JoinNonce(join_nonce);
    fields.net_id = NetId::parse("010203");
    fields.dev_addr = DevAddr::parse("01020305");
    fields.dl_settings.raw = 0x95;
    fields.rx_delay = 1;
    return build_join_accept(JoinMode::lorawan_1_1, RootKeys{fd.app_key, fd.nwk_key}, ctx, fields);
  };
  // JoinReqType 0x00 (type 0) or another RJcount in the MIC: refused, the request stays pending.
  EXPECT_EQ(d.accept(answer(JoinReqType::rejoin0, rj.rj_count, 2).phy_payload).status,
            AcceptStatus::mic_invalid);
  EXPECT_EQ(d.accept(answer(JoinReqType::rejoin1, DevNonce(5), 2).phy_payload).status,
            AcceptStatus::mic_invalid);
  // An answer to a join-request is encrypted with NwkKey, not JSEncKey: its MIC cannot verify.
  EXPECT_FALSE(d.accept(answer(JoinReqType::join, rj.rj_count, 2).phy_payload).accepted());
  ASSERT_EQ(d.pending_rejoin(), RejoinType::type1);

  const BuiltJoinAccept good = answer(JoinReqType::rejoin1, rj.rj_count, 2);
  const JoinResult r = d.accept(good.phy_payload);
  ASSERT_TRUE(r.accepted()) << to_string(r);
  const Session& s = *d.session();
  EXPECT_EQ(s.rejoin, RejoinType::type1);
  EXPECT_EQ(s.dev_nonce, rj.rj_count);
  EXPECT_EQ(s.mode, JoinMode::lorawan_1_1);
  EXPECT_EQ(s.dev_addr, DevAddr::parse("01020305"));
  EXPECT_EQ(*s.keys, good.keys);  // derived with RJcount1 as the DevNonce
  EXPECT_EQ(s.rj_count0, 0u);
  EXPECT_FALSE(d.pending_rejoin().has_value());
  EXPECT_CONTAINS(to_string(s), "rejoin type 1, RJcount1 0000");
  EXPECT_THROW(d.accept(good.phy_payload), Error);  // answered
}

TEST(SimDevice, RjCount0IsExhaustedAfter0xffffInASession) {
  const FleetDevice fd = vector_device(MacVersion::v1_1);
  SimDevice d(fd);
  d.make_join_request();
  ASSERT_TRUE(d.accept(accept_for(d, fd, 1, JoinMode::lorawan_1_1)).accepted());
  for (std::uint32_t i = 0; i <= 0xffff; ++i) d.make_rejoin_request(RejoinType::type2);
  try {
    d.make_rejoin_request(RejoinType::type0);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_CONTAINS(e.what(), "RJcount0 exhausted");
  }
  // Type 1 has its own counter; a new session restarts RJcount0.
  EXPECT_NO_THROW(d.make_rejoin_request(RejoinType::type1));
  d.make_join_request();
  ASSERT_TRUE(d.accept(accept_for(d, fd, 2, JoinMode::lorawan_1_1)).accepted());
  EXPECT_EQ(parse_rejoin_request(d.make_rejoin_request(RejoinType::type0)).rj_count, DevNonce(0));
}

// ---- end to end against the reference JS, in process ----

class SimDeviceJoinServer : public ::testing::Test {
 protected:
  SimDeviceJoinServer() : options_(test_support::default_options()), store_(options_.store) {
    store_.upsert(options_.fleets.front());
    js_ = std::make_unique<JoinServer>(options_.js, store_);
  }

  // The device's join-request in a JoinReq (test_support::join_req), through JoinServer::handle.
  backend::JoinAns join(SimDevice& device, const FleetDevice& fd, backend::JoinReq& req) {
    req = test_support::join_req(fd, 0);
    req.phy_payload = device.make_join_request();
    const JsAnswer a = js_->handle(JsRequest{backend::encode(req), {}, {}});
    EXPECT_EQ(a.http_status, 200) << a.body;
    return backend::decode_as<backend::JoinAns>(a.body, backend::DecodeMode::strict).message;
  }

  // The device's rejoin-request in a RejoinReq (test_support::rejoin_req), through
  // JoinServer::handle.
  backend::RejoinAns rejoin(SimDevice& device, const FleetDevice& fd, RejoinType type) {
    // The frame rejoin_req() builds is replaced by the device's own.
    backend::RejoinReq req = test_support::rejoin_req(fd, RejoinRequest{}, Aes128Key{});
    req.phy_payload = device.make_rejoin_request(type);
    const JsAnswer a = js_->handle(JsRequest{backend::encode(req), {}, {}});
    EXPECT_EQ(a.http_status, 200) << a.body;
    return backend::decode_as<backend::RejoinAns>(a.body, backend::DecodeMode::strict).message;
  }

  void join_and_uplink(const FleetDevice& fd, JoinMode expected_mode) {
    SimDevice device(fd);
    for (std::uint32_t round = 0; round < 2; ++round) {
      SCOPED_TRACE("join " + std::to_string(round));
      backend::JoinReq req;
      const backend::JoinAns ans = join(device, fd, req);
      ASSERT_TRUE(ans.phy_payload) << test_support::code_of(ans.result);
      const JoinResult r = device.accept(*ans.phy_payload);
      ASSERT_TRUE(r.accepted()) << to_string(r);
      EXPECT_EQ(device.session()->mode, expected_mode);
      EXPECT_EQ(device.session()->dev_nonce, DevNonce(round));
      EXPECT_EQ(device.session()->join_nonce, JoinNonce(round + 1));
      // The keys the JS sent the NS and AS (unwrapped) are the device's.
      const OpenedJoinAccept opened = test_support::check_join_ans(ans, req, fd);
      ASSERT_TRUE(opened.keys);
      EXPECT_EQ(*opened.keys, *device.session()->keys);

      // The NS verifies the first uplink with the keys it was given.
      const backend::KekTable keks{{"ns-kek", test_support::kNsKek}};
      const NetworkSessionKeys ns_keys =
          expected_mode == JoinMode::lorawan_1_1
              ? NetworkSessionKeys::v1_1(ans.f_nwk_s_int_key->unwrap(keks),
                                         ans.s_nwk_s_int_key->unwrap(keks),
                                         ans.nwk_s_enc_key->unwrap(keks))
              : NetworkSessionKeys::v1_0(ans.nwk_s_key->unwrap(keks));
      const DataFrame f = DataFrame::parse(device.make_uplink(1, hex("cafe")));
      EXPECT_TRUE(verify_uplink_mic(f, ns_keys, MicContext{}));
    }
  }

  JoinServerServiceOptions options_;
  DeviceStore store_;
  std::unique_ptr<JoinServer> js_;
};

TEST_F(SimDeviceJoinServer, Device104JoinsTwiceAndItsUplinkVerifies) {
  join_and_uplink(test_support::kDev104, JoinMode::lorawan_1_0);
}

TEST_F(SimDeviceJoinServer, Device11JoinsTwiceAndItsUplinkVerifies) {
  join_and_uplink(test_support::kDev11, JoinMode::lorawan_1_1);
}

TEST_F(SimDeviceJoinServer, ReusedJoinNonceFromTheJsIsRefusedByThe11Device) {
  options_.js.faults.faults.insert(Fault::reuse_joinnonce);
  js_ = std::make_unique<JoinServer>(options_.js, store_);
  SimDevice device(test_support::kDev11);
  backend::JoinReq req;
  backend::JoinAns ans = join(device, test_support::kDev11, req);
  ASSERT_TRUE(ans.phy_payload);
  ASSERT_TRUE(device.accept(*ans.phy_payload).accepted());
  ans = join(device, test_support::kDev11, req);
  ASSERT_TRUE(ans.phy_payload);
  const JoinResult r = device.accept(*ans.phy_payload);
  EXPECT_EQ(r.status, AcceptStatus::join_nonce_replay) << to_string(r);
  EXPECT_EQ(device.session()->dev_nonce, DevNonce(0));
}

// Rejoin types 0, 1 and 2 of a joined 1.1 device, answered by the reference JS: each answer is
// accepted, and the session keys are the ones the JS gave the NS and the AS.
TEST_F(SimDeviceJoinServer, Device11RejoinsWithTypes012AndTakesTheJsKeys) {
  const FleetDevice& fd = test_support::kDev11;
  SimDevice device(fd);
  backend::JoinReq req;
  const backend::JoinAns joined = join(device, fd, req);
  ASSERT_TRUE(joined.phy_payload) << test_support::code_of(joined.result);
  ASSERT_TRUE(device.accept(*joined.phy_payload).accepted());

  const backend::KekTable keks{{"ns-kek", test_support::kNsKek}, {"as-kek", test_support::kAsKek}};
  std::uint32_t rj_count1 = 0;
  std::uint32_t last_join_nonce = device.last_join_nonce()->value();
  for (RejoinType t : {RejoinType::type0, RejoinType::type1, RejoinType::type2, RejoinType::type1,
                       RejoinType::type0}) {
    SCOPED_TRACE("rejoin type " + std::to_string(static_cast<int>(t)));
    const backend::RejoinAns ans = rejoin(device, fd, t);
    ASSERT_EQ(test_support::code_of(ans.result), "Success")
        << ans.result->description.value_or("");
    ASSERT_TRUE(ans.phy_payload);
    const JoinResult r = device.accept(*ans.phy_payload);
    ASSERT_TRUE(r.accepted()) << to_string(r);
    const Session& s = *device.session();
    EXPECT_EQ(s.rejoin, t);
    EXPECT_EQ(s.mode, JoinMode::lorawan_1_1);
    // RJcount0 restarts with every session, so each type 0/2 here is the session's first;
    // RJcount1 goes on counting.
    EXPECT_EQ(s.dev_nonce, DevNonce(t == RejoinType::type1 ? rj_count1++ : 0));
    EXPECT_EQ(s.rj_count0, 0u);
    EXPECT_EQ(device.next_rj_count1(), rj_count1);
    EXPECT_GT(s.join_nonce.value(), last_join_nonce);
    last_join_nonce = s.join_nonce.value();

    ASSERT_TRUE(ans.f_nwk_s_int_key && ans.s_nwk_s_int_key && ans.nwk_s_enc_key && ans.app_s_key);
    EXPECT_FALSE(ans.nwk_s_key.has_value());
    EXPECT_EQ(ans.f_nwk_s_int_key->unwrap(keks), s.keys->f_nwk_s_int_key);
    EXPECT_EQ(ans.s_nwk_s_int_key->unwrap(keks), s.keys->s_nwk_s_int_key);
    EXPECT_EQ(ans.nwk_s_enc_key->unwrap(keks), s.keys->nwk_s_enc_key);
    EXPECT_EQ(ans.app_s_key->unwrap(keks), s.keys->app_s_key);
    EXPECT_EQ(*device.secure_element().key_access()->key(KeySlot::s_nwk_s_int_key),
              s.keys->s_nwk_s_int_key);

    // The new session carries uplinks the NS verifies with the keys it was given.
    const NetworkSessionKeys ns_keys = NetworkSessionKeys::v1_1(
        ans.f_nwk_s_int_key->unwrap(keks), ans.s_nwk_s_int_key->unwrap(keks),
        ans.nwk_s_enc_key->unwrap(keks));
    EXPECT_TRUE(verify_uplink_mic(DataFrame::parse(device.make_uplink(1, hex("cafe"))), ns_keys,
                                  MicContext{}));
  }

  // A replayed type 1 (RJcount1 the JS has answered) is refused by the JS: the device never
  // sends one, so build it by hand with the device's JSIntKey.
  RejoinRequest replay;
  replay.type = RejoinType::type1;
  replay.join_eui = fd.join_eui;
  replay.dev_eui = fd.dev_eui;
  replay.rj_count = DevNonce(0);
  const auto refused = js_->handle(JsRequest{
      backend::encode(test_support::rejoin_req(
          fd, replay, *device.secure_element().key_access()->key(KeySlot::js_int_key))),
      {}, {}});
  EXPECT_CONTAINS(refused.body, "JoinReqFailed");
}

}  // namespace
}  // namespace joincheck::sim

namespace joincheck::sim {
namespace {

TEST(SimDeviceCounters, ExplicitDevNoncesMoveTheCounterAndRandomDrawsAvoidThem) {
  FleetDevice d = generate_device(0, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_4, 7);
  SimDevice counter(d);
  (void)counter.make_join_request(lorawan::DevNonce(1000));
  EXPECT_EQ(counter.next_dev_nonce().value(), 1001u);
  (void)counter.make_join_request(lorawan::DevNonce(5));  // a decrease does not move it back
  EXPECT_EQ(counter.next_dev_nonce().value(), 1002u);

  FleetDevice r = generate_device(1, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_3, 7);
  SimDeviceOptions window;
  window.recent_dev_nonces = 8192;  // remembers more than the test uses: no value may come twice
  SimDevice random(r, window);
  std::set<std::uint32_t> seen;
  for (std::uint32_t n = 0; n < 4000; ++n) {
    if (n % 2 == 0) {
      // Explicit values crowd the low end, where random draws would otherwise land now and then.
      (void)random.make_join_request(lorawan::DevNonce(static_cast<std::uint16_t>(n / 2)));
      seen.insert(n / 2);
    } else {
      const auto v = random.next_dev_nonce().value();
      EXPECT_TRUE(seen.insert(v).second) << "DevNonce " << v << " drawn after it was used";
    }
  }
}

TEST(SimDeviceCounters, SaveAndRestoreThroughTheStateFile) {
  test_support::TempDir dir;
  const auto file = dir / "state.json";
  EXPECT_TRUE(load_device_counters(file).empty()) << "an absent file is a first run";

  FleetDevice d = generate_device(0, lorawan::Eui64::parse("0000000000000001"), lorawan::MacVersion::v1_0_4, 7);
  SimDevice a(d);
  (void)a.make_join_request();
  (void)a.make_join_request();
  DeviceCountersMap saved{{d.dev_eui.hex(), a.counters()}};
  save_device_counters(file, saved);
  const DeviceCountersMap loaded = load_device_counters(file);
  ASSERT_EQ(loaded, saved);
  SimDevice b(d);
  b.restore(loaded.at(d.dev_eui.hex()));
  EXPECT_EQ(b.next_dev_nonce().value(), 2u);

  std::ofstream(file) << R"({"devices": {"0000000000000001": {"DevNonceNext": 70000, "RJcount1Next": 0}}})";
  try {
    (void)load_device_counters(file);
    FAIL() << "70000 accepted";
  } catch (const CountersFileError& e) {
    EXPECT_CONTAINS(e.what(), "state.json: devices.0000000000000001.DevNonceNext: expected a number 0..65536");
  }
  std::ofstream(file) << R"({"devices": {"0000000000000001": {"DevNonceNext": 1, "RJcount1Next": 0, "Typo": 1}}})";
  EXPECT_THROW((void)load_device_counters(file), CountersFileError);
  std::ofstream(file) << "not json";
  EXPECT_THROW((void)load_device_counters(file), CountersFileError);
}

}  // namespace
}  // namespace joincheck::sim
