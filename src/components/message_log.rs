use leptos::prelude::*;

/// Which way a log line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Received from the broker.
    In,
    /// Handed to the session for sending.
    Out,
    /// Not a message: an error or notice.
    Note,
}

/// One line of the message log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Unique, increasing: the key for rendering.
    pub seq: u64,
    /// In, out or a note.
    pub direction: Direction,
    /// Topic (or "error" for notes).
    pub topic: String,
    /// Payload as text.
    pub payload: String,
}

/// Messages in and out, newest last. Payloads are rendered as text, never as HTML.
#[component]
pub fn MessageLog(
    /// The lines to show.
    #[prop(into)]
    lines: Signal<Vec<LogLine>>,
) -> impl IntoView {
    view! {
        <ol class="log" data-testid="message-log">
            <For each=move || lines.get() key=|line| line.seq let:line>
                <li class=match line.direction {
                    Direction::In => "log-line log-in",
                    Direction::Out => "log-line log-out",
                    Direction::Note => "log-line log-note",
                }>
                    <span class="log-dir">{match line.direction {
                        Direction::In => "←",
                        Direction::Out => "→",
                        Direction::Note => "!",
                    }}</span>
                    <span class="log-topic">{line.topic}</span>
                    <code class="log-payload">{line.payload}</code>
                </li>
            </For>
        </ol>
    }
}
