//! The environment sensor: three gauges, temperature, humidity and CO₂.

use thingsim_console::panels::fixed;

use super::Face;
use crate::shell::dom::{Node, Part};

/// Half a circle of `pathLength` 100.
const HALF: f64 = 50.0;

/// The gauge of `key` (its arc is `face-gauge-{key}`), its figure the text `figure` finds.
fn gauge(made: &Part, face: Face, key: &'static str, figure: &str, digits: u32) {
    let value = face.num(key);
    super::super::attr(
        &made.part(&format!("face-gauge-{key}")),
        "stroke-dasharray",
        move || Some(format!("{} 100", fixed(face.share(key, value()) * HALF, 2))),
    );
    super::super::text(&made.find(figure), move || fixed(value(), digits));
}

pub(super) fn build(at: &Node, face: Face) {
    let (t, h, c) = (
        face.num("temperature"),
        face.num("humidity"),
        face.num("co2"),
    );
    let made = at.html(concat!(
        r#"<svg viewBox="0 0 240 130" role="img" class="face-svg sensor">"#,
        r#"<path d="M8 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/>"#,
        r#"<path d="M86 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/>"#,
        r#"<path d="M164 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/>"#,
        r#"<path d="M8 90 a34 34 0 0 1 68 0" class="gauge-arc" pathLength="100" data-testid="face-gauge-temperature"/>"#,
        r#"<text x="42" y="86" class="face-mid"></text><text x="42" y="110" class="face-small">°C</text>"#,
        r#"<path d="M86 90 a34 34 0 0 1 68 0" class="gauge-arc" pathLength="100" data-testid="face-gauge-humidity"/>"#,
        r#"<text x="120" y="86" class="face-mid"></text><text x="120" y="110" class="face-small">% RH</text>"#,
        r#"<path d="M164 90 a34 34 0 0 1 68 0" class="gauge-arc" pathLength="100" data-testid="face-gauge-co2"/>"#,
        r#"<text x="198" y="86" class="face-mid"></text><text x="198" y="110" class="face-small">ppm CO₂</text>"#,
        "</svg>"
    ));
    super::super::attr(&made.root(), "aria-label", move || {
        Some(format!(
            "Environment sensor: {} °C, {} % humidity, {} ppm CO₂",
            fixed(t(), 1),
            fixed(h(), 0),
            fixed(c(), 0)
        ))
    });
    gauge(&made, face, "temperature", r#"[x="42"][y="86"]"#, 1);
    gauge(&made, face, "humidity", r#"[x="120"][y="86"]"#, 0);
    gauge(&made, face, "co2", r#"[x="198"][y="86"]"#, 0);
}
