#include "sim/secure_element/atecc608/chip_file.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "backend/json_duplicates.hpp"
#include "lorawan/hex.hpp"
#include "sim/seed.hpp"

namespace joincheck::sim::atecc608 {
namespace {

using json = nlohmann::json;
using lorawan::Aes128Key;
using lorawan::Eui64;
using lorawan::quote_for_error;

constexpr std::array<std::string_view, 5> kFields = {"Serial", "DevEUI", "JoinEUI", "AppKey",
                                                     "NwkKey"};
constexpr std::string_view kShape =
    "expected {\"chips\": [{\"Serial\": ..., \"DevEUI\": ..., \"JoinEUI\": ..., \"AppKey\": ..., "
    "\"NwkKey\": ... (1.1 chips)}, ...]}";
constexpr std::string_view kReferenceShape =
    "expected \"<file>#<index>\" (zero-based) or \"<file>#serial=<18 hex digits>\"";

std::string type_name(const json& v) { return backend::json_type_name(v); }

std::string field_list() {
  std::string out;
  for (std::string_view f : kFields) {
    if (!out.empty()) out += ", ";
    out += f;
  }
  return out;
}

// "chips.json: chips[3]: AppKey: <message>"; lorawan's hex errors start with the field name,
// which is dropped here since the place already says it.
std::string strip_field_prefix(std::string message, std::string_view field) {
  const std::string prefix = std::string(field) + ": ";
  if (message.rfind(prefix, 0) == 0) message.erase(0, prefix.size());
  return message;
}

struct Place {
  std::string source;
  std::size_t index = 0;
  std::string prefix() const { return source + ": chips[" + std::to_string(index) + "]: "; }
  std::string str(std::string_view field) const { return prefix() + std::string(field); }
};

// The string of `field`, or an error (never quoting a key: `secret`).
const std::string* string_field(const json& chip, std::string_view field, bool required,
                                bool secret, const Place& place, std::vector<std::string>& errors) {
  const auto it = chip.find(std::string(field));
  if (it == chip.end()) {
    if (required) errors.push_back(place.str(field) + ": missing");
    return nullptr;
  }
  if (!it->is_string()) {
    std::string seen = type_name(*it);
    if (!secret && !it->is_object() && !it->is_array()) seen += " " + quote_for_error(it->dump());
    errors.push_back(place.str(field) + ": expected a string of hex digits, got " + seen);
    return nullptr;
  }
  return &it->get_ref<const std::string&>();
}

template <class T>
std::optional<T> parse_value(const std::string* text, std::string_view field, const Place& place,
                             std::vector<std::string>& errors) {
  if (text == nullptr) return std::nullopt;
  try {
    return T::parse(*text, field);
  } catch (const lorawan::Error& e) {
    errors.push_back(place.str(field) + ": " + strip_field_prefix(e.what(), field));
    return std::nullopt;
  }
}

}  // namespace

ChipFileError::ChipFileError(std::vector<std::string> errors)
    : lorawan::Error(lorawan::join_error_lines(errors)), errors_(std::move(errors)) {}

std::string serial_hex(const Serial& serial) { return lorawan::to_hex(serial); }

Serial parse_serial(std::string_view text, std::string_view field) {
  const lorawan::Bytes bytes = lorawan::from_hex_exact(text, Serial().size(), field);
  Serial serial{};
  std::copy(bytes.begin(), bytes.end(), serial.begin());
  return serial;
}

ChipFile parse_chip_file(std::string_view text, std::string_view source) {
  const std::string src(source);
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  json doc;
  std::vector<std::string> errors;
  try {
    backend::ParsedJson parsed = backend::parse_json_with_duplicates(text);
    doc = std::move(parsed.value);
    for (const auto& d : parsed.duplicates) {
      errors.push_back(src + ": " + (d.object_path.empty() ? "top level" : d.object_path) +
                       ": field " + quote_for_error(d.key) +
                       " appears more than once (only one value is allowed)");
    }
  } catch (const json::parse_error& e) {
    throw ChipFileError({src + ": not valid JSON at byte " + std::to_string(e.byte) + ": " +
                         backend::parse_error_reason(e)});
  } catch (const json::exception& e) {
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (bracket != std::string::npos) what.erase(0, bracket + 2);
    throw ChipFileError({src + ": not valid JSON: " + what});
  }
  if (!doc.is_object()) {
    throw ChipFileError({src + ": " + std::string(kShape) + ", got " + type_name(doc)});
  }
  for (const auto& [key, value] : doc.items()) {
    if (key != "chips") {
      errors.push_back(src + ": top level: unknown field " + quote_for_error(key) +
                       ": expected only \"chips\"");
    }
  }
  const auto chips = doc.find("chips");
  if (chips == doc.end() || !chips->is_array()) {
    errors.push_back(src + ": chips: " +
                     (chips == doc.end() ? std::string("missing") : "got " + type_name(*chips)) +
                     "; " + std::string(kShape));
    throw ChipFileError(std::move(errors));
  }

  ChipFile out;
  std::map<Serial, std::size_t> serials;
  std::map<Eui64, std::size_t> dev_euis;
  for (std::size_t i = 0; i < chips->size(); ++i) {
    const json& chip = (*chips)[i];
    const Place place{src, i};
    if (!chip.is_object()) {
      errors.push_back(src + ": chips[" + std::to_string(i) +
                       "]: expected an object with the fields of a chip, got " + type_name(chip));
      continue;
    }
    for (const auto& [key, value] : chip.items()) {
      if (std::find(kFields.begin(), kFields.end(), key) == kFields.end()) {
        errors.push_back(place.prefix() + "unknown field " + quote_for_error(key) +
                         ": expected one of " + field_list());
      }
    }
    const std::size_t before = errors.size();
    std::optional<Serial> serial;
    if (const std::string* serial_text = string_field(chip, "Serial", true, false, place, errors)) {
      try {
        serial = parse_serial(*serial_text, "Serial");
      } catch (const lorawan::Error& e) {
        errors.push_back(place.str("Serial") + ": " + strip_field_prefix(e.what(), "Serial"));
      }
    }
    const auto dev_eui = parse_value<Eui64>(
        string_field(chip, "DevEUI", true, false, place, errors), "DevEUI", place, errors);
    const auto join_eui = parse_value<Eui64>(
        string_field(chip, "JoinEUI", true, false, place, errors), "JoinEUI", place, errors);
    const auto app_key = parse_value<Aes128Key>(
        string_field(chip, "AppKey", true, true, place, errors), "AppKey", place, errors);
    const std::string* nwk_text = string_field(chip, "NwkKey", false, true, place, errors);
    const auto nwk_key = parse_value<Aes128Key>(nwk_text, "NwkKey", place, errors);

    if (serial) {
      const auto [it, inserted] = serials.emplace(*serial, i);
      if (!inserted) {
        errors.push_back(place.str("Serial") + ": duplicate: " + serial_hex(*serial) +
                         " is also the serial of chips[" + std::to_string(it->second) + "]");
      }
    }
    if (dev_eui) {
      const auto [it, inserted] = dev_euis.emplace(*dev_eui, i);
      if (!inserted) {
        errors.push_back(place.str("DevEUI") + ": duplicate: " + dev_eui->hex() +
                         " is also the DevEUI of chips[" + std::to_string(it->second) + "]");
      }
    }
    if (errors.size() != before || !serial || !dev_eui || !join_eui || !app_key) continue;
    ChipProvisioning p;
    p.serial = *serial;
    p.dev_eui = *dev_eui;
    p.join_eui = *join_eui;
    p.app_key = *app_key;
    p.nwk_key = nwk_key;
    out.chips.push_back(p);
  }
  if (!errors.empty()) throw ChipFileError(std::move(errors));
  return out;
}

ChipFile load_chip_file(const std::filesystem::path& file) {
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw ChipFileError({file.string() + ": cannot read the chip file: it is a directory"});
  }
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw ChipFileError(
        {file.string() + ": cannot read the chip file: " +
         (err != 0 ? std::string(std::strerror(err)) : std::string("open failed"))});
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw ChipFileError({file.string() + ": cannot read the chip file: read error"});
  return parse_chip_file(buffer.str(), file.string());
}

std::string chip_file_to_json(const ChipFile& file) {
  nlohmann::ordered_json chips = nlohmann::ordered_json::array();
  for (const ChipProvisioning& c : file.chips) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    o["Serial"] = serial_hex(c.serial);
    o["DevEUI"] = c.dev_eui.hex();
    o["JoinEUI"] = c.join_eui.hex();
    o["AppKey"] = c.app_key.hex();
    if (c.nwk_key) o["NwkKey"] = c.nwk_key->hex();
    chips.push_back(std::move(o));
  }
  nlohmann::ordered_json doc = nlohmann::ordered_json::object();
  doc["chips"] = std::move(chips);
  return doc.dump(2) + "\n";
}

void save_chip_file(const ChipFile& chips, const std::filesystem::path& file) {
  const std::string text = chip_file_to_json(chips);
  errno = 0;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out) {
    const int err = errno;
    throw ChipFileError({file.string() + ": cannot write the chip file" +
                         (err != 0 ? ": " + std::string(std::strerror(err)) : std::string())});
  }
}

ChipReference parse_chip_reference(std::string_view text) {
  const std::string shown = quote_for_error(text);
  const auto hash = text.rfind('#');
  if (hash == std::string_view::npos || hash == 0) {
    throw ChipFileError({"chip reference " + shown + ": " + std::string(kReferenceShape)});
  }
  ChipReference ref;
  ref.file = std::filesystem::path(std::string(text.substr(0, hash)));
  const std::string_view selector = text.substr(hash + 1);
  constexpr std::string_view kSerialPrefix = "serial=";
  if (selector.rfind(kSerialPrefix, 0) == 0) {
    try {
      ref.serial = parse_serial(selector.substr(kSerialPrefix.size()), "serial");
    } catch (const lorawan::Error& e) {
      throw ChipFileError({"chip reference " + shown + ": " + e.what()});
    }
    return ref;
  }
  std::size_t index = 0;
  const auto [end, ec] = std::from_chars(selector.data(), selector.data() + selector.size(), index);
  if (selector.empty() || ec != std::errc() || end != selector.data() + selector.size()) {
    throw ChipFileError({"chip reference " + shown + ": " + std::string(kReferenceShape) +
                         ", got " + quote_for_error(selector) + " after '#'"});
  }
  ref.index = index;
  return ref;
}

const ChipFile& ChipFileCache::load(const std::filesystem::path& file) {
  const std::filesystem::path key = file.lexically_normal();
  const auto it = files_.find(key);
  if (it != files_.end()) return it->second;
  return files_.emplace(key, load_chip_file(file)).first->second;
}

ChipProvisioning ChipFileCache::resolve(std::string_view reference,
                                        const std::filesystem::path& base_directory) {
  const ChipReference ref = parse_chip_reference(reference);
  const std::filesystem::path file = ref.file.is_relative() ? base_directory / ref.file : ref.file;
  const ChipFile& chips = load(file);
  if (ref.index) {
    if (*ref.index >= chips.chips.size()) {
      throw ChipFileError(
          {"chip reference " + quote_for_error(reference) + ": " + file.string() + " holds " +
           std::to_string(chips.chips.size()) + " chips (indices 0 to " +
           (chips.chips.empty() ? std::string("none") : std::to_string(chips.chips.size() - 1)) +
           "), no chip at index " + std::to_string(*ref.index)});
    }
    return chips.chips[*ref.index];
  }
  for (const ChipProvisioning& chip : chips.chips) {
    if (chip.serial == *ref.serial) return chip;
  }
  throw ChipFileError({"chip reference " + quote_for_error(reference) + ": " + file.string() +
                       " holds no chip with serial " + serial_hex(*ref.serial)});
}

ChipProvisioning resolve_chip_reference(std::string_view reference,
                                        const std::filesystem::path& base_directory) {
  ChipFileCache cache;
  return cache.resolve(reference, base_directory);
}

Serial generate_serial(std::uint64_t seed, std::uint64_t index) {
  // A bijection of the low 48 bits of `index`: xor with a key, multiply by an odd constant and
  // xor-shift, all modulo 2^48. Distinct indices give distinct serials.
  constexpr std::uint64_t kMask = (std::uint64_t{1} << 48) - 1;
  const std::uint64_t key = splitmix64(seed ^ 0x4154454343363038ULL);  // "ATECC608"
  std::uint64_t v = (index ^ key) & kMask;
  v = (v * 0x9E3779B97F4BULL) & kMask;
  v ^= v >> 23;
  v = (v * 0xD6E8FEB86659ULL) & kMask;
  v ^= v >> 29;
  Serial serial{};
  serial[0] = 0x01;
  serial[1] = 0x23;
  for (std::size_t b = 0; b < 6; ++b) serial[2 + b] = static_cast<std::uint8_t>(v >> (40 - 8 * b));
  serial[8] = 0x27;  // the TTI programme byte (TNGLoRaWAN data sheets)
  return serial;
}

ChipProvisioning generate_chip(std::uint64_t seed, std::uint64_t index, const Eui64& dev_eui,
                               const Eui64& join_eui, const Aes128Key& app_key,
                               const std::optional<Aes128Key>& nwk_key) {
  ChipProvisioning chip;
  chip.serial = generate_serial(seed, index);
  chip.dev_eui = dev_eui;
  chip.join_eui = join_eui;
  chip.app_key = app_key;
  chip.nwk_key = nwk_key;
  return chip;
}

}  // namespace joincheck::sim::atecc608
