#pragma once
// The reference Join Server's logic: one TS002 request body in, one answer out. Transport
// (HTTP, TLS, async delivery, waiting for durable state) is join_server/server.hpp's job; this
// class is thread-safe and does no I/O of its own.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/codec.hpp"
#include "backend/key_envelope.hpp"
#include "backend/tls_certificate.hpp"
#include "lorawan/join_procedure.hpp"
#include "lorawan/types.hpp"
#include "sim/join_server/device_store.hpp"
#include "sim/join_server/faults.hpp"
#include "sim/join_server/refusal.hpp"

namespace joincheck::sim {

// A network server the JS knows, by NetID.
struct NetIdPeer {
  lorawan::NetId net_id;
  std::string kek_label;   // wraps the network session keys; empty: keys in clear
  lorawan::Bytes kek;
  std::string client_ca_file;  // when set, the client certificate must chain to it
  std::string async_url;       // when set, answers are POSTed here after a 200 acknowledgement
};

struct JoinEuiRange {
  lorawan::Eui64 prefix;
  unsigned bits = 64;  // prefix length
  bool contains(const lorawan::Eui64& eui) const;
};
// "0102030405060708", "0102030400000000/32"; throws lorawan::Error.
JoinEuiRange parse_join_eui_range(std::string_view text);

struct JoinServerConfig {
  // Known network servers. Empty: any NetID is served, with keys in clear.
  std::vector<NetIdPeer> net_ids;
  // AppSKey wrapping (JS-AS KEK); empty label: AppSKey in clear.
  std::string as_kek_label;
  lorawan::Bytes as_kek;
  // Application servers allowed to send AppSKeyReq; empty: any.
  std::vector<std::string> as_ids;
  // JoinEUIs this JS serves (ReceiverID); empty: those of the registered devices.
  std::vector<JoinEuiRange> join_euis;
  // Refuse a join when no KEK is configured for the requester instead of sending keys in clear.
  bool refuse_clear_keys = false;
  // JoinAns Lifetime, seconds.
  std::uint32_t lifetime = 0;
  // HomeNSAns: the home NetID and (TS002 1.1) NSID of every device.
  std::optional<lorawan::NetId> home_net_id;
  std::optional<lorawan::Eui64> home_ns_id;
  FaultSet faults;
  Behaviour behaviour = Behaviour::strict;
};

// What the transport knows about a request.
struct JsRequest {
  std::string_view body;
  // The client certificate chain (leaf first) when the request came over TLS with one.
  std::span<const backend::Certificate> peer_chain;
  // With per-message-type paths: the types the request's path is for (several types may
  // share a path). Null: any type.
  const std::vector<backend::MessageType>* path_types = nullptr;
};

struct AsyncDelivery {
  std::string url;
  std::string body;
};

struct JsAnswer {
  int http_status = 200;
  std::string content_type = "application/json";
  std::string body;
  // The answer may leave only once this state change is durable.
  std::optional<DeviceStore::Ticket> durable;
  // Async mode: `body` is the acknowledgement; this is POSTed once the change is durable.
  std::optional<AsyncDelivery> async;
  std::chrono::milliseconds delay{0};
  // For the request log: message type, DevEUI, result; never keys.
  std::string log_message_type;
  std::string log_dev_eui;
  std::string log_result;
};

class JoinServer {
 public:
  // Loads the client CA of every NetID that has one: throws backend::TlsError naming the file.
  JoinServer(JoinServerConfig config, DeviceStore& store);

  JsAnswer handle(const JsRequest& request) const;

  const JoinServerConfig& config() const { return config_; }

 private:
  struct Context;
  struct NsRequester {
    const NetIdPeer* peer = nullptr;        // null when any NetID is served
    lorawan::NetId net_id;
    std::optional<lorawan::Eui64> receiver;  // ReceiverID as a JoinEUI
  };

  // JoinReq and RejoinReq (join_request.cpp): stages over the join being processed, in the
  // order of TS002 1.0 §8; each refuses (with a reason, refusal.hpp) or lets the join go on.
  struct JoinAttempt;
  JsAnswer handle_join(Context& ctx) const;
  std::optional<Refused> admit_join(Context& ctx, JoinAttempt& join) const;
  std::optional<Refused> check_join_fields(Context& ctx, JoinAttempt& join) const;
  std::optional<Refused> parse_join_frame(JoinAttempt& join) const;
  std::optional<Refused> find_join_device(JoinAttempt& join) const;
  std::optional<Refused> choose_join_mode(JoinAttempt& join) const;
  std::optional<Refused> verify_join_mic(JoinAttempt& join) const;
  std::optional<Refused> spend_nonces(JoinAttempt& join) const;
  JsAnswer answer_join(Context& ctx, JoinAttempt& join) const;

  JsAnswer handle_app_s_key(Context& ctx) const;
  JsAnswer handle_home_ns(Context& ctx) const;
  // The answer to a refused request, its ResultCode from failure_answer().
  JsAnswer fail(Context& ctx, Refused refused) const;
  JsAnswer finish(Context& ctx, backend::Message answer, int http_status = 200) const;
  std::optional<Refused> admit_ns_request(Context& ctx, NsRequester& ns) const;
  std::optional<Refused> authenticate_ns(Context& ctx, const NetIdPeer*& peer, lorawan::NetId& net_id) const;
  std::optional<Refused> check_receiver(Context& ctx, std::optional<lorawan::Eui64>& receiver) const;
  const NetIdPeer* find_peer(const lorawan::NetId& net_id) const;
  bool serves(const lorawan::Eui64& join_eui) const;

  JoinServerConfig config_;
  Quirks quirks_;
  DeviceStore& store_;
  std::map<lorawan::NetId, backend::CaStore> client_cas_;
};

// SessionKeyID: an authenticated ticket from which the JS re-derives the AppSKey on
// AppSKeyReq, so no per-session state is kept. 16 bytes: mode, JoinNonce, DevNonce, NetID,
// and a 7-byte CMAC under the JS secret over DevEUI and those fields.
struct SessionTicket {
  lorawan::JoinMode mode = lorawan::JoinMode::lorawan_1_0;
  lorawan::JoinNonce join_nonce;
  lorawan::DevNonce dev_nonce;
  lorawan::NetId net_id;
};
lorawan::Bytes seal_session_ticket(const lorawan::Aes128Key& secret, const lorawan::Eui64& dev_eui,
                                   const SessionTicket& ticket);
// nullopt when the bytes were not sealed by this JS for this DevEUI.
std::optional<SessionTicket> open_session_ticket(const lorawan::Aes128Key& secret,
                                                 const lorawan::Eui64& dev_eui,
                                                 lorawan::ByteSpan bytes);

}  // namespace joincheck::sim
