// KeyEnvelope wrap/unwrap (TS002 1.0 §21, RFC 3394) against vectors published in upstream tests,
// each named below.
#include <gtest/gtest.h>

#include "backend/key_envelope.hpp"

namespace joincheck::backend {
namespace {

using lorawan::Aes128Key;
using lorawan::Bytes;

Bytes hex(std::string_view s) { return lorawan::from_hex(s, "test"); }

// Expects `f` to throw KeyEnvelopeError with `reason` and a message containing `text`.
template <class F>
void expect_envelope_error(F&& f, KeyEnvelopeError::Reason reason, const std::string& text) {
  try {
    f();
    ADD_FAILURE() << "expected KeyEnvelopeError containing: " << text;
  } catch (const KeyEnvelopeError& e) {
    EXPECT_EQ(e.reason(), reason);
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// brocaar/lorawan backend/backend_test.go TestKeyEnvelope.
TEST(KeyEnvelope, WrapMatchesBrocaarTestKeyEnvelope) {
  const auto key = Aes128Key::parse("01020304050607080102030405060708");
  const Bytes kek = hex("08070605040302010807060504030201");
  const KeyEnvelope env = KeyEnvelope::wrap(key, "test-kek", kek);
  EXPECT_EQ(env.kek_label, "test-kek");
  EXPECT_EQ(env.aes_key, hex("e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a"));
  EXPECT_EQ(env.unwrap(KekTable{{"test-kek", kek}}), key);
}

// brocaar/lorawan backend/joinserver/joinserver_test.go, "valid join-request (LoRaWAN 1.1)
// with KEK": NS KEK label "010203", KEK 16 zero bytes.
TEST(KeyEnvelope, WrapMatchesBrocaarJoinServerFNwkSIntKey) {
  const auto key = Aes128Key::parse("537f8aae896c79e015d102d06286354e");
  const Bytes kek(16, 0);
  const KeyEnvelope env = KeyEnvelope::wrap(key, "010203", kek);
  EXPECT_EQ(env.aes_key, hex("5755e6c3241ee7e6646f0ffe87787a002cf9e4b083498f00"));
  EXPECT_EQ(env.unwrap(KekTable{{"010203", kek}}), key);
}

TEST(KeyEnvelope, EmptyLabelAndKekGiveAClearKey) {
  const auto key = Aes128Key::parse("01020304050607080102030405060708");
  const KeyEnvelope env = KeyEnvelope::wrap(key, "", {});
  EXPECT_TRUE(env.is_clear());
  EXPECT_EQ(env.aes_key, hex("01020304050607080102030405060708"));
  EXPECT_EQ(env, KeyEnvelope::clear(key));
  // A clear key needs no KEK at all.
  EXPECT_EQ(env.unwrap([](std::string_view) -> std::optional<Bytes> { return std::nullopt; }), key);
}

TEST(KeyEnvelope, LabelWithoutKekIsRefusedRatherThanSentInClear) {
  const auto key = Aes128Key::parse("01020304050607080102030405060708");
  expect_envelope_error([&] { (void)KeyEnvelope::wrap(key, "ns-kek", {}); },
                        KeyEnvelopeError::Reason::label_without_kek, "KEK label \"ns-kek\"");
  expect_envelope_error(
      [&] { (void)KeyEnvelope::wrap(key, "", hex("00000000000000000000000000000000")); },
      KeyEnvelopeError::Reason::label_without_kek, "without a KEK label");
}

TEST(KeyEnvelope, UnknownLabelNamesTheLabel) {
  const KeyEnvelope env{"as:010042", hex("e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a")};
  expect_envelope_error(
      [&] {
        (void)env.unwrap(KekTable{{"test-kek", Bytes(16, 0)}});
      },
      KeyEnvelopeError::Reason::unknown_label, "KEK label \"as:010042\" is not configured");
}

TEST(KeyEnvelope, WrongKekFailsTheIntegrityCheckAndNamesTheLabel) {
  const KeyEnvelope env{"test-kek", hex("e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a")};
  expect_envelope_error(
      [&] {
        (void)env.unwrap(KekTable{{"test-kek", Bytes(16, 0)}});
      },
      KeyEnvelopeError::Reason::integrity_check_failed,
      "KEK label \"test-kek\": RFC 3394 integrity check failed");
}

TEST(KeyEnvelope, WrongSizesAreReportedWithTheSizeSeen) {
  const KeyEnvelope clear_24{"", Bytes(24, 1)};
  expect_envelope_error([&] { (void)clear_24.unwrap(KekTable{}); },
                        KeyEnvelopeError::Reason::invalid_size, "got 24 bytes");
  const KeyEnvelope wrapped_16{"test-kek", Bytes(16, 1)};
  expect_envelope_error(
      [&] {
        (void)wrapped_16.unwrap(KekTable{{"test-kek", Bytes(16, 0)}});
      },
      KeyEnvelopeError::Reason::invalid_size, "expected a 24-byte wrapped key, got 16 bytes");
}

}  // namespace
}  // namespace joincheck::backend
