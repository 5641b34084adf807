// joincheck: conformance harness and simulator for LoRaWAN Join Servers.
#include <iostream>
#include <string>

#include "cli/commands.hpp"
#include "reports/build_info.hpp"

namespace {

// An option given an empty value (`--target "$JS_URL"` with the variable unset) is a usage
// error in every command: an empty target, fleet or report file must never quietly fall back to
// a default and end in exit 0. Prints one line and returns false for the first such option.
bool refuse_empty_values(const CLI::App& app, const std::string& command) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->count() == 0 || opt->get_expected_max() == 0) continue;  // flags take no value
    for (const std::string& value : opt->results()) {
      if (!value.empty()) continue;
      std::cerr << command << ": " << opt->get_name() << ": expected a value (" << opt->get_description()
                << "), got an empty value (is a shell variable unset?)\n";
      return false;
    }
  }
  for (const CLI::App* sub : app.get_subcommands()) {
    if (!refuse_empty_values(*sub, command + " " + sub->get_name())) return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"joincheck: test a LoRaWAN Join Server against the Backend Interfaces specification"};
  app.require_subcommand(1);
  app.set_version_flag("--version", joincheck::reports::version_line());
  auto run_decode = joincheck::cli::add_decode_command(app);
  auto run_serve_js = joincheck::cli::add_serve_js_command(app);
  auto run_devices = joincheck::cli::add_devices_command(app);
  auto run_run = joincheck::cli::add_run_command(app);
  auto run_list = joincheck::cli::add_list_command(app);
  auto run_doctor = joincheck::cli::add_doctor_command(app);
  auto run_gateway = joincheck::cli::add_gateway_command(app);
  auto run_serve_ns = joincheck::cli::add_serve_ns_command(app);
  auto run_load = joincheck::cli::add_load_command(app);
  auto run_report = joincheck::cli::add_report_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    // CLI11 reports usage errors with its own codes; joincheck's contract is 2 for usage.
    return code == 0 ? 0 : joincheck::cli::kExitUsage;
  }
  if (!refuse_empty_values(app, "joincheck")) return joincheck::cli::kExitUsage;
  if (app.got_subcommand("decode")) return run_decode();
  if (app.got_subcommand("serve-js")) return run_serve_js();
  if (app.got_subcommand("devices")) return run_devices();
  if (app.got_subcommand("run")) return run_run();
  if (app.got_subcommand("list")) return run_list();
  if (app.got_subcommand("doctor")) return run_doctor();
  if (app.got_subcommand("gateway")) return run_gateway();
  if (app.got_subcommand("serve-ns")) return run_serve_ns();
  if (app.got_subcommand("load")) return run_load();
  if (app.got_subcommand("report")) return run_report();
  return joincheck::cli::kExitUsage;
}
