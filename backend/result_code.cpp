#include "backend/result_code.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace joincheck::backend {
namespace {

constexpr std::array<std::pair<ResultCode, std::string_view>, 22> kSpellings{{
    {ResultCode::success, "Success"},
    {ResultCode::mic_failed, "MICFailed"},
    {ResultCode::join_req_failed, "JoinReqFailed"},
    {ResultCode::no_roaming_agreement, "NoRoamingAgreement"},
    {ResultCode::dev_roaming_disallowed, "DevRoamingDisallowed"},
    {ResultCode::roaming_act_disallowed, "RoamingActDisallowed"},
    {ResultCode::activation_disallowed, "ActivationDisallowed"},
    {ResultCode::unknown_dev_eui, "UnknownDevEUI"},
    {ResultCode::unknown_dev_addr, "UnknownDevAddr"},
    {ResultCode::unknown_sender, "UnknownSender"},
    {ResultCode::unknown_receiver, "UnkownReceiver"},
    {ResultCode::deferred, "Deferred"},
    {ResultCode::xmit_failed, "XmitFailed"},
    {ResultCode::invalid_fport, "InvalidFPort"},
    {ResultCode::invalid_protocol_version, "InvalidProtocolVersion"},
    {ResultCode::stale_device_profile, "StaleDeviceProfile"},
    {ResultCode::malformed_request, "MalformedRequest"},
    {ResultCode::frame_size_error, "FrameSizeError"},
    {ResultCode::other, "Other"},
    {ResultCode::no_action, "NoAction"},
    {ResultCode::frame_replayed, "FrameReplayed"},
    {ResultCode::malformed_message, "MalformedMessage"},
}};

constexpr auto kAllCodes = [] {
  std::array<ResultCode, kSpellings.size()> codes{};
  for (std::size_t i = 0; i < kSpellings.size(); ++i) codes[i] = kSpellings[i].first;
  return codes;
}();

// The correct English spelling of the code the spec table misspells.
constexpr std::string_view kUnknownReceiverEnglish = "UnknownReceiver";
// brocaar/lorawan backend.go defines RoamingActDisallowed = "RoamingActDisallowedA".
constexpr std::string_view kBrocaarRoamingActTypo = "RoamingActDisallowedA";

bool equal_ignoring_case(std::string_view a, std::string_view b) {
  const auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

std::span<const ResultCode> all_result_codes() { return kAllCodes; }

std::string_view to_string(ResultCode code) {
  for (const auto& [c, name] : kSpellings) {
    if (c == code) return name;
  }
  return "?";
}

std::optional<ResultCode> parse_result_code(std::string_view text) {
  for (const auto& [c, name] : kSpellings) {
    if (name == text) return c;
  }
  return std::nullopt;
}

std::optional<ResultCodeMatch> match_result_code(std::string_view text) {
  if (auto code = parse_result_code(text)) return ResultCodeMatch{*code, ResultCodeSpelling::exact};
  if (text == kUnknownReceiverEnglish) {
    return ResultCodeMatch{ResultCode::unknown_receiver, ResultCodeSpelling::alternative};
  }
  if (text == kBrocaarRoamingActTypo) {
    return ResultCodeMatch{ResultCode::roaming_act_disallowed, ResultCodeSpelling::misspelled};
  }
  for (const auto& [c, name] : kSpellings) {
    if (equal_ignoring_case(name, text)) return ResultCodeMatch{c, ResultCodeSpelling::misspelled};
  }
  if (equal_ignoring_case(kUnknownReceiverEnglish, text)) {
    return ResultCodeMatch{ResultCode::unknown_receiver, ResultCodeSpelling::misspelled};
  }
  return std::nullopt;
}

}  // namespace joincheck::backend
