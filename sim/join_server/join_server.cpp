#include "sim/join_server/join_server.hpp"

#include "sim/join_server/request_context.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "backend/json_duplicates.hpp"
#include "lorawan/crypto.hpp"
#include "lorawan/join_frames.hpp"
#include "sim/join_server/fault_injection.hpp"

namespace joincheck::sim {

using backend::ResultCode;
using namespace joincheck::lorawan;

// ---- JoinEUI ranges ----

bool JoinEuiRange::contains(const Eui64& eui) const {
  const auto& a = prefix.bytes();
  const auto& b = eui.bytes();
  unsigned left = bits;
  for (std::size_t i = 0; i < a.size() && left > 0; ++i) {
    const unsigned n = std::min(left, 8u);
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - n));
    if ((a[i] & mask) != (b[i] & mask)) return false;
    left -= n;
  }
  return true;
}

JoinEuiRange parse_join_eui_range(std::string_view text) {
  JoinEuiRange r;
  std::string_view eui = text;
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    eui = text.substr(0, slash);
    const std::string_view len = text.substr(slash + 1);
    unsigned bits = 0;
    bool ok = !len.empty() && len.size() <= 2;
    for (char c : len) {
      ok = ok && c >= '0' && c <= '9';
      bits = bits * 10 + static_cast<unsigned>(c - '0');
    }
    if (!ok || bits > 64) {
      throw Error("JoinEUI range: expected a prefix length 0-64 after '/', got " +
                  quote_for_error(text));
    }
    r.bits = bits;
  }
  r.prefix = Eui64::parse(eui, "JoinEUI range");
  return r;
}

// ---- SessionKeyID tickets ----

namespace {

constexpr std::size_t kTicketFields = 9;  // mode, JoinNonce(3), DevNonce(2), NetID(3)
constexpr std::size_t kTicketSize = 16;

Bytes ticket_fields(const SessionTicket& t) {
  Bytes b;
  b.reserve(kTicketSize);
  b.push_back(static_cast<std::uint8_t>(t.mode));
  t.join_nonce.append_wire(b);
  t.dev_nonce.append_wire(b);
  t.net_id.append_wire(b);
  return b;
}

Block ticket_tag(const Aes128Key& secret, const Eui64& dev_eui, ByteSpan fields) {
  return Cmac(secret).update(dev_eui.wire()).update(fields).finish();
}

}  // namespace

Bytes seal_session_ticket(const Aes128Key& secret, const Eui64& dev_eui, const SessionTicket& t) {
  Bytes b = ticket_fields(t);
  const Block tag = ticket_tag(secret, dev_eui, b);
  b.insert(b.end(), tag.begin(), tag.begin() + (kTicketSize - kTicketFields));
  return b;
}

std::optional<SessionTicket> open_session_ticket(const Aes128Key& secret, const Eui64& dev_eui,
                                                 ByteSpan bytes) {
  if (bytes.size() != kTicketSize || bytes[0] > 2) return std::nullopt;
  const Block tag = ticket_tag(secret, dev_eui, bytes.first(kTicketFields));
  // Constant time: the tag authenticates the ticket.
  if (CRYPTO_memcmp(bytes.data() + kTicketFields, tag.data(), kTicketSize - kTicketFields) != 0) {
    return std::nullopt;
  }
  SessionTicket t;
  t.mode = static_cast<JoinMode>(bytes[0]);
  t.join_nonce = JoinNonce::from_wire(bytes.subspan(1, 3));
  t.dev_nonce = DevNonce::from_wire(bytes.subspan(4, 2));
  t.net_id = NetId::from_wire(bytes.subspan(6, 3));
  return t;
}

// ---- request handling ----

namespace {

// What Go's net/http sends when a handler writes JSON without setting Content-Type (it sniffs
// the body): brocaar's join server and The Things Stack's interop server both do.
constexpr const char* kGoTextPlain = "text/plain; charset=utf-8";

// brocaar's answer to a body it cannot unmarshal: HTTP 400 and a bare Result, no header.
JsAnswer bare_result(int status, std::string description, bool text_plain, std::string log_type) {
  JsAnswer out;
  out.http_status = status;
  out.body = nlohmann::json{{"ResultCode", "Other"}, {"Description", std::move(description)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text_plain) out.content_type = kGoTextPlain;
  out.log_message_type = std::move(log_type);
  out.log_result = "Other (HTTP " + std::to_string(status) + ")";
  return out;
}

// The first hex field Go's encoding/hex refuses (a 0x prefix included), with Go's message, as
// brocaar's JSON unmarshalling reports it; empty when every hex field decodes.
std::string go_hex_error(std::string_view body) {
  const auto parsed = backend::parse_peer_json(body);
  if (!parsed || !parsed->is_object()) return {};
  const nlohmann::json& j = *parsed;
  for (const char* field : {"SenderID", "ReceiverID", "DevEUI", "PHYPayload", "DevAddr", "DLSettings", "CFList",
                            "SenderToken"}) {
    const auto it = j.find(field);
    if (it == j.end() || !it->is_string()) continue;
    const std::string& v = it->get_ref<const std::string&>();
    for (const char c : v) {
      if (std::isxdigit(static_cast<unsigned char>(c))) continue;
      char buf[64];
      std::snprintf(buf, sizeof buf, "encoding/hex: invalid byte: U+%04X '%c'", static_cast<unsigned char>(c), c);
      return buf;
    }
    if (v.size() % 2 != 0) return "encoding/hex: odd length hex string";
  }
  return {};
}

}  // namespace


JoinServer::JoinServer(JoinServerConfig config, DeviceStore& store)
    : config_(std::move(config)), quirks_(quirks_of(config_.behaviour)), store_(store) {
  for (const auto& p : config_.net_ids) {
    if (!p.client_ca_file.empty()) client_cas_.emplace(p.net_id, backend::CaStore::load(p.client_ca_file));
  }
}

const NetIdPeer* JoinServer::find_peer(const NetId& net_id) const {
  for (const auto& p : config_.net_ids) {
    if (p.net_id == net_id) return &p;
  }
  return nullptr;
}

bool JoinServer::serves(const Eui64& join_eui) const {
  if (config_.join_euis.empty()) return store_.has_join_eui(join_eui);
  return std::any_of(config_.join_euis.begin(), config_.join_euis.end(),
                     [&](const JoinEuiRange& r) { return r.contains(join_eui); });
}

JsAnswer JoinServer::finish(Context& ctx, backend::Message answer, int http_status) const {
  backend::Header& h = backend::header_of(answer);
  const FaultSet& f = config_.faults;
  inject_header_faults(h, f);
  if (quirks_.drop_sender_token) h.receiver_token.reset();
  if (quirks_.protocol_version_always_1_0) h.protocol_version = backend::ProtocolVersion::v1_0;
  if (quirks_.no_receiver_nsid) h.receiver_ns_id.reset();

  JsAnswer out;
  out.http_status = http_status;
  backend::EncodeOptions enc;
  if (quirks_.uppercase_hex) enc.hex_case = HexCase::upper;
  out.body = backend::encode(answer, enc);
  out.log_message_type = ctx.log_type;
  out.log_dev_eui = ctx.log_dev_eui;
  const backend::Result* result = std::visit(
      [](const auto& m) -> const backend::Result* {
        if constexpr (requires { m.result; }) {
          return m.result ? &*m.result : nullptr;
        } else {
          return nullptr;
        }
      },
      answer);
  out.log_result = result ? std::string(backend::to_string(result->code)) : "-";
  if (f.has(Fault::wrong_content_type)) out.content_type = "text/plain";
  if (quirks_.text_plain_answers) out.content_type = kGoTextPlain;
  out.delay = f.slow_answer;
  if (ctx.async_peer != nullptr) {
    AsyncDelivery d{ctx.async_peer->async_url, std::move(out.body)};
    if (f.has(Fault::async_wrong_transaction_id)) {
      auto j = nlohmann::json::parse(d.body);
      j["TransactionID"] = (j["TransactionID"].get<std::uint32_t>() + 1) & 0xffffffffu;
      d.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
    out.http_status = 200;  // the acknowledgement; the answer goes in the POST
    out.body.clear();
    out.content_type.clear();
    if (!f.has(Fault::async_no_answer)) out.async = std::move(d);
  }
  return out;
}

JsAnswer JoinServer::fail(Context& ctx, Refused refused) const {
  const FailureAnswer failure_code = failure_answer(refused.reason, ctx.version, quirks_, config_.faults);
  const ResultCode code = failure_code.code;
  std::string& description = refused.description;
  const backend::MessageType req_type = ctx.request_header.message_type;
  const backend::MessageType ans_type =
      backend::answer_type_for(req_type).value_or(backend::MessageType::error_notif);
  backend::Header h;
  if (backend::is_request(req_type)) {
    h = backend::make_answer_header(ctx.request_header);
  } else {
    h.protocol_version = ctx.request_header.protocol_version;
    h.sender_id = ctx.request_header.receiver_id;
    h.receiver_id = ctx.request_header.sender_id;
    h.transaction_id = ctx.request_header.transaction_id;
    h.message_type = ans_type;
  }
  const backend::Result result{code, description.empty() ? std::nullopt : std::optional(description)};
  // Header and Result, in the answer type of the request (ErrorNotif when it has none).
  auto failure = [&](auto answer) -> backend::Message {
    answer.header = h;
    answer.header.message_type = decltype(answer)::kType;
    answer.result = result;
    return answer;
  };
  backend::Message answer;
  switch (ans_type) {
    case backend::MessageType::join_ans: answer = failure(backend::JoinAns{}); break;
    case backend::MessageType::rejoin_ans: answer = failure(backend::RejoinAns{}); break;
    case backend::MessageType::home_ns_ans: answer = failure(backend::HomeNSAns{}); break;
    case backend::MessageType::app_s_key_ans: {
      backend::AppSKeyAns a;
      if (const auto* req = std::get_if<backend::AppSKeyReq>(&ctx.decoded.message)) {
        a.dev_eui = req->dev_eui;
        a.session_key_id = req->session_key_id;
      }
      answer = failure(std::move(a));
      break;
    }
    default: answer = failure(backend::ErrorNotif{}); break;
  }
  return finish(ctx, std::move(answer), failure_code.http_status);
}

namespace {

// The header fields a body carries even when the rest does not parse, for the answer.
backend::Header salvage_header(std::string_view body) {
  backend::Header h;
  h.message_type = backend::MessageType::error_notif;
  const auto parsed = backend::parse_peer_json(body);
  if (!parsed || !parsed->is_object()) return h;
  const nlohmann::json& j = *parsed;
  auto str = [&](const char* k) -> std::string {
    const auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto v = backend::parse_protocol_version(str("ProtocolVersion"))) h.protocol_version = *v;
  h.sender_id = str("SenderID");
  h.receiver_id = str("ReceiverID");
  if (const auto it = j.find("TransactionID"); it != j.end() && it->is_number_unsigned() &&
                                                 it->get<std::uint64_t>() <= 0xffffffffu) {
    h.transaction_id = static_cast<std::uint32_t>(it->get<std::uint64_t>());
  }
  if (auto t = backend::parse_message_type(str("MessageType"))) h.message_type = *t;
  return h;
}

}  // namespace

JsAnswer JoinServer::handle(const JsRequest& request) const {
  Context ctx{request, {}, {}, backend::ProtocolVersion::v1_0, "-", "-"};
  try {
    ctx.decoded = backend::decode(request.body, backend::DecodeMode::observing);
  } catch (const backend::CodecError& e) {
    ctx.request_header = salvage_header(request.body);
    ctx.version = ctx.request_header.protocol_version;
    ctx.log_type = std::string(backend::to_string(ctx.request_header.message_type));
    if (quirks_.empty_400_on_bad_header || quirks_.bare_result_on_malformed) {
      JsAnswer out;
      out.http_status = 400;
      out.log_message_type = ctx.log_type;
      out.log_result = "400";
      if (quirks_.bare_result_on_malformed) {
        return bare_result(400, e.what(), quirks_.text_plain_answers, ctx.log_type);
      } else {
        out.content_type.clear();
      }
      return out;
    }
    return fail(ctx, Refused{Refusal::malformed, e.what()});
  }
  ctx.request_header = backend::header_of(ctx.decoded.message);
  ctx.version = ctx.request_header.protocol_version;
  const backend::MessageType type = ctx.request_header.message_type;
  ctx.log_type = std::string(backend::to_string(type));
  if (quirks_.bare_result_on_bad_hex) {
    if (auto why = go_hex_error(request.body); !why.empty()) {
      return bare_result(400, std::move(why), quirks_.text_plain_answers, ctx.log_type);
    }
  }

  // ProtocolVersion: the codec leaves an unknown value at its default and observes it.
  const auto is_bad_version = [](const backend::Observation& o) {
    return o.path == "ProtocolVersion" && o.kind == backend::ObservationKind::invalid_value;
  };
  const bool bad_version =
      std::any_of(ctx.decoded.observations.begin(), ctx.decoded.observations.end(), is_bad_version);
  if (bad_version) {
    if (!config_.faults.has(Fault::ignore_protocol_version) && !quirks_.serve_unknown_protocol_version) {
      return fail(ctx, Refused{Refusal::unknown_protocol_version, "ProtocolVersion: this JS supports \"1.0\" and \"1.1\""});
    }
    // The fault: processed as 1.0 (the codec left the version there), not refused later as a
    // malformed field.
    std::erase_if(ctx.decoded.observations, is_bad_version);
  }

  if (type == backend::MessageType::error_notif) {
    JsAnswer out;  // acknowledged, never answered (TS002 1.1 ErrorNotif has no answer)
    out.content_type.clear();
    out.log_message_type = ctx.log_type;
    out.log_result = "acknowledged";
    return out;
  }
  if (request.path_types != nullptr &&
      std::find(request.path_types->begin(), request.path_types->end(), type) == request.path_types->end()) {
    std::string meant;
    for (auto t : *request.path_types) meant += (meant.empty() ? "" : ", ") + std::string(backend::to_string(t));
    return fail(ctx, Refused{Refusal::malformed,
                "MessageType " + ctx.log_type + " was sent to the path for " + meant});
  }
  if (!backend::is_request(type)) {
    return fail(ctx, Refused{Refusal::malformed,
                "MessageType: " + ctx.log_type + " is an answer; this JS takes JoinReq, "
                "RejoinReq, AppSKeyReq and HomeNSReq"});
  }
  switch (type) {
    case backend::MessageType::join_req:
    case backend::MessageType::rejoin_req:
      return handle_join(ctx);
    case backend::MessageType::app_s_key_req:
      if (quirks_.no_app_s_key_req) {
        return bare_result(400, "invalid MessageType: AppSKeyReq", quirks_.text_plain_answers, ctx.log_type);
      }
      return handle_app_s_key(ctx);
    case backend::MessageType::home_ns_req:
      return handle_home_ns(ctx);
    default:
      return fail(ctx, Refused{Refusal::malformed, "unexpected MessageType"});
  }
}

// The checks every NS message (JoinReq, RejoinReq, HomeNSReq) passes first: SenderNSID under
// TS002 1.1, the requester, the receiver.
std::optional<Refused> JoinServer::admit_ns_request(Context& ctx, NsRequester& ns) const {
  if (ctx.version == backend::ProtocolVersion::v1_1 && !ctx.request_header.sender_ns_id &&
      !quirks_.ignore_sender_nsid) {
    return Refused{Refusal::malformed, "SenderNSID: mandatory under TS002 1.1"};
  }
  if (ctx.version == backend::ProtocolVersion::v1_0 && ctx.request_header.sender_ns_id &&
      quirks_.sender_nsid_refused_under_1_0) {
    return Refused{Refusal::malformed, "SenderNSID: not a field of TS002 1.0"};
  }
  if (auto refused = authenticate_ns(ctx, ns.peer, ns.net_id)) return refused;
  if (ns.peer != nullptr && !ns.peer->async_url.empty()) ctx.async_peer = ns.peer;
  if (quirks_.receiver_id_not_compared) {
    const std::string_view eui = lorawan::strip_hex_prefix(ctx.request_header.receiver_id);
    if (eui.size() == 16 && is_hex(eui)) ns.receiver = Eui64::parse(eui, "ReceiverID");
    return std::nullopt;
  }
  return check_receiver(ctx, ns.receiver);
}

// The requester of an NS message: a NetID this JS knows, authenticated by its client
// certificate when one is configured for it.
std::optional<Refused> JoinServer::authenticate_ns(Context& ctx, const NetIdPeer*& peer,
                                                    NetId& net_id) const {
  const backend::Header& h = ctx.request_header;
  // Hex "may start with 0x and may use upper or lower case" (TS002 1.0 §22.3), identifiers too.
  const std::string_view sender = lorawan::strip_hex_prefix(h.sender_id);
  const bool valid_net_id = sender.size() == 6 && is_hex(sender);
  if (valid_net_id) {
    net_id = NetId::parse(sender, "SenderID");
    peer = find_peer(net_id);
  }
  if (config_.faults.has(Fault::ignore_sender_id) || quirks_.any_sender_id) return std::nullopt;
  if (!valid_net_id) {
    return Refused{Refusal::unknown_sender,
                "SenderID: expected the NS NetID (6 hex digits), got " + quote_for_error(h.sender_id)};
  }
  if (!config_.net_ids.empty() && peer == nullptr) {
    return Refused{Refusal::unknown_sender,
                "SenderID " + net_id.hex() + " is not a NetID this JS serves"};
  }
  if (const auto ca = client_cas_.find(net_id); peer != nullptr && ca != client_cas_.end()) {
    if (ctx.request.peer_chain.empty()) {
      return Refused{Refusal::unknown_sender,
                  "NetID " + net_id.hex() + " must present a client certificate"};
    }
    const backend::VerifyResult verified = ca->second.verify(ctx.request.peer_chain);
    if (!verified) {
      return Refused{Refusal::unknown_sender, "the client certificate does not chain to the CA of NetID " +
                                                       net_id.hex() + ": " + verified.message()};
    }
  }
  return std::nullopt;
}

// The receiver: a JoinEUI this JS serves.
std::optional<Refused> JoinServer::check_receiver(Context& ctx, std::optional<Eui64>& receiver) const {
  const std::string& id = ctx.request_header.receiver_id;
  const std::string_view eui = lorawan::strip_hex_prefix(id);
  if (eui.size() == 16 && is_hex(eui)) receiver = Eui64::parse(eui, "ReceiverID");
  if (config_.faults.has(Fault::ignore_receiver_id) || (receiver && serves(*receiver))) {
    return std::nullopt;
  }
  return Refused{Refusal::unknown_receiver, "ReceiverID " + quote_for_error(id) + " is not a JoinEUI this JS serves"};
}

JsAnswer JoinServer::handle_home_ns(Context& ctx) const {
  const auto& req = std::get<backend::HomeNSReq>(ctx.decoded.message);
  if (auto why = malformed_reason(ctx.decoded); !why.empty()) {
    return fail(ctx, Refused{Refusal::malformed, why});
  }
  ctx.log_dev_eui = req.dev_eui->hex();
  NsRequester ns;
  if (auto refused = admit_ns_request(ctx, ns)) return fail(ctx, std::move(*refused));
  if (!store_.find(*req.dev_eui)) {
    return fail(ctx, Refused{Refusal::unknown_device, "DevEUI " + req.dev_eui->hex() + " is not registered"});
  }
  if (!config_.home_net_id) {
    return fail(ctx, Refused{Refusal::activation_disallowed, "no home NetID is configured for this device"});
  }
  if (ctx.version == backend::ProtocolVersion::v1_1 && !config_.home_ns_id && !quirks_.home_ns_without_hns_id) {
    return fail(ctx, Refused{Refusal::activation_disallowed,
                "TS002 1.1 HomeNSAns carries HNSID, and no home NSID is configured"});
  }
  backend::HomeNSAns ans;
  ans.header = backend::make_answer_header(req.header);
  ans.result = backend::Result{ResultCode::success, std::nullopt};
  ans.h_net_id = config_.home_net_id;
  if (ctx.version == backend::ProtocolVersion::v1_1 && !quirks_.home_ns_without_hns_id) {
    ans.header.hns_id = config_.home_ns_id;
  }
  return finish(ctx, std::move(ans));
}

// AppSKeyReq (TS002 1.0 §8 step 8): the AS asks for the AppSKey of a SessionKeyID.
JsAnswer JoinServer::handle_app_s_key(Context& ctx) const {
  const auto& req = std::get<backend::AppSKeyReq>(ctx.decoded.message);
  if (req.dev_eui) ctx.log_dev_eui = req.dev_eui->hex();
  if (!config_.as_ids.empty() && !config_.faults.has(Fault::ignore_sender_id) &&
      std::find(config_.as_ids.begin(), config_.as_ids.end(), req.header.sender_id) == config_.as_ids.end()) {
    return fail(ctx, Refused{Refusal::unknown_sender,
                "SenderID " + quote_for_error(req.header.sender_id) + " is not an AS this JS serves"});
  }
  std::optional<Eui64> receiver;
  if (auto refused = check_receiver(ctx, receiver)) return fail(ctx, std::move(*refused));
  if (auto why = malformed_reason(ctx.decoded); !why.empty()) {
    return fail(ctx, Refused{Refusal::malformed, why});
  }
  const auto device = store_.find(*req.dev_eui);
  if (!device) {
    return fail(ctx, Refused{Refusal::unknown_device, "DevEUI " + req.dev_eui->hex() + " is not registered"});
  }
  const auto ticket = open_session_ticket(store_.js_secret(), *req.dev_eui, *req.session_key_id);
  if (!ticket) {
    return fail(ctx, Refused{Refusal::unknown_session,
                "no session of DevEUI " + req.dev_eui->hex() + " has this SessionKeyID"});
  }
  // The device may have been provisioned again since the join: its keys must still be there.
  const bool has_keys = ticket->mode == JoinMode::lorawan_1_0     ? device->app_key.has_value()
                        : ticket->mode == JoinMode::lorawan_1_1_opt_neg_0 ? device->nwk_key.has_value()
                        : device->nwk_key && device->app_key;
  if (!has_keys) {
    return fail(ctx, Refused{Refusal::session_keys_gone, "DevEUI " + req.dev_eui->hex() +
                                            " no longer has the root keys of the session of this SessionKeyID"});
  }
  Aes128Key app_s_key;
  switch (ticket->mode) {
    case JoinMode::lorawan_1_0:
      app_s_key = derive_session_keys_1_0(*device->app_key, ticket->join_nonce, ticket->net_id,
                                          ticket->dev_nonce).app_s_key;
      break;
    case JoinMode::lorawan_1_1_opt_neg_0:
      app_s_key = derive_session_keys_1_0(*device->nwk_key, ticket->join_nonce, ticket->net_id,
                                          ticket->dev_nonce).app_s_key;
      break;
    case JoinMode::lorawan_1_1:
      app_s_key = derive_session_keys_1_1(*device->nwk_key, *device->app_key, ticket->join_nonce,
                                          device->join_eui, ticket->dev_nonce).app_s_key;
      break;
  }
  inject_app_s_key_fault(app_s_key, config_.faults);
  backend::AppSKeyAns ans;
  ans.header = backend::make_answer_header(req.header);
  ans.result = backend::Result{ResultCode::success, std::nullopt};
  ans.dev_eui = req.dev_eui;
  ans.session_key_id = req.session_key_id;
  ans.app_s_key = key_envelope(app_s_key, config_.as_kek_label, config_.as_kek, config_.faults);
  return finish(ctx, std::move(ans));
}

}  // namespace joincheck::sim
