#pragma once
// Why the reference JS refuses a request, and the one place that turns a reason into the
// ResultCode (and HTTP status) of the answer: the TS002 code first, then what a vendor
// behaviour (`--behave-like`, Quirks) answers instead, then a deliberate fault that breaks the
// rule (FaultSet). The stages of a request (join_request.cpp, join_server.cpp) say only why.
//
// The TS002 codes (TS002 1.0 §22.4 Table 24; TS002 1.1 §23.4 adds FrameReplayed and renames
// MalformedRequest to MalformedMessage), by reason:
//   malformed                  MalformedRequest (1.0) / MalformedMessage (1.1): a field missing,
//                              of the wrong type or value, a frame that does not parse, a message
//                              the JS does not take, fields that contradict each other
//   unknown_protocol_version   InvalidProtocolVersion
//   unknown_sender             UnknownSender: a NetID (or AS) the JS does not serve, or a client
//                              certificate that does not authenticate it
//   unknown_receiver           UnkownReceiver: a ReceiverID that is not a JoinEUI it serves
//   unknown_device             UnknownDevEUI: not provisioned, or under another JoinEUI
//   unknown_session            UnknownDevEUI: no session of the device has this SessionKeyID
//   not_a_join_frame           MalformedRequest/Message: PHYPayload is not a join/rejoin-request
//   frame_size                 FrameSizeError: a join/rejoin-request of the wrong size
//   mic_invalid                MICFailed
//   dev_nonce_replayed         FrameReplayed (TS002 1.1), JoinReqFailed (TS002 1.0, which has no
//                              FrameReplayed); LoRaWAN 1.0.4 §6.2.5, 1.1 §6.2.2
//   cannot_join                JoinReqFailed: the device cannot join as asked (a 1.1 MACVersion
//                              for a 1.0.x device, a rejoin of a 1.0.x device, a root key the JS
//                              does not hold, no KEK while clear keys are refused, JoinNonces
//                              exhausted, a JoinEUI outside the JS's prefixes)
//   activation_disallowed      ActivationDisallowed: HomeNSReq without a home NS configured
//   session_keys_gone          Other: the device's root keys changed since the session
// Vendor behaviours and faults that change a code are in failure_answer() (refusal.cpp), with
// the evidence in docs/profiles.md.

#include <string>

#include "backend/codec.hpp"
#include "backend/result_code.hpp"
#include "sim/join_server/faults.hpp"

namespace joincheck::sim {

enum class Refusal {
  malformed,
  unknown_protocol_version,
  unknown_sender,
  unknown_receiver,
  unknown_device,
  unknown_session,
  not_a_join_frame,
  frame_size,
  mic_invalid,
  dev_nonce_replayed,
  cannot_join,
  activation_disallowed,
  session_keys_gone,
};

// A refusal with its Description (one "Field: problem" per problem, or a sentence; "" for none).
struct Refused {
  Refusal reason;
  std::string description;
};

// How a refusal is answered: its ResultCode and the HTTP status of the answer.
struct FailureAnswer {
  backend::ResultCode code = backend::ResultCode::other;
  int http_status = 200;
};

FailureAnswer failure_answer(Refusal reason, backend::ProtocolVersion version, const Quirks& quirks,
                             const FaultSet& faults);

// What makes a request malformed for a strict JS (Refusal::malformed), from the codec's
// observations: one "Field: what was expected, what was seen" per problem, "; " between them;
// empty when nothing does. The spec allows upper-case hex, a 0x prefix and unknown fields; it
// does not allow wrong types, bad values, nulls, duplicates or a missing mandatory field. The
// codec records a missing field only when no other observation names it, so a field present
// with a bad value is told once.
std::string malformed_reason(const backend::Decoded& decoded);

}  // namespace joincheck::sim
