#pragma once
// A byte-level model of an ATECC608A-TNGLORA (docs/secure-element.md#the-emulator): what a
// transport sees on the bus, so that the command client, and everything above it, runs the same
// code against this model in CI as against a chip on /dev/i2c-N.
//
// Modelled:
//  - EEPROM: the config zone (128 bytes: serial 01 23 xx xx | RevNum 00 00 60 02 | xx xx xx xx 27,
//    AES enabled, I2C address 0xB2, config and data/OTP locked, slot 10 locked), the OTP zone
//    (64 bytes, "jsMu7iYO" then zeros: the TTI code the data sheets give) and the 16 data slots of
//    36/416/72 bytes. SlotConfig and KeyConfig of the TNGLORA are not published: those words are
//    zero here and the documented *policies* are modelled instead (SlotPolicy; TNGLoRaWAN data
//    sheets).
//  - The TNGLORA slot map: slot 0 the root keys (block 0 / block 1, see chip_file.hpp), never
//    readable or writable, an AES and KDF key but never a KDF target; slots 2-7 session keys
//    (clear write allowed, never clear-readable, KDF target); slot 8 readable and writable;
//    slot 9 the JoinEUI (8 bytes at offset 0, readable; writable, as the data sheet's clear-write
//    list includes it); slot 10 the DevEUI as 16 upper-case ASCII hex characters (readable,
//    locked); slots 11-12 multicast AES keys (writable, not readable); 1, 13-15 secret.
//  - Power states sleep / awake / idle / busy; the watchdog (1.3 s from wake, on a virtual clock):
//    a command that cannot finish before it expires answers 0xEE without executing, and expiry
//    puts the chip to sleep, losing TempKey and the other volatile buffers (DS508 power states).
//  - The I/O buffers (DS508): the input FIFO (a group may arrive in several writes; a read while
//    a command is partial NACKs), the output buffer and its read pointer (reads past the end give
//    0xFF, word address 0x00 rewinds, a new command resets), NACK while asleep, idle or busy, and
//    before tWHI (1.5 ms) has passed after a wake.
//  - TempKey (64 bytes) with a valid flag, the message digest buffer, the alternate key buffer,
//    a deterministic RNG (std::mt19937_64 seeded from the options: a simulator's generator).
//  - Execution time per command on the virtual clock: none (instant), typical or max (cryptoauthlib
//  calib_execution.c).
//  - Commands: Info (revision), Read, Write (clear only), Random, Nonce, AES (encrypt/decrypt)
//    and KDF (AES mode), with the parse (0x03) and execution (0x0F) errors of the data sheets.
//    Unknown or unmodelled opcodes and modes answer 0x03; policy violations 0x0F.
//  - Fault injection (Faults below), each fault counted down as it fires.
//
// Not thread-safe: one emulator per simulated device, driven by one transport.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "lorawan/crypto.hpp"
#include "lorawan/hex.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"
#include "sim/secure_element/atecc608/transport.hpp"

namespace joincheck::sim::atecc608 {

enum class PowerState { sleep, awake, idle, busy };
std::string_view to_string(PowerState state);

// How long commands take on the virtual clock. max: cryptoauthlib's 608 table (calib_execution.c).
// typical: half of it (an assumption: the typical column is in the NDA data sheet only). none:
// instant.
enum class TimingModel { none, typical, max };
std::string_view to_string(TimingModel model);
std::chrono::microseconds execution_time(TimingModel model, std::uint8_t op);

// What a data slot allows (the TNGLORA policies of its data sheets, not its SlotConfig bits).
struct SlotPolicy {
  bool clear_read = false;   // Read in the clear
  bool clear_write = false;  // Write in the clear (32 bytes only when the slot is not readable)
  bool aes_key = false;      // key of AES and source of KDF
  bool kdf_target = false;   // KDF may write its result here
};
using SlotPolicies = std::array<SlotPolicy, kSlotCount>;
SlotPolicies tnglora_slot_policies();

// Faults to inject, set by the caller at construction or later through Emulator::faults(). A
// count fires that many times and is decremented each time; kAlways never runs out.
struct Faults {
  static constexpr unsigned kAlways = std::numeric_limits<unsigned>::max();

  // The next N responses carry a corrupted CRC.
  unsigned corrupt_response_crc = 0;
  // The next N commands arrive as if their CRC were bad: answered 0xFF, not executed.
  unsigned corrupt_command_crc = 0;
  // The next N wake pulses are ignored: an asleep or idle chip stays so and NACKs.
  unsigned no_wake = 0;
  // The next N reads of a command's answer NACK, as if the chip were still executing.
  unsigned busy_reads = 0;
  // The next N commands (of `forced_status_opcode` only, when set) answer `forced_status`
  // without executing.
  unsigned force_status = 0;
  std::uint8_t forced_status = status::execution_error;
  std::optional<std::uint8_t> forced_status_opcode;
  // Reads of this data slot answer 0x0F.
  std::optional<std::uint8_t> refuse_read_slot;
  // The next N wakes answer 04 07 40 C2 (power-on self-test failed); commands then answer 0x07
  // until the chip sleeps and wakes normally.
  unsigned self_test_failure_wakes = 0;
  // The next N commands find the watchdog about to expire: answered 0xEE, not executed.
  unsigned watchdog_about_to_expire = 0;
  // After N more commands have executed, the watchdog fires as soon as the answer of the Nth
  // has been read to its end: the chip is asleep (the idle that follows NACKs) and its volatile
  // state is lost. Reset when it is armed.
  std::optional<unsigned> watchdog_expiry_after_commands;
};

struct EmulatorOptions {
  TimingModel timing = TimingModel::none;
  std::uint64_t rng_seed = 0;
  std::array<std::uint8_t, 4> revision = {0x00, 0x00, 0x60, 0x02};  // 608A; 608B ends in 03
  std::chrono::microseconds watchdog = std::chrono::milliseconds(1300);
  SlotPolicies policies = tnglora_slot_policies();
  Faults faults;
};

class Emulator {
 public:
  // tWHI: how long after a wake pulse the chip starts to answer.
  static constexpr std::chrono::microseconds kWakeHighTime{1500};

  explicit Emulator(const ChipProvisioning& chip, EmulatorOptions options = {});

  // --- The bus, as a transport drives it.
  // SDA held low for at least tWLO: wakes an asleep or idle chip (ignored when awake or busy).
  void wake_pulse();
  // One write transaction addressed to the chip: word address then bytes. NACK while asleep,
  // idle, busy, before tWHI, and for a reserved word address (0x04-0xFF).
  Ack write(std::uint8_t word_address, lorawan::ByteSpan bytes);
  // One read transaction; nullopt (NACK) while asleep, idle, busy, before tWHI, or while a
  // command is partial.
  std::optional<lorawan::Bytes> read(std::size_t size);

  // --- The virtual clock (starts at 0).
  void advance(std::chrono::microseconds duration);
  std::chrono::microseconds now() const { return now_; }

  // --- Inspection and control, for tests and the emulated transport.
  PowerState power_state();  // after letting the clock act (busy ends, watchdog fires)
  bool tempkey_valid() const { return tempkey_valid_; }
  Faults& faults() { return options_.faults; }
  const Faults& faults() const { return options_.faults; }
  void set_timing(TimingModel model) { options_.timing = model; }
  TimingModel timing() const { return options_.timing; }
  const Serial& serial() const { return serial_; }
  // "emulated chip 0123a1b2c3d4e5f627".
  std::string describe() const;
  // How many commands with this opcode were executed (not refused by a fault or the watchdog).
  std::size_t executed(std::uint8_t op) const { return executed_[op]; }

 private:
  void settle();  // applies the clock: a finished command leaves busy, the watchdog fires
  void go_to_sleep();
  void clear_volatile();
  void run_command();
  lorawan::Bytes respond(const lorawan::Bytes& group, std::chrono::microseconds& busy_for);
  lorawan::Bytes execute(const CommandPacket& packet);
  lorawan::Bytes do_info(const CommandPacket& packet);
  lorawan::Bytes do_read(const CommandPacket& packet);
  lorawan::Bytes do_write(const CommandPacket& packet);
  lorawan::Bytes do_random(const CommandPacket& packet);
  lorawan::Bytes do_nonce(const CommandPacket& packet);
  lorawan::Bytes do_aes(const CommandPacket& packet);
  lorawan::Bytes do_kdf(const CommandPacket& packet);
  std::array<std::uint8_t, 32> random_block();
  bool aes_enabled() const;
  bool data_zone_locked() const;
  bool otp_zone_locked() const;
  bool config_zone_locked() const;
  bool slot_locked(std::size_t slot) const;

  EmulatorOptions options_;
  Serial serial_{};

  // EEPROM.
  std::array<std::uint8_t, kConfigZoneSize> config_{};
  std::array<std::uint8_t, kOtpZoneSize> otp_{};
  std::array<lorawan::Bytes, kSlotCount> slots_;

  // Power, clock and I/O.
  PowerState state_ = PowerState::sleep;
  std::chrono::microseconds now_{0};
  std::chrono::microseconds ready_at_{0};           // end of tWHI after a wake
  std::chrono::microseconds busy_until_{0};         // end of the command executing
  std::chrono::microseconds watchdog_deadline_{0};  // armed by a wake
  bool watchdog_fires_after_answer_ = false;        // Faults::watchdog_expiry_after_commands
  bool answering_command_ = false;                  // the output holds a command's answer
  bool failure_mode_ = false;                       // the self-test failed at wake
  lorawan::Bytes input_;
  lorawan::Bytes output_;
  std::size_t read_pointer_ = 0;

  // Volatile registers.
  std::array<std::uint8_t, 64> tempkey_{};
  bool tempkey_valid_ = false;
  std::array<std::uint8_t, 64> message_digest_buffer_{};
  std::array<std::uint8_t, 32> alternate_key_buffer_{};
  bool alternate_key_buffer_valid_ = false;

  std::mt19937_64 rng_;
  std::array<std::size_t, 256> executed_{};
};

}  // namespace joincheck::sim::atecc608
