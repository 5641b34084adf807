// The value codecs of codec_fields.hpp whose reading takes more than a line: MACVersion, Result,
// KeyEnvelope and VSExtension, each recording through the Reader what a peer wrote otherwise
// than TS002 says.
#include "backend/codec_fields.hpp"

namespace joincheck::backend::codec_detail {

std::optional<MacVersionField> MacVersionCodec::decode(Reader& r, const json& v,
                                                       const std::string& path) const {
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

std::optional<Result> ResultCodec::decode(Reader& r, const json& v, const std::string& path) const {
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

std::optional<ResultCode> ResultCodec::read_code(Reader& r, const std::string& text,
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

std::optional<KeyEnvelope> KeyEnvelopeCodec::decode(Reader& r, const json& v,
                                                    const std::string& path) const {
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

std::optional<json> RawJsonCodec::decode(Reader& r, const json& v, const std::string& path) const {
  if (!v.is_object()) {
    r.observe(Kind::wrong_json_type, path,
              "expected an object {\"VendorID\": ..., \"Object\": ...}, got " + describe(v, path),
              "kept as received");
  }
  return v;
}

}  // namespace joincheck::backend::codec_detail
