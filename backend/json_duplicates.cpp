#include "backend/json_duplicates.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "lorawan/hex.hpp"

namespace joincheck::backend {
namespace {

using json = nlohmann::json;

// The 1-based offset of the bracket at which objects and arrays first nest `level` deep; the
// text before it is known to be valid JSON (the parser got that far), so counting brackets
// outside strings is exact.
std::size_t byte_of_level(std::string_view text, std::size_t level) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth == level) return i + 1;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return text.size();
}

// The 1-based offset at which the `n`th value (1-based) starts, keys not counted; the text before
// it is valid JSON, so a string followed by ':' is a key and everything else that starts a token
// (a bracket, a string, a digit or '-', a letter of true/false/null) starts a value.
std::size_t byte_of_value(std::string_view text, std::size_t n) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t seen = 0;
  std::size_t i = text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;  // nlohmann skips a UTF-8 BOM
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c) || c == ',' || c == ':' || c == '}' || c == ']') {
      ++i;
      continue;
    }
    const std::size_t start = i;
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      std::size_t j = i;
      while (j < text.size() && is_space(text[j])) ++j;
      if (j < text.size() && text[j] == ':') continue;  // a key
    } else if (c == '{' || c == '[') {
      ++i;
    } else {  // a number or a literal: up to the next delimiter
      while (i < text.size() && !is_space(text[i]) && text[i] != ',' && text[i] != '}' && text[i] != ']') ++i;
    }
    if (++seen == n) return start + 1;
  }
  return text.size();
}

// Builds the DOM with nlohmann's own SAX DOM builder and, alongside, keeps the keys of every open
// object to spot a repeated one. The path of the innermost open container is kept in one string,
// each container appending its segment and cutting it off again when it closes, so a duplicate's
// path costs no walk over the enclosing containers.
class DomWithDuplicates {
 public:
  DomWithDuplicates(json& result, std::string_view text, std::size_t max_depth,
                    std::size_t max_values)
      : dom_(result, true), text_(text), max_depth_(max_depth), max_values_(max_values) {}
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  bool null() { return value(), dom_.null(); }
  bool boolean(bool v) { return value(), dom_.boolean(v); }
  bool number_integer(number_integer_t v) { return value(), dom_.number_integer(v); }
  bool number_unsigned(number_unsigned_t v) { return value(), dom_.number_unsigned(v); }
  bool number_float(number_float_t v, const string_t& s) { return value(), dom_.number_float(v, s); }
  bool string(string_t& v) { return value(), dom_.string(v); }
  bool binary(binary_t& v) { return value(), dom_.binary(v); }
  bool start_object(std::size_t n) {
    value();
    push(true);
    return dom_.start_object(n);
  }
  bool start_array(std::size_t n) {
    value();
    push(false);
    return dom_.start_array(n);
  }
  bool end_object() { return pop(), dom_.end_object(); }
  bool end_array() { return pop(), dom_.end_array(); }
  bool key(string_t& k) {
    if (!frames_.empty()) {
      Frame& f = frames_.back();
      f.key = k;
      if (!f.keys.insert(k)) {
        if (found_.size() < kMaxListedDuplicates) {
          found_.push_back(DuplicateKey{truncate_utf8(path_, kMaxDuplicatePathBytes), k});
        } else {
          ++unlisted_;
        }
      }
    }
    return dom_.key(k);
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& e) {
    return dom_.parse_error(position, token, e);  // throws
  }
  std::vector<DuplicateKey> take() { return std::move(found_); }
  std::size_t unlisted() const { return unlisted_; }

 private:
  // The keys of one object. TS002 objects have a few dozen keys at most: a flat list, searched
  // in order, costs one allocation where a set costs one per key; a hostile object with many
  // keys moves to a set, so that finding a duplicate never goes quadratic.
  class KeySet {
   public:
    // False when `key` was there already.
    bool insert(const std::string& key) {
      if (!large_.empty() || flat_.size() >= kFlatKeys) {
        if (large_.empty()) large_.insert(flat_.begin(), flat_.end());
        return large_.insert(key).second;
      }
      if (std::find(flat_.begin(), flat_.end(), key) != flat_.end()) return false;
      if (flat_.empty()) flat_.reserve(16);
      flat_.push_back(key);
      return true;
    }

   private:
    static constexpr std::size_t kFlatKeys = 32;
    std::vector<std::string> flat_;
    std::set<std::string, std::less<>> large_;
  };
  struct Frame {
    bool is_object;
    KeySet keys;
    std::string key;          // objects: the key being read
    std::size_t elements;     // arrays: elements started so far
    std::size_t path_before;  // size of path_ before this container's segment
  };
  // A value starts: it is counted, and it is the next element of an enclosing array.
  void value() {
    if (++values_ > max_values_) {
      throw JsonTooLarge(max_values_, byte_of_value(text_, max_values_ + 1));
    }
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().elements;
  }
  void push(bool is_object) {
    if (frames_.size() >= max_depth_) {
      throw JsonTooDeep(max_depth_, byte_of_level(text_, max_depth_ + 1));
    }
    const std::size_t before = path_.size();
    if (!frames_.empty()) {  // the segment naming the new container in its parent
      const Frame& parent = frames_.back();
      if (parent.is_object) {
        if (!path_.empty()) path_ += '.';
        path_ += parent.key;
      } else {
        path_ += '[';
        path_ += std::to_string(parent.elements - 1);
        path_ += ']';
      }
    }
    frames_.push_back(Frame{is_object, {}, {}, 0, before});
  }
  void pop() {
    if (frames_.empty()) return;
    path_.resize(frames_.back().path_before);
    frames_.pop_back();
  }
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::string_view text_;
  std::size_t max_depth_;
  std::size_t max_values_;
  std::size_t values_ = 0;
  std::vector<Frame> frames_;
  std::string path_;  // of the innermost open container: "", "Result", "devices[3]"
  std::vector<DuplicateKey> found_;
  std::size_t unlisted_ = 0;
};

std::string too_deep_message(std::size_t max_depth, std::size_t byte) {
  return "nesting deeper than " + std::to_string(max_depth) + " levels at byte " +
         std::to_string(byte);
}

std::string too_large_message(std::size_t max_values, std::size_t byte) {
  return "more than " + std::to_string(max_values) + " values (the limit) at byte " +
         std::to_string(byte);
}

}  // namespace

JsonTooLarge::JsonTooLarge(std::size_t limit, std::size_t at_byte)
    : nlohmann::json::exception(0, too_large_message(limit, at_byte).c_str()),
      max_values(limit),
      byte(at_byte) {}

JsonTooDeep::JsonTooDeep(std::size_t limit, std::size_t at_byte)
    : nlohmann::json::exception(0, too_deep_message(limit, at_byte).c_str()),
      max_depth(limit),
      byte(at_byte) {}

std::string parse_error_reason(const nlohmann::json::parse_error& error) {
  // what() is "[json.exception.parse_error.101] parse error at line 1, column 6: <reason>".
  std::string what = error.what();
  const auto colon = what.find(": ");
  if (colon != std::string::npos) what.erase(0, colon + 2);
  const auto last = what.find("; last read: '");
  if (last != std::string::npos) {
    const auto expected = what.rfind("'; expected ");
    if (expected != std::string::npos && expected >= last) {
      what.erase(last, expected + 1 - last);
    } else {
      what.erase(last);
    }
  }
  return what;
}

std::string truncate_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  const std::size_t end = lorawan::utf8_boundary(text, max_bytes);
  return std::string(text.substr(0, end)) + "\u2026";
}

ParsedJson parse_json_with_duplicates(std::string_view json_text, std::size_t max_depth,
                                      std::size_t max_values) {
  ParsedJson out;
  DomWithDuplicates handler(out.value, json_text, max_depth, max_values);
  json::sax_parse(json_text.begin(), json_text.end(), &handler);
  out.duplicates = handler.take();
  out.unlisted_duplicates = handler.unlisted();
  return out;
}

std::optional<nlohmann::json> parse_peer_json(std::string_view text) {
  try {
    return parse_json_with_duplicates(text, kMaxJsonDepth, kMaxMessageValues).value;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string json_type_name(const nlohmann::json& v) {
  using value_t = nlohmann::json::value_t;
  switch (v.type()) {
    case value_t::null:
      return "null";
    case value_t::object:
      return "an object";
    case value_t::array:
      return "an array";
    case value_t::string:
      return "a string";
    case value_t::boolean:
      return "a boolean";
    case value_t::number_integer:
    case value_t::number_unsigned:
    case value_t::number_float:
      return "a number";
    case value_t::binary:
      return "binary data";
    case value_t::discarded:
      break;
  }
  return "nothing";
}

}  // namespace joincheck::backend
