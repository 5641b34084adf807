#pragma once
// The Join Server settings of a ChirpStack configuration file, read as ChirpStack reads them,
// for `joincheck doctor` (conformance/doctor.hpp). Two layouts (chirpstack/chirpstack
// chirpstack/src/config.rs for v4, brocaar/chirpstack-network-server cmd/chirpstack-network-server/cmd/configfile.go
// for v3; docs/checks.md#doctor):
//
//  ChirpStack v4 (chirpstack.toml):
//    [join_server] resolve_join_eui_domain_suffix
//    [join_server.default] enabled, server, async_timeout, ca_cert, tls_cert, tls_key,
//                          authorization_header
//    [[join_server.servers]] join_eui_prefix, server, async_timeout, ca_cert, tls_cert,
//                            tls_key, authorization_header
//    [[keks]] label, kek
//    [backend_interfaces] bind, ca_cert, tls_cert, tls_key
//  ChirpStack v3 network server / LoRa Server (chirpstack-network-server.toml), two forms:
//    certificates form (brocaar/chirpstack-network-server internal/joinserver/config.go, pool.go):
//      [join_server] resolve_join_eui, resolve_domain_suffix
//      [[join_server.certificates]] join_eui, ca_cert, tls_cert, tls_key   (no server)
//    servers form (internal/config/config.go, internal/backend/joinserver/joinserver.go, the
//    template in cmd/chirpstack-network-server/cmd/configfile.go):
//      [join_server] resolve_domain_suffix (resolve_join_eui is not used to pick the JS)
//      [[join_server.servers]] join_eui, server, ca_cert, tls_cert, tls_key
//    both: [join_server.default] server, ca_cert, tls_cert, tls_key; [[join_server.kek.set]] label, kek
//
// The version (and v3's form) is detected from the keys present: v4 servers have
// join_eui_prefix, v3 servers join_eui. Nothing is judged here: values are kept as written,
// with the line they are on, and keys ChirpStack would not read are listed.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace joincheck::conformance {

enum class ChirpStackVersion { v3, v4 };
// The two v3 ways to name Join Servers. A v3 that reads [[join_server.servers]] ignores
// [[join_server.certificates]] and resolve_join_eui; an older one knows no servers.
enum class V3Form { certificates, servers };
std::string_view to_string(ChirpStackVersion version);  // "ChirpStack v3", "ChirpStack v4"

// A string setting as written, and where.
struct CsValue {
  std::string value;
  int line = 0;  // 0: absent
  bool present() const { return line != 0; }
};

// One Join Server the NS may connect to.
struct CsJoinServer {
  std::string table;  // "[join_server.default]", "[[join_server.servers]] #2"
  std::string scope;  // id-friendly: "default", "servers-2", "certificates-1"
  int line = 0;       // of the table
  bool is_default = false;
  bool certificates_only = false;  // v3 [[join_server.certificates]]: TLS files for a resolved JoinEUI, no server
  std::optional<bool> enabled;  // v4 default only
  CsValue join_eui_prefix;      // v4 servers; v3 certificates: join_eui
  CsValue server;
  CsValue async_timeout;
  CsValue ca_cert, tls_cert, tls_key;  // paths as written (relative to the working directory)
  bool authorization_header = false;
  std::string authorization_value;  // sent by the live probes as ChirpStack would; never printed
};

struct CsKek {
  std::string table;  // "[[keks]] #1"
  int line = 0;
  std::string label;
  std::string kek_hex;  // as written; never printed
};

// A key ChirpStack does not read there (a typo, or a setting of the other version).
struct CsIgnoredKey {
  std::string key;  // "join_server.default.async_interface"
  int line = 0;
};

struct ChirpStackConfig {
  std::filesystem::path file;
  ChirpStackVersion version = ChirpStackVersion::v4;
  std::string version_evidence;  // "[[join_server.servers]], [[keks]]"
  V3Form v3_form = V3Form::certificates;  // v3 only
  bool empty = false;            // the file has no TOML key at all
  bool has_join_server = false;  // a [join_server] table (or a v4 [[keks]]-only file has none)
  CsValue net_id;  // v4 [network] net_id, v3 [network_server] net_id: the SenderID of JoinReqs
  std::vector<CsJoinServer> join_servers;  // v4 and v3 servers form: servers in file order, then default;
                                           // v3 certificates form: certificates, then default
  CsValue resolve_suffix;                  // v4 resolve_join_eui_domain_suffix, v3 resolve_domain_suffix
  std::optional<bool> resolve_join_eui;    // v3
  std::vector<CsKek> keks;
  std::optional<CsJoinServer> backend_interfaces;  // v4 [backend_interfaces]: bind in `server`
  std::vector<CsIgnoredKey> ignored;
};

// Throws sim::ConfigError (file, line, key) when the file is not TOML or a value has the
// wrong type.
ChirpStackConfig load_chirpstack_config(const std::filesystem::path& file);
ChirpStackConfig parse_chirpstack_config(std::string_view toml_text, const std::filesystem::path& source);

// The DNS name ChirpStack resolves for a JoinEUI: its 16 nibbles lowest first, dot-separated,
// then the suffix as written ("...0.7" + ".joineuis.lora-alliance.org").
std::string join_eui_dns_name(std::string_view join_eui_hex, std::string_view suffix);

}  // namespace joincheck::conformance
