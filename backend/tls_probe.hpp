#pragma once
// One TLS handshake with chosen client settings, and what came of it: the negotiated version
// and cipher, the chain the server presented, the client CAs it asked for, or why the
// handshake failed. The conformance layer judges these (conformance/tls_checks.hpp); this
// layer only connects and reports.
//
// The probe does not send any HTTP request. In TLS 1.3 a server refuses a client certificate
// after the client has finished its handshake; the probe therefore waits briefly for the
// server's first record (`await_refusal`) so that such a refusal is seen here as well.

#include <chrono>
#include <string>
#include <vector>

#include "backend/tls_context.hpp"

namespace joincheck::backend {

struct TlsProbeOptions {
  // The server's URL (https://host:port/...): host and port to connect to, SNI.
  std::string url;
  // CA and identity as a client would use them; verify_peer is forced off (the chain is
  // judged afterwards, see TlsProbeResult::peer_chain), min/max_version are honoured (a
  // version below TLS 1.2 lowers OpenSSL's security level so that it can be offered at all).
  TlsClientOptions tls;
  std::chrono::milliseconds timeout{5000};
  // After a successful handshake, wait this long for the server to close or alert (a
  // TLS 1.3 server refuses a client certificate only then). Zero: do not wait.
  std::chrono::milliseconds await_refusal{0};
};

struct TlsProbeResult {
  bool connected = false;    // TCP connected
  bool handshake_ok = false;  // the handshake completed (and, with await_refusal, was not
                              // refused afterwards)
  bool timed_out = false;
  // Why the connection or the handshake failed (OpenSSL's reason, e.g. "tlsv1 alert protocol
  // version"); "" when it worked.
  std::string error;
  std::string peer;  // "127.0.0.1:8443"
  // The negotiated version and cipher; the chain the server presented, leaf first (also
  // filled when the handshake failed after the server's certificate arrived).
  TlsSessionInfo session;
  // The CA names the server sent in its certificate request (acceptable client CAs), RFC 2253.
  std::vector<std::string> acceptable_client_cas;
  bool client_certificate_requested = false;
};

// Never throws for anything the server does; throws TlsError when the client's own TLS files
// are unusable and HttpError(invalid_request) for a URL that is not https.
TlsProbeResult probe_tls(const TlsProbeOptions& options);

}  // namespace joincheck::backend
