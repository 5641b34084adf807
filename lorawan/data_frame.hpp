#pragma once
// Data frames (LoRaWAN 1.0.x §4, 1.1 §4): the four data MTypes, their wire format, MICs and the
// FRMPayload / FOpts encryption, for a device's uplinks after a join and the NS's downlinks.
//
//   PHYPayload = MHDR | DevAddr | FCtrl | FCnt | FOpts | [FPort | FRMPayload] | MIC
//
// A DataFrame holds the fields as they are on the air: FRMPayload encrypted, FOpts encrypted
// in 1.1, FCnt as its 16 transmitted bits. The full 32-bit counter is an input to the MIC and
// the encryption, given separately.

#include <cstdint>
#include <optional>

#include "lorawan/crypto.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/types.hpp"

namespace joincheck::lorawan {

// The Dir byte of the B0/B1/A blocks.
enum class Direction : std::uint8_t { uplink = 0, downlink = 1 };

constexpr bool is_data_mtype(MType t) {
  return t == MType::unconfirmed_data_up || t == MType::unconfirmed_data_down ||
         t == MType::confirmed_data_up || t == MType::confirmed_data_down;
}
// Throws Error for a MType that is not a data MType.
Direction direction_of(MType type);

constexpr std::size_t kMaxFOptsSize = 15;
// MHDR (1) + FHDR without FOpts (7) + MIC (4).
constexpr std::size_t kMinDataFrameSize = 12;
// The LoRa PHY length byte, and the len(msg) byte of the B0 block, cap a frame at 255 bytes.
constexpr std::size_t kMaxPhyPayloadSize = 255;

// FCtrl without FOptsLen (that is the size of DataFrame::fopts).
struct FCtrl {
  bool adr = false;                  // bit 7
  bool adr_ack_req = false;          // bit 6: ADRACKReq on an uplink, RFU on a downlink
  bool ack = false;                  // bit 5
  bool class_b_or_fpending = false;  // bit 4: ClassB on an uplink, FPending on a downlink

  friend bool operator==(const FCtrl&, const FCtrl&) = default;
};

struct DataFrame {
  MType mtype = MType::unconfirmed_data_up;
  std::uint8_t major = 0;  // MHDR bits 1..0; 0 is LoRaWAN R1. Kept as seen.
  std::uint8_t rfu = 0;    // MHDR bits 4..2. Kept as seen.
  DevAddr dev_addr{};
  FCtrl fctrl{};
  std::uint16_t fcnt = 0;               // the 16 least significant bits of the frame counter
  Bytes fopts{};                        // 0..15 bytes as on the air (encrypted in 1.1)
  std::optional<std::uint8_t> fport{};  // absent when the frame ends after FOpts
  Bytes frm_payload{};                  // as on the air (encrypted); empty without FPort
  Mic mic{};

  Direction direction() const { return direction_of(mtype); }
  bool confirmed() const {
    return mtype == MType::confirmed_data_up || mtype == MType::confirmed_data_down;
  }

  // MHDR | FHDR | FPort | FRMPayload: the message the MIC covers. Throws Error like encode().
  Bytes mic_input() const;
  // The PHYPayload. Throws Error when the frame cannot be written: a non-data MType, more
  // than 15 bytes of FOpts, FRMPayload without FPort, or more than 255 bytes in all.
  Bytes encode() const;
  // Parses a PHYPayload of a data MType. Throws Error naming what was expected and seen
  // (too short, not a data MType, FOptsLen beyond the frame, more than 255 bytes).
  static DataFrame parse(ByteSpan phy_payload);

  friend bool operator==(const DataFrame&, const DataFrame&) = default;
};

// The network session keys of an activated device.
//
// A LoRaWAN 1.0.x session has one NwkSKey; v1_0() puts it in all three fields so that code
// reading f_nwk_s_int_key / s_nwk_s_int_key / nwk_s_enc_key works for both versions. A 1.1
// device that joined with OptNeg=0 uses the 1.0 scheme (lorawan_1_1 = false).
struct NetworkSessionKeys {
  bool lorawan_1_1 = false;
  Aes128Key f_nwk_s_int_key{};  // 1.0: NwkSKey
  Aes128Key s_nwk_s_int_key{};  // 1.0: NwkSKey
  Aes128Key nwk_s_enc_key{};    // 1.0: NwkSKey

  static NetworkSessionKeys v1_0(const Aes128Key& nwk_s_key) {
    return {false, nwk_s_key, nwk_s_key, nwk_s_key};
  }
  static NetworkSessionKeys v1_1(const Aes128Key& f_nwk_s_int_key, const Aes128Key& s_nwk_s_int_key,
                                 const Aes128Key& nwk_s_enc_key) {
    return {true, f_nwk_s_int_key, s_nwk_s_int_key, nwk_s_enc_key};
  }
  const Aes128Key& nwk_s_key() const { return f_nwk_s_int_key; }

  friend bool operator==(const NetworkSessionKeys&, const NetworkSessionKeys&) = default;
};

// The session keys by reference: keys that may live in a secure element (see KeyRef). The
// pointers must outlive the call; `app_s_key` may be null when no FRMPayload on FPort 1..255
// is built.
struct SessionKeyRefs {
  bool lorawan_1_1 = false;
  const KeyRef* f_nwk_s_int_key = nullptr;  // 1.0: NwkSKey (as the two below)
  const KeyRef* s_nwk_s_int_key = nullptr;
  const KeyRef* nwk_s_enc_key = nullptr;
  const KeyRef* app_s_key = nullptr;
};

// What the MIC covers beyond the frame's bytes.
struct MicContext {
  // The full 32-bit FCnt (FCntUp; FCntDown in 1.0; NFCntDown or AFCntDown in 1.1). Its 16
  // least significant bits must equal DataFrame::fcnt.
  std::uint32_t fcnt = 0;
  // 1.1 only, and only when FCtrl.ACK is set: the FCnt of the confirmed frame being
  // acknowledged (used modulo 2^16). Ignored otherwise, as the specification sets it to 0.
  std::uint32_t conf_fcnt = 0;
  // 1.1 uplinks only (block B1): data rate and channel index of the transmission.
  std::uint8_t tx_dr = 0;
  std::uint8_t tx_ch = 0;
};

// ---------------------------------------------------------------------------------------------
// Frame level.

// The MIC of `frame` (direction from its MType):
//   1.0.x:        cmac(NwkSKey, B0 | msg)[0..3]
//   1.1 uplink:   cmac(SNwkSIntKey, B1 | msg)[0..1] | cmac(FNwkSIntKey, B0 | msg)[0..1]
//   1.1 downlink: cmac(SNwkSIntKey, B0 | msg)[0..3], B0 carrying ConfFCnt
// Throws Error when ctx.fcnt does not end in frame.fcnt or the frame cannot be encoded.
Mic compute_data_mic(const DataFrame& frame, const NetworkSessionKeys& keys, const MicContext& ctx);
// Compare frame.mic with compute_data_mic(). Throw Error when the frame's MType is not of
// the named direction.
bool verify_uplink_mic(const DataFrame& frame, const NetworkSessionKeys& keys,
                       const MicContext& ctx);
bool verify_downlink_mic(const DataFrame& frame, const NetworkSessionKeys& keys,
                         const MicContext& ctx);

// The FRMPayload in clear. The key is NwkSEncKey (NwkSKey in 1.0) for FPort 0 and AppSKey for
// FPort 1..255; empty without FPort. Throws Error when AppSKey is needed and not given, or
// when `fcnt` does not end in frame.fcnt.
Bytes decrypt_frm_payload(const DataFrame& frame, std::uint32_t fcnt,
                          const NetworkSessionKeys& keys,
                          const std::optional<Aes128Key>& app_s_key = std::nullopt);
// The FOpts in clear: decrypted with NwkSEncKey in 1.1, as they are in 1.0.x.
Bytes decrypt_fopts(const DataFrame& frame, std::uint32_t fcnt, const NetworkSessionKeys& keys);

// What a device or NS sends, in clear. build_uplink / build_downlink encrypt it, put the 16
// low bits of `fcnt` on the air and set the MIC.
struct DataParams {
  bool confirmed = false;
  DevAddr dev_addr{};
  std::uint32_t fcnt = 0;  // full counter, see MicContext::fcnt
  FCtrl fctrl{};
  Bytes fopts{};  // MAC commands in clear (encrypted with NwkSEncKey in 1.1)
  std::optional<std::uint8_t> fport{};
  Bytes frm_payload{};  // in clear; needs an FPort
  // 1.1 only, see MicContext.
  std::uint32_t conf_fcnt = 0;
  std::uint8_t tx_dr = 0;  // uplink only
  std::uint8_t tx_ch = 0;  // uplink only
};

// `app_s_key` is needed only for an FRMPayload on FPort 1..255; Error if missing then.
DataFrame build_uplink(const DataParams& params, const NetworkSessionKeys& keys,
                       const std::optional<Aes128Key>& app_s_key = std::nullopt);
DataFrame build_downlink(const DataParams& params, const NetworkSessionKeys& keys,
                         const std::optional<Aes128Key>& app_s_key = std::nullopt);
// The same with keys that stay where they are (a device's secure element).
DataFrame build_uplink(const DataParams& params, const SessionKeyRefs& keys);
Mic compute_data_mic(const DataFrame& frame, const SessionKeyRefs& keys, const MicContext& ctx);

// ---------------------------------------------------------------------------------------------
// Block level: the formulas, for callers holding raw bytes (or a secure element holding keys).

// B0 = 0x49 | ConfFCnt (2, LE; zero in 1.0.x and on 1.1 uplinks) | 0x00 0x00 | Dir |
//      DevAddr (4, LE) | FCnt (4, LE) | 0x00 | len(msg). Throws Error when msg_len > 255.
Block mic_block_b0(Direction dir, const DevAddr& dev_addr, std::uint32_t fcnt,
                   std::uint16_t conf_fcnt, std::size_t msg_len);
// B1 (1.1 uplinks) = 0x49 | ConfFCnt (2, LE) | TxDr | TxCh | 0x00 | DevAddr | FCntUp | 0x00 |
//      len(msg). Throws Error when msg_len > 255.
Block mic_block_b1(const DevAddr& dev_addr, std::uint32_t fcnt_up, std::uint16_t conf_fcnt,
                   std::uint8_t tx_dr, std::uint8_t tx_ch, std::size_t msg_len);

// XORs `data` with the FRMPayload keystream AES(key, A_i), i = 1, 2, ...:
//   A_i = 0x01 | 0x00 x4 | Dir | DevAddr (LE) | FCnt (4, LE) | 0x00 | i
// Encrypts and decrypts alike.
Bytes crypt_frm_payload(const KeyRef& key, Direction dir, const DevAddr& dev_addr,
                        std::uint32_t fcnt, ByteSpan data);
Bytes crypt_frm_payload(const Aes128Key& key, Direction dir, const DevAddr& dev_addr,
                        std::uint32_t fcnt, ByteSpan data);

// Which downlink counter a 1.1 frame's FOpts are encrypted under (byte 4 of their A block).
enum class FOptsCounter : std::uint8_t {
  fcnt_up_or_nfcnt_down = 0x01,  // every uplink; a downlink without FPort or with FPort 0
  afcnt_down = 0x02,             // a downlink with FPort 1..255
};
// The counter a 1.1 frame's FOpts are encrypted under, from its direction and FPort.
FOptsCounter fopts_counter_of(Direction dir, std::optional<std::uint8_t> fport);

// XORs 1.1 FOpts (at most 15 bytes) with AES(NwkSEncKey, A), the block as amended by the LoRa
// Alliance change request to 1.1 "FCntDwn usage in FOpts encryption" (sources and the
// original 1.1 block in data_frame.cpp):
//   A = 0x01 | 0x00 x3 | counter (0x01 or 0x02) | Dir | DevAddr (LE) | FCnt (4, LE) | 0x00 | 0x01
// Throws Error for more than 15 bytes.
Bytes crypt_fopts_1_1(const KeyRef& nwk_s_enc_key, Direction dir, FOptsCounter counter,
                      const DevAddr& dev_addr, std::uint32_t fcnt, ByteSpan fopts);
Bytes crypt_fopts_1_1(const Aes128Key& nwk_s_enc_key, Direction dir, FOptsCounter counter,
                      const DevAddr& dev_addr, std::uint32_t fcnt, ByteSpan fopts);

}  // namespace joincheck::lorawan
