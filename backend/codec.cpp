// The TS002 JSON codec (codec.hpp): a message encoded from its field tables, a body decoded
// (parsed with its duplicate keys, dispatched on MessageType, its header and fields read by the
// Reader, its unknown and missing fields observed), and the names of the observations. The
// Reader is in codec_reader.cpp, the field tables and value codecs in codec_fields.hpp, the
// missing-field rules in codec_missing_fields.cpp.
#include "backend/codec.hpp"

#include <limits>

#include "backend/codec_fields.hpp"
#include "backend/codec_reader.hpp"
#include "backend/json_duplicates.hpp"

namespace joincheck::backend {
namespace {

using namespace codec_detail;

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
  return m;
}

// Records the mandatory fields `message` lacks (codec_missing_fields.cpp). A field already named
// by an observation (null, invalid, ...) is not reported again.
void observe_missing_fields(Reader& r, const Message& message) {
  for (const MissingField& missing : missing_fields(message)) {
    if (!r.observed(missing.path)) {
      r.observe(Kind::missing_field, missing.path, "missing (" + missing.rule + ")");
    }
  }
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
  Decoded decoded{decode_message<M>(r, body), {}};
  observe_missing_fields(r, decoded.message);
  decoded.observations = r.take();
  return decoded;
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
  return to_json(message, options)
      .dump(options.indent, ' ', false, ordered_json::error_handler_t::replace);
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

}  // namespace joincheck::backend
