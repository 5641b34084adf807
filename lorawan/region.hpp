#pragma once
// Regional parameters a gateway and a Network Server need to place a downlink: data rates, the
// RX1 channel and data rate that answer an uplink, the RX2 defaults, and the receive delays
// (LoRaWAN Regional Parameters RP002-1.0.x, EU863-870 and US902-928; LoRaWAN 1.0.x/1.1 §3.3
// and §6.2.6 for the delays). Pure data and arithmetic: no I/O.
//
// Frequencies are in Hz (integers, so 868.1 MHz compares exactly); GWMP's MHz floats are
// converted at the protocol edge. A data rate is written "SF7BW125" as in GWMP's `datr`.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincheck::lorawan {

enum class RegionId { eu868, us915 };
std::string_view to_string(RegionId region);  // "EU868", "US915"
// "EU868"/"eu868"/"EU863-870", "US915"/"us915"/"US902-928"; nullopt otherwise.
std::optional<RegionId> parse_region(std::string_view text);

// A LoRa modulation setting.
struct LoraDataRate {
  std::uint8_t spreading_factor = 7;  // 7..12
  std::uint32_t bandwidth_khz = 125;  // 125, 250, 500
  friend bool operator==(const LoraDataRate&, const LoraDataRate&) = default;
};
// "SF7BW125".
std::string to_datr(const LoraDataRate& rate);
// Parses GWMP's "SF7BW125"; nullopt for anything else (FSK rates are numbers in GWMP and are
// not supported here).
std::optional<LoraDataRate> parse_datr(std::string_view text);

// A frequency for people to read, exactly: "868.100 MHz", "868.1001 MHz", "923.300 MHz". Three
// decimals (kHz) at least, as many more as the value needs. The one formatter of the project: the
// gateway, the NS, the verdicts and the reports all write frequencies with it.
std::string mhz_text(std::uint64_t hz);

// Where and how a downlink is expected.
struct DownlinkWindow {
  std::uint64_t frequency_hz = 0;
  std::uint8_t data_rate = 0;  // the region's DR index
  LoraDataRate lora;           // its modulation
  friend bool operator==(const DownlinkWindow&, const DownlinkWindow&) = default;
};

// The LoRaWAN delays (LoRaWAN 1.0.x/1.1 §6 "Default settings"): JOIN_ACCEPT_DELAY1 5 s,
// JOIN_ACCEPT_DELAY2 6 s; RECEIVE_DELAY1 = the session's RxDelay (0 means 1 s), RECEIVE_DELAY2
// = RECEIVE_DELAY1 + 1 s.
inline constexpr std::chrono::seconds kJoinAcceptDelay1{5};
inline constexpr std::chrono::seconds kJoinAcceptDelay2{6};
// RECEIVE_DELAY1 for a join-accept's RxDelay field (its low 4 bits; 0 counts as 1 s).
std::chrono::seconds receive_delay1(std::uint8_t rx_delay);

class Region {
 public:
  static const Region& get(RegionId id);

  RegionId id() const { return id_; }
  std::string_view name() const;

  // The modulation of an uplink/downlink DR index; nullopt for an index the region does not
  // define (or defines for another direction only).
  std::optional<LoraDataRate> uplink_rate(std::uint8_t data_rate) const;
  std::optional<LoraDataRate> downlink_rate(std::uint8_t data_rate) const;
  // The uplink DR index of a modulation; nullopt when it is not an uplink rate of the region.
  std::optional<std::uint8_t> uplink_data_rate(const LoraDataRate& rate) const;

  // The channels a device joins on: EU868's three default channels (868.1, 868.3, 868.5 MHz);
  // US915's 64 125-kHz channels (902.3 MHz + 200 kHz × n) and eight 500-kHz ones (903.0 MHz +
  // 1.6 MHz × n).
  const std::vector<std::uint64_t>& uplink_channels() const { return uplink_channels_; }
  // The DR a simulated device uses by default for join-requests: EU868 DR5 (SF7BW125), US915
  // DR3 (SF7BW125).
  std::uint8_t default_uplink_data_rate() const;

  // RX1 for an uplink on `uplink_frequency_hz` at `uplink_data_rate`, with the session's
  // RX1DROffset (0 for a join-accept): EU868 same frequency, DR max(0, up - offset); US915
  // 923.3 MHz + 600 kHz × (uplink channel mod 8), DR from RP002's table (DR0..4 -> DR10..13 at
  // offset 0). Throws Error for an uplink frequency or DR the region does not have.
  DownlinkWindow rx1(std::uint64_t uplink_frequency_hz, std::uint8_t uplink_data_rate,
                     std::uint8_t rx1_dr_offset = 0) const;
  // The default RX2: EU868 869.525 MHz DR0 (SF12BW125); US915 923.3 MHz DR8 (SF12BW500). A
  // network may use another RX2 data rate (DLSettings.RX2DataRate after the join; some
  // operators configure SF9 in EU868): `data_rate` overrides the default's.
  DownlinkWindow rx2(std::optional<std::uint8_t> data_rate = std::nullopt) const;

  // The usual downlink power in dBm for GWMP's `powe` (EU868 14, US915 20).
  int downlink_power_dbm() const;

  // Additions for the simulated gateway and the NS (same sources as above):
  // The modulation's downlink DR index; nullopt when it is not a downlink rate of the region.
  std::optional<std::uint8_t> downlink_data_rate(const LoraDataRate& rate) const;
  // Whether a device may send on this frequency: EU868 anywhere in 863-870 MHz (a CFList or
  // NewChannelReq adds channels there), US915 one of the 72 uplink channels exactly.
  bool is_uplink_frequency(std::uint64_t frequency_hz) const;
  // Whether a device may be answered on this frequency: EU868 anywhere in 863-870 MHz (RX1 is
  // the uplink's channel), US915 one of the eight 500-kHz downlink channels (923.3 MHz + 600
  // kHz × n).
  bool is_downlink_frequency(std::uint64_t frequency_hz) const;
  // The highest RX1DROffset the region defines (EU868 5, US915 3).
  std::uint8_t max_rx1_dr_offset() const;

 private:
  explicit Region(RegionId id);
  RegionId id_;
  std::vector<std::uint64_t> uplink_channels_;
};

}  // namespace joincheck::lorawan
