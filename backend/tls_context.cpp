#include "backend/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <optional>

namespace joincheck::backend {

namespace ssl = boost::asio::ssl;

std::string_view to_string(TlsVersion version) {
  switch (version) {
    case TlsVersion::tls1_0:
      return "TLSv1";
    case TlsVersion::tls1_1:
      return "TLSv1.1";
    case TlsVersion::tls1_2:
      return "TLSv1.2";
    case TlsVersion::tls1_3:
      return "TLSv1.3";
  }
  return "?";
}

namespace {

int openssl_version(TlsVersion version) {
  switch (version) {
    case TlsVersion::tls1_0:
      return TLS1_VERSION;
    case TlsVersion::tls1_1:
      return TLS1_1_VERSION;
    case TlsVersion::tls1_2:
      return TLS1_2_VERSION;
    case TlsVersion::tls1_3:
      return TLS1_3_VERSION;
  }
  return TLS1_2_VERSION;
}

std::string quoted(const std::filesystem::path& path) { return "'" + path.string() + "'"; }

void set_versions(SSL_CTX* ctx, TlsVersion min_version, TlsVersion max_version,
                  const std::string& cipher_list, std::string_view side) {
  if (SSL_CTX_set_min_proto_version(ctx, openssl_version(min_version)) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, openssl_version(max_version)) != 1) {
    throw TlsError(std::string(side) + ": cannot set the TLS versions " +
                   std::string(to_string(min_version)) + " to " +
                   std::string(to_string(max_version)) + ": " + take_openssl_errors());
  }
  if (min_version < TlsVersion::tls1_2) {
    // OpenSSL 3 refuses TLS 1.0/1.1 (their MD5/SHA-1 handshake signatures) above level 0.
    SSL_CTX_set_security_level(ctx, 0);
  }
  if (!cipher_list.empty() && SSL_CTX_set_cipher_list(ctx, cipher_list.c_str()) != 1) {
    throw TlsError(std::string(side) + ": cipher list '" + cipher_list +
                   "' selects no cipher: " + take_openssl_errors());
  }
}

void use_identity(SSL_CTX* ctx, const std::filesystem::path& cert_file,
                  const std::filesystem::path& key_file,
                  const std::filesystem::path& chain_file) {
  const TlsIdentity identity = load_identity(cert_file, key_file, chain_file);
  ERR_clear_error();
  if (SSL_CTX_use_certificate(ctx, identity.chain.front().native()) != 1) {
    throw TlsError("certificate file " + quoted(cert_file) + ": OpenSSL refuses the certificate (" +
                       subject_and_issuer(identity.chain.front()) + "): " + take_openssl_errors(),
                   cert_file);
  }
  for (std::size_t i = 1; i < identity.chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(ctx, identity.chain[i].native()) != 1) {
      throw TlsError("certificate file " + quoted(cert_file) + ": OpenSSL refuses chain certificate #" +
                         std::to_string(i + 1) + " (" + subject_and_issuer(identity.chain[i]) +
                         "): " + take_openssl_errors(),
                     cert_file);
    }
  }
  if (SSL_CTX_use_PrivateKey(ctx, identity.key.native()) != 1 ||
      SSL_CTX_check_private_key(ctx) != 1) {
    throw TlsError("private key file " + quoted(key_file) + ": OpenSSL refuses the key (" +
                       identity.key.description() + "): " + take_openssl_errors(),
                   key_file);
  }
}

int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

int diagnostics_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int verify_with_diagnostics(int preverify_ok, X509_STORE_CTX* store_ctx) {
  auto* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* diagnostics =
      ssl != nullptr ? static_cast<TlsVerifyDiagnostics*>(SSL_get_ex_data(ssl, diagnostics_index()))
                     : nullptr;
  if (diagnostics == nullptr) return preverify_ok;
  if (!diagnostics->saw_certificate) {
    diagnostics->saw_certificate = true;
    if (X509* leaf = X509_STORE_CTX_get0_cert(store_ctx)) {
      const Certificate cert = Certificate::share(leaf);
      diagnostics->leaf_subject = cert.subject();
      diagnostics->leaf_issuer = cert.issuer();
    }
  }
  if (preverify_ok == 0 && diagnostics->error == 0) {
    diagnostics->error = X509_STORE_CTX_get_error(store_ctx);
    diagnostics->depth = X509_STORE_CTX_get_error_depth(store_ctx);
    diagnostics->error_text = X509_verify_cert_error_string(diagnostics->error);
    if (X509* current = X509_STORE_CTX_get_current_cert(store_ctx)) {
      const Certificate cert = Certificate::share(current);
      diagnostics->subject = cert.subject();
      diagnostics->issuer = cert.issuer();
    }
  }
  return diagnostics->accept_any ? 1 : preverify_ok;
}

}  // namespace

ssl::context make_server_context(const TlsServerOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    throw TlsError("TLS server: both a certificate file and a key file are needed (got " +
                   (options.cert_file.empty() ? std::string("no certificate file")
                                              : "certificate " + quoted(options.cert_file)) +
                   ", " +
                   (options.key_file.empty() ? std::string("no key file")
                                             : "key " + quoted(options.key_file)) +
                   ")");
  }
  ssl::context context(ssl::context::tls_server);
  SSL_CTX* ctx = context.native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  set_versions(ctx, options.min_version, TlsVersion::tls1_3, options.cipher_list, "TLS server");
  use_identity(ctx, options.cert_file, options.key_file, options.chain_file);

  static constexpr unsigned char session_context[] = "joincheck";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);

  std::optional<CaStore> client_cas;
  if (!options.client_ca_file.empty()) client_cas = CaStore::load(options.client_ca_file);
  if (client_cas) {
    for (const Certificate& cert : client_cas->certificates()) {
      SSL_CTX_add_client_CA(ctx, cert.native());
    }
    ERR_clear_error();
  }
  if (options.client_cert != ClientCertMode::none) {
    // No session resumption when client certificates matter: a resumed TLS 1.3 session
    // (stateless ticket) no longer carries the client's intermediates, and the application
    // must see the same chain on every connection.
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  }
  switch (options.client_cert) {
    case ClientCertMode::none:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
      break;
    case ClientCertMode::require:
      if (!client_cas) {
        throw TlsError(
            "TLS server: client certificates are required but no client CA file is given");
      }
      SSL_CTX_set_cert_store(ctx, client_cas->new_x509_store());
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
    case ClientCertMode::request:
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_certificate);
      break;
  }
  return context;
}

ssl::context make_client_context(const TlsClientOptions& options) {
  ssl::context context(ssl::context::tls_client);
  SSL_CTX* ctx = context.native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  set_versions(ctx, options.min_version, options.max_version, options.cipher_list, "TLS client");
  if (!options.ca_file.empty() && options.ca_adds_to_system_roots) {
    SSL_CTX_set_cert_store(ctx, CaStore::system_roots(options.ca_file).new_x509_store());
  } else if (!options.ca_file.empty()) {
    SSL_CTX_set_cert_store(ctx, CaStore::load(options.ca_file).new_x509_store());
  } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
    throw TlsError("TLS client: cannot load the system's default CA certificates: " +
                   take_openssl_errors());
  }
  if (!options.cert_file.empty() || !options.key_file.empty()) {
    if (options.cert_file.empty() || options.key_file.empty()) {
      throw TlsError(options.cert_file.empty()
                         ? "TLS client: key file " + quoted(options.key_file) +
                               " given without a certificate file"
                         : "TLS client: certificate file " + quoted(options.cert_file) +
                               " given without a key file");
    }
    use_identity(ctx, options.cert_file, options.key_file, options.chain_file);
  }
  SSL_CTX_set_verify(ctx, options.verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  ERR_clear_error();
  return context;
}

TlsSessionInfo tls_session_info(SSL* ssl, bool server_side) {
  TlsSessionInfo info;
  if (ssl == nullptr) return info;
  info.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
    info.cipher = SSL_CIPHER_get_name(cipher);
  }
  if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
    info.server_name = name;
  }
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (server_side) {
    // On the server side the chain does not include the client's own certificate.
    if (X509* leaf = SSL_get1_peer_certificate(ssl)) {
      info.peer_chain.push_back(Certificate::adopt(leaf));
    }
  }
  if (chain != nullptr && (!server_side || !info.peer_chain.empty())) {
    const int count = sk_X509_num(chain);
    for (int i = 0; i < count; ++i) {
      X509* cert = sk_X509_value(chain, i);
      // Some OpenSSL versions list the leaf in the server-side chain too.
      if (server_side && i == 0 && X509_cmp(cert, info.peer_chain.front().native()) == 0) continue;
      info.peer_chain.push_back(Certificate::share(cert));
    }
  }
  info.resumed = SSL_session_reused(ssl) == 1;
  info.peer_verified = !info.peer_chain.empty() &&
                       (SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0 &&
                       SSL_get_verify_result(ssl) == X509_V_OK;
  return info;
}

std::string TlsVerifyDiagnostics::describe() const {
  if (error == 0) return {};
  std::string out = "certificate verify failed: " + error_text;
  if (depth > 0) {
    out += " at depth " + std::to_string(depth) + " (subject '" + subject + "', issuer '" +
           issuer + "')";
  }
  if (!leaf_subject.empty() || !leaf_issuer.empty()) {
    out += "; peer certificate subject '" + leaf_subject + "', issuer '" + leaf_issuer + "'";
  }
  return out;
}

void attach_verify_diagnostics(SSL* ssl, TlsVerifyDiagnostics* diagnostics) {
  SSL_set_ex_data(ssl, diagnostics_index(), diagnostics);
  SSL_set_verify(ssl, SSL_get_verify_mode(ssl), verify_with_diagnostics);
}

}  // namespace joincheck::backend
