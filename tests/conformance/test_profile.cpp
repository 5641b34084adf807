// Profiles: the built-in ones parse and hold the deviations docs/profiles.md gives the evidence
// for (each reason cites it), none can excuse a device that cannot talk, a user's file loads from
// disk, and every mistake in a file names the file, the line and the key (conformance/profile.hpp).

#include "conformance/profile.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "conformance/embedded.hpp"

namespace joincheck::conformance {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string error_of(std::string_view text) {
  try {
    parse_profile(text, "bad.toml");
  } catch (const ProfileError& e) {
    return e.what();
  }
  return "";
}

TEST(ProfileBuiltin, EveryBuiltinProfileParsesAndIsNamedAfterItsFile) {
  const auto names = builtin_profile_names();
  for (const char* expected : {"brocaar", "lorawan-js", "simple-join-server", "strict", "tts"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const auto& name : names) {
    SCOPED_TRACE(name);
    Profile p;
    ASSERT_NO_THROW(p = resolve_profile(name));
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty());
    EXPECT_FALSE(p.source.empty());
    // Users cannot follow the team's notes: profiles cite primary sources and docs/profiles.md.
    EXPECT_THAT(p.source, Not(HasSubstr("backend-interfaces" ".md")));
    if (name != "strict") {
      EXPECT_THAT(p.source, HasSubstr("docs/profiles.md#" + name));
    }
    for (const auto& k : p.known) {
      SCOPED_TRACE(k.check);
      EXPECT_TRUE(k.verdict == Verdict::warn || k.verdict == Verdict::skip);
      EXPECT_THAT(k.reason, Not(HasSubstr("backend-interfaces" ".md")));
      EXPECT_THAT(k.reason, Not(HasSubstr("shared/")));
      // Every reason says where the behaviour comes from: measured, or a file of the source.
      const bool measured = k.reason.find("measured") != std::string::npos;
      const bool file = k.reason.find(".go") != std::string::npos || k.reason.find(".rs") != std::string::npos ||
                        k.reason.find(".java") != std::string::npos;
      EXPECT_TRUE(measured || file) << k.reason;
      EXPECT_TRUE(profile_may_excuse(k.check)) << "a profile excuses a device that cannot talk";
    }
  }
}

TEST(ProfileBuiltin, StrictKnowsNoDeviation) {
  const Profile p = resolve_profile("strict");
  EXPECT_EQ(p.name, "strict");
  EXPECT_TRUE(p.known.empty());
  EXPECT_EQ(p.find("devnonce/replay-1.0.4"), nullptr);
  EXPECT_EQ(Profile{}.name, "strict");  // the default needs no file
}

// `check` is known to `p` with `verdict`.
void expect_known(const Profile& p, std::string_view check, Verdict verdict) {
  const KnownDeviation* k = p.find(check);
  ASSERT_NE(k, nullptr) << p.name << " has no deviation for " << check;
  EXPECT_EQ(k->verdict, verdict) << p.name << " " << check;
}

TEST(ProfileBuiltin, BrocaarHoldsWhatWasMeasured) {
  const Profile p = resolve_profile("brocaar");
  for (const char* id :
       {"http/content-type", "header/receiver-nsid-echo", "malformed/bad-hex", "malformed/missing-field",
        "hygiene/hex-0x", "header/protocol-version-echo", "header/receiver-token-echo", "devnonce/replay-1.0",
        "devnonce/replay-1.0.4", "devnonce/decrease-1.0.4", "devnonce/replay-1.1", "devnonce/decrease-1.1",
        "http/status-200", "http/json-answer", "answer/lifetime", "answer/session-key-id", "join/unknown-receiver",
        "join/unknown-sender", "protocol/1.1-requires-sender-nsid"}) {
    expect_known(p, id, Verdict::warn);
    EXPECT_THAT(p.find(id)->reason, HasSubstr("measured")) << id;
  }
  for (const char* id : {"malformed/invalid-json", "protocol/unsupported-version", "join/opt-neg-mismatch"}) {
    expect_known(p, id, Verdict::warn);
  }
  expect_known(p, "appskey/session-key-id", Verdict::skip);
  EXPECT_EQ(p.find("join/mic-failed"), nullptr);        // brocaar answers MICFailed
  EXPECT_EQ(p.find("join/unknown-dev-eui"), nullptr);   // measured: UnknownDevEUI (with HTTP 400)
  EXPECT_EQ(p.find("rejoin/type-0"), nullptr);          // measured: answered, the MIC right
  EXPECT_EQ(p.find("keys/rejoin-session-keys"), nullptr);  // its real bug fails
  EXPECT_THAT(p.find("header/protocol-version-echo")->reason, HasSubstr("\"1.0\""));
}

TEST(ProfileBuiltin, TtsHoldsWhatItsSourceShows) {
  const Profile p = resolve_profile("tts");
  for (const char* id : {"protocol/unsupported-version", "malformed/invalid-json", "http/status-200", "http/json-answer",
                         "http/content-type", "join/unknown-receiver", "http/request-charset", "macversion/1.1.0",
                         "macversion/1.0.0", "malformed/phy-payload-size", "homens/answer", "tls/client-cert-net-id",
                         "join/opt-neg-mismatch", "protocol/1.0-sender-nsid-ignored"}) {
    expect_known(p, id, Verdict::warn);
    EXPECT_THAT(p.find(id)->reason, HasSubstr("lorawan-stack pkg/")) << id;
  }
  EXPECT_THAT(p.find("http/content-type")->reason, HasSubstr("Success included"));
  EXPECT_THAT(p.find("join/unknown-receiver")->reason, HasSubstr("answered Success"));
  expect_known(p, "rejoin/type-0", Verdict::skip);
  expect_known(p, "rejoin/type-1", Verdict::skip);
  EXPECT_EQ(p.find("devnonce/replay-1.0.4"), nullptr);  // TTS checks DevNonce
  EXPECT_EQ(p.find("appskey/session-key-id"), nullptr);
}

TEST(ProfileBuiltin, SimpleJoinServerAndLorawanJs) {
  const Profile sjs = resolve_profile("simple-join-server");
  expect_known(sjs, "join/mic-failed", Verdict::warn);
  expect_known(sjs, "devnonce/decrease-1.0.4", Verdict::warn);
  expect_known(sjs, "rejoin/type-0", Verdict::skip);
  expect_known(sjs, "appskey/session-key-id", Verdict::skip);
  expect_known(sjs, "homens/answer", Verdict::skip);
  const Profile jm = resolve_profile("lorawan-js");
  expect_known(jm, "answer/lifetime", Verdict::warn);
  expect_known(jm, "macversion/1.1.0", Verdict::warn);
  expect_known(jm, "accept/cflist", Verdict::warn);
  expect_known(jm, "homens/answer", Verdict::skip);
}

// A device whose session keys are not the JS's cannot talk: no profile may call that a quirk.
TEST(ProfileRefuses, AnEntryForACheckWhereTheDeviceCannotTalk) {
  const std::string one = error_of("name = \"x\"\n[[known]]\ncheck = \"keys/rejoin-session-keys\"\nreason = \"r\"\n");
  EXPECT_THAT(one, StartsWith("bad.toml:3: known[0].check: \"keys/rejoin-session-keys\" cannot be a known deviation"));
  EXPECT_THAT(one, HasSubstr("the device cannot talk"));
  const std::string group = error_of("[[known]]\ncheck = \"keys\"\nreason = \"r\"\n");
  EXPECT_THAT(group, StartsWith("bad.toml:2: known[0].check: \"keys\" holds \"keys/"));
  EXPECT_THAT(error_of("[[known]]\ncheck = \"accept/mic\"\nreason = \"r\"\n"), HasSubstr("cannot be a known deviation"));
  EXPECT_THAT(error_of("[[known]]\ncheck = \"accept\"\nreason = \"r\"\n"), HasSubstr("cannot be a known deviation"));
  // The other join-accept checks stay open to a profile (lorawan-js: accept/cflist).
  EXPECT_EQ(error_of("[[known]]\ncheck = \"accept/cflist\"\nreason = \"r\"\n"), "");
  // A profile built in code is held to the same rule.
  Profile p;
  p.known.push_back({"keys/rejoin-session-keys", Verdict::warn, "r"});
  p.known.push_back({"keys", Verdict::skip, "r"});
  EXPECT_EQ(p.find("keys/rejoin-session-keys"), nullptr);
  EXPECT_EQ(p.find("keys/app-s-key"), nullptr);
  for (const auto& c : Catalog::builtin().checks()) {
    const bool device_check = c.group() == "keys" || c.id == "accept/decrypts" || c.id == "accept/mic";
    EXPECT_EQ(profile_may_excuse(c.id), !device_check) << c.id;
  }
  EXPECT_EQ(Catalog::builtin().at("keys/rejoin-session-keys").level, Level::must);
}

TEST(ProfileFind, ByIdThenByGroup) {
  const Profile p = parse_profile(R"(
name = "mine"
[[known]]
check = "devnonce"
verdict = "skip"
reason = "group"
[[known]]
check = "devnonce/replay-1.0"
reason = "exact"
[[known]]
check = "rejoin/"
reason = "group with a slash"
)",
                                  "mine.toml");
  ASSERT_EQ(p.known.size(), 3u);
  EXPECT_EQ(p.known[1].verdict, Verdict::warn);  // the default
  EXPECT_EQ(p.find("devnonce/replay-1.0")->reason, "exact");  // an exact id wins over its group
  EXPECT_EQ(p.find("devnonce/replay-1.0.4")->reason, "group");
  EXPECT_EQ(p.find("devnonce/replay-1.0.4")->verdict, Verdict::skip);
  EXPECT_EQ(p.find("rejoin/type-1")->reason, "group with a slash");
  EXPECT_EQ(p.known[2].check, "rejoin");
  EXPECT_EQ(p.find("join/mic-failed"), nullptr);
  EXPECT_EQ(p.find("devnonce-x/replay"), nullptr);  // a group is matched whole, not as a prefix
}

TEST(ProfileErrors, NameFileLineAndKey) {
  EXPECT_EQ(error_of("name = \"x\"\nnmae = \"y\"\n"),
            "bad.toml:2: nmae: unknown key; expected one of name, description, source, known");
  EXPECT_EQ(error_of("[[known]]\ncheck = \"join/mic-failed\"\nreason = \"r\"\nverdict = \"fail\"\n"),
            "bad.toml:4: known[0].verdict: expected \"warn\" or \"skip\", got \"fail\"");
  EXPECT_EQ(error_of("[[known]]\ncheck = \"join/mic-failed\"\nreason = \"r\"\n[[known]]\ncheck = \"join/mic-faild\"\nreason = \"r\"\n"),
            "bad.toml:5: known[1].check: expected a check id or a group of the catalog (joincheck list prints them), "
            "got \"join/mic-faild\"");
  EXPECT_THAT(error_of("[[known]]\ncheck = \"nosuchgroup\"\nreason = \"r\"\n"),
              StartsWith("bad.toml:2: known[0].check: expected a check id or a group"));
  EXPECT_THAT(error_of("[[known]]\ncheck = \"join/mic-failed\"\nreson = \"r\"\n"),
              StartsWith("bad.toml:3: known[0].reson: unknown key; expected one of check, verdict, reason"));
  EXPECT_THAT(error_of("\n[[known]]\ncheck = \"join/mic-failed\"\n"),
              StartsWith("bad.toml:2: known[0]: missing key \"reason\""));
  EXPECT_THAT(error_of("[[known]]\nreason = \"r\"\n"), StartsWith("bad.toml:1: known[0]: missing key \"check\""));
  EXPECT_EQ(error_of("[[known]]\ncheck = \"join/mic-failed\"\nreason = \"\"\n"),
            "bad.toml:3: known[0].reason: expected the reason for the deviation, got an empty string");
  EXPECT_EQ(error_of("name = 3\n"), "bad.toml:1: name: expected a string, got an integer");
  EXPECT_EQ(error_of("known = \"x\"\n"), "bad.toml:1: known: expected [[known]] tables, got a string");
  EXPECT_EQ(error_of("[[known]]\ncheck = \"join/mic-failed\"\nreason = \"r\"\n[[known]]\ncheck = \"join/mic-failed\"\nreason = \"s\"\n"),
            "bad.toml:5: known[1].check: \"join/mic-failed\" is listed twice (known[0])");
  // A TOML syntax error names the file, the line and the column.
  EXPECT_THAT(error_of("name = \"x\"\ndescription = \n"), StartsWith("bad.toml:2:"));
}

// A unique scratch folder, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(std::string_view name)
      : path(std::filesystem::temp_directory_path() /
             ("joincheck-" + std::string(name) + "-" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

TEST(ProfileResolve, AFileOnDiskLoads) {
  TempDir dir("profile");
  const auto file = dir.path / "site.toml";
  std::ofstream(file) << "description = \"our JS\"\n[[known]]\ncheck = \"answer/lifetime\"\nreason = \"we never send it\"\n";
  const Profile p = resolve_profile(file.string());
  EXPECT_EQ(p.name, "site");  // no name: the file's
  EXPECT_EQ(p.description, "our JS");
  ASSERT_NE(p.find("answer/lifetime"), nullptr);
  EXPECT_EQ(p.find("answer/lifetime")->reason, "we never send it");

  // Errors in a file on disk name its path.
  const auto bad = dir.path / "bad.toml";
  std::ofstream(bad) << "name = \"b\"\n\n[[known]]\ncheck = \"answer/lifetime\"\nverdict = \"pass\"\nreason = \"r\"\n";
  try {
    resolve_profile(bad.string());
    FAIL() << "no error";
  } catch (const ProfileError& e) {
    EXPECT_EQ(std::string(e.what()), bad.string() + ":5: known[0].verdict: expected \"warn\" or \"skip\", got \"pass\"");
  }
}

TEST(ProfileResolve, AnUnknownNameListsTheBuiltinNames) {
  try {
    resolve_profile("chirpstack");
    FAIL() << "no error";
  } catch (const ProfileError& e) {
    EXPECT_THAT(e.what(), HasSubstr("profile \"chirpstack\": expected a built-in profile ("));
    for (const auto& name : builtin_profile_names()) EXPECT_THAT(e.what(), HasSubstr(name));
    EXPECT_THAT(e.what(), HasSubstr("or the path of a .toml profile file"));
  }
}

TEST(ProfileResolve, ABuiltinNameIsNotAFileName) {
  // "tts.toml" is not the built-in "tts": it must be a file, and here there is none.
  EXPECT_THROW(resolve_profile("tts.toml"), ProfileError);
  EXPECT_EQ(embedded_profile_files().size(), builtin_profile_names().size());
}

}  // namespace
}  // namespace joincheck::conformance
