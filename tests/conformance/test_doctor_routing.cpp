// `joincheck doctor` on the Join Server a JoinEUI goes to (conformance/doctor_routing.hpp): the
// `Post ""` of ChirpStack v3 (an empty [join_server.default] server), scheme-less servers, files
// without Join Server settings, v3's two forms ([[join_server.certificates]] and
// [[join_server.servers]]), and the decision path printed for a JoinEUI, per version. The
// behaviours are those of brocaar/chirpstack-network-server internal/joinserver/pool.go,
// internal/backend/joinserver/joinserver.go, cmd/chirpstack-network-server/cmd/root.go and
// chirpstack/chirpstack chirpstack/src/backend/joinserver.rs (docs/doctor.md).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include "backend/dns_lookup.hpp"
#include "backend/test_pki.hpp"
#include "conformance/doctor.hpp"
#include "doctor_support.hpp"
#include "sim/join_server/service.hpp"

namespace joincheck::conformance {
namespace {

using namespace std::chrono_literals;
using backend::testing::TestPki;
namespace fs = std::filesystem;

const TestPki& pki() { return TestPki::get(); }

fs::path write(const char* name, const std::string& text) {
  const fs::path file = backend::testing::scratch_dir(name) / "chirpstack-network-server.toml";
  std::ofstream(file) << text;
  return file;
}

// A resolver that knows one name (tests never depend on the machine's DNS).
DnsResolver knows(const std::string& known) {
  return [known](const std::string& name) {
    backend::DnsLookupResult r;
    if (name == known) {
      r.resolved = true;
      r.addresses = {"192.0.2.10"};
    } else {
      r.error = "Name or service not known";
    }
    return r;
  };
}

DoctorResult doctor(const fs::path& file, std::vector<std::string> join_euis = {}, DnsResolver resolve = knows("")) {
  DoctorOptions o;
  o.chirpstack_config = file;
  o.live = false;
  o.join_euis = std::move(join_euis);
  o.resolve = std::move(resolve);
  return run_doctor(o);
}

using test_support::find;
using test_support::show;

// Asserts the finding exists with the verdict and returns it.
const CheckResult& finding(const DoctorResult& r, const std::string& id, Verdict v) {
  const CheckResult* res = find(r, id);
  if (res == nullptr) {
    ADD_FAILURE() << "no finding " << id << "\n" << show(r);
    static const CheckResult none;
    return none;
  }
  EXPECT_EQ(res->verdict, v) << id << "\n" << show(r);
  return *res;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// The join-server part of ChirpStack v3's template in the older form: certificates per JoinEUI
// (no server), and the default join server.
std::string v3_certificates_template(const std::string& default_server, bool resolve = false, const std::string& cert_eui = "0102030405060708") {
  return "[network_server]\n"                                 // 1
         "net_id=\"000001\"\n"                                // 2
         "\n"                                                 // 3
         "[join_server]\n"                                    // 4
         "resolve_join_eui=" + std::string(resolve ? "true" : "false") + "\n"  // 5
         "resolve_domain_suffix=\".joineuis.lora-alliance.org\"\n"             // 6
         "\n"                                                                  // 7
         "  [[join_server.certificates]]\n"                                    // 8
         "  join_eui=\"" + cert_eui + "\"\n"                                   // 9
         "  ca_cert=\"" + pki().root_ca.string() + "\"\n"                      // 10
         "  tls_cert=\"\"\n"                                                   // 11
         "  tls_key=\"\"\n"                                                    // 12
         "\n"                                                                  // 13
         "  [join_server.default]\n"                                           // 14
         "  server=\"" + default_server + "\"\n"                               // 15
         "  ca_cert=\"\"\n"
         "  tls_cert=\"\"\n"
         "  tls_key=\"\"\n";
}

TEST(DoctorRouting, V3EmptyDefaultServerIsThePostEmptyLogLine) {
  const fs::path file = write("v3-post-empty", v3_certificates_template(""));
  const DoctorResult r = doctor(file, {"0102030405060708"});
  const CheckResult& f = finding(r, "doctor/default.server", Verdict::fail);
  EXPECT_TRUE(has(f.expected, "server of [join_server.default] (" + file.string() + ":15)")) << f.expected;
  EXPECT_TRUE(has(f.reason,
                  "level=error msg=\"uplink: processing uplink frame error\" error=\"join-request to join-server error: "
                  "http post error: Post \\\"\\\": unsupported protocol scheme \\\"\\\"\""))
      << f.reason;
  EXPECT_TRUE(has(f.reason, "resolve_join_eui is false: every join goes to it")) << f.reason;
  EXPECT_TRUE(has(f.reason, "fix: set server of [join_server.default] (" + file.string() + ":15)")) << f.reason;
  EXPECT_NE(r.report.exit_code(false), 0) << "a Post \"\" configuration is never a pass";

  // The JoinEUI's path ends there too.
  const CheckResult& route = finding(r, "doctor/route.0102030405060708", Verdict::fail);
  EXPECT_TRUE(has(route.actual, "resolve_join_eui is false")) << route.actual;
  EXPECT_TRUE(has(route.reason, "Post \\\"\\\"")) << route.reason;

  // The same template with a usable server passes.
  const DoctorResult ok = doctor(write("v3-post-ok", v3_certificates_template("https://js.example.net:8443/")), {"0102030405060708"});
  finding(ok, "doctor/default.server", Verdict::pass);
  finding(ok, "doctor/route.0102030405060708", Verdict::pass);
  EXPECT_EQ(ok.report.counts().fail, 0u) << show(ok);
}

TEST(DoctorRouting, SchemeLessServersAreNamedWithWhatEachVersionReports) {
  DoctorResult r = doctor(write("v3-scheme-less", v3_certificates_template("localhost:8003")));
  const CheckResult& f = finding(r, "doctor/default.server", Verdict::fail);
  EXPECT_TRUE(has(f.actual, "host:port without a scheme")) << f.actual;
  EXPECT_TRUE(has(f.reason, "Post \\\"localhost:8003\\\": unsupported protocol scheme \\\"localhost\\\"")) << f.reason;

  r = doctor(write("v3-ip-port", v3_certificates_template("127.0.0.1:8003")));
  EXPECT_TRUE(has(finding(r, "doctor/default.server", Verdict::fail).reason,
                  "http post error: parse \\\"127.0.0.1:8003\\\": first path segment in URL cannot contain colon"))
      << show(r);

  r = doctor(write("v4-scheme-less", "[join_server]\n[[join_server.servers]]\njoin_eui_prefix = \"0000000000000000/0\"\n"
                                     "server = \"js.example.net:8443\"\n"));
  const CheckResult& v4 = finding(r, "doctor/servers-1.server", Verdict::fail);
  EXPECT_TRUE(has(v4.reason, "ChirpStack v4 fails each such join")) << v4.reason;
  EXPECT_TRUE(has(v4.reason, "URL scheme is not allowed")) << v4.reason;
  EXPECT_TRUE(has(v4.reason, "every join of JoinEUI 0000000000000000/0 goes to it")) << v4.reason;
}

TEST(DoctorRouting, FilesWithoutJoinServerSettingsAreNotAPass) {
  DoctorResult r = doctor(write("empty", ""));
  const CheckResult& e = finding(r, "doctor/config.join-servers", Verdict::fail);
  EXPECT_EQ(e.actual, "the file is empty (no setting at all)");
  EXPECT_NE(r.report.exit_code(false), 0);

  r = doctor(write("no-js", "[network_server]\nnet_id=\"000001\"\n"));
  const CheckResult& n = finding(r, "doctor/config.join-servers", Verdict::fail);
  EXPECT_TRUE(has(n.actual, "no [join_server] table")) << n.actual;
  EXPECT_TRUE(has(n.reason, "http://localhost:8003")) << n.reason;
  EXPECT_NE(r.report.exit_code(false), 0);
}

std::string v3_servers_file(const std::string& server, const std::string& extra = "") {
  return "[network_server]\nnet_id=\"000001\"\n"
         "[join_server]\nresolve_join_eui=true\nresolve_domain_suffix=\".joineuis.example.net\"\n" + extra +
         "  [[join_server.servers]]\n"
         "  join_eui=\"0102030405060708\"\n"
         "  server=\"" + server + "\"\n"
         "  ca_cert=\"" + pki().root_ca.string() + "\"\n"
         "  tls_cert=\"" + pki().client_cert.string() + "\"\n"
         "  tls_key=\"" + pki().client_key.string() + "\"\n"
         "  [join_server.default]\n"
         "  server=\"https://default-js.example.net/\"\n";
}

// A TLS client v3 cannot build (here a CA file that does not exist): what v3 does instead, per form
// (internal/joinserver/pool.go, internal/backend/joinserver/pool.go and joinserver.go).
TEST(DoctorRouting, V3ClientThatCannotBeBuiltSaysWhatV3DoesInstead) {
  const std::string missing = "/nonexistent/js-ca.pem";
  std::string text = v3_servers_file("https://js.example.net:8443/");
  text.replace(text.find(pki().root_ca.string()), pki().root_ca.string().size(), missing);
  fs::path file = write("v3-servers-no-ca", text);
  DoctorResult r = doctor(file);
  EXPECT_EQ(finding(r, "doctor/servers-1.ca-cert", Verdict::fail).reason,
            "ChirpStack v3 cannot build the TLS client of this entry. The v3 releases that pick it in "
            "internal/backend/joinserver/pool.go (getClient) log \"creating join-server client failed, returning "
            "default join-server client\" and post the JoinReq of JoinEUI 0102030405060708 to [join_server.default] "
            "(https://default-js.example.net/) instead; the last ones build every [[join_server.servers]] client when "
            "they start and do not start at all: \"setup join-server backend error: new backend client error: ...\" "
            "(internal/backend/joinserver/joinserver.go Setup, cmd/chirpstack-network-server/cmd/root_run.go). "
            "fix: point ca_cert of [[join_server.servers]] #1 (" + file.string() + ":9) at a readable PEM certificate "
            "file");

  file = write("v3-servers-default-no-ca", v3_servers_file("https://js.example.net:8443/") + "  ca_cert=\"" + missing + "\"\n");
  r = doctor(file);
  EXPECT_EQ(finding(r, "doctor/default.ca-cert", Verdict::fail).reason,
            "ChirpStack v3 cannot build the [join_server.default] client. The v3 releases with "
            "internal/backend/joinserver/pool.go build it when they start and do not start without it "
            "(\"joinserver: create default client error\"); the last ones build it for each join that goes there and "
            "fail each such join with \"get join-server client error: joinserver: new default client error: ...\" "
            "(internal/backend/joinserver/joinserver.go getDefaultClient). fix: point ca_cert of [join_server.default] (" +
                file.string() + ":14) at a readable PEM certificate file");

  text = v3_certificates_template("https://default-js.example.net/", true);
  text.replace(text.find(pki().root_ca.string()), pki().root_ca.string().size(), missing);
  file = write("v3-certificates-no-ca", text);
  r = doctor(file);
  EXPECT_EQ(finding(r, "doctor/certificates-1.ca-cert", Verdict::fail).reason,
            "ChirpStack v3 cannot build the TLS client of this entry, so it logs \"resolving JoinEUI failed, using "
            "default join-server\" and posts the JoinReq of JoinEUI 0102030405060708 to [join_server.default] "
            "(https://default-js.example.net/) instead, with that table's TLS settings (internal/joinserver/pool.go "
            "resolveJoinServer). fix: point ca_cert of [[join_server.certificates]] #1 (" + file.string() +
                ":10) at a readable PEM certificate file");

  // v4 says nothing of v3.
  r = doctor(write("v4-no-ca", "[join_server]\n[[join_server.servers]]\njoin_eui_prefix = \"0000000000000000/0\"\n"
                               "server = \"https://js.example.net/\"\nca_cert = \"" + missing + "\"\n"));
  EXPECT_EQ(finding(r, "doctor/servers-1.ca-cert", Verdict::fail).reason.rfind("fix: ", 0), 0u) << show(r);
}

TEST(DoctorRouting, V3ServersFormIsReadAndItsIgnoredKeysNamed) {
  const std::string certs = "  [[join_server.certificates]]\n  join_eui=\"0102030405060708\"\n  ca_cert=\"/etc/old-ca.pem\"\n";
  const fs::path file = write("v3-servers", v3_servers_file("https://js.example.net:8443/", certs));
  const DoctorResult r = doctor(file, {"0102030405060708", "1111111111111111"});
  EXPECT_TRUE(has(finding(r, "doctor/config.version", Verdict::pass).actual, "ChirpStack v3, [[join_server.servers]] form"))
      << show(r);
  finding(r, "doctor/servers-1.server", Verdict::pass);
  finding(r, "doctor/servers-1.key-matches", Verdict::pass);
  const CheckResult& ignored = finding(r, "doctor/config.ignored-keys", Verdict::warn);
  EXPECT_TRUE(has(ignored.actual, "join_server.certificates")) << ignored.actual;
  EXPECT_TRUE(has(ignored.actual, "join_server.resolve_join_eui")) << ignored.actual;
  EXPECT_TRUE(has(ignored.reason, "GetClientForJoinEUI")) << ignored.reason;

  const CheckResult& listed = finding(r, "doctor/route.0102030405060708", Verdict::pass);
  EXPECT_TRUE(has(listed.actual, "[[join_server.servers]] #1 has join_eui 0102030405060708")) << listed.actual;
  EXPECT_TRUE(has(listed.actual, "POST to server \"https://js.example.net:8443/\"")) << listed.actual;
  EXPECT_TRUE(has(listed.actual, "TLS: the TLS settings of [[join_server.servers]] #1: ca_cert " + pki().root_ca.string()))
      << listed.actual;
  const CheckResult& other = finding(r, "doctor/route.1111111111111111", Verdict::pass);
  EXPECT_TRUE(has(other.actual, "no [[join_server.servers]] has join_eui 1111111111111111")) << other.actual;
  EXPECT_TRUE(has(other.actual, "https://default-js.example.net/")) << other.actual;
}

TEST(DoctorRouting, V3ServersEntryWithoutServerPostsToTheDnsNameWithoutFallback) {
  const std::string name = "8.0.7.0.6.0.5.0.4.0.3.0.2.0.1.0.joineuis.example.net";
  const fs::path file = write("v3-servers-dns", v3_servers_file(""));
  DoctorResult r = doctor(file, {"0102030405060708"}, knows(name));
  const CheckResult& ok = finding(r, "doctor/route.0102030405060708", Verdict::pass);
  EXPECT_TRUE(has(ok.actual, "= https://" + name)) << ok.actual;
  EXPECT_TRUE(has(ok.actual, "looked up here: " + name + " resolves to 192.0.2.10")) << ok.actual;

  r = doctor(file, {"0102030405060708"}, knows(""));
  const CheckResult& bad = finding(r, "doctor/route.0102030405060708", Verdict::fail);
  EXPECT_TRUE(has(bad.reason, "this path has no fallback")) << bad.reason;
  EXPECT_TRUE(has(bad.reason, "dial tcp: lookup " + name + ": no such host")) << bad.reason;
}

TEST(DoctorRouting, V3ResolveJoinEuiUsesCertificatesOnlyOnTheResolvedPath) {
  const std::string name = "8.0.7.0.6.0.5.0.4.0.3.0.2.0.1.0.joineuis.lora-alliance.org";
  // Resolved, but the certificates entry is for another JoinEUI: the default's CA does not apply.
  fs::path file = write("v3-resolve-other", v3_certificates_template("https://js.example.net/", true, "1111111111111111"));
  DoctorResult r = doctor(file, {"0102030405060708"}, knows(name));
  const CheckResult& other = finding(r, "doctor/route.0102030405060708", Verdict::pass);
  EXPECT_TRUE(has(other.actual, "POST to https://" + name + ":443/")) << other.actual;
  EXPECT_TRUE(has(other.actual, "no [[join_server.certificates]] has join_eui 0102030405060708: Go's system roots")) << other.actual;
  EXPECT_TRUE(has(other.actual, "[join_server.default] apply only when the lookup fails")) << other.actual;

  // Resolved with its own certificates entry.
  file = write("v3-resolve-own", v3_certificates_template("https://js.example.net/", true));
  r = doctor(file, {"0102030405060708"}, knows(name));
  EXPECT_TRUE(has(finding(r, "doctor/route.0102030405060708", Verdict::pass).actual,
                  "TLS: the TLS settings of [[join_server.certificates]] #1: ca_cert " + pki().root_ca.string()))
      << show(r);

  // Not resolved: the fallback to the default, whose empty server is the Post "".
  file = write("v3-resolve-fallback", v3_certificates_template("", true));
  r = doctor(file, {"0102030405060708"}, knows(""));
  const CheckResult& fb = finding(r, "doctor/route.0102030405060708", Verdict::fail);
  EXPECT_TRUE(has(fb.actual, "does not resolve (Name or service not known): ChirpStack v3 logs \"resolving JoinEUI failed, "
                             "using default join-server\""))
      << fb.actual;
  EXPECT_TRUE(has(fb.reason, "Post \\\"\\\"")) << fb.reason;
  EXPECT_TRUE(has(finding(r, "doctor/default.server", Verdict::fail).reason,
                  "every join whose JoinEUI's DNS name does not resolve falls back to it"))
      << show(r);
}

TEST(DoctorRouting, V4PrefixThenDefaultElseNoJoinServer) {
  const std::string text =
      "[join_server]\n"
      "[[join_server.servers]]\njoin_eui_prefix = \"0102030405060700/56\"\nserver = \"https://js1.example.net/\"\n"
      "[join_server.default]\nenabled = false\n";
  DoctorResult r = doctor(write("v4-route", text), {"0102030405060708", "1111111111111111"});
  EXPECT_TRUE(has(finding(r, "doctor/route.0102030405060708", Verdict::pass).actual,
                  "join_eui_prefix 0102030405060700/56 of [[join_server.servers]] #1"))
      << show(r);
  const CheckResult& none = finding(r, "doctor/route.1111111111111111", Verdict::fail);
  EXPECT_TRUE(has(none.reason, "\"Join Server client for join_eui 1111111111111111 does not exist\"")) << none.reason;
}

TEST(DoctorDns, LookupHasADeadlineAndSaysWhatItSaw) {
  const backend::DnsLookupResult local = backend::lookup_host("localhost", 2000ms);
  EXPECT_TRUE(local.resolved) << local.error;
  const auto t0 = std::chrono::steady_clock::now();
  const backend::DnsLookupResult bad = backend::lookup_host("joincheck-test.invalid", 1500ms);
  EXPECT_FALSE(bad.resolved);
  EXPECT_FALSE(bad.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
}

// Live: a v3 file in the servers form is probed like any other JS (TLS checks and a JoinReq).
TEST(DoctorRouting, V3ServersFormIsProbedLive) {
  sim::JoinServerService js(test_support::https_js());

  DoctorOptions d;
  d.chirpstack_config = write("v3-servers-live", v3_servers_file(js.url()));
  d.timeout = 3000ms;
  d.resolve = knows("");
  const DoctorResult r = run_doctor(d);
  finding(r, "doctor/servers-1.tls-server-chain", Verdict::pass);
  const CheckResult& probe = finding(r, "doctor/servers-1.probe-join", Verdict::pass);
  EXPECT_TRUE(has(probe.actual, "UnknownDevEUI")) << probe.actual;
}

}  // namespace
}  // namespace joincheck::conformance
