#include "sim/secure_element/software_se.hpp"

namespace joincheck::sim {
namespace {

std::size_t index_of(KeySlot slot) { return static_cast<std::size_t>(slot); }

std::uint64_t seed_or_random(std::optional<std::uint64_t> seed) {
  if (seed) return *seed;
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

}  // namespace

SoftwareSe::SoftwareSe(SeIdentity identity, const lorawan::RootKeys& root_keys,
                       std::optional<std::uint64_t> random_seed)
    : identity_(identity), rng_(seed_or_random(random_seed)) {
  slots_[index_of(KeySlot::app_key)] = root_keys.app_key;
  slots_[index_of(KeySlot::nwk_key)] = root_keys.nwk_key;
}

std::unique_ptr<SoftwareSe> SoftwareSe::from_fleet_device(
    const FleetDevice& device, std::optional<std::uint64_t> random_seed) {
  SeIdentity identity;
  identity.dev_eui = device.dev_eui;
  identity.join_eui = device.join_eui;
  lorawan::RootKeys keys;
  keys.app_key = device.app_key;
  keys.nwk_key = device.nwk_key;
  return std::make_unique<SoftwareSe>(identity, keys, random_seed);
}

bool SoftwareSe::has_key(KeySlot slot) const { return slots_[index_of(slot)].has_value(); }

std::optional<lorawan::Aes128Key> SoftwareSe::key(KeySlot slot) const {
  return slots_[index_of(slot)];
}

const lorawan::Aes128Key& SoftwareSe::need(KeySlot slot, const char* operation) const {
  const auto& key = slots_[index_of(slot)];
  if (!key) fail(operation, slot, "the slot holds no key");
  return *key;
}

void SoftwareSe::set_key(KeySlot slot, const lorawan::Aes128Key& key) {
  if (is_root_slot(slot)) fail("set-key", slot, "root keys are provisioned, not written");
  slots_[index_of(slot)] = key;
}

lorawan::Block SoftwareSe::aes_encrypt(KeySlot slot, const lorawan::Block& in) {
  return lorawan::aes128_encrypt(need(slot, "aes-encrypt"), in);
}

lorawan::Block SoftwareSe::cmac(KeySlot slot, lorawan::ByteSpan message) {
  return lorawan::cmac(need(slot, "cmac"), message);
}

void SoftwareSe::derive_and_store(KeySlot root, const lorawan::Block& input, KeySlot target) {
  if (is_root_slot(target)) {
    fail("derive-and-store from " + std::string(to_string(root)), target,
         "root keys are provisioned, not derived");
  }
  const lorawan::Block derived = lorawan::aes128_encrypt(need(root, "derive-and-store"), input);
  slots_[index_of(target)] = lorawan::Aes128Key(derived);
}

void SoftwareSe::random(std::span<std::uint8_t> out) {
  std::uint64_t word = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (i % 8 == 0) word = rng_();
    out[i] = static_cast<std::uint8_t>(word >> (8 * (i % 8)));
  }
}

}  // namespace joincheck::sim
