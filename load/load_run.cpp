#include "load/load_run.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <ctime>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "backend/http_client.hpp"
#include "conformance/check.hpp"
#include "conformance/step_request.hpp"
#include "conformance/validator.hpp"
#include "load/dev_nonce_plan.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::load {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

std::string_view to_string(LoadMode mode) {
  switch (mode) {
    case LoadMode::open: return "open";
    case LoadMode::closed: return "closed";
    case LoadMode::storm: return "storm";
  }
  return "?";
}

namespace {

// JoinNonces a LoRaWAN 1.0.0-1.0.3 device remembers to judge joinnonce/not-repeated (later
// versions check that it increases, with no history): the last this many, so that a long run's
// memory stays bounded.
constexpr std::size_t kJoinNonceMemory = 256;
// How long a worker waits before looking at the stop flag again.
constexpr std::chrono::milliseconds kStopCheck{100};
// An error class's example, at most.
constexpr std::size_t kMaxExampleBytes = 300;
// --mix: the RejoinReqs of a type a lane may owe (while no device could send one, at the start
// of a run before any device has joined) and send as soon as devices can.
constexpr double kMaxRejoinDebt = 4;
constexpr std::size_t kRejoinTypes = 3;

struct DeviceSlot {
  conformance::DeviceState state;
  DevNoncePlan plan;
  std::deque<std::uint32_t> join_nonce_order;  // the JoinNonces in state.history, oldest first
};

// What every lane reads; nothing in it changes while lanes run.
struct Shared {
  Shared(const LoadOptions& o, conformance::ValidatorSettings v) : options(o), validator(std::move(v)) {}
  const LoadOptions& options;
  conformance::ValidatorSettings validator;
  const conformance::Catalog& catalog = conformance::Catalog::builtin();
  Clock::time_point start;
  Clock::time_point end;  // open and closed loop: no request is due after it
};

// "transport deadline", "transport refused", ...: what kind of transport failure, from the
// HTTP client's phase and OpenSSL's or the OS's words.
std::string transport_class(const backend::HttpError& e) {
  if (e.timed_out()) return "transport deadline";
  const std::string& d = e.detail();
  const auto has = [&d](std::string_view word) { return d.find(word) != std::string::npos; };
  switch (e.phase()) {
    case backend::HttpErrorPhase::resolve: return "transport resolve";
    case backend::HttpErrorPhase::connect: return has("refused") ? "transport refused" : "transport connect";
    case backend::HttpErrorPhase::tls_handshake: return "transport tls";
    case backend::HttpErrorPhase::invalid_request: return "transport invalid-request";
    case backend::HttpErrorPhase::write:
    case backend::HttpErrorPhase::read:
      if (has("reset")) return "transport reset";
      if (has("malformed") || has("larger than")) return "transport malformed";
      return "transport closed";
  }
  return "transport other";
}

std::string iso_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// One thread of the load test: its io_context, HTTP client, connections and devices.
class Lane {
 public:
  Lane(Shared& shared, std::vector<std::unique_ptr<DeviceSlot>> devices, std::size_t connections,
       double rate, std::uint64_t storm_devices, unsigned index)
      : shared_(shared),
        options_(shared.options),
        io_(1),
        devices_(std::move(devices)),
        connections_(connections),
        storm_devices_(storm_devices),
        builder_(shared.options.target, shared.options.seed + 0x9e37 * index),
        header_client_(shared.options.target.ns),
        join_url_(header_client_.url_for(backend::MessageType::join_req)),
        rejoin_url_(header_client_.url_for(backend::MessageType::rejoin_req)) {
    if (options_.mode == LoadMode::open && rate > 0) {
      period_ = std::chrono::duration<double, std::micro>(1e6 / rate);
    } else if (options_.mode == LoadMode::storm && storm_devices_ > 0) {
      period_ = std::chrono::duration<double, std::micro>(static_cast<double>(options_.storm->within.count()) /
                                                          static_cast<double>(storm_devices_));
    }
    for (auto& d : devices_) free_.push_back(d.get());
    kinds_[0] = &result_.requests[request_kind_name(std::nullopt)];
    for (std::uint8_t t = 0; t < kRejoinTypes; ++t) {
      rejoin_steps_[t].kind = conformance::StepKind::rejoin;
      rejoin_steps_[t].rejoin_type = t;
      rejoin_suffixes_[t] = " (" + request_kind_name(t) + ")";
      // Every kind asked for is in the result, sent or not, so that the judgement sees a kind
      // no device could send.
      if (options_.mix.rejoin[t] > 0) {
        kinds_[t + 1] = &result_.requests[request_kind_name(t)];
        kinds_[t + 1]->asked = options_.mix.rejoin[t];
      }
    }
    backend::HttpClientOptions ho;
    ho.tls = options_.target.ns.tls;
    ho.headers = options_.target.ns.headers;
    ho.timeout = options_.target.ns.timeout;
    ho.max_idle_per_host = connections_;
    ho.resume_tls_sessions = true;  // a reconnection is an abbreviated handshake when the JS allows it
    http_ = std::make_unique<backend::HttpClient>(io_.get_executor(), ho);
    if (options_.mode == LoadMode::storm) {
      StormOutcome s;
      s.devices = storm_devices_;
      s.within_us = options_.storm->within.count();
      s.rx1_deadline_us = options_.rx1_deadline.count();
      s.rx2_deadline_us = options_.rx2_deadline.count();
      result_.storm = s;
    }
  }

  void run() {
    for (std::size_t c = 0; c < connections_; ++c) {
      // A worker that ends with an exception is a defect of the harness: the lane stops and the
      // run says so (asio::detached would drop the exception and the connection with it).
      asio::co_spawn(io_, worker(), [this](const std::exception_ptr& error) {
        if (!error) return;
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          if (failure_.empty()) failure_ = e.what();
        } catch (...) {
          if (failure_.empty()) failure_ = "an exception that is not a std::exception";
        }
        io_.stop();
      });
    }
    try {
      io_.run();
    } catch (const std::exception& e) {
      // A defect of the harness, not of the JS: the run says so and cannot pass.
      failure_ = e.what();
    }
    finish_second();
    done_.store(true);
  }
  const std::string& failure() const { return failure_; }

  bool done() const { return done_.load(); }
  std::uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  std::uint64_t ok() const { return ok_.load(std::memory_order_relaxed); }
  std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
  std::uint64_t last_p99() const { return last_p99_.load(std::memory_order_relaxed); }
  LoadResult& result() { return result_; }
  std::vector<std::unique_ptr<DeviceSlot>>& devices() { return devices_; }

 private:
  asio::awaitable<void> worker() {
    asio::steady_timer timer(io_);
    for (;;) {
      if (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed)) break;
      Clock::time_point due;
      if (options_.mode == LoadMode::closed) {
        due = Clock::now();
        if (due >= shared_.end) break;
      } else {
        const std::uint64_t i = next_index_++;
        if (options_.mode == LoadMode::storm && i >= storm_devices_) break;
        due = shared_.start + std::chrono::duration_cast<Clock::duration>(period_ * static_cast<double>(i));
        if (options_.mode == LoadMode::open && due >= shared_.end) break;
        // Waits until due, looking at the stop flag at least every 100 ms (a low rate on many
        // connections would otherwise keep Ctrl-C waiting for minutes).
        bool stopped = false;
        while (due > Clock::now() && !stopped) {
          timer.expires_at(std::min(due, Clock::now() + kStopCheck));
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          stopped = options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
        }
        if (stopped) break;
      }
      std::optional<std::uint8_t> rejoin = rejoin_due();
      DeviceSlot* device = rejoin ? take_rejoin_device(*rejoin) : nullptr;
      if (device != nullptr) {
        rejoin_debt_[*rejoin] -= 1;
      } else {
        rejoin.reset();  // no device can rejoin now: a JoinReq, and the RejoinReq stays owed
        device = take_device();
      }
      if (device == nullptr) break;  // every device used all its DevNonces
      std::string harness_error;
      const std::uint64_t sent_before = result_.sent;
      try {
        co_await exchange(*device, due, rejoin);
      } catch (const std::exception& e) {
        harness_error = e.what();
      }
      if (!harness_error.empty()) {
        // The request could not be built or its answer judged: an error of the harness's own
        // class, so the run cannot pass (counted as sent, so that sent = ok + errors holds).
        SecondSample& second = second_of(Clock::now());
        if (result_.sent == sent_before) {
          ++sent_;
          ++result_.sent;
          ++second.sent;
          ++kinds_[rejoin ? *rejoin + 1 : 0]->sent;  // so that the kinds still add up to sent
        }
        count_error(second, "harness", harness_error);
      }
      release(device);
    }
  }

  // --mix: the RejoinType of the request now due, if it is a RejoinReq. Each type is owed its
  // share of every request, and the most owed type is due once a whole one is owed.
  std::optional<std::uint8_t> rejoin_due() {
    if (options_.mix.empty()) return std::nullopt;
    std::optional<std::uint8_t> due;
    for (std::uint8_t t = 0; t < kRejoinTypes; ++t) {
      rejoin_debt_[t] = std::min(rejoin_debt_[t] + options_.mix.rejoin[t], kMaxRejoinDebt);
      if (rejoin_debt_[t] >= 1 && (!due || rejoin_debt_[t] > rejoin_debt_[*due])) due = t;
    }
    return due;
  }

  // A free device that can send a RejoinReq of `type` now; nullptr when none can.
  DeviceSlot* take_rejoin_device(std::uint8_t type) {
    while (!free_rejoin_.empty()) {
      DeviceSlot* d = free_rejoin_.front();
      free_rejoin_.pop_front();
      if (d->state.device->rejoin_refusal(static_cast<lorawan::RejoinType>(type)).empty()) return d;
      free_.push_back(d);  // its RJcount of this type is used up: it can still join
    }
    return nullptr;
  }

  // The next free device with a DevNonce left; nullptr when none has. Devices that have not
  // joined (or cannot rejoin) go first, so that --mix finds devices to rejoin with.
  DeviceSlot* take_device() {
    for (std::deque<DeviceSlot*>* queue : {&free_, &free_rejoin_}) {
      while (!queue->empty()) {
        DeviceSlot* d = queue->front();
        queue->pop_front();
        if (d->plan.remaining() > 0) return d;
        ++result_.devices_exhausted;
      }
    }
    return nullptr;
  }

  // A device whose exchange ended: free again, with the devices that can rejoin kept apart when
  // --mix asks for RejoinReqs (a LoRaWAN 1.1 device with an OptNeg=1 session).
  void release(DeviceSlot* device) {
    const sim::SimDevice& d = *device->state.device;
    const bool can_rejoin = !options_.mix.empty() && d.joined() && d.session()->mode == lorawan::JoinMode::lorawan_1_1;
    (can_rejoin ? free_rejoin_ : free_).push_back(device);
  }

  SecondSample& second_of(Clock::time_point t) {
    const auto index = static_cast<std::size_t>(
        std::max<Clock::duration::rep>(0, std::chrono::duration_cast<std::chrono::seconds>(t - shared_.start).count()));
    if (index >= result_.series.size()) {
      finish_second();
      result_.series.resize(index + 1);
    }
    return result_.series[index];
  }

  // Publishes the last whole second's p99 for the progress line.
  void finish_second() {
    if (!result_.series.empty() && result_.series.back().latency.count() > 0) {
      last_p99_.store(result_.series.back().latency.value_at_percentile(99), std::memory_order_relaxed);
    }
  }

  // One JoinReq (rejoin: nullopt) or RejoinReq of the type, sent and judged.
  asio::awaitable<void> exchange(DeviceSlot& device, Clock::time_point due, std::optional<std::uint8_t> rejoin) {
    const conformance::Step* step = &join_step_;
    if (rejoin) {
      step = &rejoin_steps_[*rejoin];
    } else {
      const std::optional<lorawan::DevNonce> nonce = device.plan.next();
      if (!nonce) co_return;
      join_step_.dev_nonce.number = static_cast<std::uint16_t>(nonce->value());
    }
    conformance::StepRequest request = builder_.build(*step, &device.state, header_client_);
    RequestCount& kind = *kinds_[rejoin ? *rejoin + 1 : 0];
    const std::string& url = rejoin ? rejoin_url_ : join_url_;

    sim::Exchange ex;
    ex.url = url;
    ex.request_type = rejoin ? backend::MessageType::rejoin_req : backend::MessageType::join_req;
    ex.transaction_id = request.transaction_id;
    ex.content_type = options_.target.ns.content_type;
    backend::HttpClientRequest hr;
    hr.method = "POST";
    hr.url = url;
    hr.content_type = ex.content_type;
    hr.body = std::move(request.body);  // the Exchange's copy is for traces, which load does not keep
    ex.started = Clock::now();
    ++sent_;
    ++second_of(ex.started).sent;
    ++result_.sent;
    ++kind.sent;
    std::string transport;
    try {
      sim::record_http_response(ex, co_await http_->request(std::move(hr)));
    } catch (const backend::HttpError& e) {
      ex.transport_error = e.what();
      ex.timed_out = e.timed_out();
      transport = transport_class(e);
    } catch (const std::exception& e) {
      ex.transport_error = e.what();
      transport = "transport other";
    }
    const Clock::time_point done = Clock::now();
    ex.http_elapsed = std::chrono::duration_cast<microseconds>(done - ex.started);
    const auto latency = static_cast<std::uint64_t>(
        std::max<microseconds::rep>(0, std::chrono::duration_cast<microseconds>(done - due).count()));
    SecondSample& second = second_of(done);

    // The errors of RejoinReqs are classes of their own: a JS that takes JoinReqs but not
    // RejoinReqs shows as such.
    const std::string_view of_kind = rejoin ? rejoin_suffixes_[*rejoin] : std::string_view();
    if (!transport.empty()) {
      if (ex.timed_out) record_latency(second, latency);
      count_error(second, transport, ex.transport_error, of_kind);
      co_return;
    }
    sim::take_http_body_as_answer(ex);
    record_latency(second, latency);
    if (judge(device, request.sent, ex, second, latency, of_kind)) ++kind.ok;
  }

  void record_latency(SecondSample& second, std::uint64_t latency_us) {
    result_.latency.record(latency_us);
    second.latency.record(latency_us);
  }

  void count_error(SecondSample& second, const std::string& cls, const std::string& example,
                   std::string_view of_kind = {}) {
    ++errors_;
    ++result_.errors;
    ++second.errors;
    ErrorClass& e = result_.error_classes[of_kind.empty() ? cls : cls + std::string(of_kind)];
    ++e.count;
    // A peer's words (a Description, a reason phrase) cut and escaped: a hostile JS's 4 MiB
    // Description is not copied into the console and every report.
    if (e.example.empty()) e.example = lorawan::peer_text(example, kMaxExampleBytes);
  }

  // The answer's class: ok (true), or the first reason it is not (a TS002 failure Result, no
  // TS002 answer, a violated MUST check the profile does not excuse).
  bool judge(DeviceSlot& device, const conformance::SentRequest& sent, const sim::Exchange& ex,
             SecondSample& second, std::uint64_t latency, std::string_view of_kind) {
    const bool counting = lorawan::devnonce_is_counter(device.state.device->mac_version());
    const std::size_t known = device.state.history.join_nonces.size();
    conformance::Validation v = conformance::validate_exchange(
        ex, sent, device.state.device.get(), counting ? nullptr : &device.state.history, shared_.validator);
    if (!counting && device.state.history.join_nonces.size() > known) remember_join_nonce(device);
    std::string failed;
    std::string failed_example;
    for (const conformance::Judgement& j : v.judgements) {
      if (j.evaluation.verdict == conformance::Verdict::skip) {
        // Not judged (an AppSKey wrapped with a KEK the harness lacks, ...): said, not hidden.
        ++result_.warnings[j.check + " (not judged)"];
        continue;
      }
      if (j.evaluation.verdict != conformance::Verdict::fail && j.evaluation.verdict != conformance::Verdict::error) {
        continue;
      }
      const conformance::CheckInfo* info = shared_.catalog.find(j.check);
      const bool must = info == nullptr || info->level == conformance::Level::must;
      if (!must || options_.profile.find(j.check) != nullptr) {
        ++result_.warnings[j.check];
        continue;
      }
      if (failed.empty()) {
        failed = j.check;
        failed_example = "expected " + j.evaluation.expected + ", got " + j.evaluation.actual;
      }
    }
    const AnswerClass verdict = classify(ex, v.answer);
    if (verdict.kind == AnswerClass::refused || verdict.kind == AnswerClass::no_answer) {
      count_error(second, verdict.name, verdict.example, of_kind);
      return false;
    }
    if (!failed.empty()) {
      count_error(second, "verify " + failed, failed_example, of_kind);
      return false;
    }
    if (!v.answer.device_accepted) {
      count_error(second, "verify join-accept", "the device did not take the join-accept: " + v.answer.device_refusal,
                  of_kind);
      return false;
    }
    ++ok_;
    ++result_.ok;
    ++second.ok;
    if (result_.storm) {
      ++result_.storm->answered;
      if (latency <= static_cast<std::uint64_t>(options_.rx1_deadline.count())) ++result_.storm->within_rx1;
      if (latency <= static_cast<std::uint64_t>(options_.rx2_deadline.count())) ++result_.storm->within_rx2;
    }
    return true;
  }

  struct AnswerClass {
    enum Kind { success, refused, no_answer } kind = success;  // refused: a failure Result
    std::string name;
    std::string example;
  };

  static AnswerClass classify(const sim::Exchange& ex, const conformance::AnswerSummary& answer) {
    AnswerClass c;
    if (!answer.answered) {
      c.kind = AnswerClass::no_answer;
      c.name = "http " + std::to_string(ex.http_status);
      c.example = "HTTP " + std::to_string(ex.http_status) + " " + ex.http_reason + " without a TS002 answer" +
                  (ex.decode_error.empty() ? "" : ": " + ex.decode_error);
      return c;
    }
    if (answer.result && *answer.result != backend::ResultCode::success) {
      c.kind = AnswerClass::refused;
      c.name = "result " + std::string(backend::to_string(*answer.result));
      c.example = answer.result_text;
    } else if (!answer.result) {
      c.kind = AnswerClass::no_answer;
      c.name = "http " + std::to_string(ex.http_status);
      c.example = "an answer without a Result the harness can read: " + answer.result_text;
    }
    return c;
  }

  // The JoinNonce the validator just added to the device's history, in the order of arrival.
  void remember_join_nonce(DeviceSlot& device) {
    if (!device.state.device->session()) return;
    device.join_nonce_order.push_back(device.state.device->session()->join_nonce.value());
    if (device.join_nonce_order.size() > kJoinNonceMemory) {
      device.state.history.join_nonces.erase(device.join_nonce_order.front());
      device.join_nonce_order.pop_front();
    }
  }

  Shared& shared_;
  const LoadOptions& options_;
  asio::io_context io_;
  std::vector<std::unique_ptr<DeviceSlot>> devices_;
  std::deque<DeviceSlot*> free_;         // devices free to join (with --mix: those that cannot rejoin)
  std::deque<DeviceSlot*> free_rejoin_;  // --mix: free devices that can rejoin (and join)
  std::array<double, kRejoinTypes> rejoin_debt_{};  // --mix: RejoinReqs of each type owed
  std::size_t connections_;
  std::uint64_t storm_devices_;
  std::chrono::duration<double, std::micro> period_{0};
  std::uint64_t next_index_ = 0;
  conformance::StepRequestBuilder builder_;
  // The step every request is built from: a plain join with the plan's DevNonce (made once, it
  // holds a few containers).
  conformance::Step join_step_ = [] {
    conformance::Step step;
    step.kind = conformance::StepKind::join;
    step.dev_nonce.kind = conformance::DevNonceChoice::value;
    return step;
  }();
  std::array<conformance::Step, kRejoinTypes> rejoin_steps_;  // a rejoin of each RejoinType
  // The requests of each kind: JoinReq, then RejoinReq type 0, 1, 2 (only those --mix asks for).
  std::array<RequestCount*, kRejoinTypes + 1> kinds_{};
  // " (RejoinReq type N)": what the error classes of RejoinReqs end with.
  std::array<std::string, kRejoinTypes> rejoin_suffixes_;
  sim::NsClient header_client_;  // the NS's request header (NsClient::request_header); sends nothing
  std::string join_url_;          // where JoinReqs go (the target's JoinReq path)
  std::string rejoin_url_;        // where RejoinReqs go
  std::unique_ptr<backend::HttpClient> http_;
  LoadResult result_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> ok_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> last_p99_{0};
  std::atomic<bool> done_{false};
  std::string failure_;  // what ended the lane's io_context with an exception
};

nlohmann::ordered_json settings_of(const LoadOptions& o, std::size_t shard_devices) {
  nlohmann::ordered_json s = nlohmann::ordered_json::object();
  s["mode"] = std::string(to_string(o.mode));
  s["target"] = o.target_label.empty() ? o.target.ns.url : o.target_label;
  s["profile"] = o.profile.name;
  if (o.mode == LoadMode::open) s["rate"] = o.rate;
  if (o.mode != LoadMode::storm) s["duration_us"] = o.duration.count();
  if (o.storm) s["storm"] = {{"devices", o.storm->devices}, {"within_us", o.storm->within.count()}};
  if (!o.mix.empty()) s["mix"] = o.mix.text();
  s["connections"] = o.connections;
  s["threads"] = o.threads;
  s["timeout_ms"] = o.target.ns.timeout.count();
  s["fleet_devices"] = o.fleet.devices.size();
  s["shard"] = o.shard.text();
  s["shard_devices"] = shard_devices;
  s["seed"] = o.seed;
  return s;
}

}  // namespace

LoadResult run_load(const LoadOptions& options) {
  if (options.target.ns.url.empty()) throw LoadSetupError("no target URL (--target URL or url = \"...\" in the target file)");
  if (options.target.ns.async_listen) {
    throw LoadSetupError("the target answers asynchronously ([async] in the target file): load measures synchronous "
                         "JoinReq/JoinAns exchanges only; remove [async] for the load test");
  }
  if (options.connections < 1 || options.connections > 10000) {
    throw LoadSetupError("--connections: expected 1 to 10000, got " + std::to_string(options.connections));
  }
  if (options.threads < 1 || options.threads > 64) {
    throw LoadSetupError("--threads: expected 1 to 64, got " + std::to_string(options.threads));
  }
  if (options.mode == LoadMode::open && !(options.rate > 0)) throw LoadSetupError("open loop needs --rate N/s");
  if (options.mode == LoadMode::storm && !options.storm) throw LoadSetupError("storm mode needs --storm N/T");
  if (!options.mix.empty()) {
    if (options.mode == LoadMode::storm) {
      throw LoadSetupError("--mix: a storm sends one JoinReq per device, and a device rejoins only once joined; use "
                           "--mix with --rate or --max");
    }
    if (options.target.capabilities.count(conformance::Capability::rejoin) == 0) {
      throw LoadSetupError("--mix: the target declares that it takes no RejoinReqs (rejoin = false under "
                           "[capabilities] in the target file)");
    }
    const conformance::KnownDeviation* known = options.profile.find("rejoin");
    if (known != nullptr && known->verdict == conformance::Verdict::skip) {
      throw LoadSetupError("--mix: the profile " + options.profile.name + " says the JS takes no RejoinReqs: " +
                           known->reason);
    }
  }

  // This shard's devices, in fleet order; fixed-policy devices replay by design and are left out.
  std::vector<const sim::FleetDevice*> mine;
  std::size_t fixed = 0;
  for (std::size_t i = 0; i < options.fleet.devices.size(); ++i) {
    if (!options.shard.owns(i)) continue;
    const sim::FleetDevice& d = options.fleet.devices[i];
    if (sim::effective_dev_nonce_policy(d) == sim::DevNoncePolicy::fixed) {
      ++fixed;
      continue;
    }
    mine.push_back(&d);
  }
  const std::string shard_words = options.shard.count > 1 ? " in shard " + options.shard.text() : "";
  if (mine.empty()) {
    throw LoadSetupError("no device to send JoinReqs for" + shard_words + ": the fleet has " +
                         std::to_string(options.fleet.devices.size()) + " device(s)" +
                         (fixed > 0 ? ", " + std::to_string(fixed) + " of them with DevNoncePolicy fixed (they replay)" : ""));
  }
  if (!options.mix.empty() && std::none_of(mine.begin(), mine.end(), [](const sim::FleetDevice* d) {
        return lorawan::is_1_1(d->mac_version);
      })) {
    throw LoadSetupError("--mix " + options.mix.text() + ": no LoRaWAN 1.1 device" + shard_words +
                         ", and only LoRaWAN 1.1 devices send RejoinReqs (LoRaWAN 1.1 §6.2.4.1)");
  }
  // Every lane has at least one connection, so that its share of the rate and storm is sent.
  const std::size_t lanes = std::min<std::size_t>({options.threads, mine.size(), options.connections});
  std::uint64_t storm_total = 0;
  if (options.mode == LoadMode::storm) {
    // This shard's part of the storm: N is for the whole test, split like the devices.
    const std::uint64_t n = options.storm->devices;
    const std::uint64_t k = options.shard.index - 1;
    storm_total = n / options.shard.count + (k < n % options.shard.count ? 1 : 0);
    if (storm_total > mine.size()) {
      throw LoadSetupError("--storm " + std::to_string(n) + " needs " + std::to_string(storm_total) +
                           " distinct devices" + shard_words + ", the fleet has " + std::to_string(mine.size()) +
                           " usable there: generate a larger fleet (joincheck devices generate --count N)");
    }
  }
  if (mine.size() < options.connections) {
    throw LoadSetupError("--connections " + std::to_string(options.connections) + " needs at least as many devices" +
                         shard_words + " (each device has one JoinReq in flight, as a real device), the fleet has " +
                         std::to_string(mine.size()) + " usable there");
  }

  Shared shared(options, conformance::validator_settings_for(options.target, options.reveal_keys));
  shared.validator.failures_only = true;  // only what failed is counted

  // Devices, connections, rate and storm split across the lanes.
  std::vector<std::unique_ptr<Lane>> lane_list;
  std::size_t used_devices = 0;
  for (std::size_t l = 0; l < lanes; ++l) {
    std::vector<std::unique_ptr<DeviceSlot>> slots;
    for (std::size_t i = l; i < mine.size(); i += lanes) {
      const sim::FleetDevice& fd = *mine[i];
      std::optional<sim::SimDevice::Counters> saved;
      if (options.counters != nullptr) {
        const auto it = options.counters->find(fd.dev_eui.hex());
        if (it != options.counters->end()) saved = it->second;
      }
      sim::SimDeviceOptions so;
      so.seed = options.seed;
      auto slot = std::make_unique<DeviceSlot>(DeviceSlot{conformance::DeviceState{}, DevNoncePlan(fd, saved), {}});
      slot->state.fleet_device = fd;
      try {
        // Software keys: the load generator derives as a device does, on the fleet's root keys.
        slot->state.device = std::make_unique<sim::SimDevice>(fd, so);
        if (saved) {
          slot->state.device->restore(*saved);
          slot->state.counters_from_state = true;
        }
      } catch (const std::exception& e) {
        throw LoadSetupError("device " + fd.dev_eui.hex() + " cannot be simulated with software keys: " + e.what());
      }
      slots.push_back(std::move(slot));
    }
    used_devices += slots.size();
    const std::size_t connections = options.connections / lanes + (l < options.connections % lanes ? 1 : 0);
    const std::uint64_t storm = storm_total / lanes + (l < storm_total % lanes ? 1 : 0);
    const double rate = options.rate / static_cast<double>(lanes);
    lane_list.push_back(std::make_unique<Lane>(shared, std::move(slots), connections, rate, storm,
                                               static_cast<unsigned>(l)));
  }

  const std::string started = iso_utc_now();
  shared.start = Clock::now();
  shared.end = shared.start + options.duration;
  std::vector<std::thread> threads;
  for (auto& lane : lane_list) threads.emplace_back([&lane] { lane->run(); });

  // Progress on this thread until every lane is done.
  LoadProgress last;
  Clock::time_point last_at = shared.start;
  for (;;) {
    bool all_done = true;
    for (const auto& lane : lane_list) all_done = all_done && lane->done();
    if (all_done) break;
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(options.progress_interval, std::chrono::milliseconds(50)));
    const Clock::time_point now = Clock::now();
    if (now - last_at < options.progress_interval) continue;
    LoadProgress p;
    p.elapsed_s = std::chrono::duration<double>(now - shared.start).count();
    for (const auto& lane : lane_list) {
      p.sent += lane->sent();
      p.ok += lane->ok();
      p.errors += lane->errors();
      p.p99_us = std::max(p.p99_us, lane->last_p99());
    }
    p.rate = static_cast<double>(p.ok - last.ok) / std::chrono::duration<double>(now - last_at).count();
    last = p;
    last_at = now;
    if (options.on_progress) options.on_progress(p);
  }
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - shared.start).count();

  LoadResult result;
  for (auto& lane : lane_list) {
    if (!lane->failure().empty() && result.setup_error.empty()) {
      result.setup_error = "internal error of the harness: " + lane->failure();
    }
    LoadResult& r = lane->result();
    r.processes = nlohmann::ordered_json::array();
    merge(result, r);
    if (options.counters != nullptr) {
      for (const auto& slot : lane->devices()) {
        (*options.counters)[slot->state.fleet_device.dev_eui.hex()] = slot->plan.counters(slot->state.device->counters());
      }
    }
  }
  result.settings = settings_of(options, mine.size());
  result.elapsed_s = elapsed;
  result.devices = used_devices;
  result.processes = nlohmann::ordered_json::array();
  result.processes.push_back({{"shard", options.shard.text()},
                              {"started", started},
                              {"elapsed_s", std::round(elapsed * 1000) / 1000},
                              {"devices", used_devices}});
  if (options.stop != nullptr && options.stop->load()) result.stopped = "interrupted (Ctrl-C): the requests in flight were finished";
  if (result.devices_exhausted > 0 && result.devices_exhausted == used_devices) {
    result.stopped = "every device used all 65,536 DevNonces (LoRaWAN never reuses one with the same root keys)";
  }
  return result;
}

}  // namespace joincheck::load
