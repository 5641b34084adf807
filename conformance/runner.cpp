#include "conformance/runner.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>

#include "backend/codec.hpp"
#include "conformance/replay_hint.hpp"
#include "conformance/tls_checks.hpp"
#include "conformance/validator.hpp"
#include "lorawan/hex.hpp"
#include "sim/device/device.hpp"
#include "sim/secure_element/factory.hpp"
#include "sim/gateway/air_link.hpp"
#include "sim/network_server/network_server.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

using backend::MessageType;
using backend::ResultCode;

namespace {

// A join-request's DLSettings when the step gives none: RX1DRoffset 1, RX2 DR 5 (ChirpStack's
// EU868 defaults, chirpstack/chirpstack configuration/region_eu868.toml); OptNeg is added for 1.1.
constexpr std::uint8_t kDefaultDlSettings = 0x15;
constexpr std::uint8_t kDefaultRxDelay = 1;
// A JoinEUI no test fleet uses: the ReceiverID of the unknown-receiver checks.
constexpr const char* kUnknownJoinEui = "ffffffffffffff01";

// One check's evaluations so far.
struct Accum {
  CheckResult result;
  bool evaluated = false;
  bool emitted = false;
};

class Recorder {
 public:
  Recorder(const Catalog& catalog, const Profile& profile, std::set<std::string> selected)
      : catalog_(catalog), profile_(profile), selected_(std::move(selected)) {}

  bool selected(const std::string& id) const { return selected_.count(id) != 0; }

  // Checks the NS persona makes inapplicable: never judged, whatever a step sent.
  void set_not_applicable(std::map<std::string, std::string> reasons) { not_applicable_ = std::move(reasons); }

  void record(const std::string& id, Evaluation e) {
    if (!selected(id)) return;
    if (not_applicable_.count(id) != 0) return;
    const CheckInfo* info = catalog_.find(id);
    if (info == nullptr) throw std::logic_error("the harness judged check \"" + id + "\", which is not in the catalog");
    Accum& a = accum_[id];
    if (!a.evaluated && a.result.evaluations == 0) a.result.check = *info;
    std::string known;
    // A violated SHOULD or INFO is a warning.
    if (e.verdict == Verdict::fail && info->level != Level::must) {
      e.reason = (e.reason.empty() ? "" : e.reason + "; ") + std::string(to_string(info->level)) + " check: a warning";
      e.verdict = Verdict::warn;
    }
    if (e.verdict == Verdict::fail || e.verdict == Verdict::warn) {
      if (const KnownDeviation* k = profile_.find(id)) {
        e.verdict = k->verdict;
        known = "profile " + profile_.name + ": " + k->reason;
        e.reason = k->verdict == Verdict::skip ? "known deviation (" + known + ")"
                                               : "known deviation (profile " + profile_.name + ")";
      }
    }
    a.evaluated = true;
    CheckResult& r = a.result;
    ++r.evaluations;
    if (e.verdict == Verdict::fail || e.verdict == Verdict::error) ++r.failed_evaluations;
    const bool first = r.evaluations == 1;
    if (first || severity(e.verdict) > severity(r.verdict)) {
      r.verdict = e.verdict;
      r.expected = e.expected;
      r.actual = e.actual;
      r.reason = e.reason;
      r.scenario = e.scenario;
      r.known_deviation = known;
      r.trace.clear();
      if (e.exchange) r.trace.push_back(*e.exchange);
    } else if (severity(e.verdict) == severity(r.verdict) && e.verdict != Verdict::pass && e.exchange &&
               r.trace.size() < 3 && std::find(r.trace.begin(), r.trace.end(), *e.exchange) == r.trace.end()) {
      r.trace.push_back(*e.exchange);  // a few more examples of the same problem
    }
  }

  // The final result of a check (skip with a reason when it was never judged).
  CheckResult result(const std::string& id, const std::string& never_reason) const {
    auto it = accum_.find(id);
    if (it != accum_.end()) return it->second.result;
    CheckResult r;
    r.check = catalog_.at(id);
    r.verdict = Verdict::skip;
    r.reason = never_reason;
    return r;
  }
  bool evaluated(const std::string& id) const { return accum_.count(id) != 0; }
  bool emitted(const std::string& id) const {
    auto it = emitted_.find(id);
    return it != emitted_.end();
  }
  void mark_emitted(const std::string& id) { emitted_.insert(id); }

 private:
  const Catalog& catalog_;
  const Profile& profile_;
  std::set<std::string> selected_;
  std::map<std::string, Accum> accum_;
  std::set<std::string> emitted_;
  std::map<std::string, std::string> not_applicable_;
};

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

struct DeviceState {
  sim::FleetDevice fleet_device;
  std::unique_ptr<sim::SimDevice> device;
  DeviceHistory history;
  std::optional<lorawan::Bytes> last_session_key_id;      // of the last accepted join
  std::optional<lorawan::Bytes> previous_session_key_id;  // of the accepted join before it
  std::map<lorawan::Bytes, sim::SessionKeyCheck> app_s_keys;  // by SessionKeyID: the device's AppSKey
  // Over the air: what answered the device's last uplink (join-request or data), for an
  // expect_downlink step.
  struct AirAnswer {
    bool join = true;         // it answered a join-request (else a data uplink)
    bool confirmed = false;   // a confirmed data uplink
    std::optional<sim::DownlinkFit> fit;  // of the downlink; nullopt when none came
    std::string downlink;     // the downlink in words
    std::string problem;      // why none came, or why it is not the JS's join-accept
    std::optional<sim::DownlinkResult> taken;  // data: what the device made of it
  };
  std::optional<AirAnswer> last_air;
  bool counters_from_state = false;  // its DevNonce counters were read from the --state file
};

// The JS exchanges of the in-process NS (run --via-gateway), handed over from its JS thread.
struct ExchangeQueue {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<sim::Exchange> exchanges;
};

// A step that cannot be carried out (no previous DevNonce, a device that cannot rejoin, ...).
class StepError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// A step that does not apply to this target (no SessionKeyID was ever given, ...): skipped.
class StepNotApplicable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

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

// The step's own expectation.
Evaluation judge_expectation(const Expectation& e, const sim::Exchange& ex, const AnswerSummary& a) {
  Evaluation ev;
  switch (e.kind) {
    case Expectation::success:
      ev.expected = "Result Success";
      break;
    case Expectation::failure:
      ev.expected = "a failure: a Result other than Success, without PHYPayload";
      break;
    case Expectation::one_of:
      ev.expected = "Result " + codes_text(e.codes);
      break;
  }
  if (!e.prefer.empty()) ev.expected += " (preferably " + codes_text(e.prefer) + ")";
  if (e.http_status) ev.expected += " with HTTP " + std::to_string(*e.http_status);

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

// A scenario device of "MACVersion": "any" (DeviceNeed::any_version).
const sim::FleetDevice* nth_device_of_any_version(const sim::Fleet& fleet, std::size_t k) {
  using lorawan::MacVersion;
  constexpr std::array kAnyVersionOrder{MacVersion::v1_0_3, MacVersion::v1_0_4, MacVersion::v1_1,
                                        MacVersion::v1_0_2, MacVersion::v1_0_1, MacVersion::v1_0_0};
  for (const MacVersion v : kAnyVersionOrder) {
    for (const auto& d : fleet.devices) {
      if (d.mac_version == v && k-- == 0) return &d;
    }
  }
  return nullptr;
}

class Run {
 public:
  explicit Run(const RunOptions& o) : o_(o), rng_(o.seed ^ 0x6a6f696e63686b31ULL) {}

  RunReport go();

 private:
  void run_scenario(std::size_t index, const Scenario& sc);
  struct StepOutcome {
    bool stop = false;  // the rest of the scenario cannot run
    std::string why;
    // The verdict of the steps that cannot run: error when a step did not go as expected (a
    // check that was meant to be judged and was not is never a pass, DESIGN.md "Verdicts"),
    // skip only when a step does not apply to this target.
    Verdict rest = Verdict::error;
  };
  // Every step from `from_step` on gets `verdict` (skip: not applicable; error: the harness
  // could not judge, such as a device whose secure element fails).
  void skip_scenario(const Scenario& sc, const std::string& reason, std::size_t from_step = 0,
                     Verdict verdict = Verdict::skip);
  // The device a scenario names, created on first use. nullptr with `why` and the verdict its
  // steps get: skip when the fleet lacks such a device, error when it cannot be simulated.
  DeviceState* resolve_device(const Scenario& sc, const std::string& name, std::string& why,
                              Verdict& verdict);
  // Builds the request of a step: the body, what the validator needs, the path's type.
  struct Built {
    MessageType type = MessageType::join_req;
    std::string body;
    std::uint32_t transaction_id = 0;
    SentRequest sent;
    lorawan::Bytes session_key_id;  // AppSKeyReq: the one asked for
    lorawan::Bytes phy_payload;     // join/rejoin: the PHYPayload sent
  };
  Built build(const Step& step, DeviceState* ds);
  // Over the air (RunOptions::via_gateway).
  void start_over_the_air();
  // A join step the NS can send as it is: no edit of the request.
  static bool plain_join(const Step& step);
  // Sends the join-request of `b` through the gateway and returns the NS's exchange with the JS;
  // nullopt (with `problem`) when the NS did not ask the JS.
  std::optional<sim::Exchange> join_over_the_air(DeviceState& ds, Built& b, sim::UplinkReceipt& receipt,
                                                 std::string& problem);
  void await_join_accept(DeviceState& ds, const sim::UplinkReceipt& receipt, const Validation& v);
  // A gateway emits one downlink at a time: before an uplink whose answer is due `delay` later,
  // waits until no downlink the gateway accepted is on the air then (harness devices must not
  // collide with each other; a real network spreads them over time and gateways).
  void wait_for_free_air(std::chrono::microseconds delay);
  StepOutcome run_air_step(const Scenario& sc, const Step& step, DeviceState& ds, const std::string& where);
  std::string substitute(const std::string& value) const;
  StepOutcome run_step(const Scenario& sc, const Step& step, const std::string& where);
  void judge_success_content(const Step& step, const Built& b, DeviceState* ds, const Validation& v, int http_status,
                             Evaluation& ev);
  void record_exchange(const std::string& label, const sim::Exchange& ex, const Validation& v);
  void emit_final(const std::string& id, const std::string& never_reason);
  std::string never_reason(const std::string& id) const;
  // RunOptions::cancelled, asked once more; once true, the run stops and says "interrupted".
  bool cancel_requested();
  // The tls/ group (conformance/tls_checks.hpp), before the scenarios, against https targets.
  void run_tls_checks();

  const RunOptions& o_;
  std::mt19937_64 rng_;
  std::unique_ptr<sim::NsClient> client_;
  std::unique_ptr<Recorder> rec_;
  RunReport report_;
  ValidatorSettings vs_;
  std::map<std::string, DeviceState> devices_;  // by DevEUI hex
  // Over the air: joincheck's NS in front of the target, the gateway, the NS's JS exchanges.
  std::unique_ptr<sim::NetworkServer> ns_;
  std::unique_ptr<sim::AirLink> air_;
  std::shared_ptr<ExchangeQueue> ns_exchanges_ = std::make_shared<ExchangeQueue>();
  // Devices that cannot be simulated (their secure element failed), by DevEUI hex: why.
  std::map<std::string, std::string> broken_devices_;
  sim::atecc608::ChipFileCache chip_files_;
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
  std::uint64_t unknown_counter_ = 0;
  std::size_t scenario_index_ = 0;
  std::map<std::pair<std::size_t, std::string>, std::string> unknown_devices_;  // (scenario, name) -> DevEUI
};

void Run::emit_final(const std::string& id, const std::string& reason) {
  if (!rec_->selected(id) || rec_->emitted(id)) return;
  rec_->mark_emitted(id);
  if (o_.on_check) o_.on_check(rec_->result(id, reason));
}

void Run::run_tls_checks() {
  TlsCheckInputs in;
  in.selected = [this](const std::string& id) { return rec_->selected(id); };
  if (!o_.fleet.devices.empty()) in.join_eui = o_.fleet.devices.front().join_eui;
  in.names = target_setting_names(o_.target);
  in.reveal_keys = o_.reveal_keys;
  for (TlsJudgement& j : judge_tls(o_.target, in)) {
    if (j.exchange) {
      j.evaluation.exchange = report_.exchanges.size();
      report_.exchanges.push_back(std::move(*j.exchange));
    }
    rec_->record(j.check, std::move(j.evaluation));
    emit_final(j.check, never_reason(j.check));
  }
}

bool Run::cancel_requested() {
  if (!interrupted_ && o_.cancelled && o_.cancelled()) {
    interrupted_ = true;
    report_.setup_error = "interrupted";
  }
  return interrupted_;
}

std::string Run::never_reason(const std::string& id) const {
  const auto persona_skips = persona_not_applicable(o_.target.ns.ns_like);
  if (auto it = persona_skips.find(id); it != persona_skips.end()) return it->second;
  if (!report_.setup_error.empty()) return "not judged: " + report_.setup_error;
  if (!report_.stopped_early.empty()) return "not judged: " + report_.stopped_early;
  const std::string group(std::string_view(id).substr(0, id.find('/')));
  if (group == "async" && !client_->async()) {
    return "the target answers synchronously; configure [async] in the target file to test asynchronous answers";
  }
  if (group == "tls" && !tls_checks_apply(o_.target)) return tls_not_applicable_reason(o_.target);
  if (id == "header/receiver-nsid-echo") return "no TS002 1.1 request was answered";
  if (id == "header/transaction-id-zero") return "no request with TransactionID 0 was answered";
  if (group == "kek" && o_.target.ns.keks.empty()) {
    return "the NS shares no KEK with the target ([[kek]] in the target file), and no answer carried a wrapped key";
  }
  if (id == "kek/network-keys-wrapped") return "the NS shares no KEK with the target ([[kek]] in the target file)";
  return "no exchange of this run applied to it";
}

RunReport Run::go() {
  const auto t0 = std::chrono::steady_clock::now();
  report_.started_at = iso8601_utc(std::chrono::system_clock::now());
  report_.target = o_.target_label.empty() ? o_.target.ns.url : o_.target_label;
  report_.profile = o_.profile.name;
  // A persona sends its own ProtocolVersion (sim::shape_header).
  backend::Header sent_header;
  sent_header.protocol_version = o_.target.ns.protocol_version;
  sim::shape_header(o_.target.ns.ns_like, sent_header);
  report_.protocol_version = std::string(backend::to_string(sent_header.protocol_version));
  {
    std::set<std::string> versions;
    for (const auto& d : o_.fleet.devices) versions.insert(std::string(lorawan::to_string(d.mac_version)));
    report_.mac_versions.assign(versions.begin(), versions.end());
  }
  const auto ids = selected_checks(o_);
  rec_ = std::make_unique<Recorder>(o_.catalog, o_.profile, std::set<std::string>(ids.begin(), ids.end()));
  rec_->set_not_applicable(persona_not_applicable(o_.target.ns.ns_like));

  vs_.keks = &o_.target.ns.keks;
  vs_.has_as_kek = o_.target.capabilities.count(Capability::as_kek) != 0;
  vs_.as_kek_label = o_.target.as_kek_label;
  // A KEK other than the AS's is one the NS shares with the JS for the network keys.
  vs_.expect_wrapped_network_keys = std::any_of(o_.target.ns.keks.begin(), o_.target.ns.keks.end(),
                                                [&](const auto& k) { return k.first != o_.target.as_kek_label; });
  vs_.reveal_keys = o_.reveal_keys;
  vs_.deadline = o_.target.ns.timeout;

  try {
    client_ = std::make_unique<sim::NsClient>(o_.target.ns);
  } catch (const std::exception& e) {
    report_.setup_error = std::string("the NS client could not be set up: ") + e.what();
  }

  // Which scenarios to run: those judging a selected check, or feeding the always-on checks.
  for (std::size_t i = 0; i < o_.scenarios.size(); ++i) {
    for (const auto& step : o_.scenarios[i].steps) {
      step_checks_.insert(step.check);
      last_scenario_of_[step.check] = i;
    }
  }
  bool always_on_selected = false;
  for (const auto& id : ids) always_on_selected |= step_checks_.count(id) == 0;

  if (report_.setup_error.empty() && o_.via_gateway) start_over_the_air();
  if (report_.setup_error.empty()) run_tls_checks();
  if (report_.setup_error.empty()) {
    for (std::size_t i = 0; i < o_.scenarios.size() && !stopped(); ++i) {
      if (cancel_requested()) break;
      const Scenario& sc = o_.scenarios[i];
      bool wanted = always_on_selected;
      for (const auto& step : sc.steps) wanted |= rec_->selected(step.check);
      if (!wanted) continue;
      run_scenario(i, sc);
      if (stopped() || interrupted_) break;  // every check not judged yet becomes `error` below
      for (const auto& step : sc.steps) {
        if (last_scenario_of_[step.check] == i) emit_final(step.check, never_reason(step.check));
      }
    }
  }
  const std::string not_judged = !report_.setup_error.empty() ? report_.setup_error : report_.stopped_early;
  if (!not_judged.empty()) {
    // Checks already judged (skipped for a missing device, say) keep their verdict.
    for (const auto& id : ids) {
      if (rec_->evaluated(id)) continue;
      Evaluation e;
      e.verdict = Verdict::error;
      e.reason = not_judged;
      rec_->record(id, e);
    }
  }
  for (const auto& id : ids) emit_final(id, never_reason(id));
  for (const auto& id : ids) report_.results.push_back(rec_->result(id, never_reason(id)));
  if (o_.device_counters != nullptr) {
    std::set<std::string> unknown;
    for (const auto& [k, eui] : unknown_devices_) unknown.insert(eui);
    for (const auto& [eui, ds] : devices_) {
      if (unknown.count(eui) == 0) (*o_.device_counters)[eui] = ds.device->counters();
    }
  }
  report_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return std::move(report_);
}

void Run::skip_scenario(const Scenario& sc, const std::string& reason, std::size_t from_step,
                        Verdict verdict) {
  for (std::size_t i = from_step; i < sc.steps.size(); ++i) {
    Evaluation e;
    e.verdict = verdict;
    e.reason = reason;
    e.scenario = sc.id + " step " + std::to_string(i + 1);
    rec_->record(sc.steps[i].check, e);
  }
}

DeviceState* Run::resolve_device(const Scenario& sc, const std::string& name, std::string& why,
                                 Verdict& verdict) {
  verdict = Verdict::skip;
  const DeviceNeed* need = sc.device(name);
  if (need == nullptr) {
    why = "the scenario names no device \"" + name + "\"";
    return nullptr;
  }
  // The k-th device of this version in the scenario is the fleet's k-th of that version (for
  // "any", the k-th in the order of kAnyVersionOrder).
  std::size_t k = 0;
  for (const auto& d : sc.devices) {
    if (d.name == need->name) break;
    if (d.any_version == need->any_version && (d.any_version || d.mac_version == need->mac_version) &&
        d.unknown == need->unknown) {
      ++k;
    }
  }
  sim::FleetDevice fd;
  if (need->unknown) {
    // One generated device per (scenario, name), whatever the number of steps that use it.
    const auto cache_key = std::make_pair(scenario_index_, need->name);
    if (auto cached = unknown_devices_.find(cache_key); cached != unknown_devices_.end()) {
      return &devices_.at(cached->second);
    }
    const lorawan::Eui64 join_eui =
        o_.fleet.devices.empty() ? lorawan::Eui64::parse("0000000000000001") : o_.fleet.devices.front().join_eui;
    // Index range far from generated fleets, and a seed of its own: never a provisioned device.
    fd = sim::generate_device((std::uint64_t{1} << 39) + unknown_counter_++, join_eui, need->mac_version,
                              o_.seed ^ 0x756e6b6e6f776eULL);
    unknown_devices_[cache_key] = fd.dev_eui.hex();
  } else if (need->any_version) {
    const sim::FleetDevice* found = nth_device_of_any_version(o_.fleet, k);
    if (found == nullptr) {
      why = "the fleet has " + std::to_string(o_.fleet.devices.size()) + " device(s); the scenario needs " +
            std::to_string(k + 1) + " of any MAC version (add some: joincheck devices generate)";
      return nullptr;
    }
    fd = *found;
  } else {
    std::size_t seen = 0;
    const sim::FleetDevice* found = nullptr;
    for (const auto& d : o_.fleet.devices) {
      if (d.mac_version != need->mac_version) continue;
      if (seen++ == k) {
        found = &d;
        break;
      }
    }
    if (found == nullptr) {
      why = "the fleet has " + std::to_string(seen) + " LoRaWAN " + std::string(lorawan::to_string(need->mac_version)) +
            " device(s); the scenario needs " + std::to_string(k + 1) +
            " (add some: joincheck devices generate --mac-version " + std::string(lorawan::to_string(need->mac_version)) + ")";
      return nullptr;
    }
    fd = *found;
  }
  const std::string key = fd.dev_eui.hex();
  if (auto broken = broken_devices_.find(key); broken != broken_devices_.end()) {
    why = broken->second;
    verdict = Verdict::error;
    return nullptr;
  }
  auto it = devices_.find(key);
  if (it == devices_.end()) {
    DeviceState ds;
    ds.fleet_device = fd;
    sim::SimDeviceOptions so;
    so.seed = o_.seed;
    try {
      ds.device = std::make_unique<sim::SimDevice>(
          fd, sim::make_secure_element(fd, o_.fleet.folder, o_.seed ^ 0x5345ULL, &chip_files_), so);
      if (o_.device_counters != nullptr && !need->unknown) {
        if (auto c = o_.device_counters->find(key); c != o_.device_counters->end()) {
          ds.device->restore(c->second);
          ds.counters_from_state = true;
        }
      }
    } catch (const std::exception& e) {
      // Not the JS's doing: every check of the device's scenarios is `error`, said once per
      // scenario, and the device is not tried again.
      why = std::string("device ") + key + " cannot be simulated: " + e.what();
      broken_devices_[key] = why;
      verdict = Verdict::error;
      return nullptr;
    }
    it = devices_.emplace(key, std::move(ds)).first;
  }
  return &it->second;
}

// Placeholders a scenario may use for identifiers that depend on the target.
std::string Run::substitute(const std::string& value) const {
  if (value == "${unknown_net_id}") return o_.target.unknown_net_id;
  if (value == "${unknown_join_eui}") return kUnknownJoinEui;
  return value;
}

Run::Built Run::build(const Step& step, DeviceState* ds) {
  Built b;
  const sim::NsClientOptions& ns = o_.target.ns;
  auto random_u32 = [&] { return static_cast<std::uint32_t>(1 + rng_() % 0xfffffffeULL); };
  b.transaction_id = step.transaction_id.value_or(random_u32());

  if (step.kind == StepKind::raw) {
    b.type = step.raw_message_type;
    b.body = step.body;
    b.sent.type = b.type;
    b.sent.header_meaningful = false;
    return b;
  }

  backend::Header h;
  switch (step.kind) {
    case StepKind::join:
      b.type = MessageType::join_req;
      break;
    case StepKind::rejoin:
      b.type = MessageType::rejoin_req;
      break;
    case StepKind::app_s_key:
      b.type = MessageType::app_s_key_req;
      break;
    case StepKind::home_ns:
      b.type = MessageType::home_ns_req;
      break;
    case StepKind::raw:
    case StepKind::uplink:  // run_air_step's
    case StepKind::expect_downlink:
      break;
  }
  h = client_->request_header(b.type, ds->fleet_device.join_eui.hex());
  if (b.type == MessageType::app_s_key_req) h.sender_id = o_.target.as_id;
  // Header modifiers.
  bool unsupported_version = false;
  if (step.protocol_version) {
    if (auto v = backend::parse_protocol_version(*step.protocol_version)) {
      h.protocol_version = *v;
      h.sender_ns_id = *v == backend::ProtocolVersion::v1_1 ? ns.ns_id : std::nullopt;
    } else {
      unsupported_version = true;
    }
  }
  if (step.sender_id) h.sender_id = substitute(*step.sender_id);
  if (step.receiver_id) h.receiver_id = substitute(*step.receiver_id);
  if (step.sender_token) h.sender_token = *step.sender_token;
  if (step.sender_ns_id_set) h.sender_ns_id = step.sender_ns_id;
  if (step.vs_extension) h.vs_extension = *step.vs_extension;
  h.transaction_id = b.transaction_id;

  SentRequest& sent = b.sent;
  sent.type = b.type;
  sent.protocol_version_unsupported = unsupported_version;
  if (h.sender_id.size() == 6) {
    try {
      sent.net_id = lorawan::NetId::parse(h.sender_id, "SenderID");
    } catch (const lorawan::Error&) {
    }
  }

  backend::Message message;
  sim::SimDevice& dev = *ds->device;
  if (step.kind == StepKind::join || step.kind == StepKind::rejoin) {
    lorawan::Bytes phy;
    lorawan::MacVersion meant = dev.mac_version();
    std::string spelling;
    if (step.kind == StepKind::join) {
      lorawan::DevNonce nonce;
      switch (step.dev_nonce.kind) {
        case DevNonceChoice::next:
          nonce = dev.next_dev_nonce();
          break;
        case DevNonceChoice::previous:
          if (!dev.last_dev_nonce()) throw StepError("DevNonce \"previous\": device " + dev.dev_eui().hex() + " sent no join-request yet");
          nonce = *dev.last_dev_nonce();
          break;
        case DevNonceChoice::lower:
          if (!dev.last_dev_nonce()) throw StepError("DevNonce \"lower\": device " + dev.dev_eui().hex() + " sent no join-request yet");
          // A random last DevNonce of 0 (1 in 65536) has nothing below it.
          if (dev.last_dev_nonce()->value() == 0) {
            throw StepNotApplicable("DevNonce \"lower\": the last DevNonce of device " + dev.dev_eui().hex() + " is 0");
          }
          nonce = lorawan::DevNonce(dev.last_dev_nonce()->value() - 1);
          break;
        case DevNonceChoice::ahead:
          nonce = dev.next_dev_nonce();
          if (dev.dev_nonce_policy() == sim::DevNoncePolicy::counter) {
            if (nonce.value() + 100 > 0xffff) throw StepError("DevNonce \"ahead\": device " + dev.dev_eui().hex() + " is near 0xffff");
            nonce = lorawan::DevNonce(nonce.value() + 100);
          }
          break;
        case DevNonceChoice::value:
          nonce = lorawan::DevNonce(step.dev_nonce.number);
          break;
      }
      phy = dev.make_join_request(nonce);
    } else {
      meant = lorawan::MacVersion::v1_1;
      if (lorawan::is_1_1(dev.mac_version()) && !dev.joined()) {
        throw StepNotApplicable("device " + dev.dev_eui().hex() +
                                " has no session to rejoin from: no join-accept of it was accepted");
      }
      try {
        phy = dev.make_rejoin_request(static_cast<lorawan::RejoinType>(step.rejoin_type));
      } catch (const lorawan::Error& e) {
        throw StepError(e.what());
      }
    }
    if (step.mac_version) {
      spelling = *step.mac_version;
      if (auto v = lorawan::parse_mac_version(spelling)) meant = *v;
    }
    if (step.corrupt_mic && phy.size() >= 4) phy.back() ^= 0x01;
    switch (step.phy_payload_change) {
      case PhyPayloadChange::none:
        break;
      case PhyPayloadChange::truncate:
        if (!phy.empty()) phy.pop_back();
        break;
      case PhyPayloadChange::extend:
        phy.push_back(0x00);
        break;
      case PhyPayloadChange::data_uplink:
        phy[0] = 0x40;  // MHDR: MType 010, unconfirmed data up (LoRaWAN 1.0.3 §4.2.1)
        break;
      case PhyPayloadChange::replace:
        phy = step.phy_payload;
        break;
    }
    // The NS persona's JoinReq (sim/network_server/ns_persona.hpp): its body fields are the
    // defaults here; a field the step sets explicitly wins over the persona. (Its header fields
    // came with request_header() above, before the step's header modifiers.)
    const sim::NsPersona persona = ns.ns_like;
    backend::JoinReq shaped;
    if (persona != sim::NsPersona::plain) {
      backend::MacVersionField mv;
      mv.version = meant;
      shaped.mac_version = mv;
      sim::shape_join_req(persona, shaped, ns.net_id, random_u32());
      if (!step.mac_version) spelling = shaped.mac_version->text;
    }
    lorawan::DevAddr dev_addr;
    if (step.dev_addr) {
      dev_addr = *step.dev_addr;
    } else if (shaped.dev_addr) {
      dev_addr = *shaped.dev_addr;
    } else {
      std::array<std::uint8_t, 4> a{};
      for (auto& x : a) x = static_cast<std::uint8_t>(rng_());
      dev_addr = lorawan::DevAddr(a);
    }
    const bool opt_neg = step.opt_neg.value_or(lorawan::is_1_1(meant));
    sent.inconsistent = step.opt_neg.has_value() && *step.opt_neg != lorawan::is_1_1(meant);
    std::uint8_t dl = step.dl_settings.value_or(shaped.dl_settings.value_or(kDefaultDlSettings));
    if (!step.dl_settings) dl = static_cast<std::uint8_t>((dl & 0x7f) | (opt_neg ? 0x80 : 0x00));
    else if (step.opt_neg) dl = static_cast<std::uint8_t>((dl & 0x7f) | (opt_neg ? 0x80 : 0x00));
    const std::uint8_t rx_delay = step.rx_delay.value_or(shaped.rx_delay.value_or(kDefaultRxDelay));
    const std::optional<lorawan::CfList> cf_list = step.cf_list_set ? step.cf_list : shaped.cf_list;

    auto fill = [&](auto& req) {
      req.header = h;
      backend::MacVersionField mv;
      mv.version = meant;
      mv.text = spelling;
      req.mac_version = mv;
      req.phy_payload = phy;
      b.phy_payload = phy;
      req.dev_eui = dev.dev_eui();
      req.dev_addr = dev_addr;
      req.dl_settings = dl;
      req.rx_delay = rx_delay;
      req.cf_list = cf_list;
    };
    if (step.kind == StepKind::join) {
      backend::JoinReq r;
      r.header.message_type = MessageType::join_req;
      fill(r);
      message = r;
    } else {
      backend::RejoinReq r;
      fill(r);
      r.header.message_type = MessageType::rejoin_req;
      message = r;
    }
    sent.mac_version = meant;
    sent.dev_addr = dev_addr;
    sent.dl_settings = dl;
    sent.rx_delay = rx_delay;
    sent.cf_list = cf_list;
  } else if (step.kind == StepKind::app_s_key) {
    backend::AppSKeyReq r;
    r.header = h;
    // An AS is not an NS: it has no NSID to send (TS002 1.1 SenderNSID is the NS's).
    if (!step.sender_ns_id_set) r.header.sender_ns_id.reset();
    r.dev_eui = dev.dev_eui();
    const auto& known = step.previous_session ? ds->previous_session_key_id : ds->last_session_key_id;
    if (step.session_key_id) {
      r.session_key_id = step.session_key_id;
    } else if (known) {
      r.session_key_id = known;
    } else {
      throw StepNotApplicable(std::string("SessionKeyID \"") + (step.previous_session ? "previous" : "last") +
                              "\": no accepted join of device " + dev.dev_eui().hex() + " gave one");
    }
    b.session_key_id = *r.session_key_id;
    message = r;
  } else {
    backend::HomeNSReq r;
    r.header = h;
    r.dev_eui = dev.dev_eui();
    message = r;
  }
  sent.header = backend::header_of(message);

  backend::EncodeOptions eo;
  if (step.hex == Step::HexStyle::upper) eo.hex_case = lorawan::HexCase::upper;
  nlohmann::ordered_json j = backend::to_json(message, eo);
  if (unsupported_version) j["ProtocolVersion"] = *step.protocol_version;
  // Hex styles reach the header identifiers too (TTS writes NetID and JoinEUI in upper case,
  // docs/checks.md#encoding); an AS-ID is free text and stays as it is.
  const bool ids_are_hex = b.type != MessageType::app_s_key_req;
  if (step.hex == Step::HexStyle::upper && ids_are_hex) {
    for (const char* f : {"SenderID", "ReceiverID"}) {
      if (auto it = j.find(f); it != j.end() && it->is_string()) {
        std::string v = it->get<std::string>();
        std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        *it = v;
      }
    }
  }
  if (step.hex == Step::HexStyle::prefix_0x) {
    for (const char* f : {"DevEUI", "DevAddr", "PHYPayload", "DLSettings", "CFList", "SessionKeyID", "SenderToken",
                          "SenderNSID", "SenderID", "ReceiverID"}) {
      if (!ids_are_hex && (std::string_view(f) == "SenderID")) continue;
      if (auto it = j.find(f); it != j.end() && it->is_string()) *it = "0x" + it->get<std::string>();
    }
  }
  // JSON edits: what the validator would compare against is no longer known for those fields.
  auto forget = [&](const std::string& f) {
    if (f == "DevAddr") sent.dev_addr.reset();
    if (f == "DLSettings") sent.dl_settings.reset();
    if (f == "RxDelay") sent.rx_delay.reset();
    if (f == "TransactionID" || f == "SenderID" || f == "ReceiverID" || f == "MessageType" || f == "ProtocolVersion") {
      sent.header_meaningful = false;
    }
  };
  for (const auto& f : step.omit) {
    j.erase(f);
    forget(f);
  }
  for (const auto& f : step.null_fields) {
    j[f] = nullptr;
    forget(f);
  }
  for (const auto& [k, v] : step.set.items()) {
    j[k] = v;
    forget(k);
  }
  b.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return b;
}

void Run::record_exchange(const std::string& label, const sim::Exchange& ex, const Validation& v) {
  TraceExchange t = trace_of(ex, label, o_.target.ns.headers, o_.reveal_keys);
  t.notes = v.notes;
  t.join_accept = v.join_accept;
  report_.exchanges.push_back(std::move(t));
}

void Run::run_scenario(std::size_t index, const Scenario& sc) {
  scenario_index_ = index;
  for (Capability c : sc.requires_) {
    if (o_.target.capabilities.count(c) == 0) {
      skip_scenario(sc, "the target does not declare capability \"" + std::string(to_string(c)) +
                            "\" (set it under [capabilities] in the target file)");
      return;
    }
  }
  const bool air_steps = std::any_of(sc.steps.begin(), sc.steps.end(), [](const Step& s) {
    return s.kind == StepKind::uplink || s.kind == StepKind::expect_downlink;
  });
  if (air_steps && !air_) {
    // Only its own and the air/ checks are the scenario's to skip: its setup joins judge checks
    // that other scenarios judge directly.
    for (std::size_t i = 0; i < sc.steps.size(); ++i) {
      if (sc.steps[i].check.rfind("air/", 0) != 0 && sc.steps[i].check != sc.id) continue;
      Evaluation e;
      e.verdict = Verdict::skip;
      e.reason = "over the air: run with --via-gateway (simulated gateway and joincheck's NS in front of the JS)";
      e.scenario = sc.id + " step " + std::to_string(i + 1);
      rec_->record(sc.steps[i].check, e);
    }
    return;
  }
  // Devices first: a scenario whose devices the fleet lacks is skipped as a whole.
  for (const auto& need : sc.devices) {
    std::string why;
    Verdict verdict = Verdict::skip;
    if (resolve_device(sc, need.name, why, verdict) == nullptr) {
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
      rec_->record(step.check, ev);
      outcome.stop = true;
      outcome.why = ev.reason;
      broken_devices_[e.dev_eui().hex()] = ev.reason;
      skip_scenario(sc, outcome.why, i + 1, Verdict::error);
      return;
    } catch (const std::exception& e) {
      // A harness defect must not cost the report: the step's check says what happened.
      Evaluation ev;
      ev.verdict = Verdict::error;
      ev.reason = std::string("internal error of the harness: ") + e.what();
      ev.scenario = where;
      rec_->record(step.check, ev);
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
    ds = resolve_device(sc, step.device, why, verdict);
    if (ds == nullptr) {
      skip_scenario(sc, why, 0, verdict);
      out.stop = true;
      out.why = why;
      out.rest = verdict;
      return out;
    }
  }
  if (step.kind == StepKind::uplink || step.kind == StepKind::expect_downlink) {
    return run_air_step(sc, step, *ds, where);
  }
  Built b;
  try {
    b = build(step, ds);
  } catch (const StepNotApplicable& e) {
    Evaluation ev;
    ev.verdict = Verdict::skip;
    ev.reason = std::string("not applicable: ") + e.what();
    ev.scenario = where;
    rec_->record(step.check, ev);
    out.stop = setup;
    out.why = "not run: " + where + " did not apply (" + e.what() + ")";
    out.rest = Verdict::skip;
    return out;
  } catch (const StepError& e) {
    Evaluation ev;
    ev.verdict = Verdict::error;
    ev.reason = std::string("the step could not be built: ") + e.what();
    ev.scenario = where;
    rec_->record(step.check, ev);
    out.stop = true;
    out.why = "not run: " + where + " could not be built";
    return out;
  }
  sim::SendOptions so;
  so.content_type = step.content_type;
  const bool over_the_air = air_ && ds != nullptr && plain_join(step);
  sim::UplinkReceipt receipt;
  sim::Exchange ex;
  if (over_the_air) {
    std::string problem;
    auto air = join_over_the_air(*ds, b, receipt, problem);
    if (!air) {
      Evaluation ev;
      ev.verdict = Verdict::error;
      ev.reason = "over the air: " + problem;
      ev.scenario = where;
      rec_->record(step.check, ev);
      ds->last_air.reset();
      out.stop = true;
      out.why = "not run: " + where + " " + problem;
      return out;
    }
    ex = std::move(*air);
  } else {
    ex = client_->send_raw(b.type, b.body, b.transaction_id, so);
  }

  // The first exchange tells whether the target can be reached at all.
  if (!reached_ && ex.http_status == 0 && !ex.timed_out && !ex.transport_error.empty()) {
    report_.setup_error = "cannot reach " + ex.url + ": " + ex.transport_error;
    unreachable_ = true;
    Validation none;
    record_exchange(where + ": " + describe_step(step), ex, none);
    out.stop = true;
    return out;
  }
  reached_ = true;
  if (!ex.timed_out) {
    missed_deadlines_ = 0;
  } else if (++missed_deadlines_ >= kMaxMissedDeadlines) {
    report_.stopped_early = "the target missed the " + std::to_string(o_.target.ns.timeout.count()) +
                            " ms deadline of " + std::to_string(missed_deadlines_) +
                            " exchanges in a row (the last: " + where +
                            "); the rest of the suite was not run, since every exchange would wait as long. "
                            "Make the JS answer within the deadline, or raise it with --timeout if your NS waits longer";
  }
  // Wrapped network keys are expected only for the NetID the harness shares a KEK for.
  ValidatorSettings vs = vs_;
  vs.expect_wrapped_network_keys =
      vs_.expect_wrapped_network_keys && b.sent.net_id && *b.sent.net_id == o_.target.ns.net_id;
  Validation v = validate_exchange(ex, b.sent, ds != nullptr ? ds->device.get() : nullptr,
                                   ds != nullptr ? &ds->history : nullptr, vs);
  const std::size_t ex_index = report_.exchanges.size();
  record_exchange(where + ": " + describe_step(step), ex, v);
  for (auto& j : v.judgements) {
    j.evaluation.scenario = where;
    j.evaluation.exchange = ex_index;
    rec_->record(j.check, std::move(j.evaluation));
  }
  // What later steps need: the SessionKeyIDs of the device's accepted joins and the AppSKey the
  // device derived with each.
  if (ds != nullptr && v.answer.device_accepted && ds->device->session()) {
    ds->previous_session_key_id = ds->last_session_key_id;
    ds->last_session_key_id = v.answer.session_key_id;
    if (v.answer.session_key_id) {
      // A reused ID now means this session.
      ds->app_s_keys.insert_or_assign(*v.answer.session_key_id, ds->device->session_key(sim::KeySlot::app_s_key));
    }
  }

  if (over_the_air) await_join_accept(*ds, receipt, v);

  if (!step.expect) return out;
  Evaluation ev = judge_expectation(*step.expect, ex, v.answer);
  ev.scenario = where;
  ev.exchange = ex_index;
  judge_success_content(step, b, ds, v, ex.http_status, ev);
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
  rec_->record(step.check, std::move(ev));
  if (setup && (verdict == Verdict::fail || verdict == Verdict::error)) {
    out.stop = true;
    // The likely cause first: console lines show the start of a reason.
    out.why = hint.empty() ? "not run: " + where + " did not go as expected (" + actual + ")"
                           : "not run: " + where + " was refused: " + hint + " (" + actual + ")";
  }
  return out;
}

// A Success must also be a usable answer: the right message type, a 2xx (NSs do not read other
// bodies), a join-accept the device takes, and for AS and vNS requests the content they ask for.
void Run::judge_success_content(const Step& step, const Built& b, DeviceState* ds, const Validation& v,
                                int http_status, Evaluation& ev) {
  if (ev.verdict != Verdict::pass && ev.verdict != Verdict::warn) return;
  if (v.answer.result != ResultCode::success || v.answer.message == nullptr) return;
  const auto fail = [&](std::string actual) {
    ev.verdict = Verdict::fail;
    ev.actual = std::move(actual);
  };
  const auto want_type = backend::answer_type_for(b.type);
  const auto got_type = backend::message_type_of(*v.answer.message);
  if (step.kind != StepKind::raw && want_type && got_type != *want_type) {
    return fail("Success in a " + std::string(backend::to_string(got_type)) + " instead of a " +
                std::string(backend::to_string(*want_type)));
  }
  if (http_status != 0 && (http_status < 200 || http_status >= 300)) {
    return fail("Success in an HTTP " + std::to_string(http_status) +
                " response, which NSs treat as a transport error (docs/checks.md#http)");
  }
  // Checks about the join itself (join/*, rejoin/*, macversion/*: a "1.1.0" processed as 1.0
  // gives an accept the device refuses) need the device to take it; the others (hex styles,
  // Content-Type, ProtocolVersion) are about the request being served, which a Success says.
  const std::string_view group = std::string_view(step.check).substr(0, step.check.find('/'));
  const bool about_the_join = group == "join" || group == "rejoin" || group == "macversion";
  if ((step.kind == StepKind::join || step.kind == StepKind::rejoin) && about_the_join && !b.sent.inconsistent &&
      ds != nullptr && !v.answer.device_accepted) {
    return fail("Success, but the device refused the join-accept: " +
                (v.answer.device_refusal.empty() ? std::string("no usable PHYPayload") : v.answer.device_refusal));
  }
  if (ds == nullptr) return;
  if (const auto* ans = std::get_if<backend::AppSKeyAns>(v.answer.message)) {
    const lorawan::Bytes& asked = b.session_key_id;
    auto want = ds->app_s_keys.find(asked);
    if (!ans->dev_eui || *ans->dev_eui != ds->device->dev_eui()) {
      return fail("DevEUI " + (ans->dev_eui ? ans->dev_eui->hex() : std::string("absent")) + " instead of " +
                  ds->device->dev_eui().hex());
    }
    // One SessionKeyID for two sessions: the AS cannot ask for the older AppSKey.
    if (step.previous_session && ds->previous_session_key_id == ds->last_session_key_id) {
      return fail("the JS gave the last two joins of the device the same SessionKeyID " + lorawan::to_hex(asked));
    }
    if (ans->session_key_id && *ans->session_key_id != asked) {
      return fail("SessionKeyID " + lorawan::to_hex(*ans->session_key_id) + " instead of " + lorawan::to_hex(asked));
    }
    if (!v.answer.app_s_key) {
      if (v.answer.app_s_key_problem.empty()) return fail("Success without an AppSKey");
      ev.verdict = Verdict::skip;
      ev.reason = v.answer.app_s_key_problem;
      return;
    }
    if (want == ds->app_s_keys.end()) {
      ev.verdict = Verdict::skip;
      ev.reason = "the AppSKey of SessionKeyID " + lorawan::to_hex(asked) + " is unknown: the device did not accept that join";
      return;
    }
    const bool same = want->second.matches(*v.answer.app_s_key);
    ev.expected = "AppSKey of the join that issued SessionKeyID " + lorawan::to_hex(asked) + " " +
                  show_device_key(want->second, o_.reveal_keys);
    ev.actual = same ? "the same AppSKey" : "another AppSKey: " + show_key(*v.answer.app_s_key, o_.reveal_keys);
    if (!same) ev.verdict = Verdict::fail;
  } else if (const auto* hns = std::get_if<backend::HomeNSAns>(v.answer.message)) {
    const backend::Header& hh = hns->header;
    if (!hns->h_net_id) return fail("Success without HNetID");
    if (hh.protocol_version == backend::ProtocolVersion::v1_1 && !hh.hns_id) return fail("TS002 1.1 HomeNSAns without HNSID");
    ev.actual = "HNetID " + hns->h_net_id->hex() + (hh.hns_id ? ", HNSID " + hh.hns_id->hex() : "");
  }
}

// ---- Over the air (run --via-gateway) ----

void Run::start_over_the_air() {
  const RunOptions::ViaGateway& via = *o_.via_gateway;
  if (o_.target.ns.async_listen) {
    report_.setup_error = "over the air: the target answers asynchronously; --via-gateway runs joincheck's NS "
                          "in synchronous mode only";
    return;
  }
  try {
    sim::NetworkServerOptions no;
    no.listen = "127.0.0.1:0";
    no.region = via.region;
    no.js = o_.target.ns;
    no.mac_versions = sim::mac_versions_of(o_.fleet);
    std::shared_ptr<ExchangeQueue> queue = ns_exchanges_;
    no.on_exchange = [queue](const sim::Exchange& e) {
      {
        const std::lock_guard<std::mutex> lock(queue->mutex);
        queue->exchanges.push_back(e);
      }
      queue->ready.notify_all();
    };
    ns_ = std::make_unique<sim::NetworkServer>(no);
    ns_->start();
    sim::AirLinkOptions ao;
    ao.ns_host = "127.0.0.1";
    ao.ns_port = ns_->port();
    ao.region = via.region;
    ao.gateways = via.gateways;
    ao.seed = o_.seed;
    air_ = std::make_unique<sim::AirLink>(ao);
  } catch (const std::exception& e) {
    report_.setup_error = std::string("over the air: the simulated gateway and NS could not be set up: ") + e.what();
  }
}

bool Run::plain_join(const Step& s) {
  return s.kind == StepKind::join && s.dev_nonce.kind == DevNonceChoice::next && !s.corrupt_mic && !s.mac_version &&
         !s.opt_neg && s.phy_payload_change == PhyPayloadChange::none && !s.dev_addr && !s.dl_settings && !s.rx_delay &&
         !s.cf_list_set && !s.protocol_version && !s.sender_id && !s.receiver_id && !s.sender_token &&
         !s.sender_ns_id_set && !s.transaction_id && !s.vs_extension && s.omit.empty() && s.null_fields.empty() &&
         s.set.empty() && s.hex == Step::HexStyle::as_encoded && !s.content_type;
}

std::optional<sim::Exchange> Run::join_over_the_air(DeviceState& ds, Built& b, sim::UplinkReceipt& receipt,
                                                    std::string& problem) {
  {
    const std::lock_guard<std::mutex> lock(ns_exchanges_->mutex);
    ns_exchanges_->exchanges.clear();
  }
  ds.last_air.reset();
  sim::SimDevice& dev = *ds.device;
  const sim::AirRadio radio = air_->radio_for(dev.dev_eui());
  dev.set_uplink_radio(radio.data_rate, radio.channel_index);
  sim::UplinkRadio r;
  r.frequency_hz = radio.frequency_hz;
  r.data_rate = radio.data_rate;
  wait_for_free_air(lorawan::kJoinAcceptDelay1);
  // Every gateway hears it, gateway 0 best: the NS answers through gateway 0.
  for (std::size_t g = 0; g < air_->gateway_euis().size(); ++g) {
    r.rssi = -57 - 6 * static_cast<int>(g);
    try {
      const sim::UplinkReceipt got = air_->gateway(g).uplink(b.phy_payload, r);
      if (g == 0) receipt = got;
    } catch (const sim::GatewayError& e) {
      problem = std::string("the join-request did not reach the NS: ") + e.what();
      return std::nullopt;
    }
  }
  // The NS asks the JS within its deadline (capped to the second join window).
  const auto wait = o_.target.ns.timeout + std::chrono::seconds(2);
  std::unique_lock<std::mutex> lock(ns_exchanges_->mutex);
  if (!ns_exchanges_->ready.wait_for(lock, wait, [&] { return !ns_exchanges_->exchanges.empty(); })) {
    problem = "the NS sent no JoinReq for the join-request within " +
              std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(wait).count()) + " ms";
    for (const auto& e : ns_->events()) {
      if (e.dev_eui && *e.dev_eui == dev.dev_eui()) problem += "; NS: " + sim::to_string(e);
    }
    return std::nullopt;
  }
  sim::Exchange ex = std::move(ns_exchanges_->exchanges.front());
  ns_exchanges_->exchanges.pop_front();
  lock.unlock();
  // What the target received is what the NS sent, not what build() prepared.
  try {
    const backend::Decoded d = backend::decode(ex.request_body, backend::DecodeMode::observing);
    if (const auto* req = std::get_if<backend::JoinReq>(&d.message)) {
      SentRequest& sent = b.sent;
      sent.header = req->header;
      sent.mac_version = req->mac_version ? std::optional(req->mac_version->version) : std::nullopt;
      sent.net_id.reset();
      if (req->header.sender_id.size() == 6 && lorawan::is_hex(req->header.sender_id)) {
        sent.net_id = lorawan::NetId::parse(req->header.sender_id, "SenderID");
      }
      sent.dev_addr = req->dev_addr;
      sent.dl_settings = req->dl_settings;
      sent.rx_delay = req->rx_delay;
      sent.cf_list = req->cf_list;
    }
  } catch (const std::exception&) {
    // joincheck's own NS encodes its requests: nothing to adjust if one could not be read back.
  }
  return ex;
}

namespace {
std::string describe_downlink(const sim::gwmp::TxPacket& txpk, const sim::DownlinkFit& fit) {
  std::string out = std::string(sim::to_string(fit.timing)) + " timing, " +
                    std::to_string(txpk.frequency_hz / 1000) + " kHz " + txpk.datr;
  if (fit.tmst_offset_us) out += ", tmst uplink + " + std::to_string(*fit.tmst_offset_us) + " us";
  return out;
}
}  // namespace

void Run::await_join_accept(DeviceState& ds, const sim::UplinkReceipt& receipt, const Validation& v) {
  DeviceState::AirAnswer air;
  air.join = true;
  const backend::JoinAns* ans = v.answer.message != nullptr ? std::get_if<backend::JoinAns>(v.answer.message) : nullptr;
  if (ans == nullptr || !ans->phy_payload || !v.answer.device_accepted) {
    air.problem = "the JS gave no join-accept the device takes (" +
                  (v.answer.result_text.empty() ? std::string("no usable answer") : v.answer.result_text) +
                  "), so none was sent over the air";
    ds.last_air = air;
    return;
  }
  const auto deadline = receipt.sent_at + lorawan::kJoinAcceptDelay2 + std::chrono::seconds(2);
  // A downlink the gateway refused (TX_ACK TOO_LATE, COLLISION_PACKET, ...) was never emitted:
  // the device heard nothing of it. The NS may send it again for RX2.
  sim::UplinkReceipt after = receipt;
  std::optional<sim::ReceivedDownlink> downlink;
  std::string refused;
  while ((downlink = air_->gateway(0).wait_downlink(after, deadline))) {
    if (!downlink->tx_ack || *downlink->tx_ack == sim::gwmp::TxAckError::none) break;
    refused += "; the gateway refused a downlink (TX_ACK " + std::string(sim::gwmp::to_string(*downlink->tx_ack)) +
               (downlink->note.empty() ? "" : ": " + downlink->note) + ")";
    after.downlink_sequence = downlink->sequence + 1;
  }
  if (!downlink) {
    air.problem = "no downlink reached the gateway before the second join window closed" + refused;
    for (const auto& e : ns_->events()) {
      if (e.dev_eui && *e.dev_eui == ds.device->dev_eui() &&
          (e.kind == sim::NsEventKind::downlink_not_sent || e.kind == sim::NsEventKind::downlink_failed)) {
        air.problem += "; NS: " + sim::to_string(e);
      }
    }
    ds.last_air = air;
    return;
  }
  air.fit = sim::classify_downlink(air_->region(), receipt, downlink->txpk, true);
  air.downlink = describe_downlink(downlink->txpk, *air.fit);
  if (downlink->txpk.data != *ans->phy_payload) {
    air.problem = "the downlink is not the JoinAns PHYPayload (" + std::to_string(downlink->txpk.data.size()) +
                  " bytes, " + lorawan::to_hex(lorawan::ByteSpan(downlink->txpk.data).first(std::min<std::size_t>(4, downlink->txpk.data.size()))) + "...)";
  }
  ds.last_air = air;
}

void Run::wait_for_free_air(std::chrono::microseconds delay) {
  using clock = std::chrono::steady_clock;
  constexpr auto margin = std::chrono::milliseconds(100);
  for (int round = 0; round < 100; ++round) {
    const auto now = clock::now();
    const auto want_start = now + delay - margin;
    const auto want_end = now + delay + std::chrono::milliseconds(300) + margin;
    std::optional<clock::time_point> busy_until;
    for (const auto& d : air_->gateway(0).downlinks()) {
      if (!d.lead_us || (d.tx_ack && *d.tx_ack != sim::gwmp::TxAckError::none)) continue;
      const auto start = d.received_at + std::chrono::microseconds(*d.lead_us);
      const auto end = start + std::chrono::microseconds(static_cast<std::int64_t>(sim::time_on_air_us(d.txpk).value_or(0)));
      if (end < now || start > want_end || end < want_start) continue;
      busy_until = busy_until ? std::max(*busy_until, end) : end;
    }
    if (!busy_until) return;
    std::this_thread::sleep_until(*busy_until - delay + 2 * margin);
  }
}

Run::StepOutcome Run::run_air_step(const Scenario& sc, const Step& step, DeviceState& ds, const std::string& where) {
  StepOutcome out;
  const bool setup = step.check != sc.id;
  sim::SimDevice& dev = *ds.device;
  Evaluation ev;
  ev.scenario = where;
  if (step.kind == StepKind::uplink) {
    if (!dev.joined()) {
      ev.verdict = Verdict::skip;
      ev.reason = "not applicable: device " + dev.dev_eui().hex() + " has not joined";
      rec_->record(step.check, ev);
      out.stop = true;
      out.why = "not run: " + where + " needs a joined device";
      return out;
    }
    // An unconfirmed uplink has no answer to wait for, unless the next step expects one.
    const auto index = static_cast<std::size_t>(&step - sc.steps.data());
    const bool awaited = index + 1 < sc.steps.size() && sc.steps[index + 1].kind == StepKind::expect_downlink &&
                         sc.steps[index + 1].device == step.device;
    sim::AirWaitOptions wait;
    if (!step.confirmed && awaited) {
      wait.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
          lorawan::receive_delay1(dev.session()->rx_delay) + std::chrono::seconds(3));
    }
    wait_for_free_air(lorawan::receive_delay1(dev.session()->rx_delay));
    const sim::AirUplink up = air_->uplink(dev, step.fport, step.frm_payload, step.confirmed, wait);
    DeviceState::AirAnswer air;
    air.join = false;
    air.confirmed = step.confirmed;
    if (!up.sent()) {
      ev.verdict = Verdict::error;
      ev.reason = "over the air: the uplink did not reach the NS: " + up.problem;
      rec_->record(step.check, ev);
      out.stop = true;
      out.why = "not run: " + where + " did not reach the NS";
      return out;
    }
    if (up.downlink) {
      air.fit = up.downlink->fit;
      air.downlink = describe_downlink(up.downlink->downlink.txpk, up.downlink->fit);
      air.taken = up.result;
    } else {
      air.problem = up.problem.empty() ? std::string(sim::to_string(up.status)) : up.problem;
    }
    ds.last_air = air;
    return out;  // sending judges nothing; expect_downlink does
  }

  // expect_downlink
  ev.expected = std::string("a downlink in ") +
                (step.window == Step::Window::rx1 ? "RX1" : step.window == Step::Window::rx2 ? "RX2" : "RX1 or RX2");
  if (!ds.last_air) {
    ev.verdict = Verdict::skip;
    ev.reason = "not applicable: device " + dev.dev_eui().hex() + " sent nothing over the air before this step";
    rec_->record(step.check, ev);
    out.stop = setup;
    out.why = "not run: " + where + " had nothing to wait for";
    out.rest = Verdict::skip;
    return out;
  }
  const DeviceState::AirAnswer& air = *ds.last_air;
  const bool want_ack = step.ack.value_or(!air.join && air.confirmed);
  if (want_ack) ev.expected += " acknowledging the confirmed uplink with a MIC the device verifies";
  if (air.join) ev.expected += " carrying the JS's join-accept";
  std::vector<std::string> wrong;
  if (!air.fit) {
    wrong.push_back(air.problem.empty() ? "no downlink" : air.problem);
  } else {
    if (air.fit->window == sim::RxWindow::none) wrong.push_back(air.fit->reason());
    if (step.window == Step::Window::rx1 && air.fit->window == sim::RxWindow::rx2) wrong.push_back("in RX2, not RX1");
    if (step.window == Step::Window::rx2 && air.fit->window == sim::RxWindow::rx1) wrong.push_back("in RX1, not RX2");
    if (air.join && !air.problem.empty()) wrong.push_back(air.problem);
    if (!air.join && want_ack) {
      if (!air.taken) wrong.push_back("the device did not take a downlink");
      else if (!air.taken->taken()) wrong.push_back("the device refused it: " + air.taken->reason);
      else if (!air.taken->ack) wrong.push_back("no ACK bit (FCtrl.ACK)");
    }
  }
  ev.actual = air.fit ? air.downlink + (air.taken ? "; " + sim::to_string(*air.taken) : "") : "";
  if (wrong.empty()) {
    ev.verdict = Verdict::pass;
  } else {
    ev.verdict = Verdict::fail;
    std::string text;
    for (const auto& w : wrong) text += (text.empty() ? "" : "; ") + w;
    ev.actual = ev.actual.empty() ? text : ev.actual + ": " + text;
  }
  const Verdict verdict = ev.verdict;
  const std::string actual = ev.actual;
  rec_->record(step.check, std::move(ev));
  if (setup && verdict != Verdict::pass) {
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
  return run.go();
}

}  // namespace joincheck::conformance
