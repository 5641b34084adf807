#pragma once
// Keys that appear twice in one JSON object. nlohmann's DOM keeps only the last value, so a
// duplicate is invisible after parsing; a peer's message or a fleet file that repeats a key must
// still be told. One SAX pass, linear in the text (nlohmann's callback parser is quadratic in
// the length of an array of objects).
//
// The text may come from a hostile peer: nesting is capped (nlohmann's DOM is destroyed, copied
// and dumped recursively), and so are the duplicates listed and the length of their paths.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincheck::backend {

// Objects and arrays nested deeper than this are refused. TS002 messages nest 3 levels at most
// (the body, a KeyEnvelope or Result, a VSExtension's Object); fleet and scenario files a few.
inline constexpr std::size_t kMaxJsonDepth = 64;
// A message from a peer (a TS002 body, an answer POSTed to the async listener) holding more
// values than this is refused before it is read whole: a TS002 message holds a few dozen (the
// largest, a JoinAns with three KeyEnvelopes and a VSExtension, under a hundred), and a hostile
// peer's 4 MiB of `[1,1,1,...]` or of distinct keys would otherwise cost hundreds of MB of DOM.
inline constexpr std::size_t kMaxMessageValues = 10000;
// No limit on the number of values (local files: a fleet of a million devices).
inline constexpr std::size_t kUnlimitedValues = static_cast<std::size_t>(-1);
// At most this many duplicate keys are listed; the rest are counted.
inline constexpr std::size_t kMaxListedDuplicates = 100;
// An object_path longer than this (in bytes) is cut, at a UTF-8 character boundary, and ends
// in "…".
inline constexpr std::size_t kMaxDuplicatePathBytes = 256;

struct DuplicateKey {
  std::string object_path;  // the object holding the key: "" (top level), "Result", "devices[3]"
  std::string key;
  // "Result.ResultCode", "devices[3].AppKey", "MessageType".
  std::string path() const { return object_path.empty() ? key : object_path + "." + key; }
};

struct ParsedJson {
  nlohmann::json value;                  // as json::parse gives it (the last of duplicate keys)
  std::vector<DuplicateKey> duplicates;  // in text order; the first kMaxListedDuplicates
  std::size_t unlisted_duplicates = 0;   // duplicates found after those
};

// Thrown when objects and arrays nest deeper than the limit. A json::exception (id 0, which is
// none of nlohmann's), so callers that catch json::exception report it as invalid JSON; what()
// is "nesting deeper than 64 levels at byte N", without nlohmann's "[json.exception...] ".
class JsonTooDeep : public nlohmann::json::exception {
 public:
  JsonTooDeep(std::size_t limit, std::size_t at_byte);
  std::size_t max_depth;
  // 1-based offset of the bracket that opens level max_depth + 1, like parse_error::byte.
  std::size_t byte;
};

// Thrown when a text holds more values than the limit (objects, arrays, strings, numbers,
// literals; keys are not values). Like JsonTooDeep, a json::exception with id 0; what() is
// "more than 10000 values (the limit) at byte N".
class JsonTooLarge : public nlohmann::json::exception {
 public:
  JsonTooLarge(std::size_t limit, std::size_t at_byte);
  std::size_t max_values;
  // 1-based offset of the first value past the limit, like parse_error::byte.
  std::size_t byte;
};

// Parses `json_text` and finds its duplicate keys in the same pass. Throws what json::parse
// throws (nlohmann::json::parse_error, out_of_range for numbers too large), JsonTooDeep when
// objects and arrays nest deeper than `max_depth` (the body itself is level 1), and
// JsonTooLarge as soon as the text holds more than `max_values` values: the tree is never
// built past the limits.
ParsedJson parse_json_with_duplicates(std::string_view json_text,
                                      std::size_t max_depth = kMaxJsonDepth,
                                      std::size_t max_values = kUnlimitedValues);

// A peer's message read leniently, within the limits of a message (kMaxJsonDepth,
// kMaxMessageValues): nullopt when it is not JSON or exceeds them. For reading a field or two
// of a body the codec refused, or before the codec sees it (a TransactionID, a header to echo).
std::optional<nlohmann::json> parse_peer_json(std::string_view text);

// nlohmann's reason for a parse error, without its "[json.exception...] parse error at ..."
// prefix (callers say where) and without its "; last read: '...'" token, which echoes the text
// read: a body or file cut short inside a key would print part of the key.
std::string parse_error_reason(const nlohmann::json::parse_error& error);

// `text` cut to at most `max_bytes` bytes at a UTF-8 character boundary, followed by "…" when
// cut.
std::string truncate_utf8(std::string_view text, std::size_t max_bytes);


// "an object", "an array", "a string", "a number", "a boolean", "null": what a JSON value is, for
// messages that say what was seen.
std::string json_type_name(const nlohmann::json& value);

}  // namespace joincheck::backend
