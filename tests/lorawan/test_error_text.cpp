// What errors and logs quote of a peer's text: on one line, no control character, never cut
// short by a NUL read as a C string.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::lorawan {
namespace {

using namespace std::string_literals;

TEST(EscapeControl, WritesControlCharactersAsEscapesAndKeepsTheRest) {
  EXPECT_EQ(escape_control("a\nb\rc\td"), R"(a\nb\rc\td)");
  EXPECT_EQ(escape_control("QUJD\0\x07\x1b[2J\x7f"s), R"(QUJD\x00\x07\x1b[2J\x7f)");
  EXPECT_EQ(escape_control("caf\xc3\xa9 \\ \""),
            "caf\xc3\xa9 \\ \"");  // UTF-8 and quotes as they are
}

TEST(QuoteForError, EscapesControlCharactersAndCutsAtACharacterBoundary) {
  EXPECT_EQ(quote_for_error("x\0y"s), R"("x\x00y")");
  // 79 ASCII bytes then a 2-byte character across the 80-byte limit: the character is not split.
  const std::string text = std::string(79, 'a') + "\xc3\xa9" + "zz";
  EXPECT_EQ(quote_for_error(text), "\"" + std::string(79, 'a') + "...\"");
}

// serve-ns logged a PUSH_DATA's data field "QUJD\u0000\u0007" cut at the NUL: the exception's
// what() is a C string.
TEST(QuoteForError, ANulInBase64TextDoesNotCutTheError) {
  try {
    (void)from_base64("QUJD\0\x07"s, "rxpk[0].data");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(
        std::string(e.what()),
        R"(rxpk[0].data: expected base64 characters, found '\x00' at position 4 in "QUJD\x00\x07")");
  }
  try {
    (void)from_hex("ab\ncd"s, "DevEUI");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(R"(found '\n' at position 2)"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace joincheck::lorawan
