#include "lorawan/frame_decoder.hpp"

#include <cstdio>

namespace joincheck::lorawan {

Bytes parse_frame_text(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != ':' && c != '\t' && c != '\n' && c != '\r') compact.push_back(c);
  }
  std::string_view t = compact;
  if (t.empty()) throw Error("frame: expected hex or base64 bytes, got an empty string");
  const bool prefixed = strip_hex_prefix(t).size() != t.size();
  t = strip_hex_prefix(t);
  if (is_hex(t) && (t.size() % 2 == 0 || prefixed)) return from_hex(t, "frame");
  if (prefixed) return from_hex(t, "frame");
  try {
    return from_base64(t, "frame");
  } catch (const Error&) {
    if (is_hex(t)) return from_hex(t, "frame");  // odd-length hex: say so in hex terms
    throw Error("frame: expected hex (e.g. 00010203...) or base64 (e.g. AAEC...), got " +
                quote_for_error(text));
  }
}

namespace {

DecodedFrame decode_join_request(ByteSpan phy, const DecodeInputs& in, DecodedFrame out) {
  const JoinRequest r = parse_join_request(phy);
  const std::optional<Aes128Key>& key = in.nwk_key ? in.nwk_key : in.app_key;
  if (key) {
    out.expected_mic = join_request_mic(*key, r);
    out.mic_valid = *out.expected_mic == r.mic;
  } else {
    out.notes.push_back("MIC not checked: give --app-key (LoRaWAN 1.0.x) or --nwk-key (1.1)");
  }
  if (in.dev_eui && *in.dev_eui != r.dev_eui) {
    out.notes.push_back("the DevEUI given (" + in.dev_eui->hex() + ") is not the frame's (" +
                        r.dev_eui.hex() + ")");
  }
  if (in.join_eui && *in.join_eui != r.join_eui) {
    out.notes.push_back("the JoinEUI given (" + in.join_eui->hex() + ") is not the frame's (" +
                        r.join_eui.hex() + ")");
  }
  if (in.nwk_key) out.js_keys = derive_js_keys(*in.nwk_key, r.dev_eui);
  out.frame = DecodedJoinRequest{r};
  return out;
}

DecodedFrame decode_rejoin_request(ByteSpan phy, const DecodeInputs& in, DecodedFrame out) {
  const RejoinRequest r = parse_rejoin_request(phy);
  if (in.nwk_key) out.js_keys = derive_js_keys(*in.nwk_key, r.dev_eui);
  if (r.type == RejoinType::type1) {
    if (out.js_keys) {
      out.expected_mic = rejoin_request_mic(out.js_keys->js_int_key, r);
      out.mic_valid = *out.expected_mic == r.mic;
    } else {
      out.notes.push_back("MIC not checked: a type 1 rejoin-request is MIC'd with JSIntKey; give --nwk-key");
    }
  } else if (in.s_nwk_s_int_key) {
    out.expected_mic = rejoin_request_mic(*in.s_nwk_s_int_key, r);
    out.mic_valid = *out.expected_mic == r.mic;
  } else {
    out.notes.push_back("MIC not checked: a type 0/2 rejoin-request is MIC'd with the session key "
                        "SNwkSIntKey; give --s-nwk-s-int-key");
  }
  out.frame = DecodedRejoinRequest{r};
  return out;
}

DecodedFrame decode_join_accept(ByteSpan phy, const DecodeInputs& in, DecodedFrame out) {
  if (phy.size() != kJoinAcceptSize && phy.size() != kJoinAcceptCfListSize) {
    throw Error("join-accept: expected 17 bytes, or 33 with a CFList, got " +
                std::to_string(phy.size()) + " bytes");
  }
  if (!in.app_key && !in.nwk_key) {
    throw Error("join-accept: the frame is encrypted; give --app-key (LoRaWAN 1.0.x device) or "
                "--nwk-key (1.1 device) to decrypt it");
  }
  OpenJoinAcceptInput o;
  o.device_1_1 = in.nwk_key.has_value();
  o.keys = RootKeys{in.app_key, in.nwk_key};
  o.type = in.join_req_type.value_or(JoinReqType::join);
  o.join_eui = in.join_eui;
  o.dev_eui = in.dev_eui;
  o.dev_nonce = in.dev_nonce;
  DecodedJoinAccept d{open_join_accept(phy, o), o.type};
  out.mic_valid = d.opened.mic_valid;
  out.expected_mic = d.opened.expected_mic;
  out.js_keys = d.opened.js_keys;
  if (!d.opened.mic_note.empty()) out.notes.push_back("MIC not checked: " + d.opened.mic_note);
  if (!d.opened.keys_note.empty()) out.notes.push_back(d.opened.keys_note);
  if (!o.device_1_1 && d.opened.accept.dl_settings.opt_neg()) {
    out.notes.push_back("DLSettings has the OptNeg bit set, which a LoRaWAN 1.0.x device treats "
                        "as RFU; if the device is 1.1, give --nwk-key instead of --app-key");
  }
  if (out.mic_valid == false) {
    out.notes.push_back(
        "MIC invalid: wrong key, a frame that is not what it seems, or (1.1) a JoinReqType, "
        "JoinEUI or DevNonce other than the device used; the decrypted fields are then garbage");
  }
  out.frame = std::move(d);
  return out;
}

}  // namespace

DecodedFrame decode_frame(ByteSpan phy, const DecodeInputs& in) {
  DecodedFrame out;
  out.phy_payload.assign(phy.begin(), phy.end());
  out.mtype = frame_mtype(phy, "frame");
  switch (out.mtype) {
    case MType::join_request: return decode_join_request(phy, in, std::move(out));
    case MType::rejoin_request: return decode_rejoin_request(phy, in, std::move(out));
    case MType::join_accept: return decode_join_accept(phy, in, std::move(out));
    default:
      throw Error("frame: MHDR 0x" + to_hex(phy.first(1)) + " is MType " +
                  std::string(to_string(out.mtype)) +
                  "; decode takes a join-request (MHDR 0x00), rejoin-request (0xc0) or "
                  "join-accept (0x20)");
  }
}

std::string describe_cf_list(const CfList& cf) {
  const auto& b = cf.bytes();
  const std::uint8_t type = b[15];
  std::string out = "type " + std::to_string(type);
  if (type == 0) {
    out += ": ";
    bool any = false;
    for (int i = 0; i < 5; ++i) {
      const std::uint32_t f = (std::uint32_t{b[3 * i]} | std::uint32_t{b[3 * i + 1]} << 8 |
                               std::uint32_t{b[3 * i + 2]} << 16) * 100u;
      if (f == 0) continue;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.7g MHz", any ? ", " : "", f / 1e6);
      out += buf;
      any = true;
    }
    if (!any) out += "no extra channels";
  } else if (type == 1) {
    out += ": channel mask " + to_hex(ByteSpan(b).first(10));
  } else {
    out += " (unknown CFListType)";
  }
  return out;
}

}  // namespace joincheck::lorawan
