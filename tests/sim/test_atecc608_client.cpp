// The ATECC608 command client against the emulator (docs/secure-element.md): every command with real values (revision, serial, zones, AES against OpenSSL, the
// KDF vector of cryptoauthlib's kdf_aes_output test), the policy refusals, and every injected
// fault: recovered ones (CRC errors, a missed wake, busy reads, 0xEE) and persistent ones
// (errors naming the command, the status and the transport, never a hang).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>

#include "lorawan/crypto.hpp"
#include "lorawan/hex.hpp"
#include "sim/secure_element/atecc608/client.hpp"
#include "sim/secure_element/atecc608/emulated_transport.hpp"
#include "sim/secure_element/atecc608/emulator.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim::atecc608 {
namespace {

using lorawan::Block;
using lorawan::Bytes;
using namespace std::chrono_literals;

constexpr std::string_view kSerial = "0123a1b2c3d4e5f627";
constexpr std::string_view kAppKey = "2b7e151628aed2a6abf7158809cf4f3c";
constexpr std::string_view kNwkKey = "000102030405060708090a0b0c0d0e0f";

Bytes hex(std::string_view text) { return lorawan::from_hex(text, "test bytes"); }

Block block_of(std::string_view text) {
  const Bytes b = lorawan::from_hex_exact(text, 16, "test block");
  Block out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

Block counting_block() {
  Block b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}

ChipProvisioning chip(bool v1_1) {
  ChipProvisioning c;
  c.serial = parse_serial(kSerial);
  c.dev_eui = lorawan::Eui64::parse("0102030405060708");
  c.join_eui = lorawan::Eui64::parse("70b3d57ed0000000");
  c.app_key = lorawan::Aes128Key::parse(kAppKey);
  if (v1_1) c.nwk_key = lorawan::Aes128Key::parse(kNwkKey);
  return c;
}

class Atecc608Client : public ::testing::Test {
 protected:
  void make(bool v1_1 = false, EmulatorOptions options = {},
            std::chrono::microseconds per_byte = 0us) {
    emulator = std::make_shared<Emulator>(chip(v1_1), options);
    client = std::make_unique<Client>(std::make_unique<EmulatedTransport>(emulator, per_byte));
  }
  void SetUp() override { make(); }

  // The CommandError `f` throws.
  template <class F>
  CommandError error_of(F f) {
    try {
      f();
    } catch (const CommandError& e) {
      return e;
    }
    ADD_FAILURE() << "expected a CommandError";
    return CommandError("", "", "", std::nullopt, "");
  }

  std::shared_ptr<Emulator> emulator;
  std::unique_ptr<Client> client;
};

// ------------------------------------------------------------------------------------------------
// Commands

TEST_F(Atecc608Client, InfoRevision) {
  EXPECT_EQ(client->info(), (std::array<std::uint8_t, 4>{0x00, 0x00, 0x60, 0x02}));
  EXPECT_EQ(emulator->power_state(), PowerState::idle) << "idle after each command";
  EXPECT_EQ(client->stats().wakes, 1u);
  EXPECT_EQ(client->stats().commands, 1u);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST_F(Atecc608Client, SerialNumberAndConfigZone) {
  EXPECT_EQ(serial_hex(client->read_serial()), kSerial);
  const Bytes block0 = client->read(Zone::config, config_address(0, 0), 32);
  ASSERT_EQ(block0.size(), 32u);
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(block0).first(4)), "0123a1b2");
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(block0).subspan(4, 4)), "00006002");
  EXPECT_EQ(block0[12], 0x27);
  const Bytes word = client->read(Zone::config, config_address(0, 4), 4);
  EXPECT_EQ(word, Bytes(block0.begin() + 16, block0.begin() + 20));
  EXPECT_EQ(word[0], 0xB2);
}

TEST_F(Atecc608Client, OtpAndIdentitySlots) {
  const Bytes otp = client->read(Zone::otp, otp_address(0, 0), 32);
  EXPECT_EQ(std::string(otp.begin(), otp.begin() + 8), "jsMu7iYO");
  const Bytes slot9 = client->read(Zone::data, data_address(9, 0, 0), 32);
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(slot9).first(8)), "70b3d57ed0000000");
  const Bytes slot10 = client->read(Zone::data, data_address(10, 0, 0), 32);
  EXPECT_EQ(std::string(slot10.begin(), slot10.begin() + 16), "0102030405060708");
  EXPECT_EQ(client->read(Zone::data, data_address(10, 0, 1), 4), Bytes({'0', '3', '0', '4'}));
}

TEST_F(Atecc608Client, WriteThenReadBackAndPolicyRefusals) {
  Bytes data(32);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(0xA0 + i);
  client->write(Zone::data, data_address(8, 3, 0), data);
  EXPECT_EQ(client->read(Zone::data, data_address(8, 3, 0), 32), data);
  client->write(Zone::data, data_address(8, 3, 2), hex("01020304"));
  EXPECT_EQ(client->read(Zone::data, data_address(8, 3, 2), 4), hex("01020304"));

  const struct {
    const char* what;
    Zone zone;
    std::uint16_t address;
    std::size_t size;
  } refused[] = {
      {"slot 0 (root keys)", Zone::data, data_address(0, 0, 0), 32},
      {"slot 1 (private key)", Zone::data, data_address(1, 0, 0), 32},
      {"slot 2, 4 bytes (secret slots take 32)", Zone::data, data_address(2, 0, 0), 4},
      {"slot 10 (locked DevEUI)", Zone::data, data_address(10, 0, 0), 32},
      {"slot 13 (parent key)", Zone::data, data_address(13, 0, 0), 32},
      {"config zone (locked)", Zone::config, config_address(2, 0), 4},
      {"OTP zone (locked)", Zone::otp, otp_address(0, 0), 32},
  };
  for (const auto& r : refused) {
    const CommandError e = error_of([&] { client->write(r.zone, r.address, Bytes(r.size)); });
    EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x0F)) << r.what;
    EXPECT_CONTAINS(e.what(), "status 0x0F (execution error)");
  }
  // Writable but never readable in the clear.
  client->write(Zone::data, data_address(2, 0, 0), Bytes(32, 0x55));
  for (const int slot : {0, 1, 2, 7, 11, 13, 14}) {
    const CommandError e = error_of(
        [&] { client->read(Zone::data, data_address(static_cast<std::uint8_t>(slot), 0, 0), 32); });
    EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x0F)) << "slot " << slot;
  }
  // An encrypted write (bit 6) is not modelled: execution error.
  CommandPacket encrypted = write_command(Zone::data, data_address(2, 0, 0), Bytes(32));
  encrypted.param1 |= kWriteEncrypted;
  encrypted.data.resize(64);
  EXPECT_EQ(error_of([&] { client->execute("Write (encrypted)", encrypted, 0); }).status(),
            std::optional<std::uint8_t>(0x0F));
}

TEST_F(Atecc608Client, RandomBytes) {
  const auto a = client->random();
  const auto b = client->random();
  EXPECT_NE(a, b);
  EmulatorOptions same_seed;
  make(false, same_seed);
  EXPECT_EQ(client->random(), a) << "the emulator's RNG is seeded (0 by default)";
}

TEST_F(Atecc608Client, NoncePassThroughThenAesWithTempKey) {
  const Bytes key_twice = hex(std::string(kNwkKey) + std::string(kNwkKey));
  client->nonce_passthrough(NonceTarget::tempkey, key_twice);
  EXPECT_TRUE(emulator->tempkey_valid());
  const Block plain = block_of("6bc1bee22e409f96e93d7e117393172a");
  const Block expected = lorawan::aes128_encrypt(lorawan::Aes128Key::parse(kNwkKey), plain);
  EXPECT_EQ(client->aes_encrypt(kTempKeyId, 0, plain), expected);
  EXPECT_EQ(client->aes_encrypt(kTempKeyId, 1, plain), expected) << "TempKey survives idle";

  // 64 bytes: four key blocks, block 3 = the last 16 bytes.
  Bytes four(64, 0);
  const Bytes app_key = hex(kAppKey);
  std::copy(app_key.begin(), app_key.end(), four.begin() + 48);
  client->nonce_passthrough(NonceTarget::tempkey, four);
  EXPECT_EQ(client->aes_encrypt(kTempKeyId, 3, plain),
            lorawan::aes128_encrypt(lorawan::Aes128Key::parse(kAppKey), plain));
  // Other targets take the bytes too; the alternate key buffer holds 32 only.
  client->nonce_passthrough(NonceTarget::message_digest_buffer, four);
  client->nonce_passthrough(NonceTarget::alternate_key_buffer, key_twice);
  EXPECT_EQ(error_of([&] {
              client->nonce_passthrough(NonceTarget::alternate_key_buffer, four);
            }).status(),
            std::optional<std::uint8_t>(0x03));
}

TEST_F(Atecc608Client, AesWithTempKeyNeedsAValidTempKey) {
  const CommandError e = error_of([&] { client->aes_encrypt(kTempKeyId, 0, Block{}); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x0F));
  EXPECT_EQ(e.command(), "AES encrypt");
  EXPECT_EQ(std::string(e.what()),
            "ATECC608 AES encrypt on emulated chip 0123a1b2c3d4e5f627: status 0x0F (execution "
            "error)");
}

TEST_F(Atecc608Client, AesEncryptDecryptWithSlotKeys) {
  // RFC 4493 §4 / FIPS-197 style vector: AES(2b7e..., 6bc1...) = 3ad77bb4...
  const Block plain = block_of("6bc1bee22e409f96e93d7e117393172a");
  const Block cipher = client->aes_encrypt(0, 1, plain);  // 1.0.x root key: slot 0 block 1
  EXPECT_EQ(lorawan::to_hex(cipher), "3ad77bb40d7a3660a89ecaf32466ef97");
  EXPECT_EQ(client->aes_decrypt(0, 1, cipher), plain);
  EXPECT_EQ(client->aes_encrypt(0, 0, plain),
            lorawan::aes128_encrypt(lorawan::Aes128Key(lorawan::Aes128Key::Array{}), plain))
      << "block 0 of a 1.0.x chip is empty";

  make(true);  // 1.1: AppKey block 0, NwkKey block 1
  EXPECT_EQ(client->aes_encrypt(0, 0, plain), cipher);
  EXPECT_EQ(client->aes_encrypt(0, 1, plain),
            lorawan::aes128_encrypt(lorawan::Aes128Key::parse(kNwkKey), plain));

  // Not an AES key: slot 8 (data), slot 1 (private key); block 2 of a 36-byte slot.
  EXPECT_EQ(error_of([&] { client->aes_encrypt(8, 0, plain); }).status(),
            std::optional<std::uint8_t>(0x0F));
  EXPECT_EQ(error_of([&] { client->aes_encrypt(1, 0, plain); }).status(),
            std::optional<std::uint8_t>(0x0F));
  EXPECT_EQ(error_of([&] { client->aes_encrypt(2, 2, plain); }).status(),
            std::optional<std::uint8_t>(0x03));
}

// cryptoauthlib's test/api_atcab/atca_tests_kdf.c kdf_aes_output: key 00..0F,
// message 00..0F -> 0A940BB5416EF045F1C39458C653EA5A followed by 16 zero bytes.
TEST_F(Atecc608Client, KdfAesVector) {
  Bytes slot(32, 0);
  const Bytes key = hex(kNwkKey);  // 00..0F
  std::copy(key.begin(), key.end(), slot.begin());
  client->write(Zone::data, data_address(2, 0, 0), slot);
  const auto out = client->kdf_aes(KdfSource::slot, 2, 0, KdfTarget::output, 0, counting_block());
  ASSERT_TRUE(out);
  EXPECT_EQ(lorawan::to_hex(*out),
            "0a940bb5416ef045f1c39458c653ea5a00000000000000000000000000000000");

  // The same from TempKey, into TempKey, then AES with it.
  client->nonce_passthrough(NonceTarget::tempkey, slot);
  client->kdf_aes(KdfSource::tempkey, 0, 0, KdfTarget::tempkey, 0, counting_block());
  const Block derived = block_of("0a940bb5416ef045f1c39458c653ea5a");
  EXPECT_EQ(client->aes_encrypt(kTempKeyId, 0, Block{}),
            lorawan::aes128_encrypt(lorawan::Aes128Key(derived), Block{}));
}

TEST_F(Atecc608Client, KdfIntoASlotThenAesWithThatSlot) {
  const Block message = block_of("01c0ffee0000000000000000000000ff");
  client->kdf_aes_into_slot(0, 1, 3, message);
  const lorawan::Aes128Key derived(
      lorawan::aes128_encrypt(lorawan::Aes128Key::parse(kAppKey), message));
  const Block plain = counting_block();
  EXPECT_EQ(client->aes_encrypt(3, 0, plain), lorawan::aes128_encrypt(derived, plain));
  EXPECT_EQ(client->aes_encrypt(3, 1, plain),
            lorawan::aes128_encrypt(lorawan::Aes128Key(lorawan::Aes128Key::Array{}), plain))
      << "the result is followed by 16 zero bytes";

  // Slot 0 is never a KDF target; slot 8 holds no key; PRF is not modelled.
  EXPECT_EQ(error_of([&] { client->kdf_aes_into_slot(0, 1, 0, message); }).status(),
            std::optional<std::uint8_t>(0x0F));
  EXPECT_EQ(error_of([&] { client->kdf_aes_into_slot(8, 0, 3, message); }).status(),
            std::optional<std::uint8_t>(0x0F));
  CommandPacket prf = kdf_aes_command(KdfSource::slot, 0, 1, KdfTarget::slot, 3, message);
  prf.param1 = static_cast<std::uint8_t>(prf.param1 & ~kKdfAlgorithmMask);
  EXPECT_EQ(error_of([&] { client->execute("KDF PRF", prf, 0); }).status(),
            std::optional<std::uint8_t>(0x03));
}

TEST_F(Atecc608Client, EveryCommandUnderTheMaxTimingModelAndBusTime) {
  EmulatorOptions slow;
  slow.timing = TimingModel::max;
  make(false, slow, EmulatedTransport::kByteTimeAt100kHz);
  EXPECT_EQ(client->info()[2], 0x60);
  client->write(Zone::data, data_address(8, 0, 0), Bytes(32, 1));
  client->kdf_aes_into_slot(0, 1, 5, counting_block());
  client->aes_encrypt(5, 0, counting_block());
  client->random();
  EXPECT_GT(client->stats().polls, client->stats().commands) << "busy chips were polled";
  EXPECT_GT(emulator->now(), 165ms + 45ms + 27ms + 23ms);
}

// ------------------------------------------------------------------------------------------------
// Faults

TEST_F(Atecc608Client, ResponseCrcErrorIsRecoveredByRetry) {
  emulator->faults().corrupt_response_crc = 1;
  EXPECT_EQ(client->info()[3], 0x02);
  EXPECT_EQ(client->stats().retries, 1u);
  EXPECT_EQ(emulator->faults().corrupt_response_crc, 0u) << "counted down";
}

TEST_F(Atecc608Client, CommandCrcErrorIsRecoveredByRetry) {
  emulator->faults().corrupt_command_crc = 2;
  EXPECT_EQ(serial_hex(client->read_serial()), kSerial);
  EXPECT_EQ(client->stats().retries, 2u);
  EXPECT_EQ(emulator->faults().corrupt_command_crc, 0u);
}

TEST_F(Atecc608Client, PersistentCrcErrorsFailNamingCommandAndStatus) {
  emulator->faults().corrupt_command_crc = Faults::kAlways;
  const CommandError e = error_of([&] { client->info(); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0xFF));
  EXPECT_EQ(e.command(), "Info");
  EXPECT_CONTAINS(e.what(), "Info");
  EXPECT_CONTAINS(e.what(), "0xFF (CRC or communication error)");
  EXPECT_CONTAINS(e.what(), "emulated chip 0123a1b2c3d4e5f627");
  EXPECT_CONTAINS(e.what(), "(3 attempts)");
  EXPECT_EQ(client->stats().commands, 3u) << "1 + 2 retries, bounded";

  make();
  emulator->faults().corrupt_response_crc = Faults::kAlways;
  const CommandError r = error_of([&] { client->random(); });
  EXPECT_EQ(r.status(), std::optional<std::uint8_t>(0xFF));
  EXPECT_CONTAINS(r.what(), "Random");
  EXPECT_CONTAINS(r.what(), "CRC does not match");
}

TEST_F(Atecc608Client, NoWakeIsAnError) {
  emulator->faults().no_wake = Faults::kAlways;
  const CommandError e = error_of([&] { client->info(); });
  EXPECT_EQ(e.status(), std::nullopt);
  EXPECT_EQ(std::string(e.what()),
            "no wake answer from emulated chip 0123a1b2c3d4e5f627 before Info: expected 04 11 33 "
            "43, got a NACK after 3 wake attempts");
  EXPECT_EQ(client->stats().wakes, 3u);
}

TEST_F(Atecc608Client, OneMissedWakeIsRetried) {
  emulator->faults().no_wake = 1;
  EXPECT_EQ(client->info()[2], 0x60);
  EXPECT_EQ(client->stats().wakes, 2u);
}

TEST_F(Atecc608Client, SelfTestFailureAtWake) {
  emulator->faults().self_test_failure_wakes = 1;
  const CommandError e = error_of([&] { client->info(); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x07));
  EXPECT_CONTAINS(e.what(), "04 07 40 C2");
  EXPECT_CONTAINS(e.what(), "self-test");
  EXPECT_EQ(client->info()[2], 0x60) << "the next wake runs the self-test again and passes";
}

TEST_F(Atecc608Client, BusyReadsArePolledThrough) {
  emulator->faults().busy_reads = 5;
  EXPECT_EQ(client->info()[2], 0x60);
  EXPECT_GE(client->stats().polls, 6u);
  EXPECT_EQ(client->stats().retries, 0u);
}

TEST_F(Atecc608Client, NoAnswerWithinTheDeadlineIsAnErrorNotAHang) {
  emulator->faults().busy_reads = Faults::kAlways;
  const CommandError e = error_of([&] { client->info(); });
  EXPECT_EQ(std::string(e.what()),
            "no answer from emulated chip 0123a1b2c3d4e5f627 to Info within 2500 ms");
  EXPECT_EQ(e.reason(), "no answer within 2500 ms");
  EXPECT_LE(client->stats().polls, 2500u / 2 + 2);
  EXPECT_GE(emulator->now(), 2500ms) << "on the virtual clock: the test itself does not wait";
}

TEST_F(Atecc608Client, ForcedExecutionErrorNamesTheStatus) {
  emulator->faults().force_status = 1;
  const CommandError e = error_of([&] { client->read_serial(); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x0F));
  EXPECT_EQ(std::string(e.what()),
            "ATECC608 Read config block 0 (32 bytes) on emulated chip 0123a1b2c3d4e5f627: status "
            "0x0F (execution error)");
  EXPECT_EQ(serial_hex(client->read_serial()), kSerial) << "one command only";

  emulator->faults().force_status = Faults::kAlways;
  emulator->faults().forced_status = 0x05;
  emulator->faults().forced_status_opcode = opcode::aes;
  EXPECT_EQ(client->info()[2], 0x60) << "other opcodes run";
  EXPECT_CONTAINS(error_of([&] { client->aes_encrypt(0, 1, Block{}); }).what(),
                  "status 0x05 (ECC fault)");
}

TEST_F(Atecc608Client, SuccessStatusWhereDataWasDueIsAnErrorSayingWhatWasExpected) {
  emulator->faults().force_status = 1;
  emulator->faults().forced_status = 0x00;
  emulator->faults().forced_status_opcode = opcode::random;
  const CommandError e = error_of([&] { client->random(); });
  EXPECT_CONTAINS(e.what(), "expected 32 bytes, got status 0x00 (success)");
}

TEST_F(Atecc608Client, RefusedSlotRead) {
  emulator->faults().refuse_read_slot = 9;
  const CommandError e = error_of([&] { client->read(Zone::data, data_address(9, 0, 0), 32); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x0F));
  EXPECT_CONTAINS(e.what(), "Read data slot 9 block 0 (32 bytes)");
  EXPECT_EQ(client->read(Zone::data, data_address(10, 0, 0), 32).size(), 32u);
}

TEST_F(Atecc608Client, WatchdogAboutToExpireIsRecoveredOnce) {
  emulator->faults().watchdog_about_to_expire = 1;
  EXPECT_EQ(client->info()[2], 0x60);
  EXPECT_EQ(client->stats().retries, 1u);
  EXPECT_EQ(client->stats().wakes, 2u) << "idle + wake restarts the watchdog";
  EXPECT_EQ(emulator->executed(opcode::info), 1u);

  emulator->faults().watchdog_about_to_expire = Faults::kAlways;
  const CommandError e = error_of([&] { client->info(); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0xEE));
  EXPECT_CONTAINS(e.what(), "0xEE (watchdog about to expire)");
}

TEST_F(Atecc608Client, WatchdogExpiryMidSequenceLosesTempKey) {
  client->nonce_passthrough(NonceTarget::tempkey, Bytes(32, 0x33));
  EXPECT_EQ(client->aes_encrypt(kTempKeyId, 0, Block{}).size(), 16u);
  emulator->faults().watchdog_expiry_after_commands = 1;
  client->info();  // the watchdog fires once its answer has been read
  EXPECT_EQ(emulator->power_state(), PowerState::sleep);
  EXPECT_FALSE(emulator->tempkey_valid());
  const CommandError e = error_of([&] { client->aes_encrypt(kTempKeyId, 0, Block{}); });
  EXPECT_EQ(e.status(), std::optional<std::uint8_t>(0x0F)) << "TempKey is gone";
  EXPECT_EQ(client->info()[2], 0x60) << "the chip itself recovers at the next wake";
}

// ------------------------------------------------------------------------------------------------
// Hostile and broken transports

// A bus whose failure is not a NACK (an I/O error of the adapter, say).
class FailingTransport final : public Transport {
 public:
  std::optional<Bytes> wake() override { return Bytes(kWakeResponse.begin(), kWakeResponse.end()); }
  Ack write(WordAddress, lorawan::ByteSpan) override {
    throw TransportError("/dev/i2c-1 address 0x59: write: Input/output error");
  }
  std::optional<Bytes> read(std::size_t) override { return std::nullopt; }
  void delay(std::chrono::microseconds d) override { now_ += d; }
  std::chrono::microseconds now() const override { return now_; }
  std::string describe() const override { return "/dev/i2c-1 address 0x59"; }

 private:
  std::chrono::microseconds now_{0};
};

TEST(Atecc608ClientTransport, ATransportFailureBecomesACommandError) {
  Client client(std::make_unique<FailingTransport>());
  try {
    client.info();
    ADD_FAILURE() << "expected a CommandError";
  } catch (const CommandError& e) {
    EXPECT_EQ(std::string(e.what()),
              "ATECC608 Info: /dev/i2c-1 address 0x59: write: Input/output error");
    EXPECT_EQ(e.command(), "Info");
    EXPECT_EQ(e.status(), std::nullopt);
  }
}

// A chip that answers garbage: random bytes, random NACKs, sometimes a valid wake answer. The
// client must end every command with an answer or a CommandError, within its bounds.
class GarbageTransport final : public Transport {
 public:
  explicit GarbageTransport(std::uint64_t seed) : rng_(seed) {}
  std::optional<Bytes> wake() override {
    if (rng_() % 2 == 0) return Bytes(kWakeResponse.begin(), kWakeResponse.end());
    return noise(4);
  }
  Ack write(WordAddress, lorawan::ByteSpan) override {
    return rng_() % 4 == 0 ? Ack::nack : Ack::ack;
  }
  std::optional<Bytes> read(std::size_t size) override { return noise(size); }
  void delay(std::chrono::microseconds d) override { now_ += d; }
  std::chrono::microseconds now() const override { return now_; }
  std::string describe() const override { return "a garbage chip"; }

 private:
  std::optional<Bytes> noise(std::size_t size) {
    if (rng_() % 5 == 0) return std::nullopt;
    Bytes b(size);
    for (auto& byte : b) byte = static_cast<std::uint8_t>(rng_());
    if (!b.empty() && rng_() % 3 == 0) b[0] = static_cast<std::uint8_t>(4 + rng_() % 32);
    return b;
  }
  std::mt19937_64 rng_;
  std::chrono::microseconds now_{0};
};

TEST(Atecc608ClientTransport, GarbageNeverHangsOrCrashes) {
  std::size_t errors = 0;
  for (std::uint64_t seed = 0; seed < 300; ++seed) {
    Client client(std::make_unique<GarbageTransport>(seed));
    try {
      client.aes_encrypt(2, 0, Block{});
    } catch (const CommandError& e) {
      ++errors;
      EXPECT_CONTAINS(e.what(), "a garbage chip");
    }
    EXPECT_LE(client.stats().commands, 3u + 1u) << "seed " << seed;
    EXPECT_LE(client.stats().wakes, 3u * 4u) << "seed " << seed;
    EXPECT_LE(client.transport().now(), 4 * 2600ms) << "seed " << seed;
  }
  EXPECT_GT(errors, 0u);
}

}  // namespace
}  // namespace joincheck::sim::atecc608
