// Page object for the device console: tests speak in user actions, selectors live here.
import { chromium } from 'playwright-core';

// Debian's Chromium; as root it needs --no-sandbox, and without the background-networking
// flags it keeps trying to reach Google's hosts on a machine with no internet.
export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
    ],
  });
}

// A page in `context`, or in a fresh context of the given viewport (its own localStorage),
// with every page error and console error collected: a journey fails on any, a
// Content-Security-Policy violation included.
export async function watchedPage(browser, viewport, context = null) {
  const ctx = context ?? (await browser.newContext({ viewport }));
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return { ctx, page, errors };
}

// thingsim-cloud's API called with fetch from inside `page` (so CORS is exercised too), with
// the demo's key:secret; returns the status and the JSON body (null when there is none).
export async function cloudApi(page, { url, key }, method, path, body) {
  const auth = `Basic ${Buffer.from(key).toString('base64')}`;
  return page.evaluate(async ({ url, auth, method, path, body }) => {
    const r = await fetch(`${url}${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', Authorization: auth },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, { url, auth, method, path, body });
}

export class DevicePage {
  constructor(page) {
    this.page = page;
  }

  byTestId(id) {
    return this.page.locator(`[data-testid="${id}"]`);
  }

  async open(url) {
    await this.page.goto(url);
    await this.byTestId('connect-button').waitFor();
  }

  // Text of an element, trimmed ('' when it is not there).
  async text(id) {
    const el = this.byTestId(id).first();
    return (await el.count()) ? ((await el.textContent()) ?? '').trim() : '';
  }

  // Waits until the element's text satisfies `test` (a RegExp or an exact string).
  async waitForText(id, test, timeout = 15_000) {
    const source = test instanceof RegExp ? test.source : null;
    const flags = test instanceof RegExp ? test.flags : null;
    const exact = test instanceof RegExp ? null : test;
    await this.page.waitForFunction(
      ({ id, source, flags, exact }) => {
        const t = document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim();
        if (t === undefined) return false;
        return exact !== null ? t === exact : new RegExp(source, flags).test(t);
      },
      { id, source, flags, exact },
      { timeout },
    );
  }

  // Types into a cloud-panel textarea or input and submits with its button.
  async cloud(fields, button) {
    for (const [id, value] of Object.entries(fields)) await this.byTestId(id).fill(value);
    await this.byTestId(button).click();
  }

  async inputValue(id) {
    return this.byTestId(id).inputValue();
  }

  async fill({ broker, clientId, thing, username, password }) {
    if (broker !== undefined) await this.byTestId('broker-url').fill(broker);
    if (clientId !== undefined) await this.byTestId('client-id').fill(clientId);
    if (thing !== undefined) await this.byTestId('thing-name').fill(thing);
    if (username !== undefined) await this.byTestId('username').fill(username);
    if (password !== undefined) await this.byTestId('password').fill(password);
  }

  async connect() {
    await this.byTestId('connect-button').click();
  }

  async status() {
    return (await this.byTestId('conn-status').textContent()).trim();
  }

  // 'connected' means healthy: plain "connected" where there are no subscriptions (sandbox,
  // HTTPS), else "connected · subscribed N/N" — never a device that is connected but deaf.
  async waitForStatus(text, timeout = 15_000) {
    await this.page.waitForFunction(
      (t) => {
        const s = document.querySelector('[data-testid="conn-status"]')?.textContent.trim();
        if (t !== 'connected') return s === t;
        const m = /^connected(?: · subscribed (\d+)\/(\d+))?$/.exec(s ?? '');
        return m !== null && m[1] === m[2];
      },
      text,
      { timeout },
    );
  }

  async fieldError(id) {
    return (await this.byTestId(`${id}-error`).textContent()).trim();
  }

  async logText() {
    return this.byTestId('message-log').textContent();
  }

  async screenshot(name) {
    const dir = process.env.SCREENSHOT_DIR ?? 'screenshots';
    await this.page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
  }
}
