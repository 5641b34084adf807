#include "test_pki.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace joincheck::backend::testing {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& what) {
  char buffer[256] = {};
  ERR_error_string_n(ERR_get_error(), buffer, sizeof buffer);
  throw std::runtime_error("test PKI: " + what + ": " + buffer);
}

struct KeyFree {
  void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const noexcept { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Key new_key() {
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_group_name(ctx.get(), "P-256") != 1 ||
      EVP_PKEY_generate(ctx.get(), &key) != 1) {
    fail("EC key generation");
  }
  return Key(key);
}

struct Spec {
  std::string common_name;
  bool ca = false;
  std::string san;  // "DNS:localhost,IP:127.0.0.1"
  std::string eku;  // "serverAuth", "clientAuth"
  long valid_from_days = -1;
  long valid_to_days = 365;
};

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
  if (extension == nullptr) fail("extension " + value);
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

// Issues a certificate for `key`; self-signed when issuer is null.
Cert issue(const Spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  Cert cert(X509_new());
  if (!cert) fail("X509_new");
  X509_set_version(cert.get(), 2);
  unsigned char serial_bytes[12];
  RAND_bytes(serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7f;
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof serial_bytes, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.valid_from_days * 24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.valid_to_days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("joincheck test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  X509_set_pubkey(cert.get(), key);
  if (spec.ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
  }
  add_extension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer != nullptr) add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid");
  if (!spec.eku.empty()) add_extension(cert.get(), signer, NID_ext_key_usage, spec.eku);
  if (!spec.san.empty()) add_extension(cert.get(), signer, NID_subject_alt_name, spec.san);
  if (X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) == 0) {
    fail("signing " + spec.common_name);
  }
  return cert;
}

void write_certs(const fs::path& path, const std::vector<X509*>& certs) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("test PKI: cannot write " + path.string());
  for (X509* cert : certs) PEM_write_X509(file, cert);
  std::fclose(file);
}

void write_key(const fs::path& path, EVP_PKEY* key) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("test PKI: cannot write " + path.string());
  PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(file);
}

struct Holder {
  TestPki pki;
  ~Holder() {
    std::error_code ignored;
    if (!pki.dir.empty()) fs::remove_all(pki.dir, ignored);
  }
};

std::unique_ptr<Holder> generate() {
  auto holder = std::make_unique<Holder>();
  TestPki& pki = holder->pki;
  std::string pattern = (fs::temp_directory_path() / "joincheck-pki-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("test PKI: mkdtemp failed");
  pki.dir = pattern;
  const auto file = [&](const char* name) { return pki.dir / name; };

  const Key root_key = new_key();
  const Cert root = issue({"joincheck test root CA", true, "", "", -1, 3650}, root_key.get(),
                          nullptr, nullptr);
  const Key intermediate_key = new_key();
  const Cert intermediate = issue({"joincheck test intermediate CA", true, "", "", -1, 3650},
                                  intermediate_key.get(), root.get(), root_key.get());
  const Key other_key = new_key();
  const Cert other = issue({"joincheck other root CA", true, "", "", -1, 3650}, other_key.get(),
                           nullptr, nullptr);

  const Key net_id_99_key = new_key();
  const Cert net_id_99 = issue({"joincheck test NetID 000099 CA", true, "", "", -1, 3650},
                               net_id_99_key.get(), root.get(), root_key.get());

  pki.root_ca = file("root-ca.pem");
  write_certs(pki.root_ca, {root.get()});
  pki.intermediate_ca = file("intermediate-ca.pem");
  write_certs(pki.intermediate_ca, {intermediate.get()});
  pki.net_id_99_ca = file("net-id-000099-ca.pem");
  write_certs(pki.net_id_99_ca, {net_id_99.get()});
  pki.other_ca = file("other-ca.pem");
  write_certs(pki.other_ca, {other.get()});

  const auto leaf = [&](const char* stem, const Spec& spec, X509* issuer, EVP_PKEY* issuer_key,
                        bool with_intermediate, fs::path& cert_path, fs::path& key_path) {
    const Key key = new_key();
    const Cert cert = issue(spec, key.get(), issuer, issuer_key);
    cert_path = file((std::string(stem) + ".pem").c_str());
    key_path = file((std::string(stem) + "-key.pem").c_str());
    std::vector<X509*> chain{cert.get()};
    if (with_intermediate) chain.push_back(intermediate.get());
    write_certs(cert_path, chain);
    write_key(key_path, key.get());
  };
  const std::string local_names = "DNS:localhost,IP:127.0.0.1,IP:::1";
  leaf("server", {"js.test", false, local_names, "serverAuth"}, intermediate.get(),
       intermediate_key.get(), true, pki.server_cert, pki.server_key);
  leaf("client", {"ns-000013", false, "DNS:ns.test", "clientAuth"}, intermediate.get(),
       intermediate_key.get(), true, pki.client_cert, pki.client_key);
  leaf("expired-client", {"ns-000013", false, "DNS:ns.test", "clientAuth", -30, -1},
       intermediate.get(), intermediate_key.get(), true, pki.expired_client_cert,
       pki.expired_client_key);
  {
    const Key key = new_key();
    const Cert cert = issue({"000099", false, "DNS:ns-000099.test", "clientAuth"}, key.get(),
                            net_id_99.get(), net_id_99_key.get());
    pki.net_id_99_client_cert = file("net-id-000099-client.pem");
    pki.net_id_99_client_key = file("net-id-000099-client-key.pem");
    write_certs(pki.net_id_99_client_cert, {cert.get(), net_id_99.get()});
    write_key(pki.net_id_99_client_key, key.get());
  }
  leaf("expired-server", {"expired.test", false, local_names, "serverAuth", -30, -1},
       intermediate.get(), intermediate_key.get(), true, pki.expired_server_cert,
       pki.expired_server_key);
  leaf("wrong-host-server", {"wrong.example", false, "DNS:wrong.example", "serverAuth"},
       intermediate.get(), intermediate_key.get(), true, pki.wrong_host_server_cert,
       pki.wrong_host_server_key);
  leaf("other-server", {"other-js.test", false, local_names, "serverAuth"}, other.get(),
       other_key.get(), false, pki.other_server_cert, pki.other_server_key);
  leaf("other-client", {"ns-other", false, "DNS:ns-other.test", "clientAuth"}, other.get(),
       other_key.get(), false, pki.other_client_cert, pki.other_client_key);

  // The server certificate alone, without its intermediate.
  {
    std::FILE* in = std::fopen(pki.server_cert.c_str(), "rb");
    X509* first = in != nullptr ? PEM_read_X509(in, nullptr, nullptr, nullptr) : nullptr;
    if (in != nullptr) std::fclose(in);
    if (first == nullptr) fail("re-reading the server certificate");
    pki.server_leaf_only = file("server-leaf-only.pem");
    write_certs(pki.server_leaf_only, {first});
    X509_free(first);
  }
  return holder;
}

}  // namespace

const TestPki& TestPki::get() {
  static const std::unique_ptr<Holder> holder = generate();
  return holder->pki;
}

fs::path scratch_dir(const char* name) {
  const fs::path dir = TestPki::get().dir / "scratch" / name;
  std::error_code ignored;
  fs::remove_all(dir, ignored);
  fs::create_directories(dir);
  return dir;
}

}  // namespace joincheck::backend::testing
