// joincheck's Network Server (network_server.hpp): DevAddr assignment, names, the text of an
// event, the options check, the event log and device state, the lifecycle of the threads, and
// the public NetworkServer. What the Asio and JS threads do is in the network_server_*.cpp files
// beside this one (network_server_impl.hpp lists them).
#include "sim/network_server/network_server.hpp"

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <system_error>
#include <utility>

#include "backend/http_server.hpp"
#include "lorawan/hex.hpp"
#include "sim/network_server/network_server_impl.hpp"

namespace joincheck::sim {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using gwmp::endpoint_text;

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
  if (!e.detail.empty())
    o << ": " << lorawan::escape_control(e.detail);  // a newline would forge an event line
  return o.str();
}

// ---------------------------------------------------------------------------------------------
// Options.

namespace {

// Throws lorawan::Error naming the first option out of its range.
void check_options(const NetworkServerOptions& options, const lorawan::Region& region) {
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
}

// The UDP endpoint of the listen option ("HOST:PORT", HOST an IP address or localhost).
udp::endpoint listen_endpoint_of(const std::string& listen) {
  backend::HttpServerOptions where;
  backend::parse_listen_address(listen, where);
  boost::system::error_code ec;
  const asio::ip::address address =
      asio::ip::make_address(where.host == "localhost" ? "127.0.0.1" : where.host, ec);
  if (ec) {
    throw lorawan::Error("NetworkServer listen: expected an IP address before the port, got " +
                         lorawan::quote_for_error(listen));
  }
  return udp::endpoint(address, where.port);
}

}  // namespace

NetworkServer::Impl::Impl(NetworkServerOptions o)
    : options(std::move(o)),
      region(lorawan::Region::get(options.region)),
      dev_addr_net_id(options.net_id.value_or(options.js.net_id)),
      keks(options.js.keks) {
  check_options(options, region);
  listen_endpoint = listen_endpoint_of(options.listen);
  next_nwk_addr = options.first_nwk_addr;
  std::random_device rd;
  next_pull_resp_token = static_cast<std::uint16_t>(rd());
  js_client = std::make_unique<NsClient>(options.js);
}

// ---------------------------------------------------------------------------------------------
// Events and device state.

void NetworkServer::Impl::emit(NsEvent e) {
  e.time = std::chrono::system_clock::now();
  {
    std::lock_guard lock(state_mutex);
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

lorawan::MacVersion NetworkServer::Impl::mac_version_of(const lorawan::Eui64& dev_eui) const {
  const auto it = options.mac_versions.find(dev_eui);
  return it == options.mac_versions.end() ? options.default_mac_version : it->second;
}

NsEvent NetworkServer::Impl::frame_event(NsEventKind kind, const ReceivedFrame& frame) const {
  NsEvent e;
  e.kind = kind;
  const FrameCopy& best = frame.best();
  e.peer = endpoint_text(best.peer);
  e.gateway = best.gateway;
  e.copies = frame.copies.size();
  e.repeats = frame.repeats;
  e.copies_dropped = frame.copies_dropped;
  e.tmst = best.rx.tmst;
  if (!frame.phy.empty()) e.mtype = lorawan::mtype_of(frame.phy[0]);
  return e;
}

std::string NetworkServer::Impl::heard_by(const ReceivedFrame& frame) {
  std::ostringstream o;
  o << "heard by " << frame.copies.size() << (frame.copies.size() == 1 ? " copy" : " copies")
    << " (";
  bool first = true;
  for (const FrameCopy& c : frame.copies) {
    if (!first) o << ", ";
    first = false;
    o << c.gateway.hex() << " rssi " << c.rx.rssi << " lsnr " << c.rx.lsnr << " tmst " << c.rx.tmst;
  }
  o << ")";
  if (frame.repeats > 0) {
    o << ", " << frame.repeats << (frame.repeats == 1 ? " repeat" : " repeats")
      << " (a reception sent again by the same gateway)";
  }
  if (frame.copies_dropped > 0) {
    o << ", " << frame.copies_dropped << " more " << (frame.copies_dropped == 1 ? "copy" : "copies")
      << " not kept (at most " << frame.copies.size() << " per frame)";
  }
  o << "; downlink gateway " << frame.best().gateway.hex();
  return o.str();
}

// ---------------------------------------------------------------------------------------------
// Lifecycle.

void NetworkServer::Impl::start() {
  std::lock_guard lock(lifecycle_mutex);
  if (started) throw lorawan::Error("NetworkServer: start() called twice");
  started = true;
  socket.emplace(io);
  boost::system::error_code ec;
  socket->open(listen_endpoint.protocol(), ec);
  if (!ec) socket->bind(listen_endpoint, ec);
  if (ec) {
    socket.reset();
    throw std::system_error(ec, "NetworkServer: cannot bind UDP " + endpoint_text(listen_endpoint));
  }
  socket->non_blocking(true, ec);
  bound_port = socket->local_endpoint().port();
  asio::co_spawn(io, receive_loop(), asio::detached);
  io_thread = std::thread([this] { io.run(); });
  js_thread = std::thread([this] { send_queued_joins(); });
}

void NetworkServer::Impl::stop() {
  std::lock_guard lock(lifecycle_mutex);
  if (stopped) return;
  stopped = true;
  {
    std::lock_guard q(js_queue_mutex);
    js_stop = true;
  }
  js_queue_cv.notify_all();
  io.stop();
  if (io_thread.joinable()) io_thread.join();
  // Returns once an exchange under way has ended (its deadline at most).
  if (js_thread.joinable()) js_thread.join();
  if (socket) {
    boost::system::error_code ec;
    socket->close(ec);
  }
}

// ---------------------------------------------------------------------------------------------
// NetworkServer.

NetworkServer::NetworkServer(NetworkServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

NetworkServer::~NetworkServer() { stop(); }

void NetworkServer::start() { impl_->start(); }
void NetworkServer::stop() { impl_->stop(); }
std::uint16_t NetworkServer::port() const { return impl_->bound_port; }
NsClient& NetworkServer::js_client() { return *impl_->js_client; }
const lorawan::Region& NetworkServer::region() const { return impl_->region; }

std::vector<NsEvent> NetworkServer::events() const {
  std::lock_guard lock(impl_->state_mutex);
  return {impl_->events.begin(), impl_->events.end()};
}

std::uint64_t NetworkServer::events_dropped() const {
  std::lock_guard lock(impl_->state_mutex);
  return impl_->events_dropped;
}

NsDropped NetworkServer::dropped() const {
  std::lock_guard lock(impl_->state_mutex);
  return impl_->dropped_counts;
}

std::optional<NsDeviceState> NetworkServer::device(const lorawan::Eui64& dev_eui) const {
  std::lock_guard lock(impl_->state_mutex);
  const auto it = impl_->devices.find(dev_eui);
  if (it == impl_->devices.end()) return std::nullopt;
  return it->second;
}

std::vector<NsDeviceState> NetworkServer::devices() const {
  std::lock_guard lock(impl_->state_mutex);
  std::vector<NsDeviceState> out;
  for (const auto& [eui, s] : impl_->devices) out.push_back(s);
  return out;
}

}  // namespace joincheck::sim
