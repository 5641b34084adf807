#include "backend/key_envelope.hpp"

#include <algorithm>
#include <utility>

#include "lorawan/crypto.hpp"

namespace joincheck::backend {
namespace {

using Reason = KeyEnvelopeError::Reason;

// RFC 3394 adds one 8-byte block to the wrapped data.
constexpr std::size_t kWrappedKeySize = lorawan::Aes128Key::kSize + 8;

std::string label_text(std::string_view label) {
  return "KEK label " + lorawan::quote_for_error(label);
}

lorawan::Aes128Key to_key(const lorawan::Bytes& bytes) {
  lorawan::Aes128Key::Array a{};
  std::copy(bytes.begin(), bytes.end(), a.begin());
  return lorawan::Aes128Key(a);
}

}  // namespace

KeyEnvelope KeyEnvelope::wrap(const lorawan::Aes128Key& key, std::string label,
                              lorawan::ByteSpan kek) {
  const auto& k = key.bytes();
  if (label.empty() && kek.empty()) return KeyEnvelope{{}, lorawan::Bytes(k.begin(), k.end())};
  if (label.empty()) {
    throw KeyEnvelopeError(Reason::label_without_kek,
                           "KeyEnvelope: a KEK of " + std::to_string(kek.size()) +
                               " bytes was given without a KEK label; the receiver could not "
                               "tell which KEK unwraps the key");
  }
  if (kek.empty()) {
    throw KeyEnvelopeError(Reason::label_without_kek,
                           "KeyEnvelope: " + label_text(label) +
                               " was given without a KEK; refusing to send the key in clear");
  }
  try {
    lorawan::Bytes wrapped = lorawan::aes_key_wrap(kek, k);
    return KeyEnvelope{std::move(label), std::move(wrapped)};
  } catch (const lorawan::Error& e) {
    throw KeyEnvelopeError(Reason::invalid_size,
                           "KeyEnvelope: " + label_text(label) + ": " + e.what());
  }
}

lorawan::Aes128Key KeyEnvelope::unwrap(const KekLookup& lookup) const {
  if (is_clear()) {
    if (aes_key.size() != lorawan::Aes128Key::kSize) {
      throw KeyEnvelopeError(Reason::invalid_size,
                             "KeyEnvelope: no KEK label, so AESKey should be a clear 16-byte key, "
                             "got " +
                                 std::to_string(aes_key.size()) + " bytes");
    }
    return to_key(aes_key);
  }
  const std::optional<lorawan::Bytes> kek = lookup(kek_label);
  if (!kek) {
    throw KeyEnvelopeError(Reason::unknown_label,
                           "KeyEnvelope: " + label_text(kek_label) +
                               " is not configured: no KEK to unwrap the key with");
  }
  if (aes_key.size() != kWrappedKeySize) {
    throw KeyEnvelopeError(Reason::invalid_size,
                           "KeyEnvelope: " + label_text(kek_label) + ": expected a " +
                               std::to_string(kWrappedKeySize) + "-byte wrapped key, got " +
                               std::to_string(aes_key.size()) + " bytes");
  }
  try {
    return to_key(lorawan::aes_key_unwrap(*kek, aes_key));
  } catch (const lorawan::KeyUnwrapError&) {
    throw KeyEnvelopeError(Reason::integrity_check_failed,
                           "KeyEnvelope: " + label_text(kek_label) +
                               ": RFC 3394 integrity check failed (the KEK configured for this "
                               "label is not the one the key was wrapped with, or AESKey is "
                               "corrupted)");
  } catch (const lorawan::Error& e) {
    throw KeyEnvelopeError(Reason::invalid_size,
                           "KeyEnvelope: " + label_text(kek_label) + ": " + e.what());
  }
}

lorawan::Aes128Key KeyEnvelope::unwrap(const KekTable& keks) const {
  return unwrap([&keks](std::string_view label) -> std::optional<lorawan::Bytes> {
    const auto it = keks.find(label);
    if (it == keks.end()) return std::nullopt;
    return it->second;
  });
}

}  // namespace joincheck::backend
