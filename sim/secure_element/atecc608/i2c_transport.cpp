#include "sim/secure_element/atecc608/i2c_transport.hpp"

#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <thread>

namespace joincheck::sim::atecc608 {
namespace {

constexpr std::uint8_t kMinAddress = 0x08;
constexpr std::uint8_t kMaxAddress = 0x77;

// One mutex per bus, shared by every transport open on it (by canonical path).
std::shared_ptr<std::mutex> bus_mutex(const std::string& device) {
  static std::mutex registry_mutex;
  static std::map<std::string, std::weak_ptr<std::mutex>> registry;
  std::error_code ec;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(device, ec);
  const std::string key = ec ? device : canonical.string();
  const std::lock_guard<std::mutex> guard(registry_mutex);
  std::weak_ptr<std::mutex>& entry = registry[key];
  std::shared_ptr<std::mutex> mutex = entry.lock();
  if (!mutex) {
    mutex = std::make_shared<std::mutex>();
    entry = mutex;
  }
  return mutex;
}

// What a user can do about an errno of open() or ioctl().
std::string hint(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return "permission denied: add the user to group i2c (or install a udev rule giving it "
             "access to /dev/i2c-*), then log in again";
    case ENOENT:
      return "no such device node: enable I2C (raspi-config, or dtparam=i2c_arm=on in "
             "config.txt) and load the i2c-dev module (modprobe i2c-dev)";
    case EBUSY:
      return "a kernel driver is bound to this address";
    case ENOTTY:
      return "not an I2C adapter";
    default:
      break;
  }
  return {};
}

// The errors a NACKed transfer shows as, depending on the bus driver.
bool is_nack(int error) {
  return error == ENXIO || error == EREMOTEIO || error == EIO || error == ETIMEDOUT ||
         error == EAGAIN;
}

}  // namespace

std::string i2c_address_hex(std::uint8_t address) {
  return "0x" + lorawan::to_hex(lorawan::ByteSpan(&address, 1));
}

std::uint8_t parse_i2c_address(std::string_view text, std::string_view field) {
  const std::string shown = lorawan::quote_for_error(text);
  const bool hex = text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X');
  const std::string_view digits = hex ? text.substr(2) : text;
  unsigned value = 0;
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), value, hex ? 16 : 10);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    throw lorawan::Error(std::string(field) +
                         ": expected a 7-bit I2C address such as \"0x59\" (hex) or \"89\", got " +
                         shown);
  }
  if (value < kMinAddress || value > kMaxAddress) {
    std::string message =
        std::string(field) + ": expected a 7-bit I2C address 0x08-0x77, got " + shown;
    if (value <= 0xFF && (value & 1U) == 0 && (value >> 1) >= kMinAddress &&
        (value >> 1) <= kMaxAddress) {
      message += " (an 8-bit address? the 7-bit form is " +
                 i2c_address_hex(static_cast<std::uint8_t>(value >> 1)) + ")";
    }
    throw lorawan::Error(message);
  }
  return static_cast<std::uint8_t>(value);
}

I2cTransport::I2cTransport(std::string device, std::uint8_t address,
                           std::chrono::microseconds wake_delay)
    : device_(std::move(device)), address_(address), wake_delay_(wake_delay) {
  if (address_ < kMinAddress || address_ > kMaxAddress) {
    throw I2cError(describe() + ": expected a 7-bit I2C address 0x08-0x77");
  }
  fd_ = ::open(device_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) fail("cannot open", errno);
  try {
    select(address_);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
  bus_ = bus_mutex(device_);
}

I2cTransport::~I2cTransport() {
  if (fd_ >= 0) ::close(fd_);
}

void I2cTransport::fail(const std::string& action, int error) const {
  std::string message = describe() + ": " + action + ": " + std::strerror(error);
  const std::string help = hint(error);
  if (!help.empty()) message += " (" + help + ")";
  throw I2cError(message);
}

void I2cTransport::select(std::uint8_t address) {
  if (::ioctl(fd_, I2C_SLAVE, static_cast<unsigned long>(address)) < 0) {
    fail("cannot select address " + i2c_address_hex(address) + " (ioctl I2C_SLAVE)", errno);
  }
}

std::optional<lorawan::Bytes> I2cTransport::wake() {
  select(0x00);
  const std::uint8_t zero = 0x00;
  ssize_t written = 0;
  do {
    written = ::write(fd_, &zero, 1);  // nobody acknowledges the general call: ignored
  } while (written < 0 && errno == EINTR);
  select(address_);
  delay(wake_delay_);
  return read(4);
}

Ack I2cTransport::write(WordAddress word_address, lorawan::ByteSpan bytes) {
  lorawan::Bytes buffer;
  buffer.reserve(bytes.size() + 1);
  buffer.push_back(static_cast<std::uint8_t>(word_address));
  buffer.insert(buffer.end(), bytes.begin(), bytes.end());
  ssize_t n = 0;
  do {
    n = ::write(fd_, buffer.data(), buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(buffer.size())) return Ack::ack;
  if (n >= 0 || is_nack(errno)) return Ack::nack;
  fail("write", errno);
}

std::optional<lorawan::Bytes> I2cTransport::read(std::size_t size) {
  lorawan::Bytes buffer(size);
  if (size == 0) return buffer;
  ssize_t n = 0;
  do {
    n = ::read(fd_, buffer.data(), buffer.size());
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(size)) return buffer;
  if (n >= 0 || is_nack(errno)) return std::nullopt;
  fail("read", errno);
}

void I2cTransport::delay(std::chrono::microseconds duration) {
  if (duration.count() > 0) std::this_thread::sleep_for(duration);
}

std::chrono::microseconds I2cTransport::now() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::steady_clock::now().time_since_epoch());
}

std::string I2cTransport::describe() const {
  return device_ + " address " + i2c_address_hex(address_);
}

void I2cTransport::lock() { bus_->lock(); }
void I2cTransport::unlock() { bus_->unlock(); }

}  // namespace joincheck::sim::atecc608
