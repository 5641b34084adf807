// Join vectors published in the unit tests of brocaar/lorawan, TheThingsNetwork/lorawan-stack and
// anthonykirby/lora-packet, each citing the upstream test it comes from.
// Hex of EUIs, NetID, DevAddr, DevNonce and JoinNonce is in display order (MSB first).
#include <gtest/gtest.h>

#include "lorawan/join_procedure.hpp"

namespace joincheck::lorawan {
namespace {

Bytes hex(std::string_view s) { return from_hex(s, "test vector"); }
Aes128Key key(std::string_view s) { return Aes128Key::parse(s); }

// A complete join chain: join-request, join-accept, session keys.
struct Chain10 {
  const char* source;
  const char* root_key;
  const char* join_eui;
  const char* dev_eui;
  const char* dev_nonce;
  const char* join_request;  // "" when the source has none
  const char* join_nonce;
  const char* net_id;
  const char* dev_addr;
  std::uint8_t dl_settings;
  std::uint8_t rx_delay;
  const char* cf_list;       // "" for none
  const char* plaintext;
  const char* phy_payload;
  const char* nwk_s_key;     // "" when the source has no DevNonce
  const char* app_s_key;
};

const Chain10 kChains10[] = {
    {"brocaar/lorawan phypayload_test.go ExamplePHYPayload_joinRequest/joinAcceptSend",
     "0102030405060708090a0b0c0d0e0f10", "0101010101010101", "0202020202020202", "0303",
     "0001010101010101010202020202020202030309b97b32", "010101", "020202", "01020304", 0x00, 0x00,
     "", "200101010202020403020100003449f212", "2023cf335489aae3183c0be0baa8dee5f3",
     "2db833b894589ee855275f2db014889d", "aef1d12682d0df1d7bfddcf8cde4e6ee"},
    {"brocaar/lorawan phypayload_test.go TestPHYPayloadJoinAccept",
     "00112233445566778899aabbccddeeff", "0000000000000000", "0000000000000000", "0000", "",
     "570bc7", "221101", "02031980", 0x00, 0x00, "", "20c70b5701112280190302000043485bbc",
     "20493eeb51fba2116f810edb3742975142", "", ""},
    {"brocaar/lorawan backend/joinserver/joinserver_test.go valid join-request (LoRaWAN 1.0)",
     "01020304050607080102030405060708", "0807060504030201", "0102030405060708", "0102",
     "00010203040506070808070605040302010201cde6acb8", "010000", "010203", "01020304", 0x15,
     0x01, "988d8468958400000000000000000000",
     "20000001030201040302011501988d84689584000000000000000000007d57c47f",
     "2026f4b247f0a5d7e46a720e61c8bccbc5179f4566e185ed6889589bb1a9c68cc0",
     "df53c35f3034ccced0ff354c70de04df", "927b9c911183cffe4cb2ff4b75545f6d"},
    {"TheThingsNetwork/lorawan-stack pkg/crypto/join_messages_test.go",
     "01010101010101010101010101010101", "0102030405060708", "0102030405060708", "0102",
     "00080706050403020108070605040302010201e6e10c55", "010203", "010203", "01020304", 0x00, 0x01,
     "", "2003020103020104030201000132f54ab3", "20c9fbb259e11649096a568a9e3b7117c3",
     "38e0c1d1503bd4c16b29bb09d6eff444", "c6c649543f7bbb9a7c6158f6263cc7cf"},
    // A 1.0.2 accept carrying DLSettings 0xff (OptNeg bit set) still uses the 1.0 MIC.
    {"TheThingsNetwork/lorawan-stack pkg/joinserver/joinserver_test.go 1.0.2 new device",
     "42ffffffffffffffffffffffffffffff", "42ffffffffffffff", "4242ffffffffffff", "0001",
     "00ffffffffffffff42ffffffffffff42420100c40850cf", "000001", "42ffff", "42ffffff", 0xff, 0x42,
     "", "20010000ffff42ffffff42ff42c97a6104", "209643b75f006d5db5c113aeb02498d516",
     "8aa19760f9ca2e7fe48fbc06ef5be14d", "04e53a8d3446bf461c624da227ac7d51"},
    {"anthonykirby/lora-packet __tests__/mic_test.ts, key_gen_test.ts",
     "98929b92c49edba9676d646d3b612456", "aa13693363343639", "3331383274356905", "8904",
     "0039363463336913aa05693574323831330489c65b1304", "376338", "aabbcc", "012ccde7", 0x00, 0x00,
     "", "20386337ccbbaae7cd2c010000d9d0a6e7", "2088f36ae3b21314bc284e314e99257328",
     "9c1046c5d97f82d0917cc710c66104f8", "6ba01c393255afa7264bb7d24cb0797a"},
    {"lora-packet __tests__/join_accept_encrypt.ts (all zero)",
     "00000000000000000000000000000000", "0000000000000000", "0000000000000000", "0000", "",
     "000000", "000000", "00000000", 0x00, 0x00, "", "20000000000000000000000000f86f0a91",
     "20e3de108795f776b8037610ef7869b5b3", "", ""},
};

// The join-accept fields of a chain (Chain10 or Chain11).
template <class Chain>
JoinAccept accept_fields(const Chain& c) {
  JoinAccept a;
  a.join_nonce = JoinNonce::parse(c.join_nonce);
  a.net_id = NetId::parse(c.net_id);
  a.dev_addr = DevAddr::parse(c.dev_addr);
  a.dl_settings.raw = c.dl_settings;
  a.rx_delay = c.rx_delay;
  if (*c.cf_list) a.cf_list = CfList::parse(c.cf_list);
  return a;
}

TEST(Join10Vectors, JoinRequestParsesAndMicVerifies) {
  for (const auto& c : kChains10) {
    if (!*c.join_request) continue;
    SCOPED_TRACE(c.source);
    const JoinRequest r = parse_join_request(hex(c.join_request));
    EXPECT_EQ(r.join_eui.hex(), c.join_eui);
    EXPECT_EQ(r.dev_eui.hex(), c.dev_eui);
    EXPECT_EQ(r.dev_nonce.hex(), c.dev_nonce);
    EXPECT_EQ(join_request_mic(key(c.root_key), r), r.mic);
    EXPECT_EQ(to_hex(build_join_request(key(c.root_key), r)), c.join_request);
  }
}

TEST(Join10Vectors, JoinServerBuildsTheSameAcceptAndKeys) {
  for (const auto& c : kChains10) {
    SCOPED_TRACE(c.source);
    const JoinContext ctx{JoinReqType::join, Eui64::parse(c.join_eui), Eui64::parse(c.dev_eui),
                          DevNonce::parse(c.dev_nonce)};
    const BuiltJoinAccept built =
        build_join_accept(JoinMode::lorawan_1_0, RootKeys{key(c.root_key), {}}, ctx, accept_fields(c));
    EXPECT_EQ(to_hex(encode_join_accept_plaintext(built.accept)), c.plaintext);
    EXPECT_EQ(to_hex(built.phy_payload), c.phy_payload);
    if (*c.nwk_s_key) {
      EXPECT_EQ(built.keys.nwk_s_key().hex(), c.nwk_s_key);
      EXPECT_EQ(built.keys.app_s_key.hex(), c.app_s_key);
    }
  }
}

TEST(Join10Vectors, DeviceOpensTheAcceptAndDerivesTheKeys) {
  for (const auto& c : kChains10) {
    SCOPED_TRACE(c.source);
    OpenJoinAcceptInput in;
    in.keys.app_key = key(c.root_key);
    if (*c.nwk_s_key) in.dev_nonce = DevNonce::parse(c.dev_nonce);
    const OpenedJoinAccept opened = open_join_accept(hex(c.phy_payload), in);
    EXPECT_EQ(to_hex(opened.plaintext), c.plaintext);
    EXPECT_EQ(opened.mode, JoinMode::lorawan_1_0);
    ASSERT_TRUE(opened.mic_valid.has_value());
    EXPECT_TRUE(*opened.mic_valid);
    EXPECT_EQ(opened.accept.join_nonce.hex(), c.join_nonce);
    EXPECT_EQ(opened.accept.net_id.hex(), c.net_id);
    EXPECT_EQ(opened.accept.dev_addr.hex(), c.dev_addr);
    EXPECT_EQ(opened.accept.dl_settings.raw, c.dl_settings);
    EXPECT_EQ(opened.accept.rx_delay, c.rx_delay);
    EXPECT_EQ(opened.accept.cf_list.has_value(), *c.cf_list != '\0');
    if (*c.nwk_s_key) {
      ASSERT_TRUE(opened.keys.has_value());
      EXPECT_EQ(opened.keys->nwk_s_key().hex(), c.nwk_s_key);
      EXPECT_EQ(opened.keys->app_s_key.hex(), c.app_s_key);
    } else {
      EXPECT_FALSE(opened.keys.has_value());
      EXPECT_NE(opened.keys_note.find("DevNonce"), std::string::npos);
    }
  }
}

TEST(Join10Vectors, WrongKeyGivesInvalidMicNotAnError) {
  const auto& c = kChains10[2];
  OpenJoinAcceptInput in;
  in.keys.app_key = key("000102030405060708090a0b0c0d0e0f");
  const OpenedJoinAccept opened = open_join_accept(hex(c.phy_payload), in);
  ASSERT_TRUE(opened.mic_valid.has_value());
  EXPECT_FALSE(*opened.mic_valid);
}

// brocaar/lorawan phypayload_test.go TestPHYPayloadJoinRequest.
TEST(Join10Vectors, BrocaarJoinRequestFromBase64) {
  const Bytes phy = from_base64("AAQDAgEEAwIBBQQDAgUEAwItEGqZDhI=", "PHYPayload");
  EXPECT_EQ(to_hex(phy), "00040302010403020105040302050403022d106a990e12");
  const JoinRequest r = parse_join_request(phy);
  EXPECT_EQ(r.join_eui.hex(), "0102030401020304");
  EXPECT_EQ(r.dev_eui.hex(), "0203040502030405");
  EXPECT_EQ(r.dev_nonce.value(), 4141u);
  EXPECT_EQ(join_request_mic(key("01010101010101010101010101010101"), r).hex(), "6a990e12");
}

// TTN pkg/crypto/key_derivation_test.go TestKeyDerivation, legacy keys, and
// lora-packet key_gen_test.ts with DevNonce f18e.
TEST(Join10Vectors, SessionKeyDerivation) {
  SessionKeys k = derive_session_keys_1_0(key("BEC499C69E9C939E413B663961636C61"),
                                          JoinNonce::parse("AE3B1C"), NetId::parse("020101"),
                                          DevNonce::parse("7369"));
  EXPECT_EQ(k.nwk_s_key().hex(HexCase::upper), "0DB924EE6AF90698E05FC7CE48303C01");
  EXPECT_EQ(k.app_s_key.hex(HexCase::upper), "8C1E0543A229088DE6F84E74BB46BD62");
  EXPECT_EQ(k.nwk_s_key(), k.s_nwk_s_int_key);
  EXPECT_EQ(k.nwk_s_key(), k.nwk_s_enc_key);
  k = derive_session_keys_1_0(key("98929b92c49edba9676d646d3b612456"), JoinNonce::parse("376338"),
                              NetId::parse("aabbcc"), DevNonce::parse("f18e"));
  EXPECT_EQ(k.nwk_s_key().hex(), "4e3d6e6afbcc67af2ba3c8e8ec4acf4b");
  EXPECT_EQ(k.app_s_key.hex(), "610897aa6f1460623443b527d3ac6a9d");
}

// TTN pkg/crypto/cryptoservices/cryptoservices_test.go: NwkSKey from NwkKey 01x16,
// AppSKey from AppKey 02x16 with the 1.0 formula; and the synthetic MIC/encryption inputs,
// which have no valid MHDR and so go through the primitives directly.
TEST(Join10Vectors, TtnCryptoServiceVectors) {
  const auto nwk = key("01010101010101010101010101010101");
  const auto app = key("02020202020202020202020202020202");
  const auto jn = JoinNonce::parse("010203");
  const auto net = NetId::parse("010203");
  const auto dn = DevNonce::parse("0102");
  EXPECT_EQ(derive_session_keys_1_0(nwk, jn, net, dn).nwk_s_key().hex(),
            "38e0c1d1503bd4c16b29bb09d6eff444");
  EXPECT_EQ(derive_session_keys_1_0(app, jn, net, dn).app_s_key.hex(),
            "eb5514a21606d83d49ec127301f07a91");
  EXPECT_EQ(to_hex(ByteSpan(cmac(nwk, Bytes(19, 0x01))).first(4)), "214d197d");
  EXPECT_EQ(to_hex(ByteSpan(cmac(nwk, Bytes(13, 0x01))).first(4)), "34a5b983");
  Bytes plain(17, 0x01);
  plain[0] = 0x20;
  EXPECT_EQ(to_hex(encrypt_join_accept(plain, nwk)), "20bc6e2baf23ca1e66aad7b395c1d6a60a");
}

// ---- LoRaWAN 1.1 ----

struct Chain11 {
  const char* source;
  const char* nwk_key;
  const char* app_key;
  const char* join_eui;
  const char* dev_eui;
  const char* dev_nonce;
  const char* join_request;
  const char* js_int_key;
  const char* js_enc_key;
  const char* join_nonce;
  const char* net_id;
  const char* dev_addr;
  std::uint8_t dl_settings;
  std::uint8_t rx_delay;
  const char* cf_list;
  const char* plaintext;
  const char* phy_payload;
  const char* f_nwk_s_int_key;
  const char* s_nwk_s_int_key;
  const char* nwk_s_enc_key;
  const char* app_s_key;
};

const Chain11 kChains11[] = {
    {"brocaar/lorawan backend/joinserver/joinserver_test.go valid join-request (LoRaWAN 1.1)",
     "01020304050607080102030405060708", "00000000000000000000000000000000", "0807060504030201",
     "0102030405060708", "0102", "00010203040506070808070605040302010201cde6acb8",
     "b8ae379696825f22c8abbec24c31a84b", "d4bd9461adaa3b4e601953ebd08bffc6", "010000", "010203",
     "01020304", 0x95, 0x01, "988d8468958400000000000000000000",
     "20000001030201040302019501988d8468958400000000000000000000b9abe96b",
     "20a4c899795a42f5d16067a822c21b379af8aaa301a90d1c60d4cb792cb8eeb0a3",
     "537f8aae896c79e015d102d06286354e", "589498993092cfdb5fd2e02ac7510bf1",
     "9898283c4f66eb6c6fd5165882046c40", "01621215d1ca08febf0c602cc2ad90fa"},
    {"TheThingsNetwork/lorawan-stack pkg/joinserver/joinserver_test.go 1.1.0 new device",
     "4242ffffffffffffffffffffffffffff", "42ffffffffffffffffffffffffffffff", "42ffffffffffffff",
     "4242ffffffffffff", "0000", "00ffffffffffffff42ffffffffffff424200005517548e",
     "6e16121950cbad2f9f3d542ea83e4998", "feb0e4835774ffb271bf50e55f95bee8", "000001", "42ffff",
     "42ffffff", 0xff, 0x42, "", "20010000ffff42ffffff42ff42ebcd7459",
     "20004edc793dbf25a42fc7e92bc8f2fd3f", "7a06ebf97defd12b1770554b7c0a35e1",
     "d748b8efe331499e723203680829ed72", "41267db82dbfa49debe55bfddf04cbb5",
     "370ce5d9497beb034c53dd0349c847bf"},
};

TEST(Join11Vectors, FullChainBothSides) {
  for (const auto& c : kChains11) {
    SCOPED_TRACE(c.source);
    const RootKeys root{key(c.app_key), key(c.nwk_key)};
    const JoinRequest r = parse_join_request(hex(c.join_request));
    EXPECT_EQ(join_request_mic(key(c.nwk_key), r), r.mic);
    const JsKeys js = derive_js_keys(key(c.nwk_key), Eui64::parse(c.dev_eui));
    EXPECT_EQ(js.js_int_key.hex(), c.js_int_key);
    EXPECT_EQ(js.js_enc_key.hex(), c.js_enc_key);

    const JoinContext ctx{JoinReqType::join, r.join_eui, r.dev_eui, r.dev_nonce};
    const BuiltJoinAccept built = build_join_accept(JoinMode::lorawan_1_1, root, ctx, accept_fields(c));
    EXPECT_EQ(to_hex(encode_join_accept_plaintext(built.accept)), c.plaintext);
    EXPECT_EQ(to_hex(built.phy_payload), c.phy_payload);
    EXPECT_EQ(built.keys.f_nwk_s_int_key.hex(), c.f_nwk_s_int_key);
    EXPECT_EQ(built.keys.s_nwk_s_int_key.hex(), c.s_nwk_s_int_key);
    EXPECT_EQ(built.keys.nwk_s_enc_key.hex(), c.nwk_s_enc_key);
    EXPECT_EQ(built.keys.app_s_key.hex(), c.app_s_key);

    OpenJoinAcceptInput in{true, root, JoinReqType::join, r.join_eui, r.dev_eui, r.dev_nonce};
    const OpenedJoinAccept opened = open_join_accept(hex(c.phy_payload), in);
    EXPECT_EQ(opened.mode, JoinMode::lorawan_1_1);
    ASSERT_TRUE(opened.mic_valid.has_value());
    EXPECT_TRUE(*opened.mic_valid);
    ASSERT_TRUE(opened.keys.has_value());
    EXPECT_EQ(*opened.keys, built.keys);
    EXPECT_TRUE(opened.app_s_key_derived);
  }
}

// Without DevNonce the 1.1 MIC cannot be computed: said, not guessed.
TEST(Join11Vectors, MissingInputsAreReportedNotGuessed) {
  const auto& c = kChains11[0];
  OpenJoinAcceptInput in;
  in.device_1_1 = true;
  in.keys.nwk_key = key(c.nwk_key);
  in.dev_eui = Eui64::parse(c.dev_eui);
  const OpenedJoinAccept opened = open_join_accept(hex(c.phy_payload), in);
  EXPECT_EQ(opened.accept.join_nonce.hex(), c.join_nonce);  // decrypted all the same
  EXPECT_FALSE(opened.mic_valid.has_value());
  EXPECT_NE(opened.mic_note.find("JoinEUI, DevNonce"), std::string::npos) << opened.mic_note;
  EXPECT_FALSE(opened.keys.has_value());
}

TEST(Join11Vectors, NetworkKeysWithoutAppKey) {
  const auto& c = kChains11[1];
  OpenJoinAcceptInput in{true, RootKeys{{}, key(c.nwk_key)}, JoinReqType::join,
                         Eui64::parse(c.join_eui), Eui64::parse(c.dev_eui),
                         DevNonce::parse(c.dev_nonce)};
  const OpenedJoinAccept opened = open_join_accept(hex(c.phy_payload), in);
  ASSERT_TRUE(opened.keys.has_value());
  EXPECT_FALSE(opened.app_s_key_derived);
  EXPECT_EQ(opened.keys->s_nwk_s_int_key.hex(), c.s_nwk_s_int_key);
}

// TTN key_derivation_test.go TestKeyDerivation, one key as NwkKey and AppKey.
TEST(Join11Vectors, TtnKeyDerivation) {
  const auto k = key("BEC499C69E9C939E413B663961636C61");
  const SessionKeys s = derive_session_keys_1_1(k, k, JoinNonce::parse("AE3B1C"),
                                                Eui64::parse("0000001223224242"),
                                                DevNonce::parse("7369"));
  EXPECT_EQ(s.app_s_key.hex(HexCase::upper), "B035CCE24E4A040EB5CECBF21724412D");
  EXPECT_EQ(s.f_nwk_s_int_key.hex(HexCase::upper), "379084E7CE22FF191BFF4B77536F2AA3");
  EXPECT_EQ(s.s_nwk_s_int_key.hex(HexCase::upper), "63C59309D53485BC5164DBF71627AEB9");
  EXPECT_EQ(s.nwk_s_enc_key.hex(HexCase::upper), "CE07A009A3970AC0519A099ED53E550B");
  const JsKeys js = derive_js_keys(k, Eui64::parse("0042004213424341"));
  EXPECT_EQ(js.js_int_key.hex(HexCase::upper), "CB8E9EE114C3FB5CE472A5AA13AB1855");
  EXPECT_EQ(js.js_enc_key.hex(HexCase::upper), "BB711EEFB9829B4A75866F8616BACD6D");
}

// A key that offers only what a secure element offers, one block or one CMAC per call, as
// sim/secure_element's SlotKey does: the KeyRef forms give the vectors block by block too, and
// a KeySchedule (several blocks per call) gives the same.
class ChipLikeKey final : public KeyRef {
 public:
  explicit ChipLikeKey(const Aes128Key& key) : key_(key) {}
  Block encrypt(const Block& in) const override { ++calls; return aes128_encrypt(key_, in); }
  Block cmac(ByteSpan message) const override { ++calls; return lorawan::cmac(key_, message); }
  mutable int calls = 0;

 private:
  Aes128Key key_;
};

TEST(Join11Vectors, KeyRefFormsMatchTheVectors) {
  for (const auto& c : kChains11) {
    SCOPED_TRACE(c.source);
    const ChipLikeKey nwk(key(c.nwk_key));
    const ChipLikeKey app(key(c.app_key));
    const KeySchedule nwk_schedule(key(c.nwk_key));
    const KeySchedule app_schedule(key(c.app_key));
    const JsKeys js = derive_js_keys(nwk, Eui64::parse(c.dev_eui));
    EXPECT_EQ(nwk.calls, 2);  // one encrypt() per block
    EXPECT_EQ(js.js_int_key.hex(), c.js_int_key);
    EXPECT_EQ(js.js_enc_key.hex(), c.js_enc_key);
    EXPECT_EQ(derive_js_keys(nwk_schedule, Eui64::parse(c.dev_eui)).js_int_key, js.js_int_key);

    const Bytes plain = decrypt_join_accept(hex(c.phy_payload), nwk);
    EXPECT_EQ(to_hex(plain), c.plaintext);
    EXPECT_EQ(decrypt_join_accept(hex(c.phy_payload), nwk_schedule), plain);
    EXPECT_EQ(to_hex(encrypt_join_accept(plain, nwk_schedule)), c.phy_payload);

    const auto jn = JoinNonce::parse(c.join_nonce);
    const auto join_eui = Eui64::parse(c.join_eui);
    const auto dn = DevNonce::parse(c.dev_nonce);
    const SessionKeys k = derive_session_keys_1_1(nwk, app, jn, join_eui, dn);
    EXPECT_EQ(k.f_nwk_s_int_key.hex(), c.f_nwk_s_int_key);
    EXPECT_EQ(k.s_nwk_s_int_key.hex(), c.s_nwk_s_int_key);
    EXPECT_EQ(k.nwk_s_enc_key.hex(), c.nwk_s_enc_key);
    EXPECT_EQ(k.app_s_key.hex(), c.app_s_key);
    EXPECT_EQ(derive_session_keys_1_1(nwk_schedule, app_schedule, jn, join_eui, dn), k);

    const JoinAccept a = parse_join_accept_plaintext(plain);
    EXPECT_EQ(join_accept_mic_1_1(ChipLikeKey(js.js_int_key), JoinReqType::join, join_eui, dn, a), a.mic);
    EXPECT_EQ(join_accept_mic_1_1(KeySchedule(js.js_int_key), JoinReqType::join, join_eui, dn, a), a.mic);
  }
  for (const auto& c : kChains10) {
    if (!*c.nwk_s_key) continue;
    SCOPED_TRACE(c.source);
    const ChipLikeKey root(key(c.root_key));
    const auto jn = JoinNonce::parse(c.join_nonce);
    const auto net_id = NetId::parse(c.net_id);
    const auto dn = DevNonce::parse(c.dev_nonce);
    const SessionKeys k = derive_session_keys_1_0(root, jn, net_id, dn);
    EXPECT_EQ(k.nwk_s_key().hex(), c.nwk_s_key);
    EXPECT_EQ(k.app_s_key.hex(), c.app_s_key);
    EXPECT_EQ(derive_session_keys_1_0(KeySchedule(key(c.root_key)), jn, net_id, dn), k);
    const JoinAccept a = parse_join_accept_plaintext(hex(c.plaintext));
    EXPECT_EQ(join_accept_mic_1_0(root, a), a.mic);
  }
}

// TTN cryptoservices_test.go: JS keys, 1.1 key derivation, rejoin-accept encryption,
// and the accept MIC per JoinReqType over a synthetic 13-byte payload (01 x 13).
TEST(Join11Vectors, TtnCryptoServicePerJoinReqType) {
  const auto nwk = key("01010101010101010101010101010101");
  const auto app = key("02020202020202020202020202020202");
  const auto join_eui = Eui64::parse("42ffffffffffffff");
  const auto dn = DevNonce::parse("0102");
  const JsKeys js = derive_js_keys(nwk, Eui64::parse("4242ffffffffffff"));
  EXPECT_EQ(js.js_int_key.hex(), "2edc18fa78c00c72ba53c2d2206698f1");
  EXPECT_EQ(js.js_enc_key.hex(), "839cf6d822d2be042e32fdc524b72529");
  const struct {
    std::uint8_t type;
    const char* mic;
  } mics[] = {{0xff, "01df1eff"}, {0x00, "0a9c8833"}, {0x01, "ae2ddcd1"}, {0x02, "183216b1"}};
  for (const auto& m : mics) {
    Cmac mac(js.js_int_key);
    mac.update(m.type).update(join_eui.wire()).update(dn.wire()).update(Bytes(13, 0x01));
    EXPECT_EQ(mac.finish_mic().hex(), m.mic) << int(m.type);
  }
  Bytes plain(17, 0x01);
  plain[0] = 0x20;
  EXPECT_EQ(to_hex(encrypt_join_accept(plain, js.js_enc_key)), "20615825466a90eccef5d1f1c5ba566be7");
  const SessionKeys s = derive_session_keys_1_1(nwk, app, JoinNonce::parse("010203"), join_eui, dn);
  EXPECT_EQ(s.f_nwk_s_int_key.hex(), "f8d8b8b9b1ec36e8b8108429d3f73dd2");
  EXPECT_EQ(s.s_nwk_s_int_key.hex(), "72deab554003d2290cec08068171925d");
  EXPECT_EQ(s.nwk_s_enc_key.hex(), "31879cf093c24111e39905c77276bfd8");
  EXPECT_EQ(s.app_s_key.hex(), "0430895c7ba7b151cf973684f622ffc1");
}

// TTN join_messages_test.go TestComputeJoinAcceptMIC.
TEST(Join11Vectors, TtnJoinAcceptMic) {
  JoinAccept a;
  a.join_nonce = JoinNonce::parse("010203");
  a.net_id = NetId::parse("010203");
  a.dev_addr = DevAddr::parse("01020304");
  a.rx_delay = 1;
  EXPECT_EQ(join_accept_mic_1_1(key("01010101010101010101010101010101"), JoinReqType::join,
                                Eui64::parse("0807060504030201"), DevNonce::parse("0201"), a)
                .hex(),
            "48e9be5f");
}

// lora-packet key_gen_test.ts, mic_test.ts, join_accept_encrypt.ts.
TEST(Join11Vectors, LoraPacketVectors) {
  JsKeys js = derive_js_keys(key("089234b089c2d8490edf8c9f9b8e8f9c"), Eui64::parse("0123456789abcdef"));
  EXPECT_EQ(js.js_int_key.hex(), "bd147194430d6fec1351a327ee40e264");
  EXPECT_EQ(js.js_enc_key.hex(), "8c61658dc01ee8add0c0becf90d2dc50");
  js = derive_js_keys(key("01010101010101010101010101010101"), Eui64::parse("0000000000000001"));
  EXPECT_EQ(js.js_int_key.hex(), "6b9cc9b000daebb610f1e39758cf69df");
  EXPECT_EQ(js.js_enc_key.hex(), "c31fa11abb646ee1c21d5835815528ea");

  const SessionKeys s = derive_session_keys_1_1(
      key("00000000000000000000000000000001"), key("01000000000000000000000000000001"),
      JoinNonce::parse("000003"), Eui64::parse("0000000000000001"), DevNonce::parse("e8c2"));
  EXPECT_EQ(s.f_nwk_s_int_key.hex(), "bbd966509be6435f4bcb63acc310466a");
  EXPECT_EQ(s.s_nwk_s_int_key.hex(), "dea9e621c747af79a65f82dcaed92a99");
  EXPECT_EQ(s.nwk_s_enc_key.hex(), "c8eefda7400395c94ab072e9c353b29d");
  EXPECT_EQ(s.app_s_key.hex(), "eb45a0a167b6f1cccb9a678d761c0b03");

  const JoinRequest r = parse_join_request(hex("00010000000000000001000000000000000ce83685eb17"));
  EXPECT_EQ(r.dev_nonce.hex(), "e80c");
  EXPECT_EQ(join_request_mic(key("01010101010101010101010101010101"), r).hex(), "3685eb17");

  // brocaar ExamplePHYPayload_lorawan11JoinAcceptSend: one key as JSIntKey and encryption key.
  const auto one = key("0102030405060708090a0b0c0d0e0f10");
  JoinAccept a;
  a.join_nonce = JoinNonce::parse("010101");
  a.net_id = NetId::parse("020202");
  a.dev_addr = DevAddr::parse("01020304");
  a.dl_settings.raw = 0x80;
  a.mic = join_accept_mic_1_1(one, JoinReqType::join, Eui64::parse("0807060504030201"),
                              DevNonce::parse("0102"), a);
  EXPECT_EQ(to_hex(encode_join_accept_plaintext(a)), "2001010102020204030201800093ff9a3a");
  EXPECT_EQ(to_hex(encrypt_join_accept(encode_join_accept_plaintext(a), one)),
            "207abeea06b02920f11c02d0348fcf1815");
}

// ---- rejoin-requests ----

TEST(RejoinVectors, TtnAndBrocaarFrames) {
  const struct {
    const char* source;
    const char* key;
    const char* phy;
    RejoinType type;
    const char* id;  // NetID (types 0, 2) or JoinEUI (type 1)
    const char* dev_eui;
    const char* rj_count;
  } cases[] = {
      {"TTN TestComputeRejoinRequestMIC type 0", "01010101010101010101010101010101",
       "c0000302010807060504030201020111da47bd", RejoinType::type0, "010203", "0102030405060708", "0102"},
      {"TTN TestComputeRejoinRequestMIC type 1", "01010101010101010101010101010101",
       "c00108070605040302010807060504030201020167f9abe7", RejoinType::type1, "0102030405060708",
       "0102030405060708", "0102"},
      {"TTN TestComputeRejoinRequestMIC type 2", "01010101010101010101010101010101",
       "c002030201080706050403020102012b459cf0", RejoinType::type2, "010203", "0102030405060708", "0102"},
      {"brocaar TestPHYPayloadRejoinRequest02", "00000000000000000000000000000000",
       "c0020302010807060504030201db003c8642ae", RejoinType::type2, "010203", "0102030405060708", "00db"},
      {"brocaar TestPHYPayloadRejoinRequest1", "00000000000000000000000000000000",
       "c0010807060504030201100f0e0d0c0b0a09db00eac31072", RejoinType::type1, "0102030405060708",
       "090a0b0c0d0e0f10", "00db"},
      {"brocaar joinserver TestRejoinRequest rj1PHY (JSIntKey)", "b8ae379696825f22c8abbec24c31a84b",
       "c001010203040506070808070605040302017b009ebd4b8b", RejoinType::type1, "0807060504030201",
       "0102030405060708", "007b"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.source);
    const RejoinRequest r = parse_rejoin_request(hex(c.phy));
    EXPECT_EQ(r.type, c.type);
    EXPECT_EQ(r.type == RejoinType::type1 ? r.join_eui.hex() : r.net_id.hex(), c.id);
    EXPECT_EQ(r.dev_eui.hex(), c.dev_eui);
    EXPECT_EQ(r.rj_count.hex(), c.rj_count);
    EXPECT_EQ(rejoin_request_mic(key(c.key), r), r.mic);
    EXPECT_EQ(to_hex(build_rejoin_request(key(c.key), r)), c.phy);
  }
}

// brocaar joinserver_test.go TestRejoinRequest ja0PHY/ja1PHY/ja2PHY: MIC with JSIntKey,
// encryption with JSEncKey. The session keys are the spec's (JoinEUI layout), not brocaar's.
TEST(RejoinVectors, RejoinTriggeredJoinAccepts) {
  const struct {
    JoinReqType type;
    bool cf_list;
    const char* mic;
    const char* phy;
  } cases[] = {
      {JoinReqType::rejoin0, true, "0a378c78",
       "20df04b2ac9d57d1124724b5c24811a12ffe23eaedcb43a97d9a05d08df66c3dc5"},
      {JoinReqType::rejoin1, true, "1d263d0e",
       "20df04b2ac9d57d1124724b5c24811a12f93423bbb4ca1f432ce8d67f097ce5f0c"},
      {JoinReqType::rejoin2, false, "ae8047a7", "20296bc45da4b01356e5453109a10f9ab3"},
  };
  const RootKeys root{key("00000000000000000000000000000000"), key("01020304050607080102030405060708")};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.type)));
    JoinAccept fields;
    fields.join_nonce = JoinNonce::parse("010000");
    fields.net_id = NetId::parse("010203");
    fields.dev_addr = DevAddr::parse("01020304");
    fields.dl_settings.raw = 0x95;
    fields.rx_delay = 1;
    if (c.cf_list) fields.cf_list = CfList::parse("988d8468958400000000000000000000");
    const JoinContext ctx{c.type, Eui64::parse("0807060504030201"), Eui64::parse("0102030405060708"),
                          DevNonce::parse("007b")};
    const BuiltJoinAccept built = build_join_accept(JoinMode::lorawan_1_1, root, ctx, fields);
    EXPECT_EQ(built.accept.mic.hex(), c.mic);
    EXPECT_EQ(to_hex(built.phy_payload), c.phy);
    EXPECT_EQ(built.keys.f_nwk_s_int_key.hex(), "7aae91b421cd273a1573d1edf5b23e75");
    EXPECT_EQ(built.keys.s_nwk_s_int_key.hex(), "c4f1b16a0468e82070b6ad7dee6ca23d");
    EXPECT_EQ(built.keys.nwk_s_enc_key.hex(), "b2b6ee36b4a683fb67e2e7d11bffca94");
    EXPECT_EQ(built.keys.app_s_key.hex(), "fe357ecee6df7b7c1a178324db1d1a7a");

    OpenJoinAcceptInput in{true, root, c.type, ctx.join_eui, ctx.dev_eui, ctx.dev_nonce};
    const OpenedJoinAccept opened = open_join_accept(hex(c.phy), in);
    ASSERT_TRUE(opened.mic_valid.has_value());
    EXPECT_TRUE(*opened.mic_valid);
    EXPECT_EQ(*opened.keys, built.keys);
  }
}

// ---- KEK-wrapped session keys ----

TEST(KeyEnvelopeVectors, BrocaarWrappedJoinAnsKeys) {
  const Bytes kek(16, 0x00);
  EXPECT_EQ(to_hex(aes_key_wrap(kek, hex("537f8aae896c79e015d102d06286354e"))),
            "5755e6c3241ee7e6646f0ffe87787a002cf9e4b083498f00");
  EXPECT_EQ(to_hex(aes_key_wrap(kek, hex("589498993092cfdb5fd2e02ac7510bf1"))),
            "f6b0b81f3d3029125591c0b0b88d76c93b48aca4041685d3");
  EXPECT_EQ(to_hex(aes_key_wrap(kek, hex("9898283c4f66eb6c6fd5165882046c40"))),
            "4ee1ecdbbd9752ef6de28c41e9bdae2527cef1f2027f9df7");
  EXPECT_EQ(to_hex(aes_key_wrap(kek, hex("01621215d1ca08febf0c602cc2ad90fa"))),
            "f8d7c9fa37b0d1c6354e6db8e19d9d7ab4e5c7581e9f1e20");
}

TEST(KeyEnvelopeVectors, TtnWrapped256BitKeks) {
  const Bytes ns = hex("3f367ba11667d98b8900477784f6fe50566712ab7196046b9f2bc250dfc8c1a2");
  const Bytes as = hex("ed8a2e97f68ebb794d964bd614bbbcf225c37d61a9fed0837b07c05f02523c8b");
  EXPECT_EQ(to_hex(aes_key_wrap(ns, hex("7a06ebf97defd12b1770554b7c0a35e1"))),
            "4cf7f8d2880317f3507b85966d0bd0dc7cf76cff1bce0139");
  EXPECT_EQ(to_hex(aes_key_wrap(ns, hex("d748b8efe331499e723203680829ed72"))),
            "981cb261fd80f14dac000cd94d95ad700c2afe4c7805bade");
  EXPECT_EQ(to_hex(aes_key_wrap(ns, hex("41267db82dbfa49debe55bfddf04cbb5"))),
            "41f96cdfd21668ce0537f946818bdedc3dd0ea3c4d0f3456");
  EXPECT_EQ(to_hex(aes_key_wrap(as, hex("370ce5d9497beb034c53dd0349c847bf"))),
            "15b6ddab33ee417858214164ed38dd92a8c6c103a9c54c8c");
  EXPECT_EQ(to_hex(aes_key_unwrap(as, hex("15b6ddab33ee417858214164ed38dd92a8c6c103a9c54c8c"))),
            "370ce5d9497beb034c53dd0349c847bf");
}

}  // namespace
}  // namespace joincheck::lorawan
