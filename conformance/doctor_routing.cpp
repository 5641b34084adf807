#include "conformance/doctor_routing.hpp"

#include <cctype>

#include "sim/join_server/join_server.hpp"

namespace joincheck::conformance {

namespace {

std::string at(const ChirpStackConfig& c, int line) { return c.file.string() + ":" + std::to_string(line); }

const CsJoinServer* default_js(const ChirpStackConfig& c) {
  for (const auto& js : c.join_servers) {
    if (js.is_default) return &js;
  }
  return nullptr;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::string tls_of(const ChirpStackConfig& c, const CsJoinServer& js) {
  std::string s;
  const auto add = [&](const char* key, const CsValue& v) {
    if (v.present() && !v.value.empty()) s += std::string(s.empty() ? "" : ", ") + key + " " + v.value + " (" + at(c, v.line) + ")";
  };
  add("ca_cert", js.ca_cert);
  add("tls_cert", js.tls_cert);
  add("tls_key", js.tls_key);
  if (s.empty()) {
    return "the TLS settings of " + js.table + ": none (" +
           std::string(c.version == ChirpStackVersion::v3 ? "Go's system roots" : "the system roots") + ", no client certificate)";
  }
  return "the TLS settings of " + js.table + ": " + s;
}

std::string suffix_of(const ChirpStackConfig& c) {
  if (c.resolve_suffix.present()) return c.resolve_suffix.value;
  return c.version == ChirpStackVersion::v3 ? ".joineuis.lora-alliance.org" : "";
}

std::string suffix_setting(const ChirpStackConfig& c) {
  const std::string key = c.version == ChirpStackVersion::v3 ? "resolve_domain_suffix" : "resolve_join_eui_domain_suffix";
  return c.resolve_suffix.present() ? key + " \"" + c.resolve_suffix.value + "\" (" + at(c, c.resolve_suffix.line) + ")"
                                    : key + " (not set: \"" + suffix_of(c) + "\")";
}

// The server of `js` posted to for `eui`; an empty one is the JoinEUI's DNS name (v3 servers
// form, v4 default): the name is resolved here to say whether the POST can connect.
void endpoint(const ChirpStackConfig& c, const CsJoinServer& js, const std::string& eui, const DnsResolver& resolve,
              JoinRoute& r) {
  r.js = &js;
  r.tls = tls_of(c, js);
  std::string server = js.server.value;
  if (js.is_default && c.version == ChirpStackVersion::v3) server = v3_default_server(c, &js);
  const bool dns_name = server.empty() && (!js.is_default || c.version == ChirpStackVersion::v4);
  if (!dns_name) {
    r.url = server;
    r.steps.push_back("POST to server \"" + server + "\" of " + js.table +
                      (js.server.present() ? " (" + at(c, js.server.line) + ")" : std::string(" (not set: ChirpStack v3's default)")));
    if (auto p = server_url_problem(server)) {
      const std::string setting = "server of " + js.table + " (" + at(c, js.server.present() ? js.server.line : js.line) + ")";
      r.failure = "the server URL is " + p->what + ": every join through " + setting + " fails; " +
                  (c.version == ChirpStackVersion::v3 ? "ChirpStack v3 logs: " + v3_join_error_log(p->go_error)
                                                      : "ChirpStack v4 cannot build the request (" + p->v4_error + ")");
    }
    return;
  }
  const std::string name = join_eui_dns_name(eui, suffix_of(c));
  r.url = "https://" + name;
  r.url_from_dns = true;
  r.steps.push_back("server of " + js.table + " is empty: POST to https://<JoinEUI nibbles> + " + suffix_setting(c) +
                    " = " + r.url + " (ChirpStack does not look the name up first; its HTTP client does when it connects)");
  const backend::DnsLookupResult d = resolve(name);
  if (d.resolved) {
    std::string addrs;
    for (const auto& a : d.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
    r.steps.push_back("looked up here: " + name + " resolves to " + addrs);
  } else {
    r.steps.push_back("looked up here: " + name + " does not resolve (" + d.error + ")");
    r.failure = "the JoinEUI's DNS name " + name + " does not resolve (" + d.error + "), and this path has no fallback: " +
                (c.version == ChirpStackVersion::v3
                     ? "ChirpStack v3 logs: " + v3_join_error_log("Post \"" + r.url + "\": dial tcp: lookup " + name + ": no such host")
                     : std::string("ChirpStack v4 fails the join with a DNS error from its HTTP client"));
  }
}

}  // namespace

std::optional<ServerUrlProblem> server_url_problem(std::string_view url) {
  const std::string q = "\"" + std::string(url) + "\"";
  if (url.empty()) return ServerUrlProblem{"empty", "Post \"\": unsupported protocol scheme \"\"", "relative URL without a base"};
  // Go's url.Parse: a scheme is a letter followed by letters, digits, '+', '-', '.', then ':'.
  std::string scheme;
  for (std::size_t i = 0; i < url.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(url[i]);
    if (std::isalpha(ch)) continue;
    if (std::isdigit(ch) || ch == '+' || ch == '-' || ch == '.') {
      if (i == 0) break;
      continue;
    }
    if (ch == ':' && i > 0) scheme = lower(url.substr(0, i));
    break;
  }
  if (url.front() == ':') {
    return ServerUrlProblem{"missing its scheme", "parse " + q + ": missing protocol scheme", "relative URL without a base"};
  }
  if (scheme.empty()) {
    const std::string_view first = url.substr(0, url.find('/'));
    if (first.find(':') != std::string_view::npos) {
      return ServerUrlProblem{"host:port without a scheme", "parse " + q + ": first path segment in URL cannot contain colon",
                              "relative URL without a base"};
    }
    return ServerUrlProblem{"without a scheme", "Post " + q + ": unsupported protocol scheme \"\"", "relative URL without a base"};
  }
  if (scheme != "http" && scheme != "https") {
    // "localhost:8003" parses as scheme "localhost".
    const bool host_port = url.find("//") == std::string_view::npos;
    return ServerUrlProblem{host_port ? "host:port without a scheme (read as scheme \"" + scheme + "\")"
                                      : "of scheme \"" + scheme + "\", not http or https",
                            "Post " + q + ": unsupported protocol scheme \"" + scheme + "\"", "URL scheme is not allowed"};
  }
  std::string_view rest = url.substr(scheme.size() + 1);
  if (!rest.starts_with("//") || rest.substr(2).empty() || rest[2] == '/' || rest[2] == ':') {
    return ServerUrlProblem{"without a host", "Post " + q + ": http: no Host in request URL", "empty host"};
  }
  return std::nullopt;
}

std::string v3_join_error_log(std::string_view error) {
  const std::string e = "join-request to join-server error: http post error: " + std::string(error);
  std::string escaped;
  for (const char ch : e) {
    if (ch == '"') escaped += '\\';
    escaped += ch;
  }
  return "level=error msg=\"uplink: processing uplink frame error\" error=\"" + escaped + "\"";
}

std::string v3_default_server(const ChirpStackConfig& c, const CsJoinServer* def) {
  (void)c;
  if (def != nullptr && def->server.present()) return def->server.value;
  return "http://localhost:8003";
}

JoinRoute route_join_eui(const ChirpStackConfig& c, const lorawan::Eui64& join_eui, const DnsResolver& resolve) {
  JoinRoute r;
  r.join_eui = join_eui.hex();
  const CsJoinServer* def = default_js(c);
  // v3 always has a default join server (a missing table still has the default server).
  static const CsJoinServer v3_implicit_default = [] {
    CsJoinServer d;
    d.table = "[join_server.default]";
    d.scope = "default";
    d.is_default = true;
    return d;
  }();
  const CsJoinServer& v3_def = def != nullptr ? *def : v3_implicit_default;

  if (c.version == ChirpStackVersion::v3 && c.v3_form == V3Form::certificates) {
    if (!c.resolve_join_eui.value_or(false)) {
      r.steps.push_back("resolve_join_eui is " + std::string(c.resolve_join_eui ? "false" : "not set (false)") +
                        ": ChirpStack v3 uses [join_server.default] for every JoinEUI (internal/joinserver/pool.go)");
      endpoint(c, v3_def, r.join_eui, resolve, r);
      return r;
    }
    const std::string name = join_eui_dns_name(r.join_eui, suffix_of(c));
    r.steps.push_back("resolve_join_eui = true: ChirpStack v3 looks up " + name + " (" + suffix_setting(c) + ")");
    const backend::DnsLookupResult d = resolve(name);
    if (!d.resolved) {
      r.steps.push_back("looked up here: " + name + " does not resolve (" + d.error +
                        "): ChirpStack v3 logs \"resolving JoinEUI failed, using default join-server\" and falls back to "
                        "[join_server.default]");
      endpoint(c, v3_def, r.join_eui, resolve, r);
      return r;
    }
    std::string addrs;
    for (const auto& a : d.addresses) addrs += (addrs.empty() ? "" : ", ") + a;
    r.steps.push_back("looked up here: " + name + " resolves to " + addrs + ": POST to https://" + name + ":443/");
    r.url = "https://" + name + ":443/";
    r.url_from_dns = true;
    const CsJoinServer* cert = nullptr;
    for (const auto& js : c.join_servers) {
      if (!js.certificates_only) continue;
      try {
        if (lorawan::Eui64::parse(js.join_eui_prefix.value) == join_eui) cert = &js;
      } catch (const std::exception&) {
      }
    }
    r.js = cert;
    r.tls = cert != nullptr ? tls_of(c, *cert)
                            : "no [[join_server.certificates]] has join_eui " + r.join_eui +
                                  ": Go's system roots and no client certificate (the ca_cert, tls_cert and tls_key of "
                                  "[join_server.default] apply only when the lookup fails)";
    return r;
  }

  if (c.version == ChirpStackVersion::v3) {
    for (const auto& js : c.join_servers) {
      if (js.is_default) continue;
      bool match = false;
      try {
        match = lorawan::Eui64::parse(js.join_eui_prefix.value) == join_eui;
      } catch (const std::exception&) {
      }
      if (!match) continue;
      r.steps.push_back(js.table + " has join_eui " + js.join_eui_prefix.value + " (" + at(c, js.join_eui_prefix.line) +
                        "): ChirpStack v3 uses it (internal/backend/joinserver/joinserver.go GetClientForJoinEUI)");
      endpoint(c, js, r.join_eui, resolve, r);
      return r;
    }
    r.steps.push_back("no [[join_server.servers]] has join_eui " + r.join_eui +
                      ": ChirpStack v3 uses [join_server.default] (GetClientForJoinEUI; resolve_join_eui plays no part)");
    endpoint(c, v3_def, r.join_eui, resolve, r);
    return r;
  }

  // v4
  for (const auto& js : c.join_servers) {
    if (js.is_default) continue;
    try {
      if (!sim::parse_join_eui_range(js.join_eui_prefix.value).contains(join_eui)) continue;
    } catch (const std::exception&) {
      continue;
    }
    r.steps.push_back("join_eui_prefix " + js.join_eui_prefix.value + " of " + js.table + " (" + at(c, js.join_eui_prefix.line) +
                      ") is the first that matches (chirpstack/src/backend/joinserver.rs)");
    endpoint(c, js, r.join_eui, resolve, r);
    return r;
  }
  if (def != nullptr && def->enabled.value_or(false)) {
    r.steps.push_back("no join_eui_prefix matches: [join_server.default] is enabled (" + at(c, def->line) + ")");
    endpoint(c, *def, r.join_eui, resolve, r);
    return r;
  }
  r.steps.push_back("no join_eui_prefix matches and [join_server.default] is not enabled");
  r.failure = "no Join Server for JoinEUI " + r.join_eui + ": ChirpStack v4 fails the join with \"Join Server client for join_eui " +
              r.join_eui + " does not exist\"; add a [[join_server.servers]] whose join_eui_prefix covers it, or enable "
              "[join_server.default] with a server";
  return r;
}

}  // namespace joincheck::conformance
