// The HTTP/1.1 parsers: requests as the reference JS's server reads them (its default limits),
// and responses as the NS client reads a JS's answers (its default limits). Fed in two pieces as
// a socket delivers them. The first byte chooses: its lowest bit the parser (0 request, 1
// response), the rest where to split.
#include <algorithm>
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>

#include "backend/http_client.hpp"
#include "backend/http_parser.hpp"
#include "backend/http_server.hpp"

namespace {

// As the server and the client do: after need_more, the parser is shown the unused bytes again
// only together with new ones (Beast asserts that a final chunk's bytes are not shown again
// alone), so the first piece ends before the last byte.
template <class Parser>
void feed(Parser& parser, const std::uint8_t* data, std::size_t size, std::size_t split) {
  std::size_t at = 0;
  for (const std::size_t end : {std::min(split, size - 1), size}) {
    while (at < end && !parser.is_done()) {
      joincheck::backend::detail::error_code ec;
      const std::size_t used = parser.put(boost::asio::const_buffer(data + at, end - at), ec);
      at += used;
      if (ec == boost::beast::http::error::need_more) break;
      if (ec) return;
      if (used == 0) break;
    }
  }
  if (parser.is_done()) (void)parser.keep_alive();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace joincheck::backend;
  if (size == 0) return 0;
  const bool response = (data[0] & 1) != 0;
  const std::size_t split = std::min<std::size_t>(data[0] >> 1, size - 1);
  ++data;
  --size;
  if (!response) {
    const HttpServerOptions defaults;
    HttpRequest request;
    detail::RequestParser parser(request);
    parser.header_limit(static_cast<std::uint32_t>(defaults.max_header_size));
    parser.body_limit(static_cast<std::uint64_t>(defaults.max_body_size));
    feed(parser, data, size, split);
  } else {
    const HttpClientOptions defaults;
    detail::ParsedResponse parsed;
    detail::ResponseParser parser(parsed);
    parser.header_limit(static_cast<std::uint32_t>(defaults.max_response_header));
    parser.body_limit(static_cast<std::uint64_t>(defaults.max_response_body));
    feed(parser, data, size, split);
  }
  return 0;
}
