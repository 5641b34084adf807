#pragma once
// Helpers the doctor tests share to read a DoctorResult and say what it found.

#include <chrono>
#include <string>

#include "backend/test_pki.hpp"
#include "conformance/doctor.hpp"
#include "sim/join_server/service.hpp"

namespace joincheck::conformance::test_support {

// The finding `id`; nullptr when the report has none.
inline const CheckResult* find(const DoctorResult& r, const std::string& id) {
  for (const auto& res : r.report.results) {
    if (res.check.id == id) return &res;
  }
  return nullptr;
}

// Every finding with its verdict, expected, actual and reason: the message of a failed assertion.
inline std::string show(const DoctorResult& r) {
  std::string s;
  for (const auto& res : r.report.results) {
    s += std::string(to_string(res.verdict)) + " " + res.check.id + "\n  expected: " + res.expected +
         "\n  actual: " + res.actual + "\n  reason: " + res.reason + "\n";
  }
  return s;
}

// The reference JS over HTTPS (the test PKI's server certificate), requiring a client
// certificate from the test root CA, serving NetID 000001 with KEK label "000001" and every
// JoinEUI: what the live doctor tests connect to as each ChirpStack version would.
inline sim::JoinServerServiceOptions https_js() {
  using namespace std::chrono_literals;
  const backend::testing::TestPki& pki = backend::testing::TestPki::get();
  sim::JoinServerServiceOptions o;
  o.http.threads = 1;
  o.http.handshake_timeout = 2000ms;
  o.http.header_timeout = 2000ms;
  o.http.linger_timeout = 300ms;
  backend::TlsServerOptions tls;
  tls.cert_file = pki.server_cert;
  tls.key_file = pki.server_key;
  tls.client_cert = backend::ClientCertMode::require;
  tls.client_ca_file = pki.root_ca;
  o.http.tls = tls;
  sim::NetIdPeer peer;
  peer.net_id = lorawan::NetId::parse("000001");
  peer.kek_label = "000001";
  peer.kek = lorawan::from_hex("000102030405060708090a0b0c0d0e0f", "kek");
  o.js.net_ids.push_back(peer);
  o.js.join_euis.push_back(sim::parse_join_eui_range("0000000000000000/0"));
  return o;
}

}  // namespace joincheck::conformance::test_support
