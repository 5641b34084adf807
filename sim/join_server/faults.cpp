#include "sim/join_server/faults.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace joincheck::sim {
namespace {

constexpr FaultInfo kFaults[] = {
    {Fault::accept_replayed_devnonce, "accept-replayed-devnonce", "no DevNonce replay check"},
    {Fault::reuse_joinnonce, "reuse-joinnonce", "issues the previous JoinNonce again"},
    {Fault::bad_accept_mic, "bad-accept-mic", "flips a bit of the join-accept MIC"},
    {Fault::wrong_netid_in_accept, "wrong-netid-in-accept", "puts another NetID in the join-accept"},
    {Fault::drop_cflist, "drop-cflist", "leaves the requested CFList out of the join-accept"},
    {Fault::wrong_dev_addr, "wrong-dev-addr", "puts another DevAddr in the join-accept"},
    {Fault::wrong_dl_settings, "wrong-dl-settings", "does not copy DLSettings (RX2DR changed)"},
    {Fault::wrong_rx_delay, "wrong-rx-delay", "does not copy RxDelay"},
    {Fault::accept_bad_mic, "accept-bad-mic", "answers Success to a join-request with a wrong MIC"},
    {Fault::wrong_session_key, "wrong-session-key", "sends a network session key other than the derived one"},
    {Fault::wrong_app_s_key, "wrong-app-s-key", "sends an AppSKey other than the derived one"},
    {Fault::clear_key_despite_kek, "clear-key-despite-kek", "sends keys in clear although a KEK is configured"},
    {Fault::wrong_kek_label, "wrong-kek-label", "labels wrapped keys with a label that is not configured"},
    {Fault::no_lifetime, "no-lifetime", "omits Lifetime from JoinAns"},
    {Fault::no_session_key_id, "no-session-key-id", "omits SessionKeyID from JoinAns"},
    {Fault::app_s_key_req_other_key, "app-s-key-req-other-key", "AppSKeyAns returns another key than JoinAns did"},
    {Fault::wrong_transaction_id, "wrong-transaction-id", "does not echo TransactionID"},
    {Fault::drop_receiver_token, "drop-receiver-token", "does not echo SenderToken as ReceiverToken"},
    {Fault::no_id_swap, "no-id-swap", "does not swap SenderID and ReceiverID in the answer"},
    {Fault::protocol_version_1_0, "protocol-version-1.0", "always answers ProtocolVersion 1.0"},
    {Fault::drop_receiver_nsid, "drop-receiver-nsid", "TS002 1.1: does not echo SenderNSID as ReceiverNSID"},
    {Fault::http_400_on_error, "http-400-on-error", "answers failures with HTTP 400"},
    {Fault::wrong_code_unknown_deveui, "wrong-code-unknown-deveui", "answers an unknown DevEUI with Other"},
    {Fault::wrong_code_mic_failed, "wrong-code-mic-failed", "answers a bad MIC with JoinReqFailed"},
    {Fault::wrong_code_replay, "wrong-code-replay", "answers a replayed DevNonce with Other"},
    {Fault::ignore_receiver_id, "ignore-receiver-id", "accepts any ReceiverID"},
    {Fault::ignore_sender_id, "ignore-sender-id", "accepts any SenderID and any client certificate"},
    {Fault::ignore_protocol_version, "ignore-protocol-version", "processes an unknown ProtocolVersion as 1.0"},
    {Fault::wrong_content_type, "wrong-content-type", "answers with Content-Type text/plain"},
    {Fault::async_wrong_transaction_id, "async-wrong-transaction-id", "the async answer carries another TransactionID"},
    {Fault::async_no_answer, "async-no-answer", "acknowledges an async request and never answers"},
    {Fault::slow_answer, "slow-answer", "slow-answer=MS waits MS milliseconds before answering"},
};

}  // namespace

std::string_view to_string(Fault fault) {
  for (const auto& f : kFaults) {
    if (f.fault == fault) return f.name;
  }
  return "?";
}

std::span<const FaultInfo> all_faults() { return kFaults; }

void add_fault(FaultSet& set, std::string_view spec) {
  std::string_view name = spec;
  std::string_view value;
  const auto eq = spec.find('=');
  if (eq != std::string_view::npos) {
    name = spec.substr(0, eq);
    value = spec.substr(eq + 1);
  }
  for (const auto& f : kFaults) {
    if (f.name != name) continue;
    if (f.fault == Fault::slow_answer) {
      const bool digits = !value.empty() && value.size() <= 7 &&
                          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (value.empty()) {
        throw std::invalid_argument("fault slow-answer: expected slow-answer=MILLISECONDS");
      }
      if (!digits) {
        throw std::invalid_argument("fault slow-answer: expected a number of milliseconds, got \"" +
                                    std::string(value) + "\" (digits only, at most 9999999)");
      }
      set.slow_answer = std::chrono::milliseconds(std::stol(std::string(value)));
    } else if (eq != std::string_view::npos) {
      throw std::invalid_argument("fault " + std::string(name) + " takes no value, got \"" +
                                  std::string(spec) + "\"");
    }
    set.faults.insert(f.fault);
    return;
  }
  std::string known;
  for (const auto& f : kFaults) known += (known.empty() ? "" : ", ") + std::string(f.name);
  throw std::invalid_argument("unknown fault \"" + std::string(name) + "\"; known faults: " + known);
}

std::string_view to_string(Behaviour behaviour) {
  switch (behaviour) {
    case Behaviour::strict: return "strict";
    case Behaviour::brocaar: return "brocaar";
    case Behaviour::tts: return "tts";
  }
  return "?";
}

std::optional<Behaviour> parse_behaviour(std::string_view name) {
  if (name == "strict") return Behaviour::strict;
  if (name == "brocaar" || name == "chirpstack-v3") return Behaviour::brocaar;
  if (name == "tts" || name == "the-things-stack") return Behaviour::tts;
  return std::nullopt;
}

Quirks quirks_of(Behaviour behaviour) {
  Quirks q;
  switch (behaviour) {
    case Behaviour::strict:
      break;
    case Behaviour::brocaar:  // measured, and brocaar/lorawan backend/joinserver (docs/profiles.md#brocaar)
      q.text_plain_answers = true;
      q.receiver_id_not_compared = true;
      q.protocol_version_always_1_0 = true;
      q.drop_sender_token = true;
      q.no_receiver_nsid = true;
      q.ignore_sender_nsid = true;
      q.no_devnonce_check = true;
      q.http_400_unknown_dev_eui = true;
      q.bare_result_on_malformed = true;
      q.bare_result_on_bad_hex = true;
      q.missing_dl_settings_is_zero = true;
      q.any_sender_id = true;
      q.serve_unknown_protocol_version = true;
      q.no_app_s_key_req = true;
      q.other_for_bad_phy_payload = true;
      q.no_lifetime = true;
      q.no_session_key_id = true;
      q.kek_label_is_sender_id = true;
      q.keys_by_opt_neg = true;
      q.rejoin_keys_1_0_layout = true;
      break;
    case Behaviour::tts:  // lorawan-stack pkg/interop, pkg/joinserver (docs/profiles.md#tts)
      q.text_plain_answers = true;
      q.receiver_id_not_compared = true;
      q.uppercase_hex = true;
      q.reject_rejoin = true;
      q.other_for_unknown_protocol_version = true;
      q.empty_400_on_bad_header = true;
      q.join_req_failed_for_unknown_join_eui = true;
      q.replay_is_join_req_failed = true;
      q.malformed_for_frame_size = true;
      q.canonical_mac_version_only = true;
      q.sender_nsid_refused_under_1_0 = true;
      q.opt_neg_not_checked = true;
      q.home_ns_without_hns_id = true;
      break;
  }
  return q;
}

}  // namespace joincheck::sim
