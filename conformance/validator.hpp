#pragma once
// The exchange validator: the checks that apply to every answer (DESIGN.md "Checks that always
// apply"), judged from what the NS client recorded (sim::Exchange: status, headers, body, the
// codec's observations) and what the harness sent. The device takes the join-accept as a real
// device would (sim::SimDevice::accept), so the join-accept checks and the session keys are
// judged with the device's own derivation, never with the JS's formulas.
//
// The validator judges and records; it neither prints nor decides what a scenario expected.
// A violated check is reported as Verdict::fail whatever its level: the runner's recorder
// (conformance/recorder.hpp) turns it into a warning for SHOULD/INFO checks and applies the
// profile.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "backend/codec.hpp"
#include "backend/key_envelope.hpp"
#include "backend/messages.hpp"
#include "conformance/result.hpp"
#include "lorawan/types.hpp"
#include "sim/device/device.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

// What the harness sent and knows, for one exchange.
struct SentRequest {
  backend::MessageType type = backend::MessageType::join_req;
  // The header as the target received it. `header_meaningful` is false for a body the target
  // cannot read a header from (raw or invalid JSON): header echo checks are then not judged.
  backend::Header header;
  bool header_meaningful = true;
  // ProtocolVersion text sent, when it is not "1.0"/"1.1" (a "2.0" test): echo is not judged.
  bool protocol_version_unsupported = false;
  // A deliberately inconsistent request (OptNeg contradicting MACVersion): JSs answer it in
  // different ways, so a join-accept it gets is neither taken by the device nor judged; only
  // the scenario's own expectation (a SHOULD) applies.
  bool inconsistent = false;

  // JoinReq / RejoinReq as sent.
  std::optional<lorawan::MacVersion> mac_version;  // the LoRaWAN version meant by MACVersion
  std::optional<lorawan::NetId> net_id;            // the requesting NS (SenderID)
  std::optional<lorawan::DevAddr> dev_addr;
  std::optional<std::uint8_t> dl_settings;
  std::optional<std::uint8_t> rx_delay;
  std::optional<lorawan::CfList> cf_list;
};

// Per-device memory the JoinNonce checks need across exchanges.
struct DeviceHistory {
  std::set<std::uint32_t> join_nonces;  // every JoinNonce the device accepted
};

struct ValidatorSettings {
  const backend::KekTable* keks = nullptr;  // the NS's (and AS's) KEKs
  // The NS shares a KEK with the target: network session keys should come wrapped.
  bool expect_wrapped_network_keys = false;
  // The harness holds the JS-AS KEK (capability as-kek), labelled `as_kek_label`. Every other
  // label of `keks` is the NS's.
  bool has_as_kek = false;
  std::string as_kek_label;
  bool reveal_keys = false;
  std::chrono::milliseconds deadline{5000};
  // Passed checks are judgements too (a run reports what passed), and the trace keeps notes and
  // the decoded join-accept. The load generator, which counts only what failed, sets this: only
  // failed and unjudged checks are recorded, and the words of a pass are never built.
  bool failures_only = false;
};

// A verdict on one check, from one exchange.
struct Judgement {
  std::string check;
  Evaluation evaluation;
};

// What the answer said, for the scenario runner's expectations and later steps.
struct AnswerSummary {
  bool answered = false;  // an answer was decoded
  std::optional<backend::ResultCode> result;
  std::string result_text;  // "MICFailed (description)" or why there is none
  std::string description;  // the Result's Description alone; "" when none
  bool has_phy_payload = false;
  bool has_keys = false;
  // A join the device accepted.
  bool device_accepted = false;
  std::string device_refusal;  // why the device refused the join-accept
  std::optional<lorawan::Bytes> session_key_id;
  std::optional<lorawan::Aes128Key> app_s_key;  // unwrapped from the answer, when possible
  std::string app_s_key_problem;                // why app_s_key is absent
  const backend::Message* message = nullptr;    // the decoded answer (owned by the Exchange)
};

struct Validation {
  std::vector<Judgement> judgements;
  std::vector<std::string> notes;  // for the trace: decoded join-accept, keys (redacted)
  std::optional<TraceJoinAccept> join_accept;  // the join-accept the device decrypted
  AnswerSummary answer;
};

// Judges one exchange. `device` (null for requests without one) takes the join-accept of a
// successful JoinAns/RejoinAns; `history` is that device's.
Validation validate_exchange(const sim::Exchange& exchange, const SentRequest& sent,
                             sim::SimDevice* device, DeviceHistory* history,
                             const ValidatorSettings& settings);

// An exchange as the trace of a verdict: what was sent (headers as sent, Authorization
// redacted unless `reveal`), what came back, keys in bodies redacted unless `reveal`.
TraceExchange trace_of(const sim::Exchange& exchange, const std::string& label,
                       const std::vector<backend::HttpHeader>& extra_headers, bool reveal);

// "<redacted 16-byte key>" or the hex, by `reveal`.
std::string show_key(const lorawan::Aes128Key& key, bool reveal);
// A device's session key: its value as show_key() does, or, for a key that stays in a secure
// element, that it is compared by key check value.
std::string show_device_key(const sim::SessionKeyCheck& key, bool reveal);
// `text` (JSON, or what a peer sent for JSON) with the value of every member whose name ends in
// "Key" (any letter case: AESKey, AppSKey, NwkSkey, ...) replaced by "<redacted>", unless
// `reveal`. One linear pass; text that is not JSON is scanned the same way.
std::string redact_keys(const std::string& text, bool reveal);

// At most this much of a peer's body is kept in a trace (and so in the JSON, JUnit and Python
// reports): a hostile JS answering 4 MiB to every exchange would otherwise hold hundreds of MB
// and write reports as large. TS002 answers are under 2 KiB.
inline constexpr std::size_t kMaxTraceBodyBytes = 64 * 1024;
// A peer's body as a trace keeps it: redact_keys() on the whole text, then cut to
// kMaxTraceBodyBytes with "... (N more bytes)".
std::string body_for_trace(const std::string& text, bool reveal);

}  // namespace joincheck::conformance
