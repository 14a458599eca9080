// Starts the app. A file rather than Trunk's inline loader so the Content-Security-Policy in
// index.html can forbid inline scripts altogether.
import init from './thingsim.js';

init({ module_or_path: new URL('./thingsim_bg.wasm', import.meta.url) });
