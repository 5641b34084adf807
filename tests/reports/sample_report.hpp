#pragma once
// A run built by hand for the report tests: one result of each verdict, exchanges with headers,
// bodies, notes, an async answer and a transport error.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "conformance/result.hpp"

namespace joincheck::reports::test_support {

using conformance::CheckInfo;
using conformance::CheckResult;
using conformance::Level;
using conformance::RunReport;
using conformance::TraceExchange;
using conformance::Verdict;

// Bytes a hostile peer may send: C0 controls, an ANSI colour sequence, a lone continuation byte,
// 0xff, an overlong '/', an encoded surrogate, a C1 CSI and U+FFFE.
constexpr char hostile_raw[] =
    "A\x01"
    "B\x1b[31mred\x00"
    "Z\x80\xff\xc0\xaf\xed\xa0\x80\xc2\x9b\xef\xbf\xbe\x7f"
    "end";
inline const std::string hostile_bytes(hostile_raw, sizeof hostile_raw - 1);  // NUL included

inline CheckResult result(std::string id, Level level, std::string title, std::string spec,
                          Verdict verdict) {
  CheckResult r;
  r.check = CheckInfo{std::move(id), level, std::move(title), std::move(spec)};
  r.verdict = verdict;
  r.evaluations = 1;
  return r;
}

inline RunReport sample_report() {
  using namespace std::chrono_literals;
  RunReport report;
  report.target = "http://127.0.0.1:4000";
  report.profile = "strict";
  report.protocol_version = "1.0";
  report.mac_versions = {"1.0.3", "1.1"};
  report.started_at = "2024-05-01T10:00:00Z";
  report.duration = 2345ms;

  TraceExchange join;
  join.label = "header/transaction-id-echo step 1: JoinReq";
  join.url = "http://127.0.0.1:4000/";
  join.request_headers = {{"Content-Type", "application/json"}, {"Authorization", "(redacted)"}};
  join.request_body = R"({"ProtocolVersion":"1.0","TransactionID":42,"MessageType":"JoinReq"})";
  join.http_status = 200;
  join.http_reason = "OK";
  join.response_headers = {{"Content-Type", "application/json"}, {"Server", "js-under-test"}};
  join.response_body = R"({"ProtocolVersion":"1.0","TransactionID":43,"MessageType":"JoinAns"})";
  join.elapsed_ms = 12.3456;
  join.notes = {"JoinAccept decrypted: DevAddr 01020304, JoinNonce 000001"};

  TraceExchange replay;
  replay.label = "devnonce/replay-1.0.4 step 2: JoinReq (DevNonce previous)";
  replay.url = "http://127.0.0.1:4000/";
  replay.request_body = R"({"MessageType":"JoinReq","DevNonce":"0001"})";
  replay.http_status = 200;
  replay.http_reason = "OK";
  replay.response_body = "{\"MessageType\":\"JoinAns\",\n\"Lifetime\":null}";
  replay.elapsed_ms = 8;

  TraceExchange tls;
  tls.label = "tls/unknown-client-ca step 1: TLS handshake";
  tls.url = "https://127.0.0.1:4443/";
  tls.transport_error = "TLS handshake failed: certificate unknown (alert 46)";
  tls.elapsed_ms = 3.5;

  TraceExchange async;
  async.label = "async/answer step 1: JoinReq";
  async.url = "http://127.0.0.1:4000/";
  async.request_body = "{}";
  async.http_status = 202;
  async.http_reason = "Accepted";
  async.async_answer_body = R"({"MessageType":"JoinAns","Result":{"ResultCode":"Success"}})";
  async.elapsed_ms = 40.25;

  report.exchanges = {join, replay, tls, async};

  auto pass =
      result("header/message-type", Level::must, "MessageType is the answer type of the request",
             "TS002 1.0 §22.1, Table 12", Verdict::pass);
  pass.trace = {0, 3};
  pass.evaluations = 2;

  auto fail =
      result("header/transaction-id-echo", Level::must,
             "The answer carries the request's TransactionID", "TS002 1.0 §22.1", Verdict::fail);
  fail.expected = "TransactionID 42";
  fail.actual = "TransactionID 43";
  fail.reason = "the answer belongs to another transaction";
  fail.scenario = "header/transaction-id-echo step 1";
  fail.trace = {0};
  fail.evaluations = 3;
  fail.failed_evaluations = 1;

  auto warn =
      result("encoding/no-null", Level::should, "Absent optional fields are omitted, never null",
             "TS002 1.0 §22.3", Verdict::warn);
  warn.expected = "Lifetime absent";
  warn.actual = "Lifetime: null";
  warn.reason = "null instead of an absent field";
  warn.known_deviation = "vendor-x sends null for absent fields";
  warn.scenario = "devnonce/replay-1.0.4 step 2";
  warn.trace = {1};
  warn.failed_evaluations = 1;

  auto skip = result("header/receiver-nsid-echo", Level::must,
                     "Under TS002 1.1 the request's SenderNSID is echoed", "TS002 1.1 §23.1",
                     Verdict::skip);
  skip.reason = "the run uses TS002 1.0, which has no SenderNSID";
  skip.evaluations = 0;

  auto error =
      result("tls/unknown-client-ca", Level::must,
             "A client certificate from an unknown CA is refused", "TS002 1.0 §20", Verdict::error);
  error.expected = "handshake refused";
  error.reason = "the harness could not read tls/ca.pem: No such file or directory";
  error.scenario = "tls/unknown-client-ca step 1";
  error.trace = {2};

  report.results = {pass, fail, warn, skip, error};
  return report;
}

// A directory of its own per test, removed at the end.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("joincheck-reports-" + std::to_string(::getpid()) + "-" + name)) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

struct CommandResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string output;  // stdout and stderr
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) result.output.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != -1 && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace joincheck::reports::test_support
