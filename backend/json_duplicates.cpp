#include "backend/json_duplicates.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace joincheck::backend {
namespace {

using json = nlohmann::json;

class DuplicateKeysSax : public nlohmann::json_sax<json> {
 public:
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    value();
    frames_.push_back(Frame{true, {}, {}, 0});
    return true;
  }
  bool start_array(std::size_t) override {
    value();
    frames_.push_back(Frame{false, {}, {}, 0});
    return true;
  }
  bool end_object() override { return pop(); }
  bool end_array() override { return pop(); }
  bool key(string_t& k) override {
    if (!frames_.empty()) {
      Frame& f = frames_.back();
      f.key = k;
      if (!f.keys.insert(k).second) found_.push_back(DuplicateKey{object_path(), k});
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  std::vector<DuplicateKey> take() { return std::move(found_); }

 private:
  struct Frame {
    bool is_object;
    std::set<std::string, std::less<>> keys;
    std::string key;        // objects: the key being read
    std::size_t elements;   // arrays: elements started so far
  };
  // A value starts: it is the next element of an enclosing array.
  bool value() {
    if (!frames_.empty() && !frames_.back().is_object) ++frames_.back().elements;
    return true;
  }
  bool pop() {
    if (!frames_.empty()) frames_.pop_back();
    return true;
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
  std::vector<Frame> frames_;
  std::vector<DuplicateKey> found_;
};

}  // namespace

std::vector<DuplicateKey> find_duplicate_keys(std::string_view json_text) {
  DuplicateKeysSax sax;
  try {
    json::sax_parse(json_text.begin(), json_text.end(), &sax);
  } catch (const json::exception&) {
    // Reported by the parse that follows.
  }
  return sax.take();
}

}  // namespace joincheck::backend
