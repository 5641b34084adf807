#pragma once
// Keys that appear twice in one JSON object. nlohmann's DOM keeps only the last value, so a
// duplicate is invisible after parsing; a peer's message or a fleet file that repeats a key must
// still be told. One SAX pass, linear in the text (nlohmann's callback parser is quadratic in
// the length of an array of objects).

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

// The duplicates found, in text order. Invalid JSON is not an error here: the duplicates before
// the error are returned, and the parse that follows reports the error.
std::vector<DuplicateKey> find_duplicate_keys(std::string_view json_text);

}  // namespace joincheck::backend
