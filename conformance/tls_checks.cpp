#include "conformance/tls_checks.hpp"

#include <nlohmann/json.hpp>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <random>

#include "backend/codec.hpp"
#include "backend/http_client.hpp"
#include "backend/tls_probe.hpp"
#include "conformance/validator.hpp"
#include "sim/network_server/ns_client.hpp"

namespace joincheck::conformance {

namespace fs = std::filesystem;
using backend::Certificate;
using backend::TlsVersion;

namespace {

constexpr auto kExpiryWarning = std::chrono::hours(24 * 30);
// How long a probe waits after a TLS 1.3 handshake for the server to refuse the certificate.
constexpr std::chrono::milliseconds kAwaitRefusal{300};

std::string cert_text(const Certificate& cert) { return backend::to_string(backend::describe(cert)); }

std::string setting(const std::string& name, const fs::path& value) {
  return name + (value.empty() ? " (not set)" : "=" + value.string());
}

// The subjects of a CA file's certificates ("CN=A; CN=B"), or why it cannot be read.
std::string anchors_of(const fs::path& file) {
  try {
    std::string out;
    for (const Certificate& c : backend::load_certificates(file)) {
      out += (out.empty() ? "" : "; ") + c.subject();
    }
    return out;
  } catch (const std::exception& e) {
    return std::string("unreadable: ") + e.what();
  }
}

// The CA a chain needs to be trusted: the issuer of its topmost certificate (its subject when
// the chain ends with a self-signed root).
std::string needed_ca(const std::vector<Certificate>& chain) {
  const Certificate& top = chain.back();
  return top.is_self_signed() ? top.subject() : top.issuer();
}

class Judge {
 public:
  Judge(const TargetConfig& target, const TlsCheckInputs& in) : t_(target), in_(in), n_(in.names) {}

  std::vector<TlsJudgement> run();

 private:
  bool want(const std::string& id) const { return !in_.selected || in_.selected(id); }
  void add(const std::string& id, Evaluation e, std::optional<TraceExchange> trace = std::nullopt) {
    if (!want(id)) return;
    e.scenario = "tls";
    out_.push_back({id, std::move(e), std::move(trace)});
  }
  void add_all(const std::vector<std::string>& ids, Verdict v, const std::string& reason) {
    for (const auto& id : ids) {
      Evaluation e;
      e.verdict = v;
      e.reason = reason;
      add(id, std::move(e));
    }
  }
  backend::TlsProbeResult probe(const backend::TlsClientOptions& tls, std::chrono::milliseconds await = {}) const {
    backend::TlsProbeOptions o;
    o.url = t_.ns.url;
    o.tls = tls;
    o.timeout = t_.ns.timeout;
    o.await_refusal = await;
    return backend::probe_tls(o);
  }
  TraceExchange handshake_trace(const std::string& label, const backend::TlsProbeResult& r) const;

  void judge_server(const backend::TlsProbeResult& r, const std::optional<TraceExchange>& trace);
  void judge_chain(const std::vector<Certificate>& chain, const std::optional<TraceExchange>& trace);
  void judge_hostname(const Certificate& leaf, const std::optional<TraceExchange>& trace);
  void judge_validity(const Certificate& leaf, const std::optional<TraceExchange>& trace);
  void judge_legacy_versions();
  void judge_clients(const backend::TlsProbeResult& main);

  // A JoinReq for an unknown device with `identity` (none: no client certificate).
  struct ClientProbe {
    bool refused = false;  // failed handshake or UnknownSender
    bool error = false;    // could not judge (e.g. the probe's own files are unusable)
    std::string how;       // "handshake failed: ...", "Result UnknownDevEUI"
    TraceExchange trace;
  };
  ClientProbe client_probe(const std::string& label, const TlsProbeIdentity& identity);
  void judge_refusal(const std::string& id, const std::string& what, const TlsProbeIdentity& identity,
                     const std::string& missing_setting);

  const TargetConfig& t_;
  const TlsCheckInputs& in_;
  const TlsSettingNames& n_;
  std::vector<TlsJudgement> out_;
  std::mt19937 rng_{std::random_device{}()};
};

TraceExchange Judge::handshake_trace(const std::string& label, const backend::TlsProbeResult& r) const {
  TraceExchange x;
  x.label = label;
  x.url = t_.ns.url;
  x.transport_error = r.error;
  if (!r.session.version.empty()) x.notes.push_back("negotiated " + r.session.version + ", " + r.session.cipher);
  for (std::size_t i = 0; i < r.session.peer_chain.size(); ++i) {
    x.notes.push_back("server certificate #" + std::to_string(i + 1) + ": " + cert_text(r.session.peer_chain[i]));
  }
  if (r.client_certificate_requested) {
    std::string cas;
    for (const auto& ca : r.acceptable_client_cas) cas += (cas.empty() ? "" : "; ") + ca;
    x.notes.push_back("the server asked for a client certificate" +
                      (cas.empty() ? std::string(" (no CA names given)") : ", issued by: " + cas));
  }
  return x;
}

std::vector<TlsJudgement> Judge::run() {
  const std::vector<std::string> server_ids = {"tls/server-chain", "tls/server-hostname", "tls/server-validity",
                                               "tls/legacy-versions-refused", "tls/negotiated"};
  const std::vector<std::string> client_ids = {"tls/client-cert-accepted", "tls/client-cert-required",
                                               "tls/unknown-client-ca", "tls/expired-client-cert",
                                               "tls/client-cert-net-id"};
  std::vector<std::string> all = server_ids;
  all.insert(all.end(), client_ids.begin(), client_ids.end());
  bool any = false;
  for (const auto& id : all) any |= want(id);
  if (!any) return {};

  backend::TlsProbeResult main;
  try {
    main = probe(t_.ns.tls, kAwaitRefusal);
  } catch (const std::exception& e) {
    add_all(all, Verdict::error,
            std::string("the TLS settings of ") + n_.client + " are unusable: " + e.what() +
                "; fix the file named there (" + n_.ca_cert + ", " + n_.tls_cert + ", " + n_.tls_key + ")");
    return std::move(out_);
  }
  if (!main.connected) {
    add_all(all, Verdict::error, "cannot connect to " + t_.ns.url + ": " + main.error + "; check " + n_.url);
    return std::move(out_);
  }
  judge_server(main, handshake_trace("tls: handshake with the settings of " + n_.client, main));
  judge_legacy_versions();
  judge_clients(main);
  return std::move(out_);
}

void Judge::judge_server(const backend::TlsProbeResult& r, const std::optional<TraceExchange>& trace) {
  const auto& chain = r.session.peer_chain;
  if (chain.empty()) {
    Evaluation e;
    e.verdict = Verdict::fail;
    e.expected = "the JS presents its certificate chain";
    e.actual = "no certificate" + (r.error.empty() ? std::string() : " (handshake: " + r.error + ")");
    add("tls/server-chain", e, trace);
    add("tls/server-hostname", e);
    add("tls/server-validity", e);
  } else {
    judge_chain(chain, trace);
    judge_hostname(chain.front(), std::nullopt);
    judge_validity(chain.front(), std::nullopt);
  }
  Evaluation e;
  if (r.session.version.empty()) {
    e.verdict = Verdict::skip;
    e.reason = "no handshake completed with the settings of " + n_.client + ": " + r.error;
  } else {
    e.expected = "TLSv1.2 or TLSv1.3";
    e.actual = r.session.version + ", " + r.session.cipher;
    e.verdict = (r.session.version == "TLSv1.2" || r.session.version == "TLSv1.3") ? Verdict::pass : Verdict::fail;
  }
  add("tls/negotiated", e);
}

void Judge::judge_chain(const std::vector<Certificate>& chain, const std::optional<TraceExchange>& trace) {
  const fs::path& ca = t_.ns.tls.ca_file;
  const bool adds = t_.ns.tls.ca_adds_to_system_roots;
  Evaluation e;
  if (ca.empty()) {
    e.expected = "a chain to one of the system's root CAs (" + n_.ca_cert + " is not set)";
  } else {
    e.expected = "a chain to the CA in " + setting(n_.ca_cert, ca) + " (" + anchors_of(ca) + ")" +
                 (adds ? " or to a system root" : "");
  }
  backend::VerifyResult v;
  try {
    const backend::CaStore store = ca.empty() ? backend::CaStore::system_roots()
                                   : adds     ? backend::CaStore::system_roots(ca)
                                              : backend::CaStore::load(ca);
    v = store.verify(chain, backend::CertificatePurpose::tls_server, /*check_time=*/false);
  } catch (const std::exception& ex) {
    e.verdict = Verdict::error;
    e.reason = std::string(ex.what()) + "; fix " + n_.ca_cert;
    add("tls/server-chain", e, trace);
    return;
  }
  const Certificate& leaf = chain.front();
  e.actual = "the JS presented " + cert_text(leaf) +
             (chain.size() > 1 ? " and " + std::to_string(chain.size() - 1) + " CA certificate(s) up to " +
                                     chain.back().subject()
                               : std::string(" alone"));
  if (v.ok) {
    e.verdict = Verdict::pass;
    add("tls/server-chain", e, trace);
    return;
  }
  e.verdict = Verdict::fail;
  e.actual += "; verification: " + v.message();
  const std::string need = needed_ca(chain);
  if (v.error == X509_V_ERR_INVALID_PURPOSE) {
    e.reason = "fix: the JS's certificate is not for TLS servers (its extended key usage lacks serverAuth); "
               "give the JS a server certificate";
  } else if (ca.empty()) {
    e.reason = "fix: the JS presented a certificate issued by " + need +
               ", which is not among the system's root CAs; set " + n_.ca_cert +
               " to a PEM file holding " + need + "'s certificate";
  } else {
    e.reason = "fix: the JS presented a certificate issued by " + need + ", which is not the CA in " +
               setting(n_.ca_cert, ca) + "; put " + need + "'s certificate there";
    if (chain.size() == 1 && !leaf.is_self_signed()) {
      e.reason += ", or, if " + need + " is an intermediate CA of the CA in that file, make the JS send it "
                  "after its own certificate (the JS's certificate file: leaf, then intermediate)";
    }
  }
  add("tls/server-chain", e, trace);
}

void Judge::judge_hostname(const Certificate& leaf, const std::optional<TraceExchange>& trace) {
  const std::string host = backend::HttpUrl::parse(t_.ns.url).host;
  Evaluation e;
  e.expected = "a certificate for " + host + " (the host of " + n_.url + "=" + t_.ns.url + ")";
  std::string names;
  for (const auto& san : leaf.subject_alt_names()) names += (names.empty() ? "" : ", ") + san;
  if (names.empty()) names = "no subjectAltName; CN=" + leaf.common_name();
  e.actual = "a certificate for " + names + " (subject '" + leaf.subject() + "')";
  if (leaf.matches_host(host)) {
    e.verdict = Verdict::pass;
  } else {
    e.verdict = Verdict::fail;
    e.reason = "fix: set " + n_.url + " to a name the certificate holds (" + names +
               "), or give the JS a certificate whose subjectAltName includes " +
               (backend::HttpUrl::parse(t_.ns.url).host.find_first_not_of("0123456789.:") == std::string::npos
                    ? "IP:"
                    : "DNS:") +
               host;
  }
  add("tls/server-hostname", e, trace);
}

void Judge::judge_validity(const Certificate& leaf, const std::optional<TraceExchange>& trace) {
  const auto now = std::chrono::system_clock::now();
  Evaluation e;
  e.expected = "a certificate valid now (and for more than 30 days)";
  e.actual = "subject '" + leaf.subject() + "', valid " + backend::describe(leaf).not_before + " to " + backend::describe(leaf).not_after;
  if (now < leaf.not_before()) {
    e.verdict = Verdict::fail;
    e.reason = "fix: the JS's certificate is not valid before " + backend::describe(leaf).not_before +
               "; check the clocks of the JS and of this host, or reissue the certificate";
  } else if (now > leaf.not_after()) {
    e.verdict = Verdict::fail;
    e.reason = "fix: the JS's certificate expired on " + backend::describe(leaf).not_after + "; renew it on the JS";
  } else if (leaf.not_after() - now < kExpiryWarning) {
    e.verdict = Verdict::warn;
    e.reason = "the JS's certificate expires on " + backend::describe(leaf).not_after + ", within 30 days; renew it soon";
  } else {
    e.verdict = Verdict::pass;
  }
  add("tls/server-validity", e, trace);
}

void Judge::judge_legacy_versions() {
  if (!want("tls/legacy-versions-refused")) return;
  Evaluation e;
  e.expected = "TLSv1 and TLSv1.1 handshakes refused";
  std::vector<std::string> accepted;
  std::string seen;
  std::optional<TraceExchange> trace;
  for (const TlsVersion v : {TlsVersion::tls1_0, TlsVersion::tls1_1}) {
    backend::TlsClientOptions tls = t_.ns.tls;
    tls.min_version = v;
    tls.max_version = v;
    backend::TlsProbeResult r;
    try {
      r = probe(tls);
    } catch (const std::exception& ex) {
      e.verdict = Verdict::error;
      e.reason = std::string("the ") + std::string(backend::to_string(v)) + " probe could not be set up: " + ex.what();
      add("tls/legacy-versions-refused", e);
      return;
    }
    const std::string name(backend::to_string(v));
    if (r.handshake_ok) {
      accepted.push_back(name);
      seen += (seen.empty() ? "" : "; ") + name + " accepted (" + r.session.cipher + ")";
      if (!trace) trace = handshake_trace("tls/legacy-versions-refused: a " + name + " handshake", r);
    } else {
      seen += (seen.empty() ? "" : "; ") + name + " refused (" + r.error + ")";
    }
  }
  e.actual = seen;
  e.verdict = accepted.empty() ? Verdict::pass : Verdict::fail;
  if (!accepted.empty()) {
    e.reason = "fix: configure the JS's TLS listener with a minimum version of TLS 1.2 (RFC 8996 deprecates "
               "TLS 1.0 and 1.1)";
  }
  add("tls/legacy-versions-refused", e, trace);
}

Judge::ClientProbe Judge::client_probe(const std::string& label, const TlsProbeIdentity& identity) {
  ClientProbe p;
  backend::HttpClientOptions ho;
  ho.tls = t_.ns.tls;
  ho.tls.verify_peer = false;  // the server side is judged on its own
  ho.tls.cert_file = identity.cert;
  ho.tls.key_file = identity.key;
  ho.tls.chain_file.clear();
  ho.headers = t_.ns.headers;
  ho.timeout = t_.ns.timeout;
  ho.keep_alive = false;

  sim::FleetDevice d;
  d.dev_eui = lorawan::Eui64::parse("fffffffffffffe01");
  d.join_eui = in_.join_eui.value_or(lorawan::Eui64{});
  d.mac_version = lorawan::MacVersion::v1_0_3;
  d.app_key = lorawan::Aes128Key{};
  sim::JoinReqFields f;
  f.header = backend::Header(backend::MessageType::join_req);
  f.header.protocol_version = t_.ns.protocol_version;
  f.header.sender_id = t_.ns.net_id.hex();
  f.header.transaction_id = std::uniform_int_distribution<std::uint32_t>(1, 0xffffffffu)(rng_);
  f.header.sender_token = t_.ns.sender_token;
  if (t_.ns.protocol_version == backend::ProtocolVersion::v1_1) f.header.sender_ns_id = t_.ns.ns_id;
  const backend::JoinReq req =
      sim::make_join_req(d, lorawan::DevNonce(static_cast<std::uint16_t>(rng_() & 0xffffu)), f);

  backend::HttpClientRequest hr;
  hr.url = t_.ns.paths.count(backend::MessageType::join_req) != 0 &&
                   t_.ns.paths.at(backend::MessageType::join_req).rfind("http", 0) == 0
               ? t_.ns.paths.at(backend::MessageType::join_req)
               : t_.ns.url;
  hr.content_type = t_.ns.content_type;
  hr.body = backend::encode(backend::Message(req));

  TraceExchange& x = p.trace;
  x.label = label;
  x.url = hr.url;
  x.request_headers.emplace_back("Content-Type", hr.content_type);
  for (const auto& h : t_.ns.headers) {
    const bool secret = backend::iequals(h.name, "Authorization");
    x.request_headers.emplace_back(h.name, secret && !in_.reveal_keys ? "<redacted>" : h.value);
  }
  x.request_body = hr.body;
  if (!identity.empty()) x.notes.push_back("client certificate " + identity.cert.string());
  const auto t0 = std::chrono::steady_clock::now();
  try {
    backend::BlockingHttpClient client(ho);
    const backend::HttpClientResponse r = client.request(hr);
    x.http_status = r.status;
    x.http_reason = r.reason;
    for (const auto& h : r.headers.all()) x.response_headers.emplace_back(h.name, h.value);
    x.response_body = body_for_trace(r.body, in_.reveal_keys);
    // The codec, not a second JSON reader: it bounds what a hostile body can cost.
    std::string code;
    try {
      const backend::Decoded answer = backend::decode(r.body, backend::DecodeMode::observing);
      std::visit([&](const auto& m) {
        if constexpr (requires { m.result; }) {
          if (m.result) code = std::string(backend::to_string(m.result->code));
        }
      }, answer.message);
    } catch (const std::exception&) {
      code = "";
    }
    p.refused = code == "UnknownSender";
    p.how = code.empty() ? "HTTP " + std::to_string(r.status) + " without a TS002 Result" : "Result " + code;
  } catch (const backend::HttpError& e) {
    x.transport_error = e.what();
    const bool tls_level = e.phase() == backend::HttpErrorPhase::tls_handshake ||
                           ((e.phase() == backend::HttpErrorPhase::read || e.phase() == backend::HttpErrorPhase::write) &&
                            (e.detail().find("alert") != std::string::npos ||
                             e.detail().find("certificate") != std::string::npos));
    p.refused = tls_level;
    p.error = !tls_level;
    p.how = std::string(tls_level ? "the handshake failed: " : "no answer: ") + e.detail();
  } catch (const std::exception& e) {
    p.error = true;
    p.how = std::string("the probe could not be set up: ") + e.what();
    x.transport_error = p.how;
  }
  x.elapsed_ms = static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::steady_clock::now() - t0)
                                         .count()) /
                 1000.0;
  return p;
}

void Judge::judge_clients(const backend::TlsProbeResult& main) {
  const auto& tls = t_.ns.tls;
  const bool required = t_.tls_checks.requires_client_auth;
  // The NS's own certificate.
  if (want("tls/client-cert-accepted")) {
    Evaluation e;
    if (tls.cert_file.empty()) {
      e.verdict = required ? Verdict::error : Verdict::skip;
      e.reason = required ? "the target requires client authentication, but " + n_.tls_cert +
                                " is not set: set " + n_.tls_cert + " and " + n_.tls_key
                          : "no client certificate is configured (" + n_.tls_cert + ")";
      add("tls/client-cert-accepted", e);
    } else {
      ClientProbe p = client_probe("tls/client-cert-accepted: JoinReq with " + setting(n_.tls_cert, tls.cert_file),
                                   {tls.cert_file, tls.key_file});
      e.expected = "the JS accepts the client certificate in " + setting(n_.tls_cert, tls.cert_file) +
                   " (any answer but UnknownSender)";
      e.actual = p.how;
      if (p.error) {
        e.verdict = Verdict::error;
        e.reason = p.how;
      } else if (!p.refused) {
        e.verdict = Verdict::pass;
      } else {
        e.verdict = Verdict::fail;
        std::string shown;
        std::string issuer;
        bool expired = false;
        try {
          const auto chain = backend::load_certificates(tls.cert_file);
          shown = cert_text(chain.front());
          issuer = needed_ca(chain);
          expired = std::chrono::system_clock::now() > chain.front().not_after();
        } catch (const std::exception& ex) {
          shown = ex.what();
        }
        e.actual = "the JS refused " + setting(n_.tls_cert, tls.cert_file) + " (" + shown + "): " + p.how;
        std::string cas;
        for (const auto& ca : main.acceptable_client_cas) cas += (cas.empty() ? "" : "; ") + ca;
        if (expired) {
          e.reason = "fix: the client certificate has expired; renew it and update " + n_.tls_cert + " and " + n_.tls_key;
        } else if (!cas.empty()) {
          e.reason = "fix: the JS accepts client certificates issued by " + cas + ", and " + n_.tls_cert +
                     " is issued by " + issuer + "; set " + n_.tls_cert + "/" + n_.tls_key +
                     " to a certificate from one of those CAs, or have the JS trust " + issuer;
        } else {
          e.reason = "fix: have the JS trust " + issuer + " for NetID " + t_.ns.net_id.hex() + " (its client CA for this NS), or set " +
                     n_.tls_cert + "/" + n_.tls_key + " to a certificate from the CA it trusts";
        }
      }
      add("tls/client-cert-accepted", e, std::move(p.trace));
    }
  }
  if (!required) {
    const std::string reason =
        "the target does not declare that it requires client authentication ([tls] requires_client_auth = true)";
    for (const char* id : {"tls/client-cert-required", "tls/unknown-client-ca", "tls/expired-client-cert",
                           "tls/client-cert-net-id"}) {
      Evaluation e;
      e.verdict = Verdict::skip;
      e.reason = reason;
      add(id, e);
    }
    return;
  }
  judge_refusal("tls/client-cert-required", "without a client certificate", {}, "");
  judge_refusal("tls/unknown-client-ca", "with a certificate from a CA the JS does not trust", t_.tls_checks.other_ca,
                "[tls.probes] other_ca_cert and other_ca_key");
  judge_refusal("tls/expired-client-cert", "with an expired certificate", t_.tls_checks.expired,
                "[tls.probes] expired_cert and expired_key");
  judge_refusal("tls/client-cert-net-id", "with a certificate of another NetID than " + t_.ns.net_id.hex(),
                t_.tls_checks.other_net_id, "[tls.probes] other_net_id_cert and other_net_id_key");
}

void Judge::judge_refusal(const std::string& id, const std::string& what, const TlsProbeIdentity& identity,
                          const std::string& missing_setting) {
  if (!want(id)) return;
  Evaluation e;
  if (!missing_setting.empty() && identity.empty()) {
    e.verdict = Verdict::skip;
    e.reason = "no such identity is configured: set " + missing_setting + " in the target file";
    add(id, e);
    return;
  }
  ClientProbe p = client_probe(id + ": JoinReq " + what, identity);
  e.expected = "a JoinReq " + what + " is refused (failed handshake, or UnknownSender)";
  std::string shown;
  if (!identity.empty()) {
    try {
      shown = " (" + cert_text(backend::load_certificates(identity.cert).front()) + ")";
    } catch (const std::exception&) {
    }
  }
  e.actual = p.how + shown;
  if (p.error) {
    e.verdict = Verdict::error;
    e.reason = p.how;
  } else if (p.refused) {
    e.verdict = Verdict::pass;
  } else {
    e.verdict = Verdict::fail;
    e.reason = "fix: the JS served a request sent " + what +
               "; configure it to require client certificates that chain to the CA it trusts for NetID " +
               t_.ns.net_id.hex() +
               " (ChirpStack AS v3: ca_cert; The Things Stack: interop sender-client-ca) and to check their "
               "validity";
  }
  add(id, e, std::move(p.trace));
}

}  // namespace

TlsSettingNames target_setting_names(const TargetConfig& target) {
  TlsSettingNames n;
  if (!target.source.empty()) {
    const std::string in = " in " + target.source.string();
    n.url = "url" + in;
    n.ca_cert += in;
    n.tls_cert += in;
    n.tls_key += in;
  } else {
    n.url = "--target";
  }
  return n;
}

bool tls_checks_apply(const TargetConfig& target) {
  try {
    return backend::HttpUrl::parse(target.ns.url).tls;
  } catch (const std::exception&) {
    return false;
  }
}

std::string tls_not_applicable_reason(const TargetConfig& target) {
  return "the target is not reached over TLS (" + target.ns.url + " is not https://)";
}

std::vector<TlsJudgement> judge_tls(const TargetConfig& target, const TlsCheckInputs& inputs) {
  if (!tls_checks_apply(target)) return {};
  return Judge(target, inputs).run();
}

}  // namespace joincheck::conformance
