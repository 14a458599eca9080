use serde_json::Value;
use thingsim_console::panels::{Change, ShadowView, follow_timeline, pretty};
use thingsim_reactive::*;

use crate::shell::dom::Node;
use crate::shell::rows::{self, Row};

use super::utc_time;

/// Desired, reported and delta side by side, the version, and a timeline where stale deltas
/// and refused values are marked, built into `at`. `polling` is, for HTTPS devices, which poll:
/// (interval, last poll); `None` for MQTT devices.
pub fn shadow_panel(
    at: &Node,
    shadow: Memo<ShadowView>,
    polling: ReadSignal<Option<(u64, thingsim_mqtt::Millis)>>,
) {
    let version = at
        .html(r#"<p class="muted" data-testid="shadow-version"></p>"#)
        .root();
    super::text(&version, move || {
        shadow.with(|s| match (s.version, s.updated_at) {
            (Some(v), Some(at)) => format!("version {v} · updated {} UTC", utc_time(at.0)),
            (Some(v), None) => format!("version {v}"),
            _ => "no shadow version seen yet".to_owned(),
        })
    });
    super::region(at, move |at| {
        if let Some((every, last)) = polling.get() {
            at.html(r#"<p class="muted" data-testid="shadow-polling"></p>"#)
                .root()
                .text(Some(&format!(
                    "HTTPS: polled every {} s · last poll {} UTC",
                    every / 1000,
                    utc_time(last.0)
                )));
        }
    });
    let cols = at.html(concat!(
        r#"<div class="shadow-cols">"#,
        r#"<div class="shadow-col"><h3>Desired</h3><pre data-testid="shadow-desired"></pre></div>"#,
        r#"<div class="shadow-col"><h3>Reported</h3><pre data-testid="shadow-reported"></pre></div>"#,
        r#"<div class="shadow-col"><h3>Delta</h3><pre data-testid="shadow-delta"></pre></div>"#,
        "</div>"
    ));
    let column = |testid: &'static str, get: fn(&ShadowView) -> Value| {
        super::text(&cols.part(testid), move || shadow.with(|s| pretty(&get(s))));
    };
    column("shadow-desired", |s| Value::Object(s.desired.clone()));
    column("shadow-reported", |s| Value::Object(s.reported.clone()));
    column("shadow-delta", |s| Value::Object(s.delta()));
    super::region(at, move |at| {
        shadow.with(|s| {
            if s.conflicts.is_empty() {
                return;
            }
            let list = at
                .html(r#"<ul class="conflicts" data-testid="shadow-conflicts"></ul>"#)
                .root();
            for (k, why) in &s.conflicts {
                let item = list.html("<li><strong></strong><span></span></li>");
                item.find("strong").text(Some(k));
                item.find("span").text(Some(&format!(": {why}")));
            }
        });
    });
    // The rows are drawn by hand (`shell::rows`): a stream of changes makes all fifty new at
    // every redraw, and the rows that go are filled again for the ones that come. Newest first,
    // in the document as on screen.
    let list = at
        .html(r#"<h3>Timeline</h3><ol class="timeline" data-testid="shadow-timeline"></ol>"#)
        .part("shadow-timeline");
    let shown = StoredValue::new(Vec::<u64>::new());
    effect(move || {
        shadow.with(|s| {
            let next: Vec<u64> = s.timeline.iter().map(|c| c.seq).collect();
            shown.update_value(|shown| {
                let (drop, add) =
                    follow_timeline(shown, &next).unwrap_or((shown.len(), next.len()));
                let rows: Vec<Row> = s.timeline.iter().take(add).map(row).collect();
                let drawn = rows::splice(
                    list.element(),
                    drop,
                    &rows,
                    &["tl-time", "tl-version", "", "muted"],
                );
                // A list the browser would not fill is drawn afresh at the next redraw.
                *shown = if drawn { next } else { Vec::new() };
            });
        });
    });
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
