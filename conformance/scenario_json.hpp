#pragma once
// Reading a scenario file's JSON, shared by scenario.cpp (the scenario) and scenario_step.cpp (its
// steps), not by the rest of joincheck. Every error starts with the source file and the scenario
// and names the field: "a.json: scenario \"x/y\": steps[2].DevNonce: expected ..., got 70000".

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "conformance/scenario.hpp"
#include "lorawan/error.hpp"

namespace joincheck::conformance::scenario_json {

using json = nlohmann::json;

// How a value appears in "got ..." of a message: short, and never a whole object.
std::string describe(const json& v);
std::string in_quotes(std::string_view text);
// "a", "b" or "c" (each quoted).
std::string one_of(std::initializer_list<std::string_view> words);

template <class Range>
std::string comma_list(const Range& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

// Where in the input a value is, and how to complain about it. Every message starts with the
// source file and the scenario (its id once known), so a user with many files finds the line.
class Where {
 public:
  Where(std::string source, std::string scenario) : source_(std::move(source)), scenario_(std::move(scenario)) {}

  void set_scenario(std::string scenario) { scenario_ = std::move(scenario); }

  std::string prefix() const { return scenario_.empty() ? source_ + ": " : source_ + ": " + scenario_ + ": "; }

  // `path` is the field ("steps[2].DevNonce"), `message` what was expected and seen.
  [[noreturn]] void fail(std::string_view path, std::string_view message) const {
    if (path.empty()) throw ScenarioError(prefix() + std::string(message));
    throw ScenarioError(prefix() + std::string(path) + ": " + std::string(message));
  }
  [[noreturn]] void expected(std::string_view path, std::string_view what, const json& got) const {
    fail(path, "expected " + std::string(what) + ", got " + describe(got));
  }

  // Runs a value parser of the lorawan or backend layer, whose errors already name `path`
  // (they are given it as the field name), and puts the file and scenario in front.
  template <class F>
  auto wrap(F&& f) const {
    try {
      return f();
    } catch (const ScenarioError&) {
      throw;
    } catch (const lorawan::Error& e) {
      throw ScenarioError(prefix() + e.what());
    }
  }

 private:
  std::string source_;
  std::string scenario_;
};

std::string child(std::string_view path, std::string_view key);  // "steps[2]", "DevNonce": "steps[2].DevNonce"
std::string index(std::string_view path, std::size_t i);         // "steps", 2: "steps[2]"

const std::string& get_string(const json& v, const Where& w, std::string_view path);
bool get_bool(const json& v, const Where& w, std::string_view path);
std::int64_t get_int(const json& v, const Where& w, std::string_view path, std::int64_t lo, std::int64_t hi);
const json& get_object(const json& v, const Where& w, std::string_view path);
const json& get_array(const json& v, const Where& w, std::string_view path);
// A typo in a field name must not be silently ignored: every key of `object` is one of `known`.
void check_keys(const json& object, const Where& w, std::string_view path,
                std::initializer_list<std::string_view> known);

// One element of a scenario's "steps" (scenario_step.cpp); `path` is "steps[2]".
Step parse_step(const json& v, const Where& w, std::string_view path, const Scenario& scenario,
                const Catalog& catalog);

}  // namespace joincheck::conformance::scenario_json
