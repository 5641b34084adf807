#pragma once
// HTTP/1.1 server (plain or TLS) for the backend interfaces: the reference Join Server and
// the harness's async-answer listener sit on it. Generic: it hands HttpRequest to a handler
// and writes back its HttpResponse.
//
// Threading: `threads` worker threads, each running its own io_context. One acceptor (on
// worker 0) deals the accepted connections round-robin to the workers; a connection lives
// on one worker for its whole life, so a request is read, handled and answered on one
// thread without locks, strands or thread hops. Handlers run on that worker thread: a
// synchronous handler must not block for long (it stalls the other connections of its
// worker); an asynchronous handler may co_await I/O on the worker's executor
// (co_await boost::asio::this_coro::executor), e.g. an HttpClient made on it.
//
// Deadlines: every connection has one deadline at a time (TLS handshake, headers, body,
// write, keep-alive idle); a per-worker timer sweeps the connections and closes those past
// it. Setting a deadline is a store, so the fast path pays nothing for it. Deadlines are
// enforced with a granularity of timer_granularity (default: a tenth of the shortest
// timeout, between 5 ms and 250 ms).
//
// Errors of the peer never reach the handler: malformed requests get 400, headers over the
// limit 431, bodies over the limit 413, an unsupported Transfer-Encoding 501; each is
// followed by closing the connection. A handler that throws gives 500 and the connection
// goes on.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backend/http_message.hpp"
#include "backend/tls_context.hpp"

namespace joincheck::backend {

namespace detail {
struct HttpServerImpl;
}

// Called on the worker thread, inline, for every request: the fast path.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;
// Called on the worker thread; the request stays valid until the awaitable completes.
using AsyncHttpHandler = std::function<boost::asio::awaitable<HttpResponse>(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";       // address or name to listen on; "::" or "0.0.0.0" for all
  std::uint16_t port = 0;               // 0: an ephemeral port, see HttpServer::port()
  std::optional<TlsServerOptions> tls;  // HTTPS when set
  // Worker threads (at least 1). Measured on the 2-core reference machine, small POSTs over
  // 64 keep-alive connections from wrk on the same machine: against wrk -t1, one worker
  // ~74k/s, two ~57k/s; against wrk -t2, one ~53k/s, two ~64k/s. Give it the cores the rest
  // of the machine leaves free.
  std::size_t threads = 1;

  std::size_t max_body_size = 32 * 1024;   // larger bodies get 413 (TTS caps at 32 KiB)
  std::size_t max_header_size = 8 * 1024;  // request line + fields; larger get 431
  std::size_t max_connections = 10000;     // further connections are closed on accept
  // Once this many connections have closed since the most connections were open (a burst is
  // over), the server gives the memory they used back to the system (glibc malloc_trim, at most
  // once a second). Their buffers (16 KiB each) were freed, but glibc keeps freed memory inside
  // its heaps unless asked: after two bursts of 11,000 connections the JS held 191 MB. 0: never.
  std::size_t trim_after_closed = 512;

  using duration = std::chrono::milliseconds;
  duration handshake_timeout{10000};  // TLS handshake, from accept
  duration header_timeout{10000};     // request line + headers: from accept (first request) or
                                      // from the first byte (later requests on the connection)
  duration body_timeout{10000};       // the whole body, from the end of the headers
  duration write_timeout{10000};      // writing one response
  duration idle_timeout{30000};       // keep-alive: waiting for the next request's first byte
  duration linger_timeout{1000};      // after a final response: waiting for the peer to close
  duration stop_grace{1000};          // stop(): how long handlers still running may take
  duration timer_granularity{0};      // 0: derived from the timeouts (see above)

  std::string server_header;  // "Server:" value; none when empty
  // Told about trouble that is not a request: handler exceptions (with the request), TLS
  // handshake failures, refused connections, accept errors. Called on worker threads, never
  // on the fast path; must be thread-safe.
  std::function<void(std::string_view)> on_error;
};

// Counters since start; read while running, each exact, together not a snapshot.
struct HttpServerStats {
  std::uint64_t connections_accepted = 0;
  std::uint64_t connections_refused = 0;  // over max_connections
  std::uint64_t connections_active = 0;
  std::uint64_t requests = 0;        // handed to the handler
  std::uint64_t bad_requests = 0;    // answered 400/413/431/501 by the server itself
  std::uint64_t handler_errors = 0;  // handler threw: 500
  std::uint64_t timeouts = 0;        // connections closed at a deadline
  std::uint64_t tls_handshake_failures = 0;
  std::uint64_t memory_trims = 0;  // memory given back after bursts (trim_after_closed)
};

// Sets host and port from "HOST:PORT", "[::1]:8443" or ":8443" (all addresses). Throws
// lorawan::Error naming what was expected and seen.
void parse_listen_address(std::string_view text, HttpServerOptions& options);

class HttpServer {
 public:
  // Binds and listens (throws std::system_error naming host:port when it cannot, TlsError
  // when the TLS files are unusable), then starts the worker threads.
  HttpServer(HttpServerOptions options, HttpHandler handler);
  HttpServer(HttpServerOptions options, AsyncHttpHandler handler);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const noexcept;
  // "http://127.0.0.1:8080" or "https://...": the bound address ([v6] in brackets).
  std::string url() const;
  bool tls() const noexcept;
  HttpServerStats stats() const;

  // Closes the listener and every connection, gives running handlers stop_grace to finish,
  // then stops the workers and joins their threads. Idempotent. Not from a handler.
  void stop();

 private:
  std::unique_ptr<detail::HttpServerImpl> impl_;
};

}  // namespace joincheck::backend
