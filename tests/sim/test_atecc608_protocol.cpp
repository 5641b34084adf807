// The ATECC608 wire protocol (the data sheets protocol.hpp cites): the CRC-16 against the
// catalogue check value, frames published by Microchip and frames built from the documented
// command layouts, the command encoders
// against those frames, response decoding (good, bad CRC, bad count) and address encoding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lorawan/hex.hpp"
#include "sim/secure_element/atecc608/crc.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim::atecc608 {
namespace {

using lorawan::Bytes;

Bytes hex(std::string_view text) {
  std::string clean;
  for (char c : text) {
    if (c != ' ') clean += c;
  }
  return lorawan::from_hex(clean, "test frame");
}

std::string counting(std::size_t n) {  // "000102...": n bytes counting from 0
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i);
  return lorawan::to_hex(b);
}

lorawan::Block counting_block() {
  lorawan::Block b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i);
  return b;
}

TEST(Atecc608Crc, CatalogueCheckValue) {
  const std::string text = "123456789";
  const Bytes bytes(text.begin(), text.end());
  EXPECT_EQ(crc16(bytes), 0xBCDD);
  EXPECT_EQ(crc16({}), 0x0000);
}

TEST(Atecc608Crc, AppendAndMatch) {
  Bytes group = hex("07 30 00 00 00");
  append_crc(group);
  EXPECT_EQ(group, hex("07 30 00 00 00 03 5D"));
  EXPECT_TRUE(crc_matches(group));
  group[5] ^= 0x01;
  EXPECT_FALSE(crc_matches(group));
  EXPECT_FALSE(crc_matches(hex("07 30")));
}

// Every known frame (frames published by Microchip, the status groups, and worked command frames)
// carries a CRC this implementation reproduces.
TEST(Atecc608Crc, EveryWorkedFrameOfTheReference) {
  const std::vector<std::string> frames = {
      "07 30 00 00 00 03 5D",  // Info
      "07 1B 00 00 00 24 CD",  // Random
      "04 11 33 43",           // wake
      "04 00 03 40",
      "04 01 00 C3",
      "04 03 83 42",
      "04 05 C3 43",
      "04 07 40 C2",
      "04 08 60 C0",
      "04 0F 23 42",
      "04 EE 31 41",
      "04 FF 01 42",
      "07 00 00 60 02 80 38",                                      // Info answer, 608A
      "07 00 00 60 03 83 BB",                                      // Info answer, 608B
      "07 02 80 00 00 09 AD",                                      // Read config block 0
      "07 02 00 04 00 1D 6D",                                      // Read config word @16
      "07 02 82 48 00 0A 44",                                      // Read slot 9
      "07 02 82 50 00 0A 14",                                      // Read slot 10
      "07 02 81 00 00 0A 27",                                      // Read OTP block 0
      "17 51 40 00 00 " + counting(16) + " CE 51",                 // AES slot 0 block 1
      "1B 56 2A 00 02 01 00 00 00 " + counting(16) + " D1 A2",     // KDF slot 0 -> 2
      "27 16 03 00 00 " + counting(16) + counting(16) + " BA 63",  // Nonce pass-through
  };
  for (const std::string& frame : frames) {
    const Bytes bytes = hex(frame);
    EXPECT_TRUE(crc_matches(bytes)) << frame;
    const std::uint16_t crc = crc16(lorawan::ByteSpan(bytes).first(bytes.size() - 2));
    EXPECT_EQ(bytes[bytes.size() - 2], crc & 0xFF) << frame;
    EXPECT_EQ(bytes[bytes.size() - 1], crc >> 8) << frame;
  }
}

TEST(Atecc608Protocol, CommandEncodersReproduceTheWorkedFrames) {
  EXPECT_EQ(encode_command(info_command()), hex("07 30 00 00 00 03 5D"));
  EXPECT_EQ(encode_command(random_command()), hex("07 1B 00 00 00 24 CD"));
  EXPECT_EQ(encode_command(read_command(Zone::config, config_address(0, 0), 32)),
            hex("07 02 80 00 00 09 AD"));
  EXPECT_EQ(encode_command(read_command(Zone::config, config_address(0, 4), 4)),
            hex("07 02 00 04 00 1D 6D"));
  EXPECT_EQ(encode_command(read_command(Zone::data, data_address(9, 0, 0), 32)),
            hex("07 02 82 48 00 0A 44"));
  EXPECT_EQ(encode_command(read_command(Zone::data, data_address(10, 0, 0), 32)),
            hex("07 02 82 50 00 0A 14"));
  EXPECT_EQ(encode_command(read_command(Zone::otp, otp_address(0, 0), 32)),
            hex("07 02 81 00 00 0A 27"));
  EXPECT_EQ(encode_command(aes_command(kAesEncrypt, 0, 1, counting_block())),
            hex("17 51 40 00 00 " + counting(16) + " CE 51"));
  EXPECT_EQ(
      encode_command(kdf_aes_command(KdfSource::slot, 0, 1, KdfTarget::slot, 2, counting_block())),
      hex("1B 56 2A 00 02 01 00 00 00 " + counting(16) + " D1 A2"));
  const Bytes nonce = hex(counting(16) + counting(16));
  EXPECT_EQ(encode_command(nonce_passthrough_command(NonceTarget::tempkey, nonce)),
            hex("27 16 03 00 00 " + counting(16) + counting(16) + " BA 63"));
}

TEST(Atecc608Protocol, CommandEncodersRefuseImpossibleArguments) {
  EXPECT_THROW(read_command(Zone::data, 0, 16), lorawan::Error);
  EXPECT_THROW(write_command(Zone::data, 0, Bytes(5)), lorawan::Error);
  EXPECT_THROW(nonce_passthrough_command(NonceTarget::tempkey, Bytes(20)), lorawan::Error);
  EXPECT_THROW(aes_command(kAesEncrypt, 0, 4, counting_block()), lorawan::Error);
  EXPECT_THROW(aes_command(kAesEncrypt, 16, 0, counting_block()), lorawan::Error);
  CommandPacket huge;
  huge.opcode = opcode::write;
  huge.data.assign(149, 0);
  EXPECT_THROW(encode_command(huge), ProtocolError);
  huge.data.assign(148, 0);
  EXPECT_EQ(encode_command(huge).size(), 155u);
}

TEST(Atecc608Protocol, StatusGroups) {
  EXPECT_EQ(encode_status(status::success), hex("04 00 03 40"));
  EXPECT_EQ(encode_status(status::execution_error), hex("04 0F 23 42"));
  EXPECT_EQ(encode_status(status::after_wake), hex("04 11 33 43"));
  EXPECT_EQ(encode_status(status::watchdog_about_to_expire), hex("04 EE 31 41"));
  EXPECT_EQ(encode_status(status::crc_error), hex("04 FF 01 42"));
  EXPECT_EQ(encode_status(status::self_test_error), hex("04 07 40 C2"));
  EXPECT_EQ(Bytes(kWakeResponse.begin(), kWakeResponse.end()), hex("04 11 33 43"));
  EXPECT_EQ(Bytes(kSelfTestFailureResponse.begin(), kSelfTestFailureResponse.end()),
            hex("04 07 40 C2"));
  EXPECT_EQ(describe_status(0x0F), "0x0F (execution error)");
  EXPECT_EQ(describe_status(0x03), "0x03 (parse error)");
  EXPECT_EQ(describe_status(0xEE), "0xEE (watchdog about to expire)");
  EXPECT_EQ(describe_status(0xFF), "0xFF (CRC or communication error)");
  EXPECT_EQ(describe_status(0x42), "0x42 (unknown status)");
  EXPECT_EQ(opcode_name(opcode::aes), "AES");
  EXPECT_EQ(opcode_name(0x99), "opcode 0x99");
}

TEST(Atecc608Protocol, ResponseDecoding) {
  const Bytes info_answer = encode_response(hex("00 00 60 02"));
  EXPECT_EQ(info_answer, hex("07 00 00 60 02 80 38"));
  const Response data = decode_response(info_answer);
  EXPECT_FALSE(data.status);
  EXPECT_EQ(data.data, hex("00 00 60 02"));

  const Response status_only = decode_response(hex("04 0F 23 42"));
  ASSERT_TRUE(status_only.status);
  EXPECT_EQ(*status_only.status, 0x0F);
  EXPECT_TRUE(status_only.data.empty());

  EXPECT_THROW(decode_response(hex("07 00 00 60 02 80 39")), CrcError);
  EXPECT_THROW(decode_response(hex("04 0F 23 43")), CrcError);
  try {
    decode_response(hex("08 00 00 60 02 80 38"));
    ADD_FAILURE() << "expected a ProtocolError";
  } catch (const CrcError&) {
    ADD_FAILURE() << "a count mismatch is not a CRC error";
  } catch (const ProtocolError& e) {
    EXPECT_CONTAINS(e.what(), "count byte says 8 bytes, got 7");
  }
  EXPECT_THROW(decode_response(hex("03 00 00")), ProtocolError);
  EXPECT_THROW(decode_response(hex("FF")), ProtocolError);
  EXPECT_THROW(decode_response({}), ProtocolError);
}

TEST(Atecc608Protocol, CommandDecodingRoundTrip) {
  CommandPacket p = aes_command(kAesDecrypt, kTempKeyId, 3, counting_block());
  const Bytes group = encode_command(p);
  const auto decoded = decode_command(group);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, p);
  EXPECT_EQ(decoded->param2, 0xFFFF);
  EXPECT_EQ(decoded->param1, 0xC1);

  Bytes bad = group;
  bad[6] ^= 0x80;
  EXPECT_FALSE(decode_command(bad));                                 // CRC
  EXPECT_FALSE(decode_command(lorawan::ByteSpan(group).first(10)));  // count disagrees
  EXPECT_FALSE(decode_command(hex("04 00 03 40")));                  // too short
}

TEST(Atecc608Protocol, AddressEncoding) {
  EXPECT_EQ(config_address(0, 4), 0x0004);
  EXPECT_EQ(config_address(3, 7), 0x001F);
  EXPECT_EQ(otp_address(1, 0), 0x0008);
  EXPECT_EQ(data_address(9, 0, 0), 0x0048);
  EXPECT_EQ(data_address(10, 0, 0), 0x0050);
  EXPECT_EQ(data_address(0, 1, 0), 0x0100);  // slot 0 bytes 32-35
  EXPECT_EQ(data_address(8, 12, 3), 0x0C43);
  EXPECT_THROW(config_address(4, 0), lorawan::Error);
  EXPECT_THROW(otp_address(2, 0), lorawan::Error);
  EXPECT_THROW(data_address(16, 0, 0), lorawan::Error);
  EXPECT_THROW(data_address(2, 2, 0), lorawan::Error);  // a 36-byte slot has blocks 0-1
  EXPECT_THROW(data_address(9, 3, 0), lorawan::Error);  // a 72-byte slot has blocks 0-2
  EXPECT_EQ(slot_size(0), 36u);
  EXPECT_EQ(slot_size(7), 36u);
  EXPECT_EQ(slot_size(8), 416u);
  EXPECT_EQ(slot_size(15), 72u);
}

}  // namespace
}  // namespace joincheck::sim::atecc608
