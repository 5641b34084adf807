#include "sim/secure_element/factory.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "sim/secure_element/atecc608/emulated_transport.hpp"
#include "sim/secure_element/atecc608/i2c_transport.hpp"
#include "sim/secure_element/software_se.hpp"

namespace joincheck::sim {
namespace {

using json = nlohmann::json;
using lorawan::Error;

[[noreturn]] void bad(const std::string& member, const std::string& expected, const json& seen) {
  std::string shown = seen.dump();
  if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
  throw Error("SecureElement." + member + ": expected " + expected + ", got " + shown);
}

const std::string& text_of(const json& v, const std::string& member, const std::string& expected) {
  if (!v.is_string()) bad(member, expected, v);
  return v.get_ref<const std::string&>();
}

// A fault count: a non-negative integer or "always".
unsigned count_of(const json& v, const std::string& member) {
  if (v.is_string() && v.get_ref<const std::string&>() == "always") return atecc608::Faults::kAlways;
  if (v.is_number_unsigned() && v.get<std::uint64_t>() < atecc608::Faults::kAlways) {
    return static_cast<unsigned>(v.get<std::uint64_t>());
  }
  bad(member, "a count (0, 1, 2, ...) or \"always\"", v);
}

// A byte as a number or as "0x0F" text.
std::uint8_t byte_of(const json& v, const std::string& member) {
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 0xff) return static_cast<std::uint8_t>(v.get<std::uint64_t>());
  if (v.is_string()) {
    const std::string hex(lorawan::strip_hex_prefix(v.get_ref<const std::string&>()));
    if (!hex.empty() && hex.size() <= 2 && lorawan::is_hex(hex.size() == 1 ? "0" + hex : hex)) {
      return static_cast<std::uint8_t>(std::stoul(hex, nullptr, 16));
    }
  }
  bad(member, "a byte (0-255, or hex such as \"0x0F\")", v);
}

// "0/1": slot 0, block 1.
AteccKeyLocation location_of(const json& v, const std::string& member) {
  const std::string& t = text_of(v, member, "\"SLOT/BLOCK\" such as \"0/1\"");
  const auto slash = t.find('/');
  const bool digits = std::all_of(t.begin(), t.end(), [](char c) { return c == '/' || (c >= '0' && c <= '9'); });
  if (!digits || slash == std::string::npos || slash == 0 || slash + 1 >= t.size() || t.size() > 5) {
    bad(member, "\"SLOT/BLOCK\" such as \"0/1\"", v);
  }
  AteccKeyLocation at;
  try {
    std::size_t used = 0;
    const unsigned long slot = std::stoul(t.substr(0, slash), &used);
    if (used != slash || slot > 15) bad(member, "a slot 0-15", v);
    const unsigned long block = std::stoul(t.substr(slash + 1), &used);
    if (used != t.size() - slash - 1 || block > 3) bad(member, "a block 0-3", v);
    if ((block + 1) * 16 > atecc608::slot_size(slot)) bad(member, "a 16-byte block inside the slot (slot " + std::to_string(slot) + " holds " + std::to_string(atecc608::slot_size(slot)) + " bytes)", v);
    at.slot = static_cast<std::uint8_t>(slot);
    at.block = static_cast<std::uint8_t>(block);
  } catch (const std::logic_error&) {
    bad(member, "\"SLOT/BLOCK\" such as \"0/1\"", v);
  }
  return at;
}

void parse_faults(const json& f, atecc608::Faults& out) {
  if (!f.is_object()) bad("faults", "an object", f);
  for (const auto& [name, v] : f.items()) {
    const std::string member = "faults." + name;
    if (name == "no_wake") out.no_wake = count_of(v, member);
    else if (name == "corrupt_response_crc") out.corrupt_response_crc = count_of(v, member);
    else if (name == "corrupt_command_crc") out.corrupt_command_crc = count_of(v, member);
    else if (name == "busy_reads") out.busy_reads = count_of(v, member);
    else if (name == "force_status") out.force_status = count_of(v, member);
    else if (name == "forced_status") out.forced_status = byte_of(v, member);
    else if (name == "forced_status_opcode") out.forced_status_opcode = byte_of(v, member);
    else if (name == "refuse_read_slot") {
      const std::uint8_t slot = byte_of(v, member);
      if (slot > 15) bad(member, "a slot 0-15", v);
      out.refuse_read_slot = slot;
    } else if (name == "self_test_failure_wakes") out.self_test_failure_wakes = count_of(v, member);
    else if (name == "watchdog_about_to_expire") out.watchdog_about_to_expire = count_of(v, member);
    else {
      throw Error("SecureElement.faults: unknown fault \"" + name +
                  "\" (known: no_wake, corrupt_response_crc, corrupt_command_crc, busy_reads, "
                  "force_status, forced_status, forced_status_opcode, refuse_read_slot, "
                  "self_test_failure_wakes, watchdog_about_to_expire)");
    }
  }
}

std::string device_name(const FleetDevice& d) { return "device " + d.dev_eui.hex(); }

// The chip must be the fleet entry's: identity, LoRaWAN version and, where the entry gives them,
// the root keys (never printed).
void check_chip(const FleetDevice& device, const SecureElementSpec& spec, const atecc608::ChipProvisioning& chip) {
  const std::string where = "SecureElement.chip " + spec.chip + " (serial " + atecc608::serial_hex(chip.serial) + ")";
  if (chip.dev_eui != device.dev_eui || chip.join_eui != device.join_eui) {
    throw Error(where + ": the chip holds DevEUI " + chip.dev_eui.hex() + " / JoinEUI " + chip.join_eui.hex() +
                ", the fleet entry says " + device.dev_eui.hex() + " / " + device.join_eui.hex());
  }
  if (lorawan::is_1_1(device.mac_version) != chip.is_1_1()) {
    throw Error(where + ": a " +
                std::string(chip.is_1_1() ? "LoRaWAN 1.1 chip (AppKey and NwkKey)" : "LoRaWAN 1.0.x chip (AppKey only)") +
                " for a LoRaWAN " + std::string(lorawan::to_string(device.mac_version)) + " device");
  }
  if (device.app_key && *device.app_key != chip.app_key) {
    throw Error(where + ": the fleet entry's AppKey differs from the chip's");
  }
  if (device.nwk_key && chip.nwk_key && *device.nwk_key != *chip.nwk_key) {
    throw Error(where + ": the fleet entry's NwkKey differs from the chip's");
  }
}

}  // namespace

std::string_view to_string(SecureElementKind kind) {
  switch (kind) {
    case SecureElementKind::software: return "software";
    case SecureElementKind::atecc608: return "atecc608";
    case SecureElementKind::atecc608_emulated: return "atecc608-emulated";
  }
  return "?";
}

std::optional<SecureElementKind> parse_secure_element_kind(std::string_view text) {
  for (auto k : {SecureElementKind::software, SecureElementKind::atecc608, SecureElementKind::atecc608_emulated}) {
    if (text == to_string(k)) return k;
  }
  return std::nullopt;
}

SecureElementSpec parse_secure_element_spec(std::string_view json_text) {
  json o;
  try {
    o = json::parse(json_text);
  } catch (const json::exception&) {
    throw Error("SecureElement: expected a JSON object, got text that is not JSON");
  }
  if (!o.is_object()) bad("", "an object", o);
  SecureElementSpec spec;
  const auto kind_it = o.find("kind");
  if (kind_it == o.end()) {
    throw Error("SecureElement.kind: missing; expected \"software\", \"atecc608\" or \"atecc608-emulated\"");
  }
  const auto kind = parse_secure_element_kind(text_of(*kind_it, "kind", "\"software\", \"atecc608\" or \"atecc608-emulated\""));
  if (!kind) bad("kind", "\"software\", \"atecc608\" or \"atecc608-emulated\"", *kind_it);
  spec.kind = *kind;
  const bool emulated = spec.kind == SecureElementKind::atecc608_emulated;
  for (const auto& [name, v] : o.items()) {
    if (name == "kind") continue;
    const std::string member = name;  // clang 14 does not capture structured bindings
    const auto not_for = [&] {
      throw Error("SecureElement." + member + ": not a member of kind \"" + std::string(to_string(spec.kind)) + "\"");
    };
    if (name == "i2c") {
      if (spec.kind != SecureElementKind::atecc608) not_for();
      spec.i2c = text_of(v, name, "a device path such as \"/dev/i2c-1\"");
      if (spec.i2c.empty()) bad(name, "a device path such as \"/dev/i2c-1\"", v);
    } else if (name == "address") {
      if (spec.kind != SecureElementKind::atecc608) not_for();
      spec.address = atecc608::parse_i2c_address(text_of(v, name, "a 7-bit I2C address such as \"0x59\""), "SecureElement.address");
    } else if (name == "chip") {
      if (!emulated) not_for();
      spec.chip = text_of(v, name, "a chip reference such as \"chips.json#3\"");
      atecc608::parse_chip_reference(spec.chip);  // throws saying what a reference looks like
    } else if (name == "slots") {
      // An emulated chip is provisioned with the TNGLORA layout; other blocks would hold nothing.
      if (spec.kind != SecureElementKind::atecc608) not_for();
      if (!v.is_object()) bad(name, "an object such as {\"AppKey\": \"0/0\", \"NwkKey\": \"0/1\"}", v);
      for (const auto& [key, at] : v.items()) {
        if (key == "AppKey") spec.app_key_location = location_of(at, "slots.AppKey");
        else if (key == "NwkKey") spec.nwk_key_location = location_of(at, "slots.NwkKey");
        else throw Error("SecureElement.slots." + key + ": only the root keys AppKey and NwkKey can be placed");
      }
    } else if (name == "timing") {
      if (!emulated) not_for();
      const std::string& t = text_of(v, name, "\"none\", \"typical\" or \"max\"");
      if (t == "none") spec.timing = atecc608::TimingModel::none;
      else if (t == "typical") spec.timing = atecc608::TimingModel::typical;
      else if (t == "max") spec.timing = atecc608::TimingModel::max;
      else bad(name, "\"none\", \"typical\" or \"max\"", v);
    } else if (name == "faults") {
      if (!emulated) not_for();
      parse_faults(v, spec.faults);
    } else {
      throw Error("SecureElement: unknown member \"" + name + "\" (known: kind, i2c, address, chip, slots, timing, faults)");
    }
  }
  if (spec.kind == SecureElementKind::atecc608 && spec.i2c.empty()) {
    throw Error("SecureElement.i2c: missing; kind \"atecc608\" needs the bus, such as \"/dev/i2c-1\"");
  }
  if (emulated && spec.chip.empty()) {
    throw Error("SecureElement.chip: missing; kind \"atecc608-emulated\" needs a chip reference such as \"chips.json#3\"");
  }
  return spec;
}

SecureElementSpec secure_element_spec(const FleetDevice& device) {
  if (!device.secure_element) return {};
  return parse_secure_element_spec(*device.secure_element);
}

std::unique_ptr<SecureElement> make_secure_element(const FleetDevice& device,
                                                   const std::filesystem::path& fleet_folder,
                                                   std::uint64_t seed,
                                                   atecc608::ChipFileCache* cache) {
  SecureElementSpec spec;
  std::unique_ptr<atecc608::Transport> transport;
  try {
    spec = secure_element_spec(device);
    if (spec.kind == SecureElementKind::software) return SoftwareSe::from_fleet_device(device, seed);
    if (spec.kind == SecureElementKind::atecc608) {
      transport = std::make_unique<atecc608::I2cTransport>(spec.i2c, spec.address);
    } else {
      atecc608::ChipFileCache local;
      atecc608::ChipFileCache& files = cache != nullptr ? *cache : local;
      const atecc608::ChipProvisioning chip = files.resolve(spec.chip, fleet_folder);
      check_chip(device, spec, chip);
      atecc608::EmulatorOptions emulator;
      emulator.timing = spec.timing;
      emulator.rng_seed = seed;
      emulator.faults = spec.faults;
      transport = std::make_unique<atecc608::EmulatedTransport>(std::make_shared<atecc608::Emulator>(chip, emulator));
    }
  } catch (const SecureElementError&) {
    throw;
  } catch (const Error& e) {
    // A spec, chip file or bus that cannot be used: named by the device it was for.
    throw Error(device_name(device) + ": " + e.what());
  }
  AteccSeOptions options = AteccSeOptions::for_version(device.mac_version);
  if (spec.app_key_location) options.slot_map[KeySlot::app_key] = *spec.app_key_location;
  if (spec.nwk_key_location) options.slot_map[KeySlot::nwk_key] = *spec.nwk_key_location;
  return std::make_unique<AteccSe>(std::move(transport), device.dev_eui, options);
}

void complete_from_chip(FleetDevice& device, const std::filesystem::path& fleet_folder,
                        atecc608::ChipFileCache& cache) {
  const SecureElementSpec spec = secure_element_spec(device);
  if (spec.kind != SecureElementKind::atecc608_emulated) return;
  const atecc608::ChipProvisioning chip = cache.resolve(spec.chip, fleet_folder);
  check_chip(device, spec, chip);
  if (!device.app_key) device.app_key = chip.app_key;
  if (!device.nwk_key) device.nwk_key = chip.nwk_key;
}

}  // namespace joincheck::sim
