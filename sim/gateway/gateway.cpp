#include "sim/gateway/gateway.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <thread>

namespace joincheck::sim {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

// Lora-net/packet_forwarder v4.0.1, lora_pkt_fwd/src/jitqueue.c (jit_enqueue): a timestamped
// downlink must reach the gateway more than TX_START_DELAY (1500 µs) + TX_MARGIN_DELAY (1000 µs)
// + TX_JIT_DELAY (30000 µs; SimGatewayOptions::tx_jit_delay, sx1302_hal's forwarder: 40000)
// before its tmst, and at most TX_MAX_ADVANCE_DELAY ((3 beacons + 1) × 128 s) before it. Two
// downlinks collide when one starts within the other's time on air plus TX_MARGIN_DELAY, or
// within its own pre-delay (TX_START_DELAY + TX_JIT_DELAY) of the other's end.
constexpr std::int64_t kTxStartDelayUs = 1500;
constexpr std::int64_t kTxMarginDelayUs = 1000;
constexpr std::int64_t kTxMaxAdvanceDelayUs = 4LL * 128 * 1'000'000;

constexpr std::size_t kMaxDatagram = 65536;
constexpr std::size_t kMaxPendingStatTokens = 16;

using gwmp::endpoint_text;
using gwmp::tmst_delta;
using lorawan::mhz_text;

std::string token_text(std::uint16_t token) {
  const std::uint8_t bytes[2] = {static_cast<std::uint8_t>(token >> 8),
                                 static_cast<std::uint8_t>(token & 0xff)};
  return "0x" + lorawan::to_hex(bytes);
}

std::string offset_text(std::int64_t us) {
  return (us < 0 ? "- " : "+ ") + std::to_string(us < 0 ? -us : us) + " us";
}

// "4/5" -> 1 ... "4/8" -> 4; lora_pkt_fwd also reads "2/3" as 4/6 and "1/2" as 4/8, and aborts
// the TX for anything else (nullopt).
std::optional<int> coding_rate_index(std::string_view codr) {
  if (codr == "4/5") return 1;
  if (codr == "4/6" || codr == "2/3") return 2;
  if (codr == "4/7") return 3;
  if (codr == "4/8" || codr == "1/2") return 4;
  return std::nullopt;
}

bool lacks(const gwmp::TxPacket& t, std::string_view field) {
  return std::find(t.missing_fields.begin(), t.missing_fields.end(), field) !=
         t.missing_fields.end();
}

}  // namespace

double GatewayCounters::ackr() const {
  if (push_sent == 0) return 100.0;
  return 100.0 * static_cast<double>(push_acked) / static_cast<double>(push_sent);
}

std::optional<std::uint64_t> time_on_air_us(const gwmp::TxPacket& txpk) {
  if (txpk.modu != "LORA") return std::nullopt;
  const auto rate = lorawan::parse_datr(txpk.datr);
  if (!rate) return std::nullopt;
  const int sf = rate->spreading_factor;
  const double symbol_us = std::ldexp(1.0, sf) * 1000.0 / static_cast<double>(rate->bandwidth_khz);
  const int de = symbol_us > 16000.0 ? 1 : 0;
  const int crc = txpk.ncrc ? 0 : 1;
  const double preamble = txpk.prea.value_or(8);
  const double payload_bits =
      8.0 * static_cast<double>(txpk.data.size()) - 4.0 * sf + 28.0 + 16.0 * crc;
  const double blocks = std::max(std::ceil(payload_bits / (4.0 * (sf - 2 * de))), 0.0);
  const double symbols =
      preamble + 4.25 + 8.0 + blocks * (coding_rate_index(txpk.codr).value_or(1) + 4);
  return static_cast<std::uint64_t>(std::llround(symbols * symbol_us));
}

std::string_view to_string(RxWindow window) {
  switch (window) {
    case RxWindow::rx1:
      return "RX1";
    case RxWindow::rx2:
      return "RX2";
    case RxWindow::none:
      return "none";
  }
  return "?";
}

std::string DownlinkFit::reason() const {
  std::string out;
  for (const auto& r : reasons) {
    if (!out.empty()) out += " / ";
    out += r;
  }
  return out;
}

DownlinkFit classify_downlink(const lorawan::Region& region, const UplinkReceipt& receipt,
                              const gwmp::TxPacket& txpk, bool is_join_accept,
                              std::uint8_t rx_delay_s, std::uint8_t rx1_dr_offset,
                              std::optional<std::uint8_t> rx2_dr, std::uint32_t tmst_tolerance_us) {
  DownlinkFit fit;
  const std::int64_t delay1 =
      is_join_accept ? std::chrono::microseconds(lorawan::kJoinAcceptDelay1).count()
                     : std::chrono::microseconds(lorawan::receive_delay1(rx_delay_s)).count();
  const std::int64_t delay2 = delay1 + 1'000'000;
  const std::string what =
      is_join_accept ? "a join-accept"
                     : "a data downlink (RxDelay " + std::to_string(delay1 / 1'000'000) + " s)";
  const std::string belongs =
      what + " belongs at +" + std::to_string(delay1) + " (RX1) or +" + std::to_string(delay2) +
      " (RX2)" + (tmst_tolerance_us > 0 ? " ± " + std::to_string(tmst_tolerance_us) + " us" : "");

  // Timing, on the gateway counter.
  if (txpk.imme) {
    fit.reasons.push_back("imme is set (emitted at once, tmst ignored); " + belongs +
                          ": class A answers are sent at a tmst");
  } else if (!txpk.tmst) {
    fit.reasons.push_back("no tmst (GPS time tmms instead); " + belongs);
  } else {
    const std::int64_t offset = tmst_delta(receipt.tmst, *txpk.tmst);
    fit.tmst_offset_us = offset;
    const auto near = [&](std::int64_t target) {
      return std::abs(offset - target) <= std::int64_t{tmst_tolerance_us};
    };
    if (near(delay1)) {
      fit.timing = RxWindow::rx1;
    } else if (near(delay2)) {
      fit.timing = RxWindow::rx2;
    } else {
      fit.reasons.push_back("tmst is uplink tmst " + offset_text(offset) + "; " + belongs);
    }
  }

  // The two windows' frequency and data rate.
  std::optional<lorawan::DownlinkWindow> rx1;
  std::optional<lorawan::DownlinkWindow> rx2;
  try {
    rx1 = region.rx1(receipt.frequency_hz, receipt.data_rate, rx1_dr_offset);
  } catch (const lorawan::Error& e) {
    fit.reasons.push_back(std::string("RX1 unknown: ") + e.what());
  }
  try {
    rx2 = region.rx2(rx2_dr);
  } catch (const lorawan::Error& e) {
    fit.reasons.push_back(std::string("RX2 unknown: ") + e.what());
  }
  const std::optional<lorawan::DownlinkWindow>& expected =
      fit.timing == RxWindow::rx1   ? rx1
      : fit.timing == RxWindow::rx2 ? rx2
                                    : std::optional<lorawan::DownlinkWindow>();

  const bool freq_ok = fit.timing == RxWindow::none
                           ? (rx1 && rx1->frequency_hz == txpk.frequency_hz) ||
                                 (rx2 && rx2->frequency_hz == txpk.frequency_hz)
                           : expected && expected->frequency_hz == txpk.frequency_hz;
  if (!freq_ok) {
    std::string r = "frequency " + mhz_text(txpk.frequency_hz) + ";";
    if (rx1) r += " RX1 is " + mhz_text(rx1->frequency_hz);
    if (rx1 && rx2) r += ",";
    if (rx2) r += " RX2 " + mhz_text(rx2->frequency_hz);
    fit.reasons.push_back(r);
  }

  const auto rate_text = [](const lorawan::DownlinkWindow& w) {
    return lorawan::to_datr(w.lora) + " (DR" + std::to_string(w.data_rate) + ")";
  };
  const std::string seen =
      txpk.modu == "LORA" ? "datr " + txpk.datr : "modu " + txpk.modu + " datr " + txpk.datr;
  const std::string datr = txpk.modu == "LORA" ? txpk.datr : std::string();
  const auto matches = [&](const std::optional<lorawan::DownlinkWindow>& w) {
    return w.has_value() && lorawan::to_datr(w->lora) == datr;
  };
  if (fit.timing != RxWindow::none) {
    if (expected && !matches(expected)) {
      fit.reasons.push_back(seen + "; " + std::string(to_string(fit.timing)) + " expects " +
                            rate_text(*expected));
    }
  } else if (!matches(rx1) && !matches(rx2)) {
    std::string r = seen + ";";
    if (rx1) r += " RX1 expects " + rate_text(*rx1);
    if (rx1 && rx2) r += ",";
    if (rx2) r += " RX2 " + rate_text(*rx2);
    fit.reasons.push_back(r);
  }

  if (!txpk.ipol)
    fit.reasons.push_back("ipol is false; a device listens with inverted polarity (ipol true)");

  fit.window = fit.reasons.empty() ? fit.timing : RxWindow::none;
  return fit;
}

// ---- the gateway ---------------------------------------------------------------------------

struct SimGateway::Impl {
  SimGatewayOptions options;
  const lorawan::Region& region;
  Clock::time_point started = Clock::now();
  std::uint32_t counter_offset = 0;

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  udp::socket socket{io};
  // The NS's addresses to try at start, IPv4 first; `ns` is the one that acknowledged PULL_DATA.
  // `ns`, `ns_text`, `local_text` and the socket are set on the io thread while start() tries
  // the candidates (start() waits for each), and never change afterwards.
  std::vector<udp::endpoint> candidates;
  bool ns_is_name = false;  // candidates come from a host name (or ns_addresses)
  udp::endpoint ns;
  std::string ns_text;
  std::string local_text;
  std::uint64_t socket_generation = 0;  // io thread: receives of a closed socket are ignored
  asio::steady_timer keepalive_timer{io};
  asio::steady_timer stat_timer{io};
  std::array<std::uint8_t, kMaxDatagram> rx_buffer{};
  udp::endpoint rx_peer;
  std::thread thread;

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::mt19937_64 rng;
  std::map<std::uint16_t, bool> pending_push;  // token -> acknowledged
  std::deque<std::uint16_t> stat_tokens;       // stat PUSH_DATA tokens still pending, oldest first
  std::map<std::uint16_t, bool> pending_pull;
  std::deque<ReceivedDownlink> downlinks;
  std::uint64_t next_downlink = 0;
  struct Scheduled {
    std::uint32_t tmst;
    std::uint64_t airtime_us;
  };
  std::vector<Scheduled> scheduled;  // accepted timestamped downlinks not yet over
  std::deque<GatewayProblem> problems;
  std::size_t problem_total = 0;
  GatewayCounters counters;

  Impl(SimGatewayOptions o) : options(std::move(o)), region(lorawan::Region::get(options.region)) {
    if (options.seed) {
      rng.seed(*options.seed);
    } else {
      std::random_device rd;
      rng.seed((std::uint64_t{rd()} << 32) ^ rd());
    }
    counter_offset = static_cast<std::uint32_t>(rng());
    if (options.attempts == 0) throw GatewayError("gateway options: attempts must be at least 1");
    if (options.tx_jit_delay.count() < 0) {
      throw GatewayError("gateway options: tx_jit_delay must be at least 0 us, got " +
                         std::to_string(options.tx_jit_delay.count()));
    }
  }

  ~Impl() {
    io.stop();
    if (thread.joinable()) thread.join();
  }

  std::uint64_t counter_now(Clock::time_point now = Clock::now()) const {
    return counter_offset +
           static_cast<std::uint64_t>(
               std::chrono::duration_cast<std::chrono::microseconds>(now - started).count());
  }

  void log(std::string peer, std::string what) {
    std::lock_guard lock(mu);
    log_locked(std::move(peer), std::move(what));
  }
  void log_locked(std::string peer, std::string what) {
    GatewayProblem p;
    p.at = Clock::now();
    p.peer = std::move(peer);
    p.what = std::move(what);
    problems.push_back(std::move(p));
    ++problem_total;
    while (problems.size() > std::max<std::size_t>(options.max_kept_problems, 1))
      problems.pop_front();
  }

  // A token not pending in `in`; the caller holds `mu`.
  std::uint16_t new_token_locked(const std::map<std::uint16_t, bool>& in) {
    for (;;) {
      const auto t = static_cast<std::uint16_t>(rng());
      if (in.find(t) == in.end()) return t;
    }
  }

  // ---- start-up ----

  // A host name is resolved on a thread of its own: getaddrinfo cannot be cancelled, so a slow
  // DNS must not hold the caller (or the destructor) past resolve_timeout. Every address it gives
  // is a candidate, IPv4 first: `localhost` may resolve to ::1 first while a gateway bridge binds
  // 0.0.0.0:1700 (IPv4 only).
  void resolve() {
    boost::system::error_code ec;
    if (!options.ns_addresses.empty()) {
      ns_is_name = true;
      for (const std::string& text : options.ns_addresses) {
        const auto address = asio::ip::make_address(text, ec);
        if (ec) {
          throw GatewayError("gateway options: ns_addresses: expected IP addresses, got \"" + text +
                             "\"");
        }
        candidates.emplace_back(address, options.ns_port);
      }
    } else if (const auto address = asio::ip::make_address(options.ns_host, ec); !ec) {
      candidates.emplace_back(address, options.ns_port);
    } else {
      ns_is_name = true;
      auto found = std::make_shared<std::promise<std::vector<udp::endpoint>>>();
      auto result = found->get_future();
      std::thread([found, host = options.ns_host, port = std::to_string(options.ns_port)] {
        asio::io_context ctx;
        udp::resolver resolver(ctx);
        boost::system::error_code error;
        const auto results = resolver.resolve(host, port, error);
        if (error || results.empty()) {
          found->set_exception(
              std::make_exception_ptr(GatewayError(error ? error.message() : "no address")));
        } else {
          std::vector<udp::endpoint> all;
          for (const auto& r : results) all.push_back(r.endpoint());
          found->set_value(std::move(all));
        }
      }).detach();
      if (result.wait_for(options.resolve_timeout) != std::future_status::ready) {
        throw GatewayError("NS host \"" + options.ns_host + "\" did not resolve within " +
                           std::to_string(options.resolve_timeout.count()) + " ms");
      }
      try {
        candidates = result.get();
      } catch (const GatewayError& e) {
        throw GatewayError("NS host \"" + options.ns_host + "\" does not resolve: " + e.what());
      }
    }
    std::vector<udp::endpoint> unique;
    for (const auto& c : candidates) {
      if (std::find(unique.begin(), unique.end(), c) == unique.end()) unique.push_back(c);
    }
    std::stable_partition(unique.begin(), unique.end(),
                          [](const udp::endpoint& e) { return e.address().is_v4(); });
    candidates = std::move(unique);
  }

  // On the io thread: a socket of `ns`'s protocol.
  void open() {
    boost::system::error_code ec;
    socket.open(ns.protocol(), ec);
    if (ec) throw GatewayError("gateway: cannot open a UDP socket: " + ec.message());
    udp::endpoint local(ns.protocol(), 0);
    if (!options.bind_address.empty()) {
      const auto address = asio::ip::make_address(options.bind_address, ec);
      if (ec)
        throw GatewayError("gateway: bind address \"" + options.bind_address +
                           "\" is not an IP address");
      local = udp::endpoint(address, 0);
    }
    socket.bind(local, ec);
    if (ec)
      throw GatewayError("gateway: cannot bind " + endpoint_text(local) + ": " + ec.message());
    const auto bound = socket.local_endpoint(ec);
    local_text = ec ? std::string() : endpoint_text(bound);
  }

  // Talks to `candidate` from now on: a fresh socket, receiving. Waits for the io thread.
  void use(const udp::endpoint& candidate) {
    std::promise<void> done;
    auto opened = done.get_future();
    asio::post(io, [this, &candidate, &done] {
      try {
        boost::system::error_code ec;
        socket.close(ec);
        ++socket_generation;
        ns = candidate;
        ns_text = endpoint_text(ns);
        open();
        receive();
        done.set_value();
      } catch (...) {
        done.set_exception(std::current_exception());
      }
    });
    opened.get();
  }

  void start() {
    resolve();
    thread = std::thread([this] { io.run(); });
    std::string tried;
    for (const udp::endpoint& candidate : candidates) {
      use(candidate);
      if (pull_first()) {
        asio::post(io, [this] {
          arm_keepalive();
          arm_stat();
        });
        if (stat_enabled()) send_stat();
        return;
      }
      tried += (tried.empty() ? "" : ", ") + endpoint_text(candidate);
    }
    const std::string tries = std::to_string(options.attempts) + " attempts, " +
                              std::to_string(options.ack_timeout.count()) + " ms each";
    if (!ns_is_name) {
      throw GatewayError("NS at " + ns_text + " never acknowledged PULL_DATA (" + tries + ")");
    }
    throw GatewayError("NS at " + gwmp::host_port_text(options.ns_host, options.ns_port) +
                       " never acknowledged PULL_DATA (tried " + tried + "; " + tries + ")");
  }

  // ---- io thread ----

  void send_now(const lorawan::Bytes& datagram) {
    boost::system::error_code ec;
    socket.send_to(asio::buffer(datagram), ns, 0, ec);
    if (ec) log(ns_text, "send failed: " + ec.message());
  }

  void send(lorawan::Bytes datagram) {
    asio::post(io, [this, d = std::move(datagram)] { send_now(d); });
  }

  void receive() {
    socket.async_receive_from(
        asio::buffer(rx_buffer), rx_peer,
        [this, generation = socket_generation](const boost::system::error_code& ec, std::size_t n) {
          if (ec == asio::error::operation_aborted || !socket.is_open() ||
              generation != socket_generation)
            return;
          if (ec) {
            log(endpoint_text(rx_peer), "receive failed: " + ec.message());
          } else {
            on_datagram(lorawan::ByteSpan(rx_buffer.data(), n), rx_peer);
          }
          receive();
        });
  }

  void on_datagram(lorawan::ByteSpan bytes, const udp::endpoint& peer) {
    const Clock::time_point now = Clock::now();
    const std::string from = endpoint_text(peer);
    if (peer != ns) {
      log(from, "datagram of " + std::to_string(bytes.size()) + " bytes from " + from +
                    ", not from the NS at " + ns_text + ": dropped");
      return;
    }
    gwmp::Packet packet;
    try {
      packet = gwmp::decode(bytes);
    } catch (const gwmp::GwmpError& e) {
      log(from, std::string(e.what()) + " (" + std::to_string(bytes.size()) + " bytes): dropped");
      return;
    }
    switch (packet.type()) {
      case gwmp::PacketType::push_ack:
        on_ack(pending_push, packet.token, "PUSH_ACK", "PUSH_DATA", from);
        break;
      case gwmp::PacketType::pull_ack:
        on_ack(pending_pull, packet.token, "PULL_ACK", "PULL_DATA", from);
        break;
      case gwmp::PacketType::pull_resp:
        on_pull_resp(packet, now);
        break;
      default:
        log(from, "unexpected " + std::string(gwmp::to_string(packet.type())) + " (token " +
                      token_text(packet.token) + ") from the NS; a gateway sends it: dropped");
        break;
    }
  }

  void on_ack(std::map<std::uint16_t, bool>& pending, std::uint16_t token, std::string_view ack,
              std::string_view of, const std::string& from) {
    std::lock_guard lock(mu);
    const auto it = pending.find(token);
    if (it == pending.end()) {
      log_locked(from, std::string(ack) + " with token " + token_text(token) + " that no " +
                           std::string(of) + " awaits (unknown, or late): dropped");
      return;
    }
    if (it->second) {
      log_locked(from,
                 "duplicate " + std::string(ack) + " for token " + token_text(token) + ": dropped");
      return;
    }
    it->second = true;
    if (&pending == &pending_push) {
      ++counters.push_acked;
      const auto stat = std::find(stat_tokens.begin(), stat_tokens.end(), token);
      if (stat != stat_tokens.end()) {
        stat_tokens.erase(stat);
        pending.erase(it);
      }
    } else {
      ++counters.pull_acked;
    }
    cv.notify_all();
  }

  // What lora_pkt_fwd would answer, with the reason in words: its checks in its order
  // (lora_pkt_fwd.c thread_down, then jitqueue.c jit_enqueue), the aborts that send no TX_ACK
  // (nullopt) included.
  std::pair<std::optional<gwmp::TxAckError>, std::string> judge_tx_locked(const gwmp::TxPacket& t,
                                                                          std::uint32_t now_tmst) {
    using gwmp::TxAckError;
    const std::string aborted = ": lora_pkt_fwd aborts such a TX without a TX_ACK";
    if (!t.imme && !t.tmst)
      return {TxAckError::gps_unlocked, "tmms (GPS time) given, and this gateway has no GPS"};
    if (t.modu == "LORA") {
      if (!lorawan::parse_datr(t.datr))
        return {std::nullopt, "datr \"" + t.datr + "\" is not a LoRa data rate" + aborted};
      if (lacks(t, "codr")) return {std::nullopt, "no \"codr\" (mandatory for LoRa)" + aborted};
      if (!coding_rate_index(t.codr)) {
        return {std::nullopt, "codr \"" + t.codr +
                                  "\" is not a coding rate (4/5, 4/6, 4/7, 4/8, 2/3, 1/2)" +
                                  aborted};
      }
    }
    if (lacks(t, "size")) return {std::nullopt, "no \"size\" (mandatory)" + aborted};
    if (!region.is_downlink_frequency(t.frequency_hz)) {
      return {TxAckError::tx_freq, "frequency " + mhz_text(t.frequency_hz) +
                                       " is not a downlink frequency of " +
                                       std::string(region.name())};
    }
    if (t.powe < 0 || t.powe > options.max_tx_power_dbm) {
      return {TxAckError::tx_power, "powe " + std::to_string(t.powe) + " dBm is outside 0 .. " +
                                        std::to_string(options.max_tx_power_dbm) + " dBm"};
    }
    if (t.imme) return {TxAckError::none, ""};
    const std::int64_t jit = options.tx_jit_delay.count();
    const std::int64_t too_late = kTxStartDelayUs + kTxMarginDelayUs + jit;
    const std::int64_t lead = tmst_delta(now_tmst, *t.tmst);
    if (lead <= too_late) {
      return {TxAckError::too_late,
              lead < 0
                  ? "tmst " + std::to_string(*t.tmst) + " was " + std::to_string(-lead) +
                        " us in the past on the gateway counter"
                  : "tmst " + std::to_string(*t.tmst) + " was only " + std::to_string(lead) +
                        " us ahead of the gateway counter (more than " + std::to_string(too_late) +
                        " needed: TX_START_DELAY + TX_MARGIN_DELAY + TX_JIT_DELAY)"};
    }
    if (lead > kTxMaxAdvanceDelayUs) {
      return {TxAckError::too_early, "tmst " + std::to_string(*t.tmst) + " was " +
                                         std::to_string(lead) +
                                         " us ahead (at most 512 s accepted)"};
    }
    const auto airtime = static_cast<std::int64_t>(time_on_air_us(t).value_or(0));
    std::erase_if(scheduled, [&](const Scheduled& s) {
      return tmst_delta(now_tmst, s.tmst) + static_cast<std::int64_t>(s.airtime_us) < 0;
    });
    const std::int64_t pre_delay = kTxStartDelayUs + jit;
    for (const Scheduled& s : scheduled) {
      const std::int64_t start = tmst_delta(now_tmst, s.tmst);
      const bool collides =
          lead >= start ? lead - start <=
                              pre_delay + static_cast<std::int64_t>(s.airtime_us) + kTxMarginDelayUs
                        : start - lead <= pre_delay + airtime + kTxMarginDelayUs;
      if (collides) {
        return {TxAckError::collision_packet, "overlaps the downlink accepted at tmst " +
                                                  std::to_string(s.tmst) + " (" +
                                                  std::to_string(s.airtime_us) + " us on air)"};
      }
    }
    Scheduled s;
    s.tmst = *t.tmst;
    s.airtime_us = static_cast<std::uint64_t>(airtime);
    scheduled.push_back(s);
    return {TxAckError::none, ""};
  }

  void on_pull_resp(const gwmp::Packet& packet, Clock::time_point now) {
    const auto& txpk = std::get<gwmp::PullResp>(packet.payload).txpk;
    const std::uint64_t counter = counter_now(now);
    const auto now_tmst = static_cast<std::uint32_t>(counter);
    ReceivedDownlink d;
    d.token = packet.token;
    d.protocol_version = packet.protocol_version;
    d.txpk = txpk;
    d.received_tmst = now_tmst;
    d.received_counter_us = counter;
    d.received_at = now;
    if (!txpk.imme && txpk.tmst) d.lead_us = tmst_delta(now_tmst, *txpk.tmst);
    std::optional<gwmp::TxAckError> tx_ack;
    {
      // Kept before the TX_ACK leaves, so whoever sees the TX_ACK finds the downlink.
      std::lock_guard lock(mu);
      ++counters.dwnb;
      auto [error, note] = judge_tx_locked(txpk, now_tmst);
      tx_ack = error;
      d.tx_ack = error;
      d.note = std::move(note);
      if (error == gwmp::TxAckError::none) ++counters.txnb;
      d.sequence = next_downlink++;
      downlinks.push_back(std::move(d));
      while (downlinks.size() > std::max<std::size_t>(options.max_kept_downlinks, 1))
        downlinks.pop_front();
      cv.notify_all();
    }
    if (tx_ack) {
      // Success goes without JSON, as lora_pkt_fwd's send_tx_ack writes it.
      gwmp::Packet ack;
      ack.token = packet.token;
      ack.payload = gwmp::TxAck{options.gateway_eui,
                                *tx_ack == gwmp::TxAckError::none ? std::nullopt : tx_ack};
      send_now(gwmp::encode(ack));
    }
  }

  void send_pull_locked(std::uint16_t token) {
    pending_pull[token] = false;
    ++counters.pull_sent;
    gwmp::Packet p;
    p.token = token;
    p.payload = gwmp::PullData{options.gateway_eui};
    send(gwmp::encode(p));
  }

  void arm_keepalive() {
    keepalive_timer.expires_after(options.keepalive);
    keepalive_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      {
        std::lock_guard lock(mu);
        for (auto it = pending_pull.begin(); it != pending_pull.end();) {
          if (!it->second) {
            log_locked(ns_text, "PULL_DATA token " + token_text(it->first) +
                                    " was not acknowledged before the next keep-alive");
          }
          it = pending_pull.erase(it);
        }
        send_pull_locked(new_token_locked(pending_pull));
      }
      arm_keepalive();
    });
  }

  bool stat_enabled() const { return options.stat_interval && options.stat_interval->count() > 0; }

  void arm_stat() {
    if (!stat_enabled()) return;
    stat_timer.expires_after(*options.stat_interval);
    stat_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      send_stat();
      arm_stat();
    });
  }

  gwmp::GatewayStatus status_locked() const {
    gwmp::GatewayStatus s;
    s.time = gwmp::stat_time_now();
    s.lati = options.latitude;
    s.longi = options.longitude;
    s.alti = options.altitude;
    s.rxnb = counters.rxnb;
    s.rxok = counters.rxok;
    s.rxfw = counters.rxfw;
    s.ackr = counters.ackr();
    s.dwnb = counters.dwnb;
    s.txnb = counters.txnb;
    return s;
  }

  std::uint16_t send_stat() {
    std::lock_guard lock(mu);
    const std::uint16_t token = new_token_locked(pending_push);
    gwmp::Packet p;
    p.token = token;
    p.payload = gwmp::PushData{options.gateway_eui, {}, status_locked()};
    pending_push[token] = false;
    stat_tokens.push_back(token);
    while (stat_tokens.size() > kMaxPendingStatTokens) {
      pending_push.erase(stat_tokens.front());
      stat_tokens.pop_front();
    }
    ++counters.push_sent;
    send(gwmp::encode(p));
    return token;
  }

  // ---- caller threads ----

  // PULL_DATA to `ns` until acknowledged (attempts × ack_timeout); false when it never was.
  bool pull_first() {
    std::unique_lock lock(mu);
    for (unsigned attempt = 0; attempt < options.attempts; ++attempt) {
      const std::uint16_t token = new_token_locked(pending_pull);
      send_pull_locked(token);
      if (cv.wait_for(lock, options.ack_timeout, [&] { return pending_pull[token]; })) return true;
    }
    pending_pull.clear();
    return false;
  }

  UplinkReceipt uplink(lorawan::ByteSpan phy_payload, const UplinkRadio& radio) {
    UplinkReceipt r;
    r.data_rate = radio.data_rate.value_or(region.default_uplink_data_rate());
    const auto rate = region.uplink_rate(r.data_rate);
    if (!rate) {
      throw GatewayError("uplink: DR" + std::to_string(r.data_rate) +
                         " is not a LoRa uplink data rate of " + std::string(region.name()));
    }
    r.datr = lorawan::to_datr(*rate);
    r.frequency_hz =
        radio.frequency_hz != 0 ? radio.frequency_hz : region.uplink_channels().front();

    gwmp::RxPacket rx;
    rx.time = gwmp::rxpk_time_now();
    rx.frequency_hz = r.frequency_hz;
    rx.chan = radio.chan;
    rx.rfch = radio.rfch;
    rx.stat = radio.crc_status;
    rx.datr = r.datr;
    rx.rssi = radio.rssi;
    rx.lsnr = radio.lsnr;
    rx.data.assign(phy_payload.begin(), phy_payload.end());
    r.time = *rx.time;

    std::unique_lock lock(mu);
    r.sent_at = Clock::now();
    r.counter_us = counter_now(r.sent_at);
    r.tmst = static_cast<std::uint32_t>(r.counter_us);
    rx.tmst = r.tmst;
    r.downlink_sequence = next_downlink;
    ++counters.rxnb;
    if (radio.crc_status == 1) ++counters.rxok;
    ++counters.rxfw;

    std::vector<std::uint16_t> tokens;
    std::optional<std::uint16_t> acked;
    for (unsigned attempt = 1; attempt <= options.attempts && !acked; ++attempt) {
      const std::uint16_t token = new_token_locked(pending_push);
      tokens.push_back(token);
      pending_push[token] = false;
      ++counters.push_sent;
      gwmp::Packet p;
      p.token = token;
      p.payload = gwmp::PushData{options.gateway_eui, {rx}, std::nullopt};
      send(gwmp::encode(p));
      r.attempts = attempt;
      // An acknowledgement of an earlier attempt counts too: the NS got the same rxpk.
      const auto any_acked = [&]() -> bool {
        for (auto t : tokens) {
          if (pending_push[t]) {
            acked = t;
            return true;
          }
        }
        return false;
      };
      cv.wait_for(lock, options.ack_timeout, any_acked);
    }
    for (auto t : tokens) pending_push.erase(t);
    if (!acked) {
      throw GatewayError("NS at " + ns_text + " never acknowledged PUSH_DATA (" +
                         std::to_string(options.attempts) + " attempts, " +
                         std::to_string(options.ack_timeout.count()) + " ms each)");
    }
    r.token = *acked;
    return r;
  }
};

SimGateway::SimGateway(SimGatewayOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {
  impl_->start();
}

SimGateway::~SimGateway() = default;

const lorawan::Eui64& SimGateway::eui() const { return impl_->options.gateway_eui; }
const lorawan::Region& SimGateway::region() const { return impl_->region; }
std::string SimGateway::ns_address() const { return impl_->ns_text; }

std::string SimGateway::local_address() const { return impl_->local_text; }

std::uint64_t SimGateway::counter_us() const { return impl_->counter_now(); }
std::uint32_t SimGateway::tmst_now() const {
  return static_cast<std::uint32_t>(impl_->counter_now());
}

UplinkReceipt SimGateway::uplink(lorawan::ByteSpan phy_payload, const UplinkRadio& radio) {
  return impl_->uplink(phy_payload, radio);
}

std::optional<ReceivedDownlink> SimGateway::wait_downlink(
    const UplinkReceipt& receipt, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(impl_->mu);
  const auto first = [&]() -> const ReceivedDownlink* {
    for (const auto& d : impl_->downlinks) {
      if (d.sequence >= receipt.downlink_sequence) return &d;
    }
    return nullptr;
  };
  impl_->cv.wait_until(lock, deadline, [&] { return first() != nullptr; });
  const ReceivedDownlink* d = first();
  if (d == nullptr) return std::nullopt;
  return *d;
}

std::optional<ReceivedDownlink> SimGateway::wait_downlink(const UplinkReceipt& receipt,
                                                          std::chrono::milliseconds timeout) const {
  return wait_downlink(receipt, Clock::now() + timeout);
}

std::vector<ReceivedDownlink> SimGateway::downlinks() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->downlinks.begin(), impl_->downlinks.end()};
}

std::vector<GatewayProblem> SimGateway::problems() const {
  std::lock_guard lock(impl_->mu);
  return {impl_->problems.begin(), impl_->problems.end()};
}

std::size_t SimGateway::problem_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->problem_total;
}

GatewayCounters SimGateway::counters() const {
  std::lock_guard lock(impl_->mu);
  return impl_->counters;
}

gwmp::GatewayStatus SimGateway::status() const {
  std::lock_guard lock(impl_->mu);
  return impl_->status_locked();
}

std::uint16_t SimGateway::send_status() { return impl_->send_stat(); }

}  // namespace joincheck::sim
