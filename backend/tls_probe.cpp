#include "backend/tls_probe.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <array>
#include <optional>

#include "backend/http_client.hpp"

namespace joincheck::backend {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

int note_certificate_request(SSL*, void* flag) {
  *static_cast<bool*>(flag) = true;
  return 1;
}

std::string error_text(const error_code& ec) {
  std::string text = ec.message();
  if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
    text = "the server closed the connection";
  }
  return text;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

TlsProbeResult probe_tls(const TlsProbeOptions& options) {
  const HttpUrl url = HttpUrl::parse(options.url);
  if (!url.tls) {
    throw HttpError("CONNECT", options.url, HttpErrorPhase::invalid_request,
                    "a TLS probe needs an https:// URL");
  }
  TlsClientOptions tls = options.tls;
  tls.verify_peer = false;
  ssl::context context = make_client_context(tls);

  TlsProbeResult result;
  asio::io_context io;
  ssl::stream<tcp::socket> stream(io, context);
  asio::steady_timer deadline(io);
  bool fired = false;
  deadline.expires_after(options.timeout);
  deadline.async_wait([&](const error_code& ec) {
    if (ec) return;
    fired = true;
    error_code ignored;
    stream.lowest_layer().close(ignored);
  });

  SSL* handle = stream.native_handle();
  SSL_set_cert_cb(handle, note_certificate_request, &result.client_certificate_requested);
  if (!is_ip_literal(url.host)) {
    SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(url.host.c_str()));
  }

  const auto collect = [&](bool completed) {
    result.session = tls_session_info(handle, false);
    if (!completed) {
      result.session.version.clear();
      result.session.cipher.clear();
    }
    if (const STACK_OF(X509_NAME)* names = SSL_get_client_CA_list(handle)) {
      for (int i = 0; i < sk_X509_NAME_num(names); ++i) {
        X509_NAME* name = sk_X509_NAME_value(names, i);
        BIO* bio = BIO_new(BIO_s_mem());
        X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
        char* data = nullptr;
        const long size = BIO_get_mem_data(bio, &data);
        result.acceptable_client_cas.emplace_back(data, static_cast<std::size_t>(size));
        BIO_free(bio);
      }
    }
  };

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // However the probe ends, the deadline must not keep io.run() waiting.
        struct CancelDeadline {
          asio::steady_timer& timer;
          ~CancelDeadline() { timer.cancel(); }
        } cancel_deadline{deadline};
        error_code ec;
        tcp::resolver resolver(io);
        const auto endpoints = co_await resolver.async_resolve(
            url.host, std::to_string(url.port), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          result.error = fired ? "timed out resolving " + url.host
                               : "cannot resolve host '" + url.host + "': " + ec.message();
          co_return;
        }
        const tcp::endpoint endpoint = co_await asio::async_connect(
            stream.lowest_layer(), endpoints, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          result.error = fired ? "timed out connecting" : "cannot connect: " + ec.message();
          co_return;
        }
        result.connected = true;
        result.peer = (endpoint.address().is_v6() ? "[" + endpoint.address().to_string() + "]"
                                                  : endpoint.address().to_string()) +
                      ":" + std::to_string(endpoint.port());
        co_await stream.async_handshake(ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
          collect(false);
          result.error = fired ? "timed out during the TLS handshake" : error_text(ec);
          co_return;
        }
        collect(true);
        if (options.await_refusal.count() > 0) {
          // A TLS 1.3 server that refuses the client certificate says so now; a server that
          // accepted it waits for a request and sends nothing.
          deadline.expires_after(options.await_refusal);
          deadline.async_wait([&](const error_code& timer_ec) {
            if (!timer_ec) stream.lowest_layer().cancel();
          });
          std::array<char, 1> byte{};
          co_await stream.async_read_some(asio::buffer(byte),
                                          asio::redirect_error(asio::use_awaitable, ec));
          if (ec && ec != asio::error::operation_aborted) {
            result.error = error_text(ec);
            co_return;
          }
        }
        result.handshake_ok = true;
        error_code ignored;
        stream.lowest_layer().close(ignored);
      },
      asio::detached);
  io.run();
  result.timed_out = fired && !result.handshake_ok;
  ERR_clear_error();
  return result;
}

}  // namespace joincheck::backend
