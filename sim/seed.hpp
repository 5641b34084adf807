#pragma once
// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
// spreads a seed (or a seed mixed with an index) over 64 bits. The simulators derive their
// reproducible generators (fleets, devices, chips, gateways) from one user seed with it.

#include <cstdint>

namespace joincheck::sim {

constexpr std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace joincheck::sim
