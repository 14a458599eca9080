// The static server the browser benchmarks share: the release app from DIST, mqtt.js's bundle
// with its bench page, and the host page for the embed API. Loopback only.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;
const MQTTJS = new URL('../e2e/node_modules/mqtt/dist/mqtt.min.js', import.meta.url).pathname;
const TYPES = { html: 'text/html', js: 'text/javascript', wasm: 'application/wasm', css: 'text/css' };

// Resolves with { base, close } once listening on a free port of 127.0.0.1.
export async function serve(dist) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    const file = path === '/mqtt.min.js' ? MQTTJS
      : path === '/mqttjs.html' ? `${here}mqttjs-page.html`
      : path === '/host.html' ? `${here}host-page.html`
      : `${dist}${path === '/' ? '/index.html' : path}`;
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'Content-Type': TYPES[file.split('.').pop()] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { base: `http://127.0.0.1:${server.address().port}`, close: () => server.close(), MQTTJS };
}
