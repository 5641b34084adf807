#pragma once
// Profiles (DESIGN.md "Profiles"): the documented deviations of a real Join Server, so that a
// user testing one sees them as `warn` with the reason instead of noise. `strict` has none.
// Profiles are TOML data files in conformance/profiles/, compiled into the program; a user may
// pass a file of their own.
//
//   name = "brocaar"
//   description = "brocaar/lorawan backend/joinserver (ChirpStack Application Server v3)"
//   source = "brocaar/lorawan backend/joinserver (commit a18a1037)"
//   [[known]]
//   check = "header/protocol-version-echo"      # a check id or a group ("devnonce")
//   verdict = "warn"                            # "warn" (default) or "skip"
//   reason = "always answers ProtocolVersion \"1.0\" (brocaar/lorawan backend/joinserver/joinserver.go)"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "conformance/check.hpp"
#include "conformance/result.hpp"
#include "lorawan/error.hpp"

namespace joincheck::conformance {

class ProfileError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

struct KnownDeviation {
  std::string check;  // an id, or a group
  Verdict verdict = Verdict::warn;  // warn or skip
  std::string reason;
};

struct Profile {
  std::string name = "strict";
  std::string description = "the specification alone";
  std::string source;
  std::vector<KnownDeviation> known;

  // The deviation that covers `check_id` (by id, else by its group); null when none.
  const KnownDeviation* find(std::string_view check_id) const;
};

// Parses a profile. Unknown keys, a check id that is not in `catalog`, a verdict other than
// warn/skip and a missing reason are errors naming `source`, the line and the key.
Profile parse_profile(std::string_view toml_text, std::string_view source,
                      const Catalog& catalog = Catalog::builtin());
// "strict", "brocaar", "tts", ... (built in), or a path to a .toml file.
Profile resolve_profile(std::string_view name_or_file, const Catalog& catalog = Catalog::builtin());
std::vector<std::string> builtin_profile_names();

}  // namespace joincheck::conformance
