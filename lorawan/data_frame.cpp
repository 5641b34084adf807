#include "lorawan/data_frame.hpp"

#include <string>

// Sources for the formulas below (learnt from, not copied):
//  - LoRaWAN 1.0.x specification §4.3.3 (FRMPayload encryption, blocks A_i) and §4.4 (MIC,
//    block B0); LoRaWAN 1.1 specification §4.3.1.6 (FOpts encryption), §4.3.3, §4.4 (B0/B1,
//    ConfFCnt, MIC = cmacS[0..1] | cmacF[0..1]).
//  - Lora-net/LoRaMac-node src/mac/LoRaMacCrypto.c: PayloadEncrypt, FOptsEncrypt, PrepareB0,
//    PrepareB1, ComputeCmacB0, ComputeCmacB1.
//  - brocaar/lorawan phypayload.go: calculateUplinkDataMIC, calculateDownlinkDataMIC,
//    EncryptFRMPayload, EncryptFOpts.
//  - TheThingsNetwork/lorawan-stack pkg/crypto/data_messages.go: computeMIC, ComputeUplinkMIC.
//
// FOpts encryption (1.1). The LoRaWAN 1.1 specification (Oct 2017) §4.3.1.6 gives
//   A = 0x01 | 0x00 x4 | Dir | DevAddr | FCntUp or NFCntDwn | 0x00 | 0x00
// naming only FCntUp and NFCntDwn, although a downlink with FPort > 0 carries AFCntDwn. The
// LoRa Alliance change request "FCntDwn usage in FOpts encryption" (document
// 00001.002.00001.001, v2 r1, 2020; LoRaMac-node calls it "introduced in LoRaWAN 1.1.1")
// amended the block to
//   A = 0x01 | 0x00 x3 | 0x01 or 0x02 | Dir | DevAddr | FCnt | 0x00 | 0x01
// with byte 4 = 0x01 for an uplink (FCntUp) and for a downlink without FPort or with FPort 0
// (NFCntDwn), and 0x02 for a downlink with FPort > 0 (AFCntDwn, the counter that frame
// carries). We implement the amended form, as do LoRaMac-node FOptsEncrypt (for every version
// after 1.1.0, its default), brocaar/lorawan EncryptFOpts (ChirpStack) and
// anthonykirby/lora-packet decryptFOpts (which cites the change request). The
// TheThingsNetwork/lorawan-stack encryptMessage we read still uses the original block (bytes 4
// and 15 zero): a peer doing so produces FOpts we decrypt to garbage, and the MIC still
// verifies, since it covers the encrypted bytes. The brocaar/lorawan and lora-packet vectors in
// tests/lorawan/test_data_frame.cpp pin both the 0x01 and the 0x02 case.

namespace joincheck::lorawan {
namespace {

constexpr std::uint8_t kBlockTag = 0x49;  // B0 / B1
constexpr std::uint8_t kCryptTag = 0x01;  // A blocks

std::string mhdr_hex(std::uint8_t mhdr) { return "0x" + to_hex(ByteSpan(&mhdr, 1)); }

std::uint16_t low16(std::uint32_t v) { return static_cast<std::uint16_t>(v & 0xffffu); }

void put_le32(Block& b, std::size_t at, std::uint32_t v) {
  for (std::size_t i = 0; i < 4; ++i) b[at + i] = static_cast<std::uint8_t>(v >> (8 * i));
}
void put_le16(Block& b, std::size_t at, std::uint16_t v) {
  b[at] = static_cast<std::uint8_t>(v & 0xffu);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
void put_dev_addr(Block& b, std::size_t at, const DevAddr& dev_addr) {
  const auto wire = dev_addr.wire();
  for (std::size_t i = 0; i < wire.size(); ++i) b[at + i] = wire[i];
}

void check_msg_len(std::size_t msg_len) {
  if (msg_len > kMaxPhyPayloadSize) {
    throw Error(
        "MIC: the message (MHDR to FRMPayload) must be at most 255 bytes to fit the "
        "len(msg) byte of block B0/B1, got " +
        std::to_string(msg_len) + " bytes");
  }
}

// The full counter must end in the 16 bits the frame carries.
void check_fcnt(std::uint16_t on_air, std::uint32_t full) {
  if (low16(full) != on_air) {
    throw Error("FCnt: the frame carries " + std::to_string(on_air) +
                " (16 bits) but the full counter given is " + std::to_string(full) +
                ", whose 16 low bits are " + std::to_string(low16(full)));
  }
}

Block cmac_of(const KeyRef& key, const Block& block, ByteSpan msg) {
  Bytes data(block.begin(), block.end());
  data.insert(data.end(), msg.begin(), msg.end());
  return key.cmac(data);
}

// The same keys by reference, each schedule set up once for the frame's MIC and encryption.
struct KeyValues {
  explicit KeyValues(const NetworkSessionKeys& keys, const std::optional<Aes128Key>& app_s_key)
      : f(keys.f_nwk_s_int_key), s(keys.s_nwk_s_int_key), e(keys.nwk_s_enc_key) {
    refs.lorawan_1_1 = keys.lorawan_1_1;
    refs.f_nwk_s_int_key = &f;
    refs.s_nwk_s_int_key = &s;
    refs.nwk_s_enc_key = &e;
    if (app_s_key) {
      a.emplace(*app_s_key);
      refs.app_s_key = &*a;
    }
  }
  KeyValues(const KeyValues&) = delete;
  KeyValues& operator=(const KeyValues&) = delete;
  KeySchedule f, s, e;
  std::optional<KeySchedule> a;
  SessionKeyRefs refs;
};

const char* direction_name(Direction d) { return d == Direction::uplink ? "uplink" : "downlink"; }

void require_direction(const DataFrame& frame, Direction want, const char* function) {
  if (frame.direction() != want) {
    const bool up = want == Direction::uplink;
    throw Error(
        std::string(function) + ": expected " + (up ? "an " : "a ") + direction_name(want) +
        " MType (" +
        (up ? "UnconfirmedDataUp or ConfirmedDataUp" : "UnconfirmedDataDown or ConfirmedDataDown") +
        "), got " + std::string(to_string(frame.mtype)));
  }
}

// The key encrypting the FRMPayload on `fport`.
const KeyRef& payload_key(std::uint8_t fport, const SessionKeyRefs& keys) {
  if (fport == 0) return *keys.nwk_s_enc_key;
  if (keys.app_s_key == nullptr) {
    throw Error("FRMPayload: FPort " + std::to_string(fport) +
                " is encrypted with AppSKey, and no AppSKey was given");
  }
  return *keys.app_s_key;
}

Mic data_mic(const DataFrame& frame, const SessionKeyRefs& keys, const MicContext& ctx);

DataFrame build(Direction dir, const DataParams& p, const SessionKeyRefs& keys) {
  if (p.fopts.size() > kMaxFOptsSize) {
    throw Error("FOpts: expected at most 15 bytes (FOptsLen is 4 bits), got " +
                std::to_string(p.fopts.size()));
  }
  if (!p.frm_payload.empty() && !p.fport) {
    throw Error("FRMPayload: " + std::to_string(p.frm_payload.size()) +
                " bytes given without an FPort; a frame with FRMPayload must carry FPort");
  }
  DataFrame f;
  if (dir == Direction::uplink) {
    f.mtype = p.confirmed ? MType::confirmed_data_up : MType::unconfirmed_data_up;
  } else {
    f.mtype = p.confirmed ? MType::confirmed_data_down : MType::unconfirmed_data_down;
  }
  f.dev_addr = p.dev_addr;
  f.fctrl = p.fctrl;
  f.fcnt = low16(p.fcnt);
  f.fport = p.fport;
  f.fopts = keys.lorawan_1_1
                ? crypt_fopts_1_1(*keys.nwk_s_enc_key, dir, fopts_counter_of(dir, p.fport),
                                  p.dev_addr, p.fcnt, p.fopts)
                : p.fopts;
  if (p.fport && !p.frm_payload.empty()) {
    f.frm_payload = crypt_frm_payload(payload_key(*p.fport, keys), dir, p.dev_addr, p.fcnt,
                                      p.frm_payload);
  }
  f.mic = data_mic(f, keys, MicContext{p.fcnt, p.conf_fcnt, p.tx_dr, p.tx_ch});
  return f;
}

Mic data_mic(const DataFrame& frame, const SessionKeyRefs& keys, const MicContext& ctx) {
  const Bytes msg = frame.mic_input();
  check_fcnt(frame.fcnt, ctx.fcnt);
  const Direction dir = frame.direction();

  if (!keys.lorawan_1_1) {
    // 1.0.x: one key and ConfFCnt 0 in both directions.
    return mic_of(cmac_of(*keys.f_nwk_s_int_key,
                          mic_block_b0(dir, frame.dev_addr, ctx.fcnt, 0, msg.size()), msg));
  }

  // 1.1: ConfFCnt only when the frame acknowledges a confirmed frame.
  const std::uint16_t conf_fcnt = frame.fctrl.ack ? low16(ctx.conf_fcnt) : std::uint16_t{0};
  if (dir == Direction::downlink) {
    return mic_of(cmac_of(*keys.s_nwk_s_int_key,
                          mic_block_b0(dir, frame.dev_addr, ctx.fcnt, conf_fcnt, msg.size()),
                          msg));
  }
  const Block cmac_s = cmac_of(
      *keys.s_nwk_s_int_key,
      mic_block_b1(frame.dev_addr, ctx.fcnt, conf_fcnt, ctx.tx_dr, ctx.tx_ch, msg.size()), msg);
  const Block cmac_f = cmac_of(*keys.f_nwk_s_int_key,
                               mic_block_b0(dir, frame.dev_addr, ctx.fcnt, 0, msg.size()), msg);
  return Mic(Mic::Array{cmac_s[0], cmac_s[1], cmac_f[0], cmac_f[1]});
}

}  // namespace

Direction direction_of(MType type) {
  switch (type) {
    case MType::unconfirmed_data_up:
    case MType::confirmed_data_up:
      return Direction::uplink;
    case MType::unconfirmed_data_down:
    case MType::confirmed_data_down:
      return Direction::downlink;
    default:
      break;
  }
  throw Error(
      "MType: expected a data MType (UnconfirmedDataUp, UnconfirmedDataDown, "
      "ConfirmedDataUp, ConfirmedDataDown), got " +
      std::string(to_string(type)));
}

// ---------------------------------------------------------------------------------------------
// Wire format.

Bytes DataFrame::mic_input() const {
  direction_of(mtype);  // throws for a non-data MType
  if (major > 0x03 || rfu > 0x07) {
    throw Error("MHDR: Major must fit in 2 bits and RFU in 3 bits, got Major " +
                std::to_string(major) + ", RFU " + std::to_string(rfu));
  }
  if (fopts.size() > kMaxFOptsSize) {
    throw Error("FOpts: expected at most 15 bytes (FOptsLen is 4 bits), got " +
                std::to_string(fopts.size()));
  }
  if (!frm_payload.empty() && !fport) {
    throw Error("FRMPayload: " + std::to_string(frm_payload.size()) +
                " bytes without an FPort; a frame with FRMPayload must carry FPort");
  }
  const std::size_t size = kMinDataFrameSize + fopts.size() + (fport ? 1 + frm_payload.size() : 0);
  if (size > kMaxPhyPayloadSize) {
    throw Error("data frame: a PHYPayload is at most 255 bytes, this one would be " +
                std::to_string(size));
  }

  Bytes out;
  out.reserve(size);
  out.push_back(static_cast<std::uint8_t>(mhdr_of(mtype) | (rfu << 2) | major));
  dev_addr.append_wire(out);
  out.push_back(static_cast<std::uint8_t>((fctrl.adr ? 0x80 : 0) | (fctrl.adr_ack_req ? 0x40 : 0) |
                                          (fctrl.ack ? 0x20 : 0) |
                                          (fctrl.class_b_or_fpending ? 0x10 : 0) | fopts.size()));
  out.push_back(static_cast<std::uint8_t>(fcnt & 0xffu));
  out.push_back(static_cast<std::uint8_t>(fcnt >> 8));
  out.insert(out.end(), fopts.begin(), fopts.end());
  if (fport) {
    out.push_back(*fport);
    out.insert(out.end(), frm_payload.begin(), frm_payload.end());
  }
  return out;
}

Bytes DataFrame::encode() const {
  Bytes out = mic_input();
  mic.append_wire(out);
  return out;
}

DataFrame DataFrame::parse(ByteSpan phy) {
  const std::string expected_size =
      "expected at least 12 bytes (MHDR 1, DevAddr 4, FCtrl 1, FCnt 2, MIC 4)";
  if (phy.empty()) throw Error("data frame: " + expected_size + ", got 0");
  const std::uint8_t mhdr = phy[0];
  const MType type = mtype_of(mhdr);
  if (!is_data_mtype(type)) {
    throw Error(
        "data frame: expected a data MType (UnconfirmedDataUp, UnconfirmedDataDown, "
        "ConfirmedDataUp, ConfirmedDataDown), got " +
        std::string(to_string(type)) + " (MHDR " + mhdr_hex(mhdr) + ")");
  }
  if (phy.size() < kMinDataFrameSize) {
    throw Error("data frame: " + expected_size + ", got " + std::to_string(phy.size()));
  }
  if (phy.size() > kMaxPhyPayloadSize) {
    throw Error("data frame: expected at most 255 bytes (a LoRa PHYPayload), got " +
                std::to_string(phy.size()));
  }

  DataFrame f;
  f.mtype = type;
  f.major = static_cast<std::uint8_t>(mhdr & 0x03);
  f.rfu = static_cast<std::uint8_t>((mhdr >> 2) & 0x07);
  f.dev_addr = DevAddr::from_wire(phy.subspan(1, 4));
  const std::uint8_t fctrl = phy[5];
  f.fctrl.adr = (fctrl & 0x80) != 0;
  f.fctrl.adr_ack_req = (fctrl & 0x40) != 0;
  f.fctrl.ack = (fctrl & 0x20) != 0;
  f.fctrl.class_b_or_fpending = (fctrl & 0x10) != 0;
  f.fcnt = static_cast<std::uint16_t>(phy[6] | (phy[7] << 8));

  const std::size_t fopts_len = fctrl & 0x0f;
  const std::size_t available = phy.size() - kMinDataFrameSize;  // between FCnt and MIC
  if (fopts_len > available) {
    throw Error("data frame: FCtrl FOptsLen is " + std::to_string(fopts_len) + " but only " +
                std::to_string(available) + " bytes lie between FCnt and the MIC (frame of " +
                std::to_string(phy.size()) + " bytes, FCtrl 0x" + to_hex(phy.subspan(5, 1)) + ")");
  }
  const auto fopts = phy.subspan(8, fopts_len);
  f.fopts.assign(fopts.begin(), fopts.end());

  const std::size_t port_at = 8 + fopts_len;
  const std::size_t mic_at = phy.size() - 4;
  if (port_at < mic_at) {
    f.fport = phy[port_at];
    const auto payload = phy.subspan(port_at + 1, mic_at - port_at - 1);
    f.frm_payload.assign(payload.begin(), payload.end());
  }
  f.mic = Mic::from_wire(phy.subspan(mic_at, 4));
  return f;
}

// ---------------------------------------------------------------------------------------------
// Blocks.

Block mic_block_b0(Direction dir, const DevAddr& dev_addr, std::uint32_t fcnt,
                   std::uint16_t conf_fcnt, std::size_t msg_len) {
  check_msg_len(msg_len);
  Block b{};
  b[0] = kBlockTag;
  put_le16(b, 1, conf_fcnt);
  b[5] = static_cast<std::uint8_t>(dir);
  put_dev_addr(b, 6, dev_addr);
  put_le32(b, 10, fcnt);
  b[15] = static_cast<std::uint8_t>(msg_len);
  return b;
}

Block mic_block_b1(const DevAddr& dev_addr, std::uint32_t fcnt_up, std::uint16_t conf_fcnt,
                   std::uint8_t tx_dr, std::uint8_t tx_ch, std::size_t msg_len) {
  check_msg_len(msg_len);
  Block b{};
  b[0] = kBlockTag;
  put_le16(b, 1, conf_fcnt);
  b[3] = tx_dr;
  b[4] = tx_ch;
  b[5] = static_cast<std::uint8_t>(Direction::uplink);
  put_dev_addr(b, 6, dev_addr);
  put_le32(b, 10, fcnt_up);
  b[15] = static_cast<std::uint8_t>(msg_len);
  return b;
}

Bytes crypt_frm_payload(const Aes128Key& key, Direction dir, const DevAddr& dev_addr,
                        std::uint32_t fcnt, ByteSpan data) {
  return crypt_frm_payload(KeySchedule(key), dir, dev_addr, fcnt, data);
}

Bytes crypt_frm_payload(const KeyRef& key, Direction dir, const DevAddr& dev_addr,
                        std::uint32_t fcnt, ByteSpan data) {
  const std::size_t blocks = (data.size() + 15) / 16;
  if (blocks > 255) {
    throw Error(
        "FRMPayload: at most 4080 bytes can be encrypted (block counter is one byte), "
        "got " +
        std::to_string(data.size()));
  }
  Block a{};
  a[0] = kCryptTag;
  a[5] = static_cast<std::uint8_t>(dir);
  put_dev_addr(a, 6, dev_addr);
  put_le32(a, 10, fcnt);
  Bytes out(data.begin(), data.end());
  for (std::size_t i = 0; i < blocks; ++i) {
    a[15] = static_cast<std::uint8_t>(i + 1);
    const Block s = key.encrypt(a);
    for (std::size_t j = 0; j < 16 && i * 16 + j < out.size(); ++j) out[i * 16 + j] ^= s[j];
  }
  return out;
}

FOptsCounter fopts_counter_of(Direction dir, std::optional<std::uint8_t> fport) {
  if (dir == Direction::downlink && fport && *fport > 0) return FOptsCounter::afcnt_down;
  return FOptsCounter::fcnt_up_or_nfcnt_down;
}

Bytes crypt_fopts_1_1(const Aes128Key& nwk_s_enc_key, Direction dir, FOptsCounter counter,
                      const DevAddr& dev_addr, std::uint32_t fcnt, ByteSpan fopts) {
  return crypt_fopts_1_1(KeySchedule(nwk_s_enc_key), dir, counter, dev_addr, fcnt, fopts);
}

Bytes crypt_fopts_1_1(const KeyRef& nwk_s_enc_key, Direction dir, FOptsCounter counter,
                      const DevAddr& dev_addr, std::uint32_t fcnt, ByteSpan fopts) {
  if (fopts.size() > kMaxFOptsSize) {
    throw Error("FOpts: expected at most 15 bytes (FOptsLen is 4 bits), got " +
                std::to_string(fopts.size()));
  }
  Bytes out(fopts.begin(), fopts.end());
  if (out.empty()) return out;
  Block a{};
  a[0] = kCryptTag;
  a[4] = static_cast<std::uint8_t>(counter);
  a[5] = static_cast<std::uint8_t>(dir);
  put_dev_addr(a, 6, dev_addr);
  put_le32(a, 10, fcnt);
  a[15] = 0x01;
  const Block s = nwk_s_enc_key.encrypt(a);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] ^= s[i];
  return out;
}

// ---------------------------------------------------------------------------------------------
// Frame-level MIC and decryption.

Mic compute_data_mic(const DataFrame& frame, const NetworkSessionKeys& keys,
                     const MicContext& ctx) {
  const KeyValues refs(keys, std::nullopt);
  return data_mic(frame, refs.refs, ctx);
}

bool verify_uplink_mic(const DataFrame& frame, const NetworkSessionKeys& keys,
                       const MicContext& ctx) {
  require_direction(frame, Direction::uplink, "verify_uplink_mic");
  return compute_data_mic(frame, keys, ctx) == frame.mic;
}

bool verify_downlink_mic(const DataFrame& frame, const NetworkSessionKeys& keys,
                         const MicContext& ctx) {
  require_direction(frame, Direction::downlink, "verify_downlink_mic");
  return compute_data_mic(frame, keys, ctx) == frame.mic;
}

Bytes decrypt_frm_payload(const DataFrame& frame, std::uint32_t fcnt,
                          const NetworkSessionKeys& keys,
                          const std::optional<Aes128Key>& app_s_key) {
  check_fcnt(frame.fcnt, fcnt);
  if (!frame.fport || frame.frm_payload.empty()) return {};
  const KeyValues refs(keys, app_s_key);
  return crypt_frm_payload(payload_key(*frame.fport, refs.refs), frame.direction(),
                           frame.dev_addr, fcnt, frame.frm_payload);
}

Bytes decrypt_fopts(const DataFrame& frame, std::uint32_t fcnt, const NetworkSessionKeys& keys) {
  check_fcnt(frame.fcnt, fcnt);
  if (!keys.lorawan_1_1) return frame.fopts;
  const Direction dir = frame.direction();
  return crypt_fopts_1_1(keys.nwk_s_enc_key, dir, fopts_counter_of(dir, frame.fport),
                         frame.dev_addr, fcnt, frame.fopts);
}

DataFrame build_uplink(const DataParams& params, const NetworkSessionKeys& keys,
                       const std::optional<Aes128Key>& app_s_key) {
  const KeyValues refs(keys, app_s_key);
  return build(Direction::uplink, params, refs.refs);
}

DataFrame build_downlink(const DataParams& params, const NetworkSessionKeys& keys,
                         const std::optional<Aes128Key>& app_s_key) {
  const KeyValues refs(keys, app_s_key);
  return build(Direction::downlink, params, refs.refs);
}

Mic compute_data_mic(const DataFrame& frame, const SessionKeyRefs& keys, const MicContext& ctx) {
  if (keys.f_nwk_s_int_key == nullptr || keys.s_nwk_s_int_key == nullptr) {
    throw Error("compute_data_mic: the network session keys are missing");
  }
  return data_mic(frame, keys, ctx);
}

DataFrame build_uplink(const DataParams& params, const SessionKeyRefs& keys) {
  if (keys.f_nwk_s_int_key == nullptr || keys.s_nwk_s_int_key == nullptr ||
      keys.nwk_s_enc_key == nullptr) {
    throw Error("build_uplink: the network session keys are missing");
  }
  return build(Direction::uplink, params, keys);
}

}  // namespace joincheck::lorawan
