#include "conformance/check.hpp"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "conformance/embedded.hpp"

namespace joincheck::conformance {

std::string_view to_string(Level level) {
  switch (level) {
    case Level::must:
      return "MUST";
    case Level::should:
      return "SHOULD";
    case Level::info:
      return "INFO";
  }
  return "?";
}

std::optional<Level> parse_level(std::string_view text) {
  std::string up(text);
  std::transform(up.begin(), up.end(), up.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (up == "MUST") return Level::must;
  if (up == "SHOULD") return Level::should;
  if (up == "INFO") return Level::info;
  return std::nullopt;
}

std::string_view CheckInfo::group() const {
  const auto slash = std::string_view(id).find('/');
  return slash == std::string_view::npos ? std::string_view(id) : std::string_view(id).substr(0, slash);
}

bool is_valid_check_id(std::string_view id) {
  const auto slash = id.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == id.size()) return false;
  if (id.find('/', slash + 1) != std::string_view::npos) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '/';
  });
}


// The checks the validator (conformance/validator.hpp) judges on every exchange, and the TLS
// checks (conformance/tls_checks.hpp), judged once per run. The checks a scenario judges are
// declared beside their scenario, in scenarios/suite/*.json (suite_checks()).
//
// Spec shorthand used below and in the suite: TS002 = LoRaWAN Backend Interfaces (1.0: 2017;
// 1.1: TS002-1.1.0, 2020), LoRaWAN x.y = the LoRaWAN link-layer specification of that version
// (1.0.4 = TS001-1.0.4). Every reference names its primary source first; an upstream source file
// ("owner/repo path") backs a fact about a real implementation; "docs/checks.md#<group>" is the
// project's own explanation (why the check exists, how Join Servers differ).
std::vector<CheckInfo> exchange_checks() {
  const Level M = Level::must, S = Level::should, I = Level::info;
  return {
      // HTTP transport
      {"http/status-200", M, "Every answer, failures included, comes with HTTP 200 (NSs do not parse non-2xx bodies)",
       "TS002 1.0 §22.1, §22.4; docs/checks.md#http"},
      {"http/content-type", M, "Answers are sent with Content-Type application/json", "TS002 1.0 §22.1; RFC 8259 §11"},
      {"http/json-answer", M, "The answer body is a TS002 JSON message", "TS002 1.0 §22.1, §22.3"},
      // Message header
      {"header/message-type", M, "MessageType is the answer type of the request (JoinReq -> JoinAns, ...)",
       "TS002 1.0 §22.1, Table 12"},
      {"header/transaction-id-echo", M, "The answer carries the request's TransactionID", "TS002 1.0 §22.1"},
      {"header/sender-id", M, "SenderID of the answer is the request's ReceiverID (JoinEUI for a JS)",
       "TS002 1.0 §22.1, Table 14"},
      {"header/receiver-id", M, "ReceiverID of the answer is the request's SenderID (the NS NetID)",
       "TS002 1.0 §22.1, Table 14"},
      {"header/protocol-version-echo", M, "The answer uses the request's ProtocolVersion", "TS002 1.0 §22.1; TS002 1.1 §23.1"},
      {"header/receiver-token-echo", M, "A SenderToken is echoed as ReceiverToken", "TS002 1.0 §22.1"},
      {"header/receiver-nsid-echo", M, "Under TS002 1.1 the request's SenderNSID is echoed as ReceiverNSID",
       "TS002 1.1 §23.1; TheThingsNetwork/lorawan-stack pkg/interop/messages.go; docs/checks.md#header"},
      // JSON encoding of answers
      {"encoding/json-types", M, "Every field has its TS002 JSON type (numbers as numbers, hex as strings)",
       "TS002 1.0 §22.3, Tables 14-16"},
      {"encoding/values", M, "Every value is valid: hex of the right length, known enumerations",
       "TS002 1.0 §22.3, Tables 14-16"},
      {"encoding/no-null", S, "Absent optional fields are omitted, never null", "TS002 1.0 §22.3; docs/checks.md#encoding"},
      {"encoding/no-duplicate-keys", S, "No JSON object has the same key twice", "RFC 8259 §4"},
      {"encoding/result-code-spelling", S, "ResultCode is spelled as in TS002 Table 24", "TS002 1.0 §22.4 Table 24"},
      {"encoding/result-code-version", S,
       "The ResultCode exists in the exchange's ProtocolVersion (FrameReplayed, MalformedMessage, NoAction are TS002 1.1)",
       "TS002 1.0 §22.4 Table 24; TS002 1.1 §23.5; docs/checks.md#result-codes"},
      // Answer content
      {"answer/result", M, "Every answer carries Result with a known ResultCode", "TS002 1.0 §22.3, §22.4"},
      {"answer/mandatory-fields", M,
       "A successful answer carries every field its MACVersion makes mandatory (PHYPayload, NwkSKey or the three 1.1 network keys)",
       "TS002 1.0 §8 step 4, §11.4.1 step 8, §22.2 Table 13; docs/checks.md#answer"},
      {"answer/failure-without-keys", M, "A failed answer carries no join-accept and no key", "TS002 1.0 §8 step 4, §22.2 Table 13; docs/checks.md#answer"},
      {"answer/app-s-key-or-session-key-id", M, "A successful JoinAns carries AppSKey, SessionKeyID or both",
       "TS002 1.0 §8 step 4"},
      {"answer/lifetime", S, "A successful JoinAns carries Lifetime (0 is allowed)", "TS002 1.0 §8 step 4, §22.3 Table 14; docs/checks.md#answer"},
      {"answer/session-key-id", S, "A successful JoinAns carries a SessionKeyID, so that the AS can fetch AppSKey",
       "TS002 1.0 §8 steps 4 and 8"},
      // The join-accept, as the device sees it
      {"accept/decrypts", M, "PHYPayload is a join-accept (MHDR 0x20, 17 or 33 bytes) that decrypts with the device's root key",
       "LoRaWAN 1.0.3 §6.2.5; LoRaWAN 1.1 §6.2.3"},
      {"accept/mic", M, "The join-accept MIC verifies (AppKey for 1.0.x, NwkKey with OptNeg=0, JSIntKey with OptNeg=1)",
       "LoRaWAN 1.0.3 §6.2.5; LoRaWAN 1.1 §6.2.3"},
      {"accept/net-id", M, "The join-accept carries the requesting NS's NetID (its SenderID)", "TS002 1.0 §8, §22.1 (SenderID); LoRaWAN 1.0.3 §6.2.5; docs/checks.md#accept"},
      {"accept/dev-addr", M, "The join-accept carries the JoinReq's DevAddr", "TS002 1.0 §8 step 3"},
      {"accept/dl-settings", M, "The join-accept carries the JoinReq's DLSettings unchanged", "TS002 1.0 §8 step 3; docs/checks.md#accept"},
      {"accept/rx-delay", M, "The join-accept carries the JoinReq's RxDelay", "TS002 1.0 §8 step 3"},
      {"accept/cflist", M, "The join-accept carries the JoinReq's CFList byte for byte, and none when none was sent",
       "TS002 1.0 §8 step 3; docs/checks.md#accept"},
      // Session keys
      {"keys/nwk-s-key-1.0", M, "LoRaWAN 1.0.0-1.0.3: NwkSKey equals the device's own derivation", "LoRaWAN 1.0.3 §6.2.5"},
      {"keys/nwk-s-key-1.0.4", M, "LoRaWAN 1.0.4: NwkSKey equals the device's own derivation", "LoRaWAN 1.0.4 §6.2.6"},
      {"keys/network-keys-1.1", M, "LoRaWAN 1.1 (OptNeg=1): FNwkSIntKey, SNwkSIntKey and NwkSEncKey equal the device's derivation",
       "LoRaWAN 1.1 §6.2.3"},
      {"keys/network-keys-1.1-optneg-0", M,
       "A LoRaWAN 1.1 device served as 1.0.x (OptNeg=0): the network session key equals the device's NwkKey-based derivation",
       "LoRaWAN 1.1 §6.2.3"},
      {"keys/rejoin-session-keys", M,
       "After a rejoin the session keys equal the device's derivation: the 1.1 formulas (JoinEUI, OptNeg=1) with RJcount0/RJcount1 in place of DevNonce",
       "LoRaWAN 1.1 §6.2.4.4, §6.2.3; docs/checks.md#rejoin"},
      {"keys/app-s-key", M, "AppSKey, once unwrapped, equals the device's own derivation", "LoRaWAN 1.0.3 §6.2.5; LoRaWAN 1.1 §6.2.3"},
      // Key envelopes
      {"kek/known-label", M, "A wrapped key's KEKLabel is one the NS shares with the JS (ChirpStack fails the join otherwise)",
       "TS002 1.0 §21; chirpstack/chirpstack chirpstack/src/backend/keywrap.rs; docs/checks.md#kek"},
      {"kek/unwrap", M, "A wrapped key unwraps under its KEK (RFC 3394 integrity check) to a 16-byte key",
       "TS002 1.0 §21; RFC 3394 §2.2.3"},
      {"kek/network-keys-wrapped", S, "When the NS shares a KEK with the JS, the network session keys come wrapped with it",
       "TS002 1.0 §21; docs/checks.md#kek"},
      {"kek/app-s-key-wrapped", I, "AppSKey passing through the NS is wrapped with a JS-AS key", "TS002 1.0 §8 step 4"},
      // JoinNonce
      {"joinnonce/increases", M, "LoRaWAN 1.0.4 and 1.1: every join-accept's JoinNonce is greater than the device's previous one",
       "LoRaWAN 1.0.4 §6.2.6; LoRaWAN 1.1 §6.2.3; docs/checks.md#joinnonce"},
      {"joinnonce/not-repeated", S, "LoRaWAN 1.0.0-1.0.3: a device never gets the same JoinNonce (AppNonce) twice",
       "LoRaWAN 1.0.3 §6.2.5"},
      // Asynchronous answers
      {"async/acknowledgement", M, "An async request is acknowledged with a 2xx HTTP response", "TS002 1.0 §22.1; chirpstack/chirpstack backend/src/lib.rs; docs/checks.md#async"},
      {"async/answer-in-time", M, "The async answer is POSTed to the NS within the deadline", "TS002 1.0 §22.1; docs/checks.md#async"},
      {"async/transaction-id", M, "The async answer carries the request's TransactionID (else the NS discards it)",
       "TS002 1.0 §22.1"},
      {"async/ack-body-empty", I, "The acknowledgement of an async request has no body", "TS002 1.0 §22.1; chirpstack/chirpstack chirpstack/src/api/backend/mod.rs; docs/checks.md#async"},
      // TLS (once per run against an https:// target; conformance/tls_checks.hpp)
      {"tls/server-chain", M, "The JS's certificate chain verifies against the NS's CA (ca_cert, or the system roots)",
       "TS002 1.0 §3, §20; RFC 5280 §6; docs/checks.md#tls"},
      {"tls/server-hostname", M, "The JS's certificate names the host of the URL the NS connects to",
       "RFC 9110 §4.3.4; RFC 6125 §6"},
      {"tls/server-validity", M, "The JS's certificate is within its validity period (a warning within 30 days of expiry)",
       "RFC 5280 §4.1.2.5"},
      {"tls/legacy-versions-refused", M, "TLS 1.0 and 1.1 handshakes are refused", "RFC 8996; docs/checks.md#tls"},
      {"tls/negotiated", I, "The negotiated TLS version (1.2 or newer) and cipher, for the record", "RFC 8446; RFC 5246"},
      {"tls/client-cert-accepted", M, "The NS's own client certificate (tls_cert) is accepted",
       "TS002 1.0 §20; docs/checks.md#tls"},
      {"tls/client-cert-required", M, "A JS that requires client authentication refuses a client without a certificate",
       "TS002 1.0 §3, §20; docs/checks.md#tls"},
      {"tls/unknown-client-ca", M, "A client certificate from a CA the JS does not trust is refused",
       "TS002 1.0 §20; RFC 5280 §6; docs/checks.md#tls"},
      {"tls/expired-client-cert", M, "An expired client certificate is refused", "RFC 5280 §6.1.3; TS002 1.0 §20"},
      {"tls/client-cert-net-id", M,
       "A client certificate of another NetID is refused (failed handshake, or UnknownSender)",
       "TS002 1.0 §20, §22.4; TheThingsNetwork/lorawan-stack pkg/interop/server_authn_mtls.go (a client CA per NetID); docs/checks.md#tls"},
      // Timing
      {"timing/deadline", M, "Every answer arrives within the NS's deadline (ChirpStack: 5 s)",
       "TS002 1.0 §8 steps 3-5; chirpstack/chirpstack backend/src/lib.rs (its 5 s HTTP timeout); docs/checks.md#timing"},
  };
}


bool profile_may_excuse(std::string_view id) {
  // The join-accept the device must open and the session keys it must share with the network:
  // when one of these is wrong the device cannot talk after the join or rejoin, whatever the
  // Join Server is. That is a failure under every profile, never a known quirk.
  static constexpr std::string_view kDeviceCannotTalk[] = {
      "accept/decrypts",    "accept/mic",          "keys/nwk-s-key-1.0",
      "keys/nwk-s-key-1.0.4", "keys/network-keys-1.1", "keys/network-keys-1.1-optneg-0",
      "keys/rejoin-session-keys", "keys/app-s-key",
  };
  return std::find(std::begin(kDeviceCannotTalk), std::end(kDeviceCannotTalk), id) == std::end(kDeviceCannotTalk);
}

std::vector<CheckInfo> suite_checks() {
  std::vector<CheckInfo> out;
  for (const EmbeddedFile& file : embedded_scenario_files()) {
    const auto doc = nlohmann::json::parse(file.contents);  // compiled in: tests prove it parses
    for (const auto& sc : doc.at("scenarios")) {
      const auto level = parse_level(sc.at("level").get<std::string>());
      if (!level) throw std::logic_error("scenarios/suite/" + std::string(file.name) + ": bad level of " + sc.dump());
      out.push_back(CheckInfo{sc.at("id").get<std::string>(), *level, sc.at("title").get<std::string>(),
                              sc.at("spec").get<std::string>()});
    }
  }
  return out;
}

namespace {

// The order of the groups in the catalog, so reports and `joincheck list` read from the
// transport to the over-the-air path whatever file a check is declared in.
constexpr std::string_view kGroupOrder[] = {
    "http",     "header",   "encoding", "answer",  "accept",  "keys",   "kek",   "joinnonce", "join", "macversion",
    "devnonce", "protocol", "malformed", "hygiene", "appskey", "homens", "rejoin", "async",   "tls",  "timing",
    "air",
};

std::size_t group_rank(std::string_view group) {
  const auto it = std::find(std::begin(kGroupOrder), std::end(kGroupOrder), group);
  return static_cast<std::size_t>(it - std::begin(kGroupOrder));
}

}  // namespace

const Catalog& Catalog::builtin() {
  static const Catalog catalog = [] {
    std::vector<CheckInfo> checks = exchange_checks();
    for (auto& check : suite_checks()) checks.push_back(std::move(check));
    std::stable_sort(checks.begin(), checks.end(), [](const CheckInfo& a, const CheckInfo& b) {
      return group_rank(a.group()) < group_rank(b.group());
    });
    Catalog c;
    for (auto& check : checks) c.add(std::move(check));
    return c;
  }();
  return catalog;
}

const CheckInfo* Catalog::find(std::string_view id) const {
  for (const auto& c : checks_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

const CheckInfo& Catalog::at(std::string_view id) const {
  if (const auto* c = find(id)) return *c;
  throw std::out_of_range("no check with id \"" + std::string(id) + "\" (joincheck list prints them)");
}

void Catalog::add(CheckInfo check) {
  if (!is_valid_check_id(check.id)) {
    throw std::invalid_argument("check id \"" + check.id +
                                "\": expected <group>/<name> in lower-case letters, digits, '.' and '-'");
  }
  if (const auto* existing = find(check.id)) {
    if (*existing == check) return;
    throw std::invalid_argument("check id \"" + check.id + "\" is already taken by \"" + existing->title + "\"");
  }
  checks_.push_back(std::move(check));
}

std::vector<std::string> Catalog::select(std::string_view selector) const {
  std::vector<std::string> out;
  std::string_view group = selector;
  if (!group.empty() && group.back() == '/') group.remove_suffix(1);
  for (const auto& c : checks_) {
    if (c.id == selector || c.group() == group) out.push_back(c.id);
  }
  return out;
}

}  // namespace joincheck::conformance
