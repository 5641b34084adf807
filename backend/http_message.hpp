#pragma once
// HTTP/1.1 requests and responses as the backend transport hands them to applications.
// Generic: nothing here knows about TS002 messages or JSON.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/tls_context.hpp"

namespace joincheck::backend {

struct HttpHeader {
  std::string name;
  std::string value;
};

// ASCII case-insensitive comparison, as HTTP field names compare.
bool iequals(std::string_view a, std::string_view b) noexcept;

// Headers in the order received. Lookup is case-insensitive. Repeated fields stay separate.
class HttpHeaders {
 public:
  std::span<const HttpHeader> all() const noexcept { return {fields_.data(), count_}; }
  std::size_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  // The first field named `name`, or nullptr.
  const HttpHeader* find(std::string_view name) const noexcept;
  // The value of the first field named `name`, "" when absent.
  std::string_view get(std::string_view name) const noexcept;
  bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }
  void add(std::string_view name, std::string_view value);
  // Empties the list but keeps the storage for the next message.
  void clear() noexcept { count_ = 0; }

 private:
  std::vector<HttpHeader> fields_;
  std::size_t count_ = 0;
};

// A request received by HttpServer.
struct HttpRequest {
  std::string method;  // "POST"
  std::string target;  // request-target as sent: "/join", "/?x=1"
  unsigned version = 11;  // 10 or 11
  HttpHeaders headers;
  std::string body;
  bool keep_alive = true;  // what the client asked for (HTTP/1.1 default, Connection header)

  // The connection it came on.
  std::string peer_address;  // "127.0.0.1", "::1"
  std::uint16_t peer_port = 0;
  std::uint64_t connection_id = 0;  // unique per server, from 1
  std::uint32_t request_index = 0;  // 0 for the first request on the connection
  // Negotiated TLS parameters and the client's certificate chain; null on plain HTTP.
  std::shared_ptr<const TlsSessionInfo> tls;

  // The raw Content-Type value ("application/json; charset=utf-8"), "" when absent.
  std::string_view content_type() const noexcept { return headers.get("Content-Type"); }
  std::string_view authorization() const noexcept { return headers.get("Authorization"); }
  // The target without its query string.
  std::string_view path() const noexcept;
};

// A response produced by a handler.
struct HttpResponse {
  int status = 200;
  std::string content_type;  // no Content-Type header when empty
  std::string body;
  std::vector<HttpHeader> headers;  // extra headers; Content-Length, Date, Connection are set
  bool close = false;               // close the connection after this response

  static HttpResponse text(int status, std::string body);
  static HttpResponse with_body(int status, std::string content_type, std::string body);
};

// "OK", "Not Found", ...; "" for codes without a registered reason phrase.
std::string_view reason_phrase(int status) noexcept;

}  // namespace joincheck::backend
