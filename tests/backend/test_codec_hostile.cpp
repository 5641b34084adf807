// Decoding answers from a hostile or broken Join Server: bodies nested deep enough to overflow a
// recursive reader, bodies that make a naive duplicate-key finder quadratic, floods of
// observations, and keys sent in shapes the codec does not expect, which must never be printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "backend/codec.hpp"
#include "backend/json_duplicates.hpp"
#include "codec_test_support.hpp"

namespace joincheck::backend {
namespace {

using test::codec_error;
using test::find;
using Kind = ObservationKind;

// The header of an answer, open for more fields: append ",...}" or "}".
constexpr std::string_view kJoinAnsHead =
    R"({"ProtocolVersion":"1.0","SenderID":"0807060504030201","ReceiverID":"010203",)"
    R"("TransactionID":1,"MessageType":"JoinAns","Result":{"ResultCode":"MICFailed"})";

std::string join_ans(std::string_view more_fields) {
  return std::string(kJoinAnsHead) + (more_fields.empty() ? "" : ",") + std::string(more_fields) +
         "}";
}

std::string repeated(std::string_view text, std::size_t n) {
  std::string out;
  out.reserve(text.size() * n);
  for (std::size_t i = 0; i < n; ++i) out += text;
  return out;
}

// ---- Nesting --------------------------------------------------------------------------------

// The reviewer's body: an unknown field holding 300k nested arrays (~600 KB). nlohmann's dump()
// of it overflowed the stack.
TEST(HostileNesting, DeeplyNestedArraysInAnUnknownFieldAreAnErrorNotACrash) {
  const std::size_t levels = 300'000;
  const std::string head = std::string(kJoinAnsHead) + R"(,"Foo":)";
  const std::string body = head + std::string(levels, '[') + std::string(levels, ']') + "}";
  ASSERT_GT(body.size(), 600'000u);
  // The body is level 1 and Foo's first '[' level 2, so its 64th '[' opens level 65.
  const std::string expected =
      "body: nesting deeper than 64 levels at byte " + std::to_string(head.size() + 64);
  for (DecodeMode mode : {DecodeMode::observing, DecodeMode::strict}) {
    try {
      (void)decode(body, mode);
      ADD_FAILURE() << "expected a CodecError";
    } catch (const CodecError& e) {
      EXPECT_EQ(std::string(e.what()), expected);
      EXPECT_EQ(e.path(), "");
    }
  }
}

TEST(HostileNesting, DeeplyNestedObjectsAreAnError) {
  const std::size_t levels = 100'000;
  const std::string body =
      join_ans(R"("VSExtension":)" + repeated(R"({"a":)", levels) + "1" + std::string(levels, '}'));
  EXPECT_EQ(codec_error(body, DecodeMode::observing)
                .rfind("body: nesting deeper than 64 levels at byte ", 0),
            0u);
}

// Brackets inside strings (with escaped quotes) do not count towards the depth or its position.
TEST(HostileNesting, TheByteOfTheErrorSkipsBracketsInStrings) {
  const std::string head = std::string(kJoinAnsHead) + R"(,"Note":"[[{{\"[[","Foo":)";
  const std::string body = head + std::string(200, '[') + std::string(200, ']') + "}";
  EXPECT_EQ(codec_error(body, DecodeMode::observing),
            "body: nesting deeper than 64 levels at byte " + std::to_string(head.size() + 64));
}

// 64 levels are allowed: a VSExtension nesting 63 levels under the body decodes, observing and
// strict, and encodes again.
TEST(HostileNesting, SixtyFourLevelsAreAllowed) {
  const std::string deep = std::string(62, '[') + std::string(62, ']');
  const std::string body = join_ans(R"("VSExtension":{"VendorID":"x","Object":)" + deep + "}");
  for (DecodeMode mode : {DecodeMode::observing, DecodeMode::strict}) {
    const Decoded d = decode(body, mode);
    EXPECT_TRUE(d.observations.empty()) << test::describe(d.observations);
    EXPECT_NE(encode(d.message).find(deep), std::string::npos);
  }
  // One more level is refused.
  const std::string deeper = std::string(63, '[') + std::string(63, ']');
  const std::string too_deep =
      join_ans(R"("VSExtension":{"VendorID":"x","Object":)" + deeper + "}");
  EXPECT_EQ(codec_error(too_deep, DecodeMode::observing)
                .rfind("body: nesting deeper than 64 levels at byte ", 0),
            0u);
}

TEST(HostileNesting, ParseJsonWithDuplicatesThrowsAJsonException) {
  const std::string text = std::string(65, '[') + std::string(65, ']');
  try {
    (void)parse_json_with_duplicates(text);
    ADD_FAILURE() << "expected JsonTooDeep";
  } catch (const JsonTooDeep& e) {
    EXPECT_EQ(e.max_depth, kMaxJsonDepth);
    EXPECT_EQ(e.byte, 65u);
    EXPECT_EQ(std::string(e.what()), "nesting deeper than 64 levels at byte 65");
  }
  // Fleet and scenario files catch nlohmann::json::exception for errors other than parse_error.
  EXPECT_THROW((void)parse_json_with_duplicates(text), nlohmann::json::exception);
  EXPECT_NO_THROW((void)parse_json_with_duplicates(std::string(64, '[') + std::string(64, ']')));
  // A caller may choose its own limit.
  EXPECT_THROW((void)parse_json_with_duplicates(R"({"a":{"b":[]}})", 2), JsonTooDeep);
  EXPECT_NO_THROW((void)parse_json_with_duplicates(R"({"a":{"b":1}})", 2));
}

// ---- Size -----------------------------------------------------------------------------------

// Bodies a hostile JS kept under the 4 MiB body limit; each built a DOM of hundreds of MB before
// the codec looked at it. Now the parse stops at kMaxMessageValues values.
TEST(HostileSize, ABodyOfMoreValuesThanAMessageHoldsIsRefusedAtTheLimit) {
  const std::vector<std::pair<std::string, std::string>> bodies = {
      {"2M-element array", join_ans(R"("X":[)" + repeated("1,", 2'000'000) + "1]")},
      {"330k distinct keys", [] {
         std::string keys;
         for (int i = 0; i < 330'000; ++i) keys += "\"k" + std::to_string(i) + "\":0,";
         return join_ans(R"("X":{)" + keys + R"("end":0})");
       }()},
      {"650k duplicate keys", join_ans(R"("X":{)" + repeated(R"("a":0,)", 650'000) + R"("a":0})")},
  };
  for (const auto& [name, body] : bodies) {
    ASSERT_LT(body.size(), 4u << 20) << name;
    for (const DecodeMode mode : {DecodeMode::strict, DecodeMode::observing}) {
      const std::string error = codec_error(body, mode);
      EXPECT_EQ(error.rfind("body: more than 10000 JSON values (a TS002 message holds a few dozen); "
                            "refused at byte ",
                            0),
                0u)
          << name << ": " << error;
    }
  }
}

TEST(HostileSize, TheLimitCountsValuesNotKeysAndSaysWhereItWasPassed) {
  // [1,2,3] holds four values: the array and its three numbers.
  EXPECT_NO_THROW((void)parse_json_with_duplicates("[1,2,3]", kMaxJsonDepth, 4));
  try {
    (void)parse_json_with_duplicates("[1,2,3]", kMaxJsonDepth, 3);
    ADD_FAILURE() << "expected JsonTooLarge";
  } catch (const JsonTooLarge& e) {
    EXPECT_EQ(e.max_values, 3u);
    EXPECT_EQ(e.byte, 6u);  // the 3
    EXPECT_EQ(std::string(e.what()), "more than 3 values (the limit) at byte 6");
  }
  // Keys are not values; strings holding brackets, quotes and colons are one value each.
  const std::string text = R"({"a:[": "x\"]:", "b" : [true, null, -1.5e3, {}]})";
  EXPECT_NO_THROW((void)parse_json_with_duplicates(text, kMaxJsonDepth, 7));
  try {
    (void)parse_json_with_duplicates(text, kMaxJsonDepth, 6);
    ADD_FAILURE() << "expected JsonTooLarge";
  } catch (const JsonTooLarge& e) {
    EXPECT_EQ(e.byte, text.find("{}") + 1);
  }
  // Fleet and scenario files catch nlohmann::json::exception for errors other than parse_error.
  EXPECT_THROW((void)parse_json_with_duplicates("[1,2]", kMaxJsonDepth, 2), nlohmann::json::exception);
  // A UTF-8 byte order mark, which the parser skips, is counted in the byte.
  try {
    (void)parse_json_with_duplicates("\xEF\xBB\xBF[1,2,3]", kMaxJsonDepth, 3);
    ADD_FAILURE() << "expected JsonTooLarge";
  } catch (const JsonTooLarge& e) {
    EXPECT_EQ(e.byte, 9u);
  }
}

// A peer's NUL in a quoted value cut the error short wherever what() is read as a C string.
TEST(HostileText, ControlCharactersInQuotedValuesAndPathsAreEscaped) {
  const std::string body = std::string(kJoinAnsHead).replace(
      std::string(kJoinAnsHead).find("\"JoinAns\""), 9, "\"Join\\u0000Ans\"") + "}";
  const std::string error = codec_error(body, DecodeMode::strict);
  EXPECT_NE(error.find(R"("Join\x00Ans")"), std::string::npos) << error;
  EXPECT_EQ(std::string(CodecError("", error).what()), error);
  // An unknown key holding a newline: the observation's path is one line.
  const Decoded d = decode(join_ans(R"("a\nb":1)"), DecodeMode::observing);
  const auto unknown = find(d.observations, Kind::unknown_field, R"(a\nb)");
  EXPECT_EQ(unknown.size(), 1u) << test::describe(d.observations);
}

TEST(HostileSize, AMessageWithinTheLimitDecodes) {
  // A JoinAns with a VSExtension of a thousand values is far below the limit.
  const std::string body = join_ans(R"("VSExtension":{"VendorID":"x","Object":[)" +
                                    repeated("1,", 999) + "1]}");
  EXPECT_NO_THROW((void)decode(body, DecodeMode::observing));
}

TEST(HostileSize, ParsePeerJsonReadsWithinTheLimitsOfAMessage) {
  const auto ok = parse_peer_json(R"({"TransactionID":7})");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*ok)["TransactionID"], 7);
  EXPECT_FALSE(parse_peer_json("{").has_value());
  EXPECT_FALSE(parse_peer_json("[" + repeated("1,", kMaxMessageValues) + "1]").has_value());
  EXPECT_FALSE(parse_peer_json(std::string(65, '[') + std::string(65, ']')).has_value());
}

// ---- Duplicate keys -------------------------------------------------------------------------

// The reviewer's body: {"a":1,"a":{...}} 20k levels deep (~220 KB) took 31 s and 2.2 GB, each
// duplicate copying the path of all its enclosing objects.
TEST(HostileDuplicates, NestedDuplicatesAreRefusedByDepthQuickly) {
  const std::size_t levels = 20'000;
  const std::string body =
      join_ans(R"("Foo":)" + repeated(R"({"a":1,"a":)", levels) + "1" + std::string(levels, '}'));
  ASSERT_GT(body.size(), 200'000u);
  EXPECT_EQ(codec_error(body, DecodeMode::observing)
                .rfind("body: nesting deeper than 64 levels at byte ", 0),
            0u);
}

// Within the depth limit, long keys on the way down and many duplicates at the bottom: each
// duplicate's path would be 60 KB. At most 100 are listed, with paths cut to 256 bytes.
TEST(HostileDuplicates, ManyDuplicatesUnderLongPathsAreCappedAndCut) {
  const std::string long_key(1000, 'k');
  const std::size_t levels = 60;
  const std::size_t duplicates = 50'000;
  std::string foo = repeated(R"({")" + long_key + R"(":)", levels) + "{" +
                    repeated(R"("a":1,)", duplicates) + R"("a":1})" + std::string(levels, '}');
  ASSERT_GT(foo.size(), 300'000u);

  const ParsedJson parsed = parse_json_with_duplicates(foo);
  ASSERT_EQ(parsed.duplicates.size(), kMaxListedDuplicates);
  EXPECT_EQ(parsed.unlisted_duplicates, duplicates - kMaxListedDuplicates);
  const std::string cut = repeated(long_key + ".", levels).substr(0, kMaxDuplicatePathBytes);
  EXPECT_EQ(parsed.duplicates.front().object_path, cut + "\u2026");
  EXPECT_EQ(parsed.duplicates.front().key, "a");

  // Through the codec, within a message's value limit (kMaxMessageValues): 5,000 duplicates.
  const std::size_t in_message = 5'000;
  foo = repeated(R"({")" + long_key + R"(":)", levels) + "{" + repeated(R"("a":1,)", in_message) +
        R"("a":1})" + std::string(levels, '}');
  const Decoded d = decode(join_ans(R"("Foo":)" + foo), DecodeMode::observing);
  std::size_t listed = 0;
  for (const Observation& o : d.observations) {
    if (o.kind == Kind::duplicate_field && !o.path.empty()) {
      ++listed;
      EXPECT_LE(o.path.size(), kMaxDuplicatePathBytes + 5) << o.path.substr(0, 80);
    }
  }
  EXPECT_EQ(listed, 100u);
  const auto more = find(d.observations, Kind::duplicate_field, "");
  ASSERT_EQ(more.size(), 1u) << test::describe(d.observations);
  EXPECT_EQ(more[0].detail, "... 4900 more duplicate_field observations (not listed)");
  const std::string strict = codec_error(join_ans(R"("Foo":)" + foo), DecodeMode::strict);
  EXPECT_EQ(strict.rfind("JoinAns.Foo.kkkk", 0), 0u) << strict.substr(0, 80);
  EXPECT_LT(strict.size(), 400u);
}

// Paths stay right when containers close: the path is kept incrementally.
TEST(HostileDuplicates, PathsAfterClosedContainersAreRight) {
  const ParsedJson parsed = parse_json_with_duplicates(
      R"({"a":[{"b":{"c":1,"c":2}},{"d":1,"d":2},[{"e":0,"e":0}]],"f":{"g":{},"g":1},"h":1,"h":2})");
  std::vector<std::string> paths;
  for (const DuplicateKey& k : parsed.duplicates) paths.push_back(k.path());
  EXPECT_EQ(paths, (std::vector<std::string>{"a[0].b.c", "a[1].d", "a[2][0].e", "f.g", "h"}));
  EXPECT_EQ(parsed.unlisted_duplicates, 0u);
}

// ---- Floods of observations -----------------------------------------------------------------

// 5000 unknown fields give 100 observations and one "... 4900 more"; a wrong type of a known
// field after a flood of duplicates is still listed with what was seen.
TEST(HostileObservations, UnknownFieldsAreCappedPerKind) {
  std::string fields;
  for (int i = 0; i < 5000; ++i) fields += (i ? "," : "") + ("\"X" + std::to_string(i) + "\":1");
  const Decoded d = decode(join_ans(fields), DecodeMode::observing);
  std::size_t unknown = 0;
  for (const Observation& o : d.observations) unknown += o.kind == Kind::unknown_field;
  EXPECT_EQ(unknown, 101u);
  const auto more = find(d.observations, Kind::unknown_field, "");
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].detail, "... 4900 more unknown_field observations (not listed)");
  EXPECT_EQ(d.observations.back(), more[0]);
}

TEST(HostileObservations, AFloodDoesNotHideOtherKinds) {
  const std::string body =
      R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201",)"
      R"("TransactionID":1,"MessageType":"JoinReq","MACVersion":"1.0.2",)"
      R"("PHYPayload":"00010203040506070808070605040302010201cde6acb8",)"
      R"("DevEUI":"0102030405060708","DevAddr":"01020304","DLSettings":"15",)" +
      repeated(R"("RxDelay":2,)", 3000) + R"("RxDelay":"1"})";
  const Decoded d = decode(body, DecodeMode::observing);
  EXPECT_LE(d.observations.size(), 102u);
  const auto rx = find(d.observations, Kind::wrong_json_type, "RxDelay");
  ASSERT_EQ(rx.size(), 1u) << test::describe(d.observations);
  EXPECT_EQ(rx[0].detail, "expected a JSON number, got string \"1\" (coerced to 1)");
  EXPECT_EQ(std::get<JoinReq>(d.message).rx_delay, 1);
  const auto more = find(d.observations, Kind::duplicate_field, "");
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].detail, "... 2900 more duplicate_field observations (not listed)");
}

// ---- What a detail shows --------------------------------------------------------------------

TEST(HostileDetails, ContainersAreDescribedBySizeAndStringsAreCut) {
  const std::string long_text(300, 'x');
  const std::string body = join_ans(R"("Obj":{"a":{"b":[1,2]},"c":2},"Arr":[1,[2],{}],)"
                                    R"("One":[0],"Long":")" +
                                    long_text + R"(","Flag":true,"Num":1.5)");
  const Decoded d = decode(body, DecodeMode::observing);
  const auto detail = [&](std::string_view path) {
    const auto found = find(d.observations, Kind::unknown_field, path);
    return found.size() == 1 ? found[0].detail : "(not one observation)";
  };
  EXPECT_EQ(detail("Obj"), "not a field of JoinAns; value an object of 2 members (ignored)");
  EXPECT_EQ(detail("Arr"), "not a field of JoinAns; value an array of 3 elements (ignored)");
  EXPECT_EQ(detail("One"), "not a field of JoinAns; value an array of 1 element (ignored)");
  EXPECT_EQ(detail("Long"), "not a field of JoinAns; value string \"" + std::string(64, 'x') +
                                "\u2026\" (300 bytes) (ignored)");
  EXPECT_EQ(detail("Flag"), "not a field of JoinAns; value boolean true (ignored)");
  EXPECT_EQ(detail("Num"), "not a field of JoinAns; value number 1.5 (ignored)");
}

TEST(HostileDetails, AStringIsNotCutInsideACharacter) {
  const std::string text = "a" + repeated("\u00e9", 100);  // 'a' then 2-byte characters
  const Decoded d = decode(join_ans(R"("Note":")" + text + "\""), DecodeMode::observing);
  const auto found = find(d.observations, Kind::unknown_field, "Note");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].detail.find("\"a" + repeated("\u00e9", 31) + "\u2026\" (201 bytes)"),
            std::string::npos)
      << found[0].detail;
}

TEST(HostileDetails, ALongUnknownKeyIsCutInThePath) {
  const std::string key(10'000, 'q');
  const Decoded d = decode(join_ans("\"" + key + "\":1"), DecodeMode::observing);
  ASSERT_EQ(d.observations.size(), 1u);
  EXPECT_EQ(d.observations[0].path, std::string(256, 'q') + "\u2026");
  EXPECT_LT(codec_error(join_ans("\"" + key + "\":1"), DecodeMode::strict).size(), 400u);
}

// ---- Keys are never shown -------------------------------------------------------------------

constexpr std::string_view kKey = "2b7e151628aed2a6abf7158809cf4f3c";
// The key as Gson writes a byte[]: signed numbers.
constexpr std::string_view kKeyAsGsonBytes =
    "[43,126,21,22,40,-82,-46,-90,-85,-9,21,-120,9,-49,79,60]";

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Whether `text` shows any 8 consecutive hex digits of the key, in either case, or the Gson
// numbers.
bool shows_key(const std::string& text) {
  const std::string t = lower(text);
  for (std::size_t i = 0; i + 8 <= kKey.size(); i += 4) {
    if (t.find(kKey.substr(i, 8)) != std::string::npos) return true;
  }
  return t.find("43,126") != std::string::npos || t.find("-82,-46") != std::string::npos;
}

struct KeyShape {
  const char* name;
  std::string fields;  // appended to kJoinAnsHead
};

std::vector<KeyShape> key_shapes() {
  const std::string k(kKey);
  std::string upper = k;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const std::string gson(kKeyAsGsonBytes);
  return {
      {"bare string for a KeyEnvelope", R"("AppSKey":")" + k + "\""},
      {"bare string, 1.1 key", R"("FNwkSIntKey":")" + k + "\""},
      {"misspelled envelope (unknown field)", R"("NwkSkey":{"KEKLabel":"","AESKey":")" + k + "\"}"},
      {"misspelled name, bare string", R"("NwkSkey":")" + k + "\""},
      {"root key as an unknown field", R"("AppKey":")" + k + "\""},
      {"NwkKey in lower case", R"("nwkkey":")" + k + "\""},
      {"AESKey at the top level", R"("AESKey":")" + k + "\""},
      {"key inside an unknown object", R"("Foo":{"AppSKey":")" + k + R"("})"},
      {"Gson byte array", R"("AppSKey":{"KEKLabel":"","AESKey":)" + gson + "}"},
      {"Gson byte array, bare", R"("NwkSEncKey":)" + gson},
      {"AESKey as an object", R"("AppSKey":{"KEKLabel":"","AESKey":{"hex":")" + k + "\"}}"},
      {"unknown field in an envelope", R"("AppSKey":{"AESKey":")" + k + R"(","Key":")" + k + "\"}"},
      {"misspelled AESKey", R"("AppSKey":{"KEKLabel":"","AesKEY":")" + k + "\"}"},
      {"0x and upper case", R"("AppSKey":{"KEKLabel":"","AESKey":"0x)" + upper + "\"}"},
      {"mixed case", R"("AppSKey":{"KEKLabel":"","AESKey":"2B7E151628aed2a6abf7158809cf4f3c"})"},
      {"odd length", R"("AppSKey":{"KEKLabel":"","AESKey":")" + k + "a\"}"},
      {"wrong length", R"("AppSKey":{"KEKLabel":"","AESKey":")" + k + "00\"}"},
      {"non-hex", R"("AppSKey":{"KEKLabel":"","AESKey":")" + k + "zz\"}"},
      {"null KEKLabel, duplicate AESKey",
       R"("AppSKey":{"KEKLabel":null,"AESKey":")" + k + R"(","AESKey":")" + k + "\"}"},
      {"wrapped key with a wrong KEKLabel type",
       R"("NwkSKey":{"KEKLabel":7,"AESKey":")" + k + "0011223344556677\"}"},
  };
}

TEST(HostileKeys, NoObservationOrErrorShowsAKey) {
  for (const KeyShape& shape : key_shapes()) {
    SCOPED_TRACE(shape.name);
    const std::string body = join_ans(shape.fields);
    ASSERT_TRUE(shows_key(body));  // the check can see the key
    const Decoded d = decode(body, DecodeMode::observing);
    EXPECT_FALSE(d.observations.empty());
    for (const Observation& o : d.observations) {
      EXPECT_FALSE(shows_key(o.detail)) << o.path << ": " << o.detail;
      EXPECT_FALSE(shows_key(o.path)) << o.path;
    }
    try {
      (void)decode(body, DecodeMode::strict);
      ADD_FAILURE() << "expected a CodecError";
    } catch (const CodecError& e) {
      EXPECT_FALSE(shows_key(e.what())) << e.what();
    }
  }
}

TEST(HostileKeys, AKeyIsDescribedByTypeAndLength) {
  const auto detail = [](const std::string& fields, Kind kind, std::string_view path) {
    const Decoded d = decode(join_ans(fields), DecodeMode::observing);
    const auto found = find(d.observations, kind, path);
    return found.size() == 1 ? found[0].detail
                             : "(not one observation)\n" + test::describe(d.observations);
  };
  const std::string k(kKey);
  EXPECT_EQ(detail(R"("AppSKey":")" + k + "\"", Kind::wrong_json_type, "AppSKey"),
            "expected a KeyEnvelope object {\"KEKLabel\": ..., \"AESKey\": ...}, got a string of "
            "32 characters (treated as absent)");
  EXPECT_EQ(detail(R"("NwkSkey":")" + k + "\"", Kind::unknown_field, "NwkSkey"),
            "not a field of JoinAns; value a string of 32 characters (ignored)");
  EXPECT_EQ(detail(R"("NwkSkey":{"AESKey":")" + k + "\"}", Kind::unknown_field, "NwkSkey"),
            "not a field of JoinAns; value an object of 1 member (ignored)");
  EXPECT_EQ(detail(R"("AppSKey":{"AESKey":)" + std::string(kKeyAsGsonBytes) + "}",
                   Kind::wrong_json_type, "AppSKey.AESKey"),
            "expected a hex string, got an array of 16 elements (treated as absent)");
  EXPECT_EQ(detail(R"("AppSKey":{"AESKey":2.5e30})", Kind::wrong_json_type, "AppSKey.AESKey"),
            "expected a hex string, got a number (treated as absent)");
  EXPECT_EQ(detail(R"("AppSKey":{"AESKey":")" + k + R"(","Key":")" + k + "\"}", Kind::unknown_field,
                   "AppSKey.Key"),
            "not a field of KeyEnvelope; value a string of 32 characters (ignored)");
}

// A body cut short inside a key: nlohmann's parse error would echo the token ("last read").
TEST(HostileKeys, AParseErrorInsideAKeyDoesNotShowIt) {
  const std::string k(kKey);
  for (const std::string& body :
       {std::string(kJoinAnsHead) + R"(,"AppSKey":{"KEKLabel":"","AESKey":")" + k,
        std::string(kJoinAnsHead) + R"(,"AppSKey":{"KEKLabel":"","AESKey":")" + k + "\n\"}}",
        std::string(kJoinAnsHead) + R"(,"AppSKey":{"KEKLabel":"","AESKey":")" + k + "\\q\"}}"}) {
    for (DecodeMode mode : {DecodeMode::observing, DecodeMode::strict}) {
      const std::string error = codec_error(body, mode);
      EXPECT_EQ(error.rfind("body: not valid JSON (at byte ", 0), 0u) << error;
      EXPECT_FALSE(shows_key(error)) << error;
    }
  }
}

// Fields that hold no key still show what was seen.
TEST(HostileKeys, OtherFieldsStillShowTheirValue) {
  const Decoded d = decode(join_ans(R"("Lifetime":"100","SessionKeyID":"0xABCD","Monk":"ey")"),
                           DecodeMode::observing);
  const auto lifetime = find(d.observations, Kind::wrong_json_type, "Lifetime");
  ASSERT_EQ(lifetime.size(), 1u) << test::describe(d.observations);
  EXPECT_EQ(lifetime[0].detail, "expected a JSON number, got string \"100\" (coerced to 100)");
  const auto prefix = find(d.observations, Kind::hex_prefix_0x, "SessionKeyID");
  ASSERT_EQ(prefix.size(), 1u) << test::describe(d.observations);
  EXPECT_NE(prefix[0].detail.find("\"0xABCD\""), std::string::npos) << prefix[0].detail;
  const auto monk = find(d.observations, Kind::unknown_field, "Monk");
  ASSERT_EQ(monk.size(), 1u);
  EXPECT_EQ(monk[0].detail, "not a field of JoinAns; value string \"ey\" (ignored)");
}

}  // namespace
}  // namespace joincheck::backend
