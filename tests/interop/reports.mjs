// Reads joincheck's reports the way their users do, with independent programs:
//  - each HTML report in a real browser (Debian's chromium, driven by puppeteer-core): the page
//    draws itself offline (no request leaves the file), its totals and items match the JSON
//    report, a failure expands to its trace when clicked, the verdict filter hides and shows, and
//    a screenshot is kept;
//    a load report shows its verdict, totals, assertions and latencies as the JSON has them and
//    draws its three plots (SVG, data-points: how many points or bars each drew);
//  - each JUnit report with junit2json: the testcase, failure, error and skip counts and the
//    failure messages come through as the JSON report has them.
//
// usage: node reports.mjs SCREENSHOT_DIR NAME:KIND:REPORT.json:REPORT.xml:REPORT.html ...
//   KIND: run, doctor, gateway or load. Exit 1 when a check fails; every check prints a line.
import { readFileSync, mkdirSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { join, resolve } from "node:path";
import puppeteer from "puppeteer-core";
import { parse as parseJunit } from "junit2json";

const [shotDir, ...cases] = process.argv.slice(2);
if (!shotDir || cases.length === 0) {
  console.error("usage: node reports.mjs SCREENSHOT_DIR NAME:KIND:REPORT.json:REPORT.xml:REPORT.html ...");
  process.exit(2);
}
mkdirSync(shotDir, { recursive: true });

let failed = 0;
const check = (what, ok, detail = "") => {
  console.log((ok ? "ok   " : "FAIL ") + what + (ok || !detail ? "" : ": " + detail));
  if (!ok) failed++;
};
const eq = (what, actual, expected) =>
  check(what, JSON.stringify(actual) === JSON.stringify(expected), `got ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);

// The verdicts of a JSON report: a run's or doctor's checks, a gateway's devices.
function verdicts(kind, report) {
  return kind === "gateway" ? report.devices.map(d => ({ id: d.DevEUI, verdict: d.verdict }))
                            : report.results.map(r => ({ id: r.id, verdict: r.verdict, actual: r.actual }));
}
function count(list, verdict) { return list.filter(x => x.verdict === verdict).length; }

// Opens a report in the browser: it draws itself as a KIND report, without a script error (an
// exception or a console error) and without fetching anything.
async function openReport(browser, name, kind, htmlPath, viewport) {
  const page = await browser.newPage();
  if (viewport) await page.setViewport(viewport);
  const outside = [];
  page.on("request", req => { if (!req.url().startsWith("file:")) outside.push(req.url()); });
  const errors = [];
  page.on("pageerror", e => errors.push(e.message));
  page.on("console", m => { if (m.type() === "error") errors.push("console: " + m.text()); });
  await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: "load" });
  await page.waitForSelector("body[data-rendered]", { timeout: 10000 });
  eq(`${name}: html: drawn as a ${kind} report`, await page.$eval("body", b => b.dataset.rendered), kind);
  eq(`${name}: html: no script error`, errors, []);
  eq(`${name}: html: nothing fetched from the network`, outside, []);
  return page;
}

async function checkHtml(browser, name, kind, report, htmlPath) {
  const page = await openReport(browser, name, kind, htmlPath);

  if (report.setup_error) {
    const banner = await page.$eval("#banner-setup-error", b => b.innerText).catch(() => "");
    check(`${name}: html: the setup error is shown`, banner.includes(report.setup_error.slice(0, 60)), banner);
  }
  const list = verdicts(kind, report);
  const shownVerdicts = kind === "gateway" ? ["fail", "error", "pass", "skip"] : ["pass", "fail", "warn", "skip", "error"];
  for (const v of shownVerdicts) {
    const total = await page.$eval(`#totals [data-verdict="${v}"] b`, b => Number(b.textContent));
    eq(`${name}: html: total ${v} is the JSON report's`, total, report.summary[v]);
  }
  // doctor shows its route findings apart, the others in #results; together they are every result.
  const items = await page.$$eval("details.item", els => els.map(e => ({ id: e.id, verdict: e.dataset.verdict })));
  for (const v of shownVerdicts) eq(`${name}: html: ${count(list, v)} ${v} items`, count(items, v), count(list, v));
  const order = await page.$$eval("#results details.item", els => els.map(e => e.dataset.verdict));
  const rank = v => ["fail", "error", "warn", "pass", "skip"].indexOf(v);
  check(`${name}: html: failures first`, order.every((v, i) => i === 0 || rank(order[i - 1]) <= rank(v)), order.join(" "));

  const firstFailure = await page.$('#results details.item[data-verdict="fail"]');
  if (count(list, "fail") > 0) {
    check(`${name}: html: a failure is listed`, firstFailure !== null);
    const body = await firstFailure.$(".body");
    eq(`${name}: html: a failure starts folded`, await body.evaluate(b => b.checkVisibility()), false);
    await (await firstFailure.$("summary")).click();
    eq(`${name}: html: clicking a failure unfolds it`, await body.evaluate(b => b.checkVisibility()), true);
    const text = await body.evaluate(b => b.innerText);
    if (kind === "gateway") {
      check(`${name}: html: the failure shows its steps`, (await body.$$("tr")).length > 1, text.slice(0, 300));
    } else {
      const id = await firstFailure.evaluate(e => e.id.replace(/^check-/, ""));
      const result = report.results.find(r => r.id === id);
      check(`${name}: html: the failure shows expected and actual`, text.includes(result.expected.slice(0, 40)) && text.includes(result.actual.slice(0, 40)), text.slice(0, 300));
      if (result.trace.length) {
        const exchanges = await body.$$("details.exchange");
        eq(`${name}: html: the failure shows its ${result.trace.length} exchanges`, exchanges.length, result.trace.length);
        const decisive = report.exchanges[result.trace[0]];
        const shown = await exchanges[0].evaluate(e => e.innerText);
        check(`${name}: html: the decisive exchange is open with its URL and status`, shown.includes(decisive.url) &&
              (decisive.transport_error ? shown.includes(decisive.transport_error.slice(0, 30)) : shown.includes(String(decisive.http_status))), shown.slice(0, 300));
      }
    }
  } else {
    eq(`${name}: html: no failure listed`, firstFailure, null);
  }
  // Filter: unticking "pass" hides exactly the passes.
  const before = await page.$$eval("#results details.item:not(.hidden)", els => els.length);
  await page.click('input[data-filter-verdict="pass"]');
  const after = await page.$$eval("#results details.item:not(.hidden)", els => els.map(e => e.dataset.verdict));
  const passes = order.filter(v => v === "pass").length;
  eq(`${name}: html: the pass filter hides the ${passes} passes`, [after.length, after.includes("pass")], [before - passes, false]);
  await page.click('input[data-filter-verdict="pass"]');
  if (kind !== "gateway" && report.exchanges.length) {
    eq(`${name}: html: the timeline draws a bar per exchange`, await page.$$eval("#timeline-chart rect", r => r.length), report.exchanges.length);
  }
  if (kind === "doctor") {
    const routes = report.results.filter(r => r.id.startsWith("doctor/route."));
    eq(`${name}: html: a decision path per JoinEUI`, await page.$$eval("#routes details.item", e => e.length), routes.length);
  }
  await page.screenshot({ path: join(shotDir, name + ".png"), fullPage: true });
  check(`${name}: html: screenshot kept in ${shotDir}`, true);
  await page.close();
}

async function checkJunit(name, kind, report, xmlPath) {
  const doc = await parseJunit(readFileSync(xmlPath, "utf8"));
  const cases = (doc.testsuite || []).flatMap(s => s.testcase || []);
  const list = verdicts(kind, report);
  const expectedCases = report.setup_error && kind === "gateway" ? 1 : list.length;
  eq(`${name}: junit2json: ${expectedCases} testcases`, cases.length, expectedCases);
  const with_ = k => cases.filter(c => c[k]).length;
  eq(`${name}: junit2json: failures`, with_("failure"), count(list, "fail"));
  eq(`${name}: junit2json: errors`, with_("error"), count(list, "error"));
  eq(`${name}: junit2json: skipped`, with_("skipped"), count(list, "skip"));
  const props = Object.fromEntries((doc.testsuite[0].properties || []).map(p => [p.name, p.value]));
  eq(`${name}: junit2json: joincheck.version property`, props["joincheck.version"], report.joincheck.version);
  if (kind !== "gateway") {
    for (const r of report.results.filter(x => x.verdict === "fail").slice(0, 5)) {
      const c = cases.find(t => t.name === r.id);
      const f = c && c.failure && c.failure[0];
      check(`${name}: junit2json: ${r.id} fails with its actual value`, !!f && `${f.message} ${f.inner}`.includes(r.actual.slice(0, 40)),
            JSON.stringify(f).slice(0, 300));
    }
  }
}

// A load report (reports/html/load.js): what the page shows against the JSON report.
async function checkLoadHtml(browser, name, report, htmlPath) {
  // As wide as the page's layout (1200 px at most), so the plots' labels are read at their size.
  const page = await openReport(browser, name, "load", htmlPath, { width: 1280, height: 900 });
  const verdict = await page.$eval("#verdict", v => ({ passed: v.dataset.passed, badge: v.querySelector(".verdict").textContent }));
  eq(`${name}: html: the verdict is the JSON report's`, verdict, { passed: String(report.passed), badge: report.passed ? "pass" : "fail" });
  for (const key of ["sent", "ok", "errors", "rate"]) {
    const shown = await page.$eval(`#totals [data-total="${key}"]`, t => ({ value: Number(t.dataset.value), text: t.querySelector("b").textContent }));
    eq(`${name}: html: total ${key} is the JSON report's`, [shown.value, Number(shown.text.replace(/,/g, ""))], [report.totals[key], report.totals[key]]);
  }
  for (const [label, id, text] of [["setup error", "banner-setup-error", report.setup_error], ["stop", "banner-stopped-early", report.stopped]]) {
    if (text) check(`${name}: html: the ${label} is shown`, ((await page.$eval("#" + id, b => b.innerText).catch(() => "")).includes(text)), text);
  }

  // Assertions: every one, failures first, each with its verdict and message.
  const shown = await page.$$eval("#assertions .assertion", els => els.map(e => ({ assert: e.dataset.assert, passed: e.dataset.passed === "true", text: e.innerText })));
  eq(`${name}: html: ${report.assertions.length} assertions listed`, shown.length, report.assertions.length);
  check(`${name}: html: failed assertions first`, shown.every((a, i) => i === 0 || !(a.passed === false && shown[i - 1].passed)), shown.map(a => a.passed).join(" "));
  for (const a of report.assertions) {
    const s = shown.find(x => x.assert === a.assert);
    check(`${name}: html: ${a.assert} is shown as ${a.passed ? "passed" : "failed"} with its message`,
          !!s && s.passed === a.passed && s.text.includes(a.message), JSON.stringify(s));
  }

  // Latency: the table, and the plots (the latency ones "no data" when nothing was timed).
  const timed = report.latency.count > 0;
  if (timed) {
    for (const [metric, key] of [["p50", "p50_us"], ["p99", "p99_us"], ["p99.9", "p99.9_us"], ["max", "max_us"]]) {
      eq(`${name}: html: latency ${metric} is the JSON report's`,
         await page.$eval(`#latency-table td[data-metric="${metric}"]`, td => Number(td.dataset.us)), report.latency[key]);
    }
  } else {
    check(`${name}: html: "no answer was timed" instead of a latency table`, (await page.$("#latency-none")) !== null);
  }
  const plots = Object.fromEntries(await page.$$eval("svg.plot", els => els.map(e => [e.getAttribute("class"), {
    points: Number(e.dataset.points), count: Number(e.dataset.count), minUs: Number(e.dataset.minUs), maxUs: Number(e.dataset.maxUs),
    noData: !!e.querySelector("text.nodata"), marks: e.querySelectorAll("circle, rect.bin").length }])));
  const seconds = report.series.filter(x => typeof x.p50_us === "number").length;
  const latencyPlot = plots["plot plot-latency"], histogram = plots["plot plot-histogram"], rate = plots["plot plot-rate"];
  check(`${name}: html: the three plots are drawn`, !!latencyPlot && !!histogram && !!rate, Object.keys(plots).join(", "));
  if (latencyPlot && histogram && rate) {
    eq(`${name}: html: latency plot: p50, p99 and max of the ${seconds} seconds with answers, each a dot`, [latencyPlot.points, latencyPlot.marks], [3 * seconds, 3 * seconds]);
    eq(`${name}: html: latency plot: "no data" only without answers`, latencyPlot.noData, !timed);
    eq(`${name}: html: histogram: "no data" only without answers`, histogram.noData, !timed);
    eq(`${name}: html: histogram: a bar per data-points`, histogram.marks, histogram.points);
    if (timed) {
      check(`${name}: html: histogram: bars drawn`, histogram.points > 0, JSON.stringify(histogram));
      eq(`${name}: html: histogram: the bars count every answer timed`, histogram.count, report.latency.count);
      // The counter indexes decoded as the JS histogram lays them out: the first counter holds
      // min, the last max, each within the histogram's relative error.
      const digits = report.latency.histogram.significant_digits;
      const { min_us: min, max_us: max } = report.latency;
      check(`${name}: html: histogram: the first counter, from ${histogram.minUs} us, holds min ${min} us`,
            histogram.minUs <= min && min - histogram.minUs <= min / 10 ** digits, JSON.stringify(histogram));
      check(`${name}: html: histogram: the last counter, to ${histogram.maxUs} us, holds max ${max} us`,
            histogram.maxUs >= max && histogram.maxUs - max <= max / 10 ** digits, JSON.stringify(histogram));
    } else {
      eq(`${name}: html: histogram: no bar without answers`, histogram.points, 0);
    }
    check(`${name}: html: rate plot: points drawn (${rate.points})`, rate.points > 0 && rate.points % 3 === 0 && rate.points <= 3 * report.series.length,
          JSON.stringify(rate));
  }
  if (report.storm) {
    check(`${name}: html: the storm section is shown`, (await page.$("#storm")) !== null);
  }
  const kinds = Object.entries(report.requests || {});
  if (kinds.length > 1) {
    const rows = await page.$$eval("#requests tr[data-kind]", rs => rs.map(r => [r.dataset.kind, Number(r.dataset.sent), Number(r.dataset.ok)]));
    eq(`${name}: html: the requests of each kind are the JSON report's`, rows, kinds.map(([k, n]) => [k, n.sent, n.ok]));
  } else {
    check(`${name}: html: no table of request kinds for JoinReqs alone`, (await page.$("#requests")) === null);
  }
  const classes = Object.keys(report.errors);
  eq(`${name}: html: the ${classes.length} error classes`, await page.$$eval("#errors tr[data-class]", rows => rows.map(r => r.dataset.class)), classes);
  await page.screenshot({ path: join(shotDir, name + ".png"), fullPage: true });
  check(`${name}: html: screenshot kept in ${shotDir}`, true);
  await page.close();
}

// A load JUnit report: one testcase per assertion, each failed one a failure with its message.
async function checkLoadJunit(name, report, xmlPath) {
  const doc = await parseJunit(readFileSync(xmlPath, "utf8"));
  const cases = (doc.testsuite || []).flatMap(s => s.testcase || []);
  eq(`${name}: junit2json: a testcase per assertion`, cases.map(c => c.name), report.assertions.map(a => "load/" + a.assert));
  const failed = report.assertions.filter(a => !a.passed);
  eq(`${name}: junit2json: ${failed.length} failures`, cases.filter(c => c.failure).length, failed.length);
  eq(`${name}: junit2json: no error or skip`, cases.filter(c => c.error || c.skipped).length, 0);
  for (const a of failed) {
    const f = (cases.find(c => c.name === "load/" + a.assert) || {}).failure;
    check(`${name}: junit2json: load/${a.assert} fails with its message`, !!f && f[0].message === a.message, JSON.stringify(f).slice(0, 300));
  }
  const props = Object.fromEntries((doc.testsuite[0].properties || []).map(p => [p.name, p.value]));
  eq(`${name}: junit2json: joincheck.version property`, props["joincheck.version"], report.joincheck.version);
  eq(`${name}: junit2json: sent, ok and errors properties`, [props.sent, props.ok, props.errors].map(Number),
     [report.totals.sent, report.totals.ok, report.totals.errors]);
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  timeout: 30000,
});
try {
  for (const spec of cases) {
    const [name, kind, json, xml, html] = spec.split(":");
    const report = JSON.parse(readFileSync(json, "utf8"));
    if (kind === "load") {
      await checkLoadHtml(browser, name, report, html);
      await checkLoadJunit(name, report, xml);
    } else {
      await checkHtml(browser, name, kind, report, html);
      await checkJunit(name, kind, report, xml);
    }
  }
} finally {
  await browser.close();
}
console.log(failed ? `${failed} checks failed` : "every check passed");
process.exit(failed ? 1 : 0);
