// The docs playground: the example docs page (docs/embed/) served on an origin of its own, with
// three embeds (face only; face and shadow; face and jobs) driven through the host API over
// postMessage. Also: a face's controls from the keyboard, an origin not in hosts= is ignored,
// the first-visit guide of the sandbox, a face under a stream of changes, and nothing
// spilling out of a panel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { launch, watchedPage } from '../pages/device-page.mjs';

const APP_URL = process.env.APP_URL ?? 'http://127.0.0.1:8080/';
const SHOTS = process.env.SCREENSHOT_DIR ?? 'screenshots';
const DOCS = new URL('../../docs/embed/', import.meta.url).pathname;
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

let browser;
let server;
let docsOrigin;
before(async () => {
  browser = await launch();
  // The docs page's own origin (another port: another origin than the app's).
  server = createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.replace(/^\/$/, '/index.html').slice(1);
    if (!/^[a-z-]+\.(html|js|css)$/.test(name)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': TYPES[name.slice(name.lastIndexOf('.'))] });
    res.end(readFileSync(DOCS + name));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  docsOrigin = `http://127.0.0.1:${server.address().port}`;
});
after(async () => {
  await browser?.close();
  server?.close();
});

async function openDocs(theme = '') {
  const { ctx, page, errors } = await watchedPage(browser, { width: 900, height: 1000 });
  await page.goto(`${docsOrigin}/?app=${encodeURIComponent(APP_URL)}${theme ? `&theme=${theme}` : ''}`);
  const frames = {};
  for (const id of ['light', 'thermostat', 'lock']) {
    const handle = await page.waitForSelector(`#${id}`);
    frames[id] = await handle.contentFrame();
    await frames[id].waitForFunction(() => /^connected/.test(document.querySelector('[data-testid="conn-status"]')?.textContent.trim() ?? ''), null, { timeout: 20_000 });
    await frames[id].waitForSelector('[data-testid="device-face"]');
  }
  return { ctx, page, frames, errors };
}

const visible = (frame, selector) => frame.locator(selector).first().isVisible();

test('a docs page with three embeds: each shows what its panels= says, and the page drives them over postMessage', async () => {
  const { ctx, page, frames, errors } = await openDocs();

  // What each shows: the face always; shadow only in the second, jobs only in the third; no
  // connection form, no log, no header, no guide anywhere.
  for (const [id, shadow, jobs] of [['light', false, false], ['thermostat', true, false], ['lock', false, true]]) {
    const f = frames[id];
    assert.equal(await visible(f, '.panel-shadow'), shadow, `${id} shadow`);
    assert.equal(await visible(f, '.panel-jobs'), jobs, `${id} jobs`);
    for (const hidden of ['.panel-log', '.panel-cloud', '[data-testid="thing-name"]', '.app-header', '[data-testid="guide"]']) {
      assert.equal(await visible(f, hidden), false, `${id} ${hidden}`);
    }
    // The form controls are one click away, closed.
    assert.equal(await f.locator('details.controls').evaluate((d) => d.open), false, `${id} controls closed`);
  }
  // Face and shadow fit a 640 × 480 iframe: nothing to scroll.
  const size = await frames.thermostat.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.scrollHeight]);
  assert.ok(size[0] <= 640 && size[1] <= 480, `the thermostat embed needs ${size[0]} × ${size[1]}`);

  // The host sets desired state: the device applies it, the face shows it, the host hears it.
  await page.click('#light-on');
  await frames.light.waitForFunction(() => document.querySelector('[data-testid="face-bulb-glass"]')?.getAttribute('fill') === '#ff8c00', null, { timeout: 10_000 });
  await page.waitForFunction(() => /"brightness":80/.test(document.getElementById('light-state').textContent) && /"on":true/.test(document.getElementById('light-state').textContent));
  await page.waitForTimeout(700); // the bulb's colour eases in
  await (await page.$('#light')).screenshot({ path: `${SHOTS}/embed-light-on-light.png` });
  await page.click('#light-off');
  await page.waitForFunction(() => /"on":false/.test(document.getElementById('light-state').textContent));

  // Desired state and a command on the thermostat.
  await page.click('#thermostat-target');
  await frames.thermostat.waitForFunction(() => /"targetTemperature": 24/.test(document.querySelector('[data-testid="shadow-reported"]')?.textContent ?? ''), null, { timeout: 10_000 });
  // The timeline's newest row, on top of its small box, is shown whole.
  const rows = await frames.thermostat.evaluate(() => {
    const box = document.querySelector('[data-testid="shadow-timeline"]').getBoundingClientRect();
    const tops = [...document.querySelectorAll('[data-testid="shadow-timeline"] li')]
      .map((li) => li.getBoundingClientRect()).filter((r) => r.bottom > box.top && r.top < box.bottom).map((r) => r.top);
    return { box: box.top, first: Math.min(...tops), n: tops.length };
  });
  assert.ok(rows.n >= 2 && rows.first >= rows.box - 0.5, `timeline rows from ${rows.first}, box from ${rows.box}`);
  await page.click('#thermostat-command');
  await page.waitForFunction(() => /^ok: command setTemperature sent/.test(document.getElementById('thermostat-result').textContent));

  // A job on the lock runs to the end in its Jobs panel.
  await page.click('#lock-job');
  await page.waitForFunction(() => /^ok: /.test(document.getElementById('lock-result').textContent));
  await frames.lock.waitForFunction(() => /SUCCEEDED/.test(document.querySelector('.panel-jobs')?.textContent ?? ''), null, { timeout: 30_000 });

  // An event published by the device, seen by the page through its messages subscription.
  await page.click('#lock-event');
  await page.waitForFunction(() => /^ok: handed to the device/.test(document.getElementById('lock-result').textContent));
  await page.waitForFunction(() => /^\$emqx\/things\/docs-lock\/events\/doorbell .*"rang":true/.test(document.getElementById('lock-published').textContent));

  // Bad requests are refused with a reason, not ignored.
  const ask = (message) => page.evaluate(async ([app, message]) => {
    const frame = document.getElementById('lock');
    return new Promise((resolve) => {
      const listen = (e) => {
        if (e.source === frame.contentWindow && e.data?.type === 'thingsim:result' && e.data.id === message.id) {
          window.removeEventListener('message', listen);
          resolve(e.data);
        }
      };
      window.addEventListener('message', listen);
      frame.contentWindow.postMessage(message, new URL(app).origin);
    });
  }, [APP_URL, message]);
  const refused = await ask({ type: 'thingsim:createJob', id: 'bad', document: { steps: 3 } });
  assert.equal(refused.ok, false);
  assert.match(refused.text, /action/);
  const badEvent = await ask({ type: 'thingsim:publishEvent', id: 'bad-event', kind: 'a/b' });
  assert.equal(badEvent.ok, false);
  assert.match(badEvent.text, /one topic level/);

  for (const id of ['light', 'thermostat', 'lock']) {
    await (await page.$(`#${id}`)).screenshot({ path: `${SHOTS}/embed-${id}-light.png` });
  }
  await page.screenshot({ path: `${SHOTS}/embed-docs-page.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('dark embeds, a face pressed from the keyboard, and a page not in hosts= is not heard', async () => {
  const { ctx, page, frames, errors } = await openDocs('dark');
  assert.equal(await frames.light.evaluate(() => document.documentElement.dataset.theme), 'dark');
  // Keyboard: focus the bulb and press Enter, then Space: the light switches, then back.
  const bulb = frames.light.locator('[data-testid="face-bulb"]');
  const label = () => bulb.getAttribute('aria-label');
  const first = await label();
  assert.match(first, /^Light (on|off)\b.*press to switch it (off|on)$/);
  const other = first.startsWith('Light on') ? /^Light off/ : /^Light on/;
  const same = first.startsWith('Light on') ? /^Light on/ : /^Light off/;
  await bulb.focus();
  await page.keyboard.press('Enter');
  await frames.light.waitForFunction((s) => new RegExp(s).test(document.querySelector('[data-testid="face-bulb"]').getAttribute('aria-label')), other.source);
  await page.keyboard.press(' ');
  await frames.light.waitForFunction((s) => new RegExp(s).test(document.querySelector('[data-testid="face-bulb"]').getAttribute('aria-label')), same.source);
  // The thermostat's − button lowers the target by its step.
  const before = await frames.thermostat.evaluate(() => document.querySelector('[data-testid="prop-targetTemperature"]').value);
  await frames.thermostat.locator('[data-testid="face-target-down"]').click();
  await frames.thermostat.waitForFunction((b) => Number(document.querySelector('[data-testid="prop-targetTemperature"]').value) === Number(b) - 0.5, before);
  for (const id of ['light', 'thermostat', 'lock']) {
    await (await page.$(`#${id}`)).screenshot({ path: `${SHOTS}/embed-${id}-dark.png` });
  }

  // An embed that names another origin in hosts= ignores this page.
  await page.evaluate((app) => {
    const f = document.createElement('iframe');
    f.id = 'stranger';
    f.width = 320;
    f.height = 270;
    f.src = `${app}?mode=sandbox&template=smart-light&thing=other-lamp&panels=face&hosts=${encodeURIComponent('http://127.0.0.1:1')}`;
    document.body.append(f);
  }, APP_URL);
  const stranger = await (await page.waitForSelector('#stranger')).contentFrame();
  await stranger.waitForFunction(() => /^connected/.test(document.querySelector('[data-testid="conn-status"]')?.textContent.trim() ?? ''), null, { timeout: 20_000 });
  const strangerBefore = await stranger.locator('[data-testid="face-bulb"]').getAttribute('aria-label');
  const answered = await page.evaluate(async (app) => {
    const frame = document.getElementById('stranger');
    let heard = false;
    window.addEventListener('message', (e) => { if (e.source === frame.contentWindow) heard = true; });
    frame.contentWindow.postMessage({ type: 'thingsim:setDesired', id: 1, state: { on: true, brightness: 7 } }, new URL(app).origin);
    await new Promise((r) => setTimeout(r, 2000));
    return heard;
  }, APP_URL);
  assert.equal(answered, false, 'no answer to a page not in hosts=');
  assert.equal(await stranger.locator('[data-testid="face-bulb"]').getAttribute('aria-label'), strangerBefore, 'nothing changed');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('colours follow the reader\'s system unless theme= fixes them', async () => {
  const ctx = await browser.newContext({ colorScheme: 'dark' });
  const page = await ctx.newPage();
  const background = async (query) => {
    await page.goto(`${APP_URL}?mode=sandbox&template=smart-light&thing=theme-lamp&panels=face${query}`);
    await page.waitForSelector('[data-testid="device-face"]');
    return page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  };
  assert.equal(await background(''), 'rgb(15, 20, 27)', 'a dark system gives the dark palette');
  assert.equal(await background('&theme=light'), 'rgb(246, 247, 249)', 'theme=light wins');
  await ctx.close();
  const light = await browser.newContext({ colorScheme: 'light' });
  const p2 = await light.newPage();
  await p2.goto(`${APP_URL}?mode=sandbox&template=smart-light&thing=theme-lamp&panels=face&theme=dark`);
  await p2.waitForSelector('[data-testid="device-face"]');
  assert.equal(await p2.evaluate(() => getComputedStyle(document.documentElement).backgroundColor), 'rgb(15, 20, 27)', 'theme=dark wins');
  await light.close();
});

test('the sandbox greets a first visit with three steps that tick themselves off, until dismissed', async () => {
  const { ctx, page, errors } = await watchedPage(browser, { width: 1280, height: 900 });
  await page.goto(APP_URL);
  await page.waitForSelector('[data-testid="guide"]');
  await page.locator('[data-testid="cloud-set-desired"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="guide-step-1"]').classList.contains('done'));
  await page.locator('[data-testid="cloud-send-command"]').click();
  await page.waitForFunction(() => document.querySelector('[data-testid="guide-step-2"]').classList.contains('done'));
  assert.equal(await page.locator('[data-testid="guide-step-3"]').evaluate((li) => li.classList.contains('done')), false);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${SHOTS}/guide.png` });
  await page.locator('[data-testid="guide-dismiss"]').click();
  assert.equal(await page.locator('[data-testid="guide"]').count(), 0);
  await page.reload();
  await page.waitForSelector('[data-testid="device-face"]');
  assert.equal(await page.locator('[data-testid="guide"]').count(), 0, 'dismissed for good');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a face animates a single change, and snaps to each value under a stream of them', async () => {
  const { ctx, page, errors } = await watchedPage(browser, { width: 800, height: 600 });
  await page.goto(`${APP_URL}?mode=sandbox&template=thermostat&thing=stream-dial&panels=face`);
  await page.waitForFunction(() => /^connected/.test(document.querySelector('[data-testid="conn-status"]')?.textContent.trim() ?? ''), null, { timeout: 20_000 });
  const dial = () => page.evaluate(() => {
    const d = document.querySelector('[data-testid="face-dial"]');
    return {
      dash: d.getAttribute('stroke-dasharray'),
      running: d.getAnimations().length,
      streaming: document.documentElement.hasAttribute('data-streaming'),
      duration: getComputedStyle(d).transitionDuration,
    };
  });
  const press = (times, gap) => page.evaluate(async ([times, gap]) => {
    for (let i = 0; i < times; i++) {
      const id = i % 2 ? 'face-target-down' : 'face-target-up';
      document.querySelector(`[data-testid="${id}"]`).dispatchEvent(new MouseEvent('click', { bubbles: true }));
      await new Promise((r) => setTimeout(r, gap));
    }
  }, [times, gap]);
  // One change, on its own (the news of connecting, or the stream, 400 ms before): the dial's
  // arc moves, animated.
  const single = async (what) => {
    await page.waitForTimeout(400);
    const before = (await dial()).dash;
    await press(1, 0);
    await page.waitForFunction((b) => document.querySelector('[data-testid="face-dial"]').getAttribute('stroke-dasharray') !== b, before);
    const d = await dial();
    assert.ok(d.running > 0 && !d.streaming && d.duration !== '0s', `${what}: ${JSON.stringify(d)}`);
  };
  await single('one change animates');
  // Twenty changes 40 ms apart: the panels redraw every 100 ms, and the dial snaps to each.
  await page.waitForTimeout(700); // its transition is over
  await press(20, 40);
  const d = await dial();
  assert.ok(d.streaming && d.running === 0 && d.duration === '0s', `a stream snaps: ${JSON.stringify(d)}`);
  // Then one change on its own animates again.
  await single('after the stream, one change animates');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('nothing spills out of a panel, on a desktop or a phone, for any template (a panel clips what would)', async () => {
  const templates = ['thermostat', 'smart-light', 'door-lock', 'energy-meter', 'environment-sensor', 'smart-plug'];
  for (const [width, height] of [[1280, 900], [420, 800]]) {
    const ctx = await browser.newContext({ viewport: { width, height } });
    for (const template of templates) {
      const page = await ctx.newPage();
      await page.goto(`${APP_URL}?mode=sandbox&template=${template}&thing=spill-${template}`);
      await page.waitForSelector('[data-testid="device-face"]');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="shadow-timeline"] li').length > 0);
      const spilled = await page.evaluate(() => [...document.querySelectorAll('.panel')].flatMap((panel) => {
        const edge = panel.getBoundingClientRect();
        return [...panel.querySelectorAll('*')].filter((el) => {
          const box = el.getBoundingClientRect();
          return box.width > 0 && (box.right > edge.right + 0.5 || box.left < edge.left - 0.5);
        }).map((el) => `${panel.className} > ${el.tagName.toLowerCase()}.${el.className?.baseVal ?? el.className}`);
      }));
      assert.deepEqual(spilled, [], `${template} at ${width} px`);
      await page.close();
    }
    await ctx.close();
  }
});
