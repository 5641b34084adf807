#pragma once
// Why a join that should have succeeded was refused, when the answer says "replayed DevNonce".
//
// The most common red run is not a broken JS: the JS remembers every DevNonce it accepted
// (LoRaWAN 1.0.4 §6.2.5, 1.1 §6.2.2: a DevNonce is never reused for a JoinEUI), and a second
// run with the same fleet starts the devices' counters again from the fleet file. The refusal is
// then the JS doing its job. These texts say so first, and what to do.

#include <optional>
#include <string>
#include <string_view>

#include "backend/result_code.hpp"

namespace joincheck::conformance {

// True when a refusal reads as a DevNonce replay: Result FrameReplayed (TS002 1.1), JoinReqFailed
// (TS002 1.0) without a description, or any refusal whose description names the DevNonce or a
// replay. `description` is the answer's Description alone, without the code.
bool looks_like_devnonce_replay(std::optional<backend::ResultCode> result, std::string_view description);

// "likely cause: ..." with the remedies (`--state FILE`, shared with pytest's --joincheck-state;
// a fresh fleet; a JS that forgets the devices). `state_in_use`: the devices' counters came from
// a state file, so the file may be older than the JS's memory.
std::string devnonce_replay_hint(bool state_in_use);

}  // namespace joincheck::conformance
