#pragma once
// The Semtech UDP packet forwarder protocol, version 2 ("GWMP", packet_forwarder PROTOCOL.TXT):
// the datagrams a gateway and a Network Server exchange over UDP (port 1700 by convention).
//
//   byte 0      protocol version (2)
//   bytes 1-2   random token (echoed by the acknowledgement)
//   byte 3      identifier: PUSH_DATA 0x00, PUSH_ACK 0x01, PULL_DATA 0x02, PULL_RESP 0x03,
//               PULL_ACK 0x04, TX_ACK 0x05
//   PUSH_DATA   bytes 4-11 gateway EUI, then JSON {"rxpk": [...], "stat": {...}}
//   PULL_DATA   bytes 4-11 gateway EUI
//   PULL_RESP   bytes 4.. JSON {"txpk": {...}}; its token is the one the TX_ACK echoes
//   TX_ACK      bytes 4-11 gateway EUI, then JSON {"txpk_ack": {"error": "TOO_LATE"|...}} for a
//               refusal; lora_pkt_fwd sends no JSON at all on success (some forwarders "NONE")
//   PUSH_ACK, PULL_ACK  the four header bytes only
//
// Decoding is strict about the binary header and what a receiver needs (a missing `data`, bad
// base64, a `size` that disagrees with the data) and lenient about extra JSON fields, as real
// forwarders add their own. Every GwmpError says which datagram field was wrong, what was
// expected and what was seen; a malformed datagram is for the caller to log and drop.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

namespace joincheck::sim::gwmp {

inline constexpr std::uint8_t kProtocolVersion = 2;

enum class PacketType : std::uint8_t {
  push_data = 0x00,
  push_ack = 0x01,
  pull_data = 0x02,
  pull_resp = 0x03,
  pull_ack = 0x04,
  tx_ack = 0x05,
};
std::string_view to_string(PacketType type);  // "PUSH_DATA", ...

class GwmpError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

// One received LoRa packet (`rxpk`). Optional fields stay absent when not sent.
struct RxPacket {
  std::optional<std::string> time;  // ISO 8601 UTC, when the gateway has GPS or NTP time
  std::uint32_t tmst = 0;           // the gateway's microsecond counter at reception
  std::uint64_t frequency_hz = 0;   // `freq` (MHz, 6 decimals on the wire)
  std::uint8_t chan = 0;            // IF channel
  std::uint8_t rfch = 0;            // RF chain
  std::int8_t stat = 1;             // CRC: 1 OK, -1 bad, 0 none
  std::string modu = "LORA";
  std::string datr = "SF7BW125";    // LoRa: "SF7BW125"
  std::string codr = "4/5";
  int rssi = -60;                   // dBm
  double lsnr = 9.0;                // dB
  lorawan::Bytes data;              // PHYPayload (`data` base64, `size` its length)
  friend bool operator==(const RxPacket&, const RxPacket&) = default;
};

// Gateway status (`stat`).
struct GatewayStatus {
  std::string time;  // "2014-01-12 08:59:28 GMT"
  std::optional<double> lati, longi;  // `lati`, `long`
  std::optional<int> alti;
  std::uint32_t rxnb = 0, rxok = 0, rxfw = 0;
  double ackr = 100.0;
  std::uint32_t dwnb = 0, txnb = 0;
  friend bool operator==(const GatewayStatus&, const GatewayStatus&) = default;
};

// One packet to send (`txpk`).
struct TxPacket {
  bool imme = false;                  // send immediately (class C); then no tmst
  std::optional<std::uint32_t> tmst;  // send when the gateway counter reaches this value
  std::optional<std::uint64_t> tmms;  // GPS time instead of tmst (class B)
  std::uint64_t frequency_hz = 0;
  std::uint8_t rfch = 0;
  int powe = 14;                      // dBm
  std::string modu = "LORA";
  std::string datr = "SF7BW125";
  std::string codr = "4/5";
  bool ipol = true;                   // LoRaWAN downlinks invert the polarity
  std::optional<std::uint16_t> prea;
  bool ncrc = true;                   // LoRaWAN downlinks carry no PHY CRC
  lorawan::Bytes data;
  // Fields lora_pkt_fwd requires ("no mandatory \"txpk.size\" object in JSON, TX aborted") that
  // this txpk lacked, in the order lora_pkt_fwd looks for them: "codr" (LoRa only), "size".
  // decode() accepts such a txpk and lists them here, so that the simulated gateway can answer as
  // lora_pkt_fwd does (no TX_ACK at all); encode() leaves the listed fields out, so that a test
  // can play an NS that omits them. Empty for a complete txpk.
  std::vector<std::string> missing_fields;
  friend bool operator==(const TxPacket&, const TxPacket&) = default;
};

// TX_ACK `error` values (PROTOCOL.TXT §6): NONE, TOO_LATE, TOO_EARLY, COLLISION_PACKET,
// COLLISION_BEACON, TX_FREQ, TX_POWER, GPS_UNLOCKED.
enum class TxAckError { none, too_late, too_early, collision_packet, collision_beacon, tx_freq, tx_power, gps_unlocked };
std::string_view to_string(TxAckError error);  // "NONE", "TOO_LATE", ...
std::optional<TxAckError> parse_tx_ack_error(std::string_view text);

struct PushData {
  lorawan::Eui64 gateway;
  std::vector<RxPacket> rxpk;
  std::optional<GatewayStatus> stat;
  friend bool operator==(const PushData&, const PushData&) = default;
};
struct PushAck {
  friend bool operator==(const PushAck&, const PushAck&) = default;
};
struct PullData {
  lorawan::Eui64 gateway;
  friend bool operator==(const PullData&, const PullData&) = default;
};
struct PullAck {
  friend bool operator==(const PullAck&, const PullAck&) = default;
};
struct PullResp {
  TxPacket txpk;
  friend bool operator==(const PullResp&, const PullResp&) = default;
};
struct TxAck {
  lorawan::Eui64 gateway;
  // nullopt when the datagram has no JSON part (older forwarders: success).
  std::optional<TxAckError> error;
  friend bool operator==(const TxAck&, const TxAck&) = default;
};

using Payload = std::variant<PushData, PushAck, PullData, PullAck, PullResp, TxAck>;

struct Packet {
  std::uint16_t token = 0;
  Payload payload;
  PacketType type() const;
  // Added: byte 0 as decoded (2, or 1 from an older forwarder) and as encode() writes it, so an
  // answer can be sent in the version of the datagram it answers. TX_ACK exists in 2 only.
  std::uint8_t protocol_version = kProtocolVersion;
  friend bool operator==(const Packet&, const Packet&) = default;
};

// Throws GwmpError for what cannot be written as GWMP: a protocol version other than 1 or 2 (2
// for TX_ACK), a non-finite lsnr, lati, long or ackr, a frequency of 10 GHz or more.
lorawan::Bytes encode(const Packet& packet);
// Throws GwmpError: too short, another protocol version (1 is accepted for PUSH/PULL as
// forwarders still send it), an unknown identifier, JSON that does not parse or lacks a
// required field, bad base64, size mismatch.
Packet decode(lorawan::ByteSpan datagram);

// "2026-11-25T23:50:58.123456Z" for rxpk.time, "2026-11-25 23:50:58 GMT" for stat.time.
std::string rxpk_time_now();
std::string stat_time_now();

// b − a on the gateway's 32-bit microsecond counter (`tmst`), as the signed distance
// (−2^31 .. 2^31 − 1): correct across the counter's wrap.
std::int64_t tmst_delta(std::uint32_t a, std::uint32_t b);

// A GWMP peer as messages and events write it: "127.0.0.1:1700", "[::1]:1700",
// "ns.example.net:1700" (brackets when the host is an IPv6 address).
std::string host_port_text(std::string_view host, std::uint16_t port);
// The same for a socket endpoint (boost::asio::ip::udp::endpoint: anything with address() and
// port()).
template <class Endpoint>
std::string endpoint_text(const Endpoint& endpoint) {
  return host_port_text(endpoint.address().to_string(), endpoint.port());
}

}  // namespace joincheck::sim::gwmp
