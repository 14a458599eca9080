/// Everything that can go wrong in an MQTT session, worded for a person reading the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The broker URL is not a usable `ws://` or `wss://` address.
    #[error("invalid broker URL: {0}")]
    InvalidUrl(String),
    /// A connection option (client id, credentials) cannot be encoded in CONNECT.
    #[error("invalid connection option: {0}")]
    InvalidOption(String),
    /// A topic name or filter that MQTT forbids (empty, wildcard in a topic name, ...).
    #[error("invalid topic {}: {reason}", quoted(.topic))]
    InvalidTopic {
        /// The offending topic or filter.
        topic: String,
        /// Why it is refused.
        reason: String,
    },
    /// The broker answered CONNACK with a failure reason.
    #[error("the broker refused the connection: {0}")]
    ConnectRefused(String),
    /// No CONNACK arrived in time.
    #[error("no CONNACK from the broker within {0} ms")]
    ConnAckTimeout(u64),
    /// The broker refused one filter of a SUBSCRIBE.
    #[error("subscription to {} refused: {reason}", quoted(.filter))]
    SubscribeRefused {
        /// The refused filter.
        filter: String,
        /// The broker's reason code.
        reason: String,
    },
    /// The broker sent DISCONNECT (MQTT 5 carries a reason).
    #[error("the broker disconnected: {0}")]
    Disconnected(String),
    /// The peer broke the protocol or sent bytes that are not MQTT; the session closes.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The queue of publishes not yet sent was full (by count or by bytes), so the oldest was
    /// dropped.
    #[error("send queue full ({capacity}): dropped the publish to {}", quoted(.topic))]
    QueueOverflow {
        /// The topic of the dropped publish.
        topic: String,
        /// The queue's capacity, in words ("1000 messages", "1048576 bytes").
        capacity: String,
    },
    /// A packet is larger than the peer accepts; it was not sent (or, received, it closed the
    /// connection). Nothing waits behind it.
    #[error("{what} is {size} bytes, over the {whose} Maximum Packet Size of {maximum} bytes")]
    PacketTooLarge {
        /// "PUBLISH to a/b", "SUBSCRIBE to a/#", "an incoming PUBLISH".
        what: String,
        /// Its encoded size.
        size: usize,
        /// The limit.
        maximum: u32,
        /// "broker's" or "device's".
        whose: &'static str,
    },
    /// A PINGREQ went unanswered: the connection is dead even if no close came.
    #[error("no PINGRESP within {0} ms: the broker stopped answering")]
    PingrespTimeout(u64),
    /// SUBSCRIBE sent, no SUBACK within the timeout: the filters may not be active.
    #[error("no SUBACK within {ms} ms for [{}]: they may not receive", .filters.iter().map(|f| quoted(f)).collect::<Vec<_>>().join(", "))]
    SubackTimeout {
        /// The filters of that SUBSCRIBE.
        filters: Vec<String>,
        /// The timeout.
        ms: u64,
    },
    /// The broker acknowledged a publish of ours with a failure reason (MQTT 5 PUBACK): it
    /// did not pass it on.
    #[error("the broker refused the publish to {}: {reason}", quoted(.topic))]
    PublishRefused {
        /// Its topic.
        topic: String,
        /// The broker's reason code.
        reason: String,
    },
    /// A publish was changed to fit what the broker allows (its Maximum QoS or Retain
    /// Available); said once per connection.
    #[error("{0}")]
    Downgraded(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// `text` in double quotes, as `{:?}` writes ordinary text, for messages that show a name or a
/// topic: quotes, backslashes, control characters and the invisible characters that reorder or
/// hide text (bidirectional controls, zero-width and other format characters, line and
/// paragraph separators, tags) escaped as `{:?}` escapes them. Unlike `{:?}`, other
/// characters it would escape (unusual spaces, combining marks) are written as they are. Not
/// `{:?}` itself: that brings core's Unicode tables into the WebAssembly module for these
/// messages alone.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || hides(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Format characters (Unicode's Cf) and separators that change how the text around them reads
/// without showing themselves.
fn hides(c: char) -> bool {
    matches!(
        c,
        '\u{AD}'
            | '\u{61C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{E0000}'..='\u{E007F}'
    )
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn quoted_writes_what_debug_writes_for_what_people_type() {
        for text in [
            "",
            "a/b/+",
            "thermostat-001",
            "say \"hi\"",
            "back\\slash",
            "two\nlines\tand\r",
            "\u{1b}[31m",
            "nul\0",
            "caf\u{e9} \u{1F600}",
            "soft\u{AD}hyphen \u{61C}mark \u{2028}line \u{2060}joiner \u{E0041}tag",
        ] {
            assert_eq!(quoted(text), format!("{text:?}"), "{text}");
        }
    }

    #[test]
    fn quoted_shows_the_characters_that_hide_or_reorder_text() {
        assert_eq!(quoted("a\u{202E}b\u{200B}c"), "\"a\\u{202e}b\\u{200b}c\"");
        assert_eq!(quoted("\u{2066}x\u{FEFF}"), "\"\\u{2066}x\\u{feff}\"");
    }
}
