use thingsim_console::panels::{Feed, LinkView};
use thingsim_reactive::*;

use crate::shell::client::Status;
use crate::shell::dom::Node;

/// The connection state in words, announced politely to screen readers, built into `at`.
/// "Connected" comes with what the link hears ("subscribed 13/13"), and turns into a warning
/// when a subscription will not receive: a device must never look healthy while deaf.
/// `status` is `None` before the first connect; `link` holds the subscriptions and the broker's
/// limits, as the console folded them.
pub fn status_line(at: &Node, status: ReadSignal<Option<Status>>, link: Memo<LinkView>) {
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
    let made = at.html(
        r#"<p class="status" role="status" aria-live="polite" data-testid="conn-status"></p>"#,
    );
    let line = made.part("conn-status");
    super::text(&line, text);
    effect(move || line.class(class()));
    super::region(at, move |at| {
        if let Some(l) = limits() {
            at.html(r#"<p class="muted" data-testid="broker-limits"></p>"#)
                .root()
                .text(Some(&l));
        }
    });
}

/// A warning, built into `at`, that a panel will stay empty because a subscription it needs
/// (its `feed`'s) does not receive; the note's `data-testid` is `testid`.
pub fn deaf_note(at: &Node, link: Memo<LinkView>, feed: Feed, testid: &'static str) {
    // Built once and shown or hidden: an alert made anew at each change of the link (each
    // SUBACK) would be announced again.
    let note = at
        .html(r#"<p class="field-error" role="alert"></p>"#)
        .root();
    note.attrs(&[("data-testid", testid)]);
    let deaf = move || link.with(|l| l.deaf(feed));
    super::class(&note, "hidden", move || deaf().is_none());
    super::text(&note, move || deaf().unwrap_or_default());
}
