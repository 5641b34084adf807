#pragma once
// TS002 result codes: TS002 1.0 §22.4 Table 24 and the TS002 1.1 additions (TS002 1.1 §23.5, as
// TheThingsNetwork/lorawan-stack pkg/interop/errors.go implements them; docs/checks.md#result-codes).

#include <optional>
#include <span>
#include <string_view>

#include "backend/protocol.hpp"

namespace joincheck::backend {

enum class ResultCode {
  // TS002 1.0 Table 24.
  success,
  mic_failed,
  join_req_failed,
  no_roaming_agreement,
  dev_roaming_disallowed,
  roaming_act_disallowed,
  activation_disallowed,
  unknown_dev_eui,
  unknown_dev_addr,
  unknown_sender,
  unknown_receiver,  // spelled "UnkownReceiver" on the wire, as in the spec table
  deferred,
  xmit_failed,
  invalid_fport,
  invalid_protocol_version,
  stale_device_profile,
  malformed_request,  // TS002 1.0; MalformedMessage replaces it in 1.1
  frame_size_error,
  other,
  // TS002 1.1 additions.
  no_action,
  frame_replayed,
  malformed_message,
};

// Every code, in the order above.
std::span<const ResultCode> all_result_codes();

// The spec spelling: "Success", "MICFailed", ..., "UnkownReceiver" (sic).
std::string_view to_string(ResultCode code);
// The spec spelling only (so "UnkownReceiver", not "UnknownReceiver"); nullopt otherwise.
std::optional<ResultCode> parse_result_code(std::string_view text);

// How a peer spelled a result code.
enum class ResultCodeSpelling {
  exact,        // as in the spec
  alternative,  // "UnknownReceiver": the correct English, accepted by ChirpStack and TTS
  misspelled,   // another letter case, or a known typo such as brocaar's "RoamingActDisallowedA"
};
struct ResultCodeMatch {
  ResultCode code;
  ResultCodeSpelling spelling;
};
// Recognises the spec spelling and the known variants; nullopt for anything else.
std::optional<ResultCodeMatch> match_result_code(std::string_view text);

// The code for a message that does not parse: MalformedRequest (1.0), MalformedMessage (1.1).
constexpr ResultCode malformed_code(ProtocolVersion version) {
  return version == ProtocolVersion::v1_0 ? ResultCode::malformed_request
                                          : ResultCode::malformed_message;
}

// The first ProtocolVersion that defines `code` (1.1 for NoAction, FrameReplayed,
// MalformedMessage; 1.0 for the rest).
constexpr ProtocolVersion first_protocol_version(ResultCode code) {
  return code == ResultCode::no_action || code == ResultCode::frame_replayed ||
                 code == ResultCode::malformed_message
             ? ProtocolVersion::v1_1
             : ProtocolVersion::v1_0;
}

}  // namespace joincheck::backend
