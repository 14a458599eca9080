//! The environment sensor: three gauges, temperature, humidity and CO₂.

use leptos::prelude::*;

use super::{Face, art};

/// Half a circle of `pathLength` 100.
const HALF: f64 = 50.0;

fn gauge(
    face: Face,
    key: &'static str,
    x: f64,
    unit: &'static str,
    digits: usize,
) -> impl IntoView {
    let value = face.num(key);
    let dash = move || format!("{:.2} 100", face.share(key, value.get()) * HALF);
    let arc = format!("M{} 90 a34 34 0 0 1 68 0", x - 34.0);
    view! {
        <path d=arc class="gauge-arc" pathLength="100" stroke-dasharray=dash data-testid=format!("face-gauge-{key}") />
        <text x=x y="86" class="face-mid">{move || format!("{:.*}", digits, value.get())}</text>
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
            aria-label=move || format!("Environment sensor: {:.1} °C, {:.0} % humidity, {:.0} ppm CO₂", t.get(), h.get(), c.get())>
            {art(r#"<path d="M8 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/><path d="M86 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/><path d="M164 90 a34 34 0 0 1 68 0" class="gauge-track" pathLength="100" stroke-dasharray="50 100"/>"#)}
            {gauge(face, "temperature", 42.0, "°C", 1)}
            {gauge(face, "humidity", 120.0, "% RH", 0)}
            {gauge(face, "co2", 198.0, "ppm CO₂", 0)}
        </svg>
    }
}
