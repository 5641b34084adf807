#pragma once
// An NS persona: the shape of the requests a real Network Server sends to a JS, so that a JS
// developer can ask "does my JS work with what ChirpStack v4 really sends?" (`joincheck run
// --ns-like chirpstack-v4`, `ns_like` under [ns] in the target file). `plain` is joincheck's own
// TS002 NS: ProtocolVersion from the target, a SenderToken, "1.1" for LoRaWAN 1.1, no CFList.
//
// What each persona sends, and where it was read (docs/ns-personas.md has it as a table):
//  - ProtocolVersion "1.0": v4 chirpstack/chirpstack backend/src/lib.rs PROTOCOL_VERSION; v3
//    brocaar/lorawan backend/backend.go ProtocolVersion1_0, the only version it defines.
//  - No SenderToken: v4 lib.rs skips it when empty and uplink/join.rs never sets it; v3
//    backend.go has it omitempty (the v3 NS itself was not read: unverified that it sets none).
//  - No SenderNSID: neither BasePayload has such a field.
//  - VSExtension: none for v4 (no such field); {} for v3 (backend.go: a struct field with
//    omitempty, which Go's encoding/json never omits).
//  - MACVersion "1.1.0" for a 1.1 device: v4 uplink/join.rs sends dp.mac_version.to_string()
//    (the Display text of lrwn's MacVersion was not read: unverified); v3 taken from the issue
//    (unverified here).
//  - DevAddr: random with the NetID's DevAddr prefix (v4 chirpstack/src/devaddr.rs; v3
//    unverified here).
//  - DLSettings: OptNeg | rx1_dr_offset | rx2_dr, RxDelay: rx1_delay, CFList: the region's extra
//    channels (v4 uplink/join.rs get_join_accept_from_js; stock configuration/region_eu868.toml:
//    0, 0, 1 and five channels 867.1 .. 867.9 MHz). v3: the same values assumed (unverified here).
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
void shape_join_req(NsPersona persona, backend::JoinReq& req, const lorawan::NetId& net_id,
                    std::uint32_t random);
void shape_join_req(NsPersona persona, backend::RejoinReq& req, const lorawan::NetId& net_id,
                    std::uint32_t random);

// The CFList of ChirpStack's stock EU868 region file: 867.1, 867.3, 867.5, 867.7, 867.9 MHz,
// CFListType 0.
lorawan::CfList stock_eu868_cf_list();

}  // namespace joincheck::sim
