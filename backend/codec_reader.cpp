// The codec's Reader (codec_reader.hpp): reading a peer's JSON values leniently, each deviation
// an observation or, in strict mode, a CodecError; and the text of those observations, which
// never shows a key or more than kMaxShownBytes of a string.
#include "backend/codec_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "backend/json_duplicates.hpp"
#include "lorawan/error.hpp"

namespace joincheck::backend::codec_detail {

namespace {

// Observations of one kind beyond this many are counted into one "... N more" observation.
// Only unknown and duplicate fields can come in numbers; every other kind is bounded by the
// fields of the message.
constexpr std::size_t kMaxObservationsPerKind = 100;
// A longer observation or error path (a peer's long unknown key) is cut.
constexpr std::size_t kMaxPathBytes = 256;

std::string count_of(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// The size of a container, never its content.
std::string describe_container(const json& value) {
  if (value.is_object()) return "an object of " + count_of(value.size(), "member");
  return "an array of " + count_of(value.size(), "element");
}

// A value that may be a key: its type and length only. "a string of 32 characters".
std::string describe_key(const json& value) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    const auto characters = static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
      return (static_cast<unsigned char>(c) & 0xC0u) != 0x80u;
    }));
    return "a string of " + count_of(characters, "character");
  }
  if (value.is_structured()) return describe_container(value);
  if (value.is_null()) return "null";
  if (value.is_boolean()) return "a boolean";
  if (value.is_number()) return "a number";
  return value.type_name();
}

// Whether the field at `path` may hold a key: one of its names, at any depth, ends in "Key"
// (AppSKey, NwkSKey, FNwkSIntKey, AppKey, AESKey, ...), in any letter case ("NwkSkey").
bool is_key_path(std::string_view path) {
  while (true) {
    const auto dot = path.find('.');
    std::string_view name = path.substr(0, dot);
    name = name.substr(0, name.find('['));  // "Keys[2]" (a duplicate's path)
    if (name.size() >= 3) {
      const std::string_view end = name.substr(name.size() - 3);
      const auto lower = [](char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      };
      if (lower(end[0]) == 'k' && lower(end[1]) == 'e' && lower(end[2]) == 'y') return true;
    }
    if (dot == std::string_view::npos) return false;
    path.remove_prefix(dot + 1);
  }
}

bool has_0x_prefix(std::string_view text) {
  return lorawan::strip_hex_prefix(text).size() != text.size();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Text helpers.

std::string quote(std::string_view text) {
  if (text.size() <= kMaxShownBytes) return "\"" + lorawan::escape_control(text) + "\"";
  return "\"" + lorawan::escape_control(truncate_utf8(text, kMaxShownBytes)) + "\" (" +
         std::to_string(text.size()) + " bytes)";
}

std::string describe(const json& value) {
  if (value.is_null()) return "null";
  if (value.is_string()) return "string " + quote(value.get_ref<const std::string&>());
  if (value.is_structured()) return describe_container(value);
  if (value.is_boolean() || value.is_number()) {  // a scalar: dump() does not recurse
    return std::string(value.type_name()) + " " +
           value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return value.type_name();  // binary, discarded: not produced by parsing text
}

std::string describe(const json& value, std::string_view path) {
  return is_key_path(path) ? describe_key(value) : describe(value);
}

std::string join_path(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

std::string without_field(const char* what, std::string_view field) {
  std::string_view text = what;
  const std::string prefix = std::string(field) + ": ";
  if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  return std::string(text);
}

// ---------------------------------------------------------------------------------------------
// Reader.

void Reader::observe(Kind kind, const std::string& path, const std::string& detail,
                     std::string_view outcome) {
  // A path holds a peer's keys: cut, and its control characters escaped.
  std::string shown_path = lorawan::escape_control(truncate_utf8(path, kMaxPathBytes));
  if (mode_ == DecodeMode::strict) {
    throw CodecError(shown_path, qualified(shown_path) + ": " + detail);
  }
  if (++counts_[kind] > kMaxObservationsPerKind) return;
  std::string text = detail;
  if (!outcome.empty()) text += " (" + std::string(outcome) + ")";
  observations_.push_back(
      Observation{kind, std::move(shown_path), std::move(text), std::string(outcome)});
}

bool Reader::observed(std::string_view path) const {
  return std::any_of(observations_.begin(), observations_.end(), [&](const Observation& o) {
    return o.path == path ||
           (o.path.size() > path.size() && o.path.compare(0, path.size(), path) == 0 &&
            o.path[path.size()] == '.');
  });
}

std::vector<Observation> Reader::take() {
  for (const auto& [kind, count] : counts_) {
    if (count <= kMaxObservationsPerKind) continue;
    const std::size_t more = count - kMaxObservationsPerKind;
    observations_.push_back(
        Observation{kind, "",
                    "... " + std::to_string(more) + " more " + std::string(to_string(kind)) +
                        (more == 1 ? " observation" : " observations") + " (not listed)",
                    "not listed"});
  }
  counts_.clear();
  return std::move(observations_);
}

const json* Reader::member(const json& object, std::string_view key, const std::string& path) {
  const auto it = object.find(key);
  if (it == object.end()) return nullptr;
  if (it->is_null()) {
    observe(Kind::null_field, path, "expected a value or no field at all, got null",
            "treated as absent");
    return nullptr;
  }
  return &*it;
}

const json* Reader::required(const json& object, std::string_view key, const std::string& path,
                             std::string_view outcome) {
  if (!object.contains(key)) {
    observe(Kind::missing_field, path, "missing (mandatory)", outcome);
    return nullptr;
  }
  return member(object, key, path);
}

void Reader::unknown_fields(const json& object, std::span<const std::string_view> known,
                            const std::string& prefix, std::string_view container) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    const std::string path = join_path(prefix, key);
    observe(Kind::unknown_field, path,
            "not a field of " + std::string(container) + "; value " + describe(value, path),
            "ignored");
  }
}

std::optional<std::string> Reader::string(const json& value, const std::string& path) {
  if (value.is_string()) return value.get<std::string>();
  observe(Kind::wrong_json_type, path, "expected a JSON string, got " + describe(value, path),
          "treated as absent");
  return std::nullopt;
}

std::optional<Bytes> Reader::hex(const json& value, const std::string& path,
                                 std::optional<std::size_t> size, lorawan::Secrecy secrecy) {
  if (is_key_path(path)) secrecy = lorawan::Secrecy::secret;
  if (!value.is_string()) {
    observe(Kind::wrong_json_type, path, "expected a hex string, got " + describe(value, path),
            "treated as absent");
    return std::nullopt;
  }
  std::string_view text = value.get_ref<const std::string&>();
  if (has_0x_prefix(text)) {
    observe(Kind::hex_prefix_0x, path,
            "expected hex without a 0x prefix, got " + shown(text, secrecy), "prefix stripped");
    text.remove_prefix(2);
  }
  Bytes bytes;
  try {
    const std::string field = qualified(path);
    bytes = size ? lorawan::from_hex_exact(text, *size, field, secrecy)
                 : lorawan::from_hex(text, field, secrecy);
  } catch (const lorawan::Error& e) {
    observe(Kind::invalid_value, path, without_field(e.what(), qualified(path)),
            "treated as absent");
    return std::nullopt;
  }
  observe_letter_case(text, path, secrecy);
  return bytes;
}

void Reader::observe_id_style(std::string_view id, const std::string& path) {
  std::string_view digits = id;
  const bool prefixed = has_0x_prefix(digits);
  if (prefixed) digits.remove_prefix(2);
  const bool looks_like_id =
      (digits.size() == 2 * lorawan::NetId::kSize || digits.size() == 2 * lorawan::Eui64::kSize) &&
      lorawan::is_hex(digits);
  if (!looks_like_id) return;
  if (prefixed) {
    observe(Kind::hex_prefix_0x, path,
            "expected a NetID or JoinEUI without a 0x prefix, got " + quote(id), "kept as sent");
  }
  observe_letter_case(digits, path);
}

std::optional<std::uint64_t> Reader::unsigned_integer(const json& value, const std::string& path,
                                                      std::uint64_t max) {
  const std::string range = "an integer from 0 to " + std::to_string(max);
  if (value.is_number_unsigned()) {
    const auto n = value.get<std::uint64_t>();
    if (n <= max) return n;
  } else if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d >= 0 && d <= static_cast<double>(max) && std::floor(d) == d) {
      const auto n = static_cast<std::uint64_t>(d);
      observe(Kind::wrong_json_type, path, "expected " + range + ", got " + describe(value, path),
              "coerced to " + std::to_string(n));
      return n;
    }
  } else if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    const bool digits_only = !s.empty() && ec == std::errc() && end == s.data() + s.size();
    if (digits_only && n <= max) {
      observe(Kind::wrong_json_type, path, "expected a JSON number, got " + describe(value, path),
              "coerced to " + std::to_string(n));
      return n;
    }
    observe(Kind::wrong_json_type, path,
            "expected a JSON number (" + range + "), got " + describe(value, path),
            "treated as absent");
    return std::nullopt;
  } else if (!value.is_number()) {
    observe(Kind::wrong_json_type, path,
            "expected a JSON number (" + range + "), got " + describe(value, path),
            "treated as absent");
    return std::nullopt;
  }
  observe(Kind::invalid_value, path, "expected " + range + ", got " + describe(value, path),
          "treated as absent");
  return std::nullopt;
}

std::string Reader::shown(std::string_view text, lorawan::Secrecy secrecy) {
  return secrecy == lorawan::Secrecy::quote ? quote(text) : "(a key: value not shown)";
}

void Reader::observe_letter_case(std::string_view hex, const std::string& path,
                                 lorawan::Secrecy secrecy) {
  const bool upper =
      std::any_of(hex.begin(), hex.end(), [](char c) { return c >= 'A' && c <= 'F'; });
  const bool lower =
      std::any_of(hex.begin(), hex.end(), [](char c) { return c >= 'a' && c <= 'f'; });
  if (upper && lower) {
    observe(Kind::mixed_case_hex, path,
            "expected lower-case hex, got mixed case " + shown(hex, secrecy));
  } else if (upper) {
    observe(Kind::uppercase_hex, path,
            "expected lower-case hex, got upper case " + shown(hex, secrecy));
  }
}

}  // namespace joincheck::backend::codec_detail
