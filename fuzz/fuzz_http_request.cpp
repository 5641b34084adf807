// The HTTP/1.1 request parser of the reference JS's server, with the server's default limits,
// fed in two pieces (the first byte says where to split) as a socket delivers them.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>

#include "backend/http_parser.hpp"
#include "backend/http_server.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::backend;
  if (size == 0) return 0;
  const std::size_t split = std::min<std::size_t>(data[0], size - 1);
  ++data;
  --size;
  const HttpServerOptions defaults;
  HttpRequest request;
  detail::RequestParser parser(request);
  parser.header_limit(static_cast<std::uint32_t>(defaults.max_header_size));
  parser.body_limit(static_cast<std::uint64_t>(defaults.max_body_size));
  std::size_t at = 0;
  for (const std::size_t end : {split, size}) {
    while (at < end && !parser.is_done()) {
      error_code ec;
      const std::size_t used = parser.put(boost::asio::const_buffer(data + at, end - at), ec);
      at += used;
      if (ec == boost::beast::http::error::need_more) break;
      if (ec) return 0;
      if (used == 0) break;
    }
  }
  if (parser.is_done()) (void)parser.keep_alive();
  return 0;
}
