// `joincheck report merge`: JSON reports of one command merged into one and written as JSON,
// JUnit and HTML like the report of a single run.
//  - joincheck run (conformance/report_merge.hpp): runs against one Join Server (a CI matrix of
//    --only groups, or of fleets), each check's worst verdict, judged like a run (--strict).
//  - joincheck load (load/load_result.hpp): the shards of one load test, added exactly, judged by
//    the shards' assertions.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "conformance/json_reader.hpp"
#include "conformance/report_merge.hpp"
#include "load/load_result.hpp"
#include "lorawan/hex.hpp"
#include "reports/console.hpp"
#include "reports/json_report.hpp"
#include "reports/load_report.hpp"

namespace joincheck::cli {

namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> asserts;
  bool allow_partial = false;
  bool strict = false;
  reports::ReportFiles reports;
};

nlohmann::ordered_json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read it");
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return nlohmann::ordered_json::parse(text.str());
  } catch (const nlohmann::ordered_json::parse_error& e) {
    throw std::runtime_error(path + ": not JSON (" + e.what() + ")");
  }
}

// The command whose report `document` is: its "command" ("run", "load", "doctor"), or "run" for
// a report without one (reports/json_report.cpp wrote none before it wrote "run").
std::string command_of(const nlohmann::ordered_json& document, const std::string& path) {
  const conformance::JsonReader top(document, path);
  const nlohmann::ordered_json* command = top.find("command");
  if (command == nullptr) return "run";
  if (!command->is_string()) top.fail("command", "\"run\" or \"load\"", conformance::JsonReader::type_of(*command));
  return command->get<std::string>();
}

// A command's name as a document gave it: quoted unless it is one joincheck writes.
std::string shown(const std::string& command) {
  return command == "run" || command == "load" || command == "doctor" || command == "gateway"
             ? command
             : lorawan::quote_for_error(command);
}

// The options of the other kind of report are a usage error, not silently ignored.
void check_options(const MergeArgs& a, const std::string& command) {
  const std::string& first = a.inputs.front();
  if (command == "run" && (!a.asserts.empty() || a.allow_partial)) {
    throw std::runtime_error("--assert and --allow-partial are for the reports of joincheck load; " + first +
                             " is a report of joincheck run, judged by its checks (--strict: warnings fail too)");
  }
  if (command == "load" && a.strict) {
    throw std::runtime_error("--strict is for the reports of joincheck run; " + first +
                             " is a report of joincheck load, judged by its assertions (--assert)");
  }
  if (command != "run" && command != "load") {
    throw std::runtime_error(first + ": a report of joincheck " + shown(command) +
                             ": report merge merges the JSON reports of joincheck run or of joincheck load");
  }
}

int finish_load(const MergeArgs& a, const load::LoadResult& merged, const std::vector<load::Assertion>& asserts) {
  if (const std::string missing = load::missing_shards(merged); !missing.empty() && !a.allow_partial) {
    std::cerr << "joincheck report merge: " << missing
              << ": a merge of part of a sharded test is not the test (--allow-partial merges it anyway)\n";
    return kExitUsage;
  }
  const std::vector<load::AssertionOutcome> outcomes = load::judge(merged, asserts);
  bool passed = true;
  for (const auto& o : outcomes) {
    passed = passed && o.passed;
    std::cout << (o.passed ? "PASS" : "FAIL") << "  " << o.assertion.text << ": " << o.message << "\n";
  }
  std::cout << a.inputs.size() << " report(s) merged: " << merged.sent
            << (merged.requests.size() > 1 ? " requests sent, " : " JoinReqs sent, ") << merged.ok
            << " verified, " << merged.errors << " errors\n";
  try {
    reports::write_load_reports(merged, outcomes, a.reports);
  } catch (const std::exception& e) {
    std::cerr << "joincheck report merge: " << e.what() << "\n";
    return kExitUsage;
  }
  return passed ? kExitOk : kExitFailed;
}

// The merged runs judged as `joincheck run` judges one: a line per check that did not pass (and
// per skipped check when nothing was judged), the summary, the exit code of RunReport.
int finish_run(const MergeArgs& a, const std::vector<conformance::NamedRunReport>& runs) {
  conformance::RunReport merged;
  try {
    merged = conformance::merge_runs(runs);
  } catch (const conformance::RunMergeError& e) {
    std::cerr << "joincheck report merge: " << e.what() << "\n";
    return kExitUsage;
  }
  reports::ConsoleReporter console(std::cout, reports::stdout_is_terminal());
  const bool nothing_judged = merged.nothing_judged();
  for (const conformance::CheckResult& r : merged.results) {
    if (r.verdict != conformance::Verdict::pass && (r.verdict != conformance::Verdict::skip || nothing_judged)) {
      console.check_line(r);
    }
  }
  std::cout << runs.size() << " report(s) of joincheck run merged\n";
  console.summary(merged);
  int code = merged.exit_code(a.strict);
  try {
    reports::write_reports(merged, "run", a.reports);
  } catch (const std::exception& e) {
    std::cerr << "joincheck report merge: " << e.what() << "\n";
    code = kExitUsage;
  }
  return code;
}

int merge(const MergeArgs& a) {
  if (a.reports.json.empty() && a.reports.junit.empty() && a.reports.html.empty()) {
    std::cerr << "joincheck report merge: nothing to write: give --json, --junit or --html\n";
    return kExitUsage;
  }
  std::string command;  // the first report's; every other must be of the same
  load::LoadResult merged_load;
  std::vector<load::Assertion> asserts;
  std::vector<conformance::NamedRunReport> runs;
  try {
    for (const std::string& text : a.asserts) asserts.push_back(load::parse_assertion(text));
    for (std::size_t i = 0; i < a.inputs.size(); ++i) {
      const std::string& path = a.inputs[i];
      const nlohmann::ordered_json document = read_json_file(path);
      const std::string kind = command_of(document, path);
      if (i == 0) {
        command = kind;
        check_options(a, command);
      } else if (kind != command) {
        throw std::runtime_error(path + " is a report of joincheck " + shown(kind) + ", " +
                                 a.inputs.front() + " of joincheck " + command +
                                 ": merge the reports of one command");
      }
      if (command == "run") {
        runs.push_back({path, reports::run_report_from_json(document, path)});
        continue;
      }
      const load::LoadResult part = load::load_result_from_json(document, path);
      if (a.asserts.empty() && i == 0) asserts = load::assertions_from_json(document, path);
      try {
        load::merge(merged_load, part);
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error(path + ": " + e.what());
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "joincheck report merge: " << e.what() << "\n";
    return kExitUsage;
  }
  return command == "run" ? finish_run(a, runs) : finish_load(a, merged_load, asserts);
}

}  // namespace

std::function<int()> add_report_command(CLI::App& app) {
  auto a = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand("report", "Work with report files");
  cmd->require_subcommand(1);
  CLI::App* m = cmd->add_subcommand(
      "merge",
      "Merge JSON reports into one: of joincheck run against one Join Server (each check's worst verdict, judged "
      "like one run), or of the shards of joincheck load (counts and histograms add exactly)");
  m->add_option("inputs", a->inputs,
                "JSON reports, all of joincheck run (same target, profile and ProtocolVersion) or all of joincheck "
                "load (one per shard)")
      ->required();
  m->add_option("--assert", a->asserts,
                "load reports: judge the merged run by these (default: the first report's assertions)");
  m->add_flag("--allow-partial", a->allow_partial, "load reports: merge even when shards of the split are missing");
  m->add_flag("--strict", a->strict, "run reports: warnings fail the merged report (exit 1), as joincheck run --strict");
  add_report_options(*m, a->reports);
  return [a] { return merge(*a); };
}

}  // namespace joincheck::cli
