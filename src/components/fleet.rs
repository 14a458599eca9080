//! The fleet view's parts: figures, the virtualised grid of device cards. Presentational: the
//! cards, figures and filter come in; nothing here decides anything about the fleet.

use std::sync::Arc;

use leptos::html::Ul;
use leptos::prelude::*;
use thingsim_console::fleet::{COLUMNS, Filter, ROW_PX, window};
use thingsim_console::panels::fixed;
use thingsim_fleet::fleet::{Card, Metrics};

use crate::shell::dom::{self, Node};

/// A text that follows the state (a fleet figure): a closure behind one pointer
/// type, where a `Signal<String>` or a closure type each would bring code of its own.
type Text = Arc<dyn Fn() -> String + Send + Sync>;

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
                {move || rows().into_iter().map(|g| view! {
                    <tr data-testid="fleet-group-row">
                        <th scope="row"><span class="fleet-group-name">{g.name}</span>
                            <span class="muted fleet-group-about">{g.about}</span></th>
                        <td>{g.devices}</td>
                        <td>{g.connected}</td>
                        <td>{g.delta_pending}</td>
                        <td>{g.convergence_ms.map_or_else(|| "–".to_owned(), |(p50, p95)| format!("{p50} / {p95} ms"))}</td>
                        <td data-testid="fleet-group-job">{g.job.iter().map(|(status, n)| format!("{status} {n}")).collect::<Vec<_>>().join(" · ")}</td>
                    </tr>
                }.into_any()).collect_view()}
            </tbody>
        </table>
    }
}

/// The devices as cards, only the rows in view rendered. The cards are drawn by hand: a card
/// keeps its `<li>` while it stays in view, written again only when the card changes, and
/// the elements of the cards that scrolled out go to the ones that came in. A keyed list
/// built a new card for every change (1,000 devices report each second) and brought its
/// diff's code into the module.
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
    let list = NodeRef::<Ul>::new();
    // The cards drawn: each at its position in the kept cards, in its elements.
    let drawn = StoredValue::new_local(Vec::<(usize, Card, CardView)>::new());
    Effect::new(move |_| {
        let Some(ul) = list.get() else { return };
        let ul = Node::of(&ul);
        let range = window(total(), scroll_top.get(), GRID_PX);
        kept.with(|k| {
            drawn.update_value(|drawn| {
                // A grid rebuilt in place is handed the list with the cards drawn before it.
                if drawn.is_empty() {
                    ul.text(None);
                }
                // A card still in view keeps its elements, written in place when it changes
                // (a focused name stays focused); the elements of the positions that left the
                // window go to the positions that came, put back in the list's order (the
                // order keyboards and screen readers follow).
                let mut free = Vec::new();
                drawn.retain(|(pos, _, view)| {
                    let keep = range.contains(pos);
                    if !keep {
                        free.push(view.clone());
                    }
                    keep
                });
                for (pos, card) in range.clone().zip(&k[range]) {
                    if let Some((_, shown, view)) = drawn.iter_mut().find(|(p, _, _)| *p == pos) {
                        if shown != card {
                            view.show(pos, card);
                            *shown = card.clone();
                        }
                    } else if let Some(mut view) = free.pop().or_else(|| CardView::new(&ul)) {
                        view.show(pos, card);
                        let next = drawn
                            .iter()
                            .filter(|(p, _, _)| *p > pos)
                            .min_by_key(|(p, _, _)| *p);
                        ul.insert(&view.li, next.map(|(_, _, next)| &next.li));
                        drawn.push((pos, card.clone(), view));
                    }
                }
                for view in free {
                    view.li.remove();
                }
            });
        });
    });
    view! {
        <p class="muted" data-testid="fleet-shown">{move || format!("{} devices shown", total())}</p>
        <div class="fleet-grid" tabindex="0" aria-label="Devices"
            on:scroll=move |ev| {
                if let Some((top, _)) = crate::shell::page::scroll_position(&ev, 0.0) {
                    scroll_top.set(top);
                }
            }>
            <ul class="fleet-spacer" role="list" node_ref=list
                style:height=move || format!("{}px", total().div_ceil(COLUMNS) as f64 * ROW_PX)
                on:click=move |ev| {
                    // One listener for every card: the name button says which.
                    if let Some(name) = dom::closest(&ev, "[data-testid=fleet-card-open]") {
                        on_open.run(name.text_of());
                    }
                }>
            </ul>
        </div>
    }
}

/// One card's elements, built once and written in place.
#[derive(Clone)]
struct CardView {
    li: Node,
    head: Node,
    dot: Node,
    name: Node,
    badge: Option<Node>,
    reading: Node,
    job: Node,
    progress: Option<Node>,
    status: Node,
    behaviour: Node,
}

impl CardView {
    /// A card's elements, at the end of `ul`.
    fn new(ul: &Node) -> Option<Self> {
        let li = ul.child("li", "")?;
        li.attrs(&[("role", "listitem"), ("data-testid", "fleet-card")]);
        let head = li.child("div", "fleet-card-head")?;
        let dot = head.child("span", "dot")?;
        dot.attrs(&[("aria-hidden", "true")]);
        let name = head.child("button", "fleet-card-name link")?;
        name.attrs(&[
            ("type", "button"),
            ("data-testid", "fleet-card-open"),
            ("title", "Open in the full console"),
        ]);
        let reading = li.child("div", "fleet-card-reading")?;
        let job = li.child("div", "fleet-card-job")?;
        let status = job.child("span", "muted")?;
        status.attrs(&[("data-testid", "fleet-card-status")]);
        let behaviour = job.child("span", "muted fleet-card-behaviour")?;
        Some(Self {
            li,
            head,
            dot,
            name,
            badge: None,
            reading,
            job,
            progress: None,
            status,
            behaviour,
        })
    }

    /// Writes `card`, at position `pos` of the kept cards.
    fn show(&mut self, pos: usize, card: &Card) {
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
        self.li.class(match (card.online, failed) {
            (true, false) => "fleet-card",
            (false, false) => "fleet-card offline",
            (true, true) => "fleet-card failed",
            (false, true) => "fleet-card offline failed",
        });
        self.li.attrs(&[("aria-label", &label)]);
        self.li.style("top", &format!("{}px", row as f64 * ROW_PX));
        self.li
            .style("left", &format!("calc({col} * 100% / {COLUMNS})"));
        self.dot.class(if card.online { "dot on" } else { "dot" });
        self.name.text(Some(&card.thing));
        present(&mut self.badge, card.delta_pending, || {
            let badge = self.head.child("span", "badge")?;
            badge.attrs(&[("title", "desired state not reached")]);
            badge.text(Some("Δ"));
            Some(badge)
        });
        self.reading.text(Some(&card.reading));
        let bar = present(&mut self.progress, card.progress.is_some(), || {
            let progress = self.job.child("progress", "")?;
            progress.attrs(&[("max", "100")]);
            self.job.insert(&progress, Some(&self.status));
            Some(progress)
        });
        if let (Some(p), Some(bar)) = (card.progress, bar) {
            bar.attrs(&[("value", &p.to_string())]);
        }
        self.status.text(Some(&status));
        self.behaviour.text(Some(card.behaviour.label()));
    }
}

/// An element shown only `when`: made by `make` when it comes, taken out when it goes.
fn present(
    slot: &mut Option<Node>,
    when: bool,
    make: impl FnOnce() -> Option<Node>,
) -> Option<&Node> {
    match (when, slot.is_some()) {
        (true, false) => *slot = make(),
        (false, true) => {
            if let Some(gone) = slot.take() {
                gone.remove();
            }
        }
        _ => {}
    }
    slot.as_ref()
}
