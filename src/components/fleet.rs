//! The fleet view's parts: figures, the virtualised grid of device cards. Presentational: the
//! cards, figures and filter come in; nothing here decides anything about the fleet.

use std::sync::Arc;

use leptos::prelude::*;
use thingsim_console::fleet::{COLUMNS, Filter, ROW_PX, window};
use thingsim_console::panels::fixed;
use thingsim_fleet::fleet::{Card, Metrics};

use super::Text;

/// The grid's viewport height, in pixels (the CSS gives `.fleet-grid` the same).
pub const GRID_PX: f64 = 520.0;

/// Live figures of the fleet.
#[component]
pub fn FleetMetrics(
    /// The latest figures.
    metrics: ReadSignal<Option<Metrics>>,
    /// Messages a second (in, out), from the last two updates.
    rates: ReadSignal<(f64, f64)>,
) -> impl IntoView {
    let figure = |label: &'static str, testid: &'static str, value: Text| {
        view! {
            <div class="figure">
                <span class="figure-value" data-testid=testid>{move || value()}</span>
                <span class="figure-label">{label}</span>
            </div>
        }
    };
    let m = move |f: fn(&Metrics) -> String| {
        Arc::new(move || metrics.with(|m| m.as_ref().map(f).unwrap_or_default())) as Text
    };
    let job = move || {
        metrics.with(|m| {
            m.as_ref().and_then(|m| m.job.clone()).map(|j| {
                let counts = j
                    .by_status
                    .iter()
                    .map(|(status, n)| format!("{status} {n}"))
                    .collect::<Vec<_>>()
                    .join(" · ");
                let waiting = (j.waiting > 0).then(|| format!(" · waiting {}", j.waiting));
                let aborted = j.aborted.map(|why| format!(" · ABORTED: {why}"));
                format!(
                    "job {}: {counts}{}{}",
                    j.job_id,
                    waiting.unwrap_or_default(),
                    aborted.unwrap_or_default()
                )
            })
        })
    };
    view! {
        <div class="fleet-figures" data-testid="fleet-metrics">
            {figure("devices", "fleet-devices", m(|m| m.devices.to_string()))}
            {figure("connected", "fleet-connected", m(|m| m.connected.to_string()))}
            {figure("connecting", "fleet-connecting", m(|m| m.connecting.to_string()))}
            {figure("failed", "fleet-failed", m(|m| m.failed.to_string()))}
            {figure("msg/s in", "fleet-rate-in", Arc::new(move || fixed(rates.get().0, 0)))}
            {figure("msg/s out", "fleet-rate-out", Arc::new(move || fixed(rates.get().1, 0)))}
            {figure("delta pending", "fleet-delta", m(|m| m.delta_pending.to_string()))}
            {figure("converged p50 / p95", "fleet-convergence", m(|m| {
                m.convergence_ms.map_or_else(|| "–".to_owned(), |(p50, p95)| format!("{p50} / {p95} ms"))
            }))}
        </div>
        <p class="fleet-job" data-testid="fleet-job" role="status">{job}</p>
    }
}

/// One row per group: what it is and its own figures.
#[component]
pub fn FleetGroups(
    /// The latest figures.
    metrics: ReadSignal<Option<Metrics>>,
) -> impl IntoView {
    let rows = move || metrics.with(|m| m.as_ref().map(|m| m.groups.clone()).unwrap_or_default());
    view! {
        <table class="fleet-groups" data-testid="fleet-groups">
            <thead><tr>
                <th scope="col">"Group"</th><th scope="col">"Devices"</th>
                <th scope="col">"Connected"</th><th scope="col">"Δ pending"</th>
                <th scope="col">"Converged p50 / p95"</th><th scope="col">"Latest job"</th>
            </tr></thead>
            <tbody>
                <For each=rows key=|g| format!("{g:?}") let(g)>
                    <tr data-testid="fleet-group-row">
                        <th scope="row"><span class="fleet-group-name">{g.name.clone()}</span>
                            <span class="muted fleet-group-about">{g.about.clone()}</span></th>
                        <td>{g.devices}</td>
                        <td>{g.connected}</td>
                        <td>{g.delta_pending}</td>
                        <td>{g.convergence_ms.map_or_else(|| "–".to_owned(), |(p50, p95)| format!("{p50} / {p95} ms"))}</td>
                        <td data-testid="fleet-group-job">{g.job.iter().map(|(status, n)| format!("{status} {n}")).collect::<Vec<_>>().join(" · ")}</td>
                    </tr>
                </For>
            </tbody>
        </table>
    }
}

/// The devices as cards, only the rows in view rendered.
#[component]
pub fn FleetGrid(
    /// Every card, in fleet order.
    cards: ReadSignal<Vec<Card>>,
    /// Which to show.
    filter: ReadSignal<Filter>,
    /// Opens a device (by thing name) in the full console.
    on_open: Callback<String>,
) -> impl IntoView {
    let scroll_top = RwSignal::new(0.0);
    let kept = Memo::new(move |_| {
        let f = filter.get();
        cards.with(|all| {
            all.iter()
                .filter(|c| f.keeps(c))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let total = move || kept.with(Vec::len);
    let visible = move || {
        let range = window(total(), scroll_top.get(), GRID_PX);
        let start = range.start;
        kept.with(|k| {
            k[range]
                .iter()
                .enumerate()
                .map(|(i, c)| (start + i, c.clone()))
                .collect::<Vec<_>>()
        })
    };
    let card_view = move |(pos, card): (usize, Card)| {
        let row = pos / COLUMNS;
        let col = pos % COLUMNS;
        let status = card.job.map(|s| format!("{s:?}")).unwrap_or_default();
        let failed = matches!(status.as_str(), "Failed" | "Rejected" | "TimedOut");
        let label = format!(
            "{}: {}{}{}",
            card.thing,
            if card.online { "online" } else { "offline" },
            if card.delta_pending {
                ", delta pending"
            } else {
                ""
            },
            if status.is_empty() {
                String::new()
            } else {
                format!(", job {status}")
            }
        );
        view! {
            <li class="fleet-card" class:offline=!card.online class:failed=failed
                role="listitem" aria-label=label data-testid="fleet-card"
                style:top=format!("{}px", row as f64 * ROW_PX)
                style:left=format!("calc({col} * 100% / {COLUMNS})")>
                <div class="fleet-card-head">
                    <span class="dot" class:on=card.online aria-hidden="true"></span>
                    <button type="button" class="fleet-card-name link" data-testid="fleet-card-open"
                        title="Open in the full console"
                        on:click={
                            let thing = card.thing.clone();
                            move |_| on_open.run(thing.clone())
                        }>{card.thing.clone()}</button>
                    {card.delta_pending.then(|| view! { <span class="badge" title="desired state not reached">"Δ"</span> })}
                </div>
                <div class="fleet-card-reading">{card.reading.clone()}</div>
                <div class="fleet-card-job">
                    {card.progress.map(|p| view! { <progress max="100" value=p></progress> })}
                    <span class="muted" data-testid="fleet-card-status">{status}</span>
                    <span class="muted fleet-card-behaviour">{card.behaviour.label()}</span>
                </div>
            </li>
        }
    };
    view! {
        <p class="muted" data-testid="fleet-shown">{move || format!("{} devices shown", total())}</p>
        <div class="fleet-grid" tabindex="0" aria-label="Devices"
            on:scroll=move |ev| {
                if let Some((top, _)) = crate::shell::page::scroll_position(&ev, 0.0) {
                    scroll_top.set(top);
                }
            }>
            <ul class="fleet-spacer" role="list"
                style:height=move || format!("{}px", total().div_ceil(COLUMNS) as f64 * ROW_PX)>
                <For each=visible
                    key=|(pos, c)| (*pos, c.thing.clone(), c.online, c.delta_pending, c.progress, c.reading.clone(), c.job.map(|s| format!("{s:?}")))
                    children=card_view />
            </ul>
        </div>
    }
}
