// Starts the app. A file rather than Trunk's inline loader so the Content-Security-Policy in
// index.html can forbid inline scripts altogether. `?view=fleet` loads the fleet view, a
// module of its own, so the single-device console (what docs embed) does not carry it.
const query = new URLSearchParams(location.search);
const fleet = query.get('view') === 'fleet';
const name = fleet ? 'thingsim-fleet' : 'thingsim';
// The fleet view's own rules come with it (style/thingsim-fleet.css), not in main.css.
// The page starts once they are in (or failed, or 3 s went by), so it is not drawn without them.
const styled = fleet && new Promise((done) => {
  const css = document.createElement('link');
  css.rel = 'stylesheet';
  css.href = new URL('./thingsim-fleet.css', import.meta.url).href;
  css.onload = css.onerror = done;
  document.head.append(css);
});
// A link that connects at once to a broker it names (`mode=broker&broker=ws…&connect=1`) gets
// its WebSocket opened now, while the module loads: the handshake (over 100 ms with mosquitto
// 2.0, which polls its WebSocket listener between 100 ms waits) overlaps the download and
// compile instead of following them. The page adopts the socket when it opens that same URL
// (src/shell/websocket.rs) and sends its CONNECT then; a socket nobody adopts is closed. Only
// what the page itself would open: ws: or wss:, no user or password in the URL.
(() => {
  const url = (query.get('broker') ?? '').trim();
  if (fleet || query.get('mode') !== 'broker' || query.get('connect') !== '1' || query.get('https') === '1') return;
  try {
    const parsed = new URL(url);
    if (!/^wss?:$/.test(parsed.protocol) || parsed.username || parsed.password) return;
    const ws = new WebSocket(url, 'mqtt');
    ws.binaryType = 'arraybuffer';
    const early = { url, ws };
    // One the page has not claimed in 10 s (it decided otherwise, or failed to load) goes.
    setTimeout(() => {
      if (globalThis.thingsimEarlySocket === early) {
        delete globalThis.thingsimEarlySocket;
        ws.close();
      }
    }, 10_000);
    globalThis.thingsimEarlySocket = early;
  } catch {
    // A URL the browser refuses: the page reports it in its own words.
  }
})();
// The module's bytes are asked for at once, not after its glue has loaded: the two fetches
// overlap, and the browser compiles the module as it streams in.
const bytes = fetch(new URL(`./${name}_bg.wasm`, import.meta.url));
const module = await import(`./${name}.js`);
const { default: init } = module;
await (styled && Promise.race([styled, new Promise((done) => setTimeout(done, 3000))]));
const wasm = await init({ module_or_path: bytes });
// For `make bench`: how much linear memory the module holds (it never gives pages back).
globalThis.thingsimWasmBytes = () => wasm.memory.buffer.byteLength;
// The fleet view's live heap: what its allocator holds, which does go down.
if (module.heap_live_bytes) globalThis.thingsimHeapBytes = () => module.heap_live_bytes();
