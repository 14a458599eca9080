//! The smart light: a bulb that glows in its colour, as bright as its brightness; pressing it
//! switches the light, − and + dim it.

use leptos::prelude::*;
use thingsim_console::panels::fixed;

use super::{Face, art, button, spoken};

pub(super) fn view(face: Face) -> impl IntoView {
    let (on, color, brightness) = (face.on("on"), face.text("color"), face.num("brightness"));
    let hue = move || {
        let c = color();
        if c.starts_with('#') && c.len() == 7 {
            c
        } else {
            "#ffd27a".to_owned()
        }
    };
    let glow = move || {
        if on() {
            0.15 + 0.85 * brightness() / 100.0
        } else {
            0.0
        }
    };
    let label = spoken(move || {
        if on() {
            format!(
                "Light on at {} %, colour {}: press to switch it off",
                fixed(brightness(), 0),
                hue()
            )
        } else {
            "Light off: press to switch it on".to_owned()
        }
    });
    let text = |s: &'static str| spoken(move || s.to_owned());
    view! {
        <svg viewBox="0 0 240 170" role="group" aria-label="Smart light" class="face-svg light" class:off=move || !on()>
            <circle cx="120" cy="70" r="62" class="glow" fill=hue opacity=move || fixed(glow() * 0.55, 2) />
            {button(label, "face-bulb", "bulb", Callback::new(move |()| face.toggle("on")), view! {
                <path d="M120 22 a40 40 0 0 1 24 72 c-4 4 -6 9 -6 14 h-36 c0 -5 -2 -10 -6 -14 a40 40 0 0 1 24 -72 z"
                    class="bulb" fill=move || if on() { hue() } else { "var(--face-off)".to_owned() }
                    fill-opacity=move || fixed(if on() { 0.35 + 0.65 * brightness() / 100.0 } else { 1.0 }, 2)
                    data-testid="face-bulb-glass" />
                {art(r#"<rect x="104" y="112" width="32" height="14" rx="3" class="bulb-base"/>"#)}
            }.into_any())}
            <text x="120" y="150" class="face-small" data-testid="face-brightness">{move || if on() { format!("{} %", fixed(brightness(), 0)) } else { "off".to_owned() }}</text>
            {button(text("Dim the light"), "face-dim", "round", Callback::new(move |()| face.nudge("brightness", -10.0)),
                art(r#"<circle cx="42" cy="146" r="15"/><text x="42" y="152" class="face-glyph">−</text>"#))}
            {button(text("Brighten the light"), "face-brighten", "round", Callback::new(move |()| face.nudge("brightness", 10.0)),
                art(r#"<circle cx="198" cy="146" r="15"/><text x="198" y="152" class="face-glyph">+</text>"#))}
        </svg>
    }
}
