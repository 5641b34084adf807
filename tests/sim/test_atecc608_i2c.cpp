// The Linux i2c-dev transport (sim/secure_element/atecc608/i2c_transport.hpp). Without a chip
// only its failures can be tested: each names the device path, the address and the errno text,
// with what the user can do about it. The address parser a fleet's "address" field uses.
#include <gtest/gtest.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "sim/secure_element/atecc608/i2c_transport.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim::atecc608 {
namespace {

using test_support::TempDir;

std::string open_error(const std::string& device, std::uint8_t address = 0x59) {
  try {
    I2cTransport transport(device, address);
  } catch (const I2cError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an I2cError for " << device;
  return {};
}

TEST(Atecc608I2c, MissingDeviceNode) {
  EXPECT_EQ(open_error("/dev/i2c-99"),
            "/dev/i2c-99 address 0x59: cannot open: No such file or directory (no such device "
            "node: enable I2C (raspi-config, or dtparam=i2c_arm=on in config.txt) and load the "
            "i2c-dev module (modprobe i2c-dev))");
}

TEST(Atecc608I2c, NotAnI2cAdapter) {
  EXPECT_EQ(open_error("/dev/null"),
            "/dev/null address 0x59: cannot select address 0x59 (ioctl I2C_SLAVE): Inappropriate "
            "ioctl for device (not an I2C adapter)");
  TempDir dir;
  EXPECT_CONTAINS(open_error(dir.path().string()), "cannot open: Is a directory");
}

// Opens files as another user: as root, the filesystem UID of this thread is switched to
// "nobody", which also drops root's file-permission override (capabilities(7)), and back.
class AsNobody {
 public:
  AsNobody() : was_root_(::geteuid() == 0) {
    if (was_root_) ::setfsuid(65534);
  }
  ~AsNobody() {
    if (was_root_) ::setfsuid(0);
  }
  AsNobody(const AsNobody&) = delete;
  AsNobody& operator=(const AsNobody&) = delete;

 private:
  bool was_root_;
};

TEST(Atecc608I2c, PermissionDenied) {
  TempDir dir;
  const auto node = dir / "i2c-7";
  std::ofstream(node).put('x');
  ::chmod(node.c_str(), 0);
  std::string error;
  {
    AsNobody nobody;
    error = open_error(node.string());
  }
  EXPECT_EQ(error, node.string() +
                       " address 0x59: cannot open: Permission denied (permission denied: add the "
                       "user to group i2c (or install a udev rule giving it access to "
                       "/dev/i2c-*), then log in again)");
}

TEST(Atecc608I2c, AddressOutsideTheSevenBitRange) {
  EXPECT_EQ(open_error("/dev/i2c-1", 0xB2),
            "/dev/i2c-1 address 0xb2: expected a 7-bit I2C address 0x08-0x77");
}

TEST(Atecc608I2c, ParsesFleetAddresses) {
  EXPECT_EQ(parse_i2c_address("0x59"), 0x59);
  EXPECT_EQ(parse_i2c_address("0X60"), 0x60);
  EXPECT_EQ(parse_i2c_address("89"), 0x59);
  auto error = [](std::string_view text) {
    try {
      parse_i2c_address(text);
    } catch (const lorawan::Error& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << text;
    return std::string();
  };
  EXPECT_EQ(error("0xB2"),
            "address: expected a 7-bit I2C address 0x08-0x77, got \"0xB2\" (an 8-bit address? "
            "the 7-bit form is 0x59)");
  EXPECT_EQ(error("0x"),
            "address: expected a 7-bit I2C address such as \"0x59\" (hex) or \"89\", "
            "got \"0x\"");
  EXPECT_CONTAINS(error("59h"), "such as \"0x59\"");
  EXPECT_CONTAINS(error("0x02"), "0x08-0x77");
  EXPECT_CONTAINS(error(""), "got \"\"");
}

}  // namespace
}  // namespace joincheck::sim::atecc608
