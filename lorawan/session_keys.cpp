#include "lorawan/session_keys.hpp"

#include <algorithm>
#include <array>

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

// Independent blocks encrypted with one key, in one encrypt_blocks call (for a KeySchedule, one
// OpenSSL call, whose fixed cost is most of the cost of a block).
template <std::size_t N>
std::array<Block, N> encrypt_all(const KeyRef& key, const std::array<Block, N>& in) {
  std::array<std::uint8_t, 16 * N> buf;
  for (std::size_t i = 0; i < N; ++i) std::copy(in[i].begin(), in[i].end(), buf.begin() + 16 * i);
  key.encrypt_blocks(buf, buf);
  std::array<Block, N> out;
  for (std::size_t i = 0; i < N; ++i) std::copy_n(buf.begin() + 16 * i, 16, out[i].begin());
  return out;
}

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

// The keys derived from one root key are independent blocks: one encrypt_blocks call for all.
SessionKeys derive_session_keys_1_0(const KeyRef& root, JoinNonce join_nonce,
                                    const NetId& net_id, DevNonce dev_nonce) {
  const auto b = encrypt_all<2>(
      root, {derivation_block(KeyDerivation::nwk_s_key, join_nonce, net_id, dev_nonce),
             derivation_block(KeyDerivation::app_s_key, join_nonce, net_id, dev_nonce)});
  const Aes128Key nwk = to_key(b[0]);
  return SessionKeys{nwk, nwk, nwk, to_key(b[1])};
}

SessionKeys derive_session_keys_1_0(const Aes128Key& root, JoinNonce join_nonce,
                                    const NetId& net_id, DevNonce dev_nonce) {
  return derive_session_keys_1_0(KeySchedule(root), join_nonce, net_id, dev_nonce);
}

SessionKeys derive_session_keys_1_1(const KeyRef& nwk_key, const KeyRef& app_key,
                                    JoinNonce join_nonce, const Eui64& join_eui,
                                    DevNonce dev_nonce) {
  const auto nwk = encrypt_all<3>(
      nwk_key, {derivation_block(KeyDerivation::nwk_s_key, join_nonce, join_eui, dev_nonce),
                derivation_block(KeyDerivation::s_nwk_s_int_key, join_nonce, join_eui, dev_nonce),
                derivation_block(KeyDerivation::nwk_s_enc_key, join_nonce, join_eui, dev_nonce)});
  const Block app = app_key.encrypt(derivation_block(KeyDerivation::app_s_key, join_nonce, join_eui, dev_nonce));
  return SessionKeys{to_key(nwk[0]), to_key(nwk[1]), to_key(nwk[2]), to_key(app)};
}

SessionKeys derive_session_keys_1_1(const Aes128Key& nwk_key, const Aes128Key& app_key,
                                    JoinNonce join_nonce, const Eui64& join_eui,
                                    DevNonce dev_nonce) {
  return derive_session_keys_1_1(KeySchedule(nwk_key), KeySchedule(app_key), join_nonce, join_eui,
                                 dev_nonce);
}

JsKeys derive_js_keys(const KeyRef& nwk_key, const Eui64& dev_eui) {
  const auto b = encrypt_all<2>(nwk_key, {js_key_block(KeyDerivation::js_int_key, dev_eui),
                                          js_key_block(KeyDerivation::js_enc_key, dev_eui)});
  return JsKeys{to_key(b[0]), to_key(b[1])};
}

JsKeys derive_js_keys(const Aes128Key& nwk_key, const Eui64& dev_eui) {
  return derive_js_keys(KeySchedule(nwk_key), dev_eui);
}

}  // namespace joincheck::lorawan
