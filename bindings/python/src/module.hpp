#pragma once
// The parts of the _joincheck extension module, one per topic; module.cpp calls them in order.

#include <pybind11/pybind11.h>

namespace joincheck::python {

namespace py = pybind11;

void init_errors(py::module_& m);   // exception classes and the C++ -> Python translation
void init_lorawan(py::module_& m);  // frames, keys, key wrap: lorawan/ and backend/key_envelope
void init_fleet(py::module_& m);    // Device, Fleet: sim/fleet
void init_target(
    py::module_& m);            // Target, ReferenceJS, faults: conformance/target, embedded_target
void init_run(py::module_& m);  // catalog, scenarios, profiles, state
void init_report(py::module_& m);  // the run's report: results, exchanges, join-accepts
void init_runner(py::module_& m);  // _run, the scenario runner (after the Report it returns)

// The Python exception class that a warning category or error is raised with (init_errors).
py::handle fleet_warning();

}  // namespace joincheck::python
