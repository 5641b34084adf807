#pragma once
// The ATECC608 command client (after MicrochipTech/cryptoauthlib lib/calib/calib_execution.c;
// docs/secure-element.md): a clean-room
// implementation of what cryptoauthlib's calib_execute_command does, over any Transport, so the
// same code drives a chip on /dev/i2c-N and the emulator in CI.
//
// One command:
//  1. wake the chip if it is not known to be awake: wake pulse, tWHI, read 04 11 33 43 (up to
//     `wake_attempts` times; 04 07 40 C2, a failed self-test, is an error at once);
//  2. write word address 0x03 and the group (count | opcode | p1 | p2 LE | data | crc LE);
//  3. poll: wait `poll_initial`, then every `poll_period` write word address 0x00 (rewind the
//     output), read the count byte, read the rest; give up after `poll_give_up` on the
//     transport's clock (a busy chip NACKs);
//  4. check the response CRC and map the status: a CRC mismatch, status 0xFF (the chip saw a bad
//     command CRC) and a write the chip NACKed are retried up to `retries` times; 0xEE (watchdog
//     about to expire) is retried once after idle + wake; any other error status is a
//     CommandError naming the command, the status and its meaning, and the transport;
//  5. idle (word address 0x02), as cryptoauthlib does after every command. Idle keeps TempKey,
//     stops the watchdog and costs a wake (about 1.6 ms) per command; the chip never stays
//     awake between commands, so a sequence can never run into the 1.3 s watchdog.
// A TransportError (a bus that fails in a way that is not a NACK) becomes a CommandError too.
// Every loop is bounded: at most 1 + retries + 1 sends per command, `wake_attempts` wakes per
// send and the poll deadline per send, so a command that gets no answer fails with
// "no answer from <transport> to <command> within N ms", never hangs.
//
// Not thread-safe; the transport's lock() is held for the whole of a command.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lorawan/crypto.hpp"
#include "lorawan/error.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"
#include "sim/secure_element/atecc608/transport.hpp"

namespace joincheck::sim::atecc608 {

struct ClientOptions {
  unsigned wake_attempts = 3;
  // Between two wake attempts (cryptoauthlib's legacy ATCA_POST_DELAY_MSEC).
  std::chrono::microseconds wake_retry_delay = std::chrono::milliseconds(25);
  // Polling, cryptoauthlib's defaults (cryptoauthlib calib_execution.c): 1 ms, every 2 ms, up
  // to 2.5 s.
  std::chrono::microseconds poll_initial = std::chrono::milliseconds(1);
  std::chrono::microseconds poll_period = std::chrono::milliseconds(2);
  std::chrono::microseconds poll_give_up = std::chrono::milliseconds(2500);
  // Re-sends of a command after a response CRC mismatch, status 0xFF or a NACKed write.
  unsigned retries = 2;
};

// A command the chip refused or did not answer. what() reads
//   "ATECC608 AES encrypt on emulated chip 0123a1b2c3d4e5f627: status 0x0F (execution error)"
//   "no answer from /dev/i2c-1 address 0x59 to AES encrypt within 2500 ms"
// reason() is the part after the command ("status 0x0F (execution error)", "no answer within
// 2500 ms"), for callers that name the command their own way.
class CommandError : public lorawan::Error {
 public:
  CommandError(std::string what, std::string command, std::string transport,
               std::optional<std::uint8_t> status, std::string reason);
  const std::string& command() const { return command_; }
  const std::string& transport() const { return transport_; }
  // The chip's status byte, when the failure is one (0xFF also for a response CRC mismatch).
  std::optional<std::uint8_t> status() const { return status_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string command_;
  std::string transport_;
  std::optional<std::uint8_t> status_;
  std::string reason_;
};

// What a client did, for tests and traces.
struct ClientStats {
  std::size_t wakes = 0;     // wake pulses sent
  std::size_t commands = 0;  // command groups written (including re-sends)
  std::size_t retries = 0;   // re-sends
  std::size_t polls = 0;     // poll rounds
};

class Client {
 public:
  explicit Client(std::unique_ptr<Transport> transport, ClientOptions options = {});

  Transport& transport() { return *transport_; }
  const Transport& transport() const { return *transport_; }
  const ClientOptions& options() const { return options_; }
  const ClientStats& stats() const { return stats_; }

  // Info mode 0: the revision, 00 00 60 02 (608A) or 00 00 60 03 (608B).
  std::array<std::uint8_t, 4> info();
  // Read 4 or 32 bytes at `address` (protocol.hpp: config_address, otp_address, data_address).
  lorawan::Bytes read(Zone zone, std::uint16_t address, std::size_t size);
  // The 9-byte serial: one 32-byte read of config block 0, bytes 0-3 and 8-12.
  Serial read_serial();
  // Clear write of 4 or 32 bytes.
  void write(Zone zone, std::uint16_t address, lorawan::ByteSpan bytes);
  // 32 random bytes (the seed is updated).
  std::array<std::uint8_t, 32> random();
  // Nonce pass-through: 32 or 64 bytes into TempKey, the message digest buffer or (32 bytes)
  // the alternate key buffer.
  void nonce_passthrough(NonceTarget target, lorawan::ByteSpan bytes);
  // AES-128-ECB of one block with the key at 16-byte `block` of slot `key_id`, or of TempKey
  // when `key_id` is kTempKeyId.
  lorawan::Block aes_encrypt(std::uint16_t key_id, std::uint8_t block, const lorawan::Block& in);
  lorawan::Block aes_decrypt(std::uint16_t key_id, std::uint8_t block, const lorawan::Block& in);
  // KDF in AES mode from the key at `source_block` of the source into the target. For
  // KdfTarget::output the 32-byte result (AES(key, message) | 16 zeros) is returned; for the
  // other targets nullopt.
  std::optional<std::array<std::uint8_t, 32>> kdf_aes(KdfSource source, std::uint8_t source_slot,
                                                      std::uint8_t source_block, KdfTarget target,
                                                      std::uint8_t target_slot,
                                                      const lorawan::Block& message);
  // KDF AES from a slot's key block into another slot.
  void kdf_aes_into_slot(std::uint8_t source_slot, std::uint8_t source_block,
                         std::uint8_t target_slot, const lorawan::Block& message);

  // Word address 0x01: sleep, losing TempKey. Best effort (a NACK is ignored).
  void sleep();

  // Runs one command (steps 1-5 above) and returns its data: exactly `data_size` bytes, or none
  // when `data_size` is 0 and the chip answers status 0x00. `name` names the command in errors.
  lorawan::Bytes execute(std::string_view name, const CommandPacket& packet, std::size_t data_size);

 private:
  lorawan::Bytes run(std::string_view name, const lorawan::Bytes& group, std::size_t data_size);
  void wake(std::string_view name);
  std::optional<lorawan::Bytes> poll(std::string_view name);
  void idle_quietly();
  [[noreturn]] void fail(std::string_view name, std::optional<std::uint8_t> status,
                         const std::string& reason);

  std::unique_ptr<Transport> transport_;
  ClientOptions options_;
  ClientStats stats_;
  bool awake_ = false;
};

}  // namespace joincheck::sim::atecc608
