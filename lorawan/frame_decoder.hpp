#pragma once
// Decodes any join-related frame with whatever keys and context the user has: the logic
// behind `joincheck decode`, kept here so the command line and Python share it.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "lorawan/join_procedure.hpp"

namespace joincheck::lorawan {

struct DecodeInputs {
  std::optional<Aes128Key> app_key;
  std::optional<Aes128Key> nwk_key;           // given: the device is LoRaWAN 1.1
  std::optional<Aes128Key> s_nwk_s_int_key;   // checks rejoin-request type 0/2 MICs
  std::optional<Eui64> dev_eui;
  std::optional<Eui64> join_eui;
  std::optional<DevNonce> dev_nonce;
  std::optional<JoinReqType> join_req_type;   // which request a join-accept answers
};

// Parses frame text as hex (optional 0x, spaces and colons ignored) or, failing that, base64.
Bytes parse_frame_text(std::string_view text);

struct DecodedJoinRequest {
  JoinRequest request;
};
struct DecodedRejoinRequest {
  RejoinRequest request;
};
struct DecodedJoinAccept {
  OpenedJoinAccept opened;
  JoinReqType join_req_type = JoinReqType::join;
};

struct DecodedFrame {
  Bytes phy_payload;
  MType mtype = MType::join_request;
  std::variant<DecodedJoinRequest, DecodedRejoinRequest, DecodedJoinAccept> frame;
  std::optional<bool> mic_valid;   // nullopt: not checked (see notes)
  std::optional<Mic> expected_mic; // what the MIC should be with the key given
  std::optional<JsKeys> js_keys;
  std::vector<std::string> notes;  // what could not be checked and why; inconsistencies
};

// Throws Error for input that is not a join-request, rejoin-request or join-accept of a valid
// size, or when a join-accept is given without the key that decrypts it.
DecodedFrame decode_frame(ByteSpan phy, const DecodeInputs& inputs);

// Human description of a CFList: type 0 frequencies or a type 1 channel mask.
std::string describe_cf_list(const CfList& cf_list);

}  // namespace joincheck::lorawan
