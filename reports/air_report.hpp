#pragma once
// The reports of an over-the-air run (`joincheck gateway`, conformance/air_run.hpp): a console
// line per device and a summary, JUnit XML and JSON (the HTML page draws the JSON:
// reports/html_report.hpp; reports/report_files.hpp writes the files). Like the other reports, they hold no logic:
// every fact and verdict is the AirReport's. No key is in an AirReport, so none is here.
//
// Console:
//   PASS  0102030405060708 1.0.3 joined in RX1 (SF7BW125 868.100 MHz, 1.2 s), 1/1 uplinks acknowledged
//   FAIL  0102030405060709 1.0.4 died at join-accept window: tmst is uplink tmst + 4000000 us; ...
//   ERROR 010203040506070a 1.1 died at join-request sent: no gateway's PUSH_DATA was acknowledged ...
//   SKIP  010203040506070b 1.1 not run: the run was cancelled
//   joincheck gateway: 4 devices: 1 pass, 1 fail, 1 error, 1 skip in 14.2 s (NS 127.0.0.1:1700, EU868, ...)
//
// JUnit (validates against the Jenkins xUnit junit-10.xsd, tests/reports/schema/): <testsuites
// name="joincheck"> with one <testsuite name="gateway">, one <testcase> per device, its name the
// DevEUI and its classname "gateway.<MACVersion>"; a failed step is a <failure> (type: the step,
// message: "died at <step>: <detail>"), a harness error an <error>, a device never run <skipped/>;
// system-out lists every step with its verdict and detail. A setup error (the NS could not be
// reached) is one <testcase name="setup/ns-reachable"> with an <error>.
//
// JSON:
//   {"joincheck": {"version", "commit"}, "ns", "region", "gateways": [EUI, ..], "uplinks", "confirmed", "started_at", "duration_ms",
//    "setup_error" ("" when none), "cancelled", "devices_not_run",
//    "summary": {"pass", "fail", "error", "skip", "total"}, "exit_code",
//    "devices": [{"DevEUI", "MACVersion", "verdict", "died_at": {"step", "detail"} | null,
//                 "DevAddr" | null, "join": {"window", "datr", "frequency_hz", "gateway",
//                 "time_ms"} | null, "uplinks_sent", "uplinks_acknowledged", "duration_ms",
//                 "steps": [{"name", "verdict", "detail", "elapsed_ms"}]}]}

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "conformance/air_run.hpp"

namespace joincheck::reports {

// One line (no newline) for a device; `colour`: ANSI colour on the verdict.
std::string air_device_line(const conformance::AirDeviceResult& device, bool colour = false);
// The summary line (no newline), with the setup error or the cancellation when there was one.
std::string air_summary_line(const conformance::AirReport& report);

std::string air_junit_xml(const conformance::AirReport& report);
nlohmann::ordered_json air_json_report(const conformance::AirReport& report);
// Indented by 2, invalid UTF-8 replaced by U+FFFD, with a final newline.
std::string air_json_text(const conformance::AirReport& report);

}  // namespace joincheck::reports
