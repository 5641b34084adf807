// ValidatorSettings::failures_only (the load generator's mode) records exactly the failed and
// unjudged checks that a full validation records, with the same words, for answers of a correct
// JS and of JSs with faults: the lazy words of a pass never change a verdict.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "conformance/embedded_target.hpp"
#include "conformance/run_devices.hpp"
#include "conformance/step_request.hpp"
#include "conformance/validator.hpp"
#include "sim/join_server/faults.hpp"

namespace joincheck::conformance {
namespace {

std::string describe(const Judgement& j) {
  return j.check + " " + std::string(to_string(j.evaluation.verdict)) + " expected [" + j.evaluation.expected +
         "] actual [" + j.evaluation.actual + "] reason [" + j.evaluation.reason + "]";
}

std::vector<std::string> not_passed(const Validation& v) {
  std::vector<std::string> out;
  for (const auto& j : v.judgements) {
    if (j.evaluation.verdict != Verdict::pass) out.push_back(describe(j));
  }
  return out;
}

TEST(ValidatorFailuresOnly, RecordsTheSameFailuresAsAFullValidation) {
  const char* faults[] = {"",
                          "wrong-app-s-key",
                          "wrong-session-key",
                          "bad-accept-mic",
                          "wrong-netid-in-accept",
                          "wrong-dev-addr",
                          "wrong-dl-settings",
                          "wrong-rx-delay",
                          "drop-cflist",
                          "no-lifetime",
                          "no-session-key-id",
                          "wrong-transaction-id",
                          "drop-receiver-token",
                          "no-id-swap",
                          "wrong-content-type",
                          "reuse-joinnonce"};
  std::size_t failures_seen = 0;
  for (const char* fault : faults) {
    EmbeddedTargetOptions eo;
    eo.devices_per_version = 1;
    if (*fault != '\0') sim::add_fault(eo.faults, fault);
    EmbeddedTarget js(eo);
    const TargetConfig target = js.target();
    sim::NsClient client(target.ns);
    StepRequestBuilder builder(target, 7);
    ValidatorSettings full = validator_settings_for(target, false);
    ValidatorSettings failures_only = full;
    failures_only.failures_only = true;

    for (const sim::FleetDevice& fd : js.fleet().devices) {
      // Two copies of the device: one judged in full, one judged for failures only.
      DeviceState a;
      DeviceState b;
      a.fleet_device = b.fleet_device = fd;
      a.device = std::make_unique<sim::SimDevice>(fd, sim::SimDeviceOptions{});
      b.device = std::make_unique<sim::SimDevice>(fd, sim::SimDeviceOptions{});
      // Two joins each, so that a repeated JoinNonce is seen on the second.
      for (std::uint16_t n = 200; n < 202; ++n) {
        Step step;
        step.kind = StepKind::join;
        step.dev_nonce.kind = DevNonceChoice::value;
        step.dev_nonce.number = n;
        StepRequest request = builder.build(step, &a, client);
        (void)b.device->make_join_request(lorawan::DevNonce(n));  // the same pending join-request
        const sim::Exchange ex = client.send_raw(request.type, request.body, request.transaction_id);
        const Validation whole = validate_exchange(ex, request.sent, a.device.get(), &a.history, full);
        const Validation failed = validate_exchange(ex, request.sent, b.device.get(), &b.history, failures_only);
        const std::string where = std::string("fault \"") + fault + "\", device " + fd.dev_eui.hex() + ", join " +
                                  std::to_string(n - 199);
        EXPECT_EQ(not_passed(failed), not_passed(whole)) << where;
        for (const auto& j : failed.judgements) EXPECT_NE(j.evaluation.verdict, Verdict::pass) << where;
        EXPECT_EQ(failed.answer.device_accepted, whole.answer.device_accepted) << where;
        EXPECT_EQ(failed.answer.result, whole.answer.result) << where;
        EXPECT_TRUE(failed.notes.empty()) << where;
        EXPECT_FALSE(failed.join_accept.has_value()) << where;
        failures_seen += not_passed(whole).size();
      }
    }
  }
  EXPECT_GT(failures_seen, 20u) << "the faults were not seen: the comparison proved nothing";
}

}  // namespace
}  // namespace joincheck::conformance
