// Semtech UDP packet forwarder datagrams (GWMP), as serve-ns and the gateway read them.
// Decoding throws only GwmpError; a decoded packet must encode again (outside the try).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "sim/gateway/gwmp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim::gwmp;
  std::optional<Packet> packet;
  try {
    packet = decode(joincheck::lorawan::ByteSpan(data, size));
  } catch (const GwmpError&) {
  }
  if (packet) (void)encode(*packet);
  return 0;
}
