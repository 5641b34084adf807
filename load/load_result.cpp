#include "load/load_result.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "conformance/json_reader.hpp"

namespace joincheck::load {

namespace {

using ojson = nlohmann::ordered_json;
// Reports are read in the order they were written, so that settings keep their order.
using json = nlohmann::ordered_json;

double percentile_of(const LatencyHistogram& h, double p) {
  return static_cast<double>(h.value_at_percentile(p));
}

ojson latency_json(const LatencyHistogram& h) {
  ojson j = ojson::object();
  j["count"] = h.count();
  if (h.count() > 0) {
    j["min_us"] = h.min();
    j["p50_us"] = h.value_at_percentile(50);
    j["p90_us"] = h.value_at_percentile(90);
    j["p99_us"] = h.value_at_percentile(99);
    j["p99.9_us"] = h.value_at_percentile(99.9);
    j["max_us"] = h.max();
    j["mean_us"] = std::round(h.mean() * 10) / 10;
  }
  j["histogram"] = h.to_json();
  return j;
}

using Reader = conformance::JsonReader;

}  // namespace

void merge(LoadResult& into, const LoadResult& other) {
  const auto mode_of = [](const LoadResult& r) {
    const auto it = r.settings.find("mode");
    return it != r.settings.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!into.processes.empty() && mode_of(into) != mode_of(other)) {
    throw std::invalid_argument("cannot merge a " + mode_of(other) + " run into a " + mode_of(into) +
                                " run: shards of one load test share their mode");
  }
  // One report per shard of one split: the same shard twice (a report given twice) or shards
  // of different splits would count devices twice.
  const auto shard_of = [](const nlohmann::ordered_json& process) {
    const auto it = process.find("shard");
    return it != process.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const auto count_of = [](const std::string& shard) { return shard.substr(shard.find('/') + 1); };
  for (const auto& p : other.processes) {
    const std::string shard = shard_of(p);
    for (const auto& q : into.processes) {
      const std::string mine = shard_of(q);
      if (shard.empty() || mine.empty()) continue;
      if (mine == shard) {
        throw std::invalid_argument("shard " + shard + " is in two reports: merge one report per shard");
      }
      if (count_of(mine) != count_of(shard)) {
        throw std::invalid_argument("shard " + shard + " and shard " + mine +
                                    " belong to different splits: merge the shards of one --shard K/N run");
      }
    }
  }
  if (other.storm && into.storm &&
      (other.storm->rx1_deadline_us != into.storm->rx1_deadline_us ||
       other.storm->rx2_deadline_us != into.storm->rx2_deadline_us)) {
    throw std::invalid_argument("the shards judged the storm by different --rx1/--rx2 deadlines");
  }
  if (into.processes.empty()) into.settings = other.settings;
  into.latency.merge(other.latency);  // throws first on a layout mismatch: nothing changed yet
  for (const auto& p : other.processes) into.processes.push_back(p);
  into.elapsed_s = std::max(into.elapsed_s, other.elapsed_s);
  into.sent += other.sent;
  into.ok += other.ok;
  into.errors += other.errors;
  for (const auto& [name, e] : other.error_classes) {
    ErrorClass& mine = into.error_classes[name];
    mine.count += e.count;
    if (mine.example.empty()) mine.example = e.example;
  }
  for (const auto& [check, n] : other.warnings) into.warnings[check] += n;
  for (const auto& [kind, n] : other.requests) {
    RequestCount& mine = into.requests[kind];
    mine.sent += n.sent;
    mine.ok += n.ok;
    mine.asked = std::max(mine.asked, n.asked);  // the same --mix in every shard
  }
  if (into.series.size() < other.series.size()) into.series.resize(other.series.size());
  for (std::size_t i = 0; i < other.series.size(); ++i) {
    SecondSample& s = into.series[i];
    s.sent += other.series[i].sent;
    s.ok += other.series[i].ok;
    s.errors += other.series[i].errors;
    s.latency.merge(other.series[i].latency);
  }
  if (other.storm) {
    if (!into.storm) {
      into.storm = other.storm;
    } else {
      StormOutcome& s = *into.storm;
      s.devices += other.storm->devices;
      s.answered += other.storm->answered;
      s.within_rx1 += other.storm->within_rx1;
      s.within_rx2 += other.storm->within_rx2;
      s.within_us = std::max(s.within_us, other.storm->within_us);
    }
  }
  into.devices += other.devices;
  into.devices_exhausted += other.devices_exhausted;
  if (into.stopped.empty()) into.stopped = other.stopped;
  if (into.setup_error.empty()) into.setup_error = other.setup_error;
}

std::string missing_shards(const LoadResult& result) {
  std::uint32_t count = 0;
  std::vector<bool> present;
  for (const auto& p : result.processes) {
    const auto it = p.find("shard");
    if (it == p.end() || !it->is_string()) return "a process without its shard";
    ShardSpec shard;
    try {
      shard = parse_shard(it->get<std::string>());
    } catch (const std::invalid_argument&) {
      return "a process with the shard \"" + it->get<std::string>() + "\"";
    }
    if (count == 0) {
      count = shard.count;
      present.assign(count, false);
    }
    if (shard.count == count) present[shard.index - 1] = true;
  }
  std::string missing;
  for (std::uint32_t k = 1; k <= count; ++k) {
    if (present[k - 1]) continue;
    missing += (missing.empty() ? "" : ", ") + std::to_string(k) + "/" + std::to_string(count);
  }
  if (count == 0) return "no process";
  return missing.empty() ? "" : "shard(s) " + missing + " missing";
}

std::optional<double> measured(const LoadResult& r, Assertion::Metric metric) {
  using M = Assertion::Metric;
  const bool any = r.latency.count() > 0;
  switch (metric) {
    case M::p50: return any ? std::optional(percentile_of(r.latency, 50)) : std::nullopt;
    case M::p90: return any ? std::optional(percentile_of(r.latency, 90)) : std::nullopt;
    case M::p99: return any ? std::optional(percentile_of(r.latency, 99)) : std::nullopt;
    case M::p999: return any ? std::optional(percentile_of(r.latency, 99.9)) : std::nullopt;
    case M::max: return any ? std::optional(static_cast<double>(r.latency.max())) : std::nullopt;
    case M::mean: return any ? std::optional(r.latency.mean()) : std::nullopt;
    case M::rate:
      return r.elapsed_s > 0 ? std::optional(static_cast<double>(r.ok) / r.elapsed_s) : std::nullopt;
    case M::errors: return static_cast<double>(r.errors);
    case M::error_rate:
      return r.sent > 0 ? std::optional(static_cast<double>(r.errors) / static_cast<double>(r.sent)) : std::nullopt;
    case M::ok: return static_cast<double>(r.ok);
    case M::rx1:
      if (!r.storm || r.storm->devices == 0) return std::nullopt;
      return static_cast<double>(r.storm->within_rx1) / static_cast<double>(r.storm->devices);
    case M::rx2:
      if (!r.storm || r.storm->devices == 0) return std::nullopt;
      return static_cast<double>(r.storm->within_rx2) / static_cast<double>(r.storm->devices);
  }
  return std::nullopt;
}

std::vector<AssertionOutcome> judge(const LoadResult& r, const std::vector<Assertion>& assertions) {
  std::vector<AssertionOutcome> out;
  std::vector<Assertion> all = assertions;
  // Errors (wrong answers among them) fail the run unless the user said how many are fine.
  const bool errors_asserted = std::any_of(all.begin(), all.end(), [](const Assertion& a) {
    return a.metric == Assertion::Metric::errors || a.metric == Assertion::Metric::error_rate;
  });
  const std::size_t given = all.size();
  if (!errors_asserted) all.push_back(parse_assertion("errors=0"));
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Assertion& a = all[i];
    AssertionOutcome o;
    o.assertion = a;
    o.implicit = i >= given;
    o.value = measured(r, a.metric);
    const std::string name(to_string(a.metric));
    const std::string expected = std::string(to_string(a.op)) + " " + format_metric(a.metric, a.limit);
    if (!o.value) {
      o.passed = false;
      o.message = name + ": nothing measured (" +
                  (a.metric == Assertion::Metric::rx1 || a.metric == Assertion::Metric::rx2
                       ? std::string("only a --storm run measures it")
                       : std::string("no answer to measure")) +
                  "), expected " + expected;
    } else {
      o.passed = a.holds(*o.value);
      o.message = name + " = " + format_metric(a.metric, *o.value) + ", expected " + expected;
    }
    out.push_back(std::move(o));
  }
  if ((!r.setup_error.empty() || !r.stopped.empty()) && r.ok > 0) {
    // Part of the run was measured, but not all of it (a harness failure, Ctrl-C, a pod
    // stopped): what was asked for was not tested.
    AssertionOutcome o;
    o.assertion = parse_assertion("errors=0");
    o.assertion.text = "the run completed";
    o.implicit = true;
    o.passed = false;
    o.message = !r.setup_error.empty() ? r.setup_error : "the run ended early: " + r.stopped;
    out.push_back(std::move(o));
  }
  for (const auto& [kind, n] : r.requests) {
    if (n.asked <= 0 || r.ok == 0) continue;  // nothing verified at all: the "ok>0" outcome says it
    const double owed = n.asked * static_cast<double>(r.sent);
    const double share = r.sent > 0 ? static_cast<double>(n.sent) / static_cast<double>(r.sent) : 0.0;
    AssertionOutcome o;
    o.assertion = parse_assertion("ok>0");
    o.implicit = true;
    o.passed = false;
    if (n.ok == 0) {
      // --mix asked for this kind and none was verified: the run did not test what was asked.
      o.assertion.text = kind + " verified";
      o.value = 0;
      o.message = "no " + kind + " was answered and verified (" + std::to_string(n.sent) + " sent)";
      if (n.sent == 0 && owed < 1) {
        o.message += ": " + format_metric(Assertion::Metric::error_rate, n.asked) + " of " + std::to_string(r.sent) +
                     " requests is less than one; ask for a larger share or send more requests";
      } else if (n.sent == 0) {
        o.message += ": no device could send one (a LoRaWAN 1.1 device rejoins only once joined with OptNeg, "
                     "LoRaWAN 1.1 §6.2.4.1)";
      }
      out.push_back(std::move(o));
    } else if (share < n.asked / 2) {
      // Far fewer than asked: too few devices could rejoin when one was due (few LoRaWAN 1.1
      // devices, all of them busy, or a --threads lane without any).
      o.assertion.text = kind + " share";
      o.value = share;
      o.message = kind + " were " + format_metric(Assertion::Metric::error_rate, share) + " of the requests, " +
                  format_metric(Assertion::Metric::error_rate, n.asked) +
                  " asked (--mix): too few LoRaWAN 1.1 devices with an OptNeg session were free when one was due; "
                  "give more of them (or fewer --threads), or ask for a smaller share";
      out.push_back(std::move(o));
    }
  }
  if (r.ok == 0) {
    AssertionOutcome o;
    o.assertion = parse_assertion("ok>0");
    o.implicit = true;
    o.value = 0;
    o.passed = false;
    o.message = "no join was answered and verified: nothing was measured" +
                (r.setup_error.empty() ? std::string() : " (" + r.setup_error + ")");
    out.push_back(std::move(o));
  }
  return out;
}

ojson to_json(const LoadResult& r, const std::vector<AssertionOutcome>& outcomes) {
  ojson j = ojson::object();
  j["command"] = "load";
  j["settings"] = r.settings;
  j["processes"] = r.processes;
  j["elapsed_s"] = std::round(r.elapsed_s * 1000) / 1000;
  const double rate = r.elapsed_s > 0 ? static_cast<double>(r.ok) / r.elapsed_s : 0.0;
  j["totals"] = {{"sent", r.sent}, {"ok", r.ok}, {"errors", r.errors}, {"rate", std::round(rate * 10) / 10}};
  j["devices"] = {{"used", r.devices}, {"exhausted", r.devices_exhausted}};
  j["latency"] = latency_json(r.latency);
  ojson errors = ojson::object();
  for (const auto& [name, e] : r.error_classes) errors[name] = {{"count", e.count}, {"example", e.example}};
  j["errors"] = errors;
  ojson requests = ojson::object();
  for (const auto& [kind, n] : r.requests) {
    requests[kind] = {{"sent", n.sent}, {"ok", n.ok}};
    if (n.asked > 0) requests[kind]["asked"] = n.asked;
  }
  j["requests"] = requests;
  ojson warnings = ojson::object();
  for (const auto& [check, n] : r.warnings) warnings[check] = n;
  j["warnings"] = warnings;
  if (r.storm) {
    const StormOutcome& s = *r.storm;
    j["storm"] = {{"devices", s.devices},         {"within_us", s.within_us},
                  {"rx1_deadline_us", s.rx1_deadline_us}, {"rx2_deadline_us", s.rx2_deadline_us},
                  {"answered", s.answered},       {"within_rx1", s.within_rx1},
                  {"within_rx2", s.within_rx2}};
  }
  ojson series = ojson::array();
  for (std::size_t i = 0; i < r.series.size(); ++i) {
    const SecondSample& s = r.series[i];
    ojson e = {{"second", i}, {"sent", s.sent}, {"ok", s.ok}, {"errors", s.errors}};
    if (s.latency.count() > 0) {
      e["p50_us"] = s.latency.value_at_percentile(50);
      e["p99_us"] = s.latency.value_at_percentile(99);
      e["max_us"] = s.latency.max();
    }
    e["histogram"] = s.latency.to_json();
    series.push_back(std::move(e));
  }
  j["series"] = series;
  if (!r.stopped.empty()) j["stopped"] = r.stopped;
  if (!r.setup_error.empty()) j["setup_error"] = r.setup_error;
  ojson asserted = ojson::array();
  bool passed = !outcomes.empty();
  for (const AssertionOutcome& o : outcomes) {
    ojson a = {{"assert", o.assertion.text},
               {"metric", std::string(to_string(o.assertion.metric))},
               {"op", std::string(to_string(o.assertion.op))},
               {"limit", o.assertion.limit}};
    a["value"] = o.value ? ojson(*o.value) : ojson(nullptr);
    a["passed"] = o.passed;
    a["implicit"] = o.implicit;
    a["message"] = o.message;
    asserted.push_back(std::move(a));
    passed = passed && o.passed;
  }
  j["assertions"] = asserted;
  j["passed"] = passed;
  return j;
}

LoadResult load_result_from_json(const json& document, std::string_view where_text) {
  const std::string where(where_text);
  const Reader top(document, where);
  if (top.text("command") != "load") {
    top.fail("command", "\"load\" (a report of joincheck load)", "\"" + top.text("command") + "\"");
  }
  LoadResult r;
  r.settings = top.object("settings");
  r.processes = top.array("processes");
  r.elapsed_s = top.number("elapsed_s");
  const Reader totals(top.object("totals"), top.where("totals"));
  r.sent = totals.count("sent");
  r.ok = totals.count("ok");
  r.errors = totals.count("errors");
  const Reader devices(top.object("devices"), top.where("devices"));
  r.devices = devices.count("used");
  r.devices_exhausted = devices.count("exhausted");
  const Reader latency(top.object("latency"), top.where("latency"));
  r.latency = LatencyHistogram::from_json(nlohmann::json(latency.object("histogram")), latency.where("histogram"));
  if (r.latency.count() != latency.count("count")) {
    latency.fail("count", std::to_string(r.latency.count()) + " (the histogram's)", std::to_string(latency.count("count")));
  }
  std::uint64_t classified = 0;
  for (const auto& [name, e] : top.object("errors").items()) {
    const Reader er(e, top.where("errors") + "." + name);
    ErrorClass c;
    c.count = er.count("count");
    c.example = er.text("example");
    classified += c.count;
    r.error_classes[name] = c;
  }
  if (classified != r.errors) {
    totals.fail("errors", std::to_string(classified) + " (the sum of the error classes)", std::to_string(r.errors));
  }
  if (top.find("requests") != nullptr) {
    RequestCount sum;
    for (const auto& [kind, n] : top.object("requests").items()) {
      const Reader k(n, top.where("requests") + "." + kind);
      RequestCount c{k.count("sent"), k.count("ok"), k.find("asked") != nullptr ? k.number("asked") : 0.0};
      if (c.asked > 1) k.fail("asked", "a share from 0 to 1", std::to_string(c.asked));
      if (c.ok > c.sent) k.fail("ok", "at most sent (" + std::to_string(c.sent) + ")", std::to_string(c.ok));
      sum.sent += c.sent;
      sum.ok += c.ok;
      r.requests[kind] = c;
    }
    if (sum.sent != r.sent) totals.fail("sent", std::to_string(sum.sent) + " (the sum of requests)", std::to_string(r.sent));
    if (sum.ok != r.ok) totals.fail("ok", std::to_string(sum.ok) + " (the sum of requests)", std::to_string(r.ok));
  } else if (r.sent > 0) {
    r.requests["JoinReq"] = {r.sent, r.ok};  // a report from before --mix: JoinReqs only
  }
  for (const auto& [check, n] : top.object("warnings").items()) {
    if (!n.is_number_integer() || n.get<std::int64_t>() < 0) top.fail("warnings." + check, "a whole number >= 0", Reader::type_of(n));
    r.warnings[check] = n.get<std::uint64_t>();
  }
  if (const json* s = top.find("storm")) {
    const Reader st(*s, top.where("storm"));
    StormOutcome o;
    o.devices = st.count("devices");
    o.within_us = st.integer("within_us");
    o.rx1_deadline_us = st.integer("rx1_deadline_us");
    o.rx2_deadline_us = st.integer("rx2_deadline_us");
    o.answered = st.count("answered");
    o.within_rx1 = st.count("within_rx1");
    o.within_rx2 = st.count("within_rx2");
    r.storm = o;
  }
  const json& series = top.array("series");
  for (std::size_t i = 0; i < series.size(); ++i) {
    const std::string at = top.where("series") + "[" + std::to_string(i) + "]";
    const Reader sr(series[i], at);
    if (sr.count("second") != i) sr.fail("second", std::to_string(i) + " (seconds in order)", std::to_string(sr.count("second")));
    SecondSample s;
    s.sent = sr.count("sent");
    s.ok = sr.count("ok");
    s.errors = sr.count("errors");
    s.latency = LatencyHistogram::from_json(nlohmann::json(sr.object("histogram")), sr.where("histogram"));
    r.series.push_back(std::move(s));
  }
  if (const json* s = top.find("stopped"); s != nullptr) r.stopped = top.text("stopped");
  if (const json* s = top.find("setup_error"); s != nullptr) r.setup_error = top.text("setup_error");
  return r;
}

std::vector<Assertion> assertions_from_json(const json& document, std::string_view where_text) {
  const Reader top(document, std::string(where_text));
  std::vector<Assertion> out;
  const json& list = top.array("assertions");
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Reader a(list[i], top.where("assertions") + "[" + std::to_string(i) + "]");
    const json* implicit = a.find("implicit");
    if (implicit != nullptr && implicit->is_boolean() && implicit->get<bool>()) continue;
    try {
      out.push_back(parse_assertion(a.text("assert")));
    } catch (const std::invalid_argument& e) {
      a.fail("assert", "an assertion", std::string("\"") + a.text("assert") + "\" (" + e.what() + ")");
    }
  }
  return out;
}

}  // namespace joincheck::load
