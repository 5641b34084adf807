#pragma once
// Internal to the TS002 codec (codec.hpp): the Reader, which reads a peer's JSON values
// leniently and records each deviation as an Observation (in strict mode the first deviation
// throws CodecError instead), and the text helpers that describe a peer's values in details and
// errors. The body may come from a hostile peer: a detail shows at most kMaxShownBytes of a
// string, never dumps an object or array (nlohmann's dump() recurses), and never shows the
// value of a key (a field whose name ends in "Key", at any depth).

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/codec.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::backend::codec_detail {

using Kind = ObservationKind;
using lorawan::Bytes;
using nlohmann::json;
using nlohmann::ordered_json;

inline constexpr std::size_t kMaxShownBytes = 64;

// "\"abc\"", or for a long text "\"abcdef…\" (300 bytes)". Control characters are escaped
// (lorawan::escape_control): a peer's NUL would cut a CodecError's what() short, its newline
// would forge a log line.
std::string quote(std::string_view text);
// "string \"1\"", "number 4294967296", "an array of 2 elements": a JSON value as seen, for a
// detail.
std::string describe(const json& value);
// describe(), or only the type and length of the value of a field that may hold a key ("a
// string of 32 characters").
std::string describe(const json& value, std::string_view path);
// "Result.ResultCode"; `key` alone when `prefix` is empty.
std::string join_path(std::string_view prefix, std::string_view key);
// lorawan errors start with the field name given to them; the detail of an observation does not.
std::string without_field(const char* what, std::string_view field);

// Lenient reading of JSON values, recording each deviation as an observation; in strict mode
// the first deviation throws instead.
class Reader {
 public:
  Reader(DecodeMode mode, MessageType type) : mode_(mode), message_(to_string(type)) {}

  // `outcome` says what observing mode did about it ("treated as absent", "coerced to 1"); a
  // strict error leaves it out, since strict mode does nothing about it but fail.
  // Beyond kMaxObservationsPerKind of one kind, an observation is only counted (see take()).
  void observe(Kind kind, const std::string& path, const std::string& detail,
               std::string_view outcome = {});

  // `n` observations of `kind` that were counted but not listed elsewhere (the duplicate keys
  // past those the parser lists).
  void count_unlisted(Kind kind, std::size_t n) { counts_[kind] += n; }

  // Whether an observation names `path` or a field inside it.
  bool observed(std::string_view path) const;

  // "JoinReq.DevEUI"
  std::string qualified(std::string_view path) const { return message_ + "." + std::string(path); }
  const std::string& message_name() const { return message_; }
  // The observations, and after them one "... N more" observation (path "") for each kind
  // that had more than kMaxObservationsPerKind.
  std::vector<Observation> take();

  // The value of `key` in `object`; nullptr when absent, or when null (recorded).
  const json* member(const json& object, std::string_view key, const std::string& path);

  // Like member(), and records a missing mandatory field.
  const json* required(const json& object, std::string_view key, const std::string& path,
                       std::string_view outcome);

  // Records each member of `object` (at `prefix`) whose name is not in `known`.
  void unknown_fields(const json& object, std::span<const std::string_view> known,
                      const std::string& prefix, std::string_view container);

  std::optional<std::string> string(const json& value, const std::string& path);

  // Hex of any length, or of exactly `size` bytes. Accepts a 0x prefix and either case, and
  // records both.
  // A key (`secret`) is never quoted in an observation or error.
  std::optional<Bytes> hex(const json& value, const std::string& path,
                           std::optional<std::size_t> size = {},
                           lorawan::Secrecy secrecy = lorawan::Secrecy::quote);

  // SenderID and ReceiverID are kept as sent, but one that is hex of NetID or EUI length is
  // checked for the same letter case and prefix as hex fields. Other strings are AS-IDs.
  void observe_id_style(std::string_view id, const std::string& path);

  // An unsigned integer up to `max`. A string of digits, or an integral number written as a
  // float, is coerced and recorded.
  std::optional<std::uint64_t> unsigned_integer(const json& value, const std::string& path,
                                                std::uint64_t max);

 private:
  static std::string shown(std::string_view text, lorawan::Secrecy secrecy);

  void observe_letter_case(std::string_view hex, const std::string& path,
                           lorawan::Secrecy secrecy = lorawan::Secrecy::quote);

  DecodeMode mode_;
  std::string message_;
  std::vector<Observation> observations_;
  std::map<Kind, std::size_t> counts_;  // observations of each kind, listed or not
};

}  // namespace joincheck::backend::codec_detail
