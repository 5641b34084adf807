#pragma once
// Switchable deviations of the reference Join Server. Each fault is one named violation of a
// requirement the conformance suite checks, so every check can be proven both ways: it passes
// against the strict JS and fails against the JS with that fault. A quirk set (`behave_like`)
// is the documented behaviour of a real JS (shared/reference/backend-interfaces.md §5).

#include <chrono>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace joincheck::sim {

enum class Fault {
  // DevNonce / JoinNonce
  accept_replayed_devnonce,   // no DevNonce check at all
  reuse_joinnonce,            // the previous JoinNonce again
  // Join-accept
  bad_accept_mic,             // one bit of the join-accept MIC flipped
  wrong_netid_in_accept,      // NetID in the accept is not the requester's
  drop_cflist,                // CFList requested, none in the accept
  wrong_dev_addr,             // DevAddr in the accept is not the requested one
  wrong_dl_settings,          // DLSettings not copied
  wrong_rx_delay,             // RxDelay not copied
  accept_bad_mic,             // a join-request with a wrong MIC is answered Success
  // Session keys and envelopes
  wrong_session_key,          // the network session key sent is not the derived one
  wrong_app_s_key,            // the AppSKey sent is not the derived one
  clear_key_despite_kek,      // a KEK is configured, the key goes in clear
  wrong_kek_label,            // the label is not the configured one
  no_lifetime,                // Lifetime omitted
  no_session_key_id,          // SessionKeyID omitted
  app_s_key_req_other_key,    // AppSKeyAns returns a key other than the JoinAns one
  // Header
  wrong_transaction_id,       // TransactionID not echoed
  drop_receiver_token,        // SenderToken not echoed as ReceiverToken
  no_id_swap,                 // SenderID/ReceiverID not swapped
  protocol_version_1_0,       // always answers ProtocolVersion "1.0"
  drop_receiver_nsid,         // TS002 1.1: SenderNSID not echoed as ReceiverNSID
  // Result codes and HTTP
  http_400_on_error,          // failures answered with HTTP 400
  wrong_code_unknown_deveui,  // unknown DevEUI answered "Other"
  wrong_code_mic_failed,      // bad MIC answered "JoinReqFailed"
  wrong_code_replay,          // replayed DevNonce answered "Other"
  ignore_receiver_id,         // any ReceiverID accepted
  ignore_sender_id,           // any SenderID accepted, client CA not checked
  ignore_protocol_version,    // an unknown ProtocolVersion processed as 1.0
  wrong_content_type,         // answers with Content-Type text/plain
  // Async
  async_wrong_transaction_id, // the async answer carries another TransactionID
  async_no_answer,            // acknowledges, never posts the answer
  // Timing
  slow_answer,                // waits `slow_answer` before answering
};

struct FaultSet {
  std::set<Fault> faults;
  std::chrono::milliseconds slow_answer{0};

  bool has(Fault f) const { return faults.count(f) != 0; }
  bool empty() const { return faults.empty(); }
};

std::string_view to_string(Fault fault);
// "accept-replayed-devnonce", ...; "slow-answer=250" sets the delay in milliseconds.
// Throws std::invalid_argument listing the known names.
void add_fault(FaultSet& set, std::string_view spec);
// Every fault with a one-line description, for --help and `joincheck serve-js --list-faults`.
struct FaultInfo {
  Fault fault;
  std::string_view name;
  std::string_view description;
};
std::span<const FaultInfo> all_faults();

// Documented behaviour of real Join Servers.
enum class Behaviour {
  strict,    // the specification alone (default)
  brocaar,   // brocaar/lorawan backend/joinserver, as hosted by ChirpStack AS v3
  tts,       // The Things Stack pkg/interop + joinserver
};
std::string_view to_string(Behaviour behaviour);
std::optional<Behaviour> parse_behaviour(std::string_view name);

// What a behaviour changes, beyond faults.
struct Quirks {
  bool protocol_version_always_1_0 = false;   // brocaar
  bool drop_sender_token = false;             // brocaar
  bool no_devnonce_check = false;             // brocaar
  bool http_400_unknown_dev_eui = false;      // brocaar
  bool bare_result_on_malformed = false;      // brocaar: 400 + {"ResultCode":"Other",...}
  bool no_lifetime = false;                   // brocaar
  bool no_session_key_id = false;             // brocaar
  bool kek_label_is_sender_id = false;        // brocaar
  bool keys_by_opt_neg = false;               // brocaar: 1.0 vs 1.1 keys chosen by OptNeg
  bool uppercase_hex = false;                 // tts
  bool reject_rejoin = false;                 // tts: RejoinReq answered MalformedRequest/Message
  bool other_for_unknown_protocol_version = false;  // tts
  bool empty_400_on_bad_header = false;       // tts
  bool join_req_failed_for_unknown_receiver = false;  // tts: JoinEUI outside its prefixes
};
Quirks quirks_of(Behaviour behaviour);

}  // namespace joincheck::sim
