//! The thermostat: a dial whose arc is the target on its range, the room's temperature in the
//! middle, − and + for the target, and a power button.

use leptos::prelude::*;
use serde_json::Value;
use thingsim_console::panels::fixed;

use super::{Face, art, button, shown, spoken};

/// The arc covers three quarters of the circle (`pathLength` 100: 75 of it).
const ARC: f64 = 75.0;

pub(super) fn view(face: Face) -> impl IntoView {
    let (power, mode) = (face.on("power"), face.text("mode"));
    let (target, now) = (face.num("targetTemperature"), face.num("temperature"));
    let (_, _, step) = face.range("targetTemperature");
    let dash = move || {
        format!(
            "{} 100",
            fixed(face.share("targetTemperature", target()) * ARC, 2)
        )
    };
    let label = move || {
        format!(
            "Thermostat, {}: {} °C in the room, target {} °C, mode {}",
            if power() { "on" } else { "off" },
            shown(now(), 0.1),
            shown(target(), step),
            mode()
        )
    };
    let text = |s: &'static str| spoken(move || s.to_owned());
    view! {
        <svg viewBox="0 0 240 170" role="group" aria-label=label class="face-svg thermostat" class:off=move || !power()>
            {art(r#"<circle cx="120" cy="85" r="64" class="dial-track" pathLength="100" stroke-dasharray="75 100" transform="rotate(135 120 85)"/>"#)}
            <circle cx="120" cy="85" r="64" class="dial-arc" pathLength="100" stroke-dasharray=dash transform="rotate(135 120 85)" data-testid="face-dial" />
            <text x="120" y="86" class="face-big" data-testid="face-temperature">{move || shown(now(), 0.1)}"°"</text>
            <text x="120" y="110" class="face-small">"target "{move || shown(target(), step)}" °C"</text>
            <text x="120" y="130" class="face-small face-mode">{move || mode()}</text>
            {button(text("Lower the target temperature"), "face-target-down", "round", Callback::new(move |()| face.nudge("targetTemperature", -1.0)),
                art(r#"<circle cx="42" cy="148" r="15"/><text x="42" y="154" class="face-glyph">−</text>"#))}
            {button(text("Raise the target temperature"), "face-target-up", "round", Callback::new(move |()| face.nudge("targetTemperature", 1.0)),
                art(r#"<circle cx="198" cy="148" r="15"/><text x="198" y="154" class="face-glyph">+</text>"#))}
            {button(spoken(move || if power() { "Turn the thermostat off".into() } else { "Turn the thermostat on".into() }),
                "face-power", "round power", Callback::new(move |()| face.set("power", Value::Bool(!power()))),
                art(r#"<circle cx="214" cy="22" r="14"/><path d="M214 14 v8 M208 18 a8 8 0 1 0 12 0" class="face-stroke"/>"#))}
        </svg>
    }
}
