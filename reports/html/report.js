// The joincheck HTML report (reports/html_report.hpp): draws the command's JSON report, embedded in
// #joincheck-data, with the DOM only (text is never parsed as HTML: a peer's body cannot inject
// markup). One page for `run`, `doctor` (a run's JSON), `gateway` and `load` (its renderer in
// load.js, inlined after this file).
"use strict";

const VERDICTS = ["fail", "error", "warn", "pass", "skip"];  // the order failures-first lists use
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function badge(verdict) { return el("span", {class: "verdict v-" + verdict}, verdict); }

function ms(value) {
  if (value === null || value === undefined || !isFinite(value)) return "?";
  return value >= 1000 ? (value / 1000).toFixed(2) + " s" : value.toFixed(value < 10 ? 1 : 0) + " ms";
}

// A body as sent or received: pretty-printed when it is JSON, as it is otherwise.
function bodyText(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

// The first `max` characters of `text`, cut at a word, for a one-line summary (the whole text is
// in the item's body).
function shortened(text, max) {
  if (text.length <= max) return text;
  const cut = text.lastIndexOf(" ", max);
  return text.slice(0, cut > max / 2 ? cut : max) + " \u2026";
}

function kvTable(rows) {
  return el("table", {class: "kv"},
            rows.filter(r => r[1] !== undefined && r[1] !== null && r[1] !== "")
                .map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
}

function countBar(counts, total) {
  const bar = el("div", {class: "bar", role: "img"});
  const parts = [];
  for (const v of VERDICTS) {
    const n = counts[v] || 0;
    if (n === 0) continue;
    parts.push(n + " " + v);
    bar.append(el("span", {class: "v-" + v, style: "width:" + (100 * n / total) + "%", title: n + " " + v}));
  }
  bar.setAttribute("aria-label", parts.join(", ") || "none");
  return bar;
}

function header(data, title, facts) {
  const root = document.getElementById("report");
  const version = data.joincheck ? data.joincheck.version + (data.joincheck.commit ? " (git " + data.joincheck.commit + ")" : "") : "";
  root.append(el("h1", {}, title));
  root.append(el("p", {class: "meta"}, facts.filter(f => f[1] !== undefined && f[1] !== "")
                                            .map(([k, v]) => el("span", {}, k + ": ", el("b", {}, v))),
                 version ? el("span", {}, "joincheck " + version) : null));
  return root;
}

function banner(root, label, text) {
  if (text) root.append(el("div", {class: "banner", id: "banner-" + label.toLowerCase().replace(/\W+/g, "-")},
                           el("b", {}, label + ": "), text));
}

function totals(root, summary, verdicts) {
  const box = el("div", {class: "totals", id: "totals"});
  for (const v of verdicts) {
    box.append(el("div", {class: "total", "data-verdict": v}, el("b", {}, summary[v] || 0), badge(v)));
  }
  box.append(el("div", {class: "total", "data-verdict": "total"}, el("b", {}, summary.total || 0), "total"));
  root.append(box);
}

// Filters by verdict, by group and by text over the items (details.item with data-verdict,
// data-group and data-text); says how many are shown.
function filters(root, items, groups, groupLabel) {
  const bar = el("div", {class: "filters", id: "filters"});
  const state = {verdicts: new Set(VERDICTS), group: "", text: ""};
  const shown = el("span", {class: "shown"});
  const apply = () => {
    let n = 0;
    for (const item of items) {
      const ok = state.verdicts.has(item.dataset.verdict) && (!state.group || item.dataset.group === state.group) &&
                 (!state.text || item.dataset.text.includes(state.text));
      item.classList.toggle("hidden", !ok);
      if (ok) ++n;
    }
    shown.textContent = "showing " + n + " of " + items.length;
  };
  for (const v of VERDICTS) {
    const box = el("input", {type: "checkbox", checked: true, "data-filter-verdict": v});
    box.addEventListener("change", () => { box.checked ? state.verdicts.add(v) : state.verdicts.delete(v); apply(); });
    bar.append(el("label", {}, box, " ", badge(v)));
  }
  if (groups.length > 1) {
    const select = el("select", {id: "filter-group"}, el("option", {value: ""}, "every " + groupLabel),
                      groups.map(g => el("option", {value: g}, g)));
    select.addEventListener("change", () => { state.group = select.value; apply(); });
    bar.append(el("label", {}, groupLabel + " ", select));
  }
  const search = el("input", {type: "search", id: "filter-text", placeholder: "id, title or text"});
  search.addEventListener("input", () => { state.text = search.value.toLowerCase(); apply(); });
  bar.append(search, shown);
  root.append(bar);
  apply();
}

function groupTable(root, rows, label) {
  const table = el("table", {class: "groups", id: "groups"},
                   el("tr", {}, el("th", {}, label), el("th", {}), VERDICTS.map(v => el("th", {}, badge(v)))));
  for (const [name, counts] of rows) {
    const total = VERDICTS.reduce((s, v) => s + (counts[v] || 0), 0);
    table.append(el("tr", {"data-group": name}, el("td", {}, el("code", {}, name)), el("td", {}, countBar(counts, total)),
                    VERDICTS.map(v => el("td", {class: "n"}, counts[v] || ""))));
  }
  root.append(table);
}

// ---- run and doctor ----

function exchangeClass(x) {
  if (x.transport_error) return "transport";
  return x.http_status >= 200 && x.http_status < 300 ? "ok" : "bad";
}

function exchangeStatus(x) {
  if (x.transport_error) return x.transport_error;
  return x.http_status ? x.http_status + " " + (x.http_reason || "") : "no HTTP answer";
}

function headersText(list) { return (list || []).map(([k, v]) => k + ": " + v).join("\n"); }

function exchangeView(x, open) {
  const body = el("div", {class: "xbody"},
                  kvTable([["URL", x.url], ["status", exchangeStatus(x)], ["time", ms(x.elapsed_ms)]]));
  const block = (label, text) => text ? [el("div", {class: "muted"}, label), el("pre", {}, text)] : [];
  body.append(...block("request headers", headersText(x.request_headers)), ...block("request", bodyText(x.request_body)),
              ...block("answer headers", headersText(x.response_headers)), ...block("answer", bodyText(x.response_body)),
              ...block("asynchronous answer", bodyText(x.async_answer_body)));
  if (x.join_accept) {
    const a = x.join_accept;
    body.append(el("div", {class: "muted"}, "join-accept (decrypted by the device)"),
                kvTable([["JoinNonce", a.JoinNonce], ["NetID", a.NetID], ["DevAddr", a.DevAddr], ["DLSettings", a.DLSettings],
                         ["RxDelay", a.RxDelay], ["CFList", a.CFList === null ? "none" : a.CFList], ["MIC", a.MIC],
                         ["checked as", a.mode], ["device", a.accepted ? "accepted it" : "refused it: " + a.refusal]]));
  }
  if (x.notes && x.notes.length) body.append(...block("notes", x.notes.join("\n")));
  return el("details", {class: "exchange", open, "data-exchange": x.index},
            el("summary", {}, "#" + x.index + " " + x.label + " \u2014 ",
               el("span", {class: exchangeClass(x) === "ok" ? "status-ok" : "status-bad"}, exchangeStatus(x)),
               " \u2014 " + ms(x.elapsed_ms)),
            body);
}

function resultView(r, exchanges) {
  const body = el("div", {class: "body"});
  if (r.expected || r.actual) {
    body.append(el("div", {class: "expected-actual"}, el("div", {}, "expected"), el("div", {}, r.expected),
                   el("div", {}, "actual"), el("div", {}, r.actual)));
  }
  if (r.reason) body.append(el("div", {class: r.reason.startsWith("fix:") ? "fix" : "reason"}, r.reason));
  if (r.known_deviation) body.append(el("div", {class: "reason"}, "known deviation of the profile: " + r.known_deviation));
  body.append(kvTable([["spec", r.spec], ["level", r.level], ["scenario", r.scenario],
                       ["judged", r.evaluations + (r.evaluations === 1 ? " time" : " times") +
                                  (r.failed_evaluations ? ", " + r.failed_evaluations + " failed" : "")]]));
  if (r.trace && r.trace.length) {
    body.append(el("div", {class: "muted"}, "exchanges (the decisive one first)"));
    r.trace.forEach((i, n) => { if (exchanges[i]) body.append(exchangeView(exchanges[i], n === 0)); });
  }
  return el("details", {class: "item", id: "check-" + r.id, "data-verdict": r.verdict, "data-group": r.group,
                        "data-text": (r.id + " " + r.title + " " + r.actual + " " + r.reason).toLowerCase()},
            el("summary", {}, badge(r.verdict), el("span", {class: "id"}, r.id), el("span", {class: "title"}, r.title),
               el("span", {class: "level"}, r.level)),
            body);
}

// The exchanges in order, each a bar as high as its latency (a log scale when they differ a lot).
function timeline(root, exchanges) {
  if (!exchanges.length) return;
  const W = 1000, H = 160, top = 14, bottom = 18, left = 52;
  const values = exchanges.map(x => (isFinite(x.elapsed_ms) && x.elapsed_ms > 0) ? x.elapsed_ms : 0);
  const max = Math.max(1, ...values);
  const min = Math.max(0.01, Math.min(...values.filter(v => v > 0), max));
  const log = max / min > 100;
  const y = v => {
    if (v <= 0) return 0;
    const f = log ? Math.log(v / min + 1) / Math.log(max / min + 1) : v / max;
    return Math.max(1, f * (H - top - bottom));
  };
  const w = (W - left) / exchanges.length;
  const chart = svg("svg", {viewBox: "0 0 " + W + " " + H, id: "timeline-chart", role: "img",
                            "aria-label": exchanges.length + " exchanges, slowest " + ms(max)});
  chart.append(svg("text", {x: 0, y: top}, ms(max)), svg("text", {x: 0, y: H - bottom}, "0"),
               svg("text", {x: left, y: H - 4}, "exchange 0"),
               svg("text", {x: W - 4, y: H - 4, "text-anchor": "end"}, "exchange " + (exchanges.length - 1) + (log ? " (log scale)" : "")));
  exchanges.forEach((x, i) => {
    const h = y(values[i]);
    chart.append(svg("rect", {x: left + i * w, y: H - bottom - h, width: Math.max(w - (w > 3 ? 1 : 0), 0.5), height: h,
                              class: exchangeClass(x), "data-exchange": i},
                     svg("title", {}, "#" + i + " " + x.label + ": " + exchangeStatus(x) + ", " + ms(x.elapsed_ms))));
  });
  root.append(el("h2", {}, "Timeline of the exchanges"),
              el("div", {class: "timeline", id: "timeline"}, chart,
                 el("p", {class: "muted"}, exchanges.length + " exchanges; bar height: time to the answer; red: an HTTP error, purple: no answer (transport)")));
}

function renderRun(data) {
  const doctor = data.command === "doctor";
  const root = header(data, "joincheck " + (doctor ? "doctor" : "run") + ": " + data.target, [
    ["profile", doctor ? "" : data.profile], ["ProtocolVersion", doctor ? "" : data.protocol_version],
    ["MACVersions", doctor ? "" : (data.mac_versions || []).join(", ")], ["started", data.started_at],
    ["took", ms(data.duration_ms)]]);
  banner(root, "Setup error", data.setup_error);
  banner(root, "Stopped early", data.stopped_early);
  totals(root, data.summary, VERDICTS);

  const routes = doctor ? data.results.filter(r => r.id.startsWith("doctor/route.")) : [];
  const results = data.results.filter(r => !routes.includes(r));
  const groups = new Map();
  for (const r of results) {
    if (!groups.has(r.group)) groups.set(r.group, {});
    const c = groups.get(r.group);
    c[r.verdict] = (c[r.verdict] || 0) + 1;
  }
  root.append(el("h2", {}, doctor ? "Findings by scope" : "Checks by group"));
  groupTable(root, [...groups], doctor ? "scope" : "group");

  if (routes.length) {
    root.append(el("h2", {}, "Decision path of each JoinEUI"));
    const list = el("div", {class: "route", id: "routes"});
    for (const r of routes) list.append(resultView(r, data.exchanges));
    root.append(list);
  }

  root.append(el("h2", {}, doctor ? "Findings, failures first" : "Checks, failures first"));
  const ordered = [...results].sort((a, b) => VERDICTS.indexOf(a.verdict) - VERDICTS.indexOf(b.verdict));
  const items = ordered.map(r => resultView(r, data.exchanges));
  filters(root, items, [...groups.keys()], doctor ? "scope" : "group");
  const list = el("div", {id: "results"}, items);
  root.append(list);
  timeline(root, data.exchanges);
}

// ---- gateway ----

function deviceView(d) {
  const title = d.died_at ? "died at " + d.died_at.step + ": " + shortened(d.died_at.detail, 120)
                          : d.join ? "joined in " + d.join.window + " (" + d.join.datr + ", " + ms(d.join.time_ms) + ")" : "";
  const steps = el("table", {class: "devices"}, el("tr", {}, el("th", {}, "step"), el("th", {}, "verdict"), el("th", {}, "waited"),
                                                   el("th", {}, "detail")),
                   d.steps.map(s => el("tr", {}, el("td", {}, s.name), el("td", {}, badge(s.verdict)), el("td", {}, ms(s.elapsed_ms)),
                                        el("td", {}, s.detail))));
  const body = el("div", {class: "body"},
                  kvTable([["MACVersion", d.MACVersion], ["DevAddr", d.DevAddr],
                           ["join", d.join ? d.join.window + ", " + d.join.datr + ", " + (d.join.frequency_hz / 1e6).toFixed(3) +
                                             " MHz, gateway " + d.join.gateway + ", " + ms(d.join.time_ms) : ""],
                           ["uplinks", d.uplinks_acknowledged + " of " + d.uplinks_sent + " acknowledged"], ["took", ms(d.duration_ms)]]),
                  steps);
  return el("details", {class: "item", id: "device-" + d.DevEUI, "data-verdict": d.verdict, "data-group": d.MACVersion,
                        "data-text": (d.DevEUI + " " + title).toLowerCase()},
            el("summary", {}, badge(d.verdict), el("span", {class: "id"}, d.DevEUI), el("span", {class: "title"}, title),
               el("span", {class: "level"}, d.MACVersion)),
            body);
}

// One bar per device: how long it took, split by the steps that waited.
function deviceTimeline(root, devices) {
  const timed = devices.filter(d => d.duration_ms > 0);
  if (!timed.length) return;
  const row = 14, left = 130, W = 1000, H = timed.length * row + 20;
  const waited = d => d.steps.reduce((sum, s) => sum + (s.elapsed_ms > 0 ? s.elapsed_ms : 0), 0);
  const max = Math.max(...timed.map(d => Math.max(d.duration_ms, waited(d))));
  const chart = svg("svg", {viewBox: "0 0 " + W + " " + H, id: "timeline-chart", role: "img",
                            "aria-label": timed.length + " devices, slowest " + ms(max)});
  timed.forEach((d, i) => {
    const scale = (W - left - 10) / max;
    chart.append(svg("text", {x: 0, y: i * row + 11}, d.DevEUI),
                 svg("rect", {x: left, y: i * row + 2, width: Math.max(d.duration_ms * scale, 0.5), height: row - 4,
                              class: "whole"}, svg("title", {}, d.DevEUI + ": " + ms(d.duration_ms) + " in all")));
    let x = left;
    for (const s of d.steps) {
      if (!(s.elapsed_ms > 0)) continue;
      const w = s.elapsed_ms * scale;
      chart.append(svg("rect", {x, y: i * row + 2, width: Math.max(w, 0.5), height: row - 4,
                                class: s.verdict === "pass" ? "ok" : s.verdict === "error" ? "transport" : "bad"},
                       svg("title", {}, d.DevEUI + " " + s.name + ": " + ms(s.elapsed_ms))));
      x += w;
    }
  });
  chart.append(svg("text", {x: W - 4, y: H - 4, "text-anchor": "end"}, ms(max)));
  root.append(el("h2", {}, "Timeline of the devices"),
              el("div", {class: "timeline", id: "timeline"}, chart,
                 el("p", {class: "muted"}, "each bar: the steps that waited, in order, over the device's whole time (grey); red: the step that failed")));
}

function renderGateway(data) {
  const root = header(data, "joincheck gateway: " + data.ns, [
    ["region", data.region], ["gateways", (data.gateways || []).join(", ")], ["uplinks", data.uplinks],
    ["started", data.started_at], ["took", ms(data.duration_ms)], ["exit code", data.exit_code]]);
  banner(root, "Setup error", data.setup_error);
  if (data.cancelled) banner(root, "Cancelled", data.devices_not_run + " devices not run");
  totals(root, data.summary, ["fail", "error", "pass", "skip"]);
  const groups = new Map();
  for (const d of data.devices) {
    if (!groups.has(d.MACVersion)) groups.set(d.MACVersion, {});
    const c = groups.get(d.MACVersion);
    c[d.verdict] = (c[d.verdict] || 0) + 1;
  }
  root.append(el("h2", {}, "Devices by MACVersion"));
  groupTable(root, [...groups], "MACVersion");
  root.append(el("h2", {}, "Devices, failures first"));
  const ordered = [...data.devices].sort((a, b) => VERDICTS.indexOf(a.verdict) - VERDICTS.indexOf(b.verdict));
  const items = ordered.map(deviceView);
  filters(root, items, [...groups.keys()], "MACVersion");
  root.append(el("div", {id: "results"}, items));
  deviceTimeline(root, data.devices);
}

// ---- any other document: shown as it is ----

function renderOther(data) {
  const root = header(data, "joincheck " + (data.command || "report"), []);
  root.append(el("pre", {}, JSON.stringify(data, null, 2)));
}

// The renderer of each command's report; load.js adds `load`.
const renderers = {run: renderRun, doctor: renderRun, gateway: renderGateway};

// Draws the page: called by page.html once every script (report.js, then the other *.js files of
// reports/html in name order, reports/html_report.cpp) has registered its renderers.
function start() {
  let data;
  try {
    data = JSON.parse(document.getElementById("joincheck-data").textContent);
  } catch (e) {
    document.getElementById("report").append(el("p", {class: "banner"}, "the report's data cannot be read: " + e.message));
    return;
  }
  (renderers[data.command] || renderOther)(data);
  document.body.dataset.rendered = data.command || "other";
}
