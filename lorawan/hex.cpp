#include "lorawan/hex.hpp"

#include <array>

#include "lorawan/error.hpp"

namespace joincheck::lorawan {
namespace {

// The value of every byte as a hex digit, -1 for the others: one load per character (hex is on
// every hot path: JoinReq/JoinAns bodies carry PHYPayloads, keys and identifiers in hex).
constexpr std::array<std::int8_t, 256> kHexValues = [] {
  std::array<std::int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (int c = '0'; c <= '9'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) table[static_cast<std::size_t>(c)] = static_cast<std::int8_t>(c - 'A' + 10);
  return table;
}();

int hex_value(char c) { return kHexValues[static_cast<unsigned char>(c)]; }

constexpr std::string_view kBase64Alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_value(char c) {
  const auto pos = kBase64Alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string quote_for_error(std::string_view text) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  if (text.size() <= kMax) {
    out += escape_control(text);
  } else {
    out += escape_control(text.substr(0, utf8_boundary(text, kMax)));
    out += "...";
  }
  out.push_back('"');
  return out;
}

std::size_t utf8_boundary(std::string_view text, std::size_t at) {
  if (at >= text.size()) return text.size();
  std::size_t end = at;
  while (end > 0 && at - end < 3 && (static_cast<unsigned char>(text[end]) & 0xC0u) == 0x80u) --end;
  return (static_cast<unsigned char>(text[end]) & 0xC0u) == 0x80u ? at : end;
}

std::string cut_utf8(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  const std::size_t end = utf8_boundary(text, max_bytes);
  std::string out(text.substr(0, end));
  out += "... (" + std::to_string(text.size() - end) + " more bytes)";
  return out;
}

std::string peer_text(std::string_view text, std::size_t max_bytes) {
  return escape_control(cut_utf8(text, max_bytes));
}

std::string escape_control(std::string_view text) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 0x0f];
    } else {
      out += c;
    }
  }
  return out;
}

std::string to_hex(ByteSpan bytes, HexCase letter_case) {
  const char* digits = letter_case == HexCase::lower ? "0123456789abcdef" : "0123456789ABCDEF";
  std::string out(bytes.size() * 2, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 0x0f];
  }
  return out;
}

bool is_hex(std::string_view text) {
  for (char c : text) {
    if (hex_value(c) < 0) return false;
  }
  return true;
}

namespace {
// The value itself, or for a secret only its length.
std::string shown(std::string_view text, Secrecy secrecy) {
  if (secrecy == Secrecy::quote) return " in " + quote_for_error(text);
  return " (value not shown: it is a key)";
}
}  // namespace

std::string_view strip_hex_prefix(std::string_view text) {
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) text.remove_prefix(2);
  return text;
}

Bytes from_hex(std::string_view text, std::string_view field, Secrecy secrecy) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (hex_value(text[i]) < 0) {
      const std::string seen =
          secrecy == Secrecy::quote ? "'" + escape_control(text.substr(i, 1)) + "'" : "a non-hex character";
      throw Error(std::string(field) + ": expected hex digits (0-9, a-f), found " + seen +
                  " at position " + std::to_string(i) + shown(text, secrecy));
    }
  }
  if (text.size() % 2 != 0) {
    throw Error(std::string(field) + ": expected an even number of hex digits, got " +
                std::to_string(text.size()) + shown(text, secrecy));
  }
  Bytes out(text.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::uint8_t>(hex_value(text[2 * i]) << 4 | hex_value(text[2 * i + 1]));
  }
  return out;
}

Bytes from_hex_exact(std::string_view text, std::size_t size, std::string_view field,
                     Secrecy secrecy) {
  if (text.size() != size * 2) {
    throw Error(std::string(field) + ": expected " + std::to_string(size * 2) + " hex digits (" +
                std::to_string(size) + " bytes), got " + std::to_string(text.size()) +
                " characters" + (secrecy == Secrecy::quote ? " " + quote_for_error(text) : std::string()));
  }
  return from_hex(text, field, secrecy);
}

std::string to_base64(ByteSpan bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = unsigned(bytes[i]) << 16 | unsigned(bytes[i + 1]) << 8 | bytes[i + 2];
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    unsigned v = unsigned(bytes[i]) << 16;
    if (rest == 2) v |= unsigned(bytes[i + 1]) << 8;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kBase64Alphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Bytes from_base64(std::string_view text, std::string_view field) {
  std::size_t end = text.size();
  while (end > 0 && text[end - 1] == '=') --end;
  if (text.size() - end > 2) {
    throw Error(std::string(field) + ": too much base64 padding in " + quote_for_error(text));
  }
  Bytes out;
  out.reserve(end * 3 / 4);
  unsigned acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < end; ++i) {
    const int v = base64_value(text[i]);
    if (v < 0) {
      throw Error(std::string(field) + ": expected base64 characters, found '" +
                  escape_control(text.substr(i, 1)) + "' at position " + std::to_string(i) +
                  " in " + quote_for_error(text));
    }
    acc = (acc << 6) | unsigned(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<std::uint8_t>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero padding: anything else is not base64 of whole bytes.
  if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0) {
    throw Error(std::string(field) + ": truncated base64 (" + std::to_string(end) +
                " characters) in " + quote_for_error(text));
  }
  return out;
}

}  // namespace joincheck::lorawan
