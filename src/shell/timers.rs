//! Timers and tasks for the page: the only place the app reaches gloo and the browser's
//! scheduler, so components and `app.rs` stay free of them.

use std::future::Future;

/// A repeating timer; dropping it cancels it.
pub struct Ticker(
    #[allow(dead_code, reason = "held for its Drop, which cancels")]
    gloo_timers::callback::Interval,
);

/// Calls `f` every `ms` milliseconds until the returned [`Ticker`] is dropped.
pub fn every(ms: u32, f: impl FnMut() + 'static) -> Ticker {
    Ticker(gloo_timers::callback::Interval::new(ms, f))
}

/// Calls `f` once, `ms` milliseconds from now.
pub fn after(ms: u32, f: impl FnOnce() + 'static) {
    gloo_timers::callback::Timeout::new(ms, f).forget();
}

/// Calls `f` once, just before the browser next draws the page (`requestAnimationFrame`); in
/// a background tab, when it is shown again.
pub fn before_next_frame(f: impl FnOnce() + 'static) {
    use wasm_bindgen::JsCast;
    let callback = wasm_bindgen::closure::Closure::once_into_js(f);
    if let Some(window) = web_sys::window() {
        let _ = window.request_animation_frame(callback.unchecked_ref());
    }
}

/// Runs `task` on the page's event loop.
pub fn spawn(task: impl Future<Output = ()> + 'static) {
    wasm_bindgen_futures::spawn_local(task);
}

/// A seed for the cores' randomness (reconnect jitter, readings), drawn from `Math.random()`.
pub fn random_seed() -> u64 {
    // f64 → u64: `as` saturates, which is what a seed needs.
    (js_sys::Math::random() * u64::MAX as f64) as u64
}

/// Resolves `ms` milliseconds from now.
pub async fn sleep(ms: u32) {
    let (tx, rx) = futures::channel::oneshot::channel();
    let _timer = gloo_timers::callback::Timeout::new(ms, move || {
        let _ = tx.send(());
    });
    let _ = rx.await;
}
