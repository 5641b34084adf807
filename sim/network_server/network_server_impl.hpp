#pragma once
// Internal to the Network Server (network_server.hpp): the state of a running NS, declared once,
// and the records it keeps while frames are deduplicated, joins wait for the JS and downlinks
// wait for their TX_ACK. Its members are defined by concept:
//   network_server.cpp                options, event log and device state, lifecycle
//   network_server_reception.cpp      UDP datagrams, gateways' addresses, deduplication
//   network_server_downlinks.cpp      RX1/RX2 planning, PULL_RESPs, TX_ACKs
//   network_server_joins.cpp          join-requests, the JS thread, JoinAns, rejoin-requests
//   network_server_data_uplinks.cpp   data uplinks: MIC, FCnt, ACKs

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "backend/key_envelope.hpp"
#include "backend/messages.hpp"
#include "lorawan/data_frame.hpp"
#include "lorawan/region.hpp"
#include "sim/gateway/gwmp.hpp"
#include "sim/network_server/network_server.hpp"

namespace joincheck::sim::detail {

using NsClock = std::chrono::steady_clock;
using udp = boost::asio::ip::udp;

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
struct FrameCopy {
  lorawan::Eui64 gateway;
  udp::endpoint peer;
  gwmp::RxPacket rx;
};

// A frame in deduplication: the copies of one PHYPayload, one per gateway.
struct ReceivedFrame {
  lorawan::Bytes phy;
  NsClock::time_point first;  // when its first copy arrived
  std::vector<FrameCopy> copies;
  std::size_t repeats = 0;         // receptions sent again by a gateway already among the copies
  std::size_t copies_dropped = 0;  // beyond max_copies_per_frame
  bool processed = false;          // its deduplication window has closed

  // The best rssi, then the best lsnr; the earliest copy on a tie.
  const FrameCopy& best() const {
    const FrameCopy* b = &copies.front();
    for (const FrameCopy& c : copies) {
      if (c.rx.rssi > b->rx.rssi || (c.rx.rssi == b->rx.rssi && c.rx.lsnr > b->rx.lsnr)) b = &c;
    }
    return *b;
  }
};

// The network session of a joined device (keys stay here, never in state or events).
struct NetworkSession {
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
  NsClock::time_point rx1_deadline;  // the last moment a PULL_RESP for the window is sent
  NsClock::time_point rx2_deadline;
  std::optional<std::uint32_t> fcnt_down;
};

// A PULL_RESP sent, waiting for its TX_ACK.
struct PendingDownlink {
  DownlinkPlan plan;
  NsRxWindow window = NsRxWindow::rx1;
  NsClock::time_point sent_at;
};

// A join-request waiting for the JS thread, with its JoinReq.
struct PendingJoin {
  backend::JoinReq request;
  lorawan::Eui64 dev_eui;
  lorawan::DevAddr dev_addr;
  bool opt_neg = false;
  FrameCopy best;
  NsClock::time_point received_at;
  std::size_t copies = 0;
  std::size_t repeats = 0;
  std::size_t copies_dropped = 0;
};

}  // namespace joincheck::sim::detail

namespace joincheck::sim {

struct NetworkServer::Impl {
  using Clock = detail::NsClock;
  using udp = detail::udp;
  using FrameCopy = detail::FrameCopy;
  using ReceivedFrame = detail::ReceivedFrame;
  using NetworkSession = detail::NetworkSession;
  using DownlinkPlan = detail::DownlinkPlan;
  using PendingDownlink = detail::PendingDownlink;
  using PendingJoin = detail::PendingJoin;

  // Declared first: destroyed last, after everything its suspended coroutines refer to.
  boost::asio::io_context io;

  NetworkServerOptions options;
  const lorawan::Region& region;
  lorawan::NetId dev_addr_net_id;  // the NetID DevAddrs are assigned under
  backend::KekTable keks;
  udp::endpoint listen_endpoint;
  std::unique_ptr<NsClient> js_client;

  std::optional<udp::socket> socket;
  std::uint16_t bound_port = 0;
  std::thread io_thread;
  std::thread js_thread;
  bool started = false;
  bool stopped = false;
  std::mutex lifecycle_mutex;  // start() and stop()

  // Join-requests queued for the JS thread.
  std::mutex js_queue_mutex;
  std::condition_variable js_queue_cv;
  std::deque<PendingJoin> js_queue;
  bool js_stop = false;

  // Shared with readers, under state_mutex.
  mutable std::mutex state_mutex;
  std::deque<NsEvent> events;
  std::uint64_t event_sequence = 0;
  std::uint64_t events_dropped = 0;
  std::map<lorawan::Eui64, NsDeviceState> devices;
  std::deque<lorawan::Eui64> device_order;  // oldest first, for max_devices
  NsDropped dropped_counts;

  // Asio thread only.
  std::map<lorawan::Bytes, std::shared_ptr<ReceivedFrame>> frames_in_dedup;  // by PHYPayload
  std::map<lorawan::Eui64, detail::GatewayAddress> gateways;
  std::uint64_t pull_sequence = 0;  // PULL_DATAs received, for GatewayAddress::last_pull
  std::map<detail::Reception, Clock::time_point> receptions;
  // The receptions, oldest first.
  std::deque<std::map<detail::Reception, Clock::time_point>::iterator> reception_order;
  std::map<lorawan::DevAddr, NetworkSession> sessions;
  std::map<std::uint16_t, PendingDownlink> pending_tx_acks;  // by PULL_RESP token
  std::uint16_t next_pull_resp_token = 0;
  std::uint32_t next_nwk_addr = 0;

  // ---- network_server.cpp: options, events and state, lifecycle -------------------------------

  // Checks the options (lorawan::Error naming the field) and creates the NsClient.
  explicit Impl(NetworkServerOptions o);

  // Appends to the event log (stamped and numbered) and calls the on_event observer.
  void emit(NsEvent e);

  // Calls `f` on the device's state under state_mutex, creating the state when it is new.
  template <class F>
  void update_device(const lorawan::Eui64& dev_eui, F&& f) {
    std::lock_guard lock(state_mutex);
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

  lorawan::MacVersion mac_version_of(const lorawan::Eui64& dev_eui) const;
  // An event about a deduplicated frame: its best copy's gateway, peer and tmst, its copies.
  NsEvent frame_event(NsEventKind kind, const ReceivedFrame& frame) const;
  // "heard by 2 copies (...); downlink gateway ...", for an event's detail.
  static std::string heard_by(const ReceivedFrame& frame);

  void start();
  void stop();

  // ---- network_server_reception.cpp: UDP and deduplication -----------------------------------

  // Non-blocking: a datagram that cannot be queued now is an error, never a wait.
  bool send_datagram(const lorawan::Bytes& bytes, const udp::endpoint& to, std::string& error);
  void send_gwmp(const gwmp::Packet& p, const udp::endpoint& to);
  boost::asio::awaitable<void> receive_loop();
  void handle_datagram(lorawan::ByteSpan data, const udp::endpoint& peer);
  // Remembers where `gateway`'s downlinks go, and in which protocol version (its PULL_DATA).
  void remember_downlink_address(const lorawan::Eui64& gateway, std::uint8_t version,
                                 const udp::endpoint& peer);
  // Whether `r` was seen within kReceptionMemory; remembered when not.
  bool repeated_reception(const detail::Reception& r, Clock::time_point now);
  // An rxpk of a PUSH_DATA: dropped, a copy of a frame in deduplication, or a new frame.
  void accept_rxpk(const lorawan::Eui64& gateway, const udp::endpoint& peer, gwmp::RxPacket rx);
  void add_copy(ReceivedFrame& frame, const lorawan::Eui64& gateway, const udp::endpoint& peer,
                gwmp::RxPacket rx);
  // Waits for the frame's deduplication window, handles the frame, and forgets it one window
  // later.
  boost::asio::awaitable<void> close_dedup_window(std::shared_ptr<ReceivedFrame> frame);
  // A deduplicated frame, by MType.
  void handle_frame(const ReceivedFrame& frame);

  // ---- network_server_downlinks.cpp: downlink scheduling -------------------------------------

  // The uplink's data rate index and channel index in the region; nullopt when not the region's.
  std::optional<std::uint8_t> uplink_data_rate_index(const gwmp::RxPacket& rx) const;
  std::optional<std::uint8_t> uplink_channel_index(const gwmp::RxPacket& rx) const;
  DownlinkPlan plan_downlink(const lorawan::Eui64& dev_eui, DownlinkKind kind, lorawan::Bytes phy,
                             const FrameCopy& best, Clock::time_point received_at,
                             std::chrono::microseconds delay1, std::chrono::microseconds delay2,
                             std::uint8_t rx1_dr_offset, std::optional<std::uint8_t> rx2_dr) const;
  // Sends the plan in RX1 while there is time, else RX2, else says it is too late.
  void schedule_downlink(DownlinkPlan plan);
  gwmp::TxPacket pull_resp_txpk(const DownlinkPlan& plan, NsRxWindow window,
                                const lorawan::DownlinkWindow& w, std::int64_t tmst_offset) const;
  // Records the downlink in the device state, then sends its PULL_RESP.
  void send_downlink(DownlinkPlan plan, NsRxWindow window, const std::string& why);
  void prune_pending_tx_acks();
  void set_downlink_status(const lorawan::Eui64& dev_eui, std::uint16_t token,
                           DownlinkStatus status, const std::string& error);
  void handle_tx_ack(std::uint16_t token, const gwmp::TxAck& ack, const udp::endpoint& peer);

  // ---- network_server_joins.cpp: joins -------------------------------------------------------

  void handle_join_request(const ReceivedFrame& frame);
  // The JS thread: sends each queued join-request's JoinReq, and posts its answer to the Asio
  // thread.
  void send_queued_joins();
  void on_join_answer(const PendingJoin& join, const Exchange& exchange);
  // The join-failed or join-accepted event of `join`, before its kind and detail.
  NsEvent join_answer_event(const PendingJoin& join) const;
  // Records the JS's Result (e.result) and emits `e` as join-failed.
  void fail_join(const PendingJoin& join, NsEvent e, std::string detail);
  // The JoinAns of `exchange` when it is a Success with a PHYPayload; else nullptr and `why`.
  // The JS's Result goes into `e` once there is one.
  const backend::JoinAns* successful_join_ans(const Exchange& exchange, NsEvent& e,
                                              std::string& why) const;
  // The network session keys of `ans`, unwrapped with the KEKs, and what they were (`key_text`);
  // nullopt and `why` when they are missing or unusable.
  std::optional<lorawan::NetworkSessionKeys> unwrap_session_keys(const PendingJoin& join,
                                                                 const backend::JoinAns& ans,
                                                                 std::string& key_text,
                                                                 std::string& why) const;
  // The new session replaces the device's previous one.
  void install_session(const PendingJoin& join, const backend::JoinAns& ans,
                       const lorawan::NetworkSessionKeys& keys);
  void send_join_accept(const PendingJoin& join, const backend::JoinAns& ans);
  void handle_rejoin_request(const ReceivedFrame& frame);

  // ---- network_server_data_uplinks.cpp: data uplinks -----------------------------------------

  void handle_data_uplink(const ReceivedFrame& frame);
  // The MIC context of an uplink of `session`: for LoRaWAN 1.1, B1's TxDr and TxCh; nullopt when
  // the MIC cannot be verified (what is missing in `detail`).
  std::optional<lorawan::MicContext> mic_context(const NetworkSession& session,
                                                 const gwmp::RxPacket& rx,
                                                 std::string& detail) const;
  // The FCnt of an uplink whose MIC verifies (the 16 transmitted bits extended); nullopt if none.
  static std::optional<std::uint32_t> verified_fcnt(const lorawan::DataFrame& data,
                                                    const NetworkSession& session,
                                                    lorawan::MicContext ctx);
  // Whether a verified FCnt is accepted (new, or a retransmission); the session's last FCntUp
  // follows it.
  static bool accept_fcnt(NetworkSession& session, std::uint32_t fcnt, std::string& detail);
  // The ACK of a confirmed uplink, in RX1 or RX2.
  void send_ack(const ReceivedFrame& frame, NetworkSession& session, const lorawan::DataFrame& data,
                std::uint32_t fcnt);
};

}  // namespace joincheck::sim
