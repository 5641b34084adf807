#include "sim/gateway/air_link.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <thread>
#include <utility>

#include "lorawan/data_frame.hpp"
#include "lorawan/hex.hpp"
#include "sim/seed.hpp"

namespace joincheck::sim {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxGateways = 64;
// How often a wait looks at the other gateways and at the cancellation flag.
constexpr milliseconds kPollInterval{10};
// Longest wait for a downlink's emission: a tmst further ahead is not waited for.
constexpr std::int64_t kMaxEmissionWaitUs = 20'000'000;

lorawan::Eui64 make_gateway_eui(std::uint64_t seed, std::size_t index) {
  const std::uint64_t m = splitmix64(seed);
  lorawan::Eui64::Array a{};
  a[0] = 0x6a;  // 'j'
  a[1] = 0x63;  // 'c'
  for (std::size_t i = 0; i < 4; ++i) a[2 + i] = static_cast<std::uint8_t>(m >> (8 * i));
  a[6] = static_cast<std::uint8_t>(index >> 8);
  a[7] = static_cast<std::uint8_t>(index & 0xff);
  return lorawan::Eui64(a);
}

milliseconds since(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration_cast<milliseconds>(end - start);
}

bool cancelled(const std::atomic<bool>* cancel) {
  return cancel != nullptr && cancel->load(std::memory_order_relaxed);
}

std::string downlink_label(const lorawan::Eui64& gateway, const ReceivedDownlink& d) {
  std::string s = "gateway " + gateway.hex() + " downlink #" + std::to_string(d.sequence);
  if (d.txpk.tmst) s += " (tmst " + std::to_string(*d.txpk.tmst) + ")";
  return s;
}

// Why a downlink the gateway received was never emitted; empty when it was.
std::string not_emitted(const ReceivedDownlink& d) {
  if (!d.tx_ack) {
    return "no TX_ACK sent, not emitted" + (d.note.empty() ? std::string() : ": " + d.note);
  }
  if (*d.tx_ack == gwmp::TxAckError::none) return {};
  return "refused by the gateway: TX_ACK " + std::string(gwmp::to_string(*d.tx_ack)) +
         (d.note.empty() ? std::string() : " (" + d.note + ")");
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string UdpAddress::text() const { return gwmp::host_port_text(host, port); }

UdpAddress parse_udp_address(std::string_view text, std::string_view what, bool allow_port_0) {
  const auto fail = [&](const std::string& expected) {
    return lorawan::Error(std::string(what) + ": expected " + expected + ", got " +
                          lorawan::quote_for_error(text));
  };
  const std::string_view form = "udp://HOST:PORT (e.g. udp://127.0.0.1:1700)";
  std::string_view rest = text;
  const auto scheme_end = rest.find("://");
  if (scheme_end != std::string_view::npos) {
    std::string scheme(rest.substr(0, scheme_end));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme != "udp") {
      throw fail(std::string(form) + ": the Semtech UDP packet forwarder protocol (GWMP) runs over UDP");
    }
    rest.remove_prefix(scheme_end + 3);
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  UdpAddress out;
  std::string_view port_text;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string_view::npos) throw fail(std::string(form) + " with ']' after an IPv6 address");
    out.host = std::string(rest.substr(1, close - 1));
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw fail(std::string(form));
      port_text = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && rest.find(':') != colon) {
      throw fail(std::string(form) + " (an IPv6 address in brackets: udp://[::1]:1700)");
    }
    if (colon == std::string_view::npos) {
      out.host = std::string(rest);
    } else {
      out.host = std::string(rest.substr(0, colon));
      port_text = rest.substr(colon + 1);
      has_port = true;
    }
  }
  if (out.host.empty()) throw fail(std::string(form) + " with a host");
  for (const char c : out.host) {
    if (c == '/' || c == '?' || c == '#' || c == '@' || static_cast<unsigned char>(c) <= ' ') {
      throw fail(std::string(form) + ", a host without a path");
    }
  }
  if (has_port) {
    unsigned long p = 0;
    bool ok = !port_text.empty() && port_text.size() <= 5;
    for (const char c : port_text) {
      ok = ok && c >= '0' && c <= '9';
      if (ok) p = p * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!ok || p > 65535 || (p == 0 && !allow_port_0)) {
      throw fail(std::string(form) + ", a port " + (allow_port_0 ? "0" : "1") + "-65535");
    }
    out.port = static_cast<std::uint16_t>(p);
  }
  return out;
}

std::string_view to_string(AirStatus status) {
  switch (status) {
    case AirStatus::answered:
      return "answered";
    case AirStatus::no_downlink:
      return "no downlink";
    case AirStatus::not_sent:
      return "not sent";
    case AirStatus::cancelled:
      return "cancelled";
  }
  return "?";
}

bool AirJoin::sent() const {
  return std::any_of(copies.begin(), copies.end(), [](const AirCopy& c) { return c.receipt.has_value(); });
}
bool AirJoin::accepted() const {
  return status == AirStatus::answered && result && result->accepted();
}
bool AirUplink::sent() const {
  return std::any_of(copies.begin(), copies.end(), [](const AirCopy& c) { return c.receipt.has_value(); });
}
bool AirUplink::acknowledged() const {
  return status == AirStatus::answered && result && result->taken() && result->ack;
}

// ---------------------------------------------------------------------------------------------

struct AirLink::Impl {
  AirLinkOptions options;
  const lorawan::Region& region;
  std::vector<std::unique_ptr<SimGateway>> gateways;
  std::uint8_t data_rate = 0;
  std::string datr;

  std::mutex m;
  std::map<lorawan::Eui64, std::size_t> ordinals;  // devices in order of first appearance

  explicit Impl(AirLinkOptions o) : options(std::move(o)), region(lorawan::Region::get(options.region)) {
    if (options.gateways == 0 || options.gateways > kMaxGateways) {
      throw lorawan::Error("AirLink gateways: expected 1.." + std::to_string(kMaxGateways) + ", got " +
                           std::to_string(options.gateways));
    }
    data_rate = options.data_rate.value_or(region.default_uplink_data_rate());
    const auto rate = region.uplink_rate(data_rate);
    if (!rate) {
      throw lorawan::Error("AirLink data rate: DR" + std::to_string(data_rate) + " is not an uplink data rate of " +
                           std::string(region.name()));
    }
    datr = lorawan::to_datr(*rate);
    if (options.channels.empty()) {
      if (options.region == lorawan::RegionId::us915) {
        for (std::uint8_t c = 8; c < 16; ++c) options.channels.push_back(c);
      } else {
        for (std::size_t c = 0; c < region.uplink_channels().size() && c < 3; ++c) {
          options.channels.push_back(static_cast<std::uint8_t>(c));
        }
      }
    }
    for (const std::uint8_t c : options.channels) {
      if (c >= region.uplink_channels().size()) {
        throw lorawan::Error("AirLink channels: " + std::string(region.name()) + " has uplink channels 0.." +
                             std::to_string(region.uplink_channels().size() - 1) + ", got " + std::to_string(c));
      }
      // RP002 US902-928: channels 0..63 are 125 kHz (DR0..3), 64..71 are 500 kHz (DR4).
      if (options.region == lorawan::RegionId::us915 && ((c >= 64) != (rate->bandwidth_khz == 500))) {
        throw lorawan::Error("AirLink channels: US915 channel " + std::to_string(c) + " is a " +
                             (c >= 64 ? "500" : "125") + " kHz channel, the uplink data rate is " + datr);
      }
    }
    for (std::size_t i = 0; i < options.gateways; ++i) {
      SimGatewayOptions g;
      g.gateway_eui = make_gateway_eui(options.seed, i);
      g.ns_host = options.ns_host;
      g.ns_port = options.ns_port;
      g.region = options.region;
      g.ack_timeout = options.ack_timeout;
      g.attempts = options.attempts;
      g.stat_interval = options.stat_interval;
      g.seed = splitmix64(options.seed ^ (0x6761746577617900ULL + i));
      gateways.push_back(std::make_unique<SimGateway>(std::move(g)));
    }
  }

  std::size_t ordinal_of(const lorawan::Eui64& dev_eui) {
    std::lock_guard lock(m);
    return ordinals.try_emplace(dev_eui, ordinals.size()).first->second;
  }

  AirRadio radio_for(std::size_t ordinal) const {
    AirRadio r;
    r.channel_index = options.channels[ordinal % options.channels.size()];
    r.frequency_hz = region.uplink_channels()[r.channel_index];
    r.data_rate = data_rate;
    r.datr = datr;
    return r;
  }

  // Sends `phy` through every gateway, the device's best one first rank.
  std::vector<AirCopy> send(lorawan::ByteSpan phy, const AirRadio& radio, std::size_t ordinal) {
    std::vector<AirCopy> copies;
    const std::size_t n = gateways.size();
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t rank = (i + n - ordinal % n) % n;
      AirCopy c;
      c.gateway = i;
      c.gateway_eui = gateways[i]->eui();
      c.rssi = options.best_rssi - 6 * static_cast<int>(rank);
      c.lsnr = 9.0 - static_cast<double>(rank);
      UplinkRadio r;
      r.frequency_hz = radio.frequency_hz;
      r.data_rate = radio.data_rate;
      r.rssi = c.rssi;
      r.lsnr = c.lsnr;
      try {
        c.receipt = gateways[i]->uplink(phy, r);
      } catch (const GatewayError& e) {
        c.error = e.what();
      }
      copies.push_back(std::move(c));
    }
    return copies;
  }

  struct Cursor {
    std::size_t gateway = 0;
    UplinkReceipt receipt;  // downlink_sequence: the next downlink to look at
  };

  static std::vector<Cursor> cursors_of(const std::vector<AirCopy>& copies) {
    std::vector<Cursor> out;
    for (const AirCopy& c : copies) {
      if (c.receipt) out.push_back(Cursor{c.gateway, *c.receipt});
    }
    return out;
  }

  static Clock::time_point first_sent(const std::vector<AirCopy>& copies) {
    Clock::time_point t = Clock::time_point::max();
    for (const AirCopy& c : copies) {
      if (c.receipt) t = std::min(t, c.receipt->sent_at);
    }
    return t;
  }

  // The next downlink on any gateway, in each gateway's order; nullopt at the deadline or when
  // cancelled (`was_cancelled` says which).
  std::optional<std::pair<std::size_t, ReceivedDownlink>> next_downlink(
      std::vector<Cursor>& cursors, Clock::time_point deadline, const std::atomic<bool>* cancel,
      bool& was_cancelled) const {
    was_cancelled = false;
    if (cursors.empty()) return std::nullopt;
    for (;;) {
      for (Cursor& c : cursors) {
        auto d = gateways[c.gateway]->wait_downlink(c.receipt, Clock::now());
        if (d) {
          c.receipt.downlink_sequence = d->sequence + 1;
          return std::make_pair(c.gateway, std::move(*d));
        }
      }
      if (cancelled(cancel)) {
        was_cancelled = true;
        return std::nullopt;
      }
      const Clock::time_point now = Clock::now();
      if (now >= deadline) return std::nullopt;
      // Sleeps on the first gateway's log; what it returns is taken on the next round.
      (void)gateways[cursors.front().gateway]->wait_downlink(cursors.front().receipt,
                                                              std::min(deadline, now + kPollInterval));
    }
  }

  AirDownlink answer(std::size_t gateway, ReceivedDownlink d, const std::vector<AirCopy>& copies,
                     Clock::time_point start, bool join_accept, const Session* session) const {
    AirDownlink a;
    a.gateway = gateway;
    a.gateway_eui = gateways[gateway]->eui();
    a.after_uplink = since(start, d.received_at);
    const UplinkReceipt& receipt = *copies[gateway].receipt;
    if (join_accept || session == nullptr) {
      a.fit = classify_downlink(region, receipt, d.txpk, true);
    } else {
      a.fit = classify_downlink(region, receipt, d.txpk, false,
                                static_cast<std::uint8_t>(session->rx_delay & 0x0f),
                                session->dl_settings.rx1_dr_offset(), session->dl_settings.rx2_data_rate());
    }
    a.downlink = std::move(d);
    return a;
  }

  // As a device that hears the downlink: until the gateway has emitted it.
  void wait_for_emission(const AirDownlink& a, const std::atomic<bool>* cancel) const {
    if (!options.wait_for_emission || !a.downlink.txpk.tmst || !not_emitted(a.downlink).empty()) return;
    const SimGateway& gw = *gateways[a.gateway];
    const std::uint64_t air = time_on_air_us(a.downlink.txpk).value_or(0);
    const std::uint32_t end = *a.downlink.txpk.tmst + static_cast<std::uint32_t>(air);
    const std::int64_t left = gwmp::tmst_delta(gw.tmst_now(), end);
    if (left <= 0 || left > kMaxEmissionWaitUs) return;
    const Clock::time_point until = Clock::now() + std::chrono::microseconds(left);
    while (Clock::now() < until && !cancelled(cancel)) {
      std::this_thread::sleep_for(std::min<Clock::duration>(kPollInterval, until - Clock::now()));
    }
  }

  static std::string summary_of_ignored(const std::vector<AirIgnored>& ignored) {
    if (ignored.empty()) return {};
    return "; " + std::to_string(ignored.size()) + (ignored.size() == 1 ? " downlink" : " downlinks") +
           " not for it (first: " + ignored.front().why + ")";
  }

  std::string not_sent_problem(const std::vector<AirCopy>& copies) const {
    std::string first;
    for (const AirCopy& c : copies) {
      if (!c.error.empty()) {
        first = c.error;
        break;
      }
    }
    return "no gateway's PUSH_DATA was acknowledged by the NS at " + gateways.front()->ns_address() +
           (first.empty() ? std::string() : ": " + first);
  }

  AirJoin join(SimDevice& device, const AirWaitOptions& wait) {
    AirJoin out;
    const std::size_t ordinal = ordinal_of(device.dev_eui());
    out.radio = radio_for(ordinal);
    device.set_uplink_radio(out.radio.data_rate, out.radio.channel_index);
    const lorawan::Bytes phy = device.make_join_request();
    if (device.last_dev_nonce()) out.dev_nonce = *device.last_dev_nonce();
    out.timeout = wait.timeout.value_or(
        std::chrono::duration_cast<milliseconds>(lorawan::kJoinAcceptDelay2) + milliseconds(2000));
    out.copies = send(phy, out.radio, ordinal);
    if (!out.sent()) {
      out.status = AirStatus::not_sent;
      out.problem = not_sent_problem(out.copies);
      return out;
    }
    const Clock::time_point start = first_sent(out.copies);
    const Clock::time_point deadline = start + out.timeout;
    std::vector<Cursor> cursors = cursors_of(out.copies);
    // A join-accept the device refused as malformed: the answer if nothing better comes.
    std::optional<std::pair<AirDownlink, JoinResult>> fallback;
    for (;;) {
      bool was_cancelled = false;
      auto next = next_downlink(cursors, deadline, wait.cancel, was_cancelled);
      if (!next) {
        out.elapsed = since(start, Clock::now());
        if (fallback) {
          out.status = AirStatus::answered;
          out.downlink = std::move(fallback->first);
          out.result = std::move(fallback->second);
          out.elapsed = out.downlink->after_uplink;
        } else if (was_cancelled) {
          out.status = AirStatus::cancelled;
          out.problem = "cancelled while waiting for the join-accept";
        } else {
          out.status = AirStatus::no_downlink;
          out.problem = "no join-accept within " + std::to_string(out.timeout.count()) +
                        " ms of the join-request" + summary_of_ignored(out.ignored);
        }
        break;
      }
      auto& [gateway, d] = *next;
      const std::string label = downlink_label(gateways[gateway]->eui(), d);
      if (std::string why = not_emitted(d); !why.empty()) {
        out.ignored.push_back(AirIgnored{gateway, std::move(d), label + ": " + why});
        continue;
      }
      if (d.txpk.data.empty() || lorawan::mtype_of(d.txpk.data[0]) != lorawan::MType::join_accept) {
        const std::string what = d.txpk.data.empty() ? std::string("an empty PHYPayload")
                                                     : "MType " + std::string(lorawan::to_string(
                                                                      lorawan::mtype_of(d.txpk.data[0])));
        out.ignored.push_back(AirIgnored{gateway, std::move(d), label + ": " + what + ", not a join-accept"});
        continue;
      }
      JoinResult result = device.accept(d.txpk.data);
      if (result.status == AcceptStatus::malformed) {
        if (!fallback) {
          fallback.emplace(answer(gateway, std::move(d), out.copies, start, true, nullptr), std::move(result));
        } else {
          out.ignored.push_back(AirIgnored{gateway, std::move(d), label + ": refused by the device: " + result.reason});
        }
        continue;
      }
      if (fallback) {
        out.ignored.push_back(AirIgnored{fallback->first.gateway, fallback->first.downlink,
                                         downlink_label(fallback->first.gateway_eui, fallback->first.downlink) +
                                             ": refused by the device: " + fallback->second.reason});
      }
      out.status = AirStatus::answered;
      out.downlink = answer(gateway, std::move(d), out.copies, start, true, nullptr);
      out.result = std::move(result);
      out.elapsed = out.downlink->after_uplink;
      break;
    }
    if (out.downlink) wait_for_emission(*out.downlink, wait.cancel);
    return out;
  }

  AirUplink uplink(SimDevice& device, std::uint8_t fport, lorawan::ByteSpan payload, bool confirmed,
                   const AirWaitOptions& wait) {
    AirUplink out;
    const std::size_t ordinal = ordinal_of(device.dev_eui());
    out.radio = radio_for(ordinal);
    out.fport = fport;
    out.confirmed = confirmed;
    device.set_uplink_radio(out.radio.data_rate, out.radio.channel_index);
    if (device.session()) out.fcnt = device.session()->fcnt_up;
    const lorawan::Bytes phy = device.make_uplink(fport, payload, confirmed);  // throws without a session
    const Session session = *device.session();
    const milliseconds receive_delay2 =
        std::chrono::duration_cast<milliseconds>(lorawan::receive_delay1(session.rx_delay)) + milliseconds(1000);
    out.timeout = wait.timeout.value_or(confirmed ? receive_delay2 + milliseconds(2000) : milliseconds(0));
    out.copies = send(phy, out.radio, ordinal);
    if (!out.sent()) {
      out.status = AirStatus::not_sent;
      out.problem = not_sent_problem(out.copies);
      return out;
    }
    const Clock::time_point start = first_sent(out.copies);
    const Clock::time_point deadline = start + out.timeout;
    std::vector<Cursor> cursors = cursors_of(out.copies);
    for (;;) {
      bool was_cancelled = false;
      auto next = out.timeout.count() > 0 ? next_downlink(cursors, deadline, wait.cancel, was_cancelled)
                                          : std::nullopt;
      if (!next) {
        out.elapsed = since(start, Clock::now());
        if (was_cancelled) {
          out.status = AirStatus::cancelled;
          out.problem = "cancelled while waiting for a downlink";
        } else {
          out.status = AirStatus::no_downlink;
          out.problem = out.timeout.count() > 0
                            ? "no downlink for DevAddr " + session.dev_addr.hex() + " within " +
                                  std::to_string(out.timeout.count()) + " ms of the uplink" +
                                  summary_of_ignored(out.ignored)
                            : std::string("no downlink awaited");
        }
        break;
      }
      auto& [gateway, d] = *next;
      const std::string label = downlink_label(gateways[gateway]->eui(), d);
      if (std::string why = not_emitted(d); !why.empty()) {
        out.ignored.push_back(AirIgnored{gateway, std::move(d), label + ": " + why});
        continue;
      }
      const auto type = d.txpk.data.empty() ? std::optional<lorawan::MType>()
                                            : std::optional<lorawan::MType>(lorawan::mtype_of(d.txpk.data[0]));
      if (type != lorawan::MType::unconfirmed_data_down && type != lorawan::MType::confirmed_data_down) {
        const std::string what = type ? "MType " + std::string(lorawan::to_string(*type)) : "an empty PHYPayload";
        out.ignored.push_back(AirIgnored{gateway, std::move(d), label + ": " + what + ", not a data downlink"});
        continue;
      }
      lorawan::DevAddr addr;
      try {
        addr = lorawan::DataFrame::parse(d.txpk.data).dev_addr;
      } catch (const lorawan::Error& e) {
        out.ignored.push_back(AirIgnored{gateway, std::move(d), label + ": data frame does not parse: " + e.what()});
        continue;
      }
      if (addr != session.dev_addr) {
        out.ignored.push_back(AirIgnored{gateway, std::move(d),
                                         label + ": DevAddr " + addr.hex() + ", another device's (the session's is " +
                                             session.dev_addr.hex() + ")"});
        continue;
      }
      out.result = device.take_downlink(d.txpk.data);
      out.status = AirStatus::answered;
      out.downlink = answer(gateway, std::move(d), out.copies, start, false, &session);
      out.elapsed = out.downlink->after_uplink;
      break;
    }
    if (out.downlink) wait_for_emission(*out.downlink, wait.cancel);
    return out;
  }
};

AirLink::AirLink(AirLinkOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
AirLink::~AirLink() = default;

lorawan::Eui64 AirLink::gateway_eui(std::uint64_t seed, std::size_t index) { return make_gateway_eui(seed, index); }

const lorawan::Region& AirLink::region() const { return impl_->region; }
const AirLinkOptions& AirLink::options() const { return impl_->options; }

std::vector<lorawan::Eui64> AirLink::gateway_euis() const {
  std::vector<lorawan::Eui64> out;
  for (const auto& g : impl_->gateways) out.push_back(g->eui());
  return out;
}

SimGateway& AirLink::gateway(std::size_t index) { return *impl_->gateways.at(index); }
std::string AirLink::ns_address() const { return impl_->gateways.front()->ns_address(); }

AirRadio AirLink::radio_for(const lorawan::Eui64& dev_eui) {
  return impl_->radio_for(impl_->ordinal_of(dev_eui));
}

AirJoin AirLink::join(SimDevice& device, const AirWaitOptions& wait) { return impl_->join(device, wait); }

AirUplink AirLink::uplink(SimDevice& device, std::uint8_t fport, lorawan::ByteSpan payload, bool confirmed,
                          const AirWaitOptions& wait) {
  return impl_->uplink(device, fport, payload, confirmed, wait);
}

}  // namespace joincheck::sim
