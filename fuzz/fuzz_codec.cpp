// The TS002 codec, strict and observing, on any body a peer may send. Decoding throws only
// CodecError; a message the observing decoder read must encode again (outside the try: a
// failure there is a finding).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "backend/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::backend;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    (void)decode(body, DecodeMode::strict);
  } catch (const CodecError&) {
  }
  std::optional<Decoded> decoded;
  try {
    decoded = decode(body, DecodeMode::observing);
  } catch (const CodecError&) {
  }
  if (decoded) {
    (void)encode(decoded->message);
    (void)missing_fields(decoded->message);
  }
  return 0;
}
