#include "sim/device/counters_file.hpp"

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "lorawan/types.hpp"

namespace joincheck::sim {

namespace {

std::uint32_t get_number(const nlohmann::json& j, const std::string& where, const char* field, std::uint32_t max) {
  const auto it = j.find(field);
  if (it == j.end()) throw CountersFileError(where + "." + field + ": missing");
  if (!it->is_number_unsigned() || it->get<std::uint64_t>() > max) {
    throw CountersFileError(where + "." + field + ": expected a number 0.." + std::to_string(max) + ", got " +
                            it->dump().substr(0, 40));
  }
  return static_cast<std::uint32_t>(it->get<std::uint64_t>());
}

}  // namespace

DeviceCountersMap load_device_counters(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return {};
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CountersFileError(file.string() + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, false);
  if (j.is_discarded()) throw CountersFileError(file.string() + ": not valid JSON");
  const auto devices = j.find("devices");
  if (!j.is_object() || devices == j.end() || !devices->is_object()) {
    throw CountersFileError(file.string() + ": expected {\"devices\": {DevEUI: {...}}}");
  }
  DeviceCountersMap out;
  for (const auto& [eui, d] : devices->items()) {
    const std::string where = file.string() + ": devices." + eui;
    lorawan::Eui64 dev_eui;
    try {
      dev_eui = lorawan::Eui64::parse(eui, "DevEUI");
    } catch (const lorawan::Error& e) {
      throw CountersFileError(where + ": " + e.what());
    }
    if (!d.is_object()) throw CountersFileError(where + ": expected an object");
    for (const auto& [key, value] : d.items()) {
      if (key != "DevNonceNext" && key != "RecentDevNonces" && key != "RJcount1Next" && key != "LastJoinNonce") {
        throw CountersFileError(where + "." + key + ": unknown field (DevNonceNext, RecentDevNonces, RJcount1Next, LastJoinNonce)");
      }
    }
    SimDevice::Counters c;
    c.next_dev_nonce = get_number(d, where, "DevNonceNext", 0x10000);
    c.next_rj_count1 = get_number(d, where, "RJcount1Next", 0x10000);
    if (d.contains("LastJoinNonce")) c.last_join_nonce = get_number(d, where, "LastJoinNonce", 0xffffff);
    if (const auto r = d.find("RecentDevNonces"); r != d.end()) {
      if (!r->is_array()) throw CountersFileError(where + ".RecentDevNonces: expected an array of numbers");
      for (const auto& n : *r) {
        if (!n.is_number_unsigned() || n.get<std::uint64_t>() > 0xffff) {
          throw CountersFileError(where + ".RecentDevNonces: expected numbers 0..65535, got " + n.dump().substr(0, 40));
        }
        c.recent_dev_nonces.push_back(static_cast<std::uint16_t>(n.get<std::uint64_t>()));
      }
    }
    out[dev_eui.hex()] = c;
  }
  return out;
}

void save_device_counters(const std::filesystem::path& file, const DeviceCountersMap& counters) {
  nlohmann::ordered_json devices = nlohmann::ordered_json::object();
  for (const auto& [eui, c] : counters) {
    nlohmann::ordered_json d;
    d["DevNonceNext"] = c.next_dev_nonce;
    d["RecentDevNonces"] = c.recent_dev_nonces;
    d["RJcount1Next"] = c.next_rj_count1;
    if (c.last_join_nonce) d["LastJoinNonce"] = *c.last_join_nonce;
    devices[eui] = d;
  }
  nlohmann::ordered_json j;
  j["devices"] = devices;
  const std::filesystem::path tmp = file.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    out.flush();
    if (!out) throw CountersFileError(file.string() + ": cannot be written");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw CountersFileError(file.string() + ": cannot be written: " + ec.message());
}

}  // namespace joincheck::sim
