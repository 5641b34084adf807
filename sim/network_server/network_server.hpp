#pragma once
// joincheck's own Network Server, uplink side: the over-the-air path device -> gateway -> NS ->
// JS -> NS -> gateway -> device, with the JS reached through NsClient so that every Backend
// Interfaces exchange can be validated.
//
//  - GWMP (Semtech UDP packet forwarder protocol, sim/gateway/gwmp.hpp): PUSH_DATA is answered
//    with PUSH_ACK (same token) at once, PULL_DATA with PULL_ACK, each in the protocol version of
//    the datagram it answers (2, or 1 from an older lora_pkt_fwd, which drops a reply of another
//    version). The PULL_DATA's source address is where that gateway's PULL_RESPs go, in the
//    version of its PULL_DATA. TX_ACKs are matched to PULL_RESPs by token. Malformed datagrams
//    are logged with the peer address and the GwmpError text, and dropped.
//  - Deduplication: the first copy of a PHYPayload opens a window (200 ms by default); copies
//    from other gateways inside it are grouped, one per gateway, keeping each gateway's
//    rssi/lsnr/tmst. The gateway with the best rssi (then lsnr) carries the downlink. Copies
//    arriving after the window, while the frame is still remembered (a second window), are
//    logged as late. A gateway that sends the same reception again (same tmst and frame: a
//    PUSH_DATA retried after a lost PUSH_ACK) adds no copy and no frame: it is counted as a
//    repeat in the frame's event while the window is open, and logged and dropped after it (for
//    30 s), so that a retried join-request is never a second JoinReq with the same DevNonce.
//  - What any datagram can make grow is bounded, the oldest dropped and counted (dropped()):
//    the gateways known (max_gateways; the one whose PULL_DATA is oldest goes), the devices'
//    state (max_devices; the first seen goes), a frame's copies (max_copies_per_frame; further
//    copies are counted, not kept), the frames in deduplication and the event log.
//  - Join-requests: a DevAddr is assigned from the NetID (dev_addr_for() below), a JoinReq is sent
//    to the JS (TS002 1.0 §8 step 3: MACVersion,
//    PHYPayload, DevEUI, DevAddr, DLSettings, RxDelay; no CFList), and on Success the
//    join-accept goes to the chosen gateway as a PULL_RESP at tmst + JOIN_ACCEPT_DELAY1 on RX1
//    (LoRaWAN 1.0.x/1.1 §6; Regional Parameters for RX1/RX2). A TX_ACK with an error for RX1
//    makes the NS send the same PHYPayload for RX2 (tmst + JOIN_ACCEPT_DELAY2, the region's
//    default RX2) while there is still time. The network session keys are unwrapped with the
//    NsClient's KekTable (as ChirpStack does, chirpstack/src/backend/keywrap.rs); of the AppSKey only
//    its presence and KEK label are kept (it is for the AS).
//  - Rejoin-requests (types 0, 1, 2) are recognised and logged, never forwarded: forwarding a
//    type 0/2 needs the serving NS's MIC check (done and logged when a session is known) and a
//    JS that implements RejoinReq, which the common ones do not (docs/checks.md#rejoin).
//    The event says "rejoin-request received, not forwarded".
//  - Data uplinks: the session is found by DevAddr, the MIC is verified (1.0.x: NwkSKey and B0;
//    1.1 with OptNeg: B1 also carries TxDr and TxCh, the uplink's DR index and channel index,
//    taken from the rxpk's datr and frequency through the region), the 32-bit FCnt is
//    reconstructed from its 16 transmitted bits and must not go down. A confirmed uplink with a
//    valid MIC is answered with an ACK (unconfirmed data down, FCtrl.ACK, no FPort, FCntDown of
//    the session from 0) at tmst + RECEIVE_DELAY1, RX2 fallback as for joins.
//
// Events are facts ("MIC valid", "JS answered UnknownDevEUI"), never verdicts; no key appears in
// an event, a log or a state snapshot. The event log is bounded (oldest dropped, counted).
//
// Threading: start() binds the UDP socket and starts two threads: the Asio thread (GWMP,
// deduplication, sessions, downlinks) and the JS thread (NsClient::send is blocking; joins are
// queued to it, bounded). Every JS exchange has the NsClient deadline, capped to what is left
// of JOIN_ACCEPT_DELAY2. Observers are called on those threads, without any lock held; they
// must be thread-safe and quick. stop() is prompt unless a JS exchange is under way: NsClient
// has no way to cancel one, so stop() then waits for its deadline.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/result_code.hpp"
#include "lorawan/region.hpp"
#include "lorawan/types.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::sim {

// ---------------------------------------------------------------------------------------------
// DevAddr assignment (LoRaWAN Backend Interfaces 1.1 §6.1.1 / TS002 1.1 Table 3). The NwkID
// widths of types 3..7 are TS002 1.1's (11, 12, 13, 15, 17 bits), as ChirpStack and Helium use
// them; TS002 1.0's table differed for those types (e.g. 10 bits for type 3).
//
//   NetID   = Type (3 bits) | ID (21 bits); NwkID = the NwkID-width low bits of ID
//   DevAddr = AddrPrefix (Type ones, then a zero) | NwkID | NwkAddr
//
//   Type        0   1   2   3   4   5   6   7
//   NwkID bits  6   6   9  11  12  13  15  17
//   NwkAddr    25  24  20  17  15  13  10   7

// How many NwkAddr bits a DevAddr of this NetID has.
unsigned nwk_addr_bits(const lorawan::NetId& net_id);
// The DevAddr with `nwk_addr` (taken modulo 2^nwk_addr_bits) under `net_id`.
lorawan::DevAddr dev_addr_for(const lorawan::NetId& net_id, std::uint32_t nwk_addr);

// The MACVersion of every device of a fleet, for NetworkServerOptions::mac_versions.
std::map<lorawan::Eui64, lorawan::MacVersion> mac_versions_of(const Fleet& fleet);

// ---------------------------------------------------------------------------------------------

enum class NsRxWindow { rx1, rx2 };
std::string_view to_string(NsRxWindow window);  // "RX1", "RX2"

enum class DownlinkKind { join_accept, ack };
std::string_view to_string(DownlinkKind kind);  // "join-accept", "ack"

enum class DownlinkStatus {
  sent,          // PULL_RESP sent, no TX_ACK yet (older forwarders never send one)
  acknowledged,  // TX_ACK without error
  failed,        // TX_ACK with an error (tx_ack_error)
  not_sent,      // the PULL_RESP could not be sent (its downlink-not-sent event says why)
};
// "sent", "acknowledged", "failed", "not sent"
std::string_view to_string(DownlinkStatus status);

// One PULL_RESP, recorded before it is sent: whoever sees it leave finds it here.
struct NsDownlink {
  DownlinkKind kind = DownlinkKind::join_accept;
  NsRxWindow window = NsRxWindow::rx1;
  lorawan::Eui64 gateway;
  std::uint16_t token = 0;  // of the PULL_RESP; the TX_ACK echoes it
  std::uint32_t tmst = 0;
  std::uint64_t frequency_hz = 0;
  std::string datr;
  std::optional<std::uint32_t> fcnt_down;  // an ACK's FCntDown
  lorawan::Bytes phy_payload;              // as sent (a join-accept is encrypted)
  DownlinkStatus status = DownlinkStatus::sent;
  std::string tx_ack_error;  // "TOO_LATE", ...; "" until a TX_ACK with an error
};

// What the NS knows of a device. No key.
struct NsDeviceState {
  lorawan::Eui64 dev_eui;
  lorawan::MacVersion mac_version = lorawan::MacVersion::v1_0_3;  // sent in JoinReq
  std::uint32_t join_requests = 0;                                // deduplicated join-requests seen
  bool joined = false;  // a JoinAns Success installed a session
  std::optional<lorawan::DevAddr> dev_addr;
  bool lorawan_1_1_session = false;  // FNwkSIntKey/SNwkSIntKey/NwkSEncKey (OptNeg=1)
  // The last JS answer: its Result code, or none (transport error, no answer).
  std::optional<backend::ResultCode> last_join_result;
  bool app_s_key_received = false;  // kept only as a fact: the AppSKey is the AS's
  std::string app_s_key_kek_label;  // "" when in clear (or absent)
  std::optional<std::uint32_t> lifetime;
  std::optional<lorawan::Bytes> session_key_id;
  // Data uplinks of the current session.
  std::optional<std::uint32_t> last_fcnt_up;  // the highest FCntUp with a valid MIC
  std::uint32_t uplinks = 0;
  std::uint32_t mic_valid = 0;
  std::uint32_t mic_invalid = 0;
  std::uint32_t next_fcnt_down = 0;
  // Every downlink sent to the device (the last 64).
  std::vector<NsDownlink> downlinks;
};

enum class NsEventKind {
  malformed_datagram,   // a datagram GWMP decode refused (detail: the GwmpError text)
  unexpected_datagram,  // a valid datagram a gateway does not send (PUSH_ACK, PULL_RESP, ...)
  gateway_pull,         // PULL_DATA from a gateway at a new address
  rxpk_dropped,         // CRC not OK, not LoRa
  frame_dropped,        // a deduplicated frame that cannot be handled (detail: why)
  late_copy,            // a copy after its frame's deduplication window
  join_request,         // a deduplicated join-request (copies, chosen gateway, DevAddr given)
  join_accepted,        // JoinAns Success: session installed
  join_failed,          // JoinAns not Success, transport error, undecodable, keys unusable
  rejoin_request,       // logged, not forwarded
  data_uplink,          // MIC valid or not, FCnt, FPort, confirmed
  unknown_dev_addr,     // a data uplink for a DevAddr without session
  downlink_sent,        // PULL_RESP sent (window, gateway, tmst, token)
  downlink_not_sent,    // no gateway address, no time left, send error
  tx_ack,               // TX_ACK received (detail: its error, or that it matches nothing)
  downlink_failed,      // TX_ACK error and no RX2 left
};
std::string_view to_string(NsEventKind kind);  // "malformed-datagram", ...

struct NsEvent {
  std::uint64_t sequence = 0;  // from 1, across the whole run (drops included)
  std::chrono::system_clock::time_point time;
  NsEventKind kind = NsEventKind::malformed_datagram;
  std::string peer;  // the datagram's source "127.0.0.1:40000", when there was a datagram
  std::optional<lorawan::Eui64> gateway;
  std::optional<lorawan::Eui64> dev_eui;
  std::optional<lorawan::DevAddr> dev_addr;
  std::optional<lorawan::MType> mtype;
  std::size_t copies = 0;  // copies grouped by deduplication, one per gateway (frame events)
  // The same reception sent again by a gateway of the frame (a PUSH_DATA retried after a lost
  // PUSH_ACK, or a gateway reporting one frame twice): not copies.
  std::size_t repeats = 0;
  std::size_t copies_dropped = 0;  // copies beyond max_copies_per_frame: counted, not kept
  std::optional<std::uint32_t> fcnt;
  std::optional<std::uint8_t> fport;
  bool confirmed = false;
  std::optional<bool> mic_valid;
  std::optional<backend::ResultCode> result;  // the JS's Result code
  std::string result_description;             // the JS's Result Description
  std::optional<DownlinkKind> downlink;
  std::optional<NsRxWindow> window;
  std::optional<std::uint32_t> tmst;
  std::optional<std::uint16_t> token;
  std::string detail;  // what happened, in words; never a key
};
// One line, whatever the peers sent: "join-failed dev_eui=... result=UnknownDevEUI
// description="..." ...: ...". The JS's Result Description is written as a JSON string (quotes,
// backslashes, control characters and non-ASCII escaped; its first 200 characters), control
// characters of the detail as \n, \r, \t or \xNN.
std::string to_string(const NsEvent& event);

// What the bounds of NetworkServerOptions dropped since start.
struct NsDropped {
  std::uint64_t gateways = 0;  // gateways forgotten (max_gateways)
  std::uint64_t devices = 0;   // device states forgotten (max_devices)
  std::uint64_t copies = 0;    // copies of frames not kept (max_copies_per_frame)
};

// Faults, to prove the harness that judges an NS over the air (sim/gateway/air_link.hpp,
// conformance/air_run.hpp) fails where it must, like the reference JS's faults
// (sim/join_server/faults.hpp) prove the JS checks. A real NS has none of these switches; all
// are off by default, and every downlink a fault changes or suppresses is said so in its event.
struct NsFaults {
  // Added to the tmst of every downlink, in µs (negative: earlier). -1000000 puts a
  // join-accept at uplink + 4 s instead of JOIN_ACCEPT_DELAY1 (5 s), an ACK at + 0 s.
  std::int64_t downlink_tmst_offset_us = 0;
  // Added to the RX1 frequency of every downlink, in Hz (RX2 is left as it is). +200000 sends
  // an EU868 RX1 answer to an 868.1 MHz uplink on 868.3 MHz.
  std::int64_t rx1_frequency_offset_hz = 0;
  // Confirmed uplinks with a valid MIC are not acknowledged (no ACK downlink is sent).
  bool no_ack = false;
  // A JoinAns Success installs the session, but the join-accept is never sent to a gateway.
  bool no_join_accept = false;

  bool any() const {
    return downlink_tmst_offset_us != 0 || rx1_frequency_offset_hz != 0 || no_ack ||
           no_join_accept;
  }
};

struct NetworkServerOptions {
  // UDP "HOST:PORT" (backend::parse_listen_address's syntax; port 0: ephemeral).
  std::string listen = "127.0.0.1:0";
  lorawan::RegionId region = lorawan::RegionId::eu868;
  // The JS: URL, TLS, KEKs, NetID (SenderID), NSID, timeout (the JS deadline), async, ...
  NsClientOptions js;
  // The NetID DevAddrs are assigned under; js.net_id when absent.
  std::optional<lorawan::NetId> net_id;
  // NwkAddr of the first DevAddr assigned; each join-request gets the next one.
  std::uint32_t first_nwk_addr = 1;
  // Copies of a PHYPayload arriving within this time of the first are one frame.
  std::chrono::milliseconds dedup_window{200};
  // RxDelay sent in JoinReq (RECEIVE_DELAY1 of data downlinks; 0 means 1 s; at most 15).
  std::uint8_t rx_delay = 1;
  // DLSettings: RX1DROffset (0..7) and RX2DataRate (the region's default RX2 DR when absent).
  std::uint8_t rx1_dr_offset = 0;
  std::optional<std::uint8_t> rx2_data_rate;
  // MACVersion sent for each device (e.g. mac_versions_of(fleet)); the default for others.
  std::map<lorawan::Eui64, lorawan::MacVersion> mac_versions;
  lorawan::MacVersion default_mac_version = lorawan::MacVersion::v1_0_3;
  // A PULL_RESP is sent only while at least this much time is left before the window opens
  // (counted from when the NS received the frame's first copy).
  std::chrono::milliseconds downlink_lead{50};
  std::size_t max_events = 1000;       // the event log keeps the last ones
  std::size_t max_pending_joins = 64;  // join-requests waiting for the JS thread
  // Bounds on what datagrams can make grow (see above); each at least 1.
  std::size_t max_gateways = 1024;        // gateways whose downlink address is known
  std::size_t max_devices = 100000;       // device states (device(), devices())
  std::size_t max_copies_per_frame = 64;  // copies grouped in one frame
  // Observers (optional): every JS exchange (on the JS thread) and every event.
  std::function<void(const Exchange&)> on_exchange;
  std::function<void(const NsEvent&)> on_event;
  // Test-only deviations (see NsFaults); none by default.
  NsFaults faults;
};

class NetworkServer {
 public:
  // Checks the options and creates the NsClient (in async mode its listener is bound here, so
  // js_client().async_listener_url() can be given to the JS before start()). Throws
  // lorawan::Error for bad options (naming the field), and what NsClient's constructor throws.
  explicit NetworkServer(NetworkServerOptions options);
  ~NetworkServer();  // stop()
  NetworkServer(const NetworkServer&) = delete;
  NetworkServer& operator=(const NetworkServer&) = delete;

  // Binds the UDP socket and starts the threads. Throws std::system_error naming the address
  // when it cannot bind, lorawan::Error when called twice.
  void start();
  // Stops both threads; idempotent. Frames still in a deduplication window are dropped.
  void stop();
  // The bound UDP port (after start()).
  std::uint16_t port() const;

  NsClient& js_client();
  const lorawan::Region& region() const;

  // Thread-safe snapshots.
  std::vector<NsEvent> events() const;
  std::uint64_t events_dropped() const;
  NsDropped dropped() const;
  std::optional<NsDeviceState> device(const lorawan::Eui64& dev_eui) const;
  std::vector<NsDeviceState> devices() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joincheck::sim
