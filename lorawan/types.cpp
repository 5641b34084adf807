#include "lorawan/types.hpp"

namespace joincheck::lorawan {

std::optional<MacVersion> parse_mac_version(std::string_view text) {
  if (text == "1.0" || text == "1.0.0") return MacVersion::v1_0_0;
  if (text == "1.0.1") return MacVersion::v1_0_1;
  if (text == "1.0.2") return MacVersion::v1_0_2;
  if (text == "1.0.3") return MacVersion::v1_0_3;
  if (text == "1.0.4") return MacVersion::v1_0_4;
  if (text == "1.1" || text == "1.1.0") return MacVersion::v1_1;
  return std::nullopt;
}

MacVersion parse_mac_version_or_throw(std::string_view text, std::string_view field) {
  if (auto v = parse_mac_version(text)) return *v;
  throw Error(std::string(field) + ": expected one of 1.0, 1.0.0, 1.0.1, 1.0.2, 1.0.3, 1.0.4, "
              "1.1, 1.1.0, got " + quote_for_error(text));
}

std::string_view to_string(MacVersion version) {
  switch (version) {
    case MacVersion::v1_0_0: return "1.0";
    case MacVersion::v1_0_1: return "1.0.1";
    case MacVersion::v1_0_2: return "1.0.2";
    case MacVersion::v1_0_3: return "1.0.3";
    case MacVersion::v1_0_4: return "1.0.4";
    case MacVersion::v1_1: return "1.1";
  }
  return "?";
}

std::string_view to_string(MType type) {
  switch (type) {
    case MType::join_request: return "JoinRequest";
    case MType::join_accept: return "JoinAccept";
    case MType::unconfirmed_data_up: return "UnconfirmedDataUp";
    case MType::unconfirmed_data_down: return "UnconfirmedDataDown";
    case MType::confirmed_data_up: return "ConfirmedDataUp";
    case MType::confirmed_data_down: return "ConfirmedDataDown";
    case MType::rejoin_request: return "RejoinRequest";
    case MType::proprietary: return "Proprietary";
  }
  return "?";
}

std::string_view to_string(JoinReqType type) {
  switch (type) {
    case JoinReqType::rejoin0: return "00";
    case JoinReqType::rejoin1: return "01";
    case JoinReqType::rejoin2: return "02";
    case JoinReqType::join: return "ff";
  }
  return "?";
}

std::optional<JoinReqType> parse_join_req_type(std::string_view text) {
  text = strip_hex_prefix(text);
  if (text.size() != 2 || !is_hex(text)) return std::nullopt;
  const auto b = from_hex(text, "JoinReqType");
  switch (b[0]) {
    case 0x00: return JoinReqType::rejoin0;
    case 0x01: return JoinReqType::rejoin1;
    case 0x02: return JoinReqType::rejoin2;
    case 0xff: return JoinReqType::join;
    default: return std::nullopt;
  }
}

}  // namespace joincheck::lorawan
