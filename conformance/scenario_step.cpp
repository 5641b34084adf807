// The steps of a scenario file (the "Step fields" of scenario.hpp): parse_step, which
// parse_scenario (scenario.cpp) calls for each element of "steps", and what it reads in turn:
// the step's kind ("send") and the fields that kind takes, its device, the check it judges, its
// expectation, then the fields of the request it sends (join or rejoin, header, edits after
// encoding, raw) or of an over-the-air step. The JSON getters are scenario_json.hpp's.
#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "conformance/scenario.hpp"
#include "conformance/scenario_json.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

using namespace scenario_json;

namespace {

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

std::string_view to_string(StepKind kind) {
  for (const auto& [k, name] : kStepKinds) {
    if (k == kind) return name;
  }
  return "?";
}

namespace {

std::string result_code_names() {
  std::vector<std::string_view> names;
  for (auto code : backend::all_result_codes()) {
    if (code != backend::ResultCode::success) names.push_back(backend::to_string(code));
  }
  return comma_list(names);
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

std::vector<std::string> get_field_names(const json& v, const Where& w, std::string_view path) {
  std::vector<std::string> out;
  for (std::size_t i = 0; const auto& e : get_array(v, w, path)) {
    const std::string p = index(path, i++);
    if (!e.is_string() || e.get_ref<const std::string&>().empty()) w.expected(p, "a JSON field name", e);
    out.push_back(e.get<std::string>());
  }
  return out;
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

// The step's kind: its "send".
StepKind parse_step_kind(const json& v, const Where& w, std::string_view path) {
  const auto send = v.find("send");
  if (send == v.end()) w.fail(child(path, "send"), "missing; expected " + step_kind_names());
  const auto& text = get_string(*send, w, child(path, "send"));
  const auto kind = std::find_if(kStepKinds.begin(), kStepKinds.end(), [&](const auto& k) { return k.second == text; });
  if (kind == kStepKinds.end()) {
    w.expected(child(path, "send"), step_kind_names(), *send);
  }
  return kind->first;
}

// The scenario device the step acts for: its "device", which only a raw step may leave out.
std::string parse_step_device(const json& v, const Where& w, std::string_view path, StepKind kind,
                              const Scenario& scenario) {
  const auto d = v.find("device");
  if (d == v.end()) {
    if (kind != StepKind::raw) {
      w.fail(child(path, "device"), "missing; a \"" + std::string(to_string(kind)) +
                                        "\" step names one of the scenario's \"devices\"");
    }
    return "";
  }
  const std::string& device = get_string(*d, w, child(path, "device"));
  if (scenario.device(device) == nullptr) {
    std::vector<std::string_view> names;
    for (const auto& dev : scenario.devices) names.push_back(dev.name);
    if (names.empty()) {
      w.fail(child(path, "device"), "got " + describe(*d) + ", but the scenario declares no \"devices\"");
    }
    w.expected(child(path, "device"), "one of the devices the scenario declares (" + comma_list(names) + ")", *d);
  }
  return device;
}

// The check the step's expectation judges: its "check", or the scenario's own id.
std::string parse_step_check(const json& v, const Where& w, std::string_view path, const Scenario& scenario,
                             const Catalog& catalog) {
  const auto c = v.find("check");
  if (c == v.end()) return scenario.id;
  const std::string cp = child(path, "check");
  const std::string& check = get_string(*c, w, cp);
  if (check != scenario.id && catalog.find(check) == nullptr) {
    w.expected(cp, "a check id of the catalog (joincheck list prints them) or the scenario's own id " + in_quotes(scenario.id), *c);
  }
  return check;
}

// A field of the join or rejoin request, or of the answer it asks for; false for another key.
bool parse_join_field(std::string_view key, const json& value, const Where& w, const std::string& p, Step& step) {
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
  } else {
    return false;
  }
  return true;
}

// The SessionKeyID of an app-s-key step: "last", "previous" or hex.
void parse_session_key_id(const json& value, const Where& w, const std::string& p, Step& step) {
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
}

// A field of the request's header, or the SessionKeyID of an app-s-key step; false for another key.
bool parse_header_field(std::string_view key, const json& value, const Where& w, const std::string& p, Step& step) {
  if (key == "SessionKeyID") {
    parse_session_key_id(value, w, p, step);
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
  } else {
    return false;
  }
  return true;
}

// The "hex" edit: how every hex value is written, "upper" or "0x".
Step::HexStyle parse_hex_style(const json& value, const Where& w, const std::string& p) {
  const auto& text = get_string(value, w, p);
  if (text == "upper") return Step::HexStyle::upper;
  if (text == "0x") return Step::HexStyle::prefix_0x;
  w.expected(p, one_of({"upper", "0x"}), value);
}

// An edit of the encoded request ("after encoding"), or its HTTP Content-Type; false for another key.
bool parse_edit_field(std::string_view key, const json& value, const Where& w, const std::string& p, Step& step) {
  if (key == "omit") {
    step.omit = get_field_names(value, w, p);
  } else if (key == "null") {
    step.null_fields = get_field_names(value, w, p);
  } else if (key == "set") {
    step.set = nlohmann::ordered_json(get_object(value, w, p));
  } else if (key == "hex") {
    step.hex = parse_hex_style(value, w, p);
  } else if (key == "Content-Type") {
    step.content_type = get_string(value, w, p);
  } else {
    return false;
  }
  return true;
}

// A field of a raw step: the body sent as written, and the MessageType of its path; false for another key.
bool parse_raw_field(std::string_view key, const json& value, const Where& w, const std::string& p, Step& step) {
  if (key == "body") {
    step.body = get_string(value, w, p);
  } else if (key == "MessageType") {
    const auto& text = get_string(value, w, p);
    const auto type = backend::parse_message_type(text);
    if (!type || !backend::is_request(*type)) {
      w.expected(p, "a request type (" + one_of({"JoinReq", "RejoinReq", "AppSKeyReq", "HomeNSReq"}) + ")", value);
    }
    step.raw_message_type = *type;
  } else {
    return false;
  }
  return true;
}

// What a request step changes in the request it sends, key after key in the object's order (so
// that of two wrong fields the first is reported); the other keys are left alone.
void parse_request_fields(const json& v, const Where& w, std::string_view path, Step& step) {
  for (const auto& [key, value] : v.items()) {
    const std::string p = child(path, key);
    if (!parse_join_field(key, value, w, p, step) && !parse_header_field(key, value, w, p, step) &&
        !parse_edit_field(key, value, w, p, step)) {
      parse_raw_field(key, value, w, p, step);
    }
  }
}

// The fields of the over-the-air steps: the uplink's frame, the downlink's window and ack.
void parse_air_fields(const json& v, const Where& w, std::string_view path, Step& step) {
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
}

}  // namespace

Step scenario_json::parse_step(const json& v, const Where& w, std::string_view path, const Scenario& scenario,
                               const Catalog& catalog) {
  get_object(v, w, path);
  Step step;
  step.where = std::string(path);  // completed by the caller with the source
  step.kind = parse_step_kind(v, w, path);
  check_step_keys(v, step.kind, w, path);
  step.device = parse_step_device(v, w, path, step.kind, scenario);
  step.check = parse_step_check(v, w, path, scenario, catalog);
  if (const auto e = v.find("expect"); e != v.end()) step.expect = parse_expect(*e, w, child(path, "expect"));
  parse_request_fields(v, w, path, step);
  parse_air_fields(v, w, path, step);
  if (step.kind == StepKind::raw && !v.contains("body")) {
    w.fail(child(path, "body"), "missing; a \"raw\" step sends this text as the request body");
  }
  return step;
}

}  // namespace joincheck::conformance
