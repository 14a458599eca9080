// The fleet view's budgets on a real broker: N devices, each its own WebSocket and client id,
// connected at R a second through mosquitto on loopback, registered with thingsim-cloud, each
// reporting every second. Prints how long the N connections took and how many failed on the
// way (sampled every 100 ms), then main-thread frame times over 10 s and the heap.
//   node bench/fleet-broker.mjs APP_URL WS_URL API_URL KEY:SECRET [N] [RATE]
import { launch } from '../e2e/pages/device-page.mjs';
import { frames, heap, row } from './frames.mjs';

const [base, ws, api, apiKey, count = '200', rate = '20'] = process.argv.slice(2);
const [key, secret] = apiKey.split(':');
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
const cdp = await page.context().newCDPSession(page);
await cdp.send('Performance.enable');
const run = Date.now();
const q = new URLSearchParams({
  view: 'fleet', mode: 'local', broker: ws, api, apiKey: key, template: 'environment-sensor',
  count, telemetry: '1', rate, seed: '1', pattern: `bench-${run}-{n}`, group: `bench-${run}`,
});
await page.goto(`${base}?${q}`);
await page.locator('[data-testid="fleet-api-secret"]').fill(secret);
const figure = (id) => page.locator(`[data-testid="${id}"]`).first().textContent().then((t) => Number((t ?? '').trim()));
const t0 = Date.now();
await page.locator('[data-testid="fleet-start"]').click();
let worstFailed = 0;
let connected = 0;
while (connected < Number(count) && Date.now() - t0 < 120_000) {
  await page.waitForTimeout(100);
  connected = await figure('fleet-connected');
  worstFailed = Math.max(worstFailed, await figure('fleet-failed'));
}
const rampMs = Date.now() - t0;
const frameFigures = await frames(page);
const heapFigures = await heap(page, cdp);
const messages = (await page.locator('[data-testid="fleet-rate-in"]').textContent()).trim();
const finalFailed = await figure('fleet-failed');
const rampOk = connected === Number(count) && worstFailed === 0;
console.log(`${count} devices on mosquitto at ${rate}/s: ${connected} connected in ${(rampMs / 1000).toFixed(1)} s, ${worstFailed} failed at worst during the ramp${rampOk ? '' : ' (BUDGET MISSED)'}; then at 1 Hz each: ${frameFigures}; ${messages} msg/s in, ${finalFailed} failed; ${heapFigures}`);
row(`fleet view on mosquitto, ${count} devices (a WebSocket each) connected at ${rate}/s, then 1 Hz each`,
  `${connected} connected in ${(rampMs / 1000).toFixed(1)} s, ${worstFailed} failed at worst; ${frameFigures}; ${messages} msg/s in, ${finalFailed} failed; ${heapFigures}`,
  'all connect, none fail; no missed frames');
await browser.close();
