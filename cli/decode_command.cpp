// `joincheck decode`: the command an operator pastes a frame into when a join fails.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "lorawan/frame_decoder.hpp"

namespace joincheck::cli {
namespace {

using namespace joincheck::lorawan;

struct DecodeOptions {
  std::string frame;
  std::string app_key, nwk_key, s_nwk_s_int_key, dev_eui, join_eui, dev_nonce, join_req_type,
      join_request;
  bool json = false;
};

template <class T>
std::optional<T> parse_opt(const std::string& text, std::string_view option) {
  if (text.empty()) return std::nullopt;
  return T::parse(strip_hex_prefix(text), option);
}

DecodeInputs to_inputs(const DecodeOptions& o) {
  DecodeInputs in;
  in.app_key = parse_opt<Aes128Key>(o.app_key, "--app-key");
  in.nwk_key = parse_opt<Aes128Key>(o.nwk_key, "--nwk-key");
  in.s_nwk_s_int_key = parse_opt<Aes128Key>(o.s_nwk_s_int_key, "--s-nwk-s-int-key");
  in.dev_eui = parse_opt<Eui64>(o.dev_eui, "--dev-eui");
  in.join_eui = parse_opt<Eui64>(o.join_eui, "--join-eui");
  in.dev_nonce = parse_opt<DevNonce>(o.dev_nonce, "--dev-nonce");
  if (!o.join_req_type.empty()) {
    in.join_req_type = parse_join_req_type(o.join_req_type);
    if (!in.join_req_type) {
      throw Error("--join-req-type: expected ff (join-request), 00, 01 or 02 (rejoin types), got " +
                  quote_for_error(o.join_req_type));
    }
  }
  if (!o.join_request.empty()) {
    // Take JoinEUI, DevEUI and DevNonce from the join-request (or rejoin-request) answered.
    const Bytes req = parse_frame_text(o.join_request);
    const MType t = frame_mtype(req, "--join-request");
    auto take = [](auto& slot, const auto& value, const char* name) {
      if (slot && *slot != value) {
        throw Error(std::string("--join-request: its ") + name + " " + value.hex() +
                    " contradicts the one given (" + slot->hex() + ")");
      }
      slot = value;
    };
    if (t == MType::rejoin_request) {
      const RejoinRequest r = parse_rejoin_request(req);
      take(in.dev_eui, r.dev_eui, "DevEUI");
      take(in.dev_nonce, r.rj_count, "RJcount");
      if (r.type == RejoinType::type1) take(in.join_eui, r.join_eui, "JoinEUI");
      const JoinReqType answered = join_req_type_of(r.type);
      if (in.join_req_type && *in.join_req_type != answered) {
        throw Error("--join-request: a rejoin-request type " + std::to_string(static_cast<int>(r.type)) +
                    " is answered with JoinReqType " + std::string(to_string(answered)) +
                    ", which contradicts --join-req-type " + std::string(to_string(*in.join_req_type)));
      }
      in.join_req_type = answered;
    } else {
      if (in.join_req_type && *in.join_req_type != JoinReqType::join) {
        throw Error("--join-request: a join-request is answered with JoinReqType ff, which "
                    "contradicts --join-req-type " + std::string(to_string(*in.join_req_type)));
      }
      const JoinRequest r = parse_join_request(req);
      take(in.dev_eui, r.dev_eui, "DevEUI");
      take(in.join_eui, r.join_eui, "JoinEUI");
      take(in.dev_nonce, r.dev_nonce, "DevNonce");
    }
  }
  return in;
}

std::string dl_settings_text(DlSettings dl) {
  return "OptNeg " + std::to_string(dl.opt_neg() ? 1 : 0) + ", RX1DROffset " +
         std::to_string(dl.rx1_dr_offset()) + ", RX2DataRate " + std::to_string(dl.rx2_data_rate());
}

// Session and lifetime keys, under the field names of TS002 and the LoRaWAN specification.
std::vector<std::pair<std::string, std::string>> key_fields(const DecodedFrame& d) {
  std::vector<std::pair<std::string, std::string>> out;
  if (const auto* a = std::get_if<DecodedJoinAccept>(&d.frame); a && a->opened.keys) {
    const SessionKeys& k = *a->opened.keys;
    if (a->opened.mode == JoinMode::lorawan_1_1) {
      out.emplace_back("FNwkSIntKey", k.f_nwk_s_int_key.hex());
      out.emplace_back("SNwkSIntKey", k.s_nwk_s_int_key.hex());
      out.emplace_back("NwkSEncKey", k.nwk_s_enc_key.hex());
    } else {
      out.emplace_back("NwkSKey", k.nwk_s_key().hex());
    }
    if (a->opened.app_s_key_derived) out.emplace_back("AppSKey", k.app_s_key.hex());
  }
  if (d.js_keys) {
    out.emplace_back("JSIntKey", d.js_keys->js_int_key.hex());
    out.emplace_back("JSEncKey", d.js_keys->js_enc_key.hex());
  }
  return out;
}

nlohmann::ordered_json to_json(const DecodedFrame& d) {
  nlohmann::ordered_json j;
  j["MType"] = to_string(d.mtype);
  j["PHYPayload"] = to_hex(d.phy_payload);
  if (const auto* r = std::get_if<DecodedJoinRequest>(&d.frame)) {
    j["JoinEUI"] = r->request.join_eui.hex();
    j["DevEUI"] = r->request.dev_eui.hex();
    j["DevNonce"] = r->request.dev_nonce.hex();
    j["MIC"] = r->request.mic.hex();
  } else if (const auto* rj = std::get_if<DecodedRejoinRequest>(&d.frame)) {
    const RejoinRequest& rr = rj->request;
    j["RejoinType"] = static_cast<int>(rr.type);
    if (rr.type == RejoinType::type1) {
      j["JoinEUI"] = rr.join_eui.hex();
    } else {
      j["NetID"] = rr.net_id.hex();
    }
    j["DevEUI"] = rr.dev_eui.hex();
    j[rr.type == RejoinType::type1 ? "RJcount1" : "RJcount0"] = rr.rj_count.hex();
    j["MIC"] = rr.mic.hex();
  } else {
    const auto& a = std::get<DecodedJoinAccept>(d.frame);
    const JoinAccept& acc = a.opened.accept;
    j["JoinReqType"] = to_string(a.join_req_type);
    j["Plaintext"] = to_hex(a.opened.plaintext);
    j["JoinNonce"] = acc.join_nonce.hex();
    j["NetID"] = acc.net_id.hex();
    j["DevAddr"] = acc.dev_addr.hex();
    j["DLSettings"] = to_hex(std::array{acc.dl_settings.raw});
    j["OptNeg"] = acc.dl_settings.opt_neg();
    j["RX1DROffset"] = acc.dl_settings.rx1_dr_offset();
    j["RX2DataRate"] = acc.dl_settings.rx2_data_rate();
    j["RxDelay"] = acc.rx_delay;
    if (acc.cf_list) {
      j["CFList"] = acc.cf_list->hex();
    } else {
      j["CFList"] = nullptr;
    }
    j["MIC"] = acc.mic.hex();
    j["JoinMode"] = to_string(a.opened.mode);
  }
  if (d.mic_valid) {
    j["MICValid"] = *d.mic_valid;
  } else {
    j["MICValid"] = nullptr;
  }
  if (d.expected_mic && d.mic_valid == false) j["ExpectedMIC"] = d.expected_mic->hex();
  for (const auto& [name, value] : key_fields(d)) j[name] = value;
  j["Notes"] = d.notes;
  return j;
}

void print_text(const DecodedFrame& d, std::ostream& os) {
  auto row = [&os](std::string_view name, const std::string& value) {
    os << "  " << name << std::string(name.size() < 13 ? 13 - name.size() : 1, ' ') << value << "\n";
  };
  auto mic_text = [&d](const Mic& mic) {
    if (!d.mic_valid) return mic.hex() + "  (not checked)";
    if (*d.mic_valid) return mic.hex() + "  valid";
    return mic.hex() + "  INVALID (expected " + d.expected_mic->hex() + " with the key given)";
  };
  os << to_string(d.mtype) << ", " << d.phy_payload.size() << " bytes\n";
  if (const auto* r = std::get_if<DecodedJoinRequest>(&d.frame)) {
    row("JoinEUI", r->request.join_eui.hex());
    row("DevEUI", r->request.dev_eui.hex());
    row("DevNonce", r->request.dev_nonce.hex() + " (" + std::to_string(r->request.dev_nonce.value()) + ")");
    row("MIC", mic_text(r->request.mic));
  } else if (const auto* rj = std::get_if<DecodedRejoinRequest>(&d.frame)) {
    const RejoinRequest& rr = rj->request;
    row("RejoinType", std::to_string(static_cast<int>(rr.type)));
    if (rr.type == RejoinType::type1) {
      row("JoinEUI", rr.join_eui.hex());
    } else {
      row("NetID", rr.net_id.hex());
    }
    row("DevEUI", rr.dev_eui.hex());
    row(rr.type == RejoinType::type1 ? "RJcount1" : "RJcount0",
        rr.rj_count.hex() + " (" + std::to_string(rr.rj_count.value()) + ")");
    row("MIC", mic_text(rr.mic));
  } else {
    const auto& a = std::get<DecodedJoinAccept>(d.frame);
    const JoinAccept& acc = a.opened.accept;
    row("Decrypted", to_hex(a.opened.plaintext));
    row("Mode", std::string(to_string(a.opened.mode)) + ", JoinReqType " +
                    std::string(to_string(a.join_req_type)));
    row("JoinNonce", acc.join_nonce.hex() + " (" + std::to_string(acc.join_nonce.value()) + ")");
    row("NetID", acc.net_id.hex());
    row("DevAddr", acc.dev_addr.hex());
    row("DLSettings", to_hex(std::array{acc.dl_settings.raw}) + " (" + dl_settings_text(acc.dl_settings) + ")");
    row("RxDelay", std::to_string(acc.rx_delay) + " (" +
                       std::to_string((acc.rx_delay & 0x0f) == 0 ? 1 : (acc.rx_delay & 0x0f)) + " s)");
    row("CFList", acc.cf_list ? acc.cf_list->hex() + " (" + describe_cf_list(*acc.cf_list) + ")" : "none");
    row("MIC", mic_text(acc.mic));
  }
  for (const auto& [name, value] : key_fields(d)) row(name, value);
  for (const auto& note : d.notes) os << "  note: " << note << "\n";
}

}  // namespace

std::function<int()> add_decode_command(CLI::App& app) {
  auto opts = std::make_shared<DecodeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "decode",
      "Decode a join-request, rejoin-request or join-accept (hex or base64): decrypt, check the "
      "MIC, derive the session keys");
  cmd->add_option("frame", opts->frame, "PHYPayload as hex or base64")->required();
  cmd->add_option("--app-key", opts->app_key, "AppKey (LoRaWAN 1.0.x root key; 1.1 AppKey)");
  cmd->add_option("--nwk-key", opts->nwk_key, "NwkKey: the device is LoRaWAN 1.1");
  cmd->add_option("--s-nwk-s-int-key", opts->s_nwk_s_int_key,
                  "SNwkSIntKey, to check a rejoin-request type 0/2 MIC");
  cmd->add_option("--dev-eui", opts->dev_eui, "DevEUI (MSB first)");
  cmd->add_option("--join-eui", opts->join_eui, "JoinEUI / AppEUI (MSB first)");
  cmd->add_option("--dev-nonce", opts->dev_nonce, "DevNonce (or RJcount) of the request answered, 4 hex digits MSB first");
  cmd->add_option("--join-req-type", opts->join_req_type,
                  "ff: the join-accept answers a join-request (default); 00/01/02: a rejoin-request");
  cmd->add_option("--join-request", opts->join_request,
                  "the join-request (or rejoin-request) the join-accept answers: supplies JoinEUI, DevEUI and DevNonce");
  cmd->add_flag("--json", opts->json, "print one JSON object");
  return [opts]() -> int {
    try {
      const DecodeInputs in = to_inputs(*opts);
      const DecodedFrame d = decode_frame(parse_frame_text(opts->frame), in);
      if (opts->json) {
        std::cout << to_json(d).dump(2) << "\n";
      } else {
        print_text(d, std::cout);
      }
      return kExitOk;
    } catch (const Error& e) {
      std::cerr << "joincheck decode: " << e.what() << "\n";
      return kExitUsage;
    }
  };
}

}  // namespace joincheck::cli
