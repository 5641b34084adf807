#pragma once
// TS002 messages a Join Server takes part in: header, JoinReq/Ans, RejoinReq/Ans,
// AppSKeyReq/Ans, HomeNSReq/Ans and ErrorNotif (TS002 1.0 §8, §11.4.1, §12.1.1, §22.1-§22.3;
// TS002 1.1 §23.1-§23.3; docs/checks.md#header).
//
// Payload fields are std::optional: a conformant peer may omit some of them, a non-conformant
// peer may omit any, and the validator judges absence. Which fields are mandatory for which
// message is known to the codec (see missing_fields() in backend/codec.hpp). Field names follow
// the JSON names; identifiers (EUIs, DevAddr, NetID) are held in display order.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>

#include "backend/key_envelope.hpp"
#include "backend/protocol.hpp"
#include "backend/result_code.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

namespace joincheck::backend {

// The header every message carries (TS002 1.0 §22.1, Table 14; NSIDs from TS002 1.1).
//
// After an observing decode, a mandatory header field that was missing or invalid keeps its
// default value here; the observations name it.
struct Header {
  Header() = default;
  explicit Header(MessageType type) : message_type(type) {}

  ProtocolVersion protocol_version = ProtocolVersion::v1_0;
  // NetID hex (NS), JoinEUI hex (JS) or an AS-ID free string (AS), exactly as sent: the brocaar
  // JS uses the SenderID string verbatim as a KEK label.
  std::string sender_id;
  std::string receiver_id;
  std::uint32_t transaction_id = 0;
  MessageType message_type = MessageType::join_req;
  std::optional<lorawan::Bytes> sender_token;
  std::optional<lorawan::Bytes> receiver_token;
  std::optional<lorawan::Eui64> sender_ns_id;    // SenderNSID, TS002 1.1
  std::optional<lorawan::Eui64> receiver_ns_id;  // ReceiverNSID, TS002 1.1
  std::optional<lorawan::Eui64> hns_id;          // HNSID, in HomeNSAns under TS002 1.1
  std::optional<nlohmann::json> vs_extension;    // VSExtension, kept as received

  friend bool operator==(const Header&, const Header&) = default;
};

// The header of the answer to `request`: SenderID and ReceiverID swapped, SenderToken echoed
// as ReceiverToken, SenderNSID echoed as ReceiverNSID, same TransactionID and ProtocolVersion,
// MessageType the answer type. Throws std::invalid_argument when `request` is not a request.
Header make_answer_header(const Header& request);

// The `Result` object of an answer.
struct Result {
  ResultCode code = ResultCode::success;
  std::optional<std::string> description;

  bool is_success() const { return code == ResultCode::success; }
  friend bool operator==(const Result&, const Result&) = default;
};

// `MACVersion` of a JoinReq/RejoinReq: the version, and the spelling sent or seen ("1.1.0" and
// "1.1" are both LoRaWAN 1.1). An empty `text` means the canonical spelling,
// lorawan::to_string(version); encoding writes `text` when it is not empty, so a scenario can
// send any spelling.
struct MacVersionField {
  lorawan::MacVersion version = lorawan::MacVersion::v1_0_0;
  std::string text;

  std::string_view spelling() const { return text.empty() ? lorawan::to_string(version) : text; }
  friend bool operator==(const MacVersionField&, const MacVersionField&) = default;
};

// JoinReq and RejoinReq have the same fields (TS002 1.0 §8, §11.4.1); PHYPayload holds the
// join-request or rejoin-request.
template <MessageType Type>
struct BasicJoinReq {
  static constexpr MessageType kType = Type;
  Header header{Type};
  std::optional<MacVersionField> mac_version;  // MACVersion
  std::optional<lorawan::Bytes> phy_payload;   // PHYPayload
  std::optional<lorawan::Eui64> dev_eui;       // DevEUI
  std::optional<lorawan::DevAddr> dev_addr;    // DevAddr
  // DLSettings byte; lorawan::DlSettings{*dl_settings} gives its bits.
  std::optional<std::uint8_t> dl_settings;
  std::optional<std::uint8_t> rx_delay;    // RxDelay (JSON number)
  std::optional<lorawan::CfList> cf_list;  // CFList

  friend bool operator==(const BasicJoinReq&, const BasicJoinReq&) = default;
};

// JoinAns and RejoinAns have the same fields.
template <MessageType Type>
struct BasicJoinAns {
  static constexpr MessageType kType = Type;
  Header header{Type};
  std::optional<Result> result;
  std::optional<lorawan::Bytes> phy_payload;     // the encrypted join-accept, MHDR included
  std::optional<std::uint32_t> lifetime;         // Lifetime, seconds
  std::optional<KeyEnvelope> nwk_s_key;          // NwkSKey, LoRaWAN 1.0.x
  std::optional<KeyEnvelope> s_nwk_s_int_key;    // SNwkSIntKey, LoRaWAN 1.1
  std::optional<KeyEnvelope> f_nwk_s_int_key;    // FNwkSIntKey, LoRaWAN 1.1
  std::optional<KeyEnvelope> nwk_s_enc_key;      // NwkSEncKey, LoRaWAN 1.1
  std::optional<KeyEnvelope> app_s_key;          // AppSKey
  std::optional<lorawan::Bytes> session_key_id;  // SessionKeyID

  friend bool operator==(const BasicJoinAns&, const BasicJoinAns&) = default;
};

using JoinReq = BasicJoinReq<MessageType::join_req>;
using JoinAns = BasicJoinAns<MessageType::join_ans>;
using RejoinReq = BasicJoinReq<MessageType::rejoin_req>;
using RejoinAns = BasicJoinAns<MessageType::rejoin_ans>;

struct AppSKeyReq {
  static constexpr MessageType kType = MessageType::app_s_key_req;
  Header header{kType};
  std::optional<lorawan::Eui64> dev_eui;
  std::optional<lorawan::Bytes> session_key_id;

  friend bool operator==(const AppSKeyReq&, const AppSKeyReq&) = default;
};

struct AppSKeyAns {
  static constexpr MessageType kType = MessageType::app_s_key_ans;
  Header header{kType};
  std::optional<Result> result;
  std::optional<lorawan::Eui64> dev_eui;
  std::optional<KeyEnvelope> app_s_key;
  std::optional<lorawan::Bytes> session_key_id;

  friend bool operator==(const AppSKeyAns&, const AppSKeyAns&) = default;
};

struct HomeNSReq {
  static constexpr MessageType kType = MessageType::home_ns_req;
  Header header{kType};
  std::optional<lorawan::Eui64> dev_eui;

  friend bool operator==(const HomeNSReq&, const HomeNSReq&) = default;
};

// The HNSID of a TS002 1.1 HomeNSAns is in the header (Header::hns_id).
struct HomeNSAns {
  static constexpr MessageType kType = MessageType::home_ns_ans;
  Header header{kType};
  std::optional<Result> result;
  std::optional<lorawan::NetId> h_net_id;  // HNetID

  friend bool operator==(const HomeNSAns&, const HomeNSAns&) = default;
};

// TS002 1.1 §23.3. Its text was not available to the project; understood as header + Result. No
// implementation studied (ChirpStack, brocaar, The Things Stack) defines the message type.
struct ErrorNotif {
  static constexpr MessageType kType = MessageType::error_notif;
  Header header{kType};
  std::optional<Result> result;

  friend bool operator==(const ErrorNotif&, const ErrorNotif&) = default;
};

using Message = std::variant<JoinReq, JoinAns, RejoinReq, RejoinAns, AppSKeyReq, AppSKeyAns,
                             HomeNSReq, HomeNSAns, ErrorNotif>;

const Header& header_of(const Message& message);
Header& header_of(Message& message);
// The type of the variant alternative (which encode() writes).
MessageType message_type_of(const Message& message);

}  // namespace joincheck::backend
