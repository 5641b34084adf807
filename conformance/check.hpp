#pragma once
// The check catalog: every requirement joincheck judges, with a stable id, a level, a title and
// the specification reference it comes from (DESIGN.md "Check ids"). Ids are `<group>/<name>`
// and never change meaning once published; the JUnit testcase name is the id and its classname
// the group.
//
// The built-in scenarios declare the checks they judge the same way (scenarios/suite/*.json), and
// custom scenarios add checks of their own (their id, title, level and spec), so a Catalog is a
// value: the built-in one plus what a run's scenarios declare.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace joincheck::conformance {

enum class Level {
  must,    // a violation is a failure
  should,  // a violation is a warning
  info,    // reported for the record; a deviation is a warning
};
std::string_view to_string(Level level);  // "MUST", "SHOULD", "INFO"
// "MUST", "SHOULD", "INFO", any letter case; nullopt otherwise.
std::optional<Level> parse_level(std::string_view text);

struct CheckInfo {
  std::string id;     // "devnonce/replay-1.0.4"
  Level level = Level::must;
  std::string title;  // one line: what a conformant target does
  std::string spec;   // "LoRaWAN 1.0.4 §6.2.5; docs/checks.md#devnonce"

  std::string_view group() const;  // "devnonce"
  friend bool operator==(const CheckInfo&, const CheckInfo&) = default;
};

// False for the checks that say whether the device can talk after a join or rejoin (the
// join-accept decrypts and verifies, the session keys are the device's): no profile may turn
// their failure into a known deviation (conformance/profile.hpp).
bool profile_may_excuse(std::string_view id);

// "group/name": lower-case letters, digits, '.', '-' and one '/'; what `joincheck list` and
// --only/--skip accept.
bool is_valid_check_id(std::string_view id);

// Where the built-in checks are declared, each id in exactly one of them: the checks judged on
// every exchange (and the TLS checks), in conformance/check.cpp; the checks a scenario judges,
// beside their scenario in scenarios/suite/*.json ("id", "title", "level", "spec").
std::vector<CheckInfo> exchange_checks();
std::vector<CheckInfo> suite_checks();

class Catalog {
 public:
  // The checks joincheck ships: exchange_checks() and suite_checks(), grouped in a stable order.
  static const Catalog& builtin();

  const CheckInfo* find(std::string_view id) const;
  const CheckInfo& at(std::string_view id) const;  // throws std::out_of_range naming the id
  const std::vector<CheckInfo>& checks() const { return checks_; }

  // Adds a check (a custom scenario's). Throws std::invalid_argument when the id is malformed or
  // already taken by a different check.
  void add(CheckInfo check);

  // The ids an --only/--skip selector names: an exact id, or a group ("devnonce" or
  // "devnonce/"). Empty when it names nothing.
  std::vector<std::string> select(std::string_view selector) const;

 private:
  std::vector<CheckInfo> checks_;
};

}  // namespace joincheck::conformance
