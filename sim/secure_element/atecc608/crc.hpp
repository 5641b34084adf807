#pragma once
// The CRC-16 of the ATECC508A/608A I/O groups (Microchip ATECC508A data sheet DS20005927A; the
// ATECC608A-TNGLoRaWAN data sheet, "I/O Transactions"; MicrochipTech/cryptoauthlib
// lib/calib/calib_command.c atCRC): polynomial
// 0x8005, register initialised to 0, each byte processed least-significant bit first, no output
// reflection and no final XOR; the register is sent low byte first. It covers the count byte and
// the packet, everything of a group but its last two bytes. In the CRC catalogue's terms:
// width 16, poly 0x8005, init 0, refin true, refout false, xorout 0; check("123456789") = 0xBCDD.
// Written from that description (the data sheet's and cryptoauthlib's `atCRC` behave the same);
// frames published by Microchip and worked command frames are its test vectors.

#include <cstdint>

#include "lorawan/hex.hpp"

namespace joincheck::sim::atecc608 {

std::uint16_t crc16(lorawan::ByteSpan data);

// Appends crc16(group) to `group`, low byte first.
void append_crc(lorawan::Bytes& group);

// Whether the last two bytes of `group` are the CRC of the bytes before them (false when the
// group is shorter than 3 bytes).
bool crc_matches(lorawan::ByteSpan group);

}  // namespace joincheck::sim::atecc608
