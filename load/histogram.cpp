#include "load/histogram.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace joincheck::load {

namespace {

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

// ceil(log2(x)) for x >= 1.
int ceil_log2(std::uint64_t x) { return x <= 1 ? 0 : 64 - std::countl_zero(x - 1); }

std::uint64_t power_of_ten(int digits) {
  std::uint64_t v = 1;
  for (int i = 0; i < digits; ++i) v *= 10;
  return v;
}

// a * b + c, saturated at 2^64 - 1: the bounds that from_json checks a sum against, where a bound
// past 64 bits means "no 64-bit sum can reach it".
std::uint64_t saturating_mul_add(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t product = 0;
  std::uint64_t total = 0;
  if (__builtin_mul_overflow(a, b, &product) || __builtin_add_overflow(product, c, &total)) {
    return kU64Max;
  }
  return total;
}

std::string layout_text(int digits, std::uint64_t highest) {
  return std::to_string(digits) + " significant digits up to " + std::to_string(highest) + " us";
}

}  // namespace

LatencyHistogram::LatencyHistogram(int significant_digits, std::uint64_t highest_trackable)
    : significant_digits_(significant_digits), highest_trackable_(highest_trackable) {
  if (significant_digits < kMinSignificantDigits || significant_digits > kMaxSignificantDigits) {
    throw std::invalid_argument("latency histogram: significant digits must be 1..5, not " +
                                std::to_string(significant_digits));
  }
  if (highest_trackable < 2 || highest_trackable > kMaxHighestTrackable) {
    throw std::invalid_argument(
        "latency histogram: the highest trackable value must be 2..9223372036854775807 us, not " +
        std::to_string(highest_trackable));
  }
  // HdrHistogram's layout with the lowest discernible value 1 (unit magnitude 0): values below
  // 2 * 10^d are counted one per counter, so the counters of every later bucket are at most
  // 1 / 10^d of the value they start at.
  const int sub_bucket_count_magnitude = ceil_log2(2 * power_of_ten(significant_digits));
  sub_bucket_half_count_magnitude_ = sub_bucket_count_magnitude - 1;
  const std::uint64_t sub_bucket_count = std::uint64_t{1} << sub_bucket_count_magnitude;
  sub_bucket_half_count_ = sub_bucket_count / 2;
  sub_bucket_mask_ = sub_bucket_count - 1;

  // Buckets until the first value that does not fit is above highest_trackable. Bucket b covers
  // values below sub_bucket_count << b; past 2^62 one more bucket reaches 2^63 - 1.
  std::uint64_t smallest_untrackable = sub_bucket_count;
  bucket_count_ = 1;
  while (smallest_untrackable <= highest_trackable) {
    if (smallest_untrackable > kMaxHighestTrackable / 2) {
      ++bucket_count_;
      break;
    }
    smallest_untrackable <<= 1;
    ++bucket_count_;
  }
  // Bucket 0 keeps both halves of its sub-buckets; every later bucket only its upper half.
  counts_.assign(static_cast<std::size_t>(bucket_count_ + 1) * sub_bucket_half_count_, 0);
}

std::size_t LatencyHistogram::counts_index(std::uint64_t value) const {
  // The bucket is the power of two above the value, counted from the first bucket's top; OR-ing
  // the mask puts every value of bucket 0 at its top so they share index 0.
  const int pow2_ceiling = 64 - std::countl_zero(value | sub_bucket_mask_);
  const int bucket_index = pow2_ceiling - (sub_bucket_half_count_magnitude_ + 1);
  const std::uint64_t sub_bucket_index = value >> bucket_index;  // in [half_count, count)
  return (static_cast<std::size_t>(bucket_index + 1) << sub_bucket_half_count_magnitude_) +
         (sub_bucket_index - sub_bucket_half_count_);
}

std::uint64_t LatencyHistogram::value_from_index(std::size_t index) const {
  int bucket_index = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  std::uint64_t sub_bucket_index = (index & (sub_bucket_half_count_ - 1)) + sub_bucket_half_count_;
  if (bucket_index < 0) {  // the lower half of bucket 0
    sub_bucket_index -= sub_bucket_half_count_;
    bucket_index = 0;
  }
  return sub_bucket_index << bucket_index;
}

std::uint64_t LatencyHistogram::counter_width(std::size_t index) const {
  const int bucket_index = static_cast<int>(index >> sub_bucket_half_count_magnitude_) - 1;
  return std::uint64_t{1} << std::max(bucket_index, 0);
}

std::uint64_t LatencyHistogram::lowest_equivalent_value(std::uint64_t value) const {
  return value_from_index(counts_index(std::min(value, kMaxHighestTrackable)));
}

std::uint64_t LatencyHistogram::highest_equivalent_value(std::uint64_t value) const {
  const std::size_t index = counts_index(std::min(value, kMaxHighestTrackable));
  return value_from_index(index) + (counter_width(index) - 1);
}

void LatencyHistogram::record(std::uint64_t value_us, std::uint64_t count) {
  if (count == 0) return;
  const bool saturated = value_us > highest_trackable_;
  const std::uint64_t value = saturated ? highest_trackable_ : value_us;
  std::uint64_t added_sum = 0;
  std::uint64_t new_sum = 0;
  std::uint64_t new_count = 0;
  // A counter never exceeds count_, nor saturated_, so checking count_ covers them.
  if (__builtin_mul_overflow(value, count, &added_sum) ||
      __builtin_add_overflow(sum_, added_sum, &new_sum) ||
      __builtin_add_overflow(count_, count, &new_count)) {
    throw std::overflow_error("latency histogram: the count or the sum would pass 2^64 - 1");
  }
  counts_[counts_index(value)] += count;
  if (count_ == 0) {
    min_ = value;
    max_ = value;
  } else {
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }
  count_ = new_count;
  sum_ = new_sum;
  if (saturated) saturated_ += count;
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (significant_digits_ != other.significant_digits_ ||
      highest_trackable_ != other.highest_trackable_) {
    throw std::invalid_argument("cannot merge latency histograms of different layouts: " +
                                layout_text(significant_digits_, highest_trackable_) + " and " +
                                layout_text(other.significant_digits_, other.highest_trackable_));
  }
  if (other.count_ == 0) return;
  std::uint64_t new_sum = 0;
  std::uint64_t new_count = 0;
  if (__builtin_add_overflow(sum_, other.sum_, &new_sum) ||
      __builtin_add_overflow(count_, other.count_, &new_count)) {
    throw std::overflow_error("latency histogram: merging would pass 2^64 - 1 in the count or sum");
  }
  // Same layout, so counter i of both stands for the same values: adding them is exact.
  for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ = new_count;
  sum_ = new_sum;
  saturated_ += other.saturated_;
}

void LatencyHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = min_ = max_ = sum_ = saturated_ = 0;
}

double LatencyHistogram::mean() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

std::uint64_t LatencyHistogram::value_at_percentile(double p) const {
  if (!(p >= 0.0 && p <= 100.0)) {  // also NaN
    throw std::invalid_argument("latency histogram: a percentile must be 0..100, not " +
                                std::to_string(p));
  }
  if (count_ == 0) return 0;
  // The exact extremes are known: report them rather than a counter's edge.
  if (p == 0.0) return min_;
  if (p == 100.0) return max_;
  // The rank k = ceil(p / 100 * count). p is usually a decimal such as 99.9 that binary cannot
  // hold, so the product can land a few ulps above an integer (99.9 / 100 * 1000 is
  // 999.0000000000001): within a few ulps it is that integer, as the caller meant.
  double x = p / 100.0 * static_cast<double>(count_);
  const double nearest = std::nearbyint(x);
  if (std::fabs(x - nearest) <= 8 * std::numeric_limits<double>::epsilon() * std::max(x, 1.0)) {
    x = nearest;
  }
  std::uint64_t rank = 1;
  if (x > 1.0) {
    const double ceiled = std::ceil(x);
    rank = ceiled >= static_cast<double>(count_) ? count_ : static_cast<std::uint64_t>(ceiled);
  }
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::min(value_from_index(i) + (counter_width(i) - 1), max_);
    }
  }
  return max_;  // not reached: the counters add up to count_
}

std::vector<LatencyHistogram::Bucket> LatencyHistogram::buckets() const {
  std::vector<Bucket> out;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const std::uint64_t low = value_from_index(i);
    out.push_back({low, low + (counter_width(i) - 1), counts_[i]});
  }
  return out;
}

nlohmann::ordered_json LatencyHistogram::to_json() const {
  nlohmann::ordered_json j;
  j["unit"] = "us";
  j["significant_digits"] = significant_digits_;
  j["highest_trackable"] = highest_trackable_;
  j["count"] = count_;
  j["min"] = min_;
  j["max"] = max_;
  j["sum"] = sum_;
  j["saturated"] = saturated_;
  auto buckets = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] != 0) buckets.push_back({i, counts_[i]});
  }
  j["buckets"] = std::move(buckets);
  return j;
}

namespace {

constexpr std::array<std::string_view, 9> kMembers = {
    "unit",   "significant_digits", "highest_trackable", "count", "min", "max", "sum", "saturated",
    "buckets"};

// What a reader saw, short enough for one line of an error.
std::string seen_text(const nlohmann::json& v) {
  std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  constexpr std::size_t kMax = 60;
  if (text.size() > kMax) text = text.substr(0, kMax) + "...";
  return text;
}

class Reader {
 public:
  explicit Reader(std::string_view where) : where_(where) {}

  [[noreturn]] void fail(std::string_view member, std::string_view expected,
                         std::string_view seen) const {
    throw std::runtime_error(std::string(where_) + ": " + std::string(member) + ": expected " +
                             std::string(expected) + ", saw " + std::string(seen));
  }

  const nlohmann::json& member(const nlohmann::json& j, std::string_view name,
                               std::string_view expected) const {
    const auto it = j.find(name);
    if (it == j.end()) fail(name, expected, "nothing (the member is missing)");
    return *it;
  }

  // An integer in [lo, hi]; floats (even 3.0), strings, booleans and null are refused.
  std::uint64_t integer(const nlohmann::json& v, std::string_view member, std::uint64_t lo,
                        std::uint64_t hi, std::string_view expected) const {
    if (!v.is_number_integer()) fail(member, expected, seen_text(v));
    if (v.is_number_unsigned()) {
      const auto u = v.get<std::uint64_t>();
      if (u < lo || u > hi) fail(member, expected, seen_text(v));
      return u;
    }
    const auto s = v.get<std::int64_t>();
    if (s < 0 || static_cast<std::uint64_t>(s) < lo || static_cast<std::uint64_t>(s) > hi) {
      fail(member, expected, seen_text(v));
    }
    return static_cast<std::uint64_t>(s);
  }

  std::uint64_t integer_member(const nlohmann::json& j, std::string_view name, std::uint64_t lo,
                               std::uint64_t hi, std::string_view expected) const {
    return integer(member(j, name, expected), name, lo, hi, expected);
  }

 private:
  std::string_view where_;
};

}  // namespace

LatencyHistogram LatencyHistogram::from_json(const nlohmann::json& j, std::string_view where) {
  const Reader r(where);
  if (!j.is_object()) {
    throw std::runtime_error(std::string(where) + ": expected a latency histogram object, saw " +
                             seen_text(j));
  }
  // Unknown members are refused: a report from another version may mean something this one
  // cannot merge exactly, and a merge that silently dropped it would not be exact.
  for (const auto& [key, value] : j.items()) {
    if (std::find(kMembers.begin(), kMembers.end(), key) == kMembers.end()) {
      r.fail(key,
             "only unit, significant_digits, highest_trackable, count, min, max, sum, saturated "
             "and buckets",
             "an unknown member");
    }
  }

  const auto& unit = r.member(j, "unit", "\"us\"");
  if (!unit.is_string() || unit.get<std::string>() != "us") {
    r.fail("unit", "\"us\"", seen_text(unit));
  }
  const auto digits = r.integer_member(j, "significant_digits", kMinSignificantDigits,
                                       kMaxSignificantDigits, "an integer from 1 to 5");
  const auto highest = r.integer_member(j, "highest_trackable", 2, kMaxHighestTrackable,
                                        "an integer from 2 to 9223372036854775807");
  LatencyHistogram h(static_cast<int>(digits), highest);

  constexpr std::string_view kU64 = "an integer from 0 to 18446744073709551615";
  const auto count = r.integer_member(j, "count", 0, kU64Max, kU64);
  const auto min = r.integer_member(j, "min", 0, kU64Max, kU64);
  const auto max = r.integer_member(j, "max", 0, kU64Max, kU64);
  const auto sum = r.integer_member(j, "sum", 0, kU64Max, kU64);
  const auto saturated = r.integer_member(j, "saturated", 0, kU64Max, kU64);

  const auto& buckets = r.member(j, "buckets", "an array of [index, count] pairs");
  if (!buckets.is_array())
    r.fail("buckets", "an array of [index, count] pairs", seen_text(buckets));
  const std::uint64_t last_index = h.counts_.size() - 1;
  const std::string index_range = "an integer from 0 to " + std::to_string(last_index) +
                                  " (the counters of " +
                                  layout_text(h.significant_digits_, h.highest_trackable_) + ")";
  std::uint64_t total = 0;
  std::uint64_t first = 0;
  std::uint64_t previous = 0;
  for (std::size_t n = 0; n < buckets.size(); ++n) {
    const std::string name = "buckets[" + std::to_string(n) + "]";
    const auto& pair = buckets[n];
    if (!pair.is_array() || pair.size() != 2) {
      r.fail(name, "an [index, count] pair", seen_text(pair));
    }
    const auto index = r.integer(pair[0], name + "[0]", 0, last_index, index_range);
    if (n > 0 && index == previous) {
      r.fail(name + "[0]", "each index once", "index " + std::to_string(index) + " again");
    }
    if (n > 0 && index < previous) {
      r.fail(name + "[0]",
             "indexes in ascending order (an index above " + std::to_string(previous) + ")",
             std::to_string(index));
    }
    const auto c = r.integer(pair[1], name + "[1]", 1, kU64Max,
                             "a count from 1 to 18446744073709551615 (only non-zero counters)");
    if (__builtin_add_overflow(total, c, &total)) {
      r.fail(name + "[1]", "counts whose total fits in 64 bits", std::to_string(c));
    }
    if (n == 0) first = index;
    previous = index;
    h.counts_[index] = c;
  }

  if (count != total) {
    r.fail("count", "the total of the bucket counts, " + std::to_string(total),
           std::to_string(count));
  }
  if (count == 0) {
    // Empty: to_json writes every total as 0.
    for (const auto& [name, value] :
         {std::pair{"min", min}, {"max", max}, {"sum", sum}, {"saturated", saturated}}) {
      if (value != 0) r.fail(name, "0 (the histogram is empty)", std::to_string(value));
    }
    return h;
  }
  if (max > highest) {
    r.fail("max", "at most highest_trackable, " + std::to_string(highest), std::to_string(max));
  }
  if (min > max) {
    r.fail("min", "at most max, " + std::to_string(max), std::to_string(min));
  }
  const auto counter_text = [&h](std::uint64_t index) {
    const std::uint64_t low = h.value_from_index(index);
    return "counter " + std::to_string(index) + ", " + std::to_string(low) + ".." +
           std::to_string(low + (h.counter_width(index) - 1));
  };
  if (h.counts_index(min) != first) {
    r.fail("min", "a value of the first non-empty " + counter_text(first), std::to_string(min));
  }
  if (h.counts_index(max) != previous) {
    r.fail("max", "a value of the last non-empty " + counter_text(previous), std::to_string(max));
  }
  if (saturated > 0) {
    // A saturated value is recorded as highest_trackable, in its counter.
    if (max != highest) {
      r.fail("max",
             "highest_trackable, " + std::to_string(highest) + ", since saturated is " +
                 std::to_string(saturated),
             std::to_string(max));
    }
    const std::uint64_t at_highest = h.counts_[h.counts_index(highest)];
    if (saturated > at_highest) {
      r.fail("saturated",
             "at most the count of the counter of highest_trackable, " + std::to_string(at_highest),
             std::to_string(saturated));
    }
  }
  // Each counted value lies in its counter's range and within [min, max]; the sum lies between
  // the totals of those bounds.
  std::uint64_t sum_low = 0;
  std::uint64_t sum_high = 0;
  for (std::size_t i = 0; i < h.counts_.size(); ++i) {
    const std::uint64_t c = h.counts_[i];
    if (c == 0) continue;
    const std::uint64_t low = h.value_from_index(i);
    const std::uint64_t high = low + (h.counter_width(i) - 1);
    sum_low = saturating_mul_add(std::max(low, min), c, sum_low);
    sum_high = saturating_mul_add(std::min(high, max), c, sum_high);
  }
  if (sum < sum_low || sum > sum_high) {
    r.fail(
        "sum",
        "a total the counters allow, " + std::to_string(sum_low) + ".." + std::to_string(sum_high),
        std::to_string(sum));
  }

  h.count_ = count;
  h.min_ = min;
  h.max_ = max;
  h.sum_ = sum;
  h.saturated_ = saturated;
  return h;
}

}  // namespace joincheck::load
