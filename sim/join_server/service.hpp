#pragma once
// The reference Join Server on the network: HTTP(S) with optional mutual TLS, per-message-type
// paths, answers held back until their state change is durable, async answers POSTed to the
// requester with retries, one log line per request. `joincheck serve-js` and the in-process
// default target of `joincheck run` both use it.

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "backend/http_server.hpp"
#include "backend/tls_context.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/join_server/device_store.hpp"
#include "sim/join_server/join_server.hpp"

namespace joincheck::sim {

struct JoinServerServiceOptions {
  backend::HttpServerOptions http;  // host, port, TLS, threads, limits and deadlines
  DeviceStoreOptions store;         // database path (empty: memory only), DevNonce window
  std::vector<Fleet> fleets;        // devices registered at start
  JoinServerConfig js;
  // Per-message-type paths ("/join", ...). Empty: every message on any path.
  std::map<backend::MessageType, std::string> paths;
  // Async answers: TLS settings towards the NS callback URLs, deadline per attempt, attempts.
  backend::TlsClientOptions async_tls;
  std::chrono::milliseconds async_timeout{5000};
  int async_attempts = 3;
  std::chrono::milliseconds async_retry_delay{200};
  // One line per request and per async delivery; never keys. Null: quiet.
  std::function<void(std::string_view)> log;
};

class JoinServerService {
 public:
  // Opens the state, registers the fleets, binds and starts serving. Throws DeviceStoreError,
  // backend::TlsError, std::system_error (address in use) with messages naming the culprit.
  explicit JoinServerService(JoinServerServiceOptions options);
  ~JoinServerService();
  JoinServerService(const JoinServerService&) = delete;
  JoinServerService& operator=(const JoinServerService&) = delete;

  std::uint16_t port() const;
  std::string url() const;
  DeviceStore& store();
  const JoinServer& join_server() const;
  backend::HttpServerStats http_stats() const;
  // Async answers delivered, and given up after every attempt failed.
  std::uint64_t async_delivered() const;
  std::uint64_t async_failed() const;
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joincheck::sim
