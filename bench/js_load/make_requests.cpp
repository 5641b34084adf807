// Writes a fleet and a file of JoinReq bodies for the JS throughput benchmark: every body is a
// fresh, valid join (devices in turn, each with a DevNonce above its last one), one per line,
// for wrk's join.lua to send in order.
//   make_requests --devices N --per-device K --fleet FLEET.json --requests REQS.txt
//                 [--mac 1.0.4|1.0.3]
// With --mac 1.0.3 (default 1.0.4) and K above the JS's DevNonce window (16 by default), the
// file can be sent again and again: a device's DevNonce 1 comes back only after K-1 others, out
// of the window, so every join stays fresh (scripts/bench-js-resources relies on this).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "backend/codec.hpp"
#include "lorawan/join_frames.hpp"
#include "sim/fleet/fleet.hpp"

int main(int argc, char** argv) {
  using namespace joincheck;
  std::size_t devices = 10000, per_device = 50;
  std::string fleet_file = "fleet.json", requests_file = "requests.txt";
  auto mac = joincheck::lorawan::MacVersion::v1_0_4;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--devices")
      devices = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--per-device")
      per_device = std::strtoul(argv[i + 1], nullptr, 10);
    else if (a == "--fleet")
      fleet_file = argv[i + 1];
    else if (a == "--requests")
      requests_file = argv[i + 1];
    else if (a == "--mac")
      mac = lorawan::parse_mac_version_or_throw(argv[i + 1], "--mac");
    else {
      std::cerr << "usage: make_requests --devices N --per-device K --fleet F --requests R "
                   "[--mac 1.0.4|1.0.3]\n";
      return 2;
    }
  }
  const auto join_eui = lorawan::Eui64::parse("70b3d57ed0000000");
  const sim::Fleet fleet = sim::generate_fleet(devices, join_eui, mac, 7);
  sim::save_fleet(fleet, fleet_file);
  std::ofstream out(requests_file);
  std::uint32_t tid = 1;
  for (std::size_t k = 1; k <= per_device; ++k) {
    for (const auto& d : fleet.devices) {
      backend::JoinReq r;
      r.header.sender_id = "000013";
      r.header.receiver_id = join_eui.hex();
      r.header.transaction_id = tid++;
      r.mac_version = backend::MacVersionField{d.mac_version, {}};
      r.phy_payload = lorawan::build_join_request(
          *d.app_key,
          lorawan::JoinRequest{
              d.join_eui, d.dev_eui, lorawan::DevNonce(static_cast<std::uint32_t>(k)), {}});
      r.dev_eui = d.dev_eui;
      r.dev_addr = lorawan::DevAddr::parse("26011234");
      r.dl_settings = 0x03;
      r.rx_delay = 1;
      r.cf_list = lorawan::CfList::parse("184f84e85684b85e84886684586e8400");
      out << backend::encode(r) << '\n';
    }
  }
  std::cerr << "make_requests: " << devices << " devices, " << devices * per_device
            << " requests in " << requests_file << "\n";
  return out ? 0 : 1;
}
