// Boost's assertion handler in Debug builds (the sanitizer and fuzzing trees; backend/CMakeLists.txt
// defines BOOST_ENABLE_ASSERT_HANDLER there): a failed BOOST_ASSERT aborts as assert() does, with
// one exception. Boost.Beast before 1.86 asserts `n >= 5` in basic_parser::parse_chunk_header
// when a final chunk ("0\r\n") was answered with need_more and the next call brings fewer than
// five bytes in all ("0\r\n" then "\r"): a valid stream, which the code after the assertion
// handles (need_more again); Beast removed the assertion in boostorg/beast pull request 2861.
// Release builds (NDEBUG) compile the assertion out; a Debug build of the server must not abort
// on a client that sends a chunked body a byte at a time, so that one assertion is let through.
#ifdef BOOST_ENABLE_ASSERT_HANDLER

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::string_view(expr) == "n >= 5" &&
      std::string_view(file).ends_with("boost/beast/http/impl/basic_parser.ipp")) {
    return;
  }
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost

#endif
