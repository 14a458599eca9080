//! The fleet view as its own WebAssembly module: the console's page (the one docs embed) does
//! not carry it. `loader.js` loads this one for `?view=fleet`.

fn main() {
    leptos::mount::mount_to_body(thingsim::FleetApp);
}
