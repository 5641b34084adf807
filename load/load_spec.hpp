#pragma once
// What a user asks `joincheck load` for, as text on the command line, read strictly: a rate
// ("2000/s"), a storm ("10000/30s"), a shard ("2/4"), a duration ("60s", "500ms", "2m") and the
// assertions the run is judged by ("p99<=50ms", "errors=0", "rate>=1000"). Every parse error
// says what was expected and what was seen (std::invalid_argument).

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace joincheck::load {

// "60s", "1.5s", "500ms", "250us", "2m", "1h": a non-negative decimal and a unit.
std::chrono::microseconds parse_duration(std::string_view text, std::string_view option);
// "1.5 s", "500 ms", "250 us" (the largest unit that keeps the value readable).
std::string format_duration(std::chrono::microseconds d);

// --rate N/s (or N): JoinReqs per second, at intended times (open loop).
double parse_rate(std::string_view text);

// --storm N/T: N distinct devices send one JoinReq each, spread evenly over T.
struct StormSpec {
  std::uint64_t devices = 0;
  std::chrono::microseconds within{0};
};
StormSpec parse_storm(std::string_view text);

// --shard K/N: this process is shard K (1 to N) of N. Device i of the fleet (in file order)
// belongs to shard (i mod N) + 1, so N processes given the same fleet never share a device,
// and so never send the same DevNonce.
struct ShardSpec {
  std::uint32_t index = 1;  // K, 1-based as in "2/4"
  std::uint32_t count = 1;  // N
  bool owns(std::size_t device_index) const { return device_index % count == index - 1; }
  std::string text() const { return std::to_string(index) + "/" + std::to_string(count); }
};
ShardSpec parse_shard(std::string_view text);

// --mix rejoin0=10%,rejoin1=5%: the share of requests that are RejoinReqs of each RejoinType
// (LoRaWAN 1.1 §6.2.4.1), the rest JoinReqs. Shares are "10%" or "0.1", each more than 0, in
// all at most 100%; a type named twice is an error. Only LoRaWAN 1.1 devices with a LoRaWAN 1.1
// session (OptNeg) send RejoinReqs, as real ones do.
struct MixSpec {
  std::array<double, 3> rejoin{};  // by RejoinType 0, 1, 2: a fraction of all requests
  bool empty() const { return rejoin[0] == 0 && rejoin[1] == 0 && rejoin[2] == 0; }
  std::string text() const;  // "rejoin0=10%,rejoin1=5%"; "" when empty
};
// Adds the kinds in `text` to `into` (--mix may be given more than once).
void parse_mix(std::string_view text, MixSpec& into);
// The name of requests of a kind in reports: "JoinReq", "RejoinReq type 0", ...
std::string request_kind_name(std::optional<std::uint8_t> rejoin_type);

// --assert METRIC OP VALUE. Metrics: the latency percentiles p50 p90 p99 p99.9 max mean (a
// duration: "50ms"), rate (answered JoinReqs per second over the run: "1000" or "1000/s"),
// errors (a count), error_rate (a fraction of requests: "0.1%" or "0.001"), ok (a count), and
// with --storm rx1 and rx2 (the share of the storm's devices answered within the window, "99%").
struct Assertion {
  enum class Metric { p50, p90, p99, p999, max, mean, rate, errors, error_rate, ok, rx1, rx2 };
  enum class Op { le, lt, ge, gt, eq };
  std::string text;  // as the user wrote it
  Metric metric = Metric::errors;
  Op op = Op::eq;
  double limit = 0;  // microseconds for latencies, a fraction for error_rate/rx1/rx2
  bool holds(double measured) const;
};
Assertion parse_assertion(std::string_view text);
std::string_view to_string(Assertion::Metric metric);
std::string_view to_string(Assertion::Op op);
// A measured value in the metric's unit, for messages ("12.3 ms", "1520/s", "0.2%").
std::string format_metric(Assertion::Metric metric, double value);

}  // namespace joincheck::load
