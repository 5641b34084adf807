#pragma once
// The request the reference JS is answering, as join_server.cpp (every message) and
// join_request.cpp (JoinReq, RejoinReq) share it: the decoded message, its header and version,
// and what the request log and an asynchronous answer need.

#include <string>

#include "sim/join_server/join_server.hpp"

namespace joincheck::sim {

struct JoinServer::Context {
  const JsRequest& request;
  backend::Decoded decoded;
  backend::Header request_header;
  backend::ProtocolVersion version = backend::ProtocolVersion::v1_0;
  std::string log_type;
  std::string log_dev_eui;
  // The requester answers asynchronously: every answer to it, failures included, is POSTed to
  // its callback URL after a 200 acknowledgement (TS002 §22.1).
  const NetIdPeer* async_peer = nullptr;
};

}  // namespace joincheck::sim
