#include "lorawan/region.hpp"

// The values below are LoRaWAN Regional Parameters RP002-1.0.x (RP002-1.0.0 .. 1.0.4 agree on
// them), by the tables' titles in the region's chapter:
//  - EU863-870: "EU868 Data Rate and End-Device Output Power Encoding" (DR0..5 =
//    SF12..SF7 BW125, DR6 SF7BW250, DR7 FSK 50 kbps), the three default channels 868.1, 868.3
//    and 868.5 MHz, "EU868 Receive Windows" (RX1 on the uplink's frequency at DR
//    max(0, upstream DR - RX1DROffset), RX1DROffset 0..5; RX2 869.525 MHz DR0);
//  - US902-928: "US915 Data Rate and End-Device Output Power Encoding" (DR0..3 =
//    SF10..SF7 BW125 and DR4 SF8BW500 upstream, DR8..13 = SF12..SF7 BW500 downstream), the
//    channel plan (64 × 125 kHz from 902.3 MHz by 200 kHz, 8 × 500 kHz from 903.0 MHz by
//    1.6 MHz; downlink 8 × 500 kHz from 923.3 MHz by 600 kHz), "US915 Receive Windows" (RX1 on
//    923.3 MHz + 600 kHz × (uplink channel mod 8) at the DR of the RX1 table, RX1DROffset 0..3;
//    RX2 923.3 MHz DR8).

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "lorawan/error.hpp"

namespace joincheck::lorawan {
namespace {

constexpr std::uint64_t kMHz = 1'000'000;

LoraDataRate lora(std::uint8_t sf, std::uint32_t bw) {
  LoraDataRate r;
  r.spreading_factor = sf;
  r.bandwidth_khz = bw;
  return r;
}

// EU868 (RP002 "EU863-870 Data Rate and End-Device Output Power Encoding"): the same table up and
// down; DR7 is FSK, not represented.
std::optional<LoraDataRate> eu868_rate(std::uint8_t dr) {
  if (dr <= 5) return lora(static_cast<std::uint8_t>(12 - dr), 125);
  if (dr == 6) return lora(7, 250);
  return std::nullopt;
}

// US915 (RP002 "US902-928 Data Rate and End-Device Output Power Encoding").
std::optional<LoraDataRate> us915_uplink_rate(std::uint8_t dr) {
  if (dr <= 3) return lora(static_cast<std::uint8_t>(10 - dr), 125);
  if (dr == 4) return lora(8, 500);
  return std::nullopt;
}
std::optional<LoraDataRate> us915_downlink_rate(std::uint8_t dr) {
  if (dr >= 8 && dr <= 13) return lora(static_cast<std::uint8_t>(20 - dr), 500);
  return std::nullopt;
}

// US915 RX1 DR by upstream DR (rows DR0..DR4) and RX1DROffset (columns 0..3), RP002 "US902-928
// Receive Windows"; Semtech LoRaMac-node's RegionUS915.h has the same table.
constexpr std::array<std::array<std::uint8_t, 4>, 5> kUs915Rx1 = {{
    {10, 9, 8, 8},
    {11, 10, 9, 8},
    {12, 11, 10, 9},
    {13, 12, 11, 10},
    {13, 13, 12, 11},
}};

constexpr std::uint64_t kEu868BandLow = 863 * kMHz;
constexpr std::uint64_t kEu868BandHigh = 870 * kMHz;
constexpr std::uint64_t kUs915Uplink125First = 902'300'000;
constexpr std::uint64_t kUs915Uplink125Step = 200'000;
constexpr std::uint64_t kUs915Uplink500First = 903'000'000;
constexpr std::uint64_t kUs915Uplink500Step = 1'600'000;
constexpr std::uint64_t kUs915DownlinkFirst = 923'300'000;
constexpr std::uint64_t kUs915DownlinkStep = 600'000;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) !=
        std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// A run of decimal digits without a leading zero, as a number; nullopt otherwise.
std::optional<std::uint32_t> small_number(std::string_view digits) {
  if (digits.empty() || digits.size() > 3 || digits[0] == '0') return std::nullopt;
  std::uint32_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string_view to_string(RegionId region) {
  switch (region) {
    case RegionId::eu868:
      return "EU868";
    case RegionId::us915:
      return "US915";
  }
  return "?";
}

std::optional<RegionId> parse_region(std::string_view text) {
  if (iequals(text, "EU868") || iequals(text, "EU863-870")) return RegionId::eu868;
  if (iequals(text, "US915") || iequals(text, "US902-928")) return RegionId::us915;
  return std::nullopt;
}

std::string mhz_text(std::uint64_t hz) {
  std::string frac = std::to_string(hz % kMHz);
  frac.insert(0, 6 - frac.size(), '0');
  while (frac.size() > 3 && frac.back() == '0') frac.pop_back();
  return std::to_string(hz / kMHz) + "." + frac + " MHz";
}

std::string to_datr(const LoraDataRate& rate) {
  return "SF" + std::to_string(rate.spreading_factor) + "BW" + std::to_string(rate.bandwidth_khz);
}

std::optional<LoraDataRate> parse_datr(std::string_view text) {
  if (text.size() < 7 || text.substr(0, 2) != "SF") return std::nullopt;
  const auto bw_at = text.find("BW", 2);
  if (bw_at == std::string_view::npos) return std::nullopt;
  const auto sf = small_number(text.substr(2, bw_at - 2));
  const auto bw = small_number(text.substr(bw_at + 2));
  if (!sf || !bw || *sf < 7 || *sf > 12) return std::nullopt;
  if (*bw != 125 && *bw != 250 && *bw != 500) return std::nullopt;
  return lora(static_cast<std::uint8_t>(*sf), *bw);
}

std::chrono::seconds receive_delay1(std::uint8_t rx_delay) {
  const int del = rx_delay & 0x0f;
  return std::chrono::seconds(del == 0 ? 1 : del);
}

const Region& Region::get(RegionId id) {
  static const Region eu868(RegionId::eu868);
  static const Region us915(RegionId::us915);
  return id == RegionId::eu868 ? eu868 : us915;
}

Region::Region(RegionId id) : id_(id) {
  if (id == RegionId::eu868) {
    uplink_channels_ = {868'100'000, 868'300'000, 868'500'000};
  } else {
    for (std::uint64_t n = 0; n < 64; ++n)
      uplink_channels_.push_back(kUs915Uplink125First + kUs915Uplink125Step * n);
    for (std::uint64_t n = 0; n < 8; ++n)
      uplink_channels_.push_back(kUs915Uplink500First + kUs915Uplink500Step * n);
  }
}

std::string_view Region::name() const { return to_string(id_); }

std::optional<LoraDataRate> Region::uplink_rate(std::uint8_t data_rate) const {
  return id_ == RegionId::eu868 ? eu868_rate(data_rate) : us915_uplink_rate(data_rate);
}

std::optional<LoraDataRate> Region::downlink_rate(std::uint8_t data_rate) const {
  return id_ == RegionId::eu868 ? eu868_rate(data_rate) : us915_downlink_rate(data_rate);
}

std::optional<std::uint8_t> Region::uplink_data_rate(const LoraDataRate& rate) const {
  for (std::uint8_t dr = 0; dr < 16; ++dr) {
    if (uplink_rate(dr) == rate) return dr;
  }
  return std::nullopt;
}

std::optional<std::uint8_t> Region::downlink_data_rate(const LoraDataRate& rate) const {
  for (std::uint8_t dr = 0; dr < 16; ++dr) {
    if (downlink_rate(dr) == rate) return dr;
  }
  return std::nullopt;
}

std::uint8_t Region::default_uplink_data_rate() const { return id_ == RegionId::eu868 ? 5 : 3; }

std::uint8_t Region::max_rx1_dr_offset() const { return id_ == RegionId::eu868 ? 5 : 3; }

bool Region::is_uplink_frequency(std::uint64_t frequency_hz) const {
  if (id_ == RegionId::eu868)
    return frequency_hz >= kEu868BandLow && frequency_hz <= kEu868BandHigh;
  return std::find(uplink_channels_.begin(), uplink_channels_.end(), frequency_hz) !=
         uplink_channels_.end();
}

bool Region::is_downlink_frequency(std::uint64_t frequency_hz) const {
  if (id_ == RegionId::eu868)
    return frequency_hz >= kEu868BandLow && frequency_hz <= kEu868BandHigh;
  if (frequency_hz < kUs915DownlinkFirst) return false;
  const std::uint64_t offset = frequency_hz - kUs915DownlinkFirst;
  return offset % kUs915DownlinkStep == 0 && offset / kUs915DownlinkStep < 8;
}

DownlinkWindow Region::rx1(std::uint64_t uplink_frequency_hz, std::uint8_t uplink_data_rate,
                           std::uint8_t rx1_dr_offset) const {
  const std::string where = std::string(name()) + " RX1";
  if (!uplink_rate(uplink_data_rate)) {
    throw Error(where + ": uplink DR" + std::to_string(uplink_data_rate) +
                " is not a LoRa uplink data rate of " + std::string(name()) + " (expected DR0.." +
                (id_ == RegionId::eu868 ? "DR6" : "DR4") + ")");
  }
  if (rx1_dr_offset > max_rx1_dr_offset()) {
    throw Error(where + ": RX1DROffset " + std::to_string(rx1_dr_offset) +
                " is out of range (expected 0.." + std::to_string(max_rx1_dr_offset()) + ")");
  }
  DownlinkWindow w;
  if (id_ == RegionId::eu868) {
    if (!is_uplink_frequency(uplink_frequency_hz)) {
      throw Error(where + ": uplink frequency " + mhz_text(uplink_frequency_hz) +
                  " is outside the EU863-870 band (expected 863.000 .. 870.000 MHz)");
    }
    w.frequency_hz = uplink_frequency_hz;
    w.data_rate = static_cast<std::uint8_t>(
        uplink_data_rate > rx1_dr_offset ? uplink_data_rate - rx1_dr_offset : 0);
  } else {
    const auto it =
        std::find(uplink_channels_.begin(), uplink_channels_.end(), uplink_frequency_hz);
    if (it == uplink_channels_.end()) {
      throw Error(
          where + ": uplink frequency " + mhz_text(uplink_frequency_hz) +
          " is not a US902-928 uplink channel (expected 902.300 MHz + 200 kHz × n, n < 64, or "
          "903.000 MHz + 1.6 MHz × n, n < 8)");
    }
    const auto channel = static_cast<std::uint64_t>(it - uplink_channels_.begin());
    w.frequency_hz = kUs915DownlinkFirst + kUs915DownlinkStep * (channel % 8);
    w.data_rate = kUs915Rx1[uplink_data_rate][rx1_dr_offset];
  }
  w.lora = *downlink_rate(w.data_rate);
  return w;
}

DownlinkWindow Region::rx2(std::optional<std::uint8_t> data_rate) const {
  DownlinkWindow w;
  w.frequency_hz = id_ == RegionId::eu868 ? 869'525'000 : kUs915DownlinkFirst;
  w.data_rate = data_rate.value_or(id_ == RegionId::eu868 ? 0 : 8);
  const auto rate = downlink_rate(w.data_rate);
  if (!rate) {
    throw Error(std::string(name()) + " RX2: DR" + std::to_string(w.data_rate) +
                " is not a LoRa downlink data rate of " + std::string(name()) + " (expected " +
                (id_ == RegionId::eu868 ? "DR0..DR6" : "DR8..DR13") + ")");
  }
  w.lora = *rate;
  return w;
}

int Region::downlink_power_dbm() const { return id_ == RegionId::eu868 ? 14 : 20; }

}  // namespace joincheck::lorawan
