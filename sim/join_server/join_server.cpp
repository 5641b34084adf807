#include "sim/join_server/join_server.hpp"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "backend/json_duplicates.hpp"
#include "lorawan/crypto.hpp"
#include "lorawan/join_frames.hpp"

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

struct JoinServer::Context {
  const JsRequest& request;
  backend::Decoded decoded;
  backend::Header request_header;
  backend::ProtocolVersion version = backend::ProtocolVersion::v1_0;
  std::string log_type;
  std::string log_dev_eui;
  // The requester answers asynchronously: every answer to it, failures included, is POSTed to
  // its callback URL after a 200 acknowledgement (TS002 §22.1).
  const NetIdPeer* async_peer = nullptr;
};

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

JsAnswer JoinServer::finish(Context& ctx, backend::Message answer) const {
  backend::Header& h = backend::header_of(answer);
  const FaultSet& f = config_.faults;
  if (f.has(Fault::wrong_transaction_id)) h.transaction_id ^= 0x5a5a5a5au;
  if (f.has(Fault::drop_receiver_token) || quirks_.drop_sender_token) h.receiver_token.reset();
  if (f.has(Fault::no_id_swap)) std::swap(h.sender_id, h.receiver_id);
  if (f.has(Fault::protocol_version_1_0) || quirks_.protocol_version_always_1_0) {
    h.protocol_version = backend::ProtocolVersion::v1_0;
  }
  if (f.has(Fault::drop_receiver_nsid) || quirks_.no_receiver_nsid) h.receiver_ns_id.reset();

  JsAnswer out;
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
  if (result && !result->is_success() && f.has(Fault::http_400_on_error)) out.http_status = 400;
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

JsAnswer JoinServer::fail(Context& ctx, ResultCode code, std::string description) const {
  const FaultSet& f = config_.faults;
  if (code == ResultCode::unknown_dev_eui && f.has(Fault::wrong_code_unknown_deveui)) code = ResultCode::other;
  if (code == ResultCode::mic_failed && f.has(Fault::wrong_code_mic_failed)) code = ResultCode::join_req_failed;
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
  JsAnswer out = finish(ctx, std::move(answer));
  if (code == ResultCode::unknown_dev_eui && quirks_.http_400_unknown_dev_eui) out.http_status = 400;
  return out;
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

// What makes a request malformed for a strict JS, one "Field: what was expected, what was seen"
// per problem, "; " between them; empty when nothing does. The spec allows upper-case hex, a 0x
// prefix and unknown fields; it does not allow wrong types, bad values, nulls, duplicates or a
// missing mandatory field. The codec records a missing field only when no other observation
// names it, so a field present with a bad value is told once.
std::string malformed_reason(const backend::Decoded& d) {
  std::string why;
  for (const auto& o : d.observations) {
    switch (o.kind) {
      case backend::ObservationKind::missing_field:
      case backend::ObservationKind::wrong_json_type:
      case backend::ObservationKind::invalid_value:
      case backend::ObservationKind::null_field:
      case backend::ObservationKind::duplicate_field:
        why += (why.empty() ? "" : "; ") + (o.path.empty() ? o.problem() : o.path + ": " + o.problem());
        break;
      default:
        break;
    }
  }
  return why;
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
    return fail(ctx, backend::malformed_code(ctx.version), e.what());
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
      return fail(ctx, quirks_.other_for_unknown_protocol_version ? ResultCode::other
                                                                  : ResultCode::invalid_protocol_version,
                  "ProtocolVersion: this JS supports \"1.0\" and \"1.1\"");
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
    return fail(ctx, backend::malformed_code(ctx.version),
                "MessageType " + ctx.log_type + " was sent to the path for " + meant);
  }
  if (!backend::is_request(type)) {
    return fail(ctx, backend::malformed_code(ctx.version),
                "MessageType: " + ctx.log_type + " is an answer; this JS takes JoinReq, "
                "RejoinReq, AppSKeyReq and HomeNSReq");
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
      return fail(ctx, backend::malformed_code(ctx.version), "unexpected MessageType");
  }
}

// The checks every NS message (JoinReq, RejoinReq, HomeNSReq) passes first: SenderNSID under
// TS002 1.1, the requester, the receiver.
std::optional<JsAnswer> JoinServer::admit_ns_request(Context& ctx, NsRequester& ns) const {
  if (ctx.version == backend::ProtocolVersion::v1_1 && !ctx.request_header.sender_ns_id &&
      !quirks_.ignore_sender_nsid) {
    return fail(ctx, ResultCode::malformed_message, "SenderNSID: mandatory under TS002 1.1");
  }
  if (ctx.version == backend::ProtocolVersion::v1_0 && ctx.request_header.sender_ns_id &&
      quirks_.sender_nsid_refused_under_1_0) {
    return fail(ctx, ResultCode::malformed_request, "SenderNSID: not a field of TS002 1.0");
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
std::optional<JsAnswer> JoinServer::authenticate_ns(Context& ctx, const NetIdPeer*& peer,
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
    return fail(ctx, ResultCode::unknown_sender,
                "SenderID: expected the NS NetID (6 hex digits), got " + quote_for_error(h.sender_id));
  }
  if (!config_.net_ids.empty() && peer == nullptr) {
    return fail(ctx, ResultCode::unknown_sender,
                "SenderID " + net_id.hex() + " is not a NetID this JS serves");
  }
  if (const auto ca = client_cas_.find(net_id); peer != nullptr && ca != client_cas_.end()) {
    if (ctx.request.peer_chain.empty()) {
      return fail(ctx, ResultCode::unknown_sender,
                  "NetID " + net_id.hex() + " must present a client certificate");
    }
    const backend::VerifyResult verified = ca->second.verify(ctx.request.peer_chain);
    if (!verified) {
      return fail(ctx, ResultCode::unknown_sender, "the client certificate does not chain to the CA of NetID " +
                                                       net_id.hex() + ": " + verified.message());
    }
  }
  return std::nullopt;
}

// The receiver: a JoinEUI this JS serves.
std::optional<JsAnswer> JoinServer::check_receiver(Context& ctx, std::optional<Eui64>& receiver) const {
  const std::string& id = ctx.request_header.receiver_id;
  const std::string_view eui = lorawan::strip_hex_prefix(id);
  if (eui.size() == 16 && is_hex(eui)) receiver = Eui64::parse(eui, "ReceiverID");
  if (config_.faults.has(Fault::ignore_receiver_id) || (receiver && serves(*receiver))) {
    return std::nullopt;
  }
  return fail(ctx, ResultCode::unknown_receiver, "ReceiverID " + quote_for_error(id) + " is not a JoinEUI this JS serves");
}

JsAnswer JoinServer::handle_home_ns(Context& ctx) const {
  const auto& req = std::get<backend::HomeNSReq>(ctx.decoded.message);
  if (auto why = malformed_reason(ctx.decoded); !why.empty()) {
    return fail(ctx, backend::malformed_code(ctx.version), why);
  }
  ctx.log_dev_eui = req.dev_eui->hex();
  NsRequester ns;
  if (auto refused = admit_ns_request(ctx, ns)) return std::move(*refused);
  if (!store_.find(*req.dev_eui)) {
    return fail(ctx, ResultCode::unknown_dev_eui, "DevEUI " + req.dev_eui->hex() + " is not registered");
  }
  if (!config_.home_net_id) {
    return fail(ctx, ResultCode::activation_disallowed, "no home NetID is configured for this device");
  }
  if (ctx.version == backend::ProtocolVersion::v1_1 && !config_.home_ns_id && !quirks_.home_ns_without_hns_id) {
    return fail(ctx, ResultCode::activation_disallowed,
                "TS002 1.1 HomeNSAns carries HNSID, and no home NSID is configured");
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

namespace {

Bytes flip_bit(Bytes b) {
  if (!b.empty()) b.back() ^= 0x01;
  return b;
}

}  // namespace

// JoinReq and RejoinReq (TS002 1.0 §8, §11.4.1, and §22.4 for the result codes).
JsAnswer JoinServer::handle_join(Context& ctx) const {
  if (const auto* join = std::get_if<backend::JoinReq>(&ctx.decoded.message)) {
    return handle_join_request(ctx, *join);
  }
  return handle_join_request(ctx, std::get<backend::RejoinReq>(ctx.decoded.message));
}

// JoinReq and RejoinReq have the same fields; the PHYPayload tells them apart.
template <class Request>
JsAnswer JoinServer::handle_join_request(Context& ctx, const Request& req) const {
  constexpr bool rejoin = Request::kType == backend::MessageType::rejoin_req;
  if (req.dev_eui) ctx.log_dev_eui = req.dev_eui->hex();
  const FaultSet& faults = config_.faults;
  const auto malformed = backend::malformed_code(ctx.version);

  if (rejoin && quirks_.reject_rejoin) {
    return fail(ctx, malformed, "RejoinReq is not supported");
  }
  NsRequester ns;
  if (auto refused = admit_ns_request(ctx, ns)) return std::move(*refused);
  const NetIdPeer* const peer = ns.peer;
  const NetId& net_id = ns.net_id;
  const std::optional<Eui64>& receiver = ns.receiver;

  if (quirks_.canonical_mac_version_only && req.mac_version) {
    const std::string_view v = req.mac_version->spelling();
    if (v != "1.0" && v != "1.0.1" && v != "1.0.2" && v != "1.0.3" && v != "1.0.4" && v != "1.1") {
      return fail(ctx, malformed, "MACVersion " + quote_for_error(v) + ": expected 1.0, 1.0.1 ... 1.0.4 or 1.1");
    }
  }
  if (quirks_.missing_dl_settings_is_zero) {  // Go's zero value: the field is simply absent
    std::erase_if(ctx.decoded.observations, [](const backend::Observation& o) {
      return o.kind == backend::ObservationKind::missing_field && o.path == "DLSettings";
    });
  }
  if (auto why = malformed_reason(ctx.decoded); !why.empty()) {
    return fail(ctx, malformed, why);
  }
  const Bytes& phy = *req.phy_payload;
  const MType expected = rejoin ? MType::rejoin_request : MType::join_request;
  if (phy.empty() || mtype_of(phy[0]) != expected) {
    return fail(ctx, quirks_.other_for_bad_phy_payload ? ResultCode::other : malformed,
                "PHYPayload: expected a " + std::string(to_string(expected)) + " frame, got " +
                    (phy.empty() ? std::string("nothing")
                                 : "MType " + std::string(to_string(mtype_of(phy[0])))));
  }

  // FrameSizeError for a frame of the wrong size (TS002 Table 24); anything else that does not
  // parse (MHDR major bits, an unknown rejoin type) is malformed.
  std::size_t expected_size = kJoinRequestSize;
  if (rejoin && phy.size() >= 2) expected_size = phy[1] == 1 ? kRejoin1Size : kRejoin02Size;
  if (phy.size() != expected_size) {
    return fail(ctx, quirks_.other_for_bad_phy_payload ? ResultCode::other
                     : quirks_.malformed_for_frame_size ? malformed
                                                        : ResultCode::frame_size_error,
                "PHYPayload: expected " + std::to_string(expected_size) + " bytes for a " +
                    std::string(to_string(expected)) + ", got " + std::to_string(phy.size()));
  }
  JoinContext jc;
  std::optional<RejoinRequest> rj;
  std::optional<JoinRequest> jr;
  try {
    if (rejoin) {
      rj = parse_rejoin_request(phy);
      jc.type = join_req_type_of(rj->type);
      jc.dev_eui = rj->dev_eui;
      jc.dev_nonce = rj->rj_count;
    } else {
      jr = parse_join_request(phy);
      jc.type = JoinReqType::join;
      jc.dev_eui = jr->dev_eui;
      jc.join_eui = jr->join_eui;
      jc.dev_nonce = jr->dev_nonce;
    }
  } catch (const Error& e) {
    return fail(ctx, malformed, e.what());
  }
  if (jc.dev_eui != *req.dev_eui) {
    return fail(ctx, malformed, "DevEUI " + req.dev_eui->hex() + " is not the PHYPayload's DevEUI " +
                                    jc.dev_eui.hex());
  }
  if (jr && quirks_.join_req_failed_for_unknown_join_eui && !serves(jr->join_eui)) {
    return fail(ctx, ResultCode::join_req_failed, "JoinEUI " + jr->join_eui.hex() + " is outside this JS's prefixes");
  }
  if (jr && receiver && jr->join_eui != *receiver && !faults.has(Fault::ignore_receiver_id) &&
      !quirks_.receiver_id_not_compared) {
    return fail(ctx, malformed, "ReceiverID " + receiver->hex() +
                                    " is not the join-request's JoinEUI " + jr->join_eui.hex());
  }

  const auto device = store_.find(jc.dev_eui);
  if (!device) {
    return fail(ctx, ResultCode::unknown_dev_eui, "DevEUI " + jc.dev_eui.hex() + " is not registered");
  }
  if (jr && device->join_eui != jr->join_eui) {
    return fail(ctx, ResultCode::unknown_dev_eui, "DevEUI " + jc.dev_eui.hex() +
                                                      " is registered with another JoinEUI");
  }
  if (!jr) jc.join_eui = device->join_eui;
  if (rj && rj->type == RejoinType::type1 && rj->join_eui != device->join_eui) {
    return fail(ctx, ResultCode::unknown_dev_eui, "DevEUI " + jc.dev_eui.hex() +
                                                      " is registered with another JoinEUI");
  }

  // MAC version: the NS asks for the highest version it shares with the device.
  const MacVersion asked = req.mac_version->version;
  // The device's own version decides its keys: a NwkKey on a 1.0.x device is not used.
  const bool device_1_1 = is_1_1(device->mac_version) && device->nwk_key.has_value();
  if (is_1_1(asked) && !is_1_1(device->mac_version)) {
    return fail(ctx, ResultCode::join_req_failed,
                "MACVersion " + std::string(req.mac_version->spelling()) + " asked for a LoRaWAN " +
                    std::string(to_string(device->mac_version)) + " device");
  }
  if (rejoin && !device_1_1) {
    return fail(ctx, ResultCode::join_req_failed, "rejoin-requests are LoRaWAN 1.1 only; the device is " +
                                                      std::string(to_string(device->mac_version)));
  }
  const DlSettings dl{req.dl_settings.value_or(0)};
  JoinMode mode = rejoin ? JoinMode::lorawan_1_1 : join_mode_for(asked, device_1_1);
  if (quirks_.keys_by_opt_neg && device_1_1) {
    mode = dl.opt_neg() ? JoinMode::lorawan_1_1 : JoinMode::lorawan_1_1_opt_neg_0;
  } else if (!rejoin && is_1_1(asked) != dl.opt_neg() && !quirks_.keys_by_opt_neg && !quirks_.opt_neg_not_checked) {
    return fail(ctx, malformed, "DLSettings OptNeg=" + std::string(dl.opt_neg() ? "1" : "0") +
                                    " contradicts MACVersion " + std::string(req.mac_version->spelling()));
  }
  if (*req.rx_delay > 15) {
    return fail(ctx, malformed, "RxDelay: expected 0-15, got " + std::to_string(*req.rx_delay));
  }

  // A fleet entry whose root keys stay in a secure element (a real ATECC608) gives the JS nothing
  // to check the MIC with: refused, saying why, rather than judged with no key.
  if (!(device_1_1 ? device->nwk_key : device->app_key)) {
    return fail(ctx, ResultCode::join_req_failed,
                "device " + device->dev_eui.hex() + " is provisioned without its " +
                    (device_1_1 ? "NwkKey" : "AppKey") +
                    ": its root keys are in a secure element this JS does not hold");
  }
  // MIC: AppKey (1.0.x) or NwkKey (1.1) for a join-request; JSIntKey for a type 1 rejoin.
  // Types 0 and 2 are MIC'd with SNwkSIntKey, which only the NS holds and checks (§11.4.1).
  if (!faults.has(Fault::accept_bad_mic)) {
    bool mic_ok = true;
    if (jr) {
      mic_ok = join_request_mic(device_1_1 ? *device->nwk_key : *device->app_key, *jr) == jr->mic;
    } else if (rj->type == RejoinType::type1) {
      mic_ok = rejoin_request_mic(derive_js_keys(*device->nwk_key, jc.dev_eui).js_int_key, *rj) == rj->mic;
    }
    if (!mic_ok) return fail(ctx, ResultCode::mic_failed, "");
  }
  if (mode == JoinMode::lorawan_1_1 && !device->app_key) {
    return fail(ctx, ResultCode::join_req_failed, "the device has no AppKey to derive AppSKey from");
  }

  // Key wrapping must be possible before a DevNonce is spent.
  const bool wrap_nwk = peer && !peer->kek_label.empty();
  if (!wrap_nwk && config_.refuse_clear_keys) {
    return fail(ctx, ResultCode::join_req_failed,
                "no KEK is configured for NetID " + net_id.hex() + " and clear keys are refused");
  }

  JoinOptions record;
  record.skip_dev_nonce_check = faults.has(Fault::accept_replayed_devnonce) || quirks_.no_devnonce_check;
  record.reuse_join_nonce = faults.has(Fault::reuse_joinnonce);
  // RJcount1 of a type 1 rejoin must go up like a 1.0.4 DevNonce; RJcount0 restarts with every
  // session and its MIC is the NS's to check (TS002 §11.4.1).
  const std::optional<DevNonce> rj_count1 =
      rj && rj->type == RejoinType::type1 ? std::optional(rj->rj_count) : std::nullopt;
  const JoinOutcome outcome = rejoin ? store_.allocate_join_nonce(jc.dev_eui, record, rj_count1)
                                     : store_.record_join(jc.dev_eui, jc.dev_nonce, record);
  switch (outcome.status) {
    case JoinStatus::accepted:
      break;
    case JoinStatus::unknown_device:
      return fail(ctx, ResultCode::unknown_dev_eui, "DevEUI " + jc.dev_eui.hex() + " is not registered");
    case JoinStatus::dev_nonce_replayed: {
      ResultCode code = ctx.version == backend::ProtocolVersion::v1_1 && !quirks_.replay_is_join_req_failed
                            ? ResultCode::frame_replayed
                            : ResultCode::join_req_failed;
      if (faults.has(Fault::wrong_code_replay)) code = ResultCode::other;
      return fail(ctx, code, outcome.describe());
    }
    case JoinStatus::join_nonce_exhausted:
      return fail(ctx, ResultCode::join_req_failed, outcome.describe());
  }

  JoinAccept fields;
  fields.join_nonce = outcome.join_nonce;
  fields.net_id = faults.has(Fault::wrong_netid_in_accept) ? NetId({0xff, 0xff, 0xfe}) : net_id;
  fields.dev_addr = *req.dev_addr;
  if (faults.has(Fault::wrong_dev_addr)) fields.dev_addr = DevAddr({0xde, 0xad, 0xbe, 0xef});
  fields.dl_settings = dl;
  if (faults.has(Fault::wrong_dl_settings)) fields.dl_settings.raw ^= 0x01;
  fields.rx_delay = *req.rx_delay;
  if (faults.has(Fault::wrong_rx_delay)) fields.rx_delay = static_cast<std::uint8_t>((fields.rx_delay + 1) & 0x0f);
  fields.cf_list = faults.has(Fault::drop_cflist) ? std::nullopt : req.cf_list;

  const RootKeys root{device->app_key, device_1_1 ? device->nwk_key : std::nullopt};
  BuiltJoinAccept built = build_join_accept(mode, root, jc, fields);
  if (faults.has(Fault::bad_accept_mic)) {
    // Re-encrypt the plaintext with one MIC bit flipped.
    Bytes plain = encode_join_accept_plaintext(built.accept);
    plain = flip_bit(std::move(plain));
    const Aes128Key& enc_key = mode == JoinMode::lorawan_1_0 ? *root.app_key
                               : (jc.type == JoinReqType::join ? *root.nwk_key
                                                               : derive_js_keys(*root.nwk_key, jc.dev_eui).js_enc_key);
    built.phy_payload = encrypt_join_accept(plain, enc_key);
  }
  SessionKeys keys = built.keys;
  if (rejoin && quirks_.rejoin_keys_1_0_layout && mode == JoinMode::lorawan_1_1) {
    // brocaar reads OptNeg from the empty JoinReq of the rejoin path: all four keys come from
    // NwkKey in the 1.0 layout (NetID in place of JoinEUI), RJcount as DevNonce. The join-accept
    // above (OptNeg=1, JSIntKey MIC) is right, so the device takes it and derives other keys.
    const auto k = [&](KeyDerivation t) {
      return Aes128Key(aes128_encrypt(*root.nwk_key, session_key_block(t, outcome.join_nonce, fields.net_id, jc.dev_nonce)));
    };
    keys.f_nwk_s_int_key = k(KeyDerivation::nwk_s_key);
    keys.app_s_key = k(KeyDerivation::app_s_key);
    keys.s_nwk_s_int_key = k(KeyDerivation::s_nwk_s_int_key);
    keys.nwk_s_enc_key = k(KeyDerivation::nwk_s_enc_key);
  }
  if (faults.has(Fault::wrong_session_key)) {
    auto b = keys.f_nwk_s_int_key.bytes();
    b[0] ^= 0xff;
    keys.f_nwk_s_int_key = Aes128Key(b);
    if (mode != JoinMode::lorawan_1_1) keys.s_nwk_s_int_key = keys.nwk_s_enc_key = keys.f_nwk_s_int_key;
  }
  if (faults.has(Fault::wrong_app_s_key)) {
    auto b = keys.app_s_key.bytes();
    b[15] ^= 0xff;
    keys.app_s_key = Aes128Key(b);
  }

  // Envelopes: network keys under the requester's KEK, AppSKey under the AS KEK.
  const bool clear = faults.has(Fault::clear_key_despite_kek);
  auto envelope = [&](const Aes128Key& k, const std::string& label, const Bytes& kek) {
    if (clear || label.empty()) return backend::KeyEnvelope::clear(k);
    std::string l = label;
    if (faults.has(Fault::wrong_kek_label)) l += "-wrong";
    return backend::KeyEnvelope::wrap(k, std::move(l), kek);
  };
  std::string nwk_label = wrap_nwk ? peer->kek_label : std::string();
  if (quirks_.kek_label_is_sender_id && wrap_nwk) nwk_label = req.header.sender_id;

  // JoinAns and RejoinAns carry the same fields.
  auto success = [&](auto ans) -> backend::Message {
    ans.header = backend::make_answer_header(req.header);
    ans.header.message_type = decltype(ans)::kType;
    ans.result = backend::Result{ResultCode::success, std::nullopt};
    ans.phy_payload = built.phy_payload;
    if (!faults.has(Fault::no_lifetime) && !quirks_.no_lifetime) ans.lifetime = config_.lifetime;
    const Bytes& kek = peer ? peer->kek : Bytes{};
    if (mode == JoinMode::lorawan_1_1) {
      ans.f_nwk_s_int_key = envelope(keys.f_nwk_s_int_key, nwk_label, kek);
      ans.s_nwk_s_int_key = envelope(keys.s_nwk_s_int_key, nwk_label, kek);
      ans.nwk_s_enc_key = envelope(keys.nwk_s_enc_key, nwk_label, kek);
    } else {
      ans.nwk_s_key = envelope(keys.nwk_s_key(), nwk_label, kek);
    }
    ans.app_s_key = envelope(keys.app_s_key, config_.as_kek_label, config_.as_kek);
    if (!faults.has(Fault::no_session_key_id) && !quirks_.no_session_key_id) {
      ans.session_key_id = seal_session_ticket(
          store_.js_secret(), jc.dev_eui, SessionTicket{mode, outcome.join_nonce, jc.dev_nonce, net_id});
    }
    return ans;
  };
  backend::Message answer = rejoin ? success(backend::RejoinAns{}) : success(backend::JoinAns{});
  JsAnswer out = finish(ctx, std::move(answer));
  out.durable = outcome.ticket;
  return out;
}

// AppSKeyReq (TS002 1.0 §8 step 8): the AS asks for the AppSKey of a SessionKeyID.
JsAnswer JoinServer::handle_app_s_key(Context& ctx) const {
  const auto& req = std::get<backend::AppSKeyReq>(ctx.decoded.message);
  if (req.dev_eui) ctx.log_dev_eui = req.dev_eui->hex();
  const auto malformed = backend::malformed_code(ctx.version);
  if (!config_.as_ids.empty() && !config_.faults.has(Fault::ignore_sender_id) &&
      std::find(config_.as_ids.begin(), config_.as_ids.end(), req.header.sender_id) == config_.as_ids.end()) {
    return fail(ctx, ResultCode::unknown_sender,
                "SenderID " + quote_for_error(req.header.sender_id) + " is not an AS this JS serves");
  }
  std::optional<Eui64> receiver;
  if (auto refused = check_receiver(ctx, receiver)) return std::move(*refused);
  if (auto why = malformed_reason(ctx.decoded); !why.empty()) {
    return fail(ctx, malformed, why);
  }
  const auto device = store_.find(*req.dev_eui);
  if (!device) {
    return fail(ctx, ResultCode::unknown_dev_eui, "DevEUI " + req.dev_eui->hex() + " is not registered");
  }
  const auto ticket = open_session_ticket(store_.js_secret(), *req.dev_eui, *req.session_key_id);
  if (!ticket) {
    return fail(ctx, ResultCode::unknown_dev_eui,
                "no session of DevEUI " + req.dev_eui->hex() + " has this SessionKeyID");
  }
  // The device may have been provisioned again since the join: its keys must still be there.
  const bool has_keys = ticket->mode == JoinMode::lorawan_1_0     ? device->app_key.has_value()
                        : ticket->mode == JoinMode::lorawan_1_1_opt_neg_0 ? device->nwk_key.has_value()
                        : device->nwk_key && device->app_key;
  if (!has_keys) {
    return fail(ctx, ResultCode::other, "DevEUI " + req.dev_eui->hex() +
                                            " no longer has the root keys of the session of this SessionKeyID");
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
  if (config_.faults.has(Fault::app_s_key_req_other_key) || config_.faults.has(Fault::wrong_app_s_key)) {
    auto b = app_s_key.bytes();
    b[15] ^= 0xff;
    app_s_key = Aes128Key(b);
  }
  backend::AppSKeyAns ans;
  ans.header = backend::make_answer_header(req.header);
  ans.result = backend::Result{ResultCode::success, std::nullopt};
  ans.dev_eui = req.dev_eui;
  ans.session_key_id = req.session_key_id;
  if (config_.as_kek_label.empty() || config_.faults.has(Fault::clear_key_despite_kek)) {
    ans.app_s_key = backend::KeyEnvelope::clear(app_s_key);
  } else {
    std::string label = config_.as_kek_label;
    if (config_.faults.has(Fault::wrong_kek_label)) label += "-wrong";
    ans.app_s_key = backend::KeyEnvelope::wrap(app_s_key, std::move(label), config_.as_kek);
  }
  return finish(ctx, std::move(ans));
}

}  // namespace joincheck::sim
