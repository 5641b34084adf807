#include "backend/http_client.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <future>
#include <unordered_map>
#include <utility>

#include "backend/http_parser.hpp"

namespace joincheck::backend {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast_http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

std::string_view to_string(HttpErrorPhase phase) {
  switch (phase) {
    case HttpErrorPhase::invalid_request:
      return "invalid request";
    case HttpErrorPhase::resolve:
      return "resolve";
    case HttpErrorPhase::connect:
      return "connect";
    case HttpErrorPhase::tls_handshake:
      return "TLS handshake";
    case HttpErrorPhase::write:
      return "write";
    case HttpErrorPhase::read:
      return "read";
  }
  return "?";
}

namespace {
std::string error_text(const std::string& method, const std::string& url, HttpErrorPhase phase,
                       const std::string& detail) {
  std::string out = method.empty() ? url : method + " " + url;
  out += ": ";
  out += to_string(phase);
  out += ": ";
  out += detail;
  return out;
}
}  // namespace

HttpError::HttpError(std::string method, std::string url, HttpErrorPhase phase,
                     std::string detail, bool timed_out)
    : std::runtime_error(error_text(method, url, phase, detail)),
      method_(std::move(method)),
      url_(std::move(url)),
      phase_(phase),
      detail_(std::move(detail)),
      timed_out_(timed_out) {}

// ---- URL ----

namespace {

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

[[noreturn]] void bad_url(std::string_view url, const std::string& why) {
  throw HttpError("", std::string(url), HttpErrorPhase::invalid_request, why);
}

}  // namespace

HttpUrl HttpUrl::parse(std::string_view url) {
  HttpUrl out;
  std::string_view rest;
  constexpr std::string_view http = "http://";
  constexpr std::string_view https = "https://";
  if (url.size() >= https.size() && iequals(url.substr(0, https.size()), https)) {
    out.tls = true;
    rest = url.substr(https.size());
  } else if (url.size() >= http.size() && iequals(url.substr(0, http.size()), http)) {
    rest = url.substr(http.size());
  } else {
    bad_url(url, "expected a URL starting with http:// or https://");
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (const std::size_t hash = target.find('#'); hash != std::string_view::npos) {
    target = target.substr(0, hash);
  }
  if (authority.find('@') != std::string_view::npos) {
    bad_url(url, "user information in the URL is not supported; use an Authorization header");
  }
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) bad_url(url, "unterminated '[' in the host");
    out.host = std::string(authority.substr(1, close - 1));
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') bad_url(url, "unexpected text after ']'");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      out.host = std::string(authority.substr(0, colon));
      port_text = authority.substr(colon + 1);
    } else {
      out.host = std::string(authority);
    }
  }
  if (out.host.empty()) bad_url(url, "no host");
  out.port = out.tls ? 443 : 80;
  if (!port_text.empty()) {
    unsigned value = 0;
    const auto result = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (result.ec != std::errc() || result.ptr != port_text.data() + port_text.size() ||
        value == 0 || value > 65535) {
      bad_url(url, "invalid port '" + std::string(port_text) + "'");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  for (const char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      bad_url(url, "the path contains a space or control character; percent-encode it");
    }
  }
  return out;
}

std::string HttpUrl::origin() const {
  std::string out = tls ? "https://" : "http://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ':';
  out += std::to_string(port);
  return out;
}

// ---- connections ----

namespace {

struct Connection {
  explicit Connection(const asio::any_io_executor& executor) : socket(executor) {}
  ~Connection() { close(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  tcp::socket& lowest() { return tls ? tls->next_layer() : socket; }
  void close() noexcept {
    // A TLS connection closed between exchanges ends its session cleanly: OpenSSL makes the
    // session of a connection freed without a shutdown unresumable (it may have been cut
    // mid-record), and resume_tls_sessions would lose it. No close_notify is sent: the peer
    // sees the TCP close, as before.
    if (tls && between_exchanges) SSL_set_shutdown(tls->native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    error_code ignored;
    lowest().close(ignored);
  }
  // False when the server closed the connection (or sent something) while it sat idle.
  bool usable_after_idle() {
    tcp::socket& s = lowest();
    if (!s.is_open()) return false;
    if (tls && SSL_pending(tls->native_handle()) > 0) return false;
    if (buffer.size() > 0) return false;
    char byte = 0;
    const ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  tcp::socket socket;  // the TCP socket until a TLS stream takes it over
  std::optional<ssl::stream<tcp::socket>> tls;
  bool between_exchanges = false;  // its last response was read whole, no request is under way
  // Where OpenSSL's new-session callback files this connection's sessions (resume_tls_sessions).
  struct SessionSlot {
    void* client = nullptr;  // the HttpClient::Impl
    std::string origin;
  } session_slot;
  std::shared_ptr<const TlsSessionInfo> tls_info;
  boost::beast::flat_buffer buffer;
  std::string peer;
  Clock::time_point idle_since;
};

asio::awaitable<void> write_all(Connection& connection, const std::string& data,
                                error_code& ec) {
  if (connection.tls) {
    co_await asio::async_write(*connection.tls, asio::buffer(data),
                               asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(connection.socket, asio::buffer(data),
                               asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<std::size_t> read_some(Connection& connection, asio::mutable_buffer buffer,
                                       error_code& ec) {
  if (connection.tls) {
    co_return co_await connection.tls->async_read_some(
        buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return co_await connection.socket.async_read_some(
      buffer, asio::redirect_error(asio::use_awaitable, ec));
}

// Closes the current connection when the request's deadline passes.
struct Watch {
  bool fired = false;
  bool done = false;
  Connection* connection = nullptr;
};

class WatchGuard {
 public:
  WatchGuard(const asio::any_io_executor& executor, Clock::time_point deadline)
      : watch_(std::make_shared<Watch>()), timer_(executor, deadline) {
    timer_.async_wait([watch = watch_](const error_code& ec) {
      if (ec || watch->done) return;
      watch->fired = true;
      if (watch->connection != nullptr) watch->connection->close();
    });
  }
  ~WatchGuard() {
    watch_->done = true;
    timer_.cancel();
  }
  WatchGuard(const WatchGuard&) = delete;
  WatchGuard& operator=(const WatchGuard&) = delete;
  Watch& operator*() const { return *watch_; }
  Watch* operator->() const { return watch_.get(); }

 private:
  std::shared_ptr<Watch> watch_;
  asio::steady_timer timer_;
};

bool valid_token(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool valid_value(std::string_view text) {
  return std::none_of(text.begin(), text.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

std::string milliseconds_text(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

bool is_ssl_error(const error_code& ec) {
  return ec.category() == asio::error::get_ssl_category();
}

int ssl_reason(const error_code& ec) {
  return is_ssl_error(ec) ? ERR_GET_REASON(static_cast<unsigned long>(ec.value())) : 0;
}

// A closed or reset connection: what a reused connection that the server had dropped shows.
bool is_connection_lost(const error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == ssl::error::stream_truncated;
}

}  // namespace

// How long a pooled connection counts as just used (see take_idle).
constexpr std::chrono::milliseconds kFreshIdle{5};

struct HttpClient::Impl {
  Impl(asio::any_io_executor ex, HttpClientOptions opts)
      : executor(std::move(ex)), options(std::move(opts)),
        tls_context(make_client_context(options.tls)) {
    if (!options.tls.cert_file.empty()) {
      client_leaf = load_certificates(options.tls.cert_file).front();
    }
    if (options.resume_tls_sessions) {
      // Sessions come through the callback: under TLS 1.3 the tickets arrive after the
      // handshake, with the first data read, so none can be taken when the handshake ends.
      SSL_CTX* ctx = tls_context.native_handle();
      SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
      SSL_CTX_sess_set_new_cb(ctx, &Impl::on_new_session);
    }
  }

  // The SSL ex_data index of a connection's SessionSlot.
  static int session_slot_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
  }
  // OpenSSL hands over a new session of a connection: kept as its origin's (returning 1 takes
  // ownership).
  static int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* slot = static_cast<Connection::SessionSlot*>(SSL_get_ex_data(ssl, session_slot_index()));
    if (slot == nullptr || slot->client == nullptr) return 0;
    static_cast<Impl*>(slot->client)->sessions[slot->origin].reset(session);
    return 1;
  }
  struct SessionFree {
    void operator()(SSL_SESSION* session) const { SSL_SESSION_free(session); }
  };
  std::unordered_map<std::string, std::unique_ptr<SSL_SESSION, SessionFree>> sessions;  // by origin

  asio::any_io_executor executor;
  HttpClientOptions options;
  ssl::context tls_context;
  Certificate client_leaf;
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;

  struct Context {
    const std::string& method;
    const std::string& url_text;
    const HttpUrl& url;
    std::chrono::milliseconds timeout;
    Clock::time_point deadline;
  };

  [[noreturn]] void fail(const Context& context, HttpErrorPhase phase, std::string detail,
                         bool timed_out = false) const {
    throw HttpError(context.method, context.url_text, phase, std::move(detail), timed_out);
  }
  [[noreturn]] void fail_timeout(const Context& context, HttpErrorPhase phase) const {
    fail(context, phase,
         "timed out: no " + std::string(phase == HttpErrorPhase::read ? "complete response" : "progress") +
             " within the request deadline of " + milliseconds_text(context.timeout),
         true);
  }

  std::unique_ptr<Connection> take_idle(const std::string& origin) {
    auto found = idle.find(origin);
    if (found == idle.end()) return nullptr;
    auto& list = found->second;
    const Clock::time_point now = Clock::now();
    while (!list.empty()) {
      std::unique_ptr<Connection> connection = std::move(list.back());
      list.pop_back();
      const Clock::duration idle_for = now - connection->idle_since;
      // A connection back from its last answer moments ago is taken without the peek (a system
      // call per request, which a load test pays at every request): a server that closed it in
      // that instant makes the request fail before any byte of an answer, and it is sent once
      // more on a new connection (see request()).
      if (idle_for < options.idle_timeout &&
          (idle_for < kFreshIdle ? connection->lowest().is_open() : connection->usable_after_idle())) {
        connection->between_exchanges = false;
        return connection;
      }
    }
    return nullptr;
  }

  void give_back(const std::string& origin, std::unique_ptr<Connection> connection) {
    auto& list = idle[origin];
    if (list.size() >= options.max_idle_per_host) list.erase(list.begin());
    connection->idle_since = Clock::now();
    list.push_back(std::move(connection));
  }

  asio::awaitable<tcp::resolver::results_type> resolve(const Context& context);
  asio::awaitable<std::unique_ptr<Connection>> connect(const Context& context, Watch& watch);
  asio::awaitable<void> handshake(const Context& context, Connection& connection, Watch& watch);
  struct TlsFailure {
    std::string detail;
    std::string verify_error;
    std::string peer_subject;
    std::string peer_issuer;
  };
  TlsFailure tls_failure(const error_code& ec, const TlsVerifyDiagnostics& diagnostics) const;
  std::string serialize(const HttpClientRequest& request, const HttpUrl& url) const;

  // The steps of HttpClient::request.
  // Throws HttpError(invalid_request) for a method, Content-Type or header that cannot be sent.
  void check_request(const Context& context, const HttpClientRequest& request) const;
  // One attempt to send the request: on a kept-alive connection or a new one.
  struct Attempt {
    std::unique_ptr<Connection> connection;
    bool reused = false;     // a kept-alive connection
    bool may_retry = false;  // the first attempt, on a reused connection: a lost one is tried again
    bool fresh_tls = false;  // a TLS handshake was part of this attempt
  };
  // A kept-alive connection to `origin`, else a new one (connect()).
  asio::awaitable<Attempt> open(const Context& context, const std::string& origin, Watch& watch, int attempt);
  // Writes the request. False: a reused connection the server had closed; try once more.
  asio::awaitable<bool> write_request(const Context& context, const Attempt& attempt, const std::string& wire,
                                      Watch& watch);
  // What read_response() got.
  struct ReadResult {
    bool complete = false;    // a final (not 1xx) response is in `parsed`
    bool keep_alive = false;  // the server lets the connection carry another request
    bool got_bytes = false;   // some bytes of a response came
    error_code ec;            // why the response is not complete
  };
  // Reads the response into `parsed`, skipping 1xx interim responses. Throws HttpError(read) for
  // a malformed or oversized response, a response cut short, or the deadline.
  asio::awaitable<ReadResult> read_response(const Context& context, Connection& connection, Watch& watch, bool head,
                                            detail::ParsedResponse& parsed);
  // Feeds `parser` with what is buffered and what comes, until it is done or a read fails (`ec`).
  asio::awaitable<void> read_message(const Context& context, Connection& connection, Watch& watch,
                                     detail::ResponseParser& parser, bool& got_bytes, error_code& ec);
  // The response of `parsed`; the connection goes back to the pool when `keep_alive` allows.
  HttpClientResponse take_response(detail::ParsedResponse& parsed, Attempt& attempt, bool keep_alive,
                                   const std::string& origin, Clock::time_point start, Watch& watch);
  // A read that got no complete response, on a connection that will not be tried again.
  [[noreturn]] void fail_read(const Context& context, const Attempt& attempt, const ReadResult& read) const;
};

asio::awaitable<tcp::resolver::results_type> HttpClient::Impl::resolve(const Context& context) {
  // getaddrinfo cannot be interrupted: wait for it or the deadline, whichever comes first,
  // and leave a late answer to the shared state.
  struct State {
    explicit State(const asio::any_io_executor& ex) : resolver(ex), wake(ex) {}
    tcp::resolver resolver;
    asio::steady_timer wake;
    tcp::resolver::results_type results;
    error_code ec;
    bool done = false;
  };
  auto state = std::make_shared<State>(executor);
  state->wake.expires_at(context.deadline);
  state->resolver.async_resolve(
      context.url.host, std::to_string(context.url.port),
      [state](const error_code& ec, tcp::resolver::results_type results) {
        state->ec = ec;
        state->results = std::move(results);
        state->done = true;
        state->wake.cancel();
      });
  error_code ignored;
  co_await state->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  if (!state->done) {
    state->resolver.cancel();
    fail_timeout(context, HttpErrorPhase::resolve);
  }
  if (state->ec || state->results.empty()) {
    fail(context, HttpErrorPhase::resolve,
         "cannot resolve host '" + context.url.host + "': " +
             (state->ec ? state->ec.message() : std::string("no address")));
  }
  co_return state->results;
}

asio::awaitable<std::unique_ptr<Connection>> HttpClient::Impl::connect(const Context& context,
                                                                      Watch& watch) {
  std::vector<tcp::endpoint> endpoints;
  error_code ec;
  const asio::ip::address literal = asio::ip::make_address(context.url.host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, context.url.port);
  } else {
    for (const auto& entry : co_await resolve(context)) endpoints.push_back(entry.endpoint());
  }
  auto connection = std::make_unique<Connection>(executor);
  watch.connection = connection.get();
  std::string failures;
  for (const tcp::endpoint& endpoint : endpoints) {
    connection->close();
    co_await connection->socket.async_connect(endpoint,
                                              asio::redirect_error(asio::use_awaitable, ec));
    if (watch.fired) fail_timeout(context, HttpErrorPhase::connect);
    const std::string where = (endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                          : endpoint.address().to_string()) +
                              ":" + std::to_string(endpoint.port());
    if (!ec) {
      connection->peer = where;
      connection->socket.set_option(tcp::no_delay(true), ec);
      if (context.url.tls) co_await handshake(context, *connection, watch);
      co_return connection;
    }
    if (!failures.empty()) failures += "; ";
    failures += where + ": " + ec.message();
  }
  fail(context, HttpErrorPhase::connect, "cannot connect to " + failures);
}

HttpClient::Impl::TlsFailure HttpClient::Impl::tls_failure(
    const error_code& ec, const TlsVerifyDiagnostics& diagnostics) const {
  if (diagnostics.error != 0) {
    return {diagnostics.describe(), diagnostics.error_text, diagnostics.leaf_subject,
            diagnostics.leaf_issuer};
  }
  std::string detail = ec.message();
  const int reason = ssl_reason(ec);
  const bool has_cert = static_cast<bool>(client_leaf);
  if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
      (reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE && !has_cert)) {
    detail += has_cert ? " (the server wants a client certificate)"
                       : " (the server requires a client certificate; none is configured)";
  } else if (has_cert && (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
                          reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
                          reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN ||
                          reason == SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE ||
                          reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED ||
                          reason == SSL_R_TLSV1_ALERT_DECRYPT_ERROR ||
                          reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)) {
    detail += " (the server rejected the client certificate " + subject_and_issuer(client_leaf) +
              ")";
  } else if (reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION ||
             reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_NO_PROTOCOLS_AVAILABLE) {
    detail += " (no TLS version in common; this client offers " +
              std::string(to_string(options.tls.min_version)) + " to " +
              std::string(to_string(options.tls.max_version)) + ")";
  }
  return {std::move(detail), {}, {}, {}};
}

asio::awaitable<void> HttpClient::Impl::handshake(const Context& context, Connection& connection,
                                                  Watch& watch) {
  connection.tls.emplace(std::move(connection.socket), tls_context);
  SSL* ssl_handle = connection.tls->native_handle();
  const std::string& host = context.url.host;
  const bool ip = is_ip_literal(host);
  if (!ip) {
    // SSL_set_tlsext_host_name, without the macro's C cast.
    SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  if (options.tls.verify_peer && options.tls.verify_hostname) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl_handle);
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
    }
  }
  if (options.resume_tls_sessions) {
    connection.session_slot = {this, context.url.origin()};
    SSL_set_ex_data(ssl_handle, session_slot_index(), &connection.session_slot);
    const auto known = sessions.find(connection.session_slot.origin);
    if (known != sessions.end()) SSL_set_session(ssl_handle, known->second.get());
  }
  TlsVerifyDiagnostics diagnostics;
  attach_verify_diagnostics(ssl_handle, &diagnostics);
  error_code ec;
  co_await connection.tls->async_handshake(ssl::stream_base::client,
                                           asio::redirect_error(asio::use_awaitable, ec));
  attach_verify_diagnostics(ssl_handle, nullptr);
  if (watch.fired) fail_timeout(context, HttpErrorPhase::tls_handshake);
  if (ec) {
    TlsFailure failure = tls_failure(ec, diagnostics);
    HttpError error(context.method, context.url_text, HttpErrorPhase::tls_handshake,
                    "server " + connection.peer + ": " + failure.detail);
    error.verify_error = std::move(failure.verify_error);
    error.peer_subject = std::move(failure.peer_subject);
    error.peer_issuer = std::move(failure.peer_issuer);
    throw error;
  }
  connection.tls_info = std::make_shared<TlsSessionInfo>(tls_session_info(ssl_handle, false));
}

std::string HttpClient::Impl::serialize(const HttpClientRequest& request,
                                        const HttpUrl& url) const {
  std::string out;
  out.reserve(256 + request.body.size());
  out += request.method;
  out += ' ';
  out += url.target;
  out += " HTTP/1.1\r\nHost: ";
  out += url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  if (url.port != (url.tls ? 443 : 80)) {
    out += ':';
    out += std::to_string(url.port);
  }
  out += "\r\n";
  if (!options.user_agent.empty()) {
    out += "User-Agent: ";
    out += options.user_agent;
    out += "\r\n";
  }
  if (!request.content_type.empty()) {
    out += "Content-Type: ";
    out += request.content_type;
    out += "\r\n";
  }
  const bool body_expected = request.method != "GET" && request.method != "HEAD" &&
                             request.method != "DELETE" && request.method != "OPTIONS";
  if (body_expected || !request.body.empty()) {
    out += "Content-Length: ";
    out += std::to_string(request.body.size());
    out += "\r\n";
  }
  if (!options.keep_alive) out += "Connection: close\r\n";
  for (const auto* list : {&options.headers, &request.headers}) {
    for (const HttpHeader& header : *list) {
      out += header.name;
      out += ": ";
      out += header.value;
      out += "\r\n";
    }
  }
  out += "\r\n";
  out += request.body;
  return out;
}

HttpClient::HttpClient(asio::any_io_executor executor, HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(executor), std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::close_idle() { impl_->idle.clear(); }

std::size_t HttpClient::idle_connections() const noexcept {
  std::size_t count = 0;
  for (const auto& entry : impl_->idle) count += entry.second.size();
  return count;
}

const HttpClientOptions& HttpClient::options() const noexcept { return impl_->options; }

asio::any_io_executor HttpClient::executor() const noexcept { return impl_->executor; }

asio::awaitable<HttpClientResponse> HttpClient::post(std::string url, std::string content_type,
                                                     std::string body) {
  HttpClientRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.content_type = std::move(content_type);
  request.body = std::move(body);
  co_return co_await this->request(std::move(request));
}

asio::awaitable<HttpClientResponse> HttpClient::get(std::string url) {
  HttpClientRequest request;
  request.method = "GET";
  request.url = std::move(url);
  co_return co_await this->request(std::move(request));
}

void HttpClient::Impl::check_request(const Context& context, const HttpClientRequest& request) const {
  if (!valid_token(request.method)) {
    fail(context, HttpErrorPhase::invalid_request, "invalid method '" + request.method + "'");
  }
  if (!valid_value(request.content_type)) {
    fail(context, HttpErrorPhase::invalid_request, "Content-Type contains CR, LF or NUL");
  }
  for (const auto* list : {&options.headers, &request.headers}) {
    for (const HttpHeader& header : *list) {
      if (!valid_token(header.name)) {
        fail(context, HttpErrorPhase::invalid_request,
             "invalid header name '" + header.name + "'");
      }
      if (!valid_value(header.value)) {
        fail(context, HttpErrorPhase::invalid_request,
             "value of header '" + header.name + "' contains CR, LF or NUL");
      }
    }
  }
}

asio::awaitable<HttpClient::Impl::Attempt> HttpClient::Impl::open(const Context& context,
                                                                  const std::string& origin,
                                                                  Watch& watch, int attempt) {
  Attempt out;
  out.connection = options.keep_alive ? take_idle(origin) : nullptr;
  out.reused = out.connection != nullptr;
  if (out.connection) {
    watch.connection = out.connection.get();
  } else {
    out.connection = co_await connect(context, watch);
  }
  out.may_retry = out.reused && attempt == 0;
  out.fresh_tls = context.url.tls && !out.reused;
  co_return out;
}

asio::awaitable<bool> HttpClient::Impl::write_request(const Context& context, const Attempt& attempt,
                                                      const std::string& wire, Watch& watch) {
  error_code ec;
  co_await write_all(*attempt.connection, wire, ec);
  if (watch.fired) fail_timeout(context, HttpErrorPhase::write);
  if (ec) {
    if (attempt.may_retry && is_connection_lost(ec)) co_return false;
    if (attempt.fresh_tls && is_ssl_error(ec)) {
      fail(context, HttpErrorPhase::tls_handshake,
           "the server ended the TLS session after the handshake: " + tls_failure(ec, {}).detail);
    }
    fail(context, HttpErrorPhase::write, ec.message());
  }
  co_return true;
}

asio::awaitable<HttpClient::Impl::ReadResult> HttpClient::Impl::read_response(
    const Context& context, Connection& connection, Watch& watch, bool head,
    detail::ParsedResponse& parsed) {
  ReadResult result;
  error_code ec;
  for (;;) {  // skips 1xx interim responses
    detail::ResponseParser parser(parsed);
    parser.header_limit(static_cast<std::uint32_t>(
        std::min<std::size_t>(options.max_response_header, UINT32_MAX)));
    parser.body_limit(static_cast<std::uint64_t>(options.max_response_body));
    if (head) parser.skip(true);
    co_await read_message(context, connection, watch, parser, result.got_bytes, ec);
    if (ec && !parser.is_done()) {
      result.ec = ec;
      co_return result;
    }
    if (parsed.status >= 100 && parsed.status < 200 && parsed.status != 101) continue;
    result.complete = true;
    result.keep_alive = parser.keep_alive() && !parser.need_eof();
    co_return result;
  }
}

asio::awaitable<void> HttpClient::Impl::read_message(const Context& context, Connection& connection,
                                                     Watch& watch, detail::ResponseParser& parser,
                                                     bool& got_bytes, error_code& ec) {
  boost::beast::flat_buffer& buffer = connection.buffer;
  for (;;) {
    bool need_more = true;
    if (buffer.size() > 0) {
      got_bytes = true;
      error_code parse_ec;
      const std::size_t used = parser.put(buffer.data(), parse_ec);
      buffer.consume(used);
      if (parse_ec && parse_ec != beast_http::error::need_more) {
        std::string what = parse_ec == beast_http::error::body_limit
                               ? "response body larger than " +
                                     std::to_string(options.max_response_body) + " bytes"
                           : parse_ec == beast_http::error::header_limit
                               ? "response header larger than " +
                                     std::to_string(options.max_response_header) + " bytes"
                               : "malformed response: " + parse_ec.message();
        fail(context, HttpErrorPhase::read, what + " (from " + connection.peer + ")");
      }
      if (parser.is_done()) co_return;
      need_more = parse_ec == beast_http::error::need_more || used == 0 || buffer.size() == 0;
    }
    if (!need_more) continue;
    const std::size_t n = co_await read_some(connection, buffer.prepare(16 * 1024), ec);
    if (watch.fired) fail_timeout(context, HttpErrorPhase::read);
    if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
      if (parser.got_some()) {
        error_code eof_ec;
        parser.put_eof(eof_ec);
        if (!eof_ec && parser.is_done()) co_return;
        fail(context, HttpErrorPhase::read,
             "the connection closed before the response was complete (from " + connection.peer +
                 ")");
      }
    }
    if (ec) co_return;
    buffer.commit(n);
  }
}

HttpClientResponse HttpClient::Impl::take_response(detail::ParsedResponse& parsed, Attempt& attempt,
                                                   bool keep_alive, const std::string& origin,
                                                   Clock::time_point start, Watch& watch) {
  HttpClientResponse response;
  response.status = parsed.status;
  response.reason = std::move(parsed.reason);
  response.version = parsed.version;
  response.headers = std::move(parsed.headers);
  response.body = std::move(parsed.body);
  const bool keep = options.keep_alive && keep_alive;
  response.connection_reused = attempt.reused;
  response.peer = attempt.connection->peer;
  response.tls = attempt.connection->tls_info;
  response.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  watch.connection = nullptr;
  attempt.connection->between_exchanges = true;
  if (keep) give_back(origin, std::move(attempt.connection));
  return response;
}

void HttpClient::Impl::fail_read(const Context& context, const Attempt& attempt,
                                 const ReadResult& read) const {
  if (attempt.fresh_tls && !read.got_bytes && is_ssl_error(read.ec)) {
    fail(context, HttpErrorPhase::tls_handshake,
         "the server ended the TLS session after the handshake: " + tls_failure(read.ec, {}).detail);
  }
  fail(context, HttpErrorPhase::read,
       (read.got_bytes ? "connection failed during the response: " : "no response: ") +
           read.ec.message() + " (from " + attempt.connection->peer + ")");
}

asio::awaitable<HttpClientResponse> HttpClient::request(HttpClientRequest request) {
  Impl& d = *impl_;
  const Clock::time_point start = Clock::now();
  const std::chrono::milliseconds timeout = request.timeout.value_or(d.options.timeout);

  HttpUrl url;
  try {
    url = HttpUrl::parse(request.url);
  } catch (const HttpError& error) {
    throw HttpError(request.method, request.url, HttpErrorPhase::invalid_request, error.detail());
  }
  const Impl::Context context{request.method, request.url, url, timeout, start + timeout};
  d.check_request(context, request);
  const std::string wire = d.serialize(request, url);
  const std::string origin = url.origin();
  const bool head = request.method == "HEAD";

  WatchGuard watch(d.executor, context.deadline);
  for (int attempt_number = 0;; ++attempt_number) {
    watch->connection = nullptr;  // the previous attempt's connection is gone
    Impl::Attempt attempt = co_await d.open(context, origin, *watch, attempt_number);
    if (!co_await d.write_request(context, attempt, wire, *watch)) continue;
    detail::ParsedResponse parsed;
    const Impl::ReadResult read = co_await d.read_response(context, *attempt.connection, *watch, head, parsed);
    if (read.complete) co_return d.take_response(parsed, attempt, read.keep_alive, origin, start, *watch);
    // The read failed before a complete response.
    if (attempt.may_retry && !read.got_bytes && is_connection_lost(read.ec)) continue;
    d.fail_read(context, attempt, read);
  }
}

// ---- blocking ----

struct BlockingHttpClient::Impl {
  explicit Impl(HttpClientOptions options) : client(io.get_executor(), std::move(options)) {}
  asio::io_context io{1};
  HttpClient client;
};

BlockingHttpClient::BlockingHttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

BlockingHttpClient::~BlockingHttpClient() = default;

HttpClientResponse BlockingHttpClient::request(HttpClientRequest request) {
  asio::io_context& io = impl_->io;
  std::future<HttpClientResponse> result =
      asio::co_spawn(io, impl_->client.request(std::move(request)), asio::use_future);
  io.restart();
  // Run until this request is done; a resolver thread still busy after a timeout is not
  // waited for.
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one() == 0) {
      io.restart();
      if (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        throw std::logic_error("BlockingHttpClient: the request stalled without pending work");
      }
    }
  }
  io.poll();
  return result.get();
}

HttpClientResponse BlockingHttpClient::post(std::string url, std::string content_type,
                                            std::string body) {
  HttpClientRequest request;
  request.method = "POST";
  request.url = std::move(url);
  request.content_type = std::move(content_type);
  request.body = std::move(body);
  return this->request(std::move(request));
}

HttpClientResponse BlockingHttpClient::get(std::string url) {
  HttpClientRequest request;
  request.method = "GET";
  request.url = std::move(url);
  return this->request(std::move(request));
}

void BlockingHttpClient::close_idle() { impl_->client.close_idle(); }

}  // namespace joincheck::backend
