// Targets and the reference Join Server:
//  - Target: conformance::TargetConfig. Built from a target TOML file, TOML text, a dict of the
//    same shape, or keyword arguments; every way goes through the target file's parser, so the
//    settings, defaults and error messages are exactly those of `joincheck run --config`.
//  - ReferenceJS: conformance::EmbeddedTarget, the reference JS in-process with faults and
//    vendor behaviours, as a context manager.

#include "conformance/target.hpp"

#include <pybind11/stl.h>
#include <toml++/toml.h>

#include <filesystem>
#include <map>
#include <memory>
#include <sstream>

#include "backend/http_client.hpp"
#include "conformance/embedded_target.hpp"
#include "convert.hpp"
#include "lorawan/hex.hpp"
#include "module.hpp"
#include "sim/join_server/faults.hpp"

namespace joincheck::python {

namespace {

using conformance::TargetConfig;

std::string type_name(py::handle value) {
  return py::str(py::type::handle_of(value).attr("__name__"));
}

// A Python value as a TOML node: str, bool, int, float, bytes (hex), os.PathLike (its path),
// dict (table), list or tuple (array).
std::unique_ptr<toml::node> to_toml(py::handle value, const std::string& key);

toml::table to_table(py::handle value, const std::string& key) {
  if (!py::isinstance<py::dict>(value)) {
    throw py::type_error(key + ": expected a dict (a TOML table), got " + type_name(value));
  }
  toml::table t;
  for (const auto& [k, v] : py::reinterpret_borrow<py::dict>(value)) {
    if (!py::isinstance<py::str>(k))
      throw py::type_error(key + ": expected str keys, got " + type_name(k));
    const std::string name = py::cast<std::string>(k);
    if (v.is_none()) continue;  // None: not given
    auto node = to_toml(v, key.empty() ? name : key + "." + name);
    t.insert_or_assign(name, std::move(*node));
  }
  return t;
}

std::unique_ptr<toml::node> to_toml(py::handle value, const std::string& key) {
  if (py::isinstance<py::bool_>(value))
    return std::make_unique<toml::value<bool>>(py::cast<bool>(value));
  if (py::isinstance<py::int_>(value))
    return std::make_unique<toml::value<std::int64_t>>(py::cast<std::int64_t>(value));
  if (py::isinstance<py::float_>(value))
    return std::make_unique<toml::value<double>>(py::cast<double>(value));
  if (py::isinstance<py::str>(value))
    return std::make_unique<toml::value<std::string>>(py::cast<std::string>(value));
  if (py::isinstance<py::bytes>(value) || py::isinstance<py::bytearray>(value)) {
    return std::make_unique<toml::value<std::string>>(
        lorawan::to_hex(bytes_arg(value, key, lorawan::Secrecy::secret)));
  }
  if (py::hasattr(value, "__fspath__"))
    return std::make_unique<toml::value<std::string>>(path_arg(value, key));
  if (py::isinstance<py::dict>(value)) return std::make_unique<toml::table>(to_table(value, key));
  if (py::isinstance<py::list>(value) || py::isinstance<py::tuple>(value)) {
    auto a = std::make_unique<toml::array>();
    std::size_t i = 0;
    for (py::handle item : value) {
      auto node = to_toml(item, key + "[" + std::to_string(++i) + "]");
      a->push_back(std::move(*node));
    }
    return a;
  }
  throw py::type_error(key +
                       ": expected str, int, float, bool, bytes, a path, a dict or a list, got " +
                       type_name(value));
}

TargetConfig from_dict(py::dict settings, const std::string& source) {
  const toml::table t = to_table(settings, "");
  std::ostringstream text;
  text << t;
  return conformance::parse_target_config(text.str(), source);
}

// A path argument made absolute, so the Target works from any working directory.
py::object abs_path(py::handle value, const char* field) {
  if (value.is_none()) return py::none();
  return py::str(std::filesystem::absolute(path_arg(value, field)).string());
}

// Keyword arguments -> the target file's tables.
TargetConfig from_keywords(py::object url, py::object profile, py::object devices,
                           py::object timeout, py::object content_type, py::object paths,
                           py::object ca_cert, py::object tls_cert, py::object tls_key,
                           py::object headers, py::object net_id, py::object ns_id,
                           py::object protocol_version, py::object sender_token,
                           py::object unknown_net_id, py::object keks, py::object as_id,
                           py::object as_kek_label, py::object async_listen,
                           py::object async_tls_cert, py::object async_tls_key,
                           py::object async_client_ca, py::object capabilities) {
  py::dict d;
  d["url"] = url;
  if (!profile.is_none()) {
    // A built-in name stays a name; anything that looks like a file becomes absolute.
    const std::string p = path_arg(profile, "profile");
    const bool file =
        p.find('/') != std::string::npos || (p.size() > 5 && p.substr(p.size() - 5) == ".toml");
    d["profile"] = file ? abs_path(profile, "profile") : py::str(p);
  }
  d["devices"] = abs_path(devices, "devices");
  if (!timeout.is_none()) {
    if (py::hasattr(timeout, "total_seconds")) timeout = timeout.attr("total_seconds")();
    if (py::isinstance<py::str>(timeout)) {
      d["timeout"] = timeout;
    } else {
      const double seconds = py::cast<double>(timeout);
      d["timeout"] = py::int_(static_cast<std::int64_t>(seconds * 1000.0 + 0.5));
    }
  }
  d["content_type"] = content_type;
  d["paths"] = paths;
  py::dict tls;
  tls["ca_cert"] = abs_path(ca_cert, "ca_cert");
  tls["tls_cert"] = abs_path(tls_cert, "tls_cert");
  tls["tls_key"] = abs_path(tls_key, "tls_key");
  if (!ca_cert.is_none() || !tls_cert.is_none() || !tls_key.is_none()) d["tls"] = tls;
  d["headers"] = headers;
  py::dict ns;
  ns["net_id"] = net_id;
  ns["ns_id"] = ns_id;
  ns["protocol_version"] = protocol_version;
  ns["sender_token"] = sender_token;
  ns["unknown_net_id"] = unknown_net_id;
  bool any_ns = false;
  for (const auto& [k, v] : ns) any_ns |= !v.is_none();
  if (any_ns) d["ns"] = ns;
  if (!keks.is_none()) {
    if (!py::isinstance<py::dict>(keks))
      throw py::type_error("keks: expected a dict {label: KEK}, got " + type_name(keks));
    py::list list;
    for (const auto& [label, kek] : py::reinterpret_borrow<py::dict>(keks)) {
      py::dict entry;
      entry["label"] = label;
      entry["kek"] =
          py::isinstance<py::str>(kek)
              ? py::reinterpret_borrow<py::object>(kek)
              : py::str(lorawan::to_hex(bytes_arg(kek, "kek", lorawan::Secrecy::secret)));
      list.append(entry);
    }
    d["kek"] = list;
  }
  if (!as_id.is_none() || !as_kek_label.is_none()) {
    py::dict as;
    as["as_id"] = as_id;
    as["kek_label"] = as_kek_label;
    d["application_server"] = as;
  }
  if (!async_listen.is_none() || !async_tls_cert.is_none() || !async_tls_key.is_none() ||
      !async_client_ca.is_none()) {
    py::dict a;
    a["listen"] = async_listen;
    a["tls_cert"] = abs_path(async_tls_cert, "async_tls_cert");
    a["tls_key"] = abs_path(async_tls_key, "async_tls_key");
    a["client_ca"] = abs_path(async_client_ca, "async_client_ca");
    d["async"] = a;
  }
  if (!capabilities.is_none()) {
    py::dict caps;
    if (py::isinstance<py::dict>(capabilities)) {
      for (const auto& [k, v] : py::reinterpret_borrow<py::dict>(capabilities)) {
        std::string name = py::cast<std::string>(k);
        for (char& c : name) {
          if (c == '-' || c == '.') c = '_';
        }
        caps[py::str(name)] = v;
      }
    } else {
      throw py::type_error("capabilities: expected a dict {name: bool}, got " +
                           type_name(capabilities));
    }
    d["capabilities"] = caps;
  }
  return from_dict(d, "<python>");
}

std::optional<std::string> path_or_none(const std::filesystem::path& p) {
  if (p.empty()) return std::nullopt;
  return p.string();
}

std::vector<std::string> capability_names(const TargetConfig& c) {
  std::vector<std::string> out;
  for (auto cap : c.capabilities) out.emplace_back(conformance::to_string(cap));
  return out;
}

std::string target_repr(const TargetConfig& c) {
  std::string s = "Target(url=" + py_quote(c.ns.url) + ", net_id='" + c.ns.net_id.hex() +
                  "', protocol_version='" + std::string(backend::to_string(c.ns.protocol_version)) +
                  "'";
  if (!c.ns.keks.empty()) {
    s += ", keks={";
    std::string sep;
    for (const auto& [label, kek] : c.ns.keks) {
      s += sep + py_quote(label) + ": <redacted>";
      sep = ", ";
    }
    s += "}";
  }
  if (c.ns.async_listen) s += ", async_listen=" + py_quote(*c.ns.async_listen);
  if (c.profile) s += ", profile=" + py_quote(*c.profile);
  if (c.devices) s += ", devices=" + py_quote(c.devices->string());
  s += ", timeout=" +
       std::to_string(static_cast<double>(c.ns.timeout.count()) / 1000.0).substr(0, 5);
  s += ", capabilities=[";
  std::string sep;
  for (const auto& name : capability_names(c)) {
    s += sep + py_quote(name);
    sep = ", ";
  }
  return s + "])";
}

void bind_target(py::module_& m) {
  py::class_<TargetConfig>(
      m, "Target",
      "A Join Server under test and how the harness talks to it: the settings of a target TOML "
      "file (URL, "
      "per-message paths, TLS files, extra headers, NetID, NSID, ProtocolVersion, KEKs, the AS, "
      "the async "
      "callback listener, capabilities, profile, fleet file, timeout). Built from keywords, a file "
      "(Target.from_file), TOML text (Target.from_toml) or a dict shaped like the file "
      "(Target.from_dict); "
      "every way goes through the target file's parser, so defaults and errors "
      "(joincheck.ConfigError, naming "
      "the key) are the same. repr() never shows a KEK or a header value.")
      .def(py::init(&from_keywords), py::arg("url"), py::kw_only(), py::arg("profile") = py::none(),
           py::arg("devices") = py::none(), py::arg("timeout") = py::none(),
           py::arg("content_type") = py::none(), py::arg("paths") = py::none(),
           py::arg("ca_cert") = py::none(), py::arg("tls_cert") = py::none(),
           py::arg("tls_key") = py::none(), py::arg("headers") = py::none(),
           py::arg("net_id") = py::none(), py::arg("ns_id") = py::none(),
           py::arg("protocol_version") = py::none(), py::arg("sender_token") = py::none(),
           py::arg("unknown_net_id") = py::none(), py::arg("keks") = py::none(),
           py::arg("as_id") = py::none(), py::arg("as_kek_label") = py::none(),
           py::arg("async_listen") = py::none(), py::arg("async_tls_cert") = py::none(),
           py::arg("async_tls_key") = py::none(), py::arg("async_client_ca") = py::none(),
           py::arg("capabilities") = py::none(),
           "Keywords as the target file names them: url; profile (a name or a .toml file); devices "
           "(the fleet "
           "file); timeout (seconds, a timedelta, or '5s'/'500ms'); content_type; paths "
           "{'JoinReq': '/join'}; "
           "ca_cert, tls_cert, tls_key ([tls]); headers {'Authorization': 'Bearer ...'}; net_id, "
           "ns_id, "
           "protocol_version ('1.0' or '1.1'), sender_token (hex or bytes; '' sends none), "
           "unknown_net_id ([ns]); "
           "keks {label: KEK as bytes or hex} ([[kek]]); as_id, as_kek_label "
           "([application_server]); "
           "async_listen 'HOST:PORT', async_tls_cert, async_tls_key, async_client_ca ([async]); "
           "capabilities "
           "{'rejoin': False, ...}. Relative paths are made absolute from the current directory.")
      .def_static(
          "from_file",
          [](py::object path) { return conformance::load_target_config(path_arg(path, "path")); },
          py::arg("path"),
          "Reads a target TOML file (relative paths in it are relative to its folder).")
      .def_static(
          "from_toml",
          [](const std::string& text, py::object source) {
            return conformance::parse_target_config(
                text, source.is_none() ? std::string("<python>") : path_arg(source, "source"));
          },
          py::arg("text"), py::kw_only(), py::arg("source") = py::none(),
          "Parses target TOML text; `source` names it in errors and is the base of relative paths.")
      .def_static(
          "from_dict",
          [](py::dict settings, py::object source) {
            return from_dict(
                settings, source.is_none() ? std::string("<python>") : path_arg(source, "source"));
          },
          py::arg("settings"), py::kw_only(), py::arg("source") = py::none(),
          "The target file as a dict: {'url': ..., 'ns': {'net_id': ...}, 'kek': [{'label': ..., "
          "'kek': ...}], "
          "...}. bytes become hex; None values are left out.")
      .def(
          "replace",
          [](const TargetConfig& c, py::object url, py::object timeout, py::object devices,
             py::object profile) {
            TargetConfig out = c;
            if (!url.is_none()) {
              out.ns.url = conformance::checked_target_url(py::cast<std::string>(url), "url");
            }
            if (!timeout.is_none()) {
              if (py::hasattr(timeout, "total_seconds")) timeout = timeout.attr("total_seconds")();
              const double seconds = py::cast<double>(timeout);
              if (!(seconds > 0.0 && seconds <= 3600.0)) {
                throw sim::ConfigError("timeout: expected 0.001 to 3600 seconds, got " +
                                       std::to_string(seconds));
              }
              out.ns.timeout = std::chrono::milliseconds(
                  std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds * 1000.0 + 0.5)));
            }
            if (!devices.is_none())
              out.devices = std::filesystem::absolute(path_arg(devices, "devices"));
            if (!profile.is_none()) out.profile = path_arg(profile, "profile");
            return out;
          },
          py::kw_only(), py::arg("url") = py::none(), py::arg("timeout") = py::none(),
          py::arg("devices") = py::none(), py::arg("profile") = py::none(),
          "A copy with these settings replaced (as command-line flags override a target file).")
      .def_property_readonly(
          "url", [](const TargetConfig& c) { return c.ns.url; }, "Where requests are POSTed.")
      .def_property_readonly(
          "paths",
          [](const TargetConfig& c) {
            std::map<std::string, std::string> out;
            for (const auto& [type, path] : c.ns.paths)
              out[std::string(backend::to_string(type))] = path;
            return out;
          },
          "Per message type: a path or URL replacing url's ({'JoinReq': '/join'}).")
      .def_property_readonly(
          "ca_cert", [](const TargetConfig& c) { return path_or_none(c.ns.tls.ca_file); },
          "[tls] ca_cert, or None.")
      .def_property_readonly(
          "tls_cert", [](const TargetConfig& c) { return path_or_none(c.ns.tls.cert_file); },
          "[tls] tls_cert (the client certificate), or None.")
      .def_property_readonly(
          "tls_key", [](const TargetConfig& c) { return path_or_none(c.ns.tls.key_file); },
          "[tls] tls_key, or None.")
      .def_property_readonly(
          "headers",
          [](const TargetConfig& c) {
            std::vector<std::pair<std::string, std::string>> out;
            for (const auto& h : c.ns.headers) out.emplace_back(h.name, h.value);
            return out;
          },
          "Extra headers sent with every request, as (name, value) pairs.")
      .def_property_readonly(
          "content_type", [](const TargetConfig& c) { return c.ns.content_type; },
          "The Content-Type requests are sent with.")
      .def_property_readonly(
          "protocol_version",
          [](const TargetConfig& c) {
            return std::string(backend::to_string(c.ns.protocol_version));
          },
          "TS002 ProtocolVersion sent: '1.0' or '1.1'.")
      .def_property_readonly(
          "net_id", [](const TargetConfig& c) { return c.ns.net_id.hex(); },
          "The harness's NetID (SenderID).")
      .def_property_readonly(
          "ns_id",
          [](const TargetConfig& c) -> py::object {
            return c.ns.ns_id ? py::object(py::str(c.ns.ns_id->hex())) : py::none();
          },
          "SenderNSID (sent under ProtocolVersion 1.1), or None.")
      .def_property_readonly(
          "sender_token",
          [](const TargetConfig& c) -> py::object {
            return c.ns.sender_token ? py::object(to_bytes(*c.ns.sender_token)) : py::none();
          },
          "SenderToken bytes, or None.")
      .def_readonly("unknown_net_id", &TargetConfig::unknown_net_id,
                    "A NetID the target must not serve.")
      .def_property_readonly(
          "keks",
          [](const TargetConfig& c) {
            py::dict out;
            for (const auto& [label, kek] : c.ns.keks) out[py::str(label)] = to_bytes(kek);
            return out;
          },
          "The KEKs by label ({label: bytes}).")
      .def_readonly("as_id", &TargetConfig::as_id, "SenderID of AppSKeyReq.")
      .def_readonly("as_kek_label", &TargetConfig::as_kek_label,
                    "The KEK the JS wraps AppSKey with; '' when none.")
      .def_property_readonly(
          "capabilities", &capability_names,
          "What the target declares it supports: 'rejoin', 'app-s-key', 'home-ns', "
          "'protocol-1.1', 'known-senders', 'as-kek', 'async'.")
      .def_readonly("profile", &TargetConfig::profile, "The profile the file names, or None.")
      .def_property_readonly(
          "devices",
          [](const TargetConfig& c) -> py::object {
            return c.devices ? py::object(py::str(c.devices->string())) : py::none();
          },
          "The fleet file the file names, or None.")
      .def_property_readonly(
          "timeout",
          [](const TargetConfig& c) { return static_cast<double>(c.ns.timeout.count()) / 1000.0; },
          "Deadline of one exchange, in seconds.")
      .def_property_readonly(
          "async_listen", [](const TargetConfig& c) { return c.ns.async_listen; },
          "HOST:PORT of the harness's listener for asynchronous answers, or None (synchronous).")
      .def_property_readonly(
          "source", [](const TargetConfig& c) { return c.source.string(); },
          "The file the settings were read from ('<python>' for keywords).")
      .def("__repr__", &target_repr);
}

// The reference JS as Python holds it: stopped and started again with the same options (and so
// the same generated fleet and KEKs; a new port).
class ReferenceJs {
 public:
  explicit ReferenceJs(conformance::EmbeddedTargetOptions options,
                       std::vector<std::string> fault_names)
      : options_(std::move(options)), fault_names_(std::move(fault_names)) {
    start();
  }
  ~ReferenceJs() { stop(); }
  ReferenceJs(const ReferenceJs&) = delete;
  ReferenceJs& operator=(const ReferenceJs&) = delete;

  void start() {
    if (js_)
      throw py::value_error("the reference JS is already running at " + js_->target().ns.url);
    std::unique_ptr<conformance::EmbeddedTarget> js;
    {
      py::gil_scoped_release release;
      js = std::make_unique<conformance::EmbeddedTarget>(options_);
    }
    fleet_ = js->fleet();
    js_ = std::move(js);
  }
  void stop() {
    std::unique_ptr<conformance::EmbeddedTarget> js = std::move(js_);
    if (!js) return;
    if (PyGILState_Check() != 0) {
      py::gil_scoped_release release;
      js.reset();
    } else {
      js.reset();
    }
  }
  bool running() const { return js_ != nullptr; }
  const conformance::EmbeddedTarget& js() const {
    if (!js_) throw py::value_error("the reference JS is stopped (start() starts it again)");
    return *js_;
  }
  const sim::Fleet& fleet() const { return fleet_; }
  const conformance::EmbeddedTargetOptions& options() const { return options_; }
  const std::vector<std::string>& fault_names() const { return fault_names_; }

 private:
  conformance::EmbeddedTargetOptions options_;
  std::vector<std::string> fault_names_;
  std::unique_ptr<conformance::EmbeddedTarget> js_;
  sim::Fleet fleet_;
};

std::unique_ptr<ReferenceJs> make_reference_js(py::object faults, const std::string& behave_like,
                                               bool asynchronous, std::uint64_t seed,
                                               std::size_t devices_per_version, py::object fleet,
                                               py::object database) {
  conformance::EmbeddedTargetOptions o;
  std::vector<std::string> names;
  if (py::isinstance<py::str>(faults))
    throw py::type_error("faults: expected a list of fault names, got a str");
  for (py::handle f : faults) {
    const std::string spec = py::cast<std::string>(f);
    sim::add_fault(o.faults, spec);  // std::invalid_argument (ValueError) listing the known names
    names.push_back(spec);
  }
  const auto b = sim::parse_behaviour(behave_like);
  if (!b)
    throw py::value_error("behave_like: expected \"strict\", \"brocaar\" or \"tts\", got " +
                          py_quote(behave_like));
  o.behaviour = *b;
  o.async = asynchronous;
  o.seed = seed;
  o.devices_per_version = devices_per_version;
  if (!fleet.is_none()) o.fleet = py::cast<sim::Fleet>(fleet);
  if (!database.is_none()) o.database = std::filesystem::absolute(path_arg(database, "database"));
  return std::make_unique<ReferenceJs>(std::move(o), std::move(names));
}

std::string reference_js_repr(const ReferenceJs& r) {
  std::string s = "ReferenceJS(";
  s += r.running() ? "url=" + py_quote(r.js().target().ns.url) : std::string("stopped");
  s += ", behave_like='" + std::string(sim::to_string(r.options().behaviour)) + "'";
  if (!r.fault_names().empty()) {
    s += ", faults=[";
    std::string sep;
    for (const auto& f : r.fault_names()) {
      s += sep + py_quote(f);
      sep = ", ";
    }
    s += "]";
  }
  if (r.options().async) s += ", asynchronous=True";
  if (!r.options().database.empty()) s += ", database=" + py_quote(r.options().database.string());
  return s + ", fleet=" + std::to_string(r.fleet().devices.size()) + " devices)";
}

void bind_reference_js(py::module_& m) {
  py::class_<ReferenceJs>(
      m, "ReferenceJS",
      "The reference Join Server, started in-process on 127.0.0.1 (an ephemeral port) with a fleet "
      "(generated, or yours), the harness's NetID registered with a KEK, a JS-AS KEK and a home "
      "NetID: "
      "`target` describes how to reach it. Faults (joincheck.faults()) and vendor behaviours make "
      "it misbehave "
      "on purpose. With `database` its DevNonce/JoinNonce state lives in that SQLite file and "
      "survives stop() "
      "and start(). Use it as a context manager: it stops on exit.")
      .def(py::init(&make_reference_js), py::kw_only(), py::arg("faults") = py::tuple(),
           py::arg("behave_like") = "strict", py::arg("asynchronous") = false, py::arg("seed") = 1,
           py::arg("devices_per_version") = 2, py::arg("fleet") = py::none(),
           py::arg("database") = py::none(),
           "Starts it. faults: names such as 'wrong-kek-label' or 'slow-answer=300' (ValueError "
           "lists the known "
           "ones); behave_like: 'strict', 'brocaar' or 'tts'; asynchronous: answers POSTed to the "
           "harness's "
           "listener; seed: the generated fleet and KEKs; devices_per_version: generated devices "
           "of each of 1.0.2, "
           "1.0.3, 1.0.4 and 1.1; fleet: the devices to provision instead; database: a SQLite file "
           "for its state.")
      .def("start", &ReferenceJs::start,
           "Starts it again after stop(), with the same options, fleet and KEKs (and the same "
           "state when it has a "
           "database), on a new port.")
      .def("stop", &ReferenceJs::stop, "Stops it (committing its state). Idempotent.")
      .def_property_readonly("running", &ReferenceJs::running, "Whether it is serving.")
      .def_property_readonly(
          "target", [](const ReferenceJs& r) { return r.js().target(); },
          "The Target that reaches it (URL, NetID, KEKs, capabilities). Changes with every "
          "start().")
      .def_property_readonly(
          "url", [](const ReferenceJs& r) { return r.js().target().ns.url; },
          "Its URL, http://127.0.0.1:PORT.")
      .def_property_readonly(
          "label", [](const ReferenceJs& r) { return r.js().label(); },
          "'embedded reference JS (URL)': the target named in reports.")
      .def_property_readonly("fleet", &ReferenceJs::fleet, "The devices it knows.")
      .def_property_readonly("faults", &ReferenceJs::fault_names, "The faults switched on.")
      .def_property_readonly(
          "behave_like",
          [](const ReferenceJs& r) { return std::string(sim::to_string(r.options().behaviour)); },
          "'strict', 'brocaar' or 'tts'.")
      .def_property_readonly(
          "asynchronous", [](const ReferenceJs& r) { return r.options().async; },
          "Whether answers are POSTed asynchronously.")
      .def_property_readonly(
          "database",
          [](const ReferenceJs& r) -> py::object {
            if (r.options().database.empty()) return py::none();
            return py::str(r.options().database.string());
          },
          "The SQLite file of its state, or None (memory only).")
      .def("__enter__", [](py::object self) { return self; })
      .def(
          "__exit__", [](ReferenceJs& r, py::args) { r.stop(); }, "Stops it.")
      .def("__repr__", &reference_js_repr);
}

void def_reference_js_functions(py::module_& m) {
  m.def(
      "faults",
      [] {
        py::dict out;
        for (const auto& f : sim::all_faults())
          out[py::str(std::string(f.name))] = std::string(f.description);
        return out;
      },
      "The reference JS's faults: {name: one-line description}. 'slow-answer' takes a delay: "
      "'slow-answer=300' "
      "(milliseconds).");
  m.def(
      "behaviours",
      [] {
        return std::vector<std::string>{"strict", "brocaar", "tts"};
      },
      "The vendor behaviours the reference JS can take (behave_like).");
}

}  // namespace

void init_target(py::module_& m) {
  bind_target(m);
  bind_reference_js(m);
  def_reference_js_functions(m);
}

}  // namespace joincheck::python
