// Console output of `joincheck run`: a line per check, the details of what went wrong, the
// summary; colour only when asked, and nothing a peer sent can drive the terminal.

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "reports/console.hpp"
#include "sample_report.hpp"

namespace joincheck::reports {
namespace {

using namespace test_support;
using namespace ::testing;

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string run_console(const RunReport& report, bool colour) {
  std::ostringstream out;
  ConsoleReporter console(out, colour);
  for (const auto& r : report.results) console.check_line(r);
  console.finish(report);
  return out.str();
}

TEST(Printable, KeepsTextAndValidUtf8) {
  EXPECT_EQ(printable("plain {\"a\": 1}\n\tnext"), "plain {\"a\": 1}\n\tnext");
  EXPECT_EQ(printable("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa1 \xef\xbf\xbd"),
            "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa1 \xef\xbf\xbd");
  EXPECT_EQ(printable(""), "");
}

TEST(Printable, ShowsForbiddenBytesAsHex) {
  EXPECT_EQ(printable(hostile_bytes),
            R"(A\x01B\x1b[31mred\x00Z\x80\xff\xc0\xaf\xed\xa0\x80\xc2\x9b\xef\xbf\xbe\x7fend)");
  EXPECT_EQ(printable("a\r\nb"), "a\\x0d\nb");
  // Truncated sequences at the end, and U+10FFFF+1.
  EXPECT_EQ(printable("x\xe2\x82"), "x\\xe2\\x82");
  EXPECT_EQ(printable("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(printable("\xf4\x8f\xbf\xbd"), "\xf4\x8f\xbf\xbd");  // U+10FFFD is allowed
}

TEST(Console, OneLinePerCheckWithoutColour) {
  const auto report = sample_report();
  std::ostringstream out;
  ConsoleReporter console(out, false);
  for (const auto& r : report.results) console.check_line(r);
  const auto got = lines(out.str());
  ASSERT_EQ(got.size(), 5u);
  EXPECT_THAT(
      got[0],
      MatchesRegex("PASS  header/message-type +MessageType is the answer type of the request"));
  EXPECT_THAT(
      got[1],
      MatchesRegex(
          "FAIL  header/transaction-id-echo +The answer carries the request's TransactionID"));
  EXPECT_THAT(got[2], MatchesRegex(
                          "WARN  encoding/no-null +Absent optional fields are omitted, never null  "
                          "\\(null instead of an absent field\\)"));
  EXPECT_THAT(got[3], StartsWith("SKIP  header/receiver-nsid-echo "));
  EXPECT_THAT(got[3], EndsWith("(the run uses TS002 1.0, which has no SenderNSID)"));
  EXPECT_THAT(got[4], StartsWith("ERROR tls/unknown-client-ca "));
  // Titles line up.
  EXPECT_EQ(got[0].find("MessageType"), got[1].find("The answer"));
  EXPECT_THAT(out.str(), Not(HasSubstr("\x1b")));
}

TEST(Console, ColourOnlyWhenAsked) {
  const auto report = sample_report();
  const std::string plain = run_console(report, false);
  EXPECT_THAT(plain, Not(HasSubstr("\x1b")));

  const std::string coloured = run_console(report, true);
  EXPECT_THAT(coloured, HasSubstr("\x1b[32mPASS\x1b[0m"));
  EXPECT_THAT(coloured, HasSubstr("\x1b[31mFAIL\x1b[0m"));
  EXPECT_THAT(coloured, HasSubstr("\x1b[31mERROR\x1b[0m"));
  EXPECT_THAT(coloured, HasSubstr("\x1b[33mWARN\x1b[0m"));
  EXPECT_THAT(coloured, HasSubstr("\x1b[2mSKIP\x1b[0m"));
}

TEST(Console, FinishShowsDetailsOfWhatWentWrongAndTheSummary) {
  std::ostringstream out;
  ConsoleReporter console(out, false);
  console.finish(sample_report());
  const std::string text = out.str();

  EXPECT_THAT(text, HasSubstr("FAIL  header/transaction-id-echo  [MUST] The answer carries the "
                              "request's TransactionID"));
  EXPECT_THAT(text, HasSubstr("      spec:            TS002 1.0 §22.1\n"));
  EXPECT_THAT(text, HasSubstr("      expected:        TransactionID 42\n"));
  EXPECT_THAT(text, HasSubstr("      actual:          TransactionID 43\n"));
  EXPECT_THAT(text, HasSubstr("      scenario:        header/transaction-id-echo step 1\n"));
  EXPECT_THAT(text,
              HasSubstr("      trace:\n        [0] header/transaction-id-echo step 1: JoinReq\n"
                        "          POST http://127.0.0.1:4000/\n"));
  EXPECT_THAT(text, HasSubstr("          < 200 OK\n"));
  EXPECT_THAT(text, HasSubstr("WARN  encoding/no-null  [SHOULD] Absent optional fields"));
  EXPECT_THAT(text, HasSubstr("      known deviation: vendor-x sends null for absent fields\n"));
  EXPECT_THAT(text, HasSubstr("ERROR tls/unknown-client-ca  [MUST]"));
  EXPECT_THAT(text, HasSubstr("          transport error: TLS handshake failed"));
  // Pass and skip are not repeated.
  EXPECT_THAT(text, Not(HasSubstr("header/message-type")));
  EXPECT_THAT(text, Not(HasSubstr("header/receiver-nsid-echo")));
  // Warnings first, failures right above the summary.
  EXPECT_LT(text.find("WARN  encoding/no-null"), text.find("FAIL  header/transaction-id-echo"));

  const auto got = lines(text);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(),
            "joincheck: 5 checks: 1 pass, 1 fail, 1 warn, 1 skip, 1 error in 2.3 s against "
            "http://127.0.0.1:4000 (profile strict)");
  EXPECT_THAT(text, Not(HasSubstr("target could not be reached")));
}

TEST(Console, SetupErrorIsSaid) {
  RunReport report;
  report.target = "https://js.example:8443";
  report.profile = "strict";
  report.duration = std::chrono::milliseconds(40);
  report.setup_error = "connect to js.example:8443: Connection refused";
  std::ostringstream out;
  ConsoleReporter console(out, false);
  console.finish(report);
  const auto got = lines(out.str());
  ASSERT_GE(got.size(), 2u);
  EXPECT_EQ(got[got.size() - 2],
            "joincheck: 0 checks: 0 pass, 0 fail, 0 warn, 0 skip, 0 error in 0.0 s against "
            "https://js.example:8443 "
            "(profile strict)");
  EXPECT_EQ(got.back(),
            "target could not be reached: connect to js.example:8443: Connection refused");
}

TEST(Console, HostileBytesCannotDriveTheTerminal) {
  auto report = sample_report();
  report.exchanges[0].response_body = hostile_bytes;
  report.exchanges[0].response_headers.emplace_back("X-Evil", hostile_bytes);
  report.results[1].actual = hostile_bytes;
  report.results[2].reason = hostile_bytes;
  report.setup_error = hostile_bytes;
  const std::string text = run_console(report, false);
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    EXPECT_TRUE(byte >= 0x20 || c == '\n') << "raw byte " << int(byte);
    EXPECT_NE(byte, 0x7f);
  }
  EXPECT_THAT(text, HasSubstr(R"(< A\x01B\x1b[31mred)"));
  // The one-line reason of a warning stops at its first line and stays short.
  report.results[2].reason = "first line\nsecond line";
  std::ostringstream out;
  ConsoleReporter(out, false).check_line(report.results[2]);
  EXPECT_THAT(out.str(), EndsWith("(first line ...)\n"));
}

TEST(Console, LongBodiesAreCut) {
  auto report = sample_report();
  report.exchanges[0].response_body = std::string(100000, 'x');
  std::ostringstream out;
  ConsoleReporter(out, false).finish(report);
  EXPECT_THAT(out.str(), HasSubstr("... (83616 more bytes)"));
  EXPECT_LT(out.str().size(), 40000u);
}

TEST(Console, BadTraceIndexIsReportedNotFatal) {
  auto report = sample_report();
  report.results[1].trace = {99};
  std::ostringstream out;
  ConsoleReporter(out, false).finish(report);
  EXPECT_THAT(out.str(), HasSubstr("[99] (no such exchange: the run recorded 4)"));
}

TEST(Console, StdoutRedirectedToAFileIsNotATerminal) {
  std::fflush(stdout);
  const int saved = ::dup(STDOUT_FILENO);
  ASSERT_GE(saved, 0);
  const int null = ::open("/dev/null", O_WRONLY);
  ASSERT_GE(null, 0);
  ::dup2(null, STDOUT_FILENO);
  const bool terminal = stdout_is_terminal();
  ::dup2(saved, STDOUT_FILENO);
  ::close(null);
  ::close(saved);
  EXPECT_FALSE(terminal);
}

}  // namespace
}  // namespace joincheck::reports
