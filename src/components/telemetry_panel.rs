use thingsim_fleet::vec_map::VecMap;

use leptos::prelude::*;
use thingsim_console::panels::fixed;
use thingsim_fleet::device::UserCommand;
use thingsim_fleet::model::{Kind, Template};
use thingsim_mqtt::Millis;

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

/// Telemetry interval, a live chart per numeric reading, and a manual event.
#[component]
pub fn TelemetryPanel(
    /// Numeric reported values over time.
    series: Memo<Series>,
    /// Events published, newest first.
    events: Memo<Vec<(String, Millis)>>,
    /// User intent for the device.
    on_user: Callback<UserCommand>,
    /// The device model (its readings get their own intervals).
    template: &'static Template,
) -> impl IntoView {
    let readings = template
        .properties
        .iter()
        .filter(|p| !p.writable && matches!(p.kind, Kind::Number { .. }))
        .map(|p| {
            let key = p.key;
            let id = format!("metric-{key}");
            view! {
                <label class="inline">{p.label}" "
                    <select id=id.clone() data-testid=id on:change=move |ev| {
                        let v = event_target_value(&ev);
                        on_user.run(match v.as_str() {
                            "default" => UserCommand::UseDefaultInterval(key.to_owned()),
                            ms => UserCommand::SetMetricInterval {
                                key: key.to_owned(),
                                every: ms.parse::<u64>().ok(),
                            },
                        });
                    }>
                        <option value="default" selected>"as above"</option>
                        <option value="0">"never"</option>
                        <option value="1000">"1 s"</option>
                        <option value="5000">"5 s"</option>
                        <option value="30000">"30 s"</option>
                    </select>
                </label>
            }
            .into_any()
        })
        .collect_view();
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
    view! {
        <label class="inline">"Report readings every "
            <select data-testid="telemetry-interval" on:change=move |ev| {
                let ms = event_target_value(&ev).parse::<u64>().ok();
                on_user.run(UserCommand::SetTelemetry(ms));
            }>
                <option value="0">"never"</option>
                <option value="1000">"1 s"</option>
                <option value="5000" selected>"5 s"</option>
                <option value="30000">"30 s"</option>
            </select>
        </label>
        <div class="metrics">{readings}</div>
        <div class="charts" data-testid="charts">
            {move || series.with(|all| all.iter().filter(|(_, s)| s.len() > 1).map(|(key, s)| {
                let (pts, lo, hi) = points(s);
                view! {
                    <figure class="chart">
                        <svg viewBox="0 0 300 60" role="img" aria-label=format!("{key} over time, from {} to {}", fixed(lo, 1), fixed(hi, 1))>
                            <polyline points=pts fill="none" stroke="currentColor" stroke-width="1.5" />
                        </svg>
                        <figcaption>{key.clone()}" · "{format!("{} – {}", fixed(lo, 1), fixed(hi, 1))}</figcaption>
                    </figure>
                }.into_any()
            }).collect_view())}
        </div>
        <form class="event-form" on:submit=move |ev| { ev.prevent_default(); send(); }>
            <div class="field">
                <label for="event-kind">"Event type"</label>
                <input id="event-kind" data-testid="event-kind" prop:value=move || kind.get()
                    on:input=move |ev| kind.set(event_target_value(&ev)) />
            </div>
            <div class="field">
                <label for="event-payload">"Payload (JSON)"</label>
                <textarea id="event-payload" rows="2" data-testid="event-payload" prop:value=move || payload.get()
                    on:input=move |ev| payload.set(event_target_value(&ev))></textarea>
                <p class="field-error">{move || error.get()}</p>
            </div>
            <button type="submit" data-testid="event-send">"Publish event"</button>
        </form>
        <p class="muted" data-testid="events-sent">{move || events.with(|e| match e.first() {
            Some((k, _)) => format!("{} event(s) published; last: {k}", e.len()),
            None => "No events published yet.".to_owned(),
        })}</p>
    }
}
