// The command-line values of `joincheck load`: read strictly, with errors that say what was
// expected and what was seen.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "load/load_spec.hpp"

namespace {

using namespace joincheck::load;
using std::chrono::microseconds;

std::string error_of(void (*f)()) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(LoadSpec, DurationsInEveryUnit) {
  EXPECT_EQ(parse_duration("60s", "--duration"), microseconds(60'000'000));
  EXPECT_EQ(parse_duration("1.5s", "--duration"), microseconds(1'500'000));
  EXPECT_EQ(parse_duration("500ms", "--duration"), microseconds(500'000));
  EXPECT_EQ(parse_duration("250us", "--duration"), microseconds(250));
  EXPECT_EQ(parse_duration("2m", "--duration"), microseconds(120'000'000));
  EXPECT_EQ(parse_duration("1h", "--duration"), microseconds(3'600'000'000LL));
  for (const char* bad : {"", "60", "s", "-1s", "1.2.3s", "1 s", "1sec", "10d"}) {
    EXPECT_THROW(parse_duration(bad, "--duration"), std::invalid_argument) << bad;
  }
  const std::string e = error_of([] { (void)parse_duration("60", "--duration"); });
  EXPECT_NE(e.find("--duration"), std::string::npos) << e;
  EXPECT_NE(e.find("\"60\""), std::string::npos) << e;
  EXPECT_THROW(parse_duration("8d", "--duration"), std::invalid_argument);
  EXPECT_THROW(parse_duration("200h", "--duration"), std::invalid_argument);  // more than a week
}

TEST(LoadSpec, Rates) {
  EXPECT_DOUBLE_EQ(parse_rate("2000/s"), 2000);
  EXPECT_DOUBLE_EQ(parse_rate("2000"), 2000);
  EXPECT_DOUBLE_EQ(parse_rate("0.5/s"), 0.5);
  for (const char* bad : {"", "0", "0/s", "2000/m", "fast", "-5", "1e3"}) {
    EXPECT_THROW(parse_rate(bad), std::invalid_argument) << bad;
  }
}

TEST(LoadSpec, Storms) {
  const StormSpec s = parse_storm("10000/30s");
  EXPECT_EQ(s.devices, 10000u);
  EXPECT_EQ(s.within, microseconds(30'000'000));
  for (const char* bad : {"", "10000", "0/30s", "10000/", "10000/0s", "x/30s", "10000/30"}) {
    EXPECT_THROW(parse_storm(bad), std::invalid_argument) << bad;
  }
}

TEST(LoadSpec, ShardsSplitTheFleetWithoutOverlap) {
  const ShardSpec s = parse_shard("2/4");
  EXPECT_EQ(s.index, 2u);
  EXPECT_EQ(s.count, 4u);
  EXPECT_EQ(s.text(), "2/4");
  for (const char* bad : {"", "0/4", "5/4", "2/0", "2", "2/4/6", "a/b", "-1/4"}) {
    EXPECT_THROW(parse_shard(bad), std::invalid_argument) << bad;
  }
  // Every device in exactly one of N shards.
  for (std::size_t device = 0; device < 1000; ++device) {
    int owners = 0;
    for (std::uint32_t k = 1; k <= 7; ++k) owners += ShardSpec{k, 7}.owns(device) ? 1 : 0;
    EXPECT_EQ(owners, 1) << device;
  }
}

TEST(LoadSpec, MixesOfRejoinTypes) {
  MixSpec m;
  parse_mix("rejoin0=10%, rejoin2=0.05", m);
  EXPECT_DOUBLE_EQ(m.rejoin[0], 0.10);
  EXPECT_DOUBLE_EQ(m.rejoin[1], 0);
  EXPECT_DOUBLE_EQ(m.rejoin[2], 0.05);
  EXPECT_EQ(m.text(), "rejoin0=10%,rejoin2=5%");
  parse_mix("rejoin1=85%", m);  // a second --mix adds its kinds
  EXPECT_DOUBLE_EQ(m.rejoin[1], 0.85);
  EXPECT_FALSE(m.empty());
  EXPECT_TRUE(MixSpec{}.empty());
  EXPECT_EQ(request_kind_name(std::nullopt), "JoinReq");
  EXPECT_EQ(request_kind_name(1), "RejoinReq type 1");

  const auto error_of = [](std::string_view text, MixSpec into = {}) {
    try {
      parse_mix(text, into);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("rejoin3=10%").find("rejoin0, rejoin1 or rejoin2"), std::string::npos);
  EXPECT_NE(error_of("join=10%").find("got \"join\""), std::string::npos) << error_of("join=10%");
  EXPECT_NE(error_of("rejoin0").find("KIND=SHARE"), std::string::npos);
  EXPECT_NE(error_of("").find("KIND=SHARE"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=ten").find("rejoin0: expected a share"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=10ms").find("rejoin0: expected a share"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=0%").find("more than 0"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=150%").find("at most 100%"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=60%,rejoin1=50%").find("add up to 110%"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=1%,rejoin0=2%").find("rejoin0 is given twice"), std::string::npos);
  EXPECT_NE(error_of("rejoin0=1%", m).find("rejoin0 is given twice"), std::string::npos);
  EXPECT_EQ(error_of("rejoin0=50%,rejoin1=50%"), "no error");
}

TEST(LoadSpec, Assertions) {
  Assertion a = parse_assertion("p99<=50ms");
  EXPECT_EQ(a.metric, Assertion::Metric::p99);
  EXPECT_EQ(a.op, Assertion::Op::le);
  EXPECT_DOUBLE_EQ(a.limit, 50'000);
  EXPECT_TRUE(a.holds(50'000));
  EXPECT_FALSE(a.holds(50'001));

  a = parse_assertion("errors=0");
  EXPECT_EQ(a.metric, Assertion::Metric::errors);
  EXPECT_EQ(a.op, Assertion::Op::eq);
  EXPECT_TRUE(a.holds(0));
  EXPECT_FALSE(a.holds(1));

  a = parse_assertion("rate>=1000/s");
  EXPECT_EQ(a.metric, Assertion::Metric::rate);
  EXPECT_DOUBLE_EQ(a.limit, 1000);
  a = parse_assertion("error_rate<0.1%");
  EXPECT_DOUBLE_EQ(a.limit, 0.001);
  EXPECT_EQ(a.op, Assertion::Op::lt);
  a = parse_assertion("rx1 >= 99%");
  EXPECT_EQ(a.metric, Assertion::Metric::rx1);
  EXPECT_DOUBLE_EQ(a.limit, 0.99);
  a = parse_assertion("p99.9<2s");
  EXPECT_EQ(a.metric, Assertion::Metric::p999);
  EXPECT_DOUBLE_EQ(a.limit, 2'000'000);
  a = parse_assertion("ok>0");
  EXPECT_EQ(a.op, Assertion::Op::gt);

  for (const char* bad : {"", "p99", "p98<=5ms", "p99<=50", "errors=0.5", "errors=1ms", "rate>=fast", "rx1>=150%",
                          "<=5ms", "error_rate<=5ms"}) {
    EXPECT_THROW(parse_assertion(bad), std::invalid_argument) << bad;
  }
  const std::string e = error_of([] { (void)parse_assertion("p99<=50"); });
  EXPECT_NE(e.find("latency"), std::string::npos) << e;
  EXPECT_NE(e.find("\"50\""), std::string::npos) << e;
}

TEST(LoadSpec, MetricsAreFormattedInTheirUnit) {
  EXPECT_EQ(format_metric(Assertion::Metric::p99, 12'300), "12.3 ms");
  EXPECT_EQ(format_metric(Assertion::Metric::rate, 1520), "1520.0/s");
  EXPECT_EQ(format_metric(Assertion::Metric::error_rate, 0.002), "0.2%");
  EXPECT_EQ(format_metric(Assertion::Metric::errors, 3), "3");
}

}  // namespace
