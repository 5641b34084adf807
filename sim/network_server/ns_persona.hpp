#pragma once
// An NS persona: the shape of the requests a real Network Server sends to a JS, so that a JS
// developer can ask "does my JS work with what ChirpStack v4 really sends?" (`joincheck run
// --ns-like chirpstack-v4`, `ns_like` under [ns] in the target file). `plain` is joincheck's own
// TS002 NS: ProtocolVersion from the target, a SenderToken, "1.1" for LoRaWAN 1.1, no CFList.
//
// What each persona sends, and where it was read (docs/ns-personas.md has it as a table; v3 is
// brocaar/chirpstack-network-server, v4 chirpstack/chirpstack):
//  - ProtocolVersion "1.0": v4 backend/src/lib.rs PROTOCOL_VERSION; v3 internal/uplink/join/join.go
//    (the JoinReq's BasePayload) and brocaar/lorawan backend/client.go NewClient,
//    ProtocolVersion1_0.
//  - No SenderToken: v4 lib.rs skips it when empty and chirpstack/src/uplink/join.rs never sets
//    it; v3 join.go sets only ProtocolVersion, SenderID, ReceiverID, TransactionID and MessageType,
//    and brocaar/lorawan backend/backend.go has SenderToken omitempty.
//  - No SenderNSID: neither BasePayload has such a field.
//  - VSExtension: none for v4 (no such field); {} for v3 (backend.go: a struct field with
//    omitempty, which Go's encoding/json never omits).
//  - MACVersion "1.1.0" for a 1.1 device: v4 uplink/join.rs sends dp.mac_version.to_string(),
//    whose Display text is "1.1.0" (lrwn/src/region/mod.rs MacVersion); v3 join.go sends the
//    device profile's MACVersion string as stored, one of "1.0.0" .. "1.0.4", "1.1.0"
//    (brocaar/chirpstack-application-server ui/src/views/device-profiles/DeviceProfileForm.js).
//  - DevAddr: random with the NetID's DevAddr prefix (v4 chirpstack/src/devaddr.rs; v3
//    internal/storage/device_session.go GetRandomDevAddr, SetAddrPrefix(netID)).
//  - DLSettings: OptNeg (every MACVersion not starting "1.0") | rx1_dr_offset | rx2_dr, RxDelay:
//    rx1_delay. v4: uplink/join.rs get_join_accept_from_js with the region file's network settings
//    (stock configuration/region_eu868.toml: 0, 0, 1). v3: join.go getJoinAcceptFromAS with
//    [network_server.network_settings], whose defaults are rx1_dr_offset 0, rx1_delay 1 and rx2_dr
//    -1, the band's RX2 DR (DR0 for EU868; cmd/chirpstack-network-server/cmd/root.go, root_run.go
//    setRXParameters).
//  - CFList: the region's extra channels. v4: get_cf_list of the region; the stock EU868 file has
//    five, 867.1 .. 867.9 MHz. v3: brocaar/lorawan band/band.go GetCFList lists only
//    [[network_server.network_settings.extra_channels]] (DR 0-5) and returns none without them;
//    the template (cmd/chirpstack-network-server/cmd/configfile.go) has them commented out, so a
//    stock v3 sends no CFList (CFList is omitempty in backend.go).
//
// Only EU868 is shaped (the region joincheck's runner uses). The JS timeout is
// persona_js_timeout().
//
// One place: the runner (conformance/step_request.cpp), the doctor's probe and sim::NetworkServer shape
// their JoinReq with shape_join_req() / shape_join_req_spelling(); NsClient::request_header()
// applies shape_header() to every request.

#include <chrono>
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
// (OptNeg from the MACVersion), RxDelay and CFList of the stock EU868 configuration (v3: no
// CFList). `plain` changes nothing.
void shape_join_req(NsPersona persona, backend::JoinReq& req, const lorawan::NetId& net_id,
                    std::uint32_t random);
void shape_join_req(NsPersona persona, backend::RejoinReq& req, const lorawan::NetId& net_id,
                    std::uint32_t random);

// Only what the persona decides whatever the NS's own network settings: the header, the
// MACVersion spelling and the CFList of the stock region file. DevAddr, DLSettings and RxDelay
// are left as they are: an NS that assigns DevAddrs and schedules the downlinks itself
// (sim::NetworkServer) sends its own, as ChirpStack sends its configured network settings.
void shape_join_req_spelling(NsPersona persona, backend::JoinReq& req);

// The CFList of ChirpStack's stock EU868 region file: 867.1, 867.3, 867.5, 867.7, 867.9 MHz,
// CFListType 0.
lorawan::CfList stock_eu868_cf_list();

// How long the persona waits for a JS's answer: chirpstack-v4 5 s (the HTTP client's timeout,
// chirpstack/chirpstack backend/src/lib.rs); chirpstack-v3 none, it waits for ever (an
// http.Client without Timeout, brocaar/lorawan backend/client.go NewClient); plain: none of its
// own. joincheck always keeps a deadline of its own (NsClientOptions::timeout).
std::optional<std::chrono::milliseconds> persona_js_timeout(NsPersona persona);

}  // namespace joincheck::sim
