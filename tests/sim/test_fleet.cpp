// Fleet files (DESIGN.md "Interfaces that users script against"): JSON and CSV parsing, every
// error naming file, device, field, expected and seen without printing a key, round trips, and
// the deterministic generator.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "sim/fleet/fleet.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim {
namespace {

using lorawan::Aes128Key;
using lorawan::Eui64;
using lorawan::MacVersion;
using test_support::TempDir;

constexpr std::string_view kKey1 = "2b7e151628aed2a6abf7158809cf4f3c";
constexpr std::string_view kKey2 = "000102030405060708090a0b0c0d0e0f";

void write_file(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Parses `text` expecting a FleetError; returns every error message.
std::vector<std::string> errors_of(std::string_view text, FleetFormat format,
                                   std::string_view source) {
  try {
    parse_fleet(text, format, source);
  } catch (const FleetError& e) {
    EXPECT_FALSE(e.errors().empty());
    return e.errors();
  }
  ADD_FAILURE() << "expected a FleetError for:\n" << text;
  return {};
}

// The single error of `text`.
std::string error_of(std::string_view text, FleetFormat format, std::string_view source) {
  const auto errors = errors_of(text, format, source);
  EXPECT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  return errors.empty() ? std::string() : errors.front();
}

std::string json_device(std::string_view fields) {
  return "{\"devices\": [{" + std::string(fields) + "}]}";
}

// ------------------------------------------------------------------------------------------------
// JSON

TEST(FleetJson, ParsesEveryField) {
  const std::string text = R"({"devices": [
    {"DevEUI": "0102030405060708", "JoinEUI": "70B3D57ED0000000", "MACVersion": "1.0.3",
     "AppKey": "2B7E151628AED2A6ABF7158809CF4F3C", "DevNoncePolicy": "random"},
    {"DevEUI": "0102030405060709", "JoinEUI": "70b3d57ed0000000", "MACVersion": "1.1.0",
     "AppKey": "2b7e151628aed2a6abf7158809cf4f3c", "NwkKey": "000102030405060708090a0b0c0d0e0f",
     "DevNoncePolicy": "counter", "DevNonceStart": 7,
     "SecureElement": {"kind": "atecc608", "i2c": "/dev/i2c-1", "slots": {"AppKey": "0/0"}}}
  ]})";
  const FleetLoad load = parse_fleet(text, FleetFormat::json, "fleet.json");
  EXPECT_TRUE(load.warnings.empty()) << ::testing::PrintToString(load.warnings);
  ASSERT_EQ(load.fleet.devices.size(), 2u);

  const FleetDevice& a = load.fleet.devices[0];
  EXPECT_EQ(a.dev_eui, Eui64::parse("0102030405060708"));
  EXPECT_EQ(a.join_eui, Eui64::parse("70b3d57ed0000000"));
  EXPECT_EQ(a.mac_version, MacVersion::v1_0_3);
  EXPECT_EQ(a.app_key, Aes128Key::parse(kKey1));
  EXPECT_FALSE(a.nwk_key);
  EXPECT_EQ(a.dev_nonce_policy, DevNoncePolicy::random);
  EXPECT_FALSE(a.dev_nonce_start);
  EXPECT_FALSE(a.secure_element);

  const FleetDevice& b = load.fleet.devices[1];
  EXPECT_EQ(b.mac_version, MacVersion::v1_1);
  EXPECT_EQ(b.nwk_key, Aes128Key::parse(kKey2));
  EXPECT_EQ(b.dev_nonce_policy, DevNoncePolicy::counter);
  EXPECT_EQ(b.dev_nonce_start, 7);
  // Kept as compact JSON text, keys sorted.
  EXPECT_EQ(b.secure_element, R"({"i2c":"/dev/i2c-1","kind":"atecc608","slots":{"AppKey":"0/0"}})");
}

TEST(FleetJson, AcceptsEveryMacVersionSpelling) {
  const std::pair<std::string_view, MacVersion> cases[] = {
      {"1.0", MacVersion::v1_0_0},   {"1.0.0", MacVersion::v1_0_0}, {"1.0.1", MacVersion::v1_0_1},
      {"1.0.2", MacVersion::v1_0_2}, {"1.0.3", MacVersion::v1_0_3}, {"1.0.4", MacVersion::v1_0_4},
      {"1.1", MacVersion::v1_1},     {"1.1.0", MacVersion::v1_1}};
  for (const auto& [spelling, version] : cases) {
    const std::string text =
        json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000", "AppKey": ")" +
                    std::string(kKey1) + R"(", "NwkKey": ")" + std::string(kKey2) +
                    R"(", "MACVersion": ")" + std::string(spelling) + "\"");
    const FleetLoad load = parse_fleet(text, FleetFormat::json, "f.json");
    ASSERT_EQ(load.fleet.devices.size(), 1u);
    EXPECT_EQ(load.fleet.devices[0].mac_version, version) << spelling;
  }
}

TEST(FleetJson, EmptyFleetIsAllowed) {
  EXPECT_TRUE(parse_fleet(R"({"devices": []})", FleetFormat::json, "f.json").fleet.devices.empty());
}

TEST(FleetJson, SyntaxErrorNamesLineAndColumnWithoutEchoingAKey) {
  // Unterminated string holding a key: nlohmann would echo the token ("last read: ...").
  const std::string text = "{\"devices\": [\n  {\"AppKey\": \"2b7e151628aed2a6abf7158809cf4f3c\n";
  const std::string e = error_of(text, FleetFormat::json, "fleet.json");
  EXPECT_CONTAINS(e, "fleet.json:2:");
  EXPECT_CONTAINS(e, "not valid JSON");
  EXPECT_NOT_CONTAINS(e, "2b7e1516");
}

TEST(FleetJson, WrongShapeIsAnError) {
  EXPECT_CONTAINS(error_of("[1, 2]", FleetFormat::json, "f.json"),
                  "f.json: expected {\"devices\": [");
  EXPECT_CONTAINS(error_of("{}", FleetFormat::json, "f.json"), "f.json: devices: missing");
  EXPECT_CONTAINS(error_of(R"({"devices": {}})", FleetFormat::json, "f.json"),
                  "devices: expected an array of devices, got an object");
  EXPECT_CONTAINS(error_of(R"({"devices": [], "Devices": []})", FleetFormat::json, "f.json"),
                  "f.json: top level: unknown field \"Devices\"");
  EXPECT_CONTAINS(
      error_of(R"({"devices": ["0102030405060708"]})", FleetFormat::json, "f.json"),
      "f.json: devices[0]: expected an object with the fields of a device, got a string");
}

TEST(FleetJson, MissingRequiredFieldsNameTheDevice) {
  const auto errors = errors_of(R"({"devices": [{"AppKey": "2b7e151628aed2a6abf7158809cf4f3c"}]})",
                                FleetFormat::json, "fleet.json");
  ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "fleet.json: devices[0]: DevEUI: missing; every device needs it (16 hex digits)");
  EXPECT_CONTAINS(errors[1], "fleet.json: devices[0]: JoinEUI: missing");
  EXPECT_CONTAINS(errors[2], "fleet.json: devices[0]: MACVersion: missing");
}

TEST(FleetJson, VersionRulesForKeys) {
  // 1.0.x needs AppKey.
  EXPECT_EQ(error_of(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                                    "MACVersion": "1.0.2")"),
                     FleetFormat::json, "f.json"),
            "f.json: devices[0] (DevEUI 0102030405060708): AppKey: missing; a LoRaWAN 1.0.2 device "
            "needs it (32 hex digits)");
  // 1.1 needs NwkKey.
  EXPECT_EQ(error_of(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                                    "MACVersion": "1.1", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c")"),
                     FleetFormat::json, "f.json"),
            "f.json: devices[0] (DevEUI 0102030405060708): NwkKey: missing; a LoRaWAN 1.1 device "
            "needs it (32 hex digits)");
  // 1.1 without AppKey: a warning, the device is kept.
  const FleetLoad load =
      parse_fleet(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                     "MACVersion": "1.1", "NwkKey": "000102030405060708090a0b0c0d0e0f")"),
                  FleetFormat::json, "f.json");
  ASSERT_EQ(load.fleet.devices.size(), 1u);
  ASSERT_EQ(load.warnings.size(), 1u);
  EXPECT_CONTAINS(load.warnings[0],
                  "f.json: devices[0] (DevEUI 0102030405060708): AppKey: absent; "
                  "recommended for a LoRaWAN 1.1 device");
  // NwkKey on a 1.0.x device: kept, with a warning.
  const FleetLoad extra =
      parse_fleet(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                     "MACVersion": "1.0.4", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c",
                     "NwkKey": "000102030405060708090a0b0c0d0e0f", "DevNoncePolicy": "random")"),
                  FleetFormat::json, "f.json");
  ASSERT_EQ(extra.warnings.size(), 2u) << ::testing::PrintToString(extra.warnings);
  EXPECT_CONTAINS(extra.warnings[0], "NwkKey: given for a LoRaWAN 1.0.4 device");
  EXPECT_CONTAINS(extra.warnings[1], "DevNoncePolicy: random on a LoRaWAN 1.0.4 device");
  EXPECT_TRUE(extra.fleet.devices[0].nwk_key);
}

TEST(FleetJson, KeyErrorsGiveLengthAndPositionButNeverTheValue) {
  const std::string short_key = "2b7e151628aed2a6abf7158809cf4f";  // 30 digits
  std::string e =
      error_of(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                                          "MACVersion": "1.0.3", "AppKey": ")" +
                           short_key + "\""),
               FleetFormat::json, "fleet.json");
  EXPECT_EQ(e,
            "fleet.json: devices[0] (DevEUI 0102030405060708): AppKey: expected 32 hex digits (16 "
            "bytes), got 30 characters (the value is not shown: keys are secret)");

  const std::string bad_char = "2b7e151628aed2a6abf7158809cf4fZc";
  e = error_of(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                              "MACVersion": "1.0.3", "AppKey": ")" +
                           bad_char + "\""),
               FleetFormat::json, "fleet.json");
  EXPECT_CONTAINS(e, "AppKey: expected hex digits (0-9, a-f), found 'Z' at position 30 of 32");
  EXPECT_NOT_CONTAINS(e, "2b7e15");

  const std::string prefixed = "0x2b7e151628aed2a6abf7158809cf4f3c";
  e = error_of(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                              "MACVersion": "1.1", "NwkKey": ")" +
                           prefixed + "\""),
               FleetFormat::json, "fleet.json");
  EXPECT_CONTAINS(e,
                  "NwkKey: expected 32 hex digits (16 bytes), got 34 characters; a 0x prefix is "
                  "not accepted");
  EXPECT_NOT_CONTAINS(e, "2b7e15");

  e = error_of(json_device(R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                              "MACVersion": "1.0.3", "AppKey": 12345678901234567890)"),
               FleetFormat::json, "fleet.json");
  EXPECT_CONTAINS(e,
                  "AppKey: expected a string of 32 hex digits, got a number (the value is not "
                  "shown");
  EXPECT_NOT_CONTAINS(e, "1234567890");
}

TEST(FleetJson, OtherFieldErrorsShowExpectedAndSeen) {
  const std::string base =
      R"("JoinEUI": "0000000000000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c", )";
  EXPECT_EQ(error_of(json_device(base + R"("DevEUI": "01020304050607", "MACVersion": "1.0.3")"),
                     FleetFormat::json, "f.json"),
            "f.json: devices[0]: DevEUI: expected 16 hex digits (8 bytes), got 14 characters "
            "\"01020304050607\"");
  EXPECT_EQ(error_of(json_device(base + R"("DevEUI": "0102030405060708", "MACVersion": "1.2")"),
                     FleetFormat::json, "f.json"),
            "f.json: devices[0] (DevEUI 0102030405060708): MACVersion: expected one of 1.0, 1.0.0, "
            "1.0.1, 1.0.2, 1.0.3, 1.0.4, 1.1, 1.1.0, got \"1.2\"");
  EXPECT_EQ(error_of(json_device(base + R"("DevEUI": "0102030405060708", "MACVersion": 1.1)"),
                     FleetFormat::json, "f.json"),
            "f.json: devices[0] (DevEUI 0102030405060708): MACVersion: expected a string of a "
            "LoRaWAN version such as \"1.0.3\", got a number \"1.1\"");
  EXPECT_CONTAINS(
      error_of(json_device(base + R"("DevEUI": "0102030405060708", "MACVersion": "1.0.3",
                                                 "DevNoncePolicy": "Counter")"),
               FleetFormat::json, "f.json"),
      "DevNoncePolicy: expected one of counter, random, fixed, got \"Counter\"");
  for (std::string_view start : {"65536", "-1", "1.5", "\"7\""}) {
    EXPECT_CONTAINS(
        error_of(json_device(base + R"("DevEUI": "0102030405060708", "MACVersion": "1.0.3",
                                                   "DevNonceStart": )" +
                             std::string(start)),
                 FleetFormat::json, "f.json"),
        "(DevEUI 0102030405060708): DevNonceStart: expected an integer from 0 to 65535, got");
  }
  EXPECT_CONTAINS(
      error_of(json_device(base + R"("DevEUI": "0102030405060708", "MACVersion": "1.0.3",
                                                 "SecureElement": "slot 2")"),
               FleetFormat::json, "f.json"),
      "SecureElement: expected an object, got a string");
  EXPECT_CONTAINS(
      error_of(json_device(base + R"("DevEUI": "0102030405060708", "MACVersion": null)"),
               FleetFormat::json, "f.json"),
      "MACVersion: expected a string of a LoRaWAN version such as \"1.0.3\", got null");
}

TEST(FleetJson, UnknownFieldIsAnErrorAndCaseTyposGetTheRightSpelling) {
  const std::string e = error_of(
      json_device(
          R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000", "MACVersion": "1.1",
                     "NwkKey": "000102030405060708090a0b0c0d0e0f", "Appkey": "2b7e151628aed2a6abf7158809cf4f3c")"),
      FleetFormat::json, "fleet.json");
  EXPECT_EQ(e,
            "fleet.json: devices[0] (DevEUI 0102030405060708): unknown field \"Appkey\": did you "
            "mean \"AppKey\"? (names are case-sensitive)");

  const std::string other = error_of(
      json_device(
          R"("DevEUI": "0102030405060708", "JoinEUI": "0000000000000000", "MACVersion": "1.0.3",
                     "AppKey": "2b7e151628aed2a6abf7158809cf4f3c", "Key": "x")"),
      FleetFormat::json, "fleet.json");
  EXPECT_CONTAINS(other,
                  "unknown field \"Key\": expected one of DevEUI, JoinEUI, MACVersion, AppKey, "
                  "NwkKey, DevNoncePolicy, DevNonceStart, SecureElement");
}

TEST(FleetJson, DuplicateKeyInAnObjectIsAnError) {
  const std::string text = R"({"devices": [
    {"DevEUI": "0102030405060708", "JoinEUI": "0000000000000000", "MACVersion": "1.0.3",
     "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"},
    {"DevEUI": "0102030405060709", "JoinEUI": "0000000000000000", "MACVersion": "1.0.3",
     "AppKey": "2b7e151628aed2a6abf7158809cf4f3c", "AppKey": "000102030405060708090a0b0c0d0e0f"}]})";
  const std::string e = error_of(text, FleetFormat::json, "fleet.json");
  EXPECT_EQ(e,
            "fleet.json: devices[1]: field \"AppKey\" appears more than once (only one value is "
            "allowed)");
}

TEST(FleetJson, DuplicateDevEuiNamesBothPositions) {
  const std::string dev = R"({"DevEUI": "0102030405060708", "JoinEUI": "0000000000000000",
                              "MACVersion": "1.0.3", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"})";
  const std::string other = R"({"DevEUI": "0a02030405060708", "JoinEUI": "0000000000000000",
                              "MACVersion": "1.0.3", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"})";
  const std::string e = error_of("{\"devices\": [" + dev + "," + other + "," + dev + "]}",
                                 FleetFormat::json, "fleet.json");
  EXPECT_EQ(e,
            "fleet.json: devices[2] (DevEUI 0102030405060708): DevEUI: duplicate: "
            "0102030405060708 is also the DevEUI of devices[0]");
}

TEST(FleetJson, ReportsEveryErrorOfTheFile) {
  const std::string text = R"({"devices": [
    {"DevEUI": "0102030405060708", "JoinEUI": "0000000000000000", "MACVersion": "1.0.3"},
    {"DevEUI": "0102030405060709", "JoinEUI": "0000000000000000", "MACVersion": "1.1",
     "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"}]})";
  const auto errors = errors_of(text, FleetFormat::json, "f.json");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_CONTAINS(errors[0], "devices[0] (DevEUI 0102030405060708): AppKey: missing");
  EXPECT_CONTAINS(errors[1], "devices[1] (DevEUI 0102030405060709): NwkKey: missing");
}

// ------------------------------------------------------------------------------------------------
// CSV

TEST(FleetCsv, ParsesHeaderColumnsInAnyOrder) {
  const std::string text =
      "\xEF\xBB\xBF"  // Excel's BOM
      "MACVersion,DevEUI,JoinEUI,AppKey,NwkKey,SecureElement,DevNonceStart\r\n"
      "1.0.3,0102030405060708,70b3d57ed0000000,2b7e151628aed2a6abf7158809cf4f3c,,,\r\n"
      "\r\n"
      " 1.1 , 0102030405060709 ,70b3d57ed0000000,,000102030405060708090a0b0c0d0e0f,"
      "\"{\"\"kind\"\": \"\"software\"\"\n }\",12\r\n";
  const FleetLoad load = parse_fleet(text, FleetFormat::csv, "fleet.csv");
  ASSERT_EQ(load.fleet.devices.size(), 2u);
  const FleetDevice& a = load.fleet.devices[0];
  EXPECT_EQ(a.dev_eui, Eui64::parse("0102030405060708"));
  EXPECT_EQ(a.mac_version, MacVersion::v1_0_3);
  EXPECT_EQ(a.app_key, Aes128Key::parse(kKey1));
  EXPECT_FALSE(a.nwk_key);
  EXPECT_FALSE(a.secure_element);
  EXPECT_FALSE(a.dev_nonce_start);
  const FleetDevice& b = load.fleet.devices[1];
  EXPECT_EQ(b.mac_version, MacVersion::v1_1);
  EXPECT_FALSE(b.app_key);
  EXPECT_EQ(b.secure_element, R"({"kind":"software"})");
  EXPECT_EQ(b.dev_nonce_start, 12);
  ASSERT_EQ(load.warnings.size(), 1u);
  EXPECT_CONTAINS(load.warnings[0], "fleet.csv:4 (DevEUI 0102030405060709): AppKey: absent");
}

TEST(FleetCsv, KeyErrorNamesFileLineAndFieldWithoutTheValue) {
  const std::string text =
      "DevEUI,JoinEUI,MACVersion,AppKey\n"
      "0102030405060701,0000000000000000,1.0.3,2b7e151628aed2a6abf7158809cf4f3c\n"
      "0102030405060702,0000000000000000,1.0.3,2b7e151628aed2a6abf7158809cf4f3c\n"
      "0102030405060703,0000000000000000,1.0.3,2b7e151628aed2a6abf7158809cf4f3c\n"
      "0102030405060704,0000000000000000,1.0.3,2b7e151628aed2a6abf7158809cf4f3c\n"
      "0102030405060705,0000000000000000,1.0.3,2b7e151628aed2a6abf7158809cf4f3c\n"
      "0102030405060706,0000000000000000,1.0.3,2b7e151628aed2a6abf7158809cf4f\n";
  const std::string e = error_of(text, FleetFormat::csv, "fleet.csv");
  EXPECT_EQ(e,
            "fleet.csv:7 (DevEUI 0102030405060706): AppKey: expected 32 hex digits (16 bytes), "
            "got 30 characters (the value is not shown: keys are secret)");
}

TEST(FleetCsv, HeaderErrors) {
  EXPECT_EQ(error_of("DevEUI,JoinEUI,MACVersion,Appkey\n", FleetFormat::csv, "fleet.csv"),
            "fleet.csv:1: unknown column \"Appkey\": did you mean \"AppKey\"? (names are "
            "case-sensitive)");
  EXPECT_EQ(error_of("DevEUI;JoinEUI;MACVersion;AppKey\n", FleetFormat::csv, "fleet.csv"),
            "fleet.csv:1: expected column names separated by ',', got one column "
            "\"DevEUI;JoinEUI;MACVersion;AppKey\" (separated by ';'?)");
  const auto errors = errors_of("DevEUI,AppKey,AppKey\n", FleetFormat::csv, "fleet.csv");
  ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0], "fleet.csv:1: column \"AppKey\" appears twice (columns 2 and 3)");
  EXPECT_EQ(errors[1], "fleet.csv:1: missing column \"JoinEUI\" (every device needs it)");
  EXPECT_EQ(errors[2], "fleet.csv:1: missing column \"MACVersion\" (every device needs it)");
  EXPECT_CONTAINS(error_of("", FleetFormat::csv, "fleet.csv"), "fleet.csv: expected a header row");
}

TEST(FleetCsv, RowErrors) {
  const std::string header = "DevEUI,JoinEUI,MACVersion,AppKey,DevNonceStart,SecureElement\n";
  EXPECT_EQ(
      error_of(header + "0102030405060708,0000000000000000,1.0.3\n", FleetFormat::csv, "f.csv"),
      "f.csv:2: expected 6 cells as in the header (line 1), got 3");
  EXPECT_CONTAINS(error_of(header + "0102030405060708,0000000000000000,1.0.3," +
                               std::string(kKey1) + ",0x10,\n",
                           FleetFormat::csv, "f.csv"),
                  "f.csv:2 (DevEUI 0102030405060708): DevNonceStart: expected an integer from 0 to "
                  "65535 (decimal), got \"0x10\"");
  EXPECT_CONTAINS(error_of(header + "0102030405060708,0000000000000000,1.0.3," +
                               std::string(kKey1) + ",,\"[1,2]\"\n",
                           FleetFormat::csv, "f.csv"),
                  "f.csv:2 (DevEUI 0102030405060708): SecureElement: expected a JSON object in the "
                  "cell, got an array");
  EXPECT_CONTAINS(error_of(header + "0102030405060708,0000000000000000,1.0.3," +
                               std::string(kKey1) + ",,{slot\n",
                           FleetFormat::csv, "f.csv"),
                  "SecureElement: expected a JSON object in the cell, got text that is not JSON");
  EXPECT_EQ(
      error_of(header + "0102030405060708,\"0000000000000000,1.0.3\n", FleetFormat::csv, "f.csv"),
      "f.csv:2: a quoted cell is not closed (missing '\"')");
  EXPECT_CONTAINS(
      error_of(header + "0102030405060708,\"00\"00,1.0.3,,,\n", FleetFormat::csv, "f.csv"),
      "f.csv:2: expected ',' or the end of the line after a quoted cell, got '0'");
  EXPECT_CONTAINS(
      error_of(header + "0102030405060708,00\"00,1.0.3,,,\n", FleetFormat::csv, "f.csv"),
      "f.csv:2: a '\"' inside an unquoted cell");
}

TEST(FleetCsv, AKeyInTheWrongColumnIsNotShown) {
  // A row shifted by one cell puts AppKey under MACVersion and JoinEUI.
  const auto errors = errors_of(
      "DevEUI,JoinEUI,MACVersion,AppKey\n"
      "0102030405060708,2b7e151628aed2a6abf7158809cf4f3c,2b7e151628aed2a6abf7158809cf4f3c,1.0.3\n",
      FleetFormat::csv, "f.csv");
  ASSERT_EQ(errors.size(), 3u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "f.csv:2 (DevEUI 0102030405060708): JoinEUI: expected 16 hex digits (8 bytes), got 32 "
            "hex digits (not shown: it may be a key in the wrong field or column)");
  EXPECT_CONTAINS(errors[1], "MACVersion: expected one of 1.0, ");
  EXPECT_CONTAINS(errors[2], "AppKey: expected 32 hex digits (16 bytes), got 5 characters");
  for (const std::string& e : errors) EXPECT_NOT_CONTAINS(e, "2b7e15");
}

TEST(FleetCsv, DuplicateDevEuiNamesBothLines) {
  const std::string row = "0102030405060708,0000000000000000,1.0.3," + std::string(kKey1) + "\n";
  const std::string e = error_of("DevEUI,JoinEUI,MACVersion,AppKey\n" + row + "\n" + row,
                                 FleetFormat::csv, "fleet.csv");
  EXPECT_EQ(e,
            "fleet.csv:4 (DevEUI 0102030405060708): DevEUI: duplicate: 0102030405060708 is also "
            "the DevEUI of line 2");
}

TEST(FleetCsv, LineNumbersCountLinesInsideQuotedCells) {
  const std::string text =
      "DevEUI,JoinEUI,MACVersion,AppKey,SecureElement\n"
      "0102030405060708,0000000000000000,1.0.3," +
      std::string(kKey1) +
      ",\"{\n\"\"kind\"\": \"\"software\"\"\n}\"\n"
      "0102030405060709,0000000000000000,1.0.9," +
      std::string(kKey1) + ",\n";
  EXPECT_CONTAINS(error_of(text, FleetFormat::csv, "f.csv"),
                  "f.csv:5 (DevEUI 0102030405060709): MACVersion");
}

// ------------------------------------------------------------------------------------------------
// Files, formats, round trips

Fleet sample_fleet() {
  Fleet f;
  FleetDevice a;
  a.dev_eui = Eui64::parse("0102030405060708");
  a.join_eui = Eui64::parse("70b3d57ed0000000");
  a.mac_version = MacVersion::v1_0_0;
  a.app_key = Aes128Key::parse(kKey1);
  f.devices.push_back(a);
  FleetDevice b;
  b.dev_eui = Eui64::parse("ffffffffffffffff");
  b.join_eui = Eui64::parse("0000000000000000");
  b.mac_version = MacVersion::v1_1;
  b.nwk_key = Aes128Key::parse(kKey2);
  b.dev_nonce_policy = DevNoncePolicy::fixed;
  b.dev_nonce_start = 65535;
  b.secure_element = R"({"address":"0x59","i2c":"/dev/i2c-1, \"quoted\"","kind":"atecc608"})";
  f.devices.push_back(b);
  FleetDevice c = a;
  c.dev_eui = Eui64::parse("0000000000000001");
  c.mac_version = MacVersion::v1_0_4;
  c.nwk_key = Aes128Key::parse(kKey2);
  c.dev_nonce_policy = DevNoncePolicy::counter;
  c.dev_nonce_start = 0;
  f.devices.push_back(c);
  return f;
}

TEST(FleetFile, JsonAndCsvRoundTripExactly) {
  const Fleet fleet = sample_fleet();
  const std::string json = fleet_to_json(fleet);
  const std::string csv = fleet_to_csv(fleet);
  EXPECT_EQ(parse_fleet(json, FleetFormat::json, "f.json").fleet, fleet);
  EXPECT_EQ(parse_fleet(csv, FleetFormat::csv, "f.csv").fleet, fleet);
  // Text is stable too: writing what was read gives the same bytes.
  EXPECT_EQ(fleet_to_json(parse_fleet(json, FleetFormat::json, "f.json").fleet), json);
  EXPECT_EQ(fleet_to_csv(parse_fleet(csv, FleetFormat::csv, "f.csv").fleet), csv);
  // And across formats.
  EXPECT_EQ(fleet_to_csv(parse_fleet(json, FleetFormat::json, "f.json").fleet), csv);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "DevEUI,JoinEUI,MACVersion,AppKey,NwkKey,DevNoncePolicy,DevNonceStart,SecureElement");
}

TEST(FleetFile, SaveAndLoadByExtensionOrContent) {
  TempDir dir;
  const Fleet fleet = sample_fleet();
  save_fleet(fleet, dir / "fleet.json");
  save_fleet(fleet, dir / "fleet.CSV");
  save_fleet(fleet, dir / "fleet.txt", FleetFormat::csv);
  save_fleet(fleet, dir / "fleet", FleetFormat::json);
  EXPECT_EQ(load_fleet(dir / "fleet.json").fleet, fleet);
  EXPECT_EQ(load_fleet(dir / "fleet.CSV").fleet, fleet);
  EXPECT_EQ(load_fleet(dir / "fleet.txt").fleet, fleet);  // detected: CSV
  EXPECT_EQ(load_fleet(dir / "fleet").fleet, fleet);      // detected: JSON
  EXPECT_EQ(detect_fleet_format("\xEF\xBB\xBF  \n{\"devices\": []}"), FleetFormat::json);
  EXPECT_EQ(detect_fleet_format("DevEUI,JoinEUI\n"), FleetFormat::csv);
  EXPECT_EQ(fleet_format_from_extension("a/b.Json"), FleetFormat::json);
  EXPECT_EQ(fleet_format_from_extension("a/b.toml"), std::nullopt);
}

TEST(FleetFile, ErrorsNameThePathGiven) {
  TempDir dir;
  const auto missing = dir / "nope.json";
  try {
    load_fleet(missing);
    FAIL() << "expected FleetError";
  } catch (const FleetError& e) {
    EXPECT_EQ(std::string(e.what()),
              missing.string() + ": cannot read the fleet file: No such file or directory");
  }
  const auto file = dir / "fleet.csv";
  write_file(file, "DevEUI,JoinEUI,MACVersion\n0102030405060708,0000000000000000,1.0.3\n");
  try {
    load_fleet(file);
    FAIL() << "expected FleetError";
  } catch (const FleetError& e) {
    EXPECT_CONTAINS(e.what(), file.string() + ":2 (DevEUI 0102030405060708): AppKey: missing");
  }
  try {
    save_fleet(sample_fleet(), dir / "no-such-dir" / "f.json");
    FAIL() << "expected FleetError";
  } catch (const FleetError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "no-such-dir" / "f.json").string() +
                  ": cannot write the fleet file: No such file or directory");
  }
  try {
    load_fleet(dir.path());
    FAIL() << "expected FleetError";
  } catch (const FleetError& e) {
    EXPECT_CONTAINS(e.what(), dir.path().string() + ": cannot read the fleet file");
  }
}

// ------------------------------------------------------------------------------------------------
// Generator

TEST(FleetGenerator, IsDeterministicAndChunkable) {
  const Eui64 join_eui = Eui64::parse("70b3d57ed0000000");
  const Fleet a = generate_fleet(50, join_eui, MacVersion::v1_1, 42);
  const Fleet b = generate_fleet(50, join_eui, MacVersion::v1_1, 42);
  EXPECT_EQ(a, b);
  EXPECT_EQ(generate_device(17, join_eui, MacVersion::v1_1, 42), a.devices[17]);
  const Fleet other = generate_fleet(50, join_eui, MacVersion::v1_1, 43);
  EXPECT_NE(a.devices[0].dev_eui, other.devices[0].dev_eui);
  EXPECT_NE(a.devices[0].app_key, other.devices[0].app_key);
  // Pinned: a seed gives these values on every platform (mt19937_64 and splitmix64 are fully
  // specified; no std distribution is involved). A change here changes every generated fleet.
  EXPECT_EQ(a.devices[1].dev_eui.hex(), "5698140000000001");
  EXPECT_EQ(a.devices[1].app_key->hex(), "7902cd09dfbcbfa7e89e0b257b86a0bc");
  EXPECT_EQ(a.devices[1].nwk_key->hex(), "a552a427280bd32198cc7f06c8a2eec7");
}

TEST(FleetGenerator, DevicesAreValidUniqueAndFollowTheirVersion) {
  const Eui64 join_eui = Eui64::parse("0000000000000001");
  const Fleet f10 = generate_fleet(1000, join_eui, MacVersion::v1_0_2, 7);
  std::set<Eui64> euis;
  std::set<Aes128Key> keys;
  for (const FleetDevice& d : f10.devices) {
    euis.insert(d.dev_eui);
    keys.insert(*d.app_key);
    EXPECT_EQ(d.join_eui, join_eui);
    EXPECT_FALSE(d.nwk_key);
    EXPECT_EQ(d.dev_nonce_policy, DevNoncePolicy::random);
    // Locally administered, unicast EUI-64.
    EXPECT_EQ(d.dev_eui.bytes()[0] & 0x03, 0x02);
  }
  EXPECT_EQ(euis.size(), 1000u);
  EXPECT_EQ(keys.size(), 1000u);
  // Generated fleets are valid fleet files, without warnings.
  const FleetLoad load = parse_fleet(fleet_to_csv(f10), FleetFormat::csv, "gen.csv");
  EXPECT_EQ(load.fleet, f10);
  EXPECT_TRUE(load.warnings.empty());

  const Fleet f11 = generate_fleet(3, join_eui, MacVersion::v1_1, 7);
  for (const FleetDevice& d : f11.devices) {
    EXPECT_TRUE(d.app_key && d.nwk_key);
    EXPECT_NE(d.app_key, d.nwk_key);
    EXPECT_EQ(d.dev_nonce_policy, DevNoncePolicy::counter);
    EXPECT_EQ(d.dev_nonce_start, 0);
  }
  EXPECT_TRUE(parse_fleet(fleet_to_json(f11), FleetFormat::json, "gen.json").warnings.empty());
  EXPECT_THROW(generate_device(std::uint64_t{1} << 40, join_eui, MacVersion::v1_1, 7),
               lorawan::Error);
}

TEST(FleetGenerator, EffectivePolicyFollowsTheVersion) {
  FleetDevice d;
  d.mac_version = MacVersion::v1_0_3;
  EXPECT_EQ(effective_dev_nonce_policy(d), DevNoncePolicy::random);
  d.mac_version = MacVersion::v1_0_4;
  EXPECT_EQ(effective_dev_nonce_policy(d), DevNoncePolicy::counter);
  d.dev_nonce_policy = DevNoncePolicy::fixed;
  EXPECT_EQ(effective_dev_nonce_policy(d), DevNoncePolicy::fixed);
}

}  // namespace
}  // namespace joincheck::sim
