#include "reports/html_report.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "reports/air_report.hpp"
#include "reports/build_info.hpp"
#include "reports/html_page.hpp"
#include "reports/json_report.hpp"
#include "reports/junit.hpp"

namespace joincheck::reports {

namespace {

std::string_view page_file(std::string_view name) {
  for (const EmbeddedFile& f : embedded_html_files()) {
    if (f.name == name) return f.contents;
  }
  throw std::logic_error("the HTML report's " + std::string(name) + " is not compiled in");
}

// The page's script: report.js (the helpers, the renderers and start()), then every other .js
// file of reports/html in name order (load.js: renderers.load), so that each may use report.js's
// helpers and add its renderer before page.html calls start().
std::string page_script() {
  std::string script(page_file("report.js"));
  std::vector<std::string_view> others;
  for (const EmbeddedFile& f : embedded_html_files()) {
    if (f.name != "report.js" && f.name.ends_with(".js")) others.push_back(f.name);
  }
  std::sort(others.begin(), others.end());
  for (const std::string_view name : others) {
    if (!script.ends_with('\n')) script += '\n';
    script += page_file(name);
  }
  return script;
}

// Text inside an element: & < > escaped (and quotes, so it may go in an attribute too).
std::string html_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// JSON inside <script type="application/json">: the text must not hold "</script" or "<!--".
// Outside strings JSON has no < > &, and inside them \u003c is the same character, so
// escaping every one keeps the document and closes both doors.
std::string script_json(const nlohmann::ordered_json& document) {
  const std::string text = document.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string out;
  out.reserve(text.size() + text.size() / 16);
  for (const char c : text) {
    switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  }
  return out;
}

// Replaces the first `marker` at or after `from` by `value`; returns where the text after it
// starts, so that no marker is looked for in a value (a title or a peer's body may hold one).
std::size_t fill(std::string& page, std::size_t from, std::string_view marker, std::string_view value) {
  const auto at = page.find(marker, from);
  if (at == std::string::npos) throw std::logic_error("the HTML report's page has no " + std::string(marker));
  page.replace(at, marker.size(), value);
  return at + value.size();
}

}  // namespace

std::string html_page(std::string_view title, const nlohmann::ordered_json& document) {
  std::string page(page_file("page.html"));
  // In the order page.html holds them.
  std::size_t at = fill(page, 0, "@GENERATOR@", html_text(version_line()));
  at = fill(page, at, "@TITLE@", html_text(title));
  at = fill(page, at, "@STYLE@", page_file("report.css"));
  at = fill(page, at, "@DATA@", script_json(document));
  fill(page, at, "@SCRIPT@", page_script());
  return page;
}

std::string html_report(const conformance::RunReport& report, std::string_view command) {
  const nlohmann::ordered_json document = json_report(report, command);
  return html_page("joincheck " + std::string(command) + ": " + report.target, document);
}

std::string air_html_report(const conformance::AirReport& report) {
  return html_page("joincheck gateway: " + report.ns, air_json_report(report));
}

void write_html_report(const std::filesystem::path& path, std::string_view html) {
  write_report_file(path, html, "HTML report");
}

}  // namespace joincheck::reports
