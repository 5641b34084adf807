// ATECC608 chip files (the emulated secure elements' provisioning) and chip references. Parsing
// throws only ChipFileError; a parsed file must write out again (outside the try).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "sim/secure_element/atecc608/chip_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim::atecc608;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::optional<ChipFile> chips;
  try {
    chips = parse_chip_file(text, "fuzz");
  } catch (const ChipFileError&) {
  }
  if (chips) (void)chip_file_to_json(*chips);
  try {
    (void)parse_chip_reference(text);
  } catch (const ChipFileError&) {
  }
  return 0;
}
