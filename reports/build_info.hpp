#pragma once
// What joincheck was built from, for `joincheck --version` and every report file: the project
// version (CMakeLists.txt) and the git commit of the source tree, written at each build by
// cmake/build_info.cmake.

#include <string>
#include <string_view>

namespace joincheck::reports {

struct BuildInfo {
  std::string_view version;  // "0.1.0"
  std::string_view commit;   // "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty"; "" when not built from git
};

BuildInfo build_info();

// "joincheck 0.1.0 (git 1a2b3c4d5e6f)", or "joincheck 0.1.0" without a commit.
std::string version_line();

}  // namespace joincheck::reports
