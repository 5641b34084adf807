#include "conformance/scenario.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <utility>

#include "backend/json_duplicates.hpp"
#include "conformance/embedded.hpp"
#include "conformance/scenario_json.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

using namespace scenario_json;

namespace {

constexpr std::array<std::pair<Capability, std::string_view>, 7> kCapabilities{{
    {Capability::rejoin, "rejoin"},
    {Capability::app_s_key, "app-s-key"},
    {Capability::home_ns, "home-ns"},
    {Capability::protocol_1_1, "protocol-1.1"},
    {Capability::known_senders, "known-senders"},
    {Capability::as_kek, "as-kek"},
    {Capability::async, "async"},
}};

}  // namespace

std::string_view to_string(Capability capability) {
  for (const auto& [c, name] : kCapabilities) {
    if (c == capability) return name;
  }
  return "?";
}

std::optional<Capability> parse_capability(std::string_view text) {
  for (const auto& [c, name] : kCapabilities) {
    if (name == text) return c;
  }
  return std::nullopt;
}

const DeviceNeed* Scenario::device(std::string_view name) const {
  for (const auto& d : devices) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

CheckInfo Scenario::check_info() const {
  CheckInfo info;
  info.id = id;
  info.level = level;
  info.title = title;
  info.spec = spec;
  return info;
}

namespace scenario_json {

std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return lorawan::quote_for_error(v.get_ref<const std::string&>());
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::null:
      return "null";
    case json::value_t::discarded:
      return "nothing";
    default:
      return v.dump();
  }
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string one_of(std::initializer_list<std::string_view> words) {
  std::string out;
  std::size_t i = 0;
  for (auto w : words) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += in_quotes(w);
    ++i;
  }
  return out;
}

std::string child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}
std::string index(std::string_view path, std::size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

const std::string& get_string(const json& v, const Where& w, std::string_view path) {
  if (!v.is_string()) w.expected(path, "a string", v);
  return v.get_ref<const std::string&>();
}

bool get_bool(const json& v, const Where& w, std::string_view path) {
  if (!v.is_boolean()) w.expected(path, "true or false", v);
  return v.get<bool>();
}

std::int64_t get_int(const json& v, const Where& w, std::string_view path, std::int64_t lo, std::int64_t hi) {
  const std::string what = "an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi) || (lo > 0 && u < static_cast<std::uint64_t>(lo))) w.expected(path, what, v);
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i < lo || i > hi) w.expected(path, what, v);
    return i;
  }
  w.expected(path, what, v);
}

const json& get_object(const json& v, const Where& w, std::string_view path) {
  if (!v.is_object()) w.expected(path, "an object", v);
  return v;
}

const json& get_array(const json& v, const Where& w, std::string_view path) {
  if (!v.is_array()) w.expected(path, "an array", v);
  return v;
}

void check_keys(const json& object, const Where& w, std::string_view path,
                std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      w.fail(child(path, key), "unknown field; expected one of " + comma_list(known));
    }
  }
}

}  // namespace scenario_json

namespace {

std::string capability_names() {
  std::vector<std::string_view> names;
  for (const auto& [c, name] : kCapabilities) names.push_back(name);
  return comma_list(names);
}

Scenario parse_scenario(const json& v, Where& w, std::string_view source, const Catalog& catalog) {
  get_object(v, w, "");
  Scenario s;
  s.source = std::string(source);

  const auto id = v.find("id");
  if (id == v.end()) w.fail("id", "missing; expected a check id such as \"devnonce/replay-1.0.4\"");
  s.id = get_string(*id, w, "id");
  if (!is_valid_check_id(s.id)) {
    w.expected("id", "a check id <group>/<name> in lower-case letters, digits, '.' and '-'", *id);
  }
  w.set_scenario("scenario " + in_quotes(s.id));
  check_keys(v, w, "", {"id", "title", "spec", "level", "requires", "devices", "steps"});

  const CheckInfo* known = catalog.find(s.id);
  s.custom = known == nullptr;
  std::optional<Level> level;
  if (const auto l = v.find("level"); l != v.end()) {
    level = parse_level(get_string(*l, w, "level"));
    if (!level) w.expected("level", one_of({"MUST", "SHOULD", "INFO"}), *l);
  }
  if (const auto t = v.find("title"); t != v.end()) {
    s.title = get_string(*t, w, "title");
    if (s.title.empty()) w.expected("title", "a one-line title", *t);
  }
  if (const auto sp = v.find("spec"); sp != v.end()) s.spec = get_string(*sp, w, "spec");
  if (known != nullptr) {
    // A catalog check keeps its level: a scenario cannot turn a MUST into a SHOULD.
    if (level && *level != known->level) {
      w.fail("level", "expected " + in_quotes(to_string(known->level)) + " (the catalog's level of " + in_quotes(s.id) +
                          "), got " + in_quotes(to_string(*level)));
    }
    s.level = known->level;
    if (!v.contains("title")) s.title = known->title;
    if (!v.contains("spec")) s.spec = known->spec;
  } else {
    if (!v.contains("title")) {
      w.fail("title", "missing; " + in_quotes(s.id) + " is not a catalog check, so the scenario declares a custom check "
                      "and needs a title (and a level)");
    }
    if (!level) {
      w.fail("level", "missing; " + in_quotes(s.id) + " is not a catalog check, so the scenario declares a custom check "
                      "and needs a level (\"MUST\", \"SHOULD\" or \"INFO\")");
    }
    s.level = *level;
  }

  if (const auto r = v.find("requires"); r != v.end()) {
    for (std::size_t i = 0; const auto& e : get_array(*r, w, "requires")) {
      const std::string p = index("requires", i++);
      const auto cap = e.is_string() ? parse_capability(e.get_ref<const std::string&>()) : std::nullopt;
      if (!cap) w.expected(p, "a capability (" + capability_names() + ")", e);
      if (std::find(s.requires_.begin(), s.requires_.end(), *cap) == s.requires_.end()) s.requires_.push_back(*cap);
    }
  }

  if (const auto d = v.find("devices"); d != v.end()) {
    for (const auto& [name, need] : get_object(*d, w, "devices").items()) {
      const std::string p = child("devices", name);
      if (name.empty()) w.fail("devices", "a device name is empty");
      get_object(need, w, p);
      check_keys(need, w, p, {"MACVersion", "unknown"});
      DeviceNeed dev;
      dev.name = name;
      if (const auto m = need.find("MACVersion"); m != need.end()) {
        const std::string mp = child(p, "MACVersion");
        const auto& text = get_string(*m, w, mp);
        if (text == "any") {
          dev.any_version = true;
        } else {
          dev.mac_version = w.wrap([&] { return lorawan::parse_mac_version_or_throw(text, mp); });
        }
      }
      if (const auto u = need.find("unknown"); u != need.end()) dev.unknown = get_bool(*u, w, child(p, "unknown"));
      if (dev.unknown && dev.any_version) {
        w.fail(child(p, "MACVersion"), "\"any\" is for devices of the fleet; an unknown device needs a MAC version");
      }
      s.devices.push_back(std::move(dev));
    }
  }

  const auto steps = v.find("steps");
  if (steps == v.end()) w.fail("steps", "missing; expected an array of steps");
  if (!steps->is_array() || steps->empty()) w.expected("steps", "a non-empty array of steps", *steps);
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const std::string p = index("steps", i);
    Step step = parse_step((*steps)[i], w, p, s, catalog);
    step.where = std::string(source) + ": " + p;
    s.steps.push_back(std::move(step));
  }
  return s;
}

}  // namespace

std::vector<Scenario> scenarios_from_json(const nlohmann::json& json_value, std::string_view source,
                                          const Catalog& catalog) {
  std::vector<Scenario> out;
  Where top(std::string(source), "");
  const json* list = nullptr;
  if (json_value.is_array()) {
    list = &json_value;
  } else if (json_value.is_object() && json_value.contains("scenarios")) {
    check_keys(json_value, top, "", {"scenarios"});
    list = &json_value["scenarios"];
    if (!list->is_array()) top.expected("scenarios", "an array of scenarios", *list);
  } else if (json_value.is_object()) {
    Where w(std::string(source), "");
    out.push_back(parse_scenario(json_value, w, source, catalog));
  } else {
    top.expected("", "a scenario object, {\"scenarios\": [...]} or an array of scenarios", json_value);
  }
  if (list != nullptr) {
    if (list->empty()) top.fail("", "expected at least one scenario, got an empty list");
    for (std::size_t i = 0; i < list->size(); ++i) {
      Where w(std::string(source), index("scenarios", i));
      out.push_back(parse_scenario((*list)[i], w, source, catalog));
    }
  }
  // Two scenarios declaring the same custom check differently would make the catalog ambiguous.
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!out[i].custom) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (out[j].id == out[i].id && !(out[j].check_info() == out[i].check_info())) {
        Where w(std::string(source), "scenario " + in_quotes(out[i].id));
        w.fail("", "declares the custom check " + in_quotes(out[i].id) +
                       " with another title, level or spec than an earlier scenario of the same id");
      }
    }
  }
  return out;
}

std::vector<Scenario> parse_scenarios(std::string_view json_text, std::string_view source, const Catalog& catalog) {
  backend::ParsedJson parsed;
  try {
    parsed = backend::parse_json_with_duplicates(json_text);
  } catch (const json::parse_error& e) {
    // nlohmann's byte is 1-based and points at the character that broke the parse.
    const std::size_t byte = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, json_text.size());
    const std::string_view before = json_text.substr(0, byte);
    const std::size_t line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = line_start == std::string_view::npos ? byte + 1 : byte - line_start;
    // what(): "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ...".
    std::string detail = e.what();
    if (const auto at = detail.find("column "); at != std::string::npos) {
      if (const auto colon = detail.find(": ", at); colon != std::string::npos) detail.erase(0, colon + 2);
    }
    throw ScenarioError(std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                        ": invalid JSON at byte " + std::to_string(byte) + ": " + detail);
  } catch (const json::exception& e) {
    throw ScenarioError(std::string(source) + ": invalid JSON: " + e.what());
  }
  if (!parsed.duplicates.empty()) {
    throw ScenarioError(std::string(source) + ": " + parsed.duplicates.front().path() +
                        ": the key appears twice in one object (only the last would count)");
  }
  return scenarios_from_json(parsed.value, source, catalog);
}

std::vector<Scenario> load_scenarios(const std::filesystem::path& file, const Catalog& catalog) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ScenarioError(file.string() + ": cannot read the scenario file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ScenarioError(file.string() + ": cannot read the scenario file");
  return parse_scenarios(text.str(), file.string(), catalog);
}

const std::vector<Scenario>& builtin_suite() {
  static const std::vector<Scenario> suite = [] {
    std::vector<EmbeddedFile> files(embedded_scenario_files().begin(), embedded_scenario_files().end());
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::vector<Scenario> all;
    for (const auto& f : files) {
      // A broken built-in file is a bug of joincheck itself: parse_scenarios throws ScenarioError
      // naming the file, which the suite's test catches before a release.
      auto scenarios = parse_scenarios(f.contents, "scenarios/suite/" + std::string(f.name));
      std::move(scenarios.begin(), scenarios.end(), std::back_inserter(all));
    }
    return all;
  }();
  return suite;
}

std::vector<lorawan::MacVersion> suite_mac_versions() {
  std::set<lorawan::MacVersion> versions;
  for (const auto& sc : builtin_suite()) {
    for (const auto& need : sc.devices) {
      if (!need.unknown && !need.any_version) versions.insert(need.mac_version);
    }
  }
  return {versions.begin(), versions.end()};
}

}  // namespace joincheck::conformance
