#pragma once
// TS002 protocol versions and the message types a Join Server takes part in.

#include <optional>
#include <string_view>

namespace joincheck::backend {

// The `ProtocolVersion` header value: "1.0" (TS002 1.0) or "1.1" (TS002 1.1.x).
enum class ProtocolVersion { v1_0, v1_1 };

std::string_view to_string(ProtocolVersion version);
// Exactly "1.0" or "1.1"; nullopt otherwise.
std::optional<ProtocolVersion> parse_protocol_version(std::string_view text);

// The `MessageType` header values of the NS-JS, AS-JS and error-notification messages.
// The roaming types (PRStartReq, ProfileReq, ...) are not JS messages and are not listed.
enum class MessageType {
  join_req,
  join_ans,
  rejoin_req,
  rejoin_ans,
  app_s_key_req,
  app_s_key_ans,
  home_ns_req,
  home_ns_ans,
  error_notif,  // TS002 1.1 §23.3
};

// The wire spelling: "JoinReq", "AppSKeyAns", "ErrorNotif", ...
std::string_view to_string(MessageType type);
// Exact wire spelling only; nullopt otherwise.
std::optional<MessageType> parse_message_type(std::string_view text);
// The wire spellings of every MessageType, comma separated (for error messages).
std::string_view message_type_spellings();

constexpr bool is_request(MessageType type) {
  return type == MessageType::join_req || type == MessageType::rejoin_req ||
         type == MessageType::app_s_key_req || type == MessageType::home_ns_req;
}
// The answer to a request type (JoinReq -> JoinAns, ...); nullopt for answers and ErrorNotif.
std::optional<MessageType> answer_type_for(MessageType request);

}  // namespace joincheck::backend
