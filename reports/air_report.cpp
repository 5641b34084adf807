#include "reports/air_report.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <pugixml.hpp>
#include <sstream>

#include "lorawan/region.hpp"
#include "reports/console.hpp"
#include "reports/json_report.hpp"
#include "reports/junit.hpp"
#include "reports/junit_xml.hpp"

namespace joincheck::reports {

using conformance::AirDeviceResult;
using conformance::AirReport;
using conformance::AirStep;
using conformance::Verdict;

namespace {

// Seconds with `decimals` decimals ("1.2"; the JUnit schema allows at most 3).
std::string seconds(std::chrono::milliseconds ms, int decimals) {
  return junit_seconds(static_cast<double>(ms.count()), decimals);
}

std::string upper(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string tag(Verdict verdict, bool colour) {
  std::string word = upper(conformance::to_string(verdict));
  const std::size_t pad = word.size() < 5 ? 5 - word.size() : 0;
  if (colour) {
    const char* code = verdict == Verdict::pass   ? "\x1b[32m"
                       : verdict == Verdict::skip ? "\x1b[2m"
                                                  : "\x1b[31m";
    word = code + word + "\x1b[0m";
  }
  return word + std::string(pad, ' ');
}

std::string uplinks_text(const AirDeviceResult& d, std::size_t planned, bool confirmed) {
  if (planned == 0) return {};
  return ", " + std::to_string(confirmed ? d.uplinks_acknowledged : d.uplinks_sent) + "/" +
         std::to_string(planned) + (confirmed ? " uplinks acknowledged" : " uplinks sent");
}

// The uplink steps of a device: how many were planned, and whether they were confirmed.
std::pair<std::size_t, bool> planned_uplinks(const AirDeviceResult& d) {
  std::size_t n = 0;
  bool confirmed = true;
  for (const AirStep& s : d.steps) {
    if (s.name.rfind("uplink ", 0) != 0) continue;
    ++n;
    confirmed = s.name.size() > 13 && s.name.compare(s.name.size() - 13, 13, " acknowledged") == 0;
  }
  return {n, confirmed};
}

std::string steps_text(const AirDeviceResult& d) {
  std::string out;
  for (const AirStep& s : d.steps) {
    out += std::string(conformance::to_string(s.verdict)) + "  " + s.name + ": " + s.detail + "\n";
  }
  return printable(out);
}

void attr(pugi::xml_node node, const char* name, std::string_view value) { xml_attr(node, name, value); }
void property(pugi::xml_node properties, const char* name, std::string_view value) {
  xml_property(properties, name, value);
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

}  // namespace

std::string air_device_line(const AirDeviceResult& d, bool colour) {
  const Verdict v = d.verdict();
  std::string line = tag(v, colour) + " " + d.dev_eui + " " + d.mac_version + " ";
  if (v == Verdict::skip) {
    const std::string why = d.steps.empty() ? std::string("not run") : d.steps.front().detail;
    return line + printable(why);
  }
  if (!d.died_at.empty()) return line + "died at " + printable(d.died_at) + ": " + printable(d.died_detail);
  const auto [planned, confirmed] = planned_uplinks(d);
  line += "joined in " + d.join_window + " (" + printable(d.join_datr) + " " +
          lorawan::mhz_text(d.join_frequency_hz) + ", " +
          seconds(d.join_time.value_or(std::chrono::milliseconds(0)), 1) + " s)";
  return line + uplinks_text(d, planned, confirmed);
}

std::string air_summary_line(const AirReport& r) {
  const auto c = r.counts();
  std::string line = "joincheck gateway: ";
  if (!r.setup_error.empty()) {
    return line + "the NS at " + printable(r.ns) + " could not be reached: " + printable(r.setup_error);
  }
  line += std::to_string(c.total()) + (c.total() == 1 ? " device: " : " devices: ") + std::to_string(c.pass) +
          " pass, " + std::to_string(c.fail) + " fail, " + std::to_string(c.error) + " error";
  if (c.skip > 0) line += ", " + std::to_string(c.skip) + " skip";
  line += " in " + seconds(r.duration, 1) + " s (NS " + printable(r.ns) + ", " + r.region + ", " +
          std::to_string(r.gateways.size()) + (r.gateways.size() == 1 ? " gateway, " : " gateways, ") +
          std::to_string(r.uplinks) + (r.confirmed ? " confirmed" : " unconfirmed") +
          (r.uplinks == 1 ? " uplink" : " uplinks") + " per device)";
  if (r.cancelled) line += "; cancelled, " + std::to_string(r.devices_not_run) + " not run";
  return line;
}

std::string air_junit_xml(const AirReport& r) {
  pugi::xml_document doc;
  auto decl = doc.append_child(pugi::node_declaration);
  decl.append_attribute("version").set_value("1.0");
  decl.append_attribute("encoding").set_value("UTF-8");

  auto c = r.counts();
  const bool setup_case = !r.setup_error.empty();
  if (setup_case) ++c.error;
  const std::string time = seconds(r.duration, 3);

  auto suites = doc.append_child("testsuites");
  attr(suites, "name", "joincheck");
  attr(suites, "tests", std::to_string(c.total()));
  attr(suites, "failures", std::to_string(c.fail));
  attr(suites, "errors", std::to_string(c.error));
  attr(suites, "time", time);

  auto suite = suites.append_child("testsuite");
  attr(suite, "name", "gateway");
  attr(suite, "tests", std::to_string(c.total()));
  attr(suite, "failures", std::to_string(c.fail));
  attr(suite, "errors", std::to_string(c.error));
  attr(suite, "skipped", std::to_string(c.skip));
  attr(suite, "time", time);
  if (!r.started_at.empty()) attr(suite, "timestamp", r.started_at);

  auto properties = suite.append_child("properties");
  xml_build_info(properties);
  property(properties, "ns", r.ns);
  property(properties, "region", r.region);
  property(properties, "gateways", join_list(r.gateways));
  property(properties, "uplinks", std::to_string(r.uplinks));
  property(properties, "confirmed", r.confirmed ? "true" : "false");
  property(properties, "started_at", r.started_at);
  if (!r.setup_error.empty()) property(properties, "setup_error", r.setup_error);
  if (r.cancelled) property(properties, "cancelled", "true");

  if (setup_case) {
    auto tc = suite.append_child("testcase");
    attr(tc, "name", "setup/ns-reachable");
    attr(tc, "classname", "gateway");
    attr(tc, "time", time);
    auto error = tc.append_child("error");
    attr(error, "message", r.setup_error);
    attr(error, "type", "error");
    error.text().set(("the NS could not be reached: " + printable(r.setup_error) + "\nNS: " + printable(r.ns) + "\n")
                         .c_str());
  }
  for (const AirDeviceResult& d : r.devices) {
    auto tc = suite.append_child("testcase");
    attr(tc, "name", d.dev_eui);
    attr(tc, "classname", "gateway." + d.mac_version);
    attr(tc, "time", seconds(d.duration, 3));
    const Verdict v = d.verdict();
    const std::string steps = steps_text(d);
    if (v == Verdict::fail || v == Verdict::error) {
      auto node = tc.append_child(v == Verdict::fail ? "failure" : "error");
      attr(node, "message", "died at " + d.died_at + ": " + d.died_detail);
      attr(node, "type", d.died_at);
      node.text().set(("died at " + printable(d.died_at) + ": " + printable(d.died_detail) + "\n").c_str());
    } else if (v == Verdict::skip) {
      auto node = tc.append_child("skipped");
      attr(node, "message", d.steps.empty() ? std::string("not run") : d.steps.front().detail);
    }
    tc.append_child("system-out").text().set(steps.c_str());
  }
  std::ostringstream out;
  doc.save(out, "  ", pugi::format_default, pugi::encoding_utf8);
  return out.str();
}

nlohmann::ordered_json air_json_report(const AirReport& r) {
  using nlohmann::ordered_json;
  ordered_json out;
  out["joincheck"] = build_info_json();
  out["command"] = "gateway";  // as run, doctor and load reports say theirs (joincheck report merge reads it)
  out["ns"] = r.ns;
  out["region"] = r.region;
  out["gateways"] = r.gateways;
  out["uplinks"] = r.uplinks;
  out["confirmed"] = r.confirmed;
  out["started_at"] = r.started_at;
  out["duration_ms"] = r.duration.count();
  out["setup_error"] = r.setup_error;
  out["cancelled"] = r.cancelled;
  out["devices_not_run"] = r.devices_not_run;
  const auto c = r.counts();
  out["summary"] = {{"pass", c.pass}, {"fail", c.fail}, {"error", c.error}, {"skip", c.skip}, {"total", c.total()}};
  out["exit_code"] = r.exit_code();
  ordered_json devices = ordered_json::array();
  for (const AirDeviceResult& d : r.devices) {
    ordered_json o;
    o["DevEUI"] = d.dev_eui;
    o["MACVersion"] = d.mac_version;
    o["verdict"] = std::string(conformance::to_string(d.verdict()));
    o["died_at"] = d.died_at.empty() ? ordered_json(nullptr)
                                     : ordered_json{{"step", d.died_at}, {"detail", d.died_detail}};
    o["DevAddr"] = d.dev_addr.empty() ? ordered_json(nullptr) : ordered_json(d.dev_addr);
    if (d.join_time) {
      o["join"] = {{"window", d.join_window},
                   {"datr", d.join_datr},
                   {"frequency_hz", d.join_frequency_hz},
                   {"gateway", d.join_gateway},
                   {"time_ms", d.join_time->count()}};
    } else {
      o["join"] = nullptr;
    }
    o["uplinks_sent"] = d.uplinks_sent;
    o["uplinks_acknowledged"] = d.uplinks_acknowledged;
    o["duration_ms"] = d.duration.count();
    ordered_json steps = ordered_json::array();
    for (const AirStep& s : d.steps) {
      steps.push_back({{"name", s.name},
                       {"verdict", std::string(conformance::to_string(s.verdict))},
                       {"detail", s.detail},
                       {"elapsed_ms", s.elapsed.count()}});
    }
    o["steps"] = std::move(steps);
    devices.push_back(std::move(o));
  }
  out["devices"] = std::move(devices);
  return out;
}

std::string air_json_text(const AirReport& report) {
  return air_json_report(report).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace joincheck::reports
