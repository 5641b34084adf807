#include "conformance/doctor_probe.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <nlohmann/json.hpp>
#include <random>

#include "backend/codec.hpp"
#include "backend/json_duplicates.hpp"
#include "backend/key_envelope.hpp"
#include "lorawan/hex.hpp"
#include "lorawan/join_frames.hpp"
#include "sim/join_server/join_server.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::conformance {

namespace {

std::string status_text(int status) {
  return std::to_string(status) + (status >= 500 ? " (server error)" : status >= 400 ? " (client error)" : "");
}

// A Success body as ChirpStack reads it: MessageType is not required (v4's BasePayload is
// #[serde(default)], v3's encoding/json ignores what is missing), so a body without one is read
// as a JoinAns.
std::optional<backend::JoinAns> read_join_ans(const std::string& body, std::string& error) {
  try {
    // A body that is no JSON object within a message's limits goes to the codec as it is, which
    // says what is wrong with it.
    std::optional<nlohmann::json> j = backend::parse_peer_json(body);
    const bool typeless = j && j->is_object() && !j->contains("MessageType");
    if (typeless) (*j)["MessageType"] = "JoinAns";
    backend::Decoded d = backend::decode(typeless ? j->dump() : body, backend::DecodeMode::observing);
    if (auto* ans = std::get_if<backend::JoinAns>(&d.message)) return *ans;
    error = "an answer of type " + std::string(backend::to_string(backend::message_type_of(d.message)));
  } catch (const std::exception& e) {
    error = e.what();
  }
  return std::nullopt;
}

}  // namespace

ChirpStackJudgement judge_join_ans_as_chirpstack(ChirpStackVersion version, int http_status, const std::string& body,
                                                 const std::vector<CsKek>& keks, const std::string& kek_setting) {
  const bool v4 = version == ChirpStackVersion::v4;
  ChirpStackJudgement j;
  std::string error;
  const std::optional<backend::JoinAns> ans = read_join_ans(body, error);
  if (ans && ans->result) {
    j.result_code = std::string(backend::to_string(ans->result->code));
    j.description = lorawan::peer_text(ans->result->description.value_or(""));  // the JS's text, cut
  }
  if (v4 && http_status >= 400) {
    // reqwest's error_for_status() (chirpstack/chirpstack backend/src/lib.rs _request): the body
    // is never read.
    j.ns_error = "HTTP status " + std::string(http_status >= 500 ? "server" : "client") + " error (" +
                 std::to_string(http_status) + ") for url (…)";
    return j;
  }
  if (!ans) {
    j.ns_error = v4 ? "a JSON error reading the answer (" + error + ")" : "unmarshal response error: " + error;
    return j;
  }
  if (!ans->result || ans->result->code != backend::ResultCode::success) {
    const std::string code = j.result_code.empty() ? "(none)" : j.result_code;
    j.ns_error = v4 ? "Response error, code: " + code + ", description: \"" + j.description + "\""
                    : "response error, code: " + code + ", description: " + j.description;
    return j;
  }
  // Success: the join-accept must decode (v4 "Decode PhyPayload", v3 "unmarshal downlink
  // phypayload error").
  const auto& phy = ans->phy_payload;
  if (!phy || phy->empty() || ((*phy)[0] & 0xe0) != 0x20 ||
      (phy->size() != lorawan::kJoinAcceptSize && phy->size() != lorawan::kJoinAcceptCfListSize)) {
    j.problem = !phy || phy->empty() ? "no PHYPayload"
                                     : "a PHYPayload of " + std::to_string(phy->size()) +
                                           " bytes that is not a join-accept (MHDR 0x20, 17 or 33 bytes)";
    j.ns_error = v4 ? "Decode PhyPayload" : "unmarshal downlink phypayload error";
    j.fix = "fix: the JS must answer Success with the encrypted join-accept in PHYPayload (TS002 1.0 §6.1, Table 5)";
    return j;
  }
  // The network session keys: ChirpStack unwraps them with the KEK of their label and fails the
  // join when it cannot (it leaves AppSKey wrapped for the application server).
  struct Key {
    const std::optional<backend::KeyEnvelope>* env;
    const char* wire;
    const char* rust;
  };
  const std::array<Key, 4> list{{{&ans->nwk_s_key, "NwkSKey", "nwk_s_key"},
                                 {&ans->f_nwk_s_int_key, "FNwkSIntKey", "f_nwk_s_int_key"},
                                 {&ans->s_nwk_s_int_key, "SNwkSIntKey", "s_nwk_s_int_key"},
                                 {&ans->nwk_s_enc_key, "NwkSEncKey", "nwk_s_enc_key"}}};
  for (const Key& k : list) {
    if (!*k.env || (*k.env)->is_clear()) continue;
    const std::string& label = (*k.env)->kek_label;
    const CsKek* kek = nullptr;
    for (const auto& x : keks) {
      if (x.label == label && kek == nullptr) kek = &x;
    }
    if (kek == nullptr) {
      const std::string shown = lorawan::peer_text(label, 128);  // the JS's text
      j.problem = std::string(k.wire) + " is wrapped under KEK label \"" + shown + "\", which the file lacks";
      j.ns_error = v4 ? "Unwrap " + std::string(k.rust) + ": KEK label " + shown + " does not exist"
                      : "unknown kek label: " + shown;
      j.fix = "fix: the JS wraps the session keys with KEK label \"" + shown + "\", which the file lacks; add " +
              (v4 ? "[[keks]]" : "[[join_server.kek.set]]") + " label = \"" + shown + "\" with the KEK the JS uses";
      return j;
    }
    try {
      backend::KekTable table;
      table[label] = lorawan::from_hex(lorawan::strip_hex_prefix(kek->kek_hex), "kek", lorawan::Secrecy::secret);
      (void)(*k.env)->unwrap(table);
    } catch (const std::exception&) {
      j.problem = std::string(k.wire) + " is wrapped under KEK label \"" + label +
                  "\", but the file's KEK of that label does not unwrap it (RFC 3394 integrity check failed)";
      j.ns_error = v4 ? "Unwrap " + std::string(k.rust) + ": <the aes-kw unwrap error>"
                      : "unwrap key error: <the go-aes-key-wrap error>";
      j.fix = "fix: the kek of " + kek->table + " (" + kek_setting + ":" + std::to_string(kek->line) +
              ") is not the KEK the JS uses for label \"" + label +
              "\"; copy the JS's KEK of that label there (the key is not shown)";
      return j;
    }
  }
  j.success = true;
  if (v4) {
    // chirpstack/src/uplink/join.rs keeps the SessionKeyID and the AppSKey envelope as they came;
    // chirpstack/src/uplink/data.rs then decrypts FRMPayload only when the session has neither a
    // SessionKeyID nor an AppSKey under a KEK label.
    if (ans->session_key_id && !ans->session_key_id->empty()) {
      j.end_to_end = "the JoinAns carries SessionKeyID " + lorawan::to_hex(*ans->session_key_id);
    } else if (ans->app_s_key && !ans->app_s_key->is_clear()) {
      j.end_to_end = "the JoinAns wraps AppSKey under KEK label \"" + ans->app_s_key->kek_label + "\"";
    }
  }
  return j;
}

namespace {

// The probe's answer as ChirpStack judges it, into f.
void judge_probe(const ProbeInputs& in, const sim::FleetDevice& device, bool known, ProbeFinding& f) {
  const ChirpStackConfig& c = *in.config;
  const bool v4 = c.version == ChirpStackVersion::v4;
  const std::string cs = v4 ? "ChirpStack v4" : "ChirpStack v3";
  const sim::Exchange& ex = *f.exchange;
  if (ex.http_status == 0) {
    f.verdict = Verdict::fail;
    f.actual = ex.transport_error;
    if (ex.timed_out && v4) {
      f.reason = "ChirpStack v4 waits " + std::to_string(in.ns.timeout.count()) +
                 " ms for the JS's answer (its HTTP client's timeout, chirpstack/chirpstack backend/src/lib.rs) and "
                 "fails the join when none comes. fix: make the JS answer within that time (check " +
                 in.server_setting + " and the JS's logs)";
    } else if (ex.timed_out) {
      f.reason = "ChirpStack v3 sets no timeout on its Join Server client (brocaar/lorawan backend/client.go "
                 "NewClient: an http.Client without Timeout): it would wait for this answer for ever, while the "
                 "device's join-accept windows (5 and 6 s after its join-request) pass; doctor gave up after " +
                 std::to_string(in.ns.timeout.count()) + " ms (--timeout). fix: make the JS answer within a few "
                 "seconds (check " + in.server_setting + " and the JS's logs)";
    } else {
      f.reason = "fix: check " + in.server_setting + " (URL and path) and the JS's logs";
    }
    return;
  }
  const ChirpStackJudgement j = judge_join_ans_as_chirpstack(c.version, ex.http_status, ex.http_body, c.keks,
                                                             c.file.string());
  const std::string code = j.result_code.empty() ? "no Result" : j.result_code;
  f.actual = code + (j.description.empty() ? "" : " (" + j.description + ")") +
             (ex.http_status != 200 ? ", HTTP " + status_text(ex.http_status) : "");
  f.verdict = Verdict::fail;
  const auto logs = [&] { return cs + " logs: " + j.ns_error; };
  if (j.success) {
    f.verdict = known ? Verdict::pass : Verdict::fail;
    if (!known) f.reason = "the JS answered Success for a DevEUI that should not exist: it does not check DevEUIs";
    if (known && !j.end_to_end.empty()) {
      f.reason = cs + " will treat device " + device.dev_eui.hex() + " as end-to-end encrypted: " + j.end_to_end +
                 ", which it stores with the session, and its NS then stops decrypting FRMPayload; the application "
                 "gets the encrypted payload with the SessionKeyID and the AppSKey envelope, and the payload codec "
                 "does not run (chirpstack/chirpstack chirpstack/src/uplink/data.rs). For ChirpStack to decrypt, "
                 "the JS must send AppSKey without a KEK label and no SessionKeyID";
    }
    return;
  }
  if (!j.problem.empty()) {
    // Never "expected Success / actual Success": the actual says what is wrong with it.
    f.actual = code + ", but " + j.problem + (ex.http_status != 200 ? ", HTTP " + status_text(ex.http_status) : "");
    f.reason = cs + " fails the join: it logs \"" + j.ns_error + "\". " + j.fix;
    return;
  }
  if (v4 && ex.http_status >= 400) {
    f.actual += ": " + cs + " rejects any 4xx/5xx answer whatever its body";
    if (!known && j.result_code == "UnknownDevEUI") {
      // The join fails either way for an unknown device; only the log loses the ResultCode.
      f.verdict = Verdict::pass;
      f.reason = cs + " logs only \"" + j.ns_error + "\" for it, not the ResultCode: answer HTTP 200 with the "
                 "Result to let operators see why a join fails";
      return;
    }
    f.reason = cs + " calls error_for_status() on the answer (chirpstack/chirpstack backend/src/lib.rs) and fails the "
               "join with \"" + j.ns_error + "\", never reading the body. fix: the JS must answer HTTP 200 (TS002 1.0 "
               "§7: the Result is in the body)";
    return;
  }
  const std::string net_id = in.ns.net_id.hex();
  if (j.result_code == "UnknownSender" && !in.client_cert_issuer.empty() &&
      ((!in.acceptable_client_cas.empty() &&
        std::find_first_of(in.client_cert_chain_names.begin(), in.client_cert_chain_names.end(),
                           in.acceptable_client_cas.begin(), in.acceptable_client_cas.end()) ==
            in.client_cert_chain_names.end()) ||
       j.description.find("certificate") != std::string::npos)) {
    // The JS took the handshake but not the certificate: registering the NetID would not help.
    std::string cas;
    for (const auto& ca : in.acceptable_client_cas) cas += (cas.empty() ? "" : "; ") + ca;
    f.reason = "the likely cause is the client certificate, not the NetID: " + in.tls_cert_setting + " is '" +
               in.client_cert_subject + "', issued by '" + in.client_cert_issuer + "'" +
               (cas.empty() ? std::string()
                            : ", a CA the JS does not name among the client CAs it accepts (" + cas + ")") +
               (j.description.empty() ? std::string() : "; the JS says: " + j.description) +
               ". fix: give the NS a client certificate for NetID " + net_id + " from a CA the JS trusts (or make the "
               "JS trust '" + in.client_cert_issuer + "' for NetID " + net_id + "). " + logs();
  } else if (j.result_code == "UnknownSender") {
    f.reason = "fix: the JS does not know NetID " + net_id + " (the SenderID " + cs + " sends, from " +
               in.net_id_setting + "); register that NetID (and this NS's client certificate) on the JS, or correct "
               "net_id. " + logs();
  } else if (j.result_code == "UnknownReceiver" || j.result_code == "UnkownReceiver") {
    f.reason = "fix: the JS does not serve JoinEUI " + device.join_eui.hex() + ": configure it on the JS" +
               (in.prefix_setting.empty() ? std::string(", or route that JoinEUI to the JS that serves it")
                                          : ", or correct " + in.prefix_setting) +
               ". " + logs();
  } else if (j.result_code == "UnknownDevEUI") {
    if (!known) {
      f.verdict = Verdict::pass;
      return;
    }
    f.reason = "fix: provision device " + device.dev_eui.hex() + " on the JS (joincheck devices export). " + logs();
  } else if (known && j.result_code == "MICFailed") {
    f.reason = "fix: the JS holds other root keys for device " + device.dev_eui.hex() + " than --devices. " + logs();
  } else {
    f.reason = logs() + ". fix: see the JS's logs for the request with TransactionID " +
               std::to_string(ex.transaction_id);
  }
}

}  // namespace

ProbeFinding probe_join_server(const ProbeInputs& in) {
  const ChirpStackConfig& c = *in.config;
  const bool v4 = c.version == ChirpStackVersion::v4;
  const std::string cs = v4 ? "ChirpStack v4" : "ChirpStack v3";
  ProbeFinding f;
  const bool known = in.device.has_value();
  sim::FleetDevice device;
  if (known) {
    device = *in.device;
  } else {
    std::optional<sim::JoinEuiRange> range;
    if (!in.js->join_eui_prefix.value.empty()) {
      try {
        range = sim::parse_join_eui_range(in.js->join_eui_prefix.value);
      } catch (const std::exception&) {
        // reported by the prefix finding
      }
    }
    const lorawan::Eui64 join_eui =
        in.join_eui ? *in.join_eui : range ? range->prefix : lorawan::Eui64::parse("0000000000000001");
    // A DevEUI no device of --devices has.
    for (std::uint64_t n = std::uint64_t{1} << 39;; ++n) {
      device = sim::generate_device(n, join_eui, lorawan::MacVersion::v1_0_3, 0x646f63746f72ULL);
      bool taken = false;
      for (const auto& e : in.known_dev_euis) taken = taken || e == device.dev_eui;
      if (!taken) break;
    }
  }
  f.expected = known ? "Success for device " + device.dev_eui.hex() + " (--probe-device), as " + cs + " accepts it"
                     : "UnknownDevEUI for the unknown DevEUI " + device.dev_eui.hex();
  std::optional<sim::SimDevice> sim_device;
  try {
    // The JoinReq as that ChirpStack version sends it: the same persona code `joincheck run
    // --ns-like` uses (header, MACVersion spelling, DevAddr under the NetID, region settings).
    sim::NsClientOptions ns = in.ns;
    ns.ns_like = v4 ? sim::NsPersona::chirpstack_v4 : sim::NsPersona::chirpstack_v3;
    sim::NsClient client(ns);
    sim::JoinReqFields fields;
    fields.header = client.request_header(backend::MessageType::join_req, device.join_eui.hex());
    std::array<std::uint8_t, 4> addr{0x01, 0x02, 0x03, 0x04};
    fields.dev_addr = lorawan::DevAddr(addr);
    lorawan::DevNonce dev_nonce;
    if (known) {
      if (in.counters == nullptr) {
        throw lorawan::Error("a probe with device " + device.dev_eui.hex() +
                             " needs its DevNonce counter (--state): none was given");
      }
      // The device's own DevNonce, continuing from the state file; the file is updated before
      // the JoinReq leaves, since the JS may count it even when no answer comes back.
      sim_device.emplace(device);
      sim_device->restore(*in.counters);
      (void)sim_device->make_join_request();
      dev_nonce = *sim_device->last_dev_nonce();
      *in.counters = sim_device->counters();
      const unsigned n = dev_nonce.value();
      const sim::DevNoncePolicy policy = sim::effective_dev_nonce_policy(device);
      f.cost = "the probe used DevNonce " + std::to_string(n) + " of device " + device.dev_eui.hex();
      if (policy == sim::DevNoncePolicy::counter) {
        f.cost += "; the state file now continues from " + std::to_string(n + 1);
      } else if (policy == sim::DevNoncePolicy::random) {
        f.cost += " (random policy); the state file keeps it among the recent DevNonces, which are not drawn again";
      } else {
        f.cost += " (fixed policy: the JS refuses it as a replay from now on)";
      }
    } else {
      std::mt19937 rng(static_cast<std::uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
      dev_nonce = lorawan::DevNonce(static_cast<std::uint16_t>(rng() & 0xffff));
    }
    backend::JoinReq req = sim::make_join_req(device, dev_nonce, fields);
    std::mt19937 addr_rng(static_cast<std::uint32_t>(dev_nonce.value()) ^ 0x646f6374U);
    sim::shape_join_req(ns.ns_like, req, ns.net_id, static_cast<std::uint32_t>(addr_rng()));
    f.exchange = client.send(req);
  } catch (const std::exception& e) {
    f.verdict = Verdict::error;
    f.reason = std::string("the probe could not be sent: ") + e.what() + (f.cost.empty() ? "" : ". " + f.cost);
    return f;
  }
  // The JoinNonce of an accepted join, so that a later `joincheck run --state` judges the next one.
  if (sim_device && f.exchange->http_status == 200) {
    try {
      const auto j = backend::parse_peer_json(f.exchange->http_body);
      if (j && j->is_object() && j->contains("PHYPayload") && (*j)["PHYPayload"].is_string()) {
        (void)sim_device->accept(lorawan::from_hex((*j)["PHYPayload"].get<std::string>(), "PHYPayload"));
        *in.counters = sim_device->counters();
      }
    } catch (const std::exception&) {
      // judged below
    }
  }
  judge_probe(in, device, known, f);
  if (!f.cost.empty()) f.reason += (f.reason.empty() ? "" : f.reason.back() == '.' ? " " : ". ") + f.cost;
  return f;
}

}  // namespace joincheck::conformance
