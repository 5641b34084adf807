#include "conformance/profile.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "conformance/embedded.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

const KnownDeviation* Profile::find(std::string_view check_id) const {
  // A device that cannot talk after its join is not a quirk: no entry covers these checks, even
  // in a Profile built in code rather than parsed from a file.
  if (!profile_may_excuse(check_id)) return nullptr;
  for (const auto& k : known) {
    if (k.check == check_id) return &k;
  }
  // An exact id wins over its group, so a profile may skip a group but warn on one of its checks.
  const std::string_view group = check_id.substr(0, check_id.find('/'));
  for (const auto& k : known) {
    if (k.check == group) return &k;
  }
  return nullptr;
}

namespace {

constexpr std::string_view kBuiltinFolder = "conformance/profiles/";

// Where a value is, for messages: "brocaar.toml:12: known[3].verdict".
struct Where {
  std::string source;
  std::string key;
  std::string at(const toml::node& n) const {
    return source + ":" + std::to_string(n.source().begin.line) + ": " + key;
  }
  Where child(std::string_view k) const {
    return {source, key.empty() ? std::string(k) : key + "." + std::string(k)};
  }
  Where index(std::size_t i) const { return {source, key + "[" + std::to_string(i) + "]"}; }
};

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

std::string get_string(const toml::node& n, const Where& w) {
  if (const auto* s = n.as_string()) return s->get();
  throw ProfileError(w.at(n) + ": expected a string, got " + type_name(n));
}

// A typo in a key must not be silently ignored: every key of `t` is one of `known`.
void check_keys(const toml::table& t, const Where& w, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
    std::string list;
    for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
    throw ProfileError(w.child(k.str()).at(v) + ": unknown key; expected one of " + list);
  }
}

// "a, b or c" for messages.
std::string names_list(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

KnownDeviation parse_known(const toml::table& t, const Where& w, const Catalog& catalog) {
  check_keys(t, w, {"check", "verdict", "reason"});
  KnownDeviation k;

  const toml::node* check = t.get("check");
  if (check == nullptr) throw ProfileError(w.at(t) + ": missing key \"check\" (a check id or a group)");
  const Where cw = w.child("check");
  k.check = get_string(*check, cw);
  // "devnonce/" names the group, as --only/--skip accept it.
  if (!k.check.empty() && k.check.back() == '/') k.check.pop_back();
  const bool is_id = k.check.find('/') != std::string::npos;
  if (is_id ? catalog.find(k.check) == nullptr : catalog.select(k.check).empty()) {
    throw ProfileError(cw.at(*check) + ": expected a check id or a group of the catalog (joincheck list prints them), got " +
                       lorawan::quote_for_error(k.check));
  }
  // Wrong session keys or a join-accept the device cannot open leave a device that cannot talk:
  // a failure under every profile. A group that holds such a check is refused too.
  for (const auto& id : is_id ? std::vector<std::string>{k.check} : catalog.select(k.check)) {
    if (profile_may_excuse(id)) continue;
    throw ProfileError(cw.at(*check) + ": " + lorawan::quote_for_error(k.check) +
                       (is_id ? "" : " holds " + lorawan::quote_for_error(id) + ", which") +
                       " cannot be a known deviation: when it fails the device cannot talk after its join or rejoin, "
                       "so it fails under every profile (list the other checks of the group one by one)");
  }

  if (const toml::node* verdict = t.get("verdict")) {
    const Where vw = w.child("verdict");
    const std::string text = get_string(*verdict, vw);
    if (text == "warn") {
      k.verdict = Verdict::warn;
    } else if (text == "skip") {
      k.verdict = Verdict::skip;
    } else {
      throw ProfileError(vw.at(*verdict) + ": expected \"warn\" or \"skip\", got " + lorawan::quote_for_error(text));
    }
  }

  // A known deviation without its reason would turn a failure into an unexplained warning.
  const toml::node* reason = t.get("reason");
  if (reason == nullptr) {
    throw ProfileError(w.at(t) + ": missing key \"reason\" (what the Join Server does, and the source that says so)");
  }
  const Where rw = w.child("reason");
  k.reason = get_string(*reason, rw);
  if (k.reason.empty()) throw ProfileError(rw.at(*reason) + ": expected the reason for the deviation, got an empty string");
  return k;
}

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ProfileError(file.string() + ": cannot read the profile file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ProfileError(file.string() + ": cannot read the profile file");
  return text.str();
}

std::string stem(std::string_view file_name) { return std::filesystem::path(file_name).stem().string(); }

}  // namespace

Profile parse_profile(std::string_view toml_text, std::string_view source, const Catalog& catalog) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    throw ProfileError(std::string(source) + ":" + std::to_string(e.source().begin.line) + ":" +
                       std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  const Where top{std::string(source), ""};
  check_keys(root, top, {"name", "description", "source", "known"});

  Profile p;
  // A user's file may leave the name out: it is then the file's name ("site.toml" -> "site").
  p.name = stem(source);
  p.description.clear();
  if (const toml::node* n = root.get("name")) {
    p.name = get_string(*n, top.child("name"));
    if (p.name.empty()) throw ProfileError(top.child("name").at(*n) + ": expected a profile name, got an empty string");
  }
  if (const toml::node* n = root.get("description")) p.description = get_string(*n, top.child("description"));
  if (const toml::node* n = root.get("source")) p.source = get_string(*n, top.child("source"));

  if (const toml::node* n = root.get("known")) {
    const Where kw = top.child("known");
    const toml::array* list = n->as_array();
    if (list == nullptr) {
      throw ProfileError(kw.at(*n) + ": expected [[known]] tables, got " + type_name(*n));
    }
    for (std::size_t i = 0; i < list->size(); ++i) {
      const toml::node& e = *list->get(i);
      const Where ew = kw.index(i);
      const toml::table* t = e.as_table();
      if (t == nullptr) throw ProfileError(ew.at(e) + ": expected a table {check, verdict, reason}, got " + type_name(e));
      KnownDeviation k = parse_known(*t, ew, catalog);
      // Two entries for one check: which reason would a report show? The file must say once.
      const auto same = std::find_if(p.known.begin(), p.known.end(), [&](const KnownDeviation& o) { return o.check == k.check; });
      if (same != p.known.end()) {
        throw ProfileError(ew.child("check").at(*t->get("check")) + ": " + lorawan::quote_for_error(k.check) +
                           " is listed twice (known[" + std::to_string(same - p.known.begin()) + "])");
      }
      p.known.push_back(std::move(k));
    }
  }
  return p;
}

std::vector<std::string> builtin_profile_names() {
  std::vector<std::string> names;
  for (const auto& f : embedded_profile_files()) names.push_back(stem(f.name));
  std::sort(names.begin(), names.end());
  return names;
}

Profile resolve_profile(std::string_view name_or_file, const Catalog& catalog) {
  for (const auto& f : embedded_profile_files()) {
    if (stem(f.name) == name_or_file) {
      return parse_profile(f.contents, std::string(kBuiltinFolder) + std::string(f.name), catalog);
    }
  }
  // The default needs no data file: the specification alone.
  if (name_or_file == "strict") return Profile{};

  const std::filesystem::path file(name_or_file);
  std::error_code ec;
  if (std::filesystem::is_regular_file(file, ec)) return parse_profile(read_file(file), file.string(), catalog);

  std::vector<std::string> names = builtin_profile_names();
  if (std::find(names.begin(), names.end(), "strict") == names.end()) names.insert(names.begin(), "strict");
  throw ProfileError("profile " + lorawan::quote_for_error(name_or_file) + ": expected a built-in profile (" +
                     names_list(names) + ") or the path of a .toml profile file, and no such file exists");
}

}  // namespace joincheck::conformance
