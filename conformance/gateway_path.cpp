// The over-the-air path of `joincheck run --via-gateway`: joincheck's NS and simulated gateways.
#include "conformance/gateway_path.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "backend/codec.hpp"
#include "lorawan/hex.hpp"

namespace joincheck::conformance {

struct GatewayPath::ExchangeQueue {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<sim::Exchange> exchanges;
};

namespace {

std::string describe_downlink(const sim::gwmp::TxPacket& txpk, const sim::DownlinkFit& fit) {
  std::string out = std::string(sim::to_string(fit.timing)) + " timing, " +
                    std::to_string(txpk.frequency_hz / 1000) + " kHz " + txpk.datr;
  if (fit.tmst_offset_us) out += ", tmst uplink + " + std::to_string(*fit.tmst_offset_us) + " us";
  return out;
}

// What the target received is what the NS sent, not what the StepRequestBuilder prepared.
void take_sent_from_ns(const sim::Exchange& ex, SentRequest& sent) {
  try {
    const backend::Decoded d = backend::decode(ex.request_body, backend::DecodeMode::observing);
    if (const auto* req = std::get_if<backend::JoinReq>(&d.message)) {
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
}

}  // namespace

GatewayPath::GatewayPath(const RunOptions& options)
    : options_(options), ns_exchanges_(std::make_shared<ExchangeQueue>()) {}

GatewayPath::~GatewayPath() = default;

std::string GatewayPath::start() {
  const RunOptions::ViaGateway& via = *options_.via_gateway;
  if (options_.target.ns.async_listen) {
    return "over the air: the target answers asynchronously; --via-gateway runs joincheck's NS "
           "in synchronous mode only";
  }
  try {
    sim::NetworkServerOptions no;
    no.listen = "127.0.0.1:0";
    no.region = via.region;
    no.js = options_.target.ns;
    no.mac_versions = sim::mac_versions_of(options_.fleet);
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
    ao.seed = options_.seed;
    air_ = std::make_unique<sim::AirLink>(ao);
  } catch (const std::exception& e) {
    return std::string("over the air: the simulated gateway and NS could not be set up: ") + e.what();
  }
  return "";
}

bool GatewayPath::carries(const Step& s) {
  return s.kind == StepKind::join && s.dev_nonce.kind == DevNonceChoice::next && !s.corrupt_mic && !s.mac_version &&
         !s.opt_neg && s.phy_payload_change == PhyPayloadChange::none && !s.dev_addr && !s.dl_settings && !s.rx_delay &&
         !s.cf_list_set && !s.protocol_version && !s.sender_id && !s.receiver_id && !s.sender_token &&
         !s.sender_ns_id_set && !s.transaction_id && !s.vs_extension && s.omit.empty() && s.null_fields.empty() &&
         s.set.empty() && s.hex == Step::HexStyle::as_encoded && !s.content_type;
}

std::optional<sim::Exchange> GatewayPath::join(DeviceState& ds, StepRequest& request, sim::UplinkReceipt& receipt,
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
      const sim::UplinkReceipt got = air_->gateway(g).uplink(request.phy_payload, r);
      if (g == 0) receipt = got;
    } catch (const sim::GatewayError& e) {
      problem = std::string("the join-request did not reach the NS: ") + e.what();
      return std::nullopt;
    }
  }
  // The NS asks the JS within its deadline (capped to the second join window).
  const auto wait = options_.target.ns.timeout + std::chrono::seconds(2);
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
  take_sent_from_ns(ex, request.sent);
  return ex;
}

void GatewayPath::await_join_accept(DeviceState& ds, const sim::UplinkReceipt& receipt, const Validation& v) {
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
    const lorawan::Bytes& data = downlink->txpk.data;
    air.problem = "the downlink is not the JoinAns PHYPayload (" + std::to_string(data.size()) + " bytes, " +
                  lorawan::to_hex(lorawan::ByteSpan(data).first(std::min<std::size_t>(4, data.size()))) + "...)";
  }
  ds.last_air = air;
}

void GatewayPath::wait_for_free_air(std::chrono::microseconds delay) {
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

bool GatewayPath::uplink(DeviceState& ds, const Step& step, bool awaited, std::string& problem) {
  sim::SimDevice& dev = *ds.device;
  // An unconfirmed uplink has no answer to wait for, unless the next step expects one.
  sim::AirWaitOptions wait;
  if (!step.confirmed && awaited) {
    wait.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        lorawan::receive_delay1(dev.session()->rx_delay) + std::chrono::seconds(3));
  }
  wait_for_free_air(lorawan::receive_delay1(dev.session()->rx_delay));
  const sim::AirUplink up = air_->uplink(dev, step.fport, step.frm_payload, step.confirmed, wait);
  if (!up.sent()) {
    problem = up.problem;
    return false;
  }
  DeviceState::AirAnswer air;
  air.join = false;
  air.confirmed = step.confirmed;
  if (up.downlink) {
    air.fit = up.downlink->fit;
    air.downlink = describe_downlink(up.downlink->downlink.txpk, up.downlink->fit);
    air.taken = up.result;
  } else {
    air.problem = up.problem.empty() ? std::string(sim::to_string(up.status)) : up.problem;
  }
  ds.last_air = air;
  return true;
}

}  // namespace joincheck::conformance
