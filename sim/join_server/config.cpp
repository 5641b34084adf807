#include "sim/join_server/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <set>

#include "lorawan/hex.hpp"

namespace joincheck::sim {

using lorawan::Bytes;

namespace toml_config {

toml::table parse_file(const std::filesystem::path& file) {
  // toml++ reports a missing file as a parse error at line 0; say what happened instead.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) {
    throw ConfigError(file.string() + ": cannot read: " +
                      (std::filesystem::exists(file, ec) ? "not a regular file" : "no such file"));
  }
  try {
    return toml::parse_file(file.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(file.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
}

toml::table parse_text(std::string_view text, const std::filesystem::path& source) {
  try {
    return toml::parse(text, source.string());
  } catch (const toml::parse_error& e) {
    throw ConfigError(source.string() + ":" + std::to_string(e.source().begin.line) + ":" +
                      std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date or time";
  }
}

std::string get_string(const toml::node& n, const Where& w) {
  if (auto v = n.value<std::string>(); v && n.is_string()) return *v;
  throw ConfigError(w.at(n) + ": expected a string, got " + type_name(n));
}

std::int64_t get_int(const toml::node& n, const Where& w, std::int64_t lo, std::int64_t hi) {
  if (!n.is_integer()) throw ConfigError(w.at(n) + ": expected an integer, got " + type_name(n));
  const std::int64_t v = *n.value<std::int64_t>();
  if (v < lo || v > hi) {
    throw ConfigError(w.at(n) + ": expected " + std::to_string(lo) + " to " + std::to_string(hi) +
                      ", got " + std::to_string(v));
  }
  return v;
}

bool get_bool(const toml::node& n, const Where& w) {
  if (!n.is_boolean()) throw ConfigError(w.at(n) + ": expected true or false, got " + type_name(n));
  return *n.value<bool>();
}

std::filesystem::path get_path(const toml::node& n, const Where& w, const std::filesystem::path& base) {
  std::filesystem::path p = get_string(n, w);
  return p.is_relative() ? base / p : p;
}

std::vector<std::string> get_strings(const toml::node& n, const Where& w) {
  std::vector<std::string> out;
  if (n.is_string()) {
    out.push_back(get_string(n, w));
    return out;
  }
  const toml::array* a = n.as_array();
  if (a == nullptr) throw ConfigError(w.at(n) + ": expected a string or an array of strings, got " + type_name(n));
  for (const auto& e : *a) out.push_back(get_string(e, w));
  return out;
}

const toml::table& get_table(const toml::node& n, const Where& w) {
  if (const toml::table* t = n.as_table()) return *t;
  throw ConfigError(w.at(n) + ": expected a table, got " + type_name(n));
}

void check_keys(const toml::table& t, const Where& w, std::initializer_list<std::string_view> known) {
  for (const auto& [k, v] : t) {
    bool ok = false;
    for (auto name : known) ok = ok || k.str() == name;
    if (!ok) {
      std::string list;
      for (auto name : known) list += (list.empty() ? "" : ", ") + std::string(name);
      throw ConfigError(w.child(k.str()).at(v) + ": unknown key; expected one of " + list);
    }
  }
}

}  // namespace toml_config

namespace {

// The origin of a label the file gives, when it is still the label in use.
const KekLabelOrigin* origin_of(const KekLabelOrigins& origins, std::string_view key, const std::string& label) {
  const auto it = origins.find(key);
  return it != origins.end() && it->second.label == label ? &it->second : nullptr;
}

}  // namespace

std::pair<std::string, Bytes> parse_kek(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw ConfigError("KEK: expected LABEL=HEX, got a value without a label");
  }
  std::string label(text.substr(0, eq));
  const std::string_view hex = lorawan::strip_hex_prefix(text.substr(eq + 1));
  if (hex.size() != 32 && hex.size() != 48 && hex.size() != 64) {
    throw ConfigError("KEK " + label + ": expected 32, 48 or 64 hex digits (AES-128/192/256), got " +
                      std::to_string(hex.size()) + " characters");
  }
  return {label, lorawan::from_hex(hex, "KEK " + label, lorawan::Secrecy::secret)};
}

std::pair<backend::MessageType, std::string> parse_path(std::string_view text) {
  const auto eq = text.find('=');
  const auto type = eq == std::string_view::npos ? std::nullopt
                                                  : backend::parse_message_type(text.substr(0, eq));
  if (!type || !backend::is_request(*type)) {
    throw ConfigError("path: expected TYPE=/path with TYPE one of JoinReq, RejoinReq, AppSKeyReq, "
                      "HomeNSReq, got " + lorawan::quote_for_error(text));
  }
  std::string path(text.substr(eq + 1));
  if (path.empty() || path[0] != '/') {
    throw ConfigError("path for " + std::string(text.substr(0, eq)) + ": expected a path starting with '/', got " +
                      lorawan::quote_for_error(path));
  }
  return {*type, path};
}

void resolve_keks(JoinServerConfig& js, const backend::KekTable& keks, const std::string& as_kek_label,
                  const KekLabelOrigins& origins) {
  for (auto& peer : js.net_ids) {
    if (peer.kek_label.empty()) {
      if (const auto it = keks.find(peer.net_id.hex()); it != keks.end()) {
        peer.kek_label = it->first;
        peer.kek = it->second;
      }
      continue;
    }
    const auto it = keks.find(peer.kek_label);
    if (it == keks.end()) {
      const KekLabelOrigin* from = origin_of(origins, peer.net_id.hex(), peer.kek_label);
      throw ConfigError((from ? from->where + ": " : std::string()) + "network server " + peer.net_id.hex() +
                        ": KEK label \"" + peer.kek_label + "\" names no KEK; add it with --kek " +
                        peer.kek_label + "=HEX or a [[kek]] table");
    }
    peer.kek = it->second;
  }
  if (!as_kek_label.empty()) {
    const auto it = keks.find(as_kek_label);
    if (it == keks.end()) {
      const KekLabelOrigin* from = origin_of(origins, "application_server", as_kek_label);
      throw ConfigError((from ? from->where + ": " : std::string()) + "application server KEK label \"" +
                        as_kek_label + "\" names no KEK; add it with --kek " + as_kek_label +
                        "=HEX or a [[kek]] table");
    }
    js.as_kek_label = as_kek_label;
    js.as_kek = it->second;
  }
  // A KEK that wraps nothing is a mistake that would send keys in clear without a word.
  for (const auto& entry : keks) {
    const std::string& label = entry.first;
    const bool used = label == js.as_kek_label ||
                      std::any_of(js.net_ids.begin(), js.net_ids.end(),
                                  [&](const NetIdPeer& p) { return p.kek_label == label; });
    if (used) continue;
    std::string hint = "name it in a network server (--ns NETID=" + label + ", or kek_label in [[network_server]]) or as --as-kek";
    if (label.size() == 6 && lorawan::is_hex(label)) {
      hint = "declare that network server with --ns " + label + " (or a [[network_server]] table); without any, every NetID is served with keys in clear";
    }
    throw ConfigError("KEK \"" + label + "\" wraps no key: " + hint);
  }
}

void finalize_serve_js_options(JoinServerServiceOptions& o) {
  // A JS that serves one network server is every device's home: HomeNSReq names that NetID
  // unless another is configured (TS002 1.0 §12.1.1: the JS answers the home NetID of the device).
  if (!o.js.home_net_id && o.js.net_ids.size() == 1) o.js.home_net_id = o.js.net_ids.front().net_id;
  for (const auto& peer : o.js.net_ids) {
    if (peer.client_ca_file.empty()) continue;
    if (!o.http.tls) {
      throw ConfigError("network server " + peer.net_id.hex() + " has a client CA (" + peer.client_ca_file +
                        "), which needs HTTPS: give a server certificate and key (--tls-cert/--tls-key or [tls])");
    }
    // Ask every client for its certificate; the JS checks it against the CA of its NetID.
    if (o.http.tls->client_cert == backend::ClientCertMode::none) {
      o.http.tls->client_cert = backend::ClientCertMode::request;
    }
  }
}

namespace {

using toml_config::check_keys;
using toml_config::get_bool;
using toml_config::get_int;
using toml_config::get_path;
using toml_config::get_string;
using toml_config::get_strings;
using toml_config::get_table;
using toml_config::Where;
using toml_config::wrap_errors;

// [tls]: the server certificate and key (both required), chain, client CA, whether to ask
// clients for a certificate, and the minimum TLS version.
backend::TlsServerOptions tls_table_from(const toml::node& node, const Where& w,
                                         const std::filesystem::path& base) {
  const toml::table& t = get_table(node, w);
  check_keys(t, w, {"cert", "key", "chain", "client_ca", "request_client_cert", "min_version"});
  backend::TlsServerOptions tls;
  bool request = false;
  for (const auto& [tk, tn] : t) {
    const Where tw = w.child(tk.str());
    if (tk == "cert") tls.cert_file = get_path(tn, tw, base);
    else if (tk == "key") tls.key_file = get_path(tn, tw, base);
    else if (tk == "chain") tls.chain_file = get_path(tn, tw, base);
    else if (tk == "client_ca") tls.client_ca_file = get_path(tn, tw, base);
    else if (tk == "request_client_cert") request = get_bool(tn, tw);
    else if (tk == "min_version") {
      const std::string v = get_string(tn, tw);
      if (v == "1.2") tls.min_version = backend::TlsVersion::tls1_2;
      else if (v == "1.3") tls.min_version = backend::TlsVersion::tls1_3;
      else throw ConfigError(tw.at(tn) + ": expected \"1.2\" or \"1.3\", got \"" + v + "\"");
    }
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    throw ConfigError(w.at(node) + ": cert and key are both required for HTTPS");
  }
  tls.client_cert = !tls.client_ca_file.empty() ? backend::ClientCertMode::require
                    : request                   ? backend::ClientCertMode::request
                                                : backend::ClientCertMode::none;
  return tls;
}

// [[kek]] tables, each a label and its KEK, added to `keks`.
void read_kek_tables(const toml::node& node, const Where& w, backend::KekTable& keks) {
  const toml::array* a = node.as_array();
  if (a == nullptr) throw ConfigError(w.at(node) + ": expected [[kek]] tables with label and kek");
  for (const auto& e : *a) {
    const toml::table& t = get_table(e, w);
    check_keys(t, w, {"label", "kek"});
    const toml::node* label = t.get("label");
    const toml::node* kek = t.get("kek");
    if (!label || !kek) throw ConfigError(w.at(e) + ": each [[kek]] needs label and kek");
    const std::string l = get_string(*label, w.child("label"));
    const std::string hex = get_string(*kek, w.child("kek"));
    auto [lab, bytes] = wrap_errors(*kek, w.child("kek"), [&] { return parse_kek(l + "=" + hex); });
    keks[lab] = bytes;
  }
}

// [[network_server]] tables, each a NetID served (o.js.net_ids) with its KEK label, client CA
// and async URL; where each KEK label was given goes into `out`.
void read_network_server_tables(const toml::node& node, const Where& w, const std::filesystem::path& base,
                                JoinServerServiceOptions& o, ServeJsFileSettings& out) {
  const toml::array* a = node.as_array();
  if (a == nullptr) throw ConfigError(w.at(node) + ": expected [[network_server]] tables");
  for (const auto& e : *a) {
    const toml::table& t = get_table(e, w);
    check_keys(t, w, {"net_id", "kek_label", "client_ca", "async_url"});
    NetIdPeer p;
    const toml::node* id = t.get("net_id");
    if (!id) throw ConfigError(w.at(e) + ": each [[network_server]] needs net_id");
    const std::string idv = get_string(*id, w.child("net_id"));
    p.net_id = wrap_errors(*id, w.child("net_id"), [&] { return lorawan::NetId::parse(idv, "net_id"); });
    if (const auto* n = t.get("kek_label")) {
      p.kek_label = get_string(*n, w.child("kek_label"));
      out.kek_label_origins[p.net_id.hex()] = {p.kek_label, w.child("kek_label").at(*n)};
    }
    if (const auto* n = t.get("client_ca")) p.client_ca_file = get_path(*n, w.child("client_ca"), base).string();
    if (const auto* n = t.get("async_url")) p.async_url = get_string(*n, w.child("async_url"));
    o.js.net_ids.push_back(p);
  }
}

// [application_server]: its AS-IDs, and the KEK label of the AppSKeys it is sent (into `out`).
void read_application_server_table(const toml::node& node, const Where& w, JoinServerServiceOptions& o,
                                   ServeJsFileSettings& out) {
  const toml::table& t = get_table(node, w);
  check_keys(t, w, {"ids", "kek_label"});
  if (const auto* n = t.get("ids")) o.js.as_ids = get_strings(*n, w.child("ids"));
  if (const auto* n = t.get("kek_label")) {
    out.as_kek_label = get_string(*n, w.child("kek_label"));
    out.kek_label_origins["application_server"] = {out.as_kek_label, w.child("kek_label").at(*n)};
  }
}

// [paths]: TYPE = "/path", the HTTP path each request type is served on.
void read_paths_table(const toml::node& node, const Where& w, JoinServerServiceOptions& o) {
  const toml::table& t = get_table(node, w);
  for (const auto& [pk, pn] : t) {
    const std::string v = get_string(pn, w.child(pk.str()));
    const std::string spec = std::string(pk.str()) + "=" + v;
    auto [type, path] = wrap_errors(pn, w.child(pk.str()), [&] { return parse_path(spec); });
    o.paths[type] = path;
  }
}

// A top-level key whose value is one setting (not a table): listen, devices, state, threads,
// the JS's own settings. Other keys are left to the table readers.
void read_top_level_setting(std::string_view k, const toml::node& node, const Where& w,
                            const std::filesystem::path& base, JoinServerServiceOptions& o,
                            ServeJsFileSettings& out) {
  if (k == "listen") {
    const std::string v = get_string(node, w);
    wrap_errors(node, w, [&] { backend::parse_listen_address(v, o.http); return 0; });
  } else if (k == "devices") {
    for (const auto& s : get_strings(node, w)) {
      std::filesystem::path p = s;
      out.fleet_files.push_back(p.is_relative() ? base / p : p);
    }
  } else if (k == "state") {
    o.store.database = get_path(node, w, base);
  } else if (k == "threads") {
    o.http.threads = static_cast<std::size_t>(get_int(node, w, 1, 256));
  } else if (k == "dev_nonce_window") {
    o.store.dev_nonce_window = static_cast<std::size_t>(get_int(node, w, 1, 65535));
  } else if (k == "power_loss_durable") {
    o.store.power_loss_durable = get_bool(node, w);
  } else if (k == "lifetime") {
    o.js.lifetime = static_cast<std::uint32_t>(get_int(node, w, 0, 0xffffffffLL));
  } else if (k == "max_body_size") {
    o.http.max_body_size = static_cast<std::size_t>(get_int(node, w, 1024, 16 * 1024 * 1024));
  } else if (k == "refuse_clear_keys") {
    o.js.refuse_clear_keys = get_bool(node, w);
  } else if (k == "behave_like") {
    const std::string name = get_string(node, w);
    const auto b = parse_behaviour(name);
    if (!b) throw ConfigError(w.at(node) + ": expected strict, brocaar or tts, got \"" + name + "\"");
    o.js.behaviour = *b;
  } else if (k == "faults") {
    for (const auto& f : get_strings(node, w)) wrap_errors(node, w, [&] { add_fault(o.js.faults, f); return 0; });
  } else if (k == "join_euis") {
    for (const auto& r : get_strings(node, w)) {
      o.js.join_euis.push_back(wrap_errors(node, w, [&] { return parse_join_eui_range(r); }));
    }
  } else if (k == "home_net_id") {
    const std::string v = get_string(node, w);
    o.js.home_net_id = wrap_errors(node, w, [&] { return lorawan::NetId::parse(v, "home_net_id"); });
  } else if (k == "home_ns_id") {
    const std::string v = get_string(node, w);
    o.js.home_ns_id = wrap_errors(node, w, [&] { return lorawan::Eui64::parse(v, "home_ns_id"); });
  }
}

ServeJsFileSettings serve_js_config_from(const toml::table& root, const std::filesystem::path& file,
                                         JoinServerServiceOptions& o) {
  const std::filesystem::path base = file.parent_path();
  const Where top{file.string(), ""};
  check_keys(root, top,
             {"listen", "devices", "state", "threads", "dev_nonce_window", "lifetime",
              "refuse_clear_keys", "behave_like", "faults", "join_euis", "home_net_id", "home_ns_id",
              "max_body_size", "tls", "kek", "network_server", "application_server", "paths",
              "power_loss_durable"});
  ServeJsFileSettings out;
  for (const auto& [key, node] : root) {
    const Where w = top.child(key.str());
    const std::string_view k = key.str();
    if (k == "tls") {
      o.http.tls = tls_table_from(node, w, base);
    } else if (k == "kek") {
      read_kek_tables(node, w, out.keks);
    } else if (k == "network_server") {
      read_network_server_tables(node, w, base, o, out);
    } else if (k == "application_server") {
      read_application_server_table(node, w, o, out);
    } else if (k == "paths") {
      read_paths_table(node, w, o);
    } else {
      read_top_level_setting(k, node, w, base, o, out);
    }
  }
  return out;
}

}  // namespace

ServeJsFileSettings load_serve_js_config(const std::filesystem::path& file, JoinServerServiceOptions& o) {
  return serve_js_config_from(toml_config::parse_file(file), file, o);
}

ServeJsFileSettings parse_serve_js_config(std::string_view toml_text, const std::filesystem::path& source,
                                          JoinServerServiceOptions& o) {
  return serve_js_config_from(toml_config::parse_text(toml_text, source), source, o);
}

}  // namespace joincheck::sim
