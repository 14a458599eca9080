use leptos::prelude::*;
use thingsim_console::panels::{Feed, LinkView};

use crate::shell::client::Status;

/// The connection state in words, announced politely to screen readers. "Connected" comes
/// with what the link hears ("subscribed 13/13"), and turns into a warning when a
/// subscription will not receive: a device must never look healthy while deaf.
#[component]
pub fn StatusLine(
    /// The client's status; `None` before the first connect.
    status: ReadSignal<Option<Status>>,
    /// Subscriptions and the broker's limits, as the console folded them.
    link: Memo<LinkView>,
) -> impl IntoView {
    let connected = move || link.with(LinkView::connected_text);
    let text = move || match status.get() {
        None => "not connected".to_owned(),
        Some(Status::Connecting) => "connecting…".to_owned(),
        Some(Status::Connected) => match connected() {
            Some((more, true)) => format!("connected {more}"),
            Some((more, false)) => format!("connected · {more}"),
            None => "connected".to_owned(),
        },
        Some(Status::Offline) => "offline".to_owned(),
        Some(Status::Reconnecting { in_ms, last_error }) => {
            let secs = in_ms.div_ceil(1000);
            match last_error {
                Some(e) => format!("reconnecting in {secs} s — {e}"),
                None => format!("reconnecting in {secs} s"),
            }
        }
    };
    let class = move || match status.get() {
        Some(Status::Connected) if connected().is_some_and(|(_, warn)| warn) => {
            "status status-warn"
        }
        Some(Status::Connected) => "status status-ok",
        Some(Status::Reconnecting { .. }) => "status status-warn",
        _ => "status",
    };
    let limits = move || {
        matches!(status.get(), Some(Status::Connected))
            .then(|| link.with(LinkView::limits_text))
            .flatten()
    };
    view! {
        <p class=class role="status" aria-live="polite" data-testid="conn-status">{text}</p>
        {move || limits().map(|l| view! { <p class="muted" data-testid="broker-limits">{l}</p> })}
    }
}

/// A warning that a panel will stay empty because a subscription it needs does not receive.
#[component]
pub fn DeafNote(
    /// Subscriptions, as the console folded them.
    link: Memo<LinkView>,
    /// The panel's feed.
    feed: Feed,
    /// The `data-testid` of the note.
    testid: &'static str,
) -> impl IntoView {
    move || {
        link.with(|l| l.deaf(feed))
            .map(|n| view! { <p class="field-error" role="alert" data-testid=testid>{n}</p> })
    }
}
