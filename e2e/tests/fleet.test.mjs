// The fleet view (issue #15) in the page's sandbox: 50 devices from a seeded URL, a group
// roll-out with a 20 % failure mix that ends with exactly the expected counts, the grid's
// filter, and removal.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../pages/device-page.mjs';

const APP_URL = process.env.APP_URL ?? 'http://127.0.0.1:8080/';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const text = (page, id) => page.locator(`[data-testid="${id}"]`).first().textContent().then((t) => (t ?? '').trim());
const waitText = (page, id, re, timeout = 20_000) => page.waitForFunction(
  ({ id, source }) => new RegExp(source).test(document.querySelector(`[data-testid="${id}"]`)?.textContent ?? ''),
  { id, source: re.source }, { timeout });

test('fifty sandbox devices: a group roll-out with a seeded 20 % failure mix ends with exactly 40 succeeded and 10 failed', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  // Reachable from the console.
  await page.goto(APP_URL + '?connect=0');
  assert.equal(await page.locator('[data-testid="fleet-link"]').getAttribute('href'), '?view=fleet');

  const q = new URLSearchParams({ view: 'fleet', template: 'smart-light', count: '50', seed: '7', mix: 'fail:20@2', pattern: 'lamp-{n}', start: '1000' });
  await page.goto(`${APP_URL}?${q}`);
  await waitText(page, 'fleet-connected', /^50$/);
  assert.equal(await text(page, 'fleet-devices'), '50');
  assert.match(await page.locator('[data-testid="fleet-card"]').first().textContent(), /lamp-1000/);

  await page.locator('[data-testid="fleet-roll-out"]').click();
  await waitText(page, 'fleet-outcome', /rolling out to group fleet/);
  await waitText(page, 'fleet-job', /InProgress \d+/);
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? 'screenshots'}/fleet-mid-roll-out.png`, fullPage: true });
  await waitText(page, 'fleet-job', /^job [0-9a-f-]{36}: Failed 10 · Succeeded 40$/, 30_000);

  await page.locator('[data-testid="fleet-filter"]').selectOption('failed');
  await waitText(page, 'fleet-shown', /^10 devices shown$/);
  const failed = await page.locator('[data-testid="fleet-card"]').count();
  assert.equal(failed, 10);
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? 'screenshots'}/fleet-failed.png`, fullPage: true });

  // Removing all devices empties the fleet.
  await page.locator('[data-testid="fleet-step"]').fill('50');
  await page.locator('[data-testid="fleet-remove"]').click();
  await waitText(page, 'fleet-devices', /^0$/);
  await waitText(page, 'fleet-outcome', /removed; 0 left/);

  // Three hundred more: numbered on, and only the rows in view exist in the page.
  await page.locator('[data-testid="fleet-filter"]').selectOption('all');
  await page.locator('[data-testid="fleet-step"]').fill('300');
  await page.locator('[data-testid="fleet-add"]').click();
  await waitText(page, 'fleet-connected', /^300$/);
  const rendered = await page.locator('[data-testid="fleet-card"]').count();
  assert.ok(rendered > 0 && rendered < 100, `${rendered} of 300 cards in the page`);
  assert.match(await page.locator('[data-testid="fleet-card"]').first().textContent(), /lamp-1000/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a bad fleet URL says what is wrong instead of guessing', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${APP_URL}?view=fleet&template=toaster&mix=boom:5`);
  await waitText(page, 'fleet-errors', /template: no template "toaster"/);
  assert.match(await text(page, 'fleet-errors'), /unknown outcome "boom"/);
  await ctx.close();
});

const WS_URL = process.env.THINGSIM_WS_URL;
const API_URL = process.env.THINGSIM_API_URL;
const API_KEY = process.env.THINGSIM_API_KEY ?? '';

test('twenty devices on the local broker, each its own connection: a group roll-out through thingsim-cloud ends with exactly 16 succeeded and 4 failed', { skip: !(WS_URL && API_URL && API_KEY) && 'needs the demo stack' }, async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  const run = Date.now();
  const [key, secret] = API_KEY.split(':');
  const q = new URLSearchParams({
    view: 'fleet', mode: 'local', broker: WS_URL, api: API_URL, apiKey: key,
    template: 'smart-plug', count: '20', seed: '3', mix: 'fail:20@2',
    pattern: `e2e-plug-${run}-{n}`, group: `e2e-${run}`, rate: '20',
  });
  await page.goto(`${APP_URL}?${q}`);
  await page.locator('[data-testid="fleet-api-secret"]').fill(secret);
  await page.locator('[data-testid="fleet-start"]').click();
  await waitText(page, 'fleet-connected', /^20$/, 30_000);
  assert.equal(await text(page, 'fleet-failed'), '0');
  // Each its own client id on the broker: thingsim-cloud's group lists all twenty.
  const groups = await page.evaluate(async ({ api, auth }) => {
    const r = await fetch(`${api}/api/v1/thing-groups`, { headers: { Authorization: auth } });
    return r.json();
  }, { api: API_URL, auth: `Basic ${Buffer.from(API_KEY).toString('base64')}` });
  const mine = groups.data.find((g) => g.groupName === `e2e-${run}`);
  assert.equal(mine?.things.length, 20, JSON.stringify(mine));

  await page.locator('[data-testid="fleet-roll-out"]').click();
  await waitText(page, 'fleet-outcome', /rolling out to group e2e-/);
  await waitText(page, 'fleet-job', /: Failed 4 · Succeeded 16$/, 40_000);
  await page.screenshot({ path: `${process.env.SCREENSHOT_DIR ?? 'screenshots'}/fleet-broker.png`, fullPage: true });

  // Above what a browser can hold, it says so instead of trying.
  await page.locator('[data-testid="fleet-step"]').fill('181');
  await page.locator('[data-testid="fleet-add"]').click();
  await waitText(page, 'fleet-outcome', /255 WebSockets/);
  await page.locator('[data-testid="fleet-step"]').fill('20');
  await page.locator('[data-testid="fleet-remove"]').click();
  await waitText(page, 'fleet-devices', /^0$/);
  // Removed from the page is removed from thingsim-cloud's group too.
  let left;
  for (let i = 0; i < 50; i++) {
    const now = await page.evaluate(async ({ api, auth }) => {
      const r = await fetch(`${api}/api/v1/thing-groups`, { headers: { Authorization: auth } });
      return r.json();
    }, { api: API_URL, auth: `Basic ${Buffer.from(API_KEY).toString('base64')}` });
    left = now.data.find((g) => g.groupName === `e2e-${run}`)?.things.length;
    if (left === 0) break;
    await page.waitForTimeout(100);
  }
  assert.equal(left, 0, 'every member left the group');
  assert.deepEqual(errors, []);
  await ctx.close();
});
