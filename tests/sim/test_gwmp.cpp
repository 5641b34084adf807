// The Semtech UDP protocol (GWMP v2) codec against frames built from packet_forwarder
// PROTOCOL.TXT (v1.3): the header bytes of §3.2-§5.5 exactly, the JSON examples of §4 and §6 as
// printed there (white space included), every TX_ACK error value of §6; round trips; and
// malformed datagrams, each a GwmpError that says where and what, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>

#include "sim/gateway/gwmp.hpp"
#include "sim_test_support.hpp"

namespace joincheck::sim::gwmp {
namespace {

using lorawan::Bytes;

const lorawan::Eui64 kEui = lorawan::Eui64::parse("aa555a0000000000");
// The EUI as GWMP carries it: most significant byte first.
const Bytes kEuiBytes = {0xaa, 0x55, 0x5a, 0x00, 0x00, 0x00, 0x00, 0x00};

Bytes header(std::uint8_t version, std::uint8_t token_hi, std::uint8_t token_lo, std::uint8_t id) {
  return {version, token_hi, token_lo, id};
}
Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Bytes cat(Bytes a, std::string_view text) {
  a.insert(a.end(), text.begin(), text.end());
  return a;
}
std::string text_after(const Bytes& datagram, std::size_t offset) {
  return std::string(datagram.begin() + static_cast<std::ptrdiff_t>(offset), datagram.end());
}
Bytes push_data(std::string_view json) {
  return cat(cat(header(2, 0x12, 0x34, 0x00), kEuiBytes), json);
}
Bytes pull_resp(std::string_view json) { return cat(header(2, 0x56, 0x78, 0x03), json); }

// Expects decode() to throw GwmpError whose message contains every one of `parts`.
void expect_refused(const Bytes& datagram, std::initializer_list<std::string_view> parts) {
  try {
    const Packet p = decode(datagram);
    ADD_FAILURE() << "decoded a " << to_string(p.type());
  } catch (const GwmpError& e) {
    const std::string what = e.what();
    for (auto part : parts) EXPECT_CONTAINS(what, part);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a GwmpError: " << e.what();
  }
}

// PROTOCOL.TXT §4, the third rxpk of the example (the first one's data holds '-' and is not
// base64; see RxpkExampleWithUrlSafeCharactersIsRefused).
constexpr std::string_view kRxpkExample = R"({"rxpk":[
	{
		"time":"2013-03-31T16:21:17.532038Z",
		"tmst":3316387610,
		"chan":0,
		"rfch":0,
		"freq":863.00981,
		"stat":1,
		"modu":"LORA",
		"datr":"SF10BW125",
		"codr":"4/7",
		"rssi":-38,
		"lsnr":5.5,
		"size":32,
		"data":"ysgRl452xNLep9S1NTIg2lomKDxUgn3DJ7DE+b00Ass"
	}
]})";

TEST(Gwmp, PushDataHeaderAndRxpkFromProtocolTxt) {
  const Packet p = decode(push_data(kRxpkExample));
  EXPECT_EQ(p.type(), PacketType::push_data);
  EXPECT_EQ(p.token, 0x1234);
  EXPECT_EQ(p.protocol_version, 2);
  const auto& push = std::get<PushData>(p.payload);
  EXPECT_EQ(push.gateway, kEui);
  EXPECT_FALSE(push.stat);
  ASSERT_EQ(push.rxpk.size(), 1u);
  const RxPacket& r = push.rxpk[0];
  EXPECT_EQ(r.time, "2013-03-31T16:21:17.532038Z");
  EXPECT_EQ(r.tmst, 3316387610u);
  EXPECT_EQ(r.chan, 0);
  EXPECT_EQ(r.rfch, 0);
  EXPECT_EQ(r.frequency_hz, 863'009'810u);
  EXPECT_EQ(r.stat, 1);
  EXPECT_EQ(r.modu, "LORA");
  EXPECT_EQ(r.datr, "SF10BW125");
  EXPECT_EQ(r.codr, "4/7");
  EXPECT_EQ(r.rssi, -38);
  EXPECT_DOUBLE_EQ(r.lsnr, 5.5);
  EXPECT_EQ(r.data.size(), 32u);
  EXPECT_EQ(lorawan::to_base64(r.data), "ysgRl452xNLep9S1NTIg2lomKDxUgn3DJ7DE+b00Ass=");
}

TEST(Gwmp, FskRxpkFromProtocolTxtKeepsItsNumericDatr) {
  const Packet p = decode(push_data(R"({"rxpk":[{
		"time":"2013-03-31T16:21:17.530974Z",
		"tmst":3512348514,
		"chan":9,
		"rfch":1,
		"freq":869.1,
		"stat":1,
		"modu":"FSK",
		"datr":50000,
		"rssi":-75,
		"size":16,
		"data":"VEVTVF9QQUNLRVRfMTIzNA=="
	}]})"));
  const RxPacket& r = std::get<PushData>(p.payload).rxpk.at(0);
  EXPECT_EQ(r.modu, "FSK");
  EXPECT_EQ(r.datr, "50000");
  EXPECT_EQ(r.frequency_hz, 869'100'000u);
  EXPECT_EQ(r.chan, 9);
  EXPECT_EQ(r.rfch, 1);
  EXPECT_EQ(r.rssi, -75);
  EXPECT_EQ(r.codr, "");
  EXPECT_EQ(std::string(r.data.begin(), r.data.end()), "TEST_PACKET_1234");
  // Written back with datr as a number and no lsnr/codr, as in the example.
  const std::string json = text_after(encode(p), 12);
  EXPECT_CONTAINS(json, "\"datr\":50000,");
  EXPECT_NOT_CONTAINS(json, "lsnr");
  EXPECT_NOT_CONTAINS(json, "codr");
  EXPECT_EQ(decode(encode(p)), p);
}

TEST(Gwmp, RxpkExampleWithUrlSafeCharactersIsRefused) {
  // PROTOCOL.TXT §4's first rxpk: "-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84" mixes '-'
  // (base64url) with '+' (base64): not the padded base64 the table asks for.
  expect_refused(
      push_data(R"({"rxpk":[{"tmst":3512348611,"freq":866.349812,"modu":"LORA","datr":"SF7BW125",
    "codr":"4/6","rssi":-35,"lsnr":5.1,"size":32,"data":"-DS4CGaDCdG+48eJNM3Vai-zDpsR71Pn9CPA9uCON84"}]})"),
      {"PUSH_DATA rxpk[0].data", "expected base64 characters", "'-' at position 0"});
}

TEST(Gwmp, StatFromProtocolTxt) {
  const Packet p = decode(push_data(R"({"stat":{
	"time":"2014-01-12 08:59:28 GMT",
	"lati":46.24000,
	"long":3.25230,
	"alti":145,
	"rxnb":2,
	"rxok":2,
	"rxfw":2,
	"ackr":100.0,
	"dwnb":2,
	"txnb":2
}})"));
  const auto& push = std::get<PushData>(p.payload);
  EXPECT_TRUE(push.rxpk.empty());
  ASSERT_TRUE(push.stat);
  EXPECT_EQ(push.stat->time, "2014-01-12 08:59:28 GMT");
  EXPECT_DOUBLE_EQ(*push.stat->lati, 46.24);
  EXPECT_DOUBLE_EQ(*push.stat->longi, 3.2523);
  EXPECT_EQ(push.stat->alti, 145);
  EXPECT_EQ(push.stat->rxnb, 2u);
  EXPECT_EQ(push.stat->rxok, 2u);
  EXPECT_EQ(push.stat->rxfw, 2u);
  EXPECT_DOUBLE_EQ(push.stat->ackr, 100.0);
  EXPECT_EQ(push.stat->dwnb, 2u);
  EXPECT_EQ(push.stat->txnb, 2u);
}

TEST(Gwmp, EncodesPushDataExactly) {
  RxPacket r;
  r.time = "2013-03-31T16:21:17.532038Z";
  r.tmst = 3316387610;
  r.chan = 0;
  r.rfch = 0;
  r.frequency_hz = 868'100'000;
  r.stat = 1;
  r.datr = "SF7BW125";
  r.codr = "4/5";
  r.rssi = -38;
  r.lsnr = 5.5;
  r.data = {0x00, 0x01, 0x02, 0x03};
  GatewayStatus s;
  s.time = "2014-01-12 08:59:28 GMT";
  s.lati = 46.24;
  s.longi = 3.2523;
  s.alti = 145;
  s.rxnb = s.rxok = s.rxfw = s.dwnb = s.txnb = 2;
  s.ackr = 100.0;
  Packet p;
  p.token = 0xabcd;
  p.payload = PushData{kEui, {r}, s};
  const Bytes datagram = encode(p);
  EXPECT_EQ(Bytes(datagram.begin(), datagram.begin() + 12),
            cat(header(2, 0xab, 0xcd, 0x00), kEuiBytes));
  EXPECT_EQ(
      text_after(datagram, 12),
      R"({"rxpk":[{"time":"2013-03-31T16:21:17.532038Z","tmst":3316387610,"chan":0,"rfch":0,)"
      R"("freq":868.100000,"stat":1,"modu":"LORA","datr":"SF7BW125","codr":"4/5","rssi":-38,"lsnr":5.5,)"
      R"("size":4,"data":"AAECAw=="}],"stat":{"time":"2014-01-12 08:59:28 GMT","lati":46.24000,)"
      R"("long":3.25230,"alti":145,"rxnb":2,"rxok":2,"rxfw":2,"ackr":100.0,"dwnb":2,"txnb":2}})");
  EXPECT_EQ(decode(datagram), p);
}

TEST(Gwmp, FrequencyIsWrittenWithSixDecimalsAndReadToTheNearestHz) {
  for (std::uint64_t hz : {868'100'000ull, 869'525'000ull, 923'300'000ull, 863'009'810ull,
                           866'349'812ull, 902'300'001ull, 512'000'012ull, 1'000ull}) {
    RxPacket r;
    r.frequency_hz = hz;
    r.data = {1};
    Packet p;
    p.payload = PushData{kEui, {r}, std::nullopt};
    EXPECT_EQ(std::get<PushData>(decode(encode(p)).payload).rxpk.at(0).frequency_hz, hz) << hz;
  }
  const auto freq_of = [](std::string_view freq) {
    const std::string json =
        R"({"rxpk":[{"tmst":1,"freq":)" + std::string(freq) +
        R"(,"modu":"LORA","datr":"SF7BW125","rssi":-60,"lsnr":9,"data":"AQ=="}]})";
    return std::get<PushData>(decode(push_data(json)).payload).rxpk.at(0).frequency_hz;
  };
  EXPECT_EQ(freq_of("868.1"), 868'100'000u);
  EXPECT_EQ(freq_of("868.100000"), 868'100'000u);
  EXPECT_EQ(freq_of("868.0999999"), 868'100'000u);
  EXPECT_EQ(freq_of("868.1000004"), 868'100'000u);
  EXPECT_EQ(freq_of("868.09999999999990905052982270717620849609375"), 868'100'000u);
  EXPECT_EQ(freq_of("512.000012"), 512'000'012u);  // 1e6 × the double is 512000011.99999994
  EXPECT_EQ(freq_of("8.681e2"), 868'100'000u);
  EXPECT_EQ(freq_of("868"), 868'000'000u);
}

TEST(Gwmp, PullDataAndAcksAreHeaderBytesExactly) {
  Packet pull;
  pull.token = 0x0102;
  pull.payload = PullData{kEui};
  EXPECT_EQ(encode(pull), cat(header(2, 0x01, 0x02, 0x02), kEuiBytes));
  EXPECT_EQ(decode(cat(header(2, 0x01, 0x02, 0x02), kEuiBytes)), pull);

  Packet push_ack;
  push_ack.token = 0xbeef;
  push_ack.payload = PushAck{};
  EXPECT_EQ(encode(push_ack), header(2, 0xbe, 0xef, 0x01));
  EXPECT_EQ(decode(header(2, 0xbe, 0xef, 0x01)), push_ack);

  Packet pull_ack;
  pull_ack.token = 0x0102;
  pull_ack.payload = PullAck{};
  EXPECT_EQ(encode(pull_ack), header(2, 0x01, 0x02, 0x04));
  EXPECT_EQ(decode(header(2, 0x01, 0x02, 0x04)), pull_ack);
  EXPECT_EQ(to_string(pull_ack.type()), "PULL_ACK");
}

TEST(Gwmp, ProtocolVersion1IsReadAndAnsweredInKind) {
  const Packet p = decode(cat(header(1, 0x01, 0x02, 0x02), kEuiBytes));
  EXPECT_EQ(p.protocol_version, 1);
  Packet ack;
  ack.token = p.token;
  ack.payload = PullAck{};
  ack.protocol_version = p.protocol_version;
  EXPECT_EQ(encode(ack), header(1, 0x01, 0x02, 0x04));
  const Packet push =
      decode(cat(cat(header(1, 0, 1, 0), kEuiBytes), std::string_view(kRxpkExample)));
  EXPECT_EQ(push.protocol_version, 1);
}

// PROTOCOL.TXT §6, the first txpk example, with a canonical data string: the example's
// "H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v" leaves bits set after the 32nd byte.
TEST(Gwmp, PullRespFromProtocolTxt) {
  const Packet p = decode(pull_resp(R"({"txpk":{
	"imme":true,
	"freq":864.123456,
	"rfch":0,
	"powe":14,
	"modu":"LORA",
	"datr":"SF11BW125",
	"codr":"4/6",
	"ipol":false,
	"size":32,
	"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8s"
}})"));
  EXPECT_EQ(p.type(), PacketType::pull_resp);
  EXPECT_EQ(p.token, 0x5678);
  const TxPacket& t = std::get<PullResp>(p.payload).txpk;
  EXPECT_TRUE(t.imme);
  EXPECT_FALSE(t.tmst);
  EXPECT_EQ(t.frequency_hz, 864'123'456u);
  EXPECT_EQ(t.rfch, 0);
  EXPECT_EQ(t.powe, 14);
  EXPECT_EQ(t.modu, "LORA");
  EXPECT_EQ(t.datr, "SF11BW125");
  EXPECT_EQ(t.codr, "4/6");
  EXPECT_FALSE(t.ipol);
  EXPECT_FALSE(t.ncrc);  // absent: lora_pkt_fwd keeps the CRC
  EXPECT_EQ(t.data.size(), 32u);

  expect_refused(
      pull_resp(R"({"txpk":{"imme":true,"freq":864.123456,"rfch":0,"powe":14,"modu":"LORA",
    "datr":"SF11BW125","codr":"4/6","ipol":false,"size":32,"data":"H3P3N2i9qc4yt7rK7ldqoeCVJGBybzPY5h1Dd7P7p8v"}})"),
      {"PULL_RESP txpk.data", "truncated base64"});
}

TEST(Gwmp, EncodesPullRespExactly) {
  TxPacket t;
  t.tmst = 3316387610u + 5'000'000u;
  t.frequency_hz = 868'100'000;
  t.rfch = 0;
  t.powe = 14;
  t.datr = "SF7BW125";
  t.codr = "4/5";
  t.ipol = true;
  t.ncrc = true;
  t.data = {0x20, 0x01};
  Packet p;
  p.token = 0x5678;
  p.payload = PullResp{t};
  const Bytes datagram = encode(p);
  EXPECT_EQ(Bytes(datagram.begin(), datagram.begin() + 4), header(2, 0x56, 0x78, 0x03));
  EXPECT_EQ(
      text_after(datagram, 4),
      R"({"txpk":{"imme":false,"tmst":3321387610,"freq":868.100000,"rfch":0,"powe":14,"modu":"LORA",)"
      R"("datr":"SF7BW125","codr":"4/5","ipol":true,"size":2,"data":"IAE=","ncrc":true}})");
  EXPECT_EQ(decode(datagram), p);
}

TEST(Gwmp, TxAckWithoutJsonMeansSuccess) {
  const Packet p = decode(cat(header(2, 0x56, 0x78, 0x05), kEuiBytes));
  EXPECT_EQ(p.type(), PacketType::tx_ack);
  EXPECT_EQ(p.token, 0x5678);
  EXPECT_EQ(std::get<TxAck>(p.payload).gateway, kEui);
  EXPECT_EQ(std::get<TxAck>(p.payload).error, std::nullopt);
  EXPECT_EQ(encode(p), cat(header(2, 0x56, 0x78, 0x05), kEuiBytes));
  // lora_pkt_fwd may send its string terminator.
  EXPECT_EQ(
      std::get<TxAck>(decode(cat(cat(header(2, 0, 1, 5), kEuiBytes), Bytes{0})).payload).error,
      std::nullopt);
}

TEST(Gwmp, TxAckEveryErrorValue) {
  // PROTOCOL.TXT §6's example, white space as printed.
  const Packet example = decode(cat(cat(header(2, 0x56, 0x78, 0x05), kEuiBytes),
                                    "{\"txpk_ack\":{\n\t\"error\":\"COLLISION_PACKET\"\n}}"));
  EXPECT_EQ(std::get<TxAck>(example.payload).error, TxAckError::collision_packet);

  const std::pair<TxAckError, std::string_view> all[] = {
      {TxAckError::none, "NONE"},
      {TxAckError::too_late, "TOO_LATE"},
      {TxAckError::too_early, "TOO_EARLY"},
      {TxAckError::collision_packet, "COLLISION_PACKET"},
      {TxAckError::collision_beacon, "COLLISION_BEACON"},
      {TxAckError::tx_freq, "TX_FREQ"},
      {TxAckError::tx_power, "TX_POWER"},
      {TxAckError::gps_unlocked, "GPS_UNLOCKED"},
  };
  for (const auto& [error, text] : all) {
    EXPECT_EQ(to_string(error), text);
    EXPECT_EQ(parse_tx_ack_error(text), error);
    Packet p;
    p.token = 0x5678;
    p.payload = TxAck{kEui, error};
    const Bytes expected = cat(cat(header(2, 0x56, 0x78, 0x05), kEuiBytes),
                               "{\"txpk_ack\":{\"error\":\"" + std::string(text) + "\"}}");
    EXPECT_EQ(encode(p), expected) << text;
    EXPECT_EQ(decode(expected), p) << text;
  }
  EXPECT_EQ(parse_tx_ack_error("none"), std::nullopt);
  EXPECT_EQ(parse_tx_ack_error("BUSY"), std::nullopt);
}

TEST(Gwmp, TxAckWarnOfTheSx1302ForwarderMeansSent) {
  const Packet p = decode(
      cat(cat(header(2, 0, 1, 5), kEuiBytes), R"({"txpk_ack":{"warn":"TX_POWER","value":20}})"));
  EXPECT_EQ(std::get<TxAck>(p.payload).error, TxAckError::none);
}

TEST(Gwmp, RoundTripsEveryType) {
  RxPacket lora;
  lora.tmst = 0xffffffff;
  lora.frequency_hz = 903'900'000;
  lora.chan = 7;
  lora.rfch = 1;
  lora.stat = -1;
  lora.datr = "SF10BW125";
  lora.codr = "4/8";
  lora.rssi = -120;
  lora.lsnr = -12.5;
  lora.data = Bytes(255, 0xa5);
  RxPacket fsk;
  fsk.modu = "FSK";
  fsk.datr = "50000";
  fsk.codr = "";
  fsk.lsnr = 0.0;
  fsk.frequency_hz = 868'800'000;
  fsk.data = {};
  TxPacket gps;
  gps.tmms = 1'300'000'000'123ull;
  gps.frequency_hz = 923'300'000;
  gps.powe = 20;
  gps.datr = "SF12BW500";
  gps.prea = 8;
  gps.data = {1, 2, 3};
  GatewayStatus stat;
  stat.time = stat_time_now();
  stat.ackr = 66.7;
  const Payload payloads[] = {
      PushData{kEui, {lora, fsk}, stat},
      PushData{kEui, {}, std::nullopt},
      PushAck{},
      PullData{kEui},
      PullAck{},
      PullResp{gps},
      TxAck{kEui, std::nullopt},
      TxAck{kEui, TxAckError::too_late},
  };
  std::uint16_t token = 0;
  for (const Payload& payload : payloads) {
    Packet p;
    p.token = token;
    token = static_cast<std::uint16_t>(token * 31 + 0x1111);
    p.payload = payload;
    EXPECT_EQ(decode(encode(p)), p) << to_string(p.type());
  }
}

TEST(Gwmp, EncodeRefusesWhatGwmpCannotCarry) {
  RxPacket r;
  r.lsnr = std::numeric_limits<double>::quiet_NaN();
  Packet p;
  p.payload = PushData{kEui, {r}, std::nullopt};
  EXPECT_THROW(encode(p), GwmpError);
  Packet v3;
  v3.payload = PullAck{};
  v3.protocol_version = 3;
  EXPECT_THROW(encode(v3), GwmpError);
  Packet v1_ack;
  v1_ack.payload = TxAck{kEui, TxAckError::none};
  v1_ack.protocol_version = 1;
  EXPECT_THROW(encode(v1_ack), GwmpError);
  TxPacket far;
  far.tmst = 1;
  far.frequency_hz = 10'000'000'000ull;
  Packet resp;
  resp.payload = PullResp{far};
  EXPECT_THROW(encode(resp), GwmpError);
}

TEST(Gwmp, MalformedHeaders) {
  expect_refused({}, {"at least 4 bytes", "got 0"});
  expect_refused({2, 0, 1}, {"at least 4 bytes", "got 3"});
  expect_refused(header(9, 0, 1, 0), {"byte 0", "protocol version 2 (or 1), got 9"});
  expect_refused(header(0, 0, 1, 0), {"got 0"});
  expect_refused(header(2, 0, 1, 7), {"byte 3", "0x00..0x05, got 0x07"});
  expect_refused(header(2, 0, 1, 0xff), {"got 0xff"});
  expect_refused(cat(header(2, 0, 1, 0), Bytes{1, 2, 3, 4, 5, 6, 7}),
                 {"PUSH_DATA", "at least 12 bytes", "got 11"});
  expect_refused(header(2, 0, 1, 2), {"PULL_DATA", "at least 12 bytes", "got 4"});
  expect_refused(cat(header(2, 0, 1, 5), Bytes{1, 2}), {"TX_ACK", "at least 12 bytes", "got 6"});
  expect_refused(cat(header(1, 0, 1, 5), kEuiBytes), {"TX_ACK", "version 2 only", "got version 1"});
}

TEST(Gwmp, MalformedJson) {
  expect_refused(push_data(""), {"PUSH_DATA JSON", "expected a JSON object, got nothing"});
  expect_refused(push_data(R"({"rxpk":[)"), {"PUSH_DATA JSON", "does not parse at byte"});
  expect_refused(push_data("not json"), {"PUSH_DATA JSON", "does not parse"});
  expect_refused(push_data("[1,2]"), {"PUSH_DATA JSON", "expected a JSON object, got an array"});
  expect_refused(push_data("\"\xff\xfe\""), {"PUSH_DATA JSON", "does not parse"});  // not UTF-8
  expect_refused(push_data(R"({"rxpk":{"tmst":1}})"),
                 {"PUSH_DATA rxpk", "expected an array, got an object"});
  expect_refused(push_data(R"({"rxpk":[1]})"), {"PUSH_DATA rxpk[0]", "expected an object, got 1"});
  expect_refused(push_data(R"({"stat":[]})"),
                 {"PUSH_DATA stat", "expected an object, got an array"});
  expect_refused(pull_resp(R"({"txp":{}})"), {"PULL_RESP.txpk", "missing"});
  expect_refused(pull_resp(""), {"PULL_RESP JSON", "got nothing"});
  expect_refused(cat(cat(header(2, 0, 1, 5), kEuiBytes), R"({"txpk_ack":{"error":"BUSY"}})"),
                 {"TX_ACK txpk_ack.error", "expected NONE, TOO_LATE", "got \"BUSY\""});
  expect_refused(cat(cat(header(2, 0, 1, 5), kEuiBytes), R"({"txpk_ack":{}})"),
                 {"TX_ACK txpk_ack", "\"error\""});
  expect_refused(cat(cat(header(2, 0, 1, 5), kEuiBytes), R"({"ack":1})"),
                 {"TX_ACK.txpk_ack", "missing"});
}

TEST(Gwmp, DeepNestingIsRefusedWithoutRecursion) {
  const std::string deep = "{\"rxpk\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_refused(push_data(deep), {"PUSH_DATA JSON", "nesting deeper than 16 levels"});
  const std::string objects = "{\"txpk\":" + [] {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += "{\"a\":";
    s += "1";
    s += std::string(20000, '}');
    return s;
  }() + "}";
  expect_refused(pull_resp(objects), {"PULL_RESP JSON", "nesting deeper"});
}

// One rxpk field replaced (or removed, when `value` is empty) in an otherwise valid PUSH_DATA.
Bytes rxpk_with(std::string_view field, std::string_view value) {
  nlohmann::json r = {{"tmst", 1},          {"freq", 868.1}, {"modu", "LORA"},
                      {"datr", "SF7BW125"}, {"codr", "4/5"}, {"rssi", -60},
                      {"lsnr", 9.5},        {"size", 4},     {"data", "AAECAw=="}};
  r.erase(std::string(field));
  std::string text = r.dump();
  if (!value.empty()) text.insert(1, "\"" + std::string(field) + "\":" + std::string(value) + ",");
  return push_data("{\"rxpk\":[" + text + "]}");
}

TEST(Gwmp, RxpkFieldsRequiredAndTyped) {
  EXPECT_NO_THROW(decode(rxpk_with("chan", "")));  // the baseline decodes
  expect_refused(rxpk_with("data", ""), {"PUSH_DATA rxpk[0].data", "missing"});
  expect_refused(rxpk_with("tmst", ""), {"rxpk[0].tmst", "missing"});
  expect_refused(rxpk_with("freq", ""), {"rxpk[0].freq", "missing"});
  expect_refused(rxpk_with("datr", ""), {"rxpk[0].datr", "missing"});
  expect_refused(rxpk_with("rssi", ""), {"rxpk[0].rssi", "missing"});
  expect_refused(rxpk_with("lsnr", ""), {"rxpk[0].lsnr", "missing"});
  expect_refused(rxpk_with("data", "\"!!!!\""),
                 {"rxpk[0].data", "expected base64 characters", "'!'"});
  expect_refused(rxpk_with("data", "\"AAEC\\u0000\""), {"rxpk[0].data", "expected base64"});
  expect_refused(rxpk_with("data", "42"), {"rxpk[0].data", "expected a string, got 42"});
  expect_refused(rxpk_with("size", "5"), {"rxpk[0].size", "says 5 bytes, but data holds 4"});
  expect_refused(rxpk_with("size", "-1"), {"rxpk[0].size", "got -1"});
  expect_refused(rxpk_with("tmst", "4294967296"),
                 {"rxpk[0].tmst", "unsigned 32-bit integer, got 4294967296"});
  expect_refused(rxpk_with("tmst", "-1"), {"rxpk[0].tmst", "got -1"});
  expect_refused(rxpk_with("tmst", "1.5"), {"rxpk[0].tmst", "got 1.5"});
  expect_refused(rxpk_with("tmst", "1e300"), {"rxpk[0].tmst", "got 1e+300"});
  expect_refused(rxpk_with("tmst", "18446744073709551616"), {"rxpk[0].tmst"});
  expect_refused(rxpk_with("tmst", "\"1\""), {"rxpk[0].tmst", "got the string \"1\""});
  expect_refused(rxpk_with("freq", "-868.1"), {"rxpk[0].freq", "got -868.1"});
  expect_refused(rxpk_with("freq", "0"), {"rxpk[0].freq", "above 0"});
  expect_refused(rxpk_with("freq", "1e308"), {"rxpk[0].freq", "0 .. 10000"});
  expect_refused(rxpk_with("freq", "\"868.1\""), {"rxpk[0].freq", "got the string \"868.1\""});
  expect_refused(rxpk_with("freq", "null"), {"rxpk[0].freq", "got null"});
  expect_refused(rxpk_with("rssi", "1e20"), {"rxpk[0].rssi"});
  expect_refused(rxpk_with("chan", "256"), {"rxpk[0].chan", "0 .. 255"});
  expect_refused(rxpk_with("stat", "2"), {"rxpk[0].stat", "1, -1 or 0"});
  expect_refused(rxpk_with("modu", "\"QPSK\""), {"rxpk[0].modu", "\"LORA\" or \"FSK\""});
  expect_refused(rxpk_with("lsnr", "\"9\""), {"rxpk[0].lsnr", "an SNR in dB"});
  expect_refused(rxpk_with("time", "12"), {"rxpk[0].time", "expected a string"});
  expect_refused(rxpk_with("tmst", "1e999"), {"PUSH_DATA JSON"});
  // Extra fields of newer forwarders are ignored.
  EXPECT_NO_THROW(decode(rxpk_with("rsig", R"([{"ant":0,"chan":1,"rssic":-60,"lsnr":9.5}])")));
}

TEST(Gwmp, TxpkFieldsRequiredAndTyped) {
  const auto txpk = [](std::string_view fields) {
    return pull_resp("{\"txpk\":{" + std::string(fields) + "}}");
  };
  constexpr std::string_view kRest =
      R"("freq":869.525,"rfch":0,"modu":"LORA","datr":"SF12BW125","codr":"4/5","data":"AA==")";
  EXPECT_NO_THROW(decode(txpk(R"("tmst":1,)" + std::string(kRest))));
  expect_refused(txpk(kRest), {"PULL_RESP txpk", "\"imme\": true, a \"tmst\" or a \"tmms\""});
  expect_refused(txpk(R"("time":"2026-01-01T00:00:00Z",)" + std::string(kRest)),
                 {"GPS \"time\" is not supported"});
  expect_refused(txpk(R"("imme":"yes",)" + std::string(kRest)),
                 {"txpk.imme", "expected true or false"});
  expect_refused(txpk(R"("tmst":1,"freq":869.525,"modu":"LORA","datr":"SF12BW125","data":"AA==")"),
                 {"txpk.rfch", "missing"});
  expect_refused(txpk(R"("tmst":1,"powe":1000,)" + std::string(kRest)), {"txpk.powe"});
  expect_refused(txpk(R"("tmst":1,"ipol":1,)" + std::string(kRest)),
                 {"txpk.ipol", "expected true or false, got 1"});
  expect_refused(txpk(R"("tmst":1,"size":2,)" + std::string(kRest)),
                 {"txpk.size", "says 2 bytes, but data holds 1"});
  expect_refused(txpk(R"("tmst":-5,)" + std::string(kRest)), {"txpk.tmst", "got -5"});
  expect_refused(txpk(R"("tmms":-5,)" + std::string(kRest)), {"txpk.tmms", "got -5"});
  expect_refused(pull_resp(R"({"txpk":[]})"),
                 {"PULL_RESP txpk", "expected an object, got an array"});
}

TEST(Gwmp, TxpkWithoutSizeOrCodrDecodesAndNamesThem) {
  // lora_pkt_fwd requires both (a LoRa txpk's `codr`, any txpk's `size`): the decoder keeps the
  // txpk and says what it lacked, for the gateway to abort the TX as lora_pkt_fwd does.
  const Packet p = decode(pull_resp(
      R"({"txpk":{"tmst":1,"freq":869.525,"rfch":0,"modu":"LORA","datr":"SF12BW125","data":"AA=="}})"));
  const TxPacket& t = std::get<PullResp>(p.payload).txpk;
  EXPECT_EQ(t.missing_fields, (std::vector<std::string>{"codr", "size"}));
  EXPECT_EQ(t.codr, "");
  // Written back without them, so that a test can play such an NS.
  const std::string text = text_after(encode(p), 4);
  EXPECT_NOT_CONTAINS(text, "\"size\"");
  EXPECT_NOT_CONTAINS(text, "\"codr\"");
  EXPECT_EQ(decode(encode(p)), p);
  // FSK carries no coding rate; a complete LoRa txpk lacks nothing.
  EXPECT_TRUE(
      std::get<PullResp>(decode(pull_resp(R"({"txpk":{"imme":true,"freq":868.8,"rfch":0,)"
                                          R"("modu":"FSK","datr":50000,"size":1,"data":"AA=="}})"))
                             .payload)
          .txpk.missing_fields.empty());
  TxPacket full;
  full.tmst = 1;
  full.frequency_hz = 868'100'000;
  full.data = {1};
  Packet q;
  q.payload = PullResp{full};
  EXPECT_TRUE(std::get<PullResp>(decode(encode(q)).payload).txpk.missing_fields.empty());
}

// Every prefix of valid datagrams and random bytes: decoded or refused with GwmpError, nothing
// else.
TEST(Gwmp, TruncationsAndNoiseNeverCrash) {
  TxPacket t;
  t.tmst = 1;
  t.frequency_hz = 868'100'000;
  t.data = {1, 2, 3};
  Packet resp;
  resp.payload = PullResp{t};
  for (const Bytes& full : {push_data(kRxpkExample), encode(resp)}) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      try {
        decode(lorawan::ByteSpan(full.data(), n));
      } catch (const GwmpError&) {
      }
    }
  }
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    Bytes noise(rng() % 64);
    for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
    if (!noise.empty()) noise[0] = static_cast<std::uint8_t>(1 + rng() % 2);
    if (noise.size() > 3) noise[3] = static_cast<std::uint8_t>(rng() % 6);
    try {
      decode(noise);
    } catch (const GwmpError&) {
    }
  }
}

TEST(Gwmp, TimeFormats) {
  EXPECT_TRUE(
      std::regex_match(rxpk_time_now(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << rxpk_time_now();
  EXPECT_TRUE(
      std::regex_match(stat_time_now(), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT)")))
      << stat_time_now();
}

}  // namespace
}  // namespace joincheck::sim::gwmp
