// The ATECC608 wire protocol: response groups as the client reads them from a chip (real or
// emulated), command groups as the emulator reads them, and a command built from the input
// encoded and decoded again (a CRC-valid group, which random bytes rarely are). The first byte
// chooses. Only ProtocolError (CrcError among them) may be thrown.
#include <cstddef>
#include <cstdint>

#include "sim/secure_element/atecc608/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim::atecc608;
  if (size == 0) return 0;
  const std::uint8_t mode = data[0] % 3;
  const joincheck::lorawan::ByteSpan rest(data + 1, size - 1);
  try {
    if (mode == 0) {
      (void)decode_response(rest);
    } else if (mode == 1) {
      if (const auto command = decode_command(rest)) (void)encode_command(*command);
    } else if (rest.size() >= 4) {
      CommandPacket c;
      c.opcode = rest[0];
      c.param1 = rest[1];
      c.param2 = static_cast<std::uint16_t>(rest[2] | (rest[3] << 8));
      c.data.assign(rest.begin() + 4, rest.end());
      const auto group = encode_command(c);
      const auto back = decode_command(group);
      if (!back || *back != c) __builtin_trap();  // an encoded command must decode to itself
      (void)decode_response(encode_response(c.data));
    }
  } catch (const ProtocolError&) {
  }
  return 0;
}
