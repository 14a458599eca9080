// Where the page's time goes, for the figures bench/browser.mjs prints. Not run by make bench:
// a tool for the next change. Give it a build with names to see Rust functions (wasm-bindgen
// --keep-debug, then wasm-opt -Oz -g, over the Trunk dist).
//   node bench/profile.mjs roundtrip DIST ws://127.0.0.1:WS/mqtt TCP [panels=…]
//       p50/p90/p99 of the shadow round trip (ROUNDS, default 1,000); PROF=1 adds a CPU
//       profile, TRACE=1 the main thread's time by trace event, the longest timer, call and
//       event tasks, what was painted, and the longest tasks with what ran in them, MUT=1 the
//       DOM writes a round, CSS='…' a style sheet added to the page first. Where a CPU
//       profile is taken (roundtrip with PROF=1; inbound and outbound always), INCL=N adds
//       the N functions with the most inclusive time (INCL=1: 40), and WITHIN='regex' keeps
//       only the samples with a function of that name on their stack (e.g. a panel's).
//   node bench/profile.mjs inbound DIST ws://… TCP QOS    20,000 messages in: rate, WebSocket
//       sends and frames, CPU profile.
//   node bench/profile.mjs outbound DIST ws://… TCP          20,000 events asked for by a host
//       page, as browser.mjs's outbound figure: rate and CPU profile.
//   node bench/profile.mjs coldload DIST ws://…           when the socket opened and the first
//       packets went, against the resources' timings, three fresh pages.
import { createRequire } from 'node:module';
import { launch } from '../e2e/pages/device-page.mjs';
import { serve } from './serve.mjs';
import { blaster, floodPayload, timedFlood } from './blaster.mjs';
import { connected, hostedConsole, watchSocketMessages } from './hosted.mjs';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const mqtt = require('mqtt');
const [mode, dist, wsUrl, tcpPort, arg] = process.argv.slice(2);
const server = await serve(dist);
const browser = await launch();

async function devicePage(thing, extra = '') {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, bypassCSP: Boolean(process.env.CSS) });
  await page.addInitScript(watchSocketMessages);
  await page.addInitScript(() => {
    window.__t = []; window.__sends = 0; window.__frames = 0;
    const mark = (m) => window.__t.push([m, performance.now().toFixed(1)]);
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (d) { window.__sends++; mark(`send ${d.byteLength ?? d.length}`); return send.call(this, d); };
    window.beforeSocketMessage = () => { window.__frames++; if (window.__t.length < 40) mark('frame in'); };
    const add = EventTarget.prototype.addEventListener;
    Object.defineProperty(WebSocket.prototype, 'onopen', { set(f) { add.call(this, 'open', (e) => { mark('open'); f(e); }); } });
  });
  const q = new URLSearchParams({ mode: 'broker', broker: wsUrl, thing, client: `dev-${thing}`, template: 'thermostat', connect: '1', ...Object.fromEntries(new URLSearchParams(extra)) });
  await page.goto(`${server.base}/?${q}`);
  await page.waitForFunction(connected, null, { timeout: 30_000, polling: 'raf' });
  // CSS='…' tries a style change on the built page, without a rebuild.
  if (process.env.CSS) await page.addStyleTag({ content: process.env.CSS });
  return page;
}

// A profile's function, as the tables name it: its name and its file.
const frameKey = (f) => `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}`;

async function profiled(page, run) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const result = await run();
  const { profile } = await cdp.send('Profiler.stop');
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stack = (id) => { const s = []; for (let n = id; n !== undefined; n = parent.get(n)) s.push(frameKey(byId.get(n).callFrame)); return s; };
  // WITHIN='regex': only the samples with a function of that name on their stack.
  const within = process.env.WITHIN ? new RegExp(process.env.WITHIN) : null;
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    if (within && !stack(id).some((k) => within.test(k))) return;
    const key = frameKey(byId.get(id).callFrame);
    self.set(key, (self.get(key) ?? 0) + profile.timeDeltas[i]);
    total += profile.timeDeltas[i];
  });
  if (process.env.INCL) {
    // Inclusive time: a sample counts for every function on its stack, once.
    const incl = new Map();
    profile.samples.forEach((id, i) => {
      const keys = stack(id);
      if (within && !keys.some((k) => within.test(k))) return;
      for (const key of new Set(keys)) incl.set(key, (incl.get(key) ?? 0) + profile.timeDeltas[i]);
    });
    for (const [key, us] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.INCL) > 1 ? Number(process.env.INCL) : 40)) {
      console.log(`incl ${(us / 1000).toFixed(0).padStart(7)} ms ${key.slice(0, 200)}`);
    }
  }
  for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    console.log(`${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / total).toFixed(1).padStart(5)}% ${key.slice(0, 160)}`);
  }
  return result;
}

async function traced(page, run) {
  const cdp = await page.context().newCDPSession(page);
  const events = [];
  cdp.on('Tracing.dataCollected', (d) => events.push(...d.value));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline', transferMode: 'ReportEvents' });
  const result = await run();
  const done = new Promise((r) => cdp.once('Tracing.tracingComplete', r));
  await cdp.send('Tracing.end');
  await done;
  // Where the main thread's time went, by trace event (nested events count in their parents too).
  const main = events.find((e) => e.name === 'RunTask')?.tid ?? events.find((e) => e.name === 'FunctionCall')?.tid;
  const onMain = events.filter((e) => e.ph === 'X' && e.tid === main);
  const sums = new Map();
  for (const e of onMain) sums.set(e.name, (sums.get(e.name) ?? 0) + e.dur);
  for (const [name, us] of [...sums].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  // What was painted: the rectangles, by size, with their time (a whole-page repaint shows
  // as the viewport's size).
  const paints = new Map();
  for (const e of onMain) {
    if (e.name !== 'Paint') continue;
    const c = e.args?.data?.clip ?? [];
    const key = c.length === 8 ? `${Math.round(c[2] - c[0])}×${Math.round(c[5] - c[1])} at ${Math.round(c[0])},${Math.round(c[1])}` : '?';
    const [n, us] = paints.get(key) ?? [0, 0];
    paints.set(key, [n + 1, us + e.dur]);
  }
  for (const [key, [n, us]] of [...paints].sort((a, b) => b[1][1] - a[1][1]).slice(0, 8)) console.log(`paint ${key}: ${n}×, ${(us / 1000).toFixed(1)} ms`);
  for (const name of ['TimerFire', 'FunctionCall', 'EventDispatch']) {
    const d = onMain.filter((e) => e.name === name).map((e) => e.dur / 1000).sort((x, y) => y - x);
    if (d.length) console.log(`${name}: ${d.length}×, longest ${d.slice(0, 12).map((x) => x.toFixed(1)).join(' ')} ms`);
  }
  const long = events.filter((e) => e.ph === 'X' && e.name === 'RunTask' && e.dur > 3000).sort((a, b) => b.dur - a.dur).slice(0, 8);
  for (const t of long) {
    const inside = events.filter((e) => e.ph === 'X' && e !== t && e.tid === t.tid && e.ts >= t.ts && e.ts + e.dur <= t.ts + t.dur && e.dur > 200);
    console.log(`task ${(t.dur / 1000).toFixed(2)} ms: ${inside.map((e) => `${e.name} ${(e.dur / 1000).toFixed(2)}`).join(', ')}`);
  }
  return result;
}

async function watched(page, rounds, run) {
  await page.evaluate(() => {
    window.__writes = new Map();
    new MutationObserver((records) => {
      for (const m of records) {
        let el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
        const path = [];
        for (let i = 0; el && i < 4; i++, el = el.parentElement) path.unshift(el.getAttribute('data-testid') || el.tagName.toLowerCase());
        const key = `${m.type}${m.attributeName ? `:${m.attributeName}` : ''} ${path.join('>')}`;
        window.__writes.set(key, (window.__writes.get(key) ?? 0) + 1);
      }
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  });
  const result = await run();
  const writes = await page.evaluate(() => [...window.__writes].sort((a, b) => b[1] - a[1]).slice(0, 20));
  for (const [key, n] of writes) console.log(`${(n / rounds).toFixed(1).padStart(7)} a round  ${key}`);
  return result;
}

async function peer(id) {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcpPort}`, { clientId: id, protocolVersion: 5 });
  client.stream.setNoDelay?.(true);
  return client;
}

if (mode === 'roundtrip') {
  const rounds = Number(process.env.ROUNDS ?? 1000);
  const thing = `rt-${Date.now()}`;
  const page = await devicePage(thing, arg);
  await page.locator('[data-testid="log-pause"]').click({ timeout: 2000 }).catch(() => {});
  const pub = await peer(`rt-peer-${thing}`);
  await pub.subscribeAsync(`$emqx/things/${thing}/shadow/update`, { qos: 1 });
  let waiting = null;
  pub.on('message', (_, payload) => {
    if (waiting && JSON.parse(payload.toString())?.state?.reported?.targetTemperature === waiting.value) waiting.resolve();
  });
  const run = async () => {
    const times = [];
    for (let i = 0; i < rounds; i++) {
      const value = 10 + (i % 40) * 0.5;
      const got = new Promise((resolve) => { waiting = { value, resolve }; });
      const t0 = performance.now();
      pub.publish(`$emqx/things/${thing}/shadow/update/delta`, JSON.stringify({ version: i + 2, timestamp: Math.floor(Date.now() / 1000), state: { targetTemperature: value } }), { qos: 1 });
      await got;
      times.push(performance.now() - t0);
    }
    return times;
  };
  let go = run;
  if (process.env.MUT) { const inner = go; go = () => watched(page, rounds, inner); }
  if (process.env.TRACE) { const inner = go; go = () => traced(page, inner); }
  if (process.env.PROF) { const inner = go; go = () => profiled(page, inner); }
  const sorted = (await go()).sort((a, b) => a - b);
  const p = (q) => sorted[Math.round((sorted.length - 1) * q)].toFixed(2);
  console.log(`${arg || 'all panels'}: p50 ${p(0.5)} p90 ${p(0.9)} p99 ${p(0.99)} max ${p(1)} ms over ${rounds} rounds`);
  await pub.endAsync();
} else if (mode === 'inbound') {
  const thing = `in-${Date.now()}`;
  const page = await devicePage(thing);
  const pub = await blaster(tcpPort, `in-peer-${thing}`);
  const n = 20_000;
  const bytes = pub.packets(`$emqx/things/${thing}/shadow/update`, n, Number(arg ?? 1), floodPayload);
  const logged = () => page.evaluate(() => Number(/of (\d+)/.exec(document.querySelector('[data-testid="log-count"]').textContent)[1]));
  const before = await logged();
  const { rate } = await profiled(page, () => timedFlood(pub, bytes, n, async () => (await logged()) - before));
  const io = await page.evaluate(() => ({ sends: window.__sends, frames: window.__frames }));
  console.log(`${rate.toFixed(0)} msg/s; ${io.frames} WebSocket messages in, ${io.sends} out`);
  pub.end();
} else if (mode === 'outbound') {
  // As browser.mjs's outbound figure: a host page asks the console in its iframe for 20,000
  // events through thingsim:publishEvent, in bursts of 1,000; a native subscriber counts them.
  const thing = `out-${Date.now()}`;
  const { host, publishEvents } = await hostedConsole(browser, server.base, wsUrl, thing);
  const sub = await peer(`sub-${thing}`);
  await sub.subscribeAsync(`$emqx/things/${thing}/events/bench`, { qos: 1 });
  let count = 0;
  sub.on('message', () => { count++; });
  const n = 20_000, burst = 1000;
  const rate = await profiled(host, async () => {
    const t0 = performance.now();
    for (let from = 0; from < n; from += burst) {
      await publishEvents(from, burst);
      const quiet = performance.now();
      while (count < from + burst && performance.now() - quiet < 3000) await new Promise((r) => setTimeout(r, 2));
    }
    return count / ((performance.now() - t0) / 1000);
  });
  console.log(`${rate.toFixed(0)} msg/s (${count} at the subscriber)`);
  await sub.endAsync();
} else if (mode === 'coldload') {
  for (let k = 0; k < 3; k++) {
    const page = await devicePage(`cold-${Date.now()}`);
    console.log(JSON.stringify(await page.evaluate(() => ({
      marks: window.__t.slice(0, 12),
      connected: performance.now().toFixed(0),
      resources: performance.getEntriesByType('resource').map((e) => [e.name.split('/').pop(), e.startTime.toFixed(0), e.responseEnd.toFixed(0)]),
    }))));
    await page.close();
  }
} else {
  console.error('usage: node bench/profile.mjs roundtrip|inbound|outbound|coldload DIST WS_URL [TCP_PORT] [arg]');
  process.exitCode = 2;
}
await browser.close();
server.close();
