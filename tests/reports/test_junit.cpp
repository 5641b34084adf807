// The JUnit report: valid against the Jenkins xUnit schema (tests/reports/schema/) in every case
// (a full run, a run whose target could not be reached, hostile peer bytes), with the counts,
// names and failure text a CI reader needs.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <regex>

#include "reports/junit.hpp"
#include "sample_report.hpp"

namespace joincheck::reports {
namespace {

using namespace test_support;
using namespace ::testing;

// Runs xmllint with the schema on the report; the output explains a failure.
CommandResult validate(const std::string& xml, const TempDir& dir, const std::string& name) {
  const auto file = dir.path() / (name + ".xml");
  write_file(file, xml);
  return run_command("xmllint --noout --schema '" JOINCHECK_JUNIT_XSD "' '" + file.string() + "'");
}

pugi::xml_document parse(const std::string& xml) {
  pugi::xml_document doc;
  const auto parsed = doc.load_string(xml.c_str());
  EXPECT_TRUE(parsed) << parsed.description() << " at offset " << parsed.offset << "\n" << xml;
  return doc;
}

pugi::xml_node testcase(const pugi::xml_document& doc, const char* name) {
  return doc.child("testsuites")
      .child("testsuite")
      .find_child_by_attribute("testcase", "name", name);
}

TEST(JUnit, SchemaItselfIsTheUnchangedCopy) {
  // The copy keeps its MIT header (its licence requires it) and the xmllint checks mean something
  // only if xmllint is there.
  const std::string xsd = read_file(JOINCHECK_JUNIT_XSD);
  EXPECT_THAT(xsd, HasSubstr("Copyright (c) 2014, Gregory Boissinot"));
  EXPECT_THAT(xsd, HasSubstr("SUREFIRE_TIME"));
  const auto version = run_command("xmllint --version");
  ASSERT_EQ(version.exit_code, 0) << "xmllint (libxml2-utils) is needed: " << version.output;
}

TEST(JUnit, FullRunValidatesAgainstSchema) {
  TempDir dir("junit-full");
  const auto xml = junit_xml(sample_report());
  const auto result = validate(xml, dir, "report");
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << xml;
  EXPECT_THAT(result.output, HasSubstr("validates"));
}

TEST(JUnit, CountsAndSuiteAttributes) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto suites = doc.child("testsuites");
  ASSERT_TRUE(suites);
  EXPECT_STREQ(suites.attribute("name").value(), "joincheck");
  EXPECT_STREQ(suites.attribute("tests").value(), "5");
  EXPECT_STREQ(suites.attribute("failures").value(), "1");
  EXPECT_STREQ(suites.attribute("errors").value(), "1");
  EXPECT_STREQ(suites.attribute("time").value(), "2.345");
  // Only the attributes the schema allows on <testsuites>.
  for (const auto& a : suites.attributes()) {
    EXPECT_THAT((std::vector<std::string>{"name", "time", "tests", "failures", "errors"}),
                Contains(a.name()));
  }

  const auto suite = suites.child("testsuite");
  EXPECT_STREQ(suite.attribute("name").value(), "joincheck");
  EXPECT_STREQ(suite.attribute("tests").value(), "5");
  EXPECT_STREQ(suite.attribute("failures").value(), "1");
  EXPECT_STREQ(suite.attribute("errors").value(), "1");
  EXPECT_STREQ(suite.attribute("skipped").value(), "1");
  EXPECT_STREQ(suite.attribute("time").value(), "2.345");
  EXPECT_STREQ(suite.attribute("timestamp").value(), "2024-05-01T10:00:00Z");
  EXPECT_EQ(std::distance(suites.children("testsuite").begin(), suites.children("testsuite").end()),
            1);
}

TEST(JUnit, PropertiesDescribeTheRun) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto properties = doc.child("testsuites").child("testsuite").child("properties");
  const auto value = [&](const char* name) {
    return std::string(
        properties.find_child_by_attribute("property", "name", name).attribute("value").value());
  };
  EXPECT_EQ(value("target"), "http://127.0.0.1:4000");
  EXPECT_EQ(value("profile"), "strict");
  EXPECT_EQ(value("protocol_version"), "1.0");
  EXPECT_EQ(value("mac_versions"), "1.0.3,1.1");
  EXPECT_EQ(value("started_at"), "2024-05-01T10:00:00Z");
  EXPECT_FALSE(properties.find_child_by_attribute("property", "name", "setup_error"));
}

TEST(JUnit, OneTestcasePerResultInOrderNamedByIdAndGroup) {
  const auto report = sample_report();
  const auto doc = parse(junit_xml(report));
  std::vector<std::pair<std::string, std::string>> seen;
  for (const auto& tc : doc.child("testsuites").child("testsuite").children("testcase")) {
    seen.emplace_back(tc.attribute("name").value(), tc.attribute("classname").value());
    // Only the attributes the schema allows on <testcase>, and no <properties> child.
    for (const auto& a : tc.attributes()) {
      EXPECT_THAT((std::vector<std::string>{"name", "time", "classname", "group"}),
                  Contains(a.name()));
    }
    EXPECT_FALSE(tc.child("properties"));
  }
  EXPECT_THAT(seen, ElementsAre(Pair("header/message-type", "header"),
                                Pair("header/transaction-id-echo", "header"),
                                Pair("encoding/no-null", "encoding"),
                                Pair("header/receiver-nsid-echo", "header"),
                                Pair("tls/unknown-client-ca", "tls")));
}

TEST(JUnit, TestcaseTimeIsItsExchangesInSecondsWithThreeDecimals) {
  const auto doc = parse(junit_xml(sample_report()));
  // 12.3456 ms + 40.25 ms
  EXPECT_STREQ(testcase(doc, "header/message-type").attribute("time").value(), "0.053");
  EXPECT_STREQ(testcase(doc, "header/transaction-id-echo").attribute("time").value(), "0.012");
  EXPECT_STREQ(testcase(doc, "header/receiver-nsid-echo").attribute("time").value(), "0.000");
}

TEST(JUnit, FailureCarriesTitleLevelExpectedActualAndTrace) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto tc = testcase(doc, "header/transaction-id-echo");
  const auto failure = tc.child("failure");
  ASSERT_TRUE(failure);
  EXPECT_STREQ(failure.attribute("message").value(),
               "The answer carries the request's TransactionID");
  EXPECT_STREQ(failure.attribute("type").value(), "MUST");
  const std::string text = failure.text().get();
  EXPECT_THAT(text, HasSubstr("expected:        TransactionID 42"));
  EXPECT_THAT(text, HasSubstr("actual:          TransactionID 43"));
  EXPECT_THAT(text, HasSubstr("reason:          the answer belongs to another transaction"));
  EXPECT_THAT(text, HasSubstr("scenario:        header/transaction-id-echo step 1"));
  EXPECT_THAT(text, HasSubstr("evaluations:     3 (1 failed)"));
  // The trace: label, URL, request headers and body, status, response headers and body, notes.
  EXPECT_THAT(text, HasSubstr("[0] header/transaction-id-echo step 1: JoinReq"));
  EXPECT_THAT(text, HasSubstr("POST http://127.0.0.1:4000/"));
  EXPECT_THAT(text, HasSubstr("> Content-Type: application/json"));
  EXPECT_THAT(text, HasSubstr("> Authorization: (redacted)"));
  EXPECT_THAT(
      text, HasSubstr(R"(> {"ProtocolVersion":"1.0","TransactionID":42,"MessageType":"JoinReq"})"));
  EXPECT_THAT(text, HasSubstr("< 200 OK"));
  EXPECT_THAT(text, HasSubstr("< Server: js-under-test"));
  EXPECT_THAT(
      text, HasSubstr(R"(< {"ProtocolVersion":"1.0","TransactionID":43,"MessageType":"JoinAns"})"));
  EXPECT_THAT(text, HasSubstr("elapsed: 12.346 ms"));
  EXPECT_THAT(text, HasSubstr("note: JoinAccept decrypted: DevAddr 01020304, JoinNonce 000001"));
  EXPECT_FALSE(tc.child("error"));
  EXPECT_FALSE(tc.child("skipped"));
  EXPECT_THAT(std::string(tc.child("system-out").text().get()), StartsWith("MUST TS002 1.0 §22.1"));
}

TEST(JUnit, ErrorCarriesReasonAndTransportError) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto tc = testcase(doc, "tls/unknown-client-ca");
  const auto error = tc.child("error");
  ASSERT_TRUE(error);
  EXPECT_STREQ(error.attribute("type").value(), "error");
  EXPECT_STREQ(error.attribute("message").value(),
               "the harness could not read tls/ca.pem: No such file or directory");
  const std::string text = error.text().get();
  EXPECT_THAT(text, HasSubstr("expected:        handshake refused"));
  EXPECT_THAT(text, HasSubstr("[2] tls/unknown-client-ca step 1: TLS handshake"));
  EXPECT_THAT(text, HasSubstr("< no HTTP response"));
  EXPECT_THAT(text, Not(HasSubstr("> (empty body)")));  // nothing was sent over HTTP
  EXPECT_THAT(text,
              HasSubstr("transport error: TLS handshake failed: certificate unknown (alert 46)"));
  EXPECT_FALSE(tc.child("failure"));
}

TEST(JUnit, SkipCarriesItsReason) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto tc = testcase(doc, "header/receiver-nsid-echo");
  EXPECT_STREQ(tc.child("skipped").attribute("message").value(),
               "the run uses TS002 1.0, which has no SenderNSID");
  EXPECT_FALSE(tc.child("failure"));
  EXPECT_THAT(std::string(tc.child("system-out").text().get()), StartsWith("MUST TS002 1.1 §23.1"));
}

TEST(JUnit, WarnIsAPassingTestcaseThatSaysWhy) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto tc = testcase(doc, "encoding/no-null");
  EXPECT_FALSE(tc.child("failure"));
  EXPECT_FALSE(tc.child("error"));
  EXPECT_FALSE(tc.child("skipped"));
  const std::string out = tc.child("system-out").text().get();
  EXPECT_THAT(
      out,
      StartsWith("SHOULD TS002 1.0 §22.3\nWARN: Absent optional fields are omitted, never null"));
  EXPECT_THAT(out, HasSubstr("expected:        Lifetime absent"));
  EXPECT_THAT(out, HasSubstr("actual:          Lifetime: null"));
  EXPECT_THAT(out, HasSubstr("reason:          null instead of an absent field"));
  EXPECT_THAT(out, HasSubstr("known deviation: vendor-x sends null for absent fields"));
  // A multi-line body stays readable: every line keeps its prefix.
  EXPECT_THAT(out, HasSubstr("    < {\"MessageType\":\"JoinAns\",\n    < \"Lifetime\":null}"));
}

TEST(JUnit, PassAndAsyncAnswer) {
  const auto doc = parse(junit_xml(sample_report()));
  const auto tc = testcase(doc, "header/message-type");
  EXPECT_FALSE(tc.child("failure"));
  EXPECT_THAT(std::string(tc.child("system-out").text().get()),
              StartsWith("MUST TS002 1.0 §22.1, Table 12"));
}

TEST(JUnit, SetupErrorAloneGivesAValidReportWithOneError) {
  RunReport report;
  report.target = "https://js.example:8443";
  report.profile = "strict";
  report.protocol_version = "1.0";
  report.started_at = "2024-05-01T10:00:00Z";
  report.setup_error = "connect to js.example:8443: Connection refused";
  const auto xml = junit_xml(report);

  TempDir dir("junit-setup");
  const auto result = validate(xml, dir, "setup");
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << xml;

  const auto doc = parse(xml);
  const auto suite = doc.child("testsuites").child("testsuite");
  EXPECT_STREQ(suite.attribute("tests").value(), "1");
  EXPECT_STREQ(suite.attribute("errors").value(), "1");
  EXPECT_STREQ(suite.attribute("failures").value(), "0");
  EXPECT_STREQ(doc.child("testsuites").attribute("errors").value(), "1");
  EXPECT_STREQ(suite.attribute("time").value(), "0.000");
  const auto tc = suite.child("testcase");
  EXPECT_STREQ(tc.attribute("name").value(), "setup/target-reachable");
  EXPECT_STREQ(tc.attribute("classname").value(), "setup");
  EXPECT_STREQ(tc.child("error").attribute("message").value(),
               "connect to js.example:8443: Connection refused");
  EXPECT_THAT(std::string(tc.child("error").text().get()), HasSubstr("Connection refused"));
  EXPECT_FALSE(tc.next_sibling("testcase"));
  EXPECT_STREQ(suite.child("properties")
                   .find_child_by_attribute("property", "name", "setup_error")
                   .attribute("value")
                   .value(),
               "connect to js.example:8443: Connection refused");
}

TEST(JUnit, SetupErrorWithResultsKeepsTheResults) {
  auto report = sample_report();
  report.setup_error = "TLS client key unreadable";
  const auto doc = parse(junit_xml(report));
  EXPECT_FALSE(testcase(doc, "setup/target-reachable"));
  EXPECT_STREQ(doc.child("testsuites").attribute("tests").value(), "5");
}

TEST(JUnit, EmptyRunValidates) {
  TempDir dir("junit-empty");
  const auto xml = junit_xml(RunReport{});
  const auto result = validate(xml, dir, "empty");
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << xml;
}

TEST(JUnit, HostileBytesStillGiveValidXml) {
  auto report = sample_report();
  report.exchanges[0].response_body = hostile_bytes;
  report.exchanges[0].response_headers.emplace_back("X-Evil" + hostile_bytes, hostile_bytes);
  report.exchanges[0].http_reason = hostile_bytes;
  report.exchanges[0].notes.push_back(hostile_bytes);
  report.exchanges[2].transport_error = hostile_bytes;
  report.results[1].actual = hostile_bytes;
  report.results[2].reason = hostile_bytes;       // warn: system-out
  report.results[3].reason = hostile_bytes;       // skip: attribute
  report.results[4].reason = hostile_bytes;       // error: attribute
  report.results[1].check.title = hostile_bytes;  // failure message attribute
  report.target = hostile_bytes;                  // property value
  report.setup_error = hostile_bytes;
  const auto xml = junit_xml(report);

  TempDir dir("junit-hostile");
  const auto result = validate(xml, dir, "hostile");
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << xml;
  // No raw control byte, no character reference to one either.
  for (const char c : xml) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 || c == '\n' || c == '\t') << "raw byte " << int(byte);
  }
  EXPECT_THAT(xml, Not(HasSubstr("&#1;")));
  EXPECT_THAT(xml, Not(HasSubstr("&#27;")));
  EXPECT_THAT(xml, Not(HasSubstr("&#0;")));

  // The reader still sees which bytes were sent.
  const std::string shown =
      R"(A\x01B\x1b[31mred\x00Z\x80\xff\xc0\xaf\xed\xa0\x80\xc2\x9b\xef\xbf\xbe\x7fend)";
  const auto doc = parse(xml);
  const auto failure = testcase(doc, "header/transaction-id-echo").child("failure");
  EXPECT_EQ(std::string(failure.attribute("message").value()), shown);
  EXPECT_THAT(std::string(failure.text().get()), HasSubstr("actual:          " + shown));
  EXPECT_THAT(std::string(failure.text().get()), HasSubstr("< " + shown));
  EXPECT_EQ(
      std::string(
          testcase(doc, "header/receiver-nsid-echo").child("skipped").attribute("message").value()),
      shown);
}

TEST(JUnit, ValidUtf8IsKept) {
  auto report = sample_report();
  report.results[1].actual = "DevEUI \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa1";  // é, €, 📡
  const auto doc = parse(junit_xml(report));
  EXPECT_THAT(
      std::string(testcase(doc, "header/transaction-id-echo").child("failure").text().get()),
      HasSubstr("DevEUI \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa1"));
}

TEST(JUnit, DurationsKeepAtMostThreeDecimals) {
  auto report = sample_report();
  report.duration = std::chrono::milliseconds(123456789);
  report.exchanges[0].elapsed_ms = 0.0425;
  report.exchanges[3].elapsed_ms = -1;  // a clock gone backwards is shown as 0
  const auto xml = junit_xml(report);
  const auto doc = parse(xml);
  EXPECT_STREQ(doc.child("testsuites").attribute("time").value(), "123456.789");
  EXPECT_STREQ(testcase(doc, "header/message-type").attribute("time").value(), "0.000");
  const std::regex three_decimals(R"([0-9]+\.[0-9]{3})");
  for (const auto& tc : doc.child("testsuites").child("testsuite").children("testcase")) {
    EXPECT_TRUE(std::regex_match(tc.attribute("time").value(), three_decimals))
        << tc.attribute("time").value();
  }
  TempDir dir("junit-times");
  const auto result = validate(xml, dir, "times");
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(JUnit, WriteJunitWritesTheFileCreatingDirectories) {
  TempDir dir("junit-write");
  const auto path = dir.path() / "out" / "nested" / "report.xml";
  write_junit(sample_report(), path);
  EXPECT_EQ(read_file(path), junit_xml(sample_report()));
  const auto result =
      run_command("xmllint --noout --schema '" JOINCHECK_JUNIT_XSD "' '" + path.string() + "'");
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(JUnit, WriteJunitFailureNamesTheFile) {
  TempDir dir("junit-write-fail");
  // A directory where the file should be.
  try {
    write_junit(sample_report(), dir.path());
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot write JUnit report " + dir.path().string()));
    EXPECT_THAT(e.what(), HasSubstr("Is a directory"));
  }
  // A parent that is a regular file.
  write_file(dir.path() / "file", "x");
  const auto below_file = dir.path() / "file" / "report.xml";
  try {
    write_junit(sample_report(), below_file);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(below_file.string()));
  }
}

}  // namespace
}  // namespace joincheck::reports
