// C++ exceptions -> Python exceptions. Every error a user can act on has a class under
// joincheck.Error, and its message is the C++ what() unchanged (it already names the file, the
// field, what was expected and what was seen, and never quotes a key).

#include <pybind11/stl.h>

#include "backend/key_envelope.hpp"
#include "conformance/profile.hpp"
#include "conformance/scenario.hpp"
#include "lorawan/error.hpp"
#include "module.hpp"
#include "sim/device/counters_file.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/join_server/config.hpp"
#include "sim/join_server/device_store.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::python {

namespace {

// Owned by the module (added as attributes), alive as long as it is.
PyObject* g_error = nullptr;
PyObject* g_key_unwrap_error = nullptr;
PyObject* g_key_envelope_error = nullptr;
PyObject* g_scenario_error = nullptr;
PyObject* g_config_error = nullptr;
PyObject* g_profile_error = nullptr;
PyObject* g_fleet_error = nullptr;
PyObject* g_state_error = nullptr;
PyObject* g_secure_element_error = nullptr;
PyObject* g_database_error = nullptr;
PyObject* g_fleet_warning = nullptr;

PyObject* new_class(py::module_& m, const char* name, const char* doc, PyObject* base) {
  const std::string qualified = std::string("joincheck.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (type == nullptr) throw py::error_already_set();
  m.add_object(name, py::handle(type));  // steals nothing: add_object increments
  return type;
}

// The exception classes, each a module attribute.
void create_exception_classes(py::module_& m) {
  g_error =
      new_class(m, "Error",
                "Base class of joincheck's errors: input that does not have the expected form "
                "(bad hex, a wrong length, a wrong MType, ...). The message names the field, what "
                "was expected and what was seen, and never quotes a key.",
                PyExc_Exception);
  g_key_unwrap_error =
      new_class(m, "KeyUnwrapError",
                "An RFC 3394 key unwrap whose integrity check failed: a wrong KEK or "
                "corrupted data.",
                g_error);
  g_key_envelope_error =
      new_class(m, "KeyEnvelopeError",
                "A TS002 KeyEnvelope that cannot be wrapped or unwrapped. `reason` is "
                "'unknown-label', 'integrity-check-failed', 'invalid-size' or "
                "'label-without-kek'.",
                g_error);
  g_scenario_error =
      new_class(m, "ScenarioError",
                "A scenario (file or dict) that cannot be used: the message names the source, "
                "the scenario, the step and the field, what was expected and what was seen.",
                g_error);
  g_config_error =
      new_class(m, "ConfigError",
                "Target settings (a target TOML file or Target(...) keywords) that cannot be "
                "used: the message names the source, the line and the key.",
                g_error);
  g_profile_error =
      new_class(m, "ProfileError",
                "A profile that cannot be used (an unknown name, or a .toml file with an "
                "error, named by line and key).",
                g_error);
  g_fleet_error =
      new_class(m, "FleetError",
                "A fleet that cannot be used. `errors` lists every problem found, each naming "
                "the device, the field, what was expected and what was seen.",
                g_error);
  g_state_error =
      new_class(m, "StateError",
                "A device state file (DevNonce/JoinNonce counters kept between runs) that "
                "cannot be read or written.",
                g_error);
  g_secure_element_error = new_class(m, "SecureElementError",
                                     "A secure element refused or failed an operation.", g_error);
  g_database_error =
      new_class(m, "DatabaseError",
                "The reference Join Server's SQLite state cannot be opened or written (for "
                "example: another reference JS holds the same database file).",
                g_error);
  g_fleet_warning =
      new_class(m, "FleetWarning",
                "A remark about a fleet that does not stop it from being used (a 1.1 device "
                "without AppKey, a NwkKey on a 1.0.x device, ...).",
                PyExc_UserWarning);
}

void raise(PyObject* type, const char* message) { PyErr_SetString(type, message); }

// The exception with extra attributes (FleetError.errors, KeyEnvelopeError.reason).
void raise_with(PyObject* type, const char* message, const char* attribute, py::object value) {
  py::object instance = py::reinterpret_borrow<py::object>(type)(message);
  instance.attr(attribute) = std::move(value);
  PyErr_SetObject(type, instance.ptr());
}

std::string_view reason_name(backend::KeyEnvelopeError::Reason reason) {
  switch (reason) {
    case backend::KeyEnvelopeError::Reason::unknown_label:
      return "unknown-label";
    case backend::KeyEnvelopeError::Reason::integrity_check_failed:
      return "integrity-check-failed";
    case backend::KeyEnvelopeError::Reason::invalid_size:
      return "invalid-size";
    case backend::KeyEnvelopeError::Reason::label_without_kek:
      return "label-without-kek";
  }
  return "?";
}

// C++ exceptions -> the classes above, with the message unchanged.
void register_translator() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const sim::FleetError& e) {
      raise_with(g_fleet_error, e.what(), "errors", py::cast(e.errors()));
    } catch (const conformance::ScenarioError& e) {
      raise(g_scenario_error, e.what());
    } catch (const conformance::ProfileError& e) {
      raise(g_profile_error, e.what());
    } catch (const sim::ConfigError& e) {
      raise(g_config_error, e.what());
    } catch (const sim::CountersFileError& e) {
      raise(g_state_error, e.what());
    } catch (const backend::KeyEnvelopeError& e) {
      raise_with(g_key_envelope_error, e.what(), "reason",
                 py::str(std::string(reason_name(e.reason()))));
    } catch (const lorawan::KeyUnwrapError& e) {
      raise(g_key_unwrap_error, e.what());
    } catch (const sim::SecureElementError& e) {
      raise(g_secure_element_error, e.what());
    } catch (const lorawan::Error& e) {
      raise(g_error, e.what());
    } catch (const sim::DeviceStoreError& e) {
      raise(g_database_error, e.what());
    }
  });
}

}  // namespace

py::handle fleet_warning() { return py::handle(g_fleet_warning); }

void init_errors(py::module_& m) {
  create_exception_classes(m);
  register_translator();
}

}  // namespace joincheck::python
