#pragma once
// LoRaWAN value types. EUIs, DevAddr, NetID, DevNonce and JoinNonce are held and written in
// display order (most significant byte first, as TS002 writes them) and reversed on the air.
// Keys, MICs and CFLists are held as their bytes appear on the air.

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lorawan/error.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::lorawan {

template <class Tag, std::size_t N>
class FixedBytes {
 public:
  static constexpr std::size_t kSize = N;
  using Array = std::array<std::uint8_t, N>;

  constexpr FixedBytes() = default;
  // `bytes` in text order (display order for identifiers).
  constexpr explicit FixedBytes(const Array& bytes) : bytes_(bytes) {}

  // Parses N bytes of hex; the error names `field` (defaults to the type's name).
  static FixedBytes parse(std::string_view text, std::string_view field = Tag::kName) {
    const Bytes b = from_hex_exact(text, N, field, Tag::kSecret ? Secrecy::secret : Secrecy::quote);
    Array a{};
    std::copy(b.begin(), b.end(), a.begin());
    return FixedBytes(a);
  }

  // From the bytes as they appear in a frame.
  static FixedBytes from_wire(ByteSpan wire) {
    if (wire.size() != N) {
      throw Error(std::string(Tag::kName) + ": expected " + std::to_string(N) + " bytes, got " +
                  std::to_string(wire.size()));
    }
    Array a{};
    std::copy(wire.begin(), wire.end(), a.begin());
    if constexpr (Tag::kReversedOnWire) std::reverse(a.begin(), a.end());
    return FixedBytes(a);
  }

  std::string hex(HexCase letter_case = HexCase::lower) const { return to_hex(bytes_, letter_case); }
  const Array& bytes() const { return bytes_; }

  // The bytes as they appear in a frame.
  Array wire() const {
    Array a = bytes_;
    if constexpr (Tag::kReversedOnWire) std::reverse(a.begin(), a.end());
    return a;
  }
  // Appends the wire bytes to `out`.
  template <class Out>
  void append_wire(Out& out) const {
    const Array a = wire();
    out.insert(out.end(), a.begin(), a.end());
  }

  friend constexpr auto operator<=>(const FixedBytes&, const FixedBytes&) = default;

 private:
  Array bytes_{};
};

struct Eui64Tag {
  static constexpr bool kSecret = false;
  static constexpr std::string_view kName = "EUI-64";
  static constexpr bool kReversedOnWire = true;
};
struct DevAddrTag {
  static constexpr bool kSecret = false;
  static constexpr std::string_view kName = "DevAddr";
  static constexpr bool kReversedOnWire = true;
};
struct NetIdTag {
  static constexpr bool kSecret = false;
  static constexpr std::string_view kName = "NetID";
  static constexpr bool kReversedOnWire = true;
};
struct KeyTag {
  static constexpr bool kSecret = true;  // errors never quote a key
  static constexpr std::string_view kName = "AES-128 key";
  static constexpr bool kReversedOnWire = false;
};
struct MicTag {
  static constexpr bool kSecret = false;
  static constexpr std::string_view kName = "MIC";
  static constexpr bool kReversedOnWire = false;
};
struct CfListTag {
  static constexpr bool kSecret = false;
  static constexpr std::string_view kName = "CFList";
  static constexpr bool kReversedOnWire = false;
};

using Eui64 = FixedBytes<Eui64Tag, 8>;
using DevAddr = FixedBytes<DevAddrTag, 4>;
using NetId = FixedBytes<NetIdTag, 3>;
using Aes128Key = FixedBytes<KeyTag, 16>;
using Mic = FixedBytes<MicTag, 4>;
using CfList = FixedBytes<CfListTag, 16>;

// An unsigned counter of N bytes, little-endian on the air (DevNonce, RJcount, JoinNonce).
template <class Tag, std::size_t N>
class Counter {
 public:
  static constexpr std::size_t kSize = N;
  static constexpr std::uint32_t kMax = static_cast<std::uint32_t>((std::uint64_t{1} << (8 * N)) - 1);

  constexpr Counter() = default;
  constexpr explicit Counter(std::uint32_t value) : value_(value) {
    if (value > kMax) throw Error(std::string(Tag::kName) + ": value " + std::to_string(value) + " does not fit in " + std::to_string(N) + " bytes");
  }

  // Parses 2N hex digits, most significant first ("0102" is 258).
  static Counter parse(std::string_view text, std::string_view field = Tag::kName) {
    const Bytes b = from_hex_exact(text, N, field);
    std::uint32_t v = 0;
    for (std::uint8_t byte : b) v = (v << 8) | byte;
    return Counter(v);
  }
  static Counter from_wire(ByteSpan wire) {
    if (wire.size() != N) {
      throw Error(std::string(Tag::kName) + ": expected " + std::to_string(N) + " bytes, got " +
                  std::to_string(wire.size()));
    }
    std::uint32_t v = 0;
    for (std::size_t i = N; i-- > 0;) v = (v << 8) | wire[i];
    return Counter(v);
  }

  constexpr std::uint32_t value() const { return value_; }
  std::array<std::uint8_t, N> wire() const {
    std::array<std::uint8_t, N> a{};
    for (std::size_t i = 0; i < N; ++i) a[i] = static_cast<std::uint8_t>(value_ >> (8 * i));
    return a;
  }
  template <class Out>
  void append_wire(Out& out) const {
    const auto a = wire();
    out.insert(out.end(), a.begin(), a.end());
  }
  std::string hex(HexCase letter_case = HexCase::lower) const {
    auto a = wire();
    std::reverse(a.begin(), a.end());
    return to_hex(a, letter_case);
  }

  friend constexpr auto operator<=>(const Counter&, const Counter&) = default;

 private:
  std::uint32_t value_ = 0;
};

struct DevNonceTag {
  static constexpr std::string_view kName = "DevNonce";
};
struct JoinNonceTag {
  static constexpr std::string_view kName = "JoinNonce";
};
// DevNonce of a join-request, or RJcount0/RJcount1 of a rejoin-request in its place.
using DevNonce = Counter<DevNonceTag, 2>;
using JoinNonce = Counter<JoinNonceTag, 3>;

// The LoRaWAN L2 version a device implements.
enum class MacVersion { v1_0_0, v1_0_1, v1_0_2, v1_0_3, v1_0_4, v1_1 };

// Accepts "1.0", "1.0.0", "1.0.1" ... "1.0.4", "1.1", "1.1.0"; nullopt otherwise.
std::optional<MacVersion> parse_mac_version(std::string_view text);
// Throws Error naming the field and the accepted spellings.
MacVersion parse_mac_version_or_throw(std::string_view text, std::string_view field = "MACVersion");
// "1.0", "1.0.1", ... "1.0.4", "1.1": the spellings every JS studied accepts.
std::string_view to_string(MacVersion version);
constexpr bool is_1_1(MacVersion v) { return v == MacVersion::v1_1; }
// 1.0.4 and 1.1 count DevNonce up; earlier versions use random DevNonces.
constexpr bool devnonce_is_counter(MacVersion v) { return v >= MacVersion::v1_0_4; }

// MHDR message types (LoRaWAN L2 §4.2.1).
enum class MType : std::uint8_t {
  join_request = 0,
  join_accept = 1,
  unconfirmed_data_up = 2,
  unconfirmed_data_down = 3,
  confirmed_data_up = 4,
  confirmed_data_down = 5,
  rejoin_request = 6,
  proprietary = 7,
};
std::string_view to_string(MType type);
constexpr MType mtype_of(std::uint8_t mhdr) { return static_cast<MType>(mhdr >> 5); }
constexpr std::uint8_t mhdr_of(MType type) { return static_cast<std::uint8_t>(static_cast<std::uint8_t>(type) << 5); }

// JoinReqType of the 1.1 join-accept MIC: 0xFF for a join-request, 0/1/2 for rejoin types.
enum class JoinReqType : std::uint8_t { rejoin0 = 0x00, rejoin1 = 0x01, rejoin2 = 0x02, join = 0xff };
std::string_view to_string(JoinReqType type);
// Accepts "ff", "00", "01", "02" (either case, optional 0x).
std::optional<JoinReqType> parse_join_req_type(std::string_view text);

// DLSettings byte: bit 7 OptNeg (RFU before 1.1), bits 6..4 RX1DRoffset, bits 3..0 RX2DR.
struct DlSettings {
  std::uint8_t raw = 0;
  constexpr bool opt_neg() const { return (raw & 0x80) != 0; }
  constexpr std::uint8_t rx1_dr_offset() const { return (raw >> 4) & 0x07; }
  constexpr std::uint8_t rx2_data_rate() const { return raw & 0x0f; }
};

}  // namespace joincheck::lorawan
