// Scenario files (`run --scenario`), as users script them. Only ScenarioError may be thrown.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conformance/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)conformance::parse_scenarios(text, "fuzz.json");
  } catch (const conformance::ScenarioError&) {
  }
  return 0;
}
