#include "backend/json_duplicates.hpp"

#include <nlohmann/json.hpp>
#include <set>

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

// Builds the DOM with nlohmann's own SAX DOM builder and, alongside, keeps the keys of every open
// object to spot a repeated one. The path of the innermost open container is kept in one string,
// each container appending its segment and cutting it off again when it closes, so a duplicate's
// path costs no walk over the enclosing containers.
class DomWithDuplicates {
 public:
  DomWithDuplicates(json& result, std::string_view text, std::size_t max_depth)
      : dom_(result, true), text_(text), max_depth_(max_depth) {}
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
      if (!f.keys.insert(k).second) {
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
  struct Frame {
    bool is_object;
    std::set<std::string, std::less<>> keys;
    std::string key;          // objects: the key being read
    std::size_t elements;     // arrays: elements started so far
    std::size_t path_before;  // size of path_ before this container's segment
  };
  // A value starts: it is the next element of an enclosing array.
  void value() {
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
  std::vector<Frame> frames_;
  std::string path_;  // of the innermost open container: "", "Result", "devices[3]"
  std::vector<DuplicateKey> found_;
  std::size_t unlisted_ = 0;
};

std::string too_deep_message(std::size_t max_depth, std::size_t byte) {
  return "nesting deeper than " + std::to_string(max_depth) + " levels at byte " +
         std::to_string(byte);
}

}  // namespace

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
  std::size_t end = max_bytes;
  // Back off over continuation bytes (10xxxxxx) to the start of a character.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0u) == 0x80u) --end;
  return std::string(text.substr(0, end)) + "\u2026";
}

ParsedJson parse_json_with_duplicates(std::string_view json_text, std::size_t max_depth) {
  ParsedJson out;
  DomWithDuplicates handler(out.value, json_text, max_depth);
  json::sax_parse(json_text.begin(), json_text.end(), &handler);
  out.duplicates = handler.take();
  out.unlisted_duplicates = handler.unlisted();
  return out;
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
