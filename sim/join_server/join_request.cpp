// JoinReq and RejoinReq at the reference JS (TS002 1.0 §8 steps 2-5, §11.4.1; LoRaWAN 1.0.4
// §6.2, 1.1 §6.2): a JoinAttempt goes through the stages below in order, each of which refuses
// with a reason (refusal.hpp, which picks the ResultCode) or lets it go on:
//   admit         the requester (NetID, client certificate, SenderNSID) and the receiver
//   fields        every field present and valid
//   frame         PHYPayload: a join-request or rejoin-request of the right size, for this DevEUI
//   device        provisioned, under this JoinEUI
//   mode          the MACVersion asked for against the device's, OptNeg, RxDelay: the formulas
//   MIC           the request's MIC, with the root key the JS holds
//   nonces        the DevNonce (or RJcount1) accepted and recorded, the JoinNonce issued
//   answer        the join-accept and the session keys, wrapped under the KEKs
// Deliberate faults are applied by fault_injection.hpp; vendor behaviours (Quirks) where the
// behaviour differs, each named.
#include "sim/join_server/join_server.hpp"

#include "lorawan/crypto.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/join_frames.hpp"
#include "sim/join_server/fault_injection.hpp"
#include "sim/join_server/request_context.hpp"

namespace joincheck::sim {

using backend::ResultCode;
using namespace joincheck::lorawan;

// The join being processed: the request's fields (JoinReq and RejoinReq have the same ones),
// then what each stage found.
struct JoinServer::JoinAttempt {
  template <class Request>
  explicit JoinAttempt(const Request& req)
      : rejoin(Request::kType == backend::MessageType::rejoin_req),
        header(req.header),
        mac_version(req.mac_version),
        phy_payload(req.phy_payload),
        dev_eui(req.dev_eui),
        dev_addr(req.dev_addr),
        dl_settings(req.dl_settings),
        rx_delay(req.rx_delay),
        cf_list(req.cf_list) {}

  const bool rejoin;
  // The request's fields; the optional ones are present from the fields stage on.
  const backend::Header& header;
  const std::optional<backend::MacVersionField>& mac_version;
  const std::optional<Bytes>& phy_payload;
  const std::optional<Eui64>& dev_eui;
  const std::optional<DevAddr>& dev_addr;
  const std::optional<std::uint8_t>& dl_settings;
  const std::optional<std::uint8_t>& rx_delay;
  const std::optional<CfList>& cf_list;

  NsRequester ns;                          // admit
  std::optional<JoinRequest> join_frame;   // frame: the join-request, or
  std::optional<RejoinRequest> rejoin_frame;  // the rejoin-request
  JoinContext context;                     // frame (JoinEUI of a rejoin: device)
  std::optional<StoredDevice> device;      // device
  bool device_1_1 = false;                 // mode: the device has LoRaWAN 1.1 keys
  JoinMode mode = JoinMode::lorawan_1_0;   // mode
  DlSettings dl{};                         // mode
  JoinOutcome outcome;                     // nonces

  // The key the join-request's MIC and the 1.0 join-accept use.
  const Aes128Key& root_key() const { return device_1_1 ? *device->nwk_key : *device->app_key; }
};

JsAnswer JoinServer::handle_join(Context& ctx) const {
  const auto run = [&](auto& join) -> JsAnswer {
    if (auto refused = admit_join(ctx, join)) return fail(ctx, std::move(*refused));
    if (auto refused = check_join_fields(ctx, join)) return fail(ctx, std::move(*refused));
    for (auto stage : {&JoinServer::parse_join_frame, &JoinServer::find_join_device, &JoinServer::choose_join_mode,
                       &JoinServer::verify_join_mic, &JoinServer::spend_nonces}) {
      if (auto refused = (this->*stage)(join)) return fail(ctx, std::move(*refused));
    }
    return answer_join(ctx, join);
  };
  if (const auto* req = std::get_if<backend::JoinReq>(&ctx.decoded.message)) {
    JoinAttempt join(*req);
    return run(join);
  }
  JoinAttempt join(std::get<backend::RejoinReq>(ctx.decoded.message));
  return run(join);
}

std::optional<Refused> JoinServer::admit_join(Context& ctx, JoinAttempt& join) const {
  if (join.dev_eui) ctx.log_dev_eui = join.dev_eui->hex();
  if (join.rejoin && quirks_.reject_rejoin) return Refused{Refusal::malformed, "RejoinReq is not supported"};
  return admit_ns_request(ctx, join.ns);
}

std::optional<Refused> JoinServer::check_join_fields(Context& ctx, JoinAttempt& join) const {
  if (quirks_.canonical_mac_version_only && join.mac_version) {
    const std::string_view v = join.mac_version->spelling();
    if (v != "1.0" && v != "1.0.1" && v != "1.0.2" && v != "1.0.3" && v != "1.0.4" && v != "1.1") {
      return Refused{Refusal::malformed, "MACVersion " + quote_for_error(v) + ": expected 1.0, 1.0.1 ... 1.0.4 or 1.1"};
    }
  }
  if (quirks_.missing_dl_settings_is_zero) {  // Go's zero value: the field is simply absent
    std::erase_if(ctx.decoded.observations, [](const backend::Observation& o) {
      return o.kind == backend::ObservationKind::missing_field && o.path == "DLSettings";
    });
  }
  if (auto why = malformed_reason(ctx.decoded); !why.empty()) return Refused{Refusal::malformed, std::move(why)};
  return std::nullopt;
}

std::optional<Refused> JoinServer::parse_join_frame(JoinAttempt& join) const {
  const Bytes& phy = *join.phy_payload;
  const MType expected = join.rejoin ? MType::rejoin_request : MType::join_request;
  if (phy.empty() || mtype_of(phy[0]) != expected) {
    return Refused{Refusal::not_a_join_frame,
                   "PHYPayload: expected a " + std::string(to_string(expected)) + " frame, got " +
                       (phy.empty() ? std::string("nothing") : "MType " + std::string(to_string(mtype_of(phy[0]))))};
  }
  // FrameSizeError for a frame of the wrong size (TS002 Table 24); anything else that does not
  // parse (MHDR major bits, an unknown rejoin type) is malformed.
  std::size_t expected_size = kJoinRequestSize;
  if (join.rejoin && phy.size() >= 2) expected_size = phy[1] == 1 ? kRejoin1Size : kRejoin02Size;
  if (phy.size() != expected_size) {
    return Refused{Refusal::frame_size, "PHYPayload: expected " + std::to_string(expected_size) + " bytes for a " +
                                            std::string(to_string(expected)) + ", got " + std::to_string(phy.size())};
  }
  JoinContext& jc = join.context;
  try {
    if (join.rejoin) {
      const RejoinRequest& rj = join.rejoin_frame.emplace(parse_rejoin_request(phy));
      jc.type = join_req_type_of(rj.type);
      jc.dev_eui = rj.dev_eui;
      jc.dev_nonce = rj.rj_count;
    } else {
      const JoinRequest& jr = join.join_frame.emplace(parse_join_request(phy));
      jc.type = JoinReqType::join;
      jc.dev_eui = jr.dev_eui;
      jc.join_eui = jr.join_eui;
      jc.dev_nonce = jr.dev_nonce;
    }
  } catch (const Error& e) {
    return Refused{Refusal::malformed, e.what()};
  }
  if (jc.dev_eui != *join.dev_eui) {
    return Refused{Refusal::malformed,
                   "DevEUI " + join.dev_eui->hex() + " is not the PHYPayload's DevEUI " + jc.dev_eui.hex()};
  }
  if (join.join_frame && quirks_.join_req_failed_for_unknown_join_eui && !serves(jc.join_eui)) {
    return Refused{Refusal::cannot_join, "JoinEUI " + jc.join_eui.hex() + " is outside this JS's prefixes"};
  }
  const std::optional<Eui64>& receiver = join.ns.receiver;
  if (join.join_frame && receiver && jc.join_eui != *receiver && !config_.faults.has(Fault::ignore_receiver_id) &&
      !quirks_.receiver_id_not_compared) {
    return Refused{Refusal::malformed,
                   "ReceiverID " + receiver->hex() + " is not the join-request's JoinEUI " + jc.join_eui.hex()};
  }
  return std::nullopt;
}

std::optional<Refused> JoinServer::find_join_device(JoinAttempt& join) const {
  JoinContext& jc = join.context;
  join.device = store_.find(jc.dev_eui);
  if (!join.device) return Refused{Refusal::unknown_device, "DevEUI " + jc.dev_eui.hex() + " is not registered"};
  const Eui64& registered = join.device->join_eui;
  const bool other_join_eui = join.join_frame ? join.join_frame->join_eui != registered
                                              : join.rejoin_frame->type == RejoinType::type1 &&
                                                    join.rejoin_frame->join_eui != registered;
  if (other_join_eui) {
    return Refused{Refusal::unknown_device, "DevEUI " + jc.dev_eui.hex() + " is registered with another JoinEUI"};
  }
  if (join.rejoin_frame) jc.join_eui = registered;
  return std::nullopt;
}

std::optional<Refused> JoinServer::choose_join_mode(JoinAttempt& join) const {
  const StoredDevice& device = *join.device;
  // The NS asks for the highest version it shares with the device; the device's own version
  // decides its keys: a NwkKey on a 1.0.x device is not used.
  const MacVersion asked = join.mac_version->version;
  join.device_1_1 = is_1_1(device.mac_version) && device.nwk_key.has_value();
  if (is_1_1(asked) && !is_1_1(device.mac_version)) {
    return Refused{Refusal::cannot_join, "MACVersion " + std::string(join.mac_version->spelling()) +
                                             " asked for a LoRaWAN " + std::string(to_string(device.mac_version)) +
                                             " device"};
  }
  if (join.rejoin && !join.device_1_1) {
    return Refused{Refusal::cannot_join, "rejoin-requests are LoRaWAN 1.1 only; the device is " +
                                             std::string(to_string(device.mac_version))};
  }
  join.dl = DlSettings{join.dl_settings.value_or(0)};
  join.mode = join.rejoin ? JoinMode::lorawan_1_1 : join_mode_for(asked, join.device_1_1);
  if (quirks_.keys_by_opt_neg && join.device_1_1) {
    join.mode = join.dl.opt_neg() ? JoinMode::lorawan_1_1 : JoinMode::lorawan_1_1_opt_neg_0;
  } else if (!join.rejoin && is_1_1(asked) != join.dl.opt_neg() && !quirks_.keys_by_opt_neg &&
             !quirks_.opt_neg_not_checked) {
    return Refused{Refusal::malformed, "DLSettings OptNeg=" + std::string(join.dl.opt_neg() ? "1" : "0") +
                                          " contradicts MACVersion " + std::string(join.mac_version->spelling())};
  }
  if (*join.rx_delay > 15) return Refused{Refusal::malformed, "RxDelay: expected 0-15, got " + std::to_string(*join.rx_delay)};
  return std::nullopt;
}

std::optional<Refused> JoinServer::verify_join_mic(JoinAttempt& join) const {
  const StoredDevice& device = *join.device;
  // A fleet entry whose root keys stay in a secure element (a real ATECC608) gives the JS nothing
  // to check the MIC with: refused, saying why, rather than judged with no key.
  if (!(join.device_1_1 ? device.nwk_key : device.app_key)) {
    return Refused{Refusal::cannot_join, "device " + device.dev_eui.hex() + " is provisioned without its " +
                                             (join.device_1_1 ? "NwkKey" : "AppKey") +
                                             ": its root keys are in a secure element this JS does not hold"};
  }
  // MIC: AppKey (1.0.x) or NwkKey (1.1) for a join-request; JSIntKey for a type 1 rejoin.
  // Types 0 and 2 are MIC'd with SNwkSIntKey, which only the NS holds and checks (§11.4.1).
  if (!config_.faults.has(Fault::accept_bad_mic)) {
    bool mic_ok = true;
    if (join.join_frame) {
      mic_ok = join_request_mic(join.root_key(), *join.join_frame) == join.join_frame->mic;
    } else if (join.rejoin_frame->type == RejoinType::type1) {
      const Aes128Key js_int_key = derive_js_keys(*device.nwk_key, join.context.dev_eui).js_int_key;
      mic_ok = rejoin_request_mic(js_int_key, *join.rejoin_frame) == join.rejoin_frame->mic;
    }
    if (!mic_ok) return Refused{Refusal::mic_invalid, ""};
  }
  if (join.mode == JoinMode::lorawan_1_1 && !device.app_key) {
    return Refused{Refusal::cannot_join, "the device has no AppKey to derive AppSKey from"};
  }
  return std::nullopt;
}

std::optional<Refused> JoinServer::spend_nonces(JoinAttempt& join) const {
  // Key wrapping must be possible before a DevNonce is spent.
  const bool wrap_nwk = join.ns.peer && !join.ns.peer->kek_label.empty();
  if (!wrap_nwk && config_.refuse_clear_keys) {
    return Refused{Refusal::cannot_join,
                   "no KEK is configured for NetID " + join.ns.net_id.hex() + " and clear keys are refused"};
  }
  JoinOptions record;
  record.skip_dev_nonce_check = config_.faults.has(Fault::accept_replayed_devnonce) || quirks_.no_devnonce_check;
  record.reuse_join_nonce = config_.faults.has(Fault::reuse_joinnonce);
  const JoinContext& jc = join.context;
  if (join.rejoin) {
    // RJcount1 of a type 1 rejoin must go up like a 1.0.4 DevNonce; RJcount0 restarts with every
    // session and its MIC is the NS's to check (TS002 §11.4.1).
    const std::optional<DevNonce> rj_count1 =
        join.rejoin_frame->type == RejoinType::type1 ? std::optional(join.rejoin_frame->rj_count) : std::nullopt;
    join.outcome = store_.allocate_join_nonce(jc.dev_eui, record, rj_count1);
  } else {
    join.outcome = store_.record_join(jc.dev_eui, jc.dev_nonce, record);
  }
  switch (join.outcome.status) {
    case JoinStatus::accepted:
      return std::nullopt;
    case JoinStatus::unknown_device:
      return Refused{Refusal::unknown_device, "DevEUI " + jc.dev_eui.hex() + " is not registered"};
    case JoinStatus::dev_nonce_replayed:
      return Refused{Refusal::dev_nonce_replayed, join.outcome.describe()};
    case JoinStatus::join_nonce_exhausted:
      return Refused{Refusal::cannot_join, join.outcome.describe()};
  }
  return std::nullopt;
}

namespace {

// brocaar's rejoin keys (Quirks::rejoin_keys_1_0_layout): it reads OptNeg from the empty JoinReq
// of the rejoin path, so all four keys come from NwkKey in the 1.0 layout (NetID in place of
// JoinEUI), RJcount as DevNonce. The join-accept (OptNeg=1, JSIntKey MIC) is right, so the device
// takes it and derives other keys.
SessionKeys rejoin_keys_1_0_layout(const Aes128Key& nwk_key, JoinNonce join_nonce, const NetId& net_id,
                                   DevNonce rj_count) {
  const auto k = [&](KeyDerivation t) {
    return Aes128Key(aes128_encrypt(nwk_key, session_key_block(t, join_nonce, net_id, rj_count)));
  };
  SessionKeys keys;
  keys.f_nwk_s_int_key = k(KeyDerivation::nwk_s_key);
  keys.app_s_key = k(KeyDerivation::app_s_key);
  keys.s_nwk_s_int_key = k(KeyDerivation::s_nwk_s_int_key);
  keys.nwk_s_enc_key = k(KeyDerivation::nwk_s_enc_key);
  return keys;
}

}  // namespace

JsAnswer JoinServer::answer_join(Context& ctx, JoinAttempt& join) const {
  const FaultSet& faults = config_.faults;
  const StoredDevice& device = *join.device;
  const JoinContext& jc = join.context;
  const NetIdPeer* const peer = join.ns.peer;
  const NetId& net_id = join.ns.net_id;

  JoinAccept fields;
  fields.join_nonce = join.outcome.join_nonce;
  fields.net_id = net_id;
  fields.dev_addr = *join.dev_addr;
  fields.dl_settings = join.dl;
  fields.rx_delay = *join.rx_delay;
  fields.cf_list = join.cf_list;
  inject_accept_field_faults(fields, faults);

  const RootKeys root{device.app_key, join.device_1_1 ? device.nwk_key : std::nullopt};
  BuiltJoinAccept built = build_join_accept(join.mode, root, jc, fields);
  inject_accept_mic_fault(built, faults);
  SessionKeys keys = built.keys;
  if (join.rejoin && quirks_.rejoin_keys_1_0_layout && join.mode == JoinMode::lorawan_1_1) {
    keys = rejoin_keys_1_0_layout(*root.nwk_key, join.outcome.join_nonce, fields.net_id, jc.dev_nonce);
  }
  inject_session_key_faults(keys, join.mode, faults);

  // Envelopes: network keys under the requester's KEK, AppSKey under the AS KEK.
  const bool wrap_nwk = peer && !peer->kek_label.empty();
  std::string nwk_label = wrap_nwk ? peer->kek_label : std::string();
  if (quirks_.kek_label_is_sender_id && wrap_nwk) nwk_label = join.header.sender_id;
  const Bytes no_kek;
  const Bytes& kek = peer ? peer->kek : no_kek;

  // JoinAns and RejoinAns carry the same fields.
  auto success = [&](auto ans) -> backend::Message {
    ans.header = backend::make_answer_header(join.header);
    ans.header.message_type = decltype(ans)::kType;
    ans.result = backend::Result{ResultCode::success, std::nullopt};
    ans.phy_payload = built.phy_payload;
    if (!faults.has(Fault::no_lifetime) && !quirks_.no_lifetime) ans.lifetime = config_.lifetime;
    if (join.mode == JoinMode::lorawan_1_1) {
      ans.f_nwk_s_int_key = key_envelope(keys.f_nwk_s_int_key, nwk_label, kek, faults);
      ans.s_nwk_s_int_key = key_envelope(keys.s_nwk_s_int_key, nwk_label, kek, faults);
      ans.nwk_s_enc_key = key_envelope(keys.nwk_s_enc_key, nwk_label, kek, faults);
    } else {
      ans.nwk_s_key = key_envelope(keys.nwk_s_key(), nwk_label, kek, faults);
    }
    ans.app_s_key = key_envelope(keys.app_s_key, config_.as_kek_label, config_.as_kek, faults);
    if (!faults.has(Fault::no_session_key_id) && !quirks_.no_session_key_id) {
      ans.session_key_id = seal_session_ticket(store_.js_secret(), jc.dev_eui,
                                               SessionTicket{join.mode, join.outcome.join_nonce, jc.dev_nonce, net_id});
    }
    return ans;
  };
  JsAnswer out = finish(ctx, join.rejoin ? success(backend::RejoinAns{}) : success(backend::JoinAns{}));
  out.durable = join.outcome.ticket;
  return out;
}

}  // namespace joincheck::sim
