#include "reports/build_info.hpp"

namespace joincheck::reports {

std::string version_line() {
  const BuildInfo info = build_info();
  std::string line = "joincheck " + std::string(info.version);
  if (!info.commit.empty()) line += " (git " + std::string(info.commit) + ")";
  return line;
}

}  // namespace joincheck::reports
