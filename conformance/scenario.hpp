#pragma once
// Scenarios are data (DESIGN.md "Scenarios"): an id, a title, spec references, a level, the
// devices they need and steps that send something and say what they expect. The built-in suite
// is the set of files under scenarios/suite/, compiled into the program; users add their own
// with `--scenario FILE`, and Python builds the same structure from dicts.
//
// File format (one scenario object per file, or {"scenarios": [ ... ]}):
//
//   {"id": "devnonce/replay-1.0.4",            // a catalog check id, or a new id of a custom check
//    "title": "...", "spec": "...", "level": "MUST",  // required for a custom id
//    "requires": ["rejoin"],                    // target capabilities (see Capability)
//    "devices": {"dev": {"MACVersion": "1.0.4"}, "stranger": {"MACVersion": "1.0.3", "unknown": true}},
//                                               // "MACVersion": "any": whichever device the fleet has
//    "steps": [
//      {"send": "join", "device": "dev", "check": "join/success-1.0.4", "expect": "Success"},
//      {"send": "join", "device": "dev", "DevNonce": "previous",
//       "expect": {"result": "failure", "prefer": ["JoinReqFailed", "FrameReplayed"]}}]}
//
// Step fields (every field is optional unless said otherwise):
//   send          "join" | "rejoin" | "app-s-key" | "home-ns" | "raw"   (required)
//   device        a name from "devices" (required except for "raw")
//   check         the check this step's expectation judges (default: the scenario id)
//   expect        "Success" | "failure" | a ResultCode | {"result": ..., "prefer": [codes],
//                 "http_status": N}; "result" may be a list of codes. Without `expect` the step
//                 only feeds the checks that judge every answer.
//   join/rejoin:  DevNonce "next"|"previous"|"lower"|"ahead"|0..65535 (join only: a rejoin carries the
//                 device's own RJcount); RejoinType 0|1|2 (rejoin);
//                 MIC "corrupt"; MACVersion "<spelling>"; OptNeg true|false;
//                 PHYPayload "truncate"|"extend"|"data-uplink"|"<hex>"; DevAddr "<hex>";
//                 DLSettings "<hex byte>"; RxDelay N; CFList "<hex>"|null (none)
//   app-s-key:    SessionKeyID "last"|"previous"|"<hex>" (previous: the device's join before the last)
//   any request:  ProtocolVersion, SenderID, ReceiverID, SenderToken (strings; SenderID and
//                 ReceiverID may be "${unknown_net_id}" (the target file's unknown_net_id) or
//                 "${unknown_join_eui}" (a JoinEUI no test fleet uses)), SenderNSID
//                 "<hex>"|null (omitted), TransactionID N, VSExtension {...}
//   after encoding: omit [JSON fields], null [JSON fields], set {field: JSON value},
//                 hex "upper"|"0x" (how every hex value is written), Content-Type "<value>"
//   raw:          body "<text sent verbatim>", MessageType "<request type>" (path; default JoinReq)
//   uplink:       over the air (`run --via-gateway`): a data uplink of the joined device through
//                 the simulated gateways and NS; FPort 1..223 (default 1), FRMPayload "<hex>",
//                 confirmed true|false (default false)
//   expect_downlink: over the air: the downlink answering the device's last uplink (join-request
//                 or data) must come, fit `window` "RX1"|"RX2"|"any" (default any) by timing,
//                 frequency and data rate, and, with ack true (the default after a confirmed
//                 uplink), acknowledge it with a MIC the device verifies
// A scenario with over-the-air steps is skipped unless the run goes through the gateway; its
// join steps then travel over the air too.
//
// A step whose expectation is not met ends its scenario: the checks of the later steps are
// `error` with that reason (they were meant to be judged and were not; a step that does not
// apply to the target leaves them `skip`), so a failed setup join never blames a replay check,
// nor lets it pass.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/protocol.hpp"
#include "backend/result_code.hpp"
#include "conformance/check.hpp"
#include "lorawan/error.hpp"
#include "lorawan/types.hpp"

namespace joincheck::conformance {

// What a target may or may not support; a scenario that requires a capability the target
// lacks is skipped with that reason.
enum class Capability {
  rejoin,          // "rejoin": RejoinReq (LoRaWAN 1.1 devices)
  app_s_key,       // "app-s-key": AppSKeyReq from an AS
  home_ns,         // "home-ns": HomeNSReq
  protocol_1_1,    // "protocol-1.1": TS002 1.1 requests (SenderNSID)
  known_senders,   // "known-senders": the JS serves only the NetIDs it knows
  as_kek,          // "as-kek": the harness has the JS-AS KEK, so AppSKey can be checked
  async,           // "async": answers come asynchronously
};
std::string_view to_string(Capability capability);
std::optional<Capability> parse_capability(std::string_view text);

// A broken scenario file: what() names the file, the step and the field, what was expected and
// what was seen ("scenarios/x.json: steps[2].DevNonce: expected \"next\", \"previous\",
// \"lower\" or a number 0..65535, got \"prev\"").
class ScenarioError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

struct DeviceNeed {
  std::string name;
  lorawan::MacVersion mac_version = lorawan::MacVersion::v1_0_3;
  // "MACVersion": "any": the step does not depend on the version (malformed bodies, header
  // edits, unknown senders): any device of the fleet will do, so a fleet of one MAC version
  // still runs it. The runner takes the fleet's devices in the order 1.0.3, 1.0.4, 1.1, 1.0.2,
  // 1.0.1, 1.0 (the first version the fleet has first); `mac_version` is then the one chosen.
  bool any_version = false;
  // A device the target does not know (fresh random DevEUI and keys): unknown-DevEUI tests.
  bool unknown = false;
};

enum class StepKind { join, rejoin, app_s_key, home_ns, raw, uplink, expect_downlink };
// "join", "rejoin", "app-s-key", "home-ns", "raw", "uplink", "expect_downlink"
std::string_view to_string(StepKind kind);

struct DevNonceChoice {
  // next: the device's policy; previous: the last one sent again (a replay); lower: one below the
  // last; ahead: the policy's next value plus 100, skipping values (counter devices: the values
  // skipped are never used, so "lower" after "ahead" is a decrease that is not a replay);
  // value: `number`.
  enum Kind { next, previous, lower, ahead, value } kind = next;
  std::uint16_t number = 0;  // kind == value
};

enum class PhyPayloadChange { none, truncate, extend, data_uplink, replace };

struct Expectation {
  enum Kind {
    success,  // Result Success
    failure,  // any Result other than Success, and no PHYPayload
    // One of `codes`. (Not named `codes`: an enumerator and the member below cannot share a
    // name in one class scope.)
    one_of,
  } kind = success;
  std::vector<backend::ResultCode> codes;
  // Codes that pass; a result accepted by `kind`/`codes` but not preferred is a warning.
  std::vector<backend::ResultCode> prefer;
  std::optional<int> http_status;
};

struct Step {
  StepKind kind = StepKind::join;
  std::string device;
  std::string check;  // the check the expectation judges (filled with the scenario id)
  std::optional<Expectation> expect;
  std::string where;  // "file.json: steps[2]", for messages

  // join / rejoin
  DevNonceChoice dev_nonce;
  std::uint8_t rejoin_type = 0;
  bool corrupt_mic = false;
  std::optional<std::string> mac_version;  // the spelling sent
  std::optional<bool> opt_neg;
  PhyPayloadChange phy_payload_change = PhyPayloadChange::none;
  lorawan::Bytes phy_payload;  // PhyPayloadChange::replace
  std::optional<lorawan::DevAddr> dev_addr;
  std::optional<std::uint8_t> dl_settings;
  std::optional<std::uint8_t> rx_delay;
  bool cf_list_set = false;                // CFList given: `cf_list` (nullopt: none sent)
  std::optional<lorawan::CfList> cf_list;

  // app-s-key
  // nullopt: the last one received ("last"), or the one before it when `previous_session`.
  std::optional<lorawan::Bytes> session_key_id;
  bool previous_session = false;

  // header, any request
  std::optional<std::string> protocol_version;  // any text, "2.0" included
  std::optional<std::string> sender_id;
  std::optional<std::string> receiver_id;
  std::optional<lorawan::Bytes> sender_token;
  bool sender_ns_id_set = false;  // SenderNSID given: `sender_ns_id` (nullopt: omitted)
  std::optional<lorawan::Eui64> sender_ns_id;
  std::optional<std::uint32_t> transaction_id;
  std::optional<nlohmann::json> vs_extension;

  // JSON edits after encoding, and HTTP
  std::vector<std::string> omit;
  std::vector<std::string> null_fields;
  nlohmann::ordered_json set = nlohmann::ordered_json::object();
  enum class HexStyle { as_encoded, upper, prefix_0x } hex = HexStyle::as_encoded;
  std::optional<std::string> content_type;

  // raw
  std::string body;
  backend::MessageType raw_message_type = backend::MessageType::join_req;

  // uplink (over the air)
  std::uint8_t fport = 1;
  lorawan::Bytes frm_payload;
  bool confirmed = false;
  // expect_downlink (over the air): the window the downlink of the device's last uplink (its
  // join-request or data uplink) must fit, and whether it must acknowledge (default: when that
  // uplink was confirmed).
  enum class Window { any, rx1, rx2 } window = Window::any;
  std::optional<bool> ack;
};

struct Scenario {
  std::string id;
  std::string title;
  std::string spec;
  Level level = Level::must;
  bool custom = false;  // the id is not a built-in check: the scenario declares it
  std::vector<Capability> requires_;
  std::vector<DeviceNeed> devices;
  std::vector<Step> steps;
  std::string source;  // file name, or "<python>"

  const DeviceNeed* device(std::string_view name) const;
  // The check a custom scenario adds to the catalog.
  CheckInfo check_info() const;
};

// Parses one scenario, or {"scenarios": [...]}, or a JSON array of scenarios. `source` names the
// file in errors. Checks ids against `catalog`: a step's `check` must be a catalog check or the
// scenario's own id. Throws ScenarioError.
std::vector<Scenario> parse_scenarios(std::string_view json_text, std::string_view source,
                                      const Catalog& catalog = Catalog::builtin());
std::vector<Scenario> scenarios_from_json(const nlohmann::json& json, std::string_view source,
                                          const Catalog& catalog = Catalog::builtin());
// Reads a scenario file. Throws ScenarioError (also when the file cannot be read).
std::vector<Scenario> load_scenarios(const std::filesystem::path& file,
                                     const Catalog& catalog = Catalog::builtin());
// The built-in suite, in file name order (compiled in from scenarios/suite/).
const std::vector<Scenario>& builtin_suite();
// The MAC versions the built-in suite needs fleet devices of (1.0.2, 1.0.3, 1.0.4, 1.1), in
// ascending order: what `devices generate` makes by default and the embedded target provisions.
std::vector<lorawan::MacVersion> suite_mac_versions();

}  // namespace joincheck::conformance
