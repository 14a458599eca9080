// thingsim's page and mqtt.js side by side in the same headless Chromium, against the same
// mosquitto on loopback: size, cold load to connected, inbound messages a second and the shadow
// round trip. Prints a table and writes it, with the machine and versions, to OUT (BENCHMARKS.md).
//   node bench/browser.mjs DIST_DIR ws://127.0.0.1:WS/mqtt TCP_PORT OUT
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { gzipSync, brotliCompressSync, constants } from 'node:zlib';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { launch } from '../e2e/pages/device-page.mjs';
import { serve } from './serve.mjs';
import { blaster, brokerPace, floodPayload, timedFlood } from './blaster.mjs';
import { connected, hostedConsole, watchSocketMessages } from './hosted.mjs';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const mqtt = require('mqtt');
const mqttPacket = require('mqtt-packet');
const [dist, wsUrl, tcpPort, out] = process.argv.slice(2);

// One server for both pages: the release app, and mqtt.js's bundle with its bench page.
const server = await serve(dist);
const { base, MQTTJS } = server;
const browser = await launch();
const chromium = `Chromium ${browser.version()}`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.round((s.length - 1) * p))]; };
const unique = (p) => `${p}-${Math.floor(Math.random() * 1e9)}`;

async function peer(id) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcpPort}`, { clientId: id, protocolVersion: 5 });
  client.stream.setNoDelay?.(true);
  return client;
}

// A thingsim page with its own device on the broker, connected and subscribed.
async function thingsimPage(thing, template = 'thermostat', extra = {}, init = []) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  for (const script of init) await page.addInitScript(script);
  const q = new URLSearchParams({ mode: 'broker', broker: wsUrl, thing, client: `dev-${thing}`, template, connect: '1', ...extra });
  await page.goto(`${base}/?${q}`);
  await page.waitForFunction(connected, null, { timeout: 30_000, polling: 'raf' });
  const ms = await page.evaluate(() => performance.now());
  return { page, ms };
}

async function mqttjsPage(thing) {
  const page = await browser.newPage();
  await page.goto(`${base}/mqttjs.html`);
  const ms = await page.evaluate(([url, t]) => window.bench.connect(url, t), [wsUrl, thing]);
  return { page, ms };
}

// -- sizes --
const sizes = (files) => {
  const all = Buffer.concat(files.map((f) => readFileSync(f)));
  const each = files.map((f) => readFileSync(f));
  const sum = (g) => each.reduce((n, b) => n + g(b), 0);
  return {
    raw: all.length,
    gzip: sum((b) => gzipSync(b, { level: 9 }).length),
    brotli: sum((b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length),
  };
};
const appFiles = readdirSync(dist).filter((f) => /^(thingsim_bg\.wasm|thingsim\.js|loader\.js|main\.css)$/.test(f)).map((f) => `${dist}/${f}`);
const ours = sizes(appFiles);
const theirs = sizes([MQTTJS]);

// -- cold load to connected (five fresh pages each) --
const loads = { thingsim: [], mqttjs: [] };
for (let i = 0; i < 5; i++) {
  const a = await thingsimPage(unique('bench-load'));
  loads.thingsim.push(a.ms);
  await a.page.close();
  const b = await mqttjsPage(unique('bench-load'));
  loads.mqttjs.push(b.ms);
  await b.page.close();
}

// -- inbound: N messages on a topic the device subscribes to, from a native publisher --
async function inbound(n, qos) {
  const thing = unique('bench-in');
  const pub = await blaster(tcpPort, `pub-${thing}`);
  const bytes = pub.packets(`$emqx/things/${thing}/shadow/update`, n, qos, floodPayload);
  // thingsim: the log counts every message the page decoded, parsed and kept. Its count on
  // screen redraws at most ten times a second, so the page also notes when it finished with
  // the flood's last PUBLISH (mosquitto sends one MQTT packet a WebSocket message): a
  // microtask queued after each message's handler runs after the run loop's turn, the log's
  // push included.
  const { page } = await thingsimPage(thing, 'thermostat', {}, [watchSocketMessages, () => {
    window.flood = { n: Infinity, seen: 0, last: 0, done: 0 };
    window.afterSocketMessage = (e) => {
      const publish = e.data instanceof ArrayBuffer && e.data.byteLength > 0 && new Uint8Array(e.data, 0, 1)[0] >> 4 === 3;
      if (!publish) return;
      queueMicrotask(() => {
        const f = window.flood;
        f.seen += 1;
        f.last = performance.timeOrigin + performance.now();
        if (f.seen === f.n) f.done = f.last;
      });
    };
  }]);
  const logged = () => page.evaluate(() => Number(/of (\d+)/.exec(document.querySelector('[data-testid="log-count"]').textContent)[1]));
  const before = await logged();
  await page.evaluate((k) => { window.flood = { n: k, seen: 0, last: 0, done: 0 }; }, n);
  const shown = await timedFlood(pub, bytes, n, async () => (await logged()) - before);
  const flood = await page.evaluate(() => window.flood);
  const inLog = flood.done ? { count: n, at: flood.done } : { count: flood.seen, at: flood.last };
  const ours = { count: inLog.count, rate: inLog.count / ((inLog.at - shown.started) / 1000), shown: shown.rate };
  await page.close();
  // mqtt.js plus JSON.parse in the same browser, its last message stamped in its page too.
  const other = await mqttjsPage(thing);
  const done = other.page.evaluate((k) => window.bench.inbound(k), n);
  const started = performance.timeOrigin + performance.now();
  pub.send(bytes);
  const r = await done;
  const theirs = { rate: r.count / ((r.lastAt - started) / 1000), count: r.count };
  await other.page.close();
  pub.end();
  return { ours, theirs };
}
// The browser's own ceiling for the same flood: a page that only counts WebSocket messages and
// answers each QoS 1 one with a PUBACK; no MQTT decoding, no JSON, nothing drawn.
async function bare(n, qos) {
  const page = await browser.newPage();
  await page.goto(`${base}/mqttjs.html`);
  const topic = unique('bare');
  const connect = [...mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: topic, keepalive: 0 })];
  const subscribe = [...mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] })];
  await page.evaluate(([url, c, sub, q]) => new Promise((subscribed) => {
    const ws = new WebSocket(url, 'mqtt');
    ws.binaryType = 'arraybuffer';
    window.count = 0;
    let seen = 0;
    ws.onopen = () => ws.send(new Uint8Array(c));
    ws.onmessage = (e) => {
      seen += 1;
      if (seen === 1) { ws.send(new Uint8Array(sub)); return; }
      if (seen === 2) { subscribed(); return; }
      window.count += 1;
      if (q) {
        // PUBLISH: header, remaining length (varint), topic length and topic, packet id.
        const b = new Uint8Array(e.data);
        let i = 1;
        while (b[i] & 0x80) i += 1;
        i += 1;
        i += 2 + ((b[i] << 8) | b[i + 1]);
        ws.send(new Uint8Array([0x40, 2, b[i], b[i + 1]]));
      }
    };
  }), [wsUrl, connect, subscribe, qos]);
  const pub = await blaster(tcpPort, `pub-${topic}`);
  const result = await timedFlood(pub, pub.packets(topic, n, qos, floodPayload), n, () => page.evaluate(() => window.count));
  pub.end();
  await page.close();
  return result;
}

const in0 = await inbound(20_000, 0);
const in1 = await inbound(20_000, 1);
const pace0 = await brokerPace(tcpPort, wsUrl, 20_000, 0, floodPayload);
const pace1 = await brokerPace(tcpPort, wsUrl, 20_000, 1, floodPayload);
const bare0 = await bare(20_000, 0);
const bare1 = await bare(20_000, 1);

// -- the message log's filter over 100,000 lines: from the keystroke's input event to the frame
// that shows the count of matching lines (median of 5 each: a filter nothing matches, one every
// line matches, and back to none) --
async function filterTimes() {
  const thing = unique('bench-filter');
  const { page } = await thingsimPage(thing);
  const pub = await blaster(tcpPort, `pub-${thing}`);
  const n = 100_000;
  const full = () => page.evaluate(() => /of 100000 messages/.test(document.querySelector('[data-testid="log-count"]').textContent));
  pub.send(pub.packets(`$emqx/things/${thing}/shadow/update`, n, 1, floodPayload));
  for (let t0 = performance.now(); !(await full()) && performance.now() - t0 < 60_000;) await new Promise((r) => setTimeout(r, 100));
  pub.end();
  if (!(await full())) throw new Error(`the log did not fill: ${await page.locator('[data-testid="log-count"]').textContent()}`);
  const filter = (value, shows) => page.evaluate(([value, shows]) => new Promise((done) => {
    const input = document.querySelector('[data-testid="log-filter"]');
    const count = document.querySelector('[data-testid="log-count"]');
    const t0 = performance.now();
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const check = () => {
      if (new RegExp(shows).test(count.textContent)) requestAnimationFrame(() => done(performance.now() - t0));
      else requestAnimationFrame(check);
    };
    check();
  }), [value, shows]);
  const none = [], all = [];
  for (let i = 0; i < 5; i++) {
    none.push(await filter('no-such-topic', '^0 of 100000'));
    all.push(await filter('shadow/update', '^100000 of 100000'));
  }
  await page.close();
  return { none: median(none), all: median(all) };
}
const filtered = await filterTimes();

// -- outbound: N events the page publishes at QoS 1, counted at a native subscriber --
// In bursts of 1,000: the device keeps at most 1,000 publishes waiting for the broker's
// Receive Maximum (mosquitto announces 20) and drops the oldest past that, saying so, so a
// burst of 20,000 at once would measure the drops. Each burst is delivered before the next.
const BURST = 1000;
async function outbound(n) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const run = async (thing, publish) => {
    const sub = await peer(`sub-${thing}`);
    await sub.subscribeAsync(`$emqx/things/${thing}/events/bench`, { qos: 1 });
    let count = 0, last = 0;
    sub.on('message', () => { count++; last = performance.now(); });
    const t0 = performance.now();
    for (let from = 0; from < n; from += BURST) {
      const k = Math.min(BURST, n - from);
      await publish(from, k);
      // Until this burst has come, or none for 3 s.
      let seen = -1, quiet = performance.now();
      while (count < from + k && performance.now() - quiet < 3000) {
        await sleep(2);
        if (count !== seen) { seen = count; quiet = performance.now(); }
      }
    }
    await sub.endAsync();
    return { rate: Math.min(count, n) / ((last - t0) / 1000), count };
  };
  // thingsim: a host page drives the console in an iframe through its postMessage API
  // (thingsim:publishEvent, each answered), as a docs page would.
  let thing = unique('bench-out');
  const { host, publishEvents } = await hostedConsole(browser, base, wsUrl, thing);
  const ours = await run(thing, publishEvents);
  await host.close();
  // mqtt.js publishing the same events from its page.
  thing = unique('bench-out');
  const other = await mqttjsPage(thing);
  const theirs = await run(thing, (from, k) => other.page.evaluate(([t, from, k]) => window.bench.outbound(t, from, k), [thing, from, k]));
  await other.page.close();
  return { ours, theirs };
}
const out1 = await outbound(20_000);

// -- shadow round trip, 1,000 rounds: from a change of desired to the device's report of it,
// as a native peer on the broker sees the report. `ask(i, value)` makes the change: a delta
// published straight to the device, or desired set through thingsim-cloud's HTTP API (which
// commits it, then publishes the delta).
async function roundTrips(thing, rounds, ask) {
  const pub = await peer(`rt-${thing}`);
  const reports = `$emqx/things/${thing}/shadow/update`;
  await pub.subscribeAsync(reports, { qos: 1 });
  const times = [];
  let waiting = null;
  pub.on('message', (topic, payload) => {
    if (!waiting) return;
    const body = JSON.parse(payload.toString());
    if (body?.state?.reported?.targetTemperature === waiting.value) waiting.resolve();
  });
  for (let i = 0; i < rounds; i++) {
    // Every value differs from the last, so every round changes something.
    const value = 10 + (i % 40) * 0.5;
    const got = new Promise((resolve) => { waiting = { value, resolve }; });
    const t0 = performance.now();
    const asked = ask(pub, i, value);
    await Promise.race([Promise.all([got, asked]), new Promise((_, no) => setTimeout(() => no(new Error(`round ${i}: no report in 5 s`)), 5_000))]);
    times.push(performance.now() - t0);
  }
  await pub.endAsync();
  return times;
}
const viaDelta = (thing) => async (pub, i, value) => {
  pub.publish(`$emqx/things/${thing}/shadow/update/delta`,
    JSON.stringify({ version: i + 2, timestamp: Math.floor(Date.now() / 1000), state: { targetTemperature: value } }), { qos: 1 });
};
// thingsim-cloud, when the run names its binary (scripts/bench: the release build): started
// on the same broker only for its own rounds, since it reads every shadow topic and would
// compete with the floods above.
const cloudBin = process.env.THINGSIM_BENCH_CLOUD;
const apiKey = `bench:${randomBytes(12).toString('hex')}`;
let apiUrl = null;
async function startCloud() {
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  const data = mkdtempSync(`${os.tmpdir()}/thingsim-bench-cloud-`);
  const child = spawn(cloudBin, ['--broker', `127.0.0.1:${tcpPort}`, '--http', `127.0.0.1:${port}`, '--data', data],
    { env: { ...process.env, THINGSIM_ADMIN_KEY: apiKey }, stdio: 'ignore' });
  apiUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try { await api('GET', '/api/v1/things'); break; } catch (e) {
      if (i > 300) throw new Error(`thingsim-cloud did not answer on ${apiUrl}: ${e.message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return () => { child.kill(); rmSync(data, { recursive: true, force: true }); };
}
async function api(method, path, body) {
  const r = await fetch(`${apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from(apiKey).toString('base64')}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}
const viaCloud = (thing) => async (pub, i, value) => {
  await api('PUT', `/api/v1/things/${encodeURIComponent(thing)}/shadow/desired`, { state: { desired: { targetTemperature: value } } });
};
// Both devices: thingsim's console page with its log paused (it would grow by two lines a
// round, which is not what is measured), and mqtt.js's ten-line device in its page.
async function roundTripsOf(ask) {
  let thing = unique('bench-rt');
  if (apiUrl) await api('POST', '/api/v1/things', { thingName: thing });
  const a = await thingsimPage(thing);
  await a.page.locator('[data-testid="log-pause"]').click().catch(() => {});
  const ours = await roundTrips(thing, 1000, ask(thing));
  await a.page.close();
  thing = unique('bench-rt');
  if (apiUrl) await api('POST', '/api/v1/things', { thingName: thing });
  const b = await mqttjsPage(thing);
  await b.page.evaluate((t) => window.bench.device(t), thing);
  const theirs = await roundTrips(thing, 1000, ask(thing));
  await b.page.close();
  return { ours, theirs };
}
const rt = await roundTripsOf(viaDelta);
let rtCloud = null;
if (cloudBin) {
  const stopCloud = await startCloud();
  try {
    // The cloud's first few hundred writes are slower (its database warming up), which would
    // favour whichever device went second: 300 rounds first with a native device, not counted.
    const thing = unique('bench-warm');
    await api('POST', '/api/v1/things', { thingName: thing });
    const device = await peer(`dev-${thing}`);
    await device.subscribeAsync(`$emqx/things/${thing}/shadow/update/delta`, { qos: 1 });
    device.on('message', (topic, payload) => device.publish(`$emqx/things/${thing}/shadow/update`,
      JSON.stringify({ state: { reported: JSON.parse(payload.toString()).state } }), { qos: 1 }));
    await roundTrips(thing, 300, viaCloud(thing));
    await device.endAsync();
    rtCloud = await roundTripsOf(viaCloud);
  } finally { stopCloud(); }
}

await browser.close();
server.close();

// -- the table --
const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
const ratio = (x, y) => `${(x / y).toFixed(2)}×`;
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);
const rows = [
  ['size, raw (wasm + JS + CSS)', kb(ours.raw), kb(theirs.raw), ratio(ours.raw, theirs.raw), 'gzip ≤ 200 KB (north star < mqtt.js)'],
  ['size, gzip level 9 (node\'s zlib)', kb(ours.gzip), kb(theirs.gzip), ratio(ours.gzip, theirs.gzip), '≤ 200 KB'],
  ['size, brotli 11', kb(ours.brotli), kb(theirs.brotli), ratio(ours.brotli, theirs.brotli), ''],
  ['cold load → connected and subscribed (ms, median of 5)', f0(median(loads.thingsim)), f0(median(loads.mqttjs)), ratio(median(loads.thingsim), median(loads.mqttjs)), '< 300 ms'],
  ['inbound QoS 0, 20,000 JSON messages, to the last one in the log (msg/s; received)', `${f0(in0.ours.rate)} (${in0.ours.count})`, `${f0(in0.theirs.rate)} (${in0.theirs.count})`, ratio(in0.ours.rate, in0.theirs.rate), '≥ 1.5× mqtt.js'],
  ['inbound QoS 1, 20,000 JSON messages, to the last one in the log (msg/s; received)', `${f0(in1.ours.rate)} (${in1.ours.count})`, `${f0(in1.theirs.rate)} (${in1.theirs.count})`, ratio(in1.ours.rate, in1.theirs.rate), '≥ 1.5× mqtt.js'],
  ['(the same, to the log\'s count on screen) QoS 0 / QoS 1 (msg/s)', `${f0(in0.ours.shown)} / ${f0(in1.ours.shown)}`, '', `${ratio(in0.ours.shown, in0.theirs.rate)} / ${ratio(in1.ours.shown, in1.theirs.rate)}`, ''],
  ['(reference) the same flood to a bare WebSocket page that only counts, QoS 0 / QoS 1 (msg/s)', `${f0(bare0.rate)} / ${f0(bare1.rate)}`, '', '', 'the browser\'s ceiling'],
  ['(reference) the same flood to a native WebSocket subscriber, QoS 0 / QoS 1 (msg/s)', `${f0(pace0.rate)} / ${f0(pace1.rate)}`, '', '', 'the broker\'s pace'],
  ['message log filter over 100,000 lines, to the frame showing the result: none match / all match (ms, median of 5)', `${f0(filtered.none)} / ${f0(filtered.all)}`, '', '', '< 50 ms'],
  ['outbound QoS 1, 20,000 events in bursts of 1,000 (msg/s; at a native subscriber)', `${f0(out1.ours.rate)} (${out1.ours.count})`, `${f0(out1.theirs.rate)} (${out1.theirs.count})`, ratio(out1.ours.rate, out1.theirs.rate), '≥ 1.0× mqtt.js'],
  ['shadow round trip p50 (ms, 1,000 rounds: delta published → report)', f1(pct(rt.ours, 0.5)), f1(pct(rt.theirs, 0.5)), ratio(pct(rt.ours, 0.5), pct(rt.theirs, 0.5)), ''],
  ['shadow round trip p99 (ms)', f1(pct(rt.ours, 0.99)), f1(pct(rt.theirs, 0.99)), ratio(pct(rt.ours, 0.99), pct(rt.theirs, 0.99)), '< 5 ms'],
  ...(rtCloud ? [
    ['desired set on thingsim-cloud → report, p50 (ms, 1,000 rounds)', f1(pct(rtCloud.ours, 0.5)), f1(pct(rtCloud.theirs, 0.5)), ratio(pct(rtCloud.ours, 0.5), pct(rtCloud.theirs, 0.5)), ''],
    ['desired set on thingsim-cloud → report, p99 (ms)', f1(pct(rtCloud.ours, 0.99)), f1(pct(rtCloud.theirs, 0.99)), ratio(pct(rtCloud.ours, 0.99), pct(rtCloud.theirs, 0.99)), ''],
  ] : []),
  // The fleet view's figures, from the runs scripts/bench made before this one.
  ...(process.env.BENCH_ROWS && existsSync(process.env.BENCH_ROWS)
    ? readFileSync(process.env.BENCH_ROWS, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((r) => [r.figure, r.thingsim, '', '', r.target])
    : []),
];
const table = [
  '| figure | thingsim | mqtt.js 5.16 | thingsim / mqtt.js | target |',
  '|---|---:|---:|---:|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
console.log(table);

// mosquitto -h prints its version and exits 3: the output counts, not the status.
const version = (cmd, args) => {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch (e) {
    return (e.stdout ?? '').split('\n')[0].trim() || 'unknown';
  }
};
const cpu = os.cpus()[0]?.model ?? 'unknown';
const doc = `# Benchmarks

One run of \`make bench\`'s browser part (\`bench/browser.mjs\`), written by it on ${new Date().toISOString().slice(0, 10)}.
Both sides run in the same headless Chromium against the same mosquitto on loopback (no
persistence, \`set_tcp_nodelay true\`, \`max_queued_messages 0\`); thingsim is the release build
that ships (LTO, wasm-opt -Oz; the toolchain below). The inbound publisher is native and not
the bottleneck: all 20,000 PUBLISH packets are built first and written to the broker in one go
over a raw MQTT 3.1.1 socket (\`bench/blaster.mjs\`); the reference row shows how fast mosquitto
delivers them to a native WebSocket subscriber in the same run. The round-trip peer is node +
mqtt.js over TCP, Nagle off.

- thingsim: the console page in "any broker" mode, its thermostat device connected; a message
  counts once the page has decoded it, parsed it and put it in the message log.
- mqtt.js: \`mqtt.min.js\` in a page of its own (\`bench/mqttjs-page.html\`), subscribed to the
  same 13 filters, \`JSON.parse\` on every message; for the round trip, a device of ten lines
  that answers each delta with a report.

Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}.
Versions: ${chromium}; ${version('mosquitto', ['-h'])}; node ${process.version}; release build: ${process.env.THINGSIM_RELEASE_TOOLCHAIN ?? version('rustc', ['--version'])}.

${table}

Cold load is from navigation to the page's own "connected · subscribed 13/13" (thingsim) or to
the SUBACK of the same filters (mqtt.js), five fresh pages each. Inbound is from the first
publish to the last message counted: for thingsim, the moment the page had finished with the
flood's last PUBLISH (the page counts them itself; that message is then in the log), and in a
row of its own, the moment the log's count on screen, which redraws at most ten times a second,
reached the flood's size; for mqtt.js, the \`JSON.parse\` of the last message, stamped in its
page the same way. The round trip is from the delta's publish to the report
that carries its value, as the peer sees them.${rtCloud ? `
The cloud's round trip is from the \`PUT …/shadow/desired\` to thingsim-cloud (release build, on
the same broker, started only for these rounds, its SQLite in a temporary folder) to both the
report that carries the value and the PUT's answer: the cloud commits desired, answers, and
publishes the delta. The devices are the same two; 300 rounds with a native device go first,
not counted, since the cloud's first writes are slower.` : `
The cloud's round trip was not measured in this run: it needs THINGSIM_BENCH_CLOUD naming a
thingsim-cloud binary (scripts/bench gives its release build).`}

Outbound is from the first request to the last event a native subscriber received, in bursts
of 1,000 (each delivered before the next; thingsim's device holds at most 1,000 publishes
waiting for the broker's Receive Maximum and drops the oldest past that): thingsim's
events are asked for by a host page through the console's postMessage API
(\`thingsim:publishEvent\`, each answered), mqtt.js's are \`publish\` calls in its page.

The filter: the log is filled with 100,000 QoS 1 messages from the same native publisher, then
a filter is typed (its input event) and timed to the first frame after the page's count of
matching lines is right; mqtt.js has no log to filter. The fleet view's rows come from the
same \`make bench\` run, just before this part (\`bench/fleet-browser.mjs\`, sandbox devices;
\`bench/fleet-broker.mjs\`, one WebSocket per device on a mosquitto and a thingsim-cloud of their
own); mqtt.js has no fleet view to compare.

## What moved the figures, and what is left

- Size: release builds on nightly rebuild std for size and abort on panic without message
  or location (12 % less gzip), and use wasm SIMD (1.7 % less). Ordered maps are sorted
  \`Vec\`s (\`thingsim_fleet::vec_map\`) instead of one B-tree per key and value type (7 %
  less), JSON is read from bytes only, and the panels' short lists are \`Vec\`s. Three parts
  of \`core\` had come in through a few calls each: its float parser and 10 KB of tables (a
  slider's value, now the browser's \`valueAsNumber\`; 3.8 % less), Unicode's case tables (the
  log filter, now ASCII; 1.4 % less) and its float formatter (faces, charts and messages now
  format numbers with integer arithmetic or serde_json's writer; 1.6 % less). CSS, HTML and
  JavaScript ship minified (1 % less). The MQTT codec is our own, for the packets a client
  sends and reads, in place of mqtt-protocol-core's client and server with its connection
  state machine (11 % less; \`make sizes\`: 350,588 → 310,831 B gzip). Each module's functions
  are put in an order gzip compresses better, alike ones side by side within its 32 KB window
  (\`scripts/order-functions\`; 3.7 % less, 311.4 → 299.9 KB). The shadow timeline's rows,
  drawn by hand instead of by a keyed list, took 1.5 KB off, and the message log's rows
  drawn the same way 3.9 KB (Leptos's keyed list is gone from the console's module). The
  panels take the memos and signals the app holds as they are, instead of each wrapped in
  a \`Signal\` of its own value type, and a face's readings are closures: 8.2 KB less
  (\`make sizes\`: 296,367 → 288,152 B), with no \`Signal\` type left in the module. The
  documents every peer sends are read by a reader of our own (\`thingsim_fleet::json\`),
  which does the work that does not depend on the type outside the generic code and
  refuses a struct written as an array, so no type carries a second reader for that form:
  2.7 KB less without the function order, 1.7 KB with it (\`make sizes\`: 282,792 →
  281,111 B). A JSON value it reads as serde_json does, numbers bit for bit, held to it by
  property tests and a fuzz target; natively it takes 3–8 % longer. The device panel's
  controls, built by hand (\`shell::dom\`) instead of by a \`view!\` per kind of control:
  0.6 KB less without the function order; the guide's steps without a memo of their own
  type (Leptos's memo code is compiled for each value type, 0.25–0.7 KB apiece): 0.5 KB
  less. The sixteen Fleets documents' types are read from the JSON value field by field
  (\`thingsim_fleet::fields\`, held to serde's derive by property tests) instead of by the
  derive, a visitor each, and the reader builds values itself, so no serde reading code is
  left: 10.7 KB less without the function order. Values become text through serde_json's
  writer into bytes, not \`Display\`, pretty JSON comes from an indenter of our own, maps of
  a few keys are filled by \`insert\`, and HTTP failures are worded without gloo's \`Display\`
  (which brought serde_json's messages): 2.6 KB less. Names in messages are quoted by
  \`thingsim_mqtt::quoted\`, not \`{:?}\`, which brought core's Unicode tables: 3.3 KB less.
  LLVM's inline threshold is -5 for release builds: 2.0 KB less with the function order;
  wasm-opt's last pass folds \`pointer + constant\` into load and store offsets
  (\`--low-memory-unused\`; the two differ only for an add that wraps past 4 GiB, which no
  Rust access does): 1.6 KB less; wasm-streams'
  exported classes, which no page uses, are taken out after wasm-bindgen: 1.3 KB less
  (and out of the JavaScript glue: 0.4 KB less, after the run above).
  Together, \`make sizes\`: 279,717 → 258,323 B (fleet view 337,525 → 318,833 B). Then the
  console left Leptos's view layer: every panel is a function that builds into
  \`shell::dom::Node\`, its static markup a literal the browser parses, what changes written
  by one effect each and the parts that come and go rebuilt in a slot
  (\`components::region\`): 258,739 → 217,736 B (fleet view 319,403 → 300,295 B), the largest
  step of all. The rest is spread thin (README, Sizes). Measured with names kept, as the
  gzip bytes each part adds (the parts overlap: a generic function counts for each crate
  its name holds): \`app.rs\`'s functions about 50 KB (the console's closures, with the
  runners and the device code they inline), the components' 20 KB and the shells' 27 KB,
  Leptos's reactive layer with its instantiations for our types about 20 KB, thingsim-fleet
  about 52 KB, thingsim-mqtt 11 KB, serde and serde_json 9 KB (serde_json's writer, its
  map and the \`Value\` code). Then the console's signals, memos and effects became our own
  (\`crates/reactive\`; Leptos stays in the fleet view only): 218,099 → 206,075 B; and bodies
  built as values rather than through serde_json's \`Value\` serializer, and the shells'
  inboxes a single-threaded channel: → 205,817 B. Then serde_json's map became one sorted
  vector (a patched copy; every map built from many entries at once is sorted once, so a
  hostile object's keys in descending order cost no more than others): → 202,048 B; the
  fleet view's rules a stylesheet of their own: → 201,598 B; and the console's module built
  without Leptos at all (a cargo feature the fleet view alone turns on), which took out the
  exports and strings Leptos's server functions had left in it: → 196,949 B, under the
  200 KB target. The sandbox's cloud loads with the default page, so a module of its own
  would not make the page lighter. This build (its own signals, no Leptos) against the one
  this session's work started from (1ef4f46, Leptos's signals), interleaved with
  \`bench/profile.mjs\`, three runs each: shadow round trip p99 4.5, 5.2 and 6.1 ms against
  6.2, 5.6 and 5.9 ms (p50 0.6–0.7 ms both); inbound QoS 1 16.1k–17.5k against 16.1k–16.9k
  msg/s; inbound QoS 0 14.8k–18.3k against 16.3k–17.1k msg/s (means 16.3k and 16.8k).
  Neither moved beyond the noise, which is as wide as the two \`make bench\` runs of this
  build show (inbound 0.95× and 1.12× mqtt.js for QoS 0, p99 5.0 and 5.3 ms).
- Inbound: the runner sends what one pass produced as one WebSocket message and holds bare
  PUBACKs until the frames already queued are read (20,003 \`send\` calls for 20,000 QoS 1
  messages became 84); the panels redraw once per burst. The reference rows show where the
  limits are: mosquitto delivers the flood to a native WebSocket subscriber five to ten times
  faster than either page reads it, and a bare page that only counts WebSocket messages (no
  MQTT, no JSON, nothing drawn) reads QoS 0 about 1.5 to 2 times faster than either client,
  and QoS 1 slower than thingsim (it sends a PUBACK per message). A trace of thingsim's page
  in the QoS 0 flood: the main thread is busy 91 % of the run in some 20,000 tasks, one per
  WebSocket message; script (decoding, JSON, state, the log) is under a third of that, the
  browser's own handling of each message most of the rest. 1.5× mqtt.js would be at or past
  the bare page's pace on this machine. The headline rows stop thingsim's clock when the page
  has finished with the flood's last message (it is then in the log), as mqtt.js's stops at
  its last \`JSON.parse\`; the row below waits for the log's count on screen, which redraws at
  most ten times a second (0.3–12 % lower in six paired runs). Either client's figure moves by
  a fifth from run to run here: thingsim's QoS 1 flood, four runs each of three builds of this
  session (\`bench/profile.mjs\`), read 13.1k–18.4k msg/s, no build slower than another.
  The build of 2026-11-28 (smaller by 18 KB) against the one it started from, interleaved,
  four runs each: 13.0k–14.9k against 13.8k–15.6k msg/s (means 13.8k and 14.9k; the flood
  is not JSON the device reads, only MQTT and the log), and earlier that day 15.4k–15.9k
  against 15.7k–18.2k: within the spread, perhaps a few percent slower. The same build
  without the lower inline threshold was no faster (11.8k–14.9k). The panels built by hand
  against the build before them, interleaved, four runs each: 13.9k–17.3k against
  14.5k–17.6k msg/s (means 15.4k and 15.9k), and cold load to connected, twelve pages each:
  median 226 against 248 ms.
- Outbound: thingsim keeps at most the broker's Receive Maximum (mosquitto announces 20) in
  flight, as MQTT 5 requires; mqtt.js 5.16 does not limit what it sends by it. thingsim's
  figure is therefore clocked by the acknowledgements' round trip: a CPU profile of the page
  shows its main thread idle 40 % of the run. Against a broker that announces no limit
  (\`max_inflight_messages 0\`) thingsim did 6,742 msg/s to mqtt.js's 9,456 (0.71×) in an
  earlier run; the rest is the host API's cost (a postMessage in and one out per event). A
  later profile against that broker: 6.9k–7.1k msg/s, the main thread idle 19 %, our wasm
  under 5 % and the browser's own work 28 % (the two postMessages an event and the WebSocket
  sends; mqtt.js's page makes neither). A trace of one burst of 1,000: the first 20
  PUBLISHes leave within 4 ms, then the page reads all the other requests (75–90 ms; the
  browser runs those queued tasks first) before the first PUBACK's message gets its turn; the
  rest go out at the acknowledgements' pace, 5,000–6,500 a second. With the panels built by
  hand, interleaved against the build before them: 6.2k and 5.9k msg/s against 6.1k and 5.7k
  (this run's 5.9k is the machine's day, not the change).
- Round trip: the tail is the page's rendering. A trace of the slowest rounds shows no task
  of ours over 1.5 ms; the delta's WebSocket message waits behind a frame of 5 to 6 ms
  (style, layout, compositing inputs, paint, and the commit to the compositor, on two cores).
  With only the device's face shown, p99 is about 4.4 ms. The shadow timeline's rows are drawn
  by hand (\`shell::rows\`), newest first in the document as on screen: under a stream each
  redraw brings fifty new rows, which Leptos's keyed list built while it threw fifty away; the
  rows that go are now filled again for the ones that come (a redraw's task, every panel:
  longest 2.4–5.3 → 1.7–3.9 ms; p99 did not move beyond the noise). Before that, the keyed
  list had moved all fifty rows when two were added at the front (96 DOM mutations a round). On MQTT 5 the device subscribes with No Local, so the broker no longer sends
  it back its own report (a message in, a PUBACK out and a log line fewer each round: p50
  1.2–1.5 → 1.0–1.1 ms). The device's news now redraws the panels at most ten times a second
  under a stream of it (the first change after a quiet 100 ms, and the connection's news, at
  once): with a round trip a millisecond, every round had redrawn them, and a delta that
  arrived during a redraw and its frame waited for both (\`bench/profile.mjs\`, every panel:
  p50 1.0–1.2 → 0.6–0.7 ms, p90 4.2–4.9 → 1.9–2.5 ms, p99 7.0–8.3 → 5.3–6.7 ms). Under
  such a stream the device's face now snaps to each value instead of animating: its 0.6 s
  transitions, restarted every redraw, had the page paint every frame (113 paints in a
  1,000-round run, now 20; 3,000 rounds, every panel: p90 1.2–1.4 → 0.8–0.9 ms, p99 3.9–5.0
  → 3.7–3.8 ms). And a panel out of view is no longer laid out or painted
  (\`content-visibility: auto\`): in four paired runs of 1,000 rounds with every panel at
  1280 × 900, p99 went from 5.0–6.8 to 4.5–4.7 ms. p99 over 1,000 rounds still moves from
  run to run on this machine (4.4 and 4.5 ms in the last two \`make bench\` runs, 4.8 and
  5.9 ms in the two before \`content-visibility\`; 4.4–6.1 ms in \`bench/profile.mjs\` runs
  this session; 5.7, 3.5 and 3.9 ms in the three \`make bench\` runs of 2026-11-28, this one
  the last, and 4.6–6.7 ms against 4.3–6.3 ms for the build they started from in interleaved
  \`bench/profile.mjs\` runs): each redraw in a run (1.7–3.9 ms of script, then its frame)
  delays one round. The panels built by hand first made the charts anew at each redraw, and
  the new charts were laid out and painted anew: p99 4.7–6.5 ms against 4.9–5.0 ms for the
  build before them, interleaved; written in place (and a text or an attribute written only
  when it changed), 4.5–5.3 ms against 4.5–5.3 ms.
  Splitting a redraw in two tasks (the shadow and the charts after the rest) did not help
  (five paired runs: p99 4.9–7.4 against 4.4–7.1 ms). The structural
  fix is the device stack in a Web Worker, so a report leaves whatever the page is drawing.
  A worker that only holds the WebSockets (the branch \`experiment/socket-worker\`, not
  merged) moves the other way: inbound 12.7–16.2k → 15–21k msg/s, but round trip p50
  0.6–0.8 → 0.8–1.0 ms and p99 5.2–7.4 → 6.1–8.4 ms (two more hops per round), cold load
  200–268 → 288–398 ms (the early socket waits for the worker to start), +4.6 KB.
- Cold load: a broker-mode link with \`connect=1\` opens its WebSocket from \`loader.js\`
  while the module downloads and compiles, and the page adopts it. That matters here because
  mosquitto takes 110 to 160 ms to answer a WebSocket upgrade, the same for both pages. Seen
  with strace: mosquitto 2.0.11 polls its libwebsockets sockets only between 100 ms waits on
  its own, so the accept waits for one wake-up and the upgrade request for the next.
`;
if (out) writeFileSync(out, doc);
