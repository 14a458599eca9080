use leptos::prelude::*;
use serde_json::Value;
use thingsim_console::panels::{ChangeKind, ShadowView, pretty};

use super::utc_time;

/// Desired, reported and delta side by side, the version, and a timeline where stale deltas
/// and refused values are marked.
#[component]
pub fn ShadowPanel(
    /// The shadow as the console folded it.
    #[prop(into)]
    shadow: Signal<ShadowView>,
    /// HTTPS devices poll: (interval, last poll); `None` for MQTT devices.
    #[prop(into)]
    polling: Signal<Option<(u64, thingsim_mqtt::Millis)>>,
) -> impl IntoView {
    let column = move |title: &'static str, testid: &'static str, get: fn(&ShadowView) -> Value| {
        view! {
            <div class="shadow-col">
                <h3>{title}</h3>
                <pre data-testid=testid>{move || shadow.with(|s| pretty(&get(s)))}</pre>
            </div>
        }
    };
    view! {
        <p class="muted" data-testid="shadow-version">{move || shadow.with(|s| match (s.version, s.updated_at) {
            (Some(v), Some(at)) => format!("version {v} · updated {} UTC", utc_time(at.0)),
            (Some(v), None) => format!("version {v}"),
            _ => "no shadow version seen yet".to_owned(),
        })}</p>
        {move || polling.get().map(|(every, at)| view! {
            <p class="muted" data-testid="shadow-polling">
                {format!("HTTPS: polled every {} s · last poll {} UTC", every / 1000, utc_time(at.0))}
            </p>
        })}
        <div class="shadow-cols">
            {column("Desired", "shadow-desired", |s| Value::Object(s.desired.clone()))}
            {column("Reported", "shadow-reported", |s| Value::Object(s.reported.clone()))}
            {column("Delta", "shadow-delta", |s| Value::Object(s.delta()))}
        </div>
        {move || shadow.with(|s| (!s.conflicts.is_empty()).then(|| view! {
            <ul class="conflicts" data-testid="shadow-conflicts">
                {s.conflicts.iter().map(|(k, why)| view! { <li><strong>{k.clone()}</strong>": "{why.clone()}</li> }).collect_view()}
            </ul>
        }))}
        <h3>"Timeline"</h3>
        // Each row keyed by its change's number, so a change adds one row and drops the oldest
        // while the rows between stay (rebuilt by position, all fifty were rewritten twice a
        // round trip). Oldest first in the document, newest first on screen by flex `order`:
        // added at the front, two changes in one update made Leptos' keyed diff move every row
        // (tachys 0.2 groups a row that must move with neighbours that need not), 96 DOM
        // mutations a round trip. (A column-reverse box was tried too: a row drawn taller than
        // its placeholder pushed the newest out of the top.)
        <ol class="timeline" data-testid="shadow-timeline">
            <For
                each=move || shadow.with(|s| s.timeline.iter().rev().cloned().collect::<Vec<_>>())
                key=|c| c.seq
                let:c
            >
                {
                    let (class, label) = match c.kind {
                        ChangeKind::Delta => ("tl-delta", "delta applied".to_owned()),
                        ChangeKind::Reported => ("tl-report", "reported".to_owned()),
                        ChangeKind::Stale { seen } => ("tl-stale", format!("stale delta ignored (seen v{seen})")),
                        ChangeKind::Conflict => ("tl-conflict", "refused by the device".to_owned()),
                        ChangeKind::Document => ("tl-doc", "cloud document".to_owned()),
                    };
                    view! {
                        <li class=class style:order=format!("-{}", c.seq)>
                            <span class="tl-time">{utc_time(c.at.0)}</span>
                            <span class="tl-version">{c.version.map(|v| format!("v{v}")).unwrap_or_default()}</span>
                            <span>{label}</span>
                            <span class="muted">{c.keys.join(", ")}</span>
                        </li>
                    }
                }
            </For>
        </ol>
    }
}
