#include "conformance/validator.hpp"

#include <algorithm>
#include <type_traits>

#include "backend/json_duplicates.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

using backend::MessageType;
using backend::ObservationKind;
using backend::ResultCode;

std::string show_key(const lorawan::Aes128Key& key, bool reveal) {
  return reveal ? key.hex() : "<redacted 16-byte key>";
}

std::string show_device_key(const sim::SessionKeyCheck& key, bool reveal) {
  if (key.value) return show_key(*key.value, reveal);
  // A key check value says nothing of the key, but reports keep to the same rule.
  return "(kept in the secure element; key check value " +
         (reveal ? lorawan::to_hex(key.check_value) : std::string("<redacted>")) + ")";
}

namespace {

bool is_key_name(std::string_view name) {
  if (name.size() < 3) return false;
  const std::string_view tail = name.substr(name.size() - 3);
  return (tail[0] == 'K' || tail[0] == 'k') && (tail[1] == 'E' || tail[1] == 'e') && (tail[2] == 'Y' || tail[2] == 'y');
}

// The end of the JSON string starting at `i` (a '"'): the index after its closing quote.
std::size_t skip_string(const std::string& t, std::size_t i) {
  for (++i; i < t.size(); ++i) {
    if (t[i] == '\\') {
      ++i;
    } else if (t[i] == '"') {
      return i + 1;
    }
  }
  return t.size();
}

// The end of the value starting at `i`: a string, or a balanced object/array, or a bare token.
std::size_t skip_value(const std::string& t, std::size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return skip_string(t, i);
  if (t[i] == '{' || t[i] == '[') {
    std::size_t depth = 0;
    for (; i < t.size(); ++i) {
      if (t[i] == '"') {
        i = skip_string(t, i) - 1;
      } else if (t[i] == '{' || t[i] == '[') {
        ++depth;
      } else if (t[i] == '}' || t[i] == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return t.size();
  }
  while (i < t.size() && t[i] != ',' && t[i] != '}' && t[i] != ']' && t[i] != ' ' && t[i] != '\n') ++i;
  return i;
}

}  // namespace

TraceExchange trace_of(const sim::Exchange& ex, const std::string& label,
                       const std::vector<backend::HttpHeader>& extra_headers, bool reveal) {
  TraceExchange t;
  t.label = label;
  t.url = ex.url;
  t.request_headers.emplace_back("Content-Type", ex.content_type);
  for (const auto& hdr : extra_headers) {
    const bool secret = backend::iequals(hdr.name, "Authorization");
    t.request_headers.emplace_back(hdr.name, secret && !reveal ? "<redacted>" : hdr.value);
  }
  t.request_body = ex.request_body;
  t.http_status = ex.http_status;
  t.http_reason = ex.http_reason;
  for (const auto& f : ex.http_headers.all()) t.response_headers.emplace_back(f.name, f.value);
  t.response_body = body_for_trace(ex.http_body, reveal);
  if (ex.async_answer) t.async_answer_body = body_for_trace(ex.async_answer->body, reveal);
  t.transport_error = ex.transport_error;
  const auto elapsed = ex.answer_elapsed.count() != 0 ? ex.answer_elapsed : ex.total_elapsed;
  t.elapsed_ms = static_cast<double>(elapsed.count()) / 1000.0;
  return t;
}

std::string body_for_trace(const std::string& text, bool reveal) {
  return lorawan::cut_utf8(redact_keys(text, reveal), kMaxTraceBodyBytes);
}

std::string redact_keys(const std::string& text, bool reveal) {
  if (reveal) return text;
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '"') {
      out += text[i++];
      continue;
    }
    const std::size_t end = skip_string(text, i);
    out.append(text, i, end - i);
    const std::string_view name(text.data() + i + 1, end - i >= 2 ? end - i - 2 : 0);
    i = end;
    std::size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
    if (!is_key_name(name) || j >= text.size() || text[j] != ':') continue;
    ++j;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r')) ++j;
    // A KeyEnvelope is an object whose AESKey is redacted on its own; other values go.
    if (j < text.size() && text[j] == '{') continue;
    out.append(text, i, j - i);
    out += "\"<redacted>\"";
    i = skip_value(text, j);
  }
  return out;
}

namespace {

// Identifiers compare as hex: case and a 0x prefix do not matter (TS002 1.0 §22.3).
std::string normalise_id(std::string_view id) {
  std::string s(lorawan::strip_hex_prefix(id));
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

// "HTTP 503 Service Unavailable": the status of an exchange in words.
std::string http_status_text(const sim::Exchange& ex) {
  return "HTTP " + std::to_string(ex.http_status) + (ex.http_reason.empty() ? "" : " " + ex.http_reason);
}

std::string code_text(const std::optional<backend::Result>& r) {
  if (!r) return "no Result";
  std::string s(backend::to_string(r->code));
  if (r->description && !r->description->empty()) s += " (" + lorawan::peer_text(*r->description) + ")";
  return s;
}

// Records judgements. The words of a check (expected, actual) are text or a function returning
// it, called only when the judgement is recorded: with failures_only, a pass costs no string.
class Judge {
 public:
  Judge(Validation& v, bool failures_only) : v_(v), failures_only_(failures_only) {
    v_.judgements.reserve(failures_only ? 4 : 48);
  }
  template <class Expected, class Actual>
  void operator()(std::string_view check, Verdict verdict, Expected&& expected, Actual&& actual,
                  std::string reason = {}) {
    if (verdict == Verdict::pass && failures_only_) return;
    Judgement j;
    j.check = std::string(check);
    j.evaluation.verdict = verdict;
    j.evaluation.expected = text(expected);
    j.evaluation.actual = text(actual);
    j.evaluation.reason = std::move(reason);
    v_.judgements.push_back(std::move(j));
  }
  // A pass whose actual is its expected.
  template <class Expected>
  void pass(std::string_view check, Expected&& expected) {
    if (failures_only_) return;
    std::string words = text(expected);
    (*this)(check, Verdict::pass, words, words);
  }
  template <class Expected, class Actual>
  void pass(std::string_view check, Expected&& expected, Actual&& actual) {
    (*this)(check, Verdict::pass, expected, actual);
  }
  template <class Expected, class Actual>
  void check(std::string_view check, bool ok, Expected&& expected, Actual&& actual) {
    (*this)(check, ok ? Verdict::pass : Verdict::fail, expected, actual);
  }
  // Whether the trace (notes, the decoded join-accept) is kept.
  bool tracing() const { return !failures_only_; }

 private:
  template <class T>
  static std::string text(T& words) {
    if constexpr (std::is_invocable_v<T&>) {
      return std::string(words());
    } else {
      return std::string(words);
    }
  }
  Validation& v_;
  bool failures_only_;
};

// The transport: deadline, HTTP status and Content-Type, async delivery.
void judge_transport(const sim::Exchange& ex, const ValidatorSettings& s, Judge& judge) {
  const auto deadline = [&s] { return std::to_string(s.deadline.count()) + " ms"; };
  if (ex.timed_out) {
    judge.check("timing/deadline", false, "an answer within " + deadline(), ex.transport_error);
  } else if (ex.answered() || ex.http_status != 0) {
    judge.pass("timing/deadline", [&] { return "an answer within " + deadline(); },
               [&] { return "answered in " + std::to_string(ex.answer_elapsed.count() / 1000) + " ms"; });
  }

  if (ex.async) {
    if (ex.http_status != 0) {
      const bool ok = ex.http_status >= 200 && ex.http_status < 300;
      judge.check("async/acknowledgement", ok, "HTTP 2xx acknowledgement", [&] { return http_status_text(ex); });
      // A 2xx whose body was the answer: the JS answered this request synchronously, which it
      // may do per peer (TS002 1.0 §22.1); the asynchronous checks do not apply, the sync ones do.
      if (ok && ex.answer_source == sim::AnswerSource::http_response) {
        judge.check("http/status-200", ex.http_status == 200, "HTTP 200",
                    [&] { return "HTTP " + std::to_string(ex.http_status); });
      } else if (ok) {
        judge.check("async/ack-body-empty", ex.http_body.empty(), "an empty acknowledgement body",
                    [&] { return std::to_string(ex.http_body.size()) + " bytes"; });
        const bool got = ex.answer_source == sim::AnswerSource::async_post;
        judge.check("async/answer-in-time", got, [&] { return "the answer POSTed within " + deadline(); }, [&] {
          return got ? "POSTed after " + std::to_string(ex.answer_elapsed.count() / 1000) + " ms" : ex.transport_error;
        });
        if (!got && ex.strays_seen > 0) {
          judge.check("async/transaction-id", false,
                      "an answer with TransactionID " + std::to_string(ex.transaction_id),
                      std::to_string(ex.strays_seen) + " answer(s) with a TransactionID the NS never sent");
        } else if (got) {
          judge.pass("async/transaction-id", [&] { return "TransactionID " + std::to_string(ex.transaction_id); });
        }
      }
    }
  } else if (ex.http_status != 0) {
    judge.check("http/status-200", ex.http_status == 200, "HTTP 200", [&] { return http_status_text(ex); });
  }

  // Content-Type of whatever carried the answer.
  const backend::HttpHeaders* headers = nullptr;
  if (ex.answer_source == sim::AnswerSource::async_post && ex.async_answer) {
    headers = &ex.async_answer->headers;
  } else if (ex.answer_source == sim::AnswerSource::http_response || (!ex.async && ex.http_status != 0)) {
    headers = &ex.http_headers;
  }
  if (headers != nullptr) {
    const std::string_view value = headers->get("Content-Type");
    std::string_view base = value.substr(0, value.find(';'));
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    const bool ok = backend::iequals(base, "application/json");
    judge.check("http/content-type", ok, "Content-Type application/json",
                [&] { return value.empty() ? "no Content-Type" : "Content-Type " + std::string(value); });
  }
}

void judge_header(const backend::Header& answer, const SentRequest& sent, Judge& judge) {
  // A body the target could not read a header from has no answer type it could know of.
  if (!sent.header_meaningful) return;
  if (const auto expected_type = backend::answer_type_for(sent.type)) {
    judge.check("header/message-type", answer.message_type == *expected_type,
                [&] { return "MessageType " + std::string(backend::to_string(*expected_type)); },
                [&] { return "MessageType " + std::string(backend::to_string(answer.message_type)); });
  }
  const backend::Header& req = sent.header;
  judge.check("header/transaction-id-echo", answer.transaction_id == req.transaction_id,
              [&] { return "TransactionID " + std::to_string(req.transaction_id); },
              [&] { return "TransactionID " + std::to_string(answer.transaction_id); });
  judge.check("header/sender-id", normalise_id(answer.sender_id) == normalise_id(req.receiver_id),
              [&] { return "SenderID " + in_quotes(req.receiver_id) + " (the request's ReceiverID)"; },
              [&] { return "SenderID " + in_quotes(answer.sender_id); });
  judge.check("header/receiver-id", normalise_id(answer.receiver_id) == normalise_id(req.sender_id),
              [&] { return "ReceiverID " + in_quotes(req.sender_id) + " (the request's SenderID)"; },
              [&] { return "ReceiverID " + in_quotes(answer.receiver_id); });
  if (!sent.protocol_version_unsupported) {
    judge.check("header/protocol-version-echo", answer.protocol_version == req.protocol_version,
                [&] { return "ProtocolVersion " + in_quotes(backend::to_string(req.protocol_version)); },
                [&] { return "ProtocolVersion " + in_quotes(backend::to_string(answer.protocol_version)); });
  }
  if (req.sender_token) {
    const bool ok = answer.receiver_token && *answer.receiver_token == *req.sender_token;
    judge.check("header/receiver-token-echo", ok, [&] { return "ReceiverToken " + lorawan::to_hex(*req.sender_token); },
                [&] {
                  return answer.receiver_token ? "ReceiverToken " + lorawan::to_hex(*answer.receiver_token)
                                               : std::string("no ReceiverToken");
                });
  }
  if (req.protocol_version == backend::ProtocolVersion::v1_1 && req.sender_ns_id && !sent.protocol_version_unsupported) {
    const bool ok = answer.receiver_ns_id && *answer.receiver_ns_id == *req.sender_ns_id;
    judge.check("header/receiver-nsid-echo", ok, [&] { return "ReceiverNSID " + req.sender_ns_id->hex(); },
                [&] {
                  return answer.receiver_ns_id ? "ReceiverNSID " + answer.receiver_ns_id->hex()
                                               : std::string("no ReceiverNSID");
                });
  }
}

// The codec's observations of the answer, under the encoding checks.
void judge_encoding(const backend::Decoded& d, const SentRequest& sent, Judge& judge) {
  struct Rule {
    const char* check;
    std::vector<ObservationKind> kinds;
    const char* expected;
  };
  static const std::vector<Rule> rules = {
      {"encoding/json-types", {ObservationKind::wrong_json_type}, "every field with its TS002 JSON type"},
      {"encoding/values", {ObservationKind::invalid_value}, "every value valid"},
      {"encoding/no-null", {ObservationKind::null_field}, "no null field"},
      {"encoding/no-duplicate-keys", {ObservationKind::duplicate_field}, "no duplicate key"},
      {"encoding/result-code-spelling", {ObservationKind::misspelled_result_code}, "ResultCode spelled as in Table 24"},
  };
  for (const auto& rule : rules) {
    std::string seen;
    for (const auto& o : d.observations) {
      // Echoing an unsupported ProtocolVersion ("2.0") is what TTS and ChirpStack do (docs/checks.md#header).
      if (sent.protocol_version_unsupported && o.path == "ProtocolVersion") continue;
      if (std::find(rule.kinds.begin(), rule.kinds.end(), o.kind) != rule.kinds.end()) {
        seen += (seen.empty() ? "" : "; ") + o.path + ": " + o.detail;
      }
    }
    judge.check(rule.check, seen.empty(), rule.expected, [&] { return seen.empty() ? std::string("none seen") : seen; });
  }
  // A code of TS002 1.1 in a 1.0 exchange: ChirpStack's closed enum cannot parse it.
  const backend::Header& h = backend::header_of(d.message);
  std::optional<backend::Result> result;
  std::visit([&](const auto& m) {
    if constexpr (requires { m.result; }) result = m.result;
  }, d.message);
  if (result && !sent.protocol_version_unsupported) {
    const auto needs = backend::first_protocol_version(result->code);
    const bool ok = !(needs == backend::ProtocolVersion::v1_1 && h.protocol_version == backend::ProtocolVersion::v1_0);
    judge.check("encoding/result-code-version", ok,
                [&] { return "a ResultCode of TS002 " + std::string(backend::to_string(h.protocol_version)); },
                [&] { return std::string(backend::to_string(result->code)) + (ok ? "" : " (defined by TS002 1.1 only)"); });
  }
}

// The network session keys of a successful join answer, by the formulas the device used.
struct NetworkKeyCheck {
  std::string check;
  std::vector<std::pair<std::string, const std::optional<backend::KeyEnvelope>*>> fields;
  std::vector<lorawan::Aes128Key> expected;
};

std::string_view network_key_check_id(lorawan::JoinMode mode, lorawan::MacVersion version) {
  switch (mode) {
    case lorawan::JoinMode::lorawan_1_1:
      return "keys/network-keys-1.1";
    case lorawan::JoinMode::lorawan_1_1_opt_neg_0:
      return "keys/network-keys-1.1-optneg-0";
    case lorawan::JoinMode::lorawan_1_0:
      break;
  }
  return version == lorawan::MacVersion::v1_0_4 ? "keys/nwk-s-key-1.0.4" : "keys/nwk-s-key-1.0";
}

// Unwraps a network session key envelope, judging the KEK checks. nullopt when it cannot be
// unwrapped (judged).
std::optional<lorawan::Aes128Key> clear_key(const std::string& field, const backend::KeyEnvelope& env, Judge& judge,
                                            std::string& problem) {
  if (env.aes_key.size() != 16) {
    judge.check("encoding/values", false, field + ".AESKey: 16 bytes in clear", std::to_string(env.aes_key.size()) + " bytes");
    problem = field + " in clear is not 16 bytes";
    return std::nullopt;
  }
  lorawan::Aes128Key::Array a{};
  std::copy(env.aes_key.begin(), env.aes_key.end(), a.begin());
  return lorawan::Aes128Key(a);
}

std::optional<lorawan::Aes128Key> unwrap(const std::string& field, const backend::KeyEnvelope& env,
                                         const backend::KekTable& keks, Judge& judge, std::string& problem) {
  try {
    lorawan::Aes128Key key = env.unwrap(keks);
    judge.pass("kek/unwrap", [&] { return field + " unwraps under KEK " + in_quotes(env.kek_label); });
    return key;
  } catch (const backend::KeyEnvelopeError& e) {
    judge.check("kek/unwrap", false, field + " unwraps under KEK " + in_quotes(env.kek_label), e.what());
    problem = field + " does not unwrap";
    return std::nullopt;
  }
}

std::optional<lorawan::Aes128Key> open_network_key(const std::string& field, const backend::KeyEnvelope& env,
                                                   const ValidatorSettings& s, Judge& judge, std::string& problem) {
  const backend::KekTable empty;
  const backend::KekTable& keks = s.keks != nullptr ? *s.keks : empty;
  if (env.is_clear()) {
    if (s.expect_wrapped_network_keys) {
      judge.check("kek/network-keys-wrapped", false, field + " wrapped with the KEK the NS shares with the JS",
                  field + " in clear (KEKLabel empty or absent)");
    }
    return clear_key(field, env, judge, problem);
  }
  if (s.expect_wrapped_network_keys) {
    judge.pass("kek/network-keys-wrapped", [&] { return field + " wrapped"; },
               [&] { return "wrapped, KEKLabel " + in_quotes(env.kek_label); });
  }
  if (keks.find(env.kek_label) == keks.end() || env.kek_label == s.as_kek_label) {
    std::string labels;
    for (const auto& [label, kek] : keks) {
      if (label != s.as_kek_label) labels += (labels.empty() ? "" : ", ") + in_quotes(label);
    }
    judge.check("kek/known-label", false, field + ".KEKLabel one of the NS's KEK labels (" + (labels.empty() ? "none" : labels) + ")",
                "KEKLabel " + in_quotes(env.kek_label));
    problem = field + " is wrapped with a KEK label the NS does not have";
    return std::nullopt;
  }
  judge.pass("kek/known-label", [&] { return field + ".KEKLabel known"; },
             [&] { return "KEKLabel " + in_quotes(env.kek_label); });
  return unwrap(field, env, keks, judge, problem);
}

// AppSKey is for the AS (TS002 1.0 §8 step 4): the NS passes it on (ChirpStack stores it as it
// is), so an AS label the harness lacks is not an error, only a key it cannot check.
std::optional<lorawan::Aes128Key> open_app_s_key(const backend::KeyEnvelope& env, const ValidatorSettings& s,
                                                 Judge& judge, std::string& problem) {
  const backend::KekTable empty;
  const backend::KekTable& keks = s.keks != nullptr ? *s.keks : empty;
  const char* const expected = "AppSKey wrapped with a JS-AS KEK";
  if (env.is_clear()) {
    judge.check("kek/app-s-key-wrapped", false, expected, "AppSKey in clear");
    return clear_key("AppSKey", env, judge, problem);
  }
  const bool ns_label = keks.find(env.kek_label) != keks.end() && env.kek_label != s.as_kek_label;
  if (ns_label) {
    judge.check("kek/app-s-key-wrapped", false, expected,
                "AppSKey wrapped under the NS's KEK " + in_quotes(env.kek_label) + ", which the NS can unwrap");
    return unwrap("AppSKey", env, keks, judge, problem);
  }
  judge.pass("kek/app-s-key-wrapped", expected, [&] { return "wrapped, KEKLabel " + in_quotes(env.kek_label); });
  if (!s.has_as_kek || env.kek_label != s.as_kek_label) {
    problem = "AppSKey is wrapped with KEKLabel " + in_quotes(env.kek_label) +
              (s.has_as_kek ? "; the harness's JS-AS KEK is " + in_quotes(s.as_kek_label)
                            : "; the harness has no JS-AS KEK ([application_server] kek_label)");
    return std::nullopt;
  }
  return unwrap("AppSKey", env, keks, judge, problem);
}

// The join-accept the device decrypted, for the trace: structured, and as a note.
void trace_join_accept(const sim::JoinResult& jr, Validation& v) {
  const lorawan::JoinAccept& a = *jr.accept;
  TraceJoinAccept& t = v.join_accept.emplace();
  t.join_nonce = a.join_nonce.value();
  t.net_id = a.net_id.hex();
  t.dev_addr = a.dev_addr.hex();
  t.dl_settings = a.dl_settings.raw;
  t.rx_delay = a.rx_delay;
  t.cf_list = a.cf_list ? a.cf_list->hex() : "";
  t.mic = a.mic.hex();
  t.mode = jr.mode ? std::string(lorawan::to_string(*jr.mode)) : "";
  t.accepted = jr.accepted();
  t.refusal = jr.reason;
  v.notes.push_back("join-accept: JoinNonce " + a.join_nonce.hex() + ", NetID " + a.net_id.hex() + ", DevAddr " +
                    a.dev_addr.hex() + ", DLSettings " + lorawan::to_hex(lorawan::ByteSpan(&a.dl_settings.raw, 1)) +
                    ", RxDelay " + std::to_string(a.rx_delay) + ", CFList " + (a.cf_list ? a.cf_list->hex() : "none") +
                    ", MIC " + a.mic.hex() + (jr.mode ? " (" + std::string(lorawan::to_string(*jr.mode)) + ")" : ""));
}

template <class Ans>
void judge_join_answer(const Ans& ans, const SentRequest& sent, sim::SimDevice* device, DeviceHistory* history,
                       const ValidatorSettings& s, Judge& judge, Validation& v) {
  const bool is_join_ans = Ans::kType == MessageType::join_ans;
  if (is_join_ans) {
    judge.check("answer/app-s-key-or-session-key-id", ans.app_s_key || ans.session_key_id,
                "AppSKey, SessionKeyID or both", "neither");
    if (ans.session_key_id) {
      judge.pass("answer/session-key-id", "a SessionKeyID");
    } else {
      // Recommending a SessionKeyID: say what ChirpStack v4 does with one
      // (chirpstack/chirpstack chirpstack/src/uplink/data.rs _is_end_to_end_encrypted).
      judge("answer/session-key-id", Verdict::fail, "a SessionKeyID", "none",
            "send a SessionKeyID so that the AS can ask for this session's AppSKey (TS002 1.0 §8 step 8). "
            "Know that ChirpStack v4 stores it and then treats the device as end-to-end encrypted: its NS stops "
            "decrypting FRMPayload and hands the application the encrypted payload with the SessionKeyID, as it "
            "does for an AppSKey wrapped under a KEK label");
    }
  }
  judge.check("answer/lifetime", ans.lifetime.has_value(), "Lifetime (seconds; 0 allowed)", "no Lifetime");
  if (ans.session_key_id) v.answer.session_key_id = ans.session_key_id;

  // The join-accept, taken by the device.
  if (device == nullptr || !ans.phy_payload) return;
  const sim::JoinResult jr = device->accept(*ans.phy_payload);
  v.answer.device_accepted = jr.accepted();
  if (!jr.accepted()) v.answer.device_refusal = jr.reason;
  if (jr.status == sim::AcceptStatus::malformed) {
    judge.check("accept/decrypts", false, "an encrypted join-accept (MHDR 0x20, 17 or 33 bytes)", jr.reason);
    return;
  }
  judge.pass("accept/decrypts", "a join-accept that decrypts",
             [&] { return std::to_string(ans.phy_payload->size()) + " bytes, decrypted"; });
  const lorawan::JoinAccept& a = *jr.accept;
  if (judge.tracing()) trace_join_accept(jr, v);
  judge.check("accept/mic", jr.status != sim::AcceptStatus::mic_invalid, "a join-accept MIC that verifies",
              [&] { return jr.status == sim::AcceptStatus::mic_invalid ? jr.reason : "MIC " + a.mic.hex() + " verifies"; });
  if (sent.net_id) {
    judge.check("accept/net-id", a.net_id == *sent.net_id, [&] { return "NetID " + sent.net_id->hex(); },
                [&] { return "NetID " + a.net_id.hex(); });
  }
  if (sent.dev_addr) {
    judge.check("accept/dev-addr", a.dev_addr == *sent.dev_addr, [&] { return "DevAddr " + sent.dev_addr->hex(); },
                [&] { return "DevAddr " + a.dev_addr.hex(); });
  }
  if (sent.dl_settings) {
    const std::uint8_t want = *sent.dl_settings;
    judge.check("accept/dl-settings", a.dl_settings.raw == want,
                [&] { return "DLSettings " + lorawan::to_hex(lorawan::ByteSpan(&want, 1)); },
                [&] { return "DLSettings " + lorawan::to_hex(lorawan::ByteSpan(&a.dl_settings.raw, 1)); });
  }
  if (sent.rx_delay) {
    judge.check("accept/rx-delay", a.rx_delay == *sent.rx_delay, [&] { return "RxDelay " + std::to_string(*sent.rx_delay); },
                [&] { return "RxDelay " + std::to_string(a.rx_delay); });
  }
  const auto cf_list_text = [](const std::optional<lorawan::CfList>& c) {
    return c ? "CFList " + c->hex() : std::string("no CFList");
  };
  judge.check("accept/cflist", a.cf_list == sent.cf_list, [&] { return cf_list_text(sent.cf_list); },
              [&] { return cf_list_text(a.cf_list); });

  // JoinNonce: a counter from 1.0.4 on (the device refused a non-increasing one), random before.
  // Judged once the MIC verifies: before that the device never looked at the JoinNonce.
  const lorawan::MacVersion version = device->mac_version();
  if (jr.status == sim::AcceptStatus::mic_invalid) {
    // nothing: accept/mic failed
  } else if (lorawan::devnonce_is_counter(version)) {
    judge.check("joinnonce/increases", jr.status != sim::AcceptStatus::join_nonce_replay,
                "a JoinNonce greater than the device's last", [&] {
                  return jr.status == sim::AcceptStatus::join_nonce_replay ? jr.reason : "JoinNonce " + a.join_nonce.hex();
                });
  } else if (history != nullptr) {
    const bool fresh = history->join_nonces.count(a.join_nonce.value()) == 0;
    judge.check("joinnonce/not-repeated", fresh, "a JoinNonce this device never got before",
                [&] { return "JoinNonce " + a.join_nonce.hex() + (fresh ? "" : ", already used for this device"); });
  }
  if (!jr.accepted()) return;
  if (history != nullptr) history->join_nonces.insert(a.join_nonce.value());

  // Session keys: unwrapped from the answer, compared with the device's own derivation.
  const sim::Session& session = *device->session();
  const lorawan::MacVersion asked = sent.mac_version.value_or(version);
  // After a rejoin the device derives its keys with RJcount0/RJcount1 in place of DevNonce
  // (LoRaWAN 1.1 §6.2.4.4) and, the answer carrying OptNeg=1, the 1.1 JoinEUI layout (§6.2.3):
  // a check of its own, MUST, which no profile can excuse (profile_may_excuse()).
  const bool rejoin = Ans::kType == MessageType::rejoin_ans;
  const std::string_view key_check = rejoin ? "keys/rejoin-session-keys" : network_key_check_id(session.mode, version);
  std::vector<std::pair<std::string, std::pair<const std::optional<backend::KeyEnvelope>*, sim::KeySlot>>> keys;
  keys.reserve(3);
  // Rejoins are LoRaWAN 1.1 only; a JoinAns carries the keys of the MACVersion asked for.
  if (Ans::kType == MessageType::rejoin_ans || lorawan::is_1_1(asked)) {
    keys.push_back({"FNwkSIntKey", {&ans.f_nwk_s_int_key, sim::KeySlot::f_nwk_s_int_key}});
    keys.push_back({"SNwkSIntKey", {&ans.s_nwk_s_int_key, sim::KeySlot::s_nwk_s_int_key}});
    keys.push_back({"NwkSEncKey", {&ans.nwk_s_enc_key, sim::KeySlot::nwk_s_enc_key}});
  } else {
    keys.push_back({"NwkSKey", {&ans.nwk_s_key, sim::KeySlot::f_nwk_s_int_key}});
  }
  for (const auto& key : keys) {
    const std::string& field = key.first;  // a name, not a structured binding: lambdas below capture it
    const auto& [envelope, slot] = key.second;
    if (!*envelope) continue;  // answer/mandatory-fields judged its absence
    std::string problem;
    const auto got = open_network_key(field, **envelope, s, judge, problem);
    if (!got) continue;
    const sim::SessionKeyCheck expected = device->session_key(slot);
    const bool ok = expected.matches(*got);
    judge.check(key_check, ok, [&] { return field + " = the device's derivation " + show_device_key(expected, s.reveal_keys); },
                [&] { return field + (ok ? " " : " differs: ") + show_key(*got, s.reveal_keys); });
    if (judge.tracing()) {
      v.notes.push_back(field + ": " + show_key(*got, s.reveal_keys) + (ok ? " (matches the device)" : " (differs from the device)"));
    }
  }
  if (ans.app_s_key) {
    std::string problem;
    const auto got = open_app_s_key(*ans.app_s_key, s, judge, problem);
    if (got) {
      const sim::SessionKeyCheck expected = device->session_key(sim::KeySlot::app_s_key);
      const bool ok = expected.matches(*got);
      judge.check(rejoin ? "keys/rejoin-session-keys" : "keys/app-s-key", ok,
                  [&] { return "AppSKey = the device's derivation " + show_device_key(expected, s.reveal_keys); },
                  [&] { return std::string(ok ? "AppSKey " : "AppSKey differs: ") + show_key(*got, s.reveal_keys); });
      v.answer.app_s_key = *got;
      if (judge.tracing()) {
        v.notes.push_back("AppSKey: " + show_key(*got, s.reveal_keys) + (ok ? " (matches the device)" : " (differs from the device)"));
      }
    } else {
      judge(rejoin ? "keys/rejoin-session-keys" : "keys/app-s-key", Verdict::skip, "", "", problem);
      v.answer.app_s_key_problem = problem;
    }
  }
}

}  // namespace

Validation validate_exchange(const sim::Exchange& ex, const SentRequest& sent, sim::SimDevice* device,
                             DeviceHistory* history, const ValidatorSettings& s) {
  Validation v;
  Judge judge(v, s.failures_only);
  judge_transport(ex, s, judge);

  if (!ex.answered()) {
    if (ex.answer_source != sim::AnswerSource::none) {
      judge.check("http/json-answer", false, "a TS002 JSON answer",
                  ex.decode_error + (ex.decode_error_path.empty() ? "" : " (at " + ex.decode_error_path + ")"));
      v.answer.result_text = "the answer does not decode: " + ex.decode_error;
    } else {
      v.answer.result_text = ex.transport_error.empty() ? "no answer" : ex.transport_error;
      // A target that was reachable and then closed, reset or garbled the exchange: its fault.
      if (!ex.timed_out && !ex.transport_error.empty()) {
        judge.check("http/json-answer", false, "a TS002 JSON answer", "no answer: " + ex.transport_error);
      }
    }
    return v;
  }
  judge.pass("http/json-answer", "a TS002 JSON answer",
             [&] { return std::string(backend::to_string(backend::message_type_of(ex.decoded->message))); });
  const backend::Decoded& d = *ex.decoded;
  v.answer.answered = true;
  v.answer.message = &d.message;
  for (const auto& o : d.observations) {
    if (!judge.tracing()) break;
    v.notes.push_back("observed " + std::string(backend::to_string(o.kind)) + " at " + o.path + ": " + o.detail);
  }
  judge_header(backend::header_of(d.message), sent, judge);
  judge_encoding(d, sent, judge);

  std::optional<backend::Result> result;
  std::visit([&](const auto& m) {
    if constexpr (requires { m.result; }) result = m.result;
  }, d.message);
  judge.check("answer/result", result.has_value(), "Result with a known ResultCode", "no usable Result");
  v.answer.result = result ? std::optional(result->code) : std::nullopt;
  v.answer.result_text = code_text(result);
  if (result && result->description) v.answer.description = *result->description;

  std::visit([&](const auto& m) {
    using M = std::decay_t<decltype(m)>;
    if constexpr (requires { m.phy_payload; m.nwk_s_key; }) {
      v.answer.has_phy_payload = m.phy_payload.has_value();
      v.answer.has_keys = m.nwk_s_key || m.f_nwk_s_int_key || m.s_nwk_s_int_key || m.nwk_s_enc_key || m.app_s_key;
    } else if constexpr (requires { m.app_s_key; }) {
      v.answer.has_keys = m.app_s_key.has_value();
    }
    if (!result) return;
    if (result->is_success()) {
      // An inconsistent request may be answered with either key set.
      auto missing = backend::missing_fields(d.message, sent.inconsistent ? std::nullopt : sent.mac_version);
      // Judged on their own: Lifetime (a SHOULD, docs/checks.md#answer) and the
      // AppSKey-or-SessionKeyID rule (answer/app-s-key-or-session-key-id).
      std::erase_if(missing, [](const backend::MissingField& f) {
        return f.path == "Lifetime" || (f.path == "AppSKey" && f.rule.find("SessionKeyID") != std::string::npos);
      });
      judge.check("answer/mandatory-fields", missing.empty(), "every mandatory field", [&] {
        std::string names;
        for (const auto& f : missing) names += (names.empty() ? "" : ", ") + f.path;
        return missing.empty() ? std::string("all present") : "missing " + names;
      });
      if constexpr (requires { m.phy_payload; m.nwk_s_key; }) {
        // Only the answer to the device's own join or rejoin goes to the device.
        const bool answers_request = backend::answer_type_for(sent.type) == M::kType &&
                                     (sent.type == MessageType::join_req || sent.type == MessageType::rejoin_req);
        judge_join_answer(m, sent, answers_request && !sent.inconsistent ? device : nullptr, history, s, judge, v);
      } else if constexpr (std::is_same_v<M, backend::AppSKeyAns>) {
        if (m.app_s_key) {
          std::string problem;
          v.answer.app_s_key = open_app_s_key(*m.app_s_key, s, judge, problem);
          v.answer.app_s_key_problem = problem;
        }
        v.answer.session_key_id = m.session_key_id;
      }
    } else {
      judge.check("answer/failure-without-keys", !v.answer.has_phy_payload && !v.answer.has_keys,
                  "a failed answer without PHYPayload and keys", [&] {
                    return std::string(v.answer.has_phy_payload ? "PHYPayload" : "") +
                           (v.answer.has_keys ? (v.answer.has_phy_payload ? " and keys" : "keys") : "") +
                           (v.answer.has_phy_payload || v.answer.has_keys ? " present" : "none");
                  });
    }
  }, d.message);
  return v;
}

}  // namespace joincheck::conformance
