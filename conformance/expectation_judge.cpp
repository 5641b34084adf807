// The expectation judge: a step's expectation, and the content of a Success.
#include "conformance/expectation_judge.hpp"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "lorawan/hex.hpp"

namespace joincheck::conformance {

using backend::ResultCode;

namespace {

std::string codes_text(const std::vector<ResultCode>& codes) {
  std::string s;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (i > 0) s += i + 1 == codes.size() ? " or " : ", ";
    s += backend::to_string(codes[i]);
  }
  return s;
}

bool contains(const std::vector<ResultCode>& codes, ResultCode c) {
  return std::find(codes.begin(), codes.end(), c) != codes.end();
}

// The evaluation fails, with what was found instead.
void fail_with(Evaluation& ev, std::string actual) {
  ev.verdict = Verdict::fail;
  ev.actual = std::move(actual);
}

// What an expectation asks for, in words.
std::string expected_text(const Expectation& e) {
  std::string expected;
  switch (e.kind) {
    case Expectation::success:
      expected = "Result Success";
      break;
    case Expectation::failure:
      expected = "a failure: a Result other than Success, without PHYPayload";
      break;
    case Expectation::one_of:
      expected = "Result " + codes_text(e.codes);
      break;
  }
  if (!e.prefer.empty()) expected += " (preferably " + codes_text(e.prefer) + ")";
  if (e.http_status) expected += " with HTTP " + std::to_string(*e.http_status);
  return expected;
}

// The AppSKeyAns of a Success: the AppSKey the device derived in the join that issued the
// SessionKeyID asked for.
void judge_app_s_key_ans(const Step& step, const StepRequest& request, const DeviceState& ds,
                         const backend::AppSKeyAns& ans, const Validation& v, bool reveal_keys, Evaluation& ev) {
  const lorawan::Bytes& asked = request.session_key_id;
  auto want = ds.app_s_keys.find(asked);
  if (!ans.dev_eui || *ans.dev_eui != ds.device->dev_eui()) {
    return fail_with(ev, "DevEUI " + (ans.dev_eui ? ans.dev_eui->hex() : std::string("absent")) + " instead of " +
                ds.device->dev_eui().hex());
  }
  // One SessionKeyID for two sessions: the AS cannot ask for the older AppSKey.
  if (step.previous_session && ds.previous_session_key_id == ds.last_session_key_id) {
    return fail_with(ev, "the JS gave the last two joins of the device the same SessionKeyID " + lorawan::to_hex(asked));
  }
  if (ans.session_key_id && *ans.session_key_id != asked) {
    return fail_with(ev, "SessionKeyID " + lorawan::to_hex(*ans.session_key_id) + " instead of " + lorawan::to_hex(asked));
  }
  if (!v.answer.app_s_key) {
    if (v.answer.app_s_key_problem.empty()) return fail_with(ev, "Success without an AppSKey");
    ev.verdict = Verdict::skip;
    ev.reason = v.answer.app_s_key_problem;
    return;
  }
  if (want == ds.app_s_keys.end()) {
    ev.verdict = Verdict::skip;
    ev.reason = "the AppSKey of SessionKeyID " + lorawan::to_hex(asked) + " is unknown: the device did not accept that join";
    return;
  }
  const bool same = want->second.matches(*v.answer.app_s_key);
  ev.expected = "AppSKey of the join that issued SessionKeyID " + lorawan::to_hex(asked) + " " +
                show_device_key(want->second, reveal_keys);
  ev.actual = same ? "the same AppSKey" : "another AppSKey: " + show_key(*v.answer.app_s_key, reveal_keys);
  if (!same) ev.verdict = Verdict::fail;
}

// What is wrong with the downlink that answered the device's last uplink; empty: nothing.
std::vector<std::string> downlink_problems(const Step& step, const DeviceState::AirAnswer& air, bool want_ack) {
  std::vector<std::string> wrong;
  if (!air.fit) {
    wrong.push_back(air.problem.empty() ? "no downlink" : air.problem);
    return wrong;
  }
  if (air.fit->window == sim::RxWindow::none) wrong.push_back(air.fit->reason());
  if (step.window == Step::Window::rx1 && air.fit->window == sim::RxWindow::rx2) wrong.push_back("in RX2, not RX1");
  if (step.window == Step::Window::rx2 && air.fit->window == sim::RxWindow::rx1) wrong.push_back("in RX1, not RX2");
  if (air.join && !air.problem.empty()) wrong.push_back(air.problem);
  if (!air.join && want_ack) {
    if (!air.taken) wrong.push_back("the device did not take a downlink");
    else if (!air.taken->taken()) wrong.push_back("the device refused it: " + air.taken->reason);
    else if (!air.taken->ack) wrong.push_back("no ACK bit (FCtrl.ACK)");
  }
  return wrong;
}

}  // namespace

Evaluation judge_expectation(const Expectation& e, const sim::Exchange& ex, const AnswerSummary& a) {
  Evaluation ev;
  ev.expected = expected_text(e);
  if (!a.answered) {
    ev.actual = a.result_text;
    // A refused or reset connection: the harness could not judge; a timeout is the target's fault.
    ev.verdict = (!ex.timed_out && ex.http_status == 0) ? Verdict::error : Verdict::fail;
    if (ev.verdict == Verdict::error) ev.reason = "no answer to judge: " + a.result_text;
    return ev;
  }
  ev.actual = "Result " + a.result_text + (a.has_phy_payload ? ", with PHYPayload" : "");
  if (ex.http_status != 0) ev.actual += ", HTTP " + std::to_string(ex.http_status);
  if (e.http_status && ex.http_status != *e.http_status) {
    ev.verdict = Verdict::fail;
    return ev;
  }
  if (!a.result) {
    ev.verdict = Verdict::fail;
    return ev;
  }
  const ResultCode code = *a.result;
  bool ok = false;
  switch (e.kind) {
    case Expectation::success:
      ok = code == ResultCode::success;
      break;
    case Expectation::failure:
      ok = code != ResultCode::success && !a.has_phy_payload;
      break;
    case Expectation::one_of:
      ok = contains(e.codes, code) && (code == ResultCode::success || !a.has_phy_payload);
      break;
  }
  ev.verdict = ok ? Verdict::pass : Verdict::fail;
  if (ok && !e.prefer.empty() && !contains(e.prefer, code)) {
    ev.verdict = Verdict::warn;
    ev.reason = std::string(backend::to_string(code)) + " is accepted, but " + codes_text(e.prefer) + " is preferred";
  }
  return ev;
}

// A Success must also be a usable answer: the right message type, a 2xx (NSs do not read other
// bodies), a join-accept the device takes, and for AS and vNS requests the content they ask for.
void judge_success_content(const Step& step, const StepRequest& request, const DeviceState* ds, const Validation& v,
                           int http_status, bool reveal_keys, Evaluation& ev) {
  if (ev.verdict != Verdict::pass && ev.verdict != Verdict::warn) return;
  if (v.answer.result != ResultCode::success || v.answer.message == nullptr) return;
  const auto want_type = backend::answer_type_for(request.type);
  const auto got_type = backend::message_type_of(*v.answer.message);
  if (step.kind != StepKind::raw && want_type && got_type != *want_type) {
    return fail_with(ev, "Success in a " + std::string(backend::to_string(got_type)) + " instead of a " +
                std::string(backend::to_string(*want_type)));
  }
  if (http_status != 0 && (http_status < 200 || http_status >= 300)) {
    return fail_with(ev, "Success in an HTTP " + std::to_string(http_status) +
                " response, which NSs treat as a transport error (docs/checks.md#http)");
  }
  // Checks about the join itself (join/*, rejoin/*, macversion/*: a "1.1.0" processed as 1.0
  // gives an accept the device refuses) need the device to take it; the others (hex styles,
  // Content-Type, ProtocolVersion) are about the request being served, which a Success says.
  const std::string_view group = std::string_view(step.check).substr(0, step.check.find('/'));
  const bool about_the_join = group == "join" || group == "rejoin" || group == "macversion";
  if ((step.kind == StepKind::join || step.kind == StepKind::rejoin) && about_the_join && !request.sent.inconsistent &&
      ds != nullptr && !v.answer.device_accepted) {
    return fail_with(ev, "Success, but the device refused the join-accept: " +
                (v.answer.device_refusal.empty() ? std::string("no usable PHYPayload") : v.answer.device_refusal));
  }
  if (ds == nullptr) return;
  if (const auto* ans = std::get_if<backend::AppSKeyAns>(v.answer.message)) {
    judge_app_s_key_ans(step, request, *ds, *ans, v, reveal_keys, ev);
  } else if (const auto* hns = std::get_if<backend::HomeNSAns>(v.answer.message)) {
    const backend::Header& hh = hns->header;
    if (!hns->h_net_id) return fail_with(ev, "Success without HNetID");
    if (hh.protocol_version == backend::ProtocolVersion::v1_1 && !hh.hns_id) {
      return fail_with(ev, "TS002 1.1 HomeNSAns without HNSID");
    }
    ev.actual = "HNetID " + hns->h_net_id->hex() + (hh.hns_id ? ", HNSID " + hh.hns_id->hex() : "");
  }
}

Evaluation judge_downlink(const Step& step, const DeviceState& ds) {
  Evaluation ev;
  ev.expected = std::string("a downlink in ") +
                (step.window == Step::Window::rx1 ? "RX1" : step.window == Step::Window::rx2 ? "RX2" : "RX1 or RX2");
  if (!ds.last_air) {
    ev.verdict = Verdict::skip;
    ev.reason = "not applicable: device " + ds.device->dev_eui().hex() + " sent nothing over the air before this step";
    return ev;
  }
  const DeviceState::AirAnswer& air = *ds.last_air;
  const bool want_ack = step.ack.value_or(!air.join && air.confirmed);
  if (want_ack) ev.expected += " acknowledging the confirmed uplink with a MIC the device verifies";
  if (air.join) ev.expected += " carrying the JS's join-accept";
  const std::vector<std::string> wrong = downlink_problems(step, air, want_ack);
  ev.actual = air.fit ? air.downlink + (air.taken ? "; " + sim::to_string(*air.taken) : "") : "";
  if (wrong.empty()) {
    ev.verdict = Verdict::pass;
  } else {
    ev.verdict = Verdict::fail;
    std::string text;
    for (const auto& w : wrong) text += (text.empty() ? "" : "; ") + w;
    ev.actual = ev.actual.empty() ? text : ev.actual + ": " + text;
  }
  return ev;
}

}  // namespace joincheck::conformance
