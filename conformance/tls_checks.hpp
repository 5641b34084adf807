#pragma once
// The tls/ checks: the Join Server's side of TLS as a Network Server meets it, and its
// authentication of clients (TS002 1.0 §3, §20; docs/checks.md#tls). They run once per
// `joincheck run` against an https:// target, before the scenarios, and once per configured JS in
// `joincheck doctor`.
//
//  - server side: one handshake with the NS's own settings; the chain the JS presented is then
//    judged against the NS's trust anchors (ca_cert, the system roots, or both, as the NS
//    treats them) apart from its dates, the host name apart from the chain, the validity
//    dates apart from both; TLS 1.0 and 1.1 handshakes must fail; the negotiated version and
//    cipher are recorded;
//  - clients (when the target declares that it requires client authentication): the NS's own
//    certificate is accepted, and a connection without a certificate, with one from another
//    CA, an expired one, or one of another NetID is refused (a failed handshake, or
//    UnknownSender). Each client probe is a JoinReq for an unknown device.
//
// Every failure says what was presented (subject, issuer, validity), which file was tried,
// and which setting to change; the setting names come from TlsSettingNames, so that doctor
// can name a ChirpStack setting where `run` names the target file's.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "conformance/result.hpp"
#include "conformance/target.hpp"
#include "lorawan/types.hpp"

namespace joincheck::conformance {

// How the fix names each setting: "[tls] ca_cert in target.toml",
// "ca_cert of [join_server.default] (chirpstack.toml:14)".
struct TlsSettingNames {
  std::string url = "url";
  std::string ca_cert = "[tls] ca_cert";
  std::string tls_cert = "[tls] tls_cert";
  std::string tls_key = "[tls] tls_key";
  // Who connects (for wording): "joincheck", "ChirpStack v4".
  std::string client = "joincheck";
};
// The names for a target file (its path appended when it has one).
TlsSettingNames target_setting_names(const TargetConfig& target);

struct TlsJudgement {
  std::string check;  // a tls/ id
  Evaluation evaluation;
  std::optional<TraceExchange> exchange;  // the probe behind it; Evaluation::exchange unset
};

struct TlsCheckInputs {
  // The checks wanted (a tls/ id); null: all.
  std::function<bool(const std::string&)> selected;
  // The JoinEUI of the probe JoinReqs (one the JS serves, so that its answer is about the
  // sender); default: 0000000000000000.
  std::optional<lorawan::Eui64> join_eui;
  TlsSettingNames names;
  bool reveal_keys = false;
};

// Whether the URL is https (the tls/ checks apply).
bool tls_checks_apply(const TargetConfig& target);

// Runs the probes and judges every tls/ check (skipped ones with the reason). Never throws
// for anything the target does; unusable TLS files of the NS give `error` verdicts.
std::vector<TlsJudgement> judge_tls(const TargetConfig& target, const TlsCheckInputs& inputs);

// Why the tls/ checks did not run against a plain-HTTP target.
std::string tls_not_applicable_reason(const TargetConfig& target);

}  // namespace joincheck::conformance
