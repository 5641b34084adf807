// The TS002 codec, strict and observing, on any body a peer may send. A decoded message must
// encode again; only CodecError may be thrown.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "backend/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::backend;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    (void)decode(body, DecodeMode::strict);
  } catch (const CodecError&) {
  }
  try {
    const Decoded d = decode(body, DecodeMode::observing);
    (void)encode(d.message);
    (void)missing_fields(d.message);
  } catch (const CodecError&) {
  }
  return 0;
}
