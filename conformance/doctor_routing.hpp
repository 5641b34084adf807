#pragma once
// Which Join Server a JoinEUI's JoinReq goes to, decided as each ChirpStack version decides it,
// and whether the URL it posts to can be posted to at all (`joincheck doctor`,
// conformance/doctor.hpp; docs/doctor.md).
//
//  - v3, [[join_server.certificates]] form (brocaar/chirpstack-network-server
//    internal/joinserver/pool.go): resolve_join_eui = false → [join_server.default]; true → look
//    up <JoinEUI nibbles><resolve_domain_suffix> (net.LookupIP); resolved → https://<name>:443/
//    with the TLS files of the certificates entry of exactly that JoinEUI (none: system roots,
//    no client certificate); not resolved → [join_server.default].
//  - v3, [[join_server.servers]] form (internal/backend/joinserver/joinserver.go
//    GetClientForJoinEUI): the entry whose join_eui equals the JoinEUI, with its server or, when
//    that is empty, https://<JoinEUI nibbles><resolve_domain_suffix> (not looked up first);
//    no entry → [join_server.default]. resolve_join_eui plays no part.
//  - v4 (chirpstack/chirpstack chirpstack/src/backend/joinserver.rs `get`): the first
//    [[join_server.servers]] whose join_eui_prefix matches, in file order; else
//    [join_server.default] if enabled, with its server or https://<nibbles><suffix>; else the
//    join fails ("Join Server client for join_eui … does not exist").
// v3's [join_server.default] server defaults to http://localhost:8003 and resolve_domain_suffix
// to .joineuis.lora-alliance.org (cmd/chirpstack-network-server/cmd/root.go).

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/dns_lookup.hpp"
#include "conformance/chirpstack_config.hpp"
#include "lorawan/types.hpp"

namespace joincheck::conformance {

using DnsResolver = std::function<backend::DnsLookupResult(const std::string& name)>;

// Why a server URL cannot be posted to, and what each version reports when it tries.
struct ServerUrlProblem {
  std::string what;      // "empty", "no scheme (host:port)", "scheme \"ftp\" is not http or https", "no host"
  std::string go_error;  // the error of Go's http.Client.Post (ChirpStack v3), e.g. `Post "": unsupported protocol scheme ""`
  std::string v4_error;  // the cause reqwest/url report (ChirpStack v4), e.g. "relative URL without a base"
};
std::optional<ServerUrlProblem> server_url_problem(std::string_view url);

// The line ChirpStack v3 logs for a JoinReq that failed with `error`, as logrus writes it.
std::string v3_join_error_log(std::string_view error);

struct JoinRoute {
  std::string join_eui;             // 16 hex digits
  std::vector<std::string> steps;   // the decision path, one sentence each
  const CsJoinServer* js = nullptr; // the table whose server (or DNS name) is posted to; null: no JS
  std::string url;                  // where the JoinReq is posted
  bool url_from_dns = false;        // url is the JoinEUI's DNS name
  std::string tls;                  // which TLS settings the client of this path has
  std::optional<std::string> failure;  // why a join of this JoinEUI fails, with what ChirpStack logs
};

// The effective v3 [join_server.default] server (its default when the key is absent).
std::string v3_default_server(const ChirpStackConfig& c, const CsJoinServer* def);

JoinRoute route_join_eui(const ChirpStackConfig& c, const lorawan::Eui64& join_eui, const DnsResolver& resolve);

}  // namespace joincheck::conformance
