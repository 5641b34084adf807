#include "backend/tls_certificate.hpp"

#include <arpa/inet.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <system_error>
#include <utility>

namespace joincheck::backend {

namespace fs = std::filesystem;

TlsError::TlsError(const std::string& message, fs::path file)
    : std::runtime_error(message), file_(std::move(file)) {}

std::string take_openssl_errors() {
  std::string out;
  for (;;) {
    const char* data = nullptr;
    int flags = 0;
    const unsigned long code = ERR_get_error_all(nullptr, nullptr, nullptr, &data, &flags);
    if (code == 0) break;
    if (!out.empty()) out += "; ";
    const char* lib = ERR_lib_error_string(code);
    const char* reason = ERR_reason_error_string(code);
    if (lib != nullptr) {
      out += lib;
      out += ": ";
    }
    if (reason != nullptr) {
      out += reason;
    } else {
      char buffer[256];
      ERR_error_string_n(code, buffer, sizeof buffer);
      out += buffer;
    }
    if ((flags & ERR_TXT_STRING) != 0 && data != nullptr && *data != '\0') {
      out += " (";
      out += data;
      out += ')';
    }
  }
  return out;
}

namespace {

struct BioFree {
  void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string quoted(const fs::path& path) { return "'" + path.string() + "'"; }

// Reads a whole (small) file; `role` is "certificate file", "private key file", ...
std::string read_text_file(const fs::path& path, std::string_view role) {
  const std::string where = std::string(role) + " " + quoted(path);
  if (path.empty()) throw TlsError(std::string(role) + ": no file name given", path);
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) {
    throw TlsError(where + ": does not exist", path);
  }
  if (ec) throw TlsError(where + ": cannot be examined: " + ec.message(), path);
  if (fs::is_directory(status)) {
    throw TlsError(where + ": is a directory, expected a PEM file", path);
  }
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    throw TlsError(where + ": cannot be read: " + std::strerror(error), path);
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, file);
    text.append(buffer, n);
    if (n < sizeof buffer) break;
    if (text.size() > 16 * 1024 * 1024) {
      std::fclose(file);
      throw TlsError(where + ": is larger than 16 MiB, expected a PEM file", path);
    }
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) throw TlsError(where + ": read error", path);
  if (text.empty()) throw TlsError(where + ": is empty, expected PEM text", path);
  return text;
}

struct PemBlock {
  std::string label;  // "CERTIFICATE", "PRIVATE KEY", ...
  std::size_t begin;  // offset of "-----BEGIN"
  std::size_t end;    // offset just past the "-----END ...-----" line
  std::size_t line;   // 1-based line of the BEGIN line
  bool encrypted;     // "Proc-Type: 4,ENCRYPTED" header or an ENCRYPTED label
};

std::vector<PemBlock> pem_blocks(std::string_view text) {
  std::vector<PemBlock> blocks;
  constexpr std::string_view begin_mark = "-----BEGIN ";
  std::size_t pos = 0;
  while ((pos = text.find(begin_mark, pos)) != std::string_view::npos) {
    const std::size_t label_start = pos + begin_mark.size();
    const std::size_t label_end = text.find("-----", label_start);
    if (label_end == std::string_view::npos) break;
    PemBlock block;
    block.label = std::string(text.substr(label_start, label_end - label_start));
    block.begin = pos;
    block.line = 1;
    for (std::size_t i = 0; i < pos; ++i) block.line += text[i] == '\n' ? 1 : 0;
    const std::string end_mark = "-----END " + block.label + "-----";
    const std::size_t end_pos = text.find(end_mark, label_end);
    block.end = end_pos == std::string_view::npos ? text.size() : end_pos + end_mark.size();
    const std::string_view body = text.substr(block.begin, block.end - block.begin);
    block.encrypted = block.label.find("ENCRYPTED") != std::string::npos ||
                      body.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
    blocks.push_back(std::move(block));
    pos = label_end;
  }
  return blocks;
}

bool is_certificate_label(std::string_view label) {
  return label == "CERTIFICATE" || label == "TRUSTED CERTIFICATE" || label == "X509 CERTIFICATE";
}
bool is_key_label(std::string_view label) {
  return label == "PRIVATE KEY" || label == "RSA PRIVATE KEY" || label == "EC PRIVATE KEY" ||
         label == "DSA PRIVATE KEY" || label == "ENCRYPTED PRIVATE KEY";
}

std::string labels_found(const std::vector<PemBlock>& blocks) {
  std::string out;
  for (const PemBlock& block : blocks) {
    if (!out.empty()) out += ", ";
    out += block.label;
  }
  return out;
}

[[noreturn]] void throw_not_pem(std::string_view text, const std::string& where,
                                const fs::path& path) {
  const auto first = static_cast<unsigned char>(text.front());
  if (first == 0x30) {
    throw TlsError(where + ": is not PEM; it looks like DER (binary ASN.1). Convert it to PEM, " +
                       "e.g. `openssl x509 -inform der -in " + path.string() + "`",
                   path);
  }
  throw TlsError(where + ": is not PEM: no '-----BEGIN ...-----' line found", path);
}

std::vector<Certificate> parse_certificates(std::string_view text, const std::string& where,
                                            const fs::path& path) {
  const std::vector<PemBlock> blocks = pem_blocks(text);
  if (blocks.empty()) throw_not_pem(text, where, path);
  std::vector<Certificate> certs;
  std::size_t index = 0;
  for (const PemBlock& block : blocks) {
    if (!is_certificate_label(block.label)) continue;
    ++index;
    ERR_clear_error();
    const std::string_view body = text.substr(block.begin, block.end - block.begin);
    BioPtr bio(BIO_new_mem_buf(body.data(), static_cast<int>(body.size())));
    X509* cert = bio ? PEM_read_bio_X509_AUX(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (cert == nullptr) {
      throw TlsError(where + ": certificate #" + std::to_string(index) + " (line " +
                         std::to_string(block.line) +
                         ") does not parse: " + take_openssl_errors(),
                     path);
    }
    certs.push_back(Certificate::adopt(cert));
  }
  if (certs.empty()) {
    std::string hint;
    for (const PemBlock& block : blocks) {
      if (is_key_label(block.label)) hint = " (is this the private key file?)";
    }
    throw TlsError(where + ": holds no certificate; found " + labels_found(blocks) + hint, path);
  }
  return certs;
}

int refuse_password(char*, int, int, void*) { return -1; }

std::string asn1_time_iso(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return "?";
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::chrono::system_clock::time_point asn1_time_point(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string name_text(const X509_NAME* name) {
  if (name == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string asn1_string_text(const ASN1_STRING* text) {
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(text)),
                     static_cast<std::size_t>(ASN1_STRING_length(text)));
}

}  // namespace

// ---- Certificate ----

Certificate Certificate::adopt(X509* cert) noexcept { return Certificate(cert); }

Certificate Certificate::share(X509* cert) noexcept {
  if (cert != nullptr) X509_up_ref(cert);
  return Certificate(cert);
}

Certificate Certificate::from_pem(std::string_view pem) {
  return parse_certificates(pem, "PEM text", {}).front();
}

Certificate::Certificate(const Certificate& other) noexcept : cert_(other.cert_) {
  if (cert_ != nullptr) X509_up_ref(cert_);
}
Certificate& Certificate::operator=(const Certificate& other) noexcept {
  if (this != &other) {
    if (other.cert_ != nullptr) X509_up_ref(other.cert_);
    X509_free(cert_);
    cert_ = other.cert_;
  }
  return *this;
}
Certificate::Certificate(Certificate&& other) noexcept : cert_(std::exchange(other.cert_, nullptr)) {}
Certificate& Certificate::operator=(Certificate&& other) noexcept {
  if (this != &other) {
    X509_free(cert_);
    cert_ = std::exchange(other.cert_, nullptr);
  }
  return *this;
}
Certificate::~Certificate() { X509_free(cert_); }

std::string Certificate::pem() const {
  if (cert_ == nullptr) return {};
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_) != 1) return {};
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string Certificate::subject() const {
  return cert_ ? name_text(X509_get_subject_name(cert_)) : std::string();
}
std::string Certificate::issuer() const {
  return cert_ ? name_text(X509_get_issuer_name(cert_)) : std::string();
}

std::string Certificate::common_name() const {
  if (cert_ == nullptr) return {};
  const X509_NAME* name = X509_get_subject_name(cert_);
  const int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return {};
  return asn1_string_text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index)));
}

std::chrono::system_clock::time_point Certificate::not_before() const {
  return cert_ ? asn1_time_point(X509_get0_notBefore(cert_))
               : std::chrono::system_clock::time_point{};
}
std::chrono::system_clock::time_point Certificate::not_after() const {
  return cert_ ? asn1_time_point(X509_get0_notAfter(cert_))
               : std::chrono::system_clock::time_point{};
}

std::string Certificate::serial_hex() const {
  if (cert_ == nullptr) return {};
  BIGNUM* number = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_), nullptr);
  if (number == nullptr) return {};
  char* hex = BN_bn2hex(number);
  std::string out = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  BN_free(number);
  return out;
}

std::vector<std::string> Certificate::subject_alt_names() const {
  std::vector<std::string> out;
  if (cert_ == nullptr) return out;
  auto* names = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert_, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  const int count = sk_GENERAL_NAME_num(names);
  for (int i = 0; i < count; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    switch (name->type) {
      case GEN_DNS:
        out.push_back("DNS:" + asn1_string_text(name->d.dNSName));
        break;
      case GEN_URI:
        out.push_back("URI:" + asn1_string_text(name->d.uniformResourceIdentifier));
        break;
      case GEN_EMAIL:
        out.push_back("email:" + asn1_string_text(name->d.rfc822Name));
        break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = name->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {};
        const int length = ASN1_STRING_length(ip);
        const int family = length == 4 ? AF_INET : length == 16 ? AF_INET6 : 0;
        if (family != 0 && inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof text)) {
          out.push_back(std::string("IP:") + text);
        } else {
          out.push_back("IP:?");
        }
        break;
      }
      default:
        out.push_back("other:?");
        break;
    }
  }
  GENERAL_NAMES_free(names);
  return out;
}

bool Certificate::matches_host(std::string_view host) const {
  if (cert_ == nullptr || host.empty()) return false;
  const std::string name(host);
  if (X509_check_ip_asc(cert_, name.c_str(), 0) == 1) return true;
  // Never the subject CN: Go since 1.15 (ChirpStack v3) and rustls (v4) ignore it.
  return X509_check_host(cert_, name.data(), name.size(),
                         X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS | X509_CHECK_FLAG_NEVER_CHECK_SUBJECT, nullptr) == 1;
}

bool Certificate::is_ca() const { return cert_ != nullptr && X509_check_ca(cert_) != 0; }

bool Certificate::is_self_signed() const {
  return cert_ != nullptr && X509_self_signed(cert_, 0) == 1;
}

CertificateInfo describe(const Certificate& cert) {
  CertificateInfo info;
  if (!cert) return info;
  info.subject = cert.subject();
  info.issuer = cert.issuer();
  info.serial = cert.serial_hex();
  info.not_before = asn1_time_iso(X509_get0_notBefore(cert.native()));
  info.not_after = asn1_time_iso(X509_get0_notAfter(cert.native()));
  info.subject_alt_names = cert.subject_alt_names();
  info.is_ca = cert.is_ca();
  return info;
}

std::string to_string(const CertificateInfo& info) {
  std::string out = "subject '" + info.subject + "', issuer '" + info.issuer + "', valid " +
                    info.not_before + " to " + info.not_after;
  if (!info.subject_alt_names.empty()) {
    out += ", SAN ";
    for (std::size_t i = 0; i < info.subject_alt_names.size(); ++i) {
      if (i > 0) out += ", ";
      out += info.subject_alt_names[i];
    }
  }
  if (info.is_ca) out += ", CA";
  return out;
}

std::string subject_and_issuer(const Certificate& cert) {
  return "subject '" + cert.subject() + "', issuer '" + cert.issuer() + "'";
}

// ---- PrivateKey ----

PrivateKey PrivateKey::adopt(EVP_PKEY* key) noexcept {
  PrivateKey out;
  out.key_ = key;
  return out;
}
PrivateKey::PrivateKey(const PrivateKey& other) noexcept : key_(other.key_) {
  if (key_ != nullptr) EVP_PKEY_up_ref(key_);
}
PrivateKey& PrivateKey::operator=(const PrivateKey& other) noexcept {
  if (this != &other) {
    if (other.key_ != nullptr) EVP_PKEY_up_ref(other.key_);
    EVP_PKEY_free(key_);
    key_ = other.key_;
  }
  return *this;
}
PrivateKey::PrivateKey(PrivateKey&& other) noexcept : key_(std::exchange(other.key_, nullptr)) {}
PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
  }
  return *this;
}
PrivateKey::~PrivateKey() { EVP_PKEY_free(key_); }

std::string PrivateKey::description() const {
  if (key_ == nullptr) return "no key";
  const int id = EVP_PKEY_get_base_id(key_);
  if (id == EVP_PKEY_RSA) return "RSA " + std::to_string(EVP_PKEY_get_bits(key_));
  if (id == EVP_PKEY_EC) {
    char group[80] = {};
    std::size_t length = 0;
    if (EVP_PKEY_get_group_name(key_, group, sizeof group, &length) == 1) {
      return std::string("EC ") + group;
    }
    return "EC";
  }
  const char* name = OBJ_nid2sn(id);
  return name != nullptr ? name : "unknown key type";
}

bool PrivateKey::matches(const Certificate& cert) const {
  if (key_ == nullptr || !cert) return false;
  const EVP_PKEY* public_key = X509_get0_pubkey(cert.native());
  const bool same = public_key != nullptr && EVP_PKEY_eq(public_key, key_) == 1;
  ERR_clear_error();
  return same;
}

// ---- loading ----

namespace {

std::vector<Certificate> load_certificates_as(const fs::path& path, std::string_view role) {
  const std::string text = read_text_file(path, role);
  return parse_certificates(text, std::string(role) + " " + quoted(path), path);
}

}  // namespace

std::vector<Certificate> parse_certificates_pem(std::string_view pem, std::string_view origin) {
  if (pem.empty()) throw TlsError(std::string(origin) + ": is empty, expected PEM text");
  return parse_certificates(pem, std::string(origin), {});
}

std::vector<Certificate> load_certificates(const fs::path& pem_file) {
  return load_certificates_as(pem_file, "certificate file");
}

PrivateKey load_private_key(const fs::path& pem_file) {
  const std::string role = "private key file";
  const std::string where = role + " " + quoted(pem_file);
  const std::string text = read_text_file(pem_file, role);
  const std::vector<PemBlock> blocks = pem_blocks(text);
  if (blocks.empty()) throw_not_pem(text, where, pem_file);
  const PemBlock* key_block = nullptr;
  for (const PemBlock& block : blocks) {
    if (is_key_label(block.label)) {
      key_block = &block;
      break;
    }
  }
  if (key_block == nullptr) {
    std::string hint;
    for (const PemBlock& block : blocks) {
      if (is_certificate_label(block.label)) hint = " (is this the certificate file?)";
    }
    throw TlsError(where + ": holds no private key; found " + labels_found(blocks) + hint,
                   pem_file);
  }
  if (key_block->encrypted) {
    throw TlsError(where + ": the key is encrypted; an unencrypted PEM key is needed " +
                       "(decrypt it with `openssl pkey -in " + pem_file.string() + "`)",
                   pem_file);
  }
  ERR_clear_error();
  const std::string_view body =
      std::string_view(text).substr(key_block->begin, key_block->end - key_block->begin);
  BioPtr bio(BIO_new_mem_buf(body.data(), static_cast<int>(body.size())));
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_password, nullptr)
                      : nullptr;
  if (key == nullptr) {
    throw TlsError(where + ": the " + key_block->label + " block (line " +
                       std::to_string(key_block->line) +
                       ") does not parse: " + take_openssl_errors(),
                   pem_file);
  }
  return PrivateKey::adopt(key);
}

TlsIdentity load_identity(const fs::path& cert_file, const fs::path& key_file,
                          const fs::path& chain_file) {
  TlsIdentity identity;
  identity.chain = load_certificates_as(cert_file, "certificate file");
  if (!chain_file.empty()) {
    for (Certificate& cert : load_certificates_as(chain_file, "chain file")) {
      identity.chain.push_back(std::move(cert));
    }
  }
  identity.key = load_private_key(key_file);
  if (!identity.key.matches(identity.chain.front())) {
    throw TlsError("private key file " + quoted(key_file) + " (" +
                       identity.key.description() + ") does not match the certificate in " +
                       quoted(cert_file) + " (" + subject_and_issuer(identity.chain.front()) +
                       ")",
                   key_file);
  }
  return identity;
}

// ---- verification ----

std::string VerifyResult::message() const {
  if (ok) return "ok";
  std::string out = error_text.empty() ? "verification failed" : error_text;
  if (depth >= 0) out += " at depth " + std::to_string(depth);
  if (!subject.empty() || !issuer.empty()) {
    out += " (subject '" + subject + "', issuer '" + issuer + "')";
  }
  return out;
}

CaStore CaStore::load(const fs::path& pem_file) {
  return CaStore(load_certificates_as(pem_file, "CA file"), pem_file);
}

CaStore CaStore::system_roots(const fs::path& extra_pem_file) {
  CaStore store(extra_pem_file.empty() ? std::vector<Certificate>{}
                                       : load_certificates_as(extra_pem_file, "CA file"),
                extra_pem_file);
  store.system_roots_ = true;
  store.store_.reset(store.new_x509_store(), X509_STORE_free);
  if (!store.store_) {
    throw TlsError("cannot load the system's default CA certificates: " + take_openssl_errors());
  }
  return store;
}

CaStore::CaStore(std::vector<Certificate> anchors, fs::path origin)
    : anchors_(std::move(anchors)), origin_(std::move(origin)) {
  store_.reset(new_x509_store(), X509_STORE_free);
  if (!store_) throw TlsError("cannot create an X509_STORE: " + take_openssl_errors(), origin_);
}

X509_STORE* CaStore::new_x509_store() const {
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr) return nullptr;
  for (const Certificate& cert : anchors_) {
    // A certificate listed twice is harmless: ignore "already in store".
    X509_STORE_add_cert(store, cert.native());
  }
  if (system_roots_ && X509_STORE_set_default_paths(store) != 1) {
    X509_STORE_free(store);
    return nullptr;
  }
  ERR_clear_error();
  X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
  return store;
}

VerifyResult CaStore::verify(std::span<const Certificate> chain, CertificatePurpose purpose,
                             bool check_time) const {
  VerifyResult result;
  if (chain.empty() || !chain.front()) {
    result.error = X509_V_ERR_UNSPECIFIED;
    result.error_text = "no certificate was presented";
    return result;
  }
  struct CtxFree {
    void operator()(X509_STORE_CTX* ctx) const noexcept { X509_STORE_CTX_free(ctx); }
  };
  struct StackFree {
    void operator()(STACK_OF(X509) * stack) const noexcept { sk_X509_free(stack); }
  };
  std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!ctx || !untrusted) throw TlsError("out of memory while verifying a certificate chain");
  for (std::size_t i = 1; i < chain.size(); ++i) {
    if (chain[i]) sk_X509_push(untrusted.get(), chain[i].native());
  }
  if (X509_STORE_CTX_init(ctx.get(), store_.get(), chain.front().native(), untrusted.get()) !=
      1) {
    throw TlsError("cannot start a certificate verification: " + take_openssl_errors());
  }
  if (!check_time) X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_NO_CHECK_TIME);
  if (purpose == CertificatePurpose::tls_client) {
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  } else if (purpose == CertificatePurpose::tls_server) {
    X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  }
  const int rc = X509_verify_cert(ctx.get());
  ERR_clear_error();
  if (rc == 1) {
    result.ok = true;
    result.depth = 0;
    result.subject = chain.front().subject();
    result.issuer = chain.front().issuer();
    return result;
  }
  result.error = X509_STORE_CTX_get_error(ctx.get());
  if (result.error == X509_V_OK) result.error = X509_V_ERR_UNSPECIFIED;
  result.error_text = X509_verify_cert_error_string(result.error);
  result.depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* failed = X509_STORE_CTX_get_current_cert(ctx.get());
  const Certificate shown = failed != nullptr ? Certificate::share(failed) : chain.front();
  result.subject = shown.subject();
  result.issuer = shown.issuer();
  return result;
}

VerifyResult verify_chain(std::span<const Certificate> chain, const fs::path& ca_file,
                          CertificatePurpose purpose) {
  return CaStore::load(ca_file).verify(chain, purpose);
}

}  // namespace joincheck::backend
