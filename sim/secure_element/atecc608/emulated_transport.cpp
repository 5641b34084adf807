#include "sim/secure_element/atecc608/emulated_transport.hpp"

#include <utility>

namespace joincheck::sim::atecc608 {

EmulatedTransport::EmulatedTransport(std::shared_ptr<Emulator> chip,
                                     std::chrono::microseconds per_byte)
    : chip_(std::move(chip)), per_byte_(per_byte) {
  if (!chip_) throw lorawan::Error("EmulatedTransport: no emulator given");
}

void EmulatedTransport::bus_time(std::size_t bytes) {
  if (per_byte_.count() > 0) {
    chip_->advance(per_byte_ * static_cast<std::chrono::microseconds::rep>(bytes));
  }
}

std::optional<lorawan::Bytes> EmulatedTransport::wake() {
  // As on the bus: the all-zero general-call address byte holds SDA low, then tWHI, then a
  // 4-byte read.
  bus_time(2);
  chip_->wake_pulse();
  delay(Emulator::kWakeHighTime);
  return read(4);
}

Ack EmulatedTransport::write(WordAddress word_address, lorawan::ByteSpan bytes) {
  bus_time(2 + bytes.size());  // address, word address, data
  return chip_->write(static_cast<std::uint8_t>(word_address), bytes);
}

std::optional<lorawan::Bytes> EmulatedTransport::read(std::size_t size) {
  bus_time(1 + size);
  return chip_->read(size);
}

void EmulatedTransport::delay(std::chrono::microseconds duration) { chip_->advance(duration); }

std::chrono::microseconds EmulatedTransport::now() const { return chip_->now(); }

std::string EmulatedTransport::describe() const { return chip_->describe(); }

}  // namespace joincheck::sim::atecc608
