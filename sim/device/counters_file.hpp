#pragma once
// The state a fleet keeps between runs against a Join Server that remembers (TS002 JSs keep
// DevNonces and JoinNonces per device): without it, a second `joincheck run` against the same JS
// replays the first run's DevNonces. A JSON file:
//
//   {"devices": {"0102030405060708": {"DevNonceNext": 12, "RecentDevNonces": [513, 77],
//                                      "RJcount1Next": 0, "LastJoinNonce": 9}}}
//
// DevNonceNext is the counter policy's next value (65536 once exhausted), RecentDevNonces the
// random policy's last values (oldest first), LastJoinNonce absent before any accepted join.
// Keys are never stored here.

#include <filesystem>
#include <map>
#include <string>

#include "lorawan/error.hpp"
#include "sim/device/device.hpp"

namespace joincheck::sim {

// By DevEUI in hex (lower case).
using DeviceCountersMap = std::map<std::string, SimDevice::Counters>;

class CountersFileError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

// An absent file is an empty map (the first run). Anything else that cannot be used throws
// CountersFileError naming the file, the device and the field.
DeviceCountersMap load_device_counters(const std::filesystem::path& file);
// Written to FILE.tmp and renamed, so a crash never leaves half a file. Throws
// CountersFileError naming the file.
void save_device_counters(const std::filesystem::path& file, const DeviceCountersMap& counters);

}  // namespace joincheck::sim
