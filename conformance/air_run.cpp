#include "conformance/air_run.hpp"

#include <algorithm>
#include <array>
#include <memory>

#include "conformance/replay_hint.hpp"
#include "lorawan/hex.hpp"
#include "sim/device/device.hpp"
#include "sim/gateway/air_link.hpp"
#include "sim/secure_element/factory.hpp"

namespace joincheck::conformance {

namespace {

using Clock = std::chrono::steady_clock;
using lorawan::mhz_text;
using std::chrono::milliseconds;

const char* const kJoinRequestSent = "join-request sent";
const char* const kJoinAcceptReceived = "join-accept received";
const char* const kJoinAcceptWindow = "join-accept window";
const char* const kJoinAcceptMic = "join-accept MIC";
const char* const kKeysDerived = "keys derived";

std::string uplink_step(std::size_t n, bool confirmed) {
  return "uplink " + std::to_string(n) + (confirmed ? " acknowledged" : " sent");
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// The copies that reached the NS, and what happened to the others.
std::string copies_text(const std::vector<sim::AirCopy>& copies) {
  std::size_t acked = 0;
  std::string failures;
  for (const sim::AirCopy& c : copies) {
    if (c.receipt) {
      ++acked;
    } else {
      failures += "; gateway " + c.gateway_eui.hex() + ": " + c.error;
    }
  }
  return "PUSH_DATA acknowledged through " + std::to_string(acked) + " of " + std::to_string(copies.size()) +
         (copies.size() == 1 ? " gateway" : " gateways") + failures;
}

std::string radio_text(const sim::AirRadio& r) {
  return mhz_text(r.frequency_hz) + " " + r.datr + " (DR" + std::to_string(r.data_rate) + ", channel " +
         std::to_string(r.channel_index) + ")";
}

std::string window_text(const sim::AirDownlink& d) {
  std::string s = std::string(sim::to_string(d.fit.window)) + ": " + mhz_text(d.downlink.txpk.frequency_hz) +
                  " " + d.downlink.txpk.datr;
  if (d.fit.tmst_offset_us) s += ", tmst uplink + " + std::to_string(*d.fit.tmst_offset_us) + " us";
  return s + ", through gateway " + d.gateway_eui.hex();
}

// Records the steps of one device; the first that is not pass kills it.
class Steps {
 public:
  explicit Steps(AirDeviceResult& r) : r_(r) {}

  bool alive() const { return r_.died_at.empty(); }

  void add(const std::string& name, Verdict verdict, std::string detail, milliseconds elapsed = milliseconds(0)) {
    AirStep s;
    s.name = name;
    s.verdict = verdict;
    s.detail = std::move(detail);
    s.elapsed = elapsed;
    if (verdict != Verdict::pass && alive()) {
      r_.died_at = name;
      r_.died_detail = s.detail;
    }
    r_.steps.push_back(std::move(s));
  }
  void pass(const std::string& name, std::string detail, milliseconds elapsed = milliseconds(0)) {
    add(name, Verdict::pass, std::move(detail), elapsed);
  }
  void fail(const std::string& name, std::string detail, milliseconds elapsed = milliseconds(0)) {
    add(name, Verdict::fail, std::move(detail), elapsed);
  }
  void error(const std::string& name, std::string detail, milliseconds elapsed = milliseconds(0)) {
    add(name, Verdict::error, std::move(detail), elapsed);
  }

  // Every step of `names` not recorded yet, as skipped.
  void skip_rest(const std::vector<std::string>& names) {
    for (std::size_t i = r_.steps.size(); i < names.size(); ++i) {
      add(names[i], Verdict::skip, "not run: the device died at " + r_.died_at);
    }
  }

 private:
  AirDeviceResult& r_;
};

// The error of a step a secure element (or the device's own state) made impossible to judge.
std::string device_error_text(const std::exception& e) {
  if (dynamic_cast<const sim::SecureElementError*>(&e) != nullptr) {
    return std::string("the device's secure element failed: ") + e.what();
  }
  return std::string("the device cannot do it: ") + e.what();
}

class DeviceRun {
 public:
  DeviceRun(const AirRunOptions& o, sim::AirLink& link, const sim::FleetDevice& fd,
            sim::atecc608::ChipFileCache& chips)
      : o_(o), link_(link), fd_(fd), chips_(chips), steps_(r_) {
    r_.dev_eui = fd.dev_eui.hex();
    r_.mac_version = std::string(lorawan::to_string(fd.mac_version));
    names_ = {kJoinRequestSent, kJoinAcceptReceived, kJoinAcceptWindow, kJoinAcceptMic, kKeysDerived};
    for (std::size_t n = 1; n <= o.uplinks; ++n) names_.push_back(uplink_step(n, o.confirmed));
  }

  AirDeviceResult run() {
    const Clock::time_point t0 = Clock::now();
    if (make_device()) {
      // Each phase stops at the first step that is not pass; the rest are skipped below.
      try {
        if (join()) uplinks();
      } catch (const std::exception& e) {
        // A secure element that failed mid-way, a DevNonce counter exhausted: the step under
        // way could not be judged.
        steps_.error(names_[std::min(r_.steps.size(), names_.size() - 1)], device_error_text(e));
      }
      if (o_.device_counters != nullptr) (*o_.device_counters)[r_.dev_eui] = device_->counters();
    }
    steps_.skip_rest(names_);
    r_.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    return std::move(r_);
  }

  bool cancelled() const { return cancelled_; }

 private:
  bool make_device() {
    try {
      sim::SimDeviceOptions so;
      so.seed = o_.seed;
      device_ = std::make_unique<sim::SimDevice>(
          fd_, sim::make_secure_element(fd_, o_.fleet.folder, o_.seed ^ 0x5345ULL, &chips_), so);
      if (o_.device_counters != nullptr) {
        if (auto c = o_.device_counters->find(r_.dev_eui); c != o_.device_counters->end()) {
          device_->restore(c->second);
          counters_from_state_ = true;
        }
      }
      return true;
    } catch (const sim::SecureElementError& e) {
      steps_.error(kJoinRequestSent, std::string("the device's secure element failed: ") + e.what());
    } catch (const std::exception& e) {
      steps_.error(kJoinRequestSent, std::string("the device cannot be simulated: ") + e.what());
    }
    device_.reset();
    return false;
  }

  sim::AirWaitOptions wait_for(const std::optional<milliseconds>& timeout) const {
    sim::AirWaitOptions w;
    w.timeout = timeout;
    w.cancel = o_.cancel;
    return w;
  }

  bool join() {
    const sim::AirJoin j = link_.join(*device_, wait_for(o_.join_timeout));
    if (j.status == sim::AirStatus::not_sent) {
      r_.ns_unreachable = true;
      steps_.error(kJoinRequestSent, j.problem + " (DevNonce " + std::to_string(j.dev_nonce.value()) + ")");
      return false;
    }
    steps_.pass(kJoinRequestSent, copies_text(j.copies) + "; DevNonce " + std::to_string(j.dev_nonce.value()) +
                                      " on " + radio_text(j.radio));
    if (j.status == sim::AirStatus::cancelled) {
      cancelled_ = true;
      steps_.error(kJoinAcceptReceived, j.problem + " (after " + ms_text(j.elapsed) + ")", j.elapsed);
      return false;
    }
    if (j.status != sim::AirStatus::answered || !j.downlink || !j.result) {
      // The most common cause first: the same fleet run again, its DevNonces replayed. The NS's
      // log has the JS's actual answer (joincheck serve-ns prints its Result).
      steps_.fail(kJoinAcceptReceived,
                  j.problem + "; " + devnonce_replay_hint(counters_from_state_) +
                      " (the NS's log shows the JS's Result, e.g. JoinReqFailed). Other causes: the JS does not "
                      "know the device, the NS cannot reach the JS or does not know the device",
                  j.elapsed);
      return false;
    }
    const sim::AirDownlink& d = *j.downlink;
    r_.join_time = j.elapsed;
    r_.join_window = std::string(sim::to_string(d.fit.window));
    r_.join_datr = d.downlink.txpk.datr;
    r_.join_frequency_hz = d.downlink.txpk.frequency_hz;
    r_.join_gateway = d.gateway_eui.hex();
    std::string received = "after " + ms_text(j.elapsed) + " through gateway " + d.gateway_eui.hex();
    if (!j.ignored.empty()) {
      received += "; " + std::to_string(j.ignored.size()) + " other downlink(s) ignored (first: " +
                  j.ignored.front().why + ")";
    }
    steps_.pass(kJoinAcceptReceived, received, j.elapsed);
    if (d.fit.window == sim::RxWindow::none) {
      steps_.fail(kJoinAcceptWindow, d.fit.reason());
      return false;
    }
    steps_.pass(kJoinAcceptWindow, window_text(d));
    const sim::JoinResult& result = *j.result;
    if (!result.accepted()) {
      steps_.fail(kJoinAcceptMic, std::string(sim::to_string(result.status)) + ": " + result.reason);
      return false;
    }
    std::string accepted = "accepted";
    if (result.accept) {
      const lorawan::JoinAccept& a = *result.accept;
      accepted += ": JoinNonce " + std::to_string(a.join_nonce.value()) + ", NetID " + a.net_id.hex() +
                  ", DevAddr " + a.dev_addr.hex() + ", DLSettings " + lorawan::to_hex(std::array{a.dl_settings.raw}) +
                  ", RxDelay " + std::to_string(a.rx_delay);
    }
    if (result.mode) accepted += " (" + std::string(lorawan::to_string(*result.mode)) + ")";
    steps_.pass(kJoinAcceptMic, accepted);
    if (!device_->joined()) {
      steps_.fail(kKeysDerived, "the device accepted the join-accept but holds no session");
      return false;
    }
    const sim::Session& s = *device_->session();
    r_.dev_addr = s.dev_addr.hex();
    steps_.pass(kKeysDerived, std::string(lorawan::to_string(s.mode)) + " session keys derived in the " +
                                  "secure element; DevAddr " + s.dev_addr.hex());
    return true;
  }

  void uplinks() {
    for (std::size_t n = 1; n <= o_.uplinks; ++n) {
      if (o_.cancel != nullptr && o_.cancel->load()) {
        cancelled_ = true;
        steps_.error(uplink_step(n, o_.confirmed), "cancelled before the uplink");
        return;
      }
      const std::string name = uplink_step(n, o_.confirmed);
      const sim::AirUplink u = link_.uplink(*device_, o_.fport, o_.payload, o_.confirmed, wait_for(o_.ack_timeout));
      const std::string sent = "FCnt " + std::to_string(u.fcnt) + (o_.confirmed ? " confirmed" : " unconfirmed") +
                               ", FPort " + std::to_string(u.fport) + " on " + radio_text(u.radio) + "; ";
      if (u.status == sim::AirStatus::not_sent) {
        r_.ns_unreachable = true;
        steps_.error(name, sent + u.problem);
        return;
      }
      ++r_.uplinks_sent;
      if (u.status == sim::AirStatus::cancelled) {
        cancelled_ = true;
        steps_.error(name, sent + u.problem, u.elapsed);
        return;
      }
      if (!o_.confirmed) {
        std::string detail = sent + copies_text(u.copies);
        if (u.downlink && u.result) {
          detail += "; a downlink came after " + ms_text(u.elapsed) + " (" + sim::to_string(*u.result) + ")";
        }
        steps_.pass(name, detail, u.elapsed);
        continue;
      }
      if (u.status != sim::AirStatus::answered || !u.downlink || !u.result) {
        steps_.fail(name, sent + u.problem, u.elapsed);
        return;
      }
      const sim::AirDownlink& d = *u.downlink;
      if (d.fit.window == sim::RxWindow::none) {
        steps_.fail(name, sent + "the ACK downlink fits no receive window: " + d.fit.reason(), u.elapsed);
        return;
      }
      const sim::DownlinkResult& r = *u.result;
      if (!r.taken()) {
        steps_.fail(name, sent + "the device refused the downlink: " + r.reason, u.elapsed);
        return;
      }
      if (!r.ack) {
        steps_.fail(name,
                    sent + "a downlink (FCntDown " + std::to_string(r.fcnt) +
                        ") came in " + std::string(sim::to_string(d.fit.window)) + " without FCtrl.ACK",
                    u.elapsed);
        return;
      }
      ++r_.uplinks_acknowledged;
      steps_.pass(name,
                  sent + "ACK in " + window_text(d) + " after " + ms_text(u.elapsed) + ", FCntDown " +
                      std::to_string(r.fcnt) + ", MIC valid",
                  u.elapsed);
    }
  }

  const AirRunOptions& o_;
  sim::AirLink& link_;
  const sim::FleetDevice& fd_;
  sim::atecc608::ChipFileCache& chips_;
  AirDeviceResult r_;
  Steps steps_;
  std::vector<std::string> names_;
  std::unique_ptr<sim::SimDevice> device_;
  bool counters_from_state_ = false;  // the device's DevNonce counters came from the state file
  bool cancelled_ = false;
};

// A device the run did not reach.
AirDeviceResult not_run(const AirRunOptions& o, const sim::FleetDevice& fd) {
  AirDeviceResult r;
  r.dev_eui = fd.dev_eui.hex();
  r.mac_version = std::string(lorawan::to_string(fd.mac_version));
  std::vector<std::string> names{kJoinRequestSent, kJoinAcceptReceived, kJoinAcceptWindow, kJoinAcceptMic, kKeysDerived};
  for (std::size_t n = 1; n <= o.uplinks; ++n) names.push_back(uplink_step(n, o.confirmed));
  for (const std::string& name : names) {
    AirStep s;
    s.name = name;
    s.verdict = Verdict::skip;
    s.detail = "not run: the run was cancelled";
    r.steps.push_back(std::move(s));
  }
  return r;
}

}  // namespace

Verdict AirDeviceResult::verdict() const {
  Verdict worst = Verdict::skip;
  for (const AirStep& s : steps) {
    if (severity(s.verdict) > severity(worst)) worst = s.verdict;
  }
  return worst;
}

AirReport::Counts AirReport::counts() const {
  Counts c;
  for (const AirDeviceResult& d : devices) {
    switch (d.verdict()) {
      case Verdict::fail:
        ++c.fail;
        break;
      case Verdict::error:
        ++c.error;
        break;
      case Verdict::skip:
        ++c.skip;
        break;
      default:
        ++c.pass;
        break;
    }
  }
  return c;
}

int AirReport::exit_code() const {
  if (!setup_error.empty()) return exit_unreachable;
  const Counts c = counts();
  if (c.fail > 0) return exit_failed;
  const bool unreachable = std::any_of(devices.begin(), devices.end(),
                                       [](const AirDeviceResult& d) { return d.ns_unreachable; });
  if (unreachable) return exit_unreachable;
  if (c.error > 0 || cancelled || devices.empty()) return exit_failed;
  return exit_ok;
}

AirReport run_over_the_air(const AirRunOptions& o) {
  if (o.fleet.devices.empty()) throw lorawan::Error("over-the-air run: the fleet has no device");
  if (o.fport == 0 || o.fport > 223) {
    throw lorawan::Error("over-the-air run: FPort " + std::to_string(o.fport) +
                         ": expected 1..223 (0 carries MAC commands, 224..255 are reserved)");
  }
  if (o.uplinks > 100000) {
    throw lorawan::Error("over-the-air run: " + std::to_string(o.uplinks) + " uplinks per device: expected at most 100000");
  }
  AirReport report;
  const Clock::time_point t0 = Clock::now();
  report.started_at = iso8601_utc(std::chrono::system_clock::now());
  sim::UdpAddress ns;
  ns.host = o.ns_host;
  ns.port = o.ns_port;
  report.ns = ns.text();
  report.region = std::string(lorawan::to_string(o.region));
  report.uplinks = o.uplinks;
  report.confirmed = o.confirmed;

  sim::AirLinkOptions lo;
  lo.ns_host = o.ns_host;
  lo.ns_port = o.ns_port;
  lo.region = o.region;
  lo.gateways = o.gateways;
  lo.seed = o.seed;
  lo.channels = o.channels;
  lo.ack_timeout = o.gwmp_ack_timeout;
  lo.attempts = o.gwmp_attempts;
  lo.wait_for_emission = o.wait_for_emission;
  lo.stat_interval = o.stat_interval;
  std::unique_ptr<sim::AirLink> link;
  try {
    link = std::make_unique<sim::AirLink>(lo);
  } catch (const sim::GatewayError& e) {
    report.setup_error = std::string(e.what()) + "; is a gateway bridge (Semtech UDP) listening there?";
    report.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
    return report;
  }
  for (const auto& eui : link->gateway_euis()) report.gateways.push_back(eui.hex());

  sim::atecc608::ChipFileCache chips;
  const std::size_t n = std::min(o.max_devices.value_or(o.fleet.devices.size()), o.fleet.devices.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (report.cancelled || (o.cancel != nullptr && o.cancel->load())) {
      report.cancelled = true;
      ++report.devices_not_run;
      report.devices.push_back(not_run(o, o.fleet.devices[i]));
      if (o.on_device) o.on_device(report.devices.back());
      continue;
    }
    DeviceRun run(o, *link, o.fleet.devices[i], chips);
    report.devices.push_back(run.run());
    if (run.cancelled()) report.cancelled = true;
    if (o.on_device) o.on_device(report.devices.back());
  }
  report.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  return report;
}

}  // namespace joincheck::conformance
