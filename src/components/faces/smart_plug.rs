//! The smart plug: a socket with its light, what it draws against its limit; pressing it
//! switches it.

use thingsim_console::panels::fixed;

use super::{Face, button};
use crate::shell::dom::Node;

pub(super) fn build(at: &Node, face: Face) {
    let (on, power, limit) = (face.on("on"), face.num("power"), face.num("powerLimit"));
    let made = at.html(concat!(
        r#"<svg viewBox="0 0 240 170" role="group" class="face-svg plug">"#,
        r#"<g class="face-button socket" role="button" tabindex="0" data-testid="face-plug"><title></title>"#,
        r#"<rect x="60" y="14" width="120" height="110" rx="24" class="socket"/><circle cx="120" cy="69" r="34" class="socket-well"/>"#,
        r#"<circle cx="106" cy="69" r="5" class="socket-hole"/><circle cx="134" cy="69" r="5" class="socket-hole"/>"#,
        r#"<circle cx="164" cy="30" r="6" class="led" data-testid="face-led"/></g>"#,
        r#"<text x="120" y="146" class="face-mid" data-testid="face-power"></text>"#,
        r#"<text x="120" y="164" class="face-small"></text>"#,
        "</svg>"
    ));
    let svg = made.root();
    super::super::attr(&svg, "aria-label", move || {
        Some(format!(
            "Smart plug: {} W of {} W allowed",
            fixed(power(), 1),
            fixed(limit(), 0)
        ))
    });
    super::super::class(&svg, "off", move || !on());
    super::super::text(&made.part("face-power"), move || {
        format!("{} W", fixed(power(), 1))
    });
    super::super::text(&made.find(r#"[y="164"]"#), move || {
        format!("limit {} W", fixed(limit(), 0))
    });
    button(
        &made,
        "face-plug",
        Box::new(move || face.toggle("on")),
        Some(Box::new(move || {
            format!(
                "Plug {}: press to switch it {}",
                if on() { "on" } else { "off" },
                if on() { "off" } else { "on" }
            )
        })),
    );
}
