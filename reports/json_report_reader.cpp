// run_report_from_json (reports/json_report.hpp): the JSON report of a run read back, member by
// member in the order json_report.cpp writes them, each checked with conformance::JsonReader.
#include <array>
#include <cctype>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "conformance/json_reader.hpp"
#include "lorawan/hex.hpp"
#include "reports/json_report.hpp"

namespace joincheck::reports {

using conformance::CheckResult;
using conformance::JsonReader;
using conformance::RunReport;
using conformance::TraceExchange;
using json = nlohmann::ordered_json;

namespace {

std::string at_index(const std::string& member, std::size_t i) { return member + "[" + std::to_string(i) + "]"; }

// A short quote of what a document holds where a name was expected (never a peer's body).
std::string seen_text(const json& j) {
  return j.is_string() ? lorawan::quote_for_error(j.get<std::string>()) : JsonReader::type_of(j);
}

std::vector<std::string> strings(const JsonReader& r, const std::string& member) {
  const json& list = r.array(member);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_string()) r.fail(at_index(member, i), "a string", JsonReader::type_of(list[i]));
    out.push_back(list[i].get<std::string>());
  }
  return out;
}

// [[name, value], ...]: headers as json_report.cpp writes them.
std::vector<std::pair<std::string, std::string>> headers(const JsonReader& r, const std::string& member) {
  const json& list = r.array(member);
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& pair = list[i];
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_string() || !pair[1].is_string()) {
      r.fail(at_index(member, i), "a [name, value] pair of strings",
             pair.is_array() ? "an array of " + std::to_string(pair.size()) + " element(s)" : JsonReader::type_of(pair));
    }
    out.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  }
  return out;
}

// `bytes` bytes in lower-case hex, as lorawan::to_hex writes them; their value, MSB first.
std::uint32_t hex_number(const JsonReader& r, const std::string& member, std::size_t bytes) {
  const json& j = r.at(member);
  const std::string expected = std::to_string(bytes * 2) + " lower-case hex digits";
  if (!j.is_string()) r.fail(member, expected, JsonReader::type_of(j));
  const std::string text = j.get<std::string>();
  std::uint32_t value = 0;
  bool good = text.size() == bytes * 2;
  for (const char c : text) {
    const bool digit = c >= '0' && c <= '9';
    good = good && (digit || (c >= 'a' && c <= 'f'));
    value = value << 4 | static_cast<std::uint32_t>(digit ? c - '0' : c - 'a' + 10);
  }
  if (!good) r.fail(member, expected, lorawan::quote_for_error(text));
  return value;
}

// An integer from `lo` to `hi`.
std::int64_t bounded(const JsonReader& r, const std::string& member, std::int64_t lo, std::int64_t hi) {
  const json& j = r.at(member);
  const std::string expected = "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!j.is_number_integer()) r.fail(member, expected, JsonReader::type_of(j));
  if (j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(hi)) {
    r.fail(member, expected, JsonReader::type_of(j));
  }
  const auto v = j.get<std::int64_t>();
  if (v < lo || v > hi) r.fail(member, expected, JsonReader::type_of(j));
  return v;
}

conformance::TraceJoinAccept join_accept(const JsonReader& r) {
  r.only({"JoinNonce", "NetID", "DevAddr", "DLSettings", "RxDelay", "CFList", "MIC", "mode", "accepted", "refusal"});
  conformance::TraceJoinAccept a;
  a.join_nonce = hex_number(r, "JoinNonce", 3);
  a.net_id = r.text("NetID");
  a.dev_addr = r.text("DevAddr");
  a.dl_settings = static_cast<std::uint8_t>(hex_number(r, "DLSettings", 1));
  a.rx_delay = static_cast<std::uint8_t>(bounded(r, "RxDelay", 0, 255));
  // null for an accept without a CFList; json_report never writes "".
  if (const json& cf = r.at("CFList"); !cf.is_null()) {
    if (!cf.is_string() || cf.get<std::string>().empty()) r.fail("CFList", "hex, or null for none", seen_text(cf));
    a.cf_list = cf.get<std::string>();
  }
  a.mic = r.text("MIC");
  a.mode = r.text("mode");
  a.accepted = r.boolean("accepted");
  a.refusal = r.text("refusal");
  return a;
}

TraceExchange exchange(const JsonReader& r, std::size_t index) {
  r.only({"index", "label", "url", "request_headers", "request_body", "http_status", "http_reason", "response_headers",
          "response_body", "async_answer_body", "transport_error", "elapsed_ms", "notes", "join_accept"});
  if (r.count("index") != index) {
    r.fail("index", std::to_string(index) + " (exchanges in order)", JsonReader::type_of(r.at("index")));
  }
  TraceExchange e;
  e.label = r.text("label");
  e.url = r.text("url");
  e.request_headers = headers(r, "request_headers");
  e.request_body = r.text("request_body");
  e.http_status = static_cast<int>(bounded(r, "http_status", 0, 999));
  e.http_reason = r.text("http_reason");
  e.response_headers = headers(r, "response_headers");
  e.response_body = r.text("response_body");
  e.async_answer_body = r.text("async_answer_body");
  e.transport_error = r.text("transport_error");
  // null: the clock gave no finite time (json_report writes a non-finite one so).
  e.elapsed_ms = r.at("elapsed_ms").is_null() ? std::numeric_limits<double>::quiet_NaN() : r.number("elapsed_ms");
  e.notes = strings(r, "notes");
  if (r.find("join_accept") != nullptr) e.join_accept = join_accept(JsonReader(r.at("join_accept"), r.where("join_accept")));
  return e;
}

template <class Value, std::size_t N>
Value named(const JsonReader& r, const std::string& member, const std::array<Value, N>& values) {
  const json& j = r.at(member);
  std::string names;
  for (const Value v : values) {
    if (j.is_string() && j.get<std::string>() == to_string(v)) return v;
    names += (names.empty() ? "" : ", ") + std::string(to_string(v));
  }
  r.fail(member, "one of " + names, seen_text(j));
}

CheckResult result(const JsonReader& r, std::size_t exchanges) {
  using conformance::Level;
  using conformance::Verdict;
  r.only({"id", "group", "level", "title", "spec", "verdict", "expected", "actual", "reason", "scenario",
          "known_deviation", "evaluations", "failed_evaluations", "trace"});
  CheckResult c;
  c.check.id = r.text("id");
  if (!conformance::is_valid_check_id(c.check.id)) {
    r.fail("id", "a check id <group>/<name>", lorawan::quote_for_error(c.check.id));
  }
  if (r.text("group") != c.check.group()) {
    r.fail("group", "\"" + std::string(c.check.group()) + "\" (the id's group)", seen_text(r.at("group")));
  }
  c.check.level = named(r, "level", std::array{Level::must, Level::should, Level::info});
  c.check.title = r.text("title");
  c.check.spec = r.text("spec");
  c.verdict = named(r, "verdict", std::array{Verdict::pass, Verdict::fail, Verdict::warn, Verdict::skip, Verdict::error});
  c.expected = r.text("expected");
  c.actual = r.text("actual");
  c.reason = r.text("reason");
  c.scenario = r.text("scenario");
  c.known_deviation = r.text("known_deviation");
  c.evaluations = r.count("evaluations");
  c.failed_evaluations = r.count("failed_evaluations");
  if (c.failed_evaluations > c.evaluations) {
    r.fail("failed_evaluations", "at most evaluations (" + std::to_string(c.evaluations) + ")",
           std::to_string(c.failed_evaluations));
  }
  const json& trace = r.array("trace");
  for (std::size_t i = 0; i < trace.size(); ++i) {
    const json& t = trace[i];
    const bool index = t.is_number_unsigned() || (t.is_number_integer() && t.get<std::int64_t>() >= 0);
    if (!index || t.get<std::uint64_t>() >= exchanges) {
      r.fail(at_index("trace", i), "the index of an exchange (fewer than " + std::to_string(exchanges) + ")",
             JsonReader::type_of(t));
    }
    c.trace.push_back(t.get<std::size_t>());
  }
  return c;
}

// "2026-11-25T21:42:59Z" (conformance::iso8601_utc), or "" when the run never started.
bool is_started_at(std::string_view text) {
  if (text.empty()) return true;
  constexpr std::string_view shape = "dddd-dd-ddTdd:dd:ddZ";
  if (text.size() != shape.size()) return false;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool ok = shape[i] == 'd' ? std::isdigit(static_cast<unsigned char>(text[i])) != 0 : text[i] == shape[i];
    if (!ok) return false;
  }
  return true;
}

}  // namespace

RunReport run_report_from_json(const json& document, std::string_view where_text) {
  const JsonReader top(document, std::string(where_text));
  top.only({"joincheck", "command", "target", "profile", "protocol_version", "mac_versions", "started_at", "duration_ms",
            "setup_error", "stopped_early", "summary", "results", "exchanges"});
  if (const json* command = top.find("command"); command != nullptr && *command != "run") {
    top.fail("command", "\"run\" (a report of joincheck run)", seen_text(*command));
  }
  const JsonReader build(top.object("joincheck"), top.where("joincheck"));
  build.only({"version", "commit"});
  (void)build.text("version");
  (void)build.text("commit");

  RunReport report;
  report.target = top.text("target");
  report.profile = top.text("profile");
  report.protocol_version = top.text("protocol_version");
  report.mac_versions = strings(top, "mac_versions");
  report.started_at = top.text("started_at");
  if (!is_started_at(report.started_at)) {
    top.fail("started_at", "a UTC time YYYY-MM-DDTHH:MM:SSZ, or \"\"", lorawan::quote_for_error(report.started_at));
  }
  const std::uint64_t duration = top.count("duration_ms");
  if (duration > static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max())) {
    top.fail("duration_ms", "a duration in milliseconds", JsonReader::type_of(top.at("duration_ms")));
  }
  report.duration = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(duration));
  report.setup_error = top.text("setup_error");
  report.stopped_early = top.text("stopped_early");

  // Exchanges before results: a result's trace indexes them.
  const json& exchanges = top.array("exchanges");
  for (std::size_t i = 0; i < exchanges.size(); ++i) {
    report.exchanges.push_back(exchange(JsonReader(exchanges[i], top.where(at_index("exchanges", i))), i));
  }
  const json& results = top.array("results");
  for (std::size_t i = 0; i < results.size(); ++i) {
    report.results.push_back(result(JsonReader(results[i], top.where(at_index("results", i))), exchanges.size()));
  }

  // The summary is written from the results: a summary that disagrees is an edited report.
  const JsonReader summary(top.object("summary"), top.where("summary"));
  summary.only({"pass", "fail", "warn", "skip", "error", "total"});
  const conformance::RunCounts c = report.counts();
  const std::array<std::pair<const char*, std::size_t>, 6> counted = {
      {{"pass", c.pass}, {"fail", c.fail}, {"warn", c.warn}, {"skip", c.skip}, {"error", c.error}, {"total", c.total()}}};
  for (const auto& [name, n] : counted) {
    if (summary.count(name) != n) {
      summary.fail(name, std::to_string(n) + " (the count of \"results\")", std::to_string(summary.count(name)));
    }
  }
  return report;
}

}  // namespace joincheck::reports
