//! The single-device console. The fleet view is its own module (`src/bin/fleet.rs`), so the
//! console's download does not carry it.

fn main() {
    if let Some(body) = thingsim::shell::dom::Node::body() {
        // The console lives as long as the page.
        std::mem::forget(thingsim::mount(&body));
    }
}
