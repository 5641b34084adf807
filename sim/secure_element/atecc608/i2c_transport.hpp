#pragma once
// The transport to a real chip on a Linux I2C bus through i2c-dev (compare MicrochipTech/
// cryptoauthlib lib/hal/hal_linux_i2c_userspace.c; docs/secure-element.md#a-real-chip-on-a-linux-host): `open("/dev/i2c-N")` once, `ioctl(I2C_SLAVE, 0x59)` with the
// 7-bit address (the TNGLORA's; cryptoauthlib's config holds the 8-bit 0xB2), plain write() and
// read() transactions. Unlike cryptoauthlib's Linux HAL, which opens the node for every
// transfer, the descriptor stays open.
//
// Wake (DS508; as cryptoauthlib's Linux I2C HAL does it): switch the descriptor to address 0 and write one 0x00 byte — the all-zero
// address byte holds SDA low for about 90 us at 100 kHz, longer than tWLO (60 us); no device
// acknowledges it and the NACK is ignored — switch back, wait tWHI (1.5 ms), read 4 bytes and
// expect 04 11 33 43. This works only if the bus runs at 100 kHz or slower: at 400 kHz the
// pulse is too short. i2c-dev cannot set the speed; the kernel (device tree) does, e.g.
// `dtparam=i2c_arm=on,i2c_arm_baudrate=100000` on a Raspberry Pi (docs/secure-element.md).
//
// A NACK shows as write()/read() failing with ENXIO, EREMOTEIO or EIO (depending on the bus
// driver) or as a short transfer; both are Ack::nack / nullopt. Each transfer is bounded by the
// bus adapter's own timeout in the kernel (set by its driver, typically 1 s or less), so nothing
// here can block forever; the client's poll deadline bounds the rest.
//
// Two chips on one bus: a mutex per device path, held by the client for a whole command (the
// wake pulse reaches every chip on the bus). Cannot be tested without hardware beyond what opens
// and fails.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "sim/secure_element/atecc608/transport.hpp"

namespace joincheck::sim::atecc608 {

// The transport could not be set up or the bus failed in a way that is not a NACK. what() names
// the device path, the address and the errno text, with a hint where one helps:
//   "/dev/i2c-1 address 0x59: cannot open: Permission denied (permission denied: add the user to
//    group i2c, or install a udev rule)"
class I2cError : public TransportError {
 public:
  using TransportError::TransportError;
};

class I2cTransport final : public Transport {
 public:
  static constexpr std::uint8_t kTngloraAddress = 0x59;  // 7-bit (8-bit form 0xB2)
  static constexpr std::chrono::microseconds kWakeDelay{1500};

  // Opens `device` ("/dev/i2c-1") and selects `address` (7-bit, 0x08-0x77). Throws I2cError.
  explicit I2cTransport(std::string device, std::uint8_t address = kTngloraAddress,
                        std::chrono::microseconds wake_delay = kWakeDelay);
  ~I2cTransport() override;

  std::optional<lorawan::Bytes> wake() override;
  Ack write(WordAddress word_address, lorawan::ByteSpan bytes) override;
  std::optional<lorawan::Bytes> read(std::size_t size) override;
  void delay(std::chrono::microseconds duration) override;
  std::chrono::microseconds now() const override;
  std::string describe() const override;
  void lock() override;
  void unlock() override;

 private:
  [[noreturn]] void fail(const std::string& action, int error) const;
  void select(std::uint8_t address);

  std::string device_;
  std::uint8_t address_;
  std::chrono::microseconds wake_delay_;
  int fd_ = -1;
  std::shared_ptr<std::mutex> bus_;
};

// "0x59".
std::string i2c_address_hex(std::uint8_t address);
// A 7-bit address as a fleet writes it: "0x59" (hex, with the prefix) or "89" (decimal), in
// 0x08-0x77. The 8-bit form (0xB2) is refused with a hint. Throws lorawan::Error naming `field`.
std::uint8_t parse_i2c_address(std::string_view text, std::string_view field = "address");

}  // namespace joincheck::sim::atecc608
