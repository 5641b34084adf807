#include "lorawan/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <memory>
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
const EVP_CIPHER* aes_wrap(std::size_t kek_size) {
  static const EVP_CIPHER* c128 = cipher("AES-128-WRAP");
  static const EVP_CIPHER* c192 = cipher("AES-192-WRAP");
  static const EVP_CIPHER* c256 = cipher("AES-256-WRAP");
  switch (kek_size) {
    case 16: return c128;
    case 24: return c192;
    case 32: return c256;
    default:
      throw Error("KEK: expected 16, 24 or 32 bytes (AES-128/192/256), got " +
                  std::to_string(kek_size) + " bytes");
  }
}
EVP_MAC* cmac_algorithm() {
  static EVP_MAC* m = [] {
    EVP_MAC* mac = EVP_MAC_fetch(nullptr, "CMAC", nullptr);
    if (mac == nullptr) throw_openssl("EVP_MAC_fetch(CMAC)");
    return mac;
  }();
  return m;
}

// Contexts are expensive to create and cheap to re-key, so each thread keeps the ones it has
// finished with: a cipher context set up for AES-128-ECB, a CMAC context set up for
// AES-128-CBC. A borrowed context belongs to one object until it is given back.
template <class Ctx, void (*Free)(Ctx*)>
class ContextPool {
 public:
  ~ContextPool() {
    for (Ctx* c : free_) Free(c);
  }
  Ctx* take() {
    if (free_.empty()) return nullptr;
    Ctx* c = free_.back();
    free_.pop_back();
    return c;
  }
  void give_back(Ctx* c) {
    if (c == nullptr) return;
    if (free_.size() < kMaxKept) {
      free_.push_back(c);
    } else {
      Free(c);
    }
  }

 private:
  static constexpr std::size_t kMaxKept = 16;
  std::vector<Ctx*> free_;
};

using CipherPool = ContextPool<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using MacPool = ContextPool<EVP_MAC_CTX, EVP_MAC_CTX_free>;

CipherPool& ecb_pool(bool encrypt) {
  thread_local CipherPool enc, dec;
  return encrypt ? enc : dec;
}
MacPool& cmac_pool() {
  thread_local MacPool pool;
  return pool;
}

// A context keyed with `key`: re-keyed from the pool, or created and set up once.
EVP_CIPHER_CTX* keyed_ecb(bool encrypt, const std::uint8_t* key) {
  EVP_CIPHER_CTX* ctx = ecb_pool(encrypt).take();
  if (ctx != nullptr) {
    if (EVP_CipherInit_ex2(ctx, nullptr, key, nullptr, encrypt ? 1 : 0, nullptr) == 1) return ctx;
    EVP_CIPHER_CTX_free(ctx);
    throw_openssl("AES-128-ECB re-key");
  }
  ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
  if (EVP_CipherInit_ex2(ctx, aes128_ecb(), key, nullptr, encrypt ? 1 : 0, nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    throw_openssl("AES-128-ECB init");
  }
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  return ctx;
}

EVP_MAC_CTX* keyed_cmac(const std::uint8_t* key) {
  EVP_MAC_CTX* ctx = cmac_pool().take();
  if (ctx != nullptr) {
    if (EVP_MAC_init(ctx, key, 16, nullptr) == 1) return ctx;
    EVP_MAC_CTX_free(ctx);
    throw_openssl("CMAC re-key");
  }
  ctx = EVP_MAC_CTX_new(cmac_algorithm());
  if (ctx == nullptr) throw_openssl("EVP_MAC_CTX_new");
  char cipher_name[] = "AES-128-CBC";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx, key, 16, params) != 1) {
    EVP_MAC_CTX_free(ctx);
    throw_openssl("CMAC init");
  }
  return ctx;
}

// Key wrap contexts per thread, kept keyed by KEK: a JS uses a handful of KEKs for millions of
// keys, and OpenSSL 3.0 sets up the wrap key schedule in software on every init.
class WrapContextCache {
 public:
  ~WrapContextCache() {
    for (auto& e : entries_) EVP_CIPHER_CTX_free(e.ctx);
  }
  EVP_CIPHER_CTX* get(ByteSpan kek, bool encrypt) {
    for (auto& e : entries_) {
      if (e.encrypt == encrypt && e.kek_size == kek.size() &&
          std::equal(kek.begin(), kek.end(), e.kek.begin())) {
        return e.ctx;
      }
    }
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex2(ctx, aes_wrap(kek.size()), kek.data(), nullptr, encrypt ? 1 : 0,
                           nullptr) != 1) {
      EVP_CIPHER_CTX_free(ctx);
      throw_openssl("key wrap init");
    }
    if (entries_.size() == kMaxEntries) {
      EVP_CIPHER_CTX_free(entries_.front().ctx);
      OPENSSL_cleanse(entries_.front().kek.data(), entries_.front().kek.size());
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
  std::vector<Entry> entries_;
};

EVP_CIPHER_CTX* keyed_wrap(ByteSpan kek, bool encrypt) {
  aes_wrap(kek.size());  // checks the KEK size
  thread_local WrapContextCache cache;
  return cache.get(kek, encrypt);
}

int to_int(std::size_t n) { return static_cast<int>(n); }

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
}

void Aes128::run(bool encrypt, ByteSpan in, std::span<std::uint8_t> out) {
  if (in.size() % 16 != 0 || out.size() < in.size()) {
    throw std::logic_error("Aes128: input must be whole 16-byte blocks and output as large");
  }
  EVP_CIPHER_CTX*& ctx = encrypt ? enc_ : dec_;
  if (ctx == nullptr) ctx = keyed_ecb(encrypt, key_.bytes().data());
  int written = 0;
  if (EVP_CipherUpdate(ctx, out.data(), &written, in.data(), to_int(in.size())) != 1 ||
      written != to_int(in.size())) {
    throw_openssl("AES-128-ECB");
  }
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

Cmac::Cmac(const Aes128Key& key) : ctx_(keyed_cmac(key.bytes().data())) {}

Cmac::Cmac(Cmac&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Cmac& Cmac::operator=(Cmac&& other) noexcept {
  if (this != &other) {
    cmac_pool().give_back(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

Cmac::~Cmac() { cmac_pool().give_back(ctx_); }

Cmac& Cmac::update(ByteSpan data) {
  if (EVP_MAC_update(ctx_, data.data(), data.size()) != 1) throw_openssl("CMAC update");
  return *this;
}

Block Cmac::finish() {
  Block out;
  std::size_t len = 0;
  if (EVP_MAC_final(ctx_, out.data(), &len, out.size()) != 1 || len != out.size()) {
    throw_openssl("CMAC final");
  }
  // Restart with the same key for the next message.
  if (EVP_MAC_init(ctx_, nullptr, 0, nullptr) != 1) throw_openssl("CMAC re-init");
  return out;
}

Mic Cmac::finish_mic() { return mic_of(finish()); }

Block aes128_encrypt(const Aes128Key& key, const Block& in) { return Aes128(key).encrypt(in); }

Block cmac(const Aes128Key& key, ByteSpan data) { return Cmac(key).update(data).finish(); }

// ---- RFC 3394 ----

Bytes aes_key_wrap(ByteSpan kek, ByteSpan key) {
  aes_wrap(kek.size());  // checks the KEK size
  if (key.size() < 16 || key.size() % 8 != 0) {
    throw Error("key wrap: the key to wrap must be a multiple of 8 bytes and at least 16, got " +
                std::to_string(key.size()) + " bytes");
  }
  EVP_CIPHER_CTX* ctx = keyed_wrap(kek, true);
  Bytes out(key.size() + 8);
  int written = 0;
  if (EVP_EncryptUpdate(ctx, out.data(), &written, key.data(), to_int(key.size())) != 1 ||
      written != to_int(out.size())) {
    throw_openssl("key wrap");
  }
  return out;
}

Bytes aes_key_unwrap(ByteSpan kek, ByteSpan wrapped) {
  aes_wrap(kek.size());  // checks the KEK size
  if (wrapped.size() < 24 || wrapped.size() % 8 != 0) {
    throw Error("key unwrap: a wrapped key is a multiple of 8 bytes and at least 24, got " +
                std::to_string(wrapped.size()) + " bytes");
  }
  EVP_CIPHER_CTX* ctx = keyed_wrap(kek, false);
  Bytes out(wrapped.size());
  int written = 0;
  if (EVP_DecryptUpdate(ctx, out.data(), &written, wrapped.data(), to_int(wrapped.size())) != 1 ||
      written != to_int(wrapped.size() - 8)) {
    ERR_clear_error();
    throw KeyUnwrapError(
        "key unwrap: the RFC 3394 integrity check failed (the KEK is not the one the key was "
        "wrapped with, or the wrapped key is corrupted)");
  }
  out.resize(static_cast<std::size_t>(written));
  return out;
}

namespace {
// RFC 4493 §2.3: the subkey doubling in GF(2^128).
Block double_block(const Block& in) {
  Block out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned next = i + 1 < in.size() ? in[i + 1] >> 7 : 0U;
    out[i] = static_cast<std::uint8_t>((in[i] << 1) | next);
  }
  if ((in[0] & 0x80U) != 0) out[15] = static_cast<std::uint8_t>(out[15] ^ 0x87U);
  return out;
}

void xor_into(Block& target, const Block& other) {
  for (std::size_t i = 0; i < target.size(); ++i) target[i] = static_cast<std::uint8_t>(target[i] ^ other[i]);
}
}  // namespace

Block cmac_with(ByteSpan message, const std::function<Block(const Block&)>& encrypt) {
  // Subkeys (RFC 4493 §2.3) from L = AES(K, 0^128).
  Block k1 = double_block(encrypt(Block{}));
  Block k2 = double_block(k1);
  const std::size_t blocks = message.empty() ? 1 : (message.size() + 15) / 16;
  const bool last_complete = !message.empty() && message.size() % 16 == 0;
  Block x{};
  for (std::size_t i = 0; i + 1 < blocks; ++i) {
    Block m{};
    std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(16 * i), 16, m.begin());
    xor_into(x, m);
    x = encrypt(x);
  }
  Block last{};
  const std::size_t tail = message.size() - 16 * (blocks - 1);
  std::copy_n(message.begin() + static_cast<std::ptrdiff_t>(16 * (blocks - 1)), tail, last.begin());
  if (last_complete) {
    xor_into(last, k1);
  } else {
    last[tail] = 0x80;  // padding 10*
    xor_into(last, k2);
  }
  k1.fill(0);
  k2.fill(0);
  xor_into(x, last);
  return encrypt(x);
}

}  // namespace joincheck::lorawan
