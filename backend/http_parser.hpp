#pragma once
// Internal to the backend transport: Beast's HTTP/1.1 parser writing straight into
// HttpRequest / the client's response, reusing their storage from message to message, so
// that a keep-alive connection parses without allocating once it has warmed up.

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <string>

#include "backend/http_message.hpp"

namespace joincheck::backend::detail {

namespace beast_http = boost::beast::http;
using boost::beast::error_code;

inline std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

class RequestParser final : public beast_http::basic_parser<true> {
 public:
  // `request` must outlive the parser; its message fields are cleared.
  explicit RequestParser(HttpRequest& request) : request_(request) {
    request_.method.clear();
    request_.target.clear();
    request_.headers.clear();
    request_.body.clear();
    eager(true);
  }
  bool expects_continue() const noexcept { return expect_continue_; }

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version, error_code&) override {
    request_.method.assign(method.data(), method.size());
    request_.target.assign(target.data(), target.size());
    request_.version = static_cast<unsigned>(version);
  }
  void on_response_impl(int, boost::beast::string_view, int, error_code&) override {}
  void on_field_impl(beast_http::field name, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code&) override {
    if (name == beast_http::field::expect && iequals({value.data(), value.size()}, "100-continue")) {
      expect_continue_ = true;
    } else if (name == beast_http::field::transfer_encoding &&
               !iequals(trim({value.data(), value.size()}), "chunked")) {
      unsupported_coding_ = true;
    }
    request_.headers.add({name_string.data(), name_string.size()}, {value.data(), value.size()});
  }
  void on_header_impl(error_code& ec) override {
    // Beast passes codings before "chunked" (e.g. "gzip, chunked") through; this server
    // decodes none of them, so it refuses them (RFC 9112 §6.1: 501).
    if (unsupported_coding_) ec = beast_http::error::bad_transfer_encoding;
  }
  void on_body_init_impl(boost::optional<std::uint64_t> const& length, error_code&) override {
    // The length was checked against the body limit already.
    if (length) request_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code&) override {
    request_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  HttpRequest& request_;
  bool expect_continue_ = false;
  bool unsupported_coding_ = false;
};

struct ParsedResponse {
  int status = 0;
  std::string reason;
  unsigned version = 11;
  HttpHeaders headers;
  std::string body;
};

class ResponseParser final : public beast_http::basic_parser<false> {
 public:
  explicit ResponseParser(ParsedResponse& response) : response_(response) {
    response_.status = 0;
    response_.reason.clear();
    response_.headers.clear();
    response_.body.clear();
    eager(true);
  }

 private:
  void on_request_impl(beast_http::verb, boost::beast::string_view, boost::beast::string_view,
                       int, error_code&) override {}
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        error_code&) override {
    response_.status = code;
    response_.reason.assign(reason.data(), reason.size());
    response_.version = static_cast<unsigned>(version);
  }
  void on_field_impl(beast_http::field, boost::beast::string_view name_string,
                     boost::beast::string_view value, error_code&) override {
    response_.headers.add({name_string.data(), name_string.size()}, {value.data(), value.size()});
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(boost::optional<std::uint64_t> const& length, error_code&) override {
    if (length) response_.body.reserve(static_cast<std::size_t>(*length));
  }
  std::size_t on_body_impl(boost::beast::string_view body, error_code&) override {
    response_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 error_code&) override {
    response_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  ParsedResponse& response_;
};

}  // namespace joincheck::backend::detail
