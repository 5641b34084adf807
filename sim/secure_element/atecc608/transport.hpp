#pragma once
// How the command client reaches a chip: the I2C transactions of the data sheet (ATECC608A-
// TNGLoRaWAN, "I2C Transmission"; ATECC508A DS20005927A §6.2) and nothing more. A NACK is a value, not an
// exception, because the protocol uses it (a busy, idle or asleep chip NACKs its address);
// exceptions are for a transport that cannot work at all (a device node that cannot be opened).
//
// Two implementations: I2cTransport (Linux /dev/i2c-N, i2c_transport.hpp) and EmulatedTransport
// (an in-process Emulator, emulated_transport.hpp). A transport serves one client at a time; it
// is not thread-safe, but lock() lets a transport serialise the clients of a shared bus.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"

namespace joincheck::sim::atecc608 {

enum class Ack { ack, nack };

// A transport that cannot work at all (a device node that cannot be opened, an ioctl or a
// transfer failing in a way that is not a NACK). The client turns it into a CommandError naming
// the command.
class TransportError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

class Transport {
 public:
  virtual ~Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Wakes the chip: SDA low for at least tWLO (60 us), then waits tWHI (1.5 ms) and reads the
  // 4-byte wake answer. Returns those bytes (04 11 33 43 after a good wake, 04 07 40 C2 after a
  // failed self-test, whatever the output buffer holds when the chip was already awake), or
  // nullopt when the read was NACKed (no chip, or it did not wake).
  virtual std::optional<lorawan::Bytes> wake() = 0;
  // One write transaction: the word address, then `bytes`.
  virtual Ack write(WordAddress word_address, lorawan::ByteSpan bytes) = 0;
  // One read transaction of `size` bytes; nullopt when the chip NACKed its address.
  virtual std::optional<lorawan::Bytes> read(std::size_t size) = 0;
  Ack idle() { return write(WordAddress::idle, {}); }
  Ack sleep() { return write(WordAddress::sleep, {}); }

  // Waits: a real sleep on hardware, an advance of the virtual clock on the emulator.
  virtual void delay(std::chrono::microseconds duration) = 0;
  // A monotonic clock on the same time base as delay(), for the client's deadlines.
  virtual std::chrono::microseconds now() const = 0;

  // "/dev/i2c-1 address 0x59", "emulated chip 0123a1b2c3d4e5f627": for messages.
  virtual std::string describe() const = 0;

  // Held by the client for the whole of one command (wake .. idle), so that two clients of one
  // bus do not interleave (a wake pulse reaches every chip on the bus). The default does
  // nothing.
  virtual void lock() {}
  virtual void unlock() {}

 protected:
  Transport() = default;
};

}  // namespace joincheck::sim::atecc608
