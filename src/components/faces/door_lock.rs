//! The door lock: a padlock whose shackle closes when locked, the door beside it, the battery
//! below; pressing the lock locks or unlocks it.

use leptos::prelude::*;
use thingsim_console::panels::fixed;

use super::{Face, art, button, spoken};

pub(super) fn view(face: Face) -> impl IntoView {
    let (locked, open, battery) = (face.on("locked"), face.on("doorOpen"), face.num("battery"));
    let label = spoken(move || {
        format!(
            "Door lock {}, door {}, battery {} %: press to {}",
            if locked() { "locked" } else { "unlocked" },
            if open() { "open" } else { "closed" },
            fixed(battery(), 0),
            if locked() { "unlock" } else { "lock" }
        )
    });
    view! {
        <svg viewBox="0 0 240 170" role="group" aria-label="Door lock" class="face-svg lock" class:locked=locked>
            <rect x="150" y="20" width="62" height="118" rx="4" class="door" class:open=open />
            <text x="181" y="156" class="face-small">{move || if open() { "door open" } else { "door closed" }}</text>
            {button(label, "face-lock", "padlock", Callback::new(move |()| face.toggle("locked")), art(r#"<path d="M62 74 v-22 a28 28 0 0 1 56 0 v22" class="shackle face-stroke" data-testid="face-shackle"/><rect x="50" y="72" width="80" height="62" rx="10" class="lock-body"/><circle cx="90" cy="98" r="7" class="keyhole"/><rect x="86" y="100" width="8" height="16" rx="2" class="keyhole"/>"#))}
            <text x="90" y="156" class="face-small" data-testid="face-lock-state">{move || if locked() { "locked" } else { "unlocked" }}</text>
            {art(r#"<rect x="14" y="14" width="34" height="14" rx="3" class="battery-shell"/>"#)}
            <rect x="16" y="16" height="10" rx="2" class="battery-level" width=move || fixed(30.0 * battery() / 100.0, 1) />
        </svg>
    }
}
