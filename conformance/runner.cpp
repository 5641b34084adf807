#include "conformance/runner.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>

#include "conformance/expectation_judge.hpp"
#include "conformance/gateway_path.hpp"
#include "conformance/recorder.hpp"
#include "conformance/replay_hint.hpp"
#include "conformance/run_devices.hpp"
#include "conformance/step_request.hpp"
#include "conformance/tls_checks.hpp"
#include "conformance/validator.hpp"
#include "sim/network_server/ns_client.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::conformance {

namespace {

// The checks whose point an NS persona contradicts (sim/network_server/ns_persona.hpp), with the
// reason: a JS is not judged on what that NS never sends. A skip, never a pass.
std::map<std::string, std::string> persona_not_applicable(sim::NsPersona persona) {
  if (persona == sim::NsPersona::plain) return {};
  const std::string name(sim::to_string(persona));
  return {
      {"header/receiver-token-echo", name + " sends no SenderToken"},
      {"header/receiver-nsid-echo", name + " sends ProtocolVersion \"1.0\" only, with no SenderNSID"},
  };
}

// A step in words, for the label of its exchange in the trace.
std::string describe_step(const Step& step) {
  std::string s(to_string(step.kind));
  if (step.kind == StepKind::rejoin) s += " type " + std::to_string(step.rejoin_type);
  if (!step.device.empty()) s += " of " + step.device;
  switch (step.dev_nonce.kind) {
    case DevNonceChoice::previous:
      s += ", DevNonce previous";
      break;
    case DevNonceChoice::lower:
      s += ", DevNonce lower";
      break;
    case DevNonceChoice::ahead:
      s += ", DevNonce ahead";
      break;
    case DevNonceChoice::value:
      s += ", DevNonce " + std::to_string(step.dev_nonce.number);
      break;
    case DevNonceChoice::next:
      break;
  }
  if (step.corrupt_mic) s += ", MIC corrupted";
  if (step.mac_version) s += ", MACVersion \"" + *step.mac_version + "\"";
  if (step.protocol_version) s += ", ProtocolVersion \"" + *step.protocol_version + "\"";
  return s;
}

// One run of the suite: the selected scenarios in order, each step's request sent (straight to
// the JS or over the air), each exchange validated, each step's expectation judged, and every
// evaluation recorded; then one result per selected check.
class Run {
 public:
  explicit Run(const RunOptions& options)
      : options_(options),
        request_builder_(options.target, options.seed),
        devices_(options.fleet, options.seed, options.device_counters),
        gateway_(options) {}

  // Runs the selected checks' scenarios and returns the report.
  RunReport execute();

 private:
  // What a step leaves for the rest of its scenario.
  struct StepOutcome {
    bool stop = false;  // the rest of the scenario cannot run
    std::string why;
    // The verdict of the steps that cannot run: error when a step did not go as expected (a
    // check that was meant to be judged and was not is never a pass, DESIGN.md "Verdicts"),
    // skip only when a step does not apply to this target.
    Verdict rest = Verdict::error;
  };

  // The report's target, profile, ProtocolVersion and MAC versions.
  void describe_run();
  // The recorder of the selected checks `ids`, the validator's settings and the NS client.
  void set_up(const std::vector<std::string>& ids);
  // Notes which checks each scenario's steps judge. True when a check of `ids` is judged by no
  // step (such as the validator's): every scenario then runs, since any exchange may judge it.
  bool plan_scenarios(const std::vector<std::string>& ids);
  // The scenarios that judge a selected check, or all of them with `always_on_selected`; each
  // check's verdict is final after the last scenario that names it.
  void run_selected_scenarios(bool always_on_selected);
  // The final results of `ids`: `error` for those not judged when the run could not go on.
  void finish(const std::vector<std::string>& ids);

  void run_scenario(std::size_t index, const Scenario& sc);
  // Every step from `from_step` on gets `verdict` (skip: not applicable; error: the harness
  // could not judge, such as a device whose secure element fails).
  void skip_scenario(const Scenario& sc, const std::string& reason, std::size_t from_step = 0,
                     Verdict verdict = Verdict::skip);
  // A scenario with over-the-air steps, without --via-gateway: its own and its air/ checks skip.
  void skip_air_checks(const Scenario& sc);
  StepOutcome run_step(const Scenario& sc, const Step& step, const std::string& where);
  // A join, rejoin, app-s-key, home-ns or raw step whose request is built: sends it, has the
  // answer validated and judges the step's expectation.
  StepOutcome run_exchange_step(const Step& step, bool setup, DeviceState* ds, StepRequest& request,
                                const std::string& where);
  // Sends the request straight to the JS, or `over_the_air` through the gateway (then `receipt`
  // is the gateway's). nullopt when it did not reach the JS over the air: the step's check is
  // then `error`, and `out` stops the scenario.
  std::optional<sim::Exchange> send(const Step& step, DeviceState* ds, StepRequest& request, bool over_the_air,
                                    sim::UplinkReceipt& receipt, const std::string& where, StepOutcome& out);
  // The first exchange tells whether the target can be reached at all, and deadline misses in a
  // row stop the run (RunReport::stopped_early). False when the target cannot be reached.
  bool note_reachability(const sim::Exchange& ex, const Step& step, const std::string& where);
  // The validator's verdicts on the exchange, recorded with the exchange (its index in the
  // report: `ex_index`).
  Validation validate(const sim::Exchange& ex, const StepRequest& request, DeviceState* ds, const Step& step,
                      const std::string& where, std::size_t& ex_index);
  // What later steps need: the SessionKeyIDs of the device's accepted joins and the AppSKey the
  // device derived with each.
  static void remember_session(DeviceState* ds, const Validation& v);
  // The step's own expectation; a setup step that fails it stops the scenario.
  StepOutcome judge_step(const Step& step, bool setup, const StepRequest& request, const DeviceState* ds,
                         const sim::Exchange& ex, const Validation& v, std::size_t ex_index,
                         const std::string& where);
  // Over the air (RunOptions::via_gateway): an uplink step, and an expect_downlink step.
  StepOutcome run_uplink_step(const Scenario& sc, const Step& step, DeviceState& ds, const std::string& where);
  StepOutcome run_expect_downlink_step(const Scenario& sc, const Step& step, const DeviceState& ds,
                                       const std::string& where);
  void record_exchange(const std::string& label, const sim::Exchange& ex, const Validation& v);
  void emit_final(const std::string& id, const std::string& never_reason);
  std::string never_reason(const std::string& id) const;
  // RunOptions::cancelled, asked once more; once true, the run stops and says "interrupted".
  bool cancel_requested();
  // The tls/ group (conformance/tls_checks.hpp), before the scenarios, against https targets.
  void run_tls_checks();

  const RunOptions& options_;
  StepRequestBuilder request_builder_;
  std::unique_ptr<sim::NsClient> client_;
  std::unique_ptr<Recorder> recorder_;
  RunReport report_;
  ValidatorSettings validator_settings_;
  RunDevices devices_;
  // Over the air: joincheck's NS in front of the target and the gateway.
  GatewayPath gateway_;
  std::map<std::string, std::size_t> last_scenario_of_;  // step check -> last scenario naming it
  std::set<std::string> step_checks_;
  bool unreachable_ = false;
  bool interrupted_ = false;
  // Deadline misses in a row: a JS that misses the deadline again and again would make every
  // later exchange wait for it too (minutes for the suite); after kMaxMissedDeadlines the run
  // stops and says why (RunReport::stopped_early).
  static constexpr std::size_t kMaxMissedDeadlines = 3;
  std::size_t missed_deadlines_ = 0;
  bool stopped() const { return unreachable_ || !report_.stopped_early.empty(); }
  bool reached_ = false;  // an exchange got through: later transport errors are the target's
  std::size_t scenario_index_ = 0;
};

void Run::emit_final(const std::string& id, const std::string& reason) {
  if (!recorder_->selected(id) || recorder_->emitted(id)) return;
  recorder_->mark_emitted(id);
  if (options_.on_check) options_.on_check(recorder_->result(id, reason));
}

void Run::run_tls_checks() {
  TlsCheckInputs in;
  in.selected = [this](const std::string& id) { return recorder_->selected(id); };
  if (!options_.fleet.devices.empty()) in.join_eui = options_.fleet.devices.front().join_eui;
  in.names = target_setting_names(options_.target);
  in.reveal_keys = options_.reveal_keys;
  for (TlsJudgement& j : judge_tls(options_.target, in)) {
    if (j.exchange) {
      j.evaluation.exchange = report_.exchanges.size();
      report_.exchanges.push_back(std::move(*j.exchange));
    }
    recorder_->record(j.check, std::move(j.evaluation));
    emit_final(j.check, never_reason(j.check));
  }
}

bool Run::cancel_requested() {
  if (!interrupted_ && options_.cancelled && options_.cancelled()) {
    interrupted_ = true;
    report_.setup_error = "interrupted";
  }
  return interrupted_;
}

std::string Run::never_reason(const std::string& id) const {
  const auto persona_skips = persona_not_applicable(options_.target.ns.ns_like);
  if (auto it = persona_skips.find(id); it != persona_skips.end()) return it->second;
  if (!report_.setup_error.empty()) return "not judged: " + report_.setup_error;
  if (!report_.stopped_early.empty()) return "not judged: " + report_.stopped_early;
  const std::string group(std::string_view(id).substr(0, id.find('/')));
  if (group == "async" && !client_->async()) {
    return "the target answers synchronously; configure [async] in the target file to test asynchronous answers";
  }
  if (group == "tls" && !tls_checks_apply(options_.target)) return tls_not_applicable_reason(options_.target);
  if (id == "header/receiver-nsid-echo") return "no TS002 1.1 request was answered";
  if (id == "header/transaction-id-zero") return "no request with TransactionID 0 was answered";
  if (group == "kek" && options_.target.ns.keks.empty()) {
    return "the NS shares no KEK with the target ([[kek]] in the target file), and no answer carried a wrapped key";
  }
  if (id == "kek/network-keys-wrapped") return "the NS shares no KEK with the target ([[kek]] in the target file)";
  return "no exchange of this run applied to it";
}

RunReport Run::execute() {
  const auto t0 = std::chrono::steady_clock::now();
  describe_run();
  const auto ids = selected_checks(options_);
  set_up(ids);
  const bool always_on_selected = plan_scenarios(ids);
  if (report_.setup_error.empty() && options_.via_gateway) report_.setup_error = gateway_.start();
  if (report_.setup_error.empty()) run_tls_checks();
  if (report_.setup_error.empty()) run_selected_scenarios(always_on_selected);
  finish(ids);
  devices_.save_counters();
  report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return std::move(report_);
}

void Run::describe_run() {
  report_.started_at = iso8601_utc(std::chrono::system_clock::now());
  report_.target = options_.target_label.empty() ? options_.target.ns.url : options_.target_label;
  report_.profile = options_.profile.name;
  // A persona sends its own ProtocolVersion (sim::shape_header).
  backend::Header sent_header;
  sent_header.protocol_version = options_.target.ns.protocol_version;
  sim::shape_header(options_.target.ns.ns_like, sent_header);
  report_.protocol_version = std::string(backend::to_string(sent_header.protocol_version));
  std::set<std::string> versions;
  for (const auto& d : options_.fleet.devices) versions.insert(std::string(lorawan::to_string(d.mac_version)));
  report_.mac_versions.assign(versions.begin(), versions.end());
}

void Run::set_up(const std::vector<std::string>& ids) {
  recorder_ = std::make_unique<Recorder>(options_.catalog, options_.profile, std::set<std::string>(ids.begin(), ids.end()));
  recorder_->set_not_applicable(persona_not_applicable(options_.target.ns.ns_like));

  const TargetConfig& target = options_.target;
  validator_settings_ = validator_settings_for(target, options_.reveal_keys);

  try {
    client_ = std::make_unique<sim::NsClient>(target.ns);
  } catch (const std::exception& e) {
    report_.setup_error = std::string("the NS client could not be set up: ") + e.what();
  }
}

bool Run::plan_scenarios(const std::vector<std::string>& ids) {
  for (std::size_t i = 0; i < options_.scenarios.size(); ++i) {
    for (const auto& step : options_.scenarios[i].steps) {
      step_checks_.insert(step.check);
      last_scenario_of_[step.check] = i;
    }
  }
  bool always_on_selected = false;
  for (const auto& id : ids) always_on_selected |= step_checks_.count(id) == 0;
  return always_on_selected;
}

void Run::run_selected_scenarios(bool always_on_selected) {
  for (std::size_t i = 0; i < options_.scenarios.size() && !stopped(); ++i) {
    if (cancel_requested()) break;
    const Scenario& sc = options_.scenarios[i];
    bool wanted = always_on_selected;
    for (const auto& step : sc.steps) wanted |= recorder_->selected(step.check);
    if (!wanted) continue;
    run_scenario(i, sc);
    if (stopped() || interrupted_) break;  // every check not judged yet becomes `error` in finish()
    for (const auto& step : sc.steps) {
      if (last_scenario_of_[step.check] == i) emit_final(step.check, never_reason(step.check));
    }
  }
}

void Run::finish(const std::vector<std::string>& ids) {
  const std::string not_judged = !report_.setup_error.empty() ? report_.setup_error : report_.stopped_early;
  if (!not_judged.empty()) {
    // Checks already judged (skipped for a missing device, say) keep their verdict.
    for (const auto& id : ids) {
      if (recorder_->evaluated(id)) continue;
      Evaluation e;
      e.verdict = Verdict::error;
      e.reason = not_judged;
      recorder_->record(id, e);
    }
  }
  for (const auto& id : ids) emit_final(id, never_reason(id));
  for (const auto& id : ids) report_.results.push_back(recorder_->result(id, never_reason(id)));
}

void Run::skip_scenario(const Scenario& sc, const std::string& reason, std::size_t from_step,
                        Verdict verdict) {
  for (std::size_t i = from_step; i < sc.steps.size(); ++i) {
    Evaluation e;
    e.verdict = verdict;
    e.reason = reason;
    e.scenario = sc.id + " step " + std::to_string(i + 1);
    recorder_->record(sc.steps[i].check, e);
  }
}

void Run::skip_air_checks(const Scenario& sc) {
  // Only its own and the air/ checks are the scenario's to skip: its setup joins judge checks
  // that other scenarios judge directly.
  for (std::size_t i = 0; i < sc.steps.size(); ++i) {
    if (sc.steps[i].check.rfind("air/", 0) != 0 && sc.steps[i].check != sc.id) continue;
    Evaluation e;
    e.verdict = Verdict::skip;
    e.reason = "over the air: run with --via-gateway (simulated gateway and joincheck's NS in front of the JS)";
    e.scenario = sc.id + " step " + std::to_string(i + 1);
    recorder_->record(sc.steps[i].check, e);
  }
}

void Run::record_exchange(const std::string& label, const sim::Exchange& ex, const Validation& v) {
  TraceExchange t = trace_of(ex, label, options_.target.ns.headers, options_.reveal_keys);
  t.notes = v.notes;
  t.join_accept = v.join_accept;
  report_.exchanges.push_back(std::move(t));
}

void Run::run_scenario(std::size_t index, const Scenario& sc) {
  scenario_index_ = index;
  for (Capability c : sc.requires_) {
    if (options_.target.capabilities.count(c) == 0) {
      skip_scenario(sc, "the target does not declare capability \"" + std::string(to_string(c)) +
                            "\" (set it under [capabilities] in the target file)");
      return;
    }
  }
  const bool air_steps = std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step& s) {
    return s.kind == StepKind::uplink || s.kind == StepKind::expect_downlink;
  });
  if (air_steps && !gateway_.active()) {
    skip_air_checks(sc);
    return;
  }
  // Devices first: a scenario whose devices the fleet lacks is skipped as a whole.
  for (const auto& need : sc.devices) {
    std::string why;
    Verdict verdict = Verdict::skip;
    if (devices_.resolve(sc, scenario_index_, need.name, why, verdict) == nullptr) {
      skip_scenario(sc, why, 0, verdict);
      return;
    }
  }
  for (std::size_t i = 0; i < sc.steps.size() && !stopped(); ++i) {
    if (cancel_requested()) return;
    const Step& step = sc.steps[i];
    const std::string where = sc.id + " step " + std::to_string(i + 1);
    StepOutcome outcome;
    try {
      outcome = run_step(sc, step, where);
    } catch (const sim::SecureElementError& e) {
      // The device's secure element failed mid-step (a chip that stopped answering): the
      // harness cannot judge, and this device's later steps would fail the same way.
      Evaluation ev;
      ev.verdict = Verdict::error;
      ev.reason = std::string("the device's secure element failed: ") + e.what();
      ev.scenario = where;
      recorder_->record(step.check, ev);
      outcome.stop = true;
      outcome.why = ev.reason;
      devices_.mark_broken(e.dev_eui().hex(), ev.reason);
      skip_scenario(sc, outcome.why, i + 1, Verdict::error);
      return;
    } catch (const std::exception& e) {
      // A harness defect must not cost the report: the step's check says what happened.
      Evaluation ev;
      ev.verdict = Verdict::error;
      ev.reason = std::string("internal error of the harness: ") + e.what();
      ev.scenario = where;
      recorder_->record(step.check, ev);
      outcome.stop = true;
      outcome.why = ev.reason;
    }
    if (stopped()) return;  // every check not judged yet becomes `error`
    if (outcome.stop) {
      skip_scenario(sc, outcome.why, i + 1, outcome.rest);
      return;
    }
  }
}

// The rest of a scenario depends on a setup step (one that judges another check than the
// scenario's own, such as the join before a replay); the scenario's own probes are independent.
Run::StepOutcome Run::run_step(const Scenario& sc, const Step& step, const std::string& where) {
  StepOutcome out;
  const bool setup = step.check != sc.id;
  DeviceState* ds = nullptr;
  if (!step.device.empty()) {
    std::string why;
    Verdict verdict = Verdict::skip;
    ds = devices_.resolve(sc, scenario_index_, step.device, why, verdict);
    if (ds == nullptr) {
      skip_scenario(sc, why, 0, verdict);
      out.stop = true;
      out.why = why;
      out.rest = verdict;
      return out;
    }
  }
  if (step.kind == StepKind::uplink) return run_uplink_step(sc, step, *ds, where);
  if (step.kind == StepKind::expect_downlink) return run_expect_downlink_step(sc, step, *ds, where);
  StepRequest request;
  try {
    request = request_builder_.build(step, ds, *client_);
  } catch (const StepNotApplicable& e) {
    Evaluation ev;
    ev.verdict = Verdict::skip;
    ev.reason = std::string("not applicable: ") + e.what();
    ev.scenario = where;
    recorder_->record(step.check, ev);
    out.stop = setup;
    out.why = "not run: " + where + " did not apply (" + e.what() + ")";
    out.rest = Verdict::skip;
    return out;
  } catch (const StepError& e) {
    Evaluation ev;
    ev.verdict = Verdict::error;
    ev.reason = std::string("the step could not be built: ") + e.what();
    ev.scenario = where;
    recorder_->record(step.check, ev);
    out.stop = true;
    out.why = "not run: " + where + " could not be built";
    return out;
  }
  return run_exchange_step(step, setup, ds, request, where);
}

Run::StepOutcome Run::run_exchange_step(const Step& step, bool setup, DeviceState* ds, StepRequest& request,
                                        const std::string& where) {
  StepOutcome out;
  const bool over_the_air = gateway_.active() && ds != nullptr && GatewayPath::carries(step);
  sim::UplinkReceipt receipt;
  const std::optional<sim::Exchange> ex = send(step, ds, request, over_the_air, receipt, where, out);
  if (!ex) return out;
  if (!note_reachability(*ex, step, where)) {
    out.stop = true;
    return out;
  }
  std::size_t ex_index = 0;
  const Validation v = validate(*ex, request, ds, step, where, ex_index);
  remember_session(ds, v);
  if (over_the_air) gateway_.await_join_accept(*ds, receipt, v);
  if (!step.expect) return out;
  return judge_step(step, setup, request, ds, *ex, v, ex_index, where);
}

std::optional<sim::Exchange> Run::send(const Step& step, DeviceState* ds, StepRequest& request, bool over_the_air,
                                       sim::UplinkReceipt& receipt, const std::string& where, StepOutcome& out) {
  if (!over_the_air) {
    sim::SendOptions so;
    so.content_type = step.content_type;
    return client_->send_raw(request.type, request.body, request.transaction_id, so);
  }
  std::string problem;
  std::optional<sim::Exchange> air = gateway_.join(*ds, request, receipt, problem);
  if (!air) {
    Evaluation ev;
    ev.verdict = Verdict::error;
    ev.reason = "over the air: " + problem;
    ev.scenario = where;
    recorder_->record(step.check, ev);
    ds->last_air.reset();
    out.stop = true;
    out.why = "not run: " + where + " " + problem;
  }
  return air;
}

bool Run::note_reachability(const sim::Exchange& ex, const Step& step, const std::string& where) {
  if (!reached_ && ex.http_status == 0 && !ex.timed_out && !ex.transport_error.empty()) {
    report_.setup_error = "cannot reach " + ex.url + ": " + ex.transport_error;
    unreachable_ = true;
    Validation none;
    record_exchange(where + ": " + describe_step(step), ex, none);
    return false;
  }
  reached_ = true;
  if (!ex.timed_out) {
    missed_deadlines_ = 0;
  } else if (++missed_deadlines_ >= kMaxMissedDeadlines) {
    report_.stopped_early = "the target missed the " + std::to_string(options_.target.ns.timeout.count()) +
                            " ms deadline of " + std::to_string(missed_deadlines_) +
                            " exchanges in a row (the last: " + where +
                            "); the rest of the suite was not run, since every exchange would wait as long. "
                            "Make the JS answer within the deadline, or raise it with --timeout if your NS waits longer";
  }
  return true;
}

Validation Run::validate(const sim::Exchange& ex, const StepRequest& request, DeviceState* ds, const Step& step,
                         const std::string& where, std::size_t& ex_index) {
  // Wrapped network keys are expected only for the NetID the harness shares a KEK for.
  ValidatorSettings vs = validator_settings_;
  vs.expect_wrapped_network_keys = validator_settings_.expect_wrapped_network_keys && request.sent.net_id &&
                                   *request.sent.net_id == options_.target.ns.net_id;
  Validation v = validate_exchange(ex, request.sent, ds != nullptr ? ds->device.get() : nullptr,
                                   ds != nullptr ? &ds->history : nullptr, vs);
  ex_index = report_.exchanges.size();
  record_exchange(where + ": " + describe_step(step), ex, v);
  for (auto& j : v.judgements) {
    j.evaluation.scenario = where;
    j.evaluation.exchange = ex_index;
    recorder_->record(j.check, std::move(j.evaluation));
  }
  return v;
}

void Run::remember_session(DeviceState* ds, const Validation& v) {
  if (ds == nullptr || !v.answer.device_accepted || !ds->device->session()) return;
  ds->previous_session_key_id = ds->last_session_key_id;
  ds->last_session_key_id = v.answer.session_key_id;
  if (v.answer.session_key_id) {
    // A reused ID now means this session.
    ds->app_s_keys.insert_or_assign(*v.answer.session_key_id, ds->device->session_key(sim::KeySlot::app_s_key));
  }
}

Run::StepOutcome Run::judge_step(const Step& step, bool setup, const StepRequest& request, const DeviceState* ds,
                                 const sim::Exchange& ex, const Validation& v, std::size_t ex_index,
                                 const std::string& where) {
  StepOutcome out;
  Evaluation ev = judge_expectation(*step.expect, ex, v.answer);
  ev.scenario = where;
  ev.exchange = ex_index;
  judge_success_content(step, request, ds, v, ex.http_status, options_.reveal_keys, ev);
  // A join refused as a replay is most often the JS remembering an earlier run: say so first.
  std::string hint;
  if (ev.verdict == Verdict::fail && step.expect->kind == Expectation::success &&
      (step.kind == StepKind::join || step.kind == StepKind::rejoin) && v.answer.answered &&
      looks_like_devnonce_replay(v.answer.result, v.answer.description)) {
    hint = devnonce_replay_hint(ds != nullptr && ds->counters_from_state);
    ev.reason = hint;
  }
  const Verdict verdict = ev.verdict;
  const std::string actual = ev.actual;
  recorder_->record(step.check, std::move(ev));
  if (setup && (verdict == Verdict::fail || verdict == Verdict::error)) {
    out.stop = true;
    // The likely cause first: console lines show the start of a reason.
    out.why = hint.empty() ? "not run: " + where + " did not go as expected (" + actual + ")"
                           : "not run: " + where + " was refused: " + hint + " (" + actual + ")";
  }
  return out;
}

// ---- Over the air (run --via-gateway) ----

Run::StepOutcome Run::run_uplink_step(const Scenario& sc, const Step& step, DeviceState& ds, const std::string& where) {
  StepOutcome out;
  Evaluation ev;
  ev.scenario = where;
  if (!ds.device->joined()) {
    ev.verdict = Verdict::skip;
    ev.reason = "not applicable: device " + ds.device->dev_eui().hex() + " has not joined";
    recorder_->record(step.check, ev);
    out.stop = true;
    out.why = "not run: " + where + " needs a joined device";
    return out;
  }
  // Whether the next step waits for the answer of this uplink.
  const auto index = static_cast<std::size_t>(&step - sc.steps.data());
  const bool awaited = index + 1 < sc.steps.size() && sc.steps[index + 1].kind == StepKind::expect_downlink &&
                       sc.steps[index + 1].device == step.device;
  std::string problem;
  if (!gateway_.uplink(ds, step, awaited, problem)) {
    ev.verdict = Verdict::error;
    ev.reason = "over the air: the uplink did not reach the NS: " + problem;
    recorder_->record(step.check, ev);
    out.stop = true;
    out.why = "not run: " + where + " did not reach the NS";
  }
  return out;  // sending judges nothing; expect_downlink does
}

Run::StepOutcome Run::run_expect_downlink_step(const Scenario& sc, const Step& step, const DeviceState& ds,
                                               const std::string& where) {
  StepOutcome out;
  const bool setup = step.check != sc.id;
  Evaluation ev = judge_downlink(step, ds);
  ev.scenario = where;
  const Verdict verdict = ev.verdict;
  const std::string actual = ev.actual;
  recorder_->record(step.check, std::move(ev));
  if (!ds.last_air) {
    out.stop = setup;
    out.why = "not run: " + where + " had nothing to wait for";
    out.rest = Verdict::skip;
  } else if (setup && verdict != Verdict::pass) {
    out.stop = true;
    out.why = "not run: " + where + " did not go as expected (" + actual + ")";
  }
  return out;
}

}  // namespace

std::vector<std::string> selected_checks(const RunOptions& o) {
  std::set<std::string> chosen;
  if (o.only.empty()) {
    for (const auto& c : o.catalog.checks()) chosen.insert(c.id);
  }
  for (const auto& sel : o.only) {
    auto ids = o.catalog.select(sel);
    if (ids.empty()) throw std::invalid_argument("--only " + sel + ": no check or group of that name (joincheck list)");
    chosen.insert(ids.begin(), ids.end());
  }
  for (const auto& sel : o.skip) {
    auto ids = o.catalog.select(sel);
    if (ids.empty()) throw std::invalid_argument("--skip " + sel + ": no check or group of that name (joincheck list)");
    for (const auto& id : ids) chosen.erase(id);
  }
  std::vector<std::string> out;
  for (const auto& c : o.catalog.checks()) {
    if (chosen.count(c.id)) out.push_back(c.id);
  }
  return out;
}

RunReport run_scenarios(const RunOptions& options) {
  Run run(options);
  return run.execute();
}

}  // namespace joincheck::conformance
