#include "sim/secure_element/atecc608/protocol.hpp"

#include <algorithm>

#include "sim/secure_element/atecc608/crc.hpp"

namespace joincheck::sim::atecc608 {
namespace {

std::string hex_byte(std::uint8_t value) {
  return "0x" + lorawan::to_hex(lorawan::ByteSpan(&value, 1), lorawan::HexCase::upper);
}

}  // namespace

std::string_view to_string(WordAddress address) {
  switch (address) {
    case WordAddress::reset:
      return "reset (0x00)";
    case WordAddress::sleep:
      return "sleep (0x01)";
    case WordAddress::idle:
      return "idle (0x02)";
    case WordAddress::command:
      return "command (0x03)";
  }
  return "reserved";
}

std::string opcode_name(std::uint8_t op) {
  switch (op) {
    case opcode::pause:
      return "Pause";
    case opcode::read:
      return "Read";
    case opcode::mac:
      return "MAC";
    case opcode::hmac:
      return "HMAC";
    case opcode::write:
      return "Write";
    case opcode::erase:
      return "Delete";
    case opcode::gen_dig:
      return "GenDig";
    case opcode::nonce:
      return "Nonce";
    case opcode::lock:
      return "Lock";
    case opcode::random:
      return "Random";
    case opcode::derive_key:
      return "DeriveKey";
    case opcode::update_extra:
      return "UpdateExtra";
    case opcode::counter:
      return "Counter";
    case opcode::check_mac:
      return "CheckMac";
    case opcode::info:
      return "Info";
    case opcode::gen_key:
      return "GenKey";
    case opcode::sign:
      return "Sign";
    case opcode::ecdh:
      return "ECDH";
    case opcode::verify:
      return "Verify";
    case opcode::priv_write:
      return "PrivWrite";
    case opcode::sha:
      return "SHA";
    case opcode::aes:
      return "AES";
    case opcode::kdf:
      return "KDF";
    case opcode::self_test:
      return "SelfTest";
    case opcode::secure_boot:
      return "SecureBoot";
    default:
      break;
  }
  return "opcode " + hex_byte(op);
}

std::string_view status_meaning(std::uint8_t status_byte) {
  switch (status_byte) {
    case status::success:
      return "success";
    case status::miscompare:
      return "miscompare";
    case status::parse_error:
      return "parse error";
    case status::ecc_fault:
      return "ECC fault";
    case status::self_test_error:
      return "self-test error";
    case status::health_test_error:
      return "RNG health-test error";
    case status::execution_error:
      return "execution error";
    case status::after_wake:
      return "awake, no command yet";
    case status::watchdog_about_to_expire:
      return "watchdog about to expire";
    case status::crc_error:
      return "CRC or communication error";
    default:
      break;
  }
  return "unknown status";
}

std::string describe_status(std::uint8_t status_byte) {
  return hex_byte(status_byte) + " (" + std::string(status_meaning(status_byte)) + ")";
}

lorawan::Bytes encode_command(const CommandPacket& packet) {
  const std::size_t size = kMinCommandGroupSize + packet.data.size();
  if (size > kMaxGroupSize) {
    throw ProtocolError("ATECC608 command " + opcode_name(packet.opcode) + ": a group of " +
                        std::to_string(size) + " bytes exceeds the maximum of " +
                        std::to_string(kMaxGroupSize));
  }
  lorawan::Bytes group;
  group.reserve(size);
  group.push_back(static_cast<std::uint8_t>(size));
  group.push_back(packet.opcode);
  group.push_back(packet.param1);
  group.push_back(static_cast<std::uint8_t>(packet.param2 & 0xFFU));
  group.push_back(static_cast<std::uint8_t>(packet.param2 >> 8));
  group.insert(group.end(), packet.data.begin(), packet.data.end());
  append_crc(group);
  return group;
}

std::optional<CommandPacket> decode_command(lorawan::ByteSpan group) {
  if (group.size() < kMinCommandGroupSize || group.size() > kMaxGroupSize) return std::nullopt;
  if (std::size_t{group[0]} != group.size() || !crc_matches(group)) return std::nullopt;
  CommandPacket packet;
  packet.opcode = group[1];
  packet.param1 = group[2];
  packet.param2 = static_cast<std::uint16_t>(group[3] | (group[4] << 8));
  packet.data.assign(group.begin() + 5, group.end() - 2);
  return packet;
}

lorawan::Bytes encode_response(lorawan::ByteSpan data) {
  lorawan::Bytes group;
  group.reserve(data.size() + 3);
  group.push_back(static_cast<std::uint8_t>(data.size() + 3));
  group.insert(group.end(), data.begin(), data.end());
  append_crc(group);
  return group;
}

lorawan::Bytes encode_status(std::uint8_t status_byte) {
  lorawan::Bytes group = {0x04, status_byte};
  append_crc(group);
  return group;
}

Response decode_response(lorawan::ByteSpan group) {
  if (group.empty()) throw ProtocolError("ATECC608 response: expected a group, got no bytes");
  const std::size_t count = group[0];
  if (count < kStatusGroupSize || count > kMaxGroupSize) {
    throw ProtocolError("ATECC608 response: count byte " + hex_byte(group[0]) +
                        " is outside 4..155");
  }
  if (count != group.size()) {
    throw ProtocolError("ATECC608 response: count byte says " + std::to_string(count) +
                        " bytes, got " + std::to_string(group.size()));
  }
  if (!crc_matches(group)) {
    throw CrcError("ATECC608 response: CRC mismatch in " + lorawan::to_hex(group));
  }
  Response response;
  if (count == kStatusGroupSize) {
    response.status = group[1];
  } else {
    response.data.assign(group.begin() + 1, group.end() - 2);
  }
  return response;
}

std::string_view to_string(Zone zone) {
  switch (zone) {
    case Zone::config:
      return "config";
    case Zone::otp:
      return "OTP";
    case Zone::data:
      return "data";
  }
  return "?";
}

std::size_t slot_size(std::size_t slot) {
  if (slot < 8) return 36;
  if (slot == 8) return 416;
  return 72;
}

std::uint16_t config_address(std::uint8_t block, std::uint8_t word) {
  if (block > 3 || word > 7) {
    throw lorawan::Error("ATECC608 config address: expected block 0-3 and word 0-7, got block " +
                         std::to_string(block) + " word " + std::to_string(word));
  }
  return static_cast<std::uint16_t>(block << 3 | word);
}

std::uint16_t otp_address(std::uint8_t block, std::uint8_t word) {
  if (block > 1 || word > 7) {
    throw lorawan::Error("ATECC608 OTP address: expected block 0-1 and word 0-7, got block " +
                         std::to_string(block) + " word " + std::to_string(word));
  }
  return static_cast<std::uint16_t>(block << 3 | word);
}

std::uint16_t data_address(std::uint8_t slot, std::uint8_t block, std::uint8_t word) {
  if (slot >= kSlotCount || word > 7 ||
      static_cast<std::size_t>(block) * kBlockSize >= slot_size(slot)) {
    throw lorawan::Error("ATECC608 data address: slot " + std::to_string(slot) + " block " +
                         std::to_string(block) + " word " + std::to_string(word) +
                         " is outside the data zone (slots 0-15; slot " + std::to_string(slot) +
                         " holds " + std::to_string(slot < kSlotCount ? slot_size(slot) : 0) +
                         " bytes)");
  }
  return static_cast<std::uint16_t>(block << 8 | slot << 3 | word);
}

std::string_view to_string(NonceTarget target) {
  switch (target) {
    case NonceTarget::tempkey:
      return "TempKey";
    case NonceTarget::message_digest_buffer:
      return "message digest buffer";
    case NonceTarget::alternate_key_buffer:
      return "alternate key buffer";
  }
  return "?";
}

std::string_view to_string(KdfSource source) {
  switch (source) {
    case KdfSource::tempkey:
      return "TempKey";
    case KdfSource::tempkey_upper:
      return "TempKey (upper)";
    case KdfSource::slot:
      return "slot";
    case KdfSource::alternate_key_buffer:
      return "alternate key buffer";
  }
  return "?";
}

std::string_view to_string(KdfTarget target) {
  switch (target) {
    case KdfTarget::tempkey:
      return "TempKey";
    case KdfTarget::tempkey_upper:
      return "TempKey (upper)";
    case KdfTarget::slot:
      return "slot";
    case KdfTarget::alternate_key_buffer:
      return "alternate key buffer";
    case KdfTarget::output:
      return "output";
    case KdfTarget::output_encrypted:
      return "encrypted output";
  }
  return "?";
}

CommandPacket info_command(std::uint8_t mode) {
  CommandPacket p;
  p.opcode = opcode::info;
  p.param1 = mode;
  return p;
}

CommandPacket read_command(Zone zone, std::uint16_t address, std::size_t size) {
  if (size != kWordSize && size != kBlockSize) {
    throw lorawan::Error("ATECC608 Read: expected 4 or 32 bytes, got " + std::to_string(size));
  }
  CommandPacket p;
  p.opcode = opcode::read;
  p.param1 = static_cast<std::uint8_t>(static_cast<std::uint8_t>(zone) |
                                       (size == kBlockSize ? kZoneSize32 : 0));
  p.param2 = address;
  return p;
}

CommandPacket write_command(Zone zone, std::uint16_t address, lorawan::ByteSpan bytes) {
  if (bytes.size() != kWordSize && bytes.size() != kBlockSize) {
    throw lorawan::Error("ATECC608 Write: expected 4 or 32 bytes, got " +
                         std::to_string(bytes.size()));
  }
  CommandPacket p;
  p.opcode = opcode::write;
  p.param1 = static_cast<std::uint8_t>(static_cast<std::uint8_t>(zone) |
                                       (bytes.size() == kBlockSize ? kZoneSize32 : 0));
  p.param2 = address;
  p.data.assign(bytes.begin(), bytes.end());
  return p;
}

CommandPacket random_command() {
  CommandPacket p;
  p.opcode = opcode::random;
  p.param1 = kRandomSeedUpdate;
  return p;
}

CommandPacket nonce_passthrough_command(NonceTarget target, lorawan::ByteSpan bytes) {
  if (bytes.size() != 32 && bytes.size() != 64) {
    throw lorawan::Error("ATECC608 Nonce pass-through: expected 32 or 64 bytes, got " +
                         std::to_string(bytes.size()));
  }
  CommandPacket p;
  p.opcode = opcode::nonce;
  p.param1 = static_cast<std::uint8_t>(kNonceModePassThrough | static_cast<std::uint8_t>(target) |
                                       (bytes.size() == 64 ? kNonceInput64 : 0));
  p.data.assign(bytes.begin(), bytes.end());
  return p;
}

CommandPacket aes_command(std::uint8_t operation, std::uint16_t key_id, std::uint8_t block,
                          const lorawan::Block& input) {
  if (block > 3) {
    throw lorawan::Error("ATECC608 AES: expected key block 0-3, got " + std::to_string(block));
  }
  if (key_id >= kSlotCount && key_id != kTempKeyId) {
    throw lorawan::Error("ATECC608 AES: expected key id 0-15 or 0xFFFF (TempKey), got " +
                         std::to_string(key_id));
  }
  CommandPacket p;
  p.opcode = opcode::aes;
  p.param1 = static_cast<std::uint8_t>((block << 6) | (operation & 0x07U));
  p.param2 = key_id;
  p.data.assign(input.begin(), input.end());
  return p;
}

CommandPacket kdf_aes_command(KdfSource source, std::uint8_t source_slot, std::uint8_t source_block,
                              KdfTarget target, std::uint8_t target_slot,
                              const lorawan::Block& message) {
  if (source_block > 3) {
    throw lorawan::Error("ATECC608 KDF: expected source key block 0-3, got " +
                         std::to_string(source_block));
  }
  if (source_slot >= kSlotCount || target_slot >= kSlotCount) {
    throw lorawan::Error("ATECC608 KDF: expected slots 0-15, got source " +
                         std::to_string(source_slot) + " target " + std::to_string(target_slot));
  }
  CommandPacket p;
  p.opcode = opcode::kdf;
  p.param1 = static_cast<std::uint8_t>(kKdfAlgorithmAes | static_cast<std::uint8_t>(source) |
                                       static_cast<std::uint8_t>(target));
  p.param2 = static_cast<std::uint16_t>(target_slot << 8 | source_slot);
  p.data.assign(4 + message.size(), 0);
  p.data[0] = source_block;  // details, 4 bytes little-endian: bits 1:0 = key block
  std::copy(message.begin(), message.end(), p.data.begin() + 4);
  return p;
}

std::chrono::microseconds max_execution_time(std::uint8_t op) {
  using std::chrono::milliseconds;
  switch (op) {
    case opcode::aes:
      return milliseconds(27);
    case opcode::kdf:
      return milliseconds(165);
    case opcode::info:
      return milliseconds(5);
    case opcode::nonce:
      return milliseconds(20);
    case opcode::random:
      return milliseconds(23);
    case opcode::read:
      return milliseconds(5);
    case opcode::write:
      return milliseconds(45);
    case opcode::self_test:
      return milliseconds(250);
    case opcode::counter:
      return milliseconds(25);
    case opcode::lock:
      return milliseconds(35);
    default:
      break;
  }
  return milliseconds(250);
}

}  // namespace joincheck::sim::atecc608
