// Fleet files, JSON and CSV (`--devices`), without a folder: chip references are not looked up
// on disk. A parsed fleet must write back out. Only lorawan::Error (FleetError) may be thrown.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/fleet/fleet.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const FleetLoad load = parse_fleet(text, detect_fleet_format(text), "fuzz");
    (void)fleet_to_json(load.fleet);
  } catch (const joincheck::lorawan::Error&) {
  }
  return 0;
}
