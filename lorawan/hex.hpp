#pragma once
// Hex and base64 text <-> bytes. Parsing is strict (an even number of hex digits, either
// case, no prefix); callers that accept a `0x` prefix strip it themselves and record it.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace joincheck::lorawan {

using Bytes = std::vector<std::uint8_t>;
using ByteSpan = std::span<const std::uint8_t>;

enum class HexCase { lower, upper };

std::string to_hex(ByteSpan bytes, HexCase letter_case = HexCase::lower);

// Whether an error message may quote the text: never for keys.
enum class Secrecy { quote, secret };

// Parses hex; throws Error naming `field` on an odd length or a non-hex character.
Bytes from_hex(std::string_view text, std::string_view field, Secrecy secrecy = Secrecy::quote);

// Parses hex of exactly `size` bytes; throws Error naming `field` otherwise.
Bytes from_hex_exact(std::string_view text, std::size_t size, std::string_view field,
                     Secrecy secrecy = Secrecy::quote);

bool is_hex(std::string_view text);

// The text without a leading "0x" or "0X" (which TS002 and users write); as it is otherwise.
std::string_view strip_hex_prefix(std::string_view text);

std::string to_base64(ByteSpan bytes);
// Standard alphabet with padding (padding optional); throws Error naming `field`.
Bytes from_base64(std::string_view text, std::string_view field);

// Quotes text for an error message, shortening it when long (at a UTF-8 character boundary),
// its control characters escaped (escape_control): a peer's NUL would otherwise cut the
// message short wherever it is read as a C string (std::exception::what()), and its newline
// would forge a log line.
std::string quote_for_error(std::string_view text);

// The largest cut point <= `at` that does not split a UTF-8 character: it backs off over at most
// three continuation bytes (10xxxxxx); text that is not UTF-8 is cut at `at`.
std::size_t utf8_boundary(std::string_view text, std::size_t at);

// `text` cut to at most `max_bytes` bytes at a UTF-8 character boundary, followed by
// "... (N more bytes)" when cut: a peer's body kept in a report or printed.
std::string cut_utf8(std::string_view text, std::size_t max_bytes);

// A peer's free text (a Result Description, a reason phrase) for a report or log line: cut to
// `max_bytes` (cut_utf8) and its control characters escaped (escape_control). A hostile JS's
// 4 MiB Description would otherwise be copied into every verdict.
std::string peer_text(std::string_view text, std::size_t max_bytes = 1024);

// `text` on one line and without control characters, for logs and error messages: newline,
// carriage return and tab as \n, \r, \t, every other byte below 0x20 and DEL as \xNN; the
// rest (UTF-8 included) as it is.
std::string escape_control(std::string_view text);

}  // namespace joincheck::lorawan
