use thingsim_fleet::vec_map::VecMap;

use thingsim_console::panels::fixed;
use thingsim_fleet::device::UserCommand;
use thingsim_fleet::model::{Kind, Template};
use thingsim_mqtt::Millis;
use thingsim_reactive::*;

use crate::shell::dom::Node;

type Series = VecMap<String, Vec<(Millis, f64)>>;

/// SVG polyline points for one series, scaled into a 300×60 box.
fn points(series: &[(Millis, f64)]) -> (String, f64, f64) {
    let (lo, hi) = series
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, v)| {
            (lo.min(*v), hi.max(*v))
        });
    let (t0, t1) = match (series.first(), series.last()) {
        (Some(a), Some(b)) => (a.0.0, b.0.0.max(a.0.0 + 1)),
        _ => return (String::new(), 0.0, 0.0),
    };
    let span = if hi > lo { hi - lo } else { 1.0 };
    let pts = series
        .iter()
        .map(|(t, v)| {
            let x = (t.0 - t0) as f64 * 300.0 / (t1 - t0) as f64;
            let y = 58.0 - (v - lo) * 56.0 / span;
            format!("{},{}", fixed(x, 1), fixed(y, 1))
        })
        .collect::<Vec<_>>()
        .join(" ");
    (pts, lo, hi)
}

/// Telemetry interval, a live chart per numeric reading, and a manual event, built into `at`.
/// `series` holds the numeric reported values over time; `events` says how many events were
/// published and the last one's type; `on_user` user intent for the device; `template` the device model (its readings get
/// their own intervals).
pub fn telemetry_panel(
    at: &Node,
    series: Memo<Series>,
    events: impl Fn() -> Option<(usize, String)> + 'static,
    on_user: Callback<UserCommand>,
    template: &'static Template,
) {
    let kind = RwSignal::new(String::from("alarm"));
    let payload = RwSignal::new(String::from(
        r#"{"level": "warning", "message": "door left open"}"#,
    ));
    let error = RwSignal::new(None::<String>);
    let send = move || {
        let body = payload.get_untracked();
        match thingsim_fleet::json::value(if body.trim().is_empty() {
            b"{}"
        } else {
            body.as_bytes()
        }) {
            Ok(value) => {
                error.set(None);
                on_user.run(UserCommand::PublishEvent {
                    kind: kind.get_untracked().trim().to_owned(),
                    payload: value,
                });
            }
            Err(e) => error.set(Some(format!("payload: not JSON ({e})"))),
        }
    };
    let made = at.html(concat!(
        r#"<label class="inline">Report readings every <select data-testid="telemetry-interval">"#,
        r#"<option value="0">never</option><option value="1000">1 s</option>"#,
        r#"<option value="5000" selected>5 s</option><option value="30000">30 s</option>"#,
        "</select></label>",
        r#"<div class="metrics"></div><div class="charts" data-testid="charts"></div>"#,
        r#"<form class="event-form"><div class="field"><label for="event-kind">Event type</label>"#,
        r#"<input id="event-kind" data-testid="event-kind"></div>"#,
        r#"<div class="field"><label for="event-payload">Payload (JSON)</label>"#,
        r#"<textarea id="event-payload" rows="2" data-testid="event-payload"></textarea>"#,
        r#"<p class="field-error"></p></div>"#,
        r#"<button type="submit" data-testid="event-send">Publish event</button></form>"#,
        r#"<p class="muted" data-testid="events-sent"></p>"#
    ));
    made.part("telemetry-interval")
        .on_value(move |v| on_user.run(UserCommand::SetTelemetry(v.parse::<u64>().ok())));
    let metrics = made.find(".metrics");
    for p in template
        .properties
        .iter()
        .filter(|p| !p.writable && matches!(p.kind, Kind::Number { .. }))
    {
        let Some(label) = metrics.child("label", "inline") else {
            continue;
        };
        label.text(Some(&format!("{} ", p.label)));
        let select = label
            .html(concat!(
                r#"<select><option value="default" selected>as above</option>"#,
                r#"<option value="0">never</option><option value="1000">1 s</option>"#,
                r#"<option value="5000">5 s</option><option value="30000">30 s</option></select>"#
            ))
            .root();
        let id = format!("metric-{}", p.key);
        select.attrs(&[("id", &id), ("data-testid", &id)]);
        let key = p.key;
        select.on_value(move |v| {
            on_user.run(match v.as_str() {
                "default" => UserCommand::UseDefaultInterval(key.to_owned()),
                ms => UserCommand::SetMetricInterval {
                    key: key.to_owned(),
                    every: ms.parse::<u64>().ok(),
                },
            });
        });
    }
    // The charts are written in place while the same readings have one (a new chart only when
    // another reading gets one): made anew at each redraw, they were laid out and painted
    // anew too, and the round trip's slowest rounds waited for it.
    let box_ = made.part("charts");
    let drawn = StoredValue::new(Vec::<(String, [Node; 3])>::new());
    effect(move || {
        series.with(|all| {
            let shown: Vec<_> = all.iter().filter(|(_, s)| s.len() > 1).collect();
            drawn.update_value(|drawn| {
                if drawn.len() != shown.len() || drawn.iter().zip(&shown).any(|(d, s)| d.0 != *s.0) {
                    box_.clear();
                    drawn.clear();
                    for (key, _) in &shown {
                        let chart = box_.html(concat!(
                            r#"<figure class="chart"><svg viewBox="0 0 300 60" role="img">"#,
                            r#"<polyline fill="none" stroke="currentColor" stroke-width="1.5" /></svg>"#,
                            "<figcaption></figcaption></figure>"
                        ));
                        let parts = [chart.find("svg"), chart.find("polyline"), chart.find("figcaption")];
                        drawn.push(((*key).clone(), parts));
                    }
                }
                for ((key, [svg, line, caption]), (_, s)) in drawn.iter().zip(&shown) {
                    let (pts, lo, hi) = points(s);
                    let (lo, hi) = (fixed(lo, 1), fixed(hi, 1));
                    svg.attr("aria-label", Some(&format!("{key} over time, from {lo} to {hi}")));
                    line.attr("points", Some(&pts));
                    caption.text(Some(&format!("{key} · {lo} – {hi}")));
                }
            });
        });
    });
    made.find("form").on_submit(send);
    super::two_way(&made.part("event-kind"), kind);
    super::two_way(&made.part("event-payload"), payload);
    super::text(&made.find(".field-error"), move || {
        error.get().unwrap_or_default()
    });
    super::text(&made.part("events-sent"), move || match events() {
        Some((n, k)) => format!("{n} event(s) published; last: {k}"),
        None => "No events published yet.".to_owned(),
    });
}
