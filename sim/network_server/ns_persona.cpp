#include "sim/network_server/ns_persona.hpp"

#include <array>

#include "sim/network_server/network_server.hpp"

namespace joincheck::sim {

std::string_view to_string(NsPersona persona) {
  switch (persona) {
    case NsPersona::plain:
      return "plain";
    case NsPersona::chirpstack_v3:
      return "chirpstack-v3";
    case NsPersona::chirpstack_v4:
      return "chirpstack-v4";
  }
  return "plain";
}

std::optional<NsPersona> parse_ns_persona(std::string_view text) {
  for (NsPersona p : {NsPersona::plain, NsPersona::chirpstack_v3, NsPersona::chirpstack_v4}) {
    if (text == to_string(p)) return p;
  }
  return std::nullopt;
}

std::string ns_persona_names() { return "plain, chirpstack-v3, chirpstack-v4"; }

void shape_header(NsPersona persona, backend::Header& header) {
  if (persona == NsPersona::plain) return;
  header.protocol_version = backend::ProtocolVersion::v1_0;
  header.sender_token.reset();
  header.sender_ns_id.reset();
  if (persona == NsPersona::chirpstack_v3) {
    header.vs_extension = nlohmann::json::object();
  } else {
    header.vs_extension.reset();
  }
}

lorawan::CfList stock_eu868_cf_list() {
  std::array<std::uint8_t, 16> b{};
  std::size_t i = 0;
  for (std::uint32_t mhz_x10 : {8671u, 8673u, 8675u, 8677u, 8679u}) {
    const std::uint32_t f =
        mhz_x10 * 1000u;  // frequency / 100 (LoRaWAN 1.0.3 §4.3.1.6), 24 bits LE
    b[i++] = static_cast<std::uint8_t>(f & 0xff);
    b[i++] = static_cast<std::uint8_t>((f >> 8) & 0xff);
    b[i++] = static_cast<std::uint8_t>((f >> 16) & 0xff);
  }
  b[15] = 0x00;  // CFListType 0: frequencies
  return lorawan::CfList(b);
}

namespace {

// The MACVersion spelling and the CFList.
template <class Req>
void shape_spelling(NsPersona persona, Req& req) {
  const lorawan::MacVersion version =
      req.mac_version ? req.mac_version->version : lorawan::MacVersion::v1_0_3;
  backend::MacVersionField mv;
  mv.version = version;
  // ChirpStack writes a device profile's MACVersion in three parts: "1.1.0", not TS002's "1.1".
  if (lorawan::is_1_1(version)) mv.text = "1.1.0";
  req.mac_version = mv;
  // v4's stock EU868 region file has five extra channels; v3's template has none, and v3 then
  // sends no CFList.
  if (persona == NsPersona::chirpstack_v4) {
    req.cf_list = stock_eu868_cf_list();
  } else {
    req.cf_list.reset();
  }
}

template <class Req>
void shape(NsPersona persona, Req& req, const lorawan::NetId& net_id, std::uint32_t random) {
  if (persona == NsPersona::plain) return;
  shape_header(persona, req.header);
  shape_spelling(persona, req);
  req.dev_addr = dev_addr_for(net_id, random);
  // Stock EU868: rx1_dr_offset 0, rx2_dr 0; OptNeg for every version but 1.0.x.
  req.dl_settings =
      static_cast<std::uint8_t>(lorawan::is_1_1(req.mac_version->version) ? 0x80 : 0x00);
  req.rx_delay = 1;
}

}  // namespace

void shape_join_req_spelling(NsPersona persona, backend::JoinReq& req) {
  if (persona == NsPersona::plain) return;
  shape_header(persona, req.header);
  shape_spelling(persona, req);
}

std::optional<std::chrono::milliseconds> persona_js_timeout(NsPersona persona) {
  if (persona == NsPersona::chirpstack_v4) return std::chrono::milliseconds(5000);
  return std::nullopt;
}

void shape_join_req(NsPersona persona, backend::JoinReq& req, const lorawan::NetId& net_id,
                    std::uint32_t random) {
  shape(persona, req, net_id, random);
}
void shape_join_req(NsPersona persona, backend::RejoinReq& req, const lorawan::NetId& net_id,
                    std::uint32_t random) {
  shape(persona, req, net_id, random);
}

}  // namespace joincheck::sim
