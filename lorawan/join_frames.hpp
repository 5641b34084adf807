#pragma once
// Join-request, rejoin-request (types 0, 1, 2) and join-accept: wire formats, MICs and the
// join-accept encryption (LoRaWAN 1.0.3 §6.2.4-§6.2.5, 1.0.4 §6.2.5-§6.2.6, 1.1 §6.2.2-§6.2.4).

#include <optional>

#include "lorawan/crypto.hpp"
#include "lorawan/types.hpp"

namespace joincheck::lorawan {

constexpr std::size_t kJoinRequestSize = 23;     // MHDR JoinEUI DevEUI DevNonce MIC
constexpr std::size_t kRejoin02Size = 19;        // MHDR type NetID DevEUI RJcount0 MIC
constexpr std::size_t kRejoin1Size = 24;         // MHDR type JoinEUI DevEUI RJcount1 MIC
constexpr std::size_t kJoinAcceptSize = 17;      // without CFList
constexpr std::size_t kJoinAcceptCfListSize = 33;

// What a frame's first byte says, and a description of the whole frame for errors.
MType frame_mtype(ByteSpan phy, std::string_view field = "PHYPayload");

struct JoinRequest {
  Eui64 join_eui;
  Eui64 dev_eui;
  DevNonce dev_nonce;
  Mic mic;
};

// Checks MType and size; throws Error naming what was seen.
JoinRequest parse_join_request(ByteSpan phy);
Bytes encode_join_request(const JoinRequest& request);
// cmac(key, MHDR|JoinEUI|DevEUI|DevNonce)[0..3]; key is AppKey (1.0.x) or NwkKey (1.1).
// Every function taking a key also takes a KeyRef (a key in a secure element, or a KeySchedule
// when one key serves several operations); the Aes128Key forms set up a KeySchedule per call.
Mic join_request_mic(const KeyRef& key, const JoinRequest& request);
Mic join_request_mic(const Aes128Key& key, const JoinRequest& request);
// Fills in the MIC and encodes.
Bytes build_join_request(const KeyRef& key, JoinRequest request);
Bytes build_join_request(const Aes128Key& key, JoinRequest request);

enum class RejoinType : std::uint8_t { type0 = 0, type1 = 1, type2 = 2 };

struct RejoinRequest {
  RejoinType type = RejoinType::type0;
  NetId net_id;      // types 0 and 2
  Eui64 join_eui;    // type 1
  Eui64 dev_eui;
  DevNonce rj_count; // RJcount0 (types 0, 2) or RJcount1 (type 1)
  Mic mic;
};

RejoinRequest parse_rejoin_request(ByteSpan phy);
Bytes encode_rejoin_request(const RejoinRequest& request);
// cmac(key, MHDR|type|NetID-or-JoinEUI|DevEUI|RJcount)[0..3]; key is SNwkSIntKey for types
// 0 and 2, JSIntKey for type 1 (LoRaWAN 1.1 §6.2.4.4).
Mic rejoin_request_mic(const KeyRef& key, const RejoinRequest& request);
Mic rejoin_request_mic(const Aes128Key& key, const RejoinRequest& request);
Bytes build_rejoin_request(const KeyRef& key, RejoinRequest request);
Bytes build_rejoin_request(const Aes128Key& key, RejoinRequest request);
// The JoinReqType a join-accept answering this request carries in its 1.1 MIC.
JoinReqType join_req_type_of(RejoinType type);

struct JoinAccept {
  JoinNonce join_nonce;  // AppNonce in 1.0.x
  NetId net_id;
  DevAddr dev_addr;
  DlSettings dl_settings;
  std::uint8_t rx_delay = 0;
  std::optional<CfList> cf_list;
  Mic mic;
};

// MHDR|JoinNonce|NetID|DevAddr|DLSettings|RxDelay|CFList|MIC, not encrypted.
Bytes encode_join_accept_plaintext(const JoinAccept& accept);
// Parses a decrypted join-accept (17 or 33 bytes, MType JoinAccept).
JoinAccept parse_join_accept_plaintext(ByteSpan plaintext);

// 1.0.x, and 1.1 with OptNeg=0: cmac(key, MHDR|JoinNonce|NetID|DevAddr|DLSettings|RxDelay|CFList)
// with AppKey (1.0.x) or NwkKey (1.1 device).
Mic join_accept_mic_1_0(const KeyRef& key, const JoinAccept& accept);
Mic join_accept_mic_1_0(const Aes128Key& key, const JoinAccept& accept);
// 1.1 with OptNeg=1: cmac(JSIntKey, JoinReqType|JoinEUI|DevNonce|MHDR|JoinNonce|NetID|DevAddr|
// DLSettings|RxDelay|CFList). For a rejoin, `dev_nonce` is RJcount0/RJcount1.
Mic join_accept_mic_1_1(const KeyRef& js_int_key, JoinReqType type, const Eui64& join_eui,
                        DevNonce dev_nonce, const JoinAccept& accept);
Mic join_accept_mic_1_1(const Aes128Key& js_int_key, JoinReqType type, const Eui64& join_eui,
                        DevNonce dev_nonce, const JoinAccept& accept);

// The network side encrypts with AES *decrypt* so the device only needs AES encrypt: MHDR
// stays clear, the rest (16 or 32 bytes) is AES-128-ECB decrypted with `key` (AppKey in 1.0.x,
// NwkKey for a 1.1 join-request, JSEncKey for a 1.1 rejoin-request).
Bytes encrypt_join_accept(ByteSpan plaintext, const Aes128Key& key);
Bytes encrypt_join_accept(ByteSpan plaintext, const KeySchedule& key);
// The device side: the inverse of encrypt_join_accept. Checks MType and size.
Bytes decrypt_join_accept(ByteSpan phy, const KeyRef& key);
Bytes decrypt_join_accept(ByteSpan phy, const Aes128Key& key);

}  // namespace joincheck::lorawan
