#include "conformance/target.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <utility>

#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

using sim::ConfigError;

namespace {

using namespace sim::toml_config;

constexpr std::string_view kDefaultNetId = "000001";
constexpr std::string_view kDefaultNsId = "0000000000000001";
constexpr std::string_view kDefaultSenderToken = "joincheck";  // its ASCII bytes
constexpr std::int64_t kMaxTimeoutMs = 3'600'000;

// The [capabilities] keys a file may set; as-kek and async follow from other tables.
constexpr std::array<std::pair<std::string_view, Capability>, 5> kCapabilityKeys{{
    {"rejoin", Capability::rejoin},
    {"app_s_key", Capability::app_s_key},
    {"home_ns", Capability::home_ns},
    {"protocol_1_1", Capability::protocol_1_1},
    {"known_senders", Capability::known_senders},
}};

bool starts_with_http(std::string_view text) {
  return text.rfind("http://", 0) == 0 || text.rfind("https://", 0) == 0;
}

// The URL as NsClient will parse it, so that a bad URL is reported at its line.
std::string get_url(const toml::node& n, const Where& w) {
  return checked_target_url(get_string(n, w), w.at(n));
}

// "5s", "500ms", or an integer of milliseconds.
std::chrono::milliseconds get_timeout(const toml::node& n, const Where& w) {
  const std::string expected =
      "expected a duration such as \"5s\" or \"500ms\", or milliseconds as an integer";
  std::int64_t ms = 0;
  if (n.is_integer()) {
    ms = *n.value<std::int64_t>();
  } else if (n.is_string()) {
    const std::string text = *n.value<std::string>();
    std::int64_t number = 0;
    const char* const end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, number);
    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    if (ec != std::errc() || rest == text.data() || (unit != "ms" && unit != "s") || number < 0 ||
        number > kMaxTimeoutMs) {
      throw ConfigError(w.at(n) + ": " + expected + ", got " + lorawan::quote_for_error(text));
    }
    ms = unit == "s" ? number * 1000 : number;
  } else {
    throw ConfigError(w.at(n) + ": " + expected + ", got " + type_name(n));
  }
  if (ms < 1 || ms > kMaxTimeoutMs) {
    throw ConfigError(w.at(n) + ": expected 1 ms to " + std::to_string(kMaxTimeoutMs / 1000) +
                      " s, got " + std::to_string(ms) + " ms");
  }
  return std::chrono::milliseconds(ms);
}

// RFC 9110 token characters: what a header name may be made of.
bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    const bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) {
      return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A header value must fit on its line. The value itself is never quoted: it may be a token.
void check_header_value(const std::string& value, const toml::node& n, const Where& w) {
  if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
    throw ConfigError(w.at(n) +
                      ": expected a header value on one line, got one with a line break "
                      "or NUL character (value not shown)");
  }
}

// A path ("/join") or a whole URL per request type.
void read_paths(const toml::table& t, const Where& w, sim::NsClientOptions& ns) {
  for (const auto& entry : t) {
    const toml::key& key = entry.first;  // named, not a structured binding: a lambda below captures it
    const toml::node& node = entry.second;
    const Where pw = w.child(key.str());
    const auto type = backend::parse_message_type(key.str());
    if (!type || !backend::is_request(*type)) {
      throw ConfigError(pw.at(node) +
                        ": expected a request type (JoinReq, RejoinReq, AppSKeyReq or "
                        "HomeNSReq), got " +
                        lorawan::quote_for_error(key.str()));
    }
    const std::string value = get_string(node, pw);
    if (starts_with_http(value)) {
      ns.paths[*type] = get_url(node, pw);
    } else {
      // parse_path() checks the path as the reference JS does.
      ns.paths[*type] = wrap_errors(node, pw, [&] {
                          return sim::parse_path(std::string(key.str()) + "=" + value);
                        }).second;
    }
  }
}

void read_probe_identity(const toml::table& t, const Where& w, const std::filesystem::path& base,
                         std::string_view name, TlsProbeIdentity& identity) {
  const std::string cert_key = std::string(name) + "_cert";
  const std::string key_key = std::string(name) + "_key";
  if (const toml::node* n = t.get(cert_key)) identity.cert = get_path(*n, w.child(cert_key), base);
  if (const toml::node* n = t.get(key_key)) identity.key = get_path(*n, w.child(key_key), base);
  if (identity.cert.empty() != identity.key.empty()) {
    const std::string& given = identity.cert.empty() ? key_key : cert_key;
    const std::string& missing = identity.cert.empty() ? cert_key : key_key;
    throw ConfigError(w.child(given).at(*t.get(given)) + ": expected " + missing +
                      " too (a probe identity is a certificate and its key), got " + given + " alone");
  }
}

void read_tls(const toml::table& t, const Where& w, const std::filesystem::path& base,
              backend::TlsClientOptions& tls, TlsCheckConfig& checks) {
  check_keys(t, w, {"ca_cert", "tls_cert", "tls_key", "requires_client_auth", "probes"});
  for (const auto& [key, node] : t) {
    const Where kw = w.child(key.str());
    if (key == "ca_cert")
      tls.ca_file = get_path(node, kw, base);
    else if (key == "tls_cert")
      tls.cert_file = get_path(node, kw, base);
    else if (key == "tls_key")
      tls.key_file = get_path(node, kw, base);
    else if (key == "requires_client_auth")
      checks.requires_client_auth = get_bool(node, kw);
    else if (key == "probes") {
      const toml::table& probes = get_table(node, kw);
      check_keys(probes, kw,
                 {"other_ca_cert", "other_ca_key", "expired_cert", "expired_key",
                  "other_net_id_cert", "other_net_id_key"});
      read_probe_identity(probes, kw, base, "other_ca", checks.other_ca);
      read_probe_identity(probes, kw, base, "expired", checks.expired);
      read_probe_identity(probes, kw, base, "other_net_id", checks.other_net_id);
    }
  }
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    const std::string_view given = tls.cert_file.empty() ? "tls_key" : "tls_cert";
    const std::string_view missing = tls.cert_file.empty() ? "tls_cert" : "tls_key";
    throw ConfigError(w.child(given).at(*t.get(given)) + ": expected " + std::string(missing) +
                      " too (a client certificate needs its key), got " + std::string(given) +
                      " alone");
  }
}

void read_headers(const toml::table& t, const Where& w, std::vector<backend::HttpHeader>& headers) {
  for (const auto& [key, node] : t) {
    const Where hw = w.child(key.str());
    const std::string name(key.str());
    if (!is_token(name)) {
      throw ConfigError(hw.at(node) +
                        ": expected a header name (letters, digits and !#$%&'*+-.^_`|~), got " +
                        lorawan::quote_for_error(name));
    }
    if (iequals(name, "Content-Type")) {
      throw ConfigError(hw.at(node) +
                        ": Content-Type is set with the top-level content_type key, "
                        "not in [headers]");
    }
    const std::string value = get_string(node, hw);
    check_header_value(value, node, hw);
    backend::HttpHeader h;
    h.name = name;
    h.value = value;
    headers.push_back(std::move(h));
  }
}

void read_ns(const toml::table& t, const Where& w, TargetConfig& c) {
  check_keys(t, w, {"net_id", "ns_id", "ns_like", "protocol_version", "sender_token", "unknown_net_id"});
  for (const auto& [key, node] : t) {
    const Where kw = w.child(key.str());
    if (key == "net_id") {
      const std::string v = get_string(node, kw);
      c.ns.net_id = wrap_errors(node, kw, [&] { return lorawan::NetId::parse(v, "NetID"); });
    } else if (key == "ns_id") {
      const std::string v = get_string(node, kw);
      c.ns.ns_id = wrap_errors(node, kw, [&] { return lorawan::Eui64::parse(v, "NSID (EUI-64)"); });
    } else if (key == "protocol_version") {
      const std::string v = get_string(node, kw);
      const auto version = backend::parse_protocol_version(v);
      if (!version) {
        throw ConfigError(kw.at(node) + ": expected \"1.0\" or \"1.1\", got " +
                          lorawan::quote_for_error(v));
      }
      c.ns.protocol_version = *version;
    } else if (key == "sender_token") {
      const std::string v = get_string(node, kw);
      if (v.empty()) {
        c.ns.sender_token.reset();  // "" sends no SenderToken
      } else {
        c.ns.sender_token = wrap_errors(node, kw, [&] {
          return lorawan::from_hex(lorawan::strip_hex_prefix(v), "SenderToken");
        });
      }
    } else if (key == "ns_like") {
      const std::string v = get_string(node, kw);
      const auto persona = sim::parse_ns_persona(v);
      if (!persona) {
        throw ConfigError(kw.at(node) + ": expected one of " + sim::ns_persona_names() + ", got " +
                          lorawan::quote_for_error(v));
      }
      c.ns.ns_like = *persona;
    } else if (key == "unknown_net_id") {
      const std::string v = get_string(node, kw);
      c.unknown_net_id =
          wrap_errors(node, kw, [&] { return lorawan::NetId::parse(v, "NetID"); }).hex();
    }
  }
}

void read_keks(const toml::node& node, const Where& w, backend::KekTable& keks) {
  const toml::array* a = node.as_array();
  if (a == nullptr) {
    throw ConfigError(w.at(node) + ": expected [[kek]] tables with label and kek, got " +
                      type_name(node));
  }
  std::map<std::string, std::string, std::less<>> first_seen;  // label -> where
  std::size_t i = 0;
  for (const auto& e : *a) {
    const Where ew = w.index(++i);
    const toml::table& t = get_table(e, ew);
    check_keys(t, ew, {"label", "kek"});
    const toml::node* label = t.get("label");
    const toml::node* kek = t.get("kek");
    if (label == nullptr || kek == nullptr) {
      throw ConfigError(ew.at(e) + ": expected label and kek, got " +
                        (label == nullptr ? "no label" : "no kek"));
    }
    const std::string l = get_string(*label, ew.child("label"));
    if (l.empty()) throw ConfigError(ew.child("label").at(*label) + ": expected a label, got \"\"");
    if (const auto it = first_seen.find(l); it != first_seen.end()) {
      throw ConfigError(ew.child("label").at(*label) + ": label \"" + l +
                        "\" is already given at " + it->second);
    }
    first_seen[l] = ew.child("label").at(*label);
    // parse_kek() never quotes the key.
    const std::string hex = get_string(*kek, ew.child("kek"));
    auto [lab, bytes] =
        wrap_errors(*kek, ew.child("kek"), [&] { return sim::parse_kek(l + "=" + hex); });
    keks[lab] = std::move(bytes);
  }
}

void read_async(const toml::table& t, const Where& w, const std::filesystem::path& base,
                sim::NsClientOptions& ns) {
  check_keys(t, w, {"listen", "tls_cert", "tls_key", "client_ca"});
  const toml::node* listen = t.get("listen");
  if (listen == nullptr) {
    throw ConfigError(
        w.at(t) + ": expected listen = \"HOST:PORT\" (where the JS POSTs its answers), got none");
  }
  const Where lw = w.child("listen");
  const std::string address = get_string(*listen, lw);
  try {
    backend::HttpServerOptions unused;
    backend::parse_listen_address(address, unused);
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (message.rfind("listen: ", 0) == 0) message.erase(0, 8);  // the key is named already
    throw ConfigError(lw.at(*listen) + ": " + message);
  }
  ns.async_listen = address;

  backend::TlsServerOptions tls;
  for (const auto& [key, node] : t) {
    const Where kw = w.child(key.str());
    if (key == "tls_cert")
      tls.cert_file = get_path(node, kw, base);
    else if (key == "tls_key")
      tls.key_file = get_path(node, kw, base);
    else if (key == "client_ca")
      tls.client_ca_file = get_path(node, kw, base);
  }
  if (tls.cert_file.empty() && tls.key_file.empty() && tls.client_ca_file.empty()) {
    ns.async_tls.reset();
    return;
  }
  if (tls.cert_file.empty() || tls.key_file.empty()) {
    const std::string_view given = !tls.cert_file.empty()  ? "tls_cert"
                                   : !tls.key_file.empty() ? "tls_key"
                                                           : "client_ca";
    throw ConfigError(w.child(given).at(*t.get(given)) +
                      ": expected tls_cert and tls_key for an HTTPS listener, got " +
                      (tls.cert_file.empty() ? "no tls_cert" : "no tls_key"));
  }
  // A client CA makes the listener require a JS certificate that chains to it.
  tls.client_cert =
      tls.client_ca_file.empty() ? backend::ClientCertMode::none : backend::ClientCertMode::require;
  ns.async_tls = tls;
}

void read_capabilities(const toml::table& t, const Where& w, std::set<Capability>& capabilities) {
  for (const auto& item : t) {
    const toml::key& key = item.first;  // named, not a structured binding: a lambda below captures it
    const toml::node& node = item.second;
    const Where kw = w.child(key.str());
    if (key == "as_kek" || key == "async") {
      throw ConfigError(
          kw.at(node) + ": " + std::string(key.str()) + " is not set here: it follows from " +
          (key == "async" ? "an [async] table" : "kek_label in [application_server]"));
    }
    const auto it = std::find_if(kCapabilityKeys.begin(), kCapabilityKeys.end(),
                                 [&](const auto& entry) { return entry.first == key.str(); });
    if (it == kCapabilityKeys.end()) {
      std::string list;
      for (const auto& entry : kCapabilityKeys)
        list += (list.empty() ? "" : ", ") + std::string(entry.first);
      throw ConfigError(kw.at(node) + ": unknown capability; expected one of " + list);
    }
    if (get_bool(node, kw))
      capabilities.insert(it->second);
    else
      capabilities.erase(it->second);
  }
}

// A profile given as a file is relative to the target file; a name is a built-in profile.
std::string resolve_profile_value(const std::string& value, const std::filesystem::path& base) {
  const bool file = value.find('/') != std::string::npos || value.find('\\') != std::string::npos ||
                    std::filesystem::path(value).extension() == ".toml";
  if (!file) return value;
  const std::filesystem::path p = value;
  return (p.is_relative() ? base / p : p).string();
}

TargetConfig from_table(const toml::table& root, const std::filesystem::path& source) {
  const std::filesystem::path base = source.parent_path();
  const Where top{source.string(), ""};
  check_keys(root, top,
             {"url", "profile", "devices", "timeout", "content_type", "paths", "tls", "headers",
              "ns", "kek", "application_server", "async", "capabilities"});
  TargetConfig c = default_target_config();
  c.source = source;

  // The AS KEK label is checked against the [[kek]] tables once all are read (tables come in
  // key order, not file order).
  std::optional<std::pair<std::string, std::string>> as_kek_label;  // label, where

  for (const auto& [key, node] : root) {
    const Where w = top.child(key.str());
    const std::string_view k = key.str();
    if (k == "url") {
      c.ns.url = get_url(node, w);
    } else if (k == "profile") {
      const std::string v = get_string(node, w);
      if (v.empty()) throw ConfigError(w.at(node) + ": expected a profile name or file, got \"\"");
      c.profile = resolve_profile_value(v, base);
    } else if (k == "devices") {
      c.devices = get_path(node, w, base);
    } else if (k == "timeout") {
      c.ns.timeout = get_timeout(node, w);
    } else if (k == "content_type") {
      const std::string v = get_string(node, w);
      if (v.empty())
        throw ConfigError(w.at(node) +
                          ": expected a media type such as \"application/json\", got \"\"");
      check_header_value(v, node, w);
      c.ns.content_type = v;
    } else if (k == "paths") {
      read_paths(get_table(node, w), w, c.ns);
    } else if (k == "tls") {
      read_tls(get_table(node, w), w, base, c.ns.tls, c.tls_checks);
    } else if (k == "headers") {
      read_headers(get_table(node, w), w, c.ns.headers);
    } else if (k == "ns") {
      read_ns(get_table(node, w), w, c);
    } else if (k == "kek") {
      read_keks(node, w, c.ns.keks);
    } else if (k == "application_server") {
      const toml::table& t = get_table(node, w);
      check_keys(t, w, {"as_id", "kek_label"});
      if (const toml::node* n = t.get("as_id")) {
        c.as_id = get_string(*n, w.child("as_id"));
        if (c.as_id.empty())
          throw ConfigError(w.child("as_id").at(*n) + ": expected an AS-ID, got \"\"");
      }
      if (const toml::node* n = t.get("kek_label")) {
        as_kek_label.emplace(get_string(*n, w.child("kek_label")), w.child("kek_label").at(*n));
      }
    } else if (k == "async") {
      read_async(get_table(node, w), w, base, c.ns);
      c.capabilities.insert(Capability::async);
    }
  }
  // After the loop: [capabilities] overrides the defaults, whatever the order of the tables.
  if (const toml::node* n = root.get("capabilities")) {
    read_capabilities(get_table(*n, top.child("capabilities")), top.child("capabilities"),
                      c.capabilities);
  }

  if (c.ns.url.empty()) {
    throw ConfigError(
        source.string() +
        ": url: expected the Join Server's URL (url = \"https://js.example.net:8443\"), got none");
  }
  if (as_kek_label) {
    const auto& [label, where] = *as_kek_label;
    if (c.ns.keks.find(label) == c.ns.keks.end()) {
      std::string labels;
      for (const auto& entry : c.ns.keks)
        labels += (labels.empty() ? "" : ", ") + ("\"" + entry.first + "\"");
      throw ConfigError(
          where + ": expected the label of a [[kek]] table, got \"" + label +
          "\", which names none" +
          (labels.empty() ? std::string(" (no [[kek]] is given)") : " (labels: " + labels + ")"));
    }
    c.as_kek_label = label;
    c.capabilities.insert(Capability::as_kek);
  }
  if (c.unknown_net_id == c.ns.net_id.hex()) {
    // One of the two keys is in the file, or they would differ.
    const bool own = root.at_path("ns.unknown_net_id").node() != nullptr;
    const std::string k = own ? "unknown_net_id" : "net_id";
    throw ConfigError(Where{source.string(), "ns." + k}.at(*root.at_path("ns." + k).node()) +
                      ": expected unknown_net_id and net_id to differ, got " + c.ns.net_id.hex() +
                      " for both: the unknown-sender checks would send a known SenderID");
  }
  return c;
}

}  // namespace

std::set<Capability> default_capabilities() {
  return {Capability::rejoin, Capability::app_s_key, Capability::home_ns, Capability::protocol_1_1,
          Capability::known_senders};
}

TargetConfig default_target_config() {
  TargetConfig c;
  c.ns.net_id = lorawan::NetId::parse(kDefaultNetId);
  c.ns.ns_id = lorawan::Eui64::parse(kDefaultNsId);
  c.ns.protocol_version = backend::ProtocolVersion::v1_0;
  c.ns.sender_token = lorawan::Bytes(kDefaultSenderToken.begin(), kDefaultSenderToken.end());
  c.ns.timeout = std::chrono::milliseconds(5000);
  c.ns.content_type = "application/json";
  c.capabilities = default_capabilities();
  return c;
}

TargetConfig load_target_config(const std::filesystem::path& file) {
  return from_table(sim::toml_config::parse_file(file), file);
}

TargetConfig parse_target_config(std::string_view toml_text, const std::filesystem::path& source) {
  return from_table(sim::toml_config::parse_text(toml_text, source), source);
}

std::string checked_target_url(const std::string& url, const std::string& where) {
  if (url.empty()) {
    throw ConfigError(where + ": expected the Join Server's URL (http://host:port/path or https://...), got an "
                      "empty value");
  }
  try {
    backend::HttpUrl::parse(url);
  } catch (const backend::HttpError& e) {
    throw ConfigError(where + ": " + e.detail() + ", got " + lorawan::quote_for_error(url));
  }
  return url;
}

ValidatorSettings validator_settings_for(const TargetConfig& target, bool reveal_keys) {
  ValidatorSettings s;
  s.keks = &target.ns.keks;
  s.has_as_kek = target.capabilities.count(Capability::as_kek) != 0;
  s.as_kek_label = target.as_kek_label;
  // A KEK other than the AS's is one the NS shares with the JS for the network keys.
  s.expect_wrapped_network_keys = std::any_of(target.ns.keks.begin(), target.ns.keks.end(),
                                              [&](const auto& k) { return k.first != target.as_kek_label; });
  s.reveal_keys = reveal_keys;
  s.deadline = target.ns.timeout;
  return s;
}

}  // namespace joincheck::conformance
