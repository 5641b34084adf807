// The request a scenario step sends: header, join/rejoin, AS and HomeNS requests, JSON edits.
#include "conformance/step_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string_view>

#include "backend/codec.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::conformance {

using backend::MessageType;

namespace {

// A join-request's DLSettings when the step gives none: RX1DRoffset 1, RX2 DR 5 (ChirpStack's
// EU868 defaults, chirpstack/chirpstack configuration/region_eu868.toml); OptNeg is added for 1.1.
constexpr std::uint8_t kDefaultDlSettings = 0x15;
constexpr std::uint8_t kDefaultRxDelay = 1;
// A JoinEUI no test fleet uses: the ReceiverID of the unknown-receiver checks.
constexpr const char* kUnknownJoinEui = "ffffffffffffff01";

MessageType message_type_of(StepKind kind) {
  switch (kind) {
    case StepKind::join:
      return MessageType::join_req;
    case StepKind::rejoin:
      return MessageType::rejoin_req;
    case StepKind::app_s_key:
      return MessageType::app_s_key_req;
    case StepKind::home_ns:
      return MessageType::home_ns_req;
    case StepKind::raw:
    case StepKind::uplink:  // over the air: no request of their own
    case StepKind::expect_downlink:
      break;
  }
  return MessageType::join_req;
}

// The DevNonce of a join step: the device's next one, or the step's choice.
lorawan::DevNonce chosen_dev_nonce(const Step& step, sim::SimDevice& dev) {
  lorawan::DevNonce nonce;
  switch (step.dev_nonce.kind) {
    case DevNonceChoice::next:
      nonce = dev.next_dev_nonce();
      break;
    case DevNonceChoice::previous:
      if (!dev.last_dev_nonce()) {
        throw StepError("DevNonce \"previous\": device " + dev.dev_eui().hex() + " sent no join-request yet");
      }
      nonce = *dev.last_dev_nonce();
      break;
    case DevNonceChoice::lower:
      if (!dev.last_dev_nonce()) {
        throw StepError("DevNonce \"lower\": device " + dev.dev_eui().hex() + " sent no join-request yet");
      }
      // A random last DevNonce of 0 (1 in 65536) has nothing below it.
      if (dev.last_dev_nonce()->value() == 0) {
        throw StepNotApplicable("DevNonce \"lower\": the last DevNonce of device " + dev.dev_eui().hex() + " is 0");
      }
      nonce = lorawan::DevNonce(dev.last_dev_nonce()->value() - 1);
      break;
    case DevNonceChoice::ahead:
      nonce = dev.next_dev_nonce();
      if (dev.dev_nonce_policy() == sim::DevNoncePolicy::counter) {
        if (nonce.value() + 100 > 0xffff) {
          throw StepError("DevNonce \"ahead\": device " + dev.dev_eui().hex() + " is near 0xffff");
        }
        nonce = lorawan::DevNonce(nonce.value() + 100);
      }
      break;
    case DevNonceChoice::value:
      nonce = lorawan::DevNonce(step.dev_nonce.number);
      break;
  }
  return nonce;
}

// The device's join-request (join step) or rejoin-request (rejoin step), as the device makes it.
lorawan::Bytes device_frame(const Step& step, sim::SimDevice& dev) {
  if (step.kind == StepKind::join) return dev.make_join_request(chosen_dev_nonce(step, dev));
  if (lorawan::is_1_1(dev.mac_version()) && !dev.joined()) {
    throw StepNotApplicable("device " + dev.dev_eui().hex() +
                            " has no session to rejoin from: no join-accept of it was accepted");
  }
  try {
    return dev.make_rejoin_request(static_cast<lorawan::RejoinType>(step.rejoin_type));
  } catch (const lorawan::Error& e) {
    throw StepError(e.what());
  }
}

// The step's MIC corruption and PHYPayload change.
void edit_phy_payload(const Step& step, lorawan::Bytes& phy) {
  if (step.corrupt_mic && phy.size() >= 4) phy.back() ^= 0x01;
  switch (step.phy_payload_change) {
    case PhyPayloadChange::none:
      break;
    case PhyPayloadChange::truncate:
      if (!phy.empty()) phy.pop_back();
      break;
    case PhyPayloadChange::extend:
      phy.push_back(0x00);
      break;
    case PhyPayloadChange::data_uplink:
      phy[0] = 0x40;  // MHDR: MType 010, unconfirmed data up (LoRaWAN 1.0.3 §4.2.1)
      break;
    case PhyPayloadChange::replace:
      phy = step.phy_payload;
      break;
  }
}

std::uint32_t random_u32(std::mt19937_64& rng) { return static_cast<std::uint32_t>(1 + rng() % 0xfffffffeULL); }

// A JoinReq's or RejoinReq's body fields beside the device's PHYPayload.
struct JoinFields {
  lorawan::MacVersion meant = lorawan::MacVersion::v1_0_0;  // the LoRaWAN version MACVersion stands for
  std::string spelling;                                       // MACVersion as sent; "": the canonical one
  lorawan::DevAddr dev_addr;
  std::uint8_t dl_settings = 0;
  std::uint8_t rx_delay = 0;
  std::optional<lorawan::CfList> cf_list;
};

// The NS persona's JoinReq (sim/network_server/ns_persona.hpp): its body fields are the defaults
// here; a field the step sets explicitly wins over the persona. (Its header fields came with
// request_header(), before the step's header modifiers.)
JoinFields join_fields(const Step& step, const sim::NsClientOptions& ns, std::mt19937_64& rng,
                       lorawan::MacVersion meant, std::string spelling) {
  const sim::NsPersona persona = ns.ns_like;
  backend::JoinReq shaped;
  if (persona != sim::NsPersona::plain) {
    backend::MacVersionField mv;
    mv.version = meant;
    shaped.mac_version = mv;
    sim::shape_join_req(persona, shaped, ns.net_id, random_u32(rng));
    if (!step.mac_version) spelling = shaped.mac_version->text;
  }
  JoinFields f;
  f.meant = meant;
  f.spelling = std::move(spelling);
  if (step.dev_addr) {
    f.dev_addr = *step.dev_addr;
  } else if (shaped.dev_addr) {
    f.dev_addr = *shaped.dev_addr;
  } else {
    std::array<std::uint8_t, 4> a{};
    for (auto& x : a) x = static_cast<std::uint8_t>(rng());
    f.dev_addr = lorawan::DevAddr(a);
  }
  const bool opt_neg = step.opt_neg.value_or(lorawan::is_1_1(meant));
  std::uint8_t dl = step.dl_settings.value_or(shaped.dl_settings.value_or(kDefaultDlSettings));
  if (!step.dl_settings) dl = static_cast<std::uint8_t>((dl & 0x7f) | (opt_neg ? 0x80 : 0x00));
  else if (step.opt_neg) dl = static_cast<std::uint8_t>((dl & 0x7f) | (opt_neg ? 0x80 : 0x00));
  f.dl_settings = dl;
  f.rx_delay = step.rx_delay.value_or(shaped.rx_delay.value_or(kDefaultRxDelay));
  f.cf_list = step.cf_list_set ? step.cf_list : shaped.cf_list;
  return f;
}

// backend::JoinReq or backend::RejoinReq.
template <class JoinRequest>
JoinRequest join_request_of(backend::MessageType type, const backend::Header& header, const lorawan::Bytes& phy,
                            const lorawan::Eui64& dev_eui, const JoinFields& f) {
  JoinRequest req;
  req.header = header;
  req.header.message_type = type;
  backend::MacVersionField mv;
  mv.version = f.meant;
  mv.text = f.spelling;
  req.mac_version = mv;
  req.phy_payload = phy;
  req.dev_eui = dev_eui;
  req.dev_addr = f.dev_addr;
  req.dl_settings = f.dl_settings;
  req.rx_delay = f.rx_delay;
  req.cf_list = f.cf_list;
  return req;
}

// The JoinReq or RejoinReq of a join or rejoin step.
backend::Message join_or_rejoin(const Step& step, sim::SimDevice& dev, const backend::Header& header,
                                const sim::NsClientOptions& ns, std::mt19937_64& rng, StepRequest& request) {
  lorawan::Bytes phy = device_frame(step, dev);
  lorawan::MacVersion meant = step.kind == StepKind::join ? dev.mac_version() : lorawan::MacVersion::v1_1;
  std::string spelling;
  if (step.mac_version) {
    spelling = *step.mac_version;
    if (auto v = lorawan::parse_mac_version(spelling)) meant = *v;
  }
  edit_phy_payload(step, phy);
  const JoinFields f = join_fields(step, ns, rng, meant, std::move(spelling));
  request.phy_payload = phy;
  SentRequest& sent = request.sent;
  sent.inconsistent = step.opt_neg.has_value() && *step.opt_neg != lorawan::is_1_1(meant);
  sent.mac_version = meant;
  sent.dev_addr = f.dev_addr;
  sent.dl_settings = f.dl_settings;
  sent.rx_delay = f.rx_delay;
  sent.cf_list = f.cf_list;
  if (step.kind == StepKind::join) {
    return join_request_of<backend::JoinReq>(MessageType::join_req, header, phy, dev.dev_eui(), f);
  }
  return join_request_of<backend::RejoinReq>(MessageType::rejoin_req, header, phy, dev.dev_eui(), f);
}

// Hex styles reach the header identifiers too (TTS writes NetID and JoinEUI in upper case,
// docs/checks.md#encoding); an AS-ID is free text and stays as it is.
void apply_hex_style(const Step& step, bool ids_are_hex, nlohmann::ordered_json& j) {
  if (step.hex == Step::HexStyle::upper && ids_are_hex) {
    for (const char* f : {"SenderID", "ReceiverID"}) {
      if (auto it = j.find(f); it != j.end() && it->is_string()) {
        std::string v = it->get<std::string>();
        std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        *it = v;
      }
    }
  }
  if (step.hex == Step::HexStyle::prefix_0x) {
    for (const char* f : {"DevEUI", "DevAddr", "PHYPayload", "DLSettings", "CFList", "SessionKeyID", "SenderToken",
                          "SenderNSID", "SenderID", "ReceiverID"}) {
      if (!ids_are_hex && (std::string_view(f) == "SenderID")) continue;
      if (auto it = j.find(f); it != j.end() && it->is_string()) *it = "0x" + it->get<std::string>();
    }
  }
}

// The step's omitted, null and set fields. What the validator would compare against is no longer
// known for those fields.
void apply_field_edits(const Step& step, nlohmann::ordered_json& j, SentRequest& sent) {
  auto forget = [&](const std::string& f) {
    if (f == "DevAddr") sent.dev_addr.reset();
    if (f == "DLSettings") sent.dl_settings.reset();
    if (f == "RxDelay") sent.rx_delay.reset();
    if (f == "TransactionID" || f == "SenderID" || f == "ReceiverID" || f == "MessageType" || f == "ProtocolVersion") {
      sent.header_meaningful = false;
    }
  };
  for (const auto& f : step.omit) {
    j.erase(f);
    forget(f);
  }
  for (const auto& f : step.null_fields) {
    j[f] = nullptr;
    forget(f);
  }
  for (const auto& [k, v] : step.set.items()) {
    j[k] = v;
    forget(k);
  }
}

// The encoded body of `message` with the step's edits.
std::string edited_body(const Step& step, const backend::Message& message, StepRequest& request) {
  backend::EncodeOptions eo;
  if (step.hex == Step::HexStyle::upper) eo.hex_case = lorawan::HexCase::upper;
  nlohmann::ordered_json j = backend::to_json(message, eo);
  if (request.sent.protocol_version_unsupported) j["ProtocolVersion"] = *step.protocol_version;
  apply_hex_style(step, request.type != MessageType::app_s_key_req, j);
  apply_field_edits(step, j, request.sent);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

backend::Message app_s_key_req(const Step& step, const DeviceState& ds, const backend::Header& header,
                               StepRequest& request) {
  backend::AppSKeyReq r;
  r.header = header;
  // An AS is not an NS: it has no NSID to send (TS002 1.1 SenderNSID is the NS's).
  if (!step.sender_ns_id_set) r.header.sender_ns_id.reset();
  const sim::SimDevice& dev = *ds.device;
  r.dev_eui = dev.dev_eui();
  const auto& known = step.previous_session ? ds.previous_session_key_id : ds.last_session_key_id;
  if (step.session_key_id) {
    r.session_key_id = step.session_key_id;
  } else if (known) {
    r.session_key_id = known;
  } else {
    throw StepNotApplicable(std::string("SessionKeyID \"") + (step.previous_session ? "previous" : "last") +
                            "\": no accepted join of device " + dev.dev_eui().hex() + " gave one");
  }
  request.session_key_id = *r.session_key_id;
  return r;
}

backend::Message home_ns_req(const DeviceState& ds, const backend::Header& header) {
  backend::HomeNSReq r;
  r.header = header;
  r.dev_eui = ds.device->dev_eui();
  return r;
}

}  // namespace

StepRequestBuilder::StepRequestBuilder(const TargetConfig& target, std::uint64_t seed)
    : target_(target), rng_(seed ^ 0x6a6f696e63686b31ULL) {}

std::string StepRequestBuilder::substitute(const std::string& value) const {
  if (value == "${unknown_net_id}") return target_.unknown_net_id;
  if (value == "${unknown_join_eui}") return kUnknownJoinEui;
  return value;
}

StepRequest StepRequestBuilder::build(const Step& step, DeviceState* ds, const sim::NsClient& client) {
  StepRequest request;
  request.transaction_id = step.transaction_id.value_or(random_u32(rng_));
  if (step.kind == StepKind::raw) {
    request.type = step.raw_message_type;
    request.body = step.body;
    request.sent.type = request.type;
    request.sent.header_meaningful = false;
    return request;
  }
  request.type = message_type_of(step.kind);
  const backend::Header h = header(step, *ds, client, request);
  backend::Message message;
  if (step.kind == StepKind::join || step.kind == StepKind::rejoin) {
    message = join_or_rejoin(step, *ds->device, h, target_.ns, rng_, request);
  } else if (step.kind == StepKind::app_s_key) {
    message = app_s_key_req(step, *ds, h, request);
  } else {
    message = home_ns_req(*ds, h);
  }
  request.sent.header = backend::header_of(message);
  request.body = edited_body(step, message, request);
  return request;
}

backend::Header StepRequestBuilder::header(const Step& step, const DeviceState& ds, const sim::NsClient& client,
                                           StepRequest& request) const {
  backend::Header h = client.request_header(request.type, ds.fleet_device.join_eui.hex());
  if (request.type == MessageType::app_s_key_req) h.sender_id = target_.as_id;
  // Header modifiers.
  bool unsupported_version = false;
  if (step.protocol_version) {
    if (auto v = backend::parse_protocol_version(*step.protocol_version)) {
      h.protocol_version = *v;
      h.sender_ns_id = *v == backend::ProtocolVersion::v1_1 ? target_.ns.ns_id : std::nullopt;
    } else {
      unsupported_version = true;
    }
  }
  if (step.sender_id) h.sender_id = substitute(*step.sender_id);
  if (step.receiver_id) h.receiver_id = substitute(*step.receiver_id);
  if (step.sender_token) h.sender_token = *step.sender_token;
  if (step.sender_ns_id_set) h.sender_ns_id = step.sender_ns_id;
  if (step.vs_extension) h.vs_extension = *step.vs_extension;
  h.transaction_id = request.transaction_id;

  SentRequest& sent = request.sent;
  sent.type = request.type;
  sent.protocol_version_unsupported = unsupported_version;
  if (h.sender_id.size() == 6) {
    try {
      sent.net_id = lorawan::NetId::parse(h.sender_id, "SenderID");
    } catch (const lorawan::Error&) {
    }
  }
  return h;
}

}  // namespace joincheck::conformance
