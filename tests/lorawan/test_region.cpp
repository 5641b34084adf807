// Regional parameters: data rates, RX1 and RX2 of EU863-870 and US902-928, against the tables
// of LoRaWAN Regional Parameters RP002-1.0.x (EU868 and US915 "Data Rate ... Encoding",
// "Receive Windows"; the US915 RX1 table also matches Semtech LoRaMac-node's RegionUS915.h).
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "lorawan/error.hpp"
#include "lorawan/region.hpp"

namespace joincheck::lorawan {
namespace {

const Region& eu() { return Region::get(RegionId::eu868); }
const Region& us() { return Region::get(RegionId::us915); }

LoraDataRate rate(std::uint8_t sf, std::uint32_t bw) {
  LoraDataRate r;
  r.spreading_factor = sf;
  r.bandwidth_khz = bw;
  return r;
}

template <class F>
void expect_error(F&& f, std::initializer_list<std::string_view> parts) {
  try {
    f();
    ADD_FAILURE() << "no Error thrown";
  } catch (const Error& e) {
    const std::string what = e.what();
    for (auto part : parts) {
      EXPECT_NE(what.find(part), std::string::npos) << "'" << part << "' not in: " << what;
    }
  }
}

TEST(Region, NamesParseBothWays) {
  EXPECT_EQ(to_string(RegionId::eu868), "EU868");
  EXPECT_EQ(to_string(RegionId::us915), "US915");
  EXPECT_EQ(parse_region("EU868"), RegionId::eu868);
  EXPECT_EQ(parse_region("eu868"), RegionId::eu868);
  EXPECT_EQ(parse_region("EU863-870"), RegionId::eu868);
  EXPECT_EQ(parse_region("US915"), RegionId::us915);
  EXPECT_EQ(parse_region("us915"), RegionId::us915);
  EXPECT_EQ(parse_region("US902-928"), RegionId::us915);
  EXPECT_EQ(parse_region("AS923"), std::nullopt);
  EXPECT_EQ(parse_region(""), std::nullopt);
  EXPECT_EQ(eu().name(), "EU868");
  EXPECT_EQ(us().id(), RegionId::us915);
}

TEST(Region, DatrTextRoundTrips) {
  EXPECT_EQ(to_datr(rate(7, 125)), "SF7BW125");
  EXPECT_EQ(to_datr(rate(12, 500)), "SF12BW500");
  EXPECT_EQ(parse_datr("SF7BW125"), rate(7, 125));
  EXPECT_EQ(parse_datr("SF12BW500"), rate(12, 500));
  EXPECT_EQ(parse_datr("SF7BW250"), rate(7, 250));
  for (std::string_view bad : {"", "SF7", "SF7BW", "SF6BW125", "SF13BW125", "SF7BW126", "sf7bw125",
                               "SF07BW125", "SF7BW125 ", "SF7BW1250", "50000", "SFxBW125"}) {
    EXPECT_EQ(parse_datr(bad), std::nullopt) << bad;
  }
}

TEST(Region, ReceiveDelays) {
  EXPECT_EQ(kJoinAcceptDelay1, std::chrono::seconds(5));
  EXPECT_EQ(kJoinAcceptDelay2, std::chrono::seconds(6));
  EXPECT_EQ(receive_delay1(0), std::chrono::seconds(1));  // 0 counts as 1 s
  EXPECT_EQ(receive_delay1(1), std::chrono::seconds(1));
  EXPECT_EQ(receive_delay1(5), std::chrono::seconds(5));
  EXPECT_EQ(receive_delay1(15), std::chrono::seconds(15));
  EXPECT_EQ(receive_delay1(0xf3), std::chrono::seconds(3));  // RFU high bits ignored
}

TEST(Region, Eu868DataRates) {
  const std::uint8_t sf[] = {12, 11, 10, 9, 8, 7};
  for (std::uint8_t dr = 0; dr <= 5; ++dr) {
    EXPECT_EQ(eu().uplink_rate(dr), rate(sf[dr], 125)) << int(dr);
    EXPECT_EQ(eu().downlink_rate(dr), rate(sf[dr], 125)) << int(dr);
    EXPECT_EQ(eu().uplink_data_rate(rate(sf[dr], 125)), dr);
    EXPECT_EQ(eu().downlink_data_rate(rate(sf[dr], 125)), dr);
  }
  EXPECT_EQ(eu().uplink_rate(6), rate(7, 250));
  EXPECT_EQ(eu().uplink_rate(7), std::nullopt);  // FSK
  EXPECT_EQ(eu().uplink_rate(8), std::nullopt);
  EXPECT_EQ(eu().uplink_data_rate(rate(8, 500)), std::nullopt);
  EXPECT_EQ(eu().default_uplink_data_rate(), 5);
  EXPECT_EQ(eu().downlink_power_dbm(), 14);
  EXPECT_EQ(eu().max_rx1_dr_offset(), 5);
}

TEST(Region, Us915DataRates) {
  EXPECT_EQ(us().uplink_rate(0), rate(10, 125));
  EXPECT_EQ(us().uplink_rate(3), rate(7, 125));
  EXPECT_EQ(us().uplink_rate(4), rate(8, 500));
  EXPECT_EQ(us().uplink_rate(5), std::nullopt);
  EXPECT_EQ(us().uplink_rate(8), std::nullopt);  // downlink only
  EXPECT_EQ(us().downlink_rate(8), rate(12, 500));
  EXPECT_EQ(us().downlink_rate(13), rate(7, 500));
  EXPECT_EQ(us().downlink_rate(0), std::nullopt);  // uplink only
  EXPECT_EQ(us().downlink_rate(14), std::nullopt);
  // SF8BW500 is DR4 upstream and DR12 downstream.
  EXPECT_EQ(us().uplink_data_rate(rate(8, 500)), 4);
  EXPECT_EQ(us().downlink_data_rate(rate(8, 500)), 12);
  EXPECT_EQ(us().uplink_data_rate(rate(12, 125)), std::nullopt);
  EXPECT_EQ(us().default_uplink_data_rate(), 3);
  EXPECT_EQ(us().downlink_power_dbm(), 20);
  EXPECT_EQ(us().max_rx1_dr_offset(), 3);
}

TEST(Region, Channels) {
  EXPECT_EQ(eu().uplink_channels(),
            (std::vector<std::uint64_t>{868'100'000, 868'300'000, 868'500'000}));
  const auto& ch = us().uplink_channels();
  ASSERT_EQ(ch.size(), 72u);
  EXPECT_EQ(ch[0], 902'300'000u);
  EXPECT_EQ(ch[8], 903'900'000u);
  EXPECT_EQ(ch[63], 914'900'000u);
  EXPECT_EQ(ch[64], 903'000'000u);
  EXPECT_EQ(ch[71], 914'200'000u);
  EXPECT_TRUE(us().is_uplink_frequency(903'900'000));
  EXPECT_FALSE(us().is_uplink_frequency(903'950'000));
  EXPECT_TRUE(eu().is_uplink_frequency(867'100'000));  // a CFList channel
  EXPECT_FALSE(eu().is_uplink_frequency(915'000'000));
  EXPECT_TRUE(us().is_downlink_frequency(923'300'000));
  EXPECT_TRUE(us().is_downlink_frequency(927'500'000));
  EXPECT_FALSE(us().is_downlink_frequency(928'100'000));
  EXPECT_FALSE(us().is_downlink_frequency(923'400'000));
  EXPECT_FALSE(us().is_downlink_frequency(902'300'000));
  EXPECT_TRUE(eu().is_downlink_frequency(869'525'000));
  EXPECT_FALSE(eu().is_downlink_frequency(923'300'000));
}

// EU868 RX1: the uplink's frequency, DR max(0, up - RX1DROffset).
TEST(Region, Eu868Rx1) {
  const DownlinkWindow w = eu().rx1(868'100'000, 5);
  EXPECT_EQ(w.frequency_hz, 868'100'000u);
  EXPECT_EQ(w.data_rate, 5);
  EXPECT_EQ(w.lora, rate(7, 125));
  EXPECT_EQ(eu().rx1(868'500'000, 5, 2).data_rate, 3);
  EXPECT_EQ(eu().rx1(868'500'000, 5, 2).lora, rate(9, 125));
  EXPECT_EQ(eu().rx1(868'300'000, 2, 5).data_rate, 0);  // clamped at DR0
  EXPECT_EQ(eu().rx1(868'300'000, 6, 0).lora, rate(7, 250));
  EXPECT_EQ(eu().rx1(867'700'000, 0, 0).frequency_hz, 867'700'000u);
}

TEST(Region, Eu868Rx1RefusesWhatTheRegionDoesNotHave) {
  expect_error([] { eu().rx1(915'000'000, 5); },
               {"EU868 RX1", "915.000 MHz", "863.000 .. 870.000 MHz"});
  expect_error([] { eu().rx1(868'100'000, 7); }, {"DR7", "expected DR0..DR6"});
  expect_error([] { eu().rx1(868'100'000, 5, 6); }, {"RX1DROffset 6", "expected 0..5"});
}

// US915 RX1: 923.3 MHz + 600 kHz × (channel mod 8), DR from the RX1 table.
TEST(Region, Us915Rx1Channels) {
  EXPECT_EQ(us().rx1(902'300'000, 0).frequency_hz, 923'300'000u);  // channel 0
  EXPECT_EQ(us().rx1(902'500'000, 0).frequency_hz, 923'900'000u);  // channel 1
  EXPECT_EQ(us().rx1(903'700'000, 0).frequency_hz, 927'500'000u);  // channel 7
  EXPECT_EQ(us().rx1(903'900'000, 3).frequency_hz, 923'300'000u);  // channel 8
  EXPECT_EQ(us().rx1(914'900'000, 3).frequency_hz, 927'500'000u);  // channel 63
  EXPECT_EQ(us().rx1(903'000'000, 4).frequency_hz, 923'300'000u);  // channel 64
  EXPECT_EQ(us().rx1(904'600'000, 4).frequency_hz, 923'900'000u);  // channel 65
  EXPECT_EQ(us().rx1(914'200'000, 4).frequency_hz, 927'500'000u);  // channel 71
}

TEST(Region, Us915Rx1DataRateTable) {
  const std::uint8_t table[5][4] = {
      {10, 9, 8, 8}, {11, 10, 9, 8}, {12, 11, 10, 9}, {13, 12, 11, 10}, {13, 13, 12, 11}};
  for (std::uint8_t up = 0; up <= 4; ++up) {
    const std::uint64_t f = up == 4 ? 903'000'000 : 903'900'000;
    for (std::uint8_t off = 0; off <= 3; ++off) {
      const DownlinkWindow w = us().rx1(f, up, off);
      EXPECT_EQ(w.data_rate, table[up][off]) << "DR" << int(up) << " offset " << int(off);
      EXPECT_EQ(w.lora, us().downlink_rate(w.data_rate));
    }
  }
  EXPECT_EQ(us().rx1(903'900'000, 3).lora, rate(7, 500));  // DR13
}

TEST(Region, Us915Rx1RefusesWhatTheRegionDoesNotHave) {
  expect_error([] { us().rx1(903'950'000, 3); },
               {"US915 RX1", "903.950 MHz", "not a US902-928 uplink channel"});
  expect_error([] { us().rx1(903'900'000, 8); }, {"DR8", "expected DR0..DR4"});
  expect_error([] { us().rx1(903'900'000, 3, 4); }, {"RX1DROffset 4", "expected 0..3"});
}

TEST(Region, Rx2DefaultsAndOverride) {
  EXPECT_EQ(eu().rx2().frequency_hz, 869'525'000u);
  EXPECT_EQ(eu().rx2().data_rate, 0);
  EXPECT_EQ(eu().rx2().lora, rate(12, 125));
  EXPECT_EQ(eu().rx2(3).lora, rate(9, 125));  // an operator's SF9 RX2
  EXPECT_EQ(us().rx2().frequency_hz, 923'300'000u);
  EXPECT_EQ(us().rx2().data_rate, 8);
  EXPECT_EQ(us().rx2().lora, rate(12, 500));
  EXPECT_EQ(us().rx2(10).lora, rate(10, 500));
  expect_error([] { us().rx2(3); }, {"US915 RX2", "DR3", "expected DR8..DR13"});
  expect_error([] { eu().rx2(7); }, {"EU868 RX2", "DR7", "expected DR0..DR6"});
}

}  // namespace
}  // namespace joincheck::lorawan
