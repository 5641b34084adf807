// HttpServer over real loopback sockets: keep-alive, limits, deadlines, malformed input,
// handler failures, shutdown. Every wait in these tests is bounded.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "test_http_util.hpp"

namespace joincheck::backend {
namespace {

using namespace std::chrono_literals;
using testing::body_of;
using testing::RawConnection;
using testing::status_of;
using Clock = std::chrono::steady_clock;

HttpResponse echo(const HttpRequest& request) {
  HttpResponse response;
  response.content_type = "application/json";
  response.body = request.body;
  response.headers.push_back({"X-Target", request.target});
  return response;
}

std::string post(std::string_view target, std::string_view body,
                 std::string_view extra_headers = "") {
  return std::string("POST ") + std::string(target) +
         " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra_headers) + "\r\n" +
         std::string(body);
}

HttpServerOptions fast_options() {
  HttpServerOptions options;
  options.header_timeout = 2000ms;
  options.body_timeout = 2000ms;
  options.idle_timeout = 5000ms;
  options.write_timeout = 2000ms;
  options.linger_timeout = 300ms;
  return options;
}

TEST(HttpServer, ReportsTheBoundEphemeralPort) {
  HttpServer server(fast_options(), echo);
  EXPECT_NE(server.port(), 0);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(server.port()));
  EXPECT_FALSE(server.tls());
}

TEST(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  std::mutex mutex;
  std::set<std::uint64_t> connections;
  std::set<std::uint16_t> peer_ports;
  HttpServer server(fast_options(), [&](const HttpRequest& request) {
    {
      std::lock_guard lock(mutex);
      connections.insert(request.connection_id);
      peer_ports.insert(request.peer_port);
    }
    return echo(request);
  });
  BlockingHttpClient client;
  const std::string url = server.url() + "/join";
  for (int i = 0; i < 500; ++i) {
    const std::string body = R"({"n":)" + std::to_string(i) + "}";
    const HttpClientResponse response = client.post(url, "application/json", body);
    ASSERT_EQ(response.status, 200);
    ASSERT_EQ(response.body, body);
    ASSERT_EQ(response.connection_reused, i > 0);
  }
  EXPECT_EQ(connections.size(), 1u);
  EXPECT_EQ(peer_ports.size(), 1u);
  const HttpServerStats stats = server.stats();
  EXPECT_EQ(stats.connections_accepted, 1u);
  EXPECT_EQ(stats.requests, 500u);
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.send(post("/a", "1") + post("/b", "22") + post("/c", "333")));
  for (const char* expected : {"1", "22", "333"}) {
    const std::string response = connection.read_response();
    EXPECT_EQ(status_of(response), 200) << response;
    EXPECT_EQ(body_of(response), expected);
  }
  EXPECT_EQ(server.stats().connections_accepted, 1u);
}

TEST(HttpServer, PassesMethodTargetHeadersBodyAndPeer) {
  std::promise<HttpRequest> seen;
  HttpServer server(fast_options(), [&](const HttpRequest& request) {
    seen.set_value(request);
    return HttpResponse::text(200, "ok");
  });
  BlockingHttpClient client;
  HttpClientRequest request;
  request.url = server.url() + "/js/join?x=1";
  request.content_type = "application/json; charset=utf-8";
  request.body = R"({"MessageType":"JoinReq"})";
  request.headers = {{"Authorization", "Bearer abc"}, {"X-Custom", "one"}};
  const HttpClientResponse response = client.request(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type(), "text/plain; charset=utf-8");
  EXPECT_EQ(response.body, "ok");

  const HttpRequest got = seen.get_future().get();
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/js/join?x=1");
  EXPECT_EQ(got.path(), "/js/join");
  EXPECT_EQ(got.version, 11u);
  EXPECT_EQ(got.content_type(), "application/json; charset=utf-8");  // raw, with parameters
  EXPECT_EQ(got.authorization(), "Bearer abc");
  EXPECT_EQ(got.headers.get("x-custom"), "one");  // case-insensitive lookup
  EXPECT_EQ(got.body, request.body);
  EXPECT_EQ(got.peer_address, "127.0.0.1");
  EXPECT_NE(got.peer_port, 0);
  EXPECT_EQ(got.tls, nullptr);
  EXPECT_TRUE(got.keep_alive);
}

TEST(HttpServer, ResponseHasDateLengthTypeAndExtraHeaders) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.send(post("/t", "{}")));
  const std::string response = RawConnection::lowered(connection.read_response());
  EXPECT_EQ(response.rfind("http/1.1 200 ok\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("\r\ndate: "), std::string::npos);
  EXPECT_NE(response.find("\r\ncontent-length: 2\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\ncontent-type: application/json\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\nx-target: /t\r\n"), std::string::npos);
}

TEST(HttpServer, BodyOverTheLimitGets413) {
  bool called = false;
  HttpServer server(fast_options(), [&](const HttpRequest& request) {
    called = true;
    return echo(request);
  });
  // Announced length over 32 KiB: refused from the headers alone.
  {
    RawConnection connection(server.port());
    ASSERT_TRUE(connection.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n"));
    const std::string response = connection.read_response();
    EXPECT_EQ(status_of(response), 413) << response;
    EXPECT_NE(response.find("32768"), std::string::npos);
    EXPECT_TRUE(connection.wait_closed(2000ms));
  }
  // The client sends the whole oversized body and still reads the 413.
  {
    BlockingHttpClient client;
    const HttpClientResponse response =
        client.post(server.url(), "application/json", std::string(33 * 1024, 'x'));
    EXPECT_EQ(response.status, 413);
  }
  // Chunked bodies count too.
  {
    RawConnection connection(server.port());
    std::string chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 40; ++i) chunked += "400\r\n" + std::string(1024, 'y') + "\r\n";
    chunked += "0\r\n\r\n";
    connection.send(chunked);
    EXPECT_EQ(status_of(connection.read_response()), 413);
  }
  // Exactly at the limit is fine.
  {
    BlockingHttpClient client;
    const std::string body(32 * 1024, 'z');
    const HttpClientResponse response = client.post(server.url(), "application/json", body);
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body.size(), body.size());
  }
  EXPECT_TRUE(called);
}

TEST(HttpServer, ChunkedRequestBodyIsReassembled) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  connection.send(
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\n{\"a\r\n4\r\n\":1}\r\n0\r\n\r\n");
  const std::string response = connection.read_response();
  EXPECT_EQ(status_of(response), 200);
  EXPECT_EQ(body_of(response), R"({"a":1})");
}

// A client that writes the end of a chunked body a few bytes at a time ("0\r\n", then "\r",
// then "\n"): the request completes. (Beast 1.81 asserts on it in Debug builds;
// backend/boost_assert_handler.cpp lets that one assertion through, so the sanitizer builds
// prove the server does not abort.)
TEST(HttpServer, ChunkedBodyEndingInPiecesIsReassembled) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  ASSERT_TRUE(connection.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(connection.send("\r"));
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(connection.send("\n"));
  const std::string response = connection.read_response();
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_EQ(body_of(response), "{}");
}

TEST(HttpServer, SilentClientIsDroppedAtTheHeaderDeadline) {
  HttpServerOptions options = fast_options();
  options.header_timeout = 200ms;
  HttpServer server(options, echo);
  RawConnection connection(server.port());
  const auto start = Clock::now();
  EXPECT_TRUE(connection.wait_closed(3000ms));
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_EQ(server.stats().timeouts, 1u);
}

TEST(HttpServer, SlowlorisHeadersAreDroppedAtTheHeaderDeadline) {
  HttpServerOptions options = fast_options();
  options.header_timeout = 300ms;
  HttpServer server(options, echo);
  RawConnection connection(server.port());
  const auto start = Clock::now();
  const std::string head = "POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  connection.send(head);
  // One byte every 40 ms keeps the connection busy but never finishes the header.
  bool dropped = false;
  for (int i = 0; i < 100 && !dropped; ++i) {
    if (!connection.send("a")) break;
    dropped = !connection.read_some(40ms).empty() || connection.closed();
  }
  EXPECT_TRUE(connection.wait_closed(2000ms));
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 250ms);
  EXPECT_LT(waited, 2000ms);
}

TEST(HttpServer, HalfABodyThenSilenceIsDroppedAtTheBodyDeadline) {
  HttpServerOptions options = fast_options();
  options.body_timeout = 200ms;
  std::atomic<bool> called{false};
  HttpServer server(options, [&](const HttpRequest& request) {
    called = true;
    return echo(request);
  });
  RawConnection connection(server.port());
  connection.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  const auto start = Clock::now();
  EXPECT_TRUE(connection.wait_closed(3000ms));
  const auto waited = Clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_LT(waited, 1500ms);
  EXPECT_FALSE(called);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions options = fast_options();
  options.idle_timeout = 200ms;
  HttpServer server(options, echo);
  RawConnection connection(server.port());
  connection.send(post("/", "{}"));
  EXPECT_EQ(status_of(connection.read_response()), 200);
  const auto start = Clock::now();
  EXPECT_TRUE(connection.wait_closed(3000ms));
  EXPECT_GE(Clock::now() - start, 150ms);
}

TEST(HttpServer, MalformedRequestLineGets400AndServerKeepsServing) {
  HttpServer server(fast_options(), echo);
  for (const char* garbage :
       {"GARBAGE\r\n\r\n", "GET / HTTP/9\r\n\r\n", "GET\t/ HTTP/1.1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "POST / HTTP/1.1\r\nBad Header\r\n\r\n", "\x16\x03\x01\x02\x01\xfc\x03\x03\r\n\r\n"}) {
    RawConnection connection(server.port());
    connection.send(garbage);
    const std::string response = connection.read_response();
    EXPECT_EQ(status_of(response), 400) << "for " << garbage << " got " << response;
    EXPECT_TRUE(connection.wait_closed(2000ms));
  }
  BlockingHttpClient client;
  EXPECT_EQ(client.post(server.url(), "application/json", "{}").status, 200);
  EXPECT_EQ(server.stats().bad_requests, 7u);
}

TEST(HttpServer, UnknownTransferEncodingGets501) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  connection.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
  const int status = status_of(connection.read_response());
  EXPECT_EQ(status, 501);
}

TEST(HttpServer, HugeHeaderGets431) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  connection.send("POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  const std::string response = connection.read_response();
  EXPECT_EQ(status_of(response), 431) << response;
  EXPECT_TRUE(connection.wait_closed(2000ms));
}

TEST(HttpServer, ContentLengthLongerThanTheBodyTimesOut) {
  HttpServerOptions options = fast_options();
  options.body_timeout = 200ms;
  HttpServer server(options, echo);
  RawConnection connection(server.port());
  connection.send(post("/", "{}").replace(post("/", "{}").find("Length: 2"), 9, "Length: 9"));
  EXPECT_TRUE(connection.wait_closed(3000ms));
}

TEST(HttpServer, HandlerExceptionGives500AndTheConnectionGoesOn) {
  std::mutex mutex;
  std::vector<std::string> errors;
  HttpServerOptions options = fast_options();
  options.on_error = [&](std::string_view message) {
    std::lock_guard lock(mutex);
    errors.emplace_back(message);
  };
  HttpServer server(options, [](const HttpRequest& request) -> HttpResponse {
    if (request.target == "/throw") throw std::runtime_error("database is on fire");
    if (request.target == "/throw-int") throw 42;
    if (request.target == "/bad-header") {
      HttpResponse response = HttpResponse::text(200, "x");
      response.headers.push_back({"X-Split", "a\r\nSet-Cookie: evil"});
      return response;
    }
    return echo(request);
  });
  BlockingHttpClient client;
  for (const char* target : {"/throw", "/throw-int", "/bad-header"}) {
    const HttpClientResponse failed = client.post(server.url() + target, "application/json", "{}");
    EXPECT_EQ(failed.status, 500) << target;
    EXPECT_EQ(failed.body, "internal server error\n");
    EXPECT_EQ(failed.headers.get("Set-Cookie"), "");
    const HttpClientResponse ok = client.post(server.url() + "/fine", "application/json", "{}");
    EXPECT_EQ(ok.status, 200);
    EXPECT_TRUE(ok.connection_reused);
  }
  EXPECT_EQ(server.stats().handler_errors, 3u);
  EXPECT_EQ(server.stats().connections_accepted, 1u);
  std::lock_guard lock(mutex);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("database is on fire"), std::string::npos);
  EXPECT_NE(errors[0].find("POST /throw"), std::string::npos);
}

TEST(HttpServer, AbruptDisconnectsDoNotHurt) {
  HttpServer server(fast_options(), echo);
  for (int i = 0; i < 20; ++i) {
    RawConnection connection(server.port());
    switch (i % 4) {
      case 0:
        connection.reset();  // RST before anything
        break;
      case 1:
        connection.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Le");
        connection.reset();
        break;
      case 2:
        connection.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"half\":");
        break;  // FIN mid-body
      case 3:
        connection.send(post("/", std::string(5000, 'q')));
        connection.reset();  // gone before reading the response
        break;
    }
  }
  BlockingHttpClient client;
  EXPECT_EQ(client.post(server.url(), "application/json", "{}").status, 200);
  const auto until = Clock::now() + 2s;
  while (server.stats().connections_active > 1 && Clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_LE(server.stats().connections_active, 1u);
}

TEST(HttpServer, ExpectContinueIsHonoured) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  connection.send(
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  const std::string interim = connection.read_response();
  EXPECT_EQ(status_of(interim), 100) << interim;
  connection.send("body");
  const std::string response = connection.read_response();
  EXPECT_EQ(status_of(response), 200) << response;
  EXPECT_EQ(body_of(response), "body");
}

TEST(HttpServer, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  HttpServer server(fast_options(), echo);
  RawConnection connection(server.port());
  connection.send("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}");
  const std::string response = RawConnection::lowered(connection.read_response());
  EXPECT_EQ(status_of(response), 200);
  EXPECT_NE(response.find("connection: close"), std::string::npos);
  EXPECT_TRUE(connection.wait_closed(2000ms));
}

TEST(HttpServer, HeadGetsHeadersWithoutBody) {
  HttpServer server(fast_options(),
                    [](const HttpRequest&) { return HttpResponse::text(200, "twelve bytes"); });
  BlockingHttpClient client;
  HttpClientRequest request;
  request.method = "HEAD";
  request.url = server.url();
  const HttpClientResponse response = client.request(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.headers.get("Content-Length"), "12");
  EXPECT_EQ(response.body, "");
  // The connection is still in step: a second request works on it.
  const HttpClientResponse again = client.get(server.url());
  EXPECT_EQ(again.body, "twelve bytes");
  EXPECT_TRUE(again.connection_reused);
}

TEST(HttpServer, AsyncHandlerCanAwait) {
  HttpServerOptions options = fast_options();
  options.threads = 2;
  HttpServer server(
      options, [](const HttpRequest& request) -> boost::asio::awaitable<HttpResponse> {
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 20ms);
        co_await timer.async_wait(boost::asio::use_awaitable);
        if (request.target == "/throw") throw std::runtime_error("async failure");
        co_return HttpResponse::text(200, "later:" + request.body);
      });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      BlockingHttpClient client;
      for (int i = 0; i < 10; ++i) {
        const std::string body = std::to_string(t * 100 + i);
        const HttpClientResponse response = client.post(server.url(), "text/plain", body);
        if (response.status == 200 && response.body == "later:" + body) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 40);
  BlockingHttpClient client;
  EXPECT_EQ(client.post(server.url() + "/throw", "text/plain", "").status, 500);
}

TEST(HttpServer, ConnectionsOverTheLimitAreRefused) {
  HttpServerOptions options = fast_options();
  options.max_connections = 2;
  HttpServer server(options, echo);
  RawConnection first(server.port());
  RawConnection second(server.port());
  first.send(post("/", "1"));
  second.send(post("/", "2"));
  EXPECT_EQ(status_of(first.read_response()), 200);
  EXPECT_EQ(status_of(second.read_response()), 200);
  RawConnection third(server.port());
  const std::string refused = third.read_response(2000ms);
  EXPECT_EQ(status_of(refused), 503) << refused;
  EXPECT_TRUE(third.wait_closed(2000ms));
  EXPECT_EQ(server.stats().connections_refused, 1u);
}

TEST(HttpServer, StopIsPromptWithOpenConnectionsAndRunningHandlers) {
  HttpServerOptions options = fast_options();
  options.threads = 2;
  options.stop_grace = 200ms;
  std::atomic<bool> handler_started{false};
  auto server = std::make_unique<HttpServer>(
      options, [&](const HttpRequest&) -> boost::asio::awaitable<HttpResponse> {
        handler_started = true;
        boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, 60s);
        co_await timer.async_wait(boost::asio::use_awaitable);
        co_return HttpResponse::text(200, "too late");
      });
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 5; ++i) idle.push_back(std::make_unique<RawConnection>(server->port()));
  RawConnection busy(server->port());
  busy.send(post("/", "{}"));
  for (int i = 0; i < 200 && !handler_started; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(handler_started);

  const auto start = Clock::now();
  server->stop();
  const auto took = Clock::now() - start;
  EXPECT_LT(took, 1500ms);
  for (auto& connection : idle) EXPECT_TRUE(connection->wait_closed(1000ms));
  EXPECT_TRUE(busy.wait_closed(1000ms));
  server.reset();  // the destructor after stop() is fine
}

TEST(HttpServer, DestructorStopsARunningServer) {
  const auto start = Clock::now();
  std::uint16_t port = 0;
  {
    HttpServerOptions options = fast_options();
    options.threads = 3;
    HttpServer server(options, echo);
    port = server.port();
    RawConnection open(port);
    BlockingHttpClient client;
    EXPECT_EQ(client.get(server.url()).status, 200);
  }
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_THROW(RawConnection{port}, std::runtime_error);  // nothing listens any more
}

TEST(HttpServer, ListeningOnAnAddressInUseThrowsNamingIt) {
  HttpServer first(fast_options(), echo);
  HttpServerOptions options = fast_options();
  options.port = first.port();
  try {
    HttpServer second(options, echo);
    FAIL() << "expected a bind error";
  } catch (const std::system_error& error) {
    EXPECT_NE(std::string(error.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << error.what();
  }
}

TEST(HttpServer, ManyClientsOnSeveralThreads) {
  HttpServerOptions options = fast_options();
  options.threads = 2;
  HttpServer server(options, echo);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      BlockingHttpClient client;
      for (int i = 0; i < 100; ++i) {
        if (client.post(server.url(), "application/json", "{}").status == 200) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ(server.stats().connections_accepted, 8u);
}

// Issue 13: after a burst of connections the memory they used goes back to the system. What
// is checked here is that the server asks for it once enough connections have closed; the RSS
// itself is measured by scripts/bench-js-resources --bursts.
TEST(HttpServer, GivesMemoryBackOnceABurstOfConnectionsHasClosed) {
  HttpServerOptions options = fast_options();
  options.trim_after_closed = 16;
  HttpServer server(options, echo);
  {
    std::vector<std::unique_ptr<RawConnection>> burst;
    for (int i = 0; i < 40; ++i) {
      burst.push_back(std::make_unique<RawConnection>(server.port()));
      ASSERT_TRUE(burst.back()->send(post("/", "{}")));
      ASSERT_EQ(status_of(burst.back()->read_response()), 200);
    }
    EXPECT_EQ(server.stats().memory_trims, 0u);  // all 40 still open
  }
  const auto until = Clock::now() + 5s;
  while ((server.stats().memory_trims == 0 || server.stats().connections_active > 0) &&
         Clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(server.stats().memory_trims, 1u);
  EXPECT_EQ(server.stats().connections_active, 0u);
  BlockingHttpClient client;
  EXPECT_EQ(client.post(server.url(), "application/json", "{}").status, 200);
}

}  // namespace
}  // namespace joincheck::backend
