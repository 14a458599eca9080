use leptos::prelude::*;

use crate::shell::client::Status;

/// The connection state in words, announced politely to screen readers.
#[component]
pub fn StatusLine(
    /// The client's status; `None` before the first connect.
    #[prop(into)]
    status: Signal<Option<Status>>,
) -> impl IntoView {
    let text = move || match status.get() {
        None => "not connected".to_owned(),
        Some(Status::Connecting) => "connecting…".to_owned(),
        Some(Status::Connected) => "connected".to_owned(),
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
        Some(Status::Connected) => "status status-ok",
        Some(Status::Reconnecting { .. }) => "status status-warn",
        _ => "status",
    };
    view! {
        <p class=class role="status" aria-live="polite" data-testid="conn-status">{text}</p>
    }
}
