#pragma once
// The live probe of `joincheck doctor` (conformance/doctor.hpp): one JoinReq sent to a Join
// Server as ChirpStack sends it, and its answer judged as that ChirpStack version judges it
// (docs/doctor.md#probe-join):
//  - HTTP status: ChirpStack v4 calls reqwest's error_for_status() on the answer and so fails
//    any 4xx/5xx whatever its body (chirpstack/chirpstack backend/src/lib.rs); ChirpStack v3
//    decodes the body whatever the status (brocaar/chirpstack-network-server
//    internal/backend/joinserver/client.go JoinReq, brocaar/lorawan backend/client.go request);
//  - a JS that does not answer: v4 gives up after 5 s (backend/src/lib.rs); v3 sets no timeout
//    and would wait for ever (brocaar/lorawan backend/client.go), so the probe keeps --timeout;
//  - neither requires MessageType nor a Content-Type in the answer (v4: BasePayload is
//    #[serde(default)]; v3: encoding/json);
//  - a Success must carry a PHYPayload that decodes as a join-accept (v4 "Decode PhyPayload",
//    chirpstack/src/uplink/join.rs; v3 "unmarshal downlink phypayload error",
//    internal/uplink/join/join.go);
//  - every wrapped network session key must unwrap with the file's KEK of its label (v4
//    chirpstack/src/backend/keywrap.rs "KEK label X does not exist"; v3
//    internal/uplink/join/key_wrap.go "unknown kek label: X");
//  - v4 stores a SessionKeyID (and a wrapped AppSKey) with the session and then treats the device
//    as end-to-end encrypted: its NS stops decrypting FRMPayload (chirpstack/src/uplink/join.rs,
//    chirpstack/src/uplink/data.rs). A Success that does so passes, saying so.

#include <optional>
#include <string>

#include "conformance/chirpstack_config.hpp"
#include "conformance/result.hpp"
#include "sim/device/device.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

// What the probe found, for the finding `doctor/<scope>.probe-join`.
struct ProbeFinding {
  Verdict verdict = Verdict::error;
  std::string expected;
  std::string actual;
  std::string reason;
  std::optional<sim::Exchange> exchange;  // the JoinReq and its answer, when it was sent
  // What the probe cost a real device ("used DevNonce N of device X; ..."), "" for an unknown
  // DevEUI; also at the end of `reason`.
  std::string cost;
};

struct ProbeInputs {
  const ChirpStackConfig* config = nullptr;
  const CsJoinServer* js = nullptr;
  // URL, TLS material, NetID, and the probe's deadline: ChirpStack v4's own timeout (5 s,
  // sim::persona_js_timeout); for v3, which has none, --timeout.
  sim::NsClientOptions ns;
  std::string server_setting;   // "server of [join_server.default] (file:line)"
  std::string prefix_setting;   // the join_eui_prefix / join_eui setting, "" when none
  std::string net_id_setting;   // "[network] net_id" or "[network_server] net_id"
  // A device the JS knows (under the JS's prefix), or nullopt for an unknown DevEUI. A probe
  // with a device uses up one of its DevNonces (a LoRaWAN 1.0.4/1.1 JS then refuses every lower
  // one), so it needs `counters`: the device's entry of the --state file, read before (the
  // DevNonce continues from it) and updated here before the JoinReq is sent.
  std::optional<sim::FleetDevice> device;
  sim::SimDevice::Counters* counters = nullptr;
  // The JoinEUI of the unknown-DevEUI probe (a JoinEUI of --devices under the JS's prefix);
  // default: the prefix itself, else 0000000000000001.
  std::optional<lorawan::Eui64> join_eui;
  // DevEUIs the unknown-DevEUI probe must not use (those of --devices).
  std::vector<lorawan::Eui64> known_dev_euis;
  // What tells an UnknownSender caused by the client certificate from one caused by the NetID:
  // the tls_cert setting and its certificate's subject and issuer (RFC 2253, "" without one), the
  // names in its chain (a leaf from an intermediate chains to the root the JS names), and
  // the CAs the JS's CertificateRequest names as acceptable (empty when it names none).
  std::string tls_cert_setting;
  std::string client_cert_subject;
  std::string client_cert_issuer;
  std::vector<std::string> client_cert_chain_names;  // subject and issuer of every certificate of the file
  std::vector<std::string> acceptable_client_cas;
};

ProbeFinding probe_join_server(const ProbeInputs& in);

// The answer to a JoinReq as `version` judges it, from the HTTP status and body alone (no
// network): nullopt when ChirpStack accepts it as a Success with usable keys, else what it logs
// and why. `keks`: the file's KEKs. Exposed for tests.
struct ChirpStackJudgement {
  bool success = false;           // ChirpStack goes on with the join
  std::string result_code;        // the ResultCode it read, "" when it read none
  std::string description;        // Result.Description, when any
  std::string ns_error;           // what ChirpStack logs when !success
  std::string problem;            // what is wrong with a Success answer ChirpStack cannot use
  std::string fix;                // the setting or JS change that fixes `problem`
  // v4 only, for a Success: why ChirpStack v4 will treat the device as end-to-end encrypted ("the
  // JoinAns carries SessionKeyID 0102"), "" when it will decrypt FRMPayload itself. v4 does so
  // when the session has a SessionKeyID or an AppSKey wrapped under a KEK label
  // (chirpstack/chirpstack chirpstack/src/uplink/data.rs _is_end_to_end_encrypted).
  std::string end_to_end;
};
ChirpStackJudgement judge_join_ans_as_chirpstack(ChirpStackVersion version, int http_status, const std::string& body,
                                                 const std::vector<CsKek>& keks, const std::string& kek_setting);

}  // namespace joincheck::conformance
