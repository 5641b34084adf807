#pragma once
// OpenSSL contexts for the backend transport, built from PEM files the way the Network
// Servers and Join Servers configure TLS (TS002 1.0 §20; docs/checks.md#tls):
//  - server: certificate + key (+ chain); client certificates either not asked for,
//    required and verified against one CA file (ChirpStack, ChirpStack AS v3), or requested
//    and passed unverified to the application, which verifies them against a CA chosen per
//    sender (The Things Stack, per NetID);
//  - client: a CA file that replaces the trust store (ChirpStack v3, TTS), or the system
//    roots; an optional client certificate; SNI and host name verification.
// TLS 1.2 is the default minimum on both sides.

#include <boost/asio/ssl/context.hpp>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "backend/tls_certificate.hpp"

namespace joincheck::backend {

enum class TlsVersion { tls1_0, tls1_1, tls1_2, tls1_3 };
// "TLSv1.2": OpenSSL's spelling, as SSL_get_version reports it.
std::string_view to_string(TlsVersion version);

enum class ClientCertMode {
  none,     // no client certificate is asked for
  require,  // the handshake fails unless the client presents a chain to client_ca_file
  request,  // a certificate is asked for, any (or none) is accepted; the application verifies
};
// With require or request, the server does not resume TLS sessions, so every connection
// presents (and the application sees) the client's full chain.

struct TlsServerOptions {
  std::filesystem::path cert_file;   // PEM: the server certificate, optionally + intermediates
  std::filesystem::path key_file;    // PEM private key of the certificate
  std::filesystem::path chain_file;  // optional PEM file of further intermediates
  ClientCertMode client_cert = ClientCertMode::none;
  // require: the trust anchors for client certificates (mandatory). request: optional; its
  // subjects are sent as the acceptable CA names, nothing is verified.
  std::filesystem::path client_ca_file;
  TlsVersion min_version = TlsVersion::tls1_2;
  std::string cipher_list;  // OpenSSL cipher list for TLS <= 1.2; empty: OpenSSL's default
};

struct TlsClientOptions {
  // Trust anchors for the server certificate; they replace the system roots (as ChirpStack
  // v3 and TTS do). Empty: the system's default roots.
  std::filesystem::path ca_file;
  // ca_file adds to the system roots instead of replacing them (ChirpStack v4, rustls).
  bool ca_adds_to_system_roots = false;
  std::filesystem::path cert_file;   // optional client certificate (+ intermediates)
  std::filesystem::path key_file;    // its key (mandatory with cert_file)
  std::filesystem::path chain_file;  // optional further intermediates
  bool verify_peer = true;           // false: any server certificate is accepted (diagnostics)
  bool verify_hostname = true;       // check the URL's host against the certificate's names
  TlsVersion min_version = TlsVersion::tls1_2;
  TlsVersion max_version = TlsVersion::tls1_3;
  // OpenSSL cipher list for TLS <= 1.2. A min_version below TLS 1.2 also lowers OpenSSL's
  // security level to 0, without which OpenSSL 3 cannot speak TLS 1.0/1.1 at all.
  std::string cipher_list;
};

// Throw TlsError naming the file and the problem.
boost::asio::ssl::context make_server_context(const TlsServerOptions& options);
boost::asio::ssl::context make_client_context(const TlsClientOptions& options);

// What a finished handshake negotiated, and the peer's certificates.
struct TlsSessionInfo {
  std::string version;      // "TLSv1.3"
  std::string cipher;       // "TLS_AES_256_GCM_SHA384"
  std::string server_name;  // SNI: sent (client side) or received (server side); may be empty
  // The chain the peer presented, leaf first; empty when it presented none.
  std::vector<Certificate> peer_chain;
  // The handshake itself verified the chain (client side with verify_peer, or server side
  // with ClientCertMode::require). False in ClientCertMode::request.
  bool peer_verified = false;
  // An earlier session was resumed (an abbreviated handshake): the peer's certificates are
  // those of the full handshake that made the session.
  bool resumed = false;
};
TlsSessionInfo tls_session_info(SSL* ssl, bool server_side);

// What the certificate check of one handshake saw, for error messages. The callback that
// fills it records the first verification error and the leaf certificate.
struct TlsVerifyDiagnostics {
  bool accept_any = false;  // the callback accepts every chain (ClientCertMode::request)
  bool saw_certificate = false;
  int error = 0;  // X509_V_ERR_*, 0 when none
  int depth = -1;
  std::string error_text;
  std::string subject;  // of the certificate that failed
  std::string issuer;
  std::string leaf_subject;
  std::string leaf_issuer;
  // "certificate verify failed: <error_text> at depth N; peer certificate subject '..',
  // issuer '..'" (failing certificate named too when it is not the leaf); "" when no error.
  std::string describe() const;
};
// Makes `ssl` report its certificate verification into `diagnostics`, which must outlive
// the handshake. Keeps the verify mode set on the context.
void attach_verify_diagnostics(SSL* ssl, TlsVerifyDiagnostics* diagnostics);

}  // namespace joincheck::backend
