#pragma once
// HTTP/1.1 client (plain or TLS) for the backend interfaces: the harness's Network Server
// side and the reference Join Server's async answers use it. Generic: it sends bytes with
// headers and returns the status, headers and body of any response (a 4xx/5xx is a
// response, not an error). Only transport failures throw HttpError.
//
// One deadline covers a whole request: resolve, connect, TLS handshake, write and read.
// Connections are kept alive and reused per scheme://host:port. A pooled connection that
// the server closed while idle is detected before reuse; if a reused connection still
// fails before any byte of the response arrived, the request is sent once more on a new
// connection (as browsers and Go's net/http do; the server cannot have answered it).
//
// HttpClient is bound to one executor and is not thread-safe: use it from coroutines on a
// single-threaded io_context (or a strand), e.g. one client per HttpServer worker.
// BlockingHttpClient wraps it with its own io_context for tools and tests.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backend/http_message.hpp"
#include "backend/tls_context.hpp"

namespace joincheck::backend {

// Where a request failed.
enum class HttpErrorPhase {
  invalid_request,  // the URL or a header cannot be sent
  resolve,          // host name lookup
  connect,          // TCP connect
  tls_handshake,    // TLS handshake, including certificate verification either way
  write,            // sending the request
  read,             // receiving the response (incl. a malformed or oversized response)
};
std::string_view to_string(HttpErrorPhase phase);

// A request that got no HTTP response. what(): "POST https://js:8443/join: TLS handshake:
// certificate verify failed: ...", naming the URL, the phase, and the cause.
class HttpError : public std::runtime_error {
 public:
  HttpError(std::string method, std::string url, HttpErrorPhase phase, std::string detail,
            bool timed_out = false);

  const std::string& method() const noexcept { return method_; }
  const std::string& url() const noexcept { return url_; }
  HttpErrorPhase phase() const noexcept { return phase_; }
  // The deadline passed during `phase`.
  bool timed_out() const noexcept { return timed_out_; }
  // The cause alone, without method, URL and phase.
  const std::string& detail() const noexcept { return detail_; }
  // When the server's certificate failed verification: OpenSSL's verify error
  // ("certificate has expired", "hostname mismatch", ...) and the peer certificate.
  std::string verify_error;
  std::string peer_subject;
  std::string peer_issuer;

 private:
  std::string method_;
  std::string url_;
  HttpErrorPhase phase_;
  std::string detail_;
  bool timed_out_;
};

struct HttpClientOptions {
  TlsClientOptions tls;                   // used for https:// URLs
  std::vector<HttpHeader> headers;        // sent with every request (e.g. Authorization)
  std::chrono::milliseconds timeout{5000};  // default deadline per request (ChirpStack: 5 s)
  std::size_t max_response_body = 4 * 1024 * 1024;
  std::size_t max_response_header = 64 * 1024;
  bool keep_alive = true;
  std::size_t max_idle_per_host = 8;
  std::chrono::milliseconds idle_timeout{30000};  // pooled connections older than this are dropped
  std::string user_agent = "joincheck";           // no User-Agent header when empty
  // Keep the last TLS session (ticket) of each origin and offer it on its next new connection,
  // so that a reconnection is an abbreviated handshake (RFC 8446 §2.2) when the server allows
  // it. Off by default: a conformance run sees the JS's full handshake on every connection.
  bool resume_tls_sessions = false;
};

struct HttpClientRequest {
  std::string method = "POST";
  std::string url;            // http://host[:port]/path or https://...
  std::string content_type;   // no Content-Type header when empty
  std::string body;
  std::vector<HttpHeader> headers;  // added after HttpClientOptions::headers
  std::optional<std::chrono::milliseconds> timeout;  // default HttpClientOptions::timeout
};

struct HttpClientResponse {
  int status = 0;
  std::string reason;
  unsigned version = 11;
  HttpHeaders headers;
  std::string body;

  bool connection_reused = false;   // sent on a kept-alive connection
  std::chrono::microseconds elapsed{0};
  std::string peer;                 // "127.0.0.1:8443"
  // The server's certificates and the negotiated TLS parameters; null on plain HTTP.
  std::shared_ptr<const TlsSessionInfo> tls;

  std::string_view content_type() const noexcept { return headers.get("Content-Type"); }
};

// The parts of an http(s) URL. Throws HttpError(invalid_request) on anything else.
struct HttpUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
  std::string target;  // path and query, "/" at least
  static HttpUrl parse(std::string_view url);
  // "https://host:port": the key of the connection pool.
  std::string origin() const;
};

class HttpClient {
 public:
  // Loads the TLS files of options.tls now: throws TlsError when they are unusable.
  explicit HttpClient(boost::asio::any_io_executor executor, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Throws HttpError when no response is received.
  boost::asio::awaitable<HttpClientResponse> request(HttpClientRequest request);
  boost::asio::awaitable<HttpClientResponse> post(std::string url, std::string content_type,
                                                  std::string body);
  boost::asio::awaitable<HttpClientResponse> get(std::string url);

  // Closes the kept-alive connections.
  void close_idle();
  std::size_t idle_connections() const noexcept;
  const HttpClientOptions& options() const noexcept;
  boost::asio::any_io_executor executor() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Runs each request to completion on a private io_context. Keeps connections alive between
// calls. Not thread-safe: one per thread.
class BlockingHttpClient {
 public:
  explicit BlockingHttpClient(HttpClientOptions options = {});
  ~BlockingHttpClient();
  BlockingHttpClient(const BlockingHttpClient&) = delete;
  BlockingHttpClient& operator=(const BlockingHttpClient&) = delete;

  HttpClientResponse request(HttpClientRequest request);
  HttpClientResponse post(std::string url, std::string content_type, std::string body);
  HttpClientResponse get(std::string url);
  void close_idle();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joincheck::backend
