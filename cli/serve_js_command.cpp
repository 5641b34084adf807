// `joincheck serve-js`: the reference Join Server on its own, for NS developers.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "lorawan/hex.hpp"
#include "sim/join_server/config.hpp"

namespace joincheck::cli {
namespace {

using namespace joincheck::sim;

struct ServeOptions {
  std::string config;
  std::string listen;
  std::vector<std::string> devices;
  std::string state;
  std::string tls_cert, tls_key, tls_chain, global_client_ca;
  bool request_client_cert = false;
  std::vector<std::string> client_cas;    // NETID=PEM
  std::vector<std::string> keks;          // LABEL=HEX
  std::vector<std::string> net_ids;       // NETID[=KEKLABEL]
  std::vector<std::string> async_urls;    // NETID=URL
  std::string as_kek;
  std::vector<std::string> as_ids;
  std::vector<std::string> join_euis;
  std::vector<std::string> faults;
  std::string behave_like;
  std::vector<std::string> paths;
  std::string home_net_id;
  std::size_t threads = 0;
  std::size_t window = 0;
  bool window_given = false;
  std::uint32_t lifetime = 0;
  bool lifetime_given = false;
  bool refuse_clear_keys = false;
  bool quiet = false;
  bool list_faults = false;
};

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_signal(int) { g_stop = 1; }

std::pair<std::string, std::string> split_eq(const std::string& text, const char* option) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    throw ConfigError(std::string(option) + ": expected NAME=VALUE, got \"" + text + "\"");
  }
  return {text.substr(0, eq), text.substr(eq + 1)};
}

NetIdPeer& peer_for(JoinServerConfig& js, const lorawan::NetId& id) {
  for (auto& p : js.net_ids) {
    if (p.net_id == id) return p;
  }
  js.net_ids.push_back(NetIdPeer{id, {}, {}, {}, {}});
  return js.net_ids.back();
}

int run(const ServeOptions& o) {
  if (o.list_faults) {
    for (const auto& f : all_faults()) std::printf("%-28s %s\n", std::string(f.name).c_str(), std::string(f.description).c_str());
    return kExitOk;
  }
  JoinServerServiceOptions opts;
  opts.http.port = 8003;
  opts.http.threads = std::max(1u, std::thread::hardware_concurrency());
  ServeJsFileSettings file;
  if (!o.config.empty()) file = load_serve_js_config(o.config, opts);
  if (!o.listen.empty()) backend::parse_listen_address(o.listen, opts.http);
  for (const auto& d : o.devices) file.fleet_files.emplace_back(d);
  if (!o.state.empty()) opts.store.database = o.state;
  if (o.threads > 0) opts.http.threads = o.threads;
  if (o.window_given) opts.store.dev_nonce_window = o.window;
  if (o.lifetime_given) opts.js.lifetime = static_cast<std::uint32_t>(o.lifetime);
  if (o.refuse_clear_keys) opts.js.refuse_clear_keys = true;
  if (!o.tls_cert.empty() || !o.tls_key.empty() || !o.tls_chain.empty()) {
    // Override only what was given: the file's client CA, mode and minimum version stay.
    backend::TlsServerOptions tls = opts.http.tls.value_or(backend::TlsServerOptions{});
    if (!o.tls_cert.empty()) tls.cert_file = o.tls_cert;
    if (!o.tls_key.empty()) tls.key_file = o.tls_key;
    if (!o.tls_chain.empty()) tls.chain_file = o.tls_chain;
    if (tls.cert_file.empty() || tls.key_file.empty()) {
      throw ConfigError("HTTPS needs both --tls-cert and --tls-key");
    }
    opts.http.tls = tls;
  }
  if (!o.global_client_ca.empty() || o.request_client_cert) {
    if (!opts.http.tls) throw ConfigError("client certificates need HTTPS: give --tls-cert and --tls-key");
    if (!o.global_client_ca.empty()) {
      opts.http.tls->client_ca_file = o.global_client_ca;
      opts.http.tls->client_cert = backend::ClientCertMode::require;
    } else if (opts.http.tls->client_cert == backend::ClientCertMode::none) {
      opts.http.tls->client_cert = backend::ClientCertMode::request;
    }
  }
  for (const auto& n : o.net_ids) {
    const auto eq = n.find('=');
    const std::string id = n.substr(0, eq);
    NetIdPeer& p = peer_for(opts.js, lorawan::NetId::parse(id, "--ns"));
    if (eq != std::string::npos) p.kek_label = n.substr(eq + 1);
  }
  for (const auto& c : o.client_cas) {
    auto [id, pem] = split_eq(c, "--client-ca");
    peer_for(opts.js, lorawan::NetId::parse(id, "--client-ca NETID")).client_ca_file = pem;
  }
  for (const auto& a : o.async_urls) {
    auto [id, url] = split_eq(a, "--async");
    peer_for(opts.js, lorawan::NetId::parse(id, "--async NETID")).async_url = url;
  }
  for (const auto& k : o.keks) {
    auto [label, kek] = parse_kek(k);
    file.keks[label] = kek;
  }
  if (!o.as_kek.empty()) file.as_kek_label = o.as_kek;
  resolve_keks(opts.js, file.keks, file.as_kek_label, file.kek_label_origins);
  for (const auto& a : o.as_ids) opts.js.as_ids.push_back(a);
  for (const auto& r : o.join_euis) opts.js.join_euis.push_back(parse_join_eui_range(r));
  for (const auto& f : o.faults) add_fault(opts.js.faults, f);
  if (!o.behave_like.empty()) {
    const auto b = parse_behaviour(o.behave_like);
    if (!b) throw ConfigError("--behave-like: expected strict, brocaar or tts, got \"" + o.behave_like + "\"");
    opts.js.behaviour = *b;
  }
  for (const auto& p : o.paths) {
    auto [type, path] = parse_path(p);
    opts.paths.insert_or_assign(type, path);
  }
  if (!o.home_net_id.empty()) opts.js.home_net_id = lorawan::NetId::parse(o.home_net_id, "--home-net-id");
  finalize_serve_js_options(opts);
  if (file.fleet_files.empty() && opts.store.database.empty()) {
    throw ConfigError("no devices: give --devices FLEET (JSON or CSV), or --state FILE holding devices");
  }
  for (const auto& f : file.fleet_files) {
    FleetLoad load = load_fleet(f);
    for (const auto& w : load.warnings) std::cerr << "joincheck serve-js: warning: " << w << "\n";
    opts.fleets.push_back(std::move(load.fleet));
  }
  if (!o.quiet) {
    opts.log = [](std::string_view text) {
      const std::string line = lorawan::escape_control(text);  // a peer's NUL or newline stays visible
      std::fwrite(line.data(), 1, line.size(), stderr);
      std::fputc('\n', stderr);
    };
  }
  opts.http.on_error = opts.log;

  // What a conformance run would otherwise report as failures of the JS, said up front.
  if (opts.js.net_ids.empty()) {
    std::cerr << "joincheck serve-js: warning: no network server given (--ns NETID): any NetID is served, keys "
                 "travel in clear and UnknownSender is never answered (joincheck run fails join/unknown-sender)\n";
  }
  if (!opts.js.home_net_id) {
    std::cerr << "joincheck serve-js: warning: no home NetID (--home-net-id, or a single --ns): HomeNSReq is "
                 "answered ActivationDisallowed\n";
  }
  JoinServerService service(std::move(opts));
  std::cerr << "joincheck serve-js: " << service.store().size() << " devices, listening on "
            << service.url() << " (" << to_string(service.join_server().config().behaviour)
            << (service.join_server().config().faults.empty() ? "" : ", with faults")
            << (service.store().database().empty() ? ", state in memory only"
                                                   : ", state in " + service.store().database().string())
            << ")" << std::endl;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::cerr << "joincheck serve-js: stopping" << std::endl;
  service.stop();
  return kExitOk;
}

}  // namespace

std::function<int()> add_serve_js_command(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve-js", "Run the reference Join Server (strict, durable, with optional faults and vendor quirks)");
  cmd->add_option("--config", o->config, "TOML file with the same settings (flags override)");
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (default 0.0.0.0:8003)");
  cmd->add_option("--devices", o->devices, "fleet file (JSON or CSV); repeatable");
  cmd->add_option("--state", o->state, "SQLite file for devices, DevNonces and JoinNonces (default: memory only)");
  cmd->add_option("--tls-cert", o->tls_cert, "server certificate (PEM): serve HTTPS");
  cmd->add_option("--tls-key", o->tls_key, "server private key (PEM)");
  cmd->add_option("--tls-chain", o->tls_chain, "further intermediate certificates (PEM)");
  cmd->add_option("--global-client-ca", o->global_client_ca, "require a client certificate from this CA in the handshake");
  cmd->add_option("--client-ca", o->client_cas, "NETID=PEM: requests from NETID must present a certificate from this CA (UnknownSender otherwise); repeatable");
  cmd->add_flag("--request-client-cert", o->request_client_cert, "ask for client certificates without requiring them");
  cmd->add_option("--kek", o->keks, "LABEL=HEX key-encryption key (16, 24 or 32 bytes); repeatable");
  cmd->add_option("--ns", o->net_ids, "NETID[=KEKLABEL]: a network server this JS serves; with none, any NetID is served. A KEK labelled with the NetID is used for it by default; repeatable");
  cmd->add_option("--async", o->async_urls, "NETID=URL: answer that NS asynchronously, POSTing answers to URL; repeatable");
  cmd->add_option("--as-kek", o->as_kek, "label of the KEK that wraps AppSKey");
  cmd->add_option("--as-id", o->as_ids, "application server allowed to send AppSKeyReq; repeatable (default: any)");
  cmd->add_option("--join-eui", o->join_euis, "JoinEUI or PREFIX/BITS this JS serves; repeatable (default: the devices' JoinEUIs)");
  cmd->add_option("--fault", o->faults, "a deviation to inject (see --list-faults); repeatable");
  cmd->add_option("--behave-like", o->behave_like, "strict (default), brocaar (ChirpStack v3 JS) or tts (The Things Stack)");
  cmd->add_option("--path", o->paths, "TYPE=/path per message type, e.g. JoinReq=/join; repeatable (default: any path)");
  cmd->add_option("--home-net-id", o->home_net_id, "NetID answered to HomeNSReq");
  cmd->add_option("--threads", o->threads, "worker threads (default: one per core)")->check(CLI::Range(1, 256));
  cmd->add_option("--dev-nonce-window", o->window, "DevNonces remembered per LoRaWAN 1.0.0-1.0.3 device (default 16)")
      ->check(CLI::Range(1, 65535))
      ->each([o](const std::string&) { o->window_given = true; });
  cmd->add_option("--lifetime", o->lifetime, "JoinAns Lifetime in seconds (default 0)")
      ->check(CLI::Range(std::uint32_t{0}, std::uint32_t{0xffffffff}))
      ->each([o](const std::string&) { o->lifetime_given = true; });
  cmd->add_flag("--refuse-clear-keys", o->refuse_clear_keys, "refuse a join when no KEK is configured for the requester");
  cmd->add_flag("--quiet", o->quiet, "no request log");
  cmd->add_flag("--list-faults", o->list_faults, "list the faults and exit");
  return [o]() -> int {
    try {
      return run(*o);
    } catch (const std::exception& e) {
      std::cerr << "joincheck serve-js: " << e.what() << "\n";
      return kExitUsage;
    }
  };
}

}  // namespace joincheck::cli
