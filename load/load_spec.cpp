#include "load/load_spec.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "lorawan/hex.hpp"

namespace joincheck::load {

namespace {

using std::chrono::microseconds;

std::string quoted(std::string_view text) { return lorawan::quote_for_error(text); }

// A decimal number at the start of `text` (digits, one optional point); the rest after it.
bool leading_number(std::string_view text, double& value, std::string_view& rest) {
  std::size_t n = 0;
  bool digits = false;
  bool point = false;
  while (n < text.size()) {
    const char c = text[n];
    if (c >= '0' && c <= '9') {
      digits = true;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
    ++n;
  }
  if (!digits) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + n, value);
  if (ec != std::errc() || end != text.data() + n || !std::isfinite(value)) return false;
  rest = text.substr(n);
  return true;
}

// The factor of a duration unit to microseconds; 0 for none.
double unit_us(std::string_view unit) {
  if (unit == "us") return 1;
  if (unit == "ms") return 1e3;
  if (unit == "s") return 1e6;
  if (unit == "m" || unit == "min") return 60e6;
  if (unit == "h") return 3600e6;
  return 0;
}

// `text` as a whole unsigned number of type T (nothing before or after it).
template <class T>
bool whole_number(std::string_view text, T& value) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}

constexpr double kMaxDurationUs = 7.0 * 24 * 3600e6;  // a week: longer is a typo

std::string trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

microseconds parse_duration(std::string_view text, std::string_view option) {
  const std::string expected = std::string(option) +
                               ": expected a duration such as \"60s\", \"500ms\", \"2m\" or \"250us\", got " +
                               quoted(text);
  double number = 0;
  std::string_view unit;
  if (!leading_number(text, number, unit)) throw std::invalid_argument(expected);
  const double factor = unit_us(unit);
  if (factor == 0) throw std::invalid_argument(expected);
  const double us = number * factor;
  if (us > kMaxDurationUs) {
    throw std::invalid_argument(std::string(option) + ": expected at most a week, got " + quoted(text));
  }
  return microseconds(static_cast<std::int64_t>(std::llround(us)));
}

std::string format_duration(microseconds d) {
  char text[48];
  const double us = static_cast<double>(d.count());
  if (us >= 1e6) {
    std::snprintf(text, sizeof text, "%.3g s", us / 1e6);
  } else if (us >= 1e3) {
    std::snprintf(text, sizeof text, "%.3g ms", us / 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.0f us", us);
  }
  return text;
}

double parse_rate(std::string_view text) {
  double rate = 0;
  std::string_view rest;
  if (!leading_number(text, rate, rest) || !(rest.empty() || rest == "/s") || rate <= 0 || rate > 1e7) {
    throw std::invalid_argument("--rate: expected JoinReqs per second, such as \"2000/s\" (more than 0, at most "
                                "10000000), got " + quoted(text));
  }
  return rate;
}

StormSpec parse_storm(std::string_view text) {
  const std::string expected =
      "--storm: expected DEVICES/DURATION, such as \"10000/30s\" (at least 1 device, within at most a week), got " +
      quoted(text);
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) throw std::invalid_argument(expected);
  const std::string_view count = text.substr(0, slash);
  StormSpec s;
  if (!whole_number(count, s.devices) || s.devices == 0) throw std::invalid_argument(expected);
  try {
    s.within = parse_duration(text.substr(slash + 1), "--storm");
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(expected);
  }
  if (s.within.count() <= 0) throw std::invalid_argument(expected);
  return s;
}

ShardSpec parse_shard(std::string_view text) {
  const std::string expected =
      "--shard: expected K/N, this process's shard K of N (1 <= K <= N <= 100000), such as \"2/4\", got " +
      quoted(text);
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) throw std::invalid_argument(expected);
  ShardSpec s;
  const std::string_view k = text.substr(0, slash);
  const std::string_view n = text.substr(slash + 1);
  if (!whole_number(k, s.index) || !whole_number(n, s.count) || s.count < 1 || s.count > 100000 || s.index < 1 ||
      s.index > s.count) {
    throw std::invalid_argument(expected);
  }
  return s;
}

void parse_mix(std::string_view text, MixSpec& into) {
  const std::string help = "--mix: expected KIND=SHARE[,KIND=SHARE...] with KIND rejoin0, rejoin1 or rejoin2 and SHARE "
                           "such as \"10%\" or \"0.1\" (the rest are JoinReqs), got " + quoted(text);
  if (trim(text).empty()) throw std::invalid_argument(help);
  std::string_view rest = text;
  for (;;) {
    const std::size_t comma = rest.find(',');
    const std::string item = trim(rest.substr(0, comma));
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(help);
    const std::string kind = trim(std::string_view(item).substr(0, eq));
    const std::string value = trim(std::string_view(item).substr(eq + 1));
    std::size_t type = 3;
    for (std::size_t t = 0; t < 3; ++t) {
      if (kind == "rejoin" + std::to_string(t)) type = t;
    }
    if (type == 3) {
      throw std::invalid_argument("--mix: expected the kind rejoin0, rejoin1 or rejoin2 (RejoinType 0, 1, 2), got " +
                                  quoted(kind) + " in " + quoted(text));
    }
    double share = 0;
    std::string_view unit;
    if (!leading_number(value, share, unit) || !(unit.empty() || unit == "%")) {
      throw std::invalid_argument("--mix: " + kind + ": expected a share such as \"10%\" or \"0.1\", got " +
                                  quoted(value));
    }
    if (unit == "%") share /= 100;
    if (share <= 0 || share > 1) {
      throw std::invalid_argument("--mix: " + kind + ": expected a share more than 0 and at most 100%, got " +
                                  quoted(value));
    }
    if (into.rejoin[type] != 0) throw std::invalid_argument("--mix: " + kind + " is given twice, in " + quoted(text));
    into.rejoin[type] = share;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  const double total = into.rejoin[0] + into.rejoin[1] + into.rejoin[2];
  if (total > 1 + 1e-9) {
    char shown[32];
    std::snprintf(shown, sizeof shown, "%.4g%%", total * 100);
    throw std::invalid_argument(std::string("--mix: the shares add up to ") + shown + ", expected at most 100%");
  }
}

std::string MixSpec::text() const {
  std::string out;
  for (std::size_t t = 0; t < rejoin.size(); ++t) {
    if (rejoin[t] == 0) continue;
    char share[32];
    std::snprintf(share, sizeof share, "%.4g%%", rejoin[t] * 100);
    out += (out.empty() ? "" : ",") + std::string("rejoin") + std::to_string(t) + "=" + share;
  }
  return out;
}

std::string request_kind_name(std::optional<std::uint8_t> rejoin_type) {
  return rejoin_type ? "RejoinReq type " + std::to_string(*rejoin_type) : std::string("JoinReq");
}

std::string_view to_string(Assertion::Metric metric) {
  switch (metric) {
    case Assertion::Metric::p50: return "p50";
    case Assertion::Metric::p90: return "p90";
    case Assertion::Metric::p99: return "p99";
    case Assertion::Metric::p999: return "p99.9";
    case Assertion::Metric::max: return "max";
    case Assertion::Metric::mean: return "mean";
    case Assertion::Metric::rate: return "rate";
    case Assertion::Metric::errors: return "errors";
    case Assertion::Metric::error_rate: return "error_rate";
    case Assertion::Metric::ok: return "ok";
    case Assertion::Metric::rx1: return "rx1";
    case Assertion::Metric::rx2: return "rx2";
  }
  return "?";
}

std::string_view to_string(Assertion::Op op) {
  switch (op) {
    case Assertion::Op::le: return "<=";
    case Assertion::Op::lt: return "<";
    case Assertion::Op::ge: return ">=";
    case Assertion::Op::gt: return ">";
    case Assertion::Op::eq: return "=";
  }
  return "?";
}

bool Assertion::holds(double measured) const {
  switch (op) {
    case Op::le: return measured <= limit;
    case Op::lt: return measured < limit;
    case Op::ge: return measured >= limit;
    case Op::gt: return measured > limit;
    case Op::eq: return measured == limit;
  }
  return false;
}

namespace {

bool is_latency(Assertion::Metric m) {
  using M = Assertion::Metric;
  return m == M::p50 || m == M::p90 || m == M::p99 || m == M::p999 || m == M::max || m == M::mean;
}
bool is_fraction(Assertion::Metric m) {
  using M = Assertion::Metric;
  return m == M::error_rate || m == M::rx1 || m == M::rx2;
}

}  // namespace

Assertion parse_assertion(std::string_view text) {
  const std::string help =
      "--assert: expected METRIC OP VALUE such as \"p99<=50ms\", \"errors=0\", \"rate>=1000\" or \"rx1>=99%\" "
      "(metrics p50 p90 p99 p99.9 max mean rate errors error_rate ok rx1 rx2; operators <= < >= > =), got " +
      quoted(text);
  Assertion a;
  a.text = trim(text);
  const std::string_view t = a.text;
  const std::size_t op_at = t.find_first_of("<>=");
  if (op_at == std::string_view::npos || op_at == 0) throw std::invalid_argument(help);
  const std::string name = trim(t.substr(0, op_at));
  std::string_view rest = t.substr(op_at);
  if (rest.starts_with("<=")) {
    a.op = Assertion::Op::le;
  } else if (rest.starts_with(">=")) {
    a.op = Assertion::Op::ge;
  } else if (rest.starts_with("==")) {
    a.op = Assertion::Op::eq;
    rest.remove_prefix(1);
  } else if (rest.starts_with("<")) {
    a.op = Assertion::Op::lt;
  } else if (rest.starts_with(">")) {
    a.op = Assertion::Op::gt;
  } else {
    a.op = Assertion::Op::eq;
  }
  rest.remove_prefix(a.op == Assertion::Op::le || a.op == Assertion::Op::ge ? 2 : 1);
  const std::string value = trim(rest);

  bool known = false;
  for (int m = 0; m <= static_cast<int>(Assertion::Metric::rx2); ++m) {
    const auto metric = static_cast<Assertion::Metric>(m);
    if (to_string(metric) == name || (metric == Assertion::Metric::p999 && name == "p999")) {
      a.metric = metric;
      known = true;
    }
  }
  if (!known) throw std::invalid_argument(help);

  if (is_latency(a.metric)) {
    try {
      a.limit = static_cast<double>(parse_duration(value, "--assert " + name).count());
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("--assert: " + name + " is a latency: expected a duration such as \"50ms\", got " +
                                  quoted(value) + " in " + quoted(text));
    }
    return a;
  }
  double number = 0;
  std::string_view unit;
  if (!leading_number(value, number, unit)) throw std::invalid_argument(help);
  if (is_fraction(a.metric)) {
    if (unit == "%") {
      number /= 100;
    } else if (!unit.empty()) {
      throw std::invalid_argument("--assert: " + name + " is a share: expected \"0.1%\" or \"0.001\", got " +
                                  quoted(value));
    }
    if (number > 1) throw std::invalid_argument("--assert: " + name + " is a share: at most 100%, got " + quoted(value));
  } else if (a.metric == Assertion::Metric::rate) {
    if (!unit.empty() && unit != "/s") {
      throw std::invalid_argument("--assert: rate is answered JoinReqs per second: expected \"1000\" or \"1000/s\", got " +
                                  quoted(value));
    }
  } else if (!unit.empty() || number != std::floor(number)) {
    throw std::invalid_argument("--assert: " + name + " is a count: expected a whole number, got " + quoted(value));
  }
  a.limit = number;
  return a;
}

std::string format_metric(Assertion::Metric metric, double value) {
  char text[48];
  if (is_latency(metric)) return format_duration(microseconds(static_cast<std::int64_t>(std::llround(value))));
  if (is_fraction(metric)) {
    std::snprintf(text, sizeof text, "%.4g%%", value * 100);
  } else if (metric == Assertion::Metric::rate) {
    std::snprintf(text, sizeof text, "%.1f/s", value);
  } else {
    std::snprintf(text, sizeof text, "%.0f", value);
  }
  return text;
}

}  // namespace joincheck::load
