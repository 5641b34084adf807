#pragma once
// Helpers shared by the codec tests.

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "backend/codec.hpp"

namespace joincheck::backend::test {

inline lorawan::Bytes hex(std::string_view s) { return lorawan::from_hex(s, "test"); }

// The observations of `kind` at `path`.
inline std::vector<Observation> find(const std::vector<Observation>& observations,
                                     ObservationKind kind, std::string_view path) {
  std::vector<Observation> out;
  for (const auto& o : observations) {
    if (o.kind == kind && o.path == path) out.push_back(o);
  }
  return out;
}

inline std::string describe(const std::vector<Observation>& observations) {
  std::string out;
  for (const auto& o : observations) {
    out += std::string(to_string(o.kind)) + " " + o.path + ": " + o.detail + "\n";
  }
  return out;
}

// The message of the CodecError that decoding `body` throws; "" (and a test failure) if none.
inline std::string codec_error(std::string_view body, DecodeMode mode) {
  try {
    (void)decode(body, mode);
  } catch (const CodecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a CodecError for " << body;
  return "";
}

}  // namespace joincheck::backend::test
