use thingsim_mqtt::Millis;

/// Monotonic milliseconds from `performance.now()` (falls back to `Date.now()` where there is
/// no `Performance`, e.g. some workers). Keep-alive is computed from these values, never from
/// how regularly timers fire: background tabs throttle timers to about once a minute.
pub fn now() -> Millis {
    let ms = web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now());
    // f64 → u64: `as` saturates and maps NaN to 0, which is what we want here.
    Millis(ms as u64)
}

/// Wall-clock milliseconds since the epoch (`Date.now()`): the device role compares them with
/// the timestamps in Fleets documents (command TTLs). Not monotonic; never used for keep-alive.
pub fn epoch() -> Millis {
    Millis(js_sys::Date::now() as u64)
}
