#include "reports/junit.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>
#include <stdexcept>

#include "reports/build_info.hpp"
#include "reports/console.hpp"
#include "reports/junit_xml.hpp"

namespace joincheck::reports {

void xml_attr(pugi::xml_node node, const char* name, std::string_view value) {
  node.append_attribute(name).set_value(printable(value).c_str());
}

void xml_attr(pugi::xml_node node, const char* name, std::size_t value) {
  node.append_attribute(name).set_value(std::to_string(value).c_str());
}

void xml_build_info(pugi::xml_node properties) {
  const BuildInfo info = build_info();
  xml_property(properties, "joincheck.version", info.version);
  if (!info.commit.empty()) xml_property(properties, "joincheck.commit", info.commit);
}

void xml_property(pugi::xml_node properties, const char* name, std::string_view value) {
  auto p = properties.append_child("property");
  xml_attr(p, "name", name);
  xml_attr(p, "value", value);
}

std::string junit_seconds(double ms, int decimals) {
  if (!std::isfinite(ms) || ms < 0) ms = 0;
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, ms / 1000.0, std::chars_format::fixed, decimals);
  return std::string(buf, res.ptr);
}

using conformance::CheckResult;
using conformance::RunReport;
using conformance::Verdict;

namespace {

void attr(pugi::xml_node node, const char* name, std::string_view value) { xml_attr(node, name, value); }
void attr(pugi::xml_node node, const char* name, std::size_t value) { xml_attr(node, name, value); }
void property(pugi::xml_node properties, const char* name, std::string_view value) {
  xml_property(properties, name, value);
}
std::string seconds(double ms) { return junit_seconds(ms); }

// Text that is already printable (result_detail_text and friends).
void text_child(pugi::xml_node parent, const char* name, const std::string& text) {
  parent.append_child(name).text().set(text.c_str());
}

std::string level_and_spec(const CheckResult& r) {
  std::string line(conformance::to_string(r.check.level));
  if (!r.check.spec.empty()) line += " " + printable(r.check.spec);
  return line + "\n";
}

void testcase(pugi::xml_node suite, const CheckResult& r, const RunReport& report) {
  auto tc = suite.append_child("testcase");
  attr(tc, "name", r.check.id);
  attr(tc, "classname", r.check.group());
  // A check has no clock of its own: its time is that of the exchanges behind it.
  double ms = 0;
  for (const auto index : r.trace) {
    if (index >= report.exchanges.size()) continue;
    const double elapsed = report.exchanges[index].elapsed_ms;
    if (std::isfinite(elapsed) && elapsed > 0) ms += elapsed;
  }
  attr(tc, "time", seconds(ms));

  std::string out = level_and_spec(r);
  switch (r.verdict) {
    case Verdict::pass:
      out += "evaluations: " + std::to_string(r.evaluations) + "\n";
      break;
    case Verdict::fail: {
      auto failure = tc.append_child("failure");
      attr(failure, "message", r.check.title);
      attr(failure, "type", conformance::to_string(r.check.level));
      failure.text().set(result_detail_text(r, report).c_str());
      break;
    }
    case Verdict::error: {
      auto error = tc.append_child("error");
      attr(error, "message",
           r.reason.empty() ? std::string_view(r.check.title) : std::string_view(r.reason));
      attr(error, "type", "error");
      error.text().set(result_detail_text(r, report).c_str());
      break;
    }
    case Verdict::skip: {
      auto skipped = tc.append_child("skipped");
      attr(skipped, "message",
           r.reason.empty() ? std::string_view("not applicable") : std::string_view(r.reason));
      break;
    }
    case Verdict::warn:
      // JUnit has no warning: a passing testcase that says so, for the reader of the CI log.
      out += "WARN: " + printable(r.check.title) + "\n" + result_detail_text(r, report);
      break;
  }
  text_child(tc, "system-out", out);
}

}  // namespace

std::string junit_xml(const RunReport& report) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  decl.append_attribute("encoding").set_value("UTF-8");

  auto counts = report.counts();
  // A run whose target could not be set up has no results; CI must still see a red testcase.
  const bool setup_case = !report.setup_error.empty() && report.results.empty();
  if (setup_case) ++counts.error;
  const std::string time = seconds(static_cast<double>(report.duration.count()));

  auto suites = doc.append_child("testsuites");
  attr(suites, "name", "joincheck");
  attr(suites, "tests", counts.total());
  attr(suites, "failures", counts.fail);
  attr(suites, "errors", counts.error);
  attr(suites, "time", time);

  auto suite = suites.append_child("testsuite");
  attr(suite, "name", "joincheck");
  attr(suite, "tests", counts.total());
  attr(suite, "failures", counts.fail);
  attr(suite, "errors", counts.error);
  attr(suite, "skipped", counts.skip);
  attr(suite, "time", time);
  if (!report.started_at.empty()) attr(suite, "timestamp", report.started_at);

  auto properties = suite.append_child("properties");
  xml_build_info(properties);
  property(properties, "target", report.target);
  property(properties, "profile", report.profile);
  property(properties, "protocol_version", report.protocol_version);
  std::string macs;
  for (const auto& v : report.mac_versions) {
    if (!macs.empty()) macs += ',';
    macs += v;
  }
  property(properties, "mac_versions", macs);
  property(properties, "started_at", report.started_at);
  if (!report.setup_error.empty()) property(properties, "setup_error", report.setup_error);
  if (!report.stopped_early.empty()) property(properties, "stopped_early", report.stopped_early);

  if (setup_case) {
    auto tc = suite.append_child("testcase");
    attr(tc, "name", "setup/target-reachable");
    attr(tc, "classname", "setup");
    attr(tc, "time", time);
    auto error = tc.append_child("error");
    attr(error, "message", report.setup_error);
    attr(error, "type", "error");
    error.text().set(("target could not be reached or set up: " + printable(report.setup_error) +
                      "\ntarget: " + printable(report.target) + "\n")
                         .c_str());
  }
  for (const auto& r : report.results) testcase(suite, r, report);

  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
  return out.str();
}

void write_report_file(const std::filesystem::path& path, std::string_view content,
                       std::string_view kind) {
  const auto fail = [&](const std::string& why) {
    return std::runtime_error("cannot write " + std::string(kind) + " " + path.string() + ": " +
                              why);
  };
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
      throw fail("cannot create directory " + path.parent_path().string() + ": " + ec.message());
  }
  errno = 0;
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw fail(errno != 0 ? std::strerror(errno) : "cannot open it for writing");
  file.write(content.data(), static_cast<std::streamsize>(content.size()));
  file.close();
  if (!file) throw fail(errno != 0 ? std::strerror(errno) : "write failed");
}

void write_junit(const RunReport& report, const std::filesystem::path& path) {
  write_report_file(path, junit_xml(report), "JUnit report");
}

}  // namespace joincheck::reports
