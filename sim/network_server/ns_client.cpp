#include "sim/network_server/ns_client.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <set>

#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "backend/json_duplicates.hpp"
#include "lorawan/join_frames.hpp"

namespace joincheck::sim {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::microseconds since(Clock::time_point start, Clock::time_point now = Clock::now()) {
  return std::chrono::duration_cast<std::chrono::microseconds>(now - start);
}

// The TransactionID of an answer body, read leniently (a number, or a string of digits) so that
// an answer the codec would reject still reaches the exchange that waits for it.
std::optional<std::uint32_t> transaction_id_of(const std::string& body) {
  const auto parsed = backend::parse_peer_json(body);
  if (!parsed || !parsed->is_object()) return std::nullopt;
  const nlohmann::json& j = *parsed;
  const auto it = j.find("TransactionID");
  if (it == j.end()) return std::nullopt;
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    if (v <= 0xffffffffu) return static_cast<std::uint32_t>(v);
    return std::nullopt;
  }
  if (it->is_number_integer()) {
    const auto v = it->get<std::int64_t>();
    if (v >= 0 && v <= 0xffffffff) return static_cast<std::uint32_t>(v);
    return std::nullopt;
  }
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    if (s.empty() || s.size() > 10) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v <= 0xffffffffu) return static_cast<std::uint32_t>(v);
  }
  return std::nullopt;
}

void decode_answer(Exchange& ex) {
  if (ex.answer_body.empty()) {
    ex.decode_error = "empty body";
    return;
  }
  try {
    ex.decoded = backend::decode(ex.answer_body, backend::DecodeMode::observing);
  } catch (const backend::CodecError& e) {
    ex.decode_error = e.what();
    ex.decode_error_path = e.path();
  } catch (const std::exception& e) {
    ex.decode_error = e.what();
  }
}

}  // namespace

std::string_view to_string(AnswerSource source) {
  switch (source) {
    case AnswerSource::none:
      return "none";
    case AnswerSource::http_response:
      return "http-response";
    case AnswerSource::async_post:
      return "async-post";
  }
  return "?";
}

// What the listener thread and send() share.
struct AsyncState {
  std::mutex m;
  std::condition_variable cv;
  // Pending requests by TransactionID; the answer once it arrived.
  std::map<std::uint32_t, std::optional<AsyncPost>> pending;
  std::uint64_t stray_count = 0;
  // Strays whose TransactionID was sent earlier: late answers (or repeats), not wrong ones.
  std::uint64_t late_count = 0;
  std::set<std::uint32_t> sent;  // every TransactionID sent so far
  std::deque<AsyncPost> strays;
  std::size_t max_kept = 64;

  backend::HttpResponse receive(const backend::HttpRequest& r) {
    AsyncPost post;
    post.target = r.target;
    post.headers = r.headers;
    post.body = r.body;
    post.peer = r.peer_address + ":" + std::to_string(r.peer_port);
    post.tls = r.tls;
    post.transaction_id = transaction_id_of(r.body);
    post.received_at = Clock::now();
    {
      std::lock_guard lock(m);
      auto it = post.transaction_id ? pending.find(*post.transaction_id) : pending.end();
      if (it != pending.end() && !it->second) {
        it->second = std::move(post);
        cv.notify_all();
      } else {
        // No pending request with this TransactionID (or its answer came already): discarded
        // (TS002 1.0 §22.1), kept for inspection.
        ++stray_count;
        if (post.transaction_id && sent.count(*post.transaction_id) != 0) ++late_count;
        if (max_kept > 0) {
          if (strays.size() >= max_kept) strays.pop_front();
          strays.push_back(std::move(post));
        }
        cv.notify_all();
      }
    }
    // The acknowledgement ChirpStack v4 gives: 200, empty body.
    backend::HttpResponse ack;
    ack.status = 200;
    return ack;
  }
};

struct NsClient::Impl {
  NsClientOptions options;
  std::string origin;  // of options.url
  mutable std::mutex send_mutex;
  std::unique_ptr<backend::BlockingHttpClient> http;
  std::mt19937 rng{std::random_device{}()};
  std::shared_ptr<AsyncState> async_state;
  std::unique_ptr<backend::HttpServer> listener;

  explicit Impl(NsClientOptions o) : options(std::move(o)) {
    origin = backend::HttpUrl::parse(options.url).origin();
    for (const auto& [type, path] : options.paths) backend::HttpUrl::parse(url_for(type));
    backend::HttpClientOptions h;
    h.tls = options.tls;
    h.headers = options.headers;
    h.timeout = options.timeout;
    http = std::make_unique<backend::BlockingHttpClient>(std::move(h));
    if (options.async_listen) {
      backend::HttpServerOptions s;
      backend::parse_listen_address(*options.async_listen, s);
      s.tls = options.async_tls;
      s.threads = 1;
      async_state = std::make_shared<AsyncState>();
      async_state->max_kept = options.max_kept_strays;
      std::shared_ptr<AsyncState> state = async_state;
      listener = std::make_unique<backend::HttpServer>(
          std::move(s), backend::HttpHandler(
                            [state](const backend::HttpRequest& r) { return state->receive(r); }));
    }
  }

  ~Impl() {
    if (listener) listener->stop();
  }

  std::string url_for(backend::MessageType type) const {
    const auto it = options.paths.find(type);
    if (it == options.paths.end() || it->second.empty()) return options.url;
    const std::string& p = it->second;
    if (p.rfind("http://", 0) == 0 || p.rfind("https://", 0) == 0) return p;
    return origin + (p.front() == '/' ? "" : "/") + p;
  }

  std::uint32_t random_transaction_id() {
    std::uniform_int_distribution<std::uint32_t> d(1, 0xffffffffu);
    return d(rng);
  }

  Exchange exchange(backend::MessageType type, std::string body, std::uint32_t tid,
                    const SendOptions& send_options);
};

Exchange NsClient::Impl::exchange(backend::MessageType type, std::string body, std::uint32_t tid,
                                  const SendOptions& send_options) {
  const std::chrono::milliseconds timeout = send_options.timeout.value_or(options.timeout);
  Exchange ex;
  ex.started = Clock::now();
  const Clock::time_point deadline = ex.started + timeout;
  ex.url = url_for(type);
  ex.request_type = type;
  ex.transaction_id = tid;
  ex.request_body = std::move(body);
  ex.async = async_state != nullptr;

  std::uint64_t strays_before = 0;
  std::uint64_t late_before = 0;
  if (ex.async) {
    // Registered before the request leaves: the answer may arrive before the acknowledgement.
    std::lock_guard lock(async_state->m);
    async_state->pending[tid] = std::nullopt;
    async_state->sent.insert(tid);
    strays_before = async_state->stray_count;
    late_before = async_state->late_count;
  }

  bool responded = false;
  try {
    backend::HttpClientRequest req;
    req.method = "POST";
    req.url = ex.url;
    req.content_type = send_options.content_type.value_or(options.content_type);
    ex.content_type = req.content_type;
    req.body = ex.request_body;
    req.timeout = timeout;
    record_http_response(ex, http->request(std::move(req)));
    responded = true;
  } catch (const backend::HttpError& e) {
    ex.transport_error = e.what();
    ex.timed_out = e.timed_out();
  } catch (const std::exception& e) {
    ex.transport_error = e.what();
  }
  ex.http_elapsed = since(ex.started);

  if (!ex.async) {
    if (responded) take_http_body_as_answer(ex);
  } else {
    std::optional<AsyncPost> answer;
    const bool acknowledged = responded && ex.http_status >= 200 && ex.http_status < 300;
    // A JS picks sync or async per peer (TS002 1.0 §22.1): a 2xx whose body is itself a TS002
    // message is a synchronous answer (to an AS, to a NetID without a callback, ...), and
    // waiting for a POST would only time out.
    bool answered_in_ack = false;
    if (acknowledged && !ex.http_body.empty()) {
      try {
        (void)backend::decode(ex.http_body, backend::DecodeMode::observing);
        answered_in_ack = true;
      } catch (const std::exception&) {
        // An acknowledgement body, not an answer: wait for the POST.
      }
    }
    {
      std::unique_lock lock(async_state->m);
      auto it = async_state->pending.find(tid);
      if (acknowledged && !answered_in_ack) {
        async_state->cv.wait_until(lock, deadline, [&] { return it->second.has_value(); });
      }
      answer = std::move(it->second);
      async_state->pending.erase(it);
      ex.late_answers_seen = async_state->late_count - late_before;
      ex.strays_seen = async_state->stray_count - strays_before - ex.late_answers_seen;
    }
    if (answered_in_ack) {
      take_http_body_as_answer(ex);
    } else if (answer) {
      ex.answer_source = AnswerSource::async_post;
      ex.answer_body = answer->body;
      ex.answer_elapsed = since(ex.started, answer->received_at);
      ex.async_answer = std::move(answer);
      decode_answer(ex);
    } else if (acknowledged) {
      ex.timed_out = true;
      ex.transport_error = "no async answer within " + std::to_string(timeout.count()) + " ms";
      if (ex.strays_seen > 0) {
        ex.transport_error += " (" + std::to_string(ex.strays_seen) +
                              " answer(s) matching no pending TransactionID discarded meanwhile)";
      }
    } else if (responded) {
      // Refused: no answer will be POSTed. A body is taken as the JS's answer.
      if (!ex.http_body.empty()) {
        take_http_body_as_answer(ex);
      } else {
        ex.transport_error = "HTTP " + std::to_string(ex.http_status) +
                             " acknowledgement without body: no async answer awaited";
      }
    }
  }
  ex.total_elapsed = since(ex.started);
  return ex;
}

void record_http_response(Exchange& ex, backend::HttpClientResponse response) {
  ex.http_status = response.status;
  ex.http_reason = std::move(response.reason);
  ex.http_headers = std::move(response.headers);
  ex.http_body = std::move(response.body);
  ex.peer = std::move(response.peer);
  ex.connection_reused = response.connection_reused;
  ex.tls = std::move(response.tls);
}

void take_http_body_as_answer(Exchange& ex) {
  ex.answer_source = AnswerSource::http_response;
  ex.answer_body = ex.http_body;
  ex.answer_elapsed = ex.http_elapsed;
  decode_answer(ex);
}

NsClient::NsClient(NsClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
NsClient::~NsClient() = default;

Exchange NsClient::send(const backend::Message& request, const SendOptions& send_options) {
  backend::Message m = request;
  backend::Header& h = backend::header_of(m);
  std::lock_guard lock(impl_->send_mutex);
  if (send_options.transaction_id) {
    h.transaction_id = *send_options.transaction_id;
  } else if (h.transaction_id == 0) {
    h.transaction_id = impl_->random_transaction_id();
  }
  std::string body;
  const backend::MessageType own = backend::message_type_of(m);
  if (h.message_type == own) {
    body = backend::encode(m);
  } else {
    // A header naming another MessageType (a scenario's deliberate mismatch): sent as built.
    const backend::MessageType named = h.message_type;
    h.message_type = own;
    nlohmann::ordered_json j = backend::to_json(m);
    j["MessageType"] = std::string(backend::to_string(named));
    body = j.dump();
  }
  return impl_->exchange(own, std::move(body), h.transaction_id, send_options);
}

Exchange NsClient::send_raw(backend::MessageType type, std::string body,
                            std::uint32_t transaction_id, const SendOptions& send_options) {
  std::lock_guard lock(impl_->send_mutex);
  return impl_->exchange(type, std::move(body), send_options.transaction_id.value_or(transaction_id),
                         send_options);
}

backend::Header NsClient::request_header(backend::MessageType type, std::string receiver_id) const {
  const NsClientOptions& o = impl_->options;
  backend::Header h(type);
  h.protocol_version = o.protocol_version;
  h.sender_id = o.net_id.hex();
  h.receiver_id = std::move(receiver_id);
  h.transaction_id = 0;
  h.sender_token = o.sender_token;
  if (o.protocol_version == backend::ProtocolVersion::v1_1) h.sender_ns_id = o.ns_id;
  shape_header(o.ns_like, h);
  return h;
}

std::string NsClient::url_for(backend::MessageType type) const {
  std::lock_guard lock(impl_->send_mutex);
  return impl_->url_for(type);
}
void NsClient::set_url(std::string url) {
  std::string origin = backend::HttpUrl::parse(url).origin();
  std::lock_guard lock(impl_->send_mutex);
  impl_->options.url = std::move(url);
  impl_->origin = std::move(origin);
}
bool NsClient::async() const { return impl_->listener != nullptr; }
std::string NsClient::async_listener_url() const {
  return impl_->listener ? impl_->listener->url() : std::string();
}
std::uint64_t NsClient::stray_answers() const {
  if (!impl_->async_state) return 0;
  std::lock_guard lock(impl_->async_state->m);
  return impl_->async_state->stray_count;
}
std::vector<AsyncPost> NsClient::strays() const {
  if (!impl_->async_state) return {};
  std::lock_guard lock(impl_->async_state->m);
  return {impl_->async_state->strays.begin(), impl_->async_state->strays.end()};
}
const backend::KekTable& NsClient::keks() const { return impl_->options.keks; }
NsClientOptions NsClient::options() const {
  std::lock_guard lock(impl_->send_mutex);
  return impl_->options;
}

backend::JoinReq make_join_req(const FleetDevice& device, lorawan::DevNonce dev_nonce,
                               const JoinReqFields& fields) {
  const lorawan::MacVersion sent = fields.mac_version.value_or(device.mac_version);
  std::optional<lorawan::Aes128Key> key = fields.mic_key;
  if (!key) key = lorawan::is_1_1(device.mac_version) ? device.nwk_key : device.app_key;
  if (!key) {
    throw lorawan::Error("device " + device.dev_eui.hex() + " (LoRaWAN " +
                         std::string(lorawan::to_string(device.mac_version)) + "): no " +
                         (lorawan::is_1_1(device.mac_version) ? "NwkKey" : "AppKey") +
                         " to compute the join-request MIC with");
  }
  lorawan::JoinRequest jr;
  jr.join_eui = device.join_eui;
  jr.dev_eui = device.dev_eui;
  jr.dev_nonce = dev_nonce;

  backend::JoinReq r;
  r.header = fields.header;
  r.header.message_type = backend::MessageType::join_req;
  if (r.header.receiver_id.empty()) r.header.receiver_id = device.join_eui.hex();
  backend::MacVersionField mv;
  mv.version = sent;
  mv.text = fields.mac_version_text;
  r.mac_version = mv;
  r.phy_payload = lorawan::build_join_request(*key, jr);
  r.dev_eui = device.dev_eui;
  r.dev_addr = fields.dev_addr;
  const bool opt_neg = fields.opt_neg.value_or(lorawan::is_1_1(sent));
  r.dl_settings =
      static_cast<std::uint8_t>((fields.dl_settings.raw & 0x7f) | (opt_neg ? 0x80 : 0x00));
  r.rx_delay = fields.rx_delay;
  r.cf_list = fields.cf_list;
  return r;
}

}  // namespace joincheck::sim
