#include "lorawan/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace joincheck::lorawan {
namespace {

[[noreturn]] void throw_openssl(const char* what) {
  const unsigned long code = ERR_get_error();
  char buf[256] = "no detail";
  if (code != 0) ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  throw std::runtime_error(std::string("OpenSSL: ") + what + " failed: " + buf);
}

// Fetched once: implicit fetches on every init are the main cost of OpenSSL 3's EVP layer.
const EVP_CIPHER* cipher(const char* name) {
  EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, name, nullptr);
  if (c == nullptr) throw_openssl(name);
  return c;
}
const EVP_CIPHER* aes128_ecb() {
  static const EVP_CIPHER* c = cipher("AES-128-ECB");
  return c;
}
// The AES-ECB cipher for a KEK of `kek_size` bytes; throws Error on other sizes.
const EVP_CIPHER* kek_ecb(std::size_t kek_size) {
  switch (kek_size) {
    case 16: return aes128_ecb();
    case 24: {
      static const EVP_CIPHER* c = cipher("AES-192-ECB");
      return c;
    }
    case 32: {
      static const EVP_CIPHER* c = cipher("AES-256-ECB");
      return c;
    }
    default:
      throw Error("KEK: expected 16, 24 or 32 bytes (AES-128/192/256), got " +
                  std::to_string(kek_size) + " bytes");
  }
}

int to_int(std::size_t n) { return static_cast<int>(n); }

// A new ECB context keyed with `key`, padding off (ECB on whole blocks only).
EVP_CIPHER_CTX* new_ecb(const EVP_CIPHER* c, const std::uint8_t* key, bool encrypt) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex2(ctx, c, key, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw_openssl("AES-ECB init");
  }
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return ctx;
}

// Whole blocks through a keyed ECB context; in place when `in == out`.
void ecb(EVP_CIPHER_CTX* ctx, const std::uint8_t* in, std::uint8_t* out, std::size_t size) {
  int written = 0;
  if (EVP_CipherUpdate(ctx, out, &written, in, to_int(size)) != 1 || written != to_int(size)) {
    throw_openssl("AES-ECB");
  }
}

// Creating a context costs more than re-keying one, so each thread keeps the AES-128-ECB
// contexts it has finished with, one pool per direction. A borrowed context belongs to one
// Aes128 until it is given back.
class ContextPool {
 public:
  ContextPool() = default;
  ContextPool(const ContextPool&) = delete;
  ContextPool& operator=(const ContextPool&) = delete;
  ~ContextPool() {
    for (EVP_CIPHER_CTX* c : free_) EVP_CIPHER_CTX_free(c);
  }
  EVP_CIPHER_CTX* take() {
    if (free_.empty()) return nullptr;
    EVP_CIPHER_CTX* c = free_.back();
    free_.pop_back();
    return c;
  }
  void give_back(EVP_CIPHER_CTX* c) {
    if (c == nullptr) return;
    if (free_.size() < kMaxKept) {
      free_.push_back(c);
    } else {
      EVP_CIPHER_CTX_free(c);
    }
  }

 private:
  static constexpr std::size_t kMaxKept = 16;
  std::vector<EVP_CIPHER_CTX*> free_;
};

ContextPool& ecb_pool(bool encrypt) {
  thread_local ContextPool enc, dec;
  return encrypt ? enc : dec;
}

// An AES-128-ECB context keyed with `key`: re-keyed from the pool, or created and set up once.
EVP_CIPHER_CTX* keyed_ecb(bool encrypt, const std::uint8_t* key) {
  EVP_CIPHER_CTX* ctx = ecb_pool(encrypt).take();
  if (ctx == nullptr) return new_ecb(aes128_ecb(), key, encrypt);
  // Same cipher, padding already off: only the key schedule is set up again.
  if (EVP_CipherInit_ex2(ctx, nullptr, key, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw_openssl("AES-128-ECB re-key");
  }
  return ctx;
}

// ---- AES-CMAC, RFC 4493 ----

// RFC 4493 §2.3: doubling in GF(2^128), a left shift by one bit, XORed with Rb = 0x87 when the
// bit shifted out is 1. Without a branch on that bit: it is a bit of the secret L.
Block double_block(const Block& in) {
  Block out;
  for (std::size_t i = 0; i + 1 < in.size(); ++i) {
    out[i] = static_cast<std::uint8_t>((in[i] << 1) | (in[i + 1] >> 7));
  }
  const auto msb_mask = static_cast<std::uint8_t>(0U - (in[0] >> 7U));  // 0x00 or 0xff
  out[15] = static_cast<std::uint8_t>((in[15] << 1) ^ (0x87U & msb_mask));
  return out;
}

// RFC 4493 §2.3: K1 = double(L), K2 = double(K1), where L = AES(K, 0^128).
void subkeys(const Block& l, Block& k1, Block& k2) {
  k1 = double_block(l);
  k2 = double_block(k1);
}

// RFC 4493 §2.4 steps 4 and 6, last block: X ^= M_last, where M_last = M_n ^ K1 when the last
// block M_n (its `size` bytes at `m`) is complete, else padding(M_n) ^ K2, padding being 10*.
void xor_last_block(Block& x, const std::uint8_t* m, std::size_t size, const Block& k1,
                    const Block& k2) {
  if (size == 16) {
    for (std::size_t i = 0; i < 16; ++i) x[i] = static_cast<std::uint8_t>(x[i] ^ m[i] ^ k1[i]);
    return;
  }
  for (std::size_t i = 0; i < size; ++i) x[i] = static_cast<std::uint8_t>(x[i] ^ m[i]);
  x[size] = static_cast<std::uint8_t>(x[size] ^ 0x80U);
  for (std::size_t i = 0; i < 16; ++i) x[i] = static_cast<std::uint8_t>(x[i] ^ k2[i]);
}

// RFC 4493 §2.4 steps 3-7 with the subkeys known: CBC-MAC with a zero IV over the message's
// blocks, the last one prepared by xor_last_block (the empty message is one padded block).
// `encrypt` encrypts a Block in place.
template <class Encrypt>
Block cmac_mode(ByteSpan message, const Block& k1, const Block& k2, Encrypt&& encrypt) {
  const std::size_t blocks = message.empty() ? 1 : (message.size() + 15) / 16;
  Block x{};
  const std::uint8_t* m = message.data();
  for (std::size_t b = 0; b + 1 < blocks; ++b, m += 16) {
    for (std::size_t i = 0; i < 16; ++i) x[i] = static_cast<std::uint8_t>(x[i] ^ m[i]);
    encrypt(x);
  }
  xor_last_block(x, m, message.size() - 16 * (blocks - 1), k1, k2);
  encrypt(x);
  return x;
}

void cleanse(Block& b) { OPENSSL_cleanse(b.data(), b.size()); }

}  // namespace

// ---- Aes128 ----

Aes128::Aes128(const Aes128Key& key) : key_(key) {}

Aes128::Aes128(Aes128&& other) noexcept
    : key_(other.key_), enc_(std::exchange(other.enc_, nullptr)),
      dec_(std::exchange(other.dec_, nullptr)) {}

Aes128& Aes128::operator=(Aes128&& other) noexcept {
  if (this != &other) {
    ecb_pool(true).give_back(enc_);
    ecb_pool(false).give_back(dec_);
    key_ = other.key_;
    enc_ = std::exchange(other.enc_, nullptr);
    dec_ = std::exchange(other.dec_, nullptr);
  }
  return *this;
}

Aes128::~Aes128() {
  ecb_pool(true).give_back(enc_);
  ecb_pool(false).give_back(dec_);
  OPENSSL_cleanse(&key_, sizeof key_);
}

void Aes128::run(bool encrypt, ByteSpan in, std::span<std::uint8_t> out) {
  if (in.size() % 16 != 0 || out.size() < in.size()) {
    throw std::logic_error("Aes128: input must be whole 16-byte blocks and output as large");
  }
  if (in.empty()) return;
  EVP_CIPHER_CTX*& ctx = encrypt ? enc_ : dec_;
  if (ctx == nullptr) ctx = keyed_ecb(encrypt, key_.bytes().data());
  ecb(ctx, in.data(), out.data(), in.size());
}

Block Aes128::encrypt(const Block& in) {
  Block out;
  run(true, in, out);
  return out;
}
Block Aes128::decrypt(const Block& in) {
  Block out;
  run(false, in, out);
  return out;
}
void Aes128::encrypt(ByteSpan in, std::span<std::uint8_t> out) { run(true, in, out); }
void Aes128::decrypt(ByteSpan in, std::span<std::uint8_t> out) { run(false, in, out); }

// ---- Cmac ----

Cmac::Cmac(const Aes128Key& key) : aes_(key) {
  Block l = aes_.encrypt(Block{});
  subkeys(l, k1_, k2_);
  cleanse(l);
}

Cmac::~Cmac() {
  cleanse(k1_);
  cleanse(k2_);
  cleanse(x_);
  cleanse(pending_);
}

Cmac& Cmac::update(ByteSpan data) {
  while (!data.empty()) {
    if (pending_size_ == pending_.size()) {
      // More is coming, so the pending block is not the last one: chain it (RFC 4493 §2.4 step 6).
      for (std::size_t i = 0; i < 16; ++i) x_[i] = static_cast<std::uint8_t>(x_[i] ^ pending_[i]);
      aes_.encrypt(x_, x_);
      pending_size_ = 0;
    }
    const std::size_t take = std::min(pending_.size() - pending_size_, data.size());
    std::copy_n(data.begin(), take, pending_.begin() + static_cast<std::ptrdiff_t>(pending_size_));
    pending_size_ += take;
    data = data.subspan(take);
  }
  return *this;
}

Block Cmac::finish() {
  // pending_ is the last block (empty only for the empty message, as update() chains a full
  // block only when more bytes follow).
  xor_last_block(x_, pending_.data(), pending_size_, k1_, k2_);
  aes_.encrypt(x_, x_);
  const Block mac = x_;
  cleanse(x_);
  cleanse(pending_);
  pending_size_ = 0;
  return mac;
}

Mic Cmac::finish_mic() { return mic_of(finish()); }

// ---- KeyRef, KeySchedule ----

void KeyRef::encrypt_blocks(ByteSpan in, std::span<std::uint8_t> out) const {
  if (in.size() % 16 != 0 || out.size() < in.size()) {
    throw std::logic_error("encrypt_blocks: input must be whole 16-byte blocks and output as large");
  }
  for (std::size_t at = 0; at < in.size(); at += 16) {
    Block b;
    std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(at), 16, b.begin());
    b = encrypt(b);
    std::copy(b.begin(), b.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  }
}

KeySchedule::~KeySchedule() {
  cleanse(k1_);
  cleanse(k2_);
}

Block KeySchedule::encrypt(const Block& in) const { return aes_.encrypt(in); }

void KeySchedule::encrypt_blocks(ByteSpan in, std::span<std::uint8_t> out) const {
  aes_.encrypt(in, out);
}

void KeySchedule::decrypt_blocks(ByteSpan in, std::span<std::uint8_t> out) const {
  aes_.decrypt(in, out);
}

Block KeySchedule::cmac(ByteSpan message) const {
  if (!have_subkeys_) {
    Block l = aes_.encrypt(Block{});
    subkeys(l, k1_, k2_);
    cleanse(l);
    have_subkeys_ = true;
  }
  return cmac_mode(message, k1_, k2_, [this](Block& b) { aes_.encrypt(b, b); });
}

// ---- one-shot helpers ----

Block aes128_encrypt(const Aes128Key& key, const Block& in) { return Aes128(key).encrypt(in); }

Block cmac(const Aes128Key& key, ByteSpan data) { return KeySchedule(key).cmac(data); }

Block cmac_with(ByteSpan message, const std::function<Block(const Block&)>& encrypt) {
  Block k1;
  Block k2;
  Block l = encrypt(Block{});
  subkeys(l, k1, k2);
  cleanse(l);
  const Block mac = cmac_mode(message, k1, k2, [&](Block& b) { b = encrypt(b); });
  cleanse(k1);
  cleanse(k2);
  return mac;
}

// ---- RFC 3394 key wrap ----

namespace {

// KEK contexts per thread, kept keyed by KEK and direction: a JS uses a handful of KEKs for
// millions of keys.
class KekSchedules {
 public:
  KekSchedules() = default;
  KekSchedules(const KekSchedules&) = delete;
  KekSchedules& operator=(const KekSchedules&) = delete;
  ~KekSchedules() {
    for (auto& e : entries_) forget(e);
  }
  EVP_CIPHER_CTX* get(ByteSpan kek, bool encrypt) {
    for (auto& e : entries_) {
      if (e.encrypt == encrypt && e.kek_size == kek.size() &&
          std::equal(kek.begin(), kek.end(), e.kek.begin())) {
        return e.ctx;
      }
    }
    EVP_CIPHER_CTX* ctx = new_ecb(kek_ecb(kek.size()), kek.data(), encrypt);
    if (entries_.size() == kMaxEntries) {
      forget(entries_.front());
      entries_.erase(entries_.begin());
    }
    Entry e{{}, kek.size(), encrypt, ctx};
    std::copy(kek.begin(), kek.end(), e.kek.begin());
    entries_.push_back(e);
    return ctx;
  }

 private:
  static constexpr std::size_t kMaxEntries = 16;
  struct Entry {
    std::array<std::uint8_t, 32> kek;
    std::size_t kek_size;
    bool encrypt;
    EVP_CIPHER_CTX* ctx;
  };
  static void forget(Entry& e) {
    EVP_CIPHER_CTX_free(e.ctx);
    OPENSSL_cleanse(e.kek.data(), e.kek.size());
  }
  std::vector<Entry> entries_;
};

EVP_CIPHER_CTX* kek_schedule(ByteSpan kek, bool encrypt) {
  thread_local KekSchedules cache;
  return cache.get(kek, encrypt);
}

// RFC 3394 §2.2.3.1: the default initial value.
constexpr std::uint8_t kIv = 0xA6;

// A ^= t, t as a 64-bit big-endian integer (RFC 3394 §2.2.1 "A = MSB(64, B) ^ t").
void xor_counter(std::uint8_t* a, std::uint64_t t) {
  for (int i = 7; i >= 0; --i, t >>= 8) a[i] = static_cast<std::uint8_t>(a[i] ^ (t & 0xFFU));
}

}  // namespace

Bytes aes_key_wrap(ByteSpan kek, ByteSpan key) {
  kek_ecb(kek.size());  // checks the KEK size
  if (key.size() < 16 || key.size() % 8 != 0) {
    throw Error("key wrap: the key to wrap must be a multiple of 8 bytes and at least 16, got " +
                std::to_string(key.size()) + " bytes");
  }
  EVP_CIPHER_CTX* ctx = kek_schedule(kek, true);
  // RFC 3394 §2.2.1, index-based: A = IV, R[1..n] = P; for j = 0..5, i = 1..n:
  // B = AES(K, A | R[i]), A = MSB(64, B) ^ t with t = n*j + i, R[i] = LSB(64, B).
  // Output C = A | R[1..n]. `b` holds A | R[i].
  const std::size_t n = key.size() / 8;
  Bytes out(key.size() + 8);
  std::uint8_t* r = out.data() + 8;
  std::copy(key.begin(), key.end(), r);
  Block b;
  std::fill_n(b.begin(), 8, kIv);
  for (std::uint64_t j = 0; j < 6; ++j) {
    for (std::size_t i = 1; i <= n; ++i) {
      std::uint8_t* ri = r + 8 * (i - 1);
      std::copy_n(ri, 8, b.begin() + 8);
      ecb(ctx, b.data(), b.data(), b.size());
      xor_counter(b.data(), n * j + i);
      std::copy_n(b.begin() + 8, 8, ri);
    }
  }
  std::copy_n(b.begin(), 8, out.begin());
  cleanse(b);
  return out;
}

Bytes aes_key_unwrap(ByteSpan kek, ByteSpan wrapped) {
  kek_ecb(kek.size());  // checks the KEK size
  if (wrapped.size() < 24 || wrapped.size() % 8 != 0) {
    throw Error("key unwrap: a wrapped key is a multiple of 8 bytes and at least 24, got " +
                std::to_string(wrapped.size()) + " bytes");
  }
  EVP_CIPHER_CTX* ctx = kek_schedule(kek, false);
  // RFC 3394 §2.2.2, index-based: A = C[0], R[i] = C[i]; for j = 5..0, i = n..1:
  // B = AES-1(K, (A ^ t) | R[i]) with t = n*j + i, A = MSB(64, B), R[i] = LSB(64, B).
  // The key is R[1..n] when A is the IV (§2.2.3), and nothing otherwise.
  const std::size_t n = wrapped.size() / 8 - 1;
  Bytes out(wrapped.begin() + 8, wrapped.end());
  Block b;
  std::copy_n(wrapped.begin(), 8, b.begin());
  for (std::uint64_t j = 6; j-- > 0;) {
    for (std::size_t i = n; i >= 1; --i) {
      std::uint8_t* ri = out.data() + 8 * (i - 1);
      xor_counter(b.data(), n * j + i);
      std::copy_n(ri, 8, b.begin() + 8);
      ecb(ctx, b.data(), b.data(), b.size());
      std::copy_n(b.begin() + 8, 8, ri);
    }
  }
  const std::array<std::uint8_t, 8> iv{kIv, kIv, kIv, kIv, kIv, kIv, kIv, kIv};
  const bool intact = CRYPTO_memcmp(b.data(), iv.data(), iv.size()) == 0;
  cleanse(b);
  if (!intact) {
    OPENSSL_cleanse(out.data(), out.size());
    throw KeyUnwrapError(
        "key unwrap: the RFC 3394 integrity check failed (the KEK is not the one the key was "
        "wrapped with, or the wrapped key is corrupted)");
  }
  return out;
}

}  // namespace joincheck::lorawan
