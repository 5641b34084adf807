#pragma once
// Session and lifetime key derivation (LoRaWAN 1.0.3 §6.2.5, 1.0.4 §6.2.6, 1.1 §6.1.1.3-6.1.1.4,
// §6.2.2-§6.2.3; the 1.1 formulas agree with brocaar/lorawan backend/joinserver/session_keys.go and
// chirpstack/chirpstack lrwn/src/keys.rs).

#include "lorawan/crypto.hpp"
#include "lorawan/types.hpp"

namespace joincheck::lorawan {

// The session keys of a join. For 1.0.x (and a 1.1 device joined with OptNeg=0) the three
// network keys are equal: that single key is the 1.0 NwkSKey.
struct SessionKeys {
  Aes128Key f_nwk_s_int_key;
  Aes128Key s_nwk_s_int_key;
  Aes128Key nwk_s_enc_key;
  Aes128Key app_s_key;

  const Aes128Key& nwk_s_key() const { return f_nwk_s_int_key; }
  friend bool operator==(const SessionKeys&, const SessionKeys&) = default;
};

// The first byte of each derivation block, which names the key derived.
enum class KeyDerivation : std::uint8_t {
  nwk_s_key = 0x01,        // 1.0.x NwkSKey; 1.1 FNwkSIntKey
  app_s_key = 0x02,
  s_nwk_s_int_key = 0x03,  // 1.1
  nwk_s_enc_key = 0x04,    // 1.1
  js_enc_key = 0x05,       // 1.1 lifetime keys
  js_int_key = 0x06,
};

// The blocks encrypted with the root key (a secure element derives into a slot with them):
// 1.0.x  prefix | JoinNonce | NetID   | DevNonce | pad16
// 1.1    prefix | JoinNonce | JoinEUI | DevNonce | pad16
// JS     prefix | DevEUI | pad16
// all fields in wire order.
Block session_key_block(KeyDerivation prefix, JoinNonce join_nonce, const NetId& net_id,
                        DevNonce dev_nonce);
Block session_key_block(KeyDerivation prefix, JoinNonce join_nonce, const Eui64& join_eui,
                        DevNonce dev_nonce);
Block js_key_block(KeyDerivation prefix, const Eui64& dev_eui);

// 1.0.x: NwkSKey = E(root, 01|JoinNonce|NetID|DevNonce|pad16), AppSKey = E(root, 02|...).
// `root` is the AppKey of a 1.0.x device, or the NwkKey of a 1.1 device joined with OptNeg=0.
// The KeyRef forms take a key whose schedule is already set up (KeySchedule) or a key in a
// secure element; the Aes128Key forms set it up for this call.
SessionKeys derive_session_keys_1_0(const Aes128Key& root, JoinNonce join_nonce,
                                    const NetId& net_id, DevNonce dev_nonce);
SessionKeys derive_session_keys_1_0(const KeyRef& root, JoinNonce join_nonce,
                                    const NetId& net_id, DevNonce dev_nonce);

// 1.1 with OptNeg=1: F/S/NwkSEnc = E(NwkKey, 01/03/04|JoinNonce|JoinEUI|DevNonce|pad16),
// AppSKey = E(AppKey, 02|...). For a rejoin, `dev_nonce` is RJcount0/RJcount1.
SessionKeys derive_session_keys_1_1(const Aes128Key& nwk_key, const Aes128Key& app_key,
                                    JoinNonce join_nonce, const Eui64& join_eui,
                                    DevNonce dev_nonce);
SessionKeys derive_session_keys_1_1(const KeyRef& nwk_key, const KeyRef& app_key,
                                    JoinNonce join_nonce, const Eui64& join_eui,
                                    DevNonce dev_nonce);

// 1.1 lifetime keys: JSIntKey = E(NwkKey, 06|DevEUI|pad16), JSEncKey = E(NwkKey, 05|DevEUI|pad16).
struct JsKeys {
  Aes128Key js_int_key;
  Aes128Key js_enc_key;
};
JsKeys derive_js_keys(const Aes128Key& nwk_key, const Eui64& dev_eui);
JsKeys derive_js_keys(const KeyRef& nwk_key, const Eui64& dev_eui);

}  // namespace joincheck::lorawan
