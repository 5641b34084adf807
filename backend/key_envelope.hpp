#pragma once
// The TS002 KeyEnvelope (TS002 1.0 §21, Table 11): a session key either in clear or wrapped
// (RFC 3394, default IV) under a key-encryption key (KEK) that both sides know by its label.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

namespace joincheck::backend {

// Why a key could not be wrapped or unwrapped.
class KeyEnvelopeError : public lorawan::Error {
 public:
  enum class Reason {
    unknown_label,           // the receiver has no KEK with this label
    integrity_check_failed,  // RFC 3394 check failed: wrong KEK for the label, or corrupted key
    invalid_size,            // AESKey or KEK of an impossible size
    label_without_kek,       // wrap() got a label but no KEK, or a KEK but no label
  };
  KeyEnvelopeError(Reason reason, const std::string& message)
      : lorawan::Error(message), reason_(reason) {}
  Reason reason() const { return reason_; }

 private:
  Reason reason_;
};

// Finds the KEK for a label; nullopt when the label is not configured.
using KekLookup = std::function<std::optional<lorawan::Bytes>(std::string_view label)>;
// A KEK table: label -> KEK (16, 24 or 32 bytes).
using KekTable = std::map<std::string, lorawan::Bytes, std::less<>>;

struct KeyEnvelope {
  // Empty when the key is in clear. On the wire an absent `KEKLabel` also means clear.
  std::string kek_label;
  // The 16-byte key in clear, or its 24-byte RFC 3394 wrap.
  lorawan::Bytes aes_key;

  // Wraps `key` under `kek`, labelled `label`. An empty label with an empty KEK gives a clear
  // envelope. A label without a KEK (or the reverse) throws: a silent fallback to a clear key is
  // the brocaar pitfall this harness tests for (TS002 1.0 §21; docs/checks.md#kek).
  static KeyEnvelope wrap(const lorawan::Aes128Key& key, std::string label, lorawan::ByteSpan kek);
  static KeyEnvelope clear(const lorawan::Aes128Key& key) { return wrap(key, {}, {}); }

  bool is_clear() const { return kek_label.empty(); }

  // The key, unwrapped with the KEK that `lookup` gives for `kek_label`. Throws
  // KeyEnvelopeError naming the label when the label is unknown, the integrity check fails or a
  // size is wrong.
  lorawan::Aes128Key unwrap(const KekLookup& lookup) const;
  lorawan::Aes128Key unwrap(const KekTable& keks) const;

  friend bool operator==(const KeyEnvelope&, const KeyEnvelope&) = default;
};

}  // namespace joincheck::backend
