// AteccSe, the ATECC608 secure element over the emulator, against SoftwareSe (the reference
// back-end) for a LoRaWAN 1.0.x and a 1.1 chip holding the same keys: identity, aes_encrypt,
// cmac (RFC 4493 §4 vectors, and every message length
// class), derive_and_store (the session and lifetime key blocks of lorawan/session_keys.hpp),
// set_key, has_key, random; and the errors: refused slots, chip failures named with back-end,
// transport, DevEUI, operation and status; identity reads that fail.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "lorawan/crypto.hpp"
#include "lorawan/session_keys.hpp"
#include "sim/secure_element/atecc608/atecc_se.hpp"
#include "sim/secure_element/atecc608/emulated_transport.hpp"
#include "sim/secure_element/software_se.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using atecc608::ChipProvisioning;
using atecc608::Emulator;
using lorawan::Aes128Key;
using lorawan::Block;
using lorawan::Bytes;
using lorawan::Eui64;
using lorawan::MacVersion;

constexpr std::string_view kAppKey = "2b7e151628aed2a6abf7158809cf4f3c";  // RFC 4493 key
constexpr std::string_view kNwkKey = "000102030405060708090a0b0c0d0e0f";
const Eui64 kDevEui = Eui64::parse("0102030405060708");
const Eui64 kJoinEui = Eui64::parse("70b3d57ed0000000");

Bytes hex(std::string_view text) { return lorawan::from_hex(text, "test bytes"); }

Block block_of(std::string_view text) {
  const Bytes b = lorawan::from_hex_exact(text, 16, "test block");
  Block out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

ChipProvisioning chip(bool v1_1) {
  ChipProvisioning c;
  c.serial = atecc608::parse_serial("0123a1b2c3d4e5f627");
  c.dev_eui = kDevEui;
  c.join_eui = kJoinEui;
  c.app_key = Aes128Key::parse(kAppKey);
  if (v1_1) c.nwk_key = Aes128Key::parse(kNwkKey);
  return c;
}

// The same device twice: in software and on an emulated chip.
struct Pair {
  explicit Pair(MacVersion version, atecc608::EmulatorOptions options = {}) {
    const bool v1_1 = lorawan::is_1_1(version);
    emulator = std::make_shared<Emulator>(chip(v1_1), options);
    atecc = AteccSe::emulated(emulator, kDevEui, AteccSeOptions::for_version(version));
    SeIdentity identity;
    identity.dev_eui = kDevEui;
    identity.join_eui = kJoinEui;
    lorawan::RootKeys keys;
    keys.app_key = Aes128Key::parse(kAppKey);
    if (v1_1) keys.nwk_key = Aes128Key::parse(kNwkKey);
    software = std::make_unique<SoftwareSe>(identity, keys, 1);
  }
  std::shared_ptr<Emulator> emulator;
  std::unique_ptr<AteccSe> atecc;
  std::unique_ptr<SoftwareSe> software;
};

// The SecureElementError `f` throws.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const SecureElementError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a SecureElementError";
  return {};
}

class Atecc608Se : public ::testing::TestWithParam<MacVersion> {};

TEST_P(Atecc608Se, IdentityAndBackend) {
  Pair p(GetParam());
  EXPECT_EQ(p.atecc->identity(), p.software->identity());
  EXPECT_EQ(p.atecc->backend(), "atecc608");
  EXPECT_EQ(p.atecc->description(), "atecc608, emulated chip 0123a1b2c3d4e5f627");
  EXPECT_EQ(atecc608::serial_hex(p.atecc->serial()), "0123a1b2c3d4e5f627");
  EXPECT_EQ(p.atecc->key_access(), nullptr) << "keys never leave the chip";
  for (const KeySlot slot :
       {KeySlot::app_key, KeySlot::nwk_key, KeySlot::js_int_key, KeySlot::app_s_key}) {
    EXPECT_EQ(p.atecc->has_key(slot), p.software->has_key(slot)) << to_string(slot);
  }
}

TEST_P(Atecc608Se, AesEncryptEqualsSoftware) {
  Pair p(GetParam());
  const Block in = block_of("6bc1bee22e409f96e93d7e117393172a");
  EXPECT_EQ(p.atecc->aes_encrypt(KeySlot::app_key, in),
            p.software->aes_encrypt(KeySlot::app_key, in));
  EXPECT_EQ(lorawan::to_hex(p.atecc->aes_encrypt(KeySlot::app_key, in)),
            "3ad77bb40d7a3660a89ecaf32466ef97");
  if (lorawan::is_1_1(GetParam())) {
    EXPECT_EQ(p.atecc->aes_encrypt(KeySlot::nwk_key, in),
              p.software->aes_encrypt(KeySlot::nwk_key, in));
  } else {
    EXPECT_CONTAINS(error_of([&] { p.atecc->aes_encrypt(KeySlot::nwk_key, in); }),
                    "AES encrypt with NwkKey: the slot holds no key");
  }
}

TEST_P(Atecc608Se, CmacEqualsSoftwareForEveryLengthClass) {
  Pair p(GetParam());
  Bytes message;
  for (std::size_t i = 0; i < 70; ++i) message.push_back(static_cast<std::uint8_t>(i * 7 + 3));
  for (const std::size_t size : {0, 1, 15, 16, 17, 19, 32, 33, 48, 64, 70}) {
    const lorawan::ByteSpan m(message.data(), size);
    EXPECT_EQ(p.atecc->cmac(KeySlot::app_key, m), p.software->cmac(KeySlot::app_key, m))
        << size << " bytes";
  }
  // One AES for the subkeys plus one per block (as cryptoauthlib's atcab_aes_cmac_* does): a
  // 19-byte join-request MIC costs 3.
  const std::size_t before = p.emulator->executed(atecc608::opcode::aes);
  p.atecc->cmac(KeySlot::app_key, lorawan::ByteSpan(message.data(), 19));
  EXPECT_EQ(p.emulator->executed(atecc608::opcode::aes) - before, 3u);
}

// RFC 4493 §4 with the key in a session slot, and lorawan::cmac as the reference.
TEST_P(Atecc608Se, CmacRfc4493VectorsInASessionSlot) {
  Pair p(GetParam());
  const Aes128Key key = Aes128Key::parse(kAppKey);
  p.atecc->set_key(KeySlot::f_nwk_s_int_key, key);
  const Bytes m =
      hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
          "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710");
  const struct {
    std::size_t size;
    std::string_view mac;
  } vectors[] = {{0, "bb1d6929e95937287fa37d129b756746"},
                 {16, "070a16b46b4d4144f79bdd9dd04a287c"},
                 {40, "dfa66747de9ae63030ca32611497c827"},
                 {64, "51f0bebf7e3b9d92fc49741779363cfe"}};
  for (const auto& v : vectors) {
    const lorawan::ByteSpan message(m.data(), v.size);
    const Block mac = p.atecc->cmac(KeySlot::f_nwk_s_int_key, message);
    EXPECT_EQ(lorawan::to_hex(mac), v.mac) << v.size << " bytes";
    EXPECT_EQ(mac, lorawan::cmac(key, message));
  }
}

TEST_P(Atecc608Se, DeriveAndStoreThenUseEqualsSoftware) {
  Pair p(GetParam());
  const bool v1_1 = lorawan::is_1_1(GetParam());
  const lorawan::JoinNonce join_nonce(0x123456);
  const lorawan::DevNonce dev_nonce(0x0102);
  const lorawan::NetId net_id = lorawan::NetId::parse("000013");
  using lorawan::KeyDerivation;
  // As LoRaMac-node derives them (src/mac/LoRaMacCrypto.c): 1.0.x four keys from the one root key; 1.1 the network
  // keys and lifetime keys from NwkKey and AppSKey from AppKey.
  struct Derivation {
    KeySlot root;
    Block input;
    KeySlot target;
  };
  std::vector<Derivation> plan;
  if (v1_1) {
    plan = {
        {KeySlot::nwk_key, lorawan::js_key_block(KeyDerivation::js_int_key, kDevEui),
         KeySlot::js_int_key},
        {KeySlot::nwk_key, lorawan::js_key_block(KeyDerivation::js_enc_key, kDevEui),
         KeySlot::js_enc_key},
        {KeySlot::nwk_key,
         lorawan::session_key_block(KeyDerivation::nwk_s_key, join_nonce, kJoinEui, dev_nonce),
         KeySlot::f_nwk_s_int_key},
        {KeySlot::nwk_key,
         lorawan::session_key_block(KeyDerivation::s_nwk_s_int_key, join_nonce, kJoinEui,
                                    dev_nonce),
         KeySlot::s_nwk_s_int_key},
        {KeySlot::nwk_key,
         lorawan::session_key_block(KeyDerivation::nwk_s_enc_key, join_nonce, kJoinEui, dev_nonce),
         KeySlot::nwk_s_enc_key},
        {KeySlot::app_key,
         lorawan::session_key_block(KeyDerivation::app_s_key, join_nonce, kJoinEui, dev_nonce),
         KeySlot::app_s_key},
    };
  } else {
    const Block nwk =
        lorawan::session_key_block(KeyDerivation::nwk_s_key, join_nonce, net_id, dev_nonce);
    plan = {
        {KeySlot::app_key,
         lorawan::session_key_block(KeyDerivation::app_s_key, join_nonce, net_id, dev_nonce),
         KeySlot::app_s_key},
        {KeySlot::app_key, nwk, KeySlot::nwk_s_enc_key},
        {KeySlot::app_key, nwk, KeySlot::f_nwk_s_int_key},
        {KeySlot::app_key, nwk, KeySlot::s_nwk_s_int_key},
    };
  }
  const Block probe = block_of("00112233445566778899aabbccddeeff");
  const Bytes frame = hex("40040302018000010001a1b2c3d4");
  for (const Derivation& d : plan) {
    EXPECT_FALSE(p.atecc->has_key(d.target));
    p.atecc->derive_and_store(d.root, d.input, d.target);
    p.software->derive_and_store(d.root, d.input, d.target);
    EXPECT_TRUE(p.atecc->has_key(d.target));
    EXPECT_EQ(p.atecc->aes_encrypt(d.target, probe), p.software->aes_encrypt(d.target, probe))
        << to_string(d.target);
    EXPECT_EQ(p.atecc->cmac(d.target, frame), p.software->cmac(d.target, frame))
        << to_string(d.target);
  }
  // And against lorawan's own derivation.
  const lorawan::SessionKeys keys =
      v1_1 ? lorawan::derive_session_keys_1_1(Aes128Key::parse(kNwkKey), Aes128Key::parse(kAppKey),
                                              join_nonce, kJoinEui, dev_nonce)
           : lorawan::derive_session_keys_1_0(Aes128Key::parse(kAppKey), join_nonce, net_id,
                                              dev_nonce);
  EXPECT_EQ(p.atecc->aes_encrypt(KeySlot::app_s_key, probe),
            lorawan::aes128_encrypt(keys.app_s_key, probe));
  EXPECT_EQ(p.atecc->aes_encrypt(KeySlot::nwk_s_enc_key, probe),
            lorawan::aes128_encrypt(keys.nwk_s_enc_key, probe));
  EXPECT_EQ(p.emulator->executed(atecc608::opcode::kdf), plan.size());
}

TEST_P(Atecc608Se, SetKeyWritesSessionSlotsAndRefusesRootSlots) {
  Pair p(GetParam());
  const Aes128Key key = Aes128Key::parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  p.atecc->set_key(KeySlot::app_s_key, key);
  p.software->set_key(KeySlot::app_s_key, key);
  const Block in{};
  EXPECT_EQ(p.atecc->aes_encrypt(KeySlot::app_s_key, in),
            p.software->aes_encrypt(KeySlot::app_s_key, in));
  EXPECT_EQ(p.emulator->executed(atecc608::opcode::write), 1u);

  const std::string e = error_of([&] { p.atecc->set_key(KeySlot::app_key, key); });
  EXPECT_EQ(e,
            "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device "
            "0102030405060708: set-key with AppKey: root keys are provisioned, not written");
  EXPECT_NOT_CONTAINS(e, key.hex());
  EXPECT_CONTAINS(
      error_of([&] { p.atecc->derive_and_store(KeySlot::app_key, in, KeySlot::nwk_key); }),
      "into NwkKey (slot 0): root keys are provisioned, not derived");
  EXPECT_CONTAINS(error_of([&] { p.atecc->cmac(KeySlot::js_int_key, {}); }),
                  "CMAC with JSIntKey: the slot holds no key");
  EXPECT_CONTAINS(
      error_of([&] { p.atecc->derive_and_store(KeySlot::js_int_key, in, KeySlot::app_s_key); }),
      "derive-and-store with JSIntKey: the slot holds no key");
}

TEST_P(Atecc608Se, RandomFillsAnyLength) {
  Pair p(GetParam());
  std::array<std::uint8_t, 40> out{};
  p.atecc->random(out);
  EXPECT_EQ(p.emulator->executed(atecc608::opcode::random), 2u);
  EXPECT_NE(out, (std::array<std::uint8_t, 40>{}));
  Pair q(GetParam());
  std::array<std::uint8_t, 40> again{};
  q.atecc->random(again);
  EXPECT_EQ(out, again) << "the emulator's RNG is seeded";
}

INSTANTIATE_TEST_SUITE_P(Versions, Atecc608Se,
                         ::testing::Values(MacVersion::v1_0_3, MacVersion::v1_1),
                         [](const ::testing::TestParamInfo<MacVersion>& param_info) {
                           return param_info.param == MacVersion::v1_1 ? std::string("v1_1")
                                                                       : std::string("v1_0_3");
                         });

// ------------------------------------------------------------------------------------------------
// Chip failures

TEST(Atecc608SeErrors, ChipErrorsNameBackendTransportDeviceOperationAndStatus) {
  Pair p(MacVersion::v1_0_3);
  p.emulator->faults().force_status = 1;
  EXPECT_EQ(error_of([&] { p.atecc->aes_encrypt(KeySlot::app_key, Block{}); }),
            "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device "
            "0102030405060708: AES encrypt with AppKey: AES encrypt on slot 0 block 1: status 0x0F "
            "(execution error)");
  p.emulator->faults().force_status = 1;
  p.emulator->faults().forced_status_opcode = atecc608::opcode::kdf;
  EXPECT_EQ(
      error_of([&] { p.atecc->derive_and_store(KeySlot::app_key, Block{}, KeySlot::app_s_key); }),
      "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device "
      "0102030405060708: derive-and-store (KDF AES) from AppKey (slot 0 block 1) into AppSKey "
      "(slot 2): KDF AES (slot to slot): status 0x0F (execution error)");
  EXPECT_FALSE(p.atecc->has_key(KeySlot::app_s_key)) << "a failed derivation stores nothing";

  p.emulator->faults().corrupt_command_crc = atecc608::Faults::kAlways;
  EXPECT_CONTAINS(error_of([&] { p.atecc->cmac(KeySlot::app_key, Bytes(5)); }),
                  "CMAC with AppKey: AES encrypt on slot 0 block 1: status 0xFF (CRC or communication "
                  "error) (3 attempts)");
  p.emulator->faults().corrupt_command_crc = 0;
  p.emulator->faults().busy_reads = atecc608::Faults::kAlways;
  std::array<std::uint8_t, 4> out{};
  EXPECT_CONTAINS(error_of([&] { p.atecc->random(out); }), "random: no answer within 2500 ms");
  p.emulator->faults().busy_reads = 0;
  EXPECT_EQ(p.atecc->aes_encrypt(KeySlot::app_key, Block{}),
            lorawan::aes128_encrypt(Aes128Key::parse(kAppKey), Block{}))
      << "usable again once the fault is gone";
}

TEST(Atecc608SeErrors, AChipThatCannotBeReadNamesTheFleetsDevEui) {
  const Eui64 expected = Eui64::parse("00000000000000aa");
  atecc608::EmulatorOptions options;
  options.faults.no_wake = atecc608::Faults::kAlways;
  auto emulator = std::make_shared<Emulator>(chip(false), options);
  EXPECT_EQ(error_of([&] { AteccSe::emulated(emulator, expected); }),
            "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device "
            "00000000000000aa: reading the identity (Read config block 0 (32 bytes)): no wake "
            "answer (expected 04 11 33 43, got a NACK after 3 wake attempts)");

  auto refusing = std::make_shared<Emulator>(chip(false));
  refusing->faults().refuse_read_slot = 10;
  EXPECT_CONTAINS(error_of([&] { AteccSe::emulated(refusing, kDevEui); }),
                  "reading the identity (Read data slot 10 block 0 (32 bytes)): status 0x0F");
}

TEST(Atecc608SeErrors, ADifferentDevEuiIsRefusedUnlessAllowed) {
  auto emulator = std::make_shared<Emulator>(chip(false));
  const Eui64 other = Eui64::parse("0102030405060709");
  EXPECT_EQ(error_of([&] { AteccSe::emulated(emulator, other); }),
            "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device "
            "0102030405060709: reading the DevEUI: the chip holds DevEUI 0102030405060708 in slot "
            "10, the fleet expects 0102030405060709");
  AteccSeOptions lenient;
  lenient.check_dev_eui = false;
  EXPECT_EQ(AteccSe::emulated(emulator, other, lenient)->identity().dev_eui, kDevEui);
}

TEST(Atecc608SeErrors, ASlotWithoutAsciiHexIsNoDevEui) {
  // A chip whose map puts the DevEUI in slot 8 (writable), holding lower-case text.
  auto emulator = std::make_shared<Emulator>(chip(false));
  {
    AteccSeOptions lenient;
    lenient.check_dev_eui = false;
    auto se = AteccSe::emulated(emulator, kDevEui, lenient);
    Bytes text(32, 0);
    const std::string lower = "0102030405060a0b";
    std::copy(lower.begin(), lower.end(), text.begin());
    se->client().write(atecc608::Zone::data, atecc608::data_address(8, 0, 0), text);
  }
  AteccSeOptions options;
  options.slot_map.dev_eui_slot = 8;
  EXPECT_EQ(error_of([&] { AteccSe::emulated(emulator, kDevEui, options); }),
            "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device "
            "0102030405060708: reading the DevEUI: slot 8 does not start with 16 upper-case ASCII "
            "hex characters: got bytes 30313032303330343035303630613062");
}

TEST(Atecc608SeErrors, OverriddenBlockIndices) {
  // TTN's Mbed example convention: the 1.0.x key read from block 0 instead of block 1.
  auto emulator = std::make_shared<Emulator>(chip(true));  // AppKey block 0, NwkKey block 1
  AteccSeOptions options = AteccSeOptions::for_version(MacVersion::v1_0_3);
  options.slot_map[KeySlot::app_key] = AteccKeyLocation{0, 1};
  auto block1 = AteccSe::emulated(emulator, kDevEui, options);
  EXPECT_EQ(block1->aes_encrypt(KeySlot::app_key, Block{}),
            lorawan::aes128_encrypt(Aes128Key::parse(kNwkKey), Block{}));
  options.slot_map[KeySlot::app_key] = AteccKeyLocation{0, 0};
  auto block0 = AteccSe::emulated(emulator, kDevEui, options);
  EXPECT_EQ(block0->aes_encrypt(KeySlot::app_key, Block{}),
            lorawan::aes128_encrypt(Aes128Key::parse(kAppKey), Block{}));

  options.slot_map[KeySlot::app_s_key] = AteccKeyLocation{2, 1};
  EXPECT_THROW(AteccSe::emulated(emulator, kDevEui, options), lorawan::Error);
  // A root key in block 2 of a 36-byte slot would only fail at first use: refused up front.
  options.slot_map[KeySlot::app_s_key] = AteccKeyLocation{2, 0};
  options.slot_map[KeySlot::app_key] = AteccKeyLocation{0, 2};
  try {
    AteccSe::emulated(emulator, kDevEui, options);
    ADD_FAILURE() << "block 2 of slot 0 accepted";
  } catch (const lorawan::Error& e) {
    EXPECT_NE(std::string(e.what()).find("AppKey at slot 0 block 2"), std::string::npos) << e.what();
  }
  options.slot_map[KeySlot::app_key] = AteccKeyLocation{8, 2};  // slot 8 holds 416 bytes
  EXPECT_NO_THROW(AteccSe::emulated(emulator, kDevEui, options));
}

}  // namespace
}  // namespace joincheck::sim
