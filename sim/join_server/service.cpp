#include "sim/join_server/service.hpp"

#include <atomic>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "backend/http_client.hpp"

namespace joincheck::sim {

namespace asio = boost::asio;

struct JoinServerService::Impl {
  JoinServerServiceOptions options;
  DeviceStore store;
  JoinServer js;
  std::map<std::string, std::vector<backend::MessageType>, std::less<>> path_types;
  std::mutex clients_mutex;
  std::unordered_map<std::thread::id, std::unique_ptr<backend::HttpClient>> clients;
  std::atomic<std::uint64_t> delivered{0}, failed{0};
  std::mutex log_mutex;
  std::unique_ptr<backend::HttpServer> http;

  // The async clients are bound to the server's worker io_contexts: they go after the workers
  // have stopped and before the contexts are destroyed.
  ~Impl() {
    if (http) http->stop();
    // Changes still pending are committed while the workers' io_contexts exist: their
    // callbacks post to those contexts (stopped, so the posts are only queued and dropped).
    store.commit_pending();
    clients.clear();
    http.reset();
  }

  static DeviceStoreOptions store_options(DeviceStoreOptions o) {
    o.background_committer = false;  // commits run on the workers, see schedule_flush()
    return o;
  }

  explicit Impl(JoinServerServiceOptions o)
      : options(std::move(o)), store(store_options(options.store)), js(options.js, store) {
    for (const auto& f : options.fleets) store.upsert(f);
    options.fleets.clear();  // the store holds the devices now: do not keep them twice
    options.fleets.shrink_to_fit();
#ifdef __GLIBC__
    malloc_trim(0);  // give the fleet file's parse back to the system (GBs for 1M devices)
#endif
    for (const auto& [type, path] : options.paths) path_types[path].push_back(type);
  }

  void log(const std::string& line) {
    if (!options.log) return;
    std::lock_guard lock(log_mutex);
    options.log(line);
  }

  // One client per worker thread: HttpClient is bound to its executor.
  backend::HttpClient& client_for_this_thread(asio::any_io_executor ex) {
    std::lock_guard lock(clients_mutex);
    auto& c = clients[std::this_thread::get_id()];
    if (!c) {
      backend::HttpClientOptions o;
      o.tls = options.async_tls;
      o.timeout = options.async_timeout;
      c = std::make_unique<backend::HttpClient>(ex, o);
    }
    return *c;
  }

  // Group commit on the event loop: the first request of a batch queues one flush behind the
  // work already queued on this worker (the other requests that arrived together), and the
  // flush commits them all in one transaction. No thread switch on the way.
  void schedule_flush(const asio::any_io_executor& ex) {
    thread_local bool scheduled = false;  // one worker per thread, one io_context per worker
    if (scheduled) return;
    scheduled = true;
    asio::post(ex, [this] {
      scheduled = false;
      store.commit_pending();
    });
  }

  asio::awaitable<CommitResult> durable(CommitTicket ticket) {
    auto ex = co_await asio::this_coro::executor;
    co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(CommitResult)>(
        [this, ticket, ex](auto handler) {
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          schedule_flush(ex);
          // Always posted, never run inline: the callback may come at once, from inside this
          // initiation (another worker committed the ticket already). A post from the worker's
          // own thread is a queue push, without a wake-up.
          store.when_durable(ticket, [shared, ex](const CommitResult& r) {
            asio::post(ex, [shared, r]() mutable { (*shared)(r); });
          });
        },
        asio::use_awaitable);
  }

  asio::awaitable<void> deliver(AsyncDelivery d, std::string what) {
    auto ex = co_await asio::this_coro::executor;
    backend::HttpClient& client = client_for_this_thread(ex);
    std::string last_error;
    for (int attempt = 1; attempt <= options.async_attempts; ++attempt) {
      try {
        const auto r = co_await client.post(d.url, "application/json", d.body);
        if (r.status >= 200 && r.status < 300) {
          ++delivered;
          log("async " + what + " -> " + d.url + " " + std::to_string(r.status) + " (attempt " +
              std::to_string(attempt) + ")");
          co_return;
        }
        last_error = "HTTP " + std::to_string(r.status);
      } catch (const std::exception& e) {
        last_error = e.what();
      }
      if (attempt < options.async_attempts) {
        asio::steady_timer t(ex, options.async_retry_delay * attempt);
        co_await t.async_wait(asio::use_awaitable);
      }
    }
    ++failed;
    log("async " + what + " -> " + d.url + " FAILED after " + std::to_string(options.async_attempts) +
        " attempts: " + last_error);
  }

  asio::awaitable<backend::HttpResponse> handle(const backend::HttpRequest& req) {
    const auto started = std::chrono::steady_clock::now();
    if (req.method != "POST") {
      co_return backend::HttpResponse::text(405, "joincheck JS: Backend Interfaces messages are POSTed\n");
    }
    JsRequest jr;
    jr.body = req.body;
    if (req.tls) jr.peer_chain = req.tls->peer_chain;
    if (!path_types.empty()) {
      const auto it = path_types.find(req.path());
      if (it == path_types.end()) {
        co_return backend::HttpResponse::text(404, "joincheck JS: no Backend Interfaces endpoint at " +
                                                       std::string(req.path()) + "\n");
      }
      jr.path_types = &it->second;
    }
    JsAnswer a = js.handle(jr);
    auto ex = co_await asio::this_coro::executor;
    if (a.delay.count() > 0) {
      asio::steady_timer t(ex, a.delay);
      co_await t.async_wait(asio::use_awaitable);
    }
    if (a.durable && a.durable->sequence != 0) {
      const CommitResult r = co_await durable(*a.durable);
      if (!r.committed) {
        log("error " + a.log_message_type + " " + a.log_dev_eui + ": state not saved: " + r.error);
        co_return backend::HttpResponse::text(500, "joincheck JS: the join state could not be saved\n");
      }
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - started).count();
    if (options.log) {
      std::ostringstream line;
      line << req.peer_address << ' ' << a.log_message_type << ' ' << a.log_dev_eui << ' '
           << a.log_result << ' ' << a.http_status << ' ' << us / 1000 << '.' << (us % 1000) / 100
           << "ms" << (a.async ? " (async)" : "");
      log(line.str());
    }
    if (a.async) {
      asio::co_spawn(ex, deliver(std::move(*a.async), a.log_message_type + " " + a.log_dev_eui),
                     asio::detached);
    }
    backend::HttpResponse resp;
    resp.status = a.http_status;
    resp.content_type = std::move(a.content_type);
    resp.body = std::move(a.body);
    co_return resp;
  }
};

JoinServerService::JoinServerService(JoinServerServiceOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  Impl* impl = impl_.get();
  impl_->http = std::make_unique<backend::HttpServer>(
      impl_->options.http,
      backend::AsyncHttpHandler([impl](const backend::HttpRequest& r) { return impl->handle(r); }));
}

JoinServerService::~JoinServerService() { stop(); }

void JoinServerService::stop() {
  if (impl_ && impl_->http) impl_->http->stop();
}

std::uint16_t JoinServerService::port() const { return impl_->http->port(); }
std::string JoinServerService::url() const { return impl_->http->url(); }
DeviceStore& JoinServerService::store() { return impl_->store; }
const JoinServer& JoinServerService::join_server() const { return impl_->js; }
backend::HttpServerStats JoinServerService::http_stats() const { return impl_->http->stats(); }
std::uint64_t JoinServerService::async_delivered() const { return impl_->delivered; }
std::uint64_t JoinServerService::async_failed() const { return impl_->failed; }

}  // namespace joincheck::sim
