// Reads joincheck's reports the way their users do, with independent programs:
//  - each HTML report in a real browser (Debian's chromium, driven by puppeteer-core): the page
//    draws itself offline (no request leaves the file), its totals and items match the JSON
//    report, a failure expands to its trace when clicked, the verdict filter hides and shows, and
//    a screenshot is kept;
//  - each JUnit report with junit2json: the testcase, failure, error and skip counts and the
//    failure messages come through as the JSON report has them.
//
// usage: node reports.mjs SCREENSHOT_DIR NAME:KIND:REPORT.json:REPORT.xml:REPORT.html ...
//   KIND: run, doctor or gateway. Exit 1 when a check fails; every check prints a line.
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

async function checkHtml(browser, name, kind, report, htmlPath) {
  const page = await browser.newPage();
  const outside = [];
  page.on("request", req => { if (!req.url().startsWith("file:")) outside.push(req.url()); });
  const errors = [];
  page.on("pageerror", e => errors.push(e.message));
  await page.goto(pathToFileURL(resolve(htmlPath)).href, { waitUntil: "load" });
  await page.waitForSelector("body[data-rendered]", { timeout: 10000 });
  eq(`${name}: html: drawn as a ${kind} report`, await page.$eval("body", b => b.dataset.rendered), kind);
  eq(`${name}: html: no script error`, errors, []);
  eq(`${name}: html: nothing fetched from the network`, outside, []);

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

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  timeout: 30000,
});
try {
  for (const spec of cases) {
    const [name, kind, json, xml, html] = spec.split(":");
    const report = JSON.parse(readFileSync(json, "utf8"));
    await checkHtml(browser, name, kind, report, html);
    await checkJunit(name, kind, report, xml);
  }
} finally {
  await browser.close();
}
console.log(failed ? `${failed} checks failed` : "every check passed");
process.exit(failed ? 1 : 0);
