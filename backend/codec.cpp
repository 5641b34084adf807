#include "backend/codec.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <tuple>
#include <type_traits>

#include "backend/json_duplicates.hpp"
#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::backend {
namespace {

using lorawan::Bytes;
using nlohmann::json;
using nlohmann::ordered_json;
using Kind = ObservationKind;

// ---------------------------------------------------------------------------------------------
// JSON names (TS002 1.0 Tables 14 and 16; NSIDs from TS002 1.1).

namespace name {
constexpr std::string_view kProtocolVersion = "ProtocolVersion";
constexpr std::string_view kSenderId = "SenderID";
constexpr std::string_view kReceiverId = "ReceiverID";
constexpr std::string_view kTransactionId = "TransactionID";
constexpr std::string_view kMessageType = "MessageType";
constexpr std::string_view kSenderToken = "SenderToken";
constexpr std::string_view kReceiverToken = "ReceiverToken";
constexpr std::string_view kSenderNsId = "SenderNSID";
constexpr std::string_view kReceiverNsId = "ReceiverNSID";
constexpr std::string_view kHnsId = "HNSID";
constexpr std::string_view kVsExtension = "VSExtension";
constexpr std::string_view kMacVersion = "MACVersion";
constexpr std::string_view kPhyPayload = "PHYPayload";
constexpr std::string_view kDevEui = "DevEUI";
constexpr std::string_view kDevAddr = "DevAddr";
constexpr std::string_view kDlSettings = "DLSettings";
constexpr std::string_view kRxDelay = "RxDelay";
constexpr std::string_view kCfList = "CFList";
constexpr std::string_view kResult = "Result";
constexpr std::string_view kResultCode = "ResultCode";
constexpr std::string_view kDescription = "Description";
constexpr std::string_view kLifetime = "Lifetime";
constexpr std::string_view kNwkSKey = "NwkSKey";
constexpr std::string_view kSNwkSIntKey = "SNwkSIntKey";
constexpr std::string_view kFNwkSIntKey = "FNwkSIntKey";
constexpr std::string_view kNwkSEncKey = "NwkSEncKey";
constexpr std::string_view kAppSKey = "AppSKey";
constexpr std::string_view kSessionKeyId = "SessionKeyID";
constexpr std::string_view kHNetId = "HNetID";
constexpr std::string_view kKekLabel = "KEKLabel";
constexpr std::string_view kAesKey = "AESKey";
}  // namespace name

// ---------------------------------------------------------------------------------------------
// Text helpers for details and errors. The body may come from a hostile peer: a detail shows at
// most kMaxShownBytes of a string, never dumps an object or array (nlohmann's dump() recurses),
// and never shows the value of a key (see is_key_path).

constexpr std::size_t kMaxShownBytes = 64;
// Observations of one kind beyond this many are counted into one "... N more" observation.
// Only unknown and duplicate fields can come in numbers; every other kind is bounded by the
// fields of the message.
constexpr std::size_t kMaxObservationsPerKind = 100;
// A longer observation or error path (a peer's long unknown key) is cut.
constexpr std::size_t kMaxPathBytes = 256;

// "\"abc\"", or for a long text "\"abcdef…\" (300 bytes)". Control characters are escaped
// (lorawan::escape_control): a peer's NUL would cut a CodecError's what() short, its newline
// would forge a log line.
std::string quote(std::string_view text) {
  if (text.size() <= kMaxShownBytes) return "\"" + lorawan::escape_control(text) + "\"";
  return "\"" + lorawan::escape_control(truncate_utf8(text, kMaxShownBytes)) + "\" (" +
         std::to_string(text.size()) + " bytes)";
}

std::string count_of(std::size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// The size of a container, never its content.
std::string describe_container(const json& value) {
  if (value.is_object()) return "an object of " + count_of(value.size(), "member");
  return "an array of " + count_of(value.size(), "element");
}

// "string \"1\"", "number 4294967296", "an array of 2 elements": a JSON value as seen, for a
// detail.
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

// describe(), or describe_key() for a field that may hold a key.
std::string describe(const json& value, std::string_view path) {
  return is_key_path(path) ? describe_key(value) : describe(value);
}

std::string join_path(std::string_view prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : std::string(prefix) + "." + std::string(key);
}

// lorawan errors start with the field name given to them; the detail of an observation does not.
std::string without_field(const char* what, std::string_view field) {
  std::string_view text = what;
  const std::string prefix = std::string(field) + ": ";
  if (text.substr(0, prefix.size()) == prefix) text.remove_prefix(prefix.size());
  return std::string(text);
}

bool has_0x_prefix(std::string_view text) { return lorawan::strip_hex_prefix(text).size() != text.size(); }

// ---------------------------------------------------------------------------------------------
// Reader: lenient reading of JSON values, recording each deviation as an observation; in
// strict mode the first deviation throws instead.

class Reader {
 public:
  Reader(DecodeMode mode, MessageType type) : mode_(mode), message_(to_string(type)) {}

  // `outcome` says what observing mode did about it ("treated as absent", "coerced to 1"); a
  // strict error leaves it out, since strict mode does nothing about it but fail.
  // Beyond kMaxObservationsPerKind of one kind, an observation is only counted (see take()).
  void observe(Kind kind, const std::string& path, const std::string& detail,
               std::string_view outcome = {}) {
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

  // `n` observations of `kind` that were counted but not listed elsewhere (the duplicate keys
  // past those the parser lists).
  void count_unlisted(Kind kind, std::size_t n) { counts_[kind] += n; }

  // Whether an observation names `path` or a field inside it.
  bool observed(std::string_view path) const {
    return std::any_of(observations_.begin(), observations_.end(), [&](const Observation& o) {
      return o.path == path ||
             (o.path.size() > path.size() && o.path.compare(0, path.size(), path) == 0 &&
              o.path[path.size()] == '.');
    });
  }

  // "JoinReq.DevEUI"
  std::string qualified(std::string_view path) const { return message_ + "." + std::string(path); }
  const std::string& message_name() const { return message_; }
  // The observations, and after them one "... N more" observation (path "") for each kind
  // that had more than kMaxObservationsPerKind.
  std::vector<Observation> take() {
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

  // The value of `key` in `object`; nullptr when absent, or when null (recorded).
  const json* member(const json& object, std::string_view key, const std::string& path) {
    const auto it = object.find(key);
    if (it == object.end()) return nullptr;
    if (it->is_null()) {
      observe(Kind::null_field, path, "expected a value or no field at all, got null",
              "treated as absent");
      return nullptr;
    }
    return &*it;
  }

  // Like member(), and records a missing mandatory field.
  const json* required(const json& object, std::string_view key, const std::string& path,
                       std::string_view outcome) {
    if (!object.contains(key)) {
      observe(Kind::missing_field, path, "missing (mandatory)", outcome);
      return nullptr;
    }
    return member(object, key, path);
  }

  void unknown_fields(const json& object, std::span<const std::string_view> known,
                      const std::string& prefix, std::string_view container) {
    for (const auto& [key, value] : object.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      const std::string path = join_path(prefix, key);
      observe(Kind::unknown_field, path,
              "not a field of " + std::string(container) + "; value " + describe(value, path),
              "ignored");
    }
  }

  std::optional<std::string> string(const json& value, const std::string& path) {
    if (value.is_string()) return value.get<std::string>();
    observe(Kind::wrong_json_type, path, "expected a JSON string, got " + describe(value, path),
            "treated as absent");
    return std::nullopt;
  }

  // Hex of any length, or of exactly `size` bytes. Accepts a 0x prefix and either case, and
  // records both.
  // A key (`secret`) is never quoted in an observation or error.
  std::optional<Bytes> hex(const json& value, const std::string& path,
                           std::optional<std::size_t> size = {},
                           lorawan::Secrecy secrecy = lorawan::Secrecy::quote) {
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

  // SenderID and ReceiverID are kept as sent, but one that is hex of NetID or EUI length is
  // checked for the same letter case and prefix as hex fields. Other strings are AS-IDs.
  void observe_id_style(std::string_view id, const std::string& path) {
    std::string_view digits = id;
    const bool prefixed = has_0x_prefix(digits);
    if (prefixed) digits.remove_prefix(2);
    const bool looks_like_id = (digits.size() == 2 * lorawan::NetId::kSize ||
                                digits.size() == 2 * lorawan::Eui64::kSize) &&
                               lorawan::is_hex(digits);
    if (!looks_like_id) return;
    if (prefixed) {
      observe(Kind::hex_prefix_0x, path,
              "expected a NetID or JoinEUI without a 0x prefix, got " + quote(id), "kept as sent");
    }
    observe_letter_case(digits, path);
  }

  // An unsigned integer up to `max`. A string of digits, or an integral number written as a
  // float, is coerced and recorded.
  std::optional<std::uint64_t> unsigned_integer(const json& value, const std::string& path,
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

 private:
  static std::string shown(std::string_view text, lorawan::Secrecy secrecy) {
    return secrecy == lorawan::Secrecy::quote ? quote(text) : "(a key: value not shown)";
  }

  void observe_letter_case(std::string_view hex, const std::string& path,
                           lorawan::Secrecy secrecy = lorawan::Secrecy::quote) {
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

  DecodeMode mode_;
  std::string message_;
  std::vector<Observation> observations_;
  std::map<Kind, std::size_t> counts_;  // observations of each kind, listed or not
};

// ---------------------------------------------------------------------------------------------
// Value codecs: how one field value is written and read. Each has
//   ordered_json encode(const V&, const EncodeOptions&) const;
//   std::optional<V> decode(Reader&, const json& value, const std::string& path) const;
// `value` is never null (Reader::member handles null).

struct HexCodec {  // hex of any length: PHYPayload, SessionKeyID, tokens
  ordered_json encode(const Bytes& b, const EncodeOptions& o) const {
    return lorawan::to_hex(b, o.hex_case);
  }
  std::optional<Bytes> decode(Reader& r, const json& v, const std::string& path) const {
    return r.hex(v, path);
  }
};

template <class T>  // lorawan::FixedBytes: EUIs, DevAddr, NetID, CFList
struct FixedHexCodec {
  ordered_json encode(const T& t, const EncodeOptions& o) const { return t.hex(o.hex_case); }
  std::optional<T> decode(Reader& r, const json& v, const std::string& path) const {
    const std::optional<Bytes> b = r.hex(v, path, T::kSize);
    if (!b) return std::nullopt;
    typename T::Array a{};
    std::copy(b->begin(), b->end(), a.begin());
    return T(a);
  }
};

struct ByteHexCodec {  // one byte as two hex digits: DLSettings
  ordered_json encode(std::uint8_t b, const EncodeOptions& o) const {
    return lorawan::to_hex(lorawan::ByteSpan(&b, 1), o.hex_case);
  }
  std::optional<std::uint8_t> decode(Reader& r, const json& v, const std::string& path) const {
    const std::optional<Bytes> b = r.hex(v, path, 1);
    if (!b) return std::nullopt;
    return (*b)[0];
  }
};

template <class N>  // an unsigned JSON number: RxDelay, Lifetime
struct NumberCodec {
  ordered_json encode(N n, const EncodeOptions&) const { return n; }
  std::optional<N> decode(Reader& r, const json& v, const std::string& path) const {
    const auto n = r.unsigned_integer(v, path, std::numeric_limits<N>::max());
    if (!n) return std::nullopt;
    return static_cast<N>(*n);
  }
};

struct MacVersionCodec {
  ordered_json encode(const MacVersionField& f, const EncodeOptions&) const {
    return std::string(f.spelling());
  }
  std::optional<MacVersionField> decode(Reader& r, const json& v, const std::string& path) const {
    const std::optional<std::string> text = r.string(v, path);
    if (!text) return std::nullopt;
    lorawan::MacVersion version{};
    try {
      version = lorawan::parse_mac_version_or_throw(*text, r.qualified(path));
    } catch (const lorawan::Error& e) {
      r.observe(Kind::invalid_value, path, without_field(e.what(), r.qualified(path)),
                "treated as absent");
      return std::nullopt;
    }
    const std::string_view canonical = lorawan::to_string(version);
    if (*text == canonical) return MacVersionField{version, {}};
    r.observe(Kind::non_canonical_mac_version, path,
              "expected " + quote(canonical) + ", got " + quote(*text),
              "read as " + std::string(canonical));
    return MacVersionField{version, *text};
  }
};

struct ResultCodec {
  ordered_json encode(const Result& result, const EncodeOptions&) const {
    ordered_json j;
    j[std::string(name::kResultCode)] = std::string(to_string(result.code));
    if (result.description) j[std::string(name::kDescription)] = *result.description;
    return j;
  }

  std::optional<Result> decode(Reader& r, const json& v, const std::string& path) const {
    if (v.is_string()) {  // "Result":"Success": unambiguous, read as the code
      r.observe(Kind::wrong_json_type, path,
                "expected an object {\"ResultCode\": ...}, got " + describe(v, path),
                "read as the ResultCode");
      const std::optional<ResultCode> code = read_code(r, v.get<std::string>(), path);
      if (!code) return std::nullopt;
      return Result{*code, std::nullopt};
    }
    if (!v.is_object()) {
      r.observe(Kind::wrong_json_type, path,
                "expected an object {\"ResultCode\": ...}, got " + describe(v, path),
                "treated as absent");
      return std::nullopt;
    }
    static constexpr std::array<std::string_view, 2> kKnown{name::kResultCode, name::kDescription};
    r.unknown_fields(v, kKnown, path, "Result");

    const std::string code_path = join_path(path, name::kResultCode);
    const json* c = r.required(v, name::kResultCode, code_path, "Result treated as absent");
    if (!c) return std::nullopt;
    const std::optional<std::string> text = r.string(*c, code_path);
    if (!text) return std::nullopt;
    const std::optional<ResultCode> code = read_code(r, *text, code_path);
    if (!code) return std::nullopt;

    Result result{*code, std::nullopt};
    const std::string description_path = join_path(path, name::kDescription);
    if (const json* d = r.member(v, name::kDescription, description_path)) {
      result.description = r.string(*d, description_path);
    }
    return result;
  }

 private:
  static std::optional<ResultCode> read_code(Reader& r, const std::string& text,
                                             const std::string& path) {
    const std::optional<ResultCodeMatch> match = match_result_code(text);
    if (!match) {
      r.observe(Kind::unknown_result_code, path,
                "expected a TS002 result code (Success, MICFailed, ...), got " + quote(text),
                "Result treated as absent");
      return std::nullopt;
    }
    const std::string spec_spelling(to_string(match->code));
    switch (match->spelling) {
      case ResultCodeSpelling::exact:
        break;
      case ResultCodeSpelling::alternative:
        r.observe(Kind::alternative_result_code_spelling, path,
                  "expected the spec spelling " + quote(spec_spelling) + ", got " + quote(text),
                  "read as " + spec_spelling);
        break;
      case ResultCodeSpelling::misspelled:
        r.observe(Kind::misspelled_result_code, path,
                  "expected " + quote(spec_spelling) + ", got " + quote(text),
                  "read as " + spec_spelling);
        break;
    }
    return match->code;
  }
};

struct KeyEnvelopeCodec {
  ordered_json encode(const KeyEnvelope& e, const EncodeOptions& o) const {
    ordered_json j;
    j[std::string(name::kKekLabel)] = e.kek_label;  // always written, "" when clear
    j[std::string(name::kAesKey)] = lorawan::to_hex(e.aes_key, o.hex_case);
    return j;
  }

  std::optional<KeyEnvelope> decode(Reader& r, const json& v, const std::string& path) const {
    if (!v.is_object()) {
      r.observe(Kind::wrong_json_type, path,
                "expected a KeyEnvelope object {\"KEKLabel\": ..., \"AESKey\": ...}, got " +
                    describe(v, path),
                "treated as absent");
      return std::nullopt;
    }
    static constexpr std::array<std::string_view, 2> kKnown{name::kKekLabel, name::kAesKey};
    r.unknown_fields(v, kKnown, path, "KeyEnvelope");

    KeyEnvelope envelope;
    // An absent (or null) KEKLabel means a clear key (TS002 1.0 §21).
    const std::string label_path = join_path(path, name::kKekLabel);
    if (const json* l = r.member(v, name::kKekLabel, label_path)) {
      std::optional<std::string> label = r.string(*l, label_path);
      if (!label) return std::nullopt;  // reading the key as clear could be wrong
      envelope.kek_label = std::move(*label);
    }

    const std::string key_path = join_path(path, name::kAesKey);
    const json* k = r.required(v, name::kAesKey, key_path, "KeyEnvelope treated as absent");
    if (!k) return std::nullopt;
    std::optional<Bytes> key = r.hex(*k, key_path, {}, lorawan::Secrecy::secret);
    if (!key) return std::nullopt;

    // An AES-128 session key: 16 bytes in clear, 24 bytes wrapped (RFC 3394 adds 8).
    const std::size_t expected = envelope.is_clear() ? 16 : 24;
    if (key->size() != expected) {
      const std::string what = envelope.is_clear() ? "a clear key, as KEKLabel is empty"
                                                   : "an RFC 3394 wrapped key, as KEKLabel is " +
                                                         quote(envelope.kek_label);
      r.observe(Kind::invalid_value, key_path,
                "expected " + std::to_string(2 * expected) + " hex digits (" +
                    std::to_string(expected) + " bytes) for " + what + ", got " +
                    std::to_string(key->size()) + " bytes",
                "KeyEnvelope treated as absent");
      return std::nullopt;
    }
    envelope.aes_key = std::move(*key);
    return envelope;
  }
};

struct RawJsonCodec {  // VSExtension: kept as received
  ordered_json encode(const json& v, const EncodeOptions&) const { return ordered_json(v); }
  std::optional<json> decode(Reader& r, const json& v, const std::string& path) const {
    if (!v.is_object()) {
      r.observe(Kind::wrong_json_type, path,
                "expected an object {\"VendorID\": ..., \"Object\": ...}, got " + describe(v, path),
                "kept as received");
    }
    return v;
  }
};

// ---------------------------------------------------------------------------------------------
// Field tables: for each message, its optional fields in TS002 order with their JSON name, their
// presence rule and their codec. encode, decode, unknown-field and missing-field checks all
// read these tables.

enum class Presence {
  mandatory,   // M
  optional,    // O
  on_success,  // Ms: mandatory when Result is Success
};

template <class Msg, class V, class Codec>
struct Field {
  std::string_view name;
  std::optional<V> Msg::*member;
  Presence presence;
  Codec codec;
};

template <class Msg, class V, class Codec>
constexpr Field<Msg, V, Codec> field(std::string_view json_name, std::optional<V> Msg::*member,
                                     Presence presence, Codec codec) {
  return {json_name, member, presence, codec};
}

// The optional header fields; the mandatory ones are read and written by hand below.
auto fields_of(std::type_identity<Header>) {
  using H = Header;
  using P = Presence;
  return std::tuple{
      field(name::kSenderToken, &H::sender_token, P::optional, HexCodec{}),
      field(name::kReceiverToken, &H::receiver_token, P::optional, HexCodec{}),
      field(name::kSenderNsId, &H::sender_ns_id, P::optional, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kReceiverNsId, &H::receiver_ns_id, P::optional, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kHnsId, &H::hns_id, P::optional, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kVsExtension, &H::vs_extension, P::optional, RawJsonCodec{}),
  };
}

template <MessageType T>
auto fields_of(std::type_identity<BasicJoinReq<T>>) {
  using M = BasicJoinReq<T>;
  using P = Presence;
  return std::tuple{
      field(name::kMacVersion, &M::mac_version, P::mandatory, MacVersionCodec{}),
      field(name::kPhyPayload, &M::phy_payload, P::mandatory, HexCodec{}),
      field(name::kDevEui, &M::dev_eui, P::mandatory, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kDevAddr, &M::dev_addr, P::mandatory, FixedHexCodec<lorawan::DevAddr>{}),
      field(name::kDlSettings, &M::dl_settings, P::mandatory, ByteHexCodec{}),
      field(name::kRxDelay, &M::rx_delay, P::mandatory, NumberCodec<std::uint8_t>{}),
      field(name::kCfList, &M::cf_list, P::optional, FixedHexCodec<lorawan::CfList>{}),
  };
}

template <MessageType T>
auto fields_of(std::type_identity<BasicJoinAns<T>>) {
  using M = BasicJoinAns<T>;
  using P = Presence;
  // RejoinAns: the JS SHALL return the three 1.1 network keys (TS002 1.0 §11.4.1 step 8). For a
  // JoinAns which keys are due depends on MACVersion: see missing_network_keys().
  constexpr P k11 = T == MessageType::rejoin_ans ? P::on_success : P::optional;
  return std::tuple{
      field(name::kResult, &M::result, P::mandatory, ResultCodec{}),
      field(name::kPhyPayload, &M::phy_payload, P::on_success, HexCodec{}),
      field(name::kLifetime, &M::lifetime, P::on_success, NumberCodec<std::uint32_t>{}),
      field(name::kNwkSKey, &M::nwk_s_key, P::optional, KeyEnvelopeCodec{}),
      field(name::kSNwkSIntKey, &M::s_nwk_s_int_key, k11, KeyEnvelopeCodec{}),
      field(name::kFNwkSIntKey, &M::f_nwk_s_int_key, k11, KeyEnvelopeCodec{}),
      field(name::kNwkSEncKey, &M::nwk_s_enc_key, k11, KeyEnvelopeCodec{}),
      field(name::kAppSKey, &M::app_s_key, P::optional, KeyEnvelopeCodec{}),
      field(name::kSessionKeyId, &M::session_key_id, P::optional, HexCodec{}),
  };
}

auto fields_of(std::type_identity<AppSKeyReq>) {
  using M = AppSKeyReq;
  return std::tuple{
      field(name::kDevEui, &M::dev_eui, Presence::mandatory, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kSessionKeyId, &M::session_key_id, Presence::mandatory, HexCodec{}),
  };
}

auto fields_of(std::type_identity<AppSKeyAns>) {
  using M = AppSKeyAns;
  using P = Presence;
  // DevEUI and SessionKeyID are treated as Ms, not M: TS002 1.0 Table 13 was not available,
  // and failure answers from real JSs carry only the header and Result.
  return std::tuple{
      field(name::kResult, &M::result, P::mandatory, ResultCodec{}),
      field(name::kDevEui, &M::dev_eui, P::on_success, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kAppSKey, &M::app_s_key, P::on_success, KeyEnvelopeCodec{}),
      field(name::kSessionKeyId, &M::session_key_id, P::on_success, HexCodec{}),
  };
}

auto fields_of(std::type_identity<HomeNSReq>) {
  return std::tuple{field(name::kDevEui, &HomeNSReq::dev_eui, Presence::mandatory,
                          FixedHexCodec<lorawan::Eui64>{})};
}

auto fields_of(std::type_identity<HomeNSAns>) {
  using M = HomeNSAns;
  return std::tuple{
      field(name::kResult, &M::result, Presence::mandatory, ResultCodec{}),
      field(name::kHNetId, &M::h_net_id, Presence::on_success, FixedHexCodec<lorawan::NetId>{}),
  };
}

auto fields_of(std::type_identity<ErrorNotif>) {
  return std::tuple{field(name::kResult, &ErrorNotif::result, Presence::mandatory, ResultCodec{})};
}

template <class T>
auto table() {
  return fields_of(std::type_identity<T>{});
}

template <class T>
std::vector<std::string_view> names_of() {
  std::vector<std::string_view> names;
  std::apply([&](const auto&... f) { (names.push_back(f.name), ...); }, table<T>());
  return names;
}

// ---------------------------------------------------------------------------------------------
// Mandatory fields.

// Rules that one presence flag cannot express; none for most messages.
template <class M>
void extra_missing(const M&, bool, std::optional<lorawan::MacVersion>, std::vector<MissingField>&) {
}

// JoinAns on success: the network keys of the MACVersion, and AppSKey or SessionKeyID
// (TS002 1.0 §8 step 4; docs/checks.md#answer).
void extra_missing(const JoinAns& m, bool success, std::optional<lorawan::MacVersion> mac_version,
                   std::vector<MissingField>& out) {
  if (!success) return;
  const std::array<std::pair<std::string_view, bool>, 3> keys_1_1{{
      {name::kFNwkSIntKey, m.f_nwk_s_int_key.has_value()},
      {name::kSNwkSIntKey, m.s_nwk_s_int_key.has_value()},
      {name::kNwkSEncKey, m.nwk_s_enc_key.has_value()},
  }};
  const auto add_missing_1_1 = [&](const std::string& rule) {
    for (const auto& [key, present] : keys_1_1) {
      if (!present) out.push_back({std::string(key), rule});
    }
  };
  if (mac_version) {
    if (!lorawan::is_1_1(*mac_version)) {
      if (!m.nwk_s_key) {
        out.push_back({std::string(name::kNwkSKey),
                       "mandatory when Result is Success and MACVersion is 1.0.x"});
      }
    } else {
      add_missing_1_1("mandatory when Result is Success and MACVersion is 1.1");
    }
  } else if (!m.nwk_s_key) {
    const bool any_1_1 =
        std::any_of(keys_1_1.begin(), keys_1_1.end(), [](const auto& k) { return k.second; });
    if (any_1_1) {
      add_missing_1_1(
          "mandatory when Result is Success and other LoRaWAN 1.1 network keys are "
          "present");
    } else {
      out.push_back({std::string(name::kNwkSKey),
                     "NwkSKey (LoRaWAN 1.0.x) or FNwkSIntKey, SNwkSIntKey and NwkSEncKey (1.1) "
                     "are mandatory when Result is Success"});
    }
  }
  if (!m.app_s_key && !m.session_key_id) {
    out.push_back({std::string(name::kAppSKey),
                   "AppSKey or SessionKeyID (or both) is mandatory when Result is Success"});
  }
}

// HomeNSAns under TS002 1.1 carries HNSID in its header.
void extra_missing(const HomeNSAns& m, bool success, std::optional<lorawan::MacVersion>,
                   std::vector<MissingField>& out) {
  if (success && m.header.protocol_version == ProtocolVersion::v1_1 && !m.header.hns_id) {
    out.push_back(
        {std::string(name::kHnsId), "mandatory in ProtocolVersion 1.1 when Result is Success"});
  }
}

template <class M>
std::vector<MissingField> missing_of(const M& m, std::optional<lorawan::MacVersion> mac_version) {
  bool success = false;
  if constexpr (requires { m.result; }) success = m.result && m.result->is_success();
  std::vector<MissingField> out;
  const auto check = [&](const auto& f) {
    if ((m.*(f.member)).has_value()) return;
    if (f.presence == Presence::mandatory) {
      out.push_back({std::string(f.name), "mandatory"});
    } else if (f.presence == Presence::on_success && success) {
      out.push_back({std::string(f.name), "mandatory when Result is Success"});
    }
  };
  std::apply([&](const auto&... f) { (check(f), ...); }, table<M>());
  extra_missing(m, success, mac_version, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Encoding.

template <class T, class F>
void encode_field(ordered_json& j, const T& object, const F& f, const EncodeOptions& o) {
  if (const auto& value = object.*(f.member)) j[std::string(f.name)] = f.codec.encode(*value, o);
}

template <class T>
void encode_fields(ordered_json& j, const T& object, const EncodeOptions& o) {
  std::apply([&](const auto&... f) { (encode_field(j, object, f, o), ...); }, table<T>());
}

template <class M>
ordered_json encode_message(const M& m, const EncodeOptions& o) {
  const Header& h = m.header;
  if (h.message_type != M::kType) {
    throw CodecError(std::string(name::kMessageType),
                     std::string(to_string(M::kType)) + ": header MessageType is " +
                         std::string(to_string(h.message_type)) + ", expected " +
                         std::string(to_string(M::kType)));
  }
  ordered_json j = ordered_json::object();
  j[std::string(name::kProtocolVersion)] = std::string(to_string(h.protocol_version));
  j[std::string(name::kSenderId)] = h.sender_id;
  j[std::string(name::kReceiverId)] = h.receiver_id;
  j[std::string(name::kTransactionId)] = h.transaction_id;
  j[std::string(name::kMessageType)] = std::string(to_string(M::kType));
  encode_fields(j, h, o);
  encode_fields(j, m, o);
  return j;
}

// ---------------------------------------------------------------------------------------------
// Decoding.

template <class T, class F>
void decode_field(Reader& r, const json& object, T& target, const F& f) {
  const std::string path(f.name);
  if (const json* v = r.member(object, f.name, path))
    target.*(f.member) = f.codec.decode(r, *v, path);
}

template <class T>
void decode_fields(Reader& r, const json& object, T& target) {
  std::apply([&](const auto&... f) { (decode_field(r, object, target, f), ...); }, table<T>());
}

void decode_header(Reader& r, const json& body, Header& h) {
  constexpr std::string_view kDefault = "left at its default";
  const std::string pv_path(name::kProtocolVersion);
  if (const json* v = r.required(body, name::kProtocolVersion, pv_path, kDefault)) {
    if (const std::optional<std::string> s = r.string(*v, pv_path)) {
      if (const auto pv = parse_protocol_version(*s)) {
        h.protocol_version = *pv;
      } else {
        r.observe(Kind::invalid_value, pv_path, "expected \"1.0\" or \"1.1\", got " + quote(*s),
                  kDefault);
      }
    }
  }
  for (auto [key, target] :
       {std::pair{name::kSenderId, &h.sender_id}, std::pair{name::kReceiverId, &h.receiver_id}}) {
    const std::string path(key);
    if (const json* v = r.required(body, key, path, kDefault)) {
      if (std::optional<std::string> s = r.string(*v, path)) {
        r.observe_id_style(*s, path);
        *target = std::move(*s);
      }
    }
  }
  const std::string tid_path(name::kTransactionId);
  if (const json* v = r.required(body, name::kTransactionId, tid_path, kDefault)) {
    if (const auto n =
            r.unsigned_integer(*v, tid_path, std::numeric_limits<std::uint32_t>::max())) {
      h.transaction_id = static_cast<std::uint32_t>(*n);
    }
  }
  decode_fields(r, body, h);
}

template <class M>
M decode_message(Reader& r, const json& body) {
  M m;
  decode_header(r, body, m.header);
  decode_fields(r, body, m);

  std::vector<std::string_view> known{name::kProtocolVersion, name::kSenderId, name::kReceiverId,
                                      name::kTransactionId, name::kMessageType};
  for (std::string_view n : names_of<Header>()) known.push_back(n);
  for (std::string_view n : names_of<M>()) known.push_back(n);
  r.unknown_fields(body, known, "", r.message_name());

  // A field already named by an observation (null, invalid, ...) is not reported again.
  for (const MissingField& missing : missing_of(m, std::nullopt)) {
    if (!r.observed(missing.path)) {
      r.observe(Kind::missing_field, missing.path, "missing (" + missing.rule + ")");
    }
  }
  return m;
}


ParsedJson parse_body(std::string_view body) {
  try {
    return parse_json_with_duplicates(body, kMaxJsonDepth, kMaxMessageValues);
  } catch (const JsonTooDeep& e) {
    throw CodecError("", "body: nesting deeper than " + std::to_string(e.max_depth) +
                             " levels at byte " + std::to_string(e.byte));
  } catch (const JsonTooLarge& e) {
    throw CodecError("", "body: more than " + std::to_string(e.max_values) +
                             " JSON values (a TS002 message holds a few dozen); refused at byte " +
                             std::to_string(e.byte) + " without reading the rest");
  } catch (const json::parse_error& e) {
    throw CodecError("", "body: not valid JSON (at byte " + std::to_string(e.byte) +
                             "): " + parse_error_reason(e));
  } catch (const json::exception& e) {  // e.g. out_of_range.406 "number overflow parsing '1e999'"
    const std::string what = e.what();
    const auto bracket = what.find("] ");
    throw CodecError(
        "", "body: not valid JSON: " +
                truncate_utf8(bracket == std::string::npos ? what : what.substr(bracket + 2),
                              2 * kMaxShownBytes));
  }
}

MessageType read_message_type(const json& body) {
  const std::string path(name::kMessageType);
  const auto it = body.find(name::kMessageType);
  if (it == body.end()) {
    throw CodecError(path, "MessageType: missing; it is mandatory and says which message this is");
  }
  if (!it->is_string()) {
    throw CodecError(path, "MessageType: expected a JSON string, got " + describe(*it));
  }
  const std::string& text = it->get_ref<const std::string&>();
  if (const auto type = parse_message_type(text)) return *type;
  throw CodecError(path, "MessageType: unknown message type " + quote(text) + " (expected one of " +
                             std::string(message_type_spellings()) + ")");
}

template <class M>
Decoded decode_as_type(Reader& r, const json& body) {
  M m = decode_message<M>(r, body);
  return Decoded{std::move(m), r.take()};
}

}  // namespace

std::string Observation::problem() const {
  const std::string suffix = " (" + outcome + ")";
  if (!outcome.empty() && detail.size() >= suffix.size() &&
      detail.compare(detail.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return detail.substr(0, detail.size() - suffix.size());
  }
  return detail;
}

std::string_view to_string(ObservationKind kind) {
  switch (kind) {
    case Kind::null_field:
      return "null_field";
    case Kind::missing_field:
      return "missing_field";
    case Kind::unknown_field:
      return "unknown_field";
    case Kind::duplicate_field:
      return "duplicate_field";
    case Kind::uppercase_hex:
      return "uppercase_hex";
    case Kind::mixed_case_hex:
      return "mixed_case_hex";
    case Kind::hex_prefix_0x:
      return "hex_prefix_0x";
    case Kind::alternative_result_code_spelling:
      return "alternative_result_code_spelling";
    case Kind::misspelled_result_code:
      return "misspelled_result_code";
    case Kind::unknown_result_code:
      return "unknown_result_code";
    case Kind::wrong_json_type:
      return "wrong_json_type";
    case Kind::non_canonical_mac_version:
      return "non_canonical_mac_version";
    case Kind::invalid_value:
      return "invalid_value";
  }
  return "?";
}

nlohmann::ordered_json to_json(const Message& message, const EncodeOptions& options) {
  return std::visit([&](const auto& m) { return encode_message(m, options); }, message);
}

std::string encode(const Message& message, const EncodeOptions& options) {
  // Invalid UTF-8 from a peer (echoed in SenderID, a Description, ...) is replaced, not thrown.
  return to_json(message, options).dump(options.indent, ' ', false,
                                        ordered_json::error_handler_t::replace);
}

Decoded decode(std::string_view body, DecodeMode mode) {
  const ParsedJson parsed = parse_body(body);
  const json& doc = parsed.value;
  if (!doc.is_object()) throw CodecError("", "body: expected a JSON object, got " + describe(doc));
  const MessageType type = read_message_type(doc);

  Reader r(mode, type);
  for (const DuplicateKey& d : parsed.duplicates) {
    r.observe(Kind::duplicate_field, d.path(), "appears more than once in its object",
              "the last value is used");
  }
  r.count_unlisted(Kind::duplicate_field, parsed.unlisted_duplicates);
  switch (type) {
    case MessageType::join_req:
      return decode_as_type<JoinReq>(r, doc);
    case MessageType::join_ans:
      return decode_as_type<JoinAns>(r, doc);
    case MessageType::rejoin_req:
      return decode_as_type<RejoinReq>(r, doc);
    case MessageType::rejoin_ans:
      return decode_as_type<RejoinAns>(r, doc);
    case MessageType::app_s_key_req:
      return decode_as_type<AppSKeyReq>(r, doc);
    case MessageType::app_s_key_ans:
      return decode_as_type<AppSKeyAns>(r, doc);
    case MessageType::home_ns_req:
      return decode_as_type<HomeNSReq>(r, doc);
    case MessageType::home_ns_ans:
      return decode_as_type<HomeNSAns>(r, doc);
    case MessageType::error_notif:
      return decode_as_type<ErrorNotif>(r, doc);
  }
  throw CodecError(std::string(name::kMessageType), "MessageType: not handled");  // unreachable
}

std::vector<MissingField> missing_fields(const Message& message,
                                         std::optional<lorawan::MacVersion> request_mac_version) {
  return std::visit([&](const auto& m) { return missing_of(m, request_mac_version); }, message);
}

}  // namespace joincheck::backend
