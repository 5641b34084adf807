#pragma once
// Latency histogram of `joincheck load`: microsecond values counted with a bounded relative
// error, mergeable across shard processes without loss.
//
// The bucket layout is HdrHistogram's (Gil Tene, https://hdrhistogram.org, "HdrHistogram: A
// High Dynamic Range Histogram"), written here from the published design because Debian packages
// no C/C++ HdrHistogram. The layout is log-linear: values are grouped into buckets by power of
// two, and every bucket is split into the same number of linear sub-buckets, so the width of a
// counter grows with its value and the relative error stays below 10^-significant_digits from
// 1 µs up to the highest trackable value. A record is a shift, a count-leading-zeros and an
// increment in one flat array of counters, with no allocation.
//
// Layout, for significant digits d (1..5) and the lowest discernible value fixed at 1 µs:
//   sub_bucket_count      = 2^ceil(log2(2 * 10^d))   (d = 3: 2048)
//   sub_bucket_half_count = sub_bucket_count / 2     (d = 3: 1024, >= 10^d)
//   bucket 0 holds 0 .. sub_bucket_count - 1 one value per counter; bucket b >= 1 holds
//   [sub_bucket_half_count << b, sub_bucket_count << b) in sub_bucket_half_count counters of
//   width 2^b (its lower half is bucket b - 1's range, so it is not stored twice).
//   counter count         = (bucket_count + 1) * sub_bucket_half_count
// A counter of width w starts at a value >= sub_bucket_half_count * w, so any value reported for
// it is within w - 1 < value / 10^d of every value it counts.
//
// Sizes with the default range (1 µs .. 1 h, 3 600 000 000 µs) and 64-bit counters (64 bits
// because merged shard reports may count more than 2^32 answers in one counter):
//   d = 1: 464 counters, 3.6 KiB   d = 2: 3 328, 26 KiB   d = 3 (default): 23 552, 184 KiB
//   d = 4: 311 296, 2.4 MiB        d = 5: 2 097 152, 16 MiB
// The largest layout (d = 5 up to 2^63 - 1) is 6 160 384 counters, 47 MiB: the most a report
// read by from_json() can make this allocate.
//
// Differences from HdrHistogram, on purpose:
//   - min(), max(), sum() and mean() are exact (kept beside the counters), not derived from the
//     buckets; value_at_percentile(0) is min() and value_at_percentile(100) is max().
//   - a value above highest_trackable() is clamped to it and counted in saturated() rather than
//     refused, so a load run never loses a sample; min/max/sum see the clamped value.
//   - counts and sums that would overflow 64 bits throw std::overflow_error instead of wrapping.

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace joincheck::load {

class LatencyHistogram {
 public:
  static constexpr int kMinSignificantDigits = 1;
  static constexpr int kMaxSignificantDigits = 5;
  // The largest highest_trackable: values are signed 64-bit in HdrHistogram and in JSON readers
  // of other languages; this keeps the layout the same.
  static constexpr std::uint64_t kMaxHighestTrackable = 0x7fff'ffff'ffff'ffffULL;
  static constexpr std::uint64_t kDefaultHighestTrackable = 3'600'000'000ULL;  // 1 h in µs

  // Throws std::invalid_argument when significant_digits is outside 1..5 or highest_trackable
  // outside 2..kMaxHighestTrackable (HdrHistogram needs at least twice the lowest value, 1).
  explicit LatencyHistogram(int significant_digits = 3,
                            std::uint64_t highest_trackable = kDefaultHighestTrackable);

  // Counts `value_us` `count` times (count 0 records nothing). A value above highest_trackable()
  // is counted as highest_trackable() and in saturated(). O(1), no allocation. Throws
  // std::overflow_error (and changes nothing) if count() or sum() would pass 2^64 - 1.
  void record(std::uint64_t value_us, std::uint64_t count = 1);

  // Adds `other` to this histogram exactly: the result equals one histogram that recorded both
  // streams. Throws std::invalid_argument naming both layouts if significant digits or highest
  // trackable differ, std::overflow_error if count() or sum() would overflow; either way this
  // histogram is unchanged.
  void merge(const LatencyHistogram& other);

  void reset();  // back to empty, same layout

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return min_; }  // 0 when empty
  std::uint64_t max() const { return max_; }  // 0 when empty
  std::uint64_t sum() const { return sum_; }
  double mean() const;                                    // sum() / count(), 0 when empty
  std::uint64_t saturated() const { return saturated_; }  // values clamped to highest_trackable

  int significant_digits() const { return significant_digits_; }
  std::uint64_t highest_trackable() const { return highest_trackable_; }

  // The value at percentile p in [0, 100] (HdrHistogram's getValueAtPercentile): with
  // k = ceil(p / 100 * count()) (at least 1), the highest value equivalent to the counter that
  // holds the k-th smallest recorded value, but never above max(). p = 0 gives min(), p = 100
  // max(), an empty histogram 0. The result v and the exact k-th smallest value x satisfy
  // x <= v and (v - x) * 10^significant_digits <= x. p / 100 * count() within a few ulps of an
  // integer is taken as that integer, so 99.9 of 1000 values is the 999th (99.9 is not exact in
  // binary). Throws std::invalid_argument for p < 0, p > 100 or NaN.
  std::uint64_t value_at_percentile(double p) const;

  // One counter: the values it stands for [low, high] (inclusive, the layout's range, which for
  // the last counters may reach above highest_trackable()) and how many were recorded in it.
  struct Bucket {
    std::uint64_t low = 0;
    std::uint64_t high = 0;
    std::uint64_t count = 0;
    friend bool operator==(const Bucket&, const Bucket&) = default;
  };
  // The non-empty counters in ascending value order, for plots.
  std::vector<Bucket> buckets() const;

  // The layout, for reports and tests: how many counters, and the first and last value of the
  // counter `value` falls in (in the layout, without clamping to highest_trackable()).
  std::size_t counter_count() const { return counts_.size(); }
  std::uint64_t lowest_equivalent_value(std::uint64_t value) const;
  std::uint64_t highest_equivalent_value(std::uint64_t value) const;

  // {"unit": "us", "significant_digits": 3, "highest_trackable": 3600000000, "count": N,
  //  "min": .., "max": .., "sum": .., "saturated": .., "buckets": [[index, count], ...]}
  // "buckets" lists the non-zero counters only, by counter index, ascending.
  nlohmann::ordered_json to_json() const;

  // The histogram to_json() wrote: from_json(h.to_json(), ...) == h. Validates every member (no
  // unknown or missing member, types, ranges, counter indexes within the layout, strictly
  // ascending indexes, non-zero counts, count equal to the sum of the counters, min <= max, min
  // and max in the first and last non-empty counters, sum within what the counters allow,
  // saturated consistent with max) and throws std::runtime_error
  // "<where>: <member>: expected <what>, saw <value>", where `where` names the place, such as
  // "shard-2.json: latency.histogram". A parsed nlohmann::ordered_json converts implicitly.
  static LatencyHistogram from_json(const nlohmann::json& j, std::string_view where);

  friend bool operator==(const LatencyHistogram&, const LatencyHistogram&) = default;

 private:
  std::size_t counts_index(std::uint64_t value) const;
  std::uint64_t value_from_index(std::size_t index) const;  // lowest value of a counter
  std::uint64_t counter_width(std::size_t index) const;

  // The layout (derived from the two parameters, compared by operator== all the same).
  int significant_digits_;
  std::uint64_t highest_trackable_;
  int sub_bucket_half_count_magnitude_ = 0;
  std::uint64_t sub_bucket_half_count_ = 0;
  std::uint64_t sub_bucket_mask_ = 0;
  int bucket_count_ = 0;

  // The data. Empty: every total 0, min_ and max_ 0 (so equal empty histograms compare equal).
  std::vector<std::uint64_t> counts_;
  std::uint64_t count_ = 0;
  std::uint64_t min_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t saturated_ = 0;
};

}  // namespace joincheck::load
