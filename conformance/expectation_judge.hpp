#pragma once
// The expectation judge: a scenario step's own verdict, apart from the checks that apply to
// every answer (conformance/validator.hpp). The answer's Result against the step's expectation
// (Success, a failure, one of some codes, a preferred code, an HTTP status), and for a Success
// that it is a usable one: the answer type the request asks for, a 2xx, a join-accept the
// device takes, and the content an AppSKeyReq or HomeNSReq asks for. Over the air, the downlink
// an expect_downlink step expects.

#include "conformance/result.hpp"
#include "conformance/run_devices.hpp"
#include "conformance/scenario.hpp"
#include "conformance/step_request.hpp"
#include "conformance/validator.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

// The step's own expectation against the exchange and the validator's summary of its answer.
Evaluation judge_expectation(const Expectation& e, const sim::Exchange& ex, const AnswerSummary& a);

// A pass or warning of judge_expectation() for an answer with Result Success, judged further: a
// Success must also be a usable answer (NSs do not read other bodies). `device` is the step's
// (null when it has none); `reveal_keys` shows the AppSKeys compared.
void judge_success_content(const Step& step, const StepRequest& request, const DeviceState* device,
                           const Validation& v, int http_status, bool reveal_keys, Evaluation& ev);

// The expectation of an expect_downlink step: a downlink in the step's window that answers the
// device's last uplink over the air (DeviceState::last_air) with the JS's join-accept, or, for a
// confirmed data uplink (or when the step asks for one), with an ACK the device verifies. A skip
// when the device sent nothing over the air before.
Evaluation judge_downlink(const Step& step, const DeviceState& ds);

}  // namespace joincheck::conformance
