#include "sim/gateway/gwmp.hpp"

// Field names, types and the order they are written in follow the examples of Semtech
// packet_forwarder PROTOCOL.TXT (v1.3, protocol version 2): rxpk §4, stat §4, txpk §6,
// txpk_ack §6. Numbers are written the way lora_pkt_fwd writes them: `freq` with 6 decimals,
// `lsnr` and `ackr` with 1, `lati`/`long` with 5.
//
// Absent optional txpk fields decode to what lora_pkt_fwd does with them (it zeroes its TX
// struct first): `ipol` false, `ncrc` false, `powe` 0. A LoRa txpk without `codr`, or any txpk
// without `size`, decodes too (`codr` ""), with the field named in TxPacket::missing_fields:
// lora_pkt_fwd aborts such a TX, and the simulated gateway must see that to answer alike. FSK
// (`modu` "FSK") carries `datr` as a number of bits per second; it is kept as its decimal text
// ("50000") and written back as a number.

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <nlohmann/json.hpp>

#include "backend/json_duplicates.hpp"

namespace joincheck::sim::gwmp {
namespace {

using nlohmann::json;

// rxpk and txpk nest three levels (root, rxpk array, packet); some forwarders add a level or two
// (`rsig` arrays of objects). Anything deeper is not GWMP.
constexpr std::size_t kMaxJsonDepth = 16;
constexpr std::uint64_t kHzPerMHz = 1'000'000;
// `freq` above this is not a LoRa frequency (and would not fit the 6-decimal text exactly).
constexpr std::uint64_t kMaxFrequencyHz = 10'000 * kHzPerMHz;

[[noreturn]] void fail(std::string_view where, const std::string& what) {
  throw GwmpError(std::string(where) + ": " + what);
}

// ---- writing -------------------------------------------------------------------------------

std::string json_string(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string fixed(double value, int decimals, std::string_view where) {
  if (!std::isfinite(value)) fail(where, "expected a finite number, got " + std::to_string(value));
  char buf[64];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, decimals);
  if (ec != std::errc()) fail(where, "number too large to write");
  return std::string(buf, end);
}

// `freq` as written on the wire, "868.100000": integer arithmetic, so the text is exact.
std::string freq_field(std::uint64_t hz, std::string_view where) {
  if (hz >= kMaxFrequencyHz) {
    fail(where, "expected a frequency below 10000 MHz, got " + std::to_string(hz) + " Hz");
  }
  std::string frac = std::to_string(hz % kHzPerMHz);
  frac.insert(0, 6 - frac.size(), '0');
  return std::to_string(hz / kHzPerMHz) + "." + frac;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// An object written field by field, in the order the caller adds them.
class ObjectText {
 public:
  void raw(std::string_view key, std::string_view value) {
    text_ += text_.size() > 1 ? "," : "";
    text_ += '"';
    text_ += key;
    text_ += "\":";
    text_ += value;
  }
  void str(std::string_view key, std::string_view value) { raw(key, json_string(value)); }
  template <class Int>
  void integer(std::string_view key, Int value) {
    raw(key, std::to_string(value));
  }
  void boolean(std::string_view key, bool value) { raw(key, value ? "true" : "false"); }
  std::string close() && { return std::move(text_) + "}"; }

 private:
  std::string text_ = "{";
};

void add_datr(ObjectText& o, const std::string& modu, const std::string& datr) {
  if (modu == "FSK" && all_digits(datr) && datr.size() <= 9) {
    o.raw("datr", datr);
  } else {
    o.str("datr", datr);
  }
}

std::string rxpk_text(const RxPacket& p) {
  ObjectText o;
  if (p.time) o.str("time", *p.time);
  o.integer("tmst", p.tmst);
  o.integer("chan", p.chan);
  o.integer("rfch", p.rfch);
  o.raw("freq", freq_field(p.frequency_hz, "rxpk.freq"));
  o.integer("stat", int{p.stat});
  o.str("modu", p.modu);
  add_datr(o, p.modu, p.datr);
  if (!p.codr.empty()) o.str("codr", p.codr);
  o.integer("rssi", p.rssi);
  if (p.modu != "FSK") o.raw("lsnr", fixed(p.lsnr, 1, "rxpk.lsnr"));
  o.integer("size", p.data.size());
  o.str("data", lorawan::to_base64(p.data));
  return std::move(o).close();
}

std::string stat_text(const GatewayStatus& s) {
  ObjectText o;
  o.str("time", s.time);
  if (s.lati) o.raw("lati", fixed(*s.lati, 5, "stat.lati"));
  if (s.longi) o.raw("long", fixed(*s.longi, 5, "stat.long"));
  if (s.alti) o.integer("alti", *s.alti);
  o.integer("rxnb", s.rxnb);
  o.integer("rxok", s.rxok);
  o.integer("rxfw", s.rxfw);
  o.raw("ackr", fixed(s.ackr, 1, "stat.ackr"));
  o.integer("dwnb", s.dwnb);
  o.integer("txnb", s.txnb);
  return std::move(o).close();
}

bool lacks(const TxPacket& p, std::string_view field) {
  return std::find(p.missing_fields.begin(), p.missing_fields.end(), field) !=
         p.missing_fields.end();
}

std::string txpk_text(const TxPacket& p) {
  ObjectText o;
  o.boolean("imme", p.imme);
  if (p.tmst) o.integer("tmst", *p.tmst);
  if (p.tmms) o.integer("tmms", *p.tmms);
  o.raw("freq", freq_field(p.frequency_hz, "txpk.freq"));
  o.integer("rfch", p.rfch);
  o.integer("powe", p.powe);
  o.str("modu", p.modu);
  add_datr(o, p.modu, p.datr);
  if (!p.codr.empty() && !lacks(p, "codr")) o.str("codr", p.codr);
  o.boolean("ipol", p.ipol);
  if (p.prea) o.integer("prea", *p.prea);
  if (!lacks(p, "size")) o.integer("size", p.data.size());
  o.str("data", lorawan::to_base64(p.data));
  o.boolean("ncrc", p.ncrc);
  return std::move(o).close();
}

void append_header(lorawan::Bytes& out, std::uint8_t version, std::uint16_t token,
                   PacketType type) {
  out.push_back(version);
  out.push_back(static_cast<std::uint8_t>(token >> 8));
  out.push_back(static_cast<std::uint8_t>(token & 0xff));
  out.push_back(static_cast<std::uint8_t>(type));
}

// GWMP carries the gateway EUI as 8 bytes, most significant first (lora_pkt_fwd writes its
// `gateway_ID` in network byte order), unlike LoRaWAN frames.
void append_eui(lorawan::Bytes& out, const lorawan::Eui64& eui) {
  out.insert(out.end(), eui.bytes().begin(), eui.bytes().end());
}

void append_text(lorawan::Bytes& out, const std::string& text) {
  out.insert(out.end(), text.begin(), text.end());
}

// ---- reading -------------------------------------------------------------------------------

std::string seen(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::string:
      return "the string " + lorawan::quote_for_error(v.get_ref<const std::string&>());
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::binary:
    case json::value_t::discarded:
      return "something else";
    default:
      return v.dump();
  }
}

std::string path(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : std::string(parent) + "." + std::string(key);
}

const json* find(const json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const json& require(const json& object, std::string_view key, std::string_view where) {
  const json* v = find(object, key);
  if (v == nullptr) fail(path(where, key), "missing (a required field)");
  return *v;
}

// An integer in [lo, hi]: a JSON integer, or a float with an integral value (some JSON writers
// print 1e3 or 1000.0).
std::int64_t integer_in(const json& v, std::string_view where, std::int64_t lo, std::int64_t hi,
                        std::string_view expected) {
  const auto bad = [&] { fail(where, "expected " + std::string(expected) + ", got " + seen(v)); };
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) bad();
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i < lo || i > hi) bad();
    return i;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(lo) ||
        d > static_cast<double>(hi))
      bad();
    return static_cast<std::int64_t>(d);
  }
  bad();
  return 0;  // not reached
}

double finite_number(const json& v, std::string_view where, double lo, double hi,
                     std::string_view expected) {
  if (!v.is_number()) fail(where, "expected " + std::string(expected) + ", got " + seen(v));
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < lo || d > hi)
    fail(where, "expected " + std::string(expected) + ", got " + seen(v));
  return d;
}

const std::string& string_of(const json& v, std::string_view where) {
  if (!v.is_string()) fail(where, "expected a string, got " + seen(v));
  return v.get_ref<const std::string&>();
}

bool boolean_of(const json& v, std::string_view where) {
  if (!v.is_boolean()) fail(where, "expected true or false, got " + seen(v));
  return v.get<bool>();
}

// `freq` in MHz to Hz, rounded to the nearest Hz. lora_pkt_fwd truncates 1e6 × the double, which
// is exact for 6-decimal values in 863-870 and 902-928 MHz but not everywhere (512.000012 × 1e6 is
// 512000011.99999994), nor for a writer that prints 868.0999999 or 15 digits.
std::uint64_t frequency_of(const json& v, std::string_view where) {
  const double mhz = finite_number(v, where, 0.0, static_cast<double>(kMaxFrequencyHz / kHzPerMHz),
                                   "a frequency in MHz (0 .. 10000)");
  const auto hz = std::llround(mhz * static_cast<double>(kHzPerMHz));
  if (hz <= 0) fail(where, "expected a frequency in MHz above 0, got " + seen(v));
  return static_cast<std::uint64_t>(hz);
}

const std::string& modu_of(const json& object, std::string_view where) {
  const std::string& modu = string_of(require(object, "modu", where), path(where, "modu"));
  if (modu != "LORA" && modu != "FSK") {
    fail(path(where, "modu"),
         "expected \"LORA\" or \"FSK\", got " + lorawan::quote_for_error(modu));
  }
  return modu;
}

std::string datr_of(const json& object, const std::string& modu, std::string_view where) {
  const json& v = require(object, "datr", where);
  const std::string at = path(where, "datr");
  if (modu == "FSK") {
    return std::to_string(
        integer_in(v, at, 1, 1'000'000, "an FSK bit rate (a number of bits per second)"));
  }
  const std::string& datr = string_of(v, at);
  if (datr.empty() || datr.size() > 16)
    fail(at, "expected a LoRa data rate such as \"SF7BW125\", got " + seen(v));
  return datr;
}

lorawan::Bytes data_of(const json& object, std::string_view where) {
  const std::string at = path(where, "data");
  const std::string& text = string_of(require(object, "data", where), at);
  lorawan::Bytes data;
  try {
    data = lorawan::from_base64(text, at);
  } catch (const lorawan::Error& e) {
    throw GwmpError(e.what());
  }
  if (const json* size = find(object, "size")) {
    const auto n = integer_in(*size, path(where, "size"), 0, 65535, "a size in bytes (0 .. 65535)");
    if (static_cast<std::size_t>(n) != data.size()) {
      fail(path(where, "size"),
           "says " + std::to_string(n) + " bytes, but data holds " + std::to_string(data.size()));
    }
  }
  return data;
}

RxPacket read_rxpk(const json& o, const std::string& where) {
  if (!o.is_object()) fail(where, "expected an object, got " + seen(o));
  RxPacket p;
  if (const json* t = find(o, "time")) p.time = string_of(*t, path(where, "time"));
  p.tmst = static_cast<std::uint32_t>(integer_in(require(o, "tmst", where), path(where, "tmst"), 0,
                                                 0xffffffff, "an unsigned 32-bit integer"));
  p.frequency_hz = frequency_of(require(o, "freq", where), path(where, "freq"));
  if (const json* v = find(o, "chan")) {
    p.chan = static_cast<std::uint8_t>(
        integer_in(*v, path(where, "chan"), 0, 255, "an IF channel (0 .. 255)"));
  }
  if (const json* v = find(o, "rfch")) {
    p.rfch = static_cast<std::uint8_t>(
        integer_in(*v, path(where, "rfch"), 0, 255, "an RF chain (0 .. 255)"));
  }
  if (const json* v = find(o, "stat")) {
    p.stat = static_cast<std::int8_t>(
        integer_in(*v, path(where, "stat"), -1, 1, "a CRC status (1, -1 or 0)"));
  }
  p.modu = modu_of(o, where);
  p.datr = datr_of(o, p.modu, where);
  p.codr.clear();
  if (const json* v = find(o, "codr")) p.codr = string_of(*v, path(where, "codr"));
  p.rssi = static_cast<int>(integer_in(require(o, "rssi", where), path(where, "rssi"), -32768,
                                       32767, "an RSSI in dBm (an integer)"));
  if (p.modu == "LORA") {
    p.lsnr = finite_number(require(o, "lsnr", where), path(where, "lsnr"), -1000.0, 1000.0,
                           "an SNR in dB");
  } else if (const json* v = find(o, "lsnr")) {
    p.lsnr = finite_number(*v, path(where, "lsnr"), -1000.0, 1000.0, "an SNR in dB");
  } else {
    p.lsnr = 0.0;
  }
  p.data = data_of(o, where);
  return p;
}

GatewayStatus read_stat(const json& o, const std::string& where) {
  if (!o.is_object()) fail(where, "expected an object, got " + seen(o));
  GatewayStatus s;
  if (const json* v = find(o, "time")) s.time = string_of(*v, path(where, "time"));
  if (const json* v = find(o, "lati"))
    s.lati = finite_number(*v, path(where, "lati"), -90.0, 90.0, "a latitude in degrees");
  if (const json* v = find(o, "long")) {
    s.longi = finite_number(*v, path(where, "long"), -180.0, 180.0, "a longitude in degrees");
  }
  if (const json* v = find(o, "alti")) {
    s.alti = static_cast<int>(
        integer_in(*v, path(where, "alti"), -100000, 100000, "an altitude in metres (an integer)"));
  }
  const auto counter = [&](std::string_view key, std::uint32_t& out) {
    if (const json* v = find(o, key)) {
      out = static_cast<std::uint32_t>(
          integer_in(*v, path(where, key), 0, 0xffffffff, "an unsigned 32-bit count"));
    }
  };
  counter("rxnb", s.rxnb);
  counter("rxok", s.rxok);
  counter("rxfw", s.rxfw);
  counter("dwnb", s.dwnb);
  counter("txnb", s.txnb);
  if (const json* v = find(o, "ackr"))
    s.ackr = finite_number(*v, path(where, "ackr"), 0.0, 100.0, "a percentage (0 .. 100)");
  return s;
}

TxPacket read_txpk(const json& o, const std::string& where) {
  if (!o.is_object()) fail(where, "expected an object, got " + seen(o));
  TxPacket p;
  p.imme = false;
  if (const json* v = find(o, "imme")) p.imme = boolean_of(*v, path(where, "imme"));
  if (const json* v = find(o, "tmst")) {
    p.tmst = static_cast<std::uint32_t>(
        integer_in(*v, path(where, "tmst"), 0, 0xffffffff, "an unsigned 32-bit integer"));
  }
  if (const json* v = find(o, "tmms")) {
    p.tmms =
        static_cast<std::uint64_t>(integer_in(*v, path(where, "tmms"), 0, std::int64_t{1} << 53,
                                              "GPS time in milliseconds (an unsigned integer)"));
  }
  if (!p.imme && !p.tmst && !p.tmms) {
    fail(where, std::string("expected \"imme\": true, a \"tmst\" or a \"tmms\"; none is given") +
                    (find(o, "time") != nullptr ? " (GPS \"time\" is not supported)" : ""));
  }
  p.frequency_hz = frequency_of(require(o, "freq", where), path(where, "freq"));
  p.rfch = static_cast<std::uint8_t>(
      integer_in(require(o, "rfch", where), path(where, "rfch"), 0, 255, "an RF chain (0 .. 255)"));
  p.powe = 0;
  if (const json* v = find(o, "powe")) {
    p.powe = static_cast<int>(
        integer_in(*v, path(where, "powe"), -128, 127, "a power in dBm (an integer)"));
  }
  p.modu = modu_of(o, where);
  p.datr = datr_of(o, p.modu, where);
  p.codr.clear();
  if (const json* v = find(o, "codr")) p.codr = string_of(*v, path(where, "codr"));
  p.ipol = false;
  if (const json* v = find(o, "ipol")) p.ipol = boolean_of(*v, path(where, "ipol"));
  if (const json* v = find(o, "prea")) {
    p.prea = static_cast<std::uint16_t>(
        integer_in(*v, path(where, "prea"), 0, 65535, "a preamble length (0 .. 65535)"));
  }
  p.ncrc = false;
  if (const json* v = find(o, "ncrc")) p.ncrc = boolean_of(*v, path(where, "ncrc"));
  p.data = data_of(o, where);
  // What lora_pkt_fwd refuses to send without (lora_pkt_fwd.c, thread_down): kept as a fact.
  if (p.modu == "LORA" && find(o, "codr") == nullptr) p.missing_fields.emplace_back("codr");
  if (find(o, "size") == nullptr) p.missing_fields.emplace_back("size");
  return p;
}

// The JSON part of a datagram, as an object. C forwarders may send the string's terminating NUL
// too; trailing NULs and white space are not part of the object.
json parse_object(lorawan::ByteSpan bytes, std::string_view where) {
  std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  while (!text.empty() && (text.back() == '\0' || text.back() == ' ' || text.back() == '\n' ||
                           text.back() == '\r' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  if (text.empty()) fail(where, "expected a JSON object, got nothing");
  json value;
  try {
    value = backend::parse_json_with_duplicates(text, kMaxJsonDepth, backend::kMaxMessageValues).value;
  } catch (const json::parse_error& e) {
    fail(where, "JSON does not parse at byte " + std::to_string(e.byte) + ": " +
                    backend::parse_error_reason(e));
  } catch (const backend::JsonTooDeep& e) {
    fail(where, std::string("JSON refused: ") + e.what());
  } catch (const json::exception& e) {
    // "[json.exception.out_of_range.406] number overflow parsing '1e999'": nlohmann's id dropped.
    std::string_view what = e.what();
    if (const auto end = what.find("] ");
        what.starts_with("[json.exception") && end != std::string_view::npos) {
      what.remove_prefix(end + 2);
    }
    fail(where, "JSON refused: " + std::string(what));
  }
  if (!value.is_object()) fail(where, "expected a JSON object, got " + seen(value));
  return value;
}

lorawan::Eui64 read_eui(lorawan::ByteSpan datagram) {
  lorawan::Eui64::Array a{};
  std::copy(datagram.begin() + 4, datagram.begin() + 12, a.begin());
  return lorawan::Eui64(a);
}

PushData read_push_data(lorawan::ByteSpan d) {
  PushData out;
  out.gateway = read_eui(d);
  const json root = parse_object(d.subspan(12), "PUSH_DATA JSON");
  if (const json* rxpk = find(root, "rxpk")) {
    if (!rxpk->is_array()) fail("PUSH_DATA rxpk", "expected an array, got " + seen(*rxpk));
    for (std::size_t i = 0; i < rxpk->size(); ++i) {
      out.rxpk.push_back(read_rxpk((*rxpk)[i], "PUSH_DATA rxpk[" + std::to_string(i) + "]"));
    }
  }
  if (const json* stat = find(root, "stat")) out.stat = read_stat(*stat, "PUSH_DATA stat");
  return out;
}

PullResp read_pull_resp(lorawan::ByteSpan d) {
  const json root = parse_object(d.subspan(4), "PULL_RESP JSON");
  PullResp out;
  out.txpk = read_txpk(require(root, "txpk", "PULL_RESP"), "PULL_RESP txpk");
  return out;
}

TxAck read_tx_ack(lorawan::ByteSpan d) {
  TxAck out;
  out.gateway = read_eui(d);
  const auto rest = d.subspan(12);
  std::size_t meaningful = rest.size();
  while (meaningful > 0 && (rest[meaningful - 1] == 0 || rest[meaningful - 1] == ' ' ||
                            rest[meaningful - 1] == '\n')) {
    --meaningful;
  }
  if (meaningful == 0) return out;  // no JSON: success (PROTOCOL.TXT §5.5)
  const json root = parse_object(rest, "TX_ACK JSON");
  const json& ack = require(root, "txpk_ack", "TX_ACK");
  if (!ack.is_object()) fail("TX_ACK txpk_ack", "expected an object, got " + seen(ack));
  if (const json* error = find(ack, "error")) {
    const std::string& text = string_of(*error, "TX_ACK txpk_ack.error");
    out.error = parse_tx_ack_error(text);
    if (!out.error) {
      fail("TX_ACK txpk_ack.error",
           "expected NONE, TOO_LATE, TOO_EARLY, COLLISION_PACKET, COLLISION_BEACON, TX_FREQ, "
           "TX_POWER or "
           "GPS_UNLOCKED, got " +
               lorawan::quote_for_error(text));
    }
  } else if (find(ack, "warn") != nullptr) {
    // The SX1302 forwarder's {"warn": "TX_POWER", "value": 20}: sent, with an adjustment.
    out.error = TxAckError::none;
  } else {
    fail("TX_ACK txpk_ack", "expected an \"error\" field");
  }
  return out;
}

std::string hex_byte(std::uint8_t b) {
  const std::uint8_t one[1] = {b};
  return "0x" + lorawan::to_hex(one);
}

}  // namespace

std::string_view to_string(PacketType type) {
  switch (type) {
    case PacketType::push_data:
      return "PUSH_DATA";
    case PacketType::push_ack:
      return "PUSH_ACK";
    case PacketType::pull_data:
      return "PULL_DATA";
    case PacketType::pull_resp:
      return "PULL_RESP";
    case PacketType::pull_ack:
      return "PULL_ACK";
    case PacketType::tx_ack:
      return "TX_ACK";
  }
  return "?";
}

std::string_view to_string(TxAckError error) {
  switch (error) {
    case TxAckError::none:
      return "NONE";
    case TxAckError::too_late:
      return "TOO_LATE";
    case TxAckError::too_early:
      return "TOO_EARLY";
    case TxAckError::collision_packet:
      return "COLLISION_PACKET";
    case TxAckError::collision_beacon:
      return "COLLISION_BEACON";
    case TxAckError::tx_freq:
      return "TX_FREQ";
    case TxAckError::tx_power:
      return "TX_POWER";
    case TxAckError::gps_unlocked:
      return "GPS_UNLOCKED";
  }
  return "?";
}

std::optional<TxAckError> parse_tx_ack_error(std::string_view text) {
  for (auto e : {TxAckError::none, TxAckError::too_late, TxAckError::too_early,
                 TxAckError::collision_packet, TxAckError::collision_beacon, TxAckError::tx_freq,
                 TxAckError::tx_power, TxAckError::gps_unlocked}) {
    if (to_string(e) == text) return e;
  }
  return std::nullopt;
}

PacketType Packet::type() const {
  switch (payload.index()) {
    case 0:
      return PacketType::push_data;
    case 1:
      return PacketType::push_ack;
    case 2:
      return PacketType::pull_data;
    case 3:
      return PacketType::pull_ack;
    case 4:
      return PacketType::pull_resp;
    default:
      return PacketType::tx_ack;
  }
}

lorawan::Bytes encode(const Packet& packet) {
  const PacketType type = packet.type();
  const std::uint8_t version = packet.protocol_version;
  if (version != 1 && version != 2) {
    throw GwmpError("GWMP " + std::string(to_string(type)) + ": protocol version " +
                    std::to_string(version) + " cannot be written (expected 2, or 1)");
  }
  if (version == 1 && type == PacketType::tx_ack) {
    throw GwmpError("GWMP TX_ACK: exists in protocol version 2 only, asked to write version 1");
  }
  lorawan::Bytes out;
  append_header(out, version, packet.token, type);
  if (const auto* push = std::get_if<PushData>(&packet.payload)) {
    append_eui(out, push->gateway);
    std::string text = "{";
    if (!push->rxpk.empty()) {
      text += "\"rxpk\":[";
      for (std::size_t i = 0; i < push->rxpk.size(); ++i) {
        if (i > 0) text += ',';
        text += rxpk_text(push->rxpk[i]);
      }
      text += ']';
    }
    if (push->stat) {
      if (text.size() > 1) text += ',';
      text += "\"stat\":" + stat_text(*push->stat);
    }
    text += '}';
    append_text(out, text);
  } else if (const auto* pull = std::get_if<PullData>(&packet.payload)) {
    append_eui(out, pull->gateway);
  } else if (const auto* resp = std::get_if<PullResp>(&packet.payload)) {
    append_text(out, "{\"txpk\":" + txpk_text(resp->txpk) + "}");
  } else if (const auto* ack = std::get_if<TxAck>(&packet.payload)) {
    append_eui(out, ack->gateway);
    if (ack->error) {
      append_text(out,
                  "{\"txpk_ack\":{\"error\":\"" + std::string(to_string(*ack->error)) + "\"}}");
    }
  }
  return out;
}

Packet decode(lorawan::ByteSpan datagram) {
  if (datagram.size() < 4) {
    throw GwmpError("GWMP datagram: expected at least 4 bytes (version, token, identifier), got " +
                    std::to_string(datagram.size()));
  }
  const std::uint8_t version = datagram[0];
  if (version != 1 && version != 2) {
    throw GwmpError("GWMP header byte 0: expected protocol version 2 (or 1), got " +
                    std::to_string(version));
  }
  const std::uint8_t id = datagram[3];
  if (id > 0x05) {
    throw GwmpError("GWMP header byte 3: expected a packet identifier 0x00..0x05, got " +
                    hex_byte(id));
  }
  const auto type = static_cast<PacketType>(id);
  if (type == PacketType::tx_ack && version != 2) {
    throw GwmpError("GWMP TX_ACK: exists in protocol version 2 only, got version " +
                    std::to_string(version));
  }
  const bool has_eui =
      type == PacketType::push_data || type == PacketType::pull_data || type == PacketType::tx_ack;
  if (has_eui && datagram.size() < 12) {
    throw GwmpError("GWMP " + std::string(to_string(type)) +
                    ": expected at least 12 bytes (header and gateway EUI), got " +
                    std::to_string(datagram.size()));
  }
  Packet p;
  p.protocol_version = version;
  p.token = static_cast<std::uint16_t>(datagram[1] << 8 | datagram[2]);
  switch (type) {
    case PacketType::push_data:
      p.payload = read_push_data(datagram);
      break;
    case PacketType::push_ack:
      p.payload = PushAck{};
      break;
    case PacketType::pull_data:
      p.payload = PullData{read_eui(datagram)};
      break;
    case PacketType::pull_resp:
      p.payload = read_pull_resp(datagram);
      break;
    case PacketType::pull_ack:
      p.payload = PullAck{};
      break;
    case PacketType::tx_ack:
      p.payload = read_tx_ack(datagram);
      break;
  }
  return p;
}

namespace {
std::tm utc_now(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}
}  // namespace

std::string rxpk_time_now() {
  const auto now = std::chrono::system_clock::now();
  const std::tm tm = utc_now(now);
  char date[32];
  const std::size_t n = std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1'000'000;
  std::string frac = std::to_string(us < 0 ? us + 1'000'000 : us);
  frac.insert(0, 6 - frac.size(), '0');
  return std::string(date, n) + "." + frac + "Z";
}

std::string stat_time_now() {
  const std::tm tm = utc_now(std::chrono::system_clock::now());
  char text[40];
  const std::size_t n = std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S GMT", &tm);
  return std::string(text, n);
}

std::int64_t tmst_delta(std::uint32_t a, std::uint32_t b) {
  const std::uint32_t d = b - a;
  return d >= 0x8000'0000u ? static_cast<std::int64_t>(d) - (std::int64_t{1} << 32)
                           : static_cast<std::int64_t>(d);
}

std::string host_port_text(std::string_view host, std::uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + std::string(host) + "]" : std::string(host)) + ":" + std::to_string(port);
}

}  // namespace joincheck::sim::gwmp
