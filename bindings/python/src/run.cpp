// The run: the check catalog, scenarios, profiles, the fleet's state between runs and the
// scenario runner (what it produces, the report, is bound in report.cpp).
//
// The run releases the GIL: the harness does its network I/O without holding Python up. Between
// steps it takes the GIL back for an instant to run Python's signal handlers (Ctrl-C): a
// KeyboardInterrupt, or an exception raised by the on_check callback, stops the run cleanly
// (RunOptions::cancelled) and is raised once run_scenarios has returned.

#include <pybind11/stl.h>

#include <memory>
#include <optional>

#include "conformance/check.hpp"
#include "conformance/profile.hpp"
#include "conformance/result.hpp"
#include "conformance/runner.hpp"
#include "conformance/scenario.hpp"
#include "convert.hpp"
#include "module.hpp"
#include "report.hpp"
#include "sim/device/counters_file.hpp"

namespace joincheck::python {

namespace {

using conformance::Catalog;
using conformance::CheckInfo;
using conformance::RunReport;
using conformance::Scenario;

// The fleet's side of the state a Join Server keeps (DevNonces, RJcount1, last JoinNonce), by
// DevEUI: shared by a Harness and its runs so that successive runs continue the DevNonces.
struct State {
  std::shared_ptr<sim::DeviceCountersMap> counters = std::make_shared<sim::DeviceCountersMap>();
};

// --- checks and the catalog ----------------------------------------------------------------------

std::string check_repr(const CheckInfo& c) {
  return "Check(id=" + py_quote(c.id) + ", level='" + std::string(conformance::to_string(c.level)) +
         "', title=" + py_quote(c.title) + ", spec=" + py_quote(c.spec) + ")";
}

void bind_check_info(py::module_& m) {
  py::class_<CheckInfo>(
      m, "Check",
      "A requirement joincheck judges: a stable id '<group>/<name>', a level ('MUST' fails, "
      "'SHOULD' and 'INFO' warn), a one-line title and the specification reference.")
      .def(py::init(
               [](std::string id, const std::string& level, std::string title, std::string spec) {
                 CheckInfo c;
                 if (!conformance::is_valid_check_id(id)) {
                   throw py::value_error(
                       "id: expected \"group/name\" (lower-case letters, digits, '.', '-'), got " +
                       py_quote(id));
                 }
                 const auto l = conformance::parse_level(level);
                 if (!l)
                   throw py::value_error("level: expected \"MUST\", \"SHOULD\" or \"INFO\", got " +
                                         py_quote(level));
                 c.id = std::move(id);
                 c.level = *l;
                 c.title = std::move(title);
                 c.spec = std::move(spec);
                 return c;
               }),
           py::arg("id"), py::kw_only(), py::arg("level") = "MUST", py::arg("title") = "",
           py::arg("spec") = "",
           "A check of your own (custom scenarios declare theirs in the scenario instead).")
      .def_readonly("id", &CheckInfo::id, "'group/name'.")
      .def_property_readonly(
          "group", [](const CheckInfo& c) { return std::string(c.group()); },
          "The part before '/'.")
      .def_property_readonly(
          "level", [](const CheckInfo& c) { return std::string(conformance::to_string(c.level)); },
          "'MUST', 'SHOULD' or 'INFO'.")
      .def_readonly("title", &CheckInfo::title, "What a conformant target does, in one line.")
      .def_readonly("spec", &CheckInfo::spec, "The specification reference.")
      .def("__eq__", [](const CheckInfo& a, const CheckInfo& b) { return a == b; })
      .def("__hash__", [](const CheckInfo& c) { return py::hash(py::str(c.id)); })
      .def("__repr__", &check_repr);
}

void bind_catalog(py::module_& m) {
  py::class_<Catalog>(
      m, "Catalog",
      "The checks of a run: the built-in ones plus those custom scenarios declare. Iterate it, or "
      "look a check up by id.")
      .def(py::init([] { return Catalog::builtin(); }), "A copy of the built-in catalog.")
      .def_static(
          "builtin", [] { return Catalog::builtin(); }, "A copy of the built-in catalog.")
      .def("add", &Catalog::add, py::arg("check"),
           "Adds a check. ValueError when the id is malformed or taken by a different check.")
      .def(
          "find",
          [](const Catalog& c, const std::string& id) -> py::object {
            const CheckInfo* info = c.find(id);
            return info ? py::cast(*info) : py::none();
          },
          py::arg("id"), "The check with this id, or None.")
      .def("select", &Catalog::select, py::arg("selector"),
           "The ids a selector names: an exact id, or a group ('devnonce' or 'devnonce/'); [] when "
           "none.")
      .def_property_readonly("checks", &Catalog::checks,
                             "Every check, in the stable catalog order.")
      .def_property_readonly(
          "groups",
          [](const Catalog& c) {
            std::vector<std::string> out;
            for (const auto& ch : c.checks()) {
              if (out.empty() || out.back() != ch.group()) out.emplace_back(ch.group());
            }
            return out;
          },
          "The groups, in catalog order.")
      .def("__len__", [](const Catalog& c) { return c.checks().size(); })
      .def(
          "__iter__",
          [](const Catalog& c) { return py::make_iterator(c.checks().begin(), c.checks().end()); },
          py::keep_alive<0, 1>())
      .def("__contains__",
           [](const Catalog& c, const std::string& id) { return c.find(id) != nullptr; })
      .def("__getitem__",
           [](const Catalog& c, const std::string& id) {
             const CheckInfo* info = c.find(id);
             if (info == nullptr)
               throw py::key_error("no check " + py_quote(id) + " (joincheck.checks() lists them)");
             return *info;
           })
      .def("__repr__", [](const Catalog& c) {
        return "Catalog(" + std::to_string(c.checks().size()) + " checks)";
      });
}

// --- scenarios -----------------------------------------------------------------------------------

void bind_scenario(py::module_& m) {
  py::class_<Scenario>(
      m, "Scenario",
      "A parsed scenario: an id (a catalog check, or a custom one it declares), the devices it "
      "needs and its steps. Build them from dicts or files with parse_scenarios() and "
      "load_scenarios(); builtin_suite() gives the built-in ones.")
      .def_readonly("id", &Scenario::id, "A catalog check id, or the custom check it declares.")
      .def_readonly("title", &Scenario::title, "The custom check's title ('' for a catalog check).")
      .def_readonly("spec", &Scenario::spec, "The custom check's specification reference.")
      .def_property_readonly(
          "level", [](const Scenario& s) { return std::string(conformance::to_string(s.level)); },
          "The custom check's level.")
      .def_readonly("custom", &Scenario::custom, "Whether it declares a check of its own.")
      .def_readonly("source", &Scenario::source, "The file it came from, or '<python>'.")
      .def_property_readonly(
          "requires",
          [](const Scenario& s) {
            std::vector<std::string> out;
            for (auto c : s.requires_) out.emplace_back(conformance::to_string(c));
            return out;
          },
          "The target capabilities it needs.")
      .def_property_readonly(
          "devices",
          [](const Scenario& s) {
            py::dict out;
            for (const auto& d : s.devices) {
              py::dict need;
              need["MACVersion"] = d.any_version ? std::string("any") : std::string(lorawan::to_string(d.mac_version));
              need["unknown"] = d.unknown;
              out[py::str(d.name)] = need;
            }
            return out;
          },
          "{name: {'MACVersion': ..., 'unknown': bool}}.")
      .def_property_readonly(
          "steps",
          [](const Scenario& s) {
            py::list out;
            for (const auto& st : s.steps) {
              py::dict d;
              d["send"] = std::string(conformance::to_string(st.kind));
              if (!st.device.empty()) d["device"] = st.device;
              d["check"] = st.check;
              d["expect"] = st.expect.has_value();
              out.append(d);
            }
            return out;
          },
          "A summary of each step: what it sends, with which device, which check its expectation "
          "judges.")
      .def_property_readonly("check", &Scenario::check_info,
                             "The check the scenario declares or judges.")
      .def("__repr__", [](const Scenario& s) {
        return "Scenario(id=" + py_quote(s.id) + ", steps=" + std::to_string(s.steps.size()) +
               ", source=" + py_quote(s.source) + ")";
      });
}

void def_scenario_functions(py::module_& m) {
  m.def(
      "_parse_scenarios",
      [](const std::string& text, const std::string& source, const Catalog& catalog) {
        return conformance::parse_scenarios(text, source, catalog);
      },
      py::arg("text"), py::arg("source"), py::arg("catalog"));
  m.def(
      "_load_scenarios",
      [](py::object path, const Catalog& catalog) {
        return conformance::load_scenarios(path_arg(path, "path"), catalog);
      },
      py::arg("path"), py::arg("catalog"));
  m.def(
      "builtin_suite", [] { return conformance::builtin_suite(); },
      "The built-in suite's scenarios (scenarios/suite/*.json, compiled in), in file name order.");
}

// --- profiles ------------------------------------------------------------------------------------

void bind_profile(py::module_& m) {
  py::class_<conformance::Profile>(
      m, "Profile",
      "The documented deviations of a real Join Server: a check (or group) it covers "
      "becomes 'warn' (or 'skip') with the reason instead of failing. 'strict' has none.")
      .def_readonly("name", &conformance::Profile::name,
                    "'strict', 'brocaar', ... or the file's name.")
      .def_readonly("description", &conformance::Profile::description,
                    "Which Join Server it describes.")
      .def_readonly("source", &conformance::Profile::source, "Where its deviations are documented.")
      .def_property_readonly(
          "known",
          [](const conformance::Profile& p) {
            py::list out;
            for (const auto& k : p.known) {
              py::dict d;
              d["check"] = k.check;
              d["verdict"] = verdict_of(k.verdict);
              d["reason"] = k.reason;
              out.append(d);
            }
            return out;
          },
          "The known deviations: [{'check', 'verdict', 'reason'}].")
      .def("__repr__", [](const conformance::Profile& p) {
        return "Profile(name=" + py_quote(p.name) + ", known=" + std::to_string(p.known.size()) +
               ")";
      });
}

void def_profile_functions(py::module_& m) {
  m.def(
      "resolve_profile",
      [](py::object name_or_file, py::object catalog) {
        const Catalog& c =
            catalog.is_none() ? Catalog::builtin() : py::cast<const Catalog&>(catalog);
        return conformance::resolve_profile(path_arg(name_or_file, "profile"), c);
      },
      py::arg("name_or_file"), py::arg("catalog") = py::none(),
      "A built-in profile by name ('strict', 'brocaar', 'tts', 'simple-join-server', 'lorawan-js') "
      "or a .toml file. "
      "Raises joincheck.ProfileError.");
  m.def("profiles", &conformance::builtin_profile_names, "The built-in profile names.");
}

// --- state ---------------------------------------------------------------------------------------

py::dict counters_dict(const sim::SimDevice::Counters& c) {
  py::dict d;
  d["DevNonceNext"] = c.next_dev_nonce;
  d["RecentDevNonces"] = c.recent_dev_nonces;
  d["RJcount1Next"] = c.next_rj_count1;
  d["LastJoinNonce"] = c.last_join_nonce ? py::object(py::int_(*c.last_join_nonce)) : py::none();
  return d;
}

std::string eui_key(py::handle dev_eui) { return eui_arg(dev_eui, "DevEUI").hex(); }

void bind_state(py::module_& m) {
  py::class_<State>(m, "State",
                    "The fleet's side of what a Join Server remembers (DevNonce counters, recent "
                    "random DevNonces, "
                    "RJcount1, the last JoinNonce; never keys), by DevEUI. Runs sharing a State "
                    "continue where the "
                    "last one stopped, so a JS that remembers never sees a replay by accident. The "
                    "same JSON file as "
                    "`joincheck run --state`.")
      .def(py::init<>(), "An empty state: every device starts afresh.")
      .def_static(
          "load",
          [](py::object path) {
            State s;
            *s.counters = sim::load_device_counters(path_arg(path, "path"));
            return s;
          },
          py::arg("path"),
          "Reads a state file (an absent file is an empty state). Raises joincheck.StateError.")
      .def(
          "save",
          [](const State& s, py::object path) {
            sim::save_device_counters(path_arg(path, "path"), *s.counters);
          },
          py::arg("path"), "Writes the state file atomically. Raises joincheck.StateError.")
      .def(
          "clear", [](State& s) { s.counters->clear(); }, "Forgets every device.")
      .def("__len__", [](const State& s) { return s.counters->size(); })
      .def("__contains__",
           [](const State& s, py::object dev_eui) {
             return s.counters->count(eui_key(dev_eui)) != 0;
           })
      .def(
          "__getitem__",
          [](const State& s, py::object dev_eui) {
            const auto it = s.counters->find(eui_key(dev_eui));
            if (it == s.counters->end())
              throw py::key_error("no state for DevEUI " + eui_key(dev_eui));
            return counters_dict(it->second);
          },
          "{'DevNonceNext', 'RecentDevNonces', 'RJcount1Next', 'LastJoinNonce'} of a device.")
      .def("__delitem__",
           [](State& s, py::object dev_eui) {
             if (s.counters->erase(eui_key(dev_eui)) == 0)
               throw py::key_error("no state for DevEUI " + eui_key(dev_eui));
           })
      .def("__iter__",
           [](const State& s) {
             py::list keys;
             for (const auto& [k, v] : *s.counters) keys.append(k);
             return py::iter(keys);
           })
      .def("__repr__", [](const State& s) {
        return "State(" + std::to_string(s.counters->size()) + " devices)";
      });
}

// --- the runner ----------------------------------------------------------------------------------

std::shared_ptr<RunReport> run(const conformance::TargetConfig& target, const sim::Fleet& fleet,
                               std::vector<Scenario> scenarios, const Catalog& catalog,
                               const conformance::Profile& profile, std::vector<std::string> only,
                               std::vector<std::string> skip, bool reveal_keys, std::uint64_t seed,
                               std::string target_label, py::object on_check, py::object state,
                               py::object via_gateway, std::size_t gateways) {
  conformance::RunOptions o;
  o.target = target;
  o.fleet = fleet;
  o.scenarios = std::move(scenarios);
  o.catalog = catalog;
  o.profile = profile;
  o.only = std::move(only);
  o.skip = std::move(skip);
  o.reveal_keys = reveal_keys;
  o.seed = seed;
  o.target_label = std::move(target_label);
  if (!via_gateway.is_none()) {
    // A region name ("EU868", "US915"): joins through a simulated gateway and joincheck's NS.
    const std::string text = py::cast<std::string>(via_gateway);
    const auto region = lorawan::parse_region(text);
    if (!region) throw py::value_error("via_gateway: expected True, \"EU868\" or \"US915\", got " + py_quote(text));
    if (gateways < 1 || gateways > 64) throw py::value_error("gateways: expected 1 to 64, got " + std::to_string(gateways));
    conformance::RunOptions::ViaGateway via;
    via.region = *region;
    via.gateways = gateways;
    o.via_gateway = via;
  }
  std::shared_ptr<sim::DeviceCountersMap> counters;
  if (!state.is_none()) {
    counters = py::cast<const State&>(state).counters;
    o.device_counters = counters.get();
  }
  (void)conformance::selected_checks(
      o);  // a selector naming nothing: ValueError, before anything runs

  // A Python exception raised while the run went on (Ctrl-C, or in on_check): raised at the end.
  std::optional<py::error_already_set> pending;
  o.cancelled = [&pending] {
    py::gil_scoped_acquire gil;
    if (pending) return true;
    if (PyErr_CheckSignals() != 0) {
      pending.emplace();
      return true;
    }
    return false;
  };
  if (!on_check.is_none()) {
    o.on_check = [&pending, &on_check](const conformance::CheckResult& r) {
      py::gil_scoped_acquire gil;
      if (pending) return;
      try {
        on_check(PyCheckResult{r, nullptr});
      } catch (py::error_already_set& e) {
        pending.emplace(std::move(e));
      }
    };
  }
  auto report = std::make_shared<RunReport>();
  {
    py::gil_scoped_release release;
    *report = conformance::run_scenarios(o);
  }
  if (pending) {
    // The exception (KeyboardInterrupt, or on_check's) carries the partial report: its setup_error
    // is "interrupted", and the checks judged before the interruption keep their verdicts.
    pending->restore();
    pending.reset();
    py::error_already_set raised;
    try {
      raised.value().attr("report") = py::cast(report);
    } catch (const py::error_already_set&) {
      // An exception object without attributes (rare): raised without the report.
    }
    throw raised;
  }
  return report;
}

}  // namespace

void init_run(py::module_& m) {
  bind_check_info(m);
  bind_catalog(m);
  bind_scenario(m);
  def_scenario_functions(m);
  bind_profile(m);
  def_profile_functions(m);
  bind_state(m);
}

// Registered after init_report: _run's signature names the Report it returns.
void init_runner(py::module_& m) {
  m.def(
      "_run",
      [](const conformance::TargetConfig& target, const sim::Fleet& fleet,
         std::vector<Scenario> scenarios, const Catalog& catalog,
         const conformance::Profile& profile, std::vector<std::string> only,
         std::vector<std::string> skip, bool reveal_keys, std::uint64_t seed,
         std::string target_label, py::object on_check, py::object state, py::object via_gateway,
         std::size_t gateways) {
        return run(target, fleet, std::move(scenarios), catalog, profile, std::move(only),
                   std::move(skip), reveal_keys, seed, std::move(target_label), on_check, state,
                   via_gateway, gateways);
      },
      py::arg("target"), py::arg("fleet"), py::arg("scenarios"), py::arg("catalog"),
      py::arg("profile"), py::arg("only"), py::arg("skip"), py::arg("reveal_keys"), py::arg("seed"),
      py::arg("target_label"), py::arg("on_check"), py::arg("state"),
      py::arg("via_gateway") = py::none(), py::arg("gateways") = 1,
      "The scenario runner (use joincheck.run() or Harness.run()). Releases the GIL while it runs; "
      "Ctrl-C stops it "
      "between steps and raises KeyboardInterrupt, whose `report` attribute is the partial "
      "Report.");
}

}  // namespace joincheck::python
