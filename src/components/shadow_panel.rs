use leptos::html::Ol;
use leptos::prelude::*;
use serde_json::Value;
use thingsim_console::panels::{Change, ShadowView, follow_timeline, pretty};

use crate::shell::rows::{self, Row};

use super::utc_time;

/// Desired, reported and delta side by side, the version, and a timeline where stale deltas
/// and refused values are marked.
#[component]
pub fn ShadowPanel(
    /// The shadow as the console folded it.
    shadow: Memo<ShadowView>,
    /// HTTPS devices poll: (interval, last poll); `None` for MQTT devices.
    polling: ReadSignal<Option<(u64, thingsim_mqtt::Millis)>>,
) -> impl IntoView {
    let column = move |title: &'static str, testid: &'static str, get: fn(&ShadowView) -> Value| {
        view! {
            <div class="shadow-col">
                <h3>{title}</h3>
                <pre data-testid=testid>{move || shadow.with(|s| pretty(&get(s)))}</pre>
            </div>
        }
    };
    // The rows are drawn by hand (`shell::rows`): a stream of changes makes all fifty new at
    // every redraw, and the rows that go are filled again for the ones that come. Newest first,
    // in the document as on screen.
    let list = NodeRef::<Ol>::new();
    let shown = StoredValue::new(Vec::<u64>::new());
    super::effect(move || {
        let Some(list) = list.get() else { return };
        shadow.with(|s| {
            let next: Vec<u64> = s.timeline.iter().map(|c| c.seq).collect();
            shown.update_value(|shown| {
                let (drop, add) =
                    follow_timeline(shown, &next).unwrap_or((shown.len(), next.len()));
                let rows: Vec<Row> = s.timeline.iter().take(add).map(row).collect();
                let drawn =
                    rows::splice(&list, drop, &rows, &["tl-time", "tl-version", "", "muted"]);
                // A list the browser would not fill is drawn afresh at the next redraw.
                *shown = if drawn { next } else { Vec::new() };
            });
        });
    });
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
                {s.conflicts.iter().map(|(k, why)| view! { <li><strong>{k.clone()}</strong>": "{why.clone()}</li> }.into_any()).collect_view()}
            </ul>
        }))}
        <h3>"Timeline"</h3>
        <ol class="timeline" data-testid="shadow-timeline" node_ref=list></ol>
    }
}

fn row(c: &Change) -> Row {
    let (class, label) = c.describe();
    Row {
        class,
        cells: vec![
            utc_time(c.at.0),
            c.version.map(|v| format!("v{v}")).unwrap_or_default(),
            label,
            c.keys.join(", "),
        ],
    }
}
