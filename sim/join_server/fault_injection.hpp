#pragma once
// Where the reference JS breaks a rule on purpose (`--fault`, FaultSet in faults.hpp): one
// function per part of an answer, so the path that follows the specification (join_request.cpp,
// join_server.cpp) carries none of them. Faults that change a ResultCode or an HTTP status are
// in failure_answer() (refusal.hpp), with the codes.

#include <string>

#include "backend/messages.hpp"
#include "lorawan/join_procedure.hpp"
#include "sim/join_server/faults.hpp"

namespace joincheck::sim {

// Header of every answer: wrong_transaction_id, drop_receiver_token, no_id_swap,
// protocol_version_1_0, drop_receiver_nsid.
void inject_header_faults(backend::Header& header, const FaultSet& faults);

// The join-accept's fields before it is built: wrong_netid_in_accept, wrong_dev_addr,
// wrong_dl_settings, wrong_rx_delay, drop_cflist.
void inject_accept_field_faults(lorawan::JoinAccept& fields, const FaultSet& faults);

// The built join-accept: bad_accept_mic re-encrypts it with one MIC bit flipped, under the key
// it was encrypted with.
void inject_accept_mic_fault(lorawan::BuiltJoinAccept& built, const FaultSet& faults);

// The session keys sent in a JoinAns/RejoinAns: wrong_session_key (the network key; all three
// 1.0 network slots when `mode` is not LoRaWAN 1.1), wrong_app_s_key.
void inject_session_key_faults(lorawan::SessionKeys& keys, lorawan::JoinMode mode, const FaultSet& faults);

// The AppSKey of an AppSKeyAns: app_s_key_req_other_key, wrong_app_s_key.
void inject_app_s_key_fault(lorawan::Aes128Key& app_s_key, const FaultSet& faults);

// A key's envelope: in clear when `label` is empty or clear_key_despite_kek is set, else wrapped
// under `kek` with `label` (wrong_kek_label: a label that is not configured).
backend::KeyEnvelope key_envelope(const lorawan::Aes128Key& key, const std::string& label,
                                  const lorawan::Bytes& kek, const FaultSet& faults);

}  // namespace joincheck::sim
