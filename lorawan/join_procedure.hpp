#pragma once
// One join, end to end, on each side: the Join Server builds and encrypts the join-accept and
// derives the session keys; the device decrypts, verifies and derives the same keys. This is
// where the choice between the 1.0.x and 1.1 formulas is made, once.

#include <optional>
#include <string>

#include "lorawan/join_frames.hpp"
#include "lorawan/session_keys.hpp"

namespace joincheck::lorawan {

// Which formulas a join uses.
enum class JoinMode {
  lorawan_1_0,          // 1.0.x device: AppKey for MIC, encryption and both session keys
  lorawan_1_1_opt_neg_0,// 1.1 device served as 1.0 (OptNeg=0): NwkKey in the 1.0 formulas
  lorawan_1_1,          // 1.1 with OptNeg=1: JSIntKey MIC, 1.1 key derivation
};
std::string_view to_string(JoinMode mode);

// The mode a JS uses: 1.1 formulas when the negotiated MACVersion is 1.1 and the device has a
// NwkKey; a 1.1 device under a 1.0.x MACVersion gets the OptNeg=0 formulas.
JoinMode join_mode_for(MacVersion negotiated, bool device_has_nwk_key);

// The formulas a device applies to a join-accept it decrypted: a 1.0.x device the 1.0 ones (it
// treats DLSettings bit 7 as RFU); a 1.1 device follows OptNeg, and always uses the 1.1 ones for
// a rejoin answer.
JoinMode device_join_mode(bool device_1_1, JoinReqType type, const DlSettings& dl_settings);

struct RootKeys {
  std::optional<Aes128Key> app_key;  // 1.0.x root key; 1.1 AppKey
  std::optional<Aes128Key> nwk_key;  // 1.1 devices only
};

// What identifies the request a join-accept answers.
struct JoinContext {
  JoinReqType type = JoinReqType::join;
  Eui64 join_eui;
  Eui64 dev_eui;
  DevNonce dev_nonce;  // or RJcount0/RJcount1 for a rejoin
};

struct BuiltJoinAccept {
  Bytes phy_payload;   // encrypted, ready for JoinAns.PHYPayload
  JoinAccept accept;   // with its MIC
  SessionKeys keys;
  Aes128Key encryption_key;  // what encrypted it: AppKey (1.0), NwkKey (1.1 join, or OptNeg=0), JSEncKey (1.1 rejoin)
};

// Join Server side. `fields` carries JoinNonce, NetID, DevAddr, DLSettings, RxDelay and CFList
// (its MIC is ignored). Throws Error when a key the mode needs is missing.
BuiltJoinAccept build_join_accept(JoinMode mode, const RootKeys& keys, const JoinContext& context,
                                  const JoinAccept& fields);

// Device side, with what is known: decryption needs the root key (and DevEUI for a rejoin
// answer); the MIC and keys need the rest. What cannot be checked is said, not guessed.
struct OpenJoinAcceptInput {
  bool device_1_1 = false;
  RootKeys keys;
  JoinReqType type = JoinReqType::join;
  std::optional<Eui64> join_eui;
  std::optional<Eui64> dev_eui;
  std::optional<DevNonce> dev_nonce;
};

struct OpenedJoinAccept {
  Bytes plaintext;
  JoinAccept accept;
  JoinMode mode = JoinMode::lorawan_1_0;
  std::optional<bool> mic_valid;     // nullopt when the MIC could not be computed
  std::optional<Mic> expected_mic;
  std::string mic_note;              // why the MIC was not checked
  std::optional<SessionKeys> keys;   // derived when everything needed is known
  bool app_s_key_derived = false;    // false when a 1.1 AppKey was not given
  std::string keys_note;             // why keys were not derived, or which are missing
  std::optional<JsKeys> js_keys;     // 1.1 devices with a known DevEUI
};

// Throws Error when the frame is not a join-accept or no decryption key is given.
OpenedJoinAccept open_join_accept(ByteSpan phy, const OpenJoinAcceptInput& input);

}  // namespace joincheck::lorawan
