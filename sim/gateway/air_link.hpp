#pragma once
// The radio side of an over-the-air run: N simulated gateways (SimGateway, Semtech UDP packet
// forwarder) connected to one Network Server, through which simulated devices (SimDevice) join
// and send uplinks, exactly as a real gateway in range of real devices would carry them.
//
//  - join(): the device's join-request goes through every gateway (the same PHYPayload, each
//    gateway with its own rssi so that the NS has a best one to answer through), on the region's
//    uplink channel of the device (round robin over AirLinkOptions::channels, one channel per
//    device in order of first appearance) at the region's default DR. The first downlink that
//    answers it, on any gateway, is classified against the join-accept windows (JOIN_ACCEPT_DELAY1
//    5 s / JOIN_ACCEPT_DELAY2 6 s, LoRaWAN 1.0.x/1.1 §6; classify_downlink()) and handed to
//    SimDevice::accept().
//  - uplink(): the same for a data uplink on the session (LoRaWAN 1.0.x/1.1 §4); a confirmed one
//    waits for the ACK, classified against RECEIVE_DELAY1/2 from the session's RxDelay and the
//    RX1DROffset/RX2DataRate of its DLSettings, and handed to SimDevice::take_downlink().
//
// What is "the answer" (a gateway cannot tell whom a downlink addresses, a device can):
//  - a downlink the gateway refused with a TX_ACK error (TOO_LATE, TX_FREQ, COLLISION_PACKET...)
//    was never emitted, so no device heard it: it is skipped and listed in `ignored`;
//  - a data downlink whose DevAddr is not the session's is another device's: skipped;
//  - while joining, only a join-accept can answer; SimDevice::accept() decides whether it does.
//    One it refuses as malformed (not a join-accept that decrypts and parses) is listed and the
//    wait goes on; if nothing better comes it is the answer. One it refuses for its MIC or a
//    replayed JoinNonce is the answer at once;
//  - while waiting for an ACK, only a data downlink to the session's DevAddr answers.
//
// Concurrency: the operations may be called from several threads (SimGateway is thread-safe and
// each operation keeps its own cursor in the gateways' downlink logs), but a join-accept cannot
// be attributed before decryption: two devices joining at the same moment through the same
// AirLink would take each other's join-accept as a MIC failure. Run devices one after another
// (what `joincheck gateway` and conformance::run_over_the_air do), or give concurrent devices
// AirLinks of their own.
//
// Timing: every wait has a real-time deadline (default: the second receive window plus 2 s after
// the first PUSH_DATA). By default (`wait_for_emission`), an operation that got its downlink also
// waits until the gateway has emitted it (its tmst plus time on air, on the gateway counter), as
// a class A device can send nothing before its receive window is over: back-to-back devices then
// never make one gateway's downlinks overlap (a COLLISION_PACKET the harness would have caused).
//
// Facts only: nothing the NS does is judged or thrown here (see conformance/air_run.hpp for the
// verdicts). What the device's secure element throws (SecureElementError) and lorawan::Error for
// a device that cannot do what is asked (an uplink before a join) propagate.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lorawan/region.hpp"
#include "lorawan/types.hpp"
#include "sim/device/device.hpp"
#include "sim/gateway/gateway.hpp"

namespace joincheck::sim {

// The UDP address of an NS (a ChirpStack Gateway Bridge, or `joincheck serve-ns`):
// "udp://HOST:PORT", "udp://HOST" (port 1700, the packet forwarder's), "HOST:PORT", "[::1]:1700".
struct UdpAddress {
  std::string host;
  std::uint16_t port = 1700;
  std::string text() const;  // "127.0.0.1:1700", "[::1]:1700"
};
// Throws lorawan::Error naming `what` ("--ns"), what was expected and what was seen (another
// scheme, no host, a port that is not 0..65535). A port 0 is accepted only with `allow_port_0`.
UdpAddress parse_udp_address(std::string_view text, std::string_view what,
                             bool allow_port_0 = false);

struct AirLinkOptions {
  std::string ns_host = "127.0.0.1";  // an address or a host name
  std::uint16_t ns_port = 1700;
  lorawan::RegionId region = lorawan::RegionId::eu868;
  std::size_t gateways = 1;  // 1..64
  // Gateway EUIs (6a63xxxxxxxxNNNN: "jc", 4 bytes of the seed, the gateway's index), tokens and
  // counter offsets.
  std::uint64_t seed = 1;
  // Indices into Region::uplink_channels() the devices send on, one device after another. Empty:
  // EU868 its three default channels (0, 1, 2); US915 sub-band 2 (8..15, 903.9-905.3 MHz), the
  // one ChirpStack's us915_1 and most 8-channel gateways listen to.
  std::vector<std::uint8_t> channels;
  // The uplink DR index; the region's default (EU868 DR5, US915 DR3: SF7BW125) when unset.
  std::optional<std::uint8_t> data_rate;
  // The rssi of the best gateway for a device; each further gateway hears it 6 dB weaker. Which
  // gateway is best rotates with the device's ordinal, so that downlinks go through every one.
  int best_rssi = -57;
  // Per PUSH_DATA / the first PULL_DATA (SimGatewayOptions): ack_timeout × attempts at most.
  std::chrono::milliseconds ack_timeout{1000};
  unsigned attempts = 3;
  // Wait for the downlink's emission before returning (see above).
  bool wait_for_emission = true;
  // Each gateway sends a `stat` when it starts and then every interval (lora_pkt_fwd's default:
  // 30 s), so that an NS (ChirpStack) shows it as seen. nullopt or 0: never.
  std::optional<std::chrono::milliseconds> stat_interval = std::chrono::milliseconds(30000);
};

// Deadline and cancellation of one operation.
struct AirWaitOptions {
  // Real time to wait for the answer, from the first PUSH_DATA. nullopt: the default (join:
  // JOIN_ACCEPT_DELAY2 + 2 s; confirmed uplink: RECEIVE_DELAY2 of the session + 2 s;
  // unconfirmed uplink: 0, no wait).
  std::optional<std::chrono::milliseconds> timeout;
  // Checked while waiting (every few ms): set, the operation returns as cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

// The frame as one gateway forwarded it.
struct AirCopy {
  std::size_t gateway = 0;  // index into AirLink::gateway_euis()
  lorawan::Eui64 gateway_eui;
  int rssi = 0;
  double lsnr = 0;
  std::optional<UplinkReceipt> receipt;  // nullopt: the NS never acknowledged the PUSH_DATA
  std::string error;                     // why not (GatewayError text)
};

// The downlink taken as the answer, on the gateway that received it.
struct AirDownlink {
  std::size_t gateway = 0;
  lorawan::Eui64 gateway_eui;
  ReceivedDownlink downlink;
  DownlinkFit fit;  // against the windows of that gateway's copy of the uplink
  // Real time from the first PUSH_DATA of the uplink to the PULL_RESP.
  std::chrono::milliseconds after_uplink{0};
};

// A downlink seen while waiting that was not the answer.
struct AirIgnored {
  std::size_t gateway = 0;
  ReceivedDownlink downlink;
  std::string why;  // "refused by the gateway: TX_ACK TOO_LATE (...)", "DevAddr 26011bda ..."
};

enum class AirStatus {
  answered,     // a downlink for the device came (see `downlink` and the device's result)
  no_downlink,  // nothing for the device before the deadline (or no wait was asked)
  not_sent,     // the NS acknowledged the PUSH_DATA of no gateway
  cancelled,    // AirWaitOptions::cancel was set
};
std::string_view to_string(AirStatus status);  // "answered", "no downlink", ...

// The radio of an uplink.
struct AirRadio {
  std::uint64_t frequency_hz = 0;
  std::uint8_t data_rate = 0;
  std::uint8_t channel_index = 0;  // into Region::uplink_channels()
  std::string datr;                // "SF7BW125"
};

struct AirJoin {
  AirStatus status = AirStatus::no_downlink;
  lorawan::DevNonce dev_nonce;
  AirRadio radio;
  std::vector<AirCopy> copies;           // one per gateway
  std::optional<AirDownlink> downlink;   // the answer
  std::optional<JoinResult> result;      // SimDevice::accept() of the answer
  std::vector<AirIgnored> ignored;       // oldest first
  std::chrono::milliseconds timeout{0};  // the wait asked
  std::chrono::milliseconds elapsed{0};  // first PUSH_DATA until the answer or the end of the wait
  std::string problem;                   // what happened when not answered, in words

  bool sent() const;      // at least one PUSH_DATA was acknowledged
  bool accepted() const;  // answered and the device accepted the join-accept
};

struct AirUplink {
  AirStatus status = AirStatus::no_downlink;
  std::uint32_t fcnt = 0;  // the full FCntUp of the uplink
  std::uint8_t fport = 0;
  bool confirmed = false;
  AirRadio radio;
  std::vector<AirCopy> copies;
  std::optional<AirDownlink> downlink;
  std::optional<DownlinkResult> result;  // SimDevice::take_downlink() of the answer
  std::vector<AirIgnored> ignored;
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds elapsed{0};
  std::string problem;

  bool sent() const;
  // Answered by a downlink the device took (DevAddr, MIC, FCntDown) with FCtrl.ACK set.
  bool acknowledged() const;
};

class AirLink {
 public:
  // Starts the gateways (each sends PULL_DATA and waits for PULL_ACK). Throws GatewayError when
  // a gateway cannot reach the NS (naming it and the NS address), lorawan::Error for bad options
  // (a channel or DR the region does not have, no gateway).
  explicit AirLink(AirLinkOptions options);
  ~AirLink();
  AirLink(const AirLink&) = delete;
  AirLink& operator=(const AirLink&) = delete;

  // The EUI of gateway `index` under `seed` (known before the gateways start, e.g. to register
  // them in the NS).
  static lorawan::Eui64 gateway_eui(std::uint64_t seed, std::size_t index);

  const lorawan::Region& region() const;
  const AirLinkOptions& options() const;
  std::vector<lorawan::Eui64> gateway_euis() const;
  SimGateway& gateway(std::size_t index);
  std::string ns_address() const;  // "127.0.0.1:1700"

  // The radio a device sends on (its channel is assigned at its first operation).
  AirRadio radio_for(const lorawan::Eui64& dev_eui);

  AirJoin join(SimDevice& device, const AirWaitOptions& wait = {});
  // Throws lorawan::Error when the device has no session (SimDevice::make_uplink()).
  AirUplink uplink(SimDevice& device, std::uint8_t fport, lorawan::ByteSpan payload,
                   bool confirmed, const AirWaitOptions& wait = {});

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace joincheck::sim
