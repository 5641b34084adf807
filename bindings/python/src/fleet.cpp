// Fleets and their devices (sim/fleet): load, parse, generate, build and save, with the fleet
// file's own validation (a Device is checked exactly as a fleet file's entry is).

#include "sim/fleet/fleet.hpp"

#include <fcntl.h>
#include <pybind11/stl.h>
#include <unistd.h>

#include <map>
#include <random>

#include "convert.hpp"
#include "module.hpp"

namespace joincheck::python {

namespace {

using sim::Fleet;
using sim::FleetDevice;

py::object json_module() { return py::module_::import("json"); }

void warn_all(const std::vector<std::string>& warnings) {
  if (warnings.empty()) return;
  py::object warn = py::module_::import("warnings").attr("warn");
  for (const auto& w : warnings) warn(w, fleet_warning(), 2);
}

std::optional<sim::FleetFormat> format_arg(py::handle value) {
  if (value.is_none()) return std::nullopt;
  const std::string text = py::cast<std::string>(value);
  if (text == "json") return sim::FleetFormat::json;
  if (text == "csv") return sim::FleetFormat::csv;
  throw py::value_error("format: expected \"json\" or \"csv\", got " + py_quote(text));
}

Fleet parse_fleet_text(const std::string& text, py::object format, const std::string& source) {
  const auto f = format_arg(format);
  sim::FleetLoad load = sim::parse_fleet(text, f.value_or(sim::detect_fleet_format(text)), source);
  warn_all(load.warnings);
  return std::move(load.fleet);
}

// The device checked as a fleet file checks it: the same rules and messages.
FleetDevice validated(const FleetDevice& d) {
  Fleet f;
  f.devices.push_back(d);
  sim::FleetLoad load = sim::parse_fleet(sim::fleet_to_json(f), sim::FleetFormat::json, "Device()");
  warn_all(load.warnings);
  return load.fleet.devices.front();
}

std::string device_repr(const FleetDevice& d) {
  std::string s = "Device(dev_eui='" + d.dev_eui.hex() + "', join_eui='" + d.join_eui.hex() +
                  "', mac_version='" + std::string(lorawan::to_string(d.mac_version)) + "'";
  if (d.app_key) s += ", app_key=<redacted>";
  if (d.nwk_key) s += ", nwk_key=<redacted>";
  if (d.dev_nonce_policy)
    s += ", dev_nonce_policy='" + std::string(sim::to_string(*d.dev_nonce_policy)) + "'";
  if (d.dev_nonce_start) s += ", dev_nonce_start=" + std::to_string(*d.dev_nonce_start);
  if (d.secure_element) s += ", secure_element=" + *d.secure_element;
  return s + ")";
}

FleetDevice make_device(py::object dev_eui, py::object join_eui, py::object mac_version,
                        py::object app_key, py::object nwk_key, py::object dev_nonce_policy,
                        py::object dev_nonce_start, py::object secure_element) {
  FleetDevice d;
  d.dev_eui = eui_arg(dev_eui, "DevEUI");
  d.join_eui = eui_arg(join_eui, "JoinEUI");
  d.mac_version = mac_version_arg(mac_version);
  d.app_key = optional_key_arg(app_key, "AppKey");
  d.nwk_key = optional_key_arg(nwk_key, "NwkKey");
  if (!dev_nonce_policy.is_none()) {
    const std::string text = py::cast<std::string>(dev_nonce_policy);
    const auto p = sim::parse_dev_nonce_policy(text);
    if (!p)
      throw lorawan::Error("DevNoncePolicy: expected \"counter\", \"random\" or \"fixed\", got " +
                           py_quote(text));
    d.dev_nonce_policy = *p;
  }
  if (!dev_nonce_start.is_none())
    d.dev_nonce_start =
        static_cast<std::uint16_t>(dev_nonce_arg(dev_nonce_start, "DevNonceStart").value());
  if (!secure_element.is_none()) {
    if (!py::isinstance<py::dict>(secure_element)) {
      throw py::type_error(
          "secure_element: expected a dict (the fleet file's SecureElement object), got " +
          std::string(py::str(py::type::handle_of(secure_element).attr("__name__"))));
    }
    d.secure_element = py::cast<std::string>(
        json_module().attr("dumps")(secure_element, py::arg("sort_keys") = true,
                                    py::arg("separators") = py::make_tuple(",", ":")));
  }
  return validated(d);
}

py::dict device_dict(const FleetDevice& d) {
  Fleet f;
  f.devices.push_back(d);
  py::dict doc = json_module().attr("loads")(sim::fleet_to_json(f));
  return py::reinterpret_borrow<py::dict>(py::list(doc["devices"])[0]);
}

void bind_device(py::module_& m) {
  py::class_<FleetDevice>(
      m, "Device",
      "One device of a fleet, as in a fleet file: DevEUI, JoinEUI, MACVersion, root keys "
      "(AppKey; NwkKey for LoRaWAN 1.1), DevNonce policy and start, and an optional "
      "SecureElement object ({'kind': one of joincheck.SECURE_ELEMENT_KINDS, ...}, as in a fleet "
      "file; see docs/secure-element.md). A Device is "
      "an immutable value checked like a fleet file's entry; replace() gives a changed copy. "
      "Keys are bytes on attribute access and never shown by repr().")
      .def(py::init(&make_device), py::arg("dev_eui"), py::arg("join_eui"), py::kw_only(),
           py::arg("mac_version") = "1.0.3", py::arg("app_key") = py::none(),
           py::arg("nwk_key") = py::none(), py::arg("dev_nonce_policy") = py::none(),
           py::arg("dev_nonce_start") = py::none(), py::arg("secure_element") = py::none(),
           "EUIs as hex strings (MSB first) or 8 bytes, keys as bytes or hex, mac_version '1.0', "
           "'1.0.1' ... "
           "'1.0.4', '1.1', dev_nonce_policy 'counter', 'random' or 'fixed' (default: counter from "
           "1.0.4, "
           "random before). Raises joincheck.FleetError (or joincheck.Error for a malformed value) "
           "naming the "
           "field.")
      .def_static(
          "from_dict",
          [](py::dict object) {
            py::dict doc;
            py::list devices;
            devices.append(object);
            doc["devices"] = devices;
            const std::string text = py::cast<std::string>(json_module().attr("dumps")(doc));
            return parse_fleet_text(text, py::str("json"), "Device.from_dict()").devices.front();
          },
          py::arg("object"),
          "A device from its fleet-file form {\"DevEUI\": ..., \"JoinEUI\": ..., \"MACVersion\": "
          "..., "
          "\"AppKey\": ...}.")
      .def_property_readonly(
          "dev_eui", [](const FleetDevice& d) { return d.dev_eui.hex(); },
          "DevEUI, hex, MSB first.")
      .def_property_readonly(
          "join_eui", [](const FleetDevice& d) { return d.join_eui.hex(); },
          "JoinEUI, hex, MSB first.")
      .def_property_readonly(
          "mac_version",
          [](const FleetDevice& d) { return std::string(lorawan::to_string(d.mac_version)); },
          "'1.0', '1.0.1', ... '1.0.4' or '1.1'.")
      .def_property_readonly(
          "app_key",
          [](const FleetDevice& d) -> py::object {
            return d.app_key ? py::object(wire_bytes(*d.app_key)) : py::none();
          },
          "AppKey (bytes) or None.")
      .def_property_readonly(
          "nwk_key",
          [](const FleetDevice& d) -> py::object {
            return d.nwk_key ? py::object(wire_bytes(*d.nwk_key)) : py::none();
          },
          "NwkKey (bytes; LoRaWAN 1.1 devices) or None.")
      .def_property_readonly(
          "dev_nonce_policy",
          [](const FleetDevice& d) -> py::object {
            if (!d.dev_nonce_policy) return py::none();
            return py::str(std::string(sim::to_string(*d.dev_nonce_policy)));
          },
          "The DevNoncePolicy the device names ('counter', 'random', 'fixed'), or None.")
      .def_property_readonly(
          "effective_dev_nonce_policy",
          [](const FleetDevice& d) {
            return std::string(sim::to_string(sim::effective_dev_nonce_policy(d)));
          },
          "The policy followed: the one named, else 'counter' for 1.0.4 and 1.1, 'random' before.")
      .def_readonly("dev_nonce_start", &FleetDevice::dev_nonce_start, "DevNonceStart, or None.")
      .def_property_readonly(
          "secure_element",
          [](const FleetDevice& d) -> py::object {
            if (!d.secure_element) return py::none();
            return json_module().attr("loads")(*d.secure_element);
          },
          "The SecureElement object (a dict), or None: software keys.")
      .def(
          "replace",
          [](const FleetDevice& d, py::kwargs changes) {
            py::dict object = device_dict(d);
            static const std::map<std::string, std::string> names{
                {"dev_eui", "DevEUI"},
                {"join_eui", "JoinEUI"},
                {"mac_version", "MACVersion"},
                {"app_key", "AppKey"},
                {"nwk_key", "NwkKey"},
                {"dev_nonce_policy", "DevNoncePolicy"},
                {"dev_nonce_start", "DevNonceStart"},
                {"secure_element", "SecureElement"}};
            for (const auto& [k, v] : changes) {
              const std::string key = py::cast<std::string>(k);
              const auto it = names.find(key);
              if (it == names.end())
                throw py::type_error("replace() got an unexpected keyword argument " +
                                     py_quote(key));
              if (v.is_none()) {
                object.attr("pop")(it->second, py::none());
              } else if (key == "app_key" || key == "nwk_key") {
                object[py::str(it->second)] = key_arg(v, it->second).hex();
              } else if (key == "dev_eui" || key == "join_eui") {
                object[py::str(it->second)] = eui_arg(v, it->second).hex();
              } else {
                object[py::str(it->second)] = v;
              }
            }
            py::dict doc;
            py::list devices;
            devices.append(object);
            doc["devices"] = devices;
            return parse_fleet_text(py::cast<std::string>(json_module().attr("dumps")(doc)),
                                    py::str("json"), "Device.replace()")
                .devices.front();
          },
          "A copy with the given fields changed (same keyword names as the constructor; None "
          "removes an optional "
          "field).")
      .def("to_dict", &device_dict,
           "The fleet-file form of the device, with TS002 names (DevEUI, JoinEUI, MACVersion, "
           "AppKey, NwkKey, ...). "
           "It holds the root keys.")
      .def("__eq__", [](const FleetDevice& a, const FleetDevice& b) { return a == b; })
      .def("__hash__",
           [](const FleetDevice& d) { return py::hash(py::str(sim::fleet_to_json(Fleet{{d}}))); })
      .def("__repr__", &device_repr);
}

const FleetDevice* find_device(const Fleet& f, const std::string& dev_eui_text) {
  const lorawan::Eui64 eui =
      lorawan::Eui64::parse(lorawan::strip_hex_prefix(dev_eui_text), "DevEUI");
  for (const auto& d : f.devices) {
    if (d.dev_eui == eui) return &d;
  }
  return nullptr;
}

std::string fleet_repr(const Fleet& f) {
  std::map<lorawan::MacVersion, std::size_t> by_version;
  for (const auto& d : f.devices) ++by_version[d.mac_version];
  std::string s = "Fleet(" + std::to_string(f.devices.size()) +
                  (f.devices.size() == 1 ? " device" : " devices");
  std::string sep = ": ";
  for (const auto& [v, n] : by_version) {
    s += sep + std::to_string(n) + " x " + std::string(lorawan::to_string(v));
    sep = ", ";
  }
  return s + ")";
}

void bind_fleet(py::module_& m) {
  py::class_<Fleet>(
      m, "Fleet",
      "A list of devices, read from or written to a fleet file (JSON or CSV with the TS002 names "
      "as keys or columns). Reading is strict: an unknown field or column is an error naming the "
      "device and the field. Index it by position or by DevEUI.")
      .def(py::init([](py::object devices) {
             Fleet f;
             if (!devices.is_none()) {
               for (py::handle d : devices) f.devices.push_back(py::cast<FleetDevice>(d));
             }
             return f;
           }),
           py::arg("devices") = py::none(), "A fleet of the given Device objects.")
      .def_static(
          "load",
          [](py::object path) {
            sim::FleetLoad load = sim::load_fleet(path_arg(path, "path"));
            warn_all(load.warnings);
            return std::move(load.fleet);
          },
          py::arg("path"),
          "Reads a fleet file, in the format its extension names (.json, .csv), else the one its "
          "content shows. "
          "Remarks that do not stop the fleet from being used are issued as joincheck.FleetWarning "
          "warnings.")
      .def_static("parse", &parse_fleet_text, py::arg("text"), py::kw_only(),
                  py::arg("format") = py::none(), py::arg("source") = "<python>",
                  "Parses fleet text: format 'json' or 'csv' (default: detected). `source` names "
                  "it in errors.")
      .def_static(
          "from_json",
          [](py::object object, const std::string& source) {
            if (py::isinstance<py::list>(object) || py::isinstance<py::tuple>(object)) {
              py::dict doc;
              doc["devices"] = py::list(object);
              object = doc;
            }
            return parse_fleet_text(py::cast<std::string>(json_module().attr("dumps")(object)),
                                    py::str("json"), source);
          },
          py::arg("object"), py::kw_only(), py::arg("source") = "<python>",
          "A fleet from its JSON form as Python objects: {\"devices\": [{...}, ...]} or the list "
          "of device dicts.")
      .def_static(
          "generate",
          [](std::size_t count, py::object join_eui, py::object mac_version, py::object seed) {
            std::uint64_t s = 0;
            if (seed.is_none()) {
              std::random_device rd;
              s = (std::uint64_t{rd()} << 32) ^ rd();
            } else {
              s = py::cast<std::uint64_t>(seed);
            }
            // One version, or several that take turns (as `devices generate --mac-version a,b`).
            std::vector<lorawan::MacVersion> versions;
            if (py::isinstance<py::str>(mac_version) || !py::isinstance<py::iterable>(mac_version)) {
              versions.push_back(mac_version_arg(mac_version));
            } else {
              for (py::handle v : mac_version) versions.push_back(mac_version_arg(v));
            }
            return sim::generate_fleet(count, eui_arg(join_eui, "JoinEUI"), versions, s);
          },
          py::arg("count"), py::kw_only(), py::arg("join_eui") = "0000000000000001",
          py::arg("mac_version") = "1.0.3", py::arg("seed") = py::none(),
          "`count` deterministic test devices (as `joincheck devices generate`); mac_version is one "
          "version or a list of versions that take turns (distinct DevEUIs): the same seed gives the same fleet "
          "on every platform; seed=None draws one. Test keys only: the generator is not "
          "cryptographic.")
      .def(
          "save",
          [](const Fleet& f, py::object path, py::object format) {
            const std::string file = path_arg(path, "path");
            // Root keys: the file is created readable by its owner only, as `joincheck devices`
            // does.
            const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            if (fd >= 0) ::close(fd);
            sim::save_fleet(f, file, format_arg(format));
          },
          py::arg("path"), py::kw_only(), py::arg("format") = py::none(),
          "Writes the fleet file (format 'json' or 'csv'; default: from the extension, else JSON). "
          "A new file is "
          "created mode 0600: it holds root keys.")
      .def(
          "to_json", [](const Fleet& f) { return sim::fleet_to_json(f); },
          "The fleet as JSON fleet-file text.")
      .def(
          "to_csv",
          [](const Fleet& f, bool provisioning) {
            return sim::fleet_to_csv(
                f, provisioning ? sim::CsvColumns::provisioning : sim::CsvColumns::all);
          },
          py::kw_only(), py::arg("provisioning") = false,
          "The fleet as CSV text; provisioning=True keeps only what a JS needs (DevEUI, JoinEUI, "
          "MACVersion, AppKey, "
          "NwkKey).")
      .def(
          "to_dict",
          [](const Fleet& f) { return json_module().attr("loads")(sim::fleet_to_json(f)); },
          "The fleet's JSON form as Python objects, {\"devices\": [...]}. It holds the root keys.")
      .def(
          "select",
          [](const Fleet& f, py::object mac_version) {
            Fleet out;
            const auto v = mac_version_arg(mac_version);
            for (const auto& d : f.devices) {
              if (d.mac_version == v) out.devices.push_back(d);
            }
            return out;
          },
          py::kw_only(), py::arg("mac_version"), "The devices of one MAC version, as a Fleet.")
      .def_property_readonly(
          "mac_versions",
          [](const Fleet& f) {
            std::map<lorawan::MacVersion, bool> seen;
            for (const auto& d : f.devices) seen[d.mac_version] = true;
            std::vector<std::string> out;
            for (const auto& [v, _] : seen) out.emplace_back(lorawan::to_string(v));
            return out;
          },
          "The MAC versions of the devices, sorted.")
      .def(
          "append", [](Fleet& f, const FleetDevice& d) { f.devices.push_back(d); },
          py::arg("device"), "Adds a device.")
      .def(
          "extend",
          [](Fleet& f, py::iterable devices) {
            for (py::handle d : devices) f.devices.push_back(py::cast<FleetDevice>(d));
          },
          py::arg("devices"), "Adds devices.")
      .def("__len__", [](const Fleet& f) { return f.devices.size(); })
      .def(
          "__iter__",
          [](const Fleet& f) { return py::make_iterator(f.devices.begin(), f.devices.end()); },
          py::keep_alive<0, 1>())
      .def(
          "__getitem__",
          [](const Fleet& f, py::object key) -> FleetDevice {
            if (py::isinstance<py::str>(key)) {
              const std::string text = py::cast<std::string>(key);
              if (const FleetDevice* d = find_device(f, text)) return *d;
              throw py::key_error("no device with DevEUI " + text + " in the fleet");
            }
            auto i = py::cast<std::ptrdiff_t>(key);
            const auto n = static_cast<std::ptrdiff_t>(f.devices.size());
            if (i < 0) i += n;
            if (i < 0 || i >= n) throw py::index_error("fleet index out of range");
            return f.devices[static_cast<std::size_t>(i)];
          },
          py::arg("key"), "A device by position, or by DevEUI (hex).")
      .def(
          "__contains__",
          [](const Fleet& f, py::object key) {
            if (py::isinstance<py::str>(key))
              return find_device(f, py::cast<std::string>(key)) != nullptr;
            if (!py::isinstance<FleetDevice>(key)) return false;
            const auto& d = py::cast<const FleetDevice&>(key);
            return std::find(f.devices.begin(), f.devices.end(), d) != f.devices.end();
          },
          py::arg("key"))
      .def("__eq__", [](const Fleet& a, const Fleet& b) { return a == b; })
      .def("__repr__", &fleet_repr);
}

}  // namespace

void init_fleet(py::module_& m) {
  m.attr("SECURE_ELEMENT_KINDS") = py::make_tuple("software", "atecc608", "atecc608-emulated");
  bind_device(m);
  bind_fleet(m);
}

}  // namespace joincheck::python
