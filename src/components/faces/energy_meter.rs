//! The energy meter: an LCD with power, energy and voltage, and its relay's switch.

use leptos::prelude::*;
use thingsim_console::panels::fixed;

use super::{Face, art, button, spoken};

pub(super) fn view(face: Face) -> impl IntoView {
    let (relay, power, voltage, energy) = (
        face.on("relay"),
        face.num("power"),
        face.num("voltage"),
        face.num("energy"),
    );
    let label = spoken(move || {
        format!(
            "Relay {}: press to switch it {}",
            if relay() { "closed" } else { "open" },
            if relay() { "off" } else { "on" }
        )
    });
    view! {
        <svg viewBox="0 0 240 170" role="group" aria-label=move || format!("Energy meter: {} W, {} kWh, {} V", fixed(power(), 0), fixed(energy(), 3), fixed(voltage(), 1)) class="face-svg meter" class:off=move || !relay()>
            {art(r#"<rect x="20" y="16" width="200" height="92" rx="8" class="lcd"/>"#)}
            <text x="206" y="62" class="face-big lcd-text end" data-testid="face-power">{move || format!("{} W", fixed(power(), 0))}</text>
            <text x="206" y="94" class="face-small lcd-text end">{move || format!("{} kWh · {} V", fixed(energy(), 3), fixed(voltage(), 1))}</text>
            {button(label, "face-relay", "switch", Callback::new(move |()| face.toggle("relay")), view! {
                {art(r#"<rect x="84" y="124" width="72" height="32" rx="16" class="switch-track"/>"#)}
                <circle cy="140" r="12" class="switch-knob" cx=move || if relay() { "140" } else { "100" } />
            }.into_any())}
        </svg>
    }
}
