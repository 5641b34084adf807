#pragma once
// The joincheck subcommands. Each registers itself on the CLI11 app; the logic lives in the
// library layers, this folder only parses options and prints.

#include <CLI/CLI.hpp>

#include "reports/report_files.hpp"

namespace joincheck::cli {

// Exit codes (DESIGN.md): 0 ok, 1 a check failed, 2 usage or configuration error,
// 3 target unreachable.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

// --junit FILE, --json FILE and --html FILE of a command that writes reports.
void add_report_options(CLI::App& command, reports::ReportFiles& files);

// Registers `decode`; the returned function runs it after parsing and returns the exit code.
std::function<int()> add_decode_command(CLI::App& app);
// Registers `serve-js`.
std::function<int()> add_serve_js_command(CLI::App& app);
// Registers `devices` (generate, export).
std::function<int()> add_devices_command(CLI::App& app);
// Registers `run` (the conformance suite) and `list` (the check catalog).
std::function<int()> add_run_command(CLI::App& app);
std::function<int()> add_list_command(CLI::App& app);
// Registers `doctor` (a ChirpStack configuration and its Join Servers).
std::function<int()> add_doctor_command(CLI::App& app);
// Registers `gateway` (devices join and send through an NS by way of simulated gateways).
std::function<int()> add_gateway_command(CLI::App& app);
// Registers `serve-ns` (joincheck's Network Server as a process).
std::function<int()> add_serve_ns_command(CLI::App& app);
// Registers `load` (join storms and sustained rates, every answer verified).
std::function<int()> add_load_command(CLI::App& app);
// Registers `report` (merge).
std::function<int()> add_report_command(CLI::App& app);

}  // namespace joincheck::cli
