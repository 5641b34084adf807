#include "lorawan/session_keys.hpp"

#include "lorawan/crypto.hpp"

namespace joincheck::lorawan {
namespace {

// prefix | JoinNonce | (NetID or JoinEUI) | DevNonce | pad16, all fields in wire order.
template <class Id>
Block derivation_block(KeyDerivation prefix, JoinNonce join_nonce, const Id& id, DevNonce dev_nonce) {
  Block b{};
  std::size_t i = 0;
  b[i++] = static_cast<std::uint8_t>(prefix);
  for (auto byte : join_nonce.wire()) b[i++] = byte;
  for (auto byte : id.wire()) b[i++] = byte;
  for (auto byte : dev_nonce.wire()) b[i++] = byte;
  return b;
}

Aes128Key to_key(const Block& b) { return Aes128Key(b); }

}  // namespace

Block session_key_block(KeyDerivation prefix, JoinNonce join_nonce, const NetId& net_id,
                        DevNonce dev_nonce) {
  return derivation_block(prefix, join_nonce, net_id, dev_nonce);
}

Block session_key_block(KeyDerivation prefix, JoinNonce join_nonce, const Eui64& join_eui,
                        DevNonce dev_nonce) {
  return derivation_block(prefix, join_nonce, join_eui, dev_nonce);
}

Block js_key_block(KeyDerivation prefix, const Eui64& dev_eui) {
  Block b{};
  b[0] = static_cast<std::uint8_t>(prefix);
  const auto wire = dev_eui.wire();
  std::copy(wire.begin(), wire.end(), b.begin() + 1);
  return b;
}

SessionKeys derive_session_keys_1_0(const Aes128Key& root, JoinNonce join_nonce,
                                    const NetId& net_id, DevNonce dev_nonce) {
  Aes128 aes(root);
  const Aes128Key nwk = to_key(aes.encrypt(derivation_block(KeyDerivation::nwk_s_key, join_nonce, net_id, dev_nonce)));
  const Aes128Key app = to_key(aes.encrypt(derivation_block(KeyDerivation::app_s_key, join_nonce, net_id, dev_nonce)));
  return SessionKeys{nwk, nwk, nwk, app};
}

SessionKeys derive_session_keys_1_1(const Aes128Key& nwk_key, const Aes128Key& app_key,
                                    JoinNonce join_nonce, const Eui64& join_eui,
                                    DevNonce dev_nonce) {
  Aes128 nwk(nwk_key);
  SessionKeys k;
  k.f_nwk_s_int_key = to_key(nwk.encrypt(derivation_block(KeyDerivation::nwk_s_key, join_nonce, join_eui, dev_nonce)));
  k.s_nwk_s_int_key = to_key(nwk.encrypt(derivation_block(KeyDerivation::s_nwk_s_int_key, join_nonce, join_eui, dev_nonce)));
  k.nwk_s_enc_key = to_key(nwk.encrypt(derivation_block(KeyDerivation::nwk_s_enc_key, join_nonce, join_eui, dev_nonce)));
  k.app_s_key = to_key(Aes128(app_key).encrypt(derivation_block(KeyDerivation::app_s_key, join_nonce, join_eui, dev_nonce)));
  return k;
}

JsKeys derive_js_keys(const Aes128Key& nwk_key, const Eui64& dev_eui) {
  Aes128 aes(nwk_key);
  return JsKeys{to_key(aes.encrypt(js_key_block(KeyDerivation::js_int_key, dev_eui))),
                to_key(aes.encrypt(js_key_block(KeyDerivation::js_enc_key, dev_eui)))};
}

}  // namespace joincheck::lorawan
