#pragma once
// The transport to an in-process Emulator (docs/secure-element.md#the-emulator): what
// I2cTransport does on a bus, done on the model. delay() advances the emulator's virtual clock,
// so a test or a fleet of emulated chips never sleeps for real; optionally each byte on the bus
// costs its 100 kHz transfer time (about 90 us, 9 bit times a byte) so that the watchdog sees
// realistic sequences.
//
// The emulator is shared: the caller keeps a pointer to inject faults and look at its state
// while a Client (or an AteccSe) owns the transport.

#include <chrono>
#include <memory>

#include "sim/secure_element/atecc608/emulator.hpp"
#include "sim/secure_element/atecc608/transport.hpp"

namespace joincheck::sim::atecc608 {

class EmulatedTransport final : public Transport {
 public:
  // At 100 kHz a byte and its ACK take 9 bit times.
  static constexpr std::chrono::microseconds kByteTimeAt100kHz{90};

  explicit EmulatedTransport(std::shared_ptr<Emulator> chip,
                             std::chrono::microseconds per_byte = std::chrono::microseconds(0));

  std::optional<lorawan::Bytes> wake() override;
  Ack write(WordAddress word_address, lorawan::ByteSpan bytes) override;
  std::optional<lorawan::Bytes> read(std::size_t size) override;
  void delay(std::chrono::microseconds duration) override;
  std::chrono::microseconds now() const override;
  std::string describe() const override;

  Emulator& chip() { return *chip_; }

 private:
  void bus_time(std::size_t bytes);

  std::shared_ptr<Emulator> chip_;
  std::chrono::microseconds per_byte_;
};

}  // namespace joincheck::sim::atecc608
