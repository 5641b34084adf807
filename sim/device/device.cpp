#include "sim/device/device.hpp"

#include <algorithm>
#include <limits>

#include "sim/secure_element/software_se.hpp"
#include "sim/seed.hpp"

namespace joincheck::sim {
namespace {

using lorawan::Error;
using lorawan::JoinMode;

std::uint64_t eui_value(const lorawan::Eui64& eui) {
  std::uint64_t v = 0;
  for (std::uint8_t b : eui.bytes()) v = (v << 8) | b;
  return v;
}

// A SoftwareSe for the convenience constructor; its RNG seed differs from the DevNonce PRNG's.
std::unique_ptr<SecureElement> software_se(const FleetDevice& device, std::uint64_t seed) {
  return SoftwareSe::from_fleet_device(device, splitmix64(seed ^ 0x5e5e5e5e5e5e5e5eULL));
}

// The session keys in the secure element's slots, as lorawan's data frames take them.
struct SessionSlots {
  SessionSlots(SecureElement& se, JoinMode mode)
      : f(se, KeySlot::f_nwk_s_int_key),
        s(se, KeySlot::s_nwk_s_int_key),
        e(se, KeySlot::nwk_s_enc_key),
        a(se, KeySlot::app_s_key) {
    refs.lorawan_1_1 = mode == JoinMode::lorawan_1_1;
    refs.f_nwk_s_int_key = &f;
    refs.s_nwk_s_int_key = &s;
    refs.nwk_s_enc_key = &e;
    refs.app_s_key = &a;
  }
  SessionSlots(const SessionSlots&) = delete;
  SessionSlots& operator=(const SessionSlots&) = delete;
  SlotKey f, s, e, a;
  lorawan::SessionKeyRefs refs;
};

}  // namespace

// ---- Session, JoinResult ----

lorawan::NetworkSessionKeys Session::network_keys() const {
  if (!keys) {
    throw Error("session of DevAddr " + dev_addr.hex() +
                ": the session keys stay in the device's secure element");
  }
  if (mode == JoinMode::lorawan_1_1) {
    return lorawan::NetworkSessionKeys::v1_1(keys->f_nwk_s_int_key, keys->s_nwk_s_int_key,
                                             keys->nwk_s_enc_key);
  }
  return lorawan::NetworkSessionKeys::v1_0(keys->nwk_s_key());
}

bool SessionKeyCheck::matches(const lorawan::Aes128Key& key) const {
  return lorawan::aes128_encrypt(key, lorawan::Block{}) == check_value;
}

std::string to_string(const Session& s) {
  // After a rejoin the keys were derived with the RJcount in the DevNonce's place.
  const std::string counter =
      !s.rejoin ? "DevNonce " + s.dev_nonce.hex()
                : "rejoin type " + std::to_string(static_cast<int>(*s.rejoin)) + ", RJcount" +
                      (*s.rejoin == lorawan::RejoinType::type1 ? "1 " : "0 ") + s.dev_nonce.hex();
  std::string out = "DevAddr " + s.dev_addr.hex() + ", NetID " + s.net_id.hex() + ", JoinNonce " +
                    s.join_nonce.hex() + ", " + counter + ", " +
                    std::string(lorawan::to_string(s.mode)) + ", DLSettings " +
                    lorawan::to_hex(std::array{s.dl_settings.raw}) + ", RxDelay " +
                    std::to_string(s.rx_delay);
  if (s.cf_list) out += ", CFList " + s.cf_list->hex();
  out += ", next FCntUp " + std::to_string(s.fcnt_up);
  return out;
}

std::string_view to_string(AcceptStatus status) {
  switch (status) {
    case AcceptStatus::accepted:
      return "accepted";
    case AcceptStatus::malformed:
      return "malformed";
    case AcceptStatus::mic_invalid:
      return "MIC invalid";
    case AcceptStatus::join_nonce_replay:
      return "JoinNonce replay";
  }
  return "?";
}

std::string to_string(const JoinResult& r) {
  std::string out(to_string(r.status));
  if (r.accept) {
    out += ": JoinNonce " + r.accept->join_nonce.hex() + ", NetID " + r.accept->net_id.hex() +
           ", DevAddr " + r.accept->dev_addr.hex() + ", MIC " + r.accept->mic.hex();
  }
  if (r.mode) out += ", " + std::string(lorawan::to_string(*r.mode));
  if (!r.reason.empty()) out += " (" + r.reason + ")";
  return out;
}

// ---- SimDevice ----

SimDevice::SimDevice(const FleetDevice& device, SimDeviceOptions options)
    : SimDevice(device, software_se(device, options.seed), options) {}

SimDevice::SimDevice(const FleetDevice& device, std::unique_ptr<SecureElement> se,
                     SimDeviceOptions options)
    : se_(std::move(se)),
      dev_eui_(device.dev_eui),
      join_eui_(device.join_eui),
      mac_version_(device.mac_version),
      policy_(effective_dev_nonce_policy(device)),
      dev_nonce_start_(device.dev_nonce_start.value_or(0)),
      options_(options),
      next_counter_(dev_nonce_start_),
      rng_(splitmix64(options.seed ^ eui_value(device.dev_eui))) {
  if (!se_) fail("no secure element given");
  const SeIdentity id = se_->identity();
  if (id.dev_eui != dev_eui_ || id.join_eui != join_eui_) {
    fail("the secure element (" + std::string(se_->backend()) + ") holds DevEUI " +
         id.dev_eui.hex() + " / JoinEUI " + id.join_eui.hex() + ", the fleet says " +
         dev_eui_.hex() + " / " + join_eui_.hex());
  }
  const bool v1_1 = lorawan::is_1_1(mac_version_);
  const std::string version(lorawan::to_string(mac_version_));
  if (!se_->has_key(KeySlot::app_key)) {
    fail("a LoRaWAN " + version + " device needs an AppKey in its secure element");
  }
  if (v1_1 && !se_->has_key(KeySlot::nwk_key)) {
    fail("a LoRaWAN " + version + " device needs a NwkKey in its secure element");
  }
}

void SimDevice::fail(const std::string& what) const {
  throw Error("device " + dev_eui_.hex() + ": " + what);
}

SessionKeyCheck SimDevice::session_key(KeySlot slot) const {
  if (!session_) fail("no session: its keys are asked for before a join");
  SessionKeyCheck out;
  out.check_value = se_->aes_encrypt(slot, lorawan::Block{});
  if (const KeyAccess* keys = se_->key_access()) out.value = keys->key(slot);
  return out;
}

lorawan::DevNonce SimDevice::next_dev_nonce() {
  switch (policy_) {
    case DevNoncePolicy::fixed:
      return lorawan::DevNonce(dev_nonce_start_);
    case DevNoncePolicy::counter:
      if (next_counter_ > 0xffff) {
        fail("DevNonce counter exhausted: 0xffff has been used, and a LoRaWAN " +
             std::string(lorawan::to_string(mac_version_)) +
             " device never reuses a DevNonce with the same root keys");
      }
      return lorawan::DevNonce(next_counter_++);
    case DevNoncePolicy::random: {
      const std::size_t window = std::min<std::size_t>(options_.recent_dev_nonces, 0xffff);
      lorawan::DevNonce nonce;
      do {
        nonce = lorawan::DevNonce(static_cast<std::uint32_t>(rng_() & 0xffff));
      } while (std::find(recent_.begin(), recent_.end(), nonce) != recent_.end());
      if (window > 0) {
        recent_.push_back(nonce);
        while (recent_.size() > window) recent_.pop_front();
      }
      return nonce;
    }
  }
  fail("unknown DevNonce policy");
}

lorawan::Bytes SimDevice::make_join_request() { return make_join_request(next_dev_nonce()); }

lorawan::Bytes SimDevice::make_join_request(lorawan::DevNonce dev_nonce) {
  lorawan::JoinRequest request;
  request.join_eui = join_eui_;
  request.dev_eui = dev_eui_;
  request.dev_nonce = dev_nonce;
  const bool v1_1 = lorawan::is_1_1(mac_version_);
  if (v1_1) {
    // The lifetime keys, from the NwkKey and the DevEUI, before each join-request as
    // LoRaMac-node does: a rejoin answer and the 1.1 join-accept MIC need them.
    se_->derive_and_store(KeySlot::nwk_key,
                          lorawan::js_key_block(lorawan::KeyDerivation::js_int_key, dev_eui_),
                          KeySlot::js_int_key);
    se_->derive_and_store(KeySlot::nwk_key,
                          lorawan::js_key_block(lorawan::KeyDerivation::js_enc_key, dev_eui_),
                          KeySlot::js_enc_key);
  }
  lorawan::Bytes phy = lorawan::build_join_request(
      slot(v1_1 ? KeySlot::nwk_key : KeySlot::app_key), request);
  last_dev_nonce_ = dev_nonce;
  note_used(dev_nonce);
  PendingRequest pending;
  pending.counter = dev_nonce;
  pending_ = pending;
  return phy;
}

lorawan::JoinReqType SimDevice::PendingRequest::join_req_type() const {
  return rejoin ? lorawan::join_req_type_of(*rejoin) : lorawan::JoinReqType::join;
}

std::optional<lorawan::RejoinType> SimDevice::pending_rejoin() const {
  return pending_ ? pending_->rejoin : std::nullopt;
}

std::string SimDevice::rejoin_refusal(lorawan::RejoinType type) const {
  if (!lorawan::is_1_1(mac_version_)) {
    return "rejoin-requests are LoRaWAN 1.1 only, and this device is LoRaWAN " +
           std::string(lorawan::to_string(mac_version_));
  }
  if (!session_) return "no session; a device sends rejoin-requests only once joined (join first)";
  if (session_->mode != JoinMode::lorawan_1_1) {
    // OptNeg=0: the device runs LoRaWAN 1.0.x MAC rules, which have no rejoin-requests.
    return "the session was set up with OptNeg=0 (" + std::string(lorawan::to_string(session_->mode)) +
           "), which has no rejoin-requests; a LoRaWAN 1.1 (OptNeg=1) session is needed";
  }
  if (type == lorawan::RejoinType::type1 && next_rj_count1_ > 0xffff) {
    return "RJcount1 exhausted: 0xffff has been used, and a LoRaWAN 1.1 device never reuses an RJcount1 under the "
           "same JSIntKey";
  }
  if (type != lorawan::RejoinType::type1 && session_->rj_count0 > 0xffff) {
    return "RJcount0 exhausted: 0xffff has been used in this session, and a LoRaWAN 1.1 device never wraps it (a "
           "new session restarts it)";
  }
  return {};
}

lorawan::Bytes SimDevice::make_rejoin_request(lorawan::RejoinType type) {
  if (const std::string refusal = rejoin_refusal(type); !refusal.empty()) {
    fail("rejoin-request type " + std::to_string(static_cast<int>(type)) + ": " + refusal);
  }
  lorawan::RejoinRequest request;
  request.type = type;
  request.dev_eui = dev_eui_;
  lorawan::Bytes phy;
  if (type == lorawan::RejoinType::type1) {
    request.join_eui = join_eui_;
    request.rj_count = lorawan::DevNonce(next_rj_count1_);
    phy = lorawan::build_rejoin_request(slot(KeySlot::js_int_key), request);
    ++next_rj_count1_;
  } else {
    Session& s = *session_;
    request.net_id = s.net_id;
    request.rj_count = lorawan::DevNonce(s.rj_count0);
    phy = lorawan::build_rejoin_request(slot(KeySlot::s_nwk_s_int_key), request);
    ++s.rj_count0;
  }
  PendingRequest pending;
  pending.rejoin = type;
  pending.counter = request.rj_count;
  pending_ = pending;
  return phy;
}

JoinResult SimDevice::accept(lorawan::ByteSpan join_accept_phy) {
  if (!pending_) fail("a join-accept was given, but no join-request or rejoin-request was made");
  const bool v1_1 = lorawan::is_1_1(mac_version_);
  const lorawan::JoinReqType type = pending_->join_req_type();
  // Decrypted with AppKey (1.0.x), NwkKey (1.1 join-request) or JSEncKey (1.1 rejoin-request).
  const KeySlot decryption = !v1_1                               ? KeySlot::app_key
                             : type == lorawan::JoinReqType::join ? KeySlot::nwk_key
                                                                  : KeySlot::js_enc_key;
  JoinResult result;
  lorawan::JoinAccept accepted;
  try {
    accepted = lorawan::parse_join_accept_plaintext(
        lorawan::decrypt_join_accept(join_accept_phy, slot(decryption)));
  } catch (const SecureElementError&) {
    throw;  // the element failed: not the join-accept's fault
  } catch (const Error& e) {
    result.status = AcceptStatus::malformed;
    result.reason = e.what();
    return result;
  }
  result.accept = accepted;
  const JoinMode mode = lorawan::device_join_mode(v1_1, type, accepted.dl_settings);
  result.mode = mode;
  const lorawan::Mic expected =
      mode == JoinMode::lorawan_1_1
          ? lorawan::join_accept_mic_1_1(slot(KeySlot::js_int_key), type, join_eui_,
                                         pending_->counter, accepted)
          : lorawan::join_accept_mic_1_0(slot(decryption), accepted);
  if (expected != accepted.mic) {
    result.status = AcceptStatus::mic_invalid;
    result.reason = "MIC " + accepted.mic.hex() + " does not verify (" +
                    std::string(lorawan::to_string(mode)) + ")";
    return result;
  }
  // LoRaWAN 1.0.4 and 1.1: JoinNonce is a counter, and the device accepts only a join-accept
  // whose JoinNonce is greater than the last one it accepted. Before 1.0.4 it is a random value.
  if (lorawan::devnonce_is_counter(mac_version_) && last_join_nonce_ &&
      accepted.join_nonce <= *last_join_nonce_) {
    result.status = AcceptStatus::join_nonce_replay;
    result.reason = "JoinNonce " + accepted.join_nonce.hex() +
                    " is not greater than the last accepted " + last_join_nonce_->hex() +
                    " (LoRaWAN " + std::string(lorawan::to_string(mac_version_)) + ")";
    return result;
  }

  Session s;
  s.mode = mode;
  s.rejoin = pending_->rejoin;
  s.dev_nonce = pending_->counter;
  s.join_nonce = accepted.join_nonce;
  s.net_id = accepted.net_id;
  s.dev_addr = accepted.dev_addr;
  s.dl_settings = accepted.dl_settings;
  s.rx_delay = accepted.rx_delay;
  s.cf_list = accepted.cf_list;
  s.fcnt_up = 0;
  s.rj_count0 = 0;
  try {
    derive_session_keys(s);
  } catch (...) {
    // Some slots may hold the new keys, some the old: no session is usable any more.
    session_.reset();
    throw;
  }
  read_back_keys(s);
  session_ = s;
  last_join_nonce_ = s.join_nonce;
  pending_.reset();
  result.status = AcceptStatus::accepted;
  return result;
}

void SimDevice::derive_session_keys(const Session& s) {
  using lorawan::KeyDerivation;
  if (s.mode != JoinMode::lorawan_1_1) {
    // 1.0 formulas: the root is the AppKey of a 1.0.x device, the NwkKey of a 1.1 device served
    // with OptNeg=0; the one NwkSKey fills the three network slots.
    const KeySlot root = lorawan::is_1_1(mac_version_) ? KeySlot::nwk_key : KeySlot::app_key;
    const lorawan::Block nwk =
        lorawan::session_key_block(KeyDerivation::nwk_s_key, s.join_nonce, s.net_id, s.dev_nonce);
    for (KeySlot target : {KeySlot::f_nwk_s_int_key, KeySlot::s_nwk_s_int_key, KeySlot::nwk_s_enc_key}) {
      se_->derive_and_store(root, nwk, target);
    }
    se_->derive_and_store(
        root, lorawan::session_key_block(KeyDerivation::app_s_key, s.join_nonce, s.net_id, s.dev_nonce),
        KeySlot::app_s_key);
    return;
  }
  const auto block = [&](KeyDerivation prefix) {
    return lorawan::session_key_block(prefix, s.join_nonce, join_eui_, s.dev_nonce);
  };
  se_->derive_and_store(KeySlot::nwk_key, block(KeyDerivation::nwk_s_key), KeySlot::f_nwk_s_int_key);
  se_->derive_and_store(KeySlot::nwk_key, block(KeyDerivation::s_nwk_s_int_key), KeySlot::s_nwk_s_int_key);
  se_->derive_and_store(KeySlot::nwk_key, block(KeyDerivation::nwk_s_enc_key), KeySlot::nwk_s_enc_key);
  se_->derive_and_store(KeySlot::app_key, block(KeyDerivation::app_s_key), KeySlot::app_s_key);
}

void SimDevice::read_back_keys(Session& s) const {
  const KeyAccess* access = se_->key_access();
  if (access == nullptr) return;
  const auto f = access->key(KeySlot::f_nwk_s_int_key);
  const auto sn = access->key(KeySlot::s_nwk_s_int_key);
  const auto e = access->key(KeySlot::nwk_s_enc_key);
  const auto a = access->key(KeySlot::app_s_key);
  if (f && sn && e && a) s.keys = lorawan::SessionKeys{*f, *sn, *e, *a};
  if (lorawan::is_1_1(mac_version_)) {
    const auto ji = access->key(KeySlot::js_int_key);
    const auto je = access->key(KeySlot::js_enc_key);
    if (ji && je) s.js_keys = lorawan::JsKeys{*ji, *je};
  }
}

lorawan::Bytes SimDevice::make_uplink(std::uint8_t fport, lorawan::ByteSpan payload,
                                      bool confirmed) {
  if (!session_) fail("no session: an uplink needs a join first");
  Session& s = *session_;
  if (s.fcnt_up == std::numeric_limits<std::uint32_t>::max()) {
    fail("FCntUp exhausted: a new join is needed");
  }
  lorawan::DataParams params;
  params.confirmed = confirmed;
  params.dev_addr = s.dev_addr;
  params.fcnt = s.fcnt_up;
  params.fport = fport;
  params.frm_payload.assign(payload.begin(), payload.end());
  params.tx_dr = tx_dr_;
  params.tx_ch = tx_ch_;
  const SessionSlots keys(*se_, s.mode);
  const lorawan::DataFrame frame = lorawan::build_uplink(params, keys.refs);
  lorawan::Bytes phy = frame.encode();
  if (confirmed) s.last_confirmed_fcnt_up = s.fcnt_up;
  ++s.fcnt_up;
  return phy;
}

void SimDevice::set_uplink_radio(std::uint8_t data_rate, std::uint8_t channel_index) {
  tx_dr_ = data_rate;
  tx_ch_ = channel_index;
}

std::string to_string(const DownlinkResult& r) {
  if (!r.taken()) return "not taken: " + r.reason;
  std::string out = std::string(r.confirmed ? "ConfirmedDataDown" : "UnconfirmedDataDown") +
                    " FCntDown " + std::to_string(r.fcnt) + ", MIC valid";
  if (r.ack) out += ", ACK";
  if (r.fport) out += ", FPort " + std::to_string(*r.fport);
  return out;
}

DownlinkResult SimDevice::take_downlink(lorawan::ByteSpan phy) {
  if (!session_) fail("no session: a data downlink needs a join first");
  Session& s = *session_;
  DownlinkResult r;
  lorawan::DataFrame frame;
  try {
    frame = lorawan::DataFrame::parse(phy);
    if (frame.direction() != lorawan::Direction::downlink) {
      r.reason = "an uplink MType (" + std::string(lorawan::to_string(frame.mtype)) + ")";
      return r;
    }
  } catch (const SecureElementError&) {
    throw;
  } catch (const Error& e) {
    r.reason = std::string("not a data frame: ") + e.what();
    return r;
  }
  if (frame.dev_addr != s.dev_addr) {
    r.reason = "DevAddr " + frame.dev_addr.hex() + ", the session's is " + s.dev_addr.hex();
    return r;
  }
  r.for_this_device = true;
  r.ack = frame.fctrl.ack;
  r.confirmed = frame.confirmed();
  r.fport = frame.fport;
  // LoRaWAN 1.1 counts network downlinks (no FPort, or FPort 0: NFCntDown) and application
  // downlinks (AFCntDown) apart; 1.0.x has one FCntDown.
  const bool app_counter = s.mode == JoinMode::lorawan_1_1 && frame.fport && *frame.fport > 0;
  std::uint32_t& counter = app_counter ? s.a_fcnt_down : s.fcnt_down;
  // The 32-bit counter nearest above the lowest one still taken, with these 16 low bits.
  std::uint32_t fcnt = (counter & 0xffff0000u) | frame.fcnt;
  if (fcnt < counter) fcnt += 0x10000u;
  r.fcnt = fcnt;
  const SessionSlots keys(*se_, s.mode);
  lorawan::MicContext ctx;
  ctx.fcnt = fcnt;
  ctx.conf_fcnt = s.last_confirmed_fcnt_up.value_or(0);
  r.mic_valid = lorawan::compute_data_mic(frame, keys.refs, ctx) == frame.mic;
  if (!r.mic_valid) {
    r.reason = "MIC " + frame.mic.hex() + " does not verify with the session's keys (FCntDown " +
               std::to_string(fcnt) + ")";
    return r;
  }
  counter = fcnt + 1;
  if (r.ack) s.last_confirmed_fcnt_up.reset();
  return r;
}

}  // namespace joincheck::sim

namespace joincheck::sim {

void SimDevice::note_used(lorawan::DevNonce dev_nonce) {
  switch (policy_) {
    case DevNoncePolicy::counter:
      next_counter_ = std::max(next_counter_, dev_nonce.value() + 1);
      break;
    case DevNoncePolicy::random:
      if (std::find(recent_.begin(), recent_.end(), dev_nonce) == recent_.end()) {
        recent_.push_back(dev_nonce);
        while (recent_.size() > options_.recent_dev_nonces) recent_.pop_front();
      }
      break;
    case DevNoncePolicy::fixed:
      break;
  }
}

SimDevice::Counters SimDevice::counters() const {
  Counters c;
  c.next_dev_nonce = next_counter_;
  for (const auto& n : recent_) c.recent_dev_nonces.push_back(static_cast<std::uint16_t>(n.value()));
  c.next_rj_count1 = next_rj_count1_;
  if (last_join_nonce_) c.last_join_nonce = last_join_nonce_->value();
  return c;
}

void SimDevice::restore(const Counters& c) {
  if (c.next_dev_nonce > 0x10000) fail("restore: DevNonce counter " + std::to_string(c.next_dev_nonce) + " is above 0x10000");
  if (c.next_rj_count1 > 0x10000) fail("restore: RJcount1 " + std::to_string(c.next_rj_count1) + " is above 0x10000");
  if (c.last_join_nonce && *c.last_join_nonce > 0xffffff) {
    fail("restore: JoinNonce " + std::to_string(*c.last_join_nonce) + " is above 0xffffff");
  }
  next_counter_ = c.next_dev_nonce;
  recent_.clear();
  for (auto n : c.recent_dev_nonces) recent_.push_back(lorawan::DevNonce(n));
  while (recent_.size() > options_.recent_dev_nonces) recent_.pop_front();
  next_rj_count1_ = c.next_rj_count1;
  if (c.last_join_nonce) last_join_nonce_ = lorawan::JoinNonce(*c.last_join_nonce);
  else last_join_nonce_.reset();
}

}  // namespace joincheck::sim
