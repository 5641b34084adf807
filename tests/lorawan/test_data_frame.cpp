// Data frames: wire format, MICs (1.0.x, 1.1 uplink and downlink), FRMPayload and 1.1 FOpts
// encryption, against vectors published in the unit tests of three independent
// implementations, plus round trips and malformed input.
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "lorawan/data_frame.hpp"

namespace joincheck::lorawan {
namespace {

Bytes hex(std::string_view s) { return from_hex(s, "test"); }
Aes128Key key(std::string_view s) { return Aes128Key::parse(s); }
Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Expects `f` to throw Error whose message contains every one of `parts`.
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

// Keys of brocaar/lorawan phypayload_test.go (TestPHYPayloadMACPayloadLoRaWAN10 / ...11).
const Aes128Key kBrocaarKey01 = key("01010101010101010101010101010101");
const Aes128Key kBrocaarKey02 = key("02020202020202020202020202020202");
const Aes128Key kBrocaarSNwkSIntKey = key("02020202020202020202020202020202");
const Aes128Key kBrocaarFNwkSIntKey = key("02020202020202020202020202020203");
const Aes128Key kBrocaarNwkSEncKey = key("02020202020202020202020202020204");
const NetworkSessionKeys kBrocaar11 =
    NetworkSessionKeys::v1_1(kBrocaarFNwkSIntKey, kBrocaarSNwkSIntKey, kBrocaarNwkSEncKey);

// ---------------------------------------------------------------------------------------------
// Wire format.

TEST(DataFrameParse, ReadsEveryField) {
  // brocaar/lorawan TestPHYPayloadMACPayloadLoRaWAN10 "Mac-commands in FOpts".
  const DataFrame f = DataFrame::parse(hex("4004030201030000020305016a3798f5b64dc039"));
  EXPECT_EQ(f.mtype, MType::unconfirmed_data_up);
  EXPECT_EQ(f.direction(), Direction::uplink);
  EXPECT_FALSE(f.confirmed());
  EXPECT_EQ(f.major, 0);
  EXPECT_EQ(f.dev_addr.hex(), "01020304");
  EXPECT_EQ(f.fctrl, FCtrl{});
  EXPECT_EQ(f.fcnt, 0);
  EXPECT_EQ(f.fopts, hex("020305"));
  ASSERT_TRUE(f.fport.has_value());
  EXPECT_EQ(*f.fport, 1);
  EXPECT_EQ(f.frm_payload, hex("6a3798f5"));
  EXPECT_EQ(f.mic.hex(), "b64dc039");
}

TEST(DataFrameParse, FCtrlBitsAndConfirmedDownlinkWithoutFPort) {
  // MHDR a0 ConfirmedDataDown, FCtrl f0 = ADR | RFU | ACK | FPending, FCnt 0x1234.
  const DataFrame f = DataFrame::parse(hex("a004030201f03412deadbeef"));
  EXPECT_EQ(f.mtype, MType::confirmed_data_down);
  EXPECT_TRUE(f.confirmed());
  EXPECT_EQ(f.direction(), Direction::downlink);
  EXPECT_TRUE(f.fctrl.adr);
  EXPECT_TRUE(f.fctrl.adr_ack_req);
  EXPECT_TRUE(f.fctrl.ack);
  EXPECT_TRUE(f.fctrl.class_b_or_fpending);
  EXPECT_EQ(f.fcnt, 0x1234);
  EXPECT_TRUE(f.fopts.empty());
  EXPECT_FALSE(f.fport.has_value());
  EXPECT_TRUE(f.frm_payload.empty());
  EXPECT_EQ(f.encode(), hex("a004030201f03412deadbeef"));
}

TEST(DataFrameParse, FPortWithEmptyFRMPayload) {
  // lora-packet __tests__/mic_test.ts "correct data packet MIC for ACK": FPort 1, no payload.
  const DataFrame f = DataFrame::parse(hex("60f17dbe4920020001f9d65d27"));
  EXPECT_EQ(f.dev_addr.hex(), "49be7df1");
  EXPECT_TRUE(f.fctrl.ack);
  EXPECT_EQ(f.fcnt, 2);
  ASSERT_TRUE(f.fport.has_value());
  EXPECT_EQ(*f.fport, 1);
  EXPECT_TRUE(f.frm_payload.empty());
}

TEST(DataFrameParse, KeepsMhdrRfuAndMajorAsSeen) {
  const Bytes phy = hex("5f0403020100000000000000");  // RFU 7, Major 3
  const DataFrame f = DataFrame::parse(phy);
  EXPECT_EQ(f.rfu, 7);
  EXPECT_EQ(f.major, 3);
  EXPECT_EQ(f.encode(), phy);
}

TEST(DataFrameParse, RejectsEmptyInput) {
  expect_error([] { DataFrame::parse({}); }, {"at least 12 bytes", "got 0"});
}

TEST(DataFrameParse, RejectsTooShort) {
  expect_error([] { DataFrame::parse(hex("40040302010000000000")); },
               {"data frame", "at least 12 bytes", "got 10"});
}

TEST(DataFrameParse, RejectsNonDataMType) {
  // A join-request (brocaar/lorawan TestPHYPayloadJoinRequest, base64 AAQDAgEE...).
  expect_error([] { DataFrame::parse(hex("00040302010403020105040302050403022d106a990e12")); },
               {"expected a data MType", "got JoinRequest", "MHDR 0x00"});
  expect_error([] { DataFrame::parse(hex("e0")); }, {"got Proprietary", "MHDR 0xe0"});
}

TEST(DataFrameParse, RejectsFOptsLenBeyondFrame) {
  // FCtrl 05 announces 5 bytes of FOpts; only 2 lie before the MIC.
  expect_error([] { DataFrame::parse(hex("4004030201050000020301020304")); },
               {"FOptsLen is 5", "only 2 bytes", "FCtrl 0x05"});
}

TEST(DataFrameParse, RejectsMoreThan255Bytes) {
  Bytes phy = hex("400403020100000001");
  phy.resize(256, 0xaa);
  expect_error([&] { DataFrame::parse(phy); }, {"at most 255 bytes", "got 256"});
}

TEST(DataFrameEncode, RejectsWhatCannotBeWritten) {
  DataFrame f;
  f.fopts.assign(16, 0x02);
  expect_error([&] { f.encode(); }, {"FOpts", "at most 15 bytes", "got 16"});

  f = DataFrame{};
  f.frm_payload = hex("01");
  expect_error([&] { f.encode(); }, {"FRMPayload", "without an FPort"});

  f = DataFrame{};
  f.mtype = MType::join_accept;
  expect_error([&] { f.encode(); }, {"expected a data MType", "got JoinAccept"});

  f = DataFrame{};
  f.fport = 1;
  f.frm_payload.assign(244, 0);  // 12 + 1 + 244 = 257
  expect_error([&] { f.encode(); }, {"at most 255 bytes", "257"});
}

// ---------------------------------------------------------------------------------------------
// LoRaWAN 1.0.x: MIC and FRMPayload encryption.

// brocaar/lorawan phypayload_test.go TestPHYPayloadMACPayloadLoRaWAN10: three uplinks
// (FRMPayload on FPort 1; MAC commands in FOpts; MAC commands in FRMPayload on FPort 0), each
// parsed, MIC-checked, decrypted and rebuilt to the same bytes.
struct Brocaar10Vector {
  const char* name;
  const char* phy;
  Aes128Key nwk_s_key;
  Aes128Key app_s_key;
  std::uint32_t fcnt;
  FCtrl fctrl;
  const char* fopts;
  std::uint8_t fport;
  Bytes plaintext;
};

TEST(DataFrame10, BrocaarUplinkVectors) {
  const Brocaar10Vector vectors[] = {
      {"FRMPayload data", "400403020180010001a694642615d6c3b582", kBrocaarKey02, kBrocaarKey01, 1,
       FCtrl{.adr = true}, "", 1, text("hello")},
      {"MAC commands in FOpts", "4004030201030000020305016a3798f5b64dc039", kBrocaarKey01,
       kBrocaarKey01, 0, FCtrl{}, "020305", 1, hex("01020304")},
      {"MAC commands in FRMPayload", "40040302010000000069369eee6aa508", kBrocaarKey01,
       kBrocaarKey01, 0, FCtrl{}, "", 0, hex("020305")},
  };
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.name);
    const auto keys = NetworkSessionKeys::v1_0(v.nwk_s_key);
    const DataFrame f = DataFrame::parse(hex(v.phy));
    EXPECT_TRUE(verify_uplink_mic(f, keys, {.fcnt = v.fcnt}));
    EXPECT_EQ(decrypt_frm_payload(f, v.fcnt, keys, v.app_s_key), v.plaintext);
    EXPECT_EQ(decrypt_fopts(f, v.fcnt, keys), hex(v.fopts));  // clear in 1.0

    const DataFrame built = build_uplink({.dev_addr = DevAddr::parse("01020304"),
                                          .fcnt = v.fcnt,
                                          .fctrl = v.fctrl,
                                          .fopts = hex(v.fopts),
                                          .fport = v.fport,
                                          .frm_payload = v.plaintext},
                                         keys, v.app_s_key);
    EXPECT_EQ(to_hex(built.encode()), v.phy);
    EXPECT_EQ(built, f);
  }
}

// anthonykirby/lora-packet __tests__/mic_test.ts and decrypt_test.ts.
const Aes128Key kLoraPacketNwkSKey = key("44024241ed4ce9a68c6a8bc055233fd3");
const Aes128Key kLoraPacketAppSKey = key("ec925802ae430ca77fd3dd73cb2cc588");

TEST(DataFrame10, LoraPacketUplinkMicAndDecryption) {
  const auto keys = NetworkSessionKeys::v1_0(kLoraPacketNwkSKey);
  const DataFrame f = DataFrame::parse(hex("40F17DBE4900020001954378762B11FF0D"));
  EXPECT_EQ(compute_data_mic(f, keys, {.fcnt = 2}).hex(), "2b11ff0d");
  EXPECT_TRUE(verify_uplink_mic(f, keys, {.fcnt = 2}));
  EXPECT_EQ(decrypt_frm_payload(f, 2, keys, kLoraPacketAppSKey), text("test"));

  // "should detect incorrect data packet MIC": 40F17DBE49000300012A3518AA (aa, not af).
  const DataFrame bad = DataFrame::parse(hex("40F17DBE49000300012A3518AA"));
  EXPECT_EQ(compute_data_mic(bad, keys, {.fcnt = 3}).hex(), "2a3518af");
  EXPECT_FALSE(verify_uplink_mic(bad, keys, {.fcnt = 3}));
}

TEST(DataFrame10, LoraPacketMultiBlockDecryption) {
  // decrypt_test.ts "should decrypt large payload": 44 bytes, three keystream blocks.
  const DataFrame f = DataFrame::parse(hex(
      "40f17dbe490004000155332de41a11adc072553544429ce7787707d1c316e027e7e5e334263376affb8aa17ad3"
      "0075293f28dea8a20af3c5e7"));
  EXPECT_EQ(f.frm_payload.size(), 44u);
  EXPECT_EQ(
      decrypt_frm_payload(f, 4, NetworkSessionKeys::v1_0(kLoraPacketNwkSKey), kLoraPacketAppSKey),
      text("The quick brown fox jumps over the lazy dog."));
}

TEST(DataFrame10, LoraPacketDownlinkAckMic) {
  // mic_test.ts "should calculate & verify correct data packet MIC for ACK".
  const auto keys = NetworkSessionKeys::v1_0(kLoraPacketNwkSKey);
  const DataFrame f = DataFrame::parse(hex("60f17dbe4920020001f9d65d27"));
  EXPECT_EQ(compute_data_mic(f, keys, {.fcnt = 2}).hex(), "f9d65d27");
  EXPECT_TRUE(verify_downlink_mic(f, keys, {.fcnt = 2}));
  // 1.0 has no ConfFCnt: whatever is passed does not change the MIC.
  EXPECT_TRUE(verify_downlink_mic(f, keys, {.fcnt = 2, .conf_fcnt = 77}));

  // The same frame built forward.
  const DataFrame built = build_downlink(
      {.dev_addr = DevAddr::parse("49be7df1"), .fcnt = 2, .fctrl = {.ack = true}, .fport = 1},
      keys);
  EXPECT_EQ(to_hex(built.encode()), "60f17dbe4920020001f9d65d27");
}

// TheThingsNetwork/lorawan-stack pkg/crypto/data_messages_test.go TestUplinkDownlinkEncryption
// and TestUplinkDownlinkMIC: key 01..01, DevAddr 01020304, FCnt 1.
const Aes128Key kTtnKey = key("01010101010101010101010101010101");
const DevAddr kTtnDevAddr = DevAddr::parse("01020304");

TEST(DataFrame10, TtnEncryptionVectors) {
  const Bytes plain = hex("01020304");
  EXPECT_EQ(to_hex(crypt_frm_payload(kTtnKey, Direction::uplink, kTtnDevAddr, 1, plain)),
            "cff30b4e");
  EXPECT_EQ(to_hex(crypt_frm_payload(kTtnKey, Direction::uplink, kTtnDevAddr, 1, hex("cff30b4e"))),
            "01020304");
  EXPECT_EQ(to_hex(crypt_frm_payload(kTtnKey, Direction::downlink, kTtnDevAddr, 1, plain)),
            "4e75f440");
}

TEST(DataFrame10, TtnMicVectors) {
  // 40 | 04030201 | 00 | 0100 | 01 | 01020304 (FPort 1), MIC over these 13 bytes.
  const Bytes msg = hex("40040302010001000101020304");
  Bytes phy = msg;
  phy.resize(msg.size() + 4);  // MIC placeholder
  const DataFrame f = DataFrame::parse(phy);
  const auto keys = NetworkSessionKeys::v1_0(kTtnKey);
  EXPECT_EQ(compute_data_mic(f, keys, {.fcnt = 1}).hex(), "3b073182");  // ComputeLegacyUplinkMIC
  // ComputeLegacyDownlinkMIC: the same bytes with Dir = 1 in B0.
  Cmac c(kTtnKey);
  c.update(mic_block_b0(Direction::downlink, kTtnDevAddr, 1, 0, msg.size())).update(msg);
  EXPECT_EQ(c.finish_mic().hex(), "a5609fa9");
}

// ---------------------------------------------------------------------------------------------
// LoRaWAN 1.1 uplink MIC (B0 with FNwkSIntKey, B1 with SNwkSIntKey).

TEST(DataFrame11, BrocaarUplinkMic) {
  // brocaar/lorawan TestPHYPayloadMACPayloadLoRaWAN11 "FRMPayload data": the tests pass
  // confFCnt 1, TxDR 2, TxCh 3; ACK is clear, so ConfFCnt is 0 in B1.
  const MicContext ctx{.fcnt = 1, .conf_fcnt = 1, .tx_dr = 2, .tx_ch = 3};
  const DataFrame f = DataFrame::parse(hex("400403020180010001a6946426157612366a"));
  EXPECT_EQ(compute_data_mic(f, kBrocaar11, ctx).hex(), "7612366a");
  EXPECT_TRUE(verify_uplink_mic(f, kBrocaar11, ctx));
  EXPECT_EQ(decrypt_frm_payload(f, 1, kBrocaar11, kBrocaarKey01), text("hello"));

  const DataFrame built = build_uplink({.dev_addr = DevAddr::parse("01020304"),
                                        .fcnt = 1,
                                        .fctrl = {.adr = true},
                                        .fport = 1,
                                        .frm_payload = text("hello"),
                                        .conf_fcnt = 1,
                                        .tx_dr = 2,
                                        .tx_ch = 3},
                                       kBrocaar11, kBrocaarKey01);
  EXPECT_EQ(to_hex(built.encode()), "400403020180010001a6946426157612366a");
}

TEST(DataFrame11, BrocaarUplinkMicWithAckUsesConfFCnt) {
  // Same test table, "FRMPayload data with ACK": FCtrl a0, ConfFCnt 1 enters B1.
  const MicContext ctx{.fcnt = 1, .conf_fcnt = 1, .tx_dr = 2, .tx_ch = 3};
  const DataFrame f = DataFrame::parse(hex("4004030201a0010001a694642615f842c4b9"));
  EXPECT_TRUE(f.fctrl.ack);
  EXPECT_TRUE(verify_uplink_mic(f, kBrocaar11, ctx));
  MicContext other = ctx;
  other.conf_fcnt = 2;
  EXPECT_FALSE(verify_uplink_mic(f, kBrocaar11, other));
  other.conf_fcnt = 0x10001;  // used modulo 2^16
  EXPECT_TRUE(verify_uplink_mic(f, kBrocaar11, other));
}

TEST(DataFrame11, BrocaarUplinkFPort0) {
  // "Mac-commands in FRMPayload": FPort 0 is encrypted with NwkSEncKey.
  const MicContext ctx{.fcnt = 0, .conf_fcnt = 1, .tx_dr = 2, .tx_ch = 3};
  const DataFrame f = DataFrame::parse(hex("40040302010000000069369efa931bd7"));
  EXPECT_TRUE(verify_uplink_mic(f, kBrocaar11, ctx));
  // NwkSEncKey of this table is 02..04, but the vector's FRMPayload was encrypted with the
  // table's AppSKey 01..01 (brocaar's test calls EncryptFRMPayload(AppSKey) for every row).
  EXPECT_EQ(crypt_frm_payload(kBrocaarKey01, Direction::uplink, f.dev_addr, 0, f.frm_payload),
            hex("020305"));
}

TEST(DataFrame11, LoraPacketUplinkMic) {
  // anthonykirby/lora-packet __tests__/mic_test.ts "correct unconfirmed data up packet MIC
  // 1.1": ConfFCntDownTxDrTxCh = 00 00 | 00 | 01 (TxCh 1).
  const auto keys = NetworkSessionKeys::v1_1(key("e163635133105cc690cb2d57ba9c31b9"),
                                             key("05ec7c795b2f0b5bcdfa710db52b9d8f"), Aes128Key{});
  const DataFrame f = DataFrame::parse(hex("40736310e080000000c86c36165131"));
  EXPECT_EQ(compute_data_mic(f, keys, {.fcnt = 0, .tx_dr = 0, .tx_ch = 1}).hex(), "36165131");
  EXPECT_FALSE(verify_uplink_mic(f, keys, {.fcnt = 0, .tx_dr = 0, .tx_ch = 0}));
}

TEST(DataFrame11, LoraPacketRekeyIndUplink) {
  // lora-packet __tests__/fopts_test.ts "should decode rekeyind packet with Lorawan11
  // Encrypted": MIC with TxCh 1; FPort 0 decrypts with NwkSEncKey to RekeyInd (0b 01).
  const auto keys = NetworkSessionKeys::v1_1(key("07c105892e1bbb7f7101d13a5f78249b"),
                                             key("f9162a2fcf6e70867cee523249282844"),
                                             key("a5406d11c50850c965c2545ad81980a7"));
  const auto app_s_key = key("38034b6efc87cf9c40ac0b45b460d395");
  const DataFrame f = DataFrame::parse(hex("40679810e080000000c2c5248de748"));
  EXPECT_TRUE(verify_uplink_mic(f, keys, {.fcnt = 0, .tx_ch = 1}));
  EXPECT_EQ(decrypt_frm_payload(f, 0, keys, app_s_key), hex("0b01"));
  // The NS does not need AppSKey for FPort 0.
  EXPECT_EQ(decrypt_frm_payload(f, 0, keys), hex("0b01"));
}

TEST(DataFrame11, TtnUplinkMic) {
  // TTN TestUplinkDownlinkMIC ComputeUplinkMIC(key, key, 0, 0, 0, ...): with one key and
  // ConfFCnt = TxDr = TxCh = 0, B1 equals B0 and the MIC is cmac[0..1] twice.
  const DataFrame f = DataFrame::parse(hex("4004030201000100010102030400000000"));
  const auto keys = NetworkSessionKeys::v1_1(kTtnKey, kTtnKey, kTtnKey);
  EXPECT_EQ(compute_data_mic(f, keys, {.fcnt = 1}).hex(), "3b073b07");
}

// ---------------------------------------------------------------------------------------------
// LoRaWAN 1.1 downlink MIC (B0 with ConfFCnt, SNwkSIntKey) and FOpts encryption.

TEST(DataFrame11, BrocaarDownlinkWithEncryptedFOptsUnderNFCntDown) {
  // brocaar/lorawan TestPHYPayloadMACPayloadLoRaWAN11 "Mac-commands in FOpts (encrypted, using
  // NFCntDown)": LinkCheckAns 02 07 01 in FOpts, no FPort, FCnt 0; confFCnt 1 is passed but
  // ACK is clear.
  const std::string phy = "6004030201030000dfb4f1e24f1f9f";
  const DataFrame f = DataFrame::parse(hex(phy));
  const MicContext ctx{.fcnt = 0, .conf_fcnt = 1};
  EXPECT_TRUE(verify_downlink_mic(f, kBrocaar11, ctx));
  EXPECT_EQ(fopts_counter_of(f.direction(), f.fport), FOptsCounter::fcnt_up_or_nfcnt_down);
  EXPECT_EQ(decrypt_fopts(f, 0, kBrocaar11), hex("020701"));

  const DataFrame built = build_downlink(
      {.dev_addr = DevAddr::parse("01020304"), .fcnt = 0, .fopts = hex("020701"), .conf_fcnt = 1},
      kBrocaar11);
  EXPECT_EQ(to_hex(built.encode()), phy);
}

TEST(DataFrame11, BrocaarDownlinkMic) {
  // Same table, "Mac-commands in FOpts (encrypted, using AFCntDown encryption flag)": the
  // vector leaves FOpts in clear (EncryptFOpts false), so it pins the MIC only.
  const DataFrame f = DataFrame::parse(hex("60040302010300000207010177701ea3"));
  EXPECT_EQ(compute_data_mic(f, kBrocaar11, {.fcnt = 0, .conf_fcnt = 1}).hex(), "77701ea3");
}

TEST(DataFrame11, LoraPacketDownlinkWithEncryptedFOptsUnderAFCntDown) {
  // anthonykirby/lora-packet __tests__/fopts_test.ts "should encode packet with Lorawan11
  // Encrypted Fopts" (keys from the brocaar/lorawan documentation example): FPort 1, so the
  // FOpts A block carries 0x02 (AFCntDown).
  const auto s_nwk_s_int_key = key("01010101010101010101010101010100");
  const auto nwk_s_enc_key = key("01010101010101010101010101010200");
  const auto app_s_key = key("100f0e0d0c0b0a090807060504030201");
  const auto keys = NetworkSessionKeys::v1_1(Aes128Key{}, s_nwk_s_int_key, nwk_s_enc_key);
  const std::string phy = "600403020103000022ac0a01f0b468ddaa5ed13a";

  const DataFrame f = DataFrame::parse(hex(phy));
  EXPECT_EQ(f.fopts, hex("22ac0a"));
  EXPECT_TRUE(verify_downlink_mic(f, keys, {.fcnt = 0}));
  EXPECT_EQ(fopts_counter_of(f.direction(), f.fport), FOptsCounter::afcnt_down);
  EXPECT_EQ(decrypt_fopts(f, 0, keys), hex("020701"));
  EXPECT_EQ(decrypt_frm_payload(f, 0, keys, app_s_key), hex("01020304"));
  // Under the NFCntDown tag (0x01) the same bytes do not decrypt to the MAC command.
  EXPECT_NE(crypt_fopts_1_1(nwk_s_enc_key, Direction::downlink, FOptsCounter::fcnt_up_or_nfcnt_down,
                            f.dev_addr, 0, f.fopts),
            hex("020701"));

  const DataFrame built = build_downlink({.dev_addr = DevAddr::parse("01020304"),
                                          .fcnt = 0,
                                          .fopts = hex("020701"),
                                          .fport = 1,
                                          .frm_payload = hex("01020304")},
                                         keys, app_s_key);
  EXPECT_EQ(to_hex(built.encode()), phy);
}

TEST(DataFrame11, TtnDownlinkMic) {
  // TTN ComputeDownlinkMIC(key, addr, confFCnt 0, fCnt 1, msg): B0 with Dir 1 over the uplink
  // bytes of TestUplinkDownlinkMIC; equal to the legacy MIC since ConfFCnt is 0.
  const Bytes msg = hex("40040302010001000101020304");
  Cmac c(kTtnKey);
  c.update(mic_block_b0(Direction::downlink, kTtnDevAddr, 1, 0, msg.size())).update(msg);
  EXPECT_EQ(c.finish_mic().hex(), "a5609fa9");
}

// ---------------------------------------------------------------------------------------------
// Blocks.

TEST(DataFrameBlocks, B0AndB1Layout) {
  const DevAddr addr = DevAddr::parse("01020304");
  EXPECT_EQ(to_hex(mic_block_b0(Direction::downlink, addr, 0x11223344, 0xbeef, 42)),
            "49efbe0000010403020144332211002a");
  EXPECT_EQ(to_hex(mic_block_b1(addr, 0x11223344, 0xbeef, 5, 7, 42)),
            "49efbe0507000403020144332211002a");
  expect_error([&] { mic_block_b0(Direction::uplink, addr, 0, 0, 256); },
               {"at most 255 bytes", "got 256"});
}

// ---------------------------------------------------------------------------------------------
// Round trips: a device's first uplink after a join and the NS's ACK.

const DevAddr kAddr = DevAddr::parse("260b1234");
const Aes128Key kAppSKey = key("000102030405060708090a0b0c0d0e0f");

TEST(DataFrameRoundTrip, FirstUplink10ThenAck) {
  const auto keys = NetworkSessionKeys::v1_0(key("2b7e151628aed2a6abf7158809cf4f3c"));
  const DataFrame up = build_uplink({.confirmed = true,
                                     .dev_addr = kAddr,
                                     .fcnt = 0,
                                     .fopts = hex("02"),  // LinkCheckReq
                                     .fport = 10,
                                     .frm_payload = text("first uplink after join")},
                                    keys, kAppSKey);
  const DataFrame seen = DataFrame::parse(up.encode());
  EXPECT_EQ(seen, up);
  EXPECT_EQ(seen.mtype, MType::confirmed_data_up);
  EXPECT_TRUE(verify_uplink_mic(seen, keys, {.fcnt = 0}));
  EXPECT_EQ(decrypt_fopts(seen, 0, keys), hex("02"));
  EXPECT_EQ(decrypt_frm_payload(seen, 0, keys, kAppSKey), text("first uplink after join"));

  // The NS acknowledges, without an FRMPayload, so without AppSKey.
  const DataFrame ack =
      build_downlink({.dev_addr = kAddr, .fcnt = 0, .fctrl = {.ack = true}}, keys);
  const DataFrame ack_seen = DataFrame::parse(ack.encode());
  EXPECT_TRUE(ack_seen.fctrl.ack);
  EXPECT_FALSE(ack_seen.fport.has_value());
  EXPECT_TRUE(verify_downlink_mic(ack_seen, keys, {.fcnt = 0}));
  EXPECT_FALSE(verify_downlink_mic(ack_seen, keys, {.fcnt = 0x10000}));  // other 32-bit FCnt
}

TEST(DataFrameRoundTrip, FirstUplink11ThenAckCarriesConfFCnt) {
  const auto keys = NetworkSessionKeys::v1_1(key("11111111111111111111111111111111"),
                                             key("22222222222222222222222222222222"),
                                             key("33333333333333333333333333333333"));
  const std::uint32_t fcnt_up = 0x00010005;  // 32-bit counter, 0x0005 on the air
  const DataFrame up = build_uplink({.confirmed = true,
                                     .dev_addr = kAddr,
                                     .fcnt = fcnt_up,
                                     .fopts = hex("0b01"),  // RekeyInd
                                     .fport = 2,
                                     .frm_payload = hex("cafe"),
                                     .tx_dr = 5,
                                     .tx_ch = 2},
                                    keys, kAppSKey);
  EXPECT_EQ(up.fcnt, 0x0005);
  EXPECT_NE(up.fopts, hex("0b01"));  // encrypted on the air in 1.1
  const DataFrame seen = DataFrame::parse(up.encode());
  const MicContext ctx{.fcnt = fcnt_up, .tx_dr = 5, .tx_ch = 2};
  EXPECT_TRUE(verify_uplink_mic(seen, keys, ctx));
  EXPECT_FALSE(verify_uplink_mic(seen, keys, {.fcnt = fcnt_up, .tx_dr = 5, .tx_ch = 3}));
  EXPECT_FALSE(verify_uplink_mic(seen, NetworkSessionKeys::v1_0(keys.f_nwk_s_int_key), ctx));
  EXPECT_EQ(decrypt_fopts(seen, fcnt_up, keys), hex("0b01"));
  EXPECT_EQ(decrypt_frm_payload(seen, fcnt_up, keys, kAppSKey), hex("cafe"));

  // The ACK's B0 carries ConfFCnt = FCntUp mod 2^16 of the acknowledged uplink.
  const DataFrame ack = build_downlink(
      {.dev_addr = kAddr, .fcnt = 0, .fctrl = {.ack = true}, .conf_fcnt = fcnt_up}, keys);
  const DataFrame ack_seen = DataFrame::parse(ack.encode());
  EXPECT_TRUE(verify_downlink_mic(ack_seen, keys, {.fcnt = 0, .conf_fcnt = 0x0005}));
  EXPECT_FALSE(verify_downlink_mic(ack_seen, keys, {.fcnt = 0, .conf_fcnt = 4}));
  EXPECT_FALSE(verify_downlink_mic(ack_seen, keys, {.fcnt = 0}));
}

// ---------------------------------------------------------------------------------------------
// Misuse.

TEST(DataFrameErrors, FullCounterMustEndInTheTransmittedBits) {
  const auto keys = NetworkSessionKeys::v1_0(kLoraPacketNwkSKey);
  const DataFrame f = DataFrame::parse(hex("40F17DBE4900020001954378762B11FF0D"));  // FCnt 2
  expect_error([&] { compute_data_mic(f, keys, {.fcnt = 3}); },
               {"FCnt", "carries 2", "full counter given is 3"});
  expect_error([&] { decrypt_frm_payload(f, 0x10003, keys, kLoraPacketAppSKey); },
               {"carries 2", "65539"});
  // 0x00010002 ends in 2: accepted, and gives another MIC than 2.
  EXPECT_FALSE(verify_uplink_mic(f, keys, {.fcnt = 0x00010002}));
}

TEST(DataFrameErrors, DirectionMustMatch) {
  const auto keys = NetworkSessionKeys::v1_0(kLoraPacketNwkSKey);
  const DataFrame down = DataFrame::parse(hex("60f17dbe4920020001f9d65d27"));
  expect_error([&] { verify_uplink_mic(down, keys, {.fcnt = 2}); },
               {"verify_uplink_mic", "expected an uplink MType", "got UnconfirmedDataDown"});
  const DataFrame up = DataFrame::parse(hex("40F17DBE4900020001954378762B11FF0D"));
  expect_error([&] { verify_downlink_mic(up, keys, {.fcnt = 2}); },
               {"verify_downlink_mic", "expected a downlink MType", "got UnconfirmedDataUp"});
}

TEST(DataFrameErrors, AppSKeyNeededForApplicationPort) {
  const auto keys = NetworkSessionKeys::v1_0(kLoraPacketNwkSKey);
  const DataFrame f = DataFrame::parse(hex("40F17DBE4900020001954378762B11FF0D"));
  expect_error([&] { decrypt_frm_payload(f, 2, keys); }, {"FPort 1", "AppSKey"});
  expect_error(
      [&] { build_uplink({.dev_addr = kAddr, .fport = 3, .frm_payload = hex("01")}, keys); },
      {"FPort 3", "no AppSKey"});
}

TEST(DataFrameErrors, BuildRejectsImpossibleFrames) {
  const auto keys = NetworkSessionKeys::v1_0(kLoraPacketNwkSKey);
  expect_error([&] { build_uplink({.dev_addr = kAddr, .fopts = Bytes(16, 0x02)}, keys); },
               {"FOpts", "at most 15", "got 16"});
  expect_error([&] { build_uplink({.dev_addr = kAddr, .frm_payload = hex("01")}, keys, kAppSKey); },
               {"FRMPayload", "without an FPort"});
  expect_error(
      [&] {
        crypt_fopts_1_1(kAppSKey, Direction::uplink, FOptsCounter::fcnt_up_or_nfcnt_down, kAddr, 0,
                        Bytes(16, 0));
      },
      {"at most 15", "got 16"});
}

}  // namespace
}  // namespace joincheck::lorawan
