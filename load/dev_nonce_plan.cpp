#include "load/dev_nonce_plan.hpp"

#include <algorithm>

namespace joincheck::load {

namespace {

// splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number generators", 2014): a
// mixing function, here the round function of the permutation.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

constexpr std::uint32_t kValues = 0x10000;

}  // namespace

std::uint16_t permuted_dev_nonce(std::uint64_t key, std::uint32_t i) {
  // A Feistel network is a bijection whatever its round function (Luby and Rackoff, 1988).
  std::uint32_t left = (i >> 8) & 0xff;
  std::uint32_t right = i & 0xff;
  for (std::uint64_t round = 0; round < 4; ++round) {
    const std::uint32_t f = static_cast<std::uint32_t>(mix(key ^ (round << 56) ^ right) & 0xff);
    const std::uint32_t next_right = left ^ f;
    left = right;
    right = next_right;
  }
  return static_cast<std::uint16_t>((left << 8) | right);
}

std::uint64_t dev_nonce_key(const lorawan::Eui64& dev_eui) {
  std::uint64_t eui = 0;
  for (const std::uint8_t b : dev_eui.bytes()) eui = (eui << 8) | b;
  return mix(mix(eui) ^ 0x6a6f696e63686563ULL);
}

DevNoncePlan::DevNoncePlan(const sim::FleetDevice& device, const std::optional<sim::SimDevice::Counters>& counters)
    : policy_(sim::effective_dev_nonce_policy(device)), key_(dev_nonce_key(device.dev_eui)) {
  switch (policy_) {
    case sim::DevNoncePolicy::counter:
      next_ = counters ? counters->next_dev_nonce : device.dev_nonce_start.value_or(0);
      break;
    case sim::DevNoncePolicy::random:
      if (counters) {
        next_ = std::min(counters->next_dev_nonce, kValues);
        avoid_ = counters->recent_dev_nonces;
        std::sort(avoid_.begin(), avoid_.end());
      }
      break;
    case sim::DevNoncePolicy::fixed:
      next_ = kValues;
      break;
  }
}

std::optional<lorawan::DevNonce> DevNoncePlan::next() {
  if (policy_ == sim::DevNoncePolicy::counter) {
    if (next_ >= kValues) return std::nullopt;
    return lorawan::DevNonce(next_++);
  }
  while (next_ < kValues) {
    const std::uint16_t value = permuted_dev_nonce(key_, next_++);
    if (!std::binary_search(avoid_.begin(), avoid_.end(), value)) return lorawan::DevNonce(value);
  }
  return std::nullopt;
}

std::uint32_t DevNoncePlan::remaining() const { return next_ >= kValues ? 0 : kValues - next_; }

sim::SimDevice::Counters DevNoncePlan::counters(sim::SimDevice::Counters base) const {
  if (policy_ == sim::DevNoncePolicy::random) base.next_dev_nonce = next_;
  return base;
}

}  // namespace joincheck::load
