#pragma once
// An ATECC608A(-TNGLORA) secure element through Microchip's cryptoauthlib (MicrochipTech/
// cryptoauthlib lib/atca_cfgs.c, the atcab_* API; docs/secure-element.md#cryptoauthlib-optional):
// an independent reference for the project's own wire client
// (sim/secure_element/atecc608/), for developers who have both a chip and the library.
//
// Licence: cryptoauthlib's licence allows its use "exclusively with Microchip products" (its license.txt).
// It is therefore never vendored, downloaded or required: this folder is compiled only when
// CMake's `pkg_check_modules(CRYPTOAUTH IMPORTED_TARGET libcryptoauth)` finds a copy the developer
// built and installed, and nothing else in joincheck depends on it. Use it with Microchip parts
// only (not under the emulator).
//
// Opened as cryptoauthlib's own configuration (lib/atca_cfgs.c) describes a TNGLORA on Linux: I2C interface, device type ATECC608, 8-bit
// address 0xB2 (the 7-bit 0x59 shifted), bus N of /dev/i2c-N, 100 kHz (the library's Linux HAL
// cannot change the speed, and its wake fails above 100 kHz), wake delay 1500 us, 20 retries; the
// library must have been built with ATCA_HAL_I2C. Each instance has its own ATCADevice
// (atcab_init_ext and the *_ext / calib_* calls), so several can coexist. The mapping of the
// primitives and the slot map are those of AteccSe (atecc608/atecc_se.hpp); CMAC uses the
// library's atcab_aes_cmac_*, which does the same host-side RFC 4493 over chip AES blocks.

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "sim/secure_element/atecc608/atecc_se.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::sim {

struct CryptoauthlibSeOptions {
  int bus = 1;                  // /dev/i2c-<bus>
  std::uint8_t address = 0x59;  // 7-bit
  AteccSlotMap slot_map = AteccSlotMap::tnglora(lorawan::MacVersion::v1_0_3);
  bool app_key_provisioned = true;
  bool nwk_key_provisioned = false;
  bool check_dev_eui = true;

  static CryptoauthlibSeOptions for_version(lorawan::MacVersion version);
};

class CryptoauthlibSe final : public SecureElement {
 public:
  // Opens the chip and reads its identity. Throws SecureElementError naming the bus, the
  // address and cryptoauthlib's status code.
  CryptoauthlibSe(const lorawan::Eui64& expected_dev_eui, CryptoauthlibSeOptions options = {});
  ~CryptoauthlibSe() override;

  std::string_view backend() const override { return "cryptoauthlib"; }
  SeIdentity identity() const override { return identity_; }
  bool has_key(KeySlot slot) const override;
  void set_key(KeySlot slot, const lorawan::Aes128Key& key) override;
  lorawan::Block aes_encrypt(KeySlot slot, const lorawan::Block& in) override;
  lorawan::Block cmac(KeySlot slot, lorawan::ByteSpan message) override;
  void derive_and_store(KeySlot root, const lorawan::Block& input, KeySlot target) override;
  void random(std::span<std::uint8_t> out) override;

  const atecc608::Serial& serial() const { return serial_; }

 private:
  struct Device;
  [[noreturn]] void fail_with(std::string operation, std::optional<KeySlot> slot,
                              std::string_view reason) const;
  // Throws SecureElementError unless `status` is ATCA_SUCCESS.
  void check(int status, const std::string& operation, std::optional<KeySlot> slot) const;
  void need(KeySlot slot, const std::string& operation) const;

  CryptoauthlibSeOptions options_;
  std::string description_;  // "cryptoauthlib, /dev/i2c-1 address 0x59"
  std::unique_ptr<Device> device_;
  SeIdentity identity_;
  atecc608::Serial serial_{};
  std::array<bool, kKeySlotCount> present_{};
};

}  // namespace joincheck::sim
