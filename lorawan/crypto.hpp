#pragma once
// The cryptographic primitives LoRaWAN and TS002 need. AES itself is always OpenSSL's (EVP,
// which uses AES-NI where the CPU has it); the two modes built on it, AES-CMAC (RFC 4493) and
// RFC 3394 key wrap, are written here over an AES-ECB context keyed once and reused: with
// OpenSSL 3.0 on an AES-NI machine, its AES-WRAP cipher took 1.1 us to wrap a 128-bit key where
// the same RFC 3394 steps over its AES-ECB take 0.28 us, and its EVP_MAC CMAC (re-keyed per
// message) 0.42 us for a join-request MIC against 0.18 us (bench_join, BM_KeyWrap128 and
// BM_Cmac19Bytes); a join does two wraps and two to three MICs.
// tests/lorawan/test_crypto.cpp holds both modes to OpenSSL's EVP_MAC CMAC and AES-WRAP for
// every length around the block boundaries, besides the RFC vectors.

#include <array>
#include <cstdint>
#include <functional>
#include <span>

#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

struct evp_cipher_ctx_st;

namespace joincheck::lorawan {

using Block = std::array<std::uint8_t, 16>;

// AES-128 in ECB mode with one key, for any number of blocks. Each direction's OpenSSL context
// is keyed on first use and kept (borrowed from a per-thread pool, given back on destruction).
// Not thread-safe; cheap to move.
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

// AES-CMAC (RFC 4493) with one key, for a message given in pieces. After finish() the object is
// ready for a new message with the same key. Not thread-safe.
class Cmac {
 public:
  explicit Cmac(const Aes128Key& key);
  Cmac(Cmac&& other) noexcept = default;
  Cmac& operator=(Cmac&& other) noexcept = default;
  Cmac(const Cmac&) = delete;
  Cmac& operator=(const Cmac&) = delete;
  ~Cmac();

  Cmac& update(ByteSpan data);
  Cmac& update(std::uint8_t byte) { return update(ByteSpan(&byte, 1)); }
  Block finish();
  // The first four bytes of the CMAC: a LoRaWAN MIC.
  Mic finish_mic();

 private:
  Aes128 aes_;
  Block k1_{};
  Block k2_{};
  Block x_{};        // the CBC-MAC of the blocks chained so far
  Block pending_{};  // the latest bytes, not chained yet: the last block is XORed with a
  std::size_t pending_size_ = 0;  // subkey first, and only finish() knows which block is last
};

// The first four bytes of a CMAC: a LoRaWAN MIC.
inline Mic mic_of(const Block& cmac) { return Mic(Mic::Array{cmac[0], cmac[1], cmac[2], cmac[3]}); }

// One-shot helpers. Each sets up the key's AES schedule again: for several operations with one
// key, KeySchedule (below) sets it up once.
Block aes128_encrypt(const Aes128Key& key, const Block& in);
Block cmac(const Aes128Key& key, ByteSpan data);

// AES-CMAC (RFC 4493) built on an AES-128 block encryption the caller supplies: for a key inside
// a secure element that offers AES-ECB but not CMAC (the ATECC608), where OpenSSL cannot be
// given the key. The same CMAC mode as cmac(), Cmac and KeySchedule::cmac.
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
  // Encrypts whole independent blocks (ECB); `in.size()` a multiple of 16, `out` as large (may
  // be `in`). One encrypt() per block unless a key does better: KeySchedule does them in one
  // OpenSSL call, whose fixed cost is most of the cost of a block.
  virtual void encrypt_blocks(ByteSpan in, std::span<std::uint8_t> out) const;

 protected:
  KeyRef() = default;
  KeyRef(const KeyRef&) = default;
  KeyRef& operator=(const KeyRef&) = default;
};

// A key in memory, nothing set up: every operation sets up the AES schedule again. Holds no
// state, so one KeyValue may be used by several threads.
class KeyValue final : public KeyRef {
 public:
  explicit KeyValue(const Aes128Key& key) : key_(key) {}
  Block encrypt(const Block& in) const override { return aes128_encrypt(key_, in); }
  Block cmac(ByteSpan message) const override { return lorawan::cmac(key_, message); }

 private:
  Aes128Key key_;
};

// A key in memory with its AES schedules (encryption, decryption) and CMAC subkeys set up on
// first use and kept: one join uses its root key for two MICs, the key derivation and the
// join-accept encryption, and setting up the schedule costs about five blocks' encryption.
// Not thread-safe, although its methods are const (they set up on first use): one per thread,
// typically for one join.
class KeySchedule final : public KeyRef {
 public:
  explicit KeySchedule(const Aes128Key& key) : aes_(key) {}
  KeySchedule(KeySchedule&&) noexcept = default;
  KeySchedule& operator=(KeySchedule&&) noexcept = default;
  ~KeySchedule() override;

  Block encrypt(const Block& in) const override;
  Block cmac(ByteSpan message) const override;
  void encrypt_blocks(ByteSpan in, std::span<std::uint8_t> out) const override;
  // AES-128-ECB decryption of whole blocks (the network side of join-accept encryption).
  void decrypt_blocks(ByteSpan in, std::span<std::uint8_t> out) const;
  Mic mic(ByteSpan message) const { return mic_of(cmac(message)); }

 private:
  mutable Aes128 aes_;
  mutable Block k1_{};
  mutable Block k2_{};
  mutable bool have_subkeys_ = false;
};

// RFC 3394 AES key wrap with the default IV. `kek` is 16, 24 or 32 bytes; `key` is a multiple
// of 8 bytes, at least 16. Throws Error on other sizes. The KEK's AES schedules are kept per
// thread (a JS wraps millions of keys with a handful of KEKs).
Bytes aes_key_wrap(ByteSpan kek, ByteSpan key);
// Inverse of aes_key_wrap. Throws KeyUnwrapError when the integrity check fails (wrong KEK or
// corrupted input) and Error on impossible sizes: it never returns garbage.
Bytes aes_key_unwrap(ByteSpan kek, ByteSpan wrapped);

}  // namespace joincheck::lorawan
