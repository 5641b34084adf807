// RFC 3394 key wrap and AES-CMAC against published vectors, and against OpenSSL's own CMAC
// and AES-WRAP for every length around the block boundaries (crypto.cpp writes both modes over
// OpenSSL's AES-ECB).
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <optional>
#include <random>

#include "lorawan/crypto.hpp"

namespace joincheck::lorawan {
namespace {

Bytes hex(std::string_view s) { return from_hex(s, "test"); }

Bytes random_bytes(std::mt19937& rng, std::size_t n) {
  Bytes b(n);
  for (auto& byte : b) byte = static_cast<std::uint8_t>(rng());
  return b;
}

// OpenSSL's CMAC (EVP_MAC "CMAC" over AES-128-CBC): the reference for the mode in crypto.cpp.
Block openssl_cmac(const Aes128Key& key, ByteSpan message) {
  std::unique_ptr<EVP_MAC, decltype(&EVP_MAC_free)> mac(EVP_MAC_fetch(nullptr, "CMAC", nullptr),
                                                        &EVP_MAC_free);
  if (!mac) throw std::runtime_error("EVP_MAC_fetch(CMAC)");
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_new(mac.get()),
                                                                &EVP_MAC_CTX_free);
  char cipher_name[] = "AES-128-CBC";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, cipher_name, 0),
      OSSL_PARAM_construct_end()};
  Block out{};
  std::size_t len = 0;
  if (!ctx || EVP_MAC_init(ctx.get(), key.bytes().data(), 16, params) != 1 ||
      EVP_MAC_update(ctx.get(), message.data(), message.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) != 1 || len != out.size()) {
    throw std::runtime_error("OpenSSL CMAC");
  }
  return out;
}

// OpenSSL's RFC 3394 (the AES-128/192/256-WRAP ciphers): the reference for the key wrap in
// crypto.cpp. Unwrapping gives nullopt when OpenSSL's integrity check fails.
std::optional<Bytes> openssl_wrap(bool wrap, ByteSpan kek, ByteSpan in) {
  const char* name = kek.size() == 16 ? "AES-128-WRAP" : kek.size() == 24 ? "AES-192-WRAP" : "AES-256-WRAP";
  std::unique_ptr<EVP_CIPHER, decltype(&EVP_CIPHER_free)> cipher(EVP_CIPHER_fetch(nullptr, name, nullptr),
                                                                 &EVP_CIPHER_free);
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  if (!cipher || !ctx) throw std::runtime_error("OpenSSL key wrap setup");
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  if (EVP_CipherInit_ex2(ctx.get(), cipher.get(), kek.data(), nullptr, wrap ? 1 : 0, nullptr) != 1) {
    throw std::runtime_error("OpenSSL key wrap init");
  }
  Bytes out(in.size() + 8);
  int written = 0;
  if (EVP_CipherUpdate(ctx.get(), out.data(), &written, in.data(), static_cast<int>(in.size())) != 1) {
    return std::nullopt;
  }
  out.resize(static_cast<std::size_t>(written));
  return out;
}

// RFC 3394 §4.1-§4.6 (https://datatracker.ietf.org/doc/rfc3394), also TTN
// lorawan-stack pkg/crypto/keywrap_test.go TestKEK.
struct WrapVector {
  const char* section;
  const char* kek;
  const char* key;
  const char* wrapped;
};
const WrapVector kRfc3394[] = {
    {"4.1", "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
     "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
    {"4.2", "000102030405060708090A0B0C0D0E0F1011121314151617",
     "00112233445566778899AABBCCDDEEFF", "96778B25AE6CA435F92B5B97C050AED2468AB8A17AD84E5D"},
    {"4.3", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF", "64E8C3F9CE0F5BA263E9777905818A2A93C8191E7D6E8AE7"},
    {"4.4", "000102030405060708090A0B0C0D0E0F1011121314151617",
     "00112233445566778899AABBCCDDEEFF0001020304050607",
     "031D33264E15D33268F24EC260743EDCE1C6C7DDEE725A936BA814915C6762D2"},
    {"4.5", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF0001020304050607",
     "A8F9BC1612C68B3FF6E6F4FBE30E71E4769C8B80A32CB8958CD5D17D6B254DA1"},
    {"4.6", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
     "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
     "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
};

TEST(KeyWrap, Rfc3394VectorsWrapAndUnwrap) {
  for (const auto& v : kRfc3394) {
    SCOPED_TRACE(v.section);
    EXPECT_EQ(aes_key_wrap(hex(v.kek), hex(v.key)), hex(v.wrapped));
    EXPECT_EQ(aes_key_unwrap(hex(v.kek), hex(v.wrapped)), hex(v.key));
  }
}

// brocaar/lorawan backend/backend_test.go TestKeyEnvelope.
TEST(KeyWrap, BrocaarKeyEnvelopeVector) {
  EXPECT_EQ(to_hex(aes_key_wrap(hex("08070605040302010807060504030201"),
                                hex("01020304050607080102030405060708"))),
            "e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a");
}

// TheThingsNetwork/lorawan-stack pkg/crypto/keywrap_test.go TestKEK, its negative cases.
TEST(KeyWrap, WrongKekFailsIntegrityCheck) {
  EXPECT_THROW(aes_key_unwrap(hex("101112131415161718191A1B1C1D1E1F"),
                              hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")),
               KeyUnwrapError);
}

TEST(KeyWrap, CorruptedInputFailsIntegrityCheck) {
  auto wrapped = hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
  wrapped[10] ^= 0x01;
  EXPECT_THROW(aes_key_unwrap(hex("000102030405060708090A0B0C0D0E0F"), wrapped), KeyUnwrapError);
}

// Contexts are cached per KEK: a failed unwrap must not spoil the next one.
TEST(KeyWrap, FailedUnwrapLeavesTheKekUsable) {
  const auto kek = hex("000102030405060708090A0B0C0D0E0F");
  auto bad = hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
  bad[0] ^= 0xff;
  for (int i = 0; i < 3; ++i) {
    EXPECT_THROW(aes_key_unwrap(kek, bad), KeyUnwrapError);
    EXPECT_EQ(aes_key_unwrap(kek, hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")),
              hex("00112233445566778899AABBCCDDEEFF"));
    EXPECT_EQ(aes_key_wrap(kek, hex("00112233445566778899AABBCCDDEEFF")),
              hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"));
  }
}

// Many KEKs in turn: the per-thread cache evicts and re-creates contexts correctly.
TEST(KeyWrap, ManyKeksRoundTrip) {
  const auto key = hex("00112233445566778899AABBCCDDEEFF");
  for (int round = 0; round < 2; ++round) {
    for (std::uint8_t i = 0; i < 40; ++i) {
      Bytes kek(16, i);
      const Bytes wrapped = aes_key_wrap(kek, key);
      EXPECT_EQ(aes_key_unwrap(kek, wrapped), key);
      if (i > 0) {
        EXPECT_THROW(aes_key_unwrap(Bytes(16, static_cast<std::uint8_t>(i - 1)), wrapped),
                     KeyUnwrapError);
      }
    }
  }
}

// The RFC 3394 code against OpenSSL's AES-WRAP ciphers: every KEK size, keys of 2 to 8
// half-blocks, and unwrapping after any one bit is flipped.
TEST(KeyWrap, MatchesOpenSslForEverySize) {
  std::mt19937 rng(3394);
  for (const std::size_t kek_size : {16, 24, 32}) {
    for (std::size_t key_size = 16; key_size <= 64; key_size += 8) {
      SCOPED_TRACE(std::to_string(kek_size) + "-byte KEK, " + std::to_string(key_size) + "-byte key");
      const Bytes kek = random_bytes(rng, kek_size);
      const Bytes key = random_bytes(rng, key_size);
      const Bytes wrapped = aes_key_wrap(kek, key);
      EXPECT_EQ(std::optional<Bytes>(wrapped), openssl_wrap(true, kek, key));
      EXPECT_EQ(aes_key_unwrap(kek, wrapped), key);
      for (std::size_t bit = 0; bit < 8 * wrapped.size(); bit += 5) {
        Bytes bad = wrapped;
        bad[bit / 8] = static_cast<std::uint8_t>(bad[bit / 8] ^ (1U << (bit % 8)));
        EXPECT_THROW(aes_key_unwrap(kek, bad), KeyUnwrapError) << "bit " << bit;
        EXPECT_EQ(openssl_wrap(false, kek, bad), std::nullopt) << "bit " << bit;
      }
    }
  }
}

TEST(KeyWrap, RejectsBadSizes) {
  const auto kek = hex("000102030405060708090A0B0C0D0E0F");
  EXPECT_THROW(aes_key_wrap(kek, hex("0011223344556677")), Error);        // 8 bytes
  EXPECT_THROW(aes_key_wrap(kek, hex("00112233445566")), Error);          // 7 bytes
  EXPECT_THROW(aes_key_wrap(hex("0001020304050607"), hex("00112233445566778899AABBCCDDEEFF")),
               Error);                                                     // 8-byte KEK
  EXPECT_THROW(aes_key_unwrap(kek, hex("1FA68B0A8112B447AEF34BD8FB5A7B82")), Error);  // 16 bytes
  EXPECT_THROW(aes_key_unwrap(kek, hex("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CF")), Error);
}

// RFC 4493 §4 examples (AES-CMAC), https://datatracker.ietf.org/doc/rfc4493.
TEST(Cmac, Rfc4493Examples) {
  const auto key = Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c");
  EXPECT_EQ(to_hex(cmac(key, {})), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(to_hex(cmac(key, hex("6bc1bee22e409f96e93d7e117393172a"))),
            "070a16b46b4d4144f79bdd9dd04a287c");
  EXPECT_EQ(to_hex(cmac(key, hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                                 "30c81c46a35ce411"))),
            "dfa66747de9ae63030ca32611497c827");
}

// The CMAC mode over a caller's AES (for a secure element's key): the RFC 4493 examples, and
// OpenSSL's CMAC for every length around the block boundaries.
TEST(Cmac, OverACallersBlockCipherMatchesOpenSsl) {
  const auto key = Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c");
  std::size_t calls = 0;
  const auto aes = [&](const Block& in) {
    ++calls;
    return aes128_encrypt(key, in);
  };
  EXPECT_EQ(to_hex(cmac_with({}, aes)), "bb1d6929e95937287fa37d129b756746");
  EXPECT_EQ(to_hex(cmac_with(hex("6bc1bee22e409f96e93d7e117393172a"), aes)), "070a16b46b4d4144f79bdd9dd04a287c");
  Bytes message;
  for (std::size_t n = 0; n <= 49; ++n) {
    SCOPED_TRACE(n);
    calls = 0;
    EXPECT_EQ(cmac_with(message, aes), openssl_cmac(key, message));
    EXPECT_EQ(calls, 1 + std::max<std::size_t>(1, (n + 15) / 16));  // subkey, then one per block
    message.push_back(static_cast<std::uint8_t>(n * 7));
  }
}

// Every CMAC entry point against OpenSSL's CMAC: one-shot, a KeySchedule reused across messages
// (its subkeys computed once), and Cmac fed in two pieces split at every position.
TEST(Cmac, EveryFormMatchesOpenSsl) {
  std::mt19937 rng(4493);
  for (int k = 0; k < 4; ++k) {
    Aes128Key::Array key_bytes{};
    for (auto& b : key_bytes) b = static_cast<std::uint8_t>(rng());
    const Aes128Key key(key_bytes);
    const KeySchedule schedule(key);
    Cmac streaming(key);
    for (std::size_t n = 0; n <= 70; ++n) {
      SCOPED_TRACE(n);
      const Bytes message = random_bytes(rng, n);
      const Block expected = openssl_cmac(key, message);
      EXPECT_EQ(cmac(key, message), expected);
      EXPECT_EQ(schedule.cmac(message), expected);
      EXPECT_EQ(schedule.mic(message), mic_of(expected));
      for (std::size_t split = 0; split <= n; ++split) {
        streaming.update(ByteSpan(message).first(split)).update(ByteSpan(message).subspan(split));
        ASSERT_EQ(streaming.finish(), expected) << "split at " << split;
      }
      for (const std::uint8_t byte : message) streaming.update(byte);
      EXPECT_EQ(streaming.finish_mic(), mic_of(expected));
    }
  }
}

TEST(Cmac, ReusableAfterFinish) {
  const auto key = Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c");
  Cmac mac(key);
  const auto msg = hex("6bc1bee22e409f96e93d7e117393172a");
  const Block first = mac.update(msg).finish();
  const Block second = mac.update(ByteSpan(msg).first(8)).update(ByteSpan(msg).subspan(8)).finish();
  EXPECT_EQ(first, second);
  EXPECT_EQ(to_hex(first), "070a16b46b4d4144f79bdd9dd04a287c");
}

// A mistyped key is never echoed back in an error message.
TEST(Aes128Key, ParseErrorsDoNotQuoteTheKey) {
  try {
    Aes128Key::parse("0102030405060708090a0b0c0d0e0f1", "--app-key");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--app-key: expected 32 hex digits (16 bytes), got 31 characters"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("0102030405"), std::string::npos) << e.what();
  }
  try {
    Aes128Key::parse("0102030405060708090a0b0c0d0e0fzz", "AppKey");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at position 30"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("0102030405"), std::string::npos) << e.what();
  }
}

// KeySchedule: one key's blocks in one call give what Aes128 gives block by block, and the
// KeyRef default (one encrypt() per block, as for a key in a secure element) agrees.
TEST(KeySchedule, BlocksMatchAes128) {
  std::mt19937 rng(197);
  const auto key = Aes128Key::parse("000102030405060708090a0b0c0d0e0f");
  const KeySchedule schedule(key);
  const KeyValue value(key);
  Aes128 aes(key);
  for (std::size_t blocks = 0; blocks <= 4; ++blocks) {
    SCOPED_TRACE(blocks);
    const Bytes in = random_bytes(rng, 16 * blocks);
    Bytes expected(in.size());
    Bytes plain(in.size());
    for (std::size_t at = 0; at < in.size(); at += 16) {
      Block b{};
      std::copy_n(in.begin() + static_cast<std::ptrdiff_t>(at), 16, b.begin());
      const Block e = aes.encrypt(b);
      const Block d = aes.decrypt(b);
      std::copy(e.begin(), e.end(), expected.begin() + static_cast<std::ptrdiff_t>(at));
      std::copy(d.begin(), d.end(), plain.begin() + static_cast<std::ptrdiff_t>(at));
    }
    Bytes out(in.size());
    schedule.encrypt_blocks(in, out);
    EXPECT_EQ(out, expected);
    Bytes in_place = in;
    value.encrypt_blocks(in_place, in_place);  // the KeyRef default
    EXPECT_EQ(in_place, expected);
    schedule.decrypt_blocks(in, out);
    EXPECT_EQ(out, plain);
  }
  EXPECT_EQ(to_hex(schedule.encrypt(Block{0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                            0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff})),
            "69c4e0d86a7b0430d8cdb78070b4c55a");  // FIPS-197 Appendix C.1
  Bytes odd(17);
  EXPECT_THROW(schedule.encrypt_blocks(odd, odd), std::logic_error);
}

// FIPS-197 Appendix C.1 (AES-128).
TEST(Aes128, Fips197Vector) {
  Aes128 aes(Aes128Key::parse("000102030405060708090a0b0c0d0e0f"));
  Block in{};
  const auto plain = hex("00112233445566778899aabbccddeeff");
  std::copy(plain.begin(), plain.end(), in.begin());
  const Block out = aes.encrypt(in);
  EXPECT_EQ(to_hex(out), "69c4e0d86a7b0430d8cdb78070b4c55a");
  EXPECT_EQ(aes.decrypt(out), in);
}

}  // namespace
}  // namespace joincheck::lorawan
