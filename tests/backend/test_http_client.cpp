// HttpClient over real loopback sockets: deadlines, error phases and messages, responses of
// any status, keep-alive reuse, the coroutine interface.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "test_http_util.hpp"

namespace joincheck::backend {
namespace {

using namespace std::chrono_literals;
using testing::RawServer;
using Clock = std::chrono::steady_clock;

HttpServerOptions quick_server() {
  HttpServerOptions options;
  options.header_timeout = 2000ms;
  options.body_timeout = 2000ms;
  options.linger_timeout = 300ms;
  return options;
}

TEST(HttpClient, DeadlineFiresAgainstAServerThatNeverAnswers) {
  // Accepts, reads the request, then says nothing.
  RawServer silent([](int fd, const std::atomic<bool>& stopping) {
    RawServer::read_head(fd, 2000ms);
    testing::idle_until(stopping, 5000ms);
  });
  BlockingHttpClient client;
  HttpClientRequest request;
  request.url = silent.url("/join");
  request.body = "{}";
  request.content_type = "application/json";
  request.timeout = 300ms;
  const auto start = Clock::now();
  try {
    client.request(request);
    FAIL() << "expected a timeout";
  } catch (const HttpError& error) {
    const auto took = Clock::now() - start;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 2000ms);
    EXPECT_TRUE(error.timed_out());
    EXPECT_EQ(error.phase(), HttpErrorPhase::read);
    EXPECT_EQ(error.url(), request.url);
    const std::string message = error.what();
    EXPECT_NE(message.find("POST " + request.url + ": read: timed out"), std::string::npos)
        << message;
    EXPECT_NE(message.find("300 ms"), std::string::npos) << message;
  }
}

TEST(HttpClient, DeadlineCoversAServerThatAcceptsButNeverReads) {
  // The request fits in the socket buffers, so this is a read timeout as well; what matters
  // is that nothing waits longer than the deadline.
  RawServer deaf([](int, const std::atomic<bool>& stopping) {
    testing::idle_until(stopping, 5000ms);
  });
  BlockingHttpClient client;
  HttpClientRequest request;
  request.url = deaf.url();
  request.timeout = 200ms;
  const auto start = Clock::now();
  EXPECT_THROW(client.request(request), HttpError);
  EXPECT_LT(Clock::now() - start, 1500ms);
}

TEST(HttpClient, ConnectionRefusedNamesTheUrlAndThePhase) {
  std::uint16_t port = 0;
  {
    HttpServer server(quick_server(), [](const HttpRequest&) { return HttpResponse{}; });
    port = server.port();
  }
  BlockingHttpClient client;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/join";
  try {
    client.post(url, "application/json", "{}");
    FAIL() << "expected a connect error";
  } catch (const HttpError& error) {
    EXPECT_EQ(error.phase(), HttpErrorPhase::connect);
    EXPECT_FALSE(error.timed_out());
    const std::string message = error.what();
    EXPECT_NE(message.find("POST " + url + ": connect: cannot connect to 127.0.0.1:" +
                           std::to_string(port)),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("refused"), std::string::npos) << message;
  }
}

TEST(HttpClient, InvalidUrlsAreRefusedBeforeAnyIo) {
  BlockingHttpClient client;
  for (const char* url : {"ftp://x/", "http://", "http://host:99999/", "http://user@host/",
                          "http://host/a b", "localhost:8080"}) {
    try {
      client.get(url);
      FAIL() << url;
    } catch (const HttpError& error) {
      EXPECT_EQ(error.phase(), HttpErrorPhase::invalid_request) << url;
      EXPECT_NE(std::string(error.what()).find(url), std::string::npos) << error.what();
    }
  }
  HttpClientRequest request;
  request.url = "http://127.0.0.1:1/";
  request.headers = {{"X-Evil", "a\r\nInjected: yes"}};
  EXPECT_THROW(client.request(request), HttpError);
}

TEST(HttpClient, ParsesUrls) {
  const HttpUrl a = HttpUrl::parse("https://JS.example.com:8443/api/join?x=1#frag");
  EXPECT_TRUE(a.tls);
  EXPECT_EQ(a.host, "JS.example.com");
  EXPECT_EQ(a.port, 8443);
  EXPECT_EQ(a.target, "/api/join?x=1");
  const HttpUrl b = HttpUrl::parse("http://[::1]");
  EXPECT_EQ(b.host, "::1");
  EXPECT_EQ(b.port, 80);
  EXPECT_EQ(b.target, "/");
  EXPECT_EQ(b.origin(), "http://[::1]:80");
  EXPECT_EQ(HttpUrl::parse("https://h?q").target, "/?q");
}

TEST(HttpClient, ResponsesOfAnyStatusAreReturnedNotThrown) {
  HttpServer server(quick_server(), [](const HttpRequest& request) {
    if (request.target == "/missing") return HttpResponse::text(404, "no such path");
    if (request.target == "/empty") return HttpResponse{204, "", "", {}, false};
    HttpResponse response = HttpResponse::with_body(400, "application/json", R"({"e":1})");
    response.headers.push_back({"X-Reason", "because"});
    return response;
  });
  BlockingHttpClient client;
  const HttpClientResponse missing = client.get(server.url() + "/missing");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.reason, "Not Found");
  EXPECT_EQ(missing.body, "no such path");
  const HttpClientResponse empty = client.post(server.url() + "/empty", "application/json", "{}");
  EXPECT_EQ(empty.status, 204);
  EXPECT_EQ(empty.body, "");
  const HttpClientResponse bad = client.post(server.url() + "/bad", "application/json", "{}");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.content_type(), "application/json");
  EXPECT_EQ(bad.headers.get("X-Reason"), "because");
  EXPECT_EQ(bad.body, R"({"e":1})");
  EXPECT_TRUE(bad.connection_reused);
  EXPECT_GT(bad.elapsed.count(), 0);
}

TEST(HttpClient, SendsConfiguredAndPerRequestHeaders) {
  std::string authorization;
  std::string custom;
  std::string host;
  HttpServer server(quick_server(), [&](const HttpRequest& request) {
    authorization = request.authorization();
    custom = request.headers.get("X-Per-Request");
    host = request.headers.get("Host");
    return HttpResponse::text(200, "ok");
  });
  HttpClientOptions options;
  options.headers = {{"Authorization", "Bearer token-1"}};
  BlockingHttpClient client(options);
  HttpClientRequest request;
  request.url = server.url() + "/x";
  request.headers = {{"X-Per-Request", "yes"}};
  EXPECT_EQ(client.request(request).status, 200);
  EXPECT_EQ(authorization, "Bearer token-1");
  EXPECT_EQ(custom, "yes");
  EXPECT_EQ(host, "127.0.0.1:" + std::to_string(server.port()));
}

TEST(HttpClient, ReadsChunkedAndCloseDelimitedResponses) {
  RawServer server([](int fd, const std::atomic<bool>&) {
    const std::string head = RawServer::read_head(fd, 2000ms);
    if (head.find("GET /chunked") == 0) {
      RawServer::send_all(fd,
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    } else {
      RawServer::send_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close");
    }
    ::shutdown(fd, SHUT_WR);
  });
  BlockingHttpClient client;
  EXPECT_EQ(client.get(server.url("/chunked")).body, "hello world");
  EXPECT_EQ(client.get(server.url("/close")).body, "until close");
}

TEST(HttpClient, MalformedAndTruncatedResponsesAreReadErrors) {
  RawServer server([](int fd, const std::atomic<bool>&) {
    const std::string head = RawServer::read_head(fd, 2000ms);
    if (head.find("GET /garbage") == 0) {
      RawServer::send_all(fd, "SMTP ready\r\n\r\n");
    } else if (head.find("GET /short") == 0) {
      RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this");
    } else {
      RawServer::send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n");
    }
    ::shutdown(fd, SHUT_WR);
  });
  HttpClientOptions options;
  options.max_response_body = 1024;
  BlockingHttpClient client(options);
  for (const char* path : {"/garbage", "/short", "/huge"}) {
    try {
      client.get(server.url(path));
      FAIL() << path;
    } catch (const HttpError& error) {
      EXPECT_EQ(error.phase(), HttpErrorPhase::read) << error.what();
      EXPECT_FALSE(error.timed_out());
    }
  }
}

TEST(HttpClient, ReconnectsWhenTheServerClosedTheIdleConnection) {
  HttpServerOptions options = quick_server();
  options.idle_timeout = 100ms;
  HttpServer server(options, [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  BlockingHttpClient client;
  EXPECT_EQ(client.get(server.url()).status, 200);
  std::this_thread::sleep_for(400ms);  // the server drops the idle connection meanwhile
  const HttpClientResponse again = client.get(server.url());
  EXPECT_EQ(again.status, 200);
  EXPECT_FALSE(again.connection_reused);
  EXPECT_EQ(server.stats().connections_accepted, 2u);
}

TEST(HttpClient, ResolvesLocalhost) {
  HttpServer server(quick_server(), [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  BlockingHttpClient client;
  const HttpClientResponse response =
      client.get("http://localhost:" + std::to_string(server.port()) + "/");
  EXPECT_EQ(response.status, 200);
}

TEST(HttpClient, CoroutineInterfaceRunsConcurrentRequestsOnOneThread) {
  HttpServerOptions options = quick_server();
  options.threads = 2;
  HttpServer server(options, [](const HttpRequest& request) {
    return HttpResponse::text(200, request.body);
  });
  boost::asio::io_context io;
  HttpClient client(io.get_executor());
  int done = 0;
  std::string failure;
  for (int i = 0; i < 8; ++i) {
    boost::asio::co_spawn(
        io,
        [&, i]() -> boost::asio::awaitable<void> {
          try {
            for (int k = 0; k < 20; ++k) {
              const std::string body = std::to_string(i * 1000 + k);
              const HttpClientResponse response =
                  co_await client.post(server.url(), "text/plain", body);
              if (response.body != body) failure = "wrong body";
            }
            ++done;
          } catch (const std::exception& error) {
            failure = error.what();
          }
        },
        boost::asio::detached);
  }
  io.run_for(10s);
  EXPECT_EQ(failure, "");
  EXPECT_EQ(done, 8);
  EXPECT_LE(client.idle_connections(), 8u);
  EXPECT_LE(server.stats().connections_accepted, 8u);
}

TEST(HttpClient, KeepAliveCanBeTurnedOff) {
  HttpServer server(quick_server(), [](const HttpRequest&) { return HttpResponse::text(200, "ok"); });
  HttpClientOptions options;
  options.keep_alive = false;
  BlockingHttpClient client(options);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(client.get(server.url()).connection_reused);
  EXPECT_EQ(server.stats().connections_accepted, 3u);
}

}  // namespace
}  // namespace joincheck::backend
