// Certificate::matches_host reads the subjectAltName only, as the NS clients that meet a JS do
// (Go since 1.15 for ChirpStack v3, rustls for v4): a host only in the subject CN is no match.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "backend/tls_certificate.hpp"

namespace joincheck::backend {
namespace {

Certificate self_signed(const char* cn, const char* san) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  if (san != nullptr) {
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  EVP_PKEY_free(key);
  return Certificate::adopt(x);
}

TEST(CertificateHost, TheSubjectCnAloneNamesNoHost) {
  EXPECT_FALSE(self_signed("js.example.com", nullptr).matches_host("js.example.com"));
  EXPECT_TRUE(self_signed("js.example.com", "DNS:js.example.com").matches_host("js.example.com"));
  EXPECT_FALSE(self_signed("js.example.com", "DNS:other.example.com").matches_host("js.example.com"));
  EXPECT_TRUE(self_signed("anything", "IP:127.0.0.1").matches_host("127.0.0.1"));
}

}  // namespace
}  // namespace joincheck::backend
