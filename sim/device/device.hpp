#pragma once
// A simulated LoRaWAN end device: a fleet device with its secure element, able to send
// join-requests by its DevNonce policy and, once joined, LoRaWAN 1.1 rejoin-requests (types 0,
// 1, 2), take a join-accept the way a device does (decrypt, verify the MIC, check the JoinNonce,
// derive and keep the session) and send uplinks with the session. The join and frame formulas
// are lorawan/'s (build_join_request, build_rejoin_request, decrypt_join_accept, the join-accept
// MICs, build_uplink), run on keys that stay in the secure element (SlotKey); session and
// lifetime keys are derived into its slots (derive_and_store), as LoRaMac-node does
// (Lora-net/LoRaMac-node src/mac/LoRaMacCrypto.c). The same code serves every back-end: software
// keys, an ATECC608 on I2C, an emulated one.
//
// Rejoin-requests (LoRaWAN 1.1 §6.2.4; TS002 1.0 §11.4.1, §14, §15; docs/checks.md#rejoin):
//  - type 0 and 2 carry the session's NetID and RJcount0, and are MIC'd with the session's
//    SNwkSIntKey. RJcount0 starts at 0 with every new session (join or rejoin) and goes up by
//    one with each type 0 or 2 request;
//  - type 1 carries the JoinEUI and RJcount1, and is MIC'd with JSIntKey. RJcount1 starts at 0
//    and goes up by one with each type 1 request for the device's whole life (it is bound to
//    JSIntKey, which comes from the NwkKey, not to a session), so a JS can refuse a replay.
// The answer is a join-accept encrypted with JSEncKey whose 1.1 MIC carries JoinReqType 0x00,
// 0x01 or 0x02 and the RJcount in the DevNonce's place; the session keys are derived with the
// RJcount as the DevNonce too, as the reference JS and brocaar do (brocaar/lorawan
// backend/joinserver/rejoin_request.go); the project has not checked that key derivation against
// the LoRaWAN 1.1 text, hence keys/rejoin-session-keys is a SHOULD.
//
// Not thread-safe: one SimDevice per thread at a time. State (DevNonce counter, RJcounts, last
// JoinNonce, session, FCnt) lives in memory only.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "lorawan/data_frame.hpp"
#include "lorawan/join_procedure.hpp"
#include "sim/fleet/fleet.hpp"
#include "sim/secure_element/secure_element.hpp"

namespace joincheck::sim {

struct SimDeviceOptions {
  // Seeds the PRNG of the random DevNonce policy (mixed with the DevEUI, so the devices of a
  // fleet draw different sequences from one seed) and the software SE the convenience
  // constructor creates. A seed gives the same DevNonces on every platform.
  std::uint64_t seed = 0;
  // Random policy: a DevNonce among the last `recent_dev_nonces` drawn is drawn again, so a JS
  // remembering that many (LoRaWAN 1.0.3 §6.2.4; docs/checks.md#devnonce) never sees a replay by chance.
  std::size_t recent_dev_nonces = 256;
};

// The state of a joined device. No key is printed by to_string().
struct Session {
  lorawan::JoinMode mode = lorawan::JoinMode::lorawan_1_0;  // says OptNeg for a 1.1 device
  // The rejoin-request this session answered; nullopt when it answered a join-request.
  std::optional<lorawan::RejoinType> rejoin;
  // The DevNonce of the join-request, or the RJcount of the rejoin-request, that the session
  // keys were derived with.
  lorawan::DevNonce dev_nonce;
  lorawan::JoinNonce join_nonce;
  lorawan::NetId net_id;
  lorawan::DevAddr dev_addr;
  lorawan::DlSettings dl_settings;
  std::uint8_t rx_delay = 0;
  std::optional<lorawan::CfList> cf_list;
  // The session keys' values, when the secure element lets them out (the software one does); a
  // chip keeps them. SimDevice::session_key() compares keys either way.
  std::optional<lorawan::SessionKeys> keys;
  std::optional<lorawan::JsKeys> js_keys;  // LoRaWAN 1.1 devices, same rule
  std::uint32_t fcnt_up = 0;               // the FCnt of the next uplink
  std::uint32_t fcnt_down = 0;             // the lowest FCntDown (NFCntDown in 1.1) still taken
  std::uint32_t a_fcnt_down = 0;           // 1.1 (OptNeg=1): the lowest AFCntDown still taken
  std::optional<std::uint32_t> last_confirmed_fcnt_up;  // for a 1.1 ACK's MIC
  // The RJcount0 of the next rejoin-request type 0 or 2; 0x10000 once 0xffff has been used.
  std::uint32_t rj_count0 = 0;

  // The keys as lorawan's data frames take them: 1.1 scheme only with OptNeg=1. Throws
  // lorawan::Error when the keys' values are not known (see `keys`).
  lorawan::NetworkSessionKeys network_keys() const;
};

// A session key of the device as the harness compares it with what a JS sent: its value when
// known, and always its key check value (AES-128 of the zero block under the key, computed in the
// secure element), so a key that never leaves a chip is still compared exactly.
struct SessionKeyCheck {
  std::optional<lorawan::Aes128Key> value;
  lorawan::Block check_value{};
  bool matches(const lorawan::Aes128Key& key) const;
};
std::string to_string(const Session& session);

enum class AcceptStatus {
  accepted,
  malformed,          // not a join-accept that decrypts and parses (wrong MType, size, ...)
  mic_invalid,        // decrypted, but the MIC does not verify
  join_nonce_replay,  // LoRaWAN 1.0.4 / 1.1: JoinNonce not greater than the last accepted one
};
std::string_view to_string(AcceptStatus status);

struct JoinResult {
  AcceptStatus status = AcceptStatus::malformed;
  std::string reason;                         // why it was refused; empty when accepted
  std::optional<lorawan::JoinAccept> accept;  // the decrypted fields, unless malformed
  std::optional<lorawan::JoinMode> mode;      // the formulas the accept was checked with

  bool accepted() const { return status == AcceptStatus::accepted; }
};
std::string to_string(const JoinResult& result);

// A data downlink as the device took it (LoRaWAN 1.0.x/1.1 §4: DevAddr, MIC, FCntDown).
struct DownlinkResult {
  bool for_this_device = false;  // a data downlink with the session's DevAddr
  bool mic_valid = false;
  bool ack = false;              // FCtrl.ACK: acknowledges the last confirmed uplink
  bool confirmed = false;        // ConfirmedDataDown
  std::uint32_t fcnt = 0;        // the full FCntDown the MIC was checked with
  std::optional<std::uint8_t> fport;
  std::string reason;            // why it was not taken; empty when taken
  bool taken() const { return for_this_device && mic_valid; }
};
std::string to_string(const DownlinkResult& result);

class SimDevice {
 public:
  // Identity comes from the secure element and must match the fleet device's. Throws
  // lorawan::Error naming the device when they differ, or when the element lacks a root key the
  // version needs (AppKey for 1.0.x; NwkKey and AppKey for 1.1). A secure element that fails
  // throws its SecureElementError, here and from every method below.
  SimDevice(const FleetDevice& device, std::unique_ptr<SecureElement> se,
            SimDeviceOptions options = {});
  // With a SoftwareSe holding the fleet device's keys (seeded with options.seed).
  explicit SimDevice(const FleetDevice& device, SimDeviceOptions options = {});

  const lorawan::Eui64& dev_eui() const { return dev_eui_; }
  const lorawan::Eui64& join_eui() const { return join_eui_; }
  lorawan::MacVersion mac_version() const { return mac_version_; }
  DevNoncePolicy dev_nonce_policy() const { return policy_; }
  SecureElement& secure_element() { return *se_; }
  const SecureElement& secure_element() const { return *se_; }

  // The DevNonce the policy gives next, consumed: counter from DevNonceStart (default 0), +1 each
  // time, lorawan::Error once 0xffff has been used; random from the seeded PRNG, avoiding the
  // recent ones; fixed: DevNonceStart every time.
  lorawan::DevNonce next_dev_nonce();
  // A join-request with next_dev_nonce(), MIC with AppKey (1.0.x) or NwkKey (1.1). It becomes
  // the request accept() answers.
  lorawan::Bytes make_join_request();
  // A join-request with this DevNonce (scenario modifiers). The policy takes it into account as a
  // device would: a counter continues above it, a random draw avoids it.
  lorawan::Bytes make_join_request(lorawan::DevNonce dev_nonce);
  // The DevNonce of the last join-request made.
  std::optional<lorawan::DevNonce> last_dev_nonce() const { return last_dev_nonce_; }

  // A rejoin-request of `type` (see above), which becomes the request accept() answers; its
  // RJcount is consumed even if no answer comes, as on a real device. Only a LoRaWAN 1.1 device
  // with a LoRaWAN 1.1 (OptNeg=1) session makes one: a 1.0.x device, a device without a session
  // or one served with OptNeg=0 has no rejoin-requests, and this throws lorawan::Error naming the
  // device and why; likewise once the RJcount of the type is exhausted (it never wraps).
  lorawan::Bytes make_rejoin_request(lorawan::RejoinType type);
  // Why make_rejoin_request(type) would throw, in words; "" when the device can rejoin so.
  std::string rejoin_refusal(lorawan::RejoinType type) const;
  // The RJcount1 of the next type 1 rejoin-request; 0x10000 once 0xffff has been used.
  std::uint32_t next_rj_count1() const { return next_rj_count1_; }
  // The type of the pending rejoin-request; nullopt when the pending request is a
  // join-request, or when none is pending.
  std::optional<lorawan::RejoinType> pending_rejoin() const;

  // Takes a join-accept PHYPayload answering the last join-request or rejoin-request (its
  // JoinReqType and DevNonce or RJcount). Accepted: the session is replaced (a rejoin answer
  // starts a new session too, with RJcount0 at 0), the keys are stored into the secure element,
  // the JoinNonce is remembered. Refused: reported in the result, nothing changes (a later
  // accept may still answer the request). Throws lorawan::Error when no request was made.
  JoinResult accept(lorawan::ByteSpan join_accept_phy);
  // The JoinNonce of the last accepted join-accept.
  std::optional<lorawan::JoinNonce> last_join_nonce() const { return last_join_nonce_; }

  // What a device keeps across power cycles and a harness across runs against a JS that
  // remembers (DevNonces used, RJcount1, the last JoinNonce): counters() to save, restore() to
  // continue from them.
  struct Counters {
    std::uint32_t next_dev_nonce = 0;             // counter policy; 0x10000 once exhausted
    std::vector<std::uint16_t> recent_dev_nonces;  // random policy, oldest first
    std::uint32_t next_rj_count1 = 0;
    std::optional<std::uint32_t> last_join_nonce;
    friend bool operator==(const Counters&, const Counters&) = default;
  };
  Counters counters() const;
  // Throws lorawan::Error naming the device for values out of range.
  void restore(const Counters& counters);

  bool joined() const { return session_.has_value(); }
  const std::optional<Session>& session() const { return session_; }
  // A key of the current session (FNwkSIntKey, SNwkSIntKey, NwkSEncKey, AppSKey; the 1.0 NwkSKey
  // is in all three network slots), for comparison. Throws lorawan::Error without a session.
  SessionKeyCheck session_key(KeySlot slot) const;

  // The PHYPayload of an uplink on the session: FCnt = session().fcnt_up, then incremented.
  // FPort 0 carries MAC commands (encrypted with NwkSEncKey), 1..255 application data (AppSKey).
  // Throws lorawan::Error before a join or when the frame cannot be built.
  lorawan::Bytes make_uplink(std::uint8_t fport, lorawan::ByteSpan payload, bool confirmed = false);
  // The B1 block's TxDr and TxCh of LoRaWAN 1.1 uplinks: the data rate and channel index the next
  // uplinks are sent on (0, 0 until set).
  void set_uplink_radio(std::uint8_t data_rate, std::uint8_t channel_index);
  // Takes a data downlink: checks DevAddr and the MIC (with the secure element's keys; a 1.1
  // ACK's MIC carries the FCnt of the confirmed uplink it answers), and FCntDown (it must not
  // go down; the 32-bit value is rebuilt from the 16 sent). A taken downlink moves FCntDown on.
  // Throws lorawan::Error before a join.
  DownlinkResult take_downlink(lorawan::ByteSpan phy);

 private:
  // The request accept() answers: a join-request (its DevNonce) or a rejoin-request (its
  // type and RJcount, which takes the DevNonce's place in the MIC and the key derivation).
  struct PendingRequest {
    std::optional<lorawan::RejoinType> rejoin;  // nullopt: a join-request
    lorawan::DevNonce counter;                  // DevNonce, RJcount0 or RJcount1
    lorawan::JoinReqType join_req_type() const;
  };

  [[noreturn]] void fail(const std::string& what) const;
  void note_used(lorawan::DevNonce dev_nonce);
  // A slot of the secure element as lorawan's formulas take a key.
  SlotKey slot(KeySlot slot) const { return SlotKey(*se_, slot); }
  // Derives the session keys of an accepted join-accept into the secure element's slots.
  void derive_session_keys(const Session& session);
  // The key values, when the secure element lets them out.
  void read_back_keys(Session& session) const;

  std::unique_ptr<SecureElement> se_;
  lorawan::Eui64 dev_eui_;
  lorawan::Eui64 join_eui_;
  lorawan::MacVersion mac_version_;
  DevNoncePolicy policy_;
  std::uint16_t dev_nonce_start_ = 0;
  SimDeviceOptions options_;

  std::uint32_t next_counter_ = 0;  // counter policy; 0x10000 once exhausted
  std::mt19937_64 rng_;             // random policy
  std::deque<lorawan::DevNonce> recent_;
  std::optional<lorawan::DevNonce> last_dev_nonce_;
  std::optional<PendingRequest> pending_;  // the request awaiting an accept
  std::uint32_t next_rj_count1_ = 0;      // 0x10000 once exhausted

  std::optional<lorawan::JoinNonce> last_join_nonce_;
  std::optional<Session> session_;
  std::uint8_t tx_dr_ = 0;  // B1 TxDr / TxCh of 1.1 uplinks
  std::uint8_t tx_ch_ = 0;
};

}  // namespace joincheck::sim
