// `joincheck report merge`: the JSON reports of load shards (joincheck load --shard K/N --json)
// merged into one, exactly (load/load_result.hpp), judged by the shards' assertions, and written
// as JSON, JUnit and HTML like the report of a single run.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "load/load_result.hpp"
#include "reports/load_report.hpp"

namespace joincheck::cli {

namespace {

struct MergeArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> asserts;
  bool allow_partial = false;
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

int merge(const MergeArgs& a) {
  if (a.reports.json.empty() && a.reports.junit.empty() && a.reports.html.empty()) {
    std::cerr << "joincheck report merge: nothing to write: give --json, --junit or --html\n";
    return kExitUsage;
  }
  load::LoadResult merged;
  std::vector<load::Assertion> asserts;
  try {
    for (const std::string& text : a.asserts) asserts.push_back(load::parse_assertion(text));
    for (std::size_t i = 0; i < a.inputs.size(); ++i) {
      const nlohmann::ordered_json document = read_json_file(a.inputs[i]);
      const load::LoadResult part = load::load_result_from_json(document, a.inputs[i]);
      if (a.asserts.empty() && i == 0) asserts = load::assertions_from_json(document, a.inputs[i]);
      try {
        load::merge(merged, part);
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error(a.inputs[i] + ": " + e.what());
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "joincheck report merge: " << e.what() << "\n";
    return kExitUsage;
  }
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
  std::cout << a.inputs.size() << " report(s) merged: " << merged.sent << " JoinReqs sent, " << merged.ok
            << " verified, " << merged.errors << " errors\n";
  try {
    reports::write_load_reports(merged, outcomes, a.reports);
  } catch (const std::exception& e) {
    std::cerr << "joincheck report merge: " << e.what() << "\n";
    return kExitUsage;
  }
  return passed ? kExitOk : kExitFailed;
}

}  // namespace

std::function<int()> add_report_command(CLI::App& app) {
  auto a = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand("report", "Work with report files");
  cmd->require_subcommand(1);
  CLI::App* m = cmd->add_subcommand(
      "merge", "Merge the JSON reports of load shards into one (counts and histograms add exactly)");
  m->add_option("inputs", a->inputs, "JSON reports of joincheck load (one per shard)")->required();
  m->add_option("--assert", a->asserts, "judge the merged run by these (default: the first report's assertions)");
  m->add_flag("--allow-partial", a->allow_partial, "merge even when shards of the split are missing");
  add_report_options(*m, a->reports);
  return [a] { return merge(*a); };
}

}  // namespace joincheck::cli
