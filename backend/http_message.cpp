#include "backend/http_message.hpp"

#include <utility>

namespace joincheck::backend {

namespace {
constexpr char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

const HttpHeader* HttpHeaders::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < count_; ++i) {
    if (iequals(fields_[i].name, name)) return &fields_[i];
  }
  return nullptr;
}

std::string_view HttpHeaders::get(std::string_view name) const noexcept {
  const HttpHeader* header = find(name);
  return header != nullptr ? std::string_view(header->value) : std::string_view();
}

void HttpHeaders::add(std::string_view name, std::string_view value) {
  if (count_ < fields_.size()) {
    fields_[count_].name.assign(name);
    fields_[count_].value.assign(value);
  } else {
    fields_.push_back(HttpHeader{std::string(name), std::string(value)});
  }
  ++count_;
}

std::string_view HttpRequest::path() const noexcept {
  const std::string_view full(target);
  return full.substr(0, full.find('?'));
}

HttpResponse HttpResponse::text(int status, std::string body) {
  return with_body(status, "text/plain; charset=utf-8", std::move(body));
}

HttpResponse HttpResponse::with_body(int status, std::string content_type, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = std::move(content_type);
  response.body = std::move(body);
  return response;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

}  // namespace joincheck::backend
