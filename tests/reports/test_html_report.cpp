// The HTML report: one self-contained page holding the command's JSON report, which no byte of a
// peer can break out of. How the page draws it is tested in a real browser
// (tests/interop/reports.sh).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reports/air_report.hpp"
#include "reports/build_info.hpp"
#include "reports/html_page.hpp"
#include "reports/html_report.hpp"
#include "reports/json_report.hpp"
#include "reports/report_files.hpp"
#include "sample_report.hpp"

namespace joincheck::reports {
namespace {

using namespace test_support;
using namespace ::testing;
using nlohmann::ordered_json;

constexpr std::string_view kDataStart = R"(<script type="application/json" id="joincheck-data">)";

// The text between the data element's tags, as the page's script reads it.
std::string data_text(const std::string& page) {
  const auto start = page.find(kDataStart);
  if (start == std::string::npos) return {};
  const auto from = start + kDataStart.size();
  return page.substr(from, page.find("</script>", from) - from);
}

// Whether `page` holds `text` (a page is too long for a matcher to print when it fails).
bool holds(const std::string& page, std::string_view text) { return page.find(text) != std::string::npos; }

TEST(HtmlReport, HoldsTheJsonReportAndTheCommand) {
  const RunReport report = sample_report();
  const std::string page = html_report(report, "run");
  ordered_json expected = json_report(report);
  expected["command"] = "run";
  EXPECT_EQ(ordered_json::parse(data_text(page)), expected);
  EXPECT_TRUE(holds(page, "<title>joincheck run: http://127.0.0.1:4000</title>"));
  EXPECT_TRUE(holds(page, "<meta name=\"generator\" content=\"" + version_line() + "\">"));
  EXPECT_EQ(ordered_json::parse(data_text(html_report(report, "doctor")))["command"], "doctor");
}

TEST(HtmlReport, NeedsNothingFromTheNetwork) {
  const std::string page = html_report(sample_report(), "run");
  // Style and script are inline: no element loads anything.
  EXPECT_FALSE(holds(page, "<link"));
  EXPECT_FALSE(holds(page, " src="));
  EXPECT_FALSE(holds(page, "@import"));
  EXPECT_FALSE(holds(page, "url("));
  EXPECT_TRUE(holds(page, "<style>\n/* The joincheck HTML report"));
  EXPECT_TRUE(holds(page, "function renderRun("));
  // No marker of the template is left unfilled.
  for (const char* marker : {"@GENERATOR@", "@TITLE@", "@STYLE@", "@SCRIPT@", "@DATA@"}) {
    EXPECT_FALSE(holds(page, marker)) << marker;
  }
}

TEST(HtmlReport, InlinesEveryScriptBeforeStartingIt) {
  const std::string page = html_page("joincheck load", ordered_json{{"command", "load"}});
  EXPECT_TRUE(holds(page, "function renderLoad("));
  std::string_view report_js;
  std::size_t scripts = 0;
  for (const EmbeddedFile& f : embedded_html_files()) {
    if (!f.name.ends_with(".js")) continue;
    ++scripts;
    EXPECT_TRUE(holds(page, f.contents)) << f.name << " is not inlined whole";
    if (f.name == "report.js") report_js = f.contents;
  }
  EXPECT_GE(scripts, 2U) << "report.js and load.js";
  // report.js (helpers, renderers) first, the others after it, then the call that draws the page.
  const auto start_call = page.rfind("\nstart();\n");
  ASSERT_NE(start_call, std::string::npos);
  EXPECT_LT(page.find(report_js), page.find("renderers.load = renderLoad;"));
  EXPECT_LT(page.find("renderers.load = renderLoad;"), start_call);
}

TEST(HtmlReport, APeersBodyCannotCloseTheDataElement) {
  RunReport report = sample_report();
  const std::string hostile = "</script><script>alert(1)</script><!-- & @SCRIPT@ " + hostile_bytes;
  report.exchanges[0].response_body = hostile;
  report.results[1].actual = hostile;
  report.target = "http://x/</title><script>alert(2)</script>@STYLE@";
  const std::string page = html_report(report, "run");
  const std::string data = data_text(page);
  EXPECT_THAT(data, Not(HasSubstr("<"))) << "the data holds no '<': it cannot end its element";
  EXPECT_THAT(data, Not(HasSubstr(">")));
  // The script after it is whole: one element of each, in the template's order.
  EXPECT_EQ(page.find(kDataStart), page.rfind(kDataStart));
  EXPECT_TRUE(holds(page, "function renderRun("));
  EXPECT_TRUE(holds(page, "<title>joincheck run: http://x/&lt;/title&gt;&lt;script&gt;alert(2)&lt;/script&gt;@STYLE@</title>"));
  EXPECT_TRUE(holds(page, "<style>\n/* The joincheck HTML report"));
  // The body comes back byte for byte where it is valid UTF-8, U+FFFD where it is not.
  const ordered_json doc = ordered_json::parse(data);
  const std::string body = doc["exchanges"][0]["response_body"];
  EXPECT_THAT(body, StartsWith("</script><script>alert(1)</script><!-- & @SCRIPT@ A\x01"));
  EXPECT_EQ(doc["results"][1]["actual"], body);
}

TEST(HtmlReport, GatewayReportIsTheAirJsonReport) {
  conformance::AirReport report;
  report.ns = "udp://127.0.0.1:1700";
  report.region = "EU868";
  conformance::AirDeviceResult device;
  device.dev_eui = "0102030405060708";
  device.mac_version = "1.0.3";
  device.steps = {conformance::AirStep{"join-accept window", conformance::Verdict::fail, "no join-accept", {}}};
  report.devices = {device};
  const std::string page = air_html_report(report);
  const ordered_json expected = air_json_report(report);
  EXPECT_EQ(expected["command"], "gateway");  // report merge tells it from a run report by it
  EXPECT_EQ(ordered_json::parse(data_text(page)), expected);
  EXPECT_TRUE(holds(page, "<title>joincheck gateway: udp://127.0.0.1:1700</title>"));
}

TEST(HtmlReport, WrittenWithTheOtherReports) {
  TempDir dir("html");
  ReportFiles files;
  files.html = (dir.path() / "new" / "report.html").string();
  write_reports(sample_report(), "doctor", files);
  const std::string page = read_file(files.html);
  EXPECT_EQ(ordered_json::parse(data_text(page))["command"], "doctor");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "new" / "report.json"));

  files.html = (dir.path() / "report.html" / "x").string();  // under a file: cannot be written
  write_file(dir.path() / "report.html", "");
  EXPECT_THAT([&] { write_reports(sample_report(), "run", files); },
              ThrowsMessage<std::runtime_error>(AllOf(HasSubstr("HTML report"), HasSubstr("report.html/x"))));
}

TEST(BuildInfo, VersionIsTheProjectsAndTheCommitIsHexOrEmpty) {
  const BuildInfo info = build_info();
  EXPECT_THAT(std::string(info.version), MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
  EXPECT_THAT(std::string(info.commit), MatchesRegex("([0-9a-f]{12}(-dirty)?)?"));
  EXPECT_THAT(version_line(), StartsWith("joincheck " + std::string(info.version)));
  const ordered_json json = json_report(sample_report())["joincheck"];
  EXPECT_EQ(json["version"], info.version);
  EXPECT_EQ(json["commit"], info.commit);
}

}  // namespace
}  // namespace joincheck::reports
