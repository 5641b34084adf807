// HTTPS and mutual TLS over loopback with a PKI generated at test time (test_pki.hpp), and
// the TLS helpers: loading PEM files, describing certificates, verifying chains.

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <string>

#include "backend/http_client.hpp"
#include "backend/http_server.hpp"
#include "backend/tls_certificate.hpp"
#include "backend/tls_context.hpp"
#include "test_http_util.hpp"
#include "test_pki.hpp"

namespace joincheck::backend {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
using testing::TestPki;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

const TestPki& pki() { return TestPki::get(); }

HttpServerOptions tls_server(ClientCertMode mode = ClientCertMode::none,
                             const fs::path& client_ca = {}) {
  HttpServerOptions options;
  options.header_timeout = 2000ms;
  options.handshake_timeout = 2000ms;
  options.linger_timeout = 300ms;
  TlsServerOptions tls;
  tls.cert_file = pki().server_cert;
  tls.key_file = pki().server_key;
  tls.client_cert = mode;
  tls.client_ca_file = client_ca;
  options.tls = tls;
  return options;
}

HttpServerOptions tls_server_with(const fs::path& cert, const fs::path& key) {
  HttpServerOptions options = tls_server();
  options.tls->cert_file = cert;
  options.tls->key_file = key;
  return options;
}

HttpClientOptions trusting(const fs::path& ca) {
  HttpClientOptions options;
  options.tls.ca_file = ca;
  options.timeout = 3000ms;
  return options;
}

HttpClientOptions with_identity(HttpClientOptions options, const fs::path& cert,
                                const fs::path& key) {
  options.tls.cert_file = cert;
  options.tls.key_file = key;
  return options;
}

HttpResponse ok(const HttpRequest&) { return HttpResponse::text(200, "ok"); }

std::string https_url(const HttpServer& server, std::string_view host = "127.0.0.1") {
  return "https://" + std::string(host) + ":" + std::to_string(server.port()) + "/join";
}

// Runs the request and returns the error, failing the test when there is none.
HttpError expect_error(BlockingHttpClient& client, const std::string& url) {
  try {
    client.post(url, "application/json", "{}");
  } catch (const HttpError& error) {
    return error;
  }
  ADD_FAILURE() << "expected an HttpError for " << url;
  return HttpError("POST", url, HttpErrorPhase::read, "no error");
}

// ---- HTTPS ----

TEST(TlsTransport, ClientTrustingTheCaConnects) {
  HttpServer server(tls_server(), ok);
  EXPECT_TRUE(server.tls());
  EXPECT_EQ(server.url().rfind("https://", 0), 0u);
  BlockingHttpClient client(trusting(pki().root_ca));
  for (const char* host : {"127.0.0.1", "localhost"}) {
    const HttpClientResponse response =
        client.post(https_url(server, host), "application/json", "{}");
    EXPECT_EQ(response.status, 200);
    EXPECT_EQ(response.body, "ok");
    ASSERT_NE(response.tls, nullptr);
    EXPECT_EQ(response.tls->version, "TLSv1.3");
    EXPECT_FALSE(response.tls->cipher.empty());
    EXPECT_TRUE(response.tls->peer_verified);
    ASSERT_EQ(response.tls->peer_chain.size(), 2u);
    EXPECT_EQ(response.tls->peer_chain[0].common_name(), "js.test");
    EXPECT_EQ(response.tls->peer_chain[1].common_name(), "joincheck test intermediate CA");
  }
}

TEST(TlsTransport, KeepAliveOverTlsUsesOneConnection) {
  HttpServer server(tls_server(), ok);
  BlockingHttpClient client(trusting(pki().root_ca));
  for (int i = 0; i < 100; ++i) {
    const HttpClientResponse response = client.post(https_url(server), "application/json", "{}");
    ASSERT_EQ(response.status, 200);
    ASSERT_EQ(response.connection_reused, i > 0);
  }
  EXPECT_EQ(server.stats().connections_accepted, 1u);
}

// With resume_tls_sessions, a new connection to the same origin resumes the last session (the
// ticket of TLS 1.3, the session of TLS 1.2); without, every connection is a full handshake.
TEST(TlsTransport, SessionsAreResumedOnlyWhenAsked) {
  HttpServer server(tls_server(), ok);
  for (const TlsVersion version : {TlsVersion::tls1_3, TlsVersion::tls1_2}) {
    HttpClientOptions resuming = trusting(pki().root_ca);
    resuming.tls.max_version = version;
    resuming.resume_tls_sessions = true;
    BlockingHttpClient client(resuming);
    HttpClientResponse first = client.post(https_url(server), "application/json", "{}");
    ASSERT_EQ(first.status, 200);
    ASSERT_NE(first.tls, nullptr);
    EXPECT_FALSE(first.tls->resumed);
    client.close_idle();
    HttpClientResponse second = client.post(https_url(server), "application/json", "{}");
    ASSERT_EQ(second.status, 200);
    EXPECT_FALSE(second.connection_reused);
    EXPECT_TRUE(second.tls->resumed) << second.tls->version;
    EXPECT_EQ(second.tls->peer_chain.size() > 0, true);

    HttpClientOptions plain = trusting(pki().root_ca);
    plain.tls.max_version = version;
    BlockingHttpClient full(plain);
    ASSERT_EQ(full.post(https_url(server), "application/json", "{}").status, 200);
    full.close_idle();
    const HttpClientResponse again = full.post(https_url(server), "application/json", "{}");
    EXPECT_FALSE(again.tls->resumed);
  }
}

TEST(TlsTransport, ClientWithAnotherCaNamesTheVerifyErrorAndTheServerCertificate) {
  HttpServer server(tls_server(), ok);
  BlockingHttpClient client(trusting(pki().other_ca));
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake);
  EXPECT_EQ(error.verify_error, "unable to get local issuer certificate");
  EXPECT_NE(error.peer_subject.find("CN=js.test"), std::string::npos);
  EXPECT_NE(error.peer_issuer.find("CN=joincheck test intermediate CA"), std::string::npos);
  const std::string message = error.what();
  EXPECT_NE(message.find("POST " + https_url(server) + ": TLS handshake"), std::string::npos)
      << message;
  EXPECT_NE(message.find("unable to get local issuer certificate"), std::string::npos) << message;
  EXPECT_NE(message.find("subject 'CN=js.test"), std::string::npos) << message;
  EXPECT_NE(message.find("issuer 'CN=joincheck test intermediate CA"), std::string::npos)
      << message;
}

TEST(TlsTransport, SystemRootsDoNotTrustTheTestCa) {
  HttpServer server(tls_server(), ok);
  BlockingHttpClient client;  // no ca_file: the system's default roots
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake);
  EXPECT_FALSE(error.verify_error.empty()) << error.what();
}

TEST(TlsTransport, HostnameMismatchIsRefused) {
  HttpServer server(
      tls_server_with(pki().wrong_host_server_cert, pki().wrong_host_server_key), ok);
  BlockingHttpClient client(trusting(pki().root_ca));
  const HttpError by_name = expect_error(client, https_url(server, "localhost"));
  EXPECT_EQ(by_name.phase(), HttpErrorPhase::tls_handshake);
  EXPECT_EQ(by_name.verify_error, "hostname mismatch") << by_name.what();
  EXPECT_NE(std::string(by_name.what()).find("CN=wrong.example"), std::string::npos);
  const HttpError by_ip = expect_error(client, https_url(server, "127.0.0.1"));
  EXPECT_EQ(by_ip.verify_error, "IP address mismatch") << by_ip.what();

  // With host name checking off (a diagnostic mode) the same server is accepted.
  HttpClientOptions lax = trusting(pki().root_ca);
  lax.tls.verify_hostname = false;
  BlockingHttpClient lax_client(lax);
  EXPECT_EQ(lax_client.post(https_url(server), "application/json", "{}").status, 200);
}

TEST(TlsTransport, ExpiredServerCertificateIsRefused) {
  HttpServer server(tls_server_with(pki().expired_server_cert, pki().expired_server_key), ok);
  BlockingHttpClient client(trusting(pki().root_ca));
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.verify_error, "certificate has expired") << error.what();
}

TEST(TlsTransport, AnIntermediateInTheCaFileIsATrustAnchor) {
  HttpServer server(tls_server(), ok);
  BlockingHttpClient client(trusting(pki().intermediate_ca));
  EXPECT_EQ(client.post(https_url(server), "application/json", "{}").status, 200);
}

TEST(TlsTransport, ServerWithoutItsIntermediateFailsVerification) {
  HttpServer server(tls_server_with(pki().server_leaf_only, pki().server_key), ok);
  BlockingHttpClient client(trusting(pki().root_ca));
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.verify_error, "unable to get local issuer certificate") << error.what();
}

// ---- mutual TLS: one global client CA ----

TEST(TlsTransport, MutualTlsWithoutAClientCertificateIsRefused) {
  HttpServer server(tls_server(ClientCertMode::require, pki().root_ca), ok);
  BlockingHttpClient client(trusting(pki().root_ca));
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake) << error.what();
  EXPECT_NE(std::string(error.what()).find("none is configured"), std::string::npos)
      << error.what();
  EXPECT_GE(server.stats().tls_handshake_failures, 1u);
  EXPECT_EQ(server.stats().requests, 0u);
}

TEST(TlsTransport, MutualTlsWithACertificateFromAnotherCaIsRefused) {
  std::promise<std::string> reported;
  HttpServerOptions options = tls_server(ClientCertMode::require, pki().root_ca);
  bool once = false;
  options.on_error = [&](std::string_view message) {
    if (!once) {
      once = true;
      reported.set_value(std::string(message));
    }
  };
  HttpServer server(options, ok);
  BlockingHttpClient client(
      with_identity(trusting(pki().root_ca), pki().other_client_cert, pki().other_client_key));
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake) << error.what();
  EXPECT_NE(std::string(error.what()).find("CN=ns-other"), std::string::npos) << error.what();
  EXPECT_EQ(server.stats().requests, 0u);
  // The server side names the rejected client certificate too.
  auto future = reported.get_future();
  ASSERT_EQ(future.wait_for(2s), std::future_status::ready);
  const std::string message = future.get();
  EXPECT_NE(message.find("TLS handshake with 127.0.0.1:"), std::string::npos) << message;
  EXPECT_NE(message.find("CN=ns-other"), std::string::npos) << message;
}

TEST(TlsTransport, MutualTlsWithTheRightCertificateIsAccepted) {
  std::promise<std::shared_ptr<const TlsSessionInfo>> seen;
  HttpServer server(tls_server(ClientCertMode::require, pki().root_ca),
                    [&](const HttpRequest& request) {
                      seen.set_value(request.tls);
                      return ok(request);
                    });
  BlockingHttpClient client(
      with_identity(trusting(pki().root_ca), pki().client_cert, pki().client_key));
  EXPECT_EQ(client.post(https_url(server), "application/json", "{}").status, 200);
  const auto tls = seen.get_future().get();
  ASSERT_NE(tls, nullptr);
  EXPECT_TRUE(tls->peer_verified);
  ASSERT_EQ(tls->peer_chain.size(), 2u);
  EXPECT_EQ(tls->peer_chain[0].common_name(), "ns-000013");
  EXPECT_EQ(tls->peer_chain[1].common_name(), "joincheck test intermediate CA");
  EXPECT_EQ(tls->version, "TLSv1.3");
}

TEST(TlsTransport, MutualTlsAlsoWorksWithTls12) {
  HttpServer server(tls_server(ClientCertMode::require, pki().root_ca), ok);
  HttpClientOptions options =
      with_identity(trusting(pki().root_ca), pki().client_cert, pki().client_key);
  options.tls.max_version = TlsVersion::tls1_2;
  BlockingHttpClient client(options);
  const HttpClientResponse response = client.post(https_url(server), "application/json", "{}");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.tls->version, "TLSv1.2");

  HttpClientOptions anonymous = trusting(pki().root_ca);
  anonymous.tls.max_version = TlsVersion::tls1_2;
  BlockingHttpClient refused(anonymous);
  const HttpError error = expect_error(refused, https_url(server));
  EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake) << error.what();
}

// ---- request, don't verify: the application checks a CA chosen per sender ----

TEST(TlsTransport, RequestModePassesTheChainToTheHandlerForPerSenderVerification) {
  const CaStore our_ca = CaStore::load(pki().root_ca);
  const CaStore other_ca = CaStore::load(pki().other_ca);
  struct Seen {
    std::size_t chain = 0;
    bool verified_by_handshake = true;
    bool ours = false;
    bool others = false;
    std::string ours_error;
  };
  std::mutex mutex;
  Seen last;
  HttpServer server(tls_server(ClientCertMode::request), [&](const HttpRequest& request) {
    std::lock_guard lock(mutex);
    last = Seen{};
    last.chain = request.tls->peer_chain.size();
    last.verified_by_handshake = request.tls->peer_verified;
    const VerifyResult ours = our_ca.verify(request.tls->peer_chain);
    last.ours = ours.ok;
    last.ours_error = ours.message();
    last.others = other_ca.verify(request.tls->peer_chain).ok;
    return ok(request);
  });
  {
    BlockingHttpClient client(
        with_identity(trusting(pki().root_ca), pki().client_cert, pki().client_key));
    EXPECT_EQ(client.post(https_url(server), "application/json", "{}").status, 200);
    std::lock_guard lock(mutex);
    EXPECT_EQ(last.chain, 2u);
    EXPECT_FALSE(last.verified_by_handshake);
    EXPECT_TRUE(last.ours) << last.ours_error;
    EXPECT_FALSE(last.others);
  }
  {
    BlockingHttpClient client(
        with_identity(trusting(pki().root_ca), pki().other_client_cert, pki().other_client_key));
    EXPECT_EQ(client.post(https_url(server), "application/json", "{}").status, 200);
    std::lock_guard lock(mutex);
    EXPECT_EQ(last.chain, 1u);
    EXPECT_FALSE(last.ours);
    EXPECT_NE(last.ours_error.find("unable to get local issuer certificate"), std::string::npos)
        << last.ours_error;
    EXPECT_TRUE(last.others);
  }
  {
    BlockingHttpClient client(trusting(pki().root_ca));  // no certificate at all
    EXPECT_EQ(client.post(https_url(server), "application/json", "{}").status, 200);
    std::lock_guard lock(mutex);
    EXPECT_EQ(last.chain, 0u);
    EXPECT_FALSE(last.ours);
  }
}

// ---- versions ----

TEST(TlsTransport, Tls11ClientIsRefused) {
  // OpenSSL 3 can still speak TLS 1.1 at security level 0, which the client switches to for
  // versions below 1.2. The server's minimum (TLS 1.2) refuses it.
  HttpServer server(tls_server(), ok);
  HttpClientOptions options = trusting(pki().root_ca);
  options.tls.min_version = TlsVersion::tls1_1;
  options.tls.max_version = TlsVersion::tls1_1;
  BlockingHttpClient client(options);
  const HttpError error = expect_error(client, https_url(server));
  EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake) << error.what();
  const std::string message = error.what();
  if (message.find("no protocols available") != std::string::npos) {
    GTEST_SKIP() << "this OpenSSL build cannot offer TLS 1.1 at all: " << message;
  }
  EXPECT_NE(message.find("protocol version"), std::string::npos) << message;
  EXPECT_NE(message.find("TLSv1.1 to TLSv1.1"), std::string::npos) << message;
}

TEST(TlsTransport, ServerMinimumVersionIsEnforced) {
  HttpServerOptions options = tls_server();
  options.tls->min_version = TlsVersion::tls1_3;
  HttpServer server(options, ok);
  HttpClientOptions tls12 = trusting(pki().root_ca);
  tls12.tls.max_version = TlsVersion::tls1_2;
  BlockingHttpClient old_client(tls12);
  EXPECT_EQ(expect_error(old_client, https_url(server)).phase(), HttpErrorPhase::tls_handshake);
  BlockingHttpClient new_client(trusting(pki().root_ca));
  EXPECT_EQ(new_client.post(https_url(server), "application/json", "{}").status, 200);
}

// ---- hostile peers on the TLS port ----

TEST(TlsTransport, PlainHttpOnTheTlsPortIsDroppedAndTheServerGoesOn) {
  HttpServer server(tls_server(), ok);
  {
    RawConnection connection(server.port());
    connection.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}");
    EXPECT_TRUE(connection.wait_closed(3000ms));
  }
  BlockingHttpClient client(trusting(pki().root_ca));
  EXPECT_EQ(client.post(https_url(server), "application/json", "{}").status, 200);
}

TEST(TlsTransport, SilentPeerIsDroppedAtTheHandshakeDeadline) {
  HttpServerOptions options = tls_server();
  options.handshake_timeout = 200ms;
  HttpServer server(options, ok);
  RawConnection connection(server.port());
  const auto start = Clock::now();
  EXPECT_TRUE(connection.wait_closed(3000ms));
  EXPECT_GE(Clock::now() - start, 150ms);
  EXPECT_EQ(server.stats().timeouts, 1u);
}

TEST(TlsTransport, ClientHandshakeDeadlineAgainstAPeerThatNeverAnswersTheHello) {
  testing::RawServer mute([](int fd, const std::atomic<bool>& stopping) {
    (void)fd;
    testing::idle_until(stopping, 5000ms);
  });
  HttpClientOptions options = trusting(pki().root_ca);
  BlockingHttpClient client(options);
  HttpClientRequest request;
  request.url = "https://127.0.0.1:" + std::to_string(mute.port()) + "/";
  request.timeout = 250ms;
  const auto start = Clock::now();
  try {
    client.request(request);
    FAIL();
  } catch (const HttpError& error) {
    EXPECT_EQ(error.phase(), HttpErrorPhase::tls_handshake) << error.what();
    EXPECT_TRUE(error.timed_out());
  }
  EXPECT_LT(Clock::now() - start, 1500ms);
}

// ---- server TLS configuration errors ----

TEST(TlsTransport, ServerConfigurationErrorsNameTheFile) {
  HttpServerOptions options = tls_server();
  options.tls->key_file = pki().client_key;  // not the server certificate's key
  try {
    HttpServer server(options, ok);
    FAIL();
  } catch (const TlsError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find(pki().client_key.string()), std::string::npos) << message;
    EXPECT_NE(message.find("does not match"), std::string::npos) << message;
    EXPECT_NE(message.find("CN=js.test"), std::string::npos) << message;
  }
  options = tls_server(ClientCertMode::require);  // no client CA file
  EXPECT_THROW(HttpServer(options, ok), TlsError);
  options = tls_server();
  options.tls->cert_file = pki().dir / "missing.pem";
  try {
    HttpServer server(options, ok);
    FAIL();
  } catch (const TlsError& error) {
    EXPECT_NE(std::string(error.what()).find("missing.pem': does not exist"), std::string::npos)
        << error.what();
    EXPECT_EQ(error.file(), options.tls->cert_file);
  }
}

// ---- TLS helpers ----

void write_file(const fs::path& path, std::string_view text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const TlsError& error) {
    return error.what();
  }
  return "(no error)";
}

TEST(TlsFiles, LoadErrorsNameTheFileAndTheProblem) {
  const fs::path dir = testing::scratch_dir("load-errors");
  const fs::path missing = dir / "missing.pem";
  EXPECT_NE(message_of([&] { load_certificates(missing); })
                .find("certificate file '" + missing.string() + "': does not exist"),
            std::string::npos);
  EXPECT_NE(message_of([&] { load_certificates(dir); }).find("is a directory"), std::string::npos);

  const fs::path empty = dir / "empty.pem";
  write_file(empty, "");
  EXPECT_NE(message_of([&] { load_certificates(empty); }).find("is empty"), std::string::npos);

  const fs::path text = dir / "text.pem";
  write_file(text, "hello, I am not a certificate\n");
  EXPECT_NE(message_of([&] { load_certificates(text); }).find("is not PEM"), std::string::npos);

  const fs::path der = dir / "cert.der";
  write_file(der, std::string("\x30\x82\x01\x0a\x02\x82", 6));
  EXPECT_NE(message_of([&] { load_certificates(der); }).find("looks like DER"), std::string::npos);

  EXPECT_NE(message_of([&] { load_certificates(pki().server_key); })
                .find("holds no certificate; found PRIVATE KEY (is this the private key file?)"),
            std::string::npos)
      << message_of([&] { load_certificates(pki().server_key); });
  EXPECT_NE(message_of([&] { load_private_key(pki().server_cert); })
                .find("holds no private key; found CERTIFICATE, CERTIFICATE (is this the "
                      "certificate file?)"),
            std::string::npos)
      << message_of([&] { load_private_key(pki().server_cert); });

  const fs::path broken = dir / "broken.pem";
  write_file(broken, "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n");
  EXPECT_NE(message_of([&] { load_certificates(broken); }).find("certificate #1 (line 1) does not parse"),
            std::string::npos)
      << message_of([&] { load_certificates(broken); });

  // An encrypted key: never prompts on the terminal, says what to do.
  const fs::path encrypted = dir / "encrypted-key.pem";
  {
    const PrivateKey key = load_private_key(pki().client_key);
    std::FILE* file = std::fopen(encrypted.c_str(), "wb");
    ASSERT_NE(file, nullptr);
    static char passphrase[] = "secret";
    PEM_write_PKCS8PrivateKey(file, key.native(), EVP_aes_128_cbc(), passphrase, 6, nullptr,
                              nullptr);
    std::fclose(file);
  }
  EXPECT_NE(message_of([&] { load_private_key(encrypted); }).find("the key is encrypted"),
            std::string::npos);

  EXPECT_NE(message_of([&] { load_identity(pki().server_cert, pki().client_key); })
                .find("does not match the certificate"),
            std::string::npos);
  EXPECT_EQ(message_of([&] { load_identity(pki().server_cert, pki().server_key); }), "(no error)");
}

TEST(TlsFiles, DescribeShowsSubjectIssuerValidityAndNames) {
  const std::vector<Certificate> chain = load_certificates(pki().server_cert);
  ASSERT_EQ(chain.size(), 2u);
  const CertificateInfo info = describe(chain[0]);
  EXPECT_EQ(info.subject, "CN=js.test,O=joincheck test");
  EXPECT_EQ(info.issuer, "CN=joincheck test intermediate CA,O=joincheck test");
  EXPECT_EQ(info.subject_alt_names,
            (std::vector<std::string>{"DNS:localhost", "IP:127.0.0.1", "IP:::1"}));
  EXPECT_FALSE(info.is_ca);
  EXPECT_EQ(info.not_before.size(), 20u);  // 2025-01-31T12:00:00Z
  EXPECT_LT(chain[0].not_before(), std::chrono::system_clock::now());
  EXPECT_GT(chain[0].not_after(), std::chrono::system_clock::now());
  EXPECT_TRUE(describe(chain[1]).is_ca);
  const std::string line = to_string(info);
  EXPECT_NE(line.find("subject 'CN=js.test,O=joincheck test', issuer 'CN=joincheck test "
                      "intermediate CA"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find("SAN DNS:localhost, IP:127.0.0.1"), std::string::npos) << line;
  // PEM round trip.
  const Certificate again = Certificate::from_pem(chain[0].pem());
  EXPECT_EQ(again.subject(), chain[0].subject());
  EXPECT_EQ(again.serial_hex(), chain[0].serial_hex());
  EXPECT_EQ(load_private_key(pki().server_key).description(), "EC prime256v1");
}

TEST(TlsFiles, VerifyChainAcceptsTheRightCaAndRejectsAnother) {
  const std::vector<Certificate> client = load_certificates(pki().client_cert);
  const VerifyResult good = verify_chain(client, pki().root_ca);
  EXPECT_TRUE(good.ok) << good.message();
  EXPECT_EQ(good.message(), "ok");

  const VerifyResult other = verify_chain(client, pki().other_ca);
  EXPECT_FALSE(other.ok);
  EXPECT_EQ(other.error_text, "unable to get local issuer certificate");
  EXPECT_NE(other.message().find("issuer 'CN=joincheck test root CA"), std::string::npos)
      << other.message();

  // Without the intermediate the leaf alone does not reach the root...
  const VerifyResult leaf_only = verify_chain(std::span(client).first(1), pki().root_ca);
  EXPECT_FALSE(leaf_only.ok);
  // ...but it does reach an intermediate used as trust anchor.
  EXPECT_TRUE(verify_chain(std::span(client).first(1), pki().intermediate_ca).ok);

  // A server certificate is not a client certificate.
  const std::vector<Certificate> server = load_certificates(pki().server_cert);
  const VerifyResult purpose = verify_chain(server, pki().root_ca, CertificatePurpose::tls_client);
  EXPECT_FALSE(purpose.ok);
  EXPECT_EQ(purpose.error_text, "unsuitable certificate purpose") << purpose.message();
  EXPECT_TRUE(verify_chain(server, pki().root_ca, CertificatePurpose::tls_server).ok);

  const std::vector<Certificate> expired = load_certificates(pki().expired_server_cert);
  EXPECT_EQ(verify_chain(expired, pki().root_ca, CertificatePurpose::tls_server).error_text,
            "certificate has expired");

  EXPECT_FALSE(CaStore::load(pki().root_ca).verify({}).ok);
  EXPECT_THROW(CaStore::load(pki().dir / "nope.pem"), TlsError);
}

}  // namespace
}  // namespace joincheck::backend
