// The Network Server's joins: a deduplicated join-request becomes a JoinReq queued for the JS
// thread, which sends it through the NsClient; the JS's answer, back on the Asio thread,
// installs the network session and sends the join-accept, or says why the join failed.
// Rejoin-requests are recognised and logged here, never forwarded.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "lorawan/join_frames.hpp"
#include "sim/network_server/network_server_impl.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::sim {

using gwmp::endpoint_text;

// ---------------------------------------------------------------------------------------------
// Join-requests, to the JS.

void NetworkServer::Impl::handle_join_request(const ReceivedFrame& frame) {
  lorawan::JoinRequest jr;
  try {
    jr = lorawan::parse_join_request(frame.phy);
  } catch (const std::exception& ex) {
    NsEvent e = frame_event(NsEventKind::frame_dropped, frame);
    e.detail = std::string("join-request does not parse: ") + ex.what();
    emit(std::move(e));
    return;
  }
  const lorawan::MacVersion mac = mac_version_of(jr.dev_eui);
  // ChirpStack's rule (chirpstack/chirpstack chirpstack/src/uplink/join.rs).
  const bool opt_neg = lorawan::is_1_1(mac);
  const lorawan::DevAddr dev_addr = dev_addr_for(dev_addr_net_id, next_nwk_addr++);
  const std::uint8_t rx2_dr = options.rx2_data_rate.value_or(region.rx2().data_rate);

  backend::JoinReq req;
  req.header = js_client->request_header(backend::MessageType::join_req, jr.join_eui.hex());
  req.mac_version = backend::MacVersionField{mac, {}};
  req.phy_payload = frame.phy;
  req.dev_eui = jr.dev_eui;
  req.dev_addr = dev_addr;
  req.dl_settings = static_cast<std::uint8_t>((opt_neg ? 0x80 : 0x00) |
                                              (options.rx1_dr_offset << 4) | (rx2_dr & 0x0f));
  req.rx_delay = options.rx_delay;
  // The NS persona (js.ns_like): its header, MACVersion spelling and CFList. The DevAddr,
  // DLSettings and RxDelay stay this NS's own: it schedules the downlinks with them, as
  // ChirpStack sends its configured network settings (sim/network_server/ns_persona.hpp).
  shape_join_req_spelling(options.js.ns_like, req);

  update_device(jr.dev_eui, [&](NsDeviceState& s) {
    ++s.join_requests;
    s.mac_version = mac;
  });
  NsEvent e = frame_event(NsEventKind::join_request, frame);
  e.dev_eui = jr.dev_eui;
  e.dev_addr = dev_addr;
  e.detail = "JoinEUI " + jr.join_eui.hex() + ", DevNonce " + std::to_string(jr.dev_nonce.value()) +
             ", MACVersion " + std::string(lorawan::to_string(mac)) + "; " + heard_by(frame);
  emit(std::move(e));

  PendingJoin join;
  join.request = std::move(req);
  join.dev_eui = jr.dev_eui;
  join.dev_addr = dev_addr;
  join.opt_neg = opt_neg;
  join.best = frame.best();
  join.received_at = frame.first;
  join.copies = frame.copies.size();
  join.repeats = frame.repeats;
  join.copies_dropped = frame.copies_dropped;
  {
    std::lock_guard lock(js_queue_mutex);
    if (js_queue.size() < options.max_pending_joins) {
      js_queue.push_back(std::move(join));
      js_queue_cv.notify_one();
      return;
    }
  }
  NsEvent f = frame_event(NsEventKind::join_failed, frame);
  f.dev_eui = jr.dev_eui;
  f.dev_addr = dev_addr;
  f.detail = "not sent to the JS: " + std::to_string(options.max_pending_joins) +
             " join-requests already wait for it";
  emit(std::move(f));
}

void NetworkServer::Impl::send_queued_joins() {
  for (;;) {
    PendingJoin join;
    {
      std::unique_lock lock(js_queue_mutex);
      js_queue_cv.wait(lock, [&] { return js_stop || !js_queue.empty(); });
      if (js_stop) return;
      join = std::move(js_queue.front());
      js_queue.pop_front();
    }
    // A JoinAns after JOIN_ACCEPT_DELAY2 is of no use: the exchange's deadline is capped there.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        join.received_at + lorawan::kJoinAcceptDelay2 - options.downlink_lead - Clock::now());
    if (left.count() <= 0) {
      NsEvent e;
      e.kind = NsEventKind::join_failed;
      e.gateway = join.best.gateway;
      e.dev_eui = join.dev_eui;
      e.dev_addr = join.dev_addr;
      e.copies = join.copies;
      e.detail = "not sent to the JS: the join-request waited past JOIN_ACCEPT_DELAY2";
      emit(std::move(e));
      continue;
    }
    SendOptions so;
    so.timeout = std::min(options.js.timeout, left);
    Exchange exchange = js_client->send(join.request, so);
    if (options.on_exchange) {
      try {
        options.on_exchange(exchange);
      } catch (...) {
        // An observer's failure is not the NS's.
      }
    }
    boost::asio::post(io, [this, join = std::move(join), exchange = std::move(exchange)]() {
      try {
        on_join_answer(join, exchange);
      } catch (const std::exception& err) {
        NsEvent e;
        e.kind = NsEventKind::join_failed;
        e.dev_eui = join.dev_eui;
        e.detail = std::string("JoinAns not handled: ") + err.what();
        emit(std::move(e));
      }
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The JS's answer.

void NetworkServer::Impl::on_join_answer(const PendingJoin& join, const Exchange& exchange) {
  NsEvent e = join_answer_event(join);
  std::string why;
  const backend::JoinAns* ans = successful_join_ans(exchange, e, why);
  if (!ans) {
    fail_join(join, std::move(e), std::move(why));
    return;
  }
  std::string key_text;
  const std::optional<lorawan::NetworkSessionKeys> keys =
      unwrap_session_keys(join, *ans, key_text, why);
  if (!keys) {
    fail_join(join, std::move(e), std::move(why));
    return;
  }
  install_session(join, *ans, *keys);
  e.kind = NsEventKind::join_accepted;
  e.detail = "session keys " + key_text +
             (ans->lifetime ? "; Lifetime " + std::to_string(*ans->lifetime) + " s" : "");
  emit(std::move(e));
  send_join_accept(join, *ans);
}

NsEvent NetworkServer::Impl::join_answer_event(const PendingJoin& join) const {
  NsEvent e;
  e.gateway = join.best.gateway;
  e.peer = endpoint_text(join.best.peer);
  e.tmst = join.best.rx.tmst;
  e.dev_eui = join.dev_eui;
  e.dev_addr = join.dev_addr;
  e.copies = join.copies;
  e.repeats = join.repeats;
  e.copies_dropped = join.copies_dropped;
  e.mtype = lorawan::MType::join_request;
  return e;
}

void NetworkServer::Impl::fail_join(const PendingJoin& join, NsEvent e, std::string detail) {
  e.kind = NsEventKind::join_failed;
  e.detail = std::move(detail) + "; no join-accept sent";
  const std::optional<backend::ResultCode> code = e.result;
  update_device(join.dev_eui, [&](NsDeviceState& s) { s.last_join_result = code; });
  emit(std::move(e));
}

const backend::JoinAns* NetworkServer::Impl::successful_join_ans(const Exchange& exchange,
                                                                 NsEvent& e,
                                                                 std::string& why) const {
  if (!exchange.answered()) {
    why = !exchange.transport_error.empty() ? "JS exchange failed: " + exchange.transport_error
          : !exchange.decode_error.empty()  ? "JS answer does not decode: " + exchange.decode_error
                                            : std::string("no answer from the JS");
    if (exchange.http_status != 0) why += " (HTTP " + std::to_string(exchange.http_status) + ")";
    return nullptr;
  }
  const auto* ans = std::get_if<backend::JoinAns>(&exchange.decoded->message);
  if (!ans) {
    why = "JS answered with " +
          std::string(backend::to_string(backend::message_type_of(exchange.decoded->message))) +
          ", expected JoinAns";
    return nullptr;
  }
  if (!ans->result) {
    why = "JoinAns without Result";
    return nullptr;
  }
  e.result = ans->result->code;
  e.result_description = ans->result->description.value_or("");
  if (!ans->result->is_success()) {
    why = "JS answered " + std::string(backend::to_string(ans->result->code));
    return nullptr;
  }
  if (!ans->phy_payload || ans->phy_payload->empty()) {
    why = "JoinAns Success without PHYPayload";
    return nullptr;
  }
  return ans;
}

std::optional<lorawan::NetworkSessionKeys> NetworkServer::Impl::unwrap_session_keys(
    const PendingJoin& join, const backend::JoinAns& ans, std::string& key_text,
    std::string& why) const {
  const bool has_1_1 = ans.f_nwk_s_int_key && ans.s_nwk_s_int_key && ans.nwk_s_enc_key;
  const bool has_1_0 = ans.nwk_s_key.has_value();
  std::optional<lorawan::NetworkSessionKeys> keys;
  try {
    auto label = [](const backend::KeyEnvelope& k) {
      return k.is_clear() ? std::string(" (clear)") : " (KEK " + k.kek_label + ")";
    };
    if (has_1_1 && (join.opt_neg || !has_1_0)) {
      keys = lorawan::NetworkSessionKeys::v1_1(ans.f_nwk_s_int_key->unwrap(keks),
                                               ans.s_nwk_s_int_key->unwrap(keks),
                                               ans.nwk_s_enc_key->unwrap(keks));
      key_text = "FNwkSIntKey" + label(*ans.f_nwk_s_int_key) + ", SNwkSIntKey" +
                 label(*ans.s_nwk_s_int_key) + ", NwkSEncKey" + label(*ans.nwk_s_enc_key);
    } else if (has_1_0) {
      keys = lorawan::NetworkSessionKeys::v1_0(ans.nwk_s_key->unwrap(keks));
      key_text = "NwkSKey" + label(*ans.nwk_s_key);
    }
    if (ans.app_s_key) key_text += ", AppSKey" + label(*ans.app_s_key);
  } catch (const std::exception& err) {
    why = std::string("JoinAns session key unusable: ") + err.what();
    return std::nullopt;
  }
  if (!keys) {
    why = std::string("JoinAns Success without network session keys: expected ") +
          (join.opt_neg ? "FNwkSIntKey, SNwkSIntKey and NwkSEncKey" : "NwkSKey");
    return std::nullopt;
  }
  if (keys->lorawan_1_1 != join.opt_neg) {
    key_text += join.opt_neg ? "; OptNeg=1 was sent, but the JS gave the 1.0 NwkSKey only"
                             : "; OptNeg=0 was sent, but the JS gave LoRaWAN 1.1 keys only";
  }
  return keys;
}

void NetworkServer::Impl::install_session(const PendingJoin& join, const backend::JoinAns& ans,
                                          const lorawan::NetworkSessionKeys& keys) {
  for (auto it = sessions.begin(); it != sessions.end();) {
    if (it->second.dev_eui == join.dev_eui) {
      it = sessions.erase(it);
    } else {
      ++it;
    }
  }
  NetworkSession s;
  s.dev_eui = join.dev_eui;
  s.keys = keys;
  s.rx_delay = options.rx_delay;
  s.rx1_dr_offset = options.rx1_dr_offset;
  s.rx2_data_rate = options.rx2_data_rate;
  sessions[join.dev_addr] = s;
  update_device(join.dev_eui, [&](NsDeviceState& d) {
    d.joined = true;
    d.dev_addr = join.dev_addr;
    d.lorawan_1_1_session = keys.lorawan_1_1;
    d.last_join_result = ans.result->code;
    d.app_s_key_received = ans.app_s_key.has_value();
    d.app_s_key_kek_label = ans.app_s_key ? ans.app_s_key->kek_label : std::string();
    d.lifetime = ans.lifetime;
    d.session_key_id = ans.session_key_id;
    d.last_fcnt_up.reset();
    d.uplinks = 0;
    d.mic_valid = 0;
    d.mic_invalid = 0;
    d.next_fcnt_down = 0;
  });
}

void NetworkServer::Impl::send_join_accept(const PendingJoin& join, const backend::JoinAns& ans) {
  if (options.faults.no_join_accept) {
    NsEvent f;
    f.kind = NsEventKind::downlink_not_sent;
    f.gateway = join.best.gateway;
    f.dev_eui = join.dev_eui;
    f.dev_addr = join.dev_addr;
    f.downlink = DownlinkKind::join_accept;
    f.detail = "join-accept not sent (fault no_join_accept)";
    emit(std::move(f));
    return;
  }
  // Join-accepts use RX1DROffset 0 and the default RX2 (the device has no DLSettings yet).
  schedule_downlink(plan_downlink(join.dev_eui, DownlinkKind::join_accept, *ans.phy_payload,
                                  join.best, join.received_at, lorawan::kJoinAcceptDelay1,
                                  lorawan::kJoinAcceptDelay2, 0, std::nullopt));
}

// ---------------------------------------------------------------------------------------------
// Rejoin-requests.

void NetworkServer::Impl::handle_rejoin_request(const ReceivedFrame& frame) {
  NsEvent e = frame_event(NsEventKind::rejoin_request, frame);
  lorawan::RejoinRequest rj;
  try {
    rj = lorawan::parse_rejoin_request(frame.phy);
  } catch (const std::exception& ex) {
    e.kind = NsEventKind::frame_dropped;
    e.detail = std::string("rejoin-request does not parse: ") + ex.what();
    emit(std::move(e));
    return;
  }
  const unsigned type = static_cast<unsigned>(rj.type);
  e.dev_eui = rj.dev_eui;
  std::string mic_text;
  if (rj.type != lorawan::RejoinType::type1) {
    // Types 0 and 2 are MIC'd with the session's SNwkSIntKey (LoRaWAN 1.1 §6.2.4.4).
    for (const auto& [addr, s] : sessions) {
      if (s.dev_eui != rj.dev_eui || !s.keys.lorawan_1_1) continue;
      e.dev_addr = addr;
      e.mic_valid = lorawan::rejoin_request_mic(s.keys.s_nwk_s_int_key, rj) == rj.mic;
      mic_text = *e.mic_valid ? "; MIC valid with the session's SNwkSIntKey"
                              : "; MIC invalid with the session's SNwkSIntKey";
    }
    if (!e.mic_valid) mic_text = "; no LoRaWAN 1.1 session to check the MIC with";
  }
  e.detail = "rejoin-request received, not forwarded: type " + std::to_string(type) +
             (rj.type == lorawan::RejoinType::type1 ? ", JoinEUI " + rj.join_eui.hex()
                                                    : ", NetID " + rj.net_id.hex()) +
             ", RJcount" + (rj.type == lorawan::RejoinType::type1 ? "1 " : "0 ") +
             std::to_string(rj.rj_count.value()) + mic_text + "; " + heard_by(frame);
  emit(std::move(e));
}

}  // namespace joincheck::sim
