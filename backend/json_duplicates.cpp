#include "backend/json_duplicates.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace joincheck::backend {
namespace {

using json = nlohmann::json;

// Builds the DOM with nlohmann's own SAX DOM builder and, alongside, keeps the keys of every open
// object to spot a repeated one.
class DomWithDuplicates {
 public:
  explicit DomWithDuplicates(json& result) : dom_(result, true) {}
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
    frames_.push_back(Frame{true, {}, {}, 0});
    return dom_.start_object(n);
  }
  bool start_array(std::size_t n) {
    value();
    frames_.push_back(Frame{false, {}, {}, 0});
    return dom_.start_array(n);
  }
  bool end_object() { return pop(), dom_.end_object(); }
  bool end_array() { return pop(), dom_.end_array(); }
  bool key(string_t& k) {
    if (!frames_.empty()) {
      Frame& f = frames_.back();
      f.key = k;
      if (!f.keys.insert(k).second) found_.push_back(DuplicateKey{object_path(), k});
    }
    return dom_.key(k);
  }
  template <class Exception>
  bool parse_error(std::size_t position, const std::string& token, const Exception& e) {
    return dom_.parse_error(position, token, e);  // throws
  }
  std::vector<DuplicateKey> take() { return std::move(found_); }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string, std::less<>> keys;
    std::string key;       // objects: the key being read
    std::size_t elements;  // arrays: elements started so far
  };
  // A value starts: it is the next element of an enclosing array.
  void value() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().elements;
  }
  void pop() {
    if (!frames_.empty()) frames_.pop_back();
  }
  // The path of the innermost object, from its enclosing containers.
  std::string object_path() const {
    std::string p;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.is_object) {
        if (!p.empty()) p += '.';
        p += f.key;
      } else {
        p += "[" + std::to_string(f.elements - 1) + "]";
      }
    }
    return p;
  }
  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::vector<Frame> frames_;
  std::vector<DuplicateKey> found_;
};

}  // namespace

ParsedJson parse_json_with_duplicates(std::string_view json_text) {
  ParsedJson out;
  DomWithDuplicates handler(out.value);
  json::sax_parse(json_text.begin(), json_text.end(), &handler);
  out.duplicates = handler.take();
  return out;
}

}  // namespace joincheck::backend
