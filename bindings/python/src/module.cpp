// The _joincheck extension module: the C++ harness for Python. The public API is the `joincheck`
// package (bindings/python/joincheck/), which re-exports what is defined here and adds the
// pure-Python conveniences (Harness, the pytest plugin).

#include "module.hpp"

PYBIND11_MODULE(_joincheck, m) {
  m.doc() =
      "The C++ core of joincheck, a LoRaWAN Join Server conformance harness. Import the "
      "`joincheck` package instead: it re-exports everything here.";
  joincheck::python::init_errors(m);
  joincheck::python::init_lorawan(m);
  joincheck::python::init_fleet(m);
  joincheck::python::init_target(m);
  joincheck::python::init_run(m);
  joincheck::python::init_report(m);
  joincheck::python::init_runner(m);
}
