#include "conformance/doctor.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "backend/dns_lookup.hpp"
#include "backend/http_client.hpp"
#include "backend/tls_certificate.hpp"
#include "backend/tls_probe.hpp"
#include "conformance/doctor_probe.hpp"
#include "conformance/target.hpp"
#include "conformance/tls_checks.hpp"
#include "conformance/validator.hpp"
#include "sim/join_server/join_server.hpp"
#include "sim/network_server/ns_client.hpp"
#include "sim/network_server/ns_persona.hpp"

namespace joincheck::conformance {

namespace fs = std::filesystem;

namespace {

// The reference of a doctor finding: the primary source of the rule, the ChirpStack source file
// that reads the setting, and the project's explanation (docs/checks.md#doctor).
std::string doctor_reference(std::string_view id) {
  const std::string doc = "docs/checks.md#doctor";
  for (const std::string_view tail : {".ca-cert", ".tls-cert", ".tls-pair", ".tls-key", ".key-matches", ".tls"}) {
    if (id.ends_with(tail)) return "TS002 1.0 §3, §20; RFC 5280 §6; chirpstack/chirpstack backend/src/lib.rs; " + doc;
  }
  if (id.ends_with(".reach")) {
    return "TS002 1.0 §20; chirpstack/chirpstack backend/src/lib.rs; brocaar/chirpstack-network-server "
           "internal/backend/joinserver/client.go; docs/doctor.md; " + doc;
  }
  if (id.starts_with("doctor/kek-")) {
    return "TS002 1.0 §21; RFC 3394; chirpstack/chirpstack chirpstack/src/backend/keywrap.rs; " + doc;
  }
  if (id == "doctor/config.dns") {
    return "TS002 1.0 §19.1, §19.3; chirpstack/chirpstack chirpstack/src/backend/joinserver.rs; " + doc;
  }
  if (id.starts_with("doctor/route.") || id.ends_with(".server")) {
    return "TS002 1.0 §8 step 2, §19; brocaar/chirpstack-network-server internal/joinserver/pool.go, "
           "internal/backend/joinserver/joinserver.go, cmd/chirpstack-network-server/cmd/root.go; chirpstack/chirpstack "
           "chirpstack/src/backend/joinserver.rs; docs/doctor.md; " + doc;
  }
  if (id.ends_with(".join-eui-prefix") || id == "doctor/config.join-servers" || id == "doctor/default.enabled") {
    return "TS002 1.0 §8 step 2; chirpstack/chirpstack chirpstack/src/backend/joinserver.rs; " + doc;
  }
  return "TS002 1.0 §8 step 2; chirpstack/chirpstack chirpstack/src/config.rs, chirpstack/src/cmd/configfile.rs; " +
         doc;
}

class Doctor {
 public:
  explicit Doctor(const DoctorOptions& o) : o_(o) {}
  DoctorResult go();

 private:
  std::string at(int line) const { return c_.file.string() + ":" + std::to_string(line); }
  std::string setting(const CsJoinServer& js, const std::string& key, int line) const {
    return key + " of " + js.table + " (" + at(line != 0 ? line : js.line) + ")";
  }
  void add(const std::string& id, Level level, const std::string& title, Verdict v, std::string expected,
           std::string actual, std::string reason = {}) {
    CheckInfo info{id, level, title, doctor_reference(id)};
    r_.catalog.add(info);
    CheckResult res;
    res.check = info;
    if (v == Verdict::fail && level != Level::must) v = Verdict::warn;
    res.verdict = v;
    res.expected = std::move(expected);
    res.actual = std::move(actual);
    res.reason = std::move(reason);
    res.scenario = "doctor";
    res.evaluations = 1;
    res.failed_evaluations = (v == Verdict::fail || v == Verdict::error) ? 1 : 0;
    r_.report.results.push_back(std::move(res));
  }
  void version();
  void ignored_keys();
  void files(const CsJoinServer& js);
  void certificate_file(const CsJoinServer& js, const CsValue& file, const std::string& key, bool ca);
  std::string v3_client_unbuildable(const CsJoinServer& js) const;
  void prefixes();
  void keks();
  void dns();
  void live(const CsJoinServer& js);
  bool reach(const CsJoinServer& js, const TargetConfig& t);
  void not_run(const CsJoinServer& js, const std::string& cause, bool tls);
  // v4 uses [join_server.default] only with enabled = true (its default is false).
  bool in_use(const CsJoinServer& js) const {
    if (js.certificates_only) return false;
    return !js.is_default || c_.version == ChirpStackVersion::v3 || js.enabled.value_or(false);
  }
  void default_enabled();
  void servers();
  void routes();
  std::string form() const;
  void probe(const CsJoinServer& js, const TargetConfig& t);
  std::string net_id_hex() const;

  const DoctorOptions& o_;
  std::vector<std::string> acceptable_client_cas_;  // of the JS reach() last connected to
  bool probe_device_used_ = false;
  ChirpStackConfig c_;
  DoctorResult r_;
};

DoctorResult Doctor::go() {
  const auto t0 = std::chrono::steady_clock::now();
  if (o_.probe_device) {
    const std::string why = "a probe JoinReq with a real device uses up one of its DevNonces";
    if (!o_.fleet) throw sim::ConfigError("--probe-device: expected --devices with the device to probe, got none");
    if (o_.device_counters == nullptr) {
      throw sim::ConfigError("--probe-device: expected --state FILE, got none: " + why +
                             " (a LoRaWAN 1.0.4/1.1 JS then refuses every lower one), and the state file keeps the "
                             "device's counter so that the DevNonce is not used again");
    }
    if (!o_.probe_device->empty()) {
      const lorawan::Eui64 eui = lorawan::Eui64::parse(*o_.probe_device, "--probe-device");
      bool found = false;
      for (const auto& d : o_.fleet->devices) found = found || d.dev_eui == eui;
      if (!found) throw sim::ConfigError("--probe-device: expected a DevEUI of --devices, got " + eui.hex() + ", which it lacks");
    }
  }
  c_ = load_chirpstack_config(o_.chirpstack_config);
  r_.report.target = c_.file.string();
  r_.report.profile = std::string(to_string(c_.version));
  r_.report.started_at = iso8601_utc(std::chrono::system_clock::now());
  version();
  ignored_keys();
  for (const auto& js : c_.join_servers) files(js);
  if (c_.backend_interfaces) files(*c_.backend_interfaces);
  prefixes();
  keks();
  default_enabled();
  servers();
  dns();
  routes();
  if (o_.live) {
    for (const auto& js : c_.join_servers) live(js);
    if (o_.probe_device && !probe_device_used_) {
      add("doctor/config.probe-device", Level::should, "The --probe-device device is probed by a Join Server",
          Verdict::fail, "a JS ChirpStack posts to whose prefix holds the device of --probe-device",
          "no probe used " + (o_.probe_device->empty() ? std::string("a device of --devices") : "device " + *o_.probe_device) +
              " (its DevNonce is untouched): no JS that doctor probed has its JoinEUI under its prefix, or none was reachable",
          "fix: check the device's JoinEUI against join_eui_prefix / join_eui (see doctor/route.<JoinEUI>)");
    }
  }
  r_.report.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return std::move(r_);
}

std::string Doctor::form() const {
  if (c_.version == ChirpStackVersion::v4) return std::string(to_string(c_.version));
  return std::string(to_string(c_.version)) +
         (c_.v3_form == V3Form::servers ? ", [[join_server.servers]] form" : ", [[join_server.certificates]] form");
}

void Doctor::version() {
  add("doctor/config.version", Level::info, "The ChirpStack version the file is written for", Verdict::pass,
      "a ChirpStack v3 or v4 configuration", form() + " (from " + c_.version_evidence + ")");
  const bool v3 = c_.version == ChirpStackVersion::v3;
  const std::string then = v3 ? "ChirpStack v3 then posts every JoinReq to its built-in default http://localhost:8003 "
                                "(cmd/chirpstack-network-server/cmd/root.go)"
                              : "ChirpStack v4 then has no Join Server and fails every join with \"Join Server client "
                                "for join_eui … does not exist\" (chirpstack/src/backend/joinserver.rs)";
  if (c_.empty) {
    add("doctor/config.join-servers", Level::must, "The file configures at least one Join Server", Verdict::fail,
        "Join Server settings in " + c_.file.string(), "the file is empty (no setting at all)",
        "fix: " + then + "; give it the [join_server] settings of your Join Server");
    return;
  }
  if (!c_.has_join_server) {
    add("doctor/config.join-servers", Level::must, "The file configures at least one Join Server", Verdict::fail,
        "a [join_server] table in " + c_.file.string(), "no [join_server] table: no Join Server setting at all",
        "fix: " + then + "; add [join_server.default] with server = \"https://your-js:8443\"" +
            (v3 ? std::string() : " and enabled = true, or a [[join_server.servers]]"));
    return;
  }
  if (c_.join_servers.empty()) {
    add("doctor/config.join-servers", Level::must, "The file configures at least one Join Server", Verdict::fail,
        "[join_server.default] or " +
            std::string(c_.version == ChirpStackVersion::v4 ? "[[join_server.servers]]" : "[[join_server.certificates]]"),
        "no Join Server in " + c_.file.string(),
        "fix: add a [join_server.default] table with server = \"https://your-js:8443\"");
  }
}

void Doctor::ignored_keys() {
  std::string list;
  std::string fix;
  for (const auto& k : c_.ignored) {
    list += (list.empty() ? "" : ", ") + k.key + " (line " + std::to_string(k.line) + ")";
    const std::string leaf = k.key.substr(k.key.rfind('.') + 1);
    if (c_.version == ChirpStackVersion::v3 && c_.v3_form == V3Form::servers &&
        (k.key == "join_server.certificates" || k.key == "join_server.resolve_join_eui")) {
      fix = "fix: a ChirpStack v3 that reads [[join_server.servers]] (this file has them) picks the JS by exact join_eui "
            "(internal/backend/joinserver/joinserver.go GetClientForJoinEUI) and reads neither [[join_server.certificates]] "
            "nor resolve_join_eui: move each certificates entry's ca_cert/tls_cert/tls_key into the [[join_server.servers]] "
            "entry of the same join_eui; a servers entry with an empty server posts to the JoinEUI's DNS name";
    } else if (leaf == "async_interface" || leaf == "async_interface_timeout") {
      fix = "fix: ChirpStack v4 has no async_interface/async_interface_timeout (its template shows them, its "
            "code reads async_timeout only): replace them with async_timeout = \"1s\" to use async answers";
    }
  }
  if (fix.empty() && !c_.ignored.empty()) fix = "fix: remove or rename these keys; " + std::string(to_string(c_.version)) + " does not read them";
  add("doctor/config.ignored-keys", Level::should, "Every Join Server setting is one this ChirpStack version reads",
      c_.ignored.empty() ? Verdict::pass : Verdict::fail, "no key ChirpStack ignores",
      c_.ignored.empty() ? "none" : "ignored: " + list, fix);
}

// What ChirpStack v3 does when it cannot build the TLS client of `js` (a CA file it cannot read
// or without a PEM certificate, a client certificate and key it cannot load as a pair: its
// NewClient fails), "" for v4. Said before the fix of each finding that finds such a cause.
std::string Doctor::v3_client_unbuildable(const CsJoinServer& js) const {
  if (c_.version != ChirpStackVersion::v3) return "";
  const CsJoinServer* def = nullptr;
  for (const auto& x : c_.join_servers) {
    if (x.is_default && def == nullptr) def = &x;
  }
  const std::string instead = " to [join_server.default] (" + v3_default_server(c_, def) + ") instead";
  if (js.certificates_only) {
    if (!c_.resolve_join_eui.value_or(false)) return "";
    return "ChirpStack v3 cannot build the TLS client of this entry, so it logs \"resolving JoinEUI failed, using "
           "default join-server\" and posts the JoinReq of JoinEUI " + js.join_eui_prefix.value + instead +
           ", with that table's TLS settings (internal/joinserver/pool.go resolveJoinServer). ";
  }
  if (c_.v3_form == V3Form::servers && !js.is_default) {
    return "ChirpStack v3 cannot build the TLS client of this entry. The v3 releases that pick it in "
           "internal/backend/joinserver/pool.go (getClient) log \"creating join-server client failed, returning "
           "default join-server client\" and post the JoinReq of JoinEUI " + js.join_eui_prefix.value + instead +
           "; the last ones build every [[join_server.servers]] client when they start and do not start at all: "
           "\"setup join-server backend error: new backend client error: ...\" (internal/backend/joinserver/"
           "joinserver.go Setup, cmd/chirpstack-network-server/cmd/root_run.go). ";
  }
  if (c_.v3_form == V3Form::servers) {
    return "ChirpStack v3 cannot build the [join_server.default] client. The v3 releases with "
           "internal/backend/joinserver/pool.go build it when they start and do not start without it "
           "(\"joinserver: create default client error\"); the last ones build it for each join that goes there and "
           "fail each such join with \"get join-server client error: joinserver: new default client error: ...\" "
           "(internal/backend/joinserver/joinserver.go getDefaultClient). ";
  }
  return "ChirpStack v3 builds the [join_server.default] client when it starts and does not start without it "
         "(\"create default join-server client error\", internal/joinserver/pool.go NewPool). ";
}

void Doctor::certificate_file(const CsJoinServer& js, const CsValue& file, const std::string& key, bool ca) {
  const std::string id = "doctor/" + js.scope + "." + (ca ? "ca-cert" : "tls-cert");
  const std::string title = ca ? "The CA file of the JS connection is readable, and its certificates are valid"
                               : "The client certificate file is readable and valid";
  const std::string where = setting(js, key, file.line);
  try {
    const auto certs = backend::load_certificates(file.value);
    std::string shown;
    Verdict v = Verdict::pass;
    std::string reason;
    const auto now = std::chrono::system_clock::now();
    for (const auto& cert : certs) {
      shown += (shown.empty() ? "" : "; ") + backend::to_string(backend::describe(cert));
      if (now > cert.not_after() && v != Verdict::fail) {
        v = Verdict::fail;
        reason = "fix: " + cert.subject() + " in " + file.value + " expired on " + backend::describe(cert).not_after +
                 "; renew it and update " + where;
      } else if (now < cert.not_before() && v != Verdict::fail) {
        v = Verdict::fail;
        reason = "fix: " + cert.subject() + " in " + file.value + " is not valid before " + backend::describe(cert).not_before +
                 "; check this host's clock";
      } else if (cert.not_after() - now < o_.expiry_warning && v == Verdict::pass) {
        v = Verdict::warn;
        reason = cert.subject() + " in " + file.value + " expires on " + backend::describe(cert).not_after + ", within 30 days; renew it";
      }
    }
    add(id, Level::must, title, v, "PEM certificate(s), valid now, in " + where, shown, reason);
  } catch (const std::exception& e) {
    add(id, Level::must, title, Verdict::fail, "PEM certificate(s) in " + where, e.what(),
        v3_client_unbuildable(js) + "fix: point " + where + " at a readable PEM certificate file");
  }
}

void Doctor::files(const CsJoinServer& js) {
  if (js.ca_cert.present() && !js.ca_cert.value.empty()) certificate_file(js, js.ca_cert, "ca_cert", true);
  const bool cert = js.tls_cert.present() && !js.tls_cert.value.empty();
  const bool key = js.tls_key.present() && !js.tls_key.value.empty();
  if (cert) certificate_file(js, js.tls_cert, "tls_cert", false);
  if (cert != key) {
    add("doctor/" + js.scope + ".tls-pair", Level::must, "A client certificate comes with its key", Verdict::fail,
        "tls_cert and tls_key together in " + js.table,
        cert ? "tls_cert without tls_key" : "tls_key without tls_cert",
        v3_client_unbuildable(js) + "fix: set both " + setting(js, "tls_cert", js.tls_cert.line) +
            " and tls_key, or neither");
  }
  if (!key) return;
  const std::string kid = "doctor/" + js.scope + ".tls-key";
  const std::string where = setting(js, "tls_key", js.tls_key.line);
  backend::PrivateKey pkey;
  try {
    pkey = backend::load_private_key(js.tls_key.value);
  } catch (const std::exception& e) {
    add(kid, Level::must, "The client key file is readable and in a format this version accepts", Verdict::fail,
        "an unencrypted PEM private key in " + where, e.what(),
        v3_client_unbuildable(js) + "fix: point " + where + " at the unencrypted PEM key of tls_cert");
    return;
  }
  std::string text;
  {
    std::ifstream in(js.tls_key.value);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const bool pkcs8 = text.find("-----BEGIN PRIVATE KEY-----") != std::string::npos;
  const std::string format = pkcs8 ? "PKCS#8" : text.find("BEGIN RSA PRIVATE KEY") != std::string::npos ? "PKCS#1 (RSA)"
                                              : text.find("BEGIN EC PRIVATE KEY") != std::string::npos  ? "SEC1 (EC)"
                                                                                                         : "another PEM form";
  if (c_.version == ChirpStackVersion::v4 && !pkcs8) {
    // rustls reads PKCS#1 and SEC1 too; only the v4 template's wording asks for PKCS#8.
    add(kid, Level::info, "The client key file is readable and in a format this version accepts", Verdict::fail,
        "a PKCS#8 key (\"BEGIN PRIVATE KEY\"), as the ChirpStack v4 template documents", format + " " + pkey.description(),
        "fix: convert it: openssl pkcs8 -topk8 -nocrypt -in " + js.tls_key.value + " -out key.pkcs8.pem, and set " +
            where + " to the new file");
  } else {
    add(kid, Level::must, "The client key file is readable and in a format this version accepts", Verdict::pass,
        "an unencrypted PEM private key in " + where, format + " " + pkey.description());
  }
  if (!cert) return;
  try {
    const auto chain = backend::load_certificates(js.tls_cert.value);
    const bool match = pkey.matches(chain.front());
    add("doctor/" + js.scope + ".key-matches", Level::must, "The client key belongs to the client certificate",
        match ? Verdict::pass : Verdict::fail, "tls_key is the key of the certificate in tls_cert",
        match ? "it is" : "the key in " + js.tls_key.value + " (" + pkey.description() + ") is not the key of " +
                              chain.front().subject() + " in " + js.tls_cert.value,
        match ? "" : v3_client_unbuildable(js) + "fix: set " + where + " to the key that was generated with " +
                         js.tls_cert.value);
  } catch (const std::exception&) {
    // tls-cert already says why the certificate cannot be read.
  }
}

void Doctor::prefixes() {
  struct Seen {
    const CsJoinServer* js;
    sim::JoinEuiRange range;
  };
  std::vector<Seen> seen;
  for (const auto& js : c_.join_servers) {
    if (js.is_default || !js.join_eui_prefix.present()) continue;
    const std::string id = "doctor/" + js.scope + ".join-eui-prefix";
    const std::string key = c_.version == ChirpStackVersion::v4 ? "join_eui_prefix" : "join_eui";
    sim::JoinEuiRange range;
    try {
      range = sim::parse_join_eui_range(js.join_eui_prefix.value);
    } catch (const std::exception& e) {
      add(id, Level::must, "The JoinEUI prefix is valid and reachable", Verdict::fail,
          "16 hex digits" + std::string(c_.version == ChirpStackVersion::v4 ? ", then /bits (\"0102030405060700/56\")" : ""),
          "\"" + js.join_eui_prefix.value + "\": " + e.what(), "fix: correct " + setting(js, key, js.join_eui_prefix.line));
      continue;
    }
    const Seen* shadow = nullptr;
    for (const auto& s : seen) {
      if (s.range.bits <= range.bits && s.range.contains(range.prefix)) {
        shadow = &s;
        break;
      }
    }
    if (shadow != nullptr) {
      add(id, Level::must, "The JoinEUI prefix is valid and reachable", Verdict::fail,
          "no earlier prefix covering " + js.join_eui_prefix.value + " (ChirpStack takes the first match in file order)",
          "shadowed by " + shadow->js->join_eui_prefix.value + " of " + shadow->js->table + " (" + at(shadow->js->join_eui_prefix.line) + ")",
          "fix: move " + js.table + " (" + at(js.line) + ") before " + shadow->js->table +
              "; list specific prefixes first and a catch-all (0000000000000000/0) last");
    } else {
      add(id, Level::must, "The JoinEUI prefix is valid and reachable", Verdict::pass, "a valid prefix not shadowed",
          js.join_eui_prefix.value);
    }
    seen.push_back({&js, range});
  }
}

void Doctor::default_enabled() {
  for (const auto& js : c_.join_servers) {
    if (!js.is_default || c_.version != ChirpStackVersion::v4 || !js.server.present() || js.enabled.value_or(false)) {
      continue;
    }
    add("doctor/default.enabled", Level::must, "A [join_server.default] with a server is enabled", Verdict::fail,
        "enabled = true, or no server", "server " + js.server.value + " with enabled " + (js.enabled ? "false" : "absent (false)"),
        "fix: ChirpStack v4 ignores this table unless enabled = true (" + at(js.line) + "); set it, or remove the server");
  }
}

void Doctor::keks() {
  for (std::size_t i = 0; i < c_.keks.size(); ++i) {
    const CsKek& k = c_.keks[i];
    const std::string id = "doctor/kek-" + std::to_string(i + 1);
    const std::size_t n = k.kek_hex.size();
    const bool hex = n > 0 && k.kek_hex.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
    // v4 reads an AES128Key (16 bytes); v3 (brocaar) any AES key size.
    const bool v4 = c_.version == ChirpStackVersion::v4;
    const bool ok = hex && (n == 32 || (!v4 && (n == 48 || n == 64))) && !k.label.empty();
    std::string actual = "label \"" + k.label + "\", ";
    actual += hex ? std::to_string(n / 2) + (n % 2 ? ".5" : "") + " bytes of hex" : std::to_string(n) + " characters, not all hex";
    add(id, Level::must, "The KEK has a label and a size this version reads", ok ? Verdict::pass : Verdict::fail,
        v4 ? "a label and a KEK of 32 hex digits (ChirpStack v4 reads an AES-128 key)" : "a label and a KEK of 32, 48 or 64 hex digits", actual,
        ok ? "" : "fix: " + k.table + " (" + at(k.line) + "): " + (k.label.empty() ? "give it the label the JS uses"
                                                           : std::string(v4 ? "the kek must be 32 hex digits" : "the kek must be 32, 48 or 64 hex digits") +
                                                                 " (the key is not shown)"));
  }
}

void Doctor::dns() {
  const bool v4 = c_.version == ChirpStackVersion::v4;
  std::string suffix = c_.resolve_suffix.value;
  bool used = false;
  for (const auto& js : c_.join_servers) {
    if (!js.is_default) continue;
    used = v4 ? (js.enabled.value_or(false) && js.server.value.empty()) : c_.resolve_join_eui.value_or(false);
  }
  if (!v4 && !c_.resolve_suffix.present()) suffix = ".joineuis.lora-alliance.org";
  if (!used) {
    add("doctor/config.dns", Level::info, "The DNS name JoinEUI resolution would use", Verdict::skip, "", "",
        v4 ? "JoinEUI resolution is off ([join_server.default] is not enabled, or has a server)"
           : "JoinEUI resolution is off (resolve_join_eui = false)");
    return;
  }
  // A JoinEUI of the devices when they are given, else an example one.
  const std::string join_eui = o_.fleet && !o_.fleet->devices.empty() ? o_.fleet->devices.front().join_eui.hex()
                                                                       : std::string("70b3d57ed0000000");
  const std::string example = join_eui_dns_name(join_eui, suffix);
  if (suffix.empty() || suffix.front() != '.') {
    add("doctor/config.dns", Level::should, "The DNS name JoinEUI resolution would use", Verdict::fail,
        "a suffix starting with '.' (\".joineuis.lora-alliance.org\")",
        "suffix \"" + suffix + "\": JoinEUI " + join_eui + " resolves as " + example,
        "fix: set " + std::string(v4 ? "resolve_join_eui_domain_suffix" : "resolve_domain_suffix") +
            " in [join_server] to \".joineuis.lora-alliance.org\" (the leading dot included)");
  } else {
    add("doctor/config.dns", Level::info, "The DNS name JoinEUI resolution would use", Verdict::pass, "",
        "JoinEUI " + join_eui + " resolves as https://" + example);
  }
}

// Every server URL a join can be posted to must be one ChirpStack can post to. An empty one is
// how ChirpStack v3 ends up logging `Post ""` for every join of the JoinEUIs that take its path.
void Doctor::servers() {
  const bool v3 = c_.version == ChirpStackVersion::v3;
  for (const auto& js : c_.join_servers) {
    if (!in_use(js)) continue;
    // An empty server of a v3 servers entry or of v4's enabled default means the JoinEUI's DNS
    // name (doctor/config.dns, doctor/route.*); v3's default has no such meaning.
    if (!js.server.present() || (js.server.value.empty() && !(v3 && js.is_default) && !(!v3 && !js.is_default))) continue;
    const std::string id = "doctor/" + js.scope + ".server";
    const std::string title = "The server URL a join can be posted to is one ChirpStack can post to";
    const std::string where = setting(js, "server", js.server.line);
    const auto problem = server_url_problem(js.server.value);
    if (!problem) {
      add(id, Level::must, title, Verdict::pass, "an http:// or https:// URL with a host in " + where,
          "server = \"" + js.server.value + "\"");
      continue;
    }
    std::string when;
    if (js.is_default && v3) {
      when = c_.v3_form == V3Form::certificates
                 ? (c_.resolve_join_eui.value_or(false)
                        ? "every join whose JoinEUI's DNS name does not resolve falls back to it"
                        : "resolve_join_eui is false: every join goes to it")
                 : "every join whose JoinEUI no [[join_server.servers]] names goes to it";
    } else if (js.is_default) {
      when = "every join whose JoinEUI no join_eui_prefix matches goes to it";
    } else {
      when = "every join of JoinEUI " + js.join_eui_prefix.value + " goes to it";
    }
    std::string reason = "ChirpStack " + std::string(v3 ? "v3" : "v4") + " cannot post to it, and " + when + ". ";
    if (v3) {
      reason += "ChirpStack v3 logs for each such join: " + v3_join_error_log(problem->go_error) + ". ";
      if (js.server.value.empty()) {
        reason += "A `Post \"\"` in that log, whatever error follows it, means exactly this: the URL it posted to was empty. ";
      }
    } else {
      reason += "ChirpStack v4 fails each such join: its HTTP client cannot build the request (" + problem->v4_error + "). ";
    }
    reason += "fix: set " + where + " to the Join Server's full URL, scheme included (\"https://js.example.com:8443/\")";
    if (js.is_default && v3 && js.server.value.empty()) {
      reason += ", or delete the key to get ChirpStack v3's default http://localhost:8003";
    }
    add(id, Level::must, title, Verdict::fail, "an http:// or https:// URL with a host in " + where,
        "server = \"" + js.server.value + "\": " + problem->what, reason);
  }
}

// The decision path of each JoinEUI of --join-eui and --devices, as the version decides it.
void Doctor::routes() {
  std::vector<lorawan::Eui64> euis;
  const auto push = [&](const lorawan::Eui64& e) {
    for (const auto& x : euis) {
      if (x == e) return;
    }
    euis.push_back(e);
  };
  for (const auto& text : o_.join_euis) push(lorawan::Eui64::parse(text));
  if (o_.fleet) {
    for (const auto& d : o_.fleet->devices) push(d.join_eui);
  }
  const std::chrono::milliseconds deadline = o_.dns_timeout;
  const DnsResolver resolve = o_.resolve ? o_.resolve : DnsResolver([deadline](const std::string& name) {
    return backend::lookup_host(name, deadline);
  });
  for (const auto& eui : euis) {
    const JoinRoute r = route_join_eui(c_, eui, resolve);
    std::string path;
    for (std::size_t i = 0; i < r.steps.size(); ++i) path += (i ? "; then " : "") + r.steps[i];
    if (!r.tls.empty()) path += "; TLS: " + r.tls;
    add("doctor/route." + r.join_eui, Level::must, "The Join Server a JoinEUI's JoinReq goes to, as " + form() + " decides",
        r.failure ? Verdict::fail : Verdict::pass, "a Join Server URL ChirpStack can post the JoinReq of " + r.join_eui + " to",
        path, r.failure.value_or(""));
  }
}

void Doctor::live(const CsJoinServer& js) {
  if (js.server.value.empty() || !in_use(js) || server_url_problem(js.server.value)) return;
  TargetConfig t = default_target_config();
  t.ns.url = js.server.value;
  t.ns.timeout = o_.timeout;
  t.ns.net_id = lorawan::NetId::parse(net_id_hex());
  if (js.authorization_header) t.ns.headers.push_back({"Authorization", js.authorization_value});
  t.ns.tls.ca_file = js.ca_cert.value;
  t.ns.tls.cert_file = js.tls_cert.value;
  t.ns.tls.key_file = js.tls_key.value;
  t.ns.tls.ca_adds_to_system_roots = c_.version == ChirpStackVersion::v4;
  if (!reach(js, t)) return;
  if (!tls_checks_apply(t)) {
    add("doctor/" + js.scope + ".tls", Level::should, "The NS reaches the JS over TLS", Verdict::fail, "an https:// server",
        js.server.value, "fix: TS002 asks for mutual authentication and confidentiality; serve the JS over https and set " +
                             setting(js, "server", js.server.line));
    probe(js, t);
    return;
  }
  TlsCheckInputs in;
  in.names.url = setting(js, "server", js.server.line);
  in.names.ca_cert = setting(js, "ca_cert", js.ca_cert.line);
  in.names.tls_cert = setting(js, "tls_cert", js.tls_cert.line);
  in.names.tls_key = setting(js, "tls_key", js.tls_key.line);
  in.names.client = std::string(to_string(c_.version));
  if (!js.join_eui_prefix.value.empty()) {
    try {
      in.join_eui = sim::parse_join_eui_range(js.join_eui_prefix.value).prefix;
    } catch (const std::exception&) {
    }
  }
  for (auto& j : judge_tls(t, in)) {
    const CheckInfo& info = Catalog::builtin().at(j.check);
    if (j.evaluation.verdict == Verdict::skip && j.check != "tls/client-cert-accepted") continue;
    std::string id = "doctor/" + js.scope + "." + j.check.substr(0, 3) + "-" + j.check.substr(4);
    if (j.exchange) r_.report.exchanges.push_back(std::move(*j.exchange));
    add(id, info.level, info.title, j.evaluation.verdict, j.evaluation.expected, j.evaluation.actual, j.evaluation.reason);
    if (j.exchange) r_.report.results.back().trace.push_back(r_.report.exchanges.size() - 1);
  }
  probe(js, t);
}

// One diagnosis per cause: before the TLS checks and the probe, one connection to the JS's port
// (a TLS handshake without client certificate, deadline --timeout). A port nobody listens on is one
// FAIL, and an http:// URL whose port answers the handshake is one FAIL ("this port speaks TLS");
// the findings that would fail for the same cause are listed as not run.
bool Doctor::reach(const CsJoinServer& js, const TargetConfig& t) {
  const std::string id = "doctor/" + js.scope + ".reach";
  const std::string title = "The JS's port accepts a connection, in the protocol of the URL's scheme";
  const std::string where = setting(js, "server", js.server.line);
  const std::string& url = js.server.value;
  const bool https = tls_checks_apply(t);
  acceptable_client_cas_.clear();
  backend::TlsProbeOptions p;
  p.url = https ? url : "https://" + url.substr(url.find("://") + 3);
  // A TLS server answers a ClientHello at once; a plain HTTP server may wait for the end of a
  // request line that never comes, so on http:// the handshake gets a shorter deadline.
  p.timeout = https ? o_.timeout : std::min(o_.timeout, std::chrono::milliseconds(1500));
  p.tls.verify_peer = false;
  p.tls.verify_hostname = false;
  p.tls.min_version = backend::TlsVersion::tls1_2;
  backend::TlsProbeResult res;
  try {
    res = backend::probe_tls(p);
  } catch (const std::exception&) {
    return true;  // the TLS checks and the probe say what is wrong
  }
  const std::string deadline = std::to_string(p.timeout.count()) + " ms";
  if (!res.connected) {
    std::string peer = url.substr(url.find("://") + 3);
    peer = peer.substr(0, peer.find('/'));
    const std::string seen = peer + ": " + (res.timed_out ? "no connection within " + deadline +
                                                                (res.error.empty() ? "" : " (" + res.error + ")")
                                                          : res.error);
    add(id, Level::must, title, Verdict::fail, "a TCP connection to the host and port of " + url + " within " + deadline,
        seen,
        "ChirpStack fails every join sent to this JS the same way, at the connection, before any TLS or JoinReq. fix: "
        "start the JS or open the port, or correct the host and port of " + where);
    not_run(js, id, https);
    return false;
  }
  acceptable_client_cas_ = res.acceptable_client_cas;
  const bool speaks_tls = res.handshake_ok || !res.session.peer_chain.empty();
  if (!https && speaks_tls) {
    std::string cert;
    if (!res.session.peer_chain.empty()) cert = ", certificate " + backend::to_string(backend::describe(res.session.peer_chain.front()));
    add(id, Level::must, title, Verdict::fail, "plain HTTP on " + (res.peer.empty() ? url : res.peer) + " (server = "" + url + "")",
        "this port speaks TLS: it answered a TLS handshake (" + (res.session.version.empty() ? std::string("TLS") : res.session.version) + cert + ")",
        "ChirpStack sends its plain HTTP JoinReq to a TLS port and gets no HTTP answer, for every join. fix: this port "
        "speaks TLS: use https:// in " + where + ", with ca_cert (and tls_cert/tls_key when the JS asks for a client certificate)");
    not_run(js, id, false);
    return false;
  }
  // An https:// URL on a plain port: OpenSSL reads the plain answer as a record of an unknown
  // version, or a length no record has.
  if (https && !speaks_tls && !res.timed_out &&
      (res.error.find("wrong version number") != std::string::npos ||
       res.error.find("packet length too long") != std::string::npos)) {
    add(id, Level::must, title, Verdict::fail, "a TLS handshake on " + res.peer + " (server = \"" + url + "\")",
        "this port does not speak TLS: it answered the ClientHello with something that is not a TLS record (" +
            res.error + ")",
        "ChirpStack's TLS handshake fails the same way for every join. fix: this port does not speak TLS: point " +
            where + " at the JS's TLS port, or serve the JS over TLS (http:// would work but TS002 asks for TLS)");
    not_run(js, id, true);
    return false;
  }
  add(id, Level::must, title, Verdict::pass, "a TCP connection to the host and port of " + url + " within " + deadline,
      "connected to " + res.peer + (https ? "" : " (plain HTTP: the port does not answer a TLS handshake)"));
  return true;
}

// The findings a failed `cause` makes pointless: listed as not run (skip, never pass).
void Doctor::not_run(const CsJoinServer& js, const std::string& cause, bool tls) {
  const std::string reason = "not run: " + cause + " failed";
  if (tls) {
    for (const auto& info : Catalog::builtin().checks()) {
      if (!info.id.starts_with("tls/")) continue;
      add("doctor/" + js.scope + ".tls-" + info.id.substr(4), info.level, info.title, Verdict::skip, "", "", reason);
    }
  }
  add("doctor/" + js.scope + ".probe-join", Level::must, "A JoinReq sent as ChirpStack sends it gets an answer ChirpStack accepts",
      Verdict::skip, "", "", reason);
}

std::string Doctor::net_id_hex() const {
  if (o_.net_id) return *o_.net_id;
  if (c_.net_id.present()) return std::string(lorawan::strip_hex_prefix(c_.net_id.value));
  return "000000";  // ChirpStack's default [network] net_id
}

// One JoinReq as ChirpStack sends it to this JS, judged as that version judges the answer
// (conformance/doctor_probe.hpp).
void Doctor::probe(const CsJoinServer& js, const TargetConfig& t) {
  const std::string id = "doctor/" + js.scope + ".probe-join";
  const std::string title = "A JoinReq sent as ChirpStack sends it gets an answer ChirpStack accepts";
  ProbeInputs in;
  in.config = &c_;
  in.js = &js;
  in.ns = t.ns;
  // The probe waits as long as that ChirpStack version waits: v4 its 5 s; v3 none at all, so
  // doctor keeps its own deadline (--timeout) and says so when it passes.
  if (c_.version == ChirpStackVersion::v4) {
    in.ns.timeout = sim::persona_js_timeout(sim::NsPersona::chirpstack_v4).value();
  }
  in.server_setting = setting(js, "server", js.server.line);
  if (js.join_eui_prefix.present()) {
    in.prefix_setting = setting(js, c_.version == ChirpStackVersion::v4 ? "join_eui_prefix" : "join_eui",
                                js.join_eui_prefix.line);
  }
  in.net_id_setting = c_.version == ChirpStackVersion::v4 ? "[network] net_id" : "[network_server] net_id";
  std::optional<sim::JoinEuiRange> range;
  if (!js.join_eui_prefix.value.empty()) {
    try {
      range = sim::parse_join_eui_range(js.join_eui_prefix.value);
    } catch (const std::exception&) {
      // reported by the prefix finding
    }
  }
  if (o_.fleet) {
    for (const auto& d : o_.fleet->devices) {
      in.known_dev_euis.push_back(d.dev_eui);
      if (range && !range->contains(d.join_eui)) continue;
      if (!in.join_eui) in.join_eui = d.join_eui;
      if (o_.probe_device && !in.device && (o_.probe_device->empty() || lorawan::Eui64::parse(*o_.probe_device) == d.dev_eui)) {
        in.device = d;
        in.counters = &(*o_.device_counters)[d.dev_eui.hex()];
        probe_device_used_ = true;
      }
    }
  }
  in.acceptable_client_cas = acceptable_client_cas_;
  if (!js.tls_cert.value.empty()) {
    in.tls_cert_setting = setting(js, "tls_cert", js.tls_cert.line);
    try {
      const auto certs = backend::load_certificates(js.tls_cert.value);
      if (!certs.empty()) {
        in.client_cert_subject = certs.front().subject();
        in.client_cert_issuer = certs.front().issuer();
      }
      for (const auto& cert : certs) {
        in.client_cert_chain_names.push_back(cert.subject());
        in.client_cert_chain_names.push_back(cert.issuer());
      }
    } catch (const std::exception&) {
      // reported by the tls-cert finding
    }
  }
  ProbeFinding f = probe_join_server(in);
  add(id, Level::must, title, f.verdict, f.expected, f.actual, f.reason);
  if (f.exchange) {
    r_.report.exchanges.push_back(trace_of(*f.exchange, "doctor probe JoinReq to " + js.table, t.ns.headers, false));
    r_.report.results.back().trace.push_back(r_.report.exchanges.size() - 1);
  }
}

}  // namespace

DoctorResult run_doctor(const DoctorOptions& options) { return Doctor(options).go(); }

}  // namespace joincheck::conformance
