use thingsim_mqtt::Millis;

/// Monotonic milliseconds from `performance.now()` (falls back to `Date.now()` where there is
/// no `Performance`, e.g. some workers). Keep-alive is computed from these values, never from
/// how regularly timers fire: background tabs throttle timers to about once a minute.
pub fn now() -> Millis {
    // Looked up once: `window()` is an `instanceof` check and `performance` a getter, and the
    // runner reads the clock on every pass (20,000 times for a flood of 20,000 messages).
    thread_local! {
        static PERFORMANCE: Option<web_sys::Performance> =
            web_sys::window().and_then(|w| w.performance());
    }
    let ms = PERFORMANCE.with(|p| p.as_ref().map_or_else(js_sys::Date::now, |p| p.now()));
    // f64 → u64: `as` saturates and maps NaN to 0, which is what we want here.
    Millis(ms as u64)
}

/// Wall-clock milliseconds since the epoch (`Date.now()`): the device role compares them with
/// the timestamps in Fleets documents (command TTLs). Not monotonic; never used for keep-alive.
pub fn epoch() -> Millis {
    Millis(js_sys::Date::now() as u64)
}
