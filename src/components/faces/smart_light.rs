//! The smart light: a bulb that glows in its colour, as bright as its brightness; pressing it
//! switches the light, − and + dim it.

use thingsim_console::panels::fixed;

use super::{Face, button};
use crate::shell::dom::Node;

pub(super) fn build(at: &Node, face: Face) {
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
    let made = at.html(concat!(
        r#"<svg viewBox="0 0 240 170" role="group" aria-label="Smart light" class="face-svg light">"#,
        r#"<circle cx="120" cy="70" r="62" class="glow"/>"#,
        r#"<g class="face-button bulb" role="button" tabindex="0" data-testid="face-bulb"><title></title>"#,
        r#"<path d="M120 22 a40 40 0 0 1 24 72 c-4 4 -6 9 -6 14 h-36 c0 -5 -2 -10 -6 -14 a40 40 0 0 1 24 -72 z" class="bulb" data-testid="face-bulb-glass"/>"#,
        r#"<rect x="104" y="112" width="32" height="14" rx="3" class="bulb-base"/></g>"#,
        r#"<text x="120" y="150" class="face-small" data-testid="face-brightness"></text>"#,
        r#"<g class="face-button round" role="button" tabindex="0" data-testid="face-dim" aria-label="Dim the light"><title>Dim the light</title>"#,
        r#"<circle cx="42" cy="146" r="15"/><text x="42" y="152" class="face-glyph">−</text></g>"#,
        r#"<g class="face-button round" role="button" tabindex="0" data-testid="face-brighten" aria-label="Brighten the light"><title>Brighten the light</title>"#,
        r#"<circle cx="198" cy="146" r="15"/><text x="198" y="152" class="face-glyph">+</text></g>"#,
        "</svg>"
    ));
    super::super::class(&made.root(), "off", move || !on());
    let halo = made.find(".glow");
    super::super::attr(&halo, "fill", move || Some(hue()));
    super::super::attr(&halo, "opacity", move || Some(fixed(glow() * 0.55, 2)));
    let glass = made.part("face-bulb-glass");
    super::super::attr(&glass, "fill", move || {
        Some(if on() {
            hue()
        } else {
            "var(--face-off)".to_owned()
        })
    });
    super::super::attr(&glass, "fill-opacity", move || {
        Some(fixed(
            if on() {
                0.35 + 0.65 * brightness() / 100.0
            } else {
                1.0
            },
            2,
        ))
    });
    super::super::text(&made.part("face-brightness"), move || {
        if on() {
            format!("{} %", fixed(brightness(), 0))
        } else {
            "off".to_owned()
        }
    });
    button(
        &made,
        "face-bulb",
        Box::new(move || face.toggle("on")),
        Some(Box::new(move || {
            if on() {
                format!(
                    "Light on at {} %, colour {}: press to switch it off",
                    fixed(brightness(), 0),
                    hue()
                )
            } else {
                "Light off: press to switch it on".to_owned()
            }
        })),
    );
    button(
        &made,
        "face-dim",
        Box::new(move || face.nudge("brightness", -10.0)),
        None,
    );
    button(
        &made,
        "face-brighten",
        Box::new(move || face.nudge("brightness", 10.0)),
        None,
    );
}
