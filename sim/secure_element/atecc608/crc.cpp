#include "sim/secure_element/atecc608/crc.hpp"

namespace joincheck::sim::atecc608 {

std::uint16_t crc16(lorawan::ByteSpan data) {
  constexpr std::uint16_t kPolynomial = 0x8005;
  std::uint16_t crc = 0;
  for (const std::uint8_t byte : data) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      const bool data_bit = ((byte >> bit) & 1U) != 0;
      const bool top_bit = (crc & 0x8000U) != 0;
      crc = static_cast<std::uint16_t>(crc << 1);
      if (data_bit != top_bit) crc = static_cast<std::uint16_t>(crc ^ kPolynomial);
    }
  }
  return crc;
}

void append_crc(lorawan::Bytes& group) {
  const std::uint16_t crc = crc16(group);
  group.push_back(static_cast<std::uint8_t>(crc & 0xFFU));
  group.push_back(static_cast<std::uint8_t>(crc >> 8));
}

bool crc_matches(lorawan::ByteSpan group) {
  if (group.size() < 3) return false;
  const std::uint16_t crc = crc16(group.first(group.size() - 2));
  return group[group.size() - 2] == static_cast<std::uint8_t>(crc & 0xFFU) &&
         group[group.size() - 1] == static_cast<std::uint8_t>(crc >> 8);
}

}  // namespace joincheck::sim::atecc608
