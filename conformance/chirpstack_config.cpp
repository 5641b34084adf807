#include "conformance/chirpstack_config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <iterator>
#include <sstream>

#include "sim/join_server/config.hpp"

namespace joincheck::conformance {

using namespace sim::toml_config;

std::string_view to_string(ChirpStackVersion version) {
  return version == ChirpStackVersion::v3 ? "ChirpStack v3" : "ChirpStack v4";
}

namespace {

int line_of(const toml::node& n) { return static_cast<int>(n.source().begin.line); }

CsValue string_value(const toml::table& t, std::string_view key, const Where& w) {
  CsValue v;
  if (const toml::node* n = t.get(key)) {
    v.value = get_string(*n, w.child(key));
    v.line = line_of(*n);
  }
  return v;
}

// Reads the keys of a JS table that `known` lists; the others are recorded as ignored.
CsJoinServer read_js(const toml::table& t, const Where& w, std::string table, std::string scope,
                     std::initializer_list<std::string_view> known, ChirpStackConfig& c) {
  CsJoinServer js;
  js.table = std::move(table);
  js.scope = std::move(scope);
  js.line = line_of(t);
  for (const auto& [k, n] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) c.ignored.push_back({w.child(k.str()).key, line_of(n)});
  }
  js.server = string_value(t, "server", w);
  js.ca_cert = string_value(t, "ca_cert", w);
  js.tls_cert = string_value(t, "tls_cert", w);
  js.tls_key = string_value(t, "tls_key", w);
  if (const toml::node* n = t.get("enabled")) js.enabled = get_bool(*n, w.child("enabled"));
  if (const toml::node* n = t.get("async_timeout")) {
    js.async_timeout.line = line_of(*n);
    js.async_timeout.value = n->is_string() ? *n->value<std::string>() : "";
  }
  if (const toml::node* n = t.get("authorization_header")) {
    js.authorization_value = get_string(*n, w.child("authorization_header"));
    js.authorization_header = !js.authorization_value.empty();
  }
  js.join_eui_prefix = string_value(t, t.contains("join_eui") ? "join_eui" : "join_eui_prefix", w);
  return js;
}

const toml::table* table_at(const toml::table& t, std::string_view key, const Where& w) {
  const toml::node* n = t.get(key);
  return n == nullptr ? nullptr : &get_table(*n, w.child(key));
}

const toml::array* array_at(const toml::table& t, std::string_view key, const Where& w) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return nullptr;
  if (!n->is_array()) throw sim::ConfigError(w.child(key).at(*n) + ": expected an array of tables ([[" + w.child(key).key + "]]), got " + type_name(*n));
  return n->as_array();
}

// Whether [[join_server.servers]] is v3's (servers form): [[join_server.servers]] is v4's with
// join_eui_prefix and v3's with join_eui.
bool has_v3_servers(const toml::table* js) {
  if (js == nullptr) return false;
  const toml::node* n = js->get("servers");
  if (n == nullptr || !n->is_array()) return false;
  bool prefix = false, eui = false;
  for (const auto& e : *n->as_array()) {
    if (const toml::table* t = e.as_table()) {
      prefix = prefix || t->contains("join_eui_prefix");
      eui = eui || t->contains("join_eui");
    }
  }
  return eui && !prefix;
}

// The keys present that only one version reads, named as the file writes them.
struct VersionEvidence {
  std::vector<std::string> v3, v4;
};

VersionEvidence version_evidence(const toml::table& root, const toml::table* js, bool v3_servers) {
  VersionEvidence e;
  if (js != nullptr) {
    if (js->contains("servers")) {
      (v3_servers ? e.v3 : e.v4).push_back(v3_servers ? "[[join_server.servers]] with join_eui" : "[[join_server.servers]]");
    }
    if (js->contains("resolve_join_eui_domain_suffix")) e.v4.push_back("join_server.resolve_join_eui_domain_suffix");
    if (js->contains("certificates")) e.v3.push_back("[[join_server.certificates]]");
    if (js->contains("resolve_join_eui")) e.v3.push_back("join_server.resolve_join_eui");
    if (js->contains("resolve_domain_suffix")) e.v3.push_back("join_server.resolve_domain_suffix");
    if (js->contains("kek")) e.v3.push_back("[join_server.kek]");
  }
  if (root.contains("keks")) e.v4.push_back("[[keks]]");
  if (root.contains("backend_interfaces")) e.v4.push_back("[backend_interfaces]");
  if (root.contains("network_server")) e.v3.push_back("[network_server]");
  return e;
}

// The version, the evidence for it and v3's form: the version with more evidence, v4 on a tie.
void detect_version(const toml::table& root, const toml::table* js, ChirpStackConfig& c) {
  const bool v3_servers = has_v3_servers(js);
  const VersionEvidence e = version_evidence(root, js, v3_servers);
  const auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
    return s;
  };
  c.version = e.v3.size() > e.v4.size() ? ChirpStackVersion::v3 : ChirpStackVersion::v4;
  c.version_evidence = e.v3.empty() && e.v4.empty() ? std::string("no version-specific key; assumed v4")
                                                    : join(c.version == ChirpStackVersion::v3 ? e.v3 : e.v4);
  if (c.version == ChirpStackVersion::v3) {
    c.v3_form = v3_servers || (js != nullptr && js->contains("servers") && !js->contains("certificates"))
                    ? V3Form::servers
                    : V3Form::certificates;
  }
}

// The JS tables of [[join_server.<key>]] in file order: "[[join_server.<key>]] #1", scope "<key>-1", ...
std::vector<CsJoinServer> read_js_array(const toml::table& js, std::string_view key, const Where& wjs,
                                        std::initializer_list<std::string_view> known, ChirpStackConfig& c) {
  std::vector<CsJoinServer> out;
  const toml::array* tables = array_at(js, key, wjs);
  if (tables == nullptr) return out;
  for (std::size_t i = 0; i < tables->size(); ++i) {
    const Where w = wjs.child(key).index(i + 1);
    const std::string n = std::to_string(i + 1);
    out.push_back(read_js(get_table((*tables)[i], w), w, "[[join_server." + std::string(key) + "]] #" + n,
                          std::string(key) + "-" + n, known, c));
  }
  return out;
}

// [[join_server.servers]] (v4, and v3's servers form) or v3's [[join_server.certificates]].
void read_listed_join_servers(const toml::table& js, const Where& wjs, bool is_v4, bool v3_servers_form,
                              ChirpStackConfig& c) {
  if (is_v4 || v3_servers_form) {
    std::vector<CsJoinServer> servers =
        read_js_array(js, "servers", wjs,
                      is_v4 ? std::initializer_list<std::string_view>{"join_eui_prefix", "server", "async_timeout", "ca_cert",
                                                                      "tls_cert", "tls_key", "authorization_header"}
                            : std::initializer_list<std::string_view>{"join_eui", "server", "ca_cert", "tls_cert", "tls_key"},
                      c);
    std::move(servers.begin(), servers.end(), std::back_inserter(c.join_servers));
    return;
  }
  for (auto& cert : read_js_array(js, "certificates", wjs, {"join_eui", "ca_cert", "tls_cert", "tls_key"}, c)) {
    // v3 reads no server here (it comes from DNS resolution): the key is reported as ignored.
    cert.server = CsValue{};
    cert.certificates_only = true;
    c.join_servers.push_back(std::move(cert));
  }
}

// [join_server.default], with the keys the version reads there.
void read_default_join_server(const toml::table& js, const Where& wjs, bool is_v4, ChirpStackConfig& c) {
  const toml::table* d = table_at(js, "default", wjs);
  if (d == nullptr) return;
  const Where w = wjs.child("default");
  CsJoinServer def = is_v4 ? read_js(*d, w, "[join_server.default]", "default",
                                     {"enabled", "server", "async_timeout", "ca_cert", "tls_cert", "tls_key",
                                      "authorization_header"},
                                     c)
                           : read_js(*d, w, "[join_server.default]", "default",
                                     {"server", "ca_cert", "tls_cert", "tls_key"}, c);
  def.is_default = true;
  c.join_servers.push_back(std::move(def));
}

// The keys of [join_server] itself that the version (and v3's form) does not read, as ignored.
void record_ignored_join_server_keys(const toml::table& js, const Where& wjs, bool is_v4, bool v3_servers_form,
                                     ChirpStackConfig& c) {
  for (const auto& [k, n] : js) {
    const std::string_view key = k.str();
    // The servers form of v3 picks the JS without resolve_join_eui (GetClientForJoinEUI in
    // internal/backend/joinserver/joinserver.go) and has no certificates table.
    const bool known = is_v4 ? (key == "servers" || key == "default" || key == "resolve_join_eui_domain_suffix")
                       : v3_servers_form
                           ? (key == "servers" || key == "default" || key == "resolve_domain_suffix" || key == "kek")
                           : (key == "certificates" || key == "default" || key == "resolve_join_eui" ||
                              key == "resolve_domain_suffix" || key == "kek");
    if (!known) c.ignored.push_back({wjs.child(key).key, line_of(n)});
  }
}

// [join_server]: its JS tables, then the JoinEUI resolution settings, then the keys left unread.
void read_join_server(const toml::table& js, const Where& wjs, ChirpStackConfig& c) {
  const bool is_v4 = c.version == ChirpStackVersion::v4;
  const bool v3_servers_form = !is_v4 && c.v3_form == V3Form::servers;
  read_listed_join_servers(js, wjs, is_v4, v3_servers_form, c);
  read_default_join_server(js, wjs, is_v4, c);
  c.resolve_suffix = string_value(js, is_v4 ? "resolve_join_eui_domain_suffix" : "resolve_domain_suffix", wjs);
  if (!is_v4) {
    if (const toml::node* n = js.get("resolve_join_eui")) c.resolve_join_eui = get_bool(*n, wjs.child("resolve_join_eui"));
  }
  record_ignored_join_server_keys(js, wjs, is_v4, v3_servers_form, c);
}

// The KEK tables of `set` (v4 [[keks]], v3 [[join_server.kek.set]]), named "<name> #1", ...
void read_keks(const toml::array& set, const Where& w, const std::string& name, ChirpStackConfig& c) {
  for (std::size_t i = 0; i < set.size(); ++i) {
    const Where ew = w.index(i + 1);
    const toml::table& t = get_table(set[i], ew);
    CsKek k;
    k.table = name + " #" + std::to_string(i + 1);
    k.line = line_of(t);
    if (const toml::node* n = t.get("label")) k.label = get_string(*n, ew.child("label"));
    if (const toml::node* n = t.get("kek")) k.kek_hex = get_string(*n, ew.child("kek"));
    c.keks.push_back(std::move(k));
  }
}

// v4's [backend_interfaces]: the NS's own server (bind) for the JS's answers, and its TLS files.
void read_backend_interfaces(const toml::table& root, const Where& top, ChirpStackConfig& c) {
  const toml::table* bi = table_at(root, "backend_interfaces", top);
  if (bi == nullptr) return;
  const Where w = top.child("backend_interfaces");
  CsJoinServer b;
  b.table = "[backend_interfaces]";
  b.scope = "backend-interfaces";
  b.line = line_of(*bi);
  b.server = string_value(*bi, "bind", w);
  b.ca_cert = string_value(*bi, "ca_cert", w);
  b.tls_cert = string_value(*bi, "tls_cert", w);
  b.tls_key = string_value(*bi, "tls_key", w);
  c.backend_interfaces = std::move(b);
}

ChirpStackConfig from_table(const toml::table& root, const std::filesystem::path& source) {
  ChirpStackConfig c;
  c.file = source;
  const Where top{source.string(), ""};
  const Where wjs = top.child("join_server");
  const toml::table* js = table_at(root, "join_server", top);
  c.empty = root.empty();
  c.has_join_server = js != nullptr;
  detect_version(root, js, c);
  const bool is_v4 = c.version == ChirpStackVersion::v4;
  // The NS's NetID, which ChirpStack sends as SenderID (and a JS registers by).
  if (const toml::table* net = table_at(root, is_v4 ? "network" : "network_server", top)) {
    c.net_id = string_value(*net, "net_id", top.child(is_v4 ? "network" : "network_server"));
  }
  if (js != nullptr) read_join_server(*js, wjs, c);
  if (is_v4) {
    if (const toml::array* keks = array_at(root, "keks", top)) read_keks(*keks, top.child("keks"), "[[keks]]", c);
    read_backend_interfaces(root, top, c);
  } else if (js != nullptr) {
    if (const toml::table* kek = table_at(*js, "kek", wjs)) {
      if (const toml::array* set = array_at(*kek, "set", wjs.child("kek"))) {
        read_keks(*set, wjs.child("kek").child("set"), "[[join_server.kek.set]]", c);
      }
    }
  }
  return c;
}

}  // namespace

ChirpStackConfig load_chirpstack_config(const std::filesystem::path& file) {
  return from_table(parse_file(file), file);
}

ChirpStackConfig parse_chirpstack_config(std::string_view toml_text, const std::filesystem::path& source) {
  return from_table(sim::toml_config::parse_text(toml_text, source), source);
}

std::string join_eui_dns_name(std::string_view join_eui_hex, std::string_view suffix) {
  std::string out;
  for (auto it = join_eui_hex.rbegin(); it != join_eui_hex.rend(); ++it) {
    if (!out.empty()) out += '.';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(*it)));
  }
  return out + std::string(suffix);
}

}  // namespace joincheck::conformance
