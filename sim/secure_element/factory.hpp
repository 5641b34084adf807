#pragma once
// The secure element of a fleet device, from its "SecureElement" field (fleet.hpp):
//
//   absent, or {"kind": "software"}        the fleet entry's AppKey/NwkKey in memory (default)
//   {"kind": "atecc608", "i2c": "/dev/i2c-1", "address": "0x59"}
//                                           a real ATECC608A/B(-TNGLORA) on a Linux I2C bus
//                                           (address defaults to 0x59, TNGLORA's)
//   {"kind": "atecc608-emulated", "chip": "chips.json#3"}
//                                           an emulated chip provisioned from a chip file
//                                           (sim/secure_element/atecc608/chip_file.hpp), the
//                                           path relative to the fleet file's folder
//
// Optional members of "atecc608":
//   "slots": {"AppKey": "0/0", "NwkKey": "0/1"}   root key slot/block, for chips provisioned
//                                                  unlike TNGLORA (TNGLoRaWAN data sheets, slot map)
// and of "atecc608-emulated" (always provisioned with the TNGLORA layout):
//   "timing": "none" | "typical" | "max"           execution times on the virtual clock
//   "faults": {"no_wake": N, "corrupt_response_crc": N, "corrupt_command_crc": N,
//              "busy_reads": N, "force_status": N, "forced_status": "0x0F",
//              "forced_status_opcode": "0x51", "refuse_read_slot": 10,
//              "self_test_failure_wakes": N, "watchdog_about_to_expire": N}
//              (N a count, or "always")
// Unknown members are errors, as everywhere in a fleet file.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sim/fleet/fleet.hpp"
#include "sim/secure_element/atecc608/atecc_se.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"
#include "sim/secure_element/atecc608/emulator.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::sim {

enum class SecureElementKind { software, atecc608, atecc608_emulated };
std::string_view to_string(SecureElementKind kind);  // "software", "atecc608", "atecc608-emulated"
std::optional<SecureElementKind> parse_secure_element_kind(std::string_view text);

struct SecureElementSpec {
  SecureElementKind kind = SecureElementKind::software;
  std::string i2c;                       // atecc608
  std::uint8_t address = 0x59;           // atecc608, 7-bit
  std::string chip;                      // atecc608-emulated: a chip reference
  std::optional<AteccKeyLocation> app_key_location;
  std::optional<AteccKeyLocation> nwk_key_location;
  atecc608::TimingModel timing = atecc608::TimingModel::none;
  atecc608::Faults faults;
};

// Parses the field's JSON text. Throws lorawan::Error naming the member, what was expected and
// what was seen.
SecureElementSpec parse_secure_element_spec(std::string_view json_text);
// The spec of a fleet device (software when it names none). Throws like the above.
SecureElementSpec secure_element_spec(const FleetDevice& device);

// The secure element of `device`: its chip references resolved against `fleet_folder`, an
// emulated chip checked against the entry (identity, version, keys the entry gives). `seed`
// seeds the software element's and the emulator's random numbers. Throws SecureElementError (a
// chip that does not answer or holds another DevEUI) or lorawan::Error (a spec, chip file or
// I2C bus that cannot be used), each naming the device.
std::unique_ptr<SecureElement> make_secure_element(const FleetDevice& device,
                                                   const std::filesystem::path& fleet_folder,
                                                   std::uint64_t seed,
                                                   atecc608::ChipFileCache* cache = nullptr);

// For emulated chips: fills a fleet device's absent root keys from its chip, so a JS reading the
// fleet can provision the device, and refuses a chip whose identity or keys differ from the
// fleet entry's (keys are never printed). Other kinds are left as they are.
void complete_from_chip(FleetDevice& device, const std::filesystem::path& fleet_folder,
                        atecc608::ChipFileCache& cache);

}  // namespace joincheck::sim
