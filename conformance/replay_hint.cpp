#include "conformance/replay_hint.hpp"

#include <algorithm>
#include <cctype>

namespace joincheck::conformance {

namespace {

bool contains_ignoring_case(std::string_view text, std::string_view word) {
  const auto it = std::search(text.begin(), text.end(), word.begin(), word.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

}  // namespace

bool looks_like_devnonce_replay(std::optional<backend::ResultCode> result, std::string_view description) {
  if (result == backend::ResultCode::success) return false;
  if (result == backend::ResultCode::frame_replayed) return true;
  const bool names_it = contains_ignoring_case(description, "devnonce") ||
                        contains_ignoring_case(description, "dev nonce") || contains_ignoring_case(description, "replay");
  // JoinReqFailed is also the code of other refusals: without a description it is most often a
  // replay (The Things Stack answers a replay so); with a description, the description must say so.
  if (result == backend::ResultCode::join_req_failed) return description.empty() || names_it;
  return names_it;
}

std::string devnonce_replay_hint(bool state_in_use) {
  std::string hint =
      "likely cause: the JS refused a DevNonce it has seen before. A JS remembers every DevNonce it "
      "accepted (LoRaWAN 1.0.4 §6.2.5, 1.1 §6.2.2), so a second run with the same fleet replays the first run's "
      "DevNonces. ";
  if (state_in_use) {
    hint +=
        "The devices' counters came from the --state file: it is older than what the JS remembers (another "
        "run, or pytest, used the fleet without it). ";
  }
  hint +=
      "Keep the devices' counters between runs with --state FILE (the same file for every run, and for pytest "
      "with --joincheck-state FILE), use a fresh fleet (joincheck devices generate with another --seed), or "
      "let the JS forget the devices";
  return hint;
}

}  // namespace joincheck::conformance
