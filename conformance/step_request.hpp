#pragma once
// The request a scenario step sends to the Join Server, built as the NS would send it and then
// edited as the step says:
//  - the header: the NS's (NsClient::request_header, with the NS persona's fields), then the
//    step's ProtocolVersion, SenderID, ReceiverID, SenderToken, SenderNSID, TransactionID and
//    VSExtension;
//  - the body: a JoinReq or RejoinReq with the device's join-request or rejoin-request (the
//    step's DevNonce choice, MIC corruption and PHYPayload change) and the persona's or the
//    step's MACVersion, DevAddr, DLSettings, RxDelay and CFList; an AppSKeyReq for the last (or
//    previous) SessionKeyID of the device; a HomeNSReq; or a raw body as written;
//  - the edits of the encoded JSON: hex style, omitted, null and set fields.
// With it comes what the validator needs to judge the answer (SentRequest).

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>

#include "backend/messages.hpp"
#include "conformance/run_devices.hpp"
#include "conformance/scenario.hpp"
#include "conformance/target.hpp"
#include "conformance/validator.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

struct StepRequest {
  backend::MessageType type = backend::MessageType::join_req;  // the path's type
  std::string body;
  std::uint32_t transaction_id = 0;
  SentRequest sent;
  lorawan::Bytes session_key_id;  // AppSKeyReq: the one asked for
  lorawan::Bytes phy_payload;     // join/rejoin: the PHYPayload sent
};

// A step that cannot be carried out (no previous DevNonce, a device that cannot rejoin, ...).
class StepError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A step that does not apply to this target (no SessionKeyID was ever given, ...): skipped.
class StepNotApplicable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the requests of a run's steps. Its random TransactionIDs and DevAddrs follow from the
// run's seed, in the order the steps are built.
class StepRequestBuilder {
 public:
  StepRequestBuilder(const TargetConfig& target, std::uint64_t seed);

  // The request of a join, rejoin, app-s-key, home-ns or raw step; `device` is the step's (null
  // only for a raw step without one), `client` gives the NS's header. Throws StepError and
  // StepNotApplicable.
  StepRequest build(const Step& step, DeviceState* device, const sim::NsClient& client);

 private:
  // Placeholders a scenario may use for identifiers that depend on the target.
  std::string substitute(const std::string& value) const;
  // The NS's header with the step's header edits; fills what `request.sent` says of them.
  backend::Header header(const Step& step, const DeviceState& device, const sim::NsClient& client,
                         StepRequest& request) const;

  const TargetConfig& target_;
  std::mt19937_64 rng_;
};

}  // namespace joincheck::conformance
