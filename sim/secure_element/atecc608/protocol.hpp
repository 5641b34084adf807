#pragma once
// The ATECC608A I/O protocol (Microchip ATECC508A data sheet DS20005927A and ATECC608A/B-TNGLoRaWAN
// data sheets; opcodes and mode bits as in MicrochipTech/cryptoauthlib lib/calib/calib_command.h):
// word addresses, command and
// response groups, status codes, the memory map and address encoding, and the mode bits of the
// commands a LoRaWAN secure element uses (Info, Read, Write, Random, Nonce, AES, KDF). Pure data
// and encoding: no I/O. The client (client.hpp) and the emulator (emulator.hpp) both build on it,
// so the two ends of the wire share one definition and the tests pin it to the reference frames.
//
//   group    = count | packet | crc_lo | crc_hi        (count counts itself and the CRC, DS508 I/O
//   groups) command  = opcode | param1 | param2_lo | param2_hi | data... response = count | data |
//   crc, or the 4-byte status group 04 | status | crc (TNGLoRaWAN data sheets, status codes)

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lorawan/crypto.hpp"
#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::sim::atecc608 {

// The first byte of every I2C write (DS508 I2C interface).
enum class WordAddress : std::uint8_t {
  reset = 0x00,    // rewind the output buffer's read pointer, discard a partial command
  sleep = 0x01,    // low-power sleep: every volatile register is lost
  idle = 0x02,     // idle: TempKey and the other buffers are kept, the watchdog stops
  command = 0x03,  // the bytes that follow go into the command FIFO
};
std::string_view to_string(WordAddress address);

// Opcodes (cryptoauthlib's calib_command.h values).
namespace opcode {
inline constexpr std::uint8_t pause = 0x01;
inline constexpr std::uint8_t read = 0x02;
inline constexpr std::uint8_t mac = 0x08;
inline constexpr std::uint8_t hmac = 0x11;
inline constexpr std::uint8_t write = 0x12;
inline constexpr std::uint8_t erase = 0x13;  // "Delete"
inline constexpr std::uint8_t gen_dig = 0x15;
inline constexpr std::uint8_t nonce = 0x16;
inline constexpr std::uint8_t lock = 0x17;
inline constexpr std::uint8_t random = 0x1B;
inline constexpr std::uint8_t derive_key = 0x1C;
inline constexpr std::uint8_t update_extra = 0x20;
inline constexpr std::uint8_t counter = 0x24;
inline constexpr std::uint8_t check_mac = 0x28;
inline constexpr std::uint8_t info = 0x30;
inline constexpr std::uint8_t gen_key = 0x40;
inline constexpr std::uint8_t sign = 0x41;
inline constexpr std::uint8_t ecdh = 0x43;
inline constexpr std::uint8_t verify = 0x45;
inline constexpr std::uint8_t priv_write = 0x46;
inline constexpr std::uint8_t sha = 0x47;
inline constexpr std::uint8_t aes = 0x51;
inline constexpr std::uint8_t kdf = 0x56;
inline constexpr std::uint8_t self_test = 0x77;
inline constexpr std::uint8_t secure_boot = 0x80;
}  // namespace opcode
// "Info", "AES", "KDF", ...; "opcode 0x99" for a value that is none of the above.
std::string opcode_name(std::uint8_t op);

// Status bytes of a 4-byte status group (TNGLoRaWAN data sheets, status codes).
namespace status {
inline constexpr std::uint8_t success = 0x00;
inline constexpr std::uint8_t miscompare = 0x01;
inline constexpr std::uint8_t parse_error = 0x03;
inline constexpr std::uint8_t ecc_fault = 0x05;
inline constexpr std::uint8_t self_test_error = 0x07;
inline constexpr std::uint8_t health_test_error = 0x08;
inline constexpr std::uint8_t execution_error = 0x0F;
inline constexpr std::uint8_t after_wake = 0x11;
inline constexpr std::uint8_t watchdog_about_to_expire = 0xEE;
inline constexpr std::uint8_t crc_error = 0xFF;
}  // namespace status
// "execution error", "parse error", ...; "unknown status" otherwise.
std::string_view status_meaning(std::uint8_t status_byte);
// "0x0F (execution error)".
std::string describe_status(std::uint8_t status_byte);

// Group sizes (DS508 I/O groups): the smallest group is a status group; a command group holds at
// most 155 bytes. Responses are bounded the same way here (the largest LoRaWAN answer is 35 bytes).
inline constexpr std::size_t kStatusGroupSize = 4;
inline constexpr std::size_t kMinCommandGroupSize = 7;  // count, opcode, p1, p2 (2), crc (2)
inline constexpr std::size_t kMaxGroupSize = 155;
// What the chip answers after a wake (status 0x11), and after a wake whose power-on self-test
// failed (status 0x07, with the chip's own CRC; cryptoauthlib's constant `04 07 C4 40` is wrong,
// TNGLoRaWAN data sheets, slot map).
inline constexpr std::array<std::uint8_t, 4> kWakeResponse = {0x04, 0x11, 0x33, 0x43};
inline constexpr std::array<std::uint8_t, 4> kSelfTestFailureResponse = {0x04, 0x07, 0x40, 0xC2};

// A command packet before framing. `param2` is sent little-endian.
struct CommandPacket {
  std::uint8_t opcode = 0;
  std::uint8_t param1 = 0;
  std::uint16_t param2 = 0;
  lorawan::Bytes data;
  friend bool operator==(const CommandPacket&, const CommandPacket&) = default;
};

// A group that cannot be decoded. CrcError: the CRC does not match (the caller may retry).
class ProtocolError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};
class CrcError : public ProtocolError {
 public:
  using ProtocolError::ProtocolError;
};

// count | opcode | p1 | p2 LE | data | crc LE. Throws ProtocolError when the group would exceed
// 155 bytes.
lorawan::Bytes encode_command(const CommandPacket& packet);
// The packet of a complete command group; nullopt when the count byte disagrees with the size,
// the group is shorter than 7 bytes or the CRC does not match (the chip answers 0xFF).
std::optional<CommandPacket> decode_command(lorawan::ByteSpan group);

// count | data | crc.
lorawan::Bytes encode_response(lorawan::ByteSpan data);
// 04 | status | crc.
lorawan::Bytes encode_status(std::uint8_t status_byte);

// A decoded response group: a status (4-byte group) or data (longer group).
struct Response {
  std::optional<std::uint8_t> status;  // set for a 4-byte group
  lorawan::Bytes data;                 // the bytes between count and CRC of a longer group
};
// Throws ProtocolError when the count byte is below 4, above 155 or disagrees with the size, and
// CrcError when the CRC does not match.
Response decode_response(lorawan::ByteSpan group);

// ---------------------------------------------------------------------------------------------
// Memory map (DS508 memory map)

enum class Zone : std::uint8_t { config = 0, otp = 1, data = 2 };
std::string_view to_string(Zone zone);

inline constexpr std::size_t kConfigZoneSize = 128;
inline constexpr std::size_t kOtpZoneSize = 64;
inline constexpr std::size_t kSlotCount = 16;
inline constexpr std::size_t kBlockSize = 32;
inline constexpr std::size_t kWordSize = 4;
// Data slot sizes: slots 0-7 36 bytes, slot 8 416 bytes, slots 9-15 72 bytes.
std::size_t slot_size(std::size_t slot);

// param2 of Read/Write. Config: block 0-3, OTP: block 0-1, `block << 3 | word`; data:
// `block << 8 | slot << 3 | word`. Throw lorawan::Error on values outside those ranges.
std::uint16_t config_address(std::uint8_t block, std::uint8_t word);
std::uint16_t otp_address(std::uint8_t block, std::uint8_t word);
std::uint16_t data_address(std::uint8_t slot, std::uint8_t block, std::uint8_t word);

// Config zone bytes the code relies on (TNGLoRaWAN data sheets, DS508 memory map).
namespace config {
inline constexpr std::size_t serial_0_3 = 0;    // SN[0:3], 01 23 ...
inline constexpr std::size_t rev_num = 4;       // RevNum, 4 bytes
inline constexpr std::size_t serial_4_8 = 8;    // SN[4:8], byte 12 = SN[8]
inline constexpr std::size_t aes_enable = 13;   // bit 0
inline constexpr std::size_t i2c_enable = 14;   // bit 0
inline constexpr std::size_t i2c_address = 16;  // 8-bit form
inline constexpr std::size_t chip_mode = 19;
inline constexpr std::size_t slot_config = 20;  // 16 x 2 bytes
inline constexpr std::size_t lock_value = 86;   // data/OTP: 0x55 unlocked, 0x00 locked
inline constexpr std::size_t lock_config = 87;
inline constexpr std::size_t slot_locked = 88;  // 2 bytes, bit = 1: not locked
inline constexpr std::size_t key_config = 96;   // 16 x 2 bytes
}  // namespace config

// The 9-byte serial number of a chip: config bytes 0-3 and 8-12.
using Serial = std::array<std::uint8_t, 9>;

// ---------------------------------------------------------------------------------------------
// Command parameters (cryptoauthlib calib_command.h)

// Read / Write param1: zone in bits 1:0, bit 7 = 32 bytes, Write bit 6 = encrypted with a MAC.
inline constexpr std::uint8_t kZoneSize32 = 0x80;
inline constexpr std::uint8_t kWriteEncrypted = 0x40;

// Info param1.
inline constexpr std::uint8_t kInfoRevision = 0x00;

// Random param1: 0 updates the seed.
inline constexpr std::uint8_t kRandomSeedUpdate = 0x00;

// Nonce param1: bits 1:0 mode, bit 5 = 64-byte input, bits 7:6 target.
inline constexpr std::uint8_t kNonceModeRandom = 0x00;
inline constexpr std::uint8_t kNonceModeRandomNoSeedUpdate = 0x01;
inline constexpr std::uint8_t kNonceModePassThrough = 0x03;
inline constexpr std::uint8_t kNonceInput64 = 0x20;
enum class NonceTarget : std::uint8_t {
  tempkey = 0x00,
  message_digest_buffer = 0x40,
  alternate_key_buffer = 0x80,
};
std::string_view to_string(NonceTarget target);

// AES param1: bits 2:0 operation, bits 7:6 the 16-byte key block; param2: slot or TempKey.
inline constexpr std::uint8_t kAesEncrypt = 0x00;
inline constexpr std::uint8_t kAesDecrypt = 0x01;
inline constexpr std::uint8_t kAesGfm = 0x03;
inline constexpr std::uint16_t kTempKeyId = 0xFFFF;

// KDF param1: bits 1:0 source, bits 4:2 target, bits 6:5 algorithm; param2: low byte source
// slot, high byte target slot; data: 4 bytes of details (LE) then the message.
enum class KdfSource : std::uint8_t {
  tempkey = 0x00,
  tempkey_upper = 0x01,
  slot = 0x02,
  alternate_key_buffer = 0x03,
};
enum class KdfTarget : std::uint8_t {
  tempkey = 0x00,
  tempkey_upper = 0x04,
  slot = 0x08,
  alternate_key_buffer = 0x0C,
  output = 0x10,
  output_encrypted = 0x14,
};
std::string_view to_string(KdfSource source);
std::string_view to_string(KdfTarget target);
inline constexpr std::uint8_t kKdfAlgorithmPrf = 0x00;
inline constexpr std::uint8_t kKdfAlgorithmAes = 0x20;
inline constexpr std::uint8_t kKdfAlgorithmHkdf = 0x40;
inline constexpr std::uint8_t kKdfAlgorithmMask = 0x60;

// Packets of the LoRaWAN command set. Throw lorawan::Error on impossible arguments (a size other
// than 4 or 32, a key block above 3, ...).
CommandPacket info_command(std::uint8_t mode = kInfoRevision);
CommandPacket read_command(Zone zone, std::uint16_t address, std::size_t size);
CommandPacket write_command(Zone zone, std::uint16_t address, lorawan::ByteSpan bytes);
CommandPacket random_command();
CommandPacket nonce_passthrough_command(NonceTarget target, lorawan::ByteSpan bytes);
// `key_id` a slot 0-15 or kTempKeyId; `block` the 16-byte key block (0-3).
CommandPacket aes_command(std::uint8_t operation, std::uint16_t key_id, std::uint8_t block,
                          const lorawan::Block& input);
// KDF in AES mode: key = the 16 bytes at `source_block` of the source, message 16 bytes.
// `source_slot` and `target_slot` matter only for the slot source and target.
CommandPacket kdf_aes_command(KdfSource source, std::uint8_t source_slot, std::uint8_t source_block,
                              KdfTarget target, std::uint8_t target_slot,
                              const lorawan::Block& message);

// Maximum execution time of a command at clock divider M0 (cryptoauthlib's calib_execution.c table
// for the 608): AES 27 ms, KDF 165, Info 5, Nonce 20, Random 23, Read 5, Write 45, SelfTest 250,
// Counter 25, Lock 35; other opcodes get a conservative 250 ms.
std::chrono::microseconds max_execution_time(std::uint8_t op);

}  // namespace joincheck::sim::atecc608
