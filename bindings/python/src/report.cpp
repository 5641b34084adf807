// The report a run produces: Report (conformance::RunReport), its CheckResults, the Exchanges of
// its trace with the TraceJoinAccepts the device decrypted, and its JUnit/JSON/HTML writers.

#include "report.hpp"

#include <pybind11/stl.h>

#include <sstream>

#include "convert.hpp"
#include "module.hpp"
#include "reports/console.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/junit.hpp"

namespace joincheck::python {

namespace {

using conformance::RunReport;
using conformance::TraceExchange;

// An exchange of a report's trace.
struct PyExchange {
  ReportPtr report;
  std::size_t index = 0;
  const TraceExchange& get() const { return report->exchanges.at(index); }
};

std::string cut(const std::string& text, std::size_t n) {
  if (text.size() <= n) return text;
  return text.substr(0, n) + "...";
}

std::string check_line(const conformance::CheckResult& r) {
  std::ostringstream out;
  reports::ConsoleReporter console(out, false);
  console.check_line(r);
  std::string s = out.str();
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string result_text(const PyCheckResult& r) {
  std::string s = check_line(r.result) + "\n";
  if (r.report) return s + reports::result_detail_text(r.result, *r.report, "  ");
  conformance::CheckResult alone = r.result;
  alone.trace.clear();  // a live result: its exchanges are in the report to come
  return s + reports::result_detail_text(alone, RunReport{}, "  ");
}

void bind_trace_join_accept(py::module_& m) {
  py::class_<conformance::TraceJoinAccept>(
      m, "TraceJoinAccept",
      "The join-accept of an answer as the device decrypted and checked it "
      "(no keys): JoinNonce, NetID, DevAddr, DLSettings, RxDelay, CFList, MIC, "
      "and whether the device took it.")
      .def_readonly("join_nonce", &conformance::TraceJoinAccept::join_nonce, "JoinNonce as an int.")
      .def_readonly("net_id", &conformance::TraceJoinAccept::net_id, "NetID, hex.")
      .def_readonly("dev_addr", &conformance::TraceJoinAccept::dev_addr, "DevAddr, hex, MSB first.")
      .def_readonly("dl_settings", &conformance::TraceJoinAccept::dl_settings,
                    "The DLSettings byte as an int.")
      .def_property_readonly(
          "opt_neg",
          [](const conformance::TraceJoinAccept& a) { return (a.dl_settings & 0x80) != 0; },
          "DLSettings bit 7.")
      .def_readonly("rx_delay", &conformance::TraceJoinAccept::rx_delay, "RxDelay.")
      .def_property_readonly(
          "cf_list",
          [](const conformance::TraceJoinAccept& a) -> py::object {
            if (a.cf_list.empty()) return py::none();
            return to_bytes(lorawan::from_hex(a.cf_list, "CFList"));
          },
          "The CFList bytes, or None.")
      .def_property_readonly(
          "mic",
          [](const conformance::TraceJoinAccept& a) {
            return to_bytes(lorawan::from_hex(a.mic, "MIC"));
          },
          "The join-accept's MIC bytes.")
      .def_readonly("mode", &conformance::TraceJoinAccept::mode,
                    "The formulas it was checked with.")
      .def_readonly("accepted", &conformance::TraceJoinAccept::accepted,
                    "Whether the device took it.")
      .def_readonly("refusal", &conformance::TraceJoinAccept::refusal,
                    "Why the device refused it; '' when accepted.")
      .def("__repr__", [](const conformance::TraceJoinAccept& a) {
        const std::uint8_t dl = a.dl_settings;
        return "TraceJoinAccept(join_nonce=" + std::to_string(a.join_nonce) + ", net_id='" +
               a.net_id + "', dev_addr='" + a.dev_addr + "', dl_settings=0x" +
               lorawan::to_hex(lorawan::ByteSpan(&dl, 1)) +
               ", rx_delay=" + std::to_string(a.rx_delay) +
               ", cf_list=" + (a.cf_list.empty() ? "None" : "'" + a.cf_list + "'") + ", mic='" +
               a.mic + "', accepted=" + (a.accepted ? "True" : "False") +
               (a.refusal.empty() ? "" : ", refusal=" + py_quote(a.refusal)) + ")";
      });
}

py::object parse_json_or_none(const std::string& text) {
  if (text.empty()) return py::none();
  try {
    return py::module_::import("json").attr("loads")(text);
  } catch (const py::error_already_set&) {
    return py::none();
  }
}

void bind_exchange(py::module_& m) {
  py::class_<PyExchange>(
      m, "Exchange",
      "One HTTP exchange of a run, as it happened: request, answer (or transport error), timing, "
      "what the harness made of it (notes) and the decrypted join-accept. Keys in bodies and "
      "notes are redacted unless the run was asked to reveal them. str() is the trace text.")
      .def_property_readonly(
          "index", [](const PyExchange& e) { return e.index; }, "Its position in report.exchanges.")
      .def_property_readonly(
          "label", [](const PyExchange& e) { return e.get().label; },
          "'<scenario> step N: <what was sent>'.")
      .def_property_readonly(
          "url", [](const PyExchange& e) { return e.get().url; }, "Where the request was POSTed.")
      .def_property_readonly(
          "request_headers", [](const PyExchange& e) { return e.get().request_headers; },
          "(name, value) pairs as sent (Authorization redacted).")
      .def_property_readonly(
          "request_body", [](const PyExchange& e) { return e.get().request_body; },
          "The request body as sent.")
      .def_property_readonly(
          "request", [](const PyExchange& e) { return parse_json_or_none(e.get().request_body); },
          "The request body parsed as JSON, or None when it is not JSON.")
      .def_property_readonly(
          "http_status", [](const PyExchange& e) { return e.get().http_status; },
          "0 when no HTTP response came.")
      .def_property_readonly(
          "http_reason", [](const PyExchange& e) { return e.get().http_reason; },
          "The HTTP reason phrase.")
      .def_property_readonly(
          "response_headers", [](const PyExchange& e) { return e.get().response_headers; },
          "(name, value) pairs of the HTTP response, in order.")
      .def_property_readonly(
          "response_body", [](const PyExchange& e) { return e.get().response_body; },
          "The HTTP response body (keys redacted unless revealed).")
      .def_property_readonly(
          "async_answer_body", [](const PyExchange& e) { return e.get().async_answer_body; },
          "Async mode: the answer the target POSTed back.")
      .def_property_readonly(
          "answer",
          [](const PyExchange& e) {
            const TraceExchange& t = e.get();
            return parse_json_or_none(t.async_answer_body.empty() ? t.response_body
                                                                  : t.async_answer_body);
          },
          "The answer (async answer, else response body) parsed as JSON, or None.")
      .def_property_readonly(
          "result_code",
          [](const PyExchange& e) -> py::object {
            const TraceExchange& t = e.get();
            py::object a = parse_json_or_none(t.async_answer_body.empty() ? t.response_body
                                                                          : t.async_answer_body);
            if (!py::isinstance<py::dict>(a)) return py::none();
            py::dict d = py::reinterpret_borrow<py::dict>(a);
            if (!d.contains("Result")) return py::none();
            py::object r = d["Result"];
            if (py::isinstance<py::dict>(r)) {
              py::dict result = py::reinterpret_borrow<py::dict>(r);
              if (result.contains("ResultCode")) return result["ResultCode"];
            }
            return py::none();
          },
          "The answer's Result.ResultCode ('Success', 'MICFailed', ...), or None.")
      .def_property_readonly(
          "transport_error", [](const PyExchange& e) { return e.get().transport_error; },
          "'' when the transport worked.")
      .def_property_readonly(
          "elapsed", [](const PyExchange& e) { return e.get().elapsed_ms / 1000.0; },
          "Seconds until the answer (or the error).")
      .def_property_readonly(
          "notes", [](const PyExchange& e) { return e.get().notes; },
          "What the harness made of the answer, one line each.")
      .def_property_readonly(
          "join_accept", [](const PyExchange& e) { return e.get().join_accept; },
          "The TraceJoinAccept the device decrypted, or None.")
      .def("__str__", [](const PyExchange& e) { return reports::exchange_text(e.get(), e.index); })
      .def("__repr__", [](const PyExchange& e) {
        const TraceExchange& t = e.get();
        std::string s =
            "Exchange(index=" + std::to_string(e.index) + ", label=" + py_quote(t.label);
        if (t.http_status != 0) s += ", http_status=" + std::to_string(t.http_status);
        if (!t.transport_error.empty())
          s += ", transport_error=" + py_quote(cut(t.transport_error, 80));
        return s + ")";
      });
}

void bind_check_result(py::module_& m) {
  py::class_<PyCheckResult>(
      m, "CheckResult",
      "A check's verdict over a run: 'pass', 'fail' (a MUST violated), 'warn' (a SHOULD or INFO "
      "violated, or a deviation the profile knows), 'skip' (not applicable, with the reason) or "
      "'error' (the harness could not judge), with expected vs actual and the trace. str() is "
      "the console's text of it.")
      .def_property_readonly(
          "check", [](const PyCheckResult& r) { return r.result.check; }, "The Check.")
      .def_property_readonly(
          "id", [](const PyCheckResult& r) { return r.result.check.id; },
          "The check id, 'group/name'.")
      .def_property_readonly(
          "group", [](const PyCheckResult& r) { return std::string(r.result.check.group()); },
          "The check's group (the JUnit classname).")
      .def_property_readonly(
          "level",
          [](const PyCheckResult& r) {
            return std::string(conformance::to_string(r.result.check.level));
          },
          "'MUST', 'SHOULD' or 'INFO'.")
      .def_property_readonly(
          "title", [](const PyCheckResult& r) { return r.result.check.title; },
          "What a conformant target does, in one line.")
      .def_property_readonly(
          "spec", [](const PyCheckResult& r) { return r.result.check.spec; },
          "The specification reference.")
      .def_property_readonly(
          "verdict", [](const PyCheckResult& r) { return verdict_of(r.result.verdict); },
          "'pass', 'fail', 'warn', 'skip' or 'error'.")
      .def_property_readonly(
          "ok",
          [](const PyCheckResult& r) {
            return r.result.verdict != conformance::Verdict::fail &&
                   r.result.verdict != conformance::Verdict::error;
          },
          "True unless the verdict is 'fail' or 'error'.")
      .def_property_readonly(
          "expected", [](const PyCheckResult& r) { return r.result.expected; },
          "What the deciding evaluation expected.")
      .def_property_readonly(
          "actual", [](const PyCheckResult& r) { return r.result.actual; },
          "What the deciding evaluation saw.")
      .def_property_readonly(
          "reason", [](const PyCheckResult& r) { return r.result.reason; },
          "Why it was skipped, warned or errored.")
      .def_property_readonly(
          "scenario", [](const PyCheckResult& r) { return r.result.scenario; },
          "The scenario and step of the deciding evaluation.")
      .def_property_readonly(
          "known_deviation", [](const PyCheckResult& r) { return r.result.known_deviation; },
          "The profile's reason when it turned a deviation into a warning.")
      .def_property_readonly(
          "evaluations", [](const PyCheckResult& r) { return r.result.evaluations; },
          "How many times it was judged (0: it never applied).")
      .def_property_readonly(
          "failed_evaluations", [](const PyCheckResult& r) { return r.result.failed_evaluations; },
          "How many of the evaluations failed or errored.")
      .def_property_readonly(
          "trace",
          [](const PyCheckResult& r) {
            std::vector<PyExchange> out;
            if (r.report) {
              for (std::size_t i : r.result.trace) out.push_back(PyExchange{r.report, i});
            }
            return out;
          },
          "The exchanges behind the verdict, the deciding one first ([] for a live on_check "
          "result).")
      .def(
          "line", [](const PyCheckResult& r) { return check_line(r.result); },
          "The console's one-line form: 'PASS  <id>  <title>'.")
      .def("__str__", &result_text)
      .def("__repr__", [](const PyCheckResult& r) {
        std::string s = "CheckResult(id=" + py_quote(r.result.check.id) + ", level='" +
                        std::string(conformance::to_string(r.result.check.level)) + "', verdict='" +
                        verdict_of(r.result.verdict) + "'";
        if (r.result.verdict == conformance::Verdict::fail ||
            r.result.verdict == conformance::Verdict::warn) {
          s += ", actual=" + py_quote(cut(r.result.actual, 80));
        }
        if (!r.result.reason.empty()) s += ", reason=" + py_quote(cut(r.result.reason, 80));
        return s + ")";
      });
}

// Report files: an OSError naming the file when it cannot be written.
template <class F>
void write_file(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    PyErr_SetString(PyExc_OSError, e.what());
    throw py::error_already_set();
  }
}

std::string counts_text(const conformance::RunCounts& c) {
  return std::to_string(c.pass) + " pass, " + std::to_string(c.fail) + " fail, " +
         std::to_string(c.warn) + " warn, " + std::to_string(c.skip) + " skip, " +
         std::to_string(c.error) + " error";
}

py::dict counts_dict(const conformance::RunCounts& c) {
  py::dict d;
  d["pass"] = c.pass;
  d["fail"] = c.fail;
  d["warn"] = c.warn;
  d["skip"] = c.skip;
  d["error"] = c.error;
  d["total"] = c.total();
  return d;
}

void bind_run_report(py::module_& m) {
  py::class_<RunReport, std::shared_ptr<RunReport>>(
      m, "Report",
      "What a run produced: a CheckResult per selected check (catalog order) and every exchange. "
      "Index it by "
      "check id; write it as JUnit or JSON. Keys appear nowhere in it unless the run asked to "
      "reveal them.")
      .def_readonly("target", &RunReport::target, "The URL, or 'embedded reference JS (URL)'.")
      .def_readonly("profile", &RunReport::profile, "The profile's name.")
      .def_readonly("protocol_version", &RunReport::protocol_version,
                    "The TS002 ProtocolVersion sent.")
      .def_readonly("mac_versions", &RunReport::mac_versions, "MAC versions of the devices used.")
      .def_readonly("started_at", &RunReport::started_at, "ISO 8601, UTC.")
      .def_property_readonly(
          "duration",
          [](const RunReport& r) { return static_cast<double>(r.duration.count()) / 1000.0; },
          "Seconds.")
      .def_readonly("stopped_early", &RunReport::stopped_early,
                    "Why the run stopped before its end although the target answered (it missed the "
                    "deadline again and again); '' when it ran to the end.")
      .def_readonly("setup_error", &RunReport::setup_error,
                    "Why the target could not be reached or set up ('interrupted' for a cancelled "
                    "run); '' when none.")
      .def_property_readonly(
          "results",
          [](const std::shared_ptr<RunReport>& r) {
            std::vector<PyCheckResult> out;
            for (const auto& c : r->results) out.push_back(PyCheckResult{c, r});
            return out;
          },
          "Every selected check's CheckResult, in catalog order.")
      .def_property_readonly(
          "exchanges",
          [](const std::shared_ptr<RunReport>& r) {
            std::vector<PyExchange> out;
            for (std::size_t i = 0; i < r->exchanges.size(); ++i) out.push_back(PyExchange{r, i});
            return out;
          },
          "Every Exchange of the run, in order.")
      .def_property_readonly(
          "counts", [](const RunReport& r) { return counts_dict(r.counts()); },
          "{'pass', 'fail', 'warn', 'skip', 'error', 'total'}.")
      .def("exit_code", &RunReport::exit_code, py::kw_only(), py::arg("strict") = false,
           "The CLI's exit code: 0 every MUST passes (warnings too unless strict), 1 a check "
           "failed, 3 the target "
           "could not be reached or set up.")
      .def(
          "passed",
          [](const RunReport& r, bool strict) {
            return r.exit_code(strict) == conformance::exit_ok;
          },
          py::kw_only(), py::arg("strict") = false, "Whether exit_code(strict=strict) is 0.")
      .def_property_readonly(
          "failures",
          [](const std::shared_ptr<RunReport>& r) {
            std::vector<PyCheckResult> out;
            for (const auto& c : r->results) {
              if (c.verdict == conformance::Verdict::fail ||
                  c.verdict == conformance::Verdict::error)
                out.push_back({c, r});
            }
            return out;
          },
          "The results whose verdict is 'fail' or 'error'.")
      .def_property_readonly(
          "warnings",
          [](const std::shared_ptr<RunReport>& r) {
            std::vector<PyCheckResult> out;
            for (const auto& c : r->results) {
              if (c.verdict == conformance::Verdict::warn) out.push_back({c, r});
            }
            return out;
          },
          "The results whose verdict is 'warn'.")
      .def(
          "get",
          [](const std::shared_ptr<RunReport>& r, const std::string& id,
             py::object fallback) -> py::object {
            for (const auto& c : r->results) {
              if (c.check.id == id) return py::cast(PyCheckResult{c, r});
            }
            return fallback;
          },
          py::arg("id"), py::arg("default") = py::none(),
          "The CheckResult of a check id, or `default`.")
      .def("__getitem__",
           [](const std::shared_ptr<RunReport>& r, const std::string& id) {
             for (const auto& c : r->results) {
               if (c.check.id == id) return PyCheckResult{c, r};
             }
             throw py::key_error("no result for " + py_quote(id) +
                                 " in this report (not a check, or not selected)");
           })
      .def("__contains__",
           [](const RunReport& r, const std::string& id) {
             return std::any_of(r.results.begin(), r.results.end(),
                                [&](const auto& c) { return c.check.id == id; });
           })
      .def("__len__", [](const RunReport& r) { return r.results.size(); })
      .def("__iter__",
           [](const std::shared_ptr<RunReport>& r) {
             py::list out;
             for (const auto& c : r->results) out.append(py::cast(PyCheckResult{c, r}));
             return py::iter(out);
           })
      .def(
          "write_junit",
          [](const RunReport& r, py::object path) {
            write_file([&] { reports::write_junit(r, path_arg(path, "path")); });
          },
          py::arg("path"),
          "Writes the JUnit XML report (one testcase per check: name the id, classname the group), "
          "creating missing "
          "folders. Raises OSError naming the file when it cannot.")
      .def(
          "write_json",
          [](const RunReport& r, py::object path) {
            write_file([&] { reports::write_json_report(r, path_arg(path, "path")); });
          },
          py::arg("path"),
          "Writes the JSON report (as `joincheck run --json`). Raises OSError naming the file when "
          "it cannot.")
      .def(
          "write_html",
          [](const RunReport& r, py::object path) {
            write_file([&] { reports::write_html_report(path_arg(path, "path"), reports::html_report(r, "run")); });
          },
          py::arg("path"),
          "Writes the HTML report (as `joincheck run --html`): one self-contained page, failures first "
          "with their exchanges. Raises OSError naming the file when it cannot.")
      .def("junit_xml", &reports::junit_xml, "The JUnit XML document as text.")
      .def(
          "json_text", [](const RunReport& r) { return reports::json_report_text(r); }, "The JSON report as text.")
      .def(
          "to_json",
          [](const RunReport& r) {
            return py::module_::import("json").attr("loads")(reports::json_report_text(r));
          },
          "The JSON report as Python objects.")
      .def(
          "assert_passed",
          [](const std::shared_ptr<RunReport>& r, bool strict) {
            if (r->exit_code(strict) == conformance::exit_ok) return;
            std::string text = "joincheck: " + counts_text(r->counts()) + " against " + r->target;
            if (!r->setup_error.empty()) text += "\nsetup error: " + r->setup_error;
            if (!r->stopped_early.empty()) text += "\nstopped early: " + r->stopped_early;
            if (r->nothing_judged()) {
              text += r->results.empty() ? "\nnothing was judged: no check was selected"
                                         : "\nnothing was judged: every selected check was skipped";
            }
            for (const auto& c : r->results) {
              const bool bad = c.verdict == conformance::Verdict::fail ||
                               c.verdict == conformance::Verdict::error ||
                               (strict && c.verdict == conformance::Verdict::warn);
              if (bad) text += "\n\n" + result_text(PyCheckResult{c, r});
            }
            PyErr_SetString(PyExc_AssertionError, text.c_str());
            throw py::error_already_set();
          },
          py::kw_only(), py::arg("strict") = false,
          "Raises AssertionError listing every failure (with expected, actual and trace) unless "
          "the run passed: "
          "`report.assert_passed()` in a test.")
      .def("__str__",
           [](const RunReport& r) {
             std::ostringstream out;
             reports::ConsoleReporter(out, false).finish(r);
             return out.str();
           })
      .def("__repr__", [](const RunReport& r) {
        return "Report(target=" + py_quote(r.target) + ", profile=" + py_quote(r.profile) + ", " +
               counts_text(r.counts()) +
               (r.setup_error.empty() ? "" : ", setup_error=" + py_quote(cut(r.setup_error, 80))) +
               ")";
      });
}

}  // namespace

void init_report(py::module_& m) {
  bind_trace_join_accept(m);
  bind_exchange(m);
  bind_check_result(m);
  bind_run_report(m);
}

}  // namespace joincheck::python
