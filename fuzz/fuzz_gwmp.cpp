// Semtech UDP packet forwarder datagrams (GWMP), as serve-ns and the gateway read them. A
// decoded packet must encode again; only GwmpError may be thrown.
#include <cstddef>
#include <cstdint>

#include "sim/gateway/gwmp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::sim::gwmp;
  try {
    const Packet p = decode(joincheck::lorawan::ByteSpan(data, size));
    (void)encode(p);
  } catch (const GwmpError&) {
  }
  return 0;
}
