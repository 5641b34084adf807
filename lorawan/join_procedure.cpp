#include "lorawan/join_procedure.hpp"

namespace joincheck::lorawan {
namespace {

const Aes128Key& need(const std::optional<Aes128Key>& key, const char* what) {
  if (!key) throw Error(std::string("join-accept: ") + what + " is needed and was not given");
  return *key;
}

}  // namespace

std::string_view to_string(JoinMode mode) {
  switch (mode) {
    case JoinMode::lorawan_1_0: return "LoRaWAN 1.0.x";
    case JoinMode::lorawan_1_1_opt_neg_0: return "LoRaWAN 1.1 device, OptNeg=0 (1.0 formulas with NwkKey)";
    case JoinMode::lorawan_1_1: return "LoRaWAN 1.1, OptNeg=1";
  }
  return "?";
}

JoinMode join_mode_for(MacVersion negotiated, bool device_has_nwk_key) {
  if (!device_has_nwk_key) return JoinMode::lorawan_1_0;
  return is_1_1(negotiated) ? JoinMode::lorawan_1_1 : JoinMode::lorawan_1_1_opt_neg_0;
}

JoinMode device_join_mode(bool device_1_1, JoinReqType type, const DlSettings& dl_settings) {
  if (!device_1_1) return JoinMode::lorawan_1_0;
  if (type != JoinReqType::join || dl_settings.opt_neg()) return JoinMode::lorawan_1_1;
  return JoinMode::lorawan_1_1_opt_neg_0;
}

// Each key's AES schedule is set up once per join (KeySchedule) and serves every operation with
// that key: the MIC, the key derivation and the join-accept encryption.
BuiltJoinAccept build_join_accept(JoinMode mode, const RootKeys& keys, const JoinContext& ctx,
                                  const JoinAccept& fields) {
  BuiltJoinAccept out;
  out.accept = fields;
  Aes128Key& encryption_key = out.encryption_key;
  switch (mode) {
    case JoinMode::lorawan_1_0:
    case JoinMode::lorawan_1_1_opt_neg_0: {
      const Aes128Key& root = mode == JoinMode::lorawan_1_0 ? need(keys.app_key, "the AppKey")
                                                            : need(keys.nwk_key, "the NwkKey");
      const KeySchedule root_schedule(root);
      out.accept.mic = join_accept_mic_1_0(root_schedule, out.accept);
      out.keys = derive_session_keys_1_0(root_schedule, fields.join_nonce, fields.net_id, ctx.dev_nonce);
      encryption_key = root;
      out.phy_payload = encrypt_join_accept(encode_join_accept_plaintext(out.accept), root_schedule);
      break;
    }
    case JoinMode::lorawan_1_1: {
      const Aes128Key& nwk_key = need(keys.nwk_key, "the NwkKey");
      const Aes128Key& app_key = need(keys.app_key, "the AppKey");
      const KeySchedule nwk(nwk_key);
      const JsKeys js = derive_js_keys(nwk, ctx.dev_eui);
      out.accept.mic = join_accept_mic_1_1(KeySchedule(js.js_int_key), ctx.type, ctx.join_eui,
                                           ctx.dev_nonce, out.accept);
      out.keys = derive_session_keys_1_1(nwk, KeySchedule(app_key), fields.join_nonce,
                                         ctx.join_eui, ctx.dev_nonce);
      const Bytes plaintext = encode_join_accept_plaintext(out.accept);
      if (ctx.type == JoinReqType::join) {
        encryption_key = nwk_key;
        out.phy_payload = encrypt_join_accept(plaintext, nwk);
      } else {
        encryption_key = js.js_enc_key;
        out.phy_payload = encrypt_join_accept(plaintext, KeySchedule(js.js_enc_key));
      }
      break;
    }
  }
  return out;
}

OpenedJoinAccept open_join_accept(ByteSpan phy, const OpenJoinAcceptInput& in) {
  OpenedJoinAccept out;
  const bool rejoin = in.type != JoinReqType::join;
  if (rejoin && !in.device_1_1) {
    throw Error("join-accept: a rejoin answer (JoinReqType " + std::string(to_string(in.type)) +
                ") needs a LoRaWAN 1.1 device: give the NwkKey");
  }
  // The NwkKey's schedule serves the JS keys, the decryption of a join answer and the network
  // session keys.
  std::optional<KeySchedule> nwk;
  const auto nwk_schedule = [&]() -> const KeySchedule& {
    if (!nwk) nwk.emplace(need(in.keys.nwk_key, "the NwkKey"));
    return *nwk;
  };
  if (in.device_1_1 && in.dev_eui) out.js_keys = derive_js_keys(nwk_schedule(), *in.dev_eui);

  std::optional<KeySchedule> other;  // the AppKey of a 1.0 device, or JSEncKey
  const KeySchedule* decryption = nullptr;
  if (!in.device_1_1) {
    decryption = &other.emplace(need(in.keys.app_key, "the AppKey"));
  } else if (!rejoin) {
    decryption = &nwk_schedule();
  } else {
    if (!out.js_keys) throw Error("join-accept: the DevEUI is needed to derive JSEncKey, which encrypts a rejoin answer");
    decryption = &other.emplace(out.js_keys->js_enc_key);
  }
  out.plaintext = decrypt_join_accept(phy, *decryption);
  out.accept = parse_join_accept_plaintext(out.plaintext);

  out.mode = device_join_mode(in.device_1_1, in.type, out.accept.dl_settings);

  if (out.mode != JoinMode::lorawan_1_1) {
    out.expected_mic = join_accept_mic_1_0(*decryption, out.accept);
    out.mic_valid = *out.expected_mic == out.accept.mic;
    if (in.dev_nonce) {
      out.keys = derive_session_keys_1_0(*decryption, out.accept.join_nonce, out.accept.net_id,
                                         *in.dev_nonce);
      out.app_s_key_derived = true;
    } else {
      out.keys_note = "session keys need the DevNonce of the join-request";
    }
    return out;
  }

  std::string missing;
  auto note_missing = [&](bool have, const char* name) {
    if (!have) missing += missing.empty() ? name : std::string(", ") + name;
  };
  note_missing(out.js_keys.has_value(), "DevEUI");
  note_missing(in.join_eui.has_value(), "JoinEUI");
  note_missing(in.dev_nonce.has_value(), rejoin ? "RJcount (as DevNonce)" : "DevNonce");
  if (!missing.empty()) {
    out.mic_note = "the 1.1 MIC (OptNeg=1) covers JoinReqType, JoinEUI and DevNonce and uses "
                   "JSIntKey; missing: " + missing;
    out.keys_note = "session keys need " + missing;
    return out;
  }
  out.expected_mic = join_accept_mic_1_1(KeySchedule(out.js_keys->js_int_key), in.type,
                                         *in.join_eui, *in.dev_nonce, out.accept);
  out.mic_valid = *out.expected_mic == out.accept.mic;
  if (in.keys.app_key) {
    out.keys = derive_session_keys_1_1(nwk_schedule(), KeySchedule(*in.keys.app_key), out.accept.join_nonce,
                                       *in.join_eui, *in.dev_nonce);
    out.app_s_key_derived = true;
  } else {
    // The network keys come from the NwkKey alone; AppSKey needs the AppKey.
    out.keys = derive_session_keys_1_1(nwk_schedule(), KeySchedule(Aes128Key{}), out.accept.join_nonce,
                                       *in.join_eui, *in.dev_nonce);
    out.keys_note = "AppSKey needs the AppKey; only the network session keys were derived";
  }
  return out;
}

}  // namespace joincheck::lorawan
