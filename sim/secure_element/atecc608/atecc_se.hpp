#pragma once
// The ATECC608A(-TNGLORA) secure element: the SecureElement interface over the command client
// (docs/secure-element.md), for a chip on /dev/i2c-N (I2cTransport) or an
// emulated one (EmulatedTransport). Keys never leave the chip: key_access() is nullptr.
//
// Mapping of the primitives (LoRaMac-node's TNGLORA back-end, cryptoauthlib atcab_aes_cmac_*):
//  - identity: read once at construction, DevEUI from slot 10 (16 upper-case ASCII hex
//    characters, as LoRaMac-node accepts only 0-9A-F), JoinEUI from slot 9 (8 bytes), and the
//    serial from config block 0;
//  - aes_encrypt: one AES command with the key's slot and 16-byte block;
//  - cmac: RFC 4493 computed on the host over chip AES blocks, as cryptoauthlib's
//    atcab_aes_cmac_* does: one AES of the zero block for the subkeys K1/K2, then one AES per
//    16-byte block with the CBC chaining on the host. The chip holds the key; the host only sees
//    AES outputs (so no CMAC primitive is written here, and lorawan::cmac cannot be used);
//  - derive_and_store: KDF in AES mode from the root key's slot/block into the target's slot
//    (result | 16 zeros in bytes 0-31, calib_kdf). LoRaMac-node skips derivations rooted at AppKey;
//    this does not (TNGLoRaWAN data sheets, slot map);
//  - set_key: a 32-byte clear Write (key | 16 zeros) into a session slot (2-7); root slots are
//    refused before the chip is asked;
//  - has_key: root keys as provisioned for the MAC version (a 1.0.x chip holds AppKey only, in
//    slot 0 block 1; a 1.1 chip AppKey in block 0 and NwkKey in block 1, LoRaMac-node PR #1382);
//    session slots once written or derived by this process (the chip cannot tell);
//  - random: the Random command.
// Every chip error becomes a SecureElementError whose what() names the back-end and transport,
// the DevEUI, the operation with its key, and the status:
//   "secure element (atecc608, emulated chip 0123a1b2c3d4e5f627) of device 0102030405060708:
//    AES encrypt with AppKey: status 0x0F (execution error)"
//
// Each command wakes the chip and idles it afterwards (client.hpp). Not thread-safe.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lorawan/types.hpp"
#include "sim/secure_element/atecc608/client.hpp"
#include "sim/secure_element/atecc608/emulator.hpp"
#include "sim/secure_element/atecc608/transport.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::sim {

// Where a key lives: a data slot and the 16-byte block in it (0-3).
struct AteccKeyLocation {
  std::uint8_t slot = 0;
  std::uint8_t block = 0;
  friend bool operator==(const AteccKeyLocation&, const AteccKeyLocation&) = default;
};

// The slots of the keys and identity (docs/secure-element.md). Session keys must be at block 0 (KDF
// and the 32-byte Write fill the start of a slot).
struct AteccSlotMap {
  std::array<AteccKeyLocation, kKeySlotCount> keys{};  // indexed by KeySlot
  std::uint8_t join_eui_slot = 9;
  std::uint8_t dev_eui_slot = 10;

  AteccKeyLocation& operator[](KeySlot slot) { return keys[static_cast<std::size_t>(slot)]; }
  const AteccKeyLocation& operator[](KeySlot slot) const {
    return keys[static_cast<std::size_t>(slot)];
  }
  // The TNGLORA map: AppSKey 2, NwkSEncKey 3, SNwkSIntKey 4, FNwkSIntKey 5, JSIntKey 6,
  // JSEncKey 7; for 1.0.x AppKey (the one root key) at slot 0 block 1; for 1.1 AppKey at slot 0
  // block 0 and NwkKey at slot 0 block 1. Overridable for chips provisioned the other way round
  // (TTN's Mbed example names block 0 the network key).
  static AteccSlotMap tnglora(lorawan::MacVersion version);
};

struct AteccSeOptions {
  AteccSlotMap slot_map = AteccSlotMap::tnglora(lorawan::MacVersion::v1_0_3);
  // The root keys the chip holds.
  bool app_key_provisioned = true;
  bool nwk_key_provisioned = false;
  atecc608::ClientOptions client;
  // Refuse a chip whose DevEUI differs from the one the fleet expects.
  bool check_dev_eui = true;

  // The TNGLORA map and root keys of a LoRaWAN version: AppKey for 1.0.x, both for 1.1.
  static AteccSeOptions for_version(lorawan::MacVersion version);
};

class AteccSe final : public SecureElement {
 public:
  // Wakes the chip and reads its identity. `expected_dev_eui` (the fleet's) names the device in
  // messages when the chip cannot be read. Throws SecureElementError when the chip does not
  // answer, slot 10 holds no DevEUI, or (check_dev_eui) it holds another one; lorawan::Error for
  // an impossible slot map.
  AteccSe(std::unique_ptr<atecc608::Transport> transport, const lorawan::Eui64& expected_dev_eui,
          AteccSeOptions options = {});
  // Over an in-process emulator (EmulatedTransport).
  static std::unique_ptr<AteccSe> emulated(std::shared_ptr<atecc608::Emulator> chip,
                                           const lorawan::Eui64& expected_dev_eui,
                                           AteccSeOptions options = {});

  std::string_view backend() const override { return "atecc608"; }
  SeIdentity identity() const override { return identity_; }
  bool has_key(KeySlot slot) const override;
  void set_key(KeySlot slot, const lorawan::Aes128Key& key) override;
  lorawan::Block aes_encrypt(KeySlot slot, const lorawan::Block& in) override;
  lorawan::Block cmac(KeySlot slot, lorawan::ByteSpan message) override;
  void derive_and_store(KeySlot root, const lorawan::Block& input, KeySlot target) override;
  void random(std::span<std::uint8_t> out) override;

  // "atecc608, emulated chip 0123a1b2c3d4e5f627", "atecc608, /dev/i2c-1 address 0x59".
  const std::string& description() const { return description_; }
  const atecc608::Serial& serial() const { return serial_; }
  atecc608::Client& client() { return client_; }
  const AteccSeOptions& options() const { return options_; }

 private:
  [[noreturn]] void fail_with(std::string operation, std::optional<KeySlot> slot,
                              std::string_view reason) const;
  void need(KeySlot slot, const std::string& operation) const;
  lorawan::Block chip_aes(KeySlot slot, const lorawan::Block& in, const std::string& operation);
  void read_identity(const lorawan::Eui64& expected_dev_eui);

  atecc608::Client client_;
  AteccSeOptions options_;
  std::string description_;
  SeIdentity identity_;
  atecc608::Serial serial_{};
  std::array<bool, kKeySlotCount> present_{};
};

}  // namespace joincheck::sim
