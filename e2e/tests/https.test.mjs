// The HTTPS device path (issue #6) against thingsim-cloud's ThingDatas API in the demo stack:
// the page's device reports, polls, posts events and runs jobs over fetch, with Basic auth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, cloudApi, DevicePage } from '../pages/device-page.mjs';

const APP_URL = process.env.APP_URL ?? 'http://127.0.0.1:8080/';
const API_URL = process.env.THINGSIM_API_URL ?? 'http://127.0.0.1:8081';
const API_KEY = process.env.THINGSIM_API_KEY ?? '';
const DEMO_RUN_DIR = process.env.THINGSIM_DEMO_RUN_DIR;
const [KEY, SECRET] = API_KEY.split(':');

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const api = (page, method, path, body) => cloudApi(page, { url: API_URL, key: API_KEY }, method, path, body);

async function httpsDevice(thing, secret) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const device = new DevicePage(page);
  const q = new URLSearchParams({ mode: 'local', api: API_URL, https: '1', apiKey: KEY, poll: '1', thing, connect: '0' });
  await device.open(`${APP_URL}?${q}`);
  await device.byTestId('api-secret').fill(secret);
  return { device, errors, ctx };
}

test('an HTTPS device reports, picks up desired state by polling, posts an event and runs a job', { skip: !API_KEY && 'needs THINGSIM_API_KEY' }, async () => {
  const thing = `e2e-https-${Date.now()}`;
  const { device, errors, ctx } = await httpsDevice(thing, SECRET);
  // ThingDatas serves registered things only.
  assert.equal((await api(device.page, 'POST', '/api/v1/things', { thingName: thing })).status, 201);
  await device.connect();
  await device.waitForStatus('connected');
  await device.waitForText('commands-unavailable', /not available over HTTPS/);

  // Report → the cloud's shadow has it.
  let shadow;
  for (let i = 0; i < 50; i++) {
    shadow = (await api(device.page, 'GET', `/api/v1/things/${thing}/shadow`)).body;
    if (shadow?.reported?.targetTemperature === 21) break;
    await device.page.waitForTimeout(100);
  }
  assert.equal(shadow.reported.targetTemperature, 21, JSON.stringify(shadow));

  // Desired on the cloud → the next poll → converged.
  assert.equal((await api(device.page, 'PUT', `/api/v1/things/${thing}/shadow/desired`, { state: { desired: { targetTemperature: 26 } } })).status, 200);
  await device.page.waitForFunction(
    () => document.querySelector('[data-testid="prop-targetTemperature"]')?.value === '26', null, { timeout: 10_000 });
  await device.waitForText('shadow-polling', /polled every 1 s · last poll/);

  // An event.
  await device.byTestId('event-kind').fill('https-alarm');
  await device.byTestId('event-send').click();
  await device.waitForText('events-sent', /last: https-alarm/);
  if (DEMO_RUN_DIR) {
    for (let i = 0; i < 50 && !readFileSync(`${DEMO_RUN_DIR}/cloud.log`, 'utf8').includes(`thing=${thing} kind=https-alarm`); i++) {
      await device.page.waitForTimeout(100);
    }
    assert.match(readFileSync(`${DEMO_RUN_DIR}/cloud.log`, 'utf8'), new RegExp(`device event thing=${thing} kind=https-alarm`));
  }

  // A job from the cloud panel (management API), run over the ThingDatas job endpoints.
  await device.cloud({ 'cloud-job': '{"action": "updateFirmware", "params": {"version": "4.0.0"}}' }, 'cloud-create-job');
  await device.waitForText('job-status', 'SUCCEEDED', 30_000);
  const jobId = (await device.text('cloud-outcome')).match(/job "?([\w-]+)/)[1];
  const executions = await api(device.page, 'GET', `/api/v1/jobs/${jobId}/executions`);
  assert.equal(executions.body.data[0].status, 'SUCCEEDED');

  // The log lists requests and answers, never the secret.
  await device.byTestId('log-filter').fill('thing-datas/jobs');
  await device.page.waitForFunction(() => document.querySelector('[data-testid="message-log"]')?.textContent.includes('/update'));
  const log = await device.text('message-log');
  assert.match(log, /POST \/api\/v1\/thing-datas\/jobs\/[\w-]+\/update \(auth: Basic ••••\)/);
  assert.ok(!log.includes(SECRET), 'the secret is in the log');
  await device.byTestId('log-filter').fill('');
  await device.screenshot('https-device');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('an HTTPS device with a wrong secret says so and keeps running', { skip: !API_KEY && 'needs THINGSIM_API_KEY' }, async () => {
  const thing = `e2e-https-bad-${Date.now()}`;
  const { device, errors, ctx } = await httpsDevice(thing, 'not-the-secret');
  await device.connect();
  await device.waitForText('conn-status', /reconnecting in \d+ s — 401: the API key and secret were refused/);
  // The device still works locally, and a corrected secret is one reconnect away.
  await device.byTestId('prop-power').click();
  await device.connect(); // Disconnect
  await device.waitForStatus('offline');
  await device.byTestId('api-secret').fill(SECRET);
  await api(device.page, 'POST', '/api/v1/things', { thingName: thing });
  await device.connect();
  await device.waitForStatus('connected');
  await device.screenshot('https-wrong-secret-then-fixed');
  assert.deepEqual(errors, []);
  await ctx.close();
});
