#include "reports/json_report.hpp"

#include <cmath>
#include <cstdint>

#include "lorawan/hex.hpp"
#include "reports/build_info.hpp"
#include "reports/junit.hpp"

namespace joincheck::reports {

using conformance::RunReport;
using conformance::TraceExchange;
using json = nlohmann::ordered_json;

namespace {

json headers(const std::vector<std::pair<std::string, std::string>>& list) {
  // Pairs, not an object: HTTP allows a header twice, and the order is part of what was seen.
  json out = json::array();
  for (const auto& [name, value] : list) out.push_back(json::array({name, value}));
  return out;
}

// TS002 names, hex as DESIGN.md writes it (JoinNonce MSB first, CFList and MIC as on the air).
json join_accept(const conformance::TraceJoinAccept& a) {
  const auto byte_hex = [](std::uint8_t b) { return lorawan::to_hex(lorawan::ByteSpan(&b, 1)); };
  const std::uint8_t nonce[3] = {static_cast<std::uint8_t>(a.join_nonce >> 16),
                                 static_cast<std::uint8_t>(a.join_nonce >> 8),
                                 static_cast<std::uint8_t>(a.join_nonce)};
  return json{
      {"JoinNonce", lorawan::to_hex(nonce)},
      {"NetID", a.net_id},
      {"DevAddr", a.dev_addr},
      {"DLSettings", byte_hex(a.dl_settings)},
      {"RxDelay", a.rx_delay},
      {"CFList", a.cf_list.empty() ? json(nullptr) : json(a.cf_list)},
      {"MIC", a.mic},
      {"mode", a.mode},
      {"accepted", a.accepted},
      {"refusal", a.refusal},
  };
}

json exchange(const TraceExchange& e, std::size_t index) {
  json notes = json::array();
  for (const auto& note : e.notes) notes.push_back(note);
  json out{
      {"index", index},
      {"label", e.label},
      {"url", e.url},
      {"request_headers", headers(e.request_headers)},
      {"request_body", e.request_body},
      {"http_status", e.http_status},
      {"http_reason", e.http_reason},
      {"response_headers", headers(e.response_headers)},
      {"response_body", e.response_body},
      {"async_answer_body", e.async_answer_body},
      {"transport_error", e.transport_error},
      // JSON has no NaN or infinity; a broken clock is recorded as null, not as a bad document.
      {"elapsed_ms", std::isfinite(e.elapsed_ms) ? json(e.elapsed_ms) : json(nullptr)},
      {"notes", std::move(notes)},
  };
  if (e.join_accept) out["join_accept"] = join_accept(*e.join_accept);
  return out;
}

}  // namespace

json build_info_json() {
  const BuildInfo info = build_info();
  return json{{"version", info.version}, {"commit", info.commit}};
}

json json_report(const RunReport& report, std::string_view command) {
  const auto c = report.counts();
  json results = json::array();
  for (const auto& r : report.results) {
    results.push_back(json{
        {"id", r.check.id},
        {"group", std::string(r.check.group())},
        {"level", std::string(conformance::to_string(r.check.level))},
        {"title", r.check.title},
        {"spec", r.check.spec},
        {"verdict", std::string(conformance::to_string(r.verdict))},
        {"expected", r.expected},
        {"actual", r.actual},
        {"reason", r.reason},
        {"scenario", r.scenario},
        {"known_deviation", r.known_deviation},
        {"evaluations", r.evaluations},
        {"failed_evaluations", r.failed_evaluations},
        {"trace", r.trace},
    });
  }
  json exchanges = json::array();
  for (std::size_t i = 0; i < report.exchanges.size(); ++i) {
    exchanges.push_back(exchange(report.exchanges[i], i));
  }
  return json{
      {"joincheck", build_info_json()},
      {"command", std::string(command)},
      {"target", report.target},
      {"profile", report.profile},
      {"protocol_version", report.protocol_version},
      {"mac_versions", report.mac_versions},
      {"started_at", report.started_at},
      {"duration_ms", report.duration.count()},
      {"setup_error", report.setup_error},
      {"stopped_early", report.stopped_early},
      {"summary",
       {{"pass", c.pass},
        {"fail", c.fail},
        {"warn", c.warn},
        {"skip", c.skip},
        {"error", c.error},
        {"total", c.total()}}},
      {"results", std::move(results)},
      {"exchanges", std::move(exchanges)},
  };
}

std::string json_report_text(const RunReport& report, std::string_view command) {
  return json_report(report, command).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void write_json_report(const RunReport& report, const std::filesystem::path& path, std::string_view command) {
  write_report_file(path, json_report_text(report, command), "JSON report");
}

}  // namespace joincheck::reports
