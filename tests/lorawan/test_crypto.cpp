// RFC 3394 key wrap and AES-CMAC against published vectors.
#include <gtest/gtest.h>

#include "lorawan/crypto.hpp"

namespace joincheck::lorawan {
namespace {

Bytes hex(std::string_view s) { return from_hex(s, "test"); }

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
    EXPECT_EQ(cmac_with(message, aes), cmac(key, message));
    EXPECT_EQ(calls, 1 + std::max<std::size_t>(1, (n + 15) / 16));  // subkey, then one per block
    message.push_back(static_cast<std::uint8_t>(n * 7));
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
