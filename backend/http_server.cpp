#include "backend/http_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "backend/http_parser.hpp"

namespace joincheck::backend {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast_http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

namespace {

using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using TlsStream = ssl::stream<Socket>;

constexpr std::size_t read_chunk = 16 * 1024;

Socket& lowest_layer(Socket& socket) { return socket; }
Socket& lowest_layer(TlsStream& stream) { return stream.next_layer(); }

// Single-writer counter: the owning worker increments, stats() reads from anywhere.
void bump(std::atomic<std::uint64_t>& counter) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

// "Date:" value, formatted once a second per thread.
std::string_view http_date() {
  thread_local std::time_t cached_second = 0;
  thread_local char text[64];
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    cached_second = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  }
  return {text, length};
}

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool valid_field_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(),
                      [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

bool valid_field_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_token_char);
}

// Fields the server sets itself; a handler's copy is dropped.
bool is_framing_field(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") ||
         iequals(name, "Connection") || iequals(name, "Date");
}

// "" when the response can be sent, otherwise what is wrong with it.
std::string check_response(const HttpResponse& response) {
  if (response.status < 200 || response.status > 999) {
    return "status " + std::to_string(response.status) + " (expected 200..999)";
  }
  if (!valid_field_value(response.content_type)) return "Content-Type value with CR/LF/NUL";
  for (const HttpHeader& header : response.headers) {
    if (!valid_field_name(header.name)) return "header name '" + header.name + "'";
    if (!valid_field_value(header.value)) return "value of header '" + header.name + "'";
  }
  return {};
}

void append_number(std::string& out, std::uint64_t value) {
  char digits[24];
  const auto result = std::to_chars(digits, digits + sizeof digits, value);
  out.append(digits, result.ptr);
}

void serialize_response(std::string& out, const HttpResponse& response, bool close,
                        bool http10_keep_alive, bool head, std::string_view server_header) {
  out.clear();
  out += "HTTP/1.1 ";
  append_number(out, static_cast<std::uint64_t>(response.status));
  out += ' ';
  out += reason_phrase(response.status);
  out += "\r\nDate: ";
  out += http_date();
  out += "\r\n";
  if (!server_header.empty()) {
    out += "Server: ";
    out += server_header;
    out += "\r\n";
  }
  const bool bodiless = response.status == 204 || response.status == 304;
  if (!response.content_type.empty() && !bodiless) {
    out += "Content-Type: ";
    out += response.content_type;
    out += "\r\n";
  }
  for (const HttpHeader& header : response.headers) {
    if (is_framing_field(header.name)) continue;
    out += header.name;
    out += ": ";
    out += header.value;
    out += "\r\n";
  }
  if (!bodiless) {
    out += "Content-Length: ";
    append_number(out, response.body.size());
    out += "\r\n";
  }
  if (close) {
    out += "Connection: close\r\n";
  } else if (http10_keep_alive) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!head && !bodiless) out += response.body;
}

struct Worker;

struct ConnectionBase {
  virtual ~ConnectionBase() = default;
  // Closes the socket now: the pending operation fails and the session ends.
  virtual void abort() noexcept = 0;
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
  std::size_t slot = 0;  // index in Worker::connections
};

struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> refused{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> bad_requests{0};
  std::atomic<std::uint64_t> handler_errors{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> tls_failures{0};
};

}  // namespace

namespace detail {
struct HttpServerImpl;
}

namespace {

struct Worker {
  Worker(detail::HttpServerImpl& owner, std::size_t position) : server(owner), index(position) {}
  detail::HttpServerImpl& server;
  std::size_t index;
  std::vector<ConnectionBase*> connections;  // live connections of this worker
  bool stopping = false;
  WorkerCounters counters;
  // Declared after `connections`: destroying the io_context destroys suspended sessions,
  // which unregister themselves.
  asio::io_context io{1};
  std::optional<asio::steady_timer> ticker;  // destroyed before `io`
  std::thread thread;
  bool finished = false;  // guarded by detail::HttpServerImpl::mutex

  void add(ConnectionBase* connection) {
    connection->slot = connections.size();
    connections.push_back(connection);
  }
  void remove(ConnectionBase* connection) noexcept {
    const std::size_t slot = connection->slot;
    if (slot < connections.size() && connections[slot] == connection) {
      connections[slot] = connections.back();
      connections[slot]->slot = slot;
      connections.pop_back();
    }
  }
  void sweep() {
    const Clock::time_point now = Clock::now();
    for (ConnectionBase* connection : connections) {
      if (!connection->timed_out && connection->deadline <= now) {
        connection->timed_out = true;
        bump(counters.timeouts);
        connection->abort();
      }
    }
  }
};

}  // namespace

struct detail::HttpServerImpl {
  HttpServerOptions options;
  HttpHandler handler;
  AsyncHttpHandler async_handler;
  std::optional<ssl::context> tls_context;
  Clock::duration granularity{};
  tcp::endpoint bound;
  std::atomic<std::uint64_t> active{0};
  std::uint64_t next_connection_id = 0;  // acceptor thread only
  // Worker 0's thread only (it runs the accept loop): the most connections open at once since
  // memory was last given back, and when that was.
  std::uint64_t peak_since_trim = 0;
  Clock::time_point last_trim{};
  std::atomic<std::uint64_t> trims{0};
  std::mutex mutex;
  std::condition_variable finished_cv;
  bool stopped = false;  // guarded by mutex
  std::vector<std::unique_ptr<Worker>> workers;
  std::optional<tcp::acceptor> acceptor;  // on workers[0]; destroyed before the workers

  void report(std::string_view message) const {
    if (!options.on_error) return;
    try {
      options.on_error(message);
    } catch (...) {
      // A reporting callback must not take the server down.
    }
  }

  void start(HttpServerOptions server_options);
  asio::awaitable<void> accept_loop();
  void refuse(Socket& socket);
  void arm_ticker(Worker& worker);
  void return_memory_after_burst();
  void run_worker(Worker& worker);
  void stop();
};

namespace {

// One connection: reads requests, calls the handler, writes responses, until either side
// closes or a deadline passes. Lives in the frame of its coroutine.
template <class Stream>
class Session final : public ConnectionBase {
 public:
  Session(Worker& worker, Stream stream, std::uint64_t id)
      : worker_(worker), server_(worker.server), stream_(std::move(stream)) {
    request_.connection_id = id;
    worker_.add(this);
  }
  ~Session() override {
    worker_.remove(this);
    server_.active.fetch_sub(1, std::memory_order_relaxed);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void abort() noexcept override {
    error_code ignored;
    lowest_layer(stream_).close(ignored);
  }

  asio::awaitable<void> run();

 private:
  enum class ReadOutcome { complete, closed, bad_request };

  void set_deadline(std::chrono::milliseconds timeout) { deadline = Clock::now() + timeout; }
  asio::awaitable<ReadOutcome> read_request(error_code& parse_error, bool first);
  asio::awaitable<bool> write_out();
  asio::awaitable<void> send_error_and_close(const error_code& parse_error);
  asio::awaitable<void> linger_and_close();
  asio::awaitable<bool> handshake();
  asio::awaitable<HttpResponse> call_handler();

  Worker& worker_;
  detail::HttpServerImpl& server_;
  Stream stream_;
  boost::beast::flat_buffer buffer_;
  HttpRequest request_;
  std::string out_;
};

template <class Stream>
asio::awaitable<bool> Session<Stream>::handshake() {
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    const HttpServerOptions& options = server_.options;
    TlsVerifyDiagnostics diagnostics;
    diagnostics.accept_any = options.tls->client_cert == ClientCertMode::request;
    attach_verify_diagnostics(stream_.native_handle(), &diagnostics);
    set_deadline(options.handshake_timeout);
    error_code ec;
    co_await stream_.async_handshake(ssl::stream_base::server,
                                     asio::redirect_error(asio::use_awaitable, ec));
    attach_verify_diagnostics(stream_.native_handle(), nullptr);
    if (ec) {
      bump(worker_.counters.tls_failures);
      if (!timed_out && !worker_.stopping && options.on_error) {
        std::string message = "TLS handshake with " + request_.peer_address + ":" +
                              std::to_string(request_.peer_port) + " failed: " + ec.message();
        if (const std::string verify = diagnostics.describe(); !verify.empty()) {
          message += " (client " + verify + ")";
        }
        server_.report(message);
      }
      co_return false;
    }
    auto info = std::make_shared<TlsSessionInfo>(tls_session_info(stream_.native_handle(), true));
    if (diagnostics.accept_any) info->peer_verified = false;
    request_.tls = std::move(info);
  }
  co_return true;
}

template <class Stream>
asio::awaitable<void> Session<Stream>::run() {
  const HttpServerOptions& options = server_.options;
  {
    error_code ec;
    const tcp::endpoint peer = lowest_layer(stream_).remote_endpoint(ec);
    if (ec) co_return;  // already gone
    request_.peer_address = peer.address().to_string();
    request_.peer_port = peer.port();
  }
  if (!co_await handshake()) co_return;

  buffer_.max_size(options.max_header_size + read_chunk);
  // The first request's headers are due header_timeout after the connection starts.
  set_deadline(options.header_timeout);
  bool first = true;
  for (std::uint32_t index = 0;; ++index) {
    if (!first && buffer_.size() == 0) set_deadline(options.idle_timeout);
    error_code parse_error;
    const ReadOutcome outcome = co_await read_request(parse_error, first);
    if (outcome == ReadOutcome::closed) co_return;
    if (outcome == ReadOutcome::bad_request) {
      co_await send_error_and_close(parse_error);
      co_return;
    }
    request_.request_index = index;
    bump(worker_.counters.requests);

    deadline = Clock::time_point::max();  // the handler's time is its own
    HttpResponse response = co_await call_handler();
    if (timed_out) co_return;

    const bool close = !request_.keep_alive || response.close || worker_.stopping;
    serialize_response(out_, response, close, request_.version == 10 && !close,
                       request_.method == "HEAD", options.server_header);
    if (!co_await write_out()) co_return;
    if (close) {
      co_await linger_and_close();
      co_return;
    }
    first = false;
  }
}

template <class Stream>
asio::awaitable<HttpResponse> Session<Stream>::call_handler() {
  std::string failure;
  try {
    // (No co_await inside a conditional expression: GCC 12 miscompiles that.)
    HttpResponse response;
    if (server_.handler) {
      response = server_.handler(request_);
    } else {
      response = co_await server_.async_handler(request_);
    }
    std::string problem = check_response(response);
    if (problem.empty()) co_return response;
    failure = "handler returned an invalid response: " + problem;
  } catch (const std::exception& error) {
    failure = std::string("handler threw: ") + error.what();
  } catch (...) {
    failure = "handler threw a non-standard exception";
  }
  bump(worker_.counters.handler_errors);
  server_.report(failure + " (" + request_.method + " " + request_.target + " from " +
                 request_.peer_address + ":" + std::to_string(request_.peer_port) + ")");
  co_return HttpResponse::text(500, "internal server error\n");
}

template <class Stream>
asio::awaitable<typename Session<Stream>::ReadOutcome> Session<Stream>::read_request(
    error_code& parse_error, bool first) {
  const HttpServerOptions& options = server_.options;
  detail::RequestParser parser(request_);
  parser.header_limit(
      static_cast<std::uint32_t>(std::min<std::size_t>(options.max_header_size, UINT32_MAX)));
  parser.body_limit(static_cast<std::uint64_t>(options.max_body_size));
  bool started = buffer_.size() > 0;
  if (started && !first) set_deadline(options.header_timeout);
  bool in_body = false;
  bool continued = false;
  for (;;) {
    bool need_more = true;
    if (buffer_.size() > 0) {
      error_code ec;
      const std::size_t used = parser.put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec && ec != beast_http::error::need_more) {
        parse_error = ec;
        co_return ReadOutcome::bad_request;
      }
      if (parser.is_done()) break;
      need_more = ec == beast_http::error::need_more || used == 0 || buffer_.size() == 0;
      if (parser.is_header_done() && !in_body) {
        in_body = true;
        set_deadline(options.body_timeout);
        if (parser.expects_continue() && !continued && request_.version >= 11) {
          continued = true;
          out_.assign("HTTP/1.1 100 Continue\r\n\r\n");
          if (!co_await write_out()) co_return ReadOutcome::closed;
          set_deadline(options.body_timeout);
        }
      }
    }
    if (!need_more) continue;
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) {
      parse_error = beast_http::error::header_limit;
      co_return ReadOutcome::bad_request;
    }
    error_code ec;
    const std::size_t n = co_await stream_.async_read_some(
        buffer_.prepare(std::min(room, read_chunk)), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ReadOutcome::closed;
    buffer_.commit(n);
    if (!started) {
      started = true;
      // The idle wait is over: the headers are due header_timeout from their first byte.
      if (!first) set_deadline(options.header_timeout);
    }
  }
  request_.keep_alive = parser.keep_alive();
  co_return ReadOutcome::complete;
}

template <class Stream>
asio::awaitable<bool> Session<Stream>::write_out() {
  set_deadline(server_.options.write_timeout);
  error_code ec;
  co_await asio::async_write(stream_, asio::buffer(out_),
                             asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

template <class Stream>
asio::awaitable<void> Session<Stream>::send_error_and_close(const error_code& parse_error) {
  bump(worker_.counters.bad_requests);
  HttpResponse response;
  if (parse_error == beast_http::error::body_limit) {
    response =
        HttpResponse::text(413, "request body larger than " +
                                    std::to_string(server_.options.max_body_size) + " bytes\n");
  } else if (parse_error == beast_http::error::header_limit) {
    response =
        HttpResponse::text(431, "request header larger than " +
                                    std::to_string(server_.options.max_header_size) + " bytes\n");
  } else if (parse_error == beast_http::error::bad_transfer_encoding) {
    response = HttpResponse::text(501, "unsupported Transfer-Encoding\n");
  } else {
    response = HttpResponse::text(400, "bad request: " + parse_error.message() + "\n");
  }
  serialize_response(out_, response, true, false, false, server_.options.server_header);
  if (co_await write_out()) co_await linger_and_close();
}

// After a final response: let the peer read it before the socket goes. Closing a socket
// with unread input makes the kernel send RST, which can destroy the response in flight.
template <class Stream>
asio::awaitable<void> Session<Stream>::linger_and_close() {
  set_deadline(server_.options.linger_timeout);
  error_code ec;
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    co_await stream_.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  } else {
    stream_.shutdown(tcp::socket::shutdown_send, ec);
    std::size_t drained = 0;
    char scratch[4096];
    while (!ec && drained < 1024 * 1024) {
      drained += co_await stream_.async_read_some(asio::buffer(scratch),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  abort();
}

template <class Stream>
asio::awaitable<void> serve(Worker& worker, Stream stream, std::uint64_t id) {
  Session<Stream> session(worker, std::move(stream), id);
  try {
    co_await session.run();
  } catch (const std::exception& error) {
    worker.server.report(std::string("connection failed: ") + error.what());
  }
}

}  // namespace

void detail::HttpServerImpl::start(HttpServerOptions server_options) {
  options = std::move(server_options);
  if (options.threads == 0) options.threads = 1;
  if (options.tls) tls_context.emplace(make_server_context(*options.tls));

  if (options.timer_granularity.count() > 0) {
    granularity = options.timer_granularity;
  } else {
    const auto shortest =
        std::min({options.handshake_timeout, options.header_timeout, options.body_timeout,
                  options.write_timeout, options.idle_timeout, options.linger_timeout});
    granularity = std::clamp<Clock::duration>(shortest / 10, std::chrono::milliseconds(5),
                                              std::chrono::milliseconds(250));
  }

  for (std::size_t i = 0; i < options.threads; ++i) {
    workers.push_back(std::make_unique<Worker>(*this, i));
  }
  Worker& first = *workers.front();

  // Where to listen.
  tcp::endpoint endpoint;
  error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(first.io);
    const auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      throw std::system_error(
          ec, "HttpServer: cannot resolve the listen address '" + options.host + "'");
    }
    endpoint = results.begin()->endpoint();
  }
  const std::string where = endpoint_text(endpoint);
  acceptor.emplace(first.io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::system_error(ec, "HttpServer: cannot listen on " + where);
  bound = acceptor->local_endpoint(ec);
  if (ec) throw std::system_error(ec, "HttpServer: cannot read the bound address of " + where);

  for (auto& worker : workers) {
    worker->ticker.emplace(worker->io);
    arm_ticker(*worker);
  }
  asio::co_spawn(first.io, accept_loop(), asio::detached);
  for (auto& worker : workers) {
    worker->thread = std::thread([this, w = worker.get()] { run_worker(*w); });
  }
}

void detail::HttpServerImpl::run_worker(Worker& worker) {
  for (;;) {
    try {
      worker.io.run();
      break;
    } catch (const std::exception& error) {
      report(std::string("worker ") + std::to_string(worker.index) + ": " + error.what());
    } catch (...) {
      report("worker " + std::to_string(worker.index) + ": unknown exception");
    }
  }
  {
    std::lock_guard lock(mutex);
    worker.finished = true;
  }
  finished_cv.notify_all();
}

void detail::HttpServerImpl::arm_ticker(Worker& worker) {
  worker.ticker->expires_after(granularity);
  worker.ticker->async_wait([this, &worker](const error_code& ec) {
    if (ec || worker.stopping) return;
    worker.sweep();
    if (worker.index == 0) return_memory_after_burst();
    arm_ticker(worker);
  });
}

void detail::HttpServerImpl::return_memory_after_burst() {
  if (options.trim_after_closed == 0) return;
  const std::uint64_t open = active.load(std::memory_order_relaxed);
  if (peak_since_trim < open + options.trim_after_closed) return;
  const Clock::time_point now = Clock::now();
  if (now - last_trim < std::chrono::seconds(1)) return;
  last_trim = now;
  peak_since_trim = open;
#if defined(__GLIBC__)
  // Gives back the free pages of every arena, not only the top of the main heap
  // (malloc_trim(3), glibc 2.8 and later). The worker threads allocate from arenas of their own.
  malloc_trim(0);
#endif
  bump(trims);
}

void detail::HttpServerImpl::refuse(Socket& socket) {
  error_code ec;
  if (!options.tls) {
    // Best effort, never blocking: the client learns why.
    static constexpr std::string_view busy =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    socket.non_blocking(true, ec);
    if (!ec) socket.write_some(asio::buffer(busy), ec);
  }
  socket.shutdown(tcp::socket::shutdown_both, ec);
  socket.close(ec);
}

asio::awaitable<void> detail::HttpServerImpl::accept_loop() {
  std::size_t next = 0;
  Worker& home = *workers.front();
  for (;;) {
    Worker& target = *workers[next];
    next = (next + 1) % workers.size();
    error_code ec;
    Socket socket =
        co_await acceptor->async_accept(target.io, asio::redirect_error(asio::use_awaitable, ec));
    if (home.stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {
      // EMFILE and friends: report, breathe, go on.
      report("accept failed on " + endpoint_text(bound) + ": " + ec.message());
      asio::steady_timer pause(home.io, std::chrono::milliseconds(50));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (home.stopping) co_return;
      continue;
    }
    if (active.load(std::memory_order_relaxed) >= options.max_connections) {
      bump(home.counters.refused);
      if (options.on_error) {
        error_code ignored;
        report("connection from " + endpoint_text(socket.remote_endpoint(ignored)) + " refused: " +
               std::to_string(options.max_connections) + " connections are open (max_connections)");
      }
      refuse(socket);
      continue;
    }
    const std::uint64_t open = active.fetch_add(1, std::memory_order_relaxed) + 1;
    peak_since_trim = std::max(peak_since_trim, open);
    bump(home.counters.accepted);
    socket.set_option(tcp::no_delay(true), ec);
    const std::uint64_t id = ++next_connection_id;
    if (tls_context) {
      asio::co_spawn(target.io, serve(target, TlsStream(std::move(socket), *tls_context), id),
                     asio::detached);
    } else {
      asio::co_spawn(target.io, serve(target, std::move(socket), id), asio::detached);
    }
  }
}

void detail::HttpServerImpl::stop() {
  {
    std::lock_guard lock(mutex);
    if (stopped) return;
    stopped = true;
  }
  for (auto& worker : workers) {
    asio::post(worker->io, [this, w = worker.get()] {
      w->stopping = true;
      if (w->index == 0 && acceptor) {
        error_code ignored;
        acceptor->close(ignored);
      }
      if (w->ticker) w->ticker->cancel();
      for (ConnectionBase* connection : w->connections) connection->abort();
    });
  }
  {
    std::unique_lock lock(mutex);
    finished_cv.wait_for(lock, options.stop_grace, [this] {
      return std::all_of(workers.begin(), workers.end(),
                         [](const auto& worker) { return worker->finished; });
    });
  }
  // Handlers still running after the grace period are abandoned: their coroutines are
  // destroyed with the io_context.
  for (auto& worker : workers) worker->io.stop();
  for (auto& worker : workers) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<detail::HttpServerImpl>()) {
  if (!handler) throw std::invalid_argument("HttpServer: no handler");
  impl_->handler = std::move(handler);
  impl_->start(std::move(options));
}

HttpServer::HttpServer(HttpServerOptions options, AsyncHttpHandler handler)
    : impl_(std::make_unique<detail::HttpServerImpl>()) {
  if (!handler) throw std::invalid_argument("HttpServer: no handler");
  impl_->async_handler = std::move(handler);
  impl_->start(std::move(options));
}

HttpServer::~HttpServer() {
  if (impl_) impl_->stop();
}

void HttpServer::stop() { impl_->stop(); }

std::uint16_t HttpServer::port() const noexcept { return impl_->bound.port(); }

bool HttpServer::tls() const noexcept { return impl_->tls_context.has_value(); }

std::string HttpServer::url() const {
  return std::string(tls() ? "https://" : "http://") + endpoint_text(impl_->bound);
}

HttpServerStats HttpServer::stats() const {
  HttpServerStats stats;
  for (const auto& worker : impl_->workers) {
    const WorkerCounters& c = worker->counters;
    stats.connections_accepted += c.accepted.load(std::memory_order_relaxed);
    stats.connections_refused += c.refused.load(std::memory_order_relaxed);
    stats.requests += c.requests.load(std::memory_order_relaxed);
    stats.bad_requests += c.bad_requests.load(std::memory_order_relaxed);
    stats.handler_errors += c.handler_errors.load(std::memory_order_relaxed);
    stats.timeouts += c.timeouts.load(std::memory_order_relaxed);
    stats.tls_handshake_failures += c.tls_failures.load(std::memory_order_relaxed);
  }
  stats.connections_active = impl_->active.load(std::memory_order_relaxed);
  stats.memory_trims = impl_->trims.load(std::memory_order_relaxed);
  return stats;
}

void parse_listen_address(std::string_view text, HttpServerOptions& options) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    throw lorawan::Error("listen: expected HOST:PORT (e.g. 127.0.0.1:8443 or :8443), got " +
                         lorawan::quote_for_error(text));
  }
  std::string host(text.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  const std::string_view port = text.substr(colon + 1);
  unsigned long p = 0;
  bool ok = !port.empty() && port.size() <= 5;
  for (char c : port) {
    ok = ok && c >= '0' && c <= '9';
    p = p * 10 + static_cast<unsigned long>(c - '0');
  }
  if (!ok || p > 65535) {
    throw lorawan::Error("listen: expected a port 0-65535 after ':', got " +
                         lorawan::quote_for_error(text));
  }
  options.host = host;
  options.port = static_cast<std::uint16_t>(p);
}

}  // namespace joincheck::backend
