#include "lorawan/join_frames.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace joincheck::lorawan {
namespace {

std::string sizes_error(std::string_view what, std::size_t seen, std::string_view expected) {
  return std::string(what) + ": expected " + std::string(expected) + ", got " +
         std::to_string(seen) + " bytes";
}

void expect_mtype(ByteSpan phy, MType expected, std::string_view what) {
  const MType seen = frame_mtype(phy, what);
  if (seen != expected) {
    throw Error(std::string(what) + ": expected MType " + std::string(to_string(expected)) +
                " (MHDR 0x" + to_hex(std::array{mhdr_of(expected)}) + "), got " +
                std::string(to_string(seen)) + " (MHDR 0x" + to_hex(phy.first(1)) + ")");
  }
  if ((phy[0] & 0x03) != 0) {
    throw Error(std::string(what) + ": MHDR major version bits must be 00 (LoRaWAN R1), got MHDR 0x" +
                to_hex(phy.first(1)));
  }
}

// A MIC's input on the stack: the messages are at most 40 bytes, and a MIC is computed on every
// join. Has what append_wire needs of a container.
class MicInput {
 public:
  std::uint8_t* end() { return bytes_.data() + size_; }
  void push_back(std::uint8_t b) { bytes_.at(size_++) = b; }
  template <class It>
  void insert(std::uint8_t* at, It first, It last) {
    if (at != end()) throw std::logic_error("MicInput: appends only");
    for (; first != last; ++first) push_back(*first);
  }
  ByteSpan span() const { return ByteSpan(bytes_.data(), size_); }

 private:
  std::array<std::uint8_t, 48> bytes_{};
  std::size_t size_ = 0;
};

// The join-accept fields covered by every MIC, MHDR first.
template <class Out>
void append_accept_fields(Out& out, const JoinAccept& a) {
  out.push_back(mhdr_of(MType::join_accept));
  a.join_nonce.append_wire(out);
  a.net_id.append_wire(out);
  a.dev_addr.append_wire(out);
  out.push_back(a.dl_settings.raw);
  out.push_back(a.rx_delay);
  if (a.cf_list) a.cf_list->append_wire(out);
}

}  // namespace

MType frame_mtype(ByteSpan phy, std::string_view field) {
  if (phy.empty()) throw Error(std::string(field) + ": empty frame, expected at least the MHDR byte");
  return mtype_of(phy[0]);
}

// ---- join-request ----

JoinRequest parse_join_request(ByteSpan phy) {
  expect_mtype(phy, MType::join_request, "join-request");
  if (phy.size() != kJoinRequestSize) {
    throw Error(sizes_error("join-request", phy.size(), "23 bytes (MHDR JoinEUI DevEUI DevNonce MIC)"));
  }
  JoinRequest r;
  r.join_eui = Eui64::from_wire(phy.subspan(1, 8));
  r.dev_eui = Eui64::from_wire(phy.subspan(9, 8));
  r.dev_nonce = DevNonce::from_wire(phy.subspan(17, 2));
  r.mic = Mic::from_wire(phy.subspan(19, 4));
  return r;
}

Bytes encode_join_request(const JoinRequest& r) {
  Bytes out;
  out.reserve(kJoinRequestSize);
  out.push_back(mhdr_of(MType::join_request));
  r.join_eui.append_wire(out);
  r.dev_eui.append_wire(out);
  r.dev_nonce.append_wire(out);
  r.mic.append_wire(out);
  return out;
}

Mic join_request_mic(const KeyRef& key, const JoinRequest& r) {
  MicInput in;  // MHDR|JoinEUI|DevEUI|DevNonce
  in.push_back(mhdr_of(MType::join_request));
  r.join_eui.append_wire(in);
  r.dev_eui.append_wire(in);
  r.dev_nonce.append_wire(in);
  return mic_of(key.cmac(in.span()));
}

Mic join_request_mic(const Aes128Key& key, const JoinRequest& r) {
  return join_request_mic(KeySchedule(key), r);
}

Bytes build_join_request(const KeyRef& key, JoinRequest r) {
  r.mic = join_request_mic(key, r);
  return encode_join_request(r);
}

Bytes build_join_request(const Aes128Key& key, JoinRequest r) {
  return build_join_request(KeySchedule(key), r);
}

// ---- rejoin-request ----

RejoinRequest parse_rejoin_request(ByteSpan phy) {
  expect_mtype(phy, MType::rejoin_request, "rejoin-request");
  if (phy.size() < 2) throw Error(sizes_error("rejoin-request", phy.size(), "19 or 24 bytes"));
  RejoinRequest r;
  switch (phy[1]) {
    case 0:
    case 2:
      r.type = static_cast<RejoinType>(phy[1]);
      if (phy.size() != kRejoin02Size) {
        throw Error(sizes_error("rejoin-request type " + std::to_string(phy[1]), phy.size(),
                                "19 bytes (MHDR type NetID DevEUI RJcount0 MIC)"));
      }
      r.net_id = NetId::from_wire(phy.subspan(2, 3));
      r.dev_eui = Eui64::from_wire(phy.subspan(5, 8));
      r.rj_count = DevNonce::from_wire(phy.subspan(13, 2));
      r.mic = Mic::from_wire(phy.subspan(15, 4));
      return r;
    case 1:
      r.type = RejoinType::type1;
      if (phy.size() != kRejoin1Size) {
        throw Error(sizes_error("rejoin-request type 1", phy.size(),
                                "24 bytes (MHDR type JoinEUI DevEUI RJcount1 MIC)"));
      }
      r.join_eui = Eui64::from_wire(phy.subspan(2, 8));
      r.dev_eui = Eui64::from_wire(phy.subspan(10, 8));
      r.rj_count = DevNonce::from_wire(phy.subspan(18, 2));
      r.mic = Mic::from_wire(phy.subspan(20, 4));
      return r;
    default:
      throw Error("rejoin-request: expected rejoin type 0, 1 or 2, got " + std::to_string(phy[1]));
  }
}

Bytes encode_rejoin_request(const RejoinRequest& r) {
  Bytes out;
  out.reserve(kRejoin1Size);
  out.push_back(mhdr_of(MType::rejoin_request));
  out.push_back(static_cast<std::uint8_t>(r.type));
  if (r.type == RejoinType::type1) {
    r.join_eui.append_wire(out);
  } else {
    r.net_id.append_wire(out);
  }
  r.dev_eui.append_wire(out);
  r.rj_count.append_wire(out);
  r.mic.append_wire(out);
  return out;
}

Mic rejoin_request_mic(const KeyRef& key, const RejoinRequest& r) {
  const Bytes frame = encode_rejoin_request(r);
  return mic_of(key.cmac(ByteSpan(frame).first(frame.size() - 4)));
}

Mic rejoin_request_mic(const Aes128Key& key, const RejoinRequest& r) {
  return rejoin_request_mic(KeySchedule(key), r);
}

Bytes build_rejoin_request(const KeyRef& key, RejoinRequest r) {
  r.mic = rejoin_request_mic(key, r);
  return encode_rejoin_request(r);
}

Bytes build_rejoin_request(const Aes128Key& key, RejoinRequest r) {
  return build_rejoin_request(KeySchedule(key), r);
}

JoinReqType join_req_type_of(RejoinType type) {
  switch (type) {
    case RejoinType::type0: return JoinReqType::rejoin0;
    case RejoinType::type1: return JoinReqType::rejoin1;
    case RejoinType::type2: return JoinReqType::rejoin2;
  }
  return JoinReqType::join;
}

// ---- join-accept ----

Bytes encode_join_accept_plaintext(const JoinAccept& a) {
  Bytes out;
  out.reserve(kJoinAcceptCfListSize);
  append_accept_fields(out, a);
  a.mic.append_wire(out);
  return out;
}

JoinAccept parse_join_accept_plaintext(ByteSpan p) {
  expect_mtype(p, MType::join_accept, "join-accept");
  if (p.size() != kJoinAcceptSize && p.size() != kJoinAcceptCfListSize) {
    throw Error(sizes_error("join-accept", p.size(), "17 bytes, or 33 with a CFList"));
  }
  JoinAccept a;
  a.join_nonce = JoinNonce::from_wire(p.subspan(1, 3));
  a.net_id = NetId::from_wire(p.subspan(4, 3));
  a.dev_addr = DevAddr::from_wire(p.subspan(7, 4));
  a.dl_settings.raw = p[11];
  a.rx_delay = p[12];
  if (p.size() == kJoinAcceptCfListSize) a.cf_list = CfList::from_wire(p.subspan(13, 16));
  a.mic = Mic::from_wire(p.last(4));
  return a;
}

Mic join_accept_mic_1_0(const KeyRef& key, const JoinAccept& a) {
  MicInput fields;
  append_accept_fields(fields, a);
  return mic_of(key.cmac(fields.span()));
}

Mic join_accept_mic_1_0(const Aes128Key& key, const JoinAccept& a) {
  return join_accept_mic_1_0(KeySchedule(key), a);
}

Mic join_accept_mic_1_1(const KeyRef& js_int_key, JoinReqType type, const Eui64& join_eui,
                        DevNonce dev_nonce, const JoinAccept& a) {
  MicInput data;
  data.push_back(static_cast<std::uint8_t>(type));
  join_eui.append_wire(data);
  dev_nonce.append_wire(data);
  append_accept_fields(data, a);
  return mic_of(js_int_key.cmac(data.span()));
}

Mic join_accept_mic_1_1(const Aes128Key& js_int_key, JoinReqType type, const Eui64& join_eui,
                        DevNonce dev_nonce, const JoinAccept& a) {
  return join_accept_mic_1_1(KeySchedule(js_int_key), type, join_eui, dev_nonce, a);
}

namespace {
void check_accept_size(ByteSpan frame, std::string_view what) {
  expect_mtype(frame, MType::join_accept, what);
  if (frame.size() != kJoinAcceptSize && frame.size() != kJoinAcceptCfListSize) {
    throw Error(sizes_error(what, frame.size(), "17 bytes, or 33 with a CFList"));
  }
}
}  // namespace

Bytes encrypt_join_accept(ByteSpan plaintext, const KeySchedule& key) {
  check_accept_size(plaintext, "join-accept");
  Bytes out(plaintext.begin(), plaintext.end());
  key.decrypt_blocks(plaintext.subspan(1), std::span(out).subspan(1));
  return out;
}

Bytes encrypt_join_accept(ByteSpan plaintext, const Aes128Key& key) {
  return encrypt_join_accept(plaintext, KeySchedule(key));
}

Bytes decrypt_join_accept(ByteSpan phy, const KeyRef& key) {
  check_accept_size(phy, "join-accept");
  Bytes out(phy.begin(), phy.end());
  // The blocks are independent (ECB): one encrypt_blocks call for all.
  key.encrypt_blocks(phy.subspan(1), std::span(out).subspan(1));
  return out;
}

Bytes decrypt_join_accept(ByteSpan phy, const Aes128Key& key) {
  return decrypt_join_accept(phy, KeySchedule(key));
}

}  // namespace joincheck::lorawan
