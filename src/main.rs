//! The single-device console. The fleet view is its own module (`src/bin/fleet.rs`), so the
//! console's download does not carry it.

fn main() {
    leptos::mount::mount_to_body(thingsim::App);
}
