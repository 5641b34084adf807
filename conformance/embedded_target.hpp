#pragma once
// The embedded default target (DESIGN.md): the reference Join Server started in-process with a
// generated fleet, the harness's NetID registered with a KEK, a JS-AS KEK, a home NetID and
// NSID, so that `joincheck run` without --target judges every check on a fresh machine. Tests
// start it with faults and vendor behaviours to prove the checks both ways.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conformance/target.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/join_server/faults.hpp"
#include "sim/join_server/service.hpp"

namespace joincheck::conformance {

// The target a report of a run against the embedded JS names, before the URL of the run's own
// instance: EmbeddedTarget::label() is "embedded reference JS (http://127.0.0.1:PORT)".
inline constexpr std::string_view kEmbeddedTargetName = "embedded reference JS";
// Whether a report's target is the embedded reference JS, whatever its URL: each run starts its
// own on an ephemeral port, so two runs against it name different URLs for one target.
bool is_embedded_target(std::string_view report_target);

struct EmbeddedTargetOptions {
  sim::FaultSet faults;
  sim::Behaviour behaviour = sim::Behaviour::strict;
  bool async = false;  // the JS POSTs its answers to the harness's listener
  std::uint64_t seed = 1;
  std::size_t devices_per_version = 2;  // of each of suite_mac_versions()
  // The devices to provision instead of the generated ones.
  std::optional<sim::Fleet> fleet;
  // The JS's SQLite state (DevNonces, JoinNonces), kept across restarts; empty: memory only.
  std::filesystem::path database;
};

class EmbeddedTarget {
 public:
  // Starts the JS on 127.0.0.1 (an ephemeral port). Throws what JoinServerService throws.
  explicit EmbeddedTarget(EmbeddedTargetOptions options = {});
  ~EmbeddedTarget();
  EmbeddedTarget(const EmbeddedTarget&) = delete;
  EmbeddedTarget& operator=(const EmbeddedTarget&) = delete;

  // How the harness reaches it: URL, NetID, KEKs, capabilities.
  const TargetConfig& target() const { return target_; }
  const sim::Fleet& fleet() const { return fleet_; }
  sim::JoinServerService& service() { return *service_; }
  // "embedded reference JS (http://127.0.0.1:PORT)"
  std::string label() const;

 private:
  TargetConfig target_;
  sim::Fleet fleet_;
  std::unique_ptr<sim::JoinServerService> service_;
};

}  // namespace joincheck::conformance
