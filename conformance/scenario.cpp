#include "conformance/scenario.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

#include "backend/json_duplicates.hpp"
#include "conformance/embedded.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

namespace {

using json = nlohmann::json;

constexpr std::array<std::pair<Capability, std::string_view>, 7> kCapabilities{{
    {Capability::rejoin, "rejoin"},
    {Capability::app_s_key, "app-s-key"},
    {Capability::home_ns, "home-ns"},
    {Capability::protocol_1_1, "protocol-1.1"},
    {Capability::known_senders, "known-senders"},
    {Capability::as_kek, "as-kek"},
    {Capability::async, "async"},
}};

constexpr std::array<std::pair<StepKind, std::string_view>, 7> kStepKinds{{
    {StepKind::join, "join"},
    {StepKind::rejoin, "rejoin"},
    {StepKind::app_s_key, "app-s-key"},
    {StepKind::home_ns, "home-ns"},
    {StepKind::raw, "raw"},
    {StepKind::uplink, "uplink"},
    {StepKind::expect_downlink, "expect_downlink"},
}};

}  // namespace

std::string_view to_string(Capability capability) {
  for (const auto& [c, name] : kCapabilities) {
    if (c == capability) return name;
  }
  return "?";
}

std::optional<Capability> parse_capability(std::string_view text) {
  for (const auto& [c, name] : kCapabilities) {
    if (name == text) return c;
  }
  return std::nullopt;
}

std::string_view to_string(StepKind kind) {
  for (const auto& [k, name] : kStepKinds) {
    if (k == kind) return name;
  }
  return "?";
}

const DeviceNeed* Scenario::device(std::string_view name) const {
  for (const auto& d : devices) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

CheckInfo Scenario::check_info() const {
  CheckInfo info;
  info.id = id;
  info.level = level;
  info.title = title;
  info.spec = spec;
  return info;
}

namespace {

// How a value appears in "got ..." of a message: short, and never a whole object.
std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::string:
      return lorawan::quote_for_error(v.get_ref<const std::string&>());
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::null:
      return "null";
    case json::value_t::discarded:
      return "nothing";
    default:
      return v.dump();
  }
}

std::string in_quotes(std::string_view text) { return "\"" + std::string(text) + "\""; }

// "a", "b" or "c" (each quoted).
std::string one_of(std::initializer_list<std::string_view> words) {
  std::string out;
  std::size_t i = 0;
  for (auto w : words) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += in_quotes(w);
    ++i;
  }
  return out;
}

template <class Range>
std::string comma_list(const Range& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

std::string capability_names() {
  std::vector<std::string_view> names;
  for (const auto& [c, name] : kCapabilities) names.push_back(name);
  return comma_list(names);
}

std::string result_code_names() {
  std::vector<std::string_view> names;
  for (auto code : backend::all_result_codes()) {
    if (code != backend::ResultCode::success) names.push_back(backend::to_string(code));
  }
  return comma_list(names);
}

// Where in the input a value is, and how to complain about it. Every message starts with the
// source file and the scenario (its id once known), so a user with many files finds the line.
class Where {
 public:
  Where(std::string source, std::string scenario) : source_(std::move(source)), scenario_(std::move(scenario)) {}

  void set_scenario(std::string scenario) { scenario_ = std::move(scenario); }

  std::string prefix() const { return scenario_.empty() ? source_ + ": " : source_ + ": " + scenario_ + ": "; }

  // `path` is the field ("steps[2].DevNonce"), `message` what was expected and seen.
  [[noreturn]] void fail(std::string_view path, std::string_view message) const {
    if (path.empty()) throw ScenarioError(prefix() + std::string(message));
    throw ScenarioError(prefix() + std::string(path) + ": " + std::string(message));
  }
  [[noreturn]] void expected(std::string_view path, std::string_view what, const json& got) const {
    fail(path, "expected " + std::string(what) + ", got " + describe(got));
  }

  // Runs a value parser of the lorawan or backend layer, whose errors already name `path`
  // (they are given it as the field name), and puts the file and scenario in front.
  template <class F>
  auto wrap(F&& f) const {
    try {
      return f();
    } catch (const ScenarioError&) {
      throw;
    } catch (const lorawan::Error& e) {
      throw ScenarioError(prefix() + e.what());
    }
  }

 private:
  std::string source_;
  std::string scenario_;
};

std::string child(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}
std::string index(std::string_view path, std::size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

const std::string& get_string(const json& v, const Where& w, std::string_view path) {
  if (!v.is_string()) w.expected(path, "a string", v);
  return v.get_ref<const std::string&>();
}

bool get_bool(const json& v, const Where& w, std::string_view path) {
  if (!v.is_boolean()) w.expected(path, "true or false", v);
  return v.get<bool>();
}

std::int64_t get_int(const json& v, const Where& w, std::string_view path, std::int64_t lo, std::int64_t hi) {
  const std::string what = "an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi) || (lo > 0 && u < static_cast<std::uint64_t>(lo))) w.expected(path, what, v);
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i < lo || i > hi) w.expected(path, what, v);
    return i;
  }
  w.expected(path, what, v);
}

const json& get_object(const json& v, const Where& w, std::string_view path) {
  if (!v.is_object()) w.expected(path, "an object", v);
  return v;
}

const json& get_array(const json& v, const Where& w, std::string_view path) {
  if (!v.is_array()) w.expected(path, "an array", v);
  return v;
}

std::vector<std::string> get_field_names(const json& v, const Where& w, std::string_view path) {
  std::vector<std::string> out;
  for (std::size_t i = 0; const auto& e : get_array(v, w, path)) {
    const std::string p = index(path, i++);
    if (!e.is_string() || e.get_ref<const std::string&>().empty()) w.expected(p, "a JSON field name", e);
    out.push_back(e.get<std::string>());
  }
  return out;
}

// A typo in a field name must not be silently ignored: every key of `object` is one of `known`.
void check_keys(const json& object, const Where& w, std::string_view path,
                std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      w.fail(child(path, key), "unknown field; expected one of " + comma_list(known));
    }
  }
}

// A result code as scenario files write it: the spec spelling, or "UnknownReceiver" (the correct
// English of the code the spec table misspells, which ChirpStack and TTS accept too).
std::optional<backend::ResultCode> parse_code(std::string_view text) {
  if (auto code = backend::parse_result_code(text)) return code;
  if (auto m = backend::match_result_code(text); m && m->spelling == backend::ResultCodeSpelling::alternative) {
    return m->code;
  }
  return std::nullopt;
}

// " (did you mean \"MICFailed\"?)" for a code in the wrong letter case or a known typo.
std::string code_hint(std::string_view text) {
  if (auto m = backend::match_result_code(text)) return " (did you mean \"" + std::string(backend::to_string(m->code)) + "\"?)";
  return "";
}

backend::ResultCode get_code(const json& v, const Where& w, std::string_view path) {
  if (v.is_string()) {
    const auto& text = v.get_ref<const std::string&>();
    if (auto code = parse_code(text)) return *code;
    w.fail(path, "expected a TS002 result code (Success, " + result_code_names() + "), got " + describe(v) +
                     code_hint(text));
  }
  w.expected(path, "a TS002 result code", v);
}

std::vector<backend::ResultCode> get_codes(const json& v, const Where& w, std::string_view path) {
  if (!v.is_array() || v.empty()) w.expected(path, "a non-empty array of result codes", v);
  std::vector<backend::ResultCode> out;
  for (std::size_t i = 0; const auto& e : v) out.push_back(get_code(e, w, index(path, i++)));
  return out;
}

bool contains(const std::vector<backend::ResultCode>& codes, backend::ResultCode code) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

// "Success", "failure" or one result code.
Expectation parse_expect_word(const json& v, const Where& w, std::string_view path) {
  Expectation e;
  const auto& text = v.get_ref<const std::string&>();
  if (text == "Success") {
    e.kind = Expectation::success;
  } else if (text == "failure") {
    e.kind = Expectation::failure;
  } else if (auto code = parse_code(text)) {
    e.kind = Expectation::one_of;
    e.codes.push_back(*code);
  } else {
    w.fail(path, "expected \"Success\", \"failure\" or a TS002 result code (" + result_code_names() + "), got " +
                     describe(v) + code_hint(text));
  }
  return e;
}

Expectation parse_expect(const json& v, const Where& w, std::string_view path) {
  if (v.is_string()) return parse_expect_word(v, w, path);
  if (!v.is_object()) {
    w.expected(path, "\"Success\", \"failure\", a result code or an object {\"result\": ..., \"prefer\": [codes], "
               "\"http_status\": N}", v);
  }
  check_keys(v, w, path, {"result", "prefer", "http_status"});
  const auto result = v.find("result");
  if (result == v.end()) w.fail(child(path, "result"), "missing; expected \"Success\", \"failure\", a result code or a list of codes");
  Expectation e;
  const std::string result_path = child(path, "result");
  if (result->is_string()) {
    e = parse_expect_word(*result, w, result_path);
  } else if (result->is_array()) {
    e.kind = Expectation::one_of;
    e.codes = get_codes(*result, w, result_path);
  } else {
    w.expected(result_path, "\"Success\", \"failure\", a result code or a list of codes", *result);
  }
  if (const auto prefer = v.find("prefer"); prefer != v.end()) {
    const std::string prefer_path = child(path, "prefer");
    e.prefer = get_codes(*prefer, w, prefer_path);
    // A preference outside what the step accepts could never be met: the file is inconsistent.
    for (std::size_t i = 0; i < e.prefer.size(); ++i) {
      const auto code = e.prefer[i];
      const bool accepted = e.kind == Expectation::success   ? code == backend::ResultCode::success
                            : e.kind == Expectation::failure ? code != backend::ResultCode::success
                                                             : contains(e.codes, code);
      if (!accepted) {
        w.fail(index(prefer_path, i), "\"" + std::string(backend::to_string(code)) +
                                          "\" is not one of the results \"result\" accepts");
      }
    }
  }
  if (const auto status = v.find("http_status"); status != v.end()) {
    e.http_status = static_cast<int>(get_int(*status, w, child(path, "http_status"), 100, 599));
  }
  return e;
}

DevNonceChoice parse_dev_nonce(const json& v, const Where& w, std::string_view path) {
  DevNonceChoice c;
  const auto fail = [&] { w.expected(path, "\"next\", \"previous\", \"lower\", \"ahead\" or a number 0..65535", v); };
  if (v.is_string()) {
    const auto& text = v.get_ref<const std::string&>();
    if (text == "next") {
      c.kind = DevNonceChoice::next;
    } else if (text == "previous") {
      c.kind = DevNonceChoice::previous;
    } else if (text == "lower") {
      c.kind = DevNonceChoice::lower;
    } else if (text == "ahead") {
      c.kind = DevNonceChoice::ahead;
    } else {
      fail();
    }
    return c;
  }
  if (!v.is_number_integer() && !v.is_number_unsigned()) fail();
  if (v.is_number_unsigned() ? v.get<std::uint64_t>() > 65535 : (v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 65535)) {
    fail();
  }
  c.kind = DevNonceChoice::value;
  c.number = static_cast<std::uint16_t>(v.get<std::uint64_t>());
  return c;
}

// Hex as a scenario writes it: lower or upper case, with or without 0x.
lorawan::Bytes get_hex(const json& v, const Where& w, std::string_view path) {
  const auto& text = get_string(v, w, path);
  return w.wrap([&] { return lorawan::from_hex(lorawan::strip_hex_prefix(text), path); });
}

template <class T>
T get_fixed(const json& v, const Where& w, std::string_view path) {
  const auto& text = get_string(v, w, path);
  return w.wrap([&] { return T::parse(lorawan::strip_hex_prefix(text), path); });
}

void parse_phy_payload(const json& v, const Where& w, std::string_view path, Step& step) {
  const auto& text = get_string(v, w, path);
  if (text == "truncate") {
    step.phy_payload_change = PhyPayloadChange::truncate;
  } else if (text == "extend") {
    step.phy_payload_change = PhyPayloadChange::extend;
  } else if (text == "data-uplink") {
    step.phy_payload_change = PhyPayloadChange::data_uplink;
  } else {
    const std::string_view hex = lorawan::strip_hex_prefix(text);
    if (hex.empty() || !lorawan::is_hex(hex)) {
      w.expected(path, one_of({"truncate", "extend", "data-uplink"}) + " or the hex of a frame", v);
    }
    step.phy_payload = w.wrap([&] { return lorawan::from_hex(hex, path); });
    step.phy_payload_change = PhyPayloadChange::replace;
  }
}

// Which step kinds each field applies to: a field of another kind is an error, not ignored,
// because a scenario author who writes it expects it to have an effect.
using KindMask = unsigned;
constexpr KindMask bit(StepKind kind) { return 1u << static_cast<unsigned>(kind); }
constexpr KindMask kJoins = bit(StepKind::join) | bit(StepKind::rejoin);
constexpr KindMask kRequests = kJoins | bit(StepKind::app_s_key) | bit(StepKind::home_ns);
constexpr KindMask kAll = kRequests | bit(StepKind::raw);
constexpr KindMask kAir = bit(StepKind::uplink) | bit(StepKind::expect_downlink);

struct FieldRule {
  std::string_view name;
  KindMask kinds;
};
constexpr std::array<FieldRule, 34> kStepFields{{
    {"send", kAll | kAir},
    {"device", kAll | kAir},
    {"check", kAll | kAir},
    {"expect", kAll},
    {"DevNonce", bit(StepKind::join)},  // a rejoin carries the device's own RJcount
    {"RejoinType", bit(StepKind::rejoin)},
    {"MIC", kJoins},
    {"MACVersion", kJoins},
    {"OptNeg", kJoins},
    {"PHYPayload", kJoins},
    {"DevAddr", kJoins},
    {"DLSettings", kJoins},
    {"RxDelay", kJoins},
    {"CFList", kJoins},
    {"SessionKeyID", bit(StepKind::app_s_key)},
    {"ProtocolVersion", kRequests},
    {"SenderID", kRequests},
    {"ReceiverID", kRequests},
    {"SenderToken", kRequests},
    {"SenderNSID", kRequests},
    {"TransactionID", kRequests},
    {"VSExtension", kRequests},
    {"omit", kRequests},
    {"null", kRequests},
    {"set", kRequests},
    {"hex", kRequests},
    {"Content-Type", kAll},
    {"body", bit(StepKind::raw)},
    {"MessageType", bit(StepKind::raw)},
    {"FPort", bit(StepKind::uplink)},
    {"FRMPayload", bit(StepKind::uplink)},
    {"confirmed", bit(StepKind::uplink)},
    {"window", bit(StepKind::expect_downlink)},
    {"ack", bit(StepKind::expect_downlink)},
}};

void check_step_keys(const json& object, StepKind kind, const Where& w, std::string_view path) {
  for (const auto& item : object.items()) {
    const std::string& key = item.key();
    const auto rule = std::find_if(kStepFields.begin(), kStepFields.end(), [&](const FieldRule& r) { return r.name == key; });
    if (rule == kStepFields.end()) {
      std::vector<std::string_view> names;
      for (const auto& r : kStepFields) {
        if ((r.kinds & bit(kind)) != 0) names.push_back(r.name);
      }
      w.fail(child(path, key), "unknown field; a \"" + std::string(to_string(kind)) + "\" step takes " + comma_list(names));
    }
    if ((rule->kinds & bit(kind)) == 0) {
      std::vector<std::string> kinds;
      for (const auto& [k, name] : kStepKinds) {
        if ((rule->kinds & bit(k)) != 0) kinds.push_back(in_quotes(name));
      }
      w.fail(child(path, key), "only for \"send\": " + comma_list(kinds) + ", not \"" + std::string(to_string(kind)) + "\"");
    }
  }
}

// "\"join\", \"rejoin\", ... or \"expect_downlink\"".
std::string step_kind_names() {
  std::string out;
  for (std::size_t i = 0; i < kStepKinds.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == kStepKinds.size() ? " or " : ", ") + in_quotes(kStepKinds[i].second);
  }
  return out;
}

Step parse_step(const json& v, const Where& w, std::string_view path, const Scenario& scenario,
                const Catalog& catalog) {
  get_object(v, w, path);
  Step step;
  step.where = std::string(path);  // completed by the caller with the source

  const auto send = v.find("send");
  if (send == v.end()) w.fail(child(path, "send"), "missing; expected " + step_kind_names());
  {
    const auto& text = get_string(*send, w, child(path, "send"));
    const auto kind = std::find_if(kStepKinds.begin(), kStepKinds.end(), [&](const auto& k) { return k.second == text; });
    if (kind == kStepKinds.end()) {
      w.expected(child(path, "send"), step_kind_names(), *send);
    }
    step.kind = kind->first;
  }
  check_step_keys(v, step.kind, w, path);

  if (const auto d = v.find("device"); d != v.end()) {
    step.device = get_string(*d, w, child(path, "device"));
    if (scenario.device(step.device) == nullptr) {
      std::vector<std::string_view> names;
      for (const auto& dev : scenario.devices) names.push_back(dev.name);
      if (names.empty()) {
        w.fail(child(path, "device"), "got " + describe(*d) + ", but the scenario declares no \"devices\"");
      }
      w.expected(child(path, "device"), "one of the devices the scenario declares (" + comma_list(names) + ")", *d);
    }
  } else if (step.kind != StepKind::raw) {
    w.fail(child(path, "device"), "missing; a \"" + std::string(to_string(step.kind)) +
                                      "\" step names one of the scenario's \"devices\"");
  }

  step.check = scenario.id;
  if (const auto c = v.find("check"); c != v.end()) {
    const std::string cp = child(path, "check");
    step.check = get_string(*c, w, cp);
    if (step.check != scenario.id && catalog.find(step.check) == nullptr) {
      w.expected(cp, "a check id of the catalog (joincheck list prints them) or the scenario's own id " + in_quotes(scenario.id), *c);
    }
  }
  if (const auto e = v.find("expect"); e != v.end()) step.expect = parse_expect(*e, w, child(path, "expect"));

  for (const auto& [key, value] : v.items()) {
    const std::string p = child(path, key);
    if (key == "DevNonce") {
      step.dev_nonce = parse_dev_nonce(value, w, p);
    } else if (key == "RejoinType") {
      step.rejoin_type = static_cast<std::uint8_t>(get_int(value, w, p, 0, 2));
    } else if (key == "MIC") {
      if (!value.is_string() || value.get_ref<const std::string&>() != "corrupt") w.expected(p, "\"corrupt\"", value);
      step.corrupt_mic = true;
    } else if (key == "MACVersion") {
      // Any spelling: sending odd ones ("1.1.0", "1.0.0", "9.9") is what the step is for.
      step.mac_version = get_string(value, w, p);
    } else if (key == "OptNeg") {
      step.opt_neg = get_bool(value, w, p);
    } else if (key == "PHYPayload") {
      parse_phy_payload(value, w, p, step);
    } else if (key == "DevAddr") {
      step.dev_addr = get_fixed<lorawan::DevAddr>(value, w, p);
    } else if (key == "DLSettings") {
      const auto& text = get_string(value, w, p);
      step.dl_settings = w.wrap([&] { return lorawan::from_hex_exact(lorawan::strip_hex_prefix(text), 1, p); })[0];
    } else if (key == "RxDelay") {
      step.rx_delay = static_cast<std::uint8_t>(get_int(value, w, p, 0, 255));
    } else if (key == "CFList") {
      step.cf_list_set = true;
      if (!value.is_null()) step.cf_list = get_fixed<lorawan::CfList>(value, w, p);
    } else if (key == "SessionKeyID") {
      if (value.is_string() && value.get_ref<const std::string&>() == "last") {
        step.session_key_id.reset();
      } else if (value.is_string() && value.get_ref<const std::string&>() == "previous") {
        step.session_key_id.reset();
        step.previous_session = true;
      } else if (value.is_string()) {
        step.session_key_id = get_hex(value, w, p);
      } else {
        w.expected(p, "\"last\", \"previous\" or hex", value);
      }
    } else if (key == "ProtocolVersion") {
      // Any text: "2.0" tests the InvalidProtocolVersion answer.
      step.protocol_version = get_string(value, w, p);
    } else if (key == "SenderID") {
      step.sender_id = get_string(value, w, p);
    } else if (key == "ReceiverID") {
      step.receiver_id = get_string(value, w, p);
    } else if (key == "SenderToken") {
      step.sender_token = get_hex(value, w, p);
    } else if (key == "SenderNSID") {
      step.sender_ns_id_set = true;
      if (!value.is_null()) step.sender_ns_id = get_fixed<lorawan::Eui64>(value, w, p);
    } else if (key == "TransactionID") {
      step.transaction_id = static_cast<std::uint32_t>(get_int(value, w, p, 0, std::numeric_limits<std::uint32_t>::max()));
    } else if (key == "VSExtension") {
      step.vs_extension = get_object(value, w, p);
    } else if (key == "omit") {
      step.omit = get_field_names(value, w, p);
    } else if (key == "null") {
      step.null_fields = get_field_names(value, w, p);
    } else if (key == "set") {
      step.set = nlohmann::ordered_json(get_object(value, w, p));
    } else if (key == "hex") {
      const auto& text = get_string(value, w, p);
      if (text == "upper") {
        step.hex = Step::HexStyle::upper;
      } else if (text == "0x") {
        step.hex = Step::HexStyle::prefix_0x;
      } else {
        w.expected(p, one_of({"upper", "0x"}), value);
      }
    } else if (key == "Content-Type") {
      step.content_type = get_string(value, w, p);
    } else if (key == "body") {
      step.body = get_string(value, w, p);
    } else if (key == "MessageType") {
      const auto& text = get_string(value, w, p);
      const auto type = backend::parse_message_type(text);
      if (!type || !backend::is_request(*type)) {
        w.expected(p, "a request type (" + one_of({"JoinReq", "RejoinReq", "AppSKeyReq", "HomeNSReq"}) + ")", value);
      }
      step.raw_message_type = *type;
    }
  }
  for (const auto& [key, value] : v.items()) {
    const std::string p = child(path, key);
    if (key == "FPort") {
      step.fport = static_cast<std::uint8_t>(get_int(value, w, p, 1, 223));
    } else if (key == "FRMPayload") {
      step.frm_payload = get_hex(value, w, p);
    } else if (key == "confirmed") {
      step.confirmed = get_bool(value, w, p);
    } else if (key == "window") {
      const auto& text = get_string(value, w, p);
      if (text == "RX1") step.window = Step::Window::rx1;
      else if (text == "RX2") step.window = Step::Window::rx2;
      else if (text == "any") step.window = Step::Window::any;
      else w.expected(p, one_of({"RX1", "RX2", "any"}), value);
    } else if (key == "ack") {
      step.ack = get_bool(value, w, p);
    }
  }
  if (step.kind == StepKind::raw && !v.contains("body")) {
    w.fail(child(path, "body"), "missing; a \"raw\" step sends this text as the request body");
  }
  return step;
}

Scenario parse_scenario(const json& v, Where& w, std::string_view source, const Catalog& catalog) {
  get_object(v, w, "");
  Scenario s;
  s.source = std::string(source);

  const auto id = v.find("id");
  if (id == v.end()) w.fail("id", "missing; expected a check id such as \"devnonce/replay-1.0.4\"");
  s.id = get_string(*id, w, "id");
  if (!is_valid_check_id(s.id)) {
    w.expected("id", "a check id <group>/<name> in lower-case letters, digits, '.' and '-'", *id);
  }
  w.set_scenario("scenario " + in_quotes(s.id));
  check_keys(v, w, "", {"id", "title", "spec", "level", "requires", "devices", "steps"});

  const CheckInfo* known = catalog.find(s.id);
  s.custom = known == nullptr;
  std::optional<Level> level;
  if (const auto l = v.find("level"); l != v.end()) {
    level = parse_level(get_string(*l, w, "level"));
    if (!level) w.expected("level", one_of({"MUST", "SHOULD", "INFO"}), *l);
  }
  if (const auto t = v.find("title"); t != v.end()) {
    s.title = get_string(*t, w, "title");
    if (s.title.empty()) w.expected("title", "a one-line title", *t);
  }
  if (const auto sp = v.find("spec"); sp != v.end()) s.spec = get_string(*sp, w, "spec");
  if (known != nullptr) {
    // A catalog check keeps its level: a scenario cannot turn a MUST into a SHOULD.
    if (level && *level != known->level) {
      w.fail("level", "expected " + in_quotes(to_string(known->level)) + " (the catalog's level of " + in_quotes(s.id) +
                          "), got " + in_quotes(to_string(*level)));
    }
    s.level = known->level;
    if (!v.contains("title")) s.title = known->title;
    if (!v.contains("spec")) s.spec = known->spec;
  } else {
    if (!v.contains("title")) {
      w.fail("title", "missing; " + in_quotes(s.id) + " is not a catalog check, so the scenario declares a custom check "
                      "and needs a title (and a level)");
    }
    if (!level) {
      w.fail("level", "missing; " + in_quotes(s.id) + " is not a catalog check, so the scenario declares a custom check "
                      "and needs a level (\"MUST\", \"SHOULD\" or \"INFO\")");
    }
    s.level = *level;
  }

  if (const auto r = v.find("requires"); r != v.end()) {
    for (std::size_t i = 0; const auto& e : get_array(*r, w, "requires")) {
      const std::string p = index("requires", i++);
      const auto cap = e.is_string() ? parse_capability(e.get_ref<const std::string&>()) : std::nullopt;
      if (!cap) w.expected(p, "a capability (" + capability_names() + ")", e);
      if (std::find(s.requires_.begin(), s.requires_.end(), *cap) == s.requires_.end()) s.requires_.push_back(*cap);
    }
  }

  if (const auto d = v.find("devices"); d != v.end()) {
    for (const auto& [name, need] : get_object(*d, w, "devices").items()) {
      const std::string p = child("devices", name);
      if (name.empty()) w.fail("devices", "a device name is empty");
      get_object(need, w, p);
      check_keys(need, w, p, {"MACVersion", "unknown"});
      DeviceNeed dev;
      dev.name = name;
      if (const auto m = need.find("MACVersion"); m != need.end()) {
        const std::string mp = child(p, "MACVersion");
        const auto& text = get_string(*m, w, mp);
        if (text == "any") {
          dev.any_version = true;
        } else {
          dev.mac_version = w.wrap([&] { return lorawan::parse_mac_version_or_throw(text, mp); });
        }
      }
      if (const auto u = need.find("unknown"); u != need.end()) dev.unknown = get_bool(*u, w, child(p, "unknown"));
      if (dev.unknown && dev.any_version) {
        w.fail(child(p, "MACVersion"), "\"any\" is for devices of the fleet; an unknown device needs a MAC version");
      }
      s.devices.push_back(std::move(dev));
    }
  }

  const auto steps = v.find("steps");
  if (steps == v.end()) w.fail("steps", "missing; expected an array of steps");
  if (!steps->is_array() || steps->empty()) w.expected("steps", "a non-empty array of steps", *steps);
  for (std::size_t i = 0; i < steps->size(); ++i) {
    const std::string p = index("steps", i);
    Step step = parse_step((*steps)[i], w, p, s, catalog);
    step.where = std::string(source) + ": " + p;
    s.steps.push_back(std::move(step));
  }
  return s;
}

}  // namespace

std::vector<Scenario> scenarios_from_json(const nlohmann::json& json_value, std::string_view source,
                                          const Catalog& catalog) {
  std::vector<Scenario> out;
  Where top(std::string(source), "");
  const json* list = nullptr;
  if (json_value.is_array()) {
    list = &json_value;
  } else if (json_value.is_object() && json_value.contains("scenarios")) {
    check_keys(json_value, top, "", {"scenarios"});
    list = &json_value["scenarios"];
    if (!list->is_array()) top.expected("scenarios", "an array of scenarios", *list);
  } else if (json_value.is_object()) {
    Where w(std::string(source), "");
    out.push_back(parse_scenario(json_value, w, source, catalog));
  } else {
    top.expected("", "a scenario object, {\"scenarios\": [...]} or an array of scenarios", json_value);
  }
  if (list != nullptr) {
    if (list->empty()) top.fail("", "expected at least one scenario, got an empty list");
    for (std::size_t i = 0; i < list->size(); ++i) {
      Where w(std::string(source), index("scenarios", i));
      out.push_back(parse_scenario((*list)[i], w, source, catalog));
    }
  }
  // Two scenarios declaring the same custom check differently would make the catalog ambiguous.
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!out[i].custom) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (out[j].id == out[i].id && !(out[j].check_info() == out[i].check_info())) {
        Where w(std::string(source), "scenario " + in_quotes(out[i].id));
        w.fail("", "declares the custom check " + in_quotes(out[i].id) +
                       " with another title, level or spec than an earlier scenario of the same id");
      }
    }
  }
  return out;
}

std::vector<Scenario> parse_scenarios(std::string_view json_text, std::string_view source, const Catalog& catalog) {
  backend::ParsedJson parsed;
  try {
    parsed = backend::parse_json_with_duplicates(json_text);
  } catch (const json::parse_error& e) {
    // nlohmann's byte is 1-based and points at the character that broke the parse.
    const std::size_t byte = std::min<std::size_t>(e.byte == 0 ? 0 : e.byte - 1, json_text.size());
    const std::string_view before = json_text.substr(0, byte);
    const std::size_t line = static_cast<std::size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::size_t line_start = before.rfind('\n');
    const std::size_t column = line_start == std::string_view::npos ? byte + 1 : byte - line_start;
    // what(): "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ...".
    std::string detail = e.what();
    if (const auto at = detail.find("column "); at != std::string::npos) {
      if (const auto colon = detail.find(": ", at); colon != std::string::npos) detail.erase(0, colon + 2);
    }
    throw ScenarioError(std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) +
                        ": invalid JSON at byte " + std::to_string(byte) + ": " + detail);
  } catch (const json::exception& e) {
    throw ScenarioError(std::string(source) + ": invalid JSON: " + e.what());
  }
  if (!parsed.duplicates.empty()) {
    throw ScenarioError(std::string(source) + ": " + parsed.duplicates.front().path() +
                        ": the key appears twice in one object (only the last would count)");
  }
  return scenarios_from_json(parsed.value, source, catalog);
}

std::vector<Scenario> load_scenarios(const std::filesystem::path& file, const Catalog& catalog) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw ScenarioError(file.string() + ": cannot read the scenario file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ScenarioError(file.string() + ": cannot read the scenario file");
  return parse_scenarios(text.str(), file.string(), catalog);
}

const std::vector<Scenario>& builtin_suite() {
  static const std::vector<Scenario> suite = [] {
    std::vector<EmbeddedFile> files(embedded_scenario_files().begin(), embedded_scenario_files().end());
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::vector<Scenario> all;
    for (const auto& f : files) {
      // A broken built-in file is a bug of joincheck itself: parse_scenarios throws ScenarioError
      // naming the file, which the suite's test catches before a release.
      auto scenarios = parse_scenarios(f.contents, "scenarios/suite/" + std::string(f.name));
      std::move(scenarios.begin(), scenarios.end(), std::back_inserter(all));
    }
    return all;
  }();
  return suite;
}

std::vector<lorawan::MacVersion> suite_mac_versions() {
  std::set<lorawan::MacVersion> versions;
  for (const auto& sc : builtin_suite()) {
    for (const auto& need : sc.devices) {
      if (!need.unknown && !need.any_version) versions.insert(need.mac_version);
    }
  }
  return {versions.begin(), versions.end()};
}

}  // namespace joincheck::conformance
