#pragma once
// The reference JS's settings from a TOML file (`joincheck serve-js --config FILE`), and the
// parsing of the command-line forms of the same settings. Errors name the file, the line and
// the key, what was expected and what was seen.

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "sim/join_server/service.hpp"

namespace joincheck::sim {

class ConfigError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

// Where the file gave a KEK label, so that resolve_keks() can name the file, the line and
// the key of a label that names no KEK.
struct KekLabelOrigin {
  std::string label;
  std::string where;  // "js.toml:12: network_server.kek_label"
};
// By NetID in hex, and "application_server" for the AS label.
using KekLabelOrigins = std::map<std::string, KekLabelOrigin, std::less<>>;

// Settings the file gives that the service options do not hold directly.
struct ServeJsFileSettings {
  std::vector<std::filesystem::path> fleet_files;
  backend::KekTable keks;     // [[kek]] tables
  std::string as_kek_label;   // [application_server] kek_label
  KekLabelOrigins kek_label_origins;
};

// Reads `file` into `options` (keys absent from the file leave `options` as they are).
// Relative paths in the file are relative to the file's folder. KEK labels are bound by
// resolve_keks() once command-line KEKs are known. Throws ConfigError.
ServeJsFileSettings load_serve_js_config(const std::filesystem::path& file,
                                         JoinServerServiceOptions& options);

// "LABEL=HEX" (16, 24 or 32 bytes). Throws ConfigError.
std::pair<std::string, lorawan::Bytes> parse_kek(std::string_view text);
// "JoinReq=/join" (a MessageType and a path). Throws ConfigError.
std::pair<backend::MessageType, std::string> parse_path(std::string_view text);

// Binds KEK labels to network servers: a NetID without a label takes the KEK whose label is
// its NetID in hex (the brocaar convention), if there is one. Throws ConfigError for a
// network server whose label names no KEK; when `origins` says the label came from a file
// (and it was not replaced since), the error names the file, the line and the key.
void resolve_keks(JoinServerConfig& js, const backend::KekTable& keks, const std::string& as_kek_label,
                  const KekLabelOrigins& origins = {});

// Settings that depend on each other, once file and command line are merged: a network server
// with a client CA needs HTTPS, and makes the server ask clients for certificates.
// Throws ConfigError.
void finalize_serve_js_options(JoinServerServiceOptions& options);

}  // namespace joincheck::sim
