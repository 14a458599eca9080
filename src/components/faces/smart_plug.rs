//! The smart plug: a socket with its light, what it draws against its limit; pressing it
//! switches it.

use leptos::prelude::*;
use thingsim_console::panels::fixed;

use super::{Face, art, button, spoken};

pub(super) fn view(face: Face) -> impl IntoView {
    let (on, power, limit) = (face.on("on"), face.num("power"), face.num("powerLimit"));
    let label = spoken(move || {
        format!(
            "Plug {}: press to switch it {}",
            if on() { "on" } else { "off" },
            if on() { "off" } else { "on" }
        )
    });
    view! {
        <svg viewBox="0 0 240 170" role="group" aria-label=move || format!("Smart plug: {} W of {} W allowed", fixed(power(), 1), fixed(limit(), 0)) class="face-svg plug" class:off=move || !on()>
            {button(label, "face-plug", "socket", Callback::new(move |()| face.toggle("on")), art(r#"<rect x="60" y="14" width="120" height="110" rx="24" class="socket"/><circle cx="120" cy="69" r="34" class="socket-well"/><circle cx="106" cy="69" r="5" class="socket-hole"/><circle cx="134" cy="69" r="5" class="socket-hole"/><circle cx="164" cy="30" r="6" class="led" data-testid="face-led"/>"#))}
            <text x="120" y="146" class="face-mid" data-testid="face-power">{move || format!("{} W", fixed(power(), 1))}</text>
            <text x="120" y="164" class="face-small">{move || format!("limit {} W", fixed(limit(), 0))}</text>
        </svg>
    }
}
