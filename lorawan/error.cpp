#include "lorawan/error.hpp"

namespace joincheck::lorawan {

std::string join_error_lines(const std::vector<std::string>& errors, std::size_t shown) {
  std::string out;
  for (std::size_t i = 0; i < errors.size() && i < shown; ++i) {
    if (i) out += '\n';
    out += errors[i];
  }
  if (errors.size() > shown) out += "\n(and " + std::to_string(errors.size() - shown) + " more errors)";
  return out;
}

}  // namespace joincheck::lorawan
