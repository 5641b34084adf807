#pragma once
// The reference JS's settings from a TOML file (`joincheck serve-js --config FILE`), and the
// parsing of the command-line forms of the same settings. Errors name the file, the line and
// the key, what was expected and what was seen.

#include <toml++/toml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sim/join_server/service.hpp"

namespace joincheck::sim {

class ConfigError : public lorawan::Error {
 public:
  using lorawan::Error::Error;
};

// Reading TOML settings files, shared by the reference JS's file and the harness's target file
// (conformance/target.hpp), so that both locate and word their errors alike:
// "js.toml:12: tls.cert: expected a string, got an integer".
namespace toml_config {

// Where a value is, for messages: "js.toml:12: tls.cert".
struct Where {
  std::string file;
  std::string key;
  std::string at(const toml::node& n) const {
    return file + ":" + std::to_string(n.source().begin.line) + ": " + key;
  }
  Where child(std::string_view k) const {
    return {file, key.empty() ? std::string(k) : key + "." + std::string(k)};
  }
  // The i-th element of an array ("kek[2]"), counted from 1 as a reader counts tables.
  Where index(std::size_t i) const { return {file, key + "[" + std::to_string(i) + "]"}; }
};

// Parses `file`; a syntax error names the file, the line and the column. Throws ConfigError.
toml::table parse_file(const std::filesystem::path& file);
// Parses `text` read from `source` (named in errors) the same way. Throws ConfigError.
toml::table parse_text(std::string_view text, const std::filesystem::path& source);

std::string type_name(const toml::node& n);  // "a string", "an integer", ...
std::string get_string(const toml::node& n, const Where& w);
std::int64_t get_int(const toml::node& n, const Where& w, std::int64_t lo, std::int64_t hi);
bool get_bool(const toml::node& n, const Where& w);
// A string path; relative ones are relative to `base` (the folder of the file).
std::filesystem::path get_path(const toml::node& n, const Where& w,
                               const std::filesystem::path& base);
// A string or an array of strings.
std::vector<std::string> get_strings(const toml::node& n, const Where& w);
const toml::table& get_table(const toml::node& n, const Where& w);
// Every key of `t` must be one of `known`: a typo must not be silently ignored.
void check_keys(const toml::table& t, const Where& w,
                std::initializer_list<std::string_view> known);

// Runs a parser of a value already read from `n`, and puts the file, the line and the key in
// front of its error. `f` must not read `n` itself: errors of get_string() and the like are
// already located.
template <class F>
auto wrap_errors(const toml::node& n, const Where& w, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    std::string message = e.what();
    // parse_listen_address() and the like name their key already.
    if (const std::string lead = w.key + ": "; message.rfind(lead, 0) == 0) {
      message.erase(0, lead.size());
    }
    throw ConfigError(w.at(n) + ": " + message);
  }
}

}  // namespace toml_config

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
// The same for `toml_text` read from `source` (named in errors; relative paths are relative to
// its folder).
ServeJsFileSettings parse_serve_js_config(std::string_view toml_text, const std::filesystem::path& source,
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
// with a client CA needs HTTPS, and makes the server ask clients for certificates; with a single
// network server and no home NetID, that network server's NetID is the home NetID.
// Throws ConfigError.
void finalize_serve_js_options(JoinServerServiceOptions& options);

}  // namespace joincheck::sim
