#include "sim/secure_element/atecc608/client.hpp"

#include <algorithm>
#include <utility>

namespace joincheck::sim::atecc608 {
namespace {

using lorawan::Bytes;

// Holds the transport's bus lock for one command.
class BusLock {
 public:
  explicit BusLock(Transport& transport) : transport_(transport) { transport_.lock(); }
  ~BusLock() { transport_.unlock(); }
  BusLock(const BusLock&) = delete;
  BusLock& operator=(const BusLock&) = delete;

 private:
  Transport& transport_;
};

std::string milliseconds(std::chrono::microseconds d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

std::string shown(const std::optional<Bytes>& bytes) {
  if (!bytes) return "a NACK";
  return bytes->empty() ? "no bytes" : lorawan::to_hex(*bytes, lorawan::HexCase::upper);
}

std::string read_name(Zone zone, std::uint16_t address, std::size_t size) {
  std::string name = "Read " + std::string(to_string(zone));
  if (zone == Zone::data) {
    name += " slot " + std::to_string((address >> 3) & 0x0FU) + " block " +
            std::to_string(address >> 8);
  } else {
    name += " block " + std::to_string((address >> 3) & 0x03U);
  }
  return name + " (" + std::to_string(size) + " bytes)";
}

}  // namespace

CommandError::CommandError(std::string what, std::string command, std::string transport,
                           std::optional<std::uint8_t> status, std::string reason)
    : lorawan::Error(std::move(what)),
      command_(std::move(command)),
      transport_(std::move(transport)),
      status_(status),
      reason_(std::move(reason)) {}

Client::Client(std::unique_ptr<Transport> transport, ClientOptions options)
    : transport_(std::move(transport)), options_(options) {
  if (!transport_) throw lorawan::Error("ATECC608 client: no transport given");
  if (options_.wake_attempts == 0) options_.wake_attempts = 1;
  if (options_.poll_period.count() <= 0) options_.poll_period = std::chrono::microseconds(1);
}

void Client::fail(std::string_view name, std::optional<std::uint8_t> status,
                  const std::string& reason) {
  const std::string where = transport_->describe();
  throw CommandError("ATECC608 " + std::string(name) + " on " + where + ": " + reason,
                     std::string(name), where, status, reason);
}

void Client::idle_quietly() {
  transport_->idle();  // a NACK (asleep already, say) changes nothing: the next command wakes
  awake_ = false;
}

void Client::sleep() {
  BusLock lock(*transport_);
  awake_ = false;
  try {
    transport_->sleep();
  } catch (const TransportError&) {
    // Best effort: a chip that cannot be reached is not awake either.
  }
}

void Client::wake(std::string_view name) {
  std::optional<Bytes> answer;
  for (unsigned attempt = 0; attempt < options_.wake_attempts; ++attempt) {
    if (attempt > 0) transport_->delay(options_.wake_retry_delay);
    ++stats_.wakes;
    answer = transport_->wake();
    if (answer &&
        std::equal(answer->begin(), answer->end(), kWakeResponse.begin(), kWakeResponse.end())) {
      awake_ = true;
      return;
    }
    if (answer && std::equal(answer->begin(), answer->end(), kSelfTestFailureResponse.begin(),
                             kSelfTestFailureResponse.end())) {
      // The chip is in failure mode until it sleeps; let the next attempt run the self-test
      // again.
      transport_->sleep();
      fail(name, status::self_test_error,
           "the wake answer was 04 07 40 C2: status " + describe_status(status::self_test_error) +
               ", the power-on self-test failed");
    }
    // A NACK (asleep and not woken), or an old answer of a chip that was awake already: idle it
    // so the next pulse wakes it afresh.
    if (answer) transport_->idle();
  }
  const std::string where = transport_->describe();
  const std::string reason = "no wake answer (expected 04 11 33 43, got " + shown(answer) +
                             " after " + std::to_string(options_.wake_attempts) + " wake attempts)";
  throw CommandError("no wake answer from " + where + " before " + std::string(name) +
                         ": expected 04 11 33 43, got " + shown(answer) + " after " +
                         std::to_string(options_.wake_attempts) + " wake attempts",
                     std::string(name), where, std::nullopt, reason);
}

std::optional<Bytes> Client::poll(std::string_view /*name*/) {
  const std::chrono::microseconds deadline = transport_->now() + options_.poll_give_up;
  // Also bounded by count, in case a transport's clock does not move.
  const auto max_rounds =
      static_cast<std::size_t>(options_.poll_give_up / options_.poll_period) + 2;
  transport_->delay(options_.poll_initial);
  for (std::size_t round = 0; round < max_rounds; ++round) {
    ++stats_.polls;
    if (transport_->write(WordAddress::reset, {}) == Ack::ack) {
      const std::optional<Bytes> count = transport_->read(1);
      if (count && count->size() == 1) {
        const std::size_t size = (*count)[0];
        // DS508 §6.5: until the command completes, reads may return 0xFF: not ready yet.
        const bool ready = size != 0xFF;
        if (ready && (size < kStatusGroupSize || size > kMaxGroupSize)) return count;  // garbled: decode says
        if (!ready) {
          if (transport_->now() >= deadline) break;
          transport_->delay(options_.poll_period);
          continue;
        }
        const std::optional<Bytes> rest = transport_->read(size - 1);
        if (rest) {
          Bytes group = *count;
          group.insert(group.end(), rest->begin(), rest->end());
          return group;
        }
      }
    }
    if (transport_->now() >= deadline) break;
    transport_->delay(options_.poll_period);
  }
  return std::nullopt;
}

Bytes Client::execute(std::string_view name, const CommandPacket& packet, std::size_t data_size) {
  const Bytes group = encode_command(packet);
  BusLock lock(*transport_);
  try {
    return run(name, group, data_size);
  } catch (const TransportError& e) {
    awake_ = false;
    const std::string where = transport_->describe();
    throw CommandError("ATECC608 " + std::string(name) + ": " + e.what(), std::string(name), where,
                       std::nullopt, e.what());
  }
}

Bytes Client::run(std::string_view name, const Bytes& group, std::size_t data_size) {
  unsigned retries_left = options_.retries;
  bool watchdog_retried = false;
  // Counts a re-send, or fails with `status` and `reason` when none is left.
  auto retry_or_fail = [&](std::optional<std::uint8_t> failure_status, const std::string& reason) {
    if (retries_left == 0) {
      idle_quietly();
      fail(name, failure_status,
           reason + " (" + std::to_string(options_.retries + 1) + " attempts)");
    }
    --retries_left;
    ++stats_.retries;
  };

  for (;;) {
    if (!awake_) wake(name);
    ++stats_.commands;
    if (transport_->write(WordAddress::command, group) == Ack::nack) {
      // Not listening: asleep (the watchdog fired) or still busy. Wake and send again.
      awake_ = false;
      retry_or_fail(std::nullopt, "the chip NACKed the command");
      continue;
    }
    const std::optional<Bytes> answer = poll(name);
    if (!answer) {
      idle_quietly();
      const std::string where = transport_->describe();
      throw CommandError("no answer from " + where + " to " + std::string(name) + " within " +
                             milliseconds(options_.poll_give_up),
                         std::string(name), where, std::nullopt,
                         "no answer within " + milliseconds(options_.poll_give_up));
    }
    Response response;
    try {
      response = decode_response(*answer);
    } catch (const CrcError&) {
      retry_or_fail(status::crc_error, "the answer's CRC does not match (as status " +
                                           describe_status(status::crc_error) + ")");
      continue;
    } catch (const ProtocolError& e) {
      retry_or_fail(status::crc_error,
                    "garbled answer " + lorawan::to_hex(*answer) + ": " + std::string(e.what()));
      continue;
    }
    if (response.status) {
      const std::uint8_t s = *response.status;
      if (s == status::success && data_size == 0) {
        idle_quietly();
        return {};
      }
      if (s == status::crc_error || s == status::after_wake) {
        // The chip saw a bad CRC, or never saw the command (its answer is still the wake's).
        retry_or_fail(s, "status " + describe_status(s));
        continue;
      }
      if (s == status::watchdog_about_to_expire && !watchdog_retried) {
        watchdog_retried = true;
        ++stats_.retries;
        idle_quietly();  // restarts the watchdog at the next wake
        continue;
      }
      idle_quietly();
      // A success status where data was due is the chip not doing what was asked, not a success.
      fail(name, s,
           s == status::success ? "expected " + std::to_string(data_size) + " bytes, got status " + describe_status(s)
                                : "status " + describe_status(s));
    }
    if (response.data.size() != data_size) {
      idle_quietly();
      fail(name, std::nullopt,
           "expected " +
               (data_size == 0 ? std::string("a status") : std::to_string(data_size) + " bytes") +
               ", got " + std::to_string(response.data.size()) + " bytes");
    }
    idle_quietly();
    return std::move(response.data);
  }
}

std::array<std::uint8_t, 4> Client::info() {
  const Bytes data = execute("Info", info_command(kInfoRevision), 4);
  std::array<std::uint8_t, 4> out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

Bytes Client::read(Zone zone, std::uint16_t address, std::size_t size) {
  return execute(read_name(zone, address, size), read_command(zone, address, size), size);
}

Serial Client::read_serial() {
  const Bytes block = read(Zone::config, config_address(0, 0), kBlockSize);
  Serial serial{};
  std::copy_n(block.begin() + config::serial_0_3, 4, serial.begin());
  std::copy_n(block.begin() + config::serial_4_8, 5, serial.begin() + 4);
  return serial;
}

void Client::write(Zone zone, std::uint16_t address, lorawan::ByteSpan bytes) {
  std::string name = "Write " + std::string(to_string(zone));
  if (zone == Zone::data) name += " slot " + std::to_string((address >> 3) & 0x0FU);
  execute(name, write_command(zone, address, bytes), 0);
}

std::array<std::uint8_t, 32> Client::random() {
  const Bytes data = execute("Random", random_command(), 32);
  std::array<std::uint8_t, 32> out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

void Client::nonce_passthrough(NonceTarget target, lorawan::ByteSpan bytes) {
  execute("Nonce (pass-through to " + std::string(to_string(target)) + ")",
          nonce_passthrough_command(target, bytes), 0);
}

lorawan::Block Client::aes_encrypt(std::uint16_t key_id, std::uint8_t block,
                                   const lorawan::Block& in) {
  const Bytes data = execute("AES encrypt", aes_command(kAesEncrypt, key_id, block, in), 16);
  lorawan::Block out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

lorawan::Block Client::aes_decrypt(std::uint16_t key_id, std::uint8_t block,
                                   const lorawan::Block& in) {
  const Bytes data = execute("AES decrypt", aes_command(kAesDecrypt, key_id, block, in), 16);
  lorawan::Block out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

std::optional<std::array<std::uint8_t, 32>> Client::kdf_aes(
    KdfSource source, std::uint8_t source_slot, std::uint8_t source_block, KdfTarget target,
    std::uint8_t target_slot, const lorawan::Block& message) {
  const bool output = target == KdfTarget::output;
  const Bytes data = execute(
      "KDF AES (" + std::string(to_string(source)) + " to " + std::string(to_string(target)) + ")",
      kdf_aes_command(source, source_slot, source_block, target, target_slot, message),
      output ? 32 : 0);
  if (!output) return std::nullopt;
  std::array<std::uint8_t, 32> out{};
  std::copy(data.begin(), data.end(), out.begin());
  return out;
}

void Client::kdf_aes_into_slot(std::uint8_t source_slot, std::uint8_t source_block,
                               std::uint8_t target_slot, const lorawan::Block& message) {
  kdf_aes(KdfSource::slot, source_slot, source_block, KdfTarget::slot, target_slot, message);
}

}  // namespace joincheck::sim::atecc608
