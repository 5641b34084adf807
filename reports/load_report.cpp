#include "reports/load_report.hpp"

#include <pugixml.hpp>
#include <sstream>

#include "reports/console.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/junit.hpp"
#include "reports/junit_xml.hpp"

namespace joincheck::reports {

nlohmann::ordered_json load_json_document(const load::LoadResult& result,
                                          const std::vector<load::AssertionOutcome>& outcomes) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  j["joincheck"] = build_info_json();
  const nlohmann::ordered_json body = load::to_json(result, outcomes);
  for (const auto& [key, value] : body.items()) j[key] = value;
  return j;
}

std::string load_junit_xml(const load::LoadResult& result, const std::vector<load::AssertionOutcome>& outcomes) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  decl.append_attribute("encoding").set_value("UTF-8");
  std::size_t failures = 0;
  for (const auto& o : outcomes) failures += o.passed ? 0 : 1;
  const std::string time = junit_seconds(result.elapsed_s * 1000);

  auto suites = doc.append_child("testsuites");
  xml_attr(suites, "name", "joincheck load");
  xml_attr(suites, "tests", outcomes.size());
  xml_attr(suites, "failures", failures);
  xml_attr(suites, "errors", std::size_t{0});
  xml_attr(suites, "time", time);
  auto suite = suites.append_child("testsuite");
  xml_attr(suite, "name", "joincheck load");
  xml_attr(suite, "tests", outcomes.size());
  xml_attr(suite, "failures", failures);
  xml_attr(suite, "errors", std::size_t{0});
  xml_attr(suite, "skipped", std::size_t{0});
  xml_attr(suite, "time", time);
  auto properties = suite.append_child("properties");
  xml_build_info(properties);
  for (const auto& [key, value] : result.settings.items()) {
    xml_property(properties, key.c_str(), value.is_string() ? value.get<std::string>() : value.dump());
  }
  xml_property(properties, "sent", std::to_string(result.sent));
  xml_property(properties, "ok", std::to_string(result.ok));
  xml_property(properties, "errors", std::to_string(result.errors));
  for (const auto& [kind, n] : result.requests) {
    xml_property(properties, ("requests " + kind).c_str(), std::to_string(n.sent) + " sent, " + std::to_string(n.ok) + " verified");
  }
  xml_property(properties, "processes", std::to_string(result.processes.size()));
  if (!result.stopped.empty()) xml_property(properties, "stopped", result.stopped);
  if (!result.setup_error.empty()) xml_property(properties, "setup_error", result.setup_error);

  // The error classes, for the reader of a failed assertion.
  std::string errors;
  for (const auto& [name, e] : result.error_classes) {
    errors += name + ": " + std::to_string(e.count) + " (e.g. " + e.example + ")\n";
  }
  for (const auto& o : outcomes) {
    auto tc = suite.append_child("testcase");
    xml_attr(tc, "name", "load/" + o.assertion.text);
    xml_attr(tc, "classname", "load");
    xml_attr(tc, "time", time);
    if (!o.passed) {
      auto failure = tc.append_child("failure");
      xml_attr(failure, "message", o.message);
      xml_attr(failure, "type", "assertion");
      failure.text().set(printable(o.message + "\n" + errors).c_str());
    } else {
      tc.append_child("system-out").text().set(printable(o.message + "\n").c_str());
    }
  }
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
  return out.str();
}

void write_load_reports(const load::LoadResult& result, const std::vector<load::AssertionOutcome>& outcomes,
                        const ReportFiles& files) {
  if (!files.junit.empty()) write_report_file(files.junit, load_junit_xml(result, outcomes), "JUnit report");
  const nlohmann::ordered_json document = load_json_document(result, outcomes);
  if (!files.json.empty()) write_report_file(files.json, document.dump(2) + "\n", "JSON report");
  if (!files.html.empty()) write_html_report(files.html, html_page("joincheck load", document));
}

}  // namespace joincheck::reports
