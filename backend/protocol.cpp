#include "backend/protocol.hpp"

#include <array>
#include <utility>

namespace joincheck::backend {
namespace {

constexpr std::array<std::pair<MessageType, std::string_view>, 9> kMessageTypes{{
    {MessageType::join_req, "JoinReq"},
    {MessageType::join_ans, "JoinAns"},
    {MessageType::rejoin_req, "RejoinReq"},
    {MessageType::rejoin_ans, "RejoinAns"},
    {MessageType::app_s_key_req, "AppSKeyReq"},
    {MessageType::app_s_key_ans, "AppSKeyAns"},
    {MessageType::home_ns_req, "HomeNSReq"},
    {MessageType::home_ns_ans, "HomeNSAns"},
    {MessageType::error_notif, "ErrorNotif"},
}};

}  // namespace

std::string_view to_string(ProtocolVersion version) {
  switch (version) {
    case ProtocolVersion::v1_0:
      return "1.0";
    case ProtocolVersion::v1_1:
      return "1.1";
  }
  return "?";
}

std::optional<ProtocolVersion> parse_protocol_version(std::string_view text) {
  if (text == "1.0") return ProtocolVersion::v1_0;
  if (text == "1.1") return ProtocolVersion::v1_1;
  return std::nullopt;
}

std::string_view to_string(MessageType type) {
  for (const auto& [t, name] : kMessageTypes) {
    if (t == type) return name;
  }
  return "?";
}

std::optional<MessageType> parse_message_type(std::string_view text) {
  for (const auto& [t, name] : kMessageTypes) {
    if (name == text) return t;
  }
  return std::nullopt;
}

std::string_view message_type_spellings() {
  return "JoinReq, JoinAns, RejoinReq, RejoinAns, AppSKeyReq, AppSKeyAns, HomeNSReq, HomeNSAns, "
         "ErrorNotif";
}

std::optional<MessageType> answer_type_for(MessageType request) {
  switch (request) {
    case MessageType::join_req:
      return MessageType::join_ans;
    case MessageType::rejoin_req:
      return MessageType::rejoin_ans;
    case MessageType::app_s_key_req:
      return MessageType::app_s_key_ans;
    case MessageType::home_ns_req:
      return MessageType::home_ns_ans;
    default:
      return std::nullopt;
  }
}

}  // namespace joincheck::backend
