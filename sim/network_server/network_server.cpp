#include "sim/network_server/network_server.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <system_error>
#include <thread>
#include <tuple>
#include <utility>

#include "backend/http_server.hpp"
#include "lorawan/data_frame.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/join_frames.hpp"
#include "sim/gateway/gwmp.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::sim {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// DevAddr assignment.

namespace {

// NwkID widths by NetID type (TS002 1.1 Table 3; see the header).
constexpr std::array<unsigned, 8> kNwkIdBits{6, 6, 9, 11, 12, 13, 15, 17};

unsigned net_id_type(const lorawan::NetId& net_id) {
  return static_cast<unsigned>(net_id.bytes()[0] >> 5);
}

std::uint32_t net_id_value(const lorawan::NetId& net_id) {
  const auto& b = net_id.bytes();
  return (std::uint32_t{b[0]} << 16) | (std::uint32_t{b[1]} << 8) | std::uint32_t{b[2]};
}

}  // namespace

unsigned nwk_addr_bits(const lorawan::NetId& net_id) {
  const unsigned type = net_id_type(net_id);
  return 32u - (type + 1u) - kNwkIdBits[type];
}

lorawan::DevAddr dev_addr_for(const lorawan::NetId& net_id, std::uint32_t nwk_addr) {
  const unsigned type = net_id_type(net_id);
  const unsigned id_bits = kNwkIdBits[type];
  const unsigned addr_bits = nwk_addr_bits(net_id);
  // AddrPrefix: `type` ones then a zero, in the top type+1 bits.
  const std::uint32_t prefix = type == 0 ? 0u : ((0xffffffffu << (32u - type)) & 0xffffffffu);
  const std::uint32_t nwk_id = net_id_value(net_id) & ((1u << id_bits) - 1u);
  const std::uint32_t addr = nwk_addr & ((1u << addr_bits) - 1u);
  const std::uint32_t value = prefix | (nwk_id << addr_bits) | addr;
  lorawan::DevAddr::Array a{};
  for (std::size_t i = 0; i < 4; ++i) a[i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
  return lorawan::DevAddr(a);
}

std::map<lorawan::Eui64, lorawan::MacVersion> mac_versions_of(const Fleet& fleet) {
  std::map<lorawan::Eui64, lorawan::MacVersion> out;
  for (const FleetDevice& d : fleet.devices) out[d.dev_eui] = d.mac_version;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Names.

std::string_view to_string(NsRxWindow window) { return window == NsRxWindow::rx1 ? "RX1" : "RX2"; }

std::string_view to_string(DownlinkKind kind) {
  return kind == DownlinkKind::join_accept ? "join-accept" : "ack";
}

std::string_view to_string(DownlinkStatus status) {
  switch (status) {
    case DownlinkStatus::sent:
      return "sent";
    case DownlinkStatus::acknowledged:
      return "acknowledged";
    case DownlinkStatus::failed:
      return "failed";
    case DownlinkStatus::not_sent:
      return "not sent";
  }
  return "?";
}

std::string_view to_string(NsEventKind kind) {
  switch (kind) {
    case NsEventKind::malformed_datagram:
      return "malformed-datagram";
    case NsEventKind::unexpected_datagram:
      return "unexpected-datagram";
    case NsEventKind::gateway_pull:
      return "gateway-pull";
    case NsEventKind::rxpk_dropped:
      return "rxpk-dropped";
    case NsEventKind::frame_dropped:
      return "frame-dropped";
    case NsEventKind::late_copy:
      return "late-copy";
    case NsEventKind::join_request:
      return "join-request";
    case NsEventKind::join_accepted:
      return "join-accepted";
    case NsEventKind::join_failed:
      return "join-failed";
    case NsEventKind::rejoin_request:
      return "rejoin-request";
    case NsEventKind::data_uplink:
      return "data-uplink";
    case NsEventKind::unknown_dev_addr:
      return "unknown-dev-addr";
    case NsEventKind::downlink_sent:
      return "downlink-sent";
    case NsEventKind::downlink_not_sent:
      return "downlink-not-sent";
    case NsEventKind::tx_ack:
      return "tx-ack";
    case NsEventKind::downlink_failed:
      return "downlink-failed";
  }
  return "?";
}

namespace {

// A JS's free text as a JSON string (escaped, ASCII only), its first 200 characters.
std::string json_string_text(std::string_view text) {
  constexpr std::size_t kMax = 200;
  std::string s(text.substr(0, kMax));
  if (text.size() > kMax) s += "...";
  return nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string to_string(const NsEvent& e) {
  std::ostringstream o;
  o << '#' << e.sequence << ' ' << to_string(e.kind);
  if (!e.peer.empty()) o << " peer=" << e.peer;
  if (e.gateway) o << " gateway=" << e.gateway->hex();
  if (e.dev_eui) o << " dev_eui=" << e.dev_eui->hex();
  if (e.dev_addr) o << " dev_addr=" << e.dev_addr->hex();
  if (e.mtype) o << " mtype=" << lorawan::to_string(*e.mtype);
  if (e.copies > 0) o << " copies=" << e.copies;
  if (e.repeats > 0) o << " repeats=" << e.repeats;
  if (e.copies_dropped > 0) o << " copies_dropped=" << e.copies_dropped;
  if (e.fcnt) o << " fcnt=" << *e.fcnt;
  if (e.fport) o << " fport=" << unsigned{*e.fport};
  if (e.confirmed) o << " confirmed";
  if (e.mic_valid) o << " mic=" << (*e.mic_valid ? "valid" : "invalid");
  if (e.result) o << " result=" << backend::to_string(*e.result);
  if (e.downlink) o << " downlink=" << to_string(*e.downlink);
  if (e.window) o << " window=" << to_string(*e.window);
  if (e.tmst) o << " tmst=" << *e.tmst;
  if (e.token) o << " token=" << *e.token;
  if (!e.result_description.empty()) o << " description=" << json_string_text(e.result_description);
  if (!e.detail.empty()) o << ": " << lorawan::escape_control(e.detail);  // a newline would forge an event line
  return o.str();
}

// ---------------------------------------------------------------------------------------------

namespace {

constexpr std::size_t kMaxDownlinksKept = 64;
// A PULL_RESP waits this long for its TX_ACK before it is forgotten (the RX2 retry is long past).
constexpr std::chrono::seconds kPendingTxAckKeep{30};
constexpr std::size_t kMaxPendingTxAcks = 4096;
// Frames kept for deduplication at once; further new frames are dropped (and logged).
constexpr std::size_t kMaxGroups = 4096;
// Receptions remembered to recognise one sent again (a PUSH_DATA retried after a lost PUSH_ACK:
// joincheck's gateway retries for attempts × ack_timeout, 3 s by default).
constexpr std::chrono::seconds kReceptionMemory{30};
constexpr std::size_t kMaxReceptions = 4096;

using gwmp::endpoint_text;

// Where a gateway's downlinks go, as its last PULL_DATA said.
struct GatewayAddress {
  udp::endpoint peer;
  std::uint8_t protocol_version = gwmp::kProtocolVersion;  // of that PULL_DATA
  std::uint64_t last_pull = 0;  // order of the PULL_DATAs: the smallest is heard from longest ago
};

// One reception by one gateway: a PUSH_DATA sent again carries the same.
struct Reception {
  lorawan::Eui64 gateway;
  std::uint32_t tmst = 0;
  lorawan::Bytes phy;
  friend bool operator<(const Reception& a, const Reception& b) {
    return std::tie(a.gateway, a.tmst, a.phy) < std::tie(b.gateway, b.tmst, b.phy);
  }
};

// One copy of a frame as one gateway heard it.
struct Copy {
  lorawan::Eui64 gateway;
  udp::endpoint peer;
  gwmp::RxPacket rx;
};

// The copies of one PHYPayload, one per gateway.
struct Group {
  lorawan::Bytes phy;
  Clock::time_point first;
  std::vector<Copy> copies;
  std::size_t repeats = 0;         // receptions sent again by a gateway already among the copies
  std::size_t copies_dropped = 0;  // beyond max_copies_per_frame
  bool processed = false;

  // The best rssi, then the best lsnr; the earliest copy on a tie.
  const Copy& best() const {
    const Copy* b = &copies.front();
    for (const Copy& c : copies) {
      if (c.rx.rssi > b->rx.rssi || (c.rx.rssi == b->rx.rssi && c.rx.lsnr > b->rx.lsnr)) b = &c;
    }
    return *b;
  }
};

// The network session of a joined device (keys stay here, never in state or events).
struct Session {
  lorawan::Eui64 dev_eui;
  lorawan::NetworkSessionKeys keys;
  std::optional<std::uint32_t> last_fcnt_up;
  std::uint32_t fcnt_down = 0;
  std::uint8_t rx_delay = 1;
  std::uint8_t rx1_dr_offset = 0;
  std::optional<std::uint8_t> rx2_data_rate;
};

// A downlink to send in RX1, or RX2 when RX1 is impossible, too late or refused.
struct DownlinkPlan {
  lorawan::Eui64 dev_eui;
  DownlinkKind kind = DownlinkKind::join_accept;
  lorawan::Bytes phy;
  lorawan::Eui64 gateway;
  std::uint32_t uplink_tmst = 0;
  std::optional<lorawan::DownlinkWindow> rx1;  // nullopt when it cannot be computed
  std::string rx1_problem;                     // why, then
  lorawan::DownlinkWindow rx2;
  std::chrono::microseconds delay1{0};
  std::chrono::microseconds delay2{0};
  Clock::time_point rx1_deadline;  // the last moment a PULL_RESP for the window is sent
  Clock::time_point rx2_deadline;
  std::optional<std::uint32_t> fcnt_down;
};

struct PendingDownlink {
  DownlinkPlan plan;
  NsRxWindow window = NsRxWindow::rx1;
  Clock::time_point sent_at;
};

struct JoinJob {
  backend::JoinReq request;
  lorawan::Eui64 dev_eui;
  lorawan::DevAddr dev_addr;
  bool opt_neg = false;
  Copy best;
  Clock::time_point received_at;
  std::size_t copies = 0;
  std::size_t repeats = 0;
  std::size_t copies_dropped = 0;
};

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

struct NetworkServer::Impl {
  // Declared first: destroyed last, after everything its suspended coroutines refer to.
  asio::io_context io;

  NetworkServerOptions options;
  const lorawan::Region& region;
  lorawan::NetId addr_net_id;
  backend::KekTable keks;
  udp::endpoint listen_endpoint;
  std::unique_ptr<NsClient> client;

  std::optional<udp::socket> socket;
  std::uint16_t bound_port = 0;
  std::thread io_thread;
  std::thread js_thread;
  bool started = false;
  bool stopped = false;
  std::mutex lifecycle;

  // JS queue.
  std::mutex js_m;
  std::condition_variable js_cv;
  std::deque<JoinJob> js_queue;
  bool js_stop = false;

  // Shared with readers.
  mutable std::mutex m;
  std::deque<NsEvent> events;
  std::uint64_t event_sequence = 0;
  std::uint64_t events_dropped = 0;
  std::map<lorawan::Eui64, NsDeviceState> devices;
  std::deque<lorawan::Eui64> device_order;  // oldest first, for max_devices
  NsDropped dropped_counts;

  // Asio thread only.
  std::map<lorawan::Bytes, std::shared_ptr<Group>> groups;
  std::map<lorawan::Eui64, GatewayAddress> gateways;
  std::uint64_t pulls = 0;
  std::map<Reception, Clock::time_point> receptions;
  std::deque<std::map<Reception, Clock::time_point>::iterator> reception_order;  // oldest first
  std::map<lorawan::DevAddr, Session> sessions;
  std::map<std::uint16_t, PendingDownlink> pending;
  std::uint16_t next_token = 0;
  std::uint32_t next_nwk_addr = 0;

  explicit Impl(NetworkServerOptions o)
      : options(std::move(o)),
        region(lorawan::Region::get(options.region)),
        addr_net_id(options.net_id.value_or(options.js.net_id)),
        keks(options.js.keks) {
    if (options.rx_delay > 15) {
      throw lorawan::Error("NetworkServer rx_delay: expected 0..15 (seconds, 0 means 1), got " +
                           std::to_string(options.rx_delay));
    }
    if (options.rx1_dr_offset > 7) {
      throw lorawan::Error("NetworkServer rx1_dr_offset: expected 0..7, got " +
                           std::to_string(options.rx1_dr_offset));
    }
    if (options.rx2_data_rate &&
        (*options.rx2_data_rate > 15 || !region.downlink_rate(*options.rx2_data_rate))) {
      throw lorawan::Error("NetworkServer rx2_data_rate: expected a downlink DR of " +
                           std::string(region.name()) + ", got DR" +
                           std::to_string(*options.rx2_data_rate));
    }
    if (options.dedup_window.count() < 0) {
      throw lorawan::Error("NetworkServer dedup_window: expected >= 0 ms, got " +
                           std::to_string(options.dedup_window.count()) + " ms");
    }
    if (options.max_events == 0)
      throw lorawan::Error("NetworkServer max_events: expected >= 1, got 0");
    if (options.max_pending_joins == 0) {
      throw lorawan::Error("NetworkServer max_pending_joins: expected >= 1, got 0");
    }
    if (options.max_gateways == 0)
      throw lorawan::Error("NetworkServer max_gateways: expected >= 1, got 0");
    if (options.max_devices == 0)
      throw lorawan::Error("NetworkServer max_devices: expected >= 1, got 0");
    if (options.max_copies_per_frame == 0) {
      throw lorawan::Error("NetworkServer max_copies_per_frame: expected >= 1, got 0");
    }
    backend::HttpServerOptions where;
    backend::parse_listen_address(options.listen, where);
    boost::system::error_code ec;
    const asio::ip::address address =
        asio::ip::make_address(where.host == "localhost" ? "127.0.0.1" : where.host, ec);
    if (ec) {
      throw lorawan::Error("NetworkServer listen: expected an IP address before the port, got " +
                           lorawan::quote_for_error(options.listen));
    }
    listen_endpoint = udp::endpoint(address, where.port);
    next_nwk_addr = options.first_nwk_addr;
    std::random_device rd;
    next_token = static_cast<std::uint16_t>(rd());
    client = std::make_unique<NsClient>(options.js);
  }

  // ---- events and state ----------------------------------------------------------------------

  void emit(NsEvent e) {
    e.time = std::chrono::system_clock::now();
    {
      std::lock_guard lock(m);
      e.sequence = ++event_sequence;
      events.push_back(e);
      while (events.size() > options.max_events) {
        events.pop_front();
        ++events_dropped;
      }
    }
    if (options.on_event) {
      try {
        options.on_event(e);
      } catch (...) {
        // An observer's failure is not the NS's.
      }
    }
  }

  template <class F>
  void update_device(const lorawan::Eui64& dev_eui, F&& f) {
    std::lock_guard lock(m);
    auto [it, inserted] = devices.try_emplace(dev_eui);
    if (inserted) {
      it->second.dev_eui = dev_eui;
      it->second.mac_version = mac_version_of(dev_eui);
      // Any join-request names a DevEUI: the first seen is forgotten beyond max_devices.
      device_order.push_back(dev_eui);
      while (devices.size() > options.max_devices && device_order.front() != dev_eui) {
        devices.erase(device_order.front());
        device_order.pop_front();
        ++dropped_counts.devices;
      }
    }
    f(it->second);
  }

  lorawan::MacVersion mac_version_of(const lorawan::Eui64& dev_eui) const {
    const auto it = options.mac_versions.find(dev_eui);
    return it == options.mac_versions.end() ? options.default_mac_version : it->second;
  }

  NsEvent frame_event(NsEventKind kind, const Group& g) const {
    NsEvent e;
    e.kind = kind;
    const Copy& best = g.best();
    e.peer = endpoint_text(best.peer);
    e.gateway = best.gateway;
    e.copies = g.copies.size();
    e.repeats = g.repeats;
    e.copies_dropped = g.copies_dropped;
    e.tmst = best.rx.tmst;
    if (!g.phy.empty()) e.mtype = lorawan::mtype_of(g.phy[0]);
    return e;
  }

  static std::string heard_by(const Group& g) {
    std::ostringstream o;
    o << "heard by " << g.copies.size() << (g.copies.size() == 1 ? " copy" : " copies") << " (";
    bool first = true;
    for (const Copy& c : g.copies) {
      if (!first) o << ", ";
      first = false;
      o << c.gateway.hex() << " rssi " << c.rx.rssi << " lsnr " << c.rx.lsnr << " tmst "
        << c.rx.tmst;
    }
    o << ")";
    if (g.repeats > 0) {
      o << ", " << g.repeats << (g.repeats == 1 ? " repeat" : " repeats")
        << " (a reception sent again by the same gateway)";
    }
    if (g.copies_dropped > 0) {
      o << ", " << g.copies_dropped << " more " << (g.copies_dropped == 1 ? "copy" : "copies")
        << " not kept (at most " << g.copies.size() << " per frame)";
    }
    o << "; downlink gateway " << g.best().gateway.hex();
    return o.str();
  }

  // ---- UDP ------------------------------------------------------------------------------------

  // Non-blocking: a datagram that cannot be queued now is an error, never a wait.
  bool send_datagram(const lorawan::Bytes& bytes, const udp::endpoint& to, std::string& error) {
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

  void send_gwmp(const gwmp::Packet& p, const udp::endpoint& to) {
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

  asio::awaitable<void> receive_loop() {
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

  void handle_datagram(lorawan::ByteSpan data, const udp::endpoint& peer) {
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
      on_pull_data(pull->gateway, packet.protocol_version, peer);
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

  // Remembers where `gateway`'s downlinks go, and in which protocol version.
  void on_pull_data(const lorawan::Eui64& gateway, std::uint8_t version,
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
      std::lock_guard lock(m);
      ++dropped_counts.gateways;
    }
    GatewayAddress& g = it->second;
    const bool changed = !inserted && (g.peer != peer || g.protocol_version != version);
    const std::string was =
        changed ? endpoint_text(g.peer) +
                      (g.protocol_version != version
                           ? " in protocol version " + std::to_string(g.protocol_version)
                           : std::string())
                : std::string();
    g.peer = peer;
    g.protocol_version = version;
    g.last_pull = ++pulls;
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

  // ---- deduplication -------------------------------------------------------------------------

  // Whether `r` was seen within kReceptionMemory; remembered when not.
  bool repeated_reception(const Reception& r, Clock::time_point now) {
    while (!reception_order.empty() && (reception_order.front()->second + kReceptionMemory < now ||
                                        reception_order.size() >= kMaxReceptions)) {
      receptions.erase(reception_order.front());
      reception_order.pop_front();
    }
    const auto [it, inserted] = receptions.try_emplace(r, now);
    if (inserted) reception_order.push_back(it);
    return !inserted;
  }

  void accept_rxpk(const lorawan::Eui64& gateway, const udp::endpoint& peer, gwmp::RxPacket rx) {
    std::string problem;
    if (rx.stat != 1) {
      problem = "stat " + std::to_string(rx.stat) + ": expected 1 (CRC OK)";
    } else if (rx.modu != "LORA") {
      problem = "modu " + lorawan::quote_for_error(rx.modu) + ": expected \"LORA\"";
    } else if (rx.data.empty()) {
      problem = "empty data";
    }
    if (!problem.empty()) {
      NsEvent e;
      e.kind = NsEventKind::rxpk_dropped;
      e.peer = endpoint_text(peer);
      e.gateway = gateway;
      e.tmst = rx.tmst;
      e.detail = "rxpk " + problem;
      emit(std::move(e));
      return;
    }
    const auto it = groups.find(rx.data);
    if (repeated_reception(Reception{gateway, rx.tmst, rx.data}, Clock::now())) {
      // The same reception sent again (a PUSH_DATA retried after a lost PUSH_ACK): not a frame.
      if (it != groups.end() && !it->second->processed) {
        ++it->second->repeats;
        return;
      }
      NsEvent e;
      e.kind = NsEventKind::rxpk_dropped;
      e.peer = endpoint_text(peer);
      e.gateway = gateway;
      e.tmst = rx.tmst;
      e.mtype = lorawan::mtype_of(rx.data[0]);
      e.detail =
          "rxpk repeated: this gateway already forwarded the frame with this tmst (a "
          "PUSH_DATA sent again), and it was handled; dropped";
      emit(std::move(e));
      return;
    }
    if (it != groups.end()) {
      Group& g = *it->second;
      const bool from_known_gateway = std::any_of(
          g.copies.begin(), g.copies.end(), [&](const Copy& c) { return c.gateway == gateway; });
      if (g.processed) {
        NsEvent e;
        e.kind = NsEventKind::late_copy;
        e.peer = endpoint_text(peer);
        e.gateway = gateway;
        e.tmst = rx.tmst;
        e.mtype = lorawan::mtype_of(rx.data[0]);
        e.detail = "copy arrived after the " + std::to_string(options.dedup_window.count()) +
                   " ms deduplication window of its frame; dropped";
        emit(std::move(e));
      } else if (from_known_gateway) {
        ++g.repeats;  // one gateway, one copy
      } else if (g.copies.size() >= options.max_copies_per_frame) {
        ++g.copies_dropped;
        std::lock_guard lock(m);
        ++dropped_counts.copies;
      } else {
        g.copies.push_back(Copy{gateway, peer, std::move(rx)});
      }
      return;
    }
    if (groups.size() >= kMaxGroups) {
      NsEvent e;
      e.kind = NsEventKind::rxpk_dropped;
      e.peer = endpoint_text(peer);
      e.gateway = gateway;
      e.tmst = rx.tmst;
      e.detail = "more than " + std::to_string(kMaxGroups) + " frames in deduplication; dropped";
      emit(std::move(e));
      return;
    }
    auto g = std::make_shared<Group>();
    g->phy = rx.data;
    g->first = Clock::now();
    g->copies.push_back(Copy{gateway, peer, std::move(rx)});
    groups.emplace(g->phy, g);
    asio::co_spawn(io, close_group(std::move(g)), asio::detached);
  }

  asio::awaitable<void> close_group(std::shared_ptr<Group> g) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    boost::system::error_code ec;
    timer.expires_at(g->first + options.dedup_window);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    g->processed = true;
    try {
      process(*g);
    } catch (const std::exception& ex) {
      NsEvent e = frame_event(NsEventKind::frame_dropped, *g);
      e.detail = std::string("frame not handled: ") + ex.what();
      emit(std::move(e));
    }
    // Remembered for another window, so that late copies are recognised as such.
    timer.expires_at(g->first + 2 * options.dedup_window);
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    const auto it = groups.find(g->phy);
    if (it != groups.end() && it->second == g) groups.erase(it);
  }

  void process(const Group& g) {
    const lorawan::MType type = lorawan::mtype_of(g.phy[0]);
    switch (type) {
      case lorawan::MType::join_request:
        handle_join_request(g);
        return;
      case lorawan::MType::rejoin_request:
        handle_rejoin_request(g);
        return;
      case lorawan::MType::unconfirmed_data_up:
      case lorawan::MType::confirmed_data_up:
        handle_data_uplink(g);
        return;
      default: {
        NsEvent e = frame_event(NsEventKind::frame_dropped, g);
        e.detail = "MType " + std::string(lorawan::to_string(type)) +
                   ": expected a join-request, rejoin-request or data uplink; " + heard_by(g);
        emit(std::move(e));
      }
    }
  }

  // ---- radio ---------------------------------------------------------------------------------

  std::optional<std::uint8_t> uplink_dr(const gwmp::RxPacket& rx) const {
    const auto rate = lorawan::parse_datr(rx.datr);
    if (!rate) return std::nullopt;
    return region.uplink_data_rate(*rate);
  }

  std::optional<std::uint8_t> uplink_channel(const gwmp::RxPacket& rx) const {
    const auto& channels = region.uplink_channels();
    const auto it = std::find(channels.begin(), channels.end(), rx.frequency_hz);
    if (it == channels.end() || it - channels.begin() > 255) return std::nullopt;
    return static_cast<std::uint8_t>(it - channels.begin());
  }

  DownlinkPlan plan_for(const lorawan::Eui64& dev_eui, DownlinkKind kind, lorawan::Bytes phy,
                        const Copy& best, Clock::time_point received_at,
                        std::chrono::microseconds delay1, std::chrono::microseconds delay2,
                        std::uint8_t rx1_dr_offset, std::optional<std::uint8_t> rx2_dr) const {
    DownlinkPlan p;
    p.dev_eui = dev_eui;
    p.kind = kind;
    p.phy = std::move(phy);
    p.gateway = best.gateway;
    p.uplink_tmst = best.rx.tmst;
    p.delay1 = delay1;
    p.delay2 = delay2;
    const auto dr = uplink_dr(best.rx);
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

  void schedule(DownlinkPlan plan) {
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

  void send_downlink(DownlinkPlan plan, NsRxWindow window, const std::string& why) {
    // A copy: the plan moves into `pending` before the event is written.
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
    gwmp::TxPacket tx;
    tx.imme = false;
    // Modulo 2^32, as the gateway counter wraps; the tmst-offset fault may be negative.
    const std::int64_t tmst_offset = delay.count() + options.faults.downlink_tmst_offset_us;
    tx.tmst = static_cast<std::uint32_t>(
        (std::int64_t{plan.uplink_tmst} + tmst_offset) & std::int64_t{0xffffffff});
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
    gwmp::Packet p;
    p.token = next_token++;
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
    prune_pending();
    pending[p.token] = PendingDownlink{std::move(plan), window, Clock::now()};

    std::string error;
    if (!send_datagram(gwmp::encode(p), to, error)) {
      pending.erase(p.token);
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

  void prune_pending() {
    const Clock::time_point limit = Clock::now() - kPendingTxAckKeep;
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->second.sent_at < limit) {
        it = pending.erase(it);
      } else {
        ++it;
      }
    }
    while (pending.size() >= kMaxPendingTxAcks) pending.erase(pending.begin());
  }

  void set_downlink_status(const lorawan::Eui64& dev_eui, std::uint16_t token,
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

  void handle_tx_ack(std::uint16_t token, const gwmp::TxAck& ack, const udp::endpoint& peer) {
    NsEvent e;
    e.kind = NsEventKind::tx_ack;
    e.peer = endpoint_text(peer);
    e.gateway = ack.gateway;
    e.token = token;
    const std::string error =
        ack.error ? std::string(gwmp::to_string(*ack.error)) : std::string("NONE");
    const auto it = pending.find(token);
    if (it == pending.end() || it->second.plan.gateway != ack.gateway) {
      e.detail = "TX_ACK " + error + " matches no PULL_RESP sent to this gateway";
      emit(std::move(e));
      return;
    }
    PendingDownlink done = std::move(it->second);
    pending.erase(it);
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

  // ---- joins ---------------------------------------------------------------------------------

  void handle_join_request(const Group& g) {
    lorawan::JoinRequest jr;
    try {
      jr = lorawan::parse_join_request(g.phy);
    } catch (const std::exception& ex) {
      NsEvent e = frame_event(NsEventKind::frame_dropped, g);
      e.detail = std::string("join-request does not parse: ") + ex.what();
      emit(std::move(e));
      return;
    }
    const lorawan::MacVersion mac = mac_version_of(jr.dev_eui);
    // ChirpStack's rule (chirpstack/chirpstack chirpstack/src/uplink/join.rs).
    const bool opt_neg = lorawan::is_1_1(mac);
    const lorawan::DevAddr dev_addr = dev_addr_for(addr_net_id, next_nwk_addr++);
    const std::uint8_t rx2_dr = options.rx2_data_rate.value_or(region.rx2().data_rate);

    backend::JoinReq req;
    req.header = client->request_header(backend::MessageType::join_req, jr.join_eui.hex());
    req.mac_version = backend::MacVersionField{mac, {}};
    req.phy_payload = g.phy;
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
    NsEvent e = frame_event(NsEventKind::join_request, g);
    e.dev_eui = jr.dev_eui;
    e.dev_addr = dev_addr;
    e.detail = "JoinEUI " + jr.join_eui.hex() + ", DevNonce " +
               std::to_string(jr.dev_nonce.value()) + ", MACVersion " +
               std::string(lorawan::to_string(mac)) + "; " + heard_by(g);
    emit(std::move(e));

    JoinJob job;
    job.request = std::move(req);
    job.dev_eui = jr.dev_eui;
    job.dev_addr = dev_addr;
    job.opt_neg = opt_neg;
    job.best = g.best();
    job.received_at = g.first;
    job.copies = g.copies.size();
    job.repeats = g.repeats;
    job.copies_dropped = g.copies_dropped;
    {
      std::lock_guard lock(js_m);
      if (js_queue.size() < options.max_pending_joins) {
        js_queue.push_back(std::move(job));
        js_cv.notify_one();
        return;
      }
    }
    NsEvent f = frame_event(NsEventKind::join_failed, g);
    f.dev_eui = jr.dev_eui;
    f.dev_addr = dev_addr;
    f.detail = "not sent to the JS: " + std::to_string(options.max_pending_joins) +
               " join-requests already wait for it";
    emit(std::move(f));
  }

  void js_loop() {
    for (;;) {
      JoinJob job;
      {
        std::unique_lock lock(js_m);
        js_cv.wait(lock, [&] { return js_stop || !js_queue.empty(); });
        if (js_stop) return;
        job = std::move(js_queue.front());
        js_queue.pop_front();
      }
      // A JoinAns after JOIN_ACCEPT_DELAY2 is of no use: the exchange's deadline is capped there.
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          job.received_at + lorawan::kJoinAcceptDelay2 - options.downlink_lead - Clock::now());
      if (left.count() <= 0) {
        NsEvent e;
        e.kind = NsEventKind::join_failed;
        e.gateway = job.best.gateway;
        e.dev_eui = job.dev_eui;
        e.dev_addr = job.dev_addr;
        e.copies = job.copies;
        e.detail = "not sent to the JS: the join-request waited past JOIN_ACCEPT_DELAY2";
        emit(std::move(e));
        continue;
      }
      SendOptions so;
      so.timeout = std::min(options.js.timeout, left);
      Exchange ex = client->send(job.request, so);
      if (options.on_exchange) {
        try {
          options.on_exchange(ex);
        } catch (...) {
          // An observer's failure is not the NS's.
        }
      }
      asio::post(io, [this, job = std::move(job), ex = std::move(ex)]() {
        try {
          on_join_answer(job, ex);
        } catch (const std::exception& err) {
          NsEvent e;
          e.kind = NsEventKind::join_failed;
          e.dev_eui = job.dev_eui;
          e.detail = std::string("JoinAns not handled: ") + err.what();
          emit(std::move(e));
        }
      });
    }
  }

  void on_join_answer(const JoinJob& job, const Exchange& ex) {
    NsEvent e;
    e.gateway = job.best.gateway;
    e.peer = endpoint_text(job.best.peer);
    e.tmst = job.best.rx.tmst;
    e.dev_eui = job.dev_eui;
    e.dev_addr = job.dev_addr;
    e.copies = job.copies;
    e.repeats = job.repeats;
    e.copies_dropped = job.copies_dropped;
    e.mtype = lorawan::MType::join_request;
    auto fail = [&](std::string detail, std::optional<backend::ResultCode> code) {
      e.kind = NsEventKind::join_failed;
      e.detail = std::move(detail) + "; no join-accept sent";
      update_device(job.dev_eui, [&](NsDeviceState& s) { s.last_join_result = code; });
      emit(std::move(e));
    };
    if (!ex.answered()) {
      std::string why = !ex.transport_error.empty() ? "JS exchange failed: " + ex.transport_error
                        : !ex.decode_error.empty() ? "JS answer does not decode: " + ex.decode_error
                                                   : std::string("no answer from the JS");
      if (ex.http_status != 0) why += " (HTTP " + std::to_string(ex.http_status) + ")";
      fail(std::move(why), std::nullopt);
      return;
    }
    const auto* ans = std::get_if<backend::JoinAns>(&ex.decoded->message);
    if (!ans) {
      fail("JS answered with " +
               std::string(backend::to_string(backend::message_type_of(ex.decoded->message))) +
               ", expected JoinAns",
           std::nullopt);
      return;
    }
    if (!ans->result) {
      fail("JoinAns without Result", std::nullopt);
      return;
    }
    e.result = ans->result->code;
    e.result_description = ans->result->description.value_or("");
    if (!ans->result->is_success()) {
      fail("JS answered " + std::string(backend::to_string(ans->result->code)), ans->result->code);
      return;
    }
    if (!ans->phy_payload || ans->phy_payload->empty()) {
      fail("JoinAns Success without PHYPayload", ans->result->code);
      return;
    }
    const bool has_1_1 = ans->f_nwk_s_int_key && ans->s_nwk_s_int_key && ans->nwk_s_enc_key;
    const bool has_1_0 = ans->nwk_s_key.has_value();
    std::optional<lorawan::NetworkSessionKeys> keys;
    std::string key_text;
    try {
      auto label = [](const backend::KeyEnvelope& k) {
        return k.is_clear() ? std::string(" (clear)") : " (KEK " + k.kek_label + ")";
      };
      if (has_1_1 && (job.opt_neg || !has_1_0)) {
        keys = lorawan::NetworkSessionKeys::v1_1(ans->f_nwk_s_int_key->unwrap(keks),
                                                 ans->s_nwk_s_int_key->unwrap(keks),
                                                 ans->nwk_s_enc_key->unwrap(keks));
        key_text = "FNwkSIntKey" + label(*ans->f_nwk_s_int_key) + ", SNwkSIntKey" +
                   label(*ans->s_nwk_s_int_key) + ", NwkSEncKey" + label(*ans->nwk_s_enc_key);
      } else if (has_1_0) {
        keys = lorawan::NetworkSessionKeys::v1_0(ans->nwk_s_key->unwrap(keks));
        key_text = "NwkSKey" + label(*ans->nwk_s_key);
      }
      if (ans->app_s_key) key_text += ", AppSKey" + label(*ans->app_s_key);
    } catch (const std::exception& err) {
      fail(std::string("JoinAns session key unusable: ") + err.what(), ans->result->code);
      return;
    }
    if (!keys) {
      fail(std::string("JoinAns Success without network session keys: expected ") +
               (job.opt_neg ? "FNwkSIntKey, SNwkSIntKey and NwkSEncKey" : "NwkSKey"),
           ans->result->code);
      return;
    }
    if (keys->lorawan_1_1 != job.opt_neg) {
      key_text += job.opt_neg ? "; OptNeg=1 was sent, but the JS gave the 1.0 NwkSKey only"
                              : "; OptNeg=0 was sent, but the JS gave LoRaWAN 1.1 keys only";
    }

    // The new session replaces the device's previous one.
    for (auto it = sessions.begin(); it != sessions.end();) {
      if (it->second.dev_eui == job.dev_eui) {
        it = sessions.erase(it);
      } else {
        ++it;
      }
    }
    Session s;
    s.dev_eui = job.dev_eui;
    s.keys = *keys;
    s.rx_delay = options.rx_delay;
    s.rx1_dr_offset = options.rx1_dr_offset;
    s.rx2_data_rate = options.rx2_data_rate;
    sessions[job.dev_addr] = s;
    update_device(job.dev_eui, [&](NsDeviceState& d) {
      d.joined = true;
      d.dev_addr = job.dev_addr;
      d.lorawan_1_1_session = keys->lorawan_1_1;
      d.last_join_result = ans->result->code;
      d.app_s_key_received = ans->app_s_key.has_value();
      d.app_s_key_kek_label = ans->app_s_key ? ans->app_s_key->kek_label : std::string();
      d.lifetime = ans->lifetime;
      d.session_key_id = ans->session_key_id;
      d.last_fcnt_up.reset();
      d.uplinks = 0;
      d.mic_valid = 0;
      d.mic_invalid = 0;
      d.next_fcnt_down = 0;
    });
    e.kind = NsEventKind::join_accepted;
    e.detail = "session keys " + key_text +
               (ans->lifetime ? "; Lifetime " + std::to_string(*ans->lifetime) + " s" : "");
    emit(std::move(e));

    if (options.faults.no_join_accept) {
      NsEvent f;
      f.kind = NsEventKind::downlink_not_sent;
      f.gateway = job.best.gateway;
      f.dev_eui = job.dev_eui;
      f.dev_addr = job.dev_addr;
      f.downlink = DownlinkKind::join_accept;
      f.detail = "join-accept not sent (fault no_join_accept)";
      emit(std::move(f));
      return;
    }
    // Join-accepts use RX1DROffset 0 and the default RX2 (the device has no DLSettings yet).
    schedule(plan_for(job.dev_eui, DownlinkKind::join_accept, *ans->phy_payload, job.best,
                      job.received_at, lorawan::kJoinAcceptDelay1, lorawan::kJoinAcceptDelay2, 0,
                      std::nullopt));
  }

  void handle_rejoin_request(const Group& g) {
    NsEvent e = frame_event(NsEventKind::rejoin_request, g);
    lorawan::RejoinRequest rj;
    try {
      rj = lorawan::parse_rejoin_request(g.phy);
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
               std::to_string(rj.rj_count.value()) + mic_text + "; " + heard_by(g);
    emit(std::move(e));
  }

  // ---- data ----------------------------------------------------------------------------------

  void handle_data_uplink(const Group& g) {
    lorawan::DataFrame frame;
    try {
      frame = lorawan::DataFrame::parse(g.phy);
    } catch (const std::exception& ex) {
      NsEvent e = frame_event(NsEventKind::frame_dropped, g);
      e.detail = std::string("data frame does not parse: ") + ex.what();
      emit(std::move(e));
      return;
    }
    const auto it = sessions.find(frame.dev_addr);
    if (it == sessions.end()) {
      NsEvent e = frame_event(NsEventKind::unknown_dev_addr, g);
      e.dev_addr = frame.dev_addr;
      e.fport = frame.fport;
      e.confirmed = frame.confirmed();
      e.detail = "no session with DevAddr " + frame.dev_addr.hex() + " (16-bit FCnt " +
                 std::to_string(frame.fcnt) + "); " + heard_by(g);
      emit(std::move(e));
      return;
    }
    Session& s = it->second;
    const Copy& best = g.best();

    std::string detail;
    lorawan::MicContext ctx;
    bool can_verify = true;
    if (s.keys.lorawan_1_1) {
      // B1 carries the uplink's DR index and channel index (LoRaWAN 1.1 §4.4.2).
      const auto dr = uplink_dr(best.rx);
      const auto ch = uplink_channel(best.rx);
      if (!dr || !ch) {
        can_verify = false;
        detail = std::string("LoRaWAN 1.1 MIC needs TxDr and TxCh: ") +
                 (!dr ? "datr " + lorawan::quote_for_error(best.rx.datr) + " is not an uplink DR"
                      : "frequency " + std::to_string(best.rx.frequency_hz) +
                            " Hz is not a default channel") +
                 " of " + std::string(region.name()) + "; ";
      } else {
        ctx.tx_dr = *dr;
        ctx.tx_ch = *ch;
        detail = "B1 TxDr " + std::to_string(*dr) + " TxCh " + std::to_string(*ch) + "; ";
      }
    }
    const std::vector<std::uint32_t> candidates = fcnt_candidates(frame.fcnt, s.last_fcnt_up);
    std::uint32_t fcnt = candidates.front();
    bool mic_ok = false;
    if (can_verify) {
      for (std::uint32_t c : candidates) {
        ctx.fcnt = c;
        if (lorawan::verify_uplink_mic(frame, s.keys, ctx)) {
          fcnt = c;
          mic_ok = true;
          break;
        }
      }
    }
    bool accepted = false;  // FCnt new or a retransmission
    if (mic_ok) {
      if (!s.last_fcnt_up) {
        detail += "first FCnt of the session";
        accepted = true;
      } else if (fcnt > *s.last_fcnt_up) {
        detail += "FCnt up from " + std::to_string(*s.last_fcnt_up);
        accepted = true;
      } else if (fcnt == *s.last_fcnt_up) {
        detail += "FCnt repeated (retransmission)";
        accepted = true;
      } else {
        detail += "FCnt below the last " + std::to_string(*s.last_fcnt_up) + ": not accepted";
      }
      if (accepted && (!s.last_fcnt_up || fcnt > *s.last_fcnt_up)) s.last_fcnt_up = fcnt;
    } else if (can_verify) {
      detail += "MIC does not verify with the session's keys";
    }
    const std::optional<std::uint32_t> last = s.last_fcnt_up;
    update_device(s.dev_eui, [&](NsDeviceState& d) {
      ++d.uplinks;
      if (mic_ok) {
        ++d.mic_valid;
      } else {
        ++d.mic_invalid;
      }
      d.last_fcnt_up = last;
    });
    NsEvent e = frame_event(NsEventKind::data_uplink, g);
    e.dev_eui = s.dev_eui;
    e.dev_addr = frame.dev_addr;
    e.fcnt = fcnt;
    e.fport = frame.fport;
    e.confirmed = frame.confirmed();
    e.mic_valid = mic_ok;
    e.detail = detail + "; " + heard_by(g);
    emit(std::move(e));

    if (!frame.confirmed() || !mic_ok || !accepted) return;
    if (options.faults.no_ack) {
      NsEvent f = frame_event(NsEventKind::downlink_not_sent, g);
      f.dev_eui = s.dev_eui;
      f.dev_addr = frame.dev_addr;
      f.fcnt = fcnt;
      f.downlink = DownlinkKind::ack;
      f.detail = "ACK not sent (fault no_ack)";
      emit(std::move(f));
      return;
    }
    // The ACK: unconfirmed data down, FCtrl.ACK, no FPort (LoRaWAN 1.0.x/1.1 §4.3.1.2, §18).
    lorawan::DataParams p;
    p.confirmed = false;
    p.dev_addr = frame.dev_addr;
    p.fcnt = s.fcnt_down++;
    p.fctrl.ack = true;
    p.conf_fcnt = fcnt;
    const lorawan::Bytes phy = lorawan::build_downlink(p, s.keys).encode();
    const std::uint32_t next_down = s.fcnt_down;
    update_device(s.dev_eui, [&](NsDeviceState& d) { d.next_fcnt_down = next_down; });
    const std::chrono::microseconds delay1 = lorawan::receive_delay1(s.rx_delay);
    DownlinkPlan plan =
        plan_for(s.dev_eui, DownlinkKind::ack, phy, best, g.first, delay1,
                 delay1 + std::chrono::seconds(1), s.rx1_dr_offset, s.rx2_data_rate);
    plan.fcnt_down = p.fcnt;
    schedule(std::move(plan));
  }

  // ---- lifecycle -----------------------------------------------------------------------------

  void start() {
    std::lock_guard lock(lifecycle);
    if (started) throw lorawan::Error("NetworkServer: start() called twice");
    started = true;
    socket.emplace(io);
    boost::system::error_code ec;
    socket->open(listen_endpoint.protocol(), ec);
    if (!ec) socket->bind(listen_endpoint, ec);
    if (ec) {
      socket.reset();
      throw std::system_error(ec,
                              "NetworkServer: cannot bind UDP " + endpoint_text(listen_endpoint));
    }
    socket->non_blocking(true, ec);
    bound_port = socket->local_endpoint().port();
    asio::co_spawn(io, receive_loop(), asio::detached);
    io_thread = std::thread([this] { io.run(); });
    js_thread = std::thread([this] { js_loop(); });
  }

  void stop() {
    std::lock_guard lock(lifecycle);
    if (stopped) return;
    stopped = true;
    {
      std::lock_guard q(js_m);
      js_stop = true;
    }
    js_cv.notify_all();
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    // Returns once an exchange under way has ended (its deadline at most).
    if (js_thread.joinable()) js_thread.join();
    if (socket) {
      boost::system::error_code ec;
      socket->close(ec);
    }
  }
};

NetworkServer::NetworkServer(NetworkServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

NetworkServer::~NetworkServer() { stop(); }

void NetworkServer::start() { impl_->start(); }
void NetworkServer::stop() { impl_->stop(); }
std::uint16_t NetworkServer::port() const { return impl_->bound_port; }
NsClient& NetworkServer::js_client() { return *impl_->client; }
const lorawan::Region& NetworkServer::region() const { return impl_->region; }

std::vector<NsEvent> NetworkServer::events() const {
  std::lock_guard lock(impl_->m);
  return {impl_->events.begin(), impl_->events.end()};
}

std::uint64_t NetworkServer::events_dropped() const {
  std::lock_guard lock(impl_->m);
  return impl_->events_dropped;
}

NsDropped NetworkServer::dropped() const {
  std::lock_guard lock(impl_->m);
  return impl_->dropped_counts;
}

std::optional<NsDeviceState> NetworkServer::device(const lorawan::Eui64& dev_eui) const {
  std::lock_guard lock(impl_->m);
  const auto it = impl_->devices.find(dev_eui);
  if (it == impl_->devices.end()) return std::nullopt;
  return it->second;
}

std::vector<NsDeviceState> NetworkServer::devices() const {
  std::lock_guard lock(impl_->m);
  std::vector<NsDeviceState> out;
  for (const auto& [eui, s] : impl_->devices) out.push_back(s);
  return out;
}

}  // namespace joincheck::sim
