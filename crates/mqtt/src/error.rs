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
    #[error("invalid topic {topic:?}: {reason}")]
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
    #[error("subscription to {filter:?} refused: {reason}")]
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
    #[error("send queue full ({capacity}): dropped the publish to {topic:?}")]
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
    #[error("no SUBACK within {ms} ms for {filters:?}: they may not receive")]
    SubackTimeout {
        /// The filters of that SUBSCRIBE.
        filters: Vec<String>,
        /// The timeout.
        ms: u64,
    },
    /// The broker acknowledged a publish of ours with a failure reason (MQTT 5 PUBACK): it
    /// did not pass it on.
    #[error("the broker refused the publish to {topic:?}: {reason}")]
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
