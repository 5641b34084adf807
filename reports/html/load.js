// The HTML report of `joincheck load` (and of `joincheck report merge`): renderers.load draws the
// load JSON report (load/load_result.hpp, to_json) with the DOM only, its plots as inline SVG.
// Inlined after report.js, whose helpers (el, svg, badge, kvTable, header, banner) it uses.
"use strict";

// ---- numbers ----

function countText(n) {
  return typeof n === "number" && isFinite(n) ? n.toLocaleString("en-US") : "\u2013";
}

// Microseconds shown in milliseconds, about 3 significant digits.
function msOfUs(us, unit = true) {
  if (typeof us !== "number" || !isFinite(us)) return "\u2013";
  const v = us / 1000;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
  return v.toFixed(digits) + (unit ? " ms" : "");
}

function secondsOfUs(us) {
  if (typeof us !== "number" || !isFinite(us)) return "\u2013";
  const s = us / 1e6;
  return (Number.isInteger(s) ? s : Number(s.toPrecision(3))) + " s";
}

function percent(part, whole) { return whole > 0 ? (100 * part / whole).toFixed(1) + "%" : "\u2013"; }

// A short number for an axis: 1 200 000 as "1.2M", 0.25 as "0.25".
function tickText(v) {
  const a = Math.abs(v);
  const trim = x => String(Number(x.toPrecision(3)));
  if (a >= 1e6) return trim(v / 1e6) + "M";
  if (a >= 1e4) return trim(v / 1e3) + "k";
  return trim(v);
}

// ---- the histogram's layout (load/histogram.hpp) ----

// The values [low, high] (µs) a counter index of the JSON histogram stands for: HdrHistogram's
// layout with the lowest discernible value 1 µs, as LatencyHistogram::value_from_index and
// counter_width compute them.
function counterRange(histogram) {
  const subBucketCount = 2 ** Math.ceil(Math.log2(2 * 10 ** histogram.significant_digits));
  const half = subBucketCount / 2;
  return index => {
    if (index < subBucketCount) return [index, index];  // bucket 0: one value per counter
    const bucket = Math.floor((index - subBucketCount) / half) + 1;
    const low = ((index - subBucketCount) % half + half) * 2 ** bucket;
    return [low, low + 2 ** bucket - 1];
  };
}

// ---- plots ----

const PLOT = {W: 1000, H: 300, left: 74, right: 18, top: 40, bottom: 50};
const DOTS_AT_MOST = 300;  // points of a series drawn as dots too (a dot is 5 px wide)

// 1, 2 or 5 times a power of ten: the one at or below v (down) or at or above it (up).
function niceStep(v, up) {
  const e = Math.floor(Math.log10(v));
  const m = v / 10 ** e;
  const steps = up ? [1, 2, 5, 10] : [10, 5, 2, 1];
  const s = up ? steps.find(x => m <= x * (1 + 1e-9)) : steps.find(x => m >= x * (1 - 1e-9));
  return s * 10 ** e;
}

// An axis from pixel `a` (its lowest value) to pixel `b`: linear from `from` (0 unless told), or
// logarithmic with 1-2-5 ticks (values must then be > 0). `integer`: no tick between integers;
// `exact`: the axis ends at the highest value (else at the tick above it); `hi`: at least this.
function makeAxis(values, a, b, {log = false, from = 0, integer = false, exact = false, hi: atLeast = 0} = {}) {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (isFinite(v) && (!log || v > 0)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  hi = Math.max(hi, atLeast);
  if (log) {
    if (!isFinite(lo)) { lo = 1; hi = 10; }
    lo = niceStep(lo, false);
    hi = niceStep(hi, true);
    if (hi <= lo) hi = niceStep(lo * 1.5, true);
    let ticks = [];
    for (let e = Math.floor(Math.log10(lo)); 10 ** e <= hi * (1 + 1e-9); ++e) {
      for (const m of [1, 2, 5]) {
        const t = m * 10 ** e;
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) ticks.push(t);
      }
    }
    if (ticks.length > 10) ticks = ticks.filter(t => Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9);
    const span = Math.log10(hi) - Math.log10(lo);
    return {log, lo, hi, ticks, pos: v => a + (b - a) * (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span};
  }
  lo = Math.min(from, isFinite(lo) ? lo : from);
  if (!(hi > lo)) hi = lo + 1;
  let step = niceStep((hi - lo) / 5, true);
  if (integer) step = Math.max(1, Math.round(step));
  if (!exact) hi = lo + Math.ceil((hi - lo) / step - 1e-9) * step;  // exact: ends at the highest value
  const ticks = [];
  for (let t = lo; t <= hi + step / 1e6; t += step) ticks.push(Number(t.toPrecision(12)));
  return {log, lo, hi, ticks, pos: v => a + (b - a) * (v - lo) / (hi - lo)};
}

// An empty plot: its frame, axes and labels; the caller draws into it with x.pos and y.pos.
function plotFrame(cls, label, x, y, xTitle, yTitle, {xText = tickText, yText = tickText} = {}) {
  const {W, H, left, right, top, bottom} = PLOT;
  const chart = svg("svg", {viewBox: "0 0 " + W + " " + H, class: "plot " + cls, role: "img", "aria-label": label});
  for (const t of y.ticks) {
    const py = y.pos(t);
    chart.append(svg("line", {x1: left, x2: W - right, y1: py, y2: py, class: "grid"}),
                 svg("text", {x: left - 6, y: py + 4, "text-anchor": "end"}, yText(t)));
  }
  for (const t of x.ticks) {
    const px = x.pos(t);
    chart.append(svg("line", {x1: px, x2: px, y1: H - bottom, y2: H - bottom + 5, class: "axis"}),
                 svg("text", {x: px, y: H - bottom + 18, "text-anchor": "middle"}, xText(t)));
  }
  chart.append(svg("line", {x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, class: "axis"}),
               svg("line", {x1: left, x2: left, y1: top, y2: H - bottom, class: "axis"}),
               svg("text", {x: (left + W - right) / 2, y: H - 8, "text-anchor": "middle", class: "axis-title"}, xTitle),
               svg("text", {x: 16, y: (top + H - bottom) / 2, "text-anchor": "middle", class: "axis-title",
                            transform: "rotate(-90 16 " + (top + H - bottom) / 2 + ")"}, yTitle));
  return chart;
}

// The plot's series names, each after a sample of its line, above the plot from its left edge.
function legend(chart, items) {
  let x = PLOT.left;
  for (const [name, cls] of items) {
    chart.append(svg("line", {x1: x, x2: x + 22, y1: 14, y2: 14, class: "line " + cls}),
                 svg("text", {x: x + 28, y: 18}, name));
    x += 28 + name.length * 7 + 24;  // a generous width per character: never overlaps
  }
}

function noData(chart, why) {
  chart.append(svg("text", {x: (PLOT.left + PLOT.W - PLOT.right) / 2, y: (PLOT.top + PLOT.H - PLOT.bottom) / 2,
                            "text-anchor": "middle", class: "nodata"}, "no data: " + why));
}

// Lines through [x, y, tooltip] points, broken where a point is null; a dot with its tooltip on
// every point (so a series of one point shows) unless there are too many to tell apart. Returns
// how many points it drew.
function drawSeries(chart, x, y, points, cls) {
  let d = "";
  let pen = "M";
  let drawn = 0;
  const dots = svg("g", {class: "dots " + cls});
  const n = points.filter(p => p !== null).length;
  const few = n < 4;  // larger dots where there are no lines to see
  const dotted = n <= DOTS_AT_MOST;
  for (const p of points) {
    if (p === null) { pen = "M"; continue; }
    const [px, py] = [x.pos(p[0]), y.pos(p[1])];
    d += pen + px.toFixed(1) + " " + py.toFixed(1) + " ";
    pen = "L";
    if (dotted) dots.append(svg("circle", {cx: px.toFixed(1), cy: py.toFixed(1), r: few ? 4 : 2.6}, svg("title", {}, p[2])));
    ++drawn;
  }
  if (d) chart.append(svg("path", {d, class: "line " + cls}));
  chart.append(dots);
  return drawn;
}

// Seconds since the start, to the end of the run (or of its last second, if later).
function timeAxis(data) {
  const series = data.series || [];
  const end = Math.max(data.elapsed_s || 0, series.length ? series.length - 1 + coverage(data, series.length - 1) : 0, 1);
  return makeAxis([0, end], PLOT.left, PLOT.W - PLOT.right, {integer: true, exact: true});
}

// Second i of the series covers [i, i + coverage] of the run: the last one is usually cut short
// by the end (elapsed_s 3.007: second 3 lasted 7 ms).
function coverage(data, i) {
  const elapsed = data.elapsed_s;
  if (!(elapsed > 0) || i + 1 <= elapsed) return 1;
  return elapsed > i ? elapsed - i : 1;  // an answer after the end (a merged shard): a whole second
}

function plotBox(id, title, chart, caption) {
  return el("figure", {class: "plotbox", id}, el("figcaption", {}, title), chart,
            caption ? el("p", {class: "muted"}, caption) : null);
}

// (a) p50, p99 and max latency of each second.
function latencyOverTime(data) {
  const series = data.series || [];
  const lines = [["max", "max_us", "s-max"], ["p99", "p99_us", "s-p99"], ["p50", "p50_us", "s-p50"]];
  const at = s => s.second + coverage(data, s.second) / 2;
  const values = [];
  for (const s of series) for (const [, key] of lines) if (typeof s[key] === "number") values.push(s[key] / 1000);
  const positive = values.filter(v => v > 0);
  const log = positive.length > 0 && Math.max(...positive) / Math.min(...positive) > 10;  // p50 and max apart
  const {W, H, left, right, top, bottom} = PLOT;
  const x = timeAxis(data);
  const y = makeAxis(values, H - bottom, top, {log});
  if (!values.length) y.ticks = [];  // no scale to show
  const chart = plotFrame("plot-latency", "latency per second: p50, p99 and max", x, y, "time since the start (s)",
                          "latency (ms" + (log ? ", log scale" : "") + ")");
  let drawn = 0;
  if (values.length === 0) {
    noData(chart, "no answer was timed");
  } else {
    for (const [name, key, cls] of lines) {
      drawn += drawSeries(chart, x, y, series.map(s => typeof s[key] === "number"
        ? [at(s), Math.max(s[key] / 1000, log ? y.lo : 0), "second " + s.second + ": " + name + " " + msOfUs(s[key])] : null), cls);
    }
    legend(chart, lines.map(([name, , cls]) => [name, cls]).reverse());  // p50 first
  }
  chart.setAttribute("data-points", drawn);
  return plotBox("plot-latency", "Latency per second", chart,
                 "each second's p50, p99 and max of the answers timed in it (2 significant digits); a gap: a second without answers");
}

// (b) the whole run's latency histogram: the counters grouped into bins of equal width on a log
// scale, with the percentiles marked.
function latencyHistogram(data) {
  const latency = data.latency || {};
  const h = latency.histogram || {buckets: []};
  const range = counterRange(h);
  const counters = (h.buckets || []).map(([index, count]) => [...range(index), count]);
  const {W, H, left, right, top, bottom} = PLOT;
  let lo = 1, hi = 10;
  if (counters.length) {
    lo = Math.max(1, Math.min(counters[0][0], h.min));
    hi = Math.max(lo, Math.min(counters[counters.length - 1][1], h.max));
  }
  if (hi / lo < 1.5) { lo = Math.max(1, lo / 1.25); hi = hi * 1.25; }
  const x = makeAxis([lo / 1000, hi / 1000], left, W - right, {log: true});
  const perDecade = 25;
  const bins = Math.min(200, Math.max(12, Math.ceil((Math.log10(x.hi) - Math.log10(x.lo)) * perDecade)));
  const step = (Math.log10(x.hi) - Math.log10(x.lo)) / bins;
  const edge = k => 10 ** (Math.log10(x.lo) + k * step);  // ms
  const counts = new Array(bins).fill(0);
  let total = 0;
  for (const [low, high, count] of counters) {
    const mid = Math.min(Math.max((low + high) / 2, h.min), h.max) / 1000;
    const k = Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(Math.max(mid, x.lo)) - Math.log10(x.lo)) / step)));
    counts[k] += count;
    total += count;
  }
  const y = makeAxis(counts, H - bottom, top);
  if (total === 0) x.ticks = y.ticks = [];  // no scale to show
  const chart = plotFrame("plot-histogram", "latency histogram of the run", x, y, "latency (ms, log scale)",
                          "answers per bin", {xText: v => String(Number(v.toPrecision(3)))});
  let drawn = 0;
  if (total === 0) {
    noData(chart, "no answer was timed");
  } else {
    counts.forEach((n, k) => {
      if (n === 0) return;
      const x0 = x.pos(edge(k)), x1 = x.pos(edge(k + 1));
      const barTop = Math.min(y.pos(n), y.pos(0) - 2);  // the smallest bin still shows
      chart.append(svg("rect", {x: x0.toFixed(1), y: barTop.toFixed(1), width: Math.max(0.5, x1 - x0 - 0.6).toFixed(1),
                                height: (y.pos(0) - barTop).toFixed(1), class: "bin"},
                       svg("title", {}, msOfUs(edge(k) * 1000, false) + "\u2013" + msOfUs(edge(k + 1) * 1000) + ": " +
                                        countText(n) + " answers (" + percent(n, total) + ")")));
      ++drawn;
    });
    const marks = [["p50", "p50_us"], ["p90", "p90_us"], ["p99", "p99_us"], ["p99.9", "p99.9_us"]]
      .filter(([, key]) => typeof latency[key] === "number");
    // Each label on the first of three rows above the plot where it overlaps no other.
    const rowEnds = [-Infinity, -Infinity, -Infinity];
    const labels = [];  // drawn after every line, on a halo, so that no line crosses a label's text
    for (const [name, key] of marks) {
      const px = x.pos(Math.max(latency[key] / 1000, x.lo));
      const text = name;  // its value is in the table above, and in the line's tooltip
      const width = text.length * 6.5 + 10;
      const flip = px + width > W - right;  // the label left of its line near the right edge
      const [x0, x1] = flip ? [px - width, px] : [px, px + width];
      let row = rowEnds.findIndex(end => end < x0);
      if (row < 0) row = rowEnds.indexOf(Math.min(...rowEnds));
      rowEnds[row] = x1;
      const ty = 12 + 12 * row;
      chart.append(svg("line", {x1: px, x2: px, y1: ty + 2, y2: H - bottom, class: "mark"},
                       svg("title", {}, name + " " + msOfUs(latency[key]))));
      labels.push(svg("text", {x: flip ? px - 3 : px + 3, y: ty, class: "mark-label", "text-anchor": flip ? "end" : "start"},
                      text));
    }
    chart.append(...labels);
  }
  chart.setAttribute("data-points", drawn);
  chart.setAttribute("data-count", total);
  if (counters.length) {
    chart.setAttribute("data-min-us", counters[0][0]);
    chart.setAttribute("data-max-us", counters[counters.length - 1][1]);
  }
  const saturated = h.saturated > 0 ? "; " + countText(h.saturated) + " answers above " + msOfUs(h.highest_trackable) +
                                      " counted at it" : "";
  return plotBox("plot-histogram", "Latency distribution", chart,
                 "every timed answer of the run in " + perDecade + " bins per decade (the histogram's counters, " +
                 h.significant_digits + " significant digits, grouped by their middle value); dashed: the percentiles of the table above" +
                 saturated);
}

// (c) verified answers, errors and JoinReqs sent per second.
function ratePlot(data) {
  const series = data.series || [];
  const skipped = [];
  const per = [];
  for (const s of series) {
    const c = coverage(data, s.second);
    if (c < 0.25 && series.length > 1) {
      skipped.push("second " + s.second + " lasted " + secondsOfUs(c * 1e6) + " (" + countText(s.ok) + " verified, " +
                   countText(s.errors) + " errors)");
      per.push(null);
    } else {
      per.push({at: s.second + c / 2, c, s});
    }
  }
  const lines = [["verified (ok)", "ok", "s-ok"], ["errors", "errors", "s-errors"], ["sent", "sent", "s-sent"]];
  const values = per.filter(p => p).flatMap(p => lines.map(([, key]) => p.s[key] / p.c));
  const {W, H, left, right, top, bottom} = PLOT;
  const x = timeAxis(data);
  const y = makeAxis(values, H - bottom, top);
  if (!values.length) y.ticks = [];  // no scale to show
  const chart = plotFrame("plot-rate", "verified answers and errors per second", x, y, "time since the start (s)",
                          "per second");
  let drawn = 0;
  if (values.length === 0) {
    noData(chart, "no second was recorded");
  } else {
    for (const [name, key, cls] of lines) {
      drawn += drawSeries(chart, x, y, per.map(p => p && [p.at, p.s[key] / p.c, "second " + p.s.second + ": " +
        countText(p.s[key]) + " " + name + (p.c < 1 ? " in " + secondsOfUs(p.c * 1e6) : "")]), cls);
    }
    legend(chart, lines.map(([name, , cls]) => [name, cls]));
  }
  chart.setAttribute("data-points", drawn);
  return plotBox("plot-rate", "Throughput per second", chart,
                 "requests sent, answers verified and errors in each second (a partial last second as its rate)" +
                 (skipped.length ? "; not drawn, too short to be a rate: " + skipped.join(", ") : ""));
}

// ---- sections ----

function loadHeader(data) {
  const s = data.settings || {};
  const conns = typeof s.connections === "number" ? s.connections + (s.connections === 1 ? " connection" : " connections") : "";
  let mode = s.mode || "?";
  const duration = typeof s.duration_us === "number" ? secondsOfUs(s.duration_us) : "";
  const mix = s.mix ? "mix " + s.mix : "";
  if (s.mode === "open") mode = ["open loop", s.rate + " requests/s", mix, conns, duration];
  else if (s.mode === "closed") mode = ["closed loop (--max)", mix, conns, duration];
  else if (s.mode === "storm" && s.storm) mode = ["storm", countText(s.storm.devices) + " devices within " + secondsOfUs(s.storm.within_us), conns];
  if (Array.isArray(mode)) mode = mode.filter(Boolean).join(", ");
  const processes = data.processes || [];
  const started = processes.map(p => p.started).filter(Boolean).sort()[0];
  return header(data, "joincheck load: " + (s.target || "?"), [
    ["mode", mode], ["profile", s.profile], ["shards", processes.length ? String(processes.length) : ""],
    ["started", started], ["elapsed", typeof data.elapsed_s === "number" ? data.elapsed_s + " s" : ""]]);
}

function verdictAndTotals(root, data) {
  const assertions = data.assertions || [];
  const failed = assertions.filter(a => !a.passed).length;
  root.append(el("div", {class: "load-verdict " + (data.passed ? "passed" : "failed"), id: "verdict", "data-passed": String(!!data.passed)},
                 badge(data.passed ? "pass" : "fail"),
                 data.passed ? " every assertion holds (" + assertions.length + ")"
                             : " " + failed + " of " + assertions.length + " assertions failed"));
  const t = data.totals || {};
  const box = el("div", {class: "totals", id: "totals"});
  const total = (key, value, label, text = countText(value), cls = "") =>
    box.append(el("div", {class: "total " + cls, "data-total": key, "data-value": value}, el("b", {}, text), label));
  const mixed = Object.keys(data.requests || {}).length > 1;
  total("sent", t.sent, mixed ? "requests sent" : "JoinReqs sent");
  total("ok", t.ok, "verified");
  total("errors", t.errors, "errors", undefined, t.errors > 0 ? "bad" : "");
  total("rate", t.rate, "verified joins/s", typeof t.rate === "number" ? t.rate.toFixed(1) : "\u2013");
  if (data.devices) total("devices", data.devices.used, "devices used");
  root.append(box);
}

function assertionList(root, list) {
  root.append(el("h2", {}, "Assertions, failures first"));
  if (!list.length) { root.append(el("p", {class: "muted"}, "none")); return; }
  const ordered = [...list].sort((a, b) => Number(a.passed) - Number(b.passed));
  root.append(el("div", {id: "assertions"}, ordered.map(a =>
    el("div", {class: "assertion", "data-passed": String(!!a.passed), "data-assert": a.assert},
       badge(a.passed ? "pass" : "fail"), el("code", {}, a.assert),
       a.implicit ? el("span", {class: "muted", title: "not given by --assert: a run is judged by errors=0 without one, and never passes without a verified join"}, "(implicit)") : null,
       el("span", {class: "message"}, a.message)))));
}

// --mix: the requests of each kind (JoinReq, RejoinReq type N), sent and verified.
function requestKinds(root, data) {
  const kinds = Object.entries(data.requests || {});
  if (kinds.length < 2) return;
  const sent = (data.totals || {}).sent;
  root.append(el("h2", {}, "Requests by kind"));
  root.append(el("table", {class: "groups requests", id: "requests"},
    el("tr", {}, el("th", {}, "kind"), el("th", {}, "sent"), el("th", {}, "of all sent"), el("th", {}, "verified")),
    kinds.map(([kind, n]) => el("tr", {"data-kind": kind, "data-sent": n.sent, "data-ok": n.ok},
                                el("td", {}, kind), el("td", {class: "n"}, countText(n.sent)),
                                el("td", {class: "n"}, percent(n.sent, sent)),
                                el("td", {class: "n" + (n.ok < n.sent ? " bad" : "")}, countText(n.ok))))));
}

function latencyTable(root, latency) {
  root.append(el("h2", {}, "Latency"));
  if (!latency || !(latency.count > 0)) {
    root.append(el("p", {class: "muted", id: "latency-none"}, "no answer was timed"));
    return;
  }
  const cols = [["min", "min_us"], ["p50", "p50_us"], ["p90", "p90_us"], ["p99", "p99_us"], ["p99.9", "p99.9_us"],
                ["max", "max_us"], ["mean", "mean_us"]];
  root.append(el("table", {class: "groups latency", id: "latency-table"},
                 el("tr", {}, el("th", {}, "answers"), cols.map(([name]) => el("th", {}, name + " (ms)"))),
                 el("tr", {}, el("td", {class: "n"}, countText(latency.count)),
                    cols.map(([name, key]) => el("td", {class: "n", "data-metric": name, "data-us": latency[key]},
                                                 msOfUs(latency[key], false))))));
}

function stormSection(root, s) {
  root.append(el("h2", {}, "Join storm"));
  const rx2only = Math.max(0, s.within_rx2 - s.within_rx1);
  const late = Math.max(0, s.answered - s.within_rx2);
  const none = Math.max(0, s.devices - s.answered);
  const parts = [["within RX1", s.within_rx1, "rx1"], ["in RX2 only", rx2only, "rx2"], ["answered late", late, "late"],
                 ["not answered", none, "none"]];
  const bar = el("div", {class: "bar storm-bar", role: "img",
                         "aria-label": parts.map(([name, n]) => n + " " + name).join(", ")});
  for (const [name, n, cls] of parts) {
    if (n > 0) bar.append(el("span", {class: "st-" + cls, style: "width:" + (100 * n / Math.max(1, s.devices)) + "%",
                                      title: countText(n) + " " + name + " (" + percent(n, s.devices) + ")"}));
  }
  root.append(el("div", {id: "storm"},
    kvTable([["devices", countText(s.devices) + " within " + secondsOfUs(s.within_us)],
             ["answered (verified)", countText(s.answered) + " (" + percent(s.answered, s.devices) + ")"],
             ["within RX1 (" + msOfUs(s.rx1_deadline_us) + ")", countText(s.within_rx1) + " (" + percent(s.within_rx1, s.devices) + ")"],
             ["within RX2 (" + msOfUs(s.rx2_deadline_us) + ")", countText(s.within_rx2) + " (" + percent(s.within_rx2, s.devices) + ")"],
             ["not answered", countText(none) + " (" + percent(none, s.devices) + ")"]]),
    bar,
    el("p", {class: "muted"}, "green: within the RX1 deadline; orange: within RX2 only; grey: answered after RX2; red: not answered")));
}

function errorTables(root, data) {
  root.append(el("h2", {}, "Errors and warnings"));
  const errors = Object.entries(data.errors || {}).sort((a, b) => b[1].count - a[1].count);
  const sent = (data.totals || {}).sent;
  if (!errors.length) {
    root.append(el("p", {class: "muted", id: "errors-none"}, "no error"));
  } else {
    root.append(el("table", {class: "groups errors", id: "errors"},
      el("tr", {}, el("th", {}, "class"), el("th", {}, "count"), el("th", {}, "of sent"), el("th", {}, "example")),
      errors.map(([name, e]) => el("tr", {"data-class": name}, el("td", {}, el("code", {}, name)),
                                   el("td", {class: "n"}, countText(e.count)), el("td", {class: "n"}, percent(e.count, sent)),
                                   el("td", {class: "example"}, e.example)))));
  }
  const warnings = Object.entries(data.warnings || {}).sort((a, b) => b[1] - a[1]);
  if (!warnings.length) {
    root.append(el("p", {class: "muted", id: "warnings-none"}, "no warning"));
  } else {
    root.append(el("table", {class: "groups warnings", id: "warnings"},
      el("tr", {}, el("th", {}, "warning (check)"), el("th", {}, "count")),
      warnings.map(([check, n]) => el("tr", {}, el("td", {}, el("code", {}, check)), el("td", {class: "n"}, countText(n))))));
  }
}

function settingsTables(root, data) {
  root.append(el("h2", {}, "Settings"));
  const hint = {duration_us: secondsOfUs, timeout_ms: v => v + " ms", rate: v => v + " requests/s",
                storm: v => countText(v.devices) + " devices within " + secondsOfUs(v.within_us)};
  const value = (k, v) => hint[k] && v !== null && v !== undefined ? hint[k](v)
                                                                     : v !== null && typeof v === "object" ? JSON.stringify(v) : String(v);
  const rows = Object.entries(data.settings || {}).map(([k, v]) => [k, value(k, v)]);
  if (data.devices) {
    rows.push(["devices used", countText(data.devices.used)],
              ["devices that used all their DevNonces", countText(data.devices.exhausted)]);
  }
  const table = kvTable(rows);
  table.id = "settings";
  root.append(table);
  const processes = data.processes || [];
  root.append(el("h2", {}, processes.length === 1 ? "Process" : "Processes (one per shard)"));
  const keys = [...new Set(processes.flatMap(p => Object.keys(p)))];
  if (!processes.length) { root.append(el("p", {class: "muted"}, "none")); return; }
  root.append(el("table", {class: "groups", id: "processes"},
                 el("tr", {}, keys.map(k => el("th", {}, k))),
                 processes.map(p => el("tr", {}, keys.map(k => el("td", {}, value(k, p[k] === undefined ? "" : p[k])))))));
}

function renderLoad(data) {
  const root = loadHeader(data);
  banner(root, "Setup error", data.setup_error);
  banner(root, "Stopped early", data.stopped);
  verdictAndTotals(root, data);
  assertionList(root, data.assertions || []);
  requestKinds(root, data);
  latencyTable(root, data.latency);
  root.append(latencyHistogram(data), latencyOverTime(data));
  root.append(el("h2", {}, "Throughput"), ratePlot(data));
  if (data.storm) stormSection(root, data.storm);
  errorTables(root, data);
  settingsTables(root, data);
}

renderers.load = renderLoad;
