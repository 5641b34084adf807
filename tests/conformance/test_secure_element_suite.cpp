// The whole suite with devices whose keys live in emulated ATECC608 chips: the same verdicts as
// software devices holding the same keys (the join processing runs on the chip's primitives,
// the keys are compared by key check value), and a chip that fails turns its device's checks
// into `error`, naming the device, the command and the status, without stopping the run.
#include <gtest/gtest.h>

#include <map>
#include <tuple>

#include "conformance/embedded_target.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"
#include "sim/sim_test_support.hpp"

namespace joincheck::conformance {
namespace {

using sim::test_support::TempDir;

RunReport run_suite(const sim::Fleet& fleet) {
  EmbeddedTargetOptions eo;
  eo.fleet = fleet;
  EmbeddedTarget target(eo);
  RunOptions o;
  o.target = target.target();
  o.fleet = fleet;
  o.scenarios = builtin_suite();
  return run_scenarios(o);
}

// The embedded target's fleet, each device in an emulated chip provisioned with its keys; the
// fleet entries keep their keys (the JS provisions from them). `se_extra` adds members to the
// SecureElement object of device `faulty` (e.g. faults).
sim::Fleet emulated_fleet(const TempDir& dir, std::optional<std::size_t> faulty = std::nullopt,
                          const std::string& se_extra = "") {
  sim::Fleet fleet = EmbeddedTarget().fleet();
  sim::atecc608::ChipFile chips;
  for (std::size_t i = 0; i < fleet.devices.size(); ++i) {
    sim::FleetDevice& d = fleet.devices[i];
    chips.chips.push_back(sim::atecc608::generate_chip(
        99, i, d.dev_eui, d.join_eui, *d.app_key, lorawan::is_1_1(d.mac_version) ? d.nwk_key : std::nullopt));
    std::string se = R"({"kind": "atecc608-emulated", "chip": "chips.json#)" + std::to_string(i) + "\"";
    if (faulty && *faulty == i) se += ", " + se_extra;
    d.secure_element = se + "}";
  }
  sim::atecc608::save_chip_file(chips, dir / "chips.json");
  fleet.folder = dir.path();
  return fleet;
}

// Per check: the verdict, how many evaluations it had and how many failed, so that one scenario
// judged differently cannot hide behind the same worst verdict.
std::map<std::string, std::tuple<Verdict, std::size_t, std::size_t>> verdicts(const RunReport& r) {
  std::map<std::string, std::tuple<Verdict, std::size_t, std::size_t>> out;
  for (const auto& c : r.results) out[c.check.id] = {c.verdict, c.evaluations, c.failed_evaluations};
  return out;
}

TEST(SecureElementSuite, EmulatedChipsGetTheVerdictsOfSoftwareKeys) {
  TempDir dir;
  const RunReport software = run_suite(EmbeddedTarget().fleet());
  const RunReport chips = run_suite(emulated_fleet(dir));
  ASSERT_TRUE(chips.setup_error.empty()) << chips.setup_error;
  EXPECT_EQ(verdicts(chips), verdicts(software));
  EXPECT_EQ(chips.counts().fail, 0u);
  EXPECT_EQ(chips.counts().error, 0u);
  // The key checks were judged, by key check value since the chips keep their keys.
  std::size_t key_checks = 0;
  for (const auto& c : chips.results) {
    if (c.check.group() == "keys" && c.verdict == Verdict::pass) ++key_checks;
  }
  EXPECT_GE(key_checks, 3u);
}

TEST(SecureElementSuite, AChipThatNeverWakesMakesItsDeviceChecksErrors) {
  TempDir dir;
  const sim::Fleet fleet = emulated_fleet(dir, 0, R"("faults": {"no_wake": "always"})");
  const RunReport r = run_suite(fleet);
  ASSERT_TRUE(r.setup_error.empty()) << r.setup_error;
  EXPECT_GT(r.counts().error, 0u);
  EXPECT_EQ(r.counts().fail, 0u);
  bool named = false;
  for (const auto& c : r.results) {
    if (c.verdict != Verdict::error) continue;
    if (c.reason.find(fleet.devices[0].dev_eui.hex()) != std::string::npos &&
        c.reason.find("cannot be simulated") != std::string::npos &&
        c.reason.find("wake") != std::string::npos) {
      named = true;
    }
  }
  EXPECT_TRUE(named);
  // The other devices' checks are still judged.
  EXPECT_GT(r.counts().pass, 10u);
}

TEST(SecureElementSuite, AChipRefusingAesMidJoinMakesTheStepAnErrorNamingStatus) {
  TempDir dir;
  // Reads (identity) work; every AES command (opcode 0x51) answers 0x0F.
  const sim::Fleet fleet = emulated_fleet(
      dir, 0, R"("faults": {"force_status": "always", "forced_status": "0x0F", "forced_status_opcode": "0x51"})");
  const RunReport r = run_suite(fleet);
  EXPECT_GT(r.counts().error, 0u);
  EXPECT_EQ(r.counts().fail, 0u);
  bool named = false;
  for (const auto& c : r.results) {
    if (c.verdict == Verdict::error && c.reason.find("secure element") != std::string::npos &&
        c.reason.find(fleet.devices[0].dev_eui.hex()) != std::string::npos &&
        c.reason.find("0x0F") != std::string::npos) {
      named = true;
    }
  }
  EXPECT_TRUE(named);
}

}  // namespace
}  // namespace joincheck::conformance
