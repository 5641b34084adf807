// The reference JS's one result-code policy (sim/join_server/refusal.hpp): each refusal's
// TS002 code under both ProtocolVersions, what the brocaar and tts behaviours answer instead,
// and the faults that break the rule. End-to-end answers are in test_join_server*.cpp.

#include <gtest/gtest.h>

#include "sim/join_server/refusal.hpp"

namespace joincheck::sim {
namespace {

using backend::ProtocolVersion;
using backend::ResultCode;

ResultCode code(Refusal r, ProtocolVersion v, Behaviour b = Behaviour::strict, FaultSet faults = {}) {
  return failure_answer(r, v, quirks_of(b), faults).code;
}

FaultSet with(Fault f) {
  FaultSet s;
  s.faults.insert(f);
  return s;
}

TEST(Refusal, StrictAnswersTheTs002Code) {
  struct Row {
    Refusal reason;
    ResultCode v1_0;
    ResultCode v1_1;
  };
  const Row rows[] = {
      {Refusal::malformed, ResultCode::malformed_request, ResultCode::malformed_message},
      {Refusal::unknown_protocol_version, ResultCode::invalid_protocol_version, ResultCode::invalid_protocol_version},
      {Refusal::unknown_sender, ResultCode::unknown_sender, ResultCode::unknown_sender},
      {Refusal::unknown_receiver, ResultCode::unknown_receiver, ResultCode::unknown_receiver},
      {Refusal::unknown_device, ResultCode::unknown_dev_eui, ResultCode::unknown_dev_eui},
      {Refusal::unknown_session, ResultCode::unknown_dev_eui, ResultCode::unknown_dev_eui},
      {Refusal::not_a_join_frame, ResultCode::malformed_request, ResultCode::malformed_message},
      {Refusal::frame_size, ResultCode::frame_size_error, ResultCode::frame_size_error},
      {Refusal::mic_invalid, ResultCode::mic_failed, ResultCode::mic_failed},
      // TS002 1.0 has no FrameReplayed.
      {Refusal::dev_nonce_replayed, ResultCode::join_req_failed, ResultCode::frame_replayed},
      {Refusal::cannot_join, ResultCode::join_req_failed, ResultCode::join_req_failed},
      {Refusal::activation_disallowed, ResultCode::activation_disallowed, ResultCode::activation_disallowed},
      {Refusal::session_keys_gone, ResultCode::other, ResultCode::other},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(static_cast<int>(row.reason));
    EXPECT_EQ(code(row.reason, ProtocolVersion::v1_0), row.v1_0);
    EXPECT_EQ(code(row.reason, ProtocolVersion::v1_1), row.v1_1);
    EXPECT_EQ(failure_answer(row.reason, ProtocolVersion::v1_1, quirks_of(Behaviour::strict), {}).http_status, 200);
  }
}

TEST(Refusal, VendorBehavioursDifferWhereMeasured) {
  // brocaar: a PHYPayload that is not a join-request, of any size, is Other; an unknown DevEUI
  // comes with HTTP 400.
  EXPECT_EQ(code(Refusal::not_a_join_frame, ProtocolVersion::v1_0, Behaviour::brocaar), ResultCode::other);
  EXPECT_EQ(code(Refusal::frame_size, ProtocolVersion::v1_0, Behaviour::brocaar), ResultCode::other);
  EXPECT_EQ(failure_answer(Refusal::unknown_device, ProtocolVersion::v1_0, quirks_of(Behaviour::brocaar), {}).http_status,
            400);
  // tts: never FrameSizeError nor FrameReplayed; Other for an unknown ProtocolVersion.
  EXPECT_EQ(code(Refusal::frame_size, ProtocolVersion::v1_1, Behaviour::tts), ResultCode::malformed_message);
  EXPECT_EQ(code(Refusal::dev_nonce_replayed, ProtocolVersion::v1_1, Behaviour::tts), ResultCode::join_req_failed);
  EXPECT_EQ(code(Refusal::unknown_protocol_version, ProtocolVersion::v1_0, Behaviour::tts), ResultCode::other);
  // What neither changes.
  for (const Behaviour b : {Behaviour::brocaar, Behaviour::tts}) {
    EXPECT_EQ(code(Refusal::mic_invalid, ProtocolVersion::v1_0, b), ResultCode::mic_failed);
    EXPECT_EQ(code(Refusal::unknown_sender, ProtocolVersion::v1_0, b), ResultCode::unknown_sender);
  }
}

TEST(Refusal, FaultsBreakTheRuleTheyName) {
  EXPECT_EQ(code(Refusal::unknown_device, ProtocolVersion::v1_0, Behaviour::strict, with(Fault::wrong_code_unknown_deveui)),
            ResultCode::other);
  EXPECT_EQ(code(Refusal::unknown_session, ProtocolVersion::v1_0, Behaviour::strict, with(Fault::wrong_code_unknown_deveui)),
            ResultCode::other);
  EXPECT_EQ(code(Refusal::mic_invalid, ProtocolVersion::v1_0, Behaviour::strict, with(Fault::wrong_code_mic_failed)),
            ResultCode::join_req_failed);
  EXPECT_EQ(code(Refusal::dev_nonce_replayed, ProtocolVersion::v1_1, Behaviour::strict, with(Fault::wrong_code_replay)),
            ResultCode::other);
  // A fault touches its own rule only.
  EXPECT_EQ(code(Refusal::mic_invalid, ProtocolVersion::v1_0, Behaviour::strict, with(Fault::wrong_code_replay)),
            ResultCode::mic_failed);
  EXPECT_EQ(failure_answer(Refusal::malformed, ProtocolVersion::v1_0, quirks_of(Behaviour::strict),
                           with(Fault::http_400_on_error))
                .http_status,
            400);
  // brocaar's 400 goes with UnknownDevEUI only: the fault's Other is answered 200.
  EXPECT_EQ(failure_answer(Refusal::unknown_device, ProtocolVersion::v1_0, quirks_of(Behaviour::brocaar),
                           with(Fault::wrong_code_unknown_deveui))
                .http_status,
            200);
}

}  // namespace
}  // namespace joincheck::sim
