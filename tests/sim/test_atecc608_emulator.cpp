// The ATECC608 emulator at the byte level (I2C framing, wake, sleep and watchdog as in the
// ATECC508A data sheet DS20005927A and the TNGLoRaWAN data sheets): what a transport sees. Power states, tWHI, the read pointer (0xFF past the end, rewind
// on word address 0x00), partial commands, CRC errors, idle keeping and sleep/watchdog losing
// TempKey, 0xEE near watchdog expiry, busy NACKs under a timing model, and the EEPROM image.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "lorawan/hex.hpp"
#include "sim/secure_element/atecc608/emulator.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim::atecc608 {
namespace {

using lorawan::Bytes;
using namespace std::chrono_literals;

Bytes hex(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != ' ') clean += c;
  }
  return lorawan::from_hex(clean, "test bytes");
}

ChipProvisioning chip_1_0() {
  ChipProvisioning chip;
  chip.serial = parse_serial("0123a1b2c3d4e5f627");
  chip.dev_eui = lorawan::Eui64::parse("0102030405060708");
  chip.join_eui = lorawan::Eui64::parse("70b3d57ed0000000");
  chip.app_key = lorawan::Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c");
  return chip;
}

// Wakes the chip and waits tWHI, as a transport does.
void wake(Emulator& chip) {
  chip.wake_pulse();
  chip.advance(Emulator::kWakeHighTime);
}

// Sends a command group, waits its execution time and reads the whole answer (count byte
// first).
Bytes command(Emulator& chip, const CommandPacket& packet) {
  EXPECT_EQ(chip.write(0x03, encode_command(packet)), Ack::ack);
  chip.advance(execution_time(chip.timing(), packet.opcode));  // busy until then
  const auto count = chip.read(1);
  if (!count) return {};
  chip.write(0x00, {});
  const auto group = chip.read((*count)[0]);
  return group ? *group : Bytes{};
}

TEST(Atecc608Emulator, AsleepUntilWokenThenAnswersAfterTwhi) {
  Emulator chip(chip_1_0());
  EXPECT_EQ(chip.power_state(), PowerState::sleep);
  EXPECT_FALSE(chip.read(4));
  EXPECT_EQ(chip.write(0x03, encode_command(info_command())), Ack::nack);

  chip.wake_pulse();
  EXPECT_EQ(chip.power_state(), PowerState::awake);
  EXPECT_FALSE(chip.read(4)) << "NACK before tWHI has passed";
  chip.advance(1500us);
  EXPECT_EQ(chip.read(4), hex("04 11 33 43"));
}

TEST(Atecc608Emulator, ReadPointerRunsPastTheEndAndRewinds) {
  Emulator chip(chip_1_0());
  wake(chip);
  EXPECT_EQ(chip.read(6), hex("04 11 33 43 FF FF"));
  EXPECT_EQ(chip.read(2), hex("FF FF")) << "the pointer does not wrap";
  EXPECT_EQ(chip.write(0x00, {}), Ack::ack);
  EXPECT_EQ(chip.read(2), hex("04 11"));
  EXPECT_EQ(chip.read(2), hex("33 43")) << "each read continues at the next byte";
}

TEST(Atecc608Emulator, InfoRevisionOnTheWire) {
  Emulator chip(chip_1_0());
  wake(chip);
  EXPECT_EQ(chip.write(0x03, hex("07 30 00 00 00 03 5D")), Ack::ack);
  EXPECT_EQ(chip.read(7), hex("07 00 00 60 02 80 38"));

  EmulatorOptions b;
  b.revision = {0x00, 0x00, 0x60, 0x03};
  Emulator chip_b(chip_1_0(), b);
  wake(chip_b);
  EXPECT_EQ(command(chip_b, info_command()), hex("07 00 00 60 03 83 BB"));
}

TEST(Atecc608Emulator, PartialCommandNacksReadsUntilComplete) {
  Emulator chip(chip_1_0());
  wake(chip);
  const Bytes group = hex("07 30 00 00 00 03 5D");
  EXPECT_EQ(chip.write(0x03, lorawan::ByteSpan(group).first(3)), Ack::ack);
  EXPECT_FALSE(chip.read(1)) << "a partial command NACKs reads";
  EXPECT_EQ(chip.write(0x03, lorawan::ByteSpan(group).subspan(3)), Ack::ack);
  EXPECT_EQ(chip.read(7), hex("07 00 00 60 02 80 38"));

  // Word address 0x00 discards a partial command.
  EXPECT_EQ(chip.write(0x03, lorawan::ByteSpan(group).first(3)), Ack::ack);
  EXPECT_EQ(chip.write(0x00, {}), Ack::ack);
  EXPECT_TRUE(chip.read(1));
}

TEST(Atecc608Emulator, BadCrcBadCountUnknownOpcodeAndReservedWordAddress) {
  Emulator chip(chip_1_0());
  wake(chip);
  EXPECT_EQ(chip.write(0x03, hex("07 30 00 00 00 03 5E")), Ack::ack);
  EXPECT_EQ(chip.read(4), hex("04 FF 01 42")) << "bad CRC: 0xFF";
  EXPECT_EQ(chip.write(0x03, hex("02 30")), Ack::ack);
  EXPECT_EQ(chip.read(4), hex("04 FF 01 42")) << "a count below 7: 0xFF";
  CommandPacket unknown;
  unknown.opcode = 0x99;
  EXPECT_EQ(command(chip, unknown), hex("04 03 83 42"));
  CommandPacket gfm = aes_command(kAesGfm, 2, 0, lorawan::Block{});
  EXPECT_EQ(command(chip, gfm), hex("04 03 83 42")) << "GFM is not modelled: parse error";
  EXPECT_EQ(chip.write(0x04, {}), Ack::nack);
  EXPECT_EQ(chip.executed(opcode::info), 0u);
}

TEST(Atecc608Emulator, IdleKeepsTempKeySleepLosesIt) {
  Emulator chip(chip_1_0());
  wake(chip);
  EXPECT_EQ(command(chip, nonce_passthrough_command(NonceTarget::tempkey, Bytes(32, 0x11))),
            hex("04 00 03 40"));
  EXPECT_TRUE(chip.tempkey_valid());

  EXPECT_EQ(chip.write(0x02, {}), Ack::ack);
  EXPECT_EQ(chip.power_state(), PowerState::idle);
  EXPECT_FALSE(chip.read(1)) << "idle NACKs";
  EXPECT_EQ(chip.write(0x03, encode_command(info_command())), Ack::nack);
  chip.advance(5s);  // the watchdog is stopped in idle
  EXPECT_EQ(chip.power_state(), PowerState::idle);
  EXPECT_TRUE(chip.tempkey_valid());
  wake(chip);
  EXPECT_EQ(chip.read(4), hex("04 11 33 43"));
  const Bytes with_tempkey =
      command(chip, aes_command(kAesEncrypt, kTempKeyId, 0, lorawan::Block{}));
  EXPECT_EQ(with_tempkey.size(), 19u) << lorawan::to_hex(with_tempkey);

  EXPECT_EQ(chip.write(0x01, {}), Ack::ack);
  EXPECT_EQ(chip.power_state(), PowerState::sleep);
  EXPECT_FALSE(chip.tempkey_valid());
  wake(chip);
  EXPECT_EQ(command(chip, aes_command(kAesEncrypt, kTempKeyId, 0, lorawan::Block{})),
            hex("04 0F 23 42"))
      << "TempKey was lost by sleep: execution error";
}

TEST(Atecc608Emulator, WatchdogExpiryPutsTheChipToSleep) {
  Emulator chip(chip_1_0());
  wake(chip);
  command(chip, nonce_passthrough_command(NonceTarget::tempkey, Bytes(32, 0x22)));
  chip.advance(1298ms);
  EXPECT_EQ(chip.power_state(), PowerState::awake);
  chip.advance(1ms);
  EXPECT_EQ(chip.power_state(), PowerState::sleep) << "1.3 s after the wake";
  EXPECT_FALSE(chip.tempkey_valid());
  EXPECT_FALSE(chip.read(4));
  wake(chip);
  EXPECT_EQ(chip.read(4), hex("04 11 33 43"));
}

TEST(Atecc608Emulator, CommandThatCannotFinishBeforeTheWatchdogAnswersEE) {
  EmulatorOptions options;
  options.timing = TimingModel::max;
  Emulator chip(chip_1_0(), options);
  wake(chip);
  chip.advance(1200ms);  // 1.2015 s after the wake; KDF needs 165 ms
  EXPECT_EQ(chip.write(0x03, encode_command(kdf_aes_command(
                                 KdfSource::slot, 0, 1, KdfTarget::output, 0, lorawan::Block{}))),
            Ack::ack);
  EXPECT_EQ(chip.read(4), hex("04 EE 31 41"));
  EXPECT_EQ(chip.executed(opcode::kdf), 0u) << "not executed";
  // Info (5 ms) still fits.
  EXPECT_EQ(command(chip, info_command()), hex("07 00 00 60 02 80 38"));
}

TEST(Atecc608Emulator, BusyWhileExecutingUnderTheMaxTimingModel) {
  EmulatorOptions options;
  options.timing = TimingModel::max;
  Emulator chip(chip_1_0(), options);
  wake(chip);
  EXPECT_EQ(chip.write(0x03, encode_command(aes_command(kAesEncrypt, 0, 1, lorawan::Block{}))),
            Ack::ack);
  EXPECT_EQ(chip.power_state(), PowerState::busy);
  EXPECT_FALSE(chip.read(1));
  EXPECT_EQ(chip.write(0x00, {}), Ack::nack) << "busy ignores writes";
  chip.advance(26ms);
  EXPECT_FALSE(chip.read(1));
  chip.advance(1ms);  // AES: 27 ms
  EXPECT_EQ(chip.power_state(), PowerState::awake);
  const auto answer = chip.read(19);
  ASSERT_TRUE(answer);
  const Response r = decode_response(*answer);
  const lorawan::Block expected = lorawan::aes128_encrypt(chip_1_0().app_key, lorawan::Block{});
  EXPECT_EQ(r.data, Bytes(expected.begin(), expected.end()));
  EXPECT_EQ(execution_time(TimingModel::typical, opcode::aes), 13500us);
  EXPECT_EQ(execution_time(TimingModel::none, opcode::kdf), 0us);
}

TEST(Atecc608Emulator, WakeWhileAwakeIsIgnored) {
  Emulator chip(chip_1_0());
  wake(chip);
  command(chip, info_command());
  chip.write(0x00, {});
  chip.wake_pulse();  // ignored: the output still holds the Info answer
  EXPECT_EQ(chip.read(7), hex("07 00 00 60 02 80 38"));
}

TEST(Atecc608Emulator, EepromImage) {
  Emulator chip(chip_1_0());
  wake(chip);
  const Bytes block0 = command(chip, read_command(Zone::config, config_address(0, 0), 32));
  ASSERT_EQ(block0.size(), 35u);
  const Bytes config(block0.begin() + 1, block0.end() - 2);
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(config).first(4)), "0123a1b2");
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(config).subspan(4, 4)), "00006002");
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(config).subspan(8, 5)), "c3d4e5f627");
  EXPECT_EQ(config[13] & 0x01, 0x01) << "AES enabled";
  EXPECT_EQ(config[16], 0xB2) << "I2C address, 8-bit form";
  EXPECT_EQ(command(chip, read_command(Zone::config, config_address(0, 4), 4)),
            encode_response(lorawan::ByteSpan(config).subspan(16, 4)));

  const Bytes block2 = command(chip, read_command(Zone::config, config_address(2, 0), 32));
  ASSERT_EQ(block2.size(), 35u);
  EXPECT_EQ(block2[1 + 86 - 64], 0x00) << "LockValue: data and OTP locked";
  EXPECT_EQ(block2[1 + 87 - 64], 0x00) << "LockConfig: locked";
  EXPECT_EQ(block2[1 + 89 - 64] & 0x04, 0x00) << "SlotLocked: slot 10 locked";

  const Bytes otp = command(chip, read_command(Zone::otp, otp_address(0, 0), 32));
  ASSERT_EQ(otp.size(), 35u);
  EXPECT_EQ(std::string(otp.begin() + 1, otp.begin() + 9), "jsMu7iYO");

  const Bytes slot10 = command(chip, read_command(Zone::data, data_address(10, 0, 0), 32));
  ASSERT_EQ(slot10.size(), 35u);
  EXPECT_EQ(std::string(slot10.begin() + 1, slot10.begin() + 17), "0102030405060708");
  const Bytes slot9 = command(chip, read_command(Zone::data, data_address(9, 0, 0), 32));
  ASSERT_EQ(slot9.size(), 35u);
  EXPECT_EQ(lorawan::to_hex(lorawan::ByteSpan(slot9).subspan(1, 8)), "70b3d57ed0000000");

  // Out of range: past the config zone, past a 36-byte slot.
  EXPECT_EQ(command(chip, read_command(Zone::config, 0x20, 4)), hex("04 03 83 42"));
  CommandPacket past_slot = read_command(Zone::data, 0x0108, 32);  // slot 1 block 1 (32-63)
  EXPECT_EQ(command(chip, past_slot), hex("04 03 83 42"));
}

TEST(Atecc608Emulator, RandomIsDeterministicPerSeed) {
  EmulatorOptions seeded;
  seeded.rng_seed = 42;
  Emulator a(chip_1_0(), seeded);
  Emulator b(chip_1_0(), seeded);
  wake(a);
  wake(b);
  const Bytes ra = command(a, random_command());
  ASSERT_EQ(ra.size(), 35u);
  EXPECT_EQ(ra, command(b, random_command()));
  EXPECT_NE(ra, command(a, random_command()));
}

}  // namespace
}  // namespace joincheck::sim::atecc608
