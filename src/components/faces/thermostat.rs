//! The thermostat: a dial whose arc is the target on its range, the room's temperature in the
//! middle, − and + for the target, and a power button.

use thingsim_console::panels::fixed;

use super::{Face, button, shown};
use crate::shell::dom::Node;

/// The arc covers three quarters of the circle (`pathLength` 100: 75 of it).
const ARC: f64 = 75.0;

pub(super) fn build(at: &Node, face: Face) {
    let (power, mode) = (face.on("power"), face.text("mode"));
    let (target, now) = (face.num("targetTemperature"), face.num("temperature"));
    let (_, _, step) = face.range("targetTemperature");
    let made = at.html(concat!(
        r#"<svg viewBox="0 0 240 170" role="group" class="face-svg thermostat">"#,
        r#"<circle cx="120" cy="85" r="64" class="dial-track" pathLength="100" stroke-dasharray="75 100" transform="rotate(135 120 85)"/>"#,
        r#"<circle cx="120" cy="85" r="64" class="dial-arc" pathLength="100" transform="rotate(135 120 85)" data-testid="face-dial"/>"#,
        r#"<text x="120" y="86" class="face-big" data-testid="face-temperature"></text>"#,
        r#"<text x="120" y="110" class="face-small"></text>"#,
        r#"<text x="120" y="130" class="face-small face-mode"></text>"#,
        r#"<g class="face-button round" role="button" tabindex="0" data-testid="face-target-down" aria-label="Lower the target temperature"><title>Lower the target temperature</title>"#,
        r#"<circle cx="42" cy="148" r="15"/><text x="42" y="154" class="face-glyph">−</text></g>"#,
        r#"<g class="face-button round" role="button" tabindex="0" data-testid="face-target-up" aria-label="Raise the target temperature"><title>Raise the target temperature</title>"#,
        r#"<circle cx="198" cy="148" r="15"/><text x="198" y="154" class="face-glyph">+</text></g>"#,
        r#"<g class="face-button round power" role="button" tabindex="0" data-testid="face-power"><title></title>"#,
        r#"<circle cx="214" cy="22" r="14"/><path d="M214 14 v8 M208 18 a8 8 0 1 0 12 0" class="face-stroke"/></g>"#,
        "</svg>"
    ));
    let svg = made.root();
    super::super::attr(&svg, "aria-label", move || {
        Some(format!(
            "Thermostat, {}: {} °C in the room, target {} °C, mode {}",
            if power() { "on" } else { "off" },
            shown(now(), 0.1),
            shown(target(), step),
            mode()
        ))
    });
    super::super::class(&svg, "off", move || !power());
    super::super::attr(&made.part("face-dial"), "stroke-dasharray", move || {
        Some(format!(
            "{} 100",
            fixed(face.share("targetTemperature", target()) * ARC, 2)
        ))
    });
    super::super::text(&made.part("face-temperature"), move || {
        format!("{}°", shown(now(), 0.1))
    });
    super::super::text(&made.find(r#"[y="110"]"#), move || {
        format!("target {} °C", shown(target(), step))
    });
    super::super::text(&made.find(".face-mode"), mode);
    button(
        &made,
        "face-target-down",
        Box::new(move || face.nudge("targetTemperature", -1.0)),
        None,
    );
    button(
        &made,
        "face-target-up",
        Box::new(move || face.nudge("targetTemperature", 1.0)),
        None,
    );
    button(
        &made,
        "face-power",
        Box::new(move || face.toggle("power")),
        Some(Box::new(move || {
            if power() {
                "Turn the thermostat off".to_owned()
            } else {
                "Turn the thermostat on".to_owned()
            }
        })),
    );
}
