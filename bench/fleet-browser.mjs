// The fleet view's budgets in headless Chromium: N sandbox devices reporting every second,
// the grid visible; main-thread frame times (requestAnimationFrame deltas) over 10 s and the
// heap (JS, from Chromium's metrics, plus the module's linear memory). Prints figures.
//   node bench/fleet-browser.mjs http://127.0.0.1:PORT/ 1000
import { launch } from '../e2e/pages/device-page.mjs';

const [base = 'http://127.0.0.1:8080/', count = '1000'] = process.argv.slice(2);
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
const url = `${base}?view=fleet&template=environment-sensor&count=${count}&telemetry=1&seed=1`;
const t0 = Date.now();
await page.goto(url);
await page.waitForFunction((n) => document.querySelector('[data-testid="fleet-connected"]')?.textContent.trim() === n,
  String(count), { timeout: 120_000 });
const ready = Date.now() - t0;
const frames = await page.evaluate(() => new Promise((done) => {
  const deltas = [];
  let last = performance.now();
  const end = last + 10_000;
  const tick = (now) => {
    deltas.push(now - last);
    last = now;
    if (now < end) requestAnimationFrame(tick); else done(deltas);
  };
  requestAnimationFrame(tick);
}));
frames.sort((a, b) => a - b);
const pct = (p) => frames[Math.min(frames.length - 1, Math.floor(frames.length * p / 100))];
const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
const wasm = await page.evaluate(() => globalThis.thingsimWasmBytes?.() ?? 0);
const mb = (b) => (b / 1e6).toFixed(1);
const messages = await page.locator('[data-testid="fleet-rate-in"]').textContent();
// rAF deltas cannot go under the display's 16.7 ms: a frame over 20 ms is one the page missed.
const missed = frames.filter((d) => d > 20).length;
console.log(`${count} sandbox devices at 1 Hz: up in ${ready} ms; ${frames.length} frames in 10 s, interval p50 ${pct(50).toFixed(1)} ms, p95 ${pct(95).toFixed(1)} ms, max ${frames[frames.length - 1].toFixed(1)} ms, ${missed} missed (budget: p95 under 16 ms of work, i.e. no missed frames); heap JS ${mb(metrics.JSHeapUsedSize)} MB + wasm ${mb(wasm)} MB (budget 200 MB); ${messages.trim()} msg/s in`);
await browser.close();
