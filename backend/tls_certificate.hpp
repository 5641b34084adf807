#pragma once
// TLS material for the backend transport: PEM certificates and private keys, certificate
// descriptions, and verification of a presented chain against a CA file.
//
// The Join Server uses CaStore::verify to check a client chain against a CA chosen per
// sender (The Things Stack authenticates a Network Server by a client certificate that
// chains to the CA configured for its NetID: TheThingsNetwork/lorawan-stack
// pkg/interop/server_authn_mtls.go; docs/checks.md#tls).
//
// Every error names the file and what is wrong with it.

#include <openssl/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace joincheck::backend {

// A TLS file or TLS object that cannot be used: the message says which file (when there is
// one), what was expected and what was found.
class TlsError : public std::runtime_error {
 public:
  explicit TlsError(const std::string& message, std::filesystem::path file = {});
  // The file concerned; empty when the error is not about a file.
  const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
};

// An X.509 certificate (shared, reference counted by OpenSSL). Copies are cheap.
class Certificate {
 public:
  Certificate() noexcept = default;
  // Takes ownership of `cert` (no reference added).
  static Certificate adopt(X509* cert) noexcept;
  // Adds a reference to `cert`; the caller keeps its own.
  static Certificate share(X509* cert) noexcept;
  // The first certificate of a PEM text; throws TlsError when there is none.
  static Certificate from_pem(std::string_view pem);

  Certificate(const Certificate& other) noexcept;
  Certificate& operator=(const Certificate& other) noexcept;
  Certificate(Certificate&& other) noexcept;
  Certificate& operator=(Certificate&& other) noexcept;
  ~Certificate();

  X509* native() const noexcept { return cert_; }
  explicit operator bool() const noexcept { return cert_ != nullptr; }

  std::string pem() const;
  // RFC 2253 one-line form, most specific first: "CN=js.example.com,O=Example".
  std::string subject() const;
  std::string issuer() const;
  // The subject's commonName, or "" when it has none.
  std::string common_name() const;
  std::chrono::system_clock::time_point not_before() const;
  std::chrono::system_clock::time_point not_after() const;
  // Upper-case hex, no separators.
  std::string serial_hex() const;
  // "DNS:js.example.com", "IP:127.0.0.1", "URI:...", "email:...", in certificate order.
  std::vector<std::string> subject_alt_names() const;
  bool is_ca() const;
  bool is_self_signed() const;
  // The certificate names `host`: a DNS name (subjectAltName only, never the CN, as Go and rustls
  // clients check it; wildcards
  // in the first label only) or an IP address literal (IP SAN).
  bool matches_host(std::string_view host) const;

 private:
  explicit Certificate(X509* cert) noexcept : cert_(cert) {}
  X509* cert_ = nullptr;
};

// What a person wants to see about a certificate.
struct CertificateInfo {
  std::string subject;
  std::string issuer;
  std::string serial;      // hex
  std::string not_before;  // ISO 8601 UTC, "2025-01-31T12:00:00Z"
  std::string not_after;
  std::vector<std::string> subject_alt_names;
  bool is_ca = false;
};
CertificateInfo describe(const Certificate& cert);
// One line: subject '...', issuer '...', valid 2025-...Z to 2026-...Z, SAN DNS:a, IP:b.
std::string to_string(const CertificateInfo& info);
// "subject 'CN=x', issuer 'CN=y'": the short form used in error messages.
std::string subject_and_issuer(const Certificate& cert);

// A private key (shared, reference counted by OpenSSL).
class PrivateKey {
 public:
  PrivateKey() noexcept = default;
  static PrivateKey adopt(EVP_PKEY* key) noexcept;
  PrivateKey(const PrivateKey& other) noexcept;
  PrivateKey& operator=(const PrivateKey& other) noexcept;
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  ~PrivateKey();

  EVP_PKEY* native() const noexcept { return key_; }
  explicit operator bool() const noexcept { return key_ != nullptr; }
  // "RSA 2048", "EC prime256v1", "ED25519".
  std::string description() const;
  // True when this key is the private half of the certificate's public key.
  bool matches(const Certificate& cert) const;

 private:
  EVP_PKEY* key_ = nullptr;
};

// Every certificate of a PEM text; `origin` names it in errors (a file name or "PEM text").
// Throws TlsError when there is no certificate or a certificate block does not parse.
std::vector<Certificate> parse_certificates_pem(std::string_view pem, std::string_view origin);
// Every certificate of a PEM file (at least one). Throws TlsError naming the file: missing,
// unreadable, empty, not PEM (DER is recognised and named), no certificate in it (a key
// file given by mistake is named as such), or a block that does not parse.
std::vector<Certificate> load_certificates(const std::filesystem::path& pem_file);
// The private key of a PEM file (PKCS#8, or traditional RSA/EC). Encrypted keys are refused
// (there is no passphrase to ask for); the error says so.
PrivateKey load_private_key(const std::filesystem::path& pem_file);

// A certificate chain (leaf first, then intermediates) and its private key.
struct TlsIdentity {
  std::vector<Certificate> chain;
  PrivateKey key;
};
// Loads cert_file (leaf, optionally followed by intermediates), the optional chain_file
// (more intermediates) and key_file, and checks that the key belongs to the leaf.
TlsIdentity load_identity(const std::filesystem::path& cert_file,
                          const std::filesystem::path& key_file,
                          const std::filesystem::path& chain_file = {});

enum class CertificatePurpose { any, tls_client, tls_server };

// The outcome of a chain verification.
struct VerifyResult {
  bool ok = false;
  int error = 0;           // X509_V_ERR_*; 0 when ok
  std::string error_text;  // OpenSSL's text for `error`, e.g. "unable to get local issuer certificate"
  int depth = -1;          // position in the chain of the certificate that failed (0 = leaf)
  std::string subject;     // of the certificate that failed (or of the leaf when ok)
  std::string issuer;
  explicit operator bool() const noexcept { return ok; }
  // "ok", or "<error_text> at depth N (subject '...', issuer '...')".
  std::string message() const;
};

// Trust anchors from a PEM file. Every certificate in the file is a trust anchor, as in Go's
// crypto/tls and rustls (which The Things Stack and ChirpStack use): a file holding only an
// intermediate CA trusts what it issued (OpenSSL's X509_V_FLAG_PARTIAL_CHAIN).
// Verification is thread-safe.
class CaStore {
 public:
  static CaStore load(const std::filesystem::path& pem_file);
  // The system's default roots (OpenSSL's default paths), plus the anchors of `extra_pem_file`
  // when given: how rustls clients such as ChirpStack v4 treat a ca_cert.
  static CaStore system_roots(const std::filesystem::path& extra_pem_file = {});
  explicit CaStore(std::vector<Certificate> anchors, std::filesystem::path origin = {});

  // Verifies `chain` (leaf first, then any intermediates the peer presented) at the current
  // time, or at no time at all with check_time false (to judge the chain apart from the
  // validity dates). With tls_client/tls_server the leaf's extended key usage must allow that use.
  VerifyResult verify(std::span<const Certificate> chain,
                      CertificatePurpose purpose = CertificatePurpose::tls_client,
                      bool check_time = true) const;
  bool has_system_roots() const noexcept { return system_roots_; }

  std::span<const Certificate> certificates() const noexcept { return anchors_; }
  const std::filesystem::path& file() const noexcept { return origin_; }
  // An X509_STORE holding the anchors, with the partial-chain flag; the caller owns the
  // returned reference (for SSL_CTX_set_cert_store and the like).
  X509_STORE* new_x509_store() const;

 private:
  std::vector<Certificate> anchors_;
  std::filesystem::path origin_;
  bool system_roots_ = false;
  std::shared_ptr<X509_STORE> store_;
};

// Convenience: CaStore::load(ca_file).verify(chain, purpose).
VerifyResult verify_chain(std::span<const Certificate> chain, const std::filesystem::path& ca_file,
                          CertificatePurpose purpose = CertificatePurpose::tls_client);

// The OpenSSL error queue of this thread as text ("error:...:reason; ..."), emptied.
std::string take_openssl_errors();

}  // namespace joincheck::backend
