// The Network Server's data uplinks: the session found by DevAddr, the MIC verified with its
// keys (LoRaWAN 1.1: B1 with the uplink's TxDr and TxCh), the 32-bit FCnt reconstructed from its
// 16 transmitted bits and not allowed to go down, and the ACK a confirmed uplink is answered
// with.
#include "sim/network_server/network_server_impl.hpp"

namespace joincheck::sim {

namespace {

// The 16 transmitted FCnt bits extended to 32 against the last counter: the candidates in the
// order to try (the counter going up first, then the same value or a lower one).
std::vector<std::uint32_t> fcnt_candidates(std::uint16_t fcnt16,
                                           std::optional<std::uint32_t> last) {
  if (!last) return {fcnt16};
  const std::uint32_t base = (*last & 0xffff0000u) | fcnt16;
  if (base >= *last) return {base};
  if (base <= 0xffffffffu - 0x10000u) return {base + 0x10000u, base};
  return {base};
}

}  // namespace

void NetworkServer::Impl::handle_data_uplink(const ReceivedFrame& frame) {
  lorawan::DataFrame data;
  try {
    data = lorawan::DataFrame::parse(frame.phy);
  } catch (const std::exception& ex) {
    NsEvent e = frame_event(NsEventKind::frame_dropped, frame);
    e.detail = std::string("data frame does not parse: ") + ex.what();
    emit(std::move(e));
    return;
  }
  const auto it = sessions.find(data.dev_addr);
  if (it == sessions.end()) {
    NsEvent e = frame_event(NsEventKind::unknown_dev_addr, frame);
    e.dev_addr = data.dev_addr;
    e.fport = data.fport;
    e.confirmed = data.confirmed();
    e.detail = "no session with DevAddr " + data.dev_addr.hex() + " (16-bit FCnt " +
               std::to_string(data.fcnt) + "); " + heard_by(frame);
    emit(std::move(e));
    return;
  }
  NetworkSession& session = it->second;

  std::string detail;
  const std::optional<lorawan::MicContext> ctx = mic_context(session, frame.best().rx, detail);
  const std::optional<std::uint32_t> verified =
      ctx ? verified_fcnt(data, session, *ctx) : std::nullopt;
  const bool mic_ok = verified.has_value();
  // Without a valid MIC, the FCnt the event shows is the first candidate.
  const std::uint32_t fcnt =
      verified.value_or(fcnt_candidates(data.fcnt, session.last_fcnt_up).front());
  bool accepted = false;  // FCnt new or a retransmission
  if (mic_ok) {
    accepted = accept_fcnt(session, fcnt, detail);
  } else if (ctx) {
    detail += "MIC does not verify with the session's keys";
  }
  const std::optional<std::uint32_t> last = session.last_fcnt_up;
  update_device(session.dev_eui, [&](NsDeviceState& d) {
    ++d.uplinks;
    if (mic_ok) {
      ++d.mic_valid;
    } else {
      ++d.mic_invalid;
    }
    d.last_fcnt_up = last;
  });
  NsEvent e = frame_event(NsEventKind::data_uplink, frame);
  e.dev_eui = session.dev_eui;
  e.dev_addr = data.dev_addr;
  e.fcnt = fcnt;
  e.fport = data.fport;
  e.confirmed = data.confirmed();
  e.mic_valid = mic_ok;
  e.detail = detail + "; " + heard_by(frame);
  emit(std::move(e));

  if (data.confirmed() && mic_ok && accepted) send_ack(frame, session, data, fcnt);
}

std::optional<lorawan::MicContext> NetworkServer::Impl::mic_context(const NetworkSession& session,
                                                                    const gwmp::RxPacket& rx,
                                                                    std::string& detail) const {
  lorawan::MicContext ctx;
  if (!session.keys.lorawan_1_1) return ctx;
  // B1 carries the uplink's DR index and channel index (LoRaWAN 1.1 §4.4.2).
  const auto dr = uplink_data_rate_index(rx);
  const auto ch = uplink_channel_index(rx);
  if (!dr || !ch) {
    detail =
        std::string("LoRaWAN 1.1 MIC needs TxDr and TxCh: ") +
        (!dr ? "datr " + lorawan::quote_for_error(rx.datr) + " is not an uplink DR"
             : "frequency " + std::to_string(rx.frequency_hz) + " Hz is not a default channel") +
        " of " + std::string(region.name()) + "; ";
    return std::nullopt;
  }
  ctx.tx_dr = *dr;
  ctx.tx_ch = *ch;
  detail = "B1 TxDr " + std::to_string(*dr) + " TxCh " + std::to_string(*ch) + "; ";
  return ctx;
}

std::optional<std::uint32_t> NetworkServer::Impl::verified_fcnt(const lorawan::DataFrame& data,
                                                                const NetworkSession& session,
                                                                lorawan::MicContext ctx) {
  for (std::uint32_t candidate : fcnt_candidates(data.fcnt, session.last_fcnt_up)) {
    ctx.fcnt = candidate;
    if (lorawan::verify_uplink_mic(data, session.keys, ctx)) return candidate;
  }
  return std::nullopt;
}

bool NetworkServer::Impl::accept_fcnt(NetworkSession& session, std::uint32_t fcnt,
                                      std::string& detail) {
  bool accepted = false;
  if (!session.last_fcnt_up) {
    detail += "first FCnt of the session";
    accepted = true;
  } else if (fcnt > *session.last_fcnt_up) {
    detail += "FCnt up from " + std::to_string(*session.last_fcnt_up);
    accepted = true;
  } else if (fcnt == *session.last_fcnt_up) {
    detail += "FCnt repeated (retransmission)";
    accepted = true;
  } else {
    detail += "FCnt below the last " + std::to_string(*session.last_fcnt_up) + ": not accepted";
  }
  if (accepted && (!session.last_fcnt_up || fcnt > *session.last_fcnt_up)) {
    session.last_fcnt_up = fcnt;
  }
  return accepted;
}

void NetworkServer::Impl::send_ack(const ReceivedFrame& frame, NetworkSession& session,
                                   const lorawan::DataFrame& data, std::uint32_t fcnt) {
  if (options.faults.no_ack) {
    NsEvent f = frame_event(NsEventKind::downlink_not_sent, frame);
    f.dev_eui = session.dev_eui;
    f.dev_addr = data.dev_addr;
    f.fcnt = fcnt;
    f.downlink = DownlinkKind::ack;
    f.detail = "ACK not sent (fault no_ack)";
    emit(std::move(f));
    return;
  }
  // The ACK: unconfirmed data down, FCtrl.ACK, no FPort (LoRaWAN 1.0.x/1.1 §4.3.1.2, §18).
  lorawan::DataParams p;
  p.confirmed = false;
  p.dev_addr = data.dev_addr;
  p.fcnt = session.fcnt_down++;
  p.fctrl.ack = true;
  p.conf_fcnt = fcnt;
  const lorawan::Bytes phy = lorawan::build_downlink(p, session.keys).encode();
  const std::uint32_t next_down = session.fcnt_down;
  update_device(session.dev_eui, [&](NsDeviceState& d) { d.next_fcnt_down = next_down; });
  const std::chrono::microseconds delay1 = lorawan::receive_delay1(session.rx_delay);
  DownlinkPlan plan =
      plan_downlink(session.dev_eui, DownlinkKind::ack, phy, frame.best(), frame.first, delay1,
                    delay1 + std::chrono::seconds(1), session.rx1_dr_offset, session.rx2_data_rate);
  plan.fcnt_down = p.fcnt;
  schedule_downlink(std::move(plan));
}

}  // namespace joincheck::sim
