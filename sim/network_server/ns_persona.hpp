#pragma once
// An NS persona: the shape of the requests a real Network Server sends to a JS, so that a JS
// developer can ask "does my JS work with what ChirpStack v4 really sends?" (`joincheck run
// --ns-like chirpstack-v4`, `ns_like` under [ns] in the target file). `plain` is joincheck's own
// TS002 NS: ProtocolVersion from the target, a SenderToken, "1.1" for LoRaWAN 1.1, no CFList.
//
// What each persona sends, and where it was read (docs/ns-personas.md has the same table):
//
//   field            chirpstack-v4                                chirpstack-v3
//   ProtocolVersion  "1.0" (chirpstack/chirpstack                 "1.0" (brocaar/lorawan backend/backend.go
//                    backend/src/lib.rs PROTOCOL_VERSION)         ProtocolVersion1_0, the only one defined)
//   SenderToken      none (lib.rs: skipped when empty;            none (backend.go: omitempty; the v3 NS is
//                    uplink/join.rs never sets it)                 not read here: unverified that it sets none)
//   SenderNSID       none (BasePayload has no such field)         none (BasePayload has no such field)
//   VSExtension      none (BasePayload has no such field)         {} (backend.go: a struct field with
//                                                                  omitempty, which encoding/json never omits)
//   MACVersion       the device profile's, "1.1.0" for 1.1        "1.1.0" for 1.1 (unverified here: taken from
//                    (uplink/join.rs: dp.mac_version.to_string(); the issue; the v3 device profile stores the
//                    the Display text of lrwn's MacVersion was     string)
//                    not read: unverified)
//   DevAddr          random with the NetID's DevAddr prefix       the same (unverified here: the v3 storage
//                    (chirpstack/src/devaddr.rs)                   code was not read)
//   DLSettings       OptNeg | rx1_dr_offset | rx2_dr of the       the same, from the network settings
//                    region file: 0 and 0 in stock EU868           (unverified here)
//                    (configuration/region_eu868.toml; join.rs)
//   RxDelay          rx1_delay of the region file: 1              1 (unverified here)
//   CFList           the region's extra channels: stock EU868     the same (unverified here)
//                    has five, 867.1 .. 867.9 MHz (join.rs
//                    get_cf_list; region_eu868.toml)
//
// Only EU868 is shaped (the region joincheck's runner uses). The JS timeout (v4: 5 s,
// backend/src/lib.rs; v3: none) is NsClientOptions::timeout, not set by the persona.
//
// One place: the runner (conformance/runner.cpp) and the doctor's probe shape their JoinReq with
// shape_join_req(); NsClient::request_header() applies shape_header() to every request.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "backend/messages.hpp"
#include "lorawan/types.hpp"

namespace joincheck::sim {

enum class NsPersona { plain, chirpstack_v3, chirpstack_v4 };

// "plain", "chirpstack-v3", "chirpstack-v4".
std::string_view to_string(NsPersona persona);
// The names above; nullopt for anything else.
std::optional<NsPersona> parse_ns_persona(std::string_view text);
// "plain, chirpstack-v3, chirpstack-v4", for error messages.
std::string ns_persona_names();

// The header fields the persona decides: ProtocolVersion "1.0", no SenderToken, no SenderNSID,
// VSExtension {} for chirpstack-v3. `plain` changes nothing.
void shape_header(NsPersona persona, backend::Header& header);

// Shapes a JoinReq (or RejoinReq) built the plain way: its header (shape_header), the MACVersion
// spelling, a DevAddr under `net_id` from `random` (dev_addr_for(net_id, random)), DLSettings
// (OptNeg from the MACVersion), RxDelay and CFList of the stock EU868 configuration. `plain`
// changes nothing.
void shape_join_req(NsPersona persona, backend::JoinReq& req, const lorawan::NetId& net_id, std::uint32_t random);
void shape_join_req(NsPersona persona, backend::RejoinReq& req, const lorawan::NetId& net_id, std::uint32_t random);

// The CFList of ChirpStack's stock EU868 region file: 867.1, 867.3, 867.5, 867.7, 867.9 MHz,
// CFListType 0.
lorawan::CfList stock_eu868_cf_list();

}  // namespace joincheck::sim
