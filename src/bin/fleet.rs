//! The fleet view as its own WebAssembly module: the console's page (the one docs embed) does
//! not carry it. `loader.js` loads this one for `?view=fleet`.

use wasm_bindgen::prelude::wasm_bindgen;

/// The default allocator, counting: WebAssembly memory never shrinks, so whether removed
/// devices gave their memory back is read from what the allocator holds live.
#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Live heap bytes in this module (for the heap journey and `make bench`).
#[wasm_bindgen]
pub fn heap_live_bytes() -> f64 {
    HEAP.allocated() as f64
}

fn main() {
    leptos::mount::mount_to_body(thingsim::FleetApp);
}
