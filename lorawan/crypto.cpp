#include "lorawan/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

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

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// One context per thread for key wrapping; re-initialised for every call.
EVP_CIPHER_CTX* wrap_ctx() {
  thread_local std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) throw_openssl("EVP_CIPHER_CTX_new");
  return ctx.get();
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
    EVP_CIPHER_CTX_free(enc_);
    EVP_CIPHER_CTX_free(dec_);
    key_ = other.key_;
    enc_ = std::exchange(other.enc_, nullptr);
    dec_ = std::exchange(other.dec_, nullptr);
  }
  return *this;
}

Aes128::~Aes128() {
  EVP_CIPHER_CTX_free(enc_);
  EVP_CIPHER_CTX_free(dec_);
}

void Aes128::run(bool encrypt, ByteSpan in, std::span<std::uint8_t> out) {
  if (in.size() % 16 != 0 || out.size() < in.size()) {
    throw std::logic_error("Aes128: input must be whole 16-byte blocks and output as large");
  }
  EVP_CIPHER_CTX*& ctx = encrypt ? enc_ : dec_;
  if (ctx == nullptr) {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == nullptr) throw_openssl("EVP_CIPHER_CTX_new");
    if (EVP_CipherInit_ex2(ctx, aes128_ecb(), key_.bytes().data(), nullptr, encrypt ? 1 : 0,
                           nullptr) != 1) {
      throw_openssl("AES-128-ECB init");
    }
    EVP_CIPHER_CTX_set_padding(ctx, 0);
  }
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

Cmac::Cmac(const Aes128Key& key) {
  ctx_ = EVP_MAC_CTX_new(cmac_algorithm());
  if (ctx_ == nullptr) throw_openssl("EVP_MAC_CTX_new");
  char cipher_name[] = "AES-128-CBC";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
      OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx_, key.bytes().data(), key.bytes().size(), params) != 1) {
    EVP_MAC_CTX_free(ctx_);
    throw_openssl("CMAC init");
  }
}

Cmac::Cmac(Cmac&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Cmac& Cmac::operator=(Cmac&& other) noexcept {
  if (this != &other) {
    EVP_MAC_CTX_free(ctx_);
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

Cmac::~Cmac() { EVP_MAC_CTX_free(ctx_); }

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

Mic Cmac::finish_mic() {
  const Block full = finish();
  return Mic({full[0], full[1], full[2], full[3]});
}

Block aes128_encrypt(const Aes128Key& key, const Block& in) { return Aes128(key).encrypt(in); }

Block cmac(const Aes128Key& key, ByteSpan data) { return Cmac(key).update(data).finish(); }

// ---- RFC 3394 ----

Bytes aes_key_wrap(ByteSpan kek, ByteSpan key) {
  const EVP_CIPHER* c = aes_wrap(kek.size());
  if (key.size() < 16 || key.size() % 8 != 0) {
    throw Error("key wrap: the key to wrap must be a multiple of 8 bytes and at least 16, got " +
                std::to_string(key.size()) + " bytes");
  }
  EVP_CIPHER_CTX* ctx = wrap_ctx();
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_EncryptInit_ex2(ctx, c, kek.data(), nullptr, nullptr) != 1) throw_openssl("key wrap init");
  Bytes out(key.size() + 8);
  int written = 0;
  if (EVP_EncryptUpdate(ctx, out.data(), &written, key.data(), to_int(key.size())) != 1 ||
      written != to_int(out.size())) {
    throw_openssl("key wrap");
  }
  return out;
}

Bytes aes_key_unwrap(ByteSpan kek, ByteSpan wrapped) {
  const EVP_CIPHER* c = aes_wrap(kek.size());
  if (wrapped.size() < 24 || wrapped.size() % 8 != 0) {
    throw Error("key unwrap: a wrapped key is a multiple of 8 bytes and at least 24, got " +
                std::to_string(wrapped.size()) + " bytes");
  }
  EVP_CIPHER_CTX* ctx = wrap_ctx();
  EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_DecryptInit_ex2(ctx, c, kek.data(), nullptr, nullptr) != 1) {
    throw_openssl("key unwrap init");
  }
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

}  // namespace joincheck::lorawan
