// `joincheck devices`: make test fleets and hand a JS what it needs to provision them.
//
//   devices generate --count N --join-eui E [--mac-version V[,V...]] [--seed S] --out FILE [--force]
//                    [--se software|atecc608-emulated [--chips FILE]]
//   devices export --devices FLEET [--format json|csv] [--out FILE] [--force]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/commands.hpp"
#include "conformance/scenario.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/secure_element/atecc608/chip_file.hpp"
#include "sim/secure_element/factory.hpp"

namespace joincheck::cli {
namespace {

using namespace joincheck::sim;
using joincheck::lorawan::Error;
using joincheck::lorawan::quote_for_error;

// generate_fleet() allows 2^40 devices, but holds the fleet and its text in memory: a million
// devices is some 300 MB, enough for any scenario and for the device store benchmark.
constexpr std::uint64_t kMaxCount = 1'000'000;

struct GenerateOptions {
  std::string count, join_eui, seed, out, se = "software", chips;
  std::vector<std::string> mac_versions;
  bool force = false;
};

struct ExportOptions {
  std::string devices, format, out;
  bool force = false;
};

std::uint64_t parse_whole_number(const std::string& text, std::string_view option,
                                 std::uint64_t min, std::uint64_t max) {
  std::uint64_t v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc{} || ptr != end || v < min || v > max) {
    throw Error(std::string(option) + ": expected a whole number from " + std::to_string(min) +
                " to " + std::to_string(max) + ", got " + quote_for_error(text));
  }
  return v;
}

FleetFormat format_of_out(const std::string& out) {
  const auto f = fleet_format_from_extension(out);
  if (!f) {
    throw Error(
        "--out: expected a file name ending in .json or .csv (the format follows the "
        "extension), got " +
        quote_for_error(out));
  }
  return *f;
}

void refuse_existing(const std::string& out, bool force) {
  std::error_code ec;
  if (!force &&
      std::filesystem::symlink_status(out, ec).type() != std::filesystem::file_type::not_found &&
      !ec) {
    throw Error("--out: " + out + " already exists; give --force to overwrite it");
  }
}

// The file holds root keys: created readable by its owner only. Without --force an existing
// file is never touched (O_EXCL, so a file created meanwhile is not overwritten either).
void write_file(const std::string& out, std::string_view text, bool force) {
  refuse_existing(out, force);
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL);
  const int fd = ::open(out.c_str(), flags, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST)
      throw Error("--out: " + out + " already exists; give --force to overwrite it");
    throw Error("--out: cannot write " + out + ": " + std::strerror(err));
  }
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw Error("--out: cannot write " + out + ": " + std::strerror(err));
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  if (::close(fd) != 0) {
    throw Error("--out: cannot write " + out + ": " + std::strerror(errno));
  }
}

int run_generate(const GenerateOptions& o) {
  const std::uint64_t count = parse_whole_number(o.count, "--count", 1, kMaxCount);
  const lorawan::Eui64 join_eui = lorawan::Eui64::parse(lorawan::strip_hex_prefix(o.join_eui), "--join-eui");
  // Without --mac-version: every version the built-in suite has devices of, so that a fleet
  // generated as the README shows leaves no check skipped for want of a device.
  std::vector<lorawan::MacVersion> versions;
  if (o.mac_versions.empty()) versions = conformance::suite_mac_versions();
  for (const std::string& text : o.mac_versions) {
    const lorawan::MacVersion v = lorawan::parse_mac_version_or_throw(text, "--mac-version");
    if (std::find(versions.begin(), versions.end(), v) != versions.end()) {
      throw Error("--mac-version: " + quote_for_error(text) + " is given twice");
    }
    versions.push_back(v);
  }
  if (count < versions.size()) {
    throw Error("--count: " + std::to_string(versions.size()) + " MAC versions need at least " +
                std::to_string(versions.size()) + " devices, got " + std::to_string(count));
  }
  const FleetFormat format = format_of_out(o.out);
  refuse_existing(o.out, o.force);
  std::uint64_t seed = 0;
  if (o.seed.empty()) {
    std::random_device rd;
    seed = (std::uint64_t{rd()} << 32) ^ std::uint64_t{rd()};
    std::cerr << "joincheck devices generate: no --seed given, using --seed " << seed
              << " (give it again to generate the same fleet)\n";
  } else {
    seed = parse_whole_number(o.seed, "--seed", 0, UINT64_MAX);
  }
  const auto kind = parse_secure_element_kind(o.se);
  if (!kind || *kind == SecureElementKind::atecc608) {
    throw Error("--se: expected software or atecc608-emulated (a real atecc608 is written into a "
                "fleet file by hand: its keys are on the chip), got " + quote_for_error(o.se));
  }
  if (*kind == SecureElementKind::software && !o.chips.empty()) {
    throw Error("--chips: only with --se atecc608-emulated");
  }
  Fleet fleet = generate_fleet(static_cast<std::size_t>(count), join_eui, versions, seed);
  std::string chips_file;
  if (*kind == SecureElementKind::atecc608_emulated) {
    // One emulated chip per device, provisioned with the device's identity and keys; the fleet
    // entry names its chip relative to the fleet file's folder.
    const std::filesystem::path out_path(o.out);
    const std::filesystem::path folder = out_path.parent_path().empty() ? "." : out_path.parent_path();
    const std::filesystem::path chips =
        o.chips.empty() ? folder / (out_path.stem().string() + ".chips.json") : std::filesystem::path(o.chips);
    std::error_code exists_error;
    if (!o.force && std::filesystem::symlink_status(chips, exists_error).type() != std::filesystem::file_type::not_found &&
        !exists_error) {
      throw Error("--chips: " + chips.string() + " already exists; give --force to overwrite it" +
                  (o.chips.empty() ? " (or --chips to write the chip file elsewhere)" : ""));
    }
    std::error_code ec;
    std::filesystem::path reference = std::filesystem::relative(chips, folder, ec);
    if (ec || reference.empty()) reference = std::filesystem::absolute(chips);
    atecc608::ChipFile chip_file;
    for (std::size_t i = 0; i < fleet.devices.size(); ++i) {
      FleetDevice& d = fleet.devices[i];
      chip_file.chips.push_back(atecc608::generate_chip(seed, i, d.dev_eui, d.join_eui, *d.app_key,
                                                        lorawan::is_1_1(d.mac_version) ? d.nwk_key : std::nullopt));
      nlohmann::json se;  // keys sorted, as the fleet keeps them
      se["kind"] = "atecc608-emulated";
      se["chip"] = reference.generic_string() + "#" + std::to_string(i);
      d.secure_element = se.dump();
    }
    chips_file = chips.string();
    write_file(chips_file, atecc608::chip_file_to_json(chip_file), o.force);
  }
  write_file(o.out, format == FleetFormat::json ? fleet_to_json(fleet) : fleet_to_csv(fleet),
             o.force);
  if (!chips_file.empty()) {
    std::cerr << "joincheck devices generate: wrote " << count << " emulated ATECC608 chip"
              << (count == 1 ? "" : "s") << " to " << chips_file << "\n";
  }
  // "8 LoRaWAN 1.1 devices", or "8 devices (LoRaWAN 1.0.2, 1.0.3, 1.0.4, 1.1 in turn)".
  std::string what = std::to_string(count);
  if (versions.size() == 1) {
    what += " LoRaWAN " + std::string(lorawan::to_string(versions.front())) + (count == 1 ? " device" : " devices");
  } else {
    what += " devices (LoRaWAN ";
    for (std::size_t i = 0; i < versions.size(); ++i) what += (i ? ", " : "") + std::string(lorawan::to_string(versions[i]));
    what += " in turn)";
  }
  std::cerr << "joincheck devices generate: wrote " << what << " to " << o.out << " (" << to_string(format)
            << ", test keys: not for real devices)\n";
  return kExitOk;
}

int run_export(const ExportOptions& o) {
  std::optional<FleetFormat> format;
  if (!o.format.empty()) {
    if (o.format == "json") {
      format = FleetFormat::json;
    } else if (o.format == "csv") {
      format = FleetFormat::csv;
    } else {
      throw Error("--format: expected json or csv, got " + quote_for_error(o.format));
    }
  }
  if (!o.out.empty()) {
    const auto from_name = fleet_format_from_extension(o.out);
    if (format && from_name && *format != *from_name) {
      throw Error("--format " + o.format + " contradicts --out " + o.out +
                  ", whose extension says " + std::string(to_string(*from_name)));
    }
    if (!format) format = from_name;
    refuse_existing(o.out, o.force);
  }
  FleetLoad load = load_fleet(o.devices);
  for (const auto& w : load.warnings)
    std::cerr << "joincheck devices export: warning: " << w << "\n";
  Fleet fleet;
  for (FleetDevice& d : load.fleet.devices) {
    // A device whose root keys stay in its chip (a real ATECC608) has nothing a JS could be given.
    const bool v11 = lorawan::is_1_1(d.mac_version);
    if (!(v11 ? d.nwk_key : d.app_key)) {
      std::cerr << "joincheck devices export: warning: device " << d.dev_eui.hex()
                << " left out: its root keys are in its secure element, not in the fleet file\n";
      continue;
    }
    d.dev_nonce_policy.reset();
    d.dev_nonce_start.reset();
    d.secure_element.reset();
    fleet.devices.push_back(std::move(d));
  }
  const std::string text = format.value_or(FleetFormat::json) == FleetFormat::csv
                               ? fleet_to_csv(fleet, CsvColumns::provisioning)
                               : fleet_to_json(fleet);
  std::cerr
      << "joincheck devices export: warning: the output holds the root keys (AppKey, NwkKey) of "
      << fleet.devices.size() << " device" << (fleet.devices.size() == 1 ? "" : "s")
      << "; keep it secret\n";
  if (o.out.empty()) {
    std::cout << text << std::flush;
    if (!std::cout) throw Error("cannot write to standard output");
  } else {
    write_file(o.out, text, o.force);
  }
  return kExitOk;
}

}  // namespace

std::function<int()> add_devices_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "devices", "Generate test fleets; export what a JS needs to provision them");
  cmd->require_subcommand(1);

  auto g = std::make_shared<GenerateOptions>();
  CLI::App* gen = cmd->add_subcommand(
      "generate",
      "Write a fleet of test devices with random keys (the same fleet for the same --seed)");
  gen->add_option("--count", g->count, "number of devices, 1 to " + std::to_string(kMaxCount))
      ->required();
  gen->add_option("--join-eui", g->join_eui, "JoinEUI of every device (16 hex digits, MSB first)")
      ->required();
  std::string suite_versions;
  for (const auto v : conformance::suite_mac_versions()) {
    suite_versions += (suite_versions.empty() ? "" : ",") + std::string(lorawan::to_string(v));
  }
  gen->add_option("--mac-version", g->mac_versions,
                  "1.0, 1.0.1 ... 1.0.4 or 1.1; several (comma-separated or repeated) take turns, device i "
                  "having the (i mod N)-th (default: " + suite_versions + ", what the built-in suite needs)")
      ->delimiter(',')
      ->default_str(suite_versions);
  gen->add_option("--seed", g->seed, "0 to 2^64-1; without it a random seed is chosen and printed");
  gen->add_option("--out", g->out, "fleet file to write, FILE.json or FILE.csv")->required();
  gen->add_flag("--force", g->force, "overwrite --out (and --chips) if it exists");
  gen->add_option("--se", g->se,
                  "where the devices keep their root keys: software (default) or "
                  "atecc608-emulated (an emulated ATECC608 each, written to --chips)");
  gen->add_option("--chips", g->chips,
                  "chip file for --se atecc608-emulated (default: OUT-STEM.chips.json next to --out)");

  auto e = std::make_shared<ExportOptions>();
  CLI::App* exp = cmd->add_subcommand("export",
                                      "Write a fleet as a JS provisions it (DevEUI, JoinEUI, "
                                      "MACVersion, AppKey, NwkKey): holds root keys");
  exp->add_option("--devices", e->devices, "fleet file to read (JSON or CSV)")->required();
  exp->add_option("--format", e->format,
                  "json or csv (default: the extension of --out, else json)");
  exp->add_option("--out", e->out, "file to write (default: standard output)");
  exp->add_flag("--force", e->force, "overwrite --out if it exists");

  return [gen, exp, g, e]() -> int {
    const char* name =
        gen->parsed() ? "joincheck devices generate: " : "joincheck devices export: ";
    try {
      if (gen->parsed()) return run_generate(*g);
      if (exp->parsed()) return run_export(*e);
      return kExitUsage;
    } catch (const std::exception& ex) {
      std::cerr << name << ex.what() << "\n";
      return kExitUsage;
    }
  };
}

}  // namespace joincheck::cli
