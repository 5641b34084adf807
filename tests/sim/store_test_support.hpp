#pragma once
// Devices for the device store's tests: numbered DevEUIs under one JoinEUI with the test keys.

#include <cstdint>

#include "lorawan/types.hpp"
#include "sim/join_server/device_store.hpp"

namespace joincheck::sim::test_support {

inline const lorawan::Eui64 kStoreJoinEui = lorawan::Eui64::parse("70b3d57ed0000000");
inline const lorawan::Aes128Key kStoreAppKey =
    lorawan::Aes128Key::parse("2b7e151628aed2a6abf7158809cf4f3c");
inline const lorawan::Aes128Key kStoreNwkKey =
    lorawan::Aes128Key::parse("000102030405060708090a0b0c0d0e0f");

// The EUI whose 64 bits are `v`, most significant byte first.
inline lorawan::Eui64 numbered_eui(std::uint64_t v) {
  lorawan::Eui64::Array a{};
  for (std::size_t i = 0; i < 8; ++i) a[i] = static_cast<std::uint8_t>(v >> (56 - 8 * i));
  return lorawan::Eui64(a);
}

// DevEUI numbered_eui(dev_eui), the test JoinEUI and AppKey, and the NwkKey for LoRaWAN 1.1.
inline DeviceIdentity store_device(std::uint64_t dev_eui, lorawan::MacVersion version) {
  DeviceIdentity d;
  d.dev_eui = numbered_eui(dev_eui);
  d.join_eui = kStoreJoinEui;
  d.mac_version = version;
  d.app_key = kStoreAppKey;
  if (lorawan::is_1_1(version)) d.nwk_key = kStoreNwkKey;
  return d;
}

}  // namespace joincheck::sim::test_support
