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
