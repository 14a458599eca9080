// The console as a docs page embeds it, for the outbound figures (browser.mjs, profile.mjs):
// bench/host-page.html with the console in its iframe (hosts= naming the host's origin),
// connected to the broker in broker mode, and a way to ask it for events through the
// postMessage API (thingsim:publishEvent), as a docs page would.
// In the console's page: its status line says every subscription was granted.
export const connected = () => /^connected · subscribed (\d+)\/\1$/.test(document.querySelector('[data-testid="conn-status"]')?.textContent.trim() ?? '');

// An init script for a page (page.addInitScript): one 'message' listener a WebSocket, calling
// the handler the page set, if it still has one (the runner clears it on close), between
// `window.beforeSocketMessage(e)` and `window.afterSocketMessage(e)` when another init script
// defines them.
export function watchSocketMessages() {
  const add = EventTarget.prototype.addEventListener;
  const handlers = new WeakMap();
  Object.defineProperty(WebSocket.prototype, 'onmessage', {
    get() { return handlers.get(this) ?? null; },
    set(f) {
      const first = !handlers.has(this);
      handlers.set(this, f);
      if (first) {
        add.call(this, 'message', (e) => {
          window.beforeSocketMessage?.(e);
          handlers.get(this)?.call(this, e);
          window.afterSocketMessage?.(e);
        });
      }
    },
  });
}

export async function hostedConsole(browser, base, wsUrl, thing) {
  const host = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await host.goto(`${base}/host.html`);
  const q = new URLSearchParams({ mode: 'broker', broker: wsUrl, thing, client: `dev-${thing}`, template: 'thermostat', connect: '1', hosts: base });
  await host.evaluate((src) => { document.querySelector('iframe').src = src; }, `${base}/?${q}`);
  const frame = await (await host.waitForSelector('iframe')).contentFrame();
  await frame.waitForFunction(connected, null, { timeout: 30_000, polling: 'raf' });
  // Events `from` … `from + k - 1` on events/bench, one request each.
  const publishEvents = (from, k) => host.evaluate(([from, k]) => {
    const app = document.querySelector('iframe').contentWindow;
    for (let i = from; i < from + k; i++) app.postMessage({ type: 'thingsim:publishEvent', kind: 'bench', payload: { n: i } }, location.origin);
  }, [from, k]);
  return { host, publishEvents };
}
