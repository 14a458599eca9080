// Starts the app. A file rather than Trunk's inline loader so the Content-Security-Policy in
// index.html can forbid inline scripts altogether. `?view=fleet` loads the fleet view, a
// module of its own, so the single-device console (what docs embed) does not carry it.
const fleet = new URLSearchParams(location.search).get('view') === 'fleet';
const name = fleet ? 'thingsim-fleet' : 'thingsim';
// The module's bytes are asked for at once, not after its glue has loaded: the two fetches
// overlap, and the browser compiles the module as it streams in.
const bytes = fetch(new URL(`./${name}_bg.wasm`, import.meta.url));
const module = await import(`./${name}.js`);
const { default: init } = module;
const wasm = await init({ module_or_path: bytes });
// For `make bench`: how much linear memory the module holds (it never gives pages back).
globalThis.thingsimWasmBytes = () => wasm.memory.buffer.byteLength;
// The fleet view's live heap: what its allocator holds, which does go down.
if (module.heap_live_bytes) globalThis.thingsimHeapBytes = () => module.heap_live_bytes();
