#include "sim/fleet/fleet.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "backend/json_duplicates.hpp"
#include "lorawan/hex.hpp"
#include "sim/secure_element/factory.hpp"
#include "sim/seed.hpp"

namespace joincheck::sim {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;
using lorawan::Aes128Key;
using lorawan::Eui64;
using lorawan::MacVersion;
using lorawan::quote_for_error;

// ---------------------------------------------------------------------------------------------
// Field names (TS002 spelling) in the order they are written.

enum class Field : std::size_t {
  dev_eui,
  join_eui,
  mac_version,
  app_key,
  nwk_key,
  dev_nonce_policy,
  dev_nonce_start,
  secure_element,
};
constexpr std::size_t kFieldCount = 8;
constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "DevEUI", "JoinEUI",        "MACVersion",    "AppKey",
    "NwkKey", "DevNoncePolicy", "DevNonceStart", "SecureElement"};

constexpr std::string_view name_of(Field f) { return kFieldNames[static_cast<std::size_t>(f)]; }

std::optional<Field> field_named(std::string_view name) {
  for (std::size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string field_list() {
  std::string out;
  for (std::string_view n : kFieldNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// "unknown field "Appkey": did you mean "AppKey"? ..." (`what` is "field" or "column").
std::string unknown_name_message(std::string_view what, std::string_view name) {
  std::string msg = "unknown " + std::string(what) + " " + quote_for_error(name);
  for (std::string_view known : kFieldNames) {
    if (equal_ignoring_case(known, name)) {
      return msg + ": did you mean \"" + std::string(known) + "\"? (names are case-sensitive)";
    }
  }
  return msg + ": expected one of " + field_list();
}

// A character of user text, printable or as \xNN.
std::string show_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("'\\x") + kDigits[u >> 4] + kDigits[u & 0x0f] + "'";
}

// A value seen in a field that is not a key, for a message. A value shaped like a key (32 or
// more hex digits), as a shifted CSV row puts in the wrong column, is not shown.
std::string shown(std::string_view text) {
  if (text.size() >= 2 * Aes128Key::kSize && lorawan::is_hex(text)) {
    return std::to_string(text.size()) +
           " hex digits (not shown: it may be a key in the wrong field or column)";
  }
  return quote_for_error(text);
}

// ---------------------------------------------------------------------------------------------
// Where a device is, for messages: "fleet.json: devices[3] (DevEUI 0102030405060708)" or
// "fleet.csv:7 (DevEUI 0102030405060708)".

struct Place {
  std::string_view source;
  FleetFormat format = FleetFormat::json;
  std::size_t position = 0;  // array index (JSON) or line number (CSV)
  std::optional<Eui64> dev_eui;

  std::string where() const {
    std::string s(source);
    if (format == FleetFormat::json) {
      s += ": devices[" + std::to_string(position) + "]";
    } else {
      s += ":" + std::to_string(position);
    }
    return s;
  }
  std::string str() const {
    std::string s = where();
    if (dev_eui) s += " (DevEUI " + dev_eui->hex() + ")";
    return s;
  }
  // How another device refers to this one: "devices[3]" or "line 7".
  std::string short_name() const {
    return format == FleetFormat::json ? "devices[" + std::to_string(position) + "]"
                                       : "line " + std::to_string(position);
  }
};

struct Report {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;

  void error(const Place& p, Field f, const std::string& msg) {
    errors.push_back(p.str() + ": " + std::string(name_of(f)) + ": " + msg);
  }
  void warning(const Place& p, Field f, const std::string& msg) {
    warnings.push_back(p.str() + ": " + std::string(name_of(f)) + ": " + msg);
  }
};

// ---------------------------------------------------------------------------------------------
// Values of one device as read, before they are checked. JSON gives any JSON value; CSV gives
// strings (and `csv` says so: DevNonceStart and SecureElement are then text to parse).

struct RawDevice {
  std::array<std::optional<json>, kFieldCount> fields;
  std::vector<std::string> unknown;  // names of unknown fields (JSON)
  bool csv = false;
  const std::optional<json>& operator[](Field f) const {
    return fields[static_cast<std::size_t>(f)];
  }
};

std::string type_name(const json& v) { return backend::json_type_name(v); }

// The type and (for values that are not secret) the value, shortened.
std::string describe(const json& v) {
  if (v.is_string()) return "a string " + shown(v.get_ref<const std::string&>());
  return type_name(v) + " " + quote_for_error(v.dump());
}

// The string of a field that must be a JSON string; reports and returns nullopt otherwise.
// A key's value is never shown.
std::optional<std::string> string_of(const json& v, Field f, std::string_view expected, bool secret,
                                     const Place& p, Report& r) {
  if (v.is_string()) return v.get<std::string>();
  r.error(p, f,
          "expected a string of " + std::string(expected) + ", got " +
              (secret ? type_name(v) + " (the value is not shown: keys are secret)" : describe(v)));
  return std::nullopt;
}

// A root key: 32 hex digits. Messages give the length and the position of an offending
// character, never the value.
std::optional<Aes128Key> parse_key(const json& v, Field f, const Place& p, Report& r) {
  const auto text = string_of(v, f, "32 hex digits", true, p, r);
  if (!text) return std::nullopt;
  constexpr std::string_view kSecret = " (the value is not shown: keys are secret)";
  const bool prefixed = lorawan::strip_hex_prefix(*text).size() != text->size();
  const std::string prefix_hint = prefixed ? "; a 0x prefix is not accepted" : "";
  if (text->size() != 2 * Aes128Key::kSize) {
    r.error(p, f,
            "expected 32 hex digits (16 bytes), got " + std::to_string(text->size()) +
                " characters" + prefix_hint + std::string(kSecret));
    return std::nullopt;
  }
  for (std::size_t i = 0; i < text->size(); ++i) {
    if (!lorawan::is_hex(std::string_view(*text).substr(i, 1))) {
      r.error(p, f,
              "expected hex digits (0-9, a-f), found " + show_char((*text)[i]) + " at position " +
                  std::to_string(i) + " of 32" + prefix_hint + std::string(kSecret));
      return std::nullopt;
    }
  }
  return Aes128Key::parse(*text, name_of(f));
}

std::optional<Eui64> parse_eui(const json& v, Field f, const Place& p, Report& r) {
  const auto text = string_of(v, f, "16 hex digits", false, p, r);
  if (!text) return std::nullopt;
  if (text->size() != 2 * Eui64::kSize) {
    const std::string seen = shown(*text);
    r.error(
        p, f,
        "expected 16 hex digits (8 bytes), got " +
            (seen.front() == '"' ? std::to_string(text->size()) + " characters " + seen : seen));
    return std::nullopt;
  }
  try {
    return Eui64::parse(*text, name_of(f));
  } catch (const lorawan::Error& e) {
    // The lorawan message starts with the field name already.
    std::string msg = e.what();
    const std::string lead = std::string(name_of(f)) + ": ";
    if (msg.rfind(lead, 0) == 0) msg.erase(0, lead.size());
    r.error(p, f, msg);
    return std::nullopt;
  }
}

std::optional<MacVersion> parse_version(const json& v, const Place& p, Report& r) {
  const auto text =
      string_of(v, Field::mac_version, "a LoRaWAN version such as \"1.0.3\"", false, p, r);
  if (!text) return std::nullopt;
  if (auto version = lorawan::parse_mac_version(*text)) return version;
  r.error(
      p, Field::mac_version,
      "expected one of 1.0, 1.0.0, 1.0.1, 1.0.2, 1.0.3, 1.0.4, 1.1, 1.1.0, got " + shown(*text));
  return std::nullopt;
}

std::optional<DevNoncePolicy> parse_policy(const json& v, const Place& p, Report& r) {
  const auto text = string_of(v, Field::dev_nonce_policy, "counter, random or fixed", false, p, r);
  if (!text) return std::nullopt;
  if (auto policy = parse_dev_nonce_policy(*text)) return policy;
  r.error(p, Field::dev_nonce_policy,
          "expected one of counter, random, fixed, got " + shown(*text));
  return std::nullopt;
}

std::optional<std::uint16_t> parse_start(const json& v, bool csv, const Place& p, Report& r) {
  constexpr Field f = Field::dev_nonce_start;
  const std::string expected = "expected an integer from 0 to 65535";
  if (csv) {
    const std::string& text = v.get_ref<const std::string&>();
    const bool digits =
        !text.empty() && text.size() <= 5 && std::all_of(text.begin(), text.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) != 0;
        });
    if (!digits || std::stoul(text) > 65535) {
      r.error(p, f, expected + " (decimal), got " + shown(text));
      return std::nullopt;
    }
    return static_cast<std::uint16_t>(std::stoul(text));
  }
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= 65535) {
    return static_cast<std::uint16_t>(v.get<std::uint64_t>());
  }
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0 && v.get<std::int64_t>() <= 65535) {
    return static_cast<std::uint16_t>(v.get<std::int64_t>());
  }
  r.error(p, f, expected + ", got " + describe(v));
  return std::nullopt;
}

// The object as compact text, once its members check out (factory.hpp says which).
std::optional<std::string> checked_secure_element(std::string text, const Place& p, Report& r) {
  try {
    parse_secure_element_spec(text);
  } catch (const lorawan::Error& e) {
    r.errors.push_back(p.str() + ": " + e.what());
    return std::nullopt;
  }
  return text;
}

std::optional<std::string> parse_secure_element(const json& v, bool csv, const Place& p,
                                                Report& r) {
  constexpr Field f = Field::secure_element;
  if (!csv) {
    if (v.is_object()) return checked_secure_element(v.dump(), p, r);
    r.error(p, f, "expected an object, got " + type_name(v));
    return std::nullopt;
  }
  const std::string& text = v.get_ref<const std::string&>();
  json parsed;
  try {
    parsed = json::parse(text);
  } catch (const json::exception&) {
    r.error(p, f,
            "expected a JSON object in the cell, got text that is not JSON (" +
                std::to_string(text.size()) + " characters)");
    return std::nullopt;
  }
  if (!parsed.is_object()) {
    r.error(p, f, "expected a JSON object in the cell, got " + type_name(parsed));
    return std::nullopt;
  }
  return checked_secure_element(parsed.dump(), p, r);
}

// Checks one device; nullopt when it has an error (reported).
std::optional<FleetDevice> build_device(const RawDevice& raw, Place& p, Report& r) {
  const std::size_t errors_before = r.errors.size();
  FleetDevice d;

  const auto missing = [&](Field f, std::string_view expected) {
    r.error(p, f, "missing; every device needs it (" + std::string(expected) + ")");
  };

  if (const auto& v = raw[Field::dev_eui]) {
    if (auto eui = parse_eui(*v, Field::dev_eui, p, r)) {
      d.dev_eui = *eui;
      p.dev_eui = *eui;
    }
  } else {
    missing(Field::dev_eui, "16 hex digits");
  }
  for (const std::string& name : raw.unknown) {
    r.errors.push_back(p.str() + ": " + unknown_name_message("field", name));
  }
  if (const auto& v = raw[Field::join_eui]) {
    if (auto eui = parse_eui(*v, Field::join_eui, p, r)) d.join_eui = *eui;
  } else {
    missing(Field::join_eui, "16 hex digits");
  }
  std::optional<MacVersion> version;
  if (const auto& v = raw[Field::mac_version]) {
    version = parse_version(*v, p, r);
  } else {
    missing(Field::mac_version, "1.0, 1.0.0 to 1.0.4, 1.1 or 1.1.0");
  }
  bool key_error = false;
  if (const auto& v = raw[Field::app_key]) {
    d.app_key = parse_key(*v, Field::app_key, p, r);
    key_error = key_error || !d.app_key;
  }
  if (const auto& v = raw[Field::nwk_key]) {
    d.nwk_key = parse_key(*v, Field::nwk_key, p, r);
    key_error = key_error || !d.nwk_key;
  }
  if (const auto& v = raw[Field::dev_nonce_policy]) d.dev_nonce_policy = parse_policy(*v, p, r);
  if (const auto& v = raw[Field::dev_nonce_start]) {
    d.dev_nonce_start = parse_start(*v, raw.csv, p, r);
  }
  if (const auto& v = raw[Field::secure_element]) {
    d.secure_element = parse_secure_element(*v, raw.csv, p, r);
  }

  // A chip holds its root keys: the fleet entry may leave them out (an emulated chip's come from
  // its chip file when the fleet is loaded from a file; a real chip's are Microchip's).
  bool keys_in_chip = false;
  if (d.secure_element) {
    const SecureElementKind kind = parse_secure_element_spec(*d.secure_element).kind;
    keys_in_chip = kind != SecureElementKind::software;
  }
  if (version && keys_in_chip) {
    d.mac_version = *version;
  } else if (version) {
    d.mac_version = *version;
    const std::string v(lorawan::to_string(*version));
    if (lorawan::is_1_1(*version)) {
      if (!raw[Field::nwk_key]) {
        r.error(p, Field::nwk_key, "missing; a LoRaWAN " + v + " device needs it (32 hex digits)");
      }
      if (!raw[Field::app_key] && !key_error) {
        r.warning(p, Field::app_key,
                  "absent; recommended for a LoRaWAN 1.1 device (without it the JS cannot "
                  "derive AppSKey)");
      }
    } else {
      if (!raw[Field::app_key]) {
        r.error(p, Field::app_key, "missing; a LoRaWAN " + v + " device needs it (32 hex digits)");
      }
      if (raw[Field::nwk_key]) {
        r.warning(p, Field::nwk_key,
                  "given for a LoRaWAN " + v + " device, which uses AppKey only; kept but unused");
      }
    }
    if (d.dev_nonce_policy == DevNoncePolicy::random && lorawan::devnonce_is_counter(*version)) {
      r.warning(p, Field::dev_nonce_policy,
                "random on a LoRaWAN " + v +
                    " device, which counts DevNonce up; a conforming JS refuses a DevNonce that "
                    "is not greater than the last one");
    }
  }
  if (r.errors.size() != errors_before) return std::nullopt;
  return d;
}

// Checks every device and DevEUI uniqueness; throws FleetError with every error found.
FleetLoad build_fleet(std::vector<std::pair<RawDevice, Place>>& raws, Report& r,
                      const std::optional<std::filesystem::path>& folder) {
  atecc608::ChipFileCache chips;
  FleetLoad out;
  out.fleet.devices.reserve(raws.size());
  std::map<Eui64, std::string> seen;
  for (auto& [raw, place] : raws) {
    auto device = build_device(raw, place, r);
    if (place.dev_eui) {
      const auto [it, inserted] = seen.emplace(*place.dev_eui, place.short_name());
      if (!inserted) {
        r.error(place, Field::dev_eui,
                "duplicate: " + place.dev_eui->hex() + " is also the DevEUI of " + it->second);
        device.reset();
      }
    }
    if (device && folder) {
      try {
        complete_from_chip(*device, *folder, chips);
      } catch (const lorawan::Error& e) {
        r.error(place, Field::secure_element, e.what());
        device.reset();
      }
    }
    if (device) out.fleet.devices.push_back(std::move(*device));
  }
  if (!r.errors.empty()) throw FleetError(std::move(r.errors));
  out.warnings = std::move(r.warnings);
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON

// "line 3, column 14" of a 1-based byte offset.
std::string line_column(std::string_view text, std::size_t byte) {
  const std::size_t end = std::min(byte == 0 ? 0 : byte - 1, text.size());
  std::size_t line = 1;
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return std::to_string(line) + ":" + std::to_string(end - line_start + 1);
}


FleetLoad parse_json_fleet(std::string_view text, std::string_view source,
                           const std::optional<std::filesystem::path>& folder) {
  const std::string src(source);
  std::vector<backend::DuplicateKey> duplicates;
  json doc;
  try {
    backend::ParsedJson parsed = backend::parse_json_with_duplicates(text);
    doc = std::move(parsed.value);
    duplicates = std::move(parsed.duplicates);
  } catch (const json::parse_error& e) {
    throw FleetError(
        {src + ":" + line_column(text, e.byte) + ": not valid JSON: " + backend::parse_error_reason(e)});
  } catch (const json::exception& e) {
    std::string what = e.what();
    const auto bracket = what.find("] ");
    if (bracket != std::string::npos) what.erase(0, bracket + 2);
    throw FleetError({src + ": not valid JSON: " + what});
  }

  Report r;
  for (const auto& d : duplicates) {
    r.errors.push_back(src + ": " + (d.object_path.empty() ? "top level" : d.object_path) +
                       ": field " + quote_for_error(d.key) +
                       " appears more than once (only one value is allowed)");
  }
  const std::string shape = "expected {\"devices\": [{\"DevEUI\": ..., ...}, ...]}";
  if (!doc.is_object()) throw FleetError({src + ": " + shape + ", got " + type_name(doc)});
  for (const auto& [key, value] : doc.items()) {
    if (key != "devices") {
      r.errors.push_back(src + ": top level: unknown field " + quote_for_error(key) +
                         ": expected only \"devices\"");
    }
  }
  const auto devices = doc.find("devices");
  if (devices == doc.end()) {
    r.errors.push_back(src + ": devices: missing; " + shape);
    throw FleetError(std::move(r.errors));
  }
  if (!devices->is_array()) {
    r.errors.push_back(src + ": devices: expected an array of devices, got " + type_name(*devices));
    throw FleetError(std::move(r.errors));
  }

  std::vector<std::pair<RawDevice, Place>> raws;
  raws.reserve(devices->size());
  for (std::size_t i = 0; i < devices->size(); ++i) {
    const json& entry = (*devices)[i];
    Place place{source, FleetFormat::json, i, std::nullopt};
    if (!entry.is_object()) {
      r.errors.push_back(place.str() + ": expected an object with the fields of a device, got " +
                         type_name(entry));
      continue;
    }
    RawDevice raw;
    for (const auto& [key, value] : entry.items()) {
      if (const auto field = field_named(key)) {
        raw.fields[static_cast<std::size_t>(*field)] = value;
      } else {
        raw.unknown.push_back(key);
      }
    }
    raws.emplace_back(std::move(raw), place);
  }
  return build_fleet(raws, r, folder);
}

// ---------------------------------------------------------------------------------------------
// CSV (RFC 4180: ',' separated, '"' quoted with "" inside, CRLF or LF line ends). Blank lines are
// skipped, spaces around an unquoted cell are trimmed, an empty cell is an absent value.

struct CsvRecord {
  std::size_t line = 0;  // where the record starts
  std::vector<std::string> cells;
};

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::vector<CsvRecord> read_csv(std::string_view text, std::string_view source) {
  std::vector<CsvRecord> records;
  std::size_t i = 0;
  std::size_t line = 1;
  const auto at_end_of_line = [&](std::size_t k) {
    return k >= text.size() || text[k] == '\n' || text[k] == '\r';
  };
  while (i < text.size()) {
    // Skip a blank line.
    std::size_t k = i;
    while (k < text.size() && is_blank(text[k])) ++k;
    if (at_end_of_line(k)) {
      if (k < text.size() && text[k] == '\r' && k + 1 < text.size() && text[k + 1] == '\n') ++k;
      i = k + 1;
      ++line;
      continue;
    }
    CsvRecord rec;
    rec.line = line;
    for (;;) {  // one cell per iteration
      std::size_t start = i;
      while (i < text.size() && is_blank(text[i])) ++i;
      std::string cell;
      if (i < text.size() && text[i] == '"') {
        const std::size_t open_line = line;
        ++i;
        for (;;) {
          if (i >= text.size()) {
            throw FleetError({std::string(source) + ":" + std::to_string(open_line) +
                              ": a quoted cell is not closed (missing '\"')"});
          }
          const char c = text[i++];
          if (c == '"') {
            if (i < text.size() && text[i] == '"') {
              cell.push_back('"');
              ++i;
            } else {
              break;
            }
          } else {
            if (c == '\n') ++line;
            cell.push_back(c);
          }
        }
        while (i < text.size() && is_blank(text[i])) ++i;
        if (i < text.size() && text[i] != ',' && !at_end_of_line(i)) {
          throw FleetError({std::string(source) + ":" + std::to_string(line) +
                            ": expected ',' or the end of the line after a quoted cell, got " +
                            show_char(text[i])});
        }
      } else {
        i = start;
        while (i < text.size() && text[i] != ',' && !at_end_of_line(i)) {
          if (text[i] == '"') {
            throw FleetError({std::string(source) + ":" + std::to_string(line) +
                              ": a '\"' inside an unquoted cell; quote the whole cell and "
                              "double the '\"' inside it"});
          }
          cell.push_back(text[i++]);
        }
        while (!cell.empty() && is_blank(cell.back())) cell.pop_back();
        std::size_t lead = 0;
        while (lead < cell.size() && is_blank(cell[lead])) ++lead;
        cell.erase(0, lead);
      }
      rec.cells.push_back(std::move(cell));
      if (i < text.size() && text[i] == ',') {
        ++i;
        continue;
      }
      // End of the record.
      if (i < text.size() && text[i] == '\r') ++i;
      if (i < text.size() && text[i] == '\n') ++i;
      ++line;
      break;
    }
    records.push_back(std::move(rec));
  }
  return records;
}

FleetLoad parse_csv_fleet(std::string_view text, std::string_view source,
                          const std::optional<std::filesystem::path>& folder) {
  const std::string src(source);
  const std::vector<CsvRecord> records = read_csv(text, source);
  if (records.empty()) {
    throw FleetError({src + ": expected a header row naming the columns (DevEUI,JoinEUI,"
                            "MACVersion,...), got an empty file"});
  }
  Report r;
  const CsvRecord& header = records.front();
  const std::string at_header = src + ":" + std::to_string(header.line) + ": ";
  if (header.cells.size() == 1) {
    const std::string& only = header.cells.front();
    for (char sep : {';', '\t'}) {
      if (only.find(sep) != std::string::npos) {
        throw FleetError({at_header + "expected column names separated by ',', got one column " +
                          quote_for_error(only) + " (separated by " + show_char(sep) + "?)"});
      }
    }
  }
  std::vector<std::optional<Field>> columns;
  std::map<Field, std::size_t> column_of;
  for (std::size_t c = 0; c < header.cells.size(); ++c) {
    const std::string& name = header.cells[c];
    const auto field = field_named(name);
    columns.push_back(field);
    if (!field) {
      r.errors.push_back(at_header + (name.empty() ? "column " + std::to_string(c + 1) +
                                                         ": the header names no column"
                                                   : unknown_name_message("column", name)));
      continue;
    }
    const auto [it, inserted] = column_of.emplace(*field, c);
    if (!inserted) {
      r.errors.push_back(at_header + "column " + quote_for_error(name) +
                         " appears twice (columns " + std::to_string(it->second + 1) + " and " +
                         std::to_string(c + 1) + ")");
    }
  }
  for (Field required : {Field::dev_eui, Field::join_eui, Field::mac_version}) {
    if (!column_of.count(required)) {
      r.errors.push_back(at_header + "missing column \"" + std::string(name_of(required)) +
                         "\" (every device needs it)");
    }
  }
  if (!r.errors.empty()) throw FleetError(std::move(r.errors));

  std::vector<std::pair<RawDevice, Place>> raws;
  raws.reserve(records.size() - 1);
  for (std::size_t k = 1; k < records.size(); ++k) {
    const CsvRecord& rec = records[k];
    Place place{source, FleetFormat::csv, rec.line, std::nullopt};
    if (rec.cells.size() != columns.size()) {
      r.errors.push_back(place.str() + ": expected " + std::to_string(columns.size()) +
                         " cells as in the header (line " + std::to_string(header.line) +
                         "), got " + std::to_string(rec.cells.size()));
      continue;
    }
    RawDevice raw;
    raw.csv = true;
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (!rec.cells[c].empty()) raw.fields[static_cast<std::size_t>(*columns[c])] = rec.cells[c];
    }
    raws.emplace_back(std::move(raw), place);
  }
  return build_fleet(raws, r, folder);
}

std::string csv_cell(std::string_view value) {
  const bool quote = value.find_first_of(",\"\r\n") != std::string_view::npos ||
                     (!value.empty() && (is_blank(value.front()) || is_blank(value.back())));
  if (!quote) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

constexpr std::uint64_t kMaxGeneratedDevices = std::uint64_t{1} << 40;

Aes128Key random_key(std::mt19937_64& rng) {
  Aes128Key::Array a{};
  for (std::size_t half = 0; half < 2; ++half) {
    const std::uint64_t r = rng();
    for (std::size_t b = 0; b < 8; ++b)
      a[half * 8 + b] = static_cast<std::uint8_t>(r >> (56 - 8 * b));
  }
  return Aes128Key(a);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view to_string(DevNoncePolicy policy) {
  switch (policy) {
    case DevNoncePolicy::counter:
      return "counter";
    case DevNoncePolicy::random:
      return "random";
    case DevNoncePolicy::fixed:
      return "fixed";
  }
  return "?";
}

std::optional<DevNoncePolicy> parse_dev_nonce_policy(std::string_view text) {
  if (text == "counter") return DevNoncePolicy::counter;
  if (text == "random") return DevNoncePolicy::random;
  if (text == "fixed") return DevNoncePolicy::fixed;
  return std::nullopt;
}

DevNoncePolicy effective_dev_nonce_policy(const FleetDevice& device) {
  if (device.dev_nonce_policy) return *device.dev_nonce_policy;
  return lorawan::devnonce_is_counter(device.mac_version) ? DevNoncePolicy::counter
                                                          : DevNoncePolicy::random;
}

std::string_view to_string(FleetFormat format) {
  return format == FleetFormat::json ? "JSON" : "CSV";
}


FleetError::FleetError(std::vector<std::string> errors)
    : lorawan::Error(lorawan::join_error_lines(errors)), errors_(std::move(errors)) {}

std::optional<FleetFormat> fleet_format_from_extension(const std::filesystem::path& file) {
  const std::string ext = file.extension().string();
  if (equal_ignoring_case(ext, ".json")) return FleetFormat::json;
  if (equal_ignoring_case(ext, ".csv")) return FleetFormat::csv;
  return std::nullopt;
}

FleetFormat detect_fleet_format(std::string_view text) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' || c == '[' ? FleetFormat::json : FleetFormat::csv;
  }
  return FleetFormat::csv;
}

FleetLoad parse_fleet(std::string_view text, FleetFormat format, std::string_view source,
                      const std::optional<std::filesystem::path>& folder) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM (Excel)
  FleetLoad load = format == FleetFormat::json ? parse_json_fleet(text, source, folder)
                                               : parse_csv_fleet(text, source, folder);
  if (folder) load.fleet.folder = *folder;
  return load;
}

FleetLoad load_fleet(const std::filesystem::path& file) {
  errno = 0;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw FleetError({file.string() + ": cannot read the fleet file: " +
                      (err != 0 ? std::string(std::strerror(err)) : std::string("open failed"))});
  }
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    throw FleetError({file.string() + ": cannot read the fleet file: it is a directory"});
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw FleetError({file.string() + ": cannot read the fleet file: read error"});
  const std::string text = buffer.str();
  const FleetFormat format = fleet_format_from_extension(file).value_or(detect_fleet_format(text));
  std::filesystem::path folder = file.parent_path();
  if (folder.empty()) folder = ".";
  return parse_fleet(text, format, file.string(), folder);
}

std::string fleet_to_json(const Fleet& fleet) {
  ordered_json devices = ordered_json::array();
  for (const FleetDevice& d : fleet.devices) {
    ordered_json o = ordered_json::object();
    o["DevEUI"] = d.dev_eui.hex();
    o["JoinEUI"] = d.join_eui.hex();
    o["MACVersion"] = std::string(lorawan::to_string(d.mac_version));
    if (d.app_key) o["AppKey"] = d.app_key->hex();
    if (d.nwk_key) o["NwkKey"] = d.nwk_key->hex();
    if (d.dev_nonce_policy) o["DevNoncePolicy"] = std::string(to_string(*d.dev_nonce_policy));
    if (d.dev_nonce_start) o["DevNonceStart"] = *d.dev_nonce_start;
    if (d.secure_element) o["SecureElement"] = ordered_json::parse(*d.secure_element);
    devices.push_back(std::move(o));
  }
  ordered_json doc = ordered_json::object();
  doc["devices"] = std::move(devices);
  return doc.dump(2) + "\n";
}

std::string fleet_to_csv(const Fleet& fleet, CsvColumns columns) {
  // The provisioning columns come first, up to NwkKey.
  const std::size_t count =
      columns == CsvColumns::all ? kFieldCount : static_cast<std::size_t>(Field::nwk_key) + 1;
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    if (i) out += ',';
    out += kFieldNames[i];
  }
  out += '\n';
  for (const FleetDevice& d : fleet.devices) {
    out += d.dev_eui.hex() + ',' + d.join_eui.hex() + ',' +
           std::string(lorawan::to_string(d.mac_version)) + ',';
    if (d.app_key) out += d.app_key->hex();
    out += ',';
    if (d.nwk_key) out += d.nwk_key->hex();
    if (columns == CsvColumns::all) {
      out += ',';
      if (d.dev_nonce_policy) out += to_string(*d.dev_nonce_policy);
      out += ',';
      if (d.dev_nonce_start) out += std::to_string(*d.dev_nonce_start);
      out += ',';
      if (d.secure_element) out += csv_cell(*d.secure_element);
    }
    out += '\n';
  }
  return out;
}

void save_fleet(const Fleet& fleet, const std::filesystem::path& file,
                std::optional<FleetFormat> format) {
  const FleetFormat f =
      format.value_or(fleet_format_from_extension(file).value_or(FleetFormat::json));
  const std::string text = f == FleetFormat::json ? fleet_to_json(fleet) : fleet_to_csv(fleet);
  errno = 0;
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (out) out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (out) out.close();
  if (!out) {
    const int err = errno;
    throw FleetError({file.string() + ": cannot write the fleet file" +
                      (err != 0 ? ": " + std::string(std::strerror(err)) : std::string())});
  }
}

FleetDevice generate_device(std::uint64_t index, const Eui64& join_eui, MacVersion mac_version,
                            std::uint64_t seed) {
  if (index >= kMaxGeneratedDevices) {
    throw lorawan::Error("generate_device: index " + std::to_string(index) +
                         " does not fit in the 5 low bytes of a DevEUI (at most 2^40 devices)");
  }
  // The prefix depends on the seed alone: all devices of a fleet share it.
  const std::uint64_t prefix = splitmix64(seed ^ 0x6a6f696e63686563ULL);
  Eui64::Array eui{};
  eui[0] = static_cast<std::uint8_t>((prefix & 0xfc) | 0x02);  // locally administered, unicast
  eui[1] = static_cast<std::uint8_t>(prefix >> 8);
  eui[2] = static_cast<std::uint8_t>(prefix >> 16);
  for (std::size_t b = 0; b < 5; ++b) eui[3 + b] = static_cast<std::uint8_t>(index >> (32 - 8 * b));

  std::mt19937_64 rng(splitmix64(splitmix64(seed) ^ index));
  FleetDevice d;
  d.dev_eui = Eui64(eui);
  d.join_eui = join_eui;
  d.mac_version = mac_version;
  d.app_key = random_key(rng);
  if (lorawan::is_1_1(mac_version)) d.nwk_key = random_key(rng);
  if (lorawan::devnonce_is_counter(mac_version)) {
    d.dev_nonce_policy = DevNoncePolicy::counter;
    d.dev_nonce_start = 0;
  } else {
    d.dev_nonce_policy = DevNoncePolicy::random;
  }
  return d;
}

Fleet generate_fleet(std::size_t count, const Eui64& join_eui, MacVersion mac_version,
                     std::uint64_t seed) {
  return generate_fleet(count, join_eui, std::span<const MacVersion>(&mac_version, 1), seed);
}

Fleet generate_fleet(std::size_t count, const Eui64& join_eui, std::span<const MacVersion> mac_versions,
                     std::uint64_t seed) {
  if (count > kMaxGeneratedDevices) {
    throw lorawan::Error("generate_fleet: count " + std::to_string(count) +
                         " exceeds 2^40 devices (the DevEUI holds the index in 5 bytes)");
  }
  if (mac_versions.empty()) throw lorawan::Error("generate_fleet: expected at least one MAC version, got none");
  if (count < mac_versions.size()) {
    throw lorawan::Error("generate_fleet: " + std::to_string(mac_versions.size()) + " MAC versions need at least " +
                         std::to_string(mac_versions.size()) + " devices, got a count of " + std::to_string(count));
  }
  Fleet fleet;
  fleet.devices.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    fleet.devices.push_back(generate_device(i, join_eui, mac_versions[i % mac_versions.size()], seed));
  }
  return fleet;
}

}  // namespace joincheck::sim
