// The Network Server's uplink reception: the UDP socket, GWMP datagrams and their answers
// (PUSH_ACK, PULL_ACK), where each gateway's downlinks go (its PULL_DATA), and the
// deduplication of the copies of a frame heard by several gateways (or sent again by one) into
// one frame, handled once its window closes.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "lorawan/hex.hpp"
#include "sim/network_server/network_server_impl.hpp"

namespace joincheck::sim {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using gwmp::endpoint_text;

namespace {

// Frames kept for deduplication at once; further new frames are dropped (and logged).
constexpr std::size_t kMaxFramesInDedup = 4096;
// Receptions remembered to recognise one sent again (a PUSH_DATA retried after a lost PUSH_ACK:
// joincheck's gateway retries for attempts × ack_timeout, 3 s by default).
constexpr std::chrono::seconds kReceptionMemory{30};
constexpr std::size_t kMaxReceptions = 4096;

// Why an rxpk cannot be a frame (CRC not OK, not LoRa, empty); "" when it can.
std::string rxpk_problem(const gwmp::RxPacket& rx) {
  if (rx.stat != 1) return "stat " + std::to_string(rx.stat) + ": expected 1 (CRC OK)";
  if (rx.modu != "LORA") return "modu " + lorawan::quote_for_error(rx.modu) + ": expected \"LORA\"";
  if (rx.data.empty()) return "empty data";
  return {};
}

// An event about one rxpk of a gateway, before its detail.
NsEvent rxpk_event(NsEventKind kind, const lorawan::Eui64& gateway, const udp::endpoint& peer,
                   const gwmp::RxPacket& rx) {
  NsEvent e;
  e.kind = kind;
  e.peer = endpoint_text(peer);
  e.gateway = gateway;
  e.tmst = rx.tmst;
  return e;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// UDP.

bool NetworkServer::Impl::send_datagram(const lorawan::Bytes& bytes, const udp::endpoint& to,
                                        std::string& error) {
  if (!socket || !socket->is_open()) {
    error = "socket closed";
    return false;
  }
  boost::system::error_code ec;
  socket->send_to(asio::buffer(bytes), to, 0, ec);
  if (ec) {
    error = "UDP send to " + endpoint_text(to) + " failed: " + ec.message();
    return false;
  }
  return true;
}

void NetworkServer::Impl::send_gwmp(const gwmp::Packet& p, const udp::endpoint& to) {
  std::string error;
  if (!send_datagram(gwmp::encode(p), to, error)) {
    NsEvent e;
    e.kind = NsEventKind::downlink_not_sent;
    e.peer = endpoint_text(to);
    e.token = p.token;
    e.detail = std::string(gwmp::to_string(p.type())) + " not sent: " + error;
    emit(std::move(e));
  }
}

asio::awaitable<void> NetworkServer::Impl::receive_loop() {
  std::vector<std::uint8_t> buffer(65536);
  for (;;) {
    udp::endpoint peer;
    boost::system::error_code ec;
    const std::size_t n = co_await socket->async_receive_from(
        asio::buffer(buffer), peer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !socket->is_open()) co_return;
    if (ec) continue;  // e.g. ICMP port unreachable reported for an earlier send
    try {
      handle_datagram(lorawan::ByteSpan(buffer.data(), n), peer);
    } catch (const std::exception& ex) {
      NsEvent e;
      e.kind = NsEventKind::frame_dropped;
      e.peer = endpoint_text(peer);
      e.detail = std::string("datagram not handled: ") + ex.what();
      emit(std::move(e));
    }
  }
}

void NetworkServer::Impl::handle_datagram(lorawan::ByteSpan data, const udp::endpoint& peer) {
  gwmp::Packet packet;
  try {
    packet = gwmp::decode(data);
  } catch (const std::exception& ex) {
    NsEvent e;
    e.kind = NsEventKind::malformed_datagram;
    e.peer = endpoint_text(peer);
    e.detail = ex.what();
    emit(std::move(e));
    return;
  }
  if (auto* push = std::get_if<gwmp::PushData>(&packet.payload)) {
    gwmp::Packet ack;
    ack.token = packet.token;
    ack.protocol_version = packet.protocol_version;  // a v1 forwarder drops a v2 answer
    ack.payload = gwmp::PushAck{};
    send_gwmp(ack, peer);
    for (gwmp::RxPacket& rx : push->rxpk) accept_rxpk(push->gateway, peer, std::move(rx));
  } else if (const auto* pull = std::get_if<gwmp::PullData>(&packet.payload)) {
    // Recorded before the PULL_ACK leaves: a gateway that got it can be answered.
    remember_downlink_address(pull->gateway, packet.protocol_version, peer);
    gwmp::Packet ack;
    ack.token = packet.token;
    ack.protocol_version = packet.protocol_version;
    ack.payload = gwmp::PullAck{};
    send_gwmp(ack, peer);
  } else if (const auto* tx_ack = std::get_if<gwmp::TxAck>(&packet.payload)) {
    handle_tx_ack(packet.token, *tx_ack, peer);
  } else {
    NsEvent e;
    e.kind = NsEventKind::unexpected_datagram;
    e.peer = endpoint_text(peer);
    e.token = packet.token;
    e.detail = std::string(gwmp::to_string(packet.type())) +
               ": expected PUSH_DATA, PULL_DATA or TX_ACK from a gateway; dropped";
    emit(std::move(e));
  }
}

void NetworkServer::Impl::remember_downlink_address(const lorawan::Eui64& gateway,
                                                    std::uint8_t version,
                                                    const udp::endpoint& peer) {
  auto [it, inserted] = gateways.try_emplace(gateway);
  std::string forgotten;
  if (inserted && gateways.size() > options.max_gateways) {
    // Any PULL_DATA names a gateway: the one heard from longest ago is forgotten.
    auto oldest = gateways.end();
    for (auto g = gateways.begin(); g != gateways.end(); ++g) {
      if (g != it && (oldest == gateways.end() || g->second.last_pull < oldest->second.last_pull))
        oldest = g;
    }
    forgotten = "; gateway " + oldest->first.hex() + " forgotten (more than " +
                std::to_string(options.max_gateways) +
                " gateways; it sent no PULL_DATA for the longest time)";
    gateways.erase(oldest);
    std::lock_guard lock(state_mutex);
    ++dropped_counts.gateways;
  }
  detail::GatewayAddress& g = it->second;
  const bool changed = !inserted && (g.peer != peer || g.protocol_version != version);
  const std::string was =
      changed ? endpoint_text(g.peer) +
                    (g.protocol_version != version
                         ? " in protocol version " + std::to_string(g.protocol_version)
                         : std::string())
              : std::string();
  g.peer = peer;
  g.protocol_version = version;
  g.last_pull = ++pull_sequence;
  if (!inserted && !changed) return;
  NsEvent e;
  e.kind = NsEventKind::gateway_pull;
  e.peer = endpoint_text(peer);
  e.gateway = gateway;
  const std::string where = e.peer + (version != gwmp::kProtocolVersion
                                          ? " in GWMP protocol version " + std::to_string(version)
                                          : std::string());
  e.detail = inserted ? "PULL_DATA: downlinks for this gateway go to " + where + forgotten
                      : "PULL_DATA from a new address: downlinks now go to " + where + " (was " +
                            was + ")";
  emit(std::move(e));
}

// ---------------------------------------------------------------------------------------------
// Deduplication.

bool NetworkServer::Impl::repeated_reception(const detail::Reception& r, Clock::time_point now) {
  while (!reception_order.empty() && (reception_order.front()->second + kReceptionMemory < now ||
                                      reception_order.size() >= kMaxReceptions)) {
    receptions.erase(reception_order.front());
    reception_order.pop_front();
  }
  const auto [it, inserted] = receptions.try_emplace(r, now);
  if (inserted) reception_order.push_back(it);
  return !inserted;
}

void NetworkServer::Impl::accept_rxpk(const lorawan::Eui64& gateway, const udp::endpoint& peer,
                                      gwmp::RxPacket rx) {
  if (const std::string problem = rxpk_problem(rx); !problem.empty()) {
    NsEvent e = rxpk_event(NsEventKind::rxpk_dropped, gateway, peer, rx);
    e.detail = "rxpk " + problem;
    emit(std::move(e));
    return;
  }
  const auto it = frames_in_dedup.find(rx.data);
  if (repeated_reception(detail::Reception{gateway, rx.tmst, rx.data}, Clock::now())) {
    // The same reception sent again (a PUSH_DATA retried after a lost PUSH_ACK): not a frame.
    if (it != frames_in_dedup.end() && !it->second->processed) {
      ++it->second->repeats;
      return;
    }
    NsEvent e = rxpk_event(NsEventKind::rxpk_dropped, gateway, peer, rx);
    e.mtype = lorawan::mtype_of(rx.data[0]);
    e.detail =
        "rxpk repeated: this gateway already forwarded the frame with this tmst (a "
        "PUSH_DATA sent again), and it was handled; dropped";
    emit(std::move(e));
    return;
  }
  if (it != frames_in_dedup.end()) {
    add_copy(*it->second, gateway, peer, std::move(rx));
    return;
  }
  if (frames_in_dedup.size() >= kMaxFramesInDedup) {
    NsEvent e = rxpk_event(NsEventKind::rxpk_dropped, gateway, peer, rx);
    e.detail =
        "more than " + std::to_string(kMaxFramesInDedup) + " frames in deduplication; dropped";
    emit(std::move(e));
    return;
  }
  auto frame = std::make_shared<ReceivedFrame>();
  frame->phy = rx.data;
  frame->first = Clock::now();
  frame->copies.push_back(FrameCopy{gateway, peer, std::move(rx)});
  frames_in_dedup.emplace(frame->phy, frame);
  asio::co_spawn(io, close_dedup_window(std::move(frame)), asio::detached);
}

// A copy of a frame already in deduplication: kept (one per gateway), counted, or late.
void NetworkServer::Impl::add_copy(ReceivedFrame& frame, const lorawan::Eui64& gateway,
                                   const udp::endpoint& peer, gwmp::RxPacket rx) {
  const bool from_known_gateway =
      std::any_of(frame.copies.begin(), frame.copies.end(),
                  [&](const FrameCopy& c) { return c.gateway == gateway; });
  if (frame.processed) {
    NsEvent e = rxpk_event(NsEventKind::late_copy, gateway, peer, rx);
    e.mtype = lorawan::mtype_of(rx.data[0]);
    e.detail = "copy arrived after the " + std::to_string(options.dedup_window.count()) +
               " ms deduplication window of its frame; dropped";
    emit(std::move(e));
  } else if (from_known_gateway) {
    ++frame.repeats;  // one gateway, one copy
  } else if (frame.copies.size() >= options.max_copies_per_frame) {
    ++frame.copies_dropped;
    std::lock_guard lock(state_mutex);
    ++dropped_counts.copies;
  } else {
    frame.copies.push_back(FrameCopy{gateway, peer, std::move(rx)});
  }
}

asio::awaitable<void> NetworkServer::Impl::close_dedup_window(
    std::shared_ptr<ReceivedFrame> frame) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  boost::system::error_code ec;
  timer.expires_at(frame->first + options.dedup_window);
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  frame->processed = true;
  try {
    handle_frame(*frame);
  } catch (const std::exception& ex) {
    NsEvent e = frame_event(NsEventKind::frame_dropped, *frame);
    e.detail = std::string("frame not handled: ") + ex.what();
    emit(std::move(e));
  }
  // Remembered for another window, so that late copies are recognised as such.
  timer.expires_at(frame->first + 2 * options.dedup_window);
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  const auto it = frames_in_dedup.find(frame->phy);
  if (it != frames_in_dedup.end() && it->second == frame) frames_in_dedup.erase(it);
}

void NetworkServer::Impl::handle_frame(const ReceivedFrame& frame) {
  const lorawan::MType type = lorawan::mtype_of(frame.phy[0]);
  switch (type) {
    case lorawan::MType::join_request:
      handle_join_request(frame);
      return;
    case lorawan::MType::rejoin_request:
      handle_rejoin_request(frame);
      return;
    case lorawan::MType::unconfirmed_data_up:
    case lorawan::MType::confirmed_data_up:
      handle_data_uplink(frame);
      return;
    default: {
      NsEvent e = frame_event(NsEventKind::frame_dropped, frame);
      e.detail = "MType " + std::string(lorawan::to_string(type)) +
                 ": expected a join-request, rejoin-request or data uplink; " + heard_by(frame);
      emit(std::move(e));
    }
  }
}

}  // namespace joincheck::sim
