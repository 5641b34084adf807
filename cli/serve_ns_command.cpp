// `joincheck serve-ns`: joincheck's own Network Server (sim/network_server) as a process: real
// packet forwarders or `joincheck gateway` send to its UDP port, it asks a Join Server for every
// join-request and answers through the gateways. Every event is printed as it happens.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.hpp"
#include "conformance/target.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/gateway/air_link.hpp"
#include "sim/join_server/config.hpp"
#include "sim/network_server/network_server.hpp"

namespace joincheck::cli {

namespace {

struct ServeNsArgs {
  std::string listen = "udp://0.0.0.0:1700";
  std::string js;
  std::string target;
  std::string net_id;
  std::vector<std::string> keks;
  std::string ca_cert, tls_cert, tls_key;
  std::string region = "EU868";
  std::string devices;
  std::string default_mac_version;
  int rx2_dr = -1;
  int dedup_ms = -1;
};

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_serve_ns_signal(int) { g_stop = 1; }

// What the summary line counts.
struct Tally {
  std::atomic<std::uint64_t> join_requests{0}, joins{0}, join_failures{0}, uplinks{0}, downlinks{0},
      downlinks_failed{0};
  void count(sim::NsEventKind kind) {
    switch (kind) {
      case sim::NsEventKind::join_request:
        ++join_requests;
        break;
      case sim::NsEventKind::join_accepted:
        ++joins;
        break;
      case sim::NsEventKind::join_failed:
        ++join_failures;
        break;
      case sim::NsEventKind::data_uplink:
        ++uplinks;
        break;
      case sim::NsEventKind::downlink_sent:
        ++downlinks;
        break;
      case sim::NsEventKind::downlink_failed:
      case sim::NsEventKind::downlink_not_sent:
        ++downlinks_failed;
        break;
      default:
        break;
    }
  }
};

int run(const ServeNsArgs& a) {
  sim::NetworkServerOptions o;
  conformance::TargetConfig target =
      a.target.empty() ? conformance::default_target_config() : conformance::load_target_config(a.target);
  o.js = target.ns;
  if (!a.js.empty()) o.js.url = a.js;
  if (o.js.url.empty()) {
    throw lorawan::Error("no Join Server: give --js URL (or url = \"...\" in the --target file)");
  }
  if (!a.net_id.empty()) o.js.net_id = lorawan::NetId::parse(a.net_id, "--net-id");
  for (const auto& k : a.keks) {
    auto [label, kek] = sim::parse_kek(k);
    o.js.keks[label] = kek;
  }
  if (!a.ca_cert.empty()) o.js.tls.ca_file = a.ca_cert;
  if (!a.tls_cert.empty()) o.js.tls.cert_file = a.tls_cert;
  if (!a.tls_key.empty()) o.js.tls.key_file = a.tls_key;
  if (o.js.tls.cert_file.empty() != o.js.tls.key_file.empty()) {
    throw lorawan::Error("a client certificate needs both --tls-cert and --tls-key");
  }
  const sim::UdpAddress listen = sim::parse_udp_address(a.listen, "--listen", true);
  o.listen = listen.text();
  const auto region = lorawan::parse_region(a.region);
  if (!region) throw lorawan::Error("--region: expected EU868 or US915, got " + lorawan::quote_for_error(a.region));
  o.region = *region;
  std::size_t known = 0;
  std::optional<std::filesystem::path> fleet_file;
  if (!a.devices.empty()) fleet_file = a.devices;
  else if (target.devices) fleet_file = target.devices;
  if (fleet_file) {
    const sim::FleetLoad load = sim::load_fleet(*fleet_file);
    for (const auto& w : load.warnings) std::cerr << "joincheck serve-ns: warning: " << w << "\n";
    o.mac_versions = sim::mac_versions_of(load.fleet);
    known = load.fleet.devices.size();
  }
  if (!a.default_mac_version.empty()) {
    o.default_mac_version = lorawan::parse_mac_version_or_throw(a.default_mac_version, "--default-mac-version");
  }
  if (a.rx2_dr >= 0) {
    if (a.rx2_dr > 15) throw lorawan::Error("--rx2-dr: expected a DR index 0..15, got " + std::to_string(a.rx2_dr));
    o.rx2_data_rate = static_cast<std::uint8_t>(a.rx2_dr);
  }
  if (a.dedup_ms >= 0) o.dedup_window = std::chrono::milliseconds(a.dedup_ms);

  auto tally = std::make_shared<Tally>();
  auto out_mutex = std::make_shared<std::mutex>();
  o.on_event = [tally, out_mutex](const sim::NsEvent& e) {
    tally->count(e.kind);
    const std::string line = sim::to_string(e);
    std::lock_guard lock(*out_mutex);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  };

  const lorawan::MacVersion default_mac = o.default_mac_version;
  sim::NetworkServer ns(std::move(o));
  ns.start();
  const std::string js_url = ns.js_client().options().url;
  std::cerr << "joincheck serve-ns: listening on udp://"
            << sim::UdpAddress{listen.host, ns.port()}.text() << " (" << ns.region().name() << "), JS " << js_url
            << ", NetID " << ns.js_client().options().net_id.hex() << ", "
            << (known > 0 ? std::to_string(known) + " devices with their MACVersion"
                          : "MACVersion " + std::string(lorawan::to_string(default_mac)) + " for every device")
            << std::endl;
  g_stop = 0;
  std::signal(SIGINT, on_serve_ns_signal);
  std::signal(SIGTERM, on_serve_ns_signal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cerr << "joincheck serve-ns: stopping" << std::endl;
  ns.stop();
  std::cerr << "joincheck serve-ns: " << tally->join_requests << " join-requests, " << tally->joins << " joined, "
            << tally->join_failures << " join failures, " << tally->uplinks << " data uplinks, " << tally->downlinks
            << " downlinks sent, " << tally->downlinks_failed << " downlinks not sent or refused" << std::endl;
  return kExitOk;
}

}  // namespace

std::function<int()> add_serve_ns_command(CLI::App& app) {
  auto a = std::make_shared<ServeNsArgs>();
  CLI::App* cmd = app.add_subcommand(
      "serve-ns", "Run joincheck's Network Server: Semtech UDP gateways in, a Join Server behind, every event printed");
  cmd->add_option("--listen", a->listen, "udp://HOST:PORT for the gateways (default udp://0.0.0.0:1700; port 0: any)");
  cmd->add_option("--js", a->js, "the Join Server URL, http(s)://host:port/path");
  cmd->add_option("--target", a->target,
                  "target file (TOML, as for `joincheck run --config`): URL, TLS, KEKs, NetID; flags override");
  cmd->add_option("--net-id", a->net_id, "this NS's NetID (SenderID, DevAddr prefix; default 000001)");
  cmd->add_option("--kek", a->keks, "LABEL=HEX key-encryption key shared with the JS; repeatable");
  cmd->add_option("--ca-cert", a->ca_cert, "CA certificate(s) (PEM) trusted for the JS's certificate");
  cmd->add_option("--tls-cert", a->tls_cert, "client certificate (PEM) for mutual TLS");
  cmd->add_option("--tls-key", a->tls_key, "its private key (PEM)");
  cmd->add_option("--region", a->region, "EU868 (default) or US915");
  cmd->add_option("--devices", a->devices, "fleet file: the MACVersion sent in each device's JoinReq");
  cmd->add_option("--default-mac-version", a->default_mac_version,
                  "MACVersion for devices the fleet does not list (default 1.0.3)");
  cmd->add_option("--rx2-dr", a->rx2_dr, "RX2 data rate index sent in DLSettings (default: the region's)");
  cmd->add_option("--dedup-ms", a->dedup_ms, "deduplication window in milliseconds (default 200)")
      ->check(CLI::Range(0, 10000));
  return [a]() -> int {
    try {
      return run(*a);
    } catch (const std::exception& e) {
      std::cerr << "joincheck serve-ns: " << e.what() << "\n";
      return kExitUsage;
    }
  };
}

}  // namespace joincheck::cli
