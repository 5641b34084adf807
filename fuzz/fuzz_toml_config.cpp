// The TOML files joincheck reads: a target file (`--config`), a serve-js file (`serve-js
// --config`) and a ChirpStack v3/v4 network-server file (`doctor --chirpstack-config`). The first
// byte chooses the reader. Only sim::ConfigError may be thrown.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "conformance/chirpstack_config.hpp"
#include "conformance/target.hpp"
#include "sim/join_server/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck;
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] % 3) {
      case 0:
        (void)conformance::parse_target_config(text, "fuzz/target.toml");
        break;
      case 1: {
        sim::JoinServerServiceOptions options;
        (void)sim::parse_serve_js_config(text, "fuzz/serve-js.toml", options);
        break;
      }
      default:
        (void)conformance::parse_chirpstack_config(text, "fuzz/chirpstack.toml");
        break;
    }
  } catch (const sim::ConfigError&) {
  }
  return 0;
}
