#pragma once
// The over-the-air path of `joincheck run --via-gateway` (RunOptions::via_gateway): joincheck's
// NS (sim::NetworkServer) in front of the target and simulated gateways (sim::AirLink). A join
// step that edits nothing of the request travels device -> gateway -> NS -> JS -> NS -> gateway
// -> device: the NS composes the JoinReq, and the exchange it had with the JS is the one judged.
// Uplink steps send data uplinks the same way. What answered a device's last uplink is kept in
// its DeviceState::last_air for an expect_downlink step.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "conformance/run_devices.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "conformance/step_request.hpp"
#include "conformance/validator.hpp"
#include "sim/gateway/air_link.hpp"
#include "sim/network_server/network_server.hpp"

namespace joincheck::conformance {

class GatewayPath {
 public:
  explicit GatewayPath(const RunOptions& options);
  ~GatewayPath();
  GatewayPath(const GatewayPath&) = delete;
  GatewayPath& operator=(const GatewayPath&) = delete;

  // Starts the NS and the gateways. Returns why they could not be set up; "" when they run.
  std::string start();
  // Started: join steps that carries() takes, and uplink steps, go over the air.
  bool active() const { return air_ != nullptr; }
  // A join step the NS can send as it is: no edit of the request.
  static bool carries(const Step& step);

  // Sends the join-request of `request` through the gateways and returns the NS's exchange with
  // the JS (`request.sent` then says what the NS sent); nullopt (with `problem`) when the NS did
  // not ask the JS. `receipt`: gateway 0's, for await_join_accept().
  std::optional<sim::Exchange> join(DeviceState& ds, StepRequest& request, sim::UplinkReceipt& receipt,
                                    std::string& problem);
  // Waits for the downlink of the join-accept the JS gave (`v`), and keeps it in ds.last_air.
  void await_join_accept(DeviceState& ds, const sim::UplinkReceipt& receipt, const Validation& v);
  // Sends the data uplink of an uplink step, waiting for its answer when it is confirmed or
  // `awaited` (the next step expects it), and keeps that answer in ds.last_air. False (with
  // `problem`) when the uplink did not reach the NS.
  bool uplink(DeviceState& ds, const Step& step, bool awaited, std::string& problem);

 private:
  // The JS exchanges of the NS, handed over from its JS thread.
  struct ExchangeQueue;

  // A gateway emits one downlink at a time: before an uplink whose answer is due `delay` later,
  // waits until no downlink the gateway accepted is on the air then (harness devices must not
  // collide with each other; a real network spreads them over time and gateways).
  void wait_for_free_air(std::chrono::microseconds delay);

  const RunOptions& options_;
  std::unique_ptr<sim::NetworkServer> ns_;
  std::unique_ptr<sim::AirLink> air_;
  std::shared_ptr<ExchangeQueue> ns_exchanges_;
};

}  // namespace joincheck::conformance
