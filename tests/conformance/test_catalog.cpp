// The built-in catalog is built from two places (conformance/check.hpp): the checks judged on every
// exchange, in C++, and the checks a scenario judges, beside their scenario in
// scenarios/suite/*.json. Every id is declared in exactly one of them, every built-in scenario
// declares the check it judges, and the catalog keeps its groups together in a fixed order.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "conformance/check.hpp"
#include "conformance/scenario.hpp"

namespace joincheck::conformance {
namespace {

TEST(Catalog, EveryBuiltinIdIsDeclaredExactlyOnce) {
  std::map<std::string, int> declared;
  for (const auto& c : exchange_checks()) ++declared[c.id];
  for (const auto& c : suite_checks()) ++declared[c.id];
  for (const auto& [id, n] : declared) EXPECT_EQ(n, 1) << id << " is declared " << n << " times";
  EXPECT_EQ(Catalog::builtin().checks().size(), declared.size());
  EXPECT_EQ(exchange_checks().size() + suite_checks().size(), declared.size());
}

TEST(Catalog, EveryBuiltinScenarioDeclaresTheCheckItJudges) {
  std::set<std::string> declared;
  for (const auto& c : suite_checks()) {
    EXPECT_FALSE(c.title.empty()) << c.id;
    EXPECT_FALSE(c.spec.empty()) << c.id;
    declared.insert(c.id);
  }
  const auto& suite = builtin_suite();
  std::set<std::string> judged;
  for (const auto& s : suite) {
    judged.insert(s.id);
    const CheckInfo& info = Catalog::builtin().at(s.id);
    EXPECT_EQ(s.title, info.title) << s.id;
    EXPECT_EQ(s.level, info.level) << s.id;
    EXPECT_EQ(s.spec, info.spec) << s.id;
  }
  EXPECT_EQ(judged, declared) << "a suite check without its scenario, or a scenario without its check";
}

TEST(Catalog, GroupsStayTogetherInTheirOrder) {
  std::vector<std::string> groups;
  for (const auto& c : Catalog::builtin().checks()) {
    if (groups.empty() || groups.back() != c.group()) groups.emplace_back(c.group());
  }
  EXPECT_THAT(groups, ::testing::ElementsAre("http", "header", "encoding", "answer", "accept", "keys", "kek",
                                             "joinnonce", "join", "macversion", "devnonce", "protocol", "malformed",
                                             "hygiene", "appskey", "homens", "rejoin", "async", "tls", "timing", "air"));
  // Within a group, the exchange checks first, then the scenarios' in file order.
  const auto& checks = Catalog::builtin().checks();
  const auto pos = [&](std::string_view id) {
    return std::find_if(checks.begin(), checks.end(), [&](const CheckInfo& c) { return c.id == id; }) - checks.begin();
  };
  EXPECT_LT(pos("http/json-answer"), pos("http/request-charset"));
  EXPECT_LT(pos("join/success-1.1-optneg-0"), pos("join/mic-failed"));
}

}  // namespace
}  // namespace joincheck::conformance
