import { appendFileSync } from 'node:fs';
// Main-thread frame intervals (requestAnimationFrame deltas) over `ms`, and a line of figures.
// rAF deltas cannot go under the display's 16.7 ms: a frame over 20 ms is one the page missed.
export async function frames(page, ms = 10_000) {
  const deltas = await page.evaluate((ms) => new Promise((done) => {
    const out = [];
    let last = performance.now();
    const end = last + ms;
    const tick = (now) => {
      out.push(now - last);
      last = now;
      if (now < end) requestAnimationFrame(tick); else done(out);
    };
    requestAnimationFrame(tick);
  }), ms);
  deltas.sort((a, b) => a - b);
  const pct = (p) => deltas[Math.min(deltas.length - 1, Math.floor(deltas.length * p / 100))];
  const missed = deltas.filter((d) => d > 20).length;
  return `${deltas.length} frames in ${ms / 1000} s, interval p50 ${pct(50).toFixed(1)} ms, p95 ${pct(95).toFixed(1)} ms, max ${deltas[deltas.length - 1].toFixed(1)} ms, ${missed} missed`;
}

// The JS heap (Chromium's metrics) and the module's memory, in MB.
export async function heap(page, cdp) {
  const metrics = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const [wasm, live] = await page.evaluate(() => [globalThis.thingsimWasmBytes?.() ?? 0, globalThis.thingsimHeapBytes?.() ?? 0]);
  const mb = (b) => (b / 1e6).toFixed(1);
  return `heap JS ${mb(metrics.JSHeapUsedSize)} MB + wasm ${mb(wasm)} MB (${mb(live)} MB live)`;
}

// A row for bench/browser.mjs's table (BENCHMARKS.md): appended to the file BENCH_ROWS names,
// when it does (scripts/bench), as one JSON line.
export function row(figure, thingsim, target) {
  if (process.env.BENCH_ROWS) appendFileSync(process.env.BENCH_ROWS, `${JSON.stringify({ figure, thingsim, target })}\n`);
}
