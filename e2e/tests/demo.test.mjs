// Journeys against the demo stack that `make demo` starts (scripts/test runs it on free ports
// and passes them in): the page it serves connects to the local broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { launch, DevicePage } from '../pages/device-page.mjs';

const APP_URL = process.env.APP_URL ?? 'http://127.0.0.1:8080/';
const WS_URL = process.env.THINGSIM_WS_URL ?? 'ws://127.0.0.1:8083/mqtt';
const MQTT_PORT = process.env.THINGSIM_MQTT_PORT ?? '1883';
const API_URL = process.env.THINGSIM_API_URL ?? 'http://127.0.0.1:8081';
mkdirSync(process.env.SCREENSHOT_DIR ?? 'screenshots', { recursive: true });

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function newDevicePage() {
  const page = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const device = new DevicePage(page);
  await device.open(APP_URL);
  return { device, errors };
}

test('the served page connects to the local broker and shows a delta sent to the thing', async () => {
  const { device, errors } = await newDevicePage();
  const thing = `e2e-thermostat-${Date.now()}`;
  await device.fill({ broker: WS_URL, clientId: `dev-${thing}`, thing });
  await device.connect();
  await device.waitForStatus('connected');

  // The cloud side, played by mosquitto_pub over the broker's TCP listener.
  const delta = '{"version":2,"timestamp":1748390400,"state":{"targetTemperature":24}}';
  execFileSync('mosquitto_pub', ['-h', '127.0.0.1', '-p', MQTT_PORT, '-q', '1',
    '-t', `$emqx/things/${thing}/shadow/update/delta`, '-m', delta]);
  await device.page.waitForFunction(
    () => document.querySelector('[data-testid="message-log"]')?.textContent.includes('targetTemperature'),
    null,
    { timeout: 10_000 },
  );
  assert.match(await device.logText(), /shadow\/update\/delta/);
  await device.screenshot('connected-with-delta');
  assert.deepEqual(errors, []);
  await device.page.close();
});

test('a thing name with a wildcard and a non-WebSocket URL are refused beside their fields', async () => {
  const { device } = await newDevicePage();
  await device.fill({ broker: 'http://127.0.0.1:8083/mqtt', thing: 'kitchen/#' });
  await device.connect();
  await device.page.waitForFunction(
    () => document.querySelector('[data-testid="thing-name-error"]')?.textContent.length > 0,
  );
  assert.match(await device.fieldError('thing-name'), /must not contain \/, \+ or #/);
  assert.match(await device.fieldError('broker-url'), /ws:\/\/ or wss:\/\//);
  assert.equal(await device.status(), 'not connected');
  await device.screenshot('validation-errors');
  await device.page.close();
});

test('desired state set through thingsim-cloud\'s API, from the page, reaches the device as a delta', async () => {
  const { device, errors } = await newDevicePage();
  const thing = `e2e-lamp-${Date.now()}`;
  await device.fill({ broker: WS_URL, clientId: `dev-${thing}`, thing });
  await device.connect();
  await device.waitForStatus('connected');

  // fetch() from the page's own origin: the cloud must answer CORS for the demo origin.
  const result = await device.page.evaluate(async ({ api, thing }) => {
    const json = { 'Content-Type': 'application/json' };
    const created = await fetch(`${api}/api/v1/things`, { method: 'POST', headers: json, body: JSON.stringify({ thingName: thing }) });
    const desired = await fetch(`${api}/api/v1/things/${thing}/shadow/desired`, {
      method: 'PUT', headers: json, body: JSON.stringify({ state: { desired: { brightness: 42 } } }),
    });
    return { created: created.status, desired: desired.status, body: await desired.json() };
  }, { api: API_URL, thing });
  // The page's device reported on connect, which registers the thing: 409 is as good as 201.
  assert.ok([201, 409].includes(result.created), `create: ${result.created}`);
  assert.equal(result.desired, 200);
  assert.ok(result.body.version >= 1, JSON.stringify(result.body));

  await device.page.waitForFunction(
    () => document.querySelector('[data-testid="message-log"]')?.textContent.includes('"brightness":42'),
    null,
    { timeout: 10_000 },
  );
  assert.match(await device.logText(), /shadow\/update\/delta/);
  await device.screenshot('delta-from-cloud-api');
  assert.deepEqual(errors, []);
  await device.page.close();
});

test('local mode: the thermostat follows desired state and runs a firmware job to SUCCEEDED', async () => {
  const { device, errors } = await newDevicePage();
  const thing = `e2e-thermo-${Date.now()}`;
  await device.fill({ broker: WS_URL, clientId: `dev-${thing}`, thing });
  await device.connect();
  await device.waitForStatus('connected');
  await device.byTestId('prop-targetTemperature').waitFor();

  const api = async (method, path, body) => device.page.evaluate(async ({ api, method, path, body }) => {
    const r = await fetch(`${api}${path}`, { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  }, { api: API_URL, method, path, body });

  // Registered already by the device's first report (409), or now (201).
  assert.ok([201, 409].includes((await api('POST', '/api/v1/things', { thingName: thing })).status));
  assert.equal((await api('PUT', `/api/v1/things/${thing}/shadow/desired`, { state: { desired: { targetTemperature: 24 } } })).status, 200);
  await device.page.waitForFunction(
    () => document.querySelector('[data-testid="prop-targetTemperature"]')?.value === '24', null, { timeout: 10_000 });

  const job = await api('POST', '/api/v1/jobs', {
    description: 'firmware 2.1.5', targets: { thingNames: [thing] },
    document: { action: 'updateFirmware', params: { version: '2.1.5' } },
  });
  assert.equal(job.status, 201);
  // The bar moves: some progress strictly between 0 and 100 is seen before the end.
  await device.page.waitForFunction(() => {
    const v = Number(document.querySelector('[data-testid="job-progress"]')?.value ?? 0);
    return v > 0 && v < 100;
  }, null, { timeout: 10_000 });
  await device.screenshot('job-in-progress');
  await device.page.waitForFunction(
    () => document.querySelector('[data-testid="job-status"]')?.textContent === 'SUCCEEDED', null, { timeout: 15_000 });
  assert.equal(await device.byTestId('job-progress').getAttribute('value'), '100');
  assert.match(await device.byTestId('prop-firmware').textContent(), /2\.1\.5/);
  const executions = await api('GET', `/api/v1/jobs/${job.body.jobId}/executions`);
  assert.equal(executions.body.data[0].status, 'SUCCEEDED');
  await device.screenshot('job-succeeded');
  assert.deepEqual(errors, []);
  await device.page.close();
});
