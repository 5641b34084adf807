#include "sim/secure_element/atecc608/emulator.hpp"

#include <algorithm>
#include <utility>

namespace joincheck::sim::atecc608 {
namespace {

using lorawan::Bytes;

// Takes one firing of a fault count; kAlways never runs out.
bool take(unsigned& count) {
  if (count == 0) return false;
  if (count != Faults::kAlways) --count;
  return true;
}

Bytes status_group(std::uint8_t s) { return encode_status(s); }

// TNGLORA facts (TNGLoRaWAN data sheets; DS508 memory map).
constexpr std::uint8_t kI2cAddress8Bit = 0xB2;
constexpr std::uint8_t kLocked = 0x00;
constexpr std::string_view kOtpCode = "jsMu7iYO";  // TTI's TNGLORA code (TNGLoRaWAN data sheets)
constexpr std::size_t kDevEuiSlot = 10;
constexpr std::size_t kJoinEuiSlot = 9;
constexpr std::size_t kRootKeySlot = 0;
constexpr std::size_t kAesBlock = 16;

}  // namespace

std::string_view to_string(PowerState state) {
  switch (state) {
    case PowerState::sleep:
      return "sleep";
    case PowerState::awake:
      return "awake";
    case PowerState::idle:
      return "idle";
    case PowerState::busy:
      return "busy";
  }
  return "?";
}

std::string_view to_string(TimingModel model) {
  switch (model) {
    case TimingModel::none:
      return "none";
    case TimingModel::typical:
      return "typical";
    case TimingModel::max:
      return "max";
  }
  return "?";
}

std::chrono::microseconds execution_time(TimingModel model, std::uint8_t op) {
  switch (model) {
    case TimingModel::none:
      return std::chrono::microseconds(0);
    case TimingModel::typical:
      return max_execution_time(op) / 2;
    case TimingModel::max:
      return max_execution_time(op);
  }
  return std::chrono::microseconds(0);
}

SlotPolicies tnglora_slot_policies() {
  SlotPolicies p{};
  p[0].aes_key = true;  // root keys: AES and KDF source only
  for (std::size_t slot = 2; slot <= 7; ++slot) {
    p[slot].clear_write = true;
    p[slot].aes_key = true;
    p[slot].kdf_target = true;
  }
  p[8].clear_read = true;
  p[8].clear_write = true;
  p[9].clear_read = true;  // read in the clear by every LoRaWAN stack, despite the data sheet
  p[9].clear_write = true;
  p[10].clear_read = true;  // locked (see the SlotLocked bits)
  for (std::size_t slot = 11; slot <= 12; ++slot) {
    p[slot].clear_write = true;
    p[slot].aes_key = true;
  }
  p[14].clear_write = true;  // I/O protection key: writable, never readable
  return p;
}

Emulator::Emulator(const ChipProvisioning& chip, EmulatorOptions options)
    : options_(std::move(options)), serial_(chip.serial), rng_(options_.rng_seed) {
  // Config zone.
  std::copy_n(serial_.begin(), 4, config_.begin() + config::serial_0_3);
  std::copy(options_.revision.begin(), options_.revision.end(), config_.begin() + config::rev_num);
  std::copy_n(serial_.begin() + 4, 5, config_.begin() + config::serial_4_8);
  config_[config::aes_enable] = 0x01;
  config_[config::i2c_enable] = 0x01;
  config_[config::i2c_address] = kI2cAddress8Bit;
  config_[config::chip_mode] = 0x00;  // clock divider M0, 1.3 s watchdog
  config_[config::lock_value] = kLocked;
  config_[config::lock_config] = kLocked;
  // SlotLocked: a bit per slot, 1 = not locked. Slot 10 (the DevEUI) is locked.
  std::uint16_t slot_locked = 0xFFFF;
  slot_locked = static_cast<std::uint16_t>(slot_locked & ~(1U << kDevEuiSlot));
  config_[config::slot_locked] = static_cast<std::uint8_t>(slot_locked & 0xFFU);
  config_[config::slot_locked + 1] = static_cast<std::uint8_t>(slot_locked >> 8);

  // OTP zone.
  std::copy(kOtpCode.begin(), kOtpCode.end(), otp_.begin());

  // Data zone.
  for (std::size_t slot = 0; slot < kSlotCount; ++slot) slots_[slot].assign(slot_size(slot), 0);
  Bytes& root = slots_[kRootKeySlot];
  if (chip.nwk_key) {
    std::copy(chip.app_key.bytes().begin(), chip.app_key.bytes().end(), root.begin());
    std::copy(chip.nwk_key->bytes().begin(), chip.nwk_key->bytes().end(), root.begin() + kAesBlock);
  } else {
    // A 1.0.x chip: the one root key in block 1, where 1.0.x stacks read it (TNGLoRaWAN data
    // sheets, slot map).
    std::copy(chip.app_key.bytes().begin(), chip.app_key.bytes().end(), root.begin() + kAesBlock);
  }
  const auto join_eui = chip.join_eui.bytes();  // binary, display order
  std::copy(join_eui.begin(), join_eui.end(), slots_[kJoinEuiSlot].begin());
  const std::string dev_eui = chip.dev_eui.hex(lorawan::HexCase::upper);  // ASCII hex
  std::copy(dev_eui.begin(), dev_eui.end(), slots_[kDevEuiSlot].begin());
}

std::string Emulator::describe() const { return "emulated chip " + serial_hex(serial_); }

// ---------------------------------------------------------------------------------------------
// Clock and power

void Emulator::settle() {
  if (state_ == PowerState::busy && now_ >= busy_until_) state_ = PowerState::awake;
  if ((state_ == PowerState::awake || state_ == PowerState::busy) && now_ >= watchdog_deadline_) {
    go_to_sleep();
  }
}

void Emulator::advance(std::chrono::microseconds duration) {
  if (duration.count() > 0) now_ += duration;
  settle();
}

PowerState Emulator::power_state() {
  settle();
  return state_;
}

void Emulator::clear_volatile() {
  tempkey_.fill(0);
  tempkey_valid_ = false;
  message_digest_buffer_.fill(0);
  alternate_key_buffer_.fill(0);
  alternate_key_buffer_valid_ = false;
}

void Emulator::go_to_sleep() {
  state_ = PowerState::sleep;
  watchdog_fires_after_answer_ = false;
  answering_command_ = false;
  failure_mode_ = false;
  input_.clear();
  output_.clear();
  read_pointer_ = 0;
  clear_volatile();
}

void Emulator::wake_pulse() {
  settle();
  if (state_ != PowerState::sleep && state_ != PowerState::idle) return;  // ignored when awake
  if (take(options_.faults.no_wake)) return;
  state_ = PowerState::awake;
  ready_at_ = now_ + kWakeHighTime;
  watchdog_deadline_ = now_ + options_.watchdog;
  input_.clear();
  read_pointer_ = 0;
  answering_command_ = false;
  if (take(options_.faults.self_test_failure_wakes)) {
    failure_mode_ = true;
    output_.assign(kSelfTestFailureResponse.begin(), kSelfTestFailureResponse.end());
  } else {
    failure_mode_ = false;
    output_.assign(kWakeResponse.begin(), kWakeResponse.end());
  }
}

// ---------------------------------------------------------------------------------------------
// Bus transactions

Ack Emulator::write(std::uint8_t word_address, lorawan::ByteSpan bytes) {
  settle();
  if (state_ != PowerState::awake || now_ < ready_at_) return Ack::nack;
  switch (static_cast<WordAddress>(word_address)) {
    case WordAddress::reset:
      read_pointer_ = 0;
      input_.clear();
      return Ack::ack;
    case WordAddress::sleep:
      go_to_sleep();
      return Ack::ack;
    case WordAddress::idle:
      // TempKey and the other buffers survive idle; the watchdog stops (it restarts at wake).
      state_ = PowerState::idle;
      input_.clear();
      read_pointer_ = 0;
      return Ack::ack;
    case WordAddress::command:
      break;
    default:
      return Ack::nack;  // reserved word addresses (0x04-0xFF) must not be sent
  }
  read_pointer_ = 0;
  for (const std::uint8_t byte : bytes) {
    // Once `count` bytes are in, further bytes are ignored until the command has run.
    if (!input_.empty() && input_.size() >= std::size_t{input_[0]}) break;
    input_.push_back(byte);
  }
  if (input_.empty()) return Ack::ack;
  const std::size_t count = input_[0];
  if (count < kMinCommandGroupSize || count > kMaxGroupSize) {
    // A count the chip cannot take: a communication error.
    input_.clear();
    output_ = status_group(status::crc_error);
    answering_command_ = true;
    return Ack::ack;
  }
  if (input_.size() >= count) run_command();  // the STOP after the last byte starts execution
  return Ack::ack;
}

std::optional<Bytes> Emulator::read(std::size_t size) {
  settle();
  if (state_ != PowerState::awake || now_ < ready_at_) return std::nullopt;
  if (!input_.empty()) return std::nullopt;  // a partial command
  if (answering_command_ && take(options_.faults.busy_reads)) return std::nullopt;
  Bytes out(size, 0xFF);  // past the end: 0xFF, the pointer does not wrap
  for (std::size_t i = 0; i < size && read_pointer_ < output_.size(); ++i) {
    out[i] = output_[read_pointer_++];
  }
  // The injected watchdog expiry: right after the answer has been read to its end.
  if (watchdog_fires_after_answer_ && read_pointer_ >= output_.size()) go_to_sleep();
  return out;
}

void Emulator::run_command() {
  const Bytes group = input_;
  input_.clear();
  std::chrono::microseconds busy_for{0};
  output_ = respond(group, busy_for);
  read_pointer_ = 0;
  answering_command_ = true;
  if (take(options_.faults.corrupt_response_crc)) output_.back() ^= 0x5A;
  if (busy_for.count() > 0) {
    state_ = PowerState::busy;
    busy_until_ = now_ + busy_for;
  }
}

Bytes Emulator::respond(const Bytes& group, std::chrono::microseconds& busy_for) {
  // CRC errors take precedence over every other error (TNGLoRaWAN data sheets, status codes).
  if (take(options_.faults.corrupt_command_crc)) return status_group(status::crc_error);
  const std::optional<CommandPacket> packet = decode_command(group);
  if (!packet) return status_group(status::crc_error);
  if (failure_mode_) return status_group(status::self_test_error);

  const std::chrono::microseconds duration = execution_time(options_.timing, packet->opcode);
  if (take(options_.faults.watchdog_about_to_expire) || now_ + duration > watchdog_deadline_) {
    return status_group(status::watchdog_about_to_expire);
  }
  busy_for = duration;
  Faults& f = options_.faults;
  if (f.force_status > 0 &&
      (!f.forced_status_opcode || *f.forced_status_opcode == packet->opcode)) {
    take(f.force_status);
    return status_group(f.forced_status);
  }
  Bytes response = execute(*packet);
  ++executed_[packet->opcode];
  if (f.watchdog_expiry_after_commands) {
    if (*f.watchdog_expiry_after_commands <= 1) {
      f.watchdog_expiry_after_commands.reset();
      watchdog_fires_after_answer_ = true;
    } else {
      --*f.watchdog_expiry_after_commands;
    }
  }
  return response;
}

// ---------------------------------------------------------------------------------------------
// Commands

bool Emulator::aes_enabled() const { return (config_[config::aes_enable] & 0x01U) != 0; }
bool Emulator::config_zone_locked() const { return config_[config::lock_config] == kLocked; }
bool Emulator::data_zone_locked() const { return config_[config::lock_value] == kLocked; }
bool Emulator::otp_zone_locked() const { return config_[config::lock_value] == kLocked; }
bool Emulator::slot_locked(std::size_t slot) const {
  const unsigned bits = config_[config::slot_locked] | (config_[config::slot_locked + 1] << 8);
  return ((bits >> slot) & 1U) == 0;
}

std::array<std::uint8_t, 32> Emulator::random_block() {
  std::array<std::uint8_t, 32> out{};
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i % 8 == 0) word = rng_();
    out[i] = static_cast<std::uint8_t>(word >> (8 * (i % 8)));
  }
  return out;
}

Bytes Emulator::execute(const CommandPacket& packet) {
  switch (packet.opcode) {
    case opcode::info:
      return do_info(packet);
    case opcode::read:
      return do_read(packet);
    case opcode::write:
      return do_write(packet);
    case opcode::random:
      return do_random(packet);
    case opcode::nonce:
      return do_nonce(packet);
    case opcode::aes:
      return do_aes(packet);
    case opcode::kdf:
      return do_kdf(packet);
    default:
      break;
  }
  return status_group(status::parse_error);  // unknown or not modelled
}

Bytes Emulator::do_info(const CommandPacket& packet) {
  // Mode 0 (revision) only; KeyValid, State, GPIO and the volatile-key permit are not modelled.
  if (packet.param1 != kInfoRevision || packet.param2 != 0 || !packet.data.empty()) {
    return status_group(status::parse_error);
  }
  return encode_response(options_.revision);
}

Bytes Emulator::do_read(const CommandPacket& packet) {
  if (!packet.data.empty() || (packet.param1 & ~(kZoneSize32 | 0x03U)) != 0) {
    return status_group(status::parse_error);
  }
  const std::size_t size = (packet.param1 & kZoneSize32) != 0 ? kBlockSize : kWordSize;
  const unsigned zone = packet.param1 & 0x03U;
  const std::uint16_t address = packet.param2;
  const std::size_t word = address & 0x07U;
  const std::size_t word_offset = size == kWordSize ? word * kWordSize : 0;  // 32 B: word ignored
  if (zone == static_cast<unsigned>(Zone::config)) {
    if (address > 0x1F) return status_group(status::parse_error);
    const std::size_t offset = ((address >> 3) & 0x03U) * kBlockSize + word_offset;
    return encode_response(lorawan::ByteSpan(config_).subspan(offset, size));
  }
  if (zone == static_cast<unsigned>(Zone::otp)) {
    if (address > 0x0F) return status_group(status::parse_error);
    const std::size_t offset = ((address >> 3) & 0x01U) * kBlockSize + word_offset;
    return encode_response(lorawan::ByteSpan(otp_).subspan(offset, size));
  }
  if (zone != static_cast<unsigned>(Zone::data)) return status_group(status::parse_error);
  const std::size_t slot = (address >> 3) & 0x0FU;
  const std::size_t offset = static_cast<std::size_t>(address >> 8) * kBlockSize + word_offset;
  if (offset + size > slots_[slot].size()) return status_group(status::parse_error);
  if (!data_zone_locked() || !options_.policies[slot].clear_read ||
      (options_.faults.refuse_read_slot &&
       std::size_t{*options_.faults.refuse_read_slot} == slot)) {
    return status_group(status::execution_error);
  }
  return encode_response(lorawan::ByteSpan(slots_[slot]).subspan(offset, size));
}

Bytes Emulator::do_write(const CommandPacket& packet) {
  // Encrypted writes need GenDig and a MAC: not modelled, refused as a state the chip cannot
  // serve (docs/secure-element.md).
  if ((packet.param1 & kWriteEncrypted) != 0) return status_group(status::execution_error);
  if ((packet.param1 & ~(kZoneSize32 | 0x03U)) != 0) return status_group(status::parse_error);
  const std::size_t size = (packet.param1 & kZoneSize32) != 0 ? kBlockSize : kWordSize;
  if (packet.data.size() != size) return status_group(status::parse_error);
  const unsigned zone = packet.param1 & 0x03U;
  const std::uint16_t address = packet.param2;
  const std::size_t word_offset = size == kWordSize ? (address & 0x07U) * kWordSize : 0;
  if (zone == static_cast<unsigned>(Zone::config)) {
    if (address > 0x1F) return status_group(status::parse_error);
    if (config_zone_locked()) return status_group(status::execution_error);
    const std::size_t offset = ((address >> 3) & 0x03U) * kBlockSize + word_offset;
    std::copy(packet.data.begin(), packet.data.end(), config_.begin() + static_cast<long>(offset));
    return status_group(status::success);
  }
  if (zone == static_cast<unsigned>(Zone::otp)) {
    if (address > 0x0F) return status_group(status::parse_error);
    if (otp_zone_locked()) return status_group(status::execution_error);
    const std::size_t offset = ((address >> 3) & 0x01U) * kBlockSize + word_offset;
    std::copy(packet.data.begin(), packet.data.end(), otp_.begin() + static_cast<long>(offset));
    return status_group(status::success);
  }
  if (zone != static_cast<unsigned>(Zone::data)) return status_group(status::parse_error);
  const std::size_t slot = (address >> 3) & 0x0FU;
  const std::size_t offset = static_cast<std::size_t>(address >> 8) * kBlockSize + word_offset;
  if (offset + size > slots_[slot].size()) return status_group(status::parse_error);
  const SlotPolicy& policy = options_.policies[slot];
  // Secret (not readable) slots take 32-byte writes only (TNGLoRaWAN data sheets, slot map).
  if (!policy.clear_write || slot_locked(slot) || (!policy.clear_read && size != kBlockSize)) {
    return status_group(status::execution_error);
  }
  std::copy(packet.data.begin(), packet.data.end(),
            slots_[slot].begin() + static_cast<long>(offset));
  return status_group(status::success);
}

Bytes Emulator::do_random(const CommandPacket& packet) {
  if (packet.param1 > 1 || packet.param2 != 0 || !packet.data.empty()) {
    return status_group(status::parse_error);
  }
  return encode_response(random_block());
}

Bytes Emulator::do_nonce(const CommandPacket& packet) {
  const unsigned mode = packet.param1 & 0x03U;
  const unsigned target = packet.param1 & 0xC0U;
  const bool input_64 = (packet.param1 & kNonceInput64) != 0;
  if ((packet.param1 & 0x1CU) != 0 || target == 0xC0U || packet.param2 != 0) {
    return status_group(status::parse_error);
  }
  if (mode == kNonceModePassThrough) {
    const std::size_t size = input_64 ? 64 : 32;
    if (packet.data.size() != size) return status_group(status::parse_error);
    switch (static_cast<NonceTarget>(target)) {
      case NonceTarget::tempkey:
        tempkey_.fill(0);
        std::copy(packet.data.begin(), packet.data.end(), tempkey_.begin());
        tempkey_valid_ = true;
        break;
      case NonceTarget::message_digest_buffer:
        message_digest_buffer_.fill(0);
        std::copy(packet.data.begin(), packet.data.end(), message_digest_buffer_.begin());
        break;
      case NonceTarget::alternate_key_buffer:
        if (input_64) return status_group(status::parse_error);  // a 32-byte buffer
        std::copy(packet.data.begin(), packet.data.end(), alternate_key_buffer_.begin());
        alternate_key_buffer_valid_ = true;
        break;
    }
    return status_group(status::success);
  }
  if (mode == kNonceModeRandom || mode == kNonceModeRandomNoSeedUpdate) {
    // NumIn of 20 bytes into TempKey. Simplified: the chip stores SHA-256(RandOut | NumIn |
    // opcode | mode | 00) in TempKey (DS508 §9.12); here TempKey takes RandOut itself, since no
    // LoRaWAN operation depends on it and crypto comes from lorawan/crypto.hpp alone.
    if (input_64 || target != 0 || packet.data.size() != 20) {
      return status_group(status::parse_error);
    }
    const auto rand_out = random_block();
    tempkey_.fill(0);
    std::copy(rand_out.begin(), rand_out.end(), tempkey_.begin());
    tempkey_valid_ = true;
    return encode_response(rand_out);
  }
  return status_group(status::parse_error);  // calculation mode 2 does not exist
}

Bytes Emulator::do_aes(const CommandPacket& packet) {
  const unsigned operation = packet.param1 & 0x07U;
  const std::size_t block = packet.param1 >> 6;
  if ((packet.param1 & 0x38U) != 0 || (operation != kAesEncrypt && operation != kAesDecrypt)) {
    return status_group(status::parse_error);  // GFM (3) is not modelled
  }
  if (packet.data.size() != kAesBlock) return status_group(status::parse_error);
  if (!aes_enabled()) return status_group(status::execution_error);
  lorawan::Aes128Key::Array key{};
  if (packet.param2 == kTempKeyId) {
    if (!tempkey_valid_) return status_group(status::execution_error);
    std::copy_n(tempkey_.begin() + static_cast<long>(block * kAesBlock), kAesBlock, key.begin());
  } else {
    if (packet.param2 >= kSlotCount) return status_group(status::parse_error);
    const std::size_t slot = packet.param2;
    if ((block + 1) * kAesBlock > slots_[slot].size()) return status_group(status::parse_error);
    if (!options_.policies[slot].aes_key) return status_group(status::execution_error);
    std::copy_n(slots_[slot].begin() + static_cast<long>(block * kAesBlock), kAesBlock,
                key.begin());
  }
  lorawan::Aes128 aes{lorawan::Aes128Key(key)};
  lorawan::Block in{};
  std::copy(packet.data.begin(), packet.data.end(), in.begin());
  const lorawan::Block out = operation == kAesEncrypt ? aes.encrypt(in) : aes.decrypt(in);
  return encode_response(out);
}

Bytes Emulator::do_kdf(const CommandPacket& packet) {
  // AES mode (cryptoauthlib calib_kdf and its kdf_aes_output test): result = AES-128-ECB(16 bytes
  // at key block `details & 3` of the source, message), 32 bytes with 16 zero bytes after it. PRF
  // and HKDF are not modelled (0x03).
  if ((packet.param1 & 0x80U) != 0 || (packet.param1 & kKdfAlgorithmMask) != kKdfAlgorithmAes) {
    return status_group(status::parse_error);
  }
  const auto source = static_cast<KdfSource>(packet.param1 & 0x03U);
  const unsigned target_bits = packet.param1 & 0x1CU;
  if (target_bits > static_cast<unsigned>(KdfTarget::output_encrypted)) {
    return status_group(status::parse_error);
  }
  const auto target = static_cast<KdfTarget>(target_bits);
  if (packet.data.size() != 4 + kAesBlock) return status_group(status::parse_error);
  const std::size_t key_block = packet.data[0] & 0x03U;  // details, little-endian, bits 1:0
  const std::size_t source_slot = packet.param2 & 0xFFU;
  const std::size_t target_slot = packet.param2 >> 8;
  if (!aes_enabled()) return status_group(status::execution_error);

  lorawan::ByteSpan source_bytes;
  switch (source) {
    case KdfSource::tempkey:
    case KdfSource::tempkey_upper:
      if (!tempkey_valid_) return status_group(status::execution_error);
      source_bytes = lorawan::ByteSpan(tempkey_).subspan(source == KdfSource::tempkey ? 0 : 32, 32);
      break;
    case KdfSource::slot:
      if (source_slot >= kSlotCount) return status_group(status::parse_error);
      if (!options_.policies[source_slot].aes_key) return status_group(status::execution_error);
      source_bytes = slots_[source_slot];
      break;
    case KdfSource::alternate_key_buffer:
      if (!alternate_key_buffer_valid_) return status_group(status::execution_error);
      source_bytes = alternate_key_buffer_;
      break;
  }
  if ((key_block + 1) * kAesBlock > source_bytes.size()) return status_group(status::parse_error);
  lorawan::Aes128Key::Array key{};
  std::copy_n(source_bytes.begin() + static_cast<long>(key_block * kAesBlock), kAesBlock,
              key.begin());
  lorawan::Block message{};
  std::copy(packet.data.begin() + 4, packet.data.end(), message.begin());
  const lorawan::Block derived = lorawan::aes128_encrypt(lorawan::Aes128Key(key), message);
  std::array<std::uint8_t, 32> result{};
  std::copy(derived.begin(), derived.end(), result.begin());

  switch (target) {
    case KdfTarget::tempkey:
    case KdfTarget::tempkey_upper:
      std::copy(result.begin(), result.end(),
                tempkey_.begin() + (target == KdfTarget::tempkey ? 0 : 32));
      tempkey_valid_ = true;
      return status_group(status::success);
    case KdfTarget::slot:
      if (target_slot >= kSlotCount) return status_group(status::parse_error);
      if (!options_.policies[target_slot].kdf_target || slot_locked(target_slot)) {
        return status_group(status::execution_error);
      }
      // (inferred from cryptoauthlib's KDF test) the key lands at the start of the slot: result |
      // 16 zeros in bytes 0-31.
      std::copy(result.begin(), result.end(), slots_[target_slot].begin());
      return status_group(status::success);
    case KdfTarget::alternate_key_buffer:
      std::copy(result.begin(), result.end(), alternate_key_buffer_.begin());
      alternate_key_buffer_valid_ = true;
      return status_group(status::success);
    case KdfTarget::output:
      return encode_response(result);
    case KdfTarget::output_encrypted:
      // Needs the I/O protection key and a nonce: not modelled.
      return status_group(status::execution_error);
  }
  return status_group(status::parse_error);
}

}  // namespace joincheck::sim::atecc608
