#pragma once
// The target: the Join Server under test and how the harness talks to it, from a TOML file
// (`joincheck run --config target.toml`; command-line flags override what it says). DESIGN.md
// "Configuration"; docs/checks.md explains the checks these settings feed.
//
// Every key is optional except `url`. Unknown keys and tables are errors, so that a typo is
// never silently ignored; errors name the file, the line and the key, what was expected and
// what was seen, and never quote a KEK or a header value. Relative paths are relative to the
// folder of the file. TLS files are not read here: NsClient loads them and reports problems.
//
//   url = "https://js.example.net:8443"   # where every request is POSTed (required)
//   profile = "tts"                       # a built-in profile name, or a .toml file
//   devices = "fleet.json"                # the fleet file (JSON or CSV)
//   timeout = "5s"                        # per exchange: "5s", "500ms", or milliseconds (5000)
//   content_type = "application/json"     # sent exactly
//
//   [paths]                               # per request type: a path replacing url's, or a URL
//   JoinReq = "/join"
//   RejoinReq = "/rejoin"
//   AppSKeyReq = "https://js-as.example.net/appskey"
//   HomeNSReq = "/homens"
//
//   [tls]                                 # for https:// URLs
//   ca_cert = "ca.pem"                    # replaces the system roots
//   tls_cert = "ns.pem"                   # client certificate (mutual TLS)...
//   tls_key = "ns-key.pem"                # ...and its key; the two go together
//   requires_client_auth = true           # the JS must refuse clients without a good
//                                         # certificate: the tls/ client checks run
//
//   [tls.probes]                          # identities the JS must refuse (cert + key each;
//   other_ca_cert = "other-ca-ns.pem"     # optional, a client check without one is skipped)
//   other_ca_key = "other-ca-ns-key.pem"  # issued by a CA the JS does not trust
//   expired_cert = "expired-ns.pem"       # issued by the CA the JS trusts, expired
//   expired_key = "expired-ns-key.pem"
//   other_net_id_cert = "ns-000099.pem"   # issued for another NetID (its CA per NetID, or its
//   other_net_id_key = "ns-000099-key.pem"  # CN): the JS refuses it for [ns] net_id
//
//   [headers]                             # extra headers, sent with every request
//   Authorization = "Bearer 0123"
//
//   [ns]                                  # who the harness is, as a Network Server
//   net_id = "000001"                     # SenderID
//   ns_id = "0000000000000001"            # SenderNSID (sent under ProtocolVersion 1.1 only)
//   protocol_version = "1.0"              # "1.0" or "1.1"
//   sender_token = "6a6f696e636865636b"   # hex; "" sends no SenderToken
//   ns_like = "chirpstack-v4"             # plain (default), chirpstack-v3, chirpstack-v4: send the
//                                         # requests that NS's way (sim/network_server/ns_persona.hpp)
//   unknown_net_id = "ffff01"             # a NetID the JS must not serve (UnknownSender checks)
//
//   [[kek]]                               # KEKs shared with the JS, by label (repeatable)
//   label = "000001"
//   kek = "000102030405060708090a0b0c0d0e0f"   # 16, 24 or 32 bytes of hex
//
//   [application_server]                  # the harness as AS (AppSKeyReq)
//   as_id = "joincheck-as"                # SenderID (AS-ID, free text)
//   kek_label = "as-kek"                  # must name a [[kek]]; adds the as-kek capability
//
//   [async]                               # answers POSTed back by the JS; adds capability async
//   listen = "127.0.0.1:0"                # HOST:PORT of the harness's listener (0: any port)
//   tls_cert = "listener.pem"             # HTTPS listener (optional)...
//   tls_key = "listener-key.pem"
//   client_ca = "js-ca.pem"               # ...that requires a JS client certificate (optional)
//
//   [capabilities]                        # what the JS declares it supports (overrides)
//   rejoin = false                        # also app_s_key, home_ns, protocol_1_1, known_senders
//
// Defaults (default_target_config()), chosen to be neutral and to keep every check testable:
//  - NetID 000001: a type 0 NetID of the experimental range (000000 and 000001 are left to
//    private and experimental networks), so the harness never poses as a real operator;
//  - NSID 0000000000000001, sent only under ProtocolVersion 1.1 (TS002 1.1 §23.1; docs/checks.md#protocol);
//  - ProtocolVersion "1.0", which every JS speaks (ChirpStack only ever sends "1.0");
//  - SenderToken: the bytes of ASCII "joincheck", so that the ReceiverToken echo is always
//    testable (TS002 1.0 §22.1);
//  - unknown_net_id ffff01: a type 7 NetID nobody is assigned in practice;
//  - timeout 5000 ms: ChirpStack's fixed HTTP timeout (docs/checks.md#timing), the longest a real NS waits;
//  - capabilities rejoin, app-s-key, home-ns, protocol-1.1 and known-senders: the spec's
//    features, so that a JS lacking one says so in the file instead of failing silently.
//    as-kek is added by [application_server] kek_label, async by [async].

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "conformance/scenario.hpp"
#include "conformance/validator.hpp"
#include "lorawan/types.hpp"
#include "sim/join_server/config.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

// The tls/ client-authentication checks (conformance/tls_checks.hpp): whether the JS declares
// that it requires a client certificate, and the identities it must refuse.
struct TlsProbeIdentity {
  std::filesystem::path cert;
  std::filesystem::path key;
  bool empty() const { return cert.empty(); }
};
struct TlsCheckConfig {
  bool requires_client_auth = false;
  TlsProbeIdentity other_ca;      // from a CA the JS does not trust
  TlsProbeIdentity expired;       // from the trusted CA, expired
  TlsProbeIdentity other_net_id;  // from the trusted CA (or NetID CA), for another NetID
};

struct TargetConfig {
  // url, paths, tls, headers, content_type, protocol_version, net_id, ns_id, sender_token,
  // keks (every [[kek]], the AS KEK included), timeout, async_listen, async_tls.
  sim::NsClientOptions ns;
  std::string as_id = "joincheck-as";  // SenderID of AppSKeyReq (an AS-ID is free text)
  std::string as_kek_label;            // the [[kek]] the JS wraps AppSKey with; "" when none
  // A NetID (hex) the target is not expected to serve: the SenderID of the unknown-sender checks.
  std::string unknown_net_id = "ffff01";
  std::set<Capability> capabilities;   // what the target declares it supports
  TlsCheckConfig tls_checks;           // [tls] requires_client_auth, [tls.probes]
  std::optional<std::string> profile;  // a built-in profile name, or a file path (resolved)
  std::optional<std::filesystem::path> devices;  // the fleet file (resolved)
  std::filesystem::path source;  // the file this was read from; empty for the defaults
};

// How the validator judges this target's answers: its KEKs (a KEK other than the AS's is one the
// NS shares for the network keys, which then should come wrapped), the AS KEK, the deadline.
// `target` must outlive the settings (they point at its KEKs).
ValidatorSettings validator_settings_for(const TargetConfig& target, bool reveal_keys);

// rejoin, app-s-key, home-ns, protocol-1.1, known-senders.
std::set<Capability> default_capabilities();
// Everything but the URL, which the caller sets (for the built-in reference JS, its own).
TargetConfig default_target_config();

// `url` when it is a URL the NS client can use (http:// or https://, a host, a valid port);
// otherwise throws sim::ConfigError "<where>: <what is wrong>, got \"<url>\"". An empty URL is
// an error too: `--target "$UNSET"` must never fall back to another target.
std::string checked_target_url(const std::string& url, const std::string& where);

// Reads a target file over the defaults. Throws sim::ConfigError naming the file, the line
// and the key, what was expected and what was seen.
TargetConfig load_target_config(const std::filesystem::path& file);
// The same from text; `source` names it in errors and is the base of relative paths.
TargetConfig parse_target_config(std::string_view toml_text, const std::filesystem::path& source);

}  // namespace joincheck::conformance
