#pragma once
// `joincheck doctor`: what is wrong with a ChirpStack + external Join Server setup, and which
// setting fixes it. Findings are CheckResults (ids `doctor/<scope>.<finding>`, registered in
// the Catalog the doctor returns) so that the console, JSON and JUnit reports write them like
// a run's checks.
//
//  - static findings, from the file alone: the TLS files of every JS (and of
//    [backend_interfaces]) exist, parse, the key matches the certificate and has a format the
//    version accepts, certificates are not expired or close to expiry; KEKs are 16/24/32 bytes
//    of hex; join_eui_prefix syntax and order (a broader prefix before a narrower one shadows
//    it); keys the version ignores (v4's template async_interface*; docs/checks.md#doctor); the
//    DNS name JoinEUI resolution would use; every server URL a join can be posted to is one
//    ChirpStack can post to (`doctor/<scope>.server`: an empty one is ChirpStack v3's `Post ""`);
//    a file without Join Server settings; the decision path of each JoinEUI of --join-eui and
//    --devices (`doctor/route.<JoinEUI>`, conformance/doctor_routing.hpp);
//  - live findings (DoctorOptions::live): for every JS with an https server, the tls/ checks
//    (conformance/tls_checks.hpp) connecting as that version does (v3: ca_cert replaces the
//    system roots; v4: adds to them), with its client certificate, as
//    `doctor/<scope>.tls-<check>`, then a probe JoinReq sent as ChirpStack would send it
//    (`doctor/<scope>.probe-join`): an unknown DevEUI must get UnknownDevEUI; with
//    probe_device (--probe-device, which costs a DevNonce and needs --state) that device must join; UnknownSender, a wrong KEK label and transport errors are named with their fix.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "conformance/check.hpp"
#include "conformance/chirpstack_config.hpp"
#include "conformance/doctor_routing.hpp"
#include "conformance/result.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"

namespace joincheck::conformance {

struct DoctorOptions {
  std::filesystem::path chirpstack_config;
  bool live = true;
  // Per connection, and the deadline of the ChirpStack v3 probe (v3 itself has none). The v4
  // probe waits v4's own 5 s (sim::persona_js_timeout).
  std::chrono::milliseconds timeout{5000};
  // SenderID of the probes: this, else the file's [network] net_id (v3: [network_server]),
  // else ChirpStack's default 000000.
  std::optional<std::string> net_id;
  // Devices the JSs know: their JoinEUIs are routed (doctor/route.*) and give the JoinEUI of
  // each JS's probe. The probe is an unknown DevEUI that must get a clean UnknownDevEUI, unless
  // probe_device is set.
  std::optional<sim::Fleet> fleet;
  // Probe with a device of `fleet` (it must join) instead of an unknown DevEUI. It uses up one
  // of the device's DevNonces (a LoRaWAN 1.0.4/1.1 JS then refuses every lower one), so it needs
  // device_counters (the --state file, sim/device/counters_file.hpp), read before and updated
  // here. "": the first device under each JS's prefix; else that device's DevEUI.
  std::optional<std::string> probe_device;
  sim::DeviceCountersMap* device_counters = nullptr;
  std::chrono::hours expiry_warning{24 * 30};
  // JoinEUIs (16 hex digits) whose decision path is printed (`doctor/route.<JoinEUI>`), with the
  // JoinEUIs of `fleet`.
  std::vector<std::string> join_euis;
  // DNS lookups of JoinEUI names (v3 resolve_join_eui, empty servers); default: the system
  // resolver with dns_timeout as the deadline. Tests inject their own.
  DnsResolver resolve;
  std::chrono::milliseconds dns_timeout{3000};
};

struct DoctorResult {
  Catalog catalog;  // the findings' ids, titles and levels
  RunReport report;
};

// Throws sim::ConfigError when the file cannot be read as TOML, or when probe_device is set
// without fleet, without device_counters, or names a DevEUI fleet lacks (exit code 2).
DoctorResult run_doctor(const DoctorOptions& options);

}  // namespace joincheck::conformance
