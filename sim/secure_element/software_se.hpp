#pragma once
// The software secure element: keys in memory, AES and CMAC from OpenSSL through
// lorawan/crypto.hpp (docs/secure-element.md). The default back-end for fleets.
// It also offers KeyAccess, the in-process key export that lets reports and tests see the
// session keys (see secure_element.hpp).

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "lorawan/join_procedure.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::sim {

class SoftwareSe final : public SecureElement, public KeyAccess {
 public:
  // `random_seed` makes random() reproducible (std::mt19937_64: a simulator's generator, not a
  // cryptographic one); nullopt seeds it from std::random_device.
  SoftwareSe(SeIdentity identity, const lorawan::RootKeys& root_keys,
             std::optional<std::uint64_t> random_seed = std::nullopt);
  // Identity and root keys (AppKey, NwkKey) of a fleet device.
  static std::unique_ptr<SoftwareSe> from_fleet_device(
      const FleetDevice& device, std::optional<std::uint64_t> random_seed = std::nullopt);

  std::string_view backend() const override { return "software"; }
  SeIdentity identity() const override { return identity_; }
  bool has_key(KeySlot slot) const override;
  void set_key(KeySlot slot, const lorawan::Aes128Key& key) override;
  lorawan::Block aes_encrypt(KeySlot slot, const lorawan::Block& in) override;
  lorawan::Block cmac(KeySlot slot, lorawan::ByteSpan message) override;
  void derive_and_store(KeySlot root, const lorawan::Block& input, KeySlot target) override;
  void random(std::span<std::uint8_t> out) override;

  const KeyAccess* key_access() const override { return this; }
  std::optional<lorawan::Aes128Key> key(KeySlot slot) const override;

 private:
  const lorawan::Aes128Key& need(KeySlot slot, const char* operation) const;

  SeIdentity identity_;
  std::array<std::optional<lorawan::Aes128Key>, kKeySlotCount> slots_{};
  std::mt19937_64 rng_;
};

}  // namespace joincheck::sim
