#include "sim/join_server/fault_injection.hpp"

#include <utility>

#include "lorawan/join_frames.hpp"

namespace joincheck::sim {

using namespace joincheck::lorawan;

namespace {

// Another key: its last byte inverted.
void spoil(Aes128Key& key) {
  auto b = key.bytes();
  b[15] ^= 0xff;
  key = Aes128Key(b);
}

}  // namespace

void inject_header_faults(backend::Header& h, const FaultSet& f) {
  if (f.has(Fault::wrong_transaction_id)) h.transaction_id ^= 0x5a5a5a5au;
  if (f.has(Fault::drop_receiver_token)) h.receiver_token.reset();
  if (f.has(Fault::no_id_swap)) std::swap(h.sender_id, h.receiver_id);
  if (f.has(Fault::protocol_version_1_0)) h.protocol_version = backend::ProtocolVersion::v1_0;
  if (f.has(Fault::drop_receiver_nsid)) h.receiver_ns_id.reset();
}

void inject_accept_field_faults(JoinAccept& fields, const FaultSet& f) {
  if (f.has(Fault::wrong_netid_in_accept)) fields.net_id = NetId({0xff, 0xff, 0xfe});
  if (f.has(Fault::wrong_dev_addr)) fields.dev_addr = DevAddr({0xde, 0xad, 0xbe, 0xef});
  if (f.has(Fault::wrong_dl_settings)) fields.dl_settings.raw ^= 0x01;
  if (f.has(Fault::wrong_rx_delay)) fields.rx_delay = static_cast<std::uint8_t>((fields.rx_delay + 1) & 0x0f);
  if (f.has(Fault::drop_cflist)) fields.cf_list.reset();
}

void inject_accept_mic_fault(BuiltJoinAccept& built, const FaultSet& f) {
  if (!f.has(Fault::bad_accept_mic)) return;
  Bytes plain = encode_join_accept_plaintext(built.accept);
  if (!plain.empty()) plain.back() ^= 0x01;  // the last byte is the MIC's
  built.phy_payload = encrypt_join_accept(plain, built.encryption_key);
}

void inject_session_key_faults(SessionKeys& keys, JoinMode mode, const FaultSet& f) {
  if (f.has(Fault::wrong_session_key)) {
    auto b = keys.f_nwk_s_int_key.bytes();
    b[0] ^= 0xff;
    keys.f_nwk_s_int_key = Aes128Key(b);
    if (mode != JoinMode::lorawan_1_1) keys.s_nwk_s_int_key = keys.nwk_s_enc_key = keys.f_nwk_s_int_key;
  }
  if (f.has(Fault::wrong_app_s_key)) spoil(keys.app_s_key);
}

void inject_app_s_key_fault(Aes128Key& app_s_key, const FaultSet& f) {
  if (f.has(Fault::app_s_key_req_other_key) || f.has(Fault::wrong_app_s_key)) spoil(app_s_key);
}

backend::KeyEnvelope key_envelope(const Aes128Key& key, const std::string& label, const Bytes& kek,
                                  const FaultSet& f) {
  if (label.empty() || f.has(Fault::clear_key_despite_kek)) return backend::KeyEnvelope::clear(key);
  return backend::KeyEnvelope::wrap(key, f.has(Fault::wrong_kek_label) ? label + "-wrong" : label, kek);
}

}  // namespace joincheck::sim
