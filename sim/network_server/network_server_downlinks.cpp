// The Network Server's downlink scheduling: the RX1 and RX2 windows of an answer (a
// join-accept or an ACK) from the uplink's radio parameters and the region, the PULL_RESP to
// the chosen gateway while there is still time, the downlink's record in the device state, and
// the TX_ACK that acknowledges it or makes the NS try RX2.
#include <algorithm>

#include "sim/network_server/network_server_impl.hpp"

namespace joincheck::sim {

using gwmp::endpoint_text;

namespace {

constexpr std::size_t kMaxDownlinksKept = 64;
// A PULL_RESP waits this long for its TX_ACK before it is forgotten (the RX2 retry is long past).
constexpr std::chrono::seconds kPendingTxAckKeep{30};
constexpr std::size_t kMaxPendingTxAcks = 4096;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Radio.

std::optional<std::uint8_t> NetworkServer::Impl::uplink_data_rate_index(
    const gwmp::RxPacket& rx) const {
  const auto rate = lorawan::parse_datr(rx.datr);
  if (!rate) return std::nullopt;
  return region.uplink_data_rate(*rate);
}

std::optional<std::uint8_t> NetworkServer::Impl::uplink_channel_index(
    const gwmp::RxPacket& rx) const {
  const auto& channels = region.uplink_channels();
  const auto it = std::find(channels.begin(), channels.end(), rx.frequency_hz);
  if (it == channels.end() || it - channels.begin() > 255) return std::nullopt;
  return static_cast<std::uint8_t>(it - channels.begin());
}

// ---------------------------------------------------------------------------------------------
// Scheduling.

detail::DownlinkPlan NetworkServer::Impl::plan_downlink(
    const lorawan::Eui64& dev_eui, DownlinkKind kind, lorawan::Bytes phy, const FrameCopy& best,
    Clock::time_point received_at, std::chrono::microseconds delay1,
    std::chrono::microseconds delay2, std::uint8_t rx1_dr_offset,
    std::optional<std::uint8_t> rx2_dr) const {
  DownlinkPlan p;
  p.dev_eui = dev_eui;
  p.kind = kind;
  p.phy = std::move(phy);
  p.gateway = best.gateway;
  p.uplink_tmst = best.rx.tmst;
  p.delay1 = delay1;
  p.delay2 = delay2;
  const auto dr = uplink_data_rate_index(best.rx);
  if (!dr) {
    p.rx1_problem = "uplink datr " + lorawan::quote_for_error(best.rx.datr) +
                    " is not an uplink data rate of " + std::string(region.name());
  } else {
    try {
      p.rx1 = region.rx1(best.rx.frequency_hz, *dr, rx1_dr_offset);
    } catch (const std::exception& ex) {
      p.rx1_problem = ex.what();
    }
  }
  p.rx2 = region.rx2(rx2_dr);
  p.rx1_deadline = received_at + delay1 - options.downlink_lead;
  p.rx2_deadline = received_at + delay2 - options.downlink_lead;
  return p;
}

void NetworkServer::Impl::schedule_downlink(DownlinkPlan plan) {
  const Clock::time_point now = Clock::now();
  if (plan.rx1 && now < plan.rx1_deadline) {
    send_downlink(std::move(plan), NsRxWindow::rx1, {});
    return;
  }
  if (now < plan.rx2_deadline) {
    const std::string why = plan.rx1 ? "too late for RX1" : "no RX1: " + plan.rx1_problem;
    send_downlink(std::move(plan), NsRxWindow::rx2, why);
    return;
  }
  NsEvent e;
  e.kind = NsEventKind::downlink_not_sent;
  e.gateway = plan.gateway;
  e.dev_eui = plan.dev_eui;
  e.downlink = plan.kind;
  e.detail = "too late for RX1 and RX2 (" + std::to_string(plan.delay2.count() / 1000) +
             " ms after the uplink, less " + std::to_string(options.downlink_lead.count()) +
             " ms lead)";
  emit(std::move(e));
}

// The txpk of a PULL_RESP for `window` (`w`), `tmst_offset` µs after the uplink, with the
// downlink faults applied.
gwmp::TxPacket NetworkServer::Impl::pull_resp_txpk(const DownlinkPlan& plan, NsRxWindow window,
                                                   const lorawan::DownlinkWindow& w,
                                                   std::int64_t tmst_offset) const {
  gwmp::TxPacket tx;
  tx.imme = false;
  // Modulo 2^32, as the gateway counter wraps; the tmst-offset fault may be negative.
  tx.tmst = static_cast<std::uint32_t>((std::int64_t{plan.uplink_tmst} + tmst_offset) &
                                       std::int64_t{0xffffffff});
  tx.frequency_hz = w.frequency_hz;
  if (window == NsRxWindow::rx1 && options.faults.rx1_frequency_offset_hz != 0) {
    tx.frequency_hz = static_cast<std::uint64_t>(std::max<std::int64_t>(
        0, static_cast<std::int64_t>(w.frequency_hz) + options.faults.rx1_frequency_offset_hz));
  }
  tx.rfch = 0;
  tx.powe = region.downlink_power_dbm();
  tx.modu = "LORA";
  tx.datr = lorawan::to_datr(w.lora);
  tx.codr = "4/5";
  tx.ipol = true;
  tx.ncrc = true;
  tx.data = plan.phy;
  return tx;
}

void NetworkServer::Impl::send_downlink(DownlinkPlan plan, NsRxWindow window,
                                        const std::string& why) {
  // A copy: the plan moves into `pending_tx_acks` before the event is written.
  const lorawan::DownlinkWindow w = window == NsRxWindow::rx1 ? *plan.rx1 : plan.rx2;
  const std::chrono::microseconds delay = window == NsRxWindow::rx1 ? plan.delay1 : plan.delay2;
  NsEvent e;
  e.gateway = plan.gateway;
  e.dev_eui = plan.dev_eui;
  e.downlink = plan.kind;
  e.window = window;
  const auto gw = gateways.find(plan.gateway);
  if (gw == gateways.end()) {
    e.kind = NsEventKind::downlink_not_sent;
    e.detail = "no PULL_DATA received from gateway " + plan.gateway.hex() +
               ": its downlink address is unknown";
    emit(std::move(e));
    return;
  }
  const std::int64_t tmst_offset = delay.count() + options.faults.downlink_tmst_offset_us;
  gwmp::TxPacket tx = pull_resp_txpk(plan, window, w, tmst_offset);
  gwmp::Packet p;
  p.token = next_pull_resp_token++;
  p.protocol_version = gw->second.protocol_version;  // that of the gateway's PULL_DATA
  const std::uint32_t tmst = *tx.tmst;
  const std::uint64_t frequency = tx.frequency_hz;
  const std::string datr = tx.datr;
  p.payload = gwmp::PullResp{std::move(tx)};
  const udp::endpoint to = gw->second.peer;
  e.peer = endpoint_text(to);
  e.tmst = tmst;
  e.token = p.token;

  // Recorded first: a TX_ACK, or whoever sees the PULL_RESP arrive, finds it in the state.
  NsDownlink d;
  d.kind = plan.kind;
  d.window = window;
  d.gateway = plan.gateway;
  d.token = p.token;
  d.tmst = tmst;
  d.frequency_hz = frequency;
  d.datr = datr;
  d.fcnt_down = plan.fcnt_down;
  d.phy_payload = plan.phy;
  const lorawan::Eui64 dev_eui = plan.dev_eui;
  update_device(dev_eui, [&](NsDeviceState& s) {
    s.downlinks.push_back(d);
    if (s.downlinks.size() > kMaxDownlinksKept) s.downlinks.erase(s.downlinks.begin());
  });
  prune_pending_tx_acks();
  pending_tx_acks[p.token] = PendingDownlink{std::move(plan), window, Clock::now()};

  std::string error;
  if (!send_datagram(gwmp::encode(p), to, error)) {
    pending_tx_acks.erase(p.token);
    set_downlink_status(dev_eui, p.token, DownlinkStatus::not_sent, {});
    e.kind = NsEventKind::downlink_not_sent;
    e.detail = error;
    emit(std::move(e));
    return;
  }
  e.kind = NsEventKind::downlink_sent;
  std::string faults;
  if (options.faults.downlink_tmst_offset_us != 0) faults += "; fault downlink_tmst_offset_us";
  if (frequency != w.frequency_hz) faults += "; fault rx1_frequency_offset_hz";
  e.detail = "PULL_RESP " + std::to_string(frequency) + " Hz " + datr + " DR" +
             std::to_string(w.data_rate) + ", tmst uplink " + (tmst_offset < 0 ? "- " : "+ ") +
             std::to_string(tmst_offset < 0 ? -tmst_offset : tmst_offset) + " us" +
             (why.empty() ? "" : " (" + why + ")") + faults;
  emit(std::move(e));
}

// ---------------------------------------------------------------------------------------------
// TX_ACKs.

void NetworkServer::Impl::prune_pending_tx_acks() {
  const Clock::time_point limit = Clock::now() - kPendingTxAckKeep;
  for (auto it = pending_tx_acks.begin(); it != pending_tx_acks.end();) {
    if (it->second.sent_at < limit) {
      it = pending_tx_acks.erase(it);
    } else {
      ++it;
    }
  }
  while (pending_tx_acks.size() >= kMaxPendingTxAcks)
    pending_tx_acks.erase(pending_tx_acks.begin());
}

void NetworkServer::Impl::set_downlink_status(const lorawan::Eui64& dev_eui, std::uint16_t token,
                                              DownlinkStatus status, const std::string& error) {
  update_device(dev_eui, [&](NsDeviceState& s) {
    for (auto it = s.downlinks.rbegin(); it != s.downlinks.rend(); ++it) {
      if (it->token == token) {
        it->status = status;
        it->tx_ack_error = error;
        break;
      }
    }
  });
}

void NetworkServer::Impl::handle_tx_ack(std::uint16_t token, const gwmp::TxAck& ack,
                                        const udp::endpoint& peer) {
  NsEvent e;
  e.kind = NsEventKind::tx_ack;
  e.peer = endpoint_text(peer);
  e.gateway = ack.gateway;
  e.token = token;
  const std::string error =
      ack.error ? std::string(gwmp::to_string(*ack.error)) : std::string("NONE");
  const auto it = pending_tx_acks.find(token);
  if (it == pending_tx_acks.end() || it->second.plan.gateway != ack.gateway) {
    e.detail = "TX_ACK " + error + " matches no PULL_RESP sent to this gateway";
    emit(std::move(e));
    return;
  }
  PendingDownlink done = std::move(it->second);
  pending_tx_acks.erase(it);
  e.dev_eui = done.plan.dev_eui;
  e.downlink = done.plan.kind;
  e.window = done.window;
  const bool ok = !ack.error || *ack.error == gwmp::TxAckError::none;
  e.detail = ack.error ? "TX_ACK " + error : "TX_ACK without JSON (success)";
  // The state first: whoever sees the event finds the downlink's status in it.
  set_downlink_status(done.plan.dev_eui, token,
                      ok ? DownlinkStatus::acknowledged : DownlinkStatus::failed,
                      ok ? std::string() : error);
  emit(std::move(e));
  if (ok) return;
  if (done.window == NsRxWindow::rx1 && Clock::now() < done.plan.rx2_deadline) {
    send_downlink(std::move(done.plan), NsRxWindow::rx2, "RX1 refused by the gateway: " + error);
    return;
  }
  NsEvent f;
  f.kind = NsEventKind::downlink_failed;
  f.peer = endpoint_text(peer);  // `e` was moved
  f.gateway = ack.gateway;
  f.dev_eui = done.plan.dev_eui;
  f.downlink = done.plan.kind;
  f.window = done.window;
  f.token = token;
  f.detail = std::string(to_string(done.window)) + " refused by the gateway: " + error +
             (done.window == NsRxWindow::rx1 ? "; no time left for RX2" : "; no window left");
  emit(std::move(f));
}

}  // namespace joincheck::sim
