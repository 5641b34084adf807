#pragma once
// A simulated device's secure element: the holder of its root keys and identity, and the four
// primitives a LoRaWAN stack needs from one (after Lora-net/LoRaMac-node src/mac/secure-element.h
// and the way src/mac/LoRaMacCrypto.c drives it): AES-128-ECB encryption of a block with a stored key,
// AES-CMAC with a stored key, derive-and-store (encrypt a block with key A, keep the result as
// key B), identity reads, and random bytes. Keys are addressed by slot, never handed out.
//
// Join processing on the primitives
// ---------------------------------
// The join-request MIC, the join-accept decryption and MIC, and the data-frame MICs and
// encryption are lorawan/'s formulas, written once over lorawan::KeyRef; SlotKey (below) makes a
// slot of an element a KeyRef, so the formulas run inside the element, whichever back-end it is.
// Session and lifetime keys are derived into slots with derive_and_store() from lorawan's
// derivation blocks (session_key_block, js_key_block), as LoRaMac-node's LoRaMacCrypto does
// (Lora-net/LoRaMac-node src/mac/LoRaMacCrypto.c). No back-end hands keys to the device model for that.
//
// KeyAccess (below) remains for the software back-end only: it lets a report or a test show the
// session keys a software device derived. A back-end whose keys cannot leave it (the ATECC608)
// offers none; its keys are compared by key check value (SimDevice::session_key()).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "lorawan/crypto.hpp"
#include "lorawan/error.hpp"
#include "lorawan/types.hpp"

namespace joincheck::sim {

// Key slots, in LoRaMac-node's KeyIdentifier order so traces line up. For a LoRaWAN 1.0.x device
// the root key is AppKey (LoRaMac-node stores it as NWK_KEY; here the name is the spec's), and
// the 1.0 NwkSKey fills FNwkSIntKey, SNwkSIntKey and NwkSEncKey.
enum class KeySlot : std::uint8_t {
  app_key,
  nwk_key,
  js_int_key,
  js_enc_key,
  f_nwk_s_int_key,
  s_nwk_s_int_key,
  nwk_s_enc_key,
  app_s_key,
};
inline constexpr std::size_t kKeySlotCount = 8;
// "AppKey", "NwkKey", "JSIntKey", ...: the specification's names.
std::string_view to_string(KeySlot slot);
// Root keys are provisioned with the element and cannot be written or derived into.
constexpr bool is_root_slot(KeySlot slot) {
  return slot == KeySlot::app_key || slot == KeySlot::nwk_key;
}

struct SeIdentity {
  lorawan::Eui64 dev_eui;
  lorawan::Eui64 join_eui;
  friend bool operator==(const SeIdentity&, const SeIdentity&) = default;
};

// A refused or failed operation. what() reads
//   "secure element (software) of device 0102030405060708: cmac with JSIntKey: the slot holds no
//   key"
// and never contains key material.
class SecureElementError : public lorawan::Error {
 public:
  SecureElementError(std::string_view backend, const lorawan::Eui64& dev_eui, std::string operation,
                     std::optional<KeySlot> slot, std::string_view reason);
  const lorawan::Eui64& dev_eui() const { return dev_eui_; }
  const std::string& operation() const { return operation_; }
  std::optional<KeySlot> slot() const { return slot_; }

 private:
  lorawan::Eui64 dev_eui_;
  std::string operation_;
  std::optional<KeySlot> slot_;
};

// In-process key export of the software back-end (see the header comment): lets reports and
// tests see a software device's session keys.
class KeyAccess {
 public:
  virtual ~KeyAccess() = default;
  // The key in `slot`; nullopt when the slot is empty.
  virtual std::optional<lorawan::Aes128Key> key(KeySlot slot) const = 0;

 protected:
  KeyAccess() = default;
  KeyAccess(const KeyAccess&) = default;
  KeyAccess& operator=(const KeyAccess&) = default;
};

class SecureElement {
 public:
  virtual ~SecureElement() = default;
  SecureElement(const SecureElement&) = delete;
  SecureElement& operator=(const SecureElement&) = delete;

  // "software", "atecc608", ...: for messages.
  virtual std::string_view backend() const = 0;
  virtual SeIdentity identity() const = 0;
  virtual bool has_key(KeySlot slot) const = 0;

  // Stores a key (e.g. ABP session keys, or keys derived outside the element). Throws
  // SecureElementError for a root slot.
  virtual void set_key(KeySlot slot, const lorawan::Aes128Key& key) = 0;
  // AES-128-ECB encryption of one block with the key in `slot`. Throws SecureElementError
  // when the slot is empty.
  virtual lorawan::Block aes_encrypt(KeySlot slot, const lorawan::Block& in) = 0;
  // AES-CMAC (RFC 4493) of `message` with the key in `slot`; the caller prepends any B0/B1 block.
  virtual lorawan::Block cmac(KeySlot slot, lorawan::ByteSpan message) = 0;
  // target = AES-128-ECB-encrypt(key in `root`, input). Throws SecureElementError when `root`
  // is empty or `target` is a root slot.
  virtual void derive_and_store(KeySlot root, const lorawan::Block& input, KeySlot target) = 0;
  // Fills `out` with random bytes.
  virtual void random(std::span<std::uint8_t> out) = 0;

  // The in-process key export, or nullptr for a back-end whose keys cannot leave it.
  virtual const KeyAccess* key_access() const { return nullptr; }

 protected:
  SecureElement() = default;
  // Throws SecureElementError naming this element's back-end and device.
  [[noreturn]] void fail(std::string operation, std::optional<KeySlot> slot,
                         std::string_view reason) const;
};

// A key in a slot of a secure element, as lorawan's formulas take keys: encryption and CMAC run
// in the element. The element must outlive it.
class SlotKey final : public lorawan::KeyRef {
 public:
  SlotKey(SecureElement& se, KeySlot slot) : se_(&se), slot_(slot) {}
  lorawan::Block encrypt(const lorawan::Block& in) const override { return se_->aes_encrypt(slot_, in); }
  lorawan::Block cmac(lorawan::ByteSpan message) const override { return se_->cmac(slot_, message); }

 private:
  SecureElement* se_;
  KeySlot slot_;
};

}  // namespace joincheck::sim
