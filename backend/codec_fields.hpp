#pragma once
// Internal to the TS002 codec (codec.hpp): the fields of the messages as the codec knows them.
// Their JSON names; the value codecs, which say how one kind of value (hex, an EUI, a number,
// MACVersion, Result, a KeyEnvelope) is written and read; and each message's field table, which
// encode, decode, the unknown-field and the missing-field checks all read.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "backend/codec.hpp"
#include "backend/codec_reader.hpp"
#include "backend/messages.hpp"

namespace joincheck::backend::codec_detail {

// ---------------------------------------------------------------------------------------------
// JSON names (TS002 1.0 Tables 14 and 16; NSIDs from TS002 1.1).

namespace name {
inline constexpr std::string_view kProtocolVersion = "ProtocolVersion";
inline constexpr std::string_view kSenderId = "SenderID";
inline constexpr std::string_view kReceiverId = "ReceiverID";
inline constexpr std::string_view kTransactionId = "TransactionID";
inline constexpr std::string_view kMessageType = "MessageType";
inline constexpr std::string_view kSenderToken = "SenderToken";
inline constexpr std::string_view kReceiverToken = "ReceiverToken";
inline constexpr std::string_view kSenderNsId = "SenderNSID";
inline constexpr std::string_view kReceiverNsId = "ReceiverNSID";
inline constexpr std::string_view kHnsId = "HNSID";
inline constexpr std::string_view kVsExtension = "VSExtension";
inline constexpr std::string_view kMacVersion = "MACVersion";
inline constexpr std::string_view kPhyPayload = "PHYPayload";
inline constexpr std::string_view kDevEui = "DevEUI";
inline constexpr std::string_view kDevAddr = "DevAddr";
inline constexpr std::string_view kDlSettings = "DLSettings";
inline constexpr std::string_view kRxDelay = "RxDelay";
inline constexpr std::string_view kCfList = "CFList";
inline constexpr std::string_view kResult = "Result";
inline constexpr std::string_view kResultCode = "ResultCode";
inline constexpr std::string_view kDescription = "Description";
inline constexpr std::string_view kLifetime = "Lifetime";
inline constexpr std::string_view kNwkSKey = "NwkSKey";
inline constexpr std::string_view kSNwkSIntKey = "SNwkSIntKey";
inline constexpr std::string_view kFNwkSIntKey = "FNwkSIntKey";
inline constexpr std::string_view kNwkSEncKey = "NwkSEncKey";
inline constexpr std::string_view kAppSKey = "AppSKey";
inline constexpr std::string_view kSessionKeyId = "SessionKeyID";
inline constexpr std::string_view kHNetId = "HNetID";
inline constexpr std::string_view kKekLabel = "KEKLabel";
inline constexpr std::string_view kAesKey = "AESKey";
}  // namespace name

// ---------------------------------------------------------------------------------------------
// Value codecs: how one field value is written and read. Each has
//   ordered_json encode(const V&, const EncodeOptions&) const;
//   std::optional<V> decode(Reader&, const json& value, const std::string& path) const;
// `value` is never null (Reader::member handles null).

struct HexCodec {  // hex of any length: PHYPayload, SessionKeyID, tokens
  ordered_json encode(const Bytes& b, const EncodeOptions& o) const {
    return lorawan::to_hex(b, o.hex_case);
  }
  std::optional<Bytes> decode(Reader& r, const json& v, const std::string& path) const {
    return r.hex(v, path);
  }
};

template <class T>  // lorawan::FixedBytes: EUIs, DevAddr, NetID, CFList
struct FixedHexCodec {
  ordered_json encode(const T& t, const EncodeOptions& o) const { return t.hex(o.hex_case); }
  std::optional<T> decode(Reader& r, const json& v, const std::string& path) const {
    const std::optional<Bytes> b = r.hex(v, path, T::kSize);
    if (!b) return std::nullopt;
    typename T::Array a{};
    std::copy(b->begin(), b->end(), a.begin());
    return T(a);
  }
};

struct ByteHexCodec {  // one byte as two hex digits: DLSettings
  ordered_json encode(std::uint8_t b, const EncodeOptions& o) const {
    return lorawan::to_hex(lorawan::ByteSpan(&b, 1), o.hex_case);
  }
  std::optional<std::uint8_t> decode(Reader& r, const json& v, const std::string& path) const {
    const std::optional<Bytes> b = r.hex(v, path, 1);
    if (!b) return std::nullopt;
    return (*b)[0];
  }
};

template <class N>  // an unsigned JSON number: RxDelay, Lifetime
struct NumberCodec {
  ordered_json encode(N n, const EncodeOptions&) const { return n; }
  std::optional<N> decode(Reader& r, const json& v, const std::string& path) const {
    const auto n = r.unsigned_integer(v, path, std::numeric_limits<N>::max());
    if (!n) return std::nullopt;
    return static_cast<N>(*n);
  }
};

struct MacVersionCodec {
  ordered_json encode(const MacVersionField& f, const EncodeOptions&) const {
    return std::string(f.spelling());
  }
  std::optional<MacVersionField> decode(Reader& r, const json& v, const std::string& path) const;
};

struct ResultCodec {
  ordered_json encode(const Result& result, const EncodeOptions&) const {
    ordered_json j;
    j[std::string(name::kResultCode)] = std::string(to_string(result.code));
    if (result.description) j[std::string(name::kDescription)] = *result.description;
    return j;
  }
  std::optional<Result> decode(Reader& r, const json& v, const std::string& path) const;

 private:
  static std::optional<ResultCode> read_code(Reader& r, const std::string& text,
                                             const std::string& path);
};

struct KeyEnvelopeCodec {
  ordered_json encode(const KeyEnvelope& e, const EncodeOptions& o) const {
    ordered_json j;
    j[std::string(name::kKekLabel)] = e.kek_label;  // always written, "" when clear
    j[std::string(name::kAesKey)] = lorawan::to_hex(e.aes_key, o.hex_case);
    return j;
  }
  std::optional<KeyEnvelope> decode(Reader& r, const json& v, const std::string& path) const;
};

struct RawJsonCodec {  // VSExtension: kept as received
  ordered_json encode(const json& v, const EncodeOptions&) const { return ordered_json(v); }
  std::optional<json> decode(Reader& r, const json& v, const std::string& path) const;
};

// ---------------------------------------------------------------------------------------------
// Field tables: for each message, its optional fields in TS002 order with their JSON name, their
// presence rule and their codec. encode, decode, unknown-field and missing-field checks all
// read these tables.

enum class Presence {
  mandatory,   // M
  optional,    // O
  on_success,  // Ms: mandatory when Result is Success
};

template <class Msg, class V, class Codec>
struct Field {
  std::string_view name;
  std::optional<V> Msg::*member;
  Presence presence;
  Codec codec;
};

template <class Msg, class V, class Codec>
constexpr Field<Msg, V, Codec> field(std::string_view json_name, std::optional<V> Msg::*member,
                                     Presence presence, Codec codec) {
  return {json_name, member, presence, codec};
}

// The optional header fields; the mandatory ones are read and written by hand below.
inline auto fields_of(std::type_identity<Header>) {
  using H = Header;
  using P = Presence;
  return std::tuple{
      field(name::kSenderToken, &H::sender_token, P::optional, HexCodec{}),
      field(name::kReceiverToken, &H::receiver_token, P::optional, HexCodec{}),
      field(name::kSenderNsId, &H::sender_ns_id, P::optional, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kReceiverNsId, &H::receiver_ns_id, P::optional, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kHnsId, &H::hns_id, P::optional, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kVsExtension, &H::vs_extension, P::optional, RawJsonCodec{}),
  };
}

template <MessageType T>
auto fields_of(std::type_identity<BasicJoinReq<T>>) {
  using M = BasicJoinReq<T>;
  using P = Presence;
  return std::tuple{
      field(name::kMacVersion, &M::mac_version, P::mandatory, MacVersionCodec{}),
      field(name::kPhyPayload, &M::phy_payload, P::mandatory, HexCodec{}),
      field(name::kDevEui, &M::dev_eui, P::mandatory, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kDevAddr, &M::dev_addr, P::mandatory, FixedHexCodec<lorawan::DevAddr>{}),
      field(name::kDlSettings, &M::dl_settings, P::mandatory, ByteHexCodec{}),
      field(name::kRxDelay, &M::rx_delay, P::mandatory, NumberCodec<std::uint8_t>{}),
      field(name::kCfList, &M::cf_list, P::optional, FixedHexCodec<lorawan::CfList>{}),
  };
}

template <MessageType T>
auto fields_of(std::type_identity<BasicJoinAns<T>>) {
  using M = BasicJoinAns<T>;
  using P = Presence;
  // RejoinAns: the JS SHALL return the three 1.1 network keys (TS002 1.0 §11.4.1 step 8). For a
  // JoinAns which keys are due depends on MACVersion: see extra_missing() in
  // codec_missing_fields.cpp.
  constexpr P k11 = T == MessageType::rejoin_ans ? P::on_success : P::optional;
  return std::tuple{
      field(name::kResult, &M::result, P::mandatory, ResultCodec{}),
      field(name::kPhyPayload, &M::phy_payload, P::on_success, HexCodec{}),
      field(name::kLifetime, &M::lifetime, P::on_success, NumberCodec<std::uint32_t>{}),
      field(name::kNwkSKey, &M::nwk_s_key, P::optional, KeyEnvelopeCodec{}),
      field(name::kSNwkSIntKey, &M::s_nwk_s_int_key, k11, KeyEnvelopeCodec{}),
      field(name::kFNwkSIntKey, &M::f_nwk_s_int_key, k11, KeyEnvelopeCodec{}),
      field(name::kNwkSEncKey, &M::nwk_s_enc_key, k11, KeyEnvelopeCodec{}),
      field(name::kAppSKey, &M::app_s_key, P::optional, KeyEnvelopeCodec{}),
      field(name::kSessionKeyId, &M::session_key_id, P::optional, HexCodec{}),
  };
}

inline auto fields_of(std::type_identity<AppSKeyReq>) {
  using M = AppSKeyReq;
  return std::tuple{
      field(name::kDevEui, &M::dev_eui, Presence::mandatory, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kSessionKeyId, &M::session_key_id, Presence::mandatory, HexCodec{}),
  };
}

inline auto fields_of(std::type_identity<AppSKeyAns>) {
  using M = AppSKeyAns;
  using P = Presence;
  // DevEUI and SessionKeyID are treated as Ms, not M: TS002 1.0 Table 13 was not available,
  // and failure answers from real JSs carry only the header and Result.
  return std::tuple{
      field(name::kResult, &M::result, P::mandatory, ResultCodec{}),
      field(name::kDevEui, &M::dev_eui, P::on_success, FixedHexCodec<lorawan::Eui64>{}),
      field(name::kAppSKey, &M::app_s_key, P::on_success, KeyEnvelopeCodec{}),
      field(name::kSessionKeyId, &M::session_key_id, P::on_success, HexCodec{}),
  };
}

inline auto fields_of(std::type_identity<HomeNSReq>) {
  return std::tuple{field(name::kDevEui, &HomeNSReq::dev_eui, Presence::mandatory,
                          FixedHexCodec<lorawan::Eui64>{})};
}

inline auto fields_of(std::type_identity<HomeNSAns>) {
  using M = HomeNSAns;
  return std::tuple{
      field(name::kResult, &M::result, Presence::mandatory, ResultCodec{}),
      field(name::kHNetId, &M::h_net_id, Presence::on_success, FixedHexCodec<lorawan::NetId>{}),
  };
}

inline auto fields_of(std::type_identity<ErrorNotif>) {
  return std::tuple{field(name::kResult, &ErrorNotif::result, Presence::mandatory, ResultCodec{})};
}

template <class T>
auto table() {
  return fields_of(std::type_identity<T>{});
}

template <class T>
std::vector<std::string_view> names_of() {
  std::vector<std::string_view> names;
  std::apply([&](const auto&... f) { (names.push_back(f.name), ...); }, table<T>());
  return names;
}

}  // namespace joincheck::backend::codec_detail
