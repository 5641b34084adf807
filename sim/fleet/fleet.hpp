#pragma once
// A fleet: the simulated devices a scenario uses and the reference JS provisions, read from and
// written to a fleet file (DESIGN.md "Interfaces that users script against"):
//
//   JSON  {"devices": [{"DevEUI": "0102030405060708", "JoinEUI": "...", "MACVersion": "1.0.3",
//                       "AppKey": "<32 hex>", "NwkKey": "<32 hex, 1.1 devices>",
//                       "DevNoncePolicy": "counter|random|fixed", "DevNonceStart": 0,
//                       "SecureElement": {...}}, ...]}
//   CSV   a header row with the same column names, one device per row; SecureElement is a cell
//         holding the object as JSON text, or the column is absent.
//
// Reading is strict, because a fleet file is configuration a user wrote: an unknown field or
// column (a typo such as "Appkey") is an error, never a silently dropped key. Every error names
// the file, the device (`devices[i]` and the DevEUI for JSON, the line and the DevEUI for CSV),
// the field, what was expected and what was seen; key values are never printed (only their
// length and the position of an offending character). All errors of a file are reported at once.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lorawan/error.hpp"
#include "lorawan/types.hpp"

namespace joincheck::sim {

// How a simulated device chooses the DevNonce of its next join-request.
enum class DevNoncePolicy {
  counter,  // DevNonceStart, then +1 per join-request (LoRaWAN 1.0.4 and 1.1)
  random,   // a fresh random value per join-request (LoRaWAN 1.0.0 to 1.0.3)
  fixed,    // always DevNonceStart (a misbehaving device: every join after the first replays)
};
std::string_view to_string(DevNoncePolicy policy);
// "counter", "random", "fixed" exactly; nullopt otherwise.
std::optional<DevNoncePolicy> parse_dev_nonce_policy(std::string_view text);

// One device of a fleet file. Optional fields stay absent when the file does not give them, so
// that writing a fleet back reproduces what was read.
struct FleetDevice {
  lorawan::Eui64 dev_eui;
  lorawan::Eui64 join_eui;
  lorawan::MacVersion mac_version = lorawan::MacVersion::v1_0_3;
  std::optional<lorawan::Aes128Key> app_key;  // required for 1.0.x, recommended for 1.1
  std::optional<lorawan::Aes128Key> nwk_key;  // required for 1.1
  std::optional<DevNoncePolicy> dev_nonce_policy;
  std::optional<std::uint16_t> dev_nonce_start;
  // The SecureElement object as compact JSON text (keys sorted); its members are checked on
  // reading (sim/secure_element/factory.hpp). Absent: software keys. A device whose element is
  // a chip may leave AppKey/NwkKey out (the chip holds them).
  std::optional<std::string> secure_element;

  friend bool operator==(const FleetDevice&, const FleetDevice&) = default;
};

// The policy a device follows: the one it names, else counter for 1.0.4 and 1.1, random before.
DevNoncePolicy effective_dev_nonce_policy(const FleetDevice& device);

struct Fleet {
  std::vector<FleetDevice> devices;
  // The folder chip references are relative to (the fleet file's); empty: the working directory.
  // Not part of the fleet's value: two fleets with the same devices are equal.
  std::filesystem::path folder{};
  friend bool operator==(const Fleet& a, const Fleet& b) { return a.devices == b.devices; }
};

enum class FleetFormat { json, csv };
std::string_view to_string(FleetFormat format);

// A fleet file that cannot be used. what() lists the first errors, one per line; errors()
// holds every one of them.
class FleetError : public lorawan::Error {
 public:
  explicit FleetError(std::vector<std::string> errors);
  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::vector<std::string> errors_;
};

// A fleet as read, with the remarks that do not stop it from being used (a 1.1 device without
// AppKey, a NwkKey on a 1.0.x device, a random DevNonce policy on a counting device), each
// located like an error.
struct FleetLoad {
  Fleet fleet;
  std::vector<std::string> warnings;
};

// The format a file name implies (".json" or ".csv", any letter case); nullopt otherwise.
std::optional<FleetFormat> fleet_format_from_extension(const std::filesystem::path& file);
// JSON when the first character after white space (and a UTF-8 BOM) is '{' or '[', else CSV.
FleetFormat detect_fleet_format(std::string_view text);

// Parses fleet text. `source` names the file in messages (for example "fleet.csv"). With a
// `folder`, emulated chips are looked up in their chip files (relative to it), which fill absent
// root keys and must agree with the entry (sim/secure_element/factory.hpp); without, a chip
// device's keys stay as the text gives them. Throws FleetError.
FleetLoad parse_fleet(std::string_view text, FleetFormat format, std::string_view source,
                      const std::optional<std::filesystem::path>& folder = std::nullopt);
// Reads a fleet file, in the format its extension names, else the one its content shows; chip
// references are resolved against the file's folder. Throws FleetError (also when the file
// cannot be read).
FleetLoad load_fleet(const std::filesystem::path& file);

// The fleet as a fleet file: fields in the order above, hex in lower case, absent fields
// omitted (JSON) or empty (CSV, which always has every column). parse_fleet() of the text gives
// back an equal Fleet.
std::string fleet_to_json(const Fleet& fleet);
// Which CSV columns: every one, or only what a JS needs to provision a device (DevEUI, JoinEUI,
// MACVersion, AppKey, NwkKey).
enum class CsvColumns { all, provisioning };
std::string fleet_to_csv(const Fleet& fleet, CsvColumns columns = CsvColumns::all);
// Writes the fleet in `format`, or in the format the extension names (JSON when it names none).
// Throws FleetError naming the file when it cannot be written.
void save_fleet(const Fleet& fleet, const std::filesystem::path& file,
                std::optional<FleetFormat> format = std::nullopt);

// Deterministic test devices. Device `index` of a fleet is a function of (seed, index) alone,
// so a large fleet can be generated in chunks:
//  - DevEUI: a 3-byte prefix drawn from `seed` (a locally administered, unicast EUI-64) followed
//    by `index` in the low 5 bytes, so two devices of one fleet never collide (index < 2^40);
//  - AppKey (every version) and NwkKey (1.1): random bytes;
//  - DevNoncePolicy counter with DevNonceStart 0 for 1.0.4 and 1.1, random before.
// The keys come from std::mt19937_64 seeded with a splitmix64 mix of (seed, index); the
// standard fixes mt19937_64's output (and no std distribution is used), so a seed gives the
// same fleet on every platform. It is not a cryptographic generator: these keys are for test
// devices only, never for real ones.
FleetDevice generate_device(std::uint64_t index, const lorawan::Eui64& join_eui,
                            lorawan::MacVersion mac_version, std::uint64_t seed);
// Devices 0 .. count-1 of generate_device(). Throws lorawan::Error when count exceeds 2^40.
Fleet generate_fleet(std::size_t count, const lorawan::Eui64& join_eui,
                     lorawan::MacVersion mac_version, std::uint64_t seed);
// A fleet of several MAC versions in one: device i has mac_versions[i % size], so the versions
// take turns and every DevEUI stays distinct (the index is in the DevEUI). Throws lorawan::Error
// when `mac_versions` is empty, or `count` is less than its size (a version would be missing).
Fleet generate_fleet(std::size_t count, const lorawan::Eui64& join_eui,
                     std::span<const lorawan::MacVersion> mac_versions, std::uint64_t seed);

}  // namespace joincheck::sim
