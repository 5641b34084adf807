#pragma once
// Keys that appear twice in one JSON object. nlohmann's DOM keeps only the last value, so a
// duplicate is invisible after parsing; a peer's message or a fleet file that repeats a key must
// still be told. One SAX pass, linear in the text (nlohmann's callback parser is quadratic in
// the length of an array of objects).

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace joincheck::backend {

struct DuplicateKey {
  std::string object_path;  // the object holding the key: "" (top level), "Result", "devices[3]"
  std::string key;
  // "Result.ResultCode", "devices[3].AppKey", "MessageType".
  std::string path() const { return object_path.empty() ? key : object_path + "." + key; }
};

struct ParsedJson {
  nlohmann::json value;                  // as json::parse gives it (the last of duplicate keys)
  std::vector<DuplicateKey> duplicates;  // in text order
};

// Parses `json_text` and finds its duplicate keys in the same pass. Throws what json::parse
// throws (nlohmann::json::parse_error, out_of_range for numbers too large).
ParsedJson parse_json_with_duplicates(std::string_view json_text);

}  // namespace joincheck::backend
