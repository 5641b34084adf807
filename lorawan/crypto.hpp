#pragma once
// The cryptographic primitives LoRaWAN and TS002 need, all from OpenSSL EVP: AES-128 ECB
// blocks, AES-CMAC and RFC 3394 key wrap. No primitive is written by hand here.

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

struct evp_cipher_ctx_st;
struct evp_mac_ctx_st;

namespace joincheck::lorawan {

using Block = std::array<std::uint8_t, 16>;

// AES-128 in ECB mode with one key, for any number of blocks. Not thread-safe; cheap to move.
class Aes128 {
 public:
  explicit Aes128(const Aes128Key& key);
  Aes128(Aes128&& other) noexcept;
  Aes128& operator=(Aes128&& other) noexcept;
  Aes128(const Aes128&) = delete;
  Aes128& operator=(const Aes128&) = delete;
  ~Aes128();

  Block encrypt(const Block& in);
  Block decrypt(const Block& in);
  // In-place or out-of-place on whole blocks; `in.size()` must be a multiple of 16.
  void encrypt(ByteSpan in, std::span<std::uint8_t> out);
  void decrypt(ByteSpan in, std::span<std::uint8_t> out);

 private:
  void run(bool encrypt, ByteSpan in, std::span<std::uint8_t> out);
  Aes128Key key_;
  evp_cipher_ctx_st* enc_ = nullptr;
  evp_cipher_ctx_st* dec_ = nullptr;
};

// AES-CMAC (RFC 4493) with one key. After finish() the object is ready for a new message
// with the same key. Not thread-safe.
class Cmac {
 public:
  explicit Cmac(const Aes128Key& key);
  Cmac(Cmac&& other) noexcept;
  Cmac& operator=(Cmac&& other) noexcept;
  Cmac(const Cmac&) = delete;
  Cmac& operator=(const Cmac&) = delete;
  ~Cmac();

  Cmac& update(ByteSpan data);
  Cmac& update(std::uint8_t byte) { return update(ByteSpan(&byte, 1)); }
  Block finish();
  // The first four bytes of the CMAC: a LoRaWAN MIC.
  Mic finish_mic();

 private:
  evp_mac_ctx_st* ctx_ = nullptr;
};

// The first four bytes of a CMAC: a LoRaWAN MIC.
inline Mic mic_of(const Block& cmac) { return Mic(Mic::Array{cmac[0], cmac[1], cmac[2], cmac[3]}); }

// One-shot helpers.
Block aes128_encrypt(const Aes128Key& key, const Block& in);
Block cmac(const Aes128Key& key, ByteSpan data);

// AES-CMAC (RFC 4493) built on an AES-128 block encryption the caller supplies: for a key inside
// a secure element that offers AES-ECB but not CMAC (the ATECC608), where OpenSSL cannot be
// given the key. The one CMAC mode written here; keys in memory use cmac() (OpenSSL EVP), and the
// tests hold this one to it.
Block cmac_with(ByteSpan message, const std::function<Block(const Block&)>& encrypt);

// A key the LoRaWAN formulas use without holding its value: all they need of a key is AES-128
// encryption of a block and AES-CMAC of a message. KeyValue is a key in memory; a key inside a
// secure element is another (sim/secure_element's SlotKey). The join and frame formulas take a
// KeyRef, so they are written once for keys in memory and keys that never leave a chip.
class KeyRef {
 public:
  virtual ~KeyRef() = default;
  virtual Block encrypt(const Block& in) const = 0;
  virtual Block cmac(ByteSpan message) const = 0;

 protected:
  KeyRef() = default;
  KeyRef(const KeyRef&) = default;
  KeyRef& operator=(const KeyRef&) = default;
};

class KeyValue final : public KeyRef {
 public:
  explicit KeyValue(const Aes128Key& key) : key_(key) {}
  Block encrypt(const Block& in) const override { return aes128_encrypt(key_, in); }
  Block cmac(ByteSpan message) const override { return lorawan::cmac(key_, message); }

 private:
  Aes128Key key_;
};

// RFC 3394 AES key wrap with the default IV. `kek` is 16, 24 or 32 bytes; `key` is a multiple
// of 8 bytes, at least 16. Throws Error on other sizes.
Bytes aes_key_wrap(ByteSpan kek, ByteSpan key);
// Inverse of aes_key_wrap. Throws KeyUnwrapError when the integrity check fails (wrong KEK or
// corrupted input) and Error on impossible sizes: it never returns garbage.
Bytes aes_key_unwrap(ByteSpan kek, ByteSpan wrapped);

}  // namespace joincheck::lorawan
