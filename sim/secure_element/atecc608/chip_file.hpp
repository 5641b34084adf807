#pragma once
// Emulated ATECC608A-TNGLORA chips and the file that provisions them (the "atecc608-emulated"
// secure element of a fleet; docs/secure-element.md#chip-files-emulated-chips):
//
//   {"chips": [{"Serial": "0123a1b2c3d4e5f627", "DevEUI": "<16 hex>", "JoinEUI": "<16 hex>",
//               "AppKey": "<32 hex>", "NwkKey": "<32 hex, 1.1 chips only>"}, ...]}
//
// What a chip holds (TNGLoRaWAN data sheets): the 9-byte serial in config bytes 0-3 and 8-12, the
// DevEUI as 16 upper-case ASCII hex characters in slot 10, the JoinEUI as 8 bytes in slot 9, and
// the root keys in slot 0. A chip with an AppKey only is a LoRaWAN 1.0.x chip: its root key sits in
// slot 0 block 1 (bytes 16-31), where LoRaMac-node's 1.0.x code reads NWK_KEY ("All sources agree",
// TNGLoRaWAN data sheets, slot map). A chip with a NwkKey too is a 1.1 chip: AppKey in block 0,
// NwkKey in block 1 (LoRaMac-node PR #1382).
//
// Reading is strict, as for fleet files (sim/fleet/fleet.hpp): an unknown field, bad hex, a wrong
// length, a missing field, a duplicate JSON key, serial or DevEUI is an error naming the file,
// `chips[i]` and the field; key values are never printed. All errors of a file are reported at
// once.
//
// A fleet names a chip by reference: "chips.json#3" (the chip at zero-based index 3) or
// "chips.json#serial=0123a1b2c3d4e5f627"; a relative path is resolved against a base directory
// (the fleet file's folder).

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lorawan/error.hpp"
#include "lorawan/types.hpp"
#include "sim/secure_element/atecc608/protocol.hpp"

namespace joincheck::sim::atecc608 {

struct ChipProvisioning {
  Serial serial{};
  lorawan::Eui64 dev_eui;
  lorawan::Eui64 join_eui;
  lorawan::Aes128Key app_key;
  std::optional<lorawan::Aes128Key> nwk_key;  // present on LoRaWAN 1.1 chips only

  bool is_1_1() const { return nwk_key.has_value(); }
  friend bool operator==(const ChipProvisioning&, const ChipProvisioning&) = default;
};

struct ChipFile {
  std::vector<ChipProvisioning> chips;
  friend bool operator==(const ChipFile&, const ChipFile&) = default;
};

// A chip file or reference that cannot be used. what() lists the first errors, one per line.
class ChipFileError : public lorawan::Error {
 public:
  explicit ChipFileError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// 18 lower-case hex digits, as Microchip's manifests write a serial ("uniqueId").
std::string serial_hex(const Serial& serial);
// 18 hex digits, either case. Throws lorawan::Error naming `field`.
Serial parse_serial(std::string_view text, std::string_view field = "Serial");

// Parses chip-file text; `source` names the file in messages. Throws ChipFileError.
ChipFile parse_chip_file(std::string_view text, std::string_view source);
// Throws ChipFileError (also when the file cannot be read).
ChipFile load_chip_file(const std::filesystem::path& file);
// Fields in the order above, hex in lower case, NwkKey omitted for 1.0.x chips.
// parse_chip_file() of the text gives back an equal ChipFile.
std::string chip_file_to_json(const ChipFile& file);
// Throws ChipFileError naming the file when it cannot be written.
void save_chip_file(const ChipFile& chips, const std::filesystem::path& file);

// "chips.json#3" or "chips.json#serial=0123a1b2c3d4e5f627".
struct ChipReference {
  std::filesystem::path file;
  std::optional<std::size_t> index;
  std::optional<Serial> serial;
};
// Throws ChipFileError saying what a reference looks like.
ChipReference parse_chip_reference(std::string_view text);
// The chip a reference names, `file` resolved against `base_directory` when relative. Throws
// ChipFileError (file errors, an index past the end, an unknown serial).
ChipProvisioning resolve_chip_reference(std::string_view reference,
                                        const std::filesystem::path& base_directory);

// The same, reading each file once: a fleet of a thousand devices referring to one chip file
// parses it once. Not thread-safe.
class ChipFileCache {
 public:
  ChipProvisioning resolve(std::string_view reference, const std::filesystem::path& base_directory);
  const ChipFile& load(const std::filesystem::path& file);

 private:
  std::map<std::filesystem::path, ChipFile> files_;
};

// A chip for a simulated device: serial 01 23 | 6 bytes | 27, where the 6 bytes are a bijection
// of `index` keyed by `seed` (distinct for every index below 2^48 of one seed), and the given
// identity and keys (`nwk_key` for a 1.1 chip).
Serial generate_serial(std::uint64_t seed, std::uint64_t index);
ChipProvisioning generate_chip(std::uint64_t seed, std::uint64_t index,
                               const lorawan::Eui64& dev_eui, const lorawan::Eui64& join_eui,
                               const lorawan::Aes128Key& app_key,
                               const std::optional<lorawan::Aes128Key>& nwk_key = std::nullopt);

}  // namespace joincheck::sim::atecc608
