// Fleet files, JSON and CSV (`--devices`), without a folder: chip references are not looked up
// on disk. Parsing throws only FleetError; a parsed fleet must write out again (outside the try).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "sim/fleet/fleet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<FleetLoad> load;
  try {
    load = parse_fleet(text, detect_fleet_format(text), "fuzz");
  } catch (const FleetError&) {
  }
  if (load) {
    (void)fleet_to_json(load->fleet);
    (void)fleet_to_csv(load->fleet);
  }
  return 0;
}
