#pragma once
// The Network Server role towards a Join Server (TS002 backend interfaces): sends a request,
// receives its answer synchronously (in the HTTP response) or asynchronously (POSTed by the JS
// to the client's own listener, matched by TransactionID; TS002 1.0 §22.1, docs/checks.md#async),
// and records the whole exchange for the validator.
//
// The client judges nothing and throws nothing for a bad peer ("the parser reports, the
// validator judges"): a transport failure, a missing async answer or a body that does not
// decode is written into the Exchange, next to what was sent and received. The answer is
// decoded in OBSERVING mode, so every deviation reaches the validator as an observation.
//
// Blocking API: send() runs one exchange to completion on the calling thread, never longer
// than the request deadline (plus the HTTP client's own granularity). Calls are serialised;
// the async listener runs on its own thread.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backend/codec.hpp"
#include "backend/http_client.hpp"
#include "backend/http_message.hpp"
#include "backend/key_envelope.hpp"
#include "backend/messages.hpp"
#include "backend/tls_context.hpp"
#include "lorawan/types.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::sim {

struct NsClientOptions {
  // The JS Target URL: every message type is POSTed here unless `paths` names another place.
  std::string url;
  // Per message type (TTS style): a path ("/join") that replaces the path of `url`, or a whole
  // http(s):// URL. Types not listed go to `url`.
  std::map<backend::MessageType, std::string> paths;
  backend::TlsClientOptions tls;                  // for https:// (CA, client certificate and key)
  std::vector<backend::HttpHeader> headers;       // extra headers, e.g. Authorization
  std::string content_type = "application/json";  // sent exactly (the TTS router needs it)

  // The header fields request_header() fills in.
  backend::ProtocolVersion protocol_version = backend::ProtocolVersion::v1_0;
  lorawan::NetId net_id;                // SenderID
  std::optional<lorawan::Eui64> ns_id;  // SenderNSID, sent under ProtocolVersion 1.1 only
  std::optional<lorawan::Bytes> sender_token;
  // The NS whose request shapes are imitated (sim/network_server/ns_persona.hpp): its header
  // fields override the four above in request_header().
  NsPersona ns_like = NsPersona::plain;

  // KEKs this NS shares with JSs, by label, to unwrap the session keys of answers.
  backend::KekTable keks;

  // The deadline of a whole exchange: the HTTP request and, in async mode, the wait for the
  // answer POST (ChirpStack: 5 s HTTP timeout).
  std::chrono::milliseconds timeout{5000};

  // Async mode when set: "HOST:PORT" ("127.0.0.1:0" for an ephemeral port, ":8444" for every
  // address) on which the client listens for the answers the JS POSTs. The JS must be told
  // async_listener_url() out-of-band.
  std::optional<std::string> async_listen;
  std::optional<backend::TlsServerOptions> async_tls;  // HTTPS for the listener
  // Stray answers kept for inspection (the oldest are dropped; the count is exact).
  std::size_t max_kept_strays = 64;
};

// One HTTP POST received by the async listener.
struct AsyncPost {
  std::string target;  // "/bi"
  backend::HttpHeaders headers;
  std::string body;
  std::string peer;                                    // "127.0.0.1:41234"
  std::shared_ptr<const backend::TlsSessionInfo> tls;  // null on plain HTTP
  // The TransactionID read from the body; nullopt when it has none that can be read.
  std::optional<std::uint32_t> transaction_id;
  std::chrono::steady_clock::time_point received_at;
};

// Where the decoded answer came from.
enum class AnswerSource {
  none,           // no answer: transport error, or no async answer in time
  http_response,  // the body of the HTTP response (sync mode; in async mode a non-2xx ack's
                  // body, or a 2xx whose body is a TS002 message: the JS answered synchronously)
  async_post,     // POSTed by the JS to the listener (async mode)
};
std::string_view to_string(AnswerSource source);

// One request and everything that came back. Keys inside `decoded` are as the JS sent them
// (wrapped or clear); unwrap with NsClient::keks().
struct Exchange {
  // What was sent.
  std::string url;
  backend::MessageType request_type = backend::MessageType::join_req;
  std::uint32_t transaction_id = 0;
  std::string request_body;  // the JSON POSTed
  std::string content_type;  // the Content-Type it was POSTed with
  bool async = false;

  // The HTTP response to the POST: the answer (sync) or the acknowledgement (async).
  // http_status 0 when no response came (see transport_error).
  int http_status = 0;
  std::string http_reason;
  backend::HttpHeaders http_headers;
  std::string http_body;
  std::string peer;  // "127.0.0.1:8443"
  bool connection_reused = false;
  std::shared_ptr<const backend::TlsSessionInfo> tls;  // the JS's certificates; null on HTTP

  // Async: the POST that carried the answer.
  std::optional<AsyncPost> async_answer;
  // Async: answers that matched no pending request while this exchange waited: with a
  // TransactionID never sent (strays_seen), or answering an earlier request too late or twice
  // (late_answers_seen).
  std::uint64_t strays_seen = 0;
  std::uint64_t late_answers_seen = 0;

  // The answer body (http_body or async_answer->body) and its observing decode.
  AnswerSource answer_source = AnswerSource::none;
  std::string answer_body;
  std::optional<backend::Decoded> decoded;
  std::string decode_error;       // CodecError text when the answer does not decode; "" otherwise
  std::string decode_error_path;  // CodecError::path()

  // An HttpError text, "no async answer within N ms", or "HTTP 4xx acknowledgement ..."; ""
  // when the transport worked.
  std::string transport_error;
  bool timed_out = false;  // the deadline passed (HTTP or async wait)

  // Timings from the start of send().
  std::chrono::steady_clock::time_point started;
  std::chrono::microseconds http_elapsed{0};    // until the HTTP response (or the error)
  std::chrono::microseconds answer_elapsed{0};  // until the answer (sync: = http_elapsed)
  std::chrono::microseconds total_elapsed{0};   // until send() returned

  // An answer was received and decoded.
  bool answered() const { return decoded.has_value(); }
};

struct SendOptions {
  // TransactionID to send. nullopt: the request's own, unless it is 0, in which case a random
  // non-zero 32-bit value is drawn (0 means "not set"; pass 0 here to send 0).
  std::optional<std::uint32_t> transaction_id;
  // Overrides NsClientOptions::timeout for this exchange.
  std::optional<std::chrono::milliseconds> timeout;
  // Overrides NsClientOptions::content_type for this exchange (a scenario's Content-Type).
  std::optional<std::string> content_type;
};

class NsClient {
 public:
  // Loads the TLS files and, in async mode, binds the listener. Throws backend::TlsError,
  // std::system_error (listener address in use), ConfigError (bad async_listen),
  // backend::HttpError(invalid_request) (bad url).
  explicit NsClient(NsClientOptions options);
  ~NsClient();
  NsClient(const NsClient&) = delete;
  NsClient& operator=(const NsClient&) = delete;

  // Encodes `request` (its header as given, TransactionID per SendOptions), POSTs it and
  // waits for the answer. Never throws for anything the peer does.
  Exchange send(const backend::Message& request, const SendOptions& send_options = {});
  // POSTs `body` as it is (a scenario's raw body) for a request of `type` (which chooses the
  // path); in async mode the answer is matched against `transaction_id`.
  Exchange send_raw(backend::MessageType type, std::string body, std::uint32_t transaction_id,
                    const SendOptions& send_options = {});

  // A request header from the options: ProtocolVersion, SenderID (NetID hex), ReceiverID,
  // SenderToken, and SenderNSID under 1.1. TransactionID 0 (drawn at send()).
  backend::Header request_header(backend::MessageType type, std::string receiver_id = {}) const;
  // The URL requests of `type` are POSTed to.
  std::string url_for(backend::MessageType type) const;
  // Replaces NsClientOptions::url for the next send() (e.g. a JS on an ephemeral port that
  // could only start once it knew async_listener_url()). Throws backend::HttpError
  // (invalid_request) when it is not an http(s) URL.
  void set_url(std::string url);

  bool async() const;
  // "http://127.0.0.1:41234" (async mode), "" otherwise.
  std::string async_listener_url() const;
  // Answers that matched no pending request (wrong TransactionID, late, unreadable), since
  // start, and the last max_kept_strays of them.
  std::uint64_t stray_answers() const;
  std::vector<AsyncPost> strays() const;

  const backend::KekTable& keks() const;
  NsClientOptions options() const;  // a copy: set_url() may change it

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// For callers that send with their own HTTP client (the load generator), the two steps of a
// synchronous exchange as NsClient::send takes them: the HTTP response recorded in `ex` (status,
// headers, body, peer, TLS), then its body taken as the answer (answer_elapsed = http_elapsed,
// set by the caller) and decoded in OBSERVING mode.
void record_http_response(Exchange& ex, backend::HttpClientResponse response);
void take_http_body_as_answer(Exchange& ex);

// The fields of a JoinReq that are not the device's.
struct JoinReqFields {
  // The header; NsClient::request_header(MessageType::join_req) gives the client's. An empty
  // ReceiverID is replaced by the device's JoinEUI; MessageType is set to JoinReq.
  backend::Header header{backend::MessageType::join_req};
  lorawan::DevAddr dev_addr;
  // RX1DRoffset and RX2DataRate bits. The OptNeg bit is `opt_neg`, which by default is set
  // when the MACVersion sent is 1.1.
  lorawan::DlSettings dl_settings{};
  std::optional<bool> opt_neg;
  std::uint8_t rx_delay = 1;
  std::optional<lorawan::CfList> cf_list;
  // MACVersion: the device's by default; `mac_version_text` sends another spelling ("1.1.0").
  std::optional<lorawan::MacVersion> mac_version;
  std::string mac_version_text;
  // The join-request MIC key: by default NwkKey for a 1.1 device, AppKey for 1.0.x.
  std::optional<lorawan::Aes128Key> mic_key;
};

// A JoinReq for `device` with a join-request MIC'd with its root key. Throws lorawan::Error
// when the device lacks the key its version needs.
backend::JoinReq make_join_req(const FleetDevice& device, lorawan::DevNonce dev_nonce,
                               const JoinReqFields& fields);

}  // namespace joincheck::sim
