// ATECC608 chip files (the emulated secure elements' provisioning) and chip references. A parsed
// file must write back out. Only lorawan::Error (ChipFileError) may be thrown.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sim/secure_element/atecc608/chip_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim::atecc608;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)chip_file_to_json(parse_chip_file(text, "fuzz"));
  } catch (const joincheck::lorawan::Error&) {
  }
  try {
    (void)parse_chip_reference(text);
  } catch (const joincheck::lorawan::Error&) {
  }
  return 0;
}
