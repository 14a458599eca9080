//! The energy meter: an LCD with power, energy and voltage, and its relay's switch.

use thingsim_console::panels::fixed;

use super::{Face, button};
use crate::shell::dom::Node;

pub(super) fn build(at: &Node, face: Face) {
    let (relay, power, voltage, energy) = (
        face.on("relay"),
        face.num("power"),
        face.num("voltage"),
        face.num("energy"),
    );
    let made = at.html(concat!(
        r#"<svg viewBox="0 0 240 170" role="group" class="face-svg meter">"#,
        r#"<rect x="20" y="16" width="200" height="92" rx="8" class="lcd"/>"#,
        r#"<text x="206" y="62" class="face-big lcd-text end" data-testid="face-power"></text>"#,
        r#"<text x="206" y="94" class="face-small lcd-text end"></text>"#,
        r#"<g class="face-button switch" role="button" tabindex="0" data-testid="face-relay"><title></title>"#,
        r#"<rect x="84" y="124" width="72" height="32" rx="16" class="switch-track"/>"#,
        r#"<circle cy="140" r="12" class="switch-knob"/></g>"#,
        "</svg>"
    ));
    let svg = made.root();
    super::super::attr(&svg, "aria-label", move || {
        Some(format!(
            "Energy meter: {} W, {} kWh, {} V",
            fixed(power(), 0),
            fixed(energy(), 3),
            fixed(voltage(), 1)
        ))
    });
    super::super::class(&svg, "off", move || !relay());
    super::super::text(&made.part("face-power"), move || {
        format!("{} W", fixed(power(), 0))
    });
    super::super::text(&made.find(r#"[y="94"]"#), move || {
        format!("{} kWh · {} V", fixed(energy(), 3), fixed(voltage(), 1))
    });
    super::super::attr(&made.find(".switch-knob"), "cx", move || {
        Some(if relay() { "140" } else { "100" }.to_owned())
    });
    button(
        &made,
        "face-relay",
        Box::new(move || face.toggle("relay")),
        Some(Box::new(move || {
            format!(
                "Relay {}: press to switch it {}",
                if relay() { "closed" } else { "open" },
                if relay() { "off" } else { "on" }
            )
        })),
    );
}
