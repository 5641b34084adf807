#pragma once
// The TS002 JSON codec, written once and used by the reference JS, the NS client and the
// validator (DESIGN.md "The parser reports, the validator judges").
//
// encode() writes exact TS002 field names, hex in lower case by default, identifiers in display
// order, and omits absent fields (never null). KEKLabel is always written ("" when clear).
//
// decode() has two modes:
//  - strict: anything that is not exactly what encode() would write (upper-case or 0x hex, a
//    null, an unknown or duplicate field, a string where a number belongs, "1.1.0", a missing
//    mandatory field, ...) throws CodecError naming the field, what was expected and what was
//    seen. For the reference JS and the NS client talking to it.
//  - observing: parses what a real peer sends as far as possible and returns the message plus
//    one Observation per deviation. A field whose value cannot be used is absent in the message
//    (for a mandatory header field: left at its default) and named by an observation.
// Invalid JSON, objects and arrays nested deeper than kMaxJsonDepth (64) levels, a body that is
// not an object, and a missing or unknown MessageType throw CodecError in both modes.
//
// The body may come from a hostile peer. A detail or error shows at most 64 bytes of a string
// and only the size of an object or array, and never the value of a field that may hold a key
// (a name ending in "Key", such as AppSKey or AESKey, at any depth and in any letter case, or
// anything inside one): that is described by its type and length only. At most 100
// observations of one kind are listed; the rest are counted in one more observation of that
// kind, with path "", whose detail starts "... N more".

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "backend/messages.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

namespace joincheck::backend {

struct EncodeOptions {
  // Letter case of every hex value (TTS writes upper case).
  lorawan::HexCase hex_case = lorawan::HexCase::lower;
  // nlohmann dump indent: -1 for one line.
  int indent = -1;
};

// The message as JSON, fields in TS002 order. Throws CodecError when header.message_type is not
// the message's own type.
nlohmann::ordered_json to_json(const Message& message, const EncodeOptions& options = {});
std::string encode(const Message& message, const EncodeOptions& options = {});

enum class DecodeMode { strict, observing };

enum class ObservationKind {
  null_field,                        // `null`; treated as absent
  missing_field,                     // a mandatory field is absent
  unknown_field,                     // not a field of this message; ignored
  duplicate_field,                   // the same key twice in one object; the last value is used
  uppercase_hex,                     // hex in upper case (TTS); the spec allows it
  mixed_case_hex,                    // hex mixing both cases
  hex_prefix_0x,                     // hex with a 0x/0X prefix (stripped); the spec allows "0x"
  alternative_result_code_spelling,  // "UnknownReceiver" for the spec's "UnkownReceiver"
  misspelled_result_code,            // another letter case, or a known typo
  unknown_result_code,               // no such result code; Result treated as absent
  wrong_json_type,                   // e.g. "RxDelay":"1"; coerced when unambiguous
  non_canonical_mac_version,         // "1.1.0" for "1.1", "1.0.0" for "1.0"
  invalid_value,                     // bad hex, wrong length, out of range; treated as absent
};
std::string_view to_string(ObservationKind kind);

struct Observation {
  ObservationKind kind;
  // JSON path of the field: "DevEUI", "Result.ResultCode", "NwkSKey.AESKey".
  std::string path;
  // What was expected and what was seen, and what the codec did about it.
  std::string detail;
  // What the codec did about it ("treated as absent", "ignored"), also at the end of `detail` in
  // parentheses; empty when it did nothing.
  std::string outcome;

  // `detail` without the outcome: what was expected and what was seen, for a peer that refuses
  // the message rather than reading past the problem.
  std::string problem() const;

  friend bool operator==(const Observation&, const Observation&) = default;
};

class CodecError : public std::runtime_error {
 public:
  CodecError(std::string path, const std::string& message)
      : std::runtime_error(message), path_(std::move(path)) {}
  // JSON path of the offending field (without the MessageType); "" for the body as a whole.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Decoded {
  Message message;
  std::vector<Observation> observations;
};

template <class T>
struct DecodedAs {
  T message;
  std::vector<Observation> observations;
};

// Decodes any of the message types, dispatching on MessageType.
Decoded decode(std::string_view body, DecodeMode mode);

// Decodes a message that must be of type T (JoinAns, ...); another MessageType is a CodecError.
template <class T>
DecodedAs<T> decode_as(std::string_view body, DecodeMode mode) {
  Decoded d = decode(body, mode);
  if (T* m = std::get_if<T>(&d.message)) return {std::move(*m), std::move(d.observations)};
  throw CodecError("MessageType", "MessageType: expected " + std::string(to_string(T::kType)) +
                                      ", got " +
                                      std::string(to_string(message_type_of(d.message))));
}

// A mandatory payload field absent from a message.
struct MissingField {
  std::string path;  // JSON name of the field
  std::string rule;  // why it is required: "mandatory", "mandatory when Result is Success", ...
};

// The mandatory payload fields absent from `message`: M fields always, Ms fields when Result
// is Success (TS002 1.0 §8, §11.4.1, §12.1.1, §22.2 Table 13). For a JoinAns the network keys depend on the
// MACVersion of the JoinReq: NwkSKey for 1.0.x, FNwkSIntKey/SNwkSIntKey/NwkSEncKey for 1.1;
// without `request_mac_version` either complete set is accepted.
std::vector<MissingField> missing_fields(
    const Message& message, std::optional<lorawan::MacVersion> request_mac_version = {});

}  // namespace joincheck::backend
