#pragma once
// A simulated LoRa gateway running the Semtech UDP packet forwarder (GWMP v2, see gwmp.hpp) over
// real UDP sockets towards a Network Server at HOST:PORT: what a device's radio frame looks like
// to an NS, and what the NS's answer looks like to the gateway that must emit it.
//
//  - At start it resolves the NS host and sends PULL_DATA to each of its addresses in turn (IPv4
//    first) until one answers with PULL_ACK (the NS learns where to send PULL_RESP); it then
//    repeats PULL_DATA every keep-alive interval, and sends `stat` at once and every
//    `stat_interval` when one is set (and when asked to).
//  - uplink() forwards a PHYPayload as one rxpk stamped with the gateway's microsecond counter
//    (`tmst`: real time elapsed since the gateway started, plus a random start offset, modulo
//    2^32, as an SX1301 concentrator counts) and waits for the PUSH_ACK of its token, retrying
//    with a new token. PROTOCOL.TXT §1 says acknowledgements are not for retries; a real
//    forwarder drops the datagram instead. Here a lost PUSH_DATA would only turn into a
//    confusing "no join-accept", so the simulator retries and then says exactly what failed. A
//    lost PUSH_ACK does not mean a lost PUSH_DATA: every retry carries the very same rxpk (same
//    tmst, same time), so that an NS can tell it from a new reception (joincheck's NS counts it
//    as a repeat of its copy, never as a second frame).
//  - Every PULL_RESP is answered the way lora_pkt_fwd of Lora-net/packet_forwarder v4.0.1 (with
//    an SX1301 concentrator: lora_pkt_fwd.c thread_down, jitqueue.c) decides it, on the
//    gateway's counter at reception, and kept as a ReceivedDownlink. No TX_ACK at all (the TX is
//    "aborted") for a LoRa txpk whose `datr` does not parse, that lacks `codr` or whose `codr` is
//    no coding rate, or for a txpk without `size` (gwmp::TxPacket::missing_fields). Otherwise a
//    TX_ACK with: GPS_UNLOCKED for a `tmms` (no GPS here), TX_FREQ outside the region's downlink
//    frequencies, TX_POWER outside 0 .. `max_tx_power_dbm` (lora_pkt_fwd refuses a power its TX
//    gain table lacks; the SX1302 forwarder of sx1302_hal only warns and sends at the nearest
//    power, which this gateway does not model), TOO_LATE when the tmst is at most TX_START_DELAY
//    + TX_MARGIN_DELAY + TX_JIT_DELAY (1500 + 1000 + `tx_jit_delay`, 30000 by default: 32.5 ms)
//    ahead of the counter or already past, TOO_EARLY beyond 512 s (TX_MAX_ADVANCE_DELAY),
//    COLLISION_PACKET when it overlaps a downlink already accepted (time on air by the SX1276
//    datasheet formula, with jitqueue.c's pre-delay and margin), else success, sent as
//    lora_pkt_fwd does: a TX_ACK without JSON. lora_pkt_fwd's unsigned arithmetic reports a tmst
//    in the past as TOO_EARLY; this gateway says TOO_LATE, which is what happened.
//  - Datagrams that are malformed, unexpected (a PUSH_ACK for no pending token, a PUSH_DATA) or
//    from another address than the NS's are logged in a bounded list and dropped.
//
// The gateway reports facts (counters, tmst, TX_ACK sent, the window a downlink fits and why
// not); it judges nothing ("the parser reports, the validator judges"). classify_downlink()
// compares a downlink with the receive windows of LoRaWAN 1.0.x/1.1 §3.3 (RX1 at RECEIVE_DELAY1
// or JOIN_ACCEPT_DELAY1 after the end of the uplink, RX2 one second later) on the gateway
// counter: `tmst` is the end of reception upstream and the start of emission downstream, so the
// delays are exact tmst differences. Real gateways emit at tmst, so the default tolerance is 0.
//
// Threads: one private io_context thread per gateway receives, acknowledges and keeps alive.
// uplink(), wait_downlink() and the readers may be called from any thread; every wait has a
// deadline. Several gateways may hear the same uplink: the caller sends the same PHYPayload
// through each (with its own rssi); deduplication is the NS's job.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/region.hpp"
#include "lorawan/types.hpp"
#include "sim/gateway/gwmp.hpp"

namespace joincheck::sim {

// The gateway could not do what was asked: the NS never acknowledged, its host does not
// resolve, the socket cannot be opened, an uplink's DR is not the region's.
class GatewayError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

struct SimGatewayOptions {
  lorawan::Eui64 gateway_eui;
  std::string ns_host = "127.0.0.1";  // an address or a host name
  std::uint16_t ns_port = 1700;
  lorawan::RegionId region = lorawan::RegionId::eu868;

  std::chrono::milliseconds keepalive{10000};   // PULL_DATA interval (lora_pkt_fwd: 10 s)
  std::chrono::milliseconds ack_timeout{1000};  // wait for each PUSH_ACK / the first PULL_ACK
  // PUSH_DATA sends in all; the first PULL_DATA's, per address of the NS.
  unsigned attempts = 3;
  // `stat`: one right after the first PULL_ACK, then one every interval (lora_pkt_fwd's
  // stat_interval: 30 s). None when unset (the default here; AirLink sets 30 s) or 0.
  std::optional<std::chrono::milliseconds> stat_interval;
  std::chrono::milliseconds resolve_timeout{5000};  // for a host name
  // The addresses to try, in place of resolving ns_host (an NS reachable under several
  // addresses, or a test); IPv4 ones first, as for a resolved name. Empty: resolve ns_host.
  std::vector<std::string> ns_addresses;
  // jitqueue.c's TX_JIT_DELAY, the time lora_pkt_fwd needs to program a downlink ahead of its
  // TX_START_DELAY: Lora-net/packet_forwarder v4.0.1 30000 µs, sx1302_hal's packet forwarder
  // 40000 µs. A tmst closer than 1500 + 1000 + this gets TOO_LATE.
  std::chrono::microseconds tx_jit_delay{30000};

  // Reported in `stat` when set.
  std::optional<double> latitude, longitude;
  std::optional<int> altitude;
  int max_tx_power_dbm = 30;  // a txpk `powe` above (or below 0) gets TX_POWER

  std::optional<std::uint64_t> seed;  // tokens and the counter's start offset; random if unset
  std::string bind_address;           // local address; "" for any
  std::size_t max_kept_problems = 100;
  std::size_t max_kept_downlinks = 1000;
};

// How the simulated radio heard an uplink.
struct UplinkRadio {
  std::uint64_t frequency_hz = 0;         // 0: the region's first uplink channel
  std::optional<std::uint8_t> data_rate;  // the region's DR index; its default when unset
  int rssi = -60;
  double lsnr = 9.0;
  std::uint8_t chan = 0;  // IF channel
  std::uint8_t rfch = 0;  // RF chain
  std::int8_t crc_status = 1;
};

// What uplink() sent, and the counter it was stamped with.
struct UplinkReceipt {
  std::uint32_t tmst = 0;        // rxpk.tmst: end of reception on the gateway counter
  std::uint64_t counter_us = 0;  // the same instant on the unwrapped 64-bit counter
  std::uint64_t frequency_hz = 0;
  std::uint8_t data_rate = 0;
  std::string datr;                               // "SF7BW125"
  std::string time;                               // rxpk.time (UTC)
  std::chrono::steady_clock::time_point sent_at;  // the first PUSH_DATA
  std::uint16_t token = 0;                        // of the PUSH_DATA the NS acknowledged
  unsigned attempts = 0;                          // PUSH_DATA sends until that acknowledgement
  // Sequence number of the next downlink at the time of the uplink: wait_downlink() returns the
  // first downlink at or after it.
  std::uint64_t downlink_sequence = 0;
};

// A PULL_RESP as the gateway received and answered it.
struct ReceivedDownlink {
  std::uint64_t sequence = 0;  // 0, 1, 2, ... in order of reception
  std::uint16_t token = 0;     // the PULL_RESP's, echoed by the TX_ACK
  std::uint8_t protocol_version = gwmp::kProtocolVersion;
  gwmp::TxPacket txpk;
  std::uint32_t received_tmst = 0;        // the gateway counter at reception (low 32 bits)
  std::uint64_t received_counter_us = 0;  // unwrapped
  std::chrono::steady_clock::time_point received_at;
  // txpk.tmst − received_tmst as a signed 32-bit difference: how far ahead the NS scheduled it
  // (negative: in the past). nullopt for imme and tmms.
  std::optional<std::int64_t> lead_us;
  // The TX_ACK's verdict: none when it was accepted (that TX_ACK carries no JSON, as from
  // lora_pkt_fwd), an error, or nullopt when no TX_ACK was sent at all (see `note`).
  std::optional<gwmp::TxAckError> tx_ack;
  std::string note;  // why that error, in words; empty for NONE
};

// A datagram that was dropped, or a send that failed.
struct GatewayProblem {
  std::chrono::steady_clock::time_point at;
  std::string peer;  // "127.0.0.1:1700"; empty when not about a peer
  std::string what;
};

// The counters of GWMP `stat` (PROTOCOL.TXT §4) and the acknowledgements behind ackr.
struct GatewayCounters {
  std::uint32_t rxnb = 0;                       // radio packets received: uplink() calls
  std::uint32_t rxok = 0;                       // of those, with CRC OK
  std::uint32_t rxfw = 0;                       // of those, forwarded (sent in a PUSH_DATA)
  std::uint32_t dwnb = 0;                       // PULL_RESP datagrams received (decodable ones)
  std::uint32_t txnb = 0;                       // downlinks accepted for emission (TX_ACK NONE)
  std::uint32_t push_sent = 0, push_acked = 0;  // PUSH_DATA datagrams (uplinks and stat)
  std::uint32_t pull_sent = 0, pull_acked = 0;
  // Percentage of PUSH_DATA acknowledged; 100 before any was sent.
  double ackr() const;
};

class SimGateway {
 public:
  // Resolves the NS, and for each of its addresses (IPv4 first) opens a socket, sends PULL_DATA
  // and waits for its PULL_ACK (attempts × ack_timeout), until one answers. Throws GatewayError
  // when none does: "NS at 127.0.0.1:1700 never acknowledged PULL_DATA (3 attempts, 1000 ms
  // each)", or for a host name "NS at localhost:1700 never acknowledged PULL_DATA (tried
  // 127.0.0.1:1700, [::1]:1700; 3 attempts, 1000 ms each)".
  explicit SimGateway(SimGatewayOptions options);
  ~SimGateway();
  SimGateway(const SimGateway&) = delete;
  SimGateway& operator=(const SimGateway&) = delete;

  const lorawan::Eui64& eui() const;
  const lorawan::Region& region() const;
  std::string ns_address() const;     // "127.0.0.1:1700": the address that answered
  std::string local_address() const;  // "0.0.0.0:40000"

  // The gateway counter now: unwrapped, and as rxpk/txpk tmst.
  std::uint64_t counter_us() const;
  std::uint32_t tmst_now() const;

  // Forwards `phy_payload` as heard with `radio`; returns once the NS acknowledged it. Throws
  // GatewayError: "NS at HOST:PORT never acknowledged PUSH_DATA (3 attempts, 1000 ms each)", or
  // for a DR the region does not have.
  UplinkReceipt uplink(lorawan::ByteSpan phy_payload, const UplinkRadio& radio = {});

  // The first downlink received at or after `receipt` (by reception order, whatever it holds:
  // a gateway cannot tell whom a downlink addresses), or nullopt at the deadline.
  std::optional<ReceivedDownlink> wait_downlink(
      const UplinkReceipt& receipt, std::chrono::steady_clock::time_point deadline) const;
  std::optional<ReceivedDownlink> wait_downlink(const UplinkReceipt& receipt,
                                                std::chrono::milliseconds timeout) const;
  // Every downlink still kept (the newest max_kept_downlinks), oldest first.
  std::vector<ReceivedDownlink> downlinks() const;

  // Dropped datagrams and failed sends, oldest first (the newest max_kept_problems).
  std::vector<GatewayProblem> problems() const;
  std::size_t problem_count() const;  // all of them, also those no longer kept

  GatewayCounters counters() const;
  // A `stat` object with the counters now.
  gwmp::GatewayStatus status() const;
  // Sends a `stat` PUSH_DATA now (not retried; its PUSH_ACK counts for ackr). Returns its token.
  std::uint16_t send_status();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Which receive window a downlink fits.
enum class RxWindow { rx1, rx2, none };
std::string_view to_string(RxWindow window);  // "RX1", "RX2", "none"

struct DownlinkFit {
  // The window the downlink fits in time, frequency, data rate and polarity; none when any
  // reason is given.
  RxWindow window = RxWindow::none;
  // The window its tmst alone fits; none for imme, tmms, or a tmst at neither delay.
  RxWindow timing = RxWindow::none;
  // txpk.tmst − uplink tmst, modulo 2^32, as a signed difference; nullopt without a tmst.
  std::optional<std::int64_t> tmst_offset_us;
  // Why it fits no window, one fact each: timing, frequency, data rate, polarity.
  std::vector<std::string> reasons;
  std::string reason() const;  // the reasons joined by " / "; empty when it fits
};

// Where `txpk` stands against the receive windows of the uplink in `receipt`:
//  - is_join_accept: JOIN_ACCEPT_DELAY1/2 (5 s / 6 s); otherwise RECEIVE_DELAY1 from
//    `rx_delay_s` (a join-accept's RxDelay: 0 means 1 s) and RECEIVE_DELAY2 one second later;
//  - RX1 from region.rx1(uplink frequency, uplink DR, rx1_dr_offset); RX2 from
//    region.rx2(rx2_dr). A join-accept is answered with the defaults (offset 0, RX2 DR unset)
//    unless the device was configured otherwise;
//  - imme and tmms downlinks fit no class A window, nor does ipol false (a device listens with
//    inverted polarity).
// `tmst_tolerance_us` widens the timing match (0: exact, as gateways emit at tmst).
DownlinkFit classify_downlink(const lorawan::Region& region, const UplinkReceipt& receipt,
                              const gwmp::TxPacket& txpk, bool is_join_accept,
                              std::uint8_t rx_delay_s = 1, std::uint8_t rx1_dr_offset = 0,
                              std::optional<std::uint8_t> rx2_dr = std::nullopt,
                              std::uint32_t tmst_tolerance_us = 0);

// LoRa time on air of a txpk in µs (the formula of Semtech's SX1276 datasheet, "Time on air":
// explicit header, `prea` or 8 preamble symbols, CRC unless ncrc, low data rate optimisation
// when a symbol lasts more than 16 ms); nullopt when `datr` is not a LoRa data rate.
std::optional<std::uint64_t> time_on_air_us(const gwmp::TxPacket& txpk);

}  // namespace joincheck::sim
