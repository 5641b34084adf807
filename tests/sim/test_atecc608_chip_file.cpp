// The emulated-chip provisioning file (sim/secure_element/atecc608/chip_file.hpp): round trip,
// every error naming the file, chips[i] and the field without printing a key, references by
// index and by serial resolved against a base directory, and the serial generator.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "sim/secure_element/atecc608/chip_file.hpp"
#include "tests/sim/sim_test_support.hpp"

namespace joincheck::sim::atecc608 {
namespace {

using lorawan::Aes128Key;
using lorawan::Eui64;
using test_support::TempDir;

constexpr std::string_view kKey1 = "2b7e151628aed2a6abf7158809cf4f3c";
constexpr std::string_view kKey2 = "000102030405060708090a0b0c0d0e0f";

void write_file(const std::filesystem::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

std::vector<std::string> errors_of(std::string_view text) {
  try {
    parse_chip_file(text, "chips.json");
  } catch (const ChipFileError& e) {
    EXPECT_FALSE(e.errors().empty());
    for (const std::string& error : e.errors()) {
      EXPECT_NOT_CONTAINS(error, kKey1);
      EXPECT_NOT_CONTAINS(error, "2B7E1516");
    }
    return e.errors();
  }
  ADD_FAILURE() << "expected a ChipFileError for:\n" << text;
  return {};
}

std::string error_of(std::string_view text) {
  const auto errors = errors_of(text);
  EXPECT_EQ(errors.size(), 1u) << ::testing::PrintToString(errors);
  return errors.empty() ? std::string() : errors.front();
}

std::string one_chip(std::string_view fields) {
  return "{\"chips\": [{" + std::string(fields) + "}]}";
}

constexpr std::string_view kGoodFields =
    R"("Serial": "0123a1b2c3d4e5f627", "DevEUI": "0102030405060708", "JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c")";

ChipFile three_chips() {
  ChipFile f;
  for (std::uint64_t i = 0; i < 3; ++i) {
    Eui64::Array eui{};
    eui[7] = static_cast<std::uint8_t>(i + 1);
    f.chips.push_back(
        generate_chip(7, i, Eui64(eui), Eui64::parse("70b3d57ed0000000"), Aes128Key::parse(kKey1),
                      i == 2 ? std::optional(Aes128Key::parse(kKey2)) : std::nullopt));
  }
  return f;
}

TEST(Atecc608ChipFile, ParsesAChip) {
  const ChipFile f = parse_chip_file(one_chip(kGoodFields), "chips.json");
  ASSERT_EQ(f.chips.size(), 1u);
  const ChipProvisioning& c = f.chips[0];
  EXPECT_EQ(serial_hex(c.serial), "0123a1b2c3d4e5f627");
  EXPECT_EQ(c.dev_eui.hex(), "0102030405060708");
  EXPECT_EQ(c.join_eui.hex(), "70b3d57ed0000000");
  EXPECT_EQ(c.app_key.hex(), kKey1);
  EXPECT_FALSE(c.nwk_key);
  EXPECT_FALSE(c.is_1_1());

  const ChipFile v11 = parse_chip_file(
      one_chip(std::string(kGoodFields) + R"(, "NwkKey": "000102030405060708090A0B0C0D0E0F")"),
      "chips.json");
  ASSERT_TRUE(v11.chips[0].nwk_key);
  EXPECT_EQ(v11.chips[0].nwk_key->hex(), kKey2);
  EXPECT_TRUE(v11.chips[0].is_1_1());
}

TEST(Atecc608ChipFile, LoadsAHandWrittenFile) {
  TempDir dir;
  write_file(dir / "chips.json", "\xEF\xBB\xBF" + one_chip(kGoodFields));  // with a UTF-8 BOM
  const ChipFile f = load_chip_file(dir / "chips.json");
  ASSERT_EQ(f.chips.size(), 1u);
  EXPECT_EQ(serial_hex(f.chips[0].serial), "0123a1b2c3d4e5f627");
  write_file(dir / "bad.json", one_chip(R"("Serial": "0123a1b2c3d4e5f627")"));
  try {
    load_chip_file(dir / "bad.json");
    ADD_FAILURE();
  } catch (const ChipFileError& e) {
    EXPECT_EQ(e.errors().size(), 3u) << "every error of the file at once";
    EXPECT_CONTAINS(e.errors()[0], (dir / "bad.json").string() + ": chips[0]: DevEUI: missing");
  }
}

TEST(Atecc608ChipFile, SaveLoadRoundTrip) {
  TempDir dir;
  const ChipFile f = three_chips();
  save_chip_file(f, dir / "chips.json");
  EXPECT_EQ(load_chip_file(dir / "chips.json"), f);
  const std::string text = chip_file_to_json(f);
  EXPECT_EQ(parse_chip_file(text, "x"), f);
  EXPECT_CONTAINS(text, "\"Serial\": \"0123");
  EXPECT_EQ(text.find("NwkKey"), text.rfind("NwkKey")) << "only the 1.1 chip has a NwkKey";
}

TEST(Atecc608ChipFile, EveryErrorNamesFileChipAndField) {
  EXPECT_EQ(error_of(one_chip(std::string(kGoodFields) + R"(, "Appkey": "x")")),
            "chips.json: chips[0]: unknown field \"Appkey\": expected one of Serial, DevEUI, "
            "JoinEUI, AppKey, NwkKey");
  EXPECT_EQ(error_of(R"({"chips": [], "devices": []})"),
            "chips.json: top level: unknown field \"devices\": expected only \"chips\"");

  const std::string bad_key = error_of(
      one_chip(R"("Serial": "0123a1b2c3d4e5f627", "DevEUI": "0102030405060708", )"
               R"("JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3g")"));
  EXPECT_CONTAINS(bad_key, "chips.json: chips[0]: AppKey: ");
  EXPECT_CONTAINS(bad_key, "position 31");
  const std::string short_key =
      error_of(one_chip(R"("Serial": "0123a1b2c3d4e5f627", "DevEUI": "0102030405060708", )"
                        R"("JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e1516")"));
  EXPECT_CONTAINS(short_key, "chips.json: chips[0]: AppKey: ");
  EXPECT_CONTAINS(short_key, "16 bytes");

  EXPECT_CONTAINS(
      error_of(one_chip(
          R"("Serial": "0123a1b2c3d4e5f6", "DevEUI": "0102030405060708", )"
          R"("JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c")")),
      "chips.json: chips[0]: Serial: ");
  EXPECT_CONTAINS(
      error_of(one_chip(
          R"("Serial": "0123a1b2c3d4e5f627", "DevEUI": "01020304050607", )"
          R"("JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c")")),
      "chips.json: chips[0]: DevEUI: ");
  EXPECT_EQ(error_of(one_chip(R"("Serial": "0123a1b2c3d4e5f627", "DevEUI": "0102030405060708", )"
                              R"("AppKey": "2b7e151628aed2a6abf7158809cf4f3c")")),
            "chips.json: chips[0]: JoinEUI: missing");
  EXPECT_EQ(error_of(one_chip(std::string(kGoodFields) + R"(, "NwkKey": 12)")),
            "chips.json: chips[0]: NwkKey: expected a string of hex digits, got a number");
  EXPECT_EQ(error_of(one_chip(
                R"("Serial": 1, "DevEUI": "0102030405060708", )"
                R"("JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c")")),
            "chips.json: chips[0]: Serial: expected a string of hex digits, got a number \"1\"");

  EXPECT_EQ(error_of(R"({"chips": [3]})"),
            "chips.json: chips[0]: expected an object with the fields of a chip, got a number");
  EXPECT_CONTAINS(error_of(R"({"chips": {}})"), "chips.json: chips: got an object");
  EXPECT_CONTAINS(error_of(R"({})"), "chips.json: chips: missing");
  EXPECT_CONTAINS(error_of(R"([])"), "chips.json: expected {\"chips\"");
  EXPECT_CONTAINS(error_of(R"({"chips": [)"), "chips.json: not valid JSON");
  EXPECT_CONTAINS(error_of(one_chip(std::string(kGoodFields) +
                                    R"(, "AppKey": "2b7e151628aed2a6abf7158809cf4f3c")")),
                  "chips.json: chips[0]: field \"AppKey\" appears more than once");
}

TEST(Atecc608ChipFile, DuplicateSerialsAndDevEuisAreErrors) {
  const std::string chip_a =
      R"({"Serial": "0123a1b2c3d4e5f627", "DevEUI": "0102030405060708", "JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"})";
  const std::string same_serial =
      R"({"Serial": "0123A1B2C3D4E5F627", "DevEUI": "0102030405060709", "JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"})";
  const std::string same_dev_eui =
      R"({"Serial": "0123a1b2c3d4e5f700", "DevEUI": "0102030405060708", "JoinEUI": "70B3D57ED0000000", "AppKey": "2b7e151628aed2a6abf7158809cf4f3c"})";
  const auto errors =
      errors_of("{\"chips\": [" + chip_a + ", " + same_serial + ", " + same_dev_eui + "]}");
  ASSERT_EQ(errors.size(), 2u) << ::testing::PrintToString(errors);
  EXPECT_EQ(errors[0],
            "chips.json: chips[1]: Serial: duplicate: 0123a1b2c3d4e5f627 is also the serial of "
            "chips[0]");
  EXPECT_EQ(errors[1],
            "chips.json: chips[2]: DevEUI: duplicate: 0102030405060708 is also the DevEUI of "
            "chips[0]");
}

TEST(Atecc608ChipFile, MissingFileAndDirectory) {
  TempDir dir;
  try {
    load_chip_file(dir / "nope.json");
    ADD_FAILURE();
  } catch (const ChipFileError& e) {
    EXPECT_CONTAINS(e.what(), "nope.json: cannot read the chip file: No such file or directory");
  }
  EXPECT_THROW(load_chip_file(dir.path()), ChipFileError);
  EXPECT_THROW(save_chip_file(ChipFile{}, dir / "missing-dir" / "chips.json"), ChipFileError);
}

TEST(Atecc608ChipFile, ReferencesByIndexAndSerial) {
  TempDir dir;
  std::filesystem::create_directories(dir / "fleet");
  ChipFile f = three_chips();
  Eui64::Array eui{};
  eui[7] = 9;
  f.chips.push_back(
      generate_chip(7, 3, Eui64(eui), Eui64::parse("70b3d57ed0000000"), Aes128Key::parse(kKey2)));
  save_chip_file(f, dir / "fleet" / "chips.json");

  EXPECT_EQ(resolve_chip_reference("chips.json#3", dir / "fleet"), f.chips[3]);
  EXPECT_EQ(resolve_chip_reference("fleet/chips.json#0", dir.path()), f.chips[0]);
  const std::string absolute = (dir / "fleet" / "chips.json").string();
  EXPECT_EQ(resolve_chip_reference(absolute + "#1", "/nonexistent"), f.chips[1]);
  const std::string by_serial = "chips.json#serial=" + serial_hex(f.chips[2].serial);
  EXPECT_EQ(resolve_chip_reference(by_serial, dir / "fleet"), f.chips[2]);

  ChipFileCache cache;
  EXPECT_EQ(cache.resolve("chips.json#3", dir / "fleet"), f.chips[3]);
  std::filesystem::remove(dir / "fleet" / "chips.json");
  EXPECT_EQ(cache.resolve("chips.json#2", dir / "fleet"), f.chips[2]) << "read once";
}

TEST(Atecc608ChipFile, BadReferences) {
  TempDir dir;
  save_chip_file(three_chips(), dir / "chips.json");
  auto error = [&](std::string_view reference) {
    try {
      resolve_chip_reference(reference, dir.path());
    } catch (const ChipFileError& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << reference;
    return std::string();
  };
  EXPECT_EQ(error("chips.json"),
            "chip reference \"chips.json\": expected \"<file>#<index>\" (zero-based) or "
            "\"<file>#serial=<18 hex digits>\"");
  EXPECT_CONTAINS(error("chips.json#x"), "got \"x\" after '#'");
  EXPECT_CONTAINS(error("chips.json#-1"), "got \"-1\" after '#'");
  EXPECT_CONTAINS(error("chips.json#serial=0123"), "serial: ");
  EXPECT_CONTAINS(error("chips.json#3"),
                  "chips.json holds 3 chips (indices 0 to 2), no chip at index 3");
  EXPECT_CONTAINS(error("chips.json#serial=0123000000000000ff"),
                  "holds no chip with serial 0123000000000000ff");
  EXPECT_CONTAINS(error("other.json#0"), "other.json: cannot read the chip file");
}

TEST(Atecc608ChipFile, GeneratedSerialsAreDistinctTngloraSerials) {
  std::set<Serial> seen;
  for (std::uint64_t i = 0; i < 5000; ++i) {
    const Serial s = generate_serial(1, i);
    EXPECT_EQ(s[0], 0x01);
    EXPECT_EQ(s[1], 0x23);
    EXPECT_EQ(s[8], 0x27);
    seen.insert(s);
  }
  EXPECT_EQ(seen.size(), 5000u);
  EXPECT_EQ(generate_serial(1, 17), generate_serial(1, 17));
  EXPECT_NE(generate_serial(1, 17), generate_serial(2, 17));

  const ChipProvisioning c =
      generate_chip(1, 4, Eui64::parse("0102030405060708"), Eui64::parse("70b3d57ed0000000"),
                    Aes128Key::parse(kKey1), Aes128Key::parse(kKey2));
  EXPECT_EQ(c.serial, generate_serial(1, 4));
  EXPECT_TRUE(c.is_1_1());
}

}  // namespace
}  // namespace joincheck::sim::atecc608
