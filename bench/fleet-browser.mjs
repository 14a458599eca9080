// The fleet view's budgets in headless Chromium: N sandbox devices reporting every second,
// the grid visible; main-thread frame times (requestAnimationFrame deltas) over 10 s and the
// heap (JS, from Chromium's metrics, plus the module's linear memory). Prints figures.
//   node bench/fleet-browser.mjs http://127.0.0.1:PORT/ 1000
import { launch } from '../e2e/pages/device-page.mjs';
import { frames, heap, row } from './frames.mjs';

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
const frameFigures = await frames(page);
const heapFigures = await heap(page, cdp);
const messages = await page.locator('[data-testid="fleet-rate-in"]').textContent();
console.log(`${count} sandbox devices at 1 Hz: up in ${ready} ms; ${frameFigures} (budget: p95 under 16 ms of work, i.e. no missed frames); ${heapFigures} (budget 200 MB); ${messages.trim()} msg/s in`);
row(`fleet view, ${count} sandbox devices at 1 Hz each`, `up in ${ready} ms; ${frameFigures}; ${heapFigures}; ${messages.trim()} msg/s in`, 'no missed frames; heap < 200 MB');
await browser.close();
