#pragma once
// Switchable deviations of the reference Join Server. Each fault is one named violation of a
// requirement the conformance suite checks, so every check can be proven both ways: it passes
// against the strict JS and fails against the JS with that fault. A quirk set (`behave_like`)
// imitates a real JS as it was measured or read in its source; docs/profiles.md gives the
// evidence for each quirk, and the profile of the same name documents the deviations it shows.

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

// What a behaviour changes, beyond faults. Evidence per quirk: docs/profiles.md.
struct Quirks {
  // Both
  bool text_plain_answers = false;            // Content-Type text/plain; charset=utf-8 (Go's sniffing)
  bool receiver_id_not_compared = false;      // any ReceiverID is served
  // brocaar/lorawan backend/joinserver (ChirpStack AS v3)
  bool protocol_version_always_1_0 = false;   // answers "1.0" whatever was asked
  bool drop_sender_token = false;             // no ReceiverToken
  bool no_receiver_nsid = false;              // no ReceiverNSID
  bool ignore_sender_nsid = false;            // TS002 1.1 without SenderNSID is served
  bool no_devnonce_check = false;
  bool http_400_unknown_dev_eui = false;      // 400 + a full answer with UnknownDevEUI
  bool bare_result_on_malformed = false;      // 400 + {"ResultCode":"Other","Description":...}
  bool bare_result_on_bad_hex = false;        // the same for 0x-prefixed or bad hex (Go encoding/hex)
  bool missing_dl_settings_is_zero = false;   // a JoinReq without DLSettings gets DLSettings 00
  bool any_sender_id = false;                 // no UnknownSender: any NetID is served
  bool serve_unknown_protocol_version = false;// "2.0" is served like "1.0"
  bool no_app_s_key_req = false;              // AppSKeyReq: 400 + bare Result, "invalid MessageType"
  bool other_for_bad_phy_payload = false;     // a PHYPayload that is not a join-request frame: Other
  bool no_lifetime = false;
  bool no_session_key_id = false;
  bool kek_label_is_sender_id = false;        // the NS KEK label is the SenderID as sent
  bool keys_by_opt_neg = false;               // 1.0 vs 1.1 keys chosen by OptNeg, not MACVersion
  bool rejoin_keys_1_0_layout = false;        // the bug: rejoin keys E(NwkKey, t|JoinNonce|NetID|RJcount)
  // The Things Stack pkg/interop + pkg/joinserver
  bool uppercase_hex = false;
  bool reject_rejoin = false;                 // RejoinReq answered MalformedRequest/Message
  bool other_for_unknown_protocol_version = false;
  bool empty_400_on_bad_header = false;
  bool join_req_failed_for_unknown_join_eui = false;  // the PHYPayload JoinEUI outside its prefixes
  bool replay_is_join_req_failed = false;     // under TS002 1.1 too (never FrameReplayed)
  bool malformed_for_frame_size = false;      // never FrameSizeError
  bool canonical_mac_version_only = false;    // "1.1.0", "1.0.0": MalformedRequest/Message
  bool sender_nsid_refused_under_1_0 = false; // SenderNSID in a TS002 1.0 request: malformed
  bool opt_neg_not_checked = false;           // OptNeg contradicting MACVersion is served
  bool home_ns_without_hns_id = false;        // JS-only: HomeNSAns has no HNSID
};
Quirks quirks_of(Behaviour behaviour);

}  // namespace joincheck::sim
