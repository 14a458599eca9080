//! The environment sensor: three gauges, temperature, humidity and CO₂.

use leptos::prelude::*;
use thingsim_console::panels::fixed;

use super::{Face, art};

/// Half a circle of `pathLength` 100.
const HALF: f64 = 50.0;

fn gauge(face: Face, key: &'static str, x: i32, unit: &'static str, digits: u32) -> impl IntoView {
    let value = face.num(key);
    let dash = move || format!("{} 100", fixed(face.share(key, value()) * HALF, 2));
    let arc = format!("M{} 90 a34 34 0 0 1 68 0", x - 34);
    view! {
        <path d=arc class="gauge-arc" pathLength="100" stroke-dasharray=dash data-testid=format!("face-gauge-{key}") />
        <text x=x y="86" class="face-mid">{move || fixed(value(), digits)}</text>
        <text x=x y="110" class="face-small">{unit}</text>
    }
}

pub(super) fn view(face: Face) -> impl IntoView {
    let (t, h, c) = (
        face.num("temperature"),
        face.num("humidity"),
        face.num("co2"),
    );
    view! {
        <svg viewBox="0 0 240 130" role="img" class="face-svg sensor"
            aria-label=move || format!("Environment sensor: {} °C, {} % humidity, {} ppm CO₂", fixed(t(), 1), fixed(h(), 0), fixed(c(), 0))>
            {art(r#"<path d="M8 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/><path d="M86 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/><path d="M164 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/>"#)}
            {gauge(face, "temperature", 42, "°C", 1)}
            {gauge(face, "humidity", 120, "% RH", 0)}
            {gauge(face, "co2", 198, "ppm CO₂", 0)}
        </svg>
    }
}
