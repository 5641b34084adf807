#include "sim/join_server/refusal.hpp"

namespace joincheck::sim {

using backend::ResultCode;

namespace {

// What TS002 answers, and what each vendor behaviour answers instead.
ResultCode result_code(Refusal reason, backend::ProtocolVersion version, const Quirks& quirks) {
  const ResultCode malformed = backend::malformed_code(version);
  switch (reason) {
    case Refusal::malformed:
      return malformed;
    case Refusal::unknown_protocol_version:
      return quirks.other_for_unknown_protocol_version ? ResultCode::other : ResultCode::invalid_protocol_version;
    case Refusal::unknown_sender:
      return ResultCode::unknown_sender;
    case Refusal::unknown_receiver:
      return ResultCode::unknown_receiver;
    case Refusal::unknown_device:
    case Refusal::unknown_session:
      return ResultCode::unknown_dev_eui;
    case Refusal::not_a_join_frame:
      return quirks.other_for_bad_phy_payload ? ResultCode::other : malformed;
    case Refusal::frame_size:
      if (quirks.other_for_bad_phy_payload) return ResultCode::other;
      return quirks.malformed_for_frame_size ? malformed : ResultCode::frame_size_error;
    case Refusal::mic_invalid:
      return ResultCode::mic_failed;
    case Refusal::dev_nonce_replayed:
      return version == backend::ProtocolVersion::v1_1 && !quirks.replay_is_join_req_failed
                 ? ResultCode::frame_replayed
                 : ResultCode::join_req_failed;
    case Refusal::cannot_join:
      return ResultCode::join_req_failed;
    case Refusal::activation_disallowed:
      return ResultCode::activation_disallowed;
    case Refusal::session_keys_gone:
      return ResultCode::other;
  }
  return ResultCode::other;
}

}  // namespace

FailureAnswer failure_answer(Refusal reason, backend::ProtocolVersion version, const Quirks& quirks,
                             const FaultSet& faults) {
  FailureAnswer out;
  out.code = result_code(reason, version, quirks);
  // Faults: the wrong code for a rule the suite checks (docs/checks.md#answer).
  if (reason == Refusal::dev_nonce_replayed && faults.has(Fault::wrong_code_replay)) out.code = ResultCode::other;
  if (out.code == ResultCode::unknown_dev_eui && faults.has(Fault::wrong_code_unknown_deveui)) {
    out.code = ResultCode::other;
  }
  if (out.code == ResultCode::mic_failed && faults.has(Fault::wrong_code_mic_failed)) {
    out.code = ResultCode::join_req_failed;
  }
  // HTTP: TS002 answers every failure with 200 (§22.1).
  if (out.code == ResultCode::unknown_dev_eui && quirks.http_400_unknown_dev_eui) out.http_status = 400;
  if (faults.has(Fault::http_400_on_error)) out.http_status = 400;
  return out;
}

std::string malformed_reason(const backend::Decoded& d) {
  std::string why;
  for (const auto& o : d.observations) {
    switch (o.kind) {
      case backend::ObservationKind::missing_field:
      case backend::ObservationKind::wrong_json_type:
      case backend::ObservationKind::invalid_value:
      case backend::ObservationKind::null_field:
      case backend::ObservationKind::duplicate_field:
        why += (why.empty() ? "" : "; ") + (o.path.empty() ? o.problem() : o.path + ": " + o.problem());
        break;
      default:
        break;
    }
  }
  return why;
}

}  // namespace joincheck::sim
