// The latency histogram of `joincheck load` (load/histogram.hpp): its percentiles against the
// exact ones of the sorted samples, its exact extremes, saturation, exact merging, and its JSON
// form read back identically or refused with a message that says where and why.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <ostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "load/histogram.hpp"

namespace joincheck::load {

// Failures print the histogram's JSON form (shortened), not its bytes.
void PrintTo(const LatencyHistogram& h, std::ostream* os) {
  const std::string text = h.to_json().dump();
  *os << (text.size() > 300 ? text.substr(0, 300) + "..." : text);
}
void PrintTo(const LatencyHistogram::Bucket& b, std::ostream* os) {
  *os << "{" << b.low << ".." << b.high << ": " << b.count << "}";
}

namespace {

using ::testing::HasSubstr;

constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();

std::uint64_t power_of_ten(int digits) {
  std::uint64_t v = 1;
  for (int i = 0; i < digits; ++i) v *= 10;
  return v;
}

// A percentile as the exact fraction num / den, so the expected rank is computed in integers:
// ceil(num / den / 100 * n), at least 1.
struct Percentile {
  std::uint64_t num;
  std::uint64_t den;
  double value() const { return static_cast<double>(num) / static_cast<double>(den); }
  std::uint64_t rank(std::uint64_t n) const {
    const std::uint64_t scale = den * 100;
    const std::uint64_t r = (num * n + scale - 1) / scale;
    return std::clamp<std::uint64_t>(r, 1, n);
  }
};

const std::vector<Percentile> kPercentiles = {
    {0, 1},  {1, 1000}, {1, 1},  {10, 1},   {25, 1},     {333, 10},     {50, 1}, {75, 1},
    {90, 1}, {95, 1},   {99, 1}, {999, 10}, {9999, 100}, {99999, 1000}, {100, 1}};

// The value a correct histogram must report for `p`: min for 0, max for 100, else the rank-th
// smallest sample (which the histogram may overstate by its relative error).
std::uint64_t exact_value(const std::vector<std::uint64_t>& sorted, const Percentile& p) {
  if (p.num == 0) return sorted.front();
  return sorted[p.rank(sorted.size()) - 1];
}

struct Distribution {
  std::string name;
  std::function<std::uint64_t(std::mt19937_64&)> draw;
};

std::vector<Distribution> distributions() {
  return {
      {"uniform 0..10 ms",
       [](std::mt19937_64& rng) {
         return std::uniform_int_distribution<std::uint64_t>(0, 10'000)(rng);
       }},
      {"lognormal around 50 ms",
       [](std::mt19937_64& rng) {
         return static_cast<std::uint64_t>(
             std::lognormal_distribution<double>(std::log(50'000.0), 1.0)(rng));
       }},
      // Every decade from 1 µs to 10 minutes equally likely.
      {"log-uniform 1 us .. 10 min",
       [](std::mt19937_64& rng) {
         const double e = std::uniform_real_distribution<double>(0.0, std::log(600e6))(rng);
         return static_cast<std::uint64_t>(std::exp(e));
       }},
      // Pareto, alpha 0.6 (infinite mean): mostly sub-millisecond, a tail into minutes.
      {"pareto heavy tail to 30 min",
       [](std::mt19937_64& rng) {
         const double u = std::uniform_real_distribution<double>(1e-12, 1.0)(rng);
         const double v = 200.0 / std::pow(u, 1.0 / 0.6);
         return static_cast<std::uint64_t>(std::min(v, 1.8e9));
       }},
      // 95 % fast answers around 2 ms, 5 % timeouts around 5 s.
      {"bimodal 2 ms / 5 s",
       [](std::mt19937_64& rng) {
         const bool slow = std::bernoulli_distribution(0.05)(rng);
         const double v = slow ? std::normal_distribution<double>(5e6, 2e5)(rng)
                               : std::normal_distribution<double>(2000.0, 300.0)(rng);
         return static_cast<std::uint64_t>(std::max(v, 0.0));
       }},
      {"few distinct values",
       [](std::mt19937_64& rng) {
         constexpr std::uint64_t kValues[] = {0, 1, 999, 4'097, 1'000'000, 59'999'999};
         return kValues[std::uniform_int_distribution<int>(0, 5)(rng)];
       }},
  };
}

std::vector<std::uint64_t> samples(const Distribution& d, std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> v(n);
  for (auto& x : v) x = d.draw(rng);
  return v;
}

LatencyHistogram histogram_of(const std::vector<std::uint64_t>& values, int digits = 3) {
  LatencyHistogram h(digits);
  for (const auto v : values) h.record(v);
  return h;
}

// ---------------------------------------------------------------------------------------------
// Layout

TEST(LatencyHistogramLayout, SubBucketsAndCountersAreHdrHistograms) {
  // HdrHistogram: sub_bucket_count = 2^ceil(log2(2 * 10^d)), counters (buckets + 1) * count / 2.
  // 3 digits over 1 µs .. 1 h: 2048 sub-buckets, 22 buckets, 23 * 1024 counters.
  EXPECT_EQ(LatencyHistogram(3).counter_count(), 23'552u);
  EXPECT_EQ(LatencyHistogram(2).counter_count(), 3'328u);
  EXPECT_EQ(LatencyHistogram(1).counter_count(), 464u);
  // Values below sub_bucket_count have a counter each; the next is 2 wide.
  const struct {
    int digits;
    std::uint64_t sub_bucket_count;
  } cases[] = {{1, 32}, {2, 256}, {3, 2048}, {4, 32768}, {5, 262144}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.digits);
    const LatencyHistogram h(c.digits);
    EXPECT_EQ(h.highest_equivalent_value(c.sub_bucket_count - 1), c.sub_bucket_count - 1);
    EXPECT_EQ(h.lowest_equivalent_value(c.sub_bucket_count), c.sub_bucket_count);
    EXPECT_EQ(h.highest_equivalent_value(c.sub_bucket_count), c.sub_bucket_count + 1);
  }
}

TEST(LatencyHistogramLayout, EveryCounterIsNarrowerThanItsValueOverTenToTheDigits) {
  std::mt19937_64 rng(7);
  for (int digits = 1; digits <= 5; ++digits) {
    SCOPED_TRACE(digits);
    const LatencyHistogram h(digits);
    const std::uint64_t scale = power_of_ten(digits);
    std::vector<std::uint64_t> values = {0, 1, 2, h.highest_trackable() - 1, h.highest_trackable()};
    for (std::uint64_t v = 1; v < h.highest_trackable(); v *= 2) {
      values.insert(values.end(), {v - 1, v, v + 1});
    }
    for (int i = 0; i < 20'000; ++i) {
      values.push_back(std::uniform_int_distribution<std::uint64_t>(0, h.highest_trackable())(rng));
    }
    for (const auto v : values) {
      const auto low = h.lowest_equivalent_value(v);
      const auto high = h.highest_equivalent_value(v);
      ASSERT_LE(low, v);
      ASSERT_GE(high, v);
      ASSERT_LE((high - low) * scale, low) << v;  // so reporting `high` for v errs by < v / 10^d
    }
  }
}

TEST(LatencyHistogramLayout, RefusesDigitsAndRangesOutsideTheLayout) {
  EXPECT_THROW(LatencyHistogram(0), std::invalid_argument);
  EXPECT_THROW(LatencyHistogram(6), std::invalid_argument);
  EXPECT_THROW(LatencyHistogram(3, 1), std::invalid_argument);
  EXPECT_THROW(LatencyHistogram(3, LatencyHistogram::kMaxHighestTrackable + 1),
               std::invalid_argument);
  EXPECT_NO_THROW(LatencyHistogram(1, LatencyHistogram::kMaxHighestTrackable));
  EXPECT_NO_THROW(LatencyHistogram(5, 2));
}

// ---------------------------------------------------------------------------------------------
// Percentiles against the exact ones

TEST(LatencyHistogramPercentiles, WithinTheRelativeErrorOfTheExactPercentiles) {
  std::uint64_t seed = 1;
  for (const auto& d : distributions()) {
    const auto values = samples(d, 50'000, seed++);
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    for (int digits = 1; digits <= 5; ++digits) {
      SCOPED_TRACE(d.name + ", " + std::to_string(digits) + " digits");
      const auto h = histogram_of(values, digits);
      const std::uint64_t scale = power_of_ten(digits);
      ASSERT_EQ(h.count(), values.size());
      // The extremes are exact, not a counter's edge.
      EXPECT_EQ(h.min(), sorted.front());
      EXPECT_EQ(h.max(), sorted.back());
      EXPECT_EQ(h.value_at_percentile(0), sorted.front());
      EXPECT_EQ(h.value_at_percentile(100), sorted.back());
      for (const auto& p : kPercentiles) {
        const std::uint64_t exact = exact_value(sorted, p);
        const std::uint64_t got = h.value_at_percentile(p.value());
        SCOPED_TRACE("p" + std::to_string(p.value()) + ": exact " + std::to_string(exact) +
                     ", reported " + std::to_string(got));
        EXPECT_GE(got, exact);
        EXPECT_LE((got - exact) * scale, exact);
        EXPECT_LE(got, h.max());
      }
    }
  }
}

TEST(LatencyHistogramPercentiles, TheBoundIsNotVacuousAtThreeDigits) {
  // A million microseconds lies in a counter 512 wide: the report is that counter's top, not the
  // sample, and within 0.1 % of it.
  LatencyHistogram h;
  h.record(1'000'000);
  h.record(2'000'000);
  const auto p50 = h.value_at_percentile(50);
  EXPECT_EQ(p50, h.highest_equivalent_value(1'000'000));
  EXPECT_GT(p50, 1'000'000u);
  EXPECT_LE(p50 - 1'000'000, 1'000u);
  EXPECT_EQ(h.highest_equivalent_value(1'000'000) - h.lowest_equivalent_value(1'000'000), 511u);
  // p0 and p100 are the recorded extremes, although both lie inside wide counters.
  EXPECT_EQ(h.value_at_percentile(0), 1'000'000u);
  EXPECT_EQ(h.value_at_percentile(100), 2'000'000u);
}

TEST(LatencyHistogramPercentiles, ExactExtremesAndRanks) {
  LatencyHistogram h;
  h.record(5);
  h.record(3'599'999'999);  // in a counter 2^21 wide
  EXPECT_EQ(h.min(), 5u);
  EXPECT_EQ(h.max(), 3'599'999'999u);
  EXPECT_EQ(h.value_at_percentile(0), 5u);
  EXPECT_EQ(h.value_at_percentile(50), 5u);                   // rank 1, a counter of width 1
  EXPECT_EQ(h.value_at_percentile(50.0001), 3'599'999'999u);  // rank 2: never above max
  EXPECT_EQ(h.value_at_percentile(100), 3'599'999'999u);
  EXPECT_EQ(h.sum(), 3'600'000'004u);
  EXPECT_DOUBLE_EQ(h.mean(), 1'800'000'002.0);
}

TEST(LatencyHistogramPercentiles, OneSampleIsEveryPercentile) {
  for (const std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{123'456'789}}) {
    LatencyHistogram h;
    h.record(v);
    for (const double p : {0.0, 1e-9, 50.0, 99.999, 100.0}) {
      EXPECT_EQ(h.value_at_percentile(p), v) << p;
    }
    EXPECT_EQ(h.min(), v);
    EXPECT_EQ(h.max(), v);
  }
}

TEST(LatencyHistogramPercentiles, RankIsTheCeilingOfTheDecimalPercentile) {
  // Distinct values 0..n-1 all have counters of width 1 at 3 digits, so the report is the exact
  // rank-th value: this checks the rank itself, including decimals binary cannot hold (99.9 of
  // 1000 samples is the 999th, although 99.9 / 100 * 1000 computes to 999.0000000000001).
  for (const std::uint64_t n : {1u, 2u, 3u, 7u, 10u, 100u, 999u, 1000u, 1001u, 2048u}) {
    SCOPED_TRACE(n);
    LatencyHistogram h;
    for (std::uint64_t v = 0; v < n; ++v) h.record(v);
    std::vector<Percentile> ps;
    for (std::uint64_t k = 0; k <= 1000; ++k) ps.push_back({k, 10});
    for (std::uint64_t k : {1u, 5u, 9999u, 99'990u, 99'999u, 50'005u}) ps.push_back({k, 1000});
    for (const auto& p : ps) {
      const std::uint64_t expected = p.num == 0 ? 0 : p.rank(n) - 1;
      ASSERT_EQ(h.value_at_percentile(p.value()), expected) << "p" << p.value();
    }
  }
}

TEST(LatencyHistogramPercentiles, RefusesPercentilesOutsideZeroToHundred) {
  LatencyHistogram h;
  h.record(10);
  for (const double p :
       {-0.001, 100.0001, -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_THROW((void)h.value_at_percentile(p), std::invalid_argument) << p;
  }
  EXPECT_THROW((void)LatencyHistogram().value_at_percentile(101), std::invalid_argument);
}

// ---------------------------------------------------------------------------------------------
// Totals, empty, saturation, reset

TEST(LatencyHistogram, EmptyHistogramReportsZeros) {
  const LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.sum(), 0u);
  EXPECT_EQ(h.saturated(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
  for (const double p : {0.0, 50.0, 100.0}) EXPECT_EQ(h.value_at_percentile(p), 0u);
  EXPECT_TRUE(h.buckets().empty());
  EXPECT_EQ(h, LatencyHistogram());
  EXPECT_NE(h, LatencyHistogram(2));
}

TEST(LatencyHistogram, ZeroIsAValue) {
  LatencyHistogram h;
  h.record(0, 3);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 0u);
  EXPECT_EQ(h.value_at_percentile(50), 0u);
  EXPECT_EQ(h.buckets(), (std::vector<LatencyHistogram::Bucket>{{0, 0, 3}}));
}

TEST(LatencyHistogram, CountedRecordEqualsRepeatedRecords) {
  LatencyHistogram once;
  LatencyHistogram repeated;
  once.record(7'654'321, 5);
  for (int i = 0; i < 5; ++i) repeated.record(7'654'321);
  EXPECT_EQ(once, repeated);
  once.record(99, 0);  // records nothing
  EXPECT_EQ(once, repeated);
}

TEST(LatencyHistogram, SumAndMeanAreExact) {
  const auto values = samples(distributions()[3], 20'000, 99);
  const auto h = histogram_of(values);
  const std::uint64_t sum = std::accumulate(values.begin(), values.end(), std::uint64_t{0});
  EXPECT_EQ(h.sum(), sum);
  EXPECT_EQ(h.min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h.max(), *std::max_element(values.begin(), values.end()));
  EXPECT_DOUBLE_EQ(h.mean(), static_cast<double>(sum) / static_cast<double>(values.size()));
}

TEST(LatencyHistogram, ValuesAboveTheRangeAreClampedAndCounted) {
  LatencyHistogram h(3, 1'000'000);
  h.record(5);
  h.record(1'000'000);  // the highest trackable value itself is not saturated
  EXPECT_EQ(h.saturated(), 0u);
  h.record(5'000'000);
  h.record(kU64Max, 3);
  EXPECT_EQ(h.saturated(), 4u);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_EQ(h.sum(), 5u + 5 * 1'000'000u);
  EXPECT_EQ(h.value_at_percentile(100), 1'000'000u);
  EXPECT_EQ(h.value_at_percentile(99), 1'000'000u);
  EXPECT_EQ(h.buckets().back().count, 5u);
}

TEST(LatencyHistogram, OverflowThrowsAndChangesNothing) {
  LatencyHistogram h;
  h.record(10);
  const auto before = h;
  // The sum would pass 2^64 - 1.
  EXPECT_THROW(h.record(3'000'000'000, std::uint64_t{1} << 33), std::overflow_error);
  EXPECT_EQ(h, before);
  // The count would.
  LatencyHistogram zeros;
  zeros.record(0, kU64Max);
  const auto full = zeros;
  EXPECT_THROW(zeros.record(0), std::overflow_error);
  EXPECT_EQ(zeros, full);
  EXPECT_THROW(zeros.merge(before), std::overflow_error);
  EXPECT_EQ(zeros, full);
}

TEST(LatencyHistogram, ResetEmptiesAndKeepsTheLayout) {
  auto h = histogram_of(samples(distributions()[2], 1'000, 3), 2);
  h.record(kU64Max);
  h.reset();
  EXPECT_EQ(h, LatencyHistogram(2));
  h.record(42);
  EXPECT_EQ(h.min(), 42u);  // not min(0, 42): reset leaves no stale extreme
  EXPECT_EQ(h.count(), 1u);
}

TEST(LatencyHistogram, BucketsCoverEverySampleInValueOrder) {
  const auto values = samples(distributions()[2], 10'000, 11);
  const auto h = histogram_of(values);
  const auto buckets = h.buckets();
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    EXPECT_GT(buckets[i].count, 0u);
    EXPECT_LE(buckets[i].low, buckets[i].high);
    if (i > 0) {
      EXPECT_GT(buckets[i].low, buckets[i - 1].high);
    }
    total += buckets[i].count;
  }
  EXPECT_EQ(total, h.count());
  for (const auto v : values) {
    const auto it = std::find_if(buckets.begin(), buckets.end(),
                                 [v](const LatencyHistogram::Bucket& b) { return b.high >= v; });
    ASSERT_NE(it, buckets.end());
    EXPECT_LE(it->low, v);
  }
}

// ---------------------------------------------------------------------------------------------
// Merge

TEST(LatencyHistogramMerge, ShardsMergedEqualOneHistogramOfEverything) {
  // Four shards with different latency profiles, as four load processes would see.
  const auto dists = distributions();
  LatencyHistogram all;
  std::vector<LatencyHistogram> shards;
  for (std::size_t s = 0; s < 4; ++s) {
    const auto values = samples(dists[s + 1], 25'000, 100 + s);
    LatencyHistogram shard;
    for (const auto v : values) {
      shard.record(v);
      all.record(v);
    }
    shards.push_back(shard);
  }
  LatencyHistogram merged;
  for (const auto& s : shards) merged.merge(s);
  EXPECT_EQ(merged, all);
  for (const auto& p : kPercentiles) {
    EXPECT_EQ(merged.value_at_percentile(p.value()), all.value_at_percentile(p.value()));
  }
  EXPECT_EQ(merged.buckets(), all.buckets());

  // In another order, and into a non-empty histogram.
  LatencyHistogram reversed = shards[3];
  for (int s = 2; s >= 0; --s) reversed.merge(shards[static_cast<std::size_t>(s)]);
  EXPECT_EQ(reversed, all);
}

TEST(LatencyHistogramMerge, EmptySidesAndSelf) {
  LatencyHistogram h;
  h.record(300);
  h.record(70'000);
  const auto original = h;
  h.merge(LatencyHistogram());
  EXPECT_EQ(h, original);

  LatencyHistogram empty;
  empty.merge(original);
  EXPECT_EQ(empty, original);
  EXPECT_EQ(empty.min(), 300u);  // an empty side's 0 is no minimum

  h.merge(h);
  LatencyHistogram twice;
  twice.record(300, 2);
  twice.record(70'000, 2);
  EXPECT_EQ(h, twice);
}

TEST(LatencyHistogramMerge, SaturationAdds) {
  LatencyHistogram a(3, 10'000);
  LatencyHistogram b(3, 10'000);
  a.record(20'000);
  b.record(30'000, 2);
  b.record(1);
  a.merge(b);
  EXPECT_EQ(a.saturated(), 3u);
  EXPECT_EQ(a.min(), 1u);
  EXPECT_EQ(a.max(), 10'000u);
}

TEST(LatencyHistogramMerge, DifferentLayoutsAreRefusedAndNothingChanges) {
  LatencyHistogram h;
  h.record(1'000);
  const auto before = h;
  LatencyHistogram digits(2);
  digits.record(5);
  try {
    h.merge(digits);
    FAIL() << "merged histograms of 3 and 2 significant digits";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("different layouts"));
    EXPECT_THAT(e.what(), HasSubstr("3 significant digits up to 3600000000 us"));
    EXPECT_THAT(e.what(), HasSubstr("2 significant digits up to 3600000000 us"));
  }
  EXPECT_EQ(h, before);
  LatencyHistogram range(3, 60'000'000);
  try {
    h.merge(range);
    FAIL() << "merged histograms of different highest trackable values";
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("up to 60000000 us"));
  }
  EXPECT_EQ(h, before);
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(LatencyHistogramJson, TheDocumentIsSparseAndOrdered) {
  LatencyHistogram h;
  h.record(5, 2);
  h.record(3'000);  // counter 2048 + (3000 >> 1) - 1024 = 2524
  EXPECT_EQ(h.to_json().dump(),
            R"({"unit":"us","significant_digits":3,"highest_trackable":3600000000,"count":3,)"
            R"("min":5,"max":3000,"sum":3010,"saturated":0,"buckets":[[5,2],[2524,1]]})");
  EXPECT_EQ(LatencyHistogram().to_json().dump(),
            R"({"unit":"us","significant_digits":3,"highest_trackable":3600000000,"count":0,)"
            R"("min":0,"max":0,"sum":0,"saturated":0,"buckets":[]})");
}

TEST(LatencyHistogramJson, RoundTripIsExact) {
  std::vector<LatencyHistogram> cases;
  cases.emplace_back();
  for (int digits = 1; digits <= 5; ++digits) {
    cases.push_back(histogram_of(samples(distributions()[3], 5'000, 40 + digits), digits));
  }
  LatencyHistogram saturated(2, 1'000'000);
  saturated.record(3);
  saturated.record(9'999'999, 4);
  cases.push_back(saturated);
  LatencyHistogram widest(1, LatencyHistogram::kMaxHighestTrackable);
  widest.record(0);
  widest.record(kU64Max);
  cases.push_back(widest);
  LatencyHistogram big_counts;
  big_counts.record(0, kU64Max - 1);
  big_counts.record(1);
  cases.push_back(big_counts);

  for (const auto& h : cases) {
    SCOPED_TRACE(h.to_json().dump().substr(0, 120));
    EXPECT_EQ(LatencyHistogram::from_json(h.to_json(), "memory"), h);
    // Through text, as a shard's report file goes.
    const auto read =
        LatencyHistogram::from_json(nlohmann::json::parse(h.to_json().dump()), "file");
    EXPECT_EQ(read, h);
    for (const auto& p : kPercentiles) {
      EXPECT_EQ(read.value_at_percentile(p.value()), h.value_at_percentile(p.value()));
    }
  }
}

TEST(LatencyHistogramJson, MergedFromReportsEqualsMergedInMemory) {
  LatencyHistogram a;
  LatencyHistogram b;
  for (const auto v : samples(distributions()[1], 3'000, 5)) a.record(v);
  for (const auto v : samples(distributions()[4], 3'000, 6)) b.record(v);
  auto from_files = LatencyHistogram::from_json(nlohmann::json::parse(a.to_json().dump()), "a");
  from_files.merge(LatencyHistogram::from_json(nlohmann::json::parse(b.to_json().dump()), "b"));
  a.merge(b);
  EXPECT_EQ(from_files, a);
}

// A valid document to break one member at a time: 5 µs twice, 3000 µs once, and 10 s once.
nlohmann::json valid_document() {
  LatencyHistogram h;
  h.record(5, 2);
  h.record(3'000);
  h.record(10'000'000);
  return h.to_json();
}

struct Malformed {
  std::string name;
  std::function<void(nlohmann::json&)> mutate;
  std::vector<std::string> expected_in_message;
};

constexpr const char* kWhere = "shard-2.json: latency.histogram";

std::string from_json_error(const nlohmann::json& j) {
  try {
    (void)LatencyHistogram::from_json(j, kWhere);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(LatencyHistogramJson, TheValidDocumentIsAccepted) {
  const auto h = LatencyHistogram::from_json(valid_document(), kWhere);
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.sum(), 10'003'010u);
}

TEST(LatencyHistogramJson, RefusesEachKindOfMalformedDocument) {
  using nlohmann::json;
  const std::uint64_t last = LatencyHistogram().counter_count() - 1;
  const std::vector<Malformed> cases = {
      {"not an object",
       [](json& j) {
         j = json::array({1, 2});
       },
       {"expected a latency histogram object", "saw [1,2]"}},
      {"unknown member",
       [](json& j) { j["lowest"] = 1; },
       {"lowest: expected only unit, significant_digits", "an unknown member"}},
      {"unit not us", [](json& j) { j["unit"] = "ms"; }, {"unit: expected \"us\", saw \"ms\""}},
      {"unit not a string", [](json& j) { j["unit"] = 1; }, {"unit: expected \"us\", saw 1"}},
      {"digits 0",
       [](json& j) { j["significant_digits"] = 0; },
       {"significant_digits: expected an integer from 1 to 5, saw 0"}},
      {"digits 6",
       [](json& j) { j["significant_digits"] = 6; },
       {"significant_digits: expected an integer from 1 to 5, saw 6"}},
      {"digits negative",
       [](json& j) { j["significant_digits"] = -3; },
       {"significant_digits: expected an integer from 1 to 5, saw -3"}},
      {"digits a float",
       [](json& j) { j["significant_digits"] = 3.0; },
       {"significant_digits: expected an integer from 1 to 5, saw 3.0"}},
      {"digits a string",
       [](json& j) { j["significant_digits"] = "3"; },
       {"significant_digits: expected an integer from 1 to 5, saw \"3\""}},
      {"digits a boolean",
       [](json& j) { j["significant_digits"] = true; },
       {"significant_digits: expected an integer from 1 to 5, saw true"}},
      {"digits null",
       [](json& j) { j["significant_digits"] = nullptr; },
       {"significant_digits: expected an integer from 1 to 5, saw null"}},
      {"highest 1",
       [](json& j) { j["highest_trackable"] = 1; },
       {"highest_trackable: expected an integer from 2 to 9223372036854775807, saw 1"}},
      {"highest 2^63",
       [](json& j) { j["highest_trackable"] = std::uint64_t{1} << 63; },
       {"highest_trackable: expected an integer from 2 to", "saw 9223372036854775808"}},
      {"count negative",
       [](json& j) { j["count"] = -4; },
       {"count: expected an integer from 0 to 18446744073709551615, saw -4"}},
      {"count a float",
       [](json& j) { j["count"] = 4.5; },
       {"count: expected an integer", "saw 4.5"}},
      {"min a string", [](json& j) { j["min"] = "5"; }, {"min: expected an integer", "saw \"5\""}},
      {"max null", [](json& j) { j["max"] = nullptr; }, {"max: expected an integer", "saw null"}},
      {"sum an array",
       [](json& j) { j["sum"] = json::array(); },
       {"sum: expected an integer", "saw []"}},
      {"saturated negative",
       [](json& j) { j["saturated"] = -1; },
       {"saturated: expected an integer", "saw -1"}},
      {"buckets an object",
       [](json& j) { j["buckets"] = json::object(); },
       {"buckets: expected an array of [index, count] pairs, saw {}"}},
      {"bucket not a pair",
       [](json& j) { j["buckets"][1] = json::array({2524}); },
       {"buckets[1]: expected an [index, count] pair, saw [2524]"}},
      {"bucket a triple",
       [](json& j) { j["buckets"][1].push_back(0); },
       {"buckets[1]: expected an [index, count] pair, saw [2524,1,0]"}},
      {"bucket a number",
       [](json& j) { j["buckets"][0] = 5; },
       {"buckets[0]: expected an [index, count] pair, saw 5"}},
      {"index past the layout",
       [last](json& j) { j["buckets"][2][0] = last + 1; },
       {"buckets[2][0]: expected an integer from 0 to " + std::to_string(last),
        "3 significant digits up to 3600000000 us", "saw " + std::to_string(last + 1)}},
      {"index negative",
       [](json& j) { j["buckets"][0][0] = -1; },
       {"buckets[0][0]: expected an integer from 0 to", "saw -1"}},
      {"index a string",
       [](json& j) { j["buckets"][0][0] = "5"; },
       {"buckets[0][0]: expected an integer", "saw \"5\""}},
      {"count zero",
       [](json& j) { j["buckets"][1][1] = 0; },
       {"buckets[1][1]: expected a count from 1", "only non-zero counters", "saw 0"}},
      {"count a float",
       [](json& j) { j["buckets"][1][1] = 1.0; },
       {"buckets[1][1]: expected a count from 1", "saw 1.0"}},
      {"duplicate index",
       [](json& j) {
         j["buckets"][1][0] = 5;
         j["count"] = 4;
       },
       {"buckets[1][0]: expected each index once, saw index 5 again"}},
      {"indexes out of order",
       [](json& j) { std::swap(j["buckets"][0], j["buckets"][1]); },
       {"buckets[1][0]: expected indexes in ascending order (an index above 2524), saw 5"}},
      {"bucket counts overflow",
       [](json& j) { j["buckets"][0][1] = kU64Max; },
       {"buckets[1][1]: expected counts whose total fits in 64 bits, saw 1"}},
      {"count is not the total",
       [](json& j) { j["count"] = 5; },
       {"count: expected the total of the bucket counts, 4, saw 5"}},
      {"min above max",
       [](json& j) { j["min"] = 10'000'001; },
       {"min: expected at most max, 10000000, saw 10000001"}},
      {"max above highest",
       [](json& j) { j["max"] = 3'600'000'001ULL; },
       {"max: expected at most highest_trackable, 3600000000, saw 3600000001"}},
      {"min not in the first counter",
       [](json& j) { j["min"] = 6; },
       {"min: expected a value of the first non-empty counter 5, 5..5, saw 6"}},
      {"max not in the last counter",
       [](json& j) { j["max"] = 9'000'000; },
       {"max: expected a value of the last non-empty counter", "saw 9000000"}},
      {"sum too small",
       [](json& j) { j["sum"] = 3'000; },
       {"sum: expected a total the counters allow", "saw 3000"}},
      {"sum too large",
       [](json& j) { j["sum"] = 20'000'000; },
       {"sum: expected a total the counters allow", "saw 20000000"}},
      {"saturated but max below highest",
       [](json& j) { j["saturated"] = 1; },
       {"max: expected highest_trackable, 3600000000, since saturated is 1, saw 10000000"}},
      {"empty with a minimum",
       [](json& j) {
         j["buckets"] = json::array();
         j["count"] = 0;
         j["sum"] = 0;
         j["max"] = 0;
         j["saturated"] = 0;
       },
       {"min: expected 0 (the histogram is empty), saw 5"}},
      {"empty with a sum",
       [](json& j) {
         j = LatencyHistogram().to_json();
         j["sum"] = 7;
       },
       {"sum: expected 0 (the histogram is empty), saw 7"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto j = valid_document();
    c.mutate(j);
    const std::string message = from_json_error(j);
    EXPECT_THAT(message, ::testing::StartsWith(std::string(kWhere) + ": "));
    for (const auto& part : c.expected_in_message) EXPECT_THAT(message, HasSubstr(part));
  }
}

TEST(LatencyHistogramJson, RefusesEachMissingMember) {
  for (const char* member : {"unit", "significant_digits", "highest_trackable", "count", "min",
                             "max", "sum", "saturated", "buckets"}) {
    SCOPED_TRACE(member);
    auto j = valid_document();
    j.erase(member);
    const std::string message = from_json_error(j);
    EXPECT_THAT(message, HasSubstr(std::string(kWhere) + ": " + member + ": expected "));
    EXPECT_THAT(message, HasSubstr("saw nothing (the member is missing)"));
  }
}

TEST(LatencyHistogramJson, SaturatedCountMustFitTheTopCounter) {
  LatencyHistogram h(3, 1'000'000);
  h.record(1'000'000);  // at the top, not saturated
  h.record(5'000'000);  // saturated
  auto j = nlohmann::json(h.to_json());
  EXPECT_EQ(LatencyHistogram::from_json(j, kWhere), h);
  j["saturated"] = 3;
  EXPECT_THAT(from_json_error(j),
              HasSubstr("saturated: expected at most the count of the counter of "
                        "highest_trackable, 2, saw 3"));
}

}  // namespace
}  // namespace joincheck::load
