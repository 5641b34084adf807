#pragma once
// Errors raised by the lorawan layer. Every message names the field, what was expected and
// what was seen, so a user can act on it without reading code.

#include <stdexcept>
#include <string>
#include <vector>

namespace joincheck::lorawan {

// Input that does not have the expected form (bad hex, wrong length, wrong MType, ...).
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An RFC 3394 unwrap whose integrity check failed: wrong KEK or corrupted data.
class KeyUnwrapError : public Error {
 public:
  using Error::Error;
};

// Several errors of one input as one message: the first `shown`, one per line, then how many
// more there are (a file with a thousand bad lines gives a readable message).
std::string join_error_lines(const std::vector<std::string>& errors, std::size_t shown = 20);

}  // namespace joincheck::lorawan
