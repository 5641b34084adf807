#include "backend/messages.hpp"

#include <stdexcept>

namespace joincheck::backend {

Header make_answer_header(const Header& request) {
  const std::optional<MessageType> answer = answer_type_for(request.message_type);
  if (!answer) {
    throw std::invalid_argument(
        "make_answer_header: " + std::string(to_string(request.message_type)) +
        " is not a request type");
  }
  Header h(*answer);
  h.protocol_version = request.protocol_version;
  h.sender_id = request.receiver_id;
  h.receiver_id = request.sender_id;
  h.transaction_id = request.transaction_id;
  h.receiver_token = request.sender_token;
  h.receiver_ns_id = request.sender_ns_id;
  return h;
}

const Header& header_of(const Message& message) {
  return std::visit([](const auto& m) -> const Header& { return m.header; }, message);
}

Header& header_of(Message& message) {
  return std::visit([](auto& m) -> Header& { return m.header; }, message);
}

MessageType message_type_of(const Message& message) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kType; }, message);
}

}  // namespace joincheck::backend
