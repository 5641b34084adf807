#include "conformance/embedded_target.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <random>

#include "conformance/scenario.hpp"

namespace joincheck::conformance {

namespace {

// A free port for the async listener, which the JS must know before it starts.
std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

lorawan::Bytes random_kek(std::mt19937_64& rng) {
  lorawan::Bytes k(16);
  for (auto& b : k) b = static_cast<std::uint8_t>(rng());
  return k;
}

}  // namespace

EmbeddedTarget::EmbeddedTarget(EmbeddedTargetOptions o) : target_(default_target_config()) {
  std::mt19937_64 rng(o.seed ^ 0x656d626564646564ULL);
  const lorawan::Eui64 join_eui = lorawan::Eui64::parse("0000000000000001");
  std::uint64_t index = 0;
  if (o.fleet) fleet_ = *o.fleet;
  for (const lorawan::MacVersion v : suite_mac_versions()) {
    for (std::size_t i = 0; i < (o.fleet ? 0 : o.devices_per_version); ++i) {
      fleet_.devices.push_back(sim::generate_device(index++, join_eui, v, o.seed));
    }
  }

  // The NS KEK is labelled with the NetID in hex: the label brocaar's JS uses (the SenderID), so
  // the same target works under every behaviour.
  const std::string ns_label = target_.ns.net_id.hex();
  const lorawan::Bytes ns_kek = random_kek(rng);
  const std::string as_label = "as-joincheck";
  const lorawan::Bytes as_kek = random_kek(rng);

  sim::JoinServerServiceOptions so;
  so.http.host = "127.0.0.1";
  so.http.port = 0;
  so.http.threads = 1;
  so.store.database = o.database;
  so.fleets.push_back(fleet_);
  sim::NetIdPeer peer;
  peer.net_id = target_.ns.net_id;
  peer.kek_label = ns_label;
  peer.kek = ns_kek;
  if (o.async) {
    const std::string listen = "127.0.0.1:" + std::to_string(free_port());
    target_.ns.async_listen = listen;
    target_.capabilities.insert(Capability::async);
    peer.async_url = "http://" + listen + "/";
  }
  so.js.net_ids.push_back(peer);
  so.js.as_kek_label = as_label;
  so.js.as_kek = as_kek;
  so.js.as_ids.push_back(target_.as_id);
  so.js.home_net_id = target_.ns.net_id;
  so.js.home_ns_id = target_.ns.ns_id;
  so.js.faults = o.faults;
  so.js.behaviour = o.behaviour;
  so.async_timeout = std::chrono::milliseconds(2000);
  service_ = std::make_unique<sim::JoinServerService>(std::move(so));

  target_.ns.url = service_->url();
  target_.ns.keks[ns_label] = ns_kek;
  target_.ns.keks[as_label] = as_kek;
  target_.as_kek_label = as_label;
  target_.capabilities.insert(Capability::as_kek);
}

EmbeddedTarget::~EmbeddedTarget() = default;

std::string EmbeddedTarget::label() const { return std::string(kEmbeddedTargetName) + " (" + target_.ns.url + ")"; }

bool is_embedded_target(std::string_view report_target) {
  if (!report_target.starts_with(kEmbeddedTargetName)) return false;
  const std::string_view rest = report_target.substr(kEmbeddedTargetName.size());
  return rest.empty() || (rest.starts_with(" (") && rest.ends_with(")"));
}

}  // namespace joincheck::conformance
