use std::collections::VecDeque;
use std::fmt;

use crate::codec::{self, Incoming, PUBACK, PUBCOMP, PUBREC, PUBREL, Refusal};
use crate::limits::{ServerLimits, SubscriptionState, SubscriptionStatus};
use crate::{Error, Millis};

/// The MQTT protocol level spoken on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V3_1_1,
    /// MQTT 5.0 (protocol level 5), the default: reason codes make failures readable.
    #[default]
    V5,
}

/// Quality of service of a publish or subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Qos {
    /// QoS 0: fire and forget.
    #[default]
    AtMostOnce,
    /// QoS 1: acknowledged, may be duplicated.
    AtLeastOnce,
    /// QoS 2: exactly once (accepted on receive; the device never sends it).
    ExactlyOnce,
}

/// How to connect. [`Options::new`] gives the defaults the Fleets docs recommend.
#[derive(Clone, PartialEq, Eq)]
pub struct Options {
    /// The CONNECT client identifier (Fleets tracks lifecycle by it).
    pub client_id: String,
    /// MQTT 3.1.1 or 5.
    pub version: ProtocolVersion,
    /// Keep-alive in seconds; 0 turns PINGREQ off.
    pub keep_alive_secs: u16,
    /// Clean start (5) / clean session (3.1.1). Fleets recommends a persistent session so
    /// deltas, command requests and job notifications sent while offline are delivered.
    pub clean_start: bool,
    /// MQTT 5 session expiry in seconds (ignored for 3.1.1, where the session lives until the
    /// next clean connect).
    pub session_expiry_secs: u32,
    /// Username for the broker's authentication.
    pub username: Option<String>,
    /// Password for the broker's authentication.
    pub password: Option<String>,
    /// How long to wait for CONNACK after the transport opened.
    pub connack_timeout_ms: u64,
    /// MQTT 5 Receive Maximum: how many QoS 1/2 publishes the broker may have in flight to us
    /// (`None`: the protocol default, 65535). Topic aliases stay off: we never announce a
    /// Topic Alias Maximum, so the broker sends full topic names [MQTT-3.1.2-26].
    pub receive_maximum: Option<u16>,
    /// The Last Will the broker publishes if the connection dies without DISCONNECT.
    pub will: Option<Message>,
    /// MQTT 5 No Local on every subscription: the broker does not send us our own publishes
    /// (a backend that both publishes and subscribes `shadow/update` needs it). Ignored for
    /// 3.1.1, where the bit is reserved [MQTT-3.8.3-4].
    pub no_local: bool,
    /// MQTT 5 Retain Handling 2 on every subscription: the broker replays no retained message
    /// when we subscribe (a backend must not act on what somebody left retained on a device
    /// topic). Ignored for 3.1.1, where the bits are reserved.
    pub no_retained: bool,
    /// QoS 1 publishes that arrive are acknowledged only on [`Command::Acknowledge`], not as
    /// they arrive: a backend acknowledges what it has stored, and what it has not stays with
    /// the broker, to be sent again on the next connection. For subscriptions at QoS 0 or 1.
    pub manual_ack: bool,
    /// How many publishes waiting to be sent (offline, or held by the broker's Receive
    /// Maximum) are kept; past that the oldest is dropped.
    pub offline_queue_capacity: usize,
    /// The same queue's bound in payload and topic bytes.
    pub offline_queue_bytes: usize,
    /// Our Maximum Packet Size, announced in MQTT 5 CONNECT and enforced on what arrives: a
    /// larger packet closes the connection before it is buffered (MQTT 5) or is skipped
    /// unbuffered (3.1.1, whose broker was never told). `None`: no limit.
    pub maximum_packet_size: Option<u32>,
    /// How long a SUBSCRIBE may wait for its SUBACK before its filters are reported as not
    /// receiving.
    pub suback_timeout_ms: u64,
}

/// Our Maximum Packet Size unless the user picks one: four times EMQX's default shadow and
/// job document limits, and far below what a browser tab can buffer.
pub const DEFAULT_MAXIMUM_PACKET_SIZE: u32 = 256 * 1024;

impl Options {
    /// MQTT 5, keep-alive 60 s, persistent session kept for an hour, no credentials.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            version: ProtocolVersion::V5,
            keep_alive_secs: 60,
            clean_start: false,
            session_expiry_secs: 3600,
            username: None,
            password: None,
            connack_timeout_ms: 10_000,
            offline_queue_capacity: 1000,
            offline_queue_bytes: 1024 * 1024,
            maximum_packet_size: Some(DEFAULT_MAXIMUM_PACKET_SIZE),
            suback_timeout_ms: 10_000,
            receive_maximum: None,
            will: None,
            no_local: false,
            no_retained: false,
            manual_ack: false,
        }
    }
}

// The password must never reach a log line.
impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("client_id", &self.client_id)
            .field("version", &self.version)
            .field("keep_alive_secs", &self.keep_alive_secs)
            .field("clean_start", &self.clean_start)
            .field("session_expiry_secs", &self.session_expiry_secs)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("receive_maximum", &self.receive_maximum)
            .field("maximum_packet_size", &self.maximum_packet_size)
            .field("will", &self.will.as_ref().map(|w| &w.topic))
            .finish_non_exhaustive()
    }
}

/// An application message, in either direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Topic name (never a filter).
    pub topic: String,
    /// Raw payload; Fleets payloads are JSON but the session does not care.
    pub payload: Vec<u8>,
    /// QoS it was (or is to be) published with.
    pub qos: Qos,
    /// The retain flag.
    pub retain: bool,
}

impl Message {
    /// A non-retained message.
    pub fn new(topic: impl Into<String>, payload: impl Into<Vec<u8>>, qos: Qos) -> Self {
        Self {
            topic: topic.into(),
            payload: payload.into(),
            qos,
            retain: false,
        }
    }
}

/// What the user (or the layer above) asks the session to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Subscribe to filters; remembered and restored when the broker lost the session.
    Subscribe(Vec<(String, Qos)>),
    /// Publish now, or queue it while offline.
    Publish(Message),
    /// Send DISCONNECT and ask the shell to close the transport.
    Disconnect,
    /// Acknowledge (PUBACK) the oldest `n` QoS 1 publishes received on this connection and not
    /// acknowledged yet ([`Options::manual_ack`]; without it they are acknowledged as they
    /// arrive). The layer above counts the ones it has handled: publishes still queued for it
    /// are not acknowledged with them.
    Acknowledge(usize),
}

/// What happened, for the layer above and the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// What the broker allows, from an accepted CONNACK; comes just before `Connected`.
    Limits(ServerLimits),
    /// Where every subscription stands; sent whenever one changes.
    Subscriptions(Vec<SubscriptionStatus>),
    /// CONNACK accepted the connection.
    Connected {
        /// Whether the broker still had our session (subscriptions, queued messages).
        session_present: bool,
    },
    /// SUBACK granted a filter.
    Subscribed {
        /// The filter.
        filter: String,
        /// The QoS the broker granted.
        granted: Qos,
    },
    /// A PUBLISH arrived.
    Received(Message),
    /// A QoS 1 publish of ours was acknowledged (PUBACK).
    Acknowledged {
        /// Its packet identifier.
        packet_id: u16,
    },
    /// Something went wrong; when it is fatal an [`Output::Close`] follows.
    Error(Error),
    /// The transport closed; the session waits for the next one.
    Disconnected,
}

/// What the shell has to do next. Drain with [`Session::poll_output`] until `Idle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send these bytes as one binary WebSocket message (or write them to the TCP stream).
    Transmit(Vec<u8>),
    /// Report this to the layer above.
    Event(Event),
    /// Close the transport, then call [`Session::handle_transport_closed`].
    Close,
    /// Nothing more to do until input arrives or `deadline` passes
    /// (then call [`Session::handle_timeout`]).
    Idle {
        /// When to call `handle_timeout`; `None` when no timer is armed.
        deadline: Option<Millis>,
    },
}

/// True when `packet`, the bytes of one [`Output::Transmit`], only acknowledges what the peer
/// sent (PUBACK, PUBREC, PUBCOMP). Nothing of ours waits on it, only the peer's flow control,
/// so a runner may hold it until the burst it answers has been read and send the answers
/// together; anything else should leave at once.
pub fn only_acknowledges(packet: &[u8]) -> bool {
    matches!(packet.first().map(|b| b >> 4), Some(4 | 5 | 7))
}

/// Where the session stands, named for what it awaits.
///
/// ```text
///                 handle_transport_opened          CONNACK success
///  AwaitingTransport ───────────────▶ AwaitingConnAck ───────────────▶ Connected
///        ▲                                  │ refused / timeout / bad bytes  │ Disconnect,
///        │                                  ▼                                │ bad bytes,
///        └──── handle_transport_closed ─ AwaitingClose ◀─────────────────────┘ keep-alive
/// ```
/// A transport that closes in any state leads back to `AwaitingTransport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// No transport: the shell should open one (commands are kept meanwhile).
    AwaitingTransport,
    /// CONNECT sent; waiting for CONNACK.
    AwaitingConnAck,
    /// CONNACK accepted; traffic flows.
    Connected,
    /// The session asked the shell to close the transport.
    AwaitingClose,
}

/// The MQTT client session: see the crate docs for the run loop.
pub struct Session {
    options: Options,
    state: State,
    outputs: VecDeque<Output>,
    /// When the last packet went out: PINGREQ is due a keep-alive after it [MQTT-3.1.2-23].
    last_sent: Millis,
    /// When the last packet came in: a link that only sends (QoS 0 telemetry) still pings
    /// when it has heard nothing for a keep-alive, so a silently dead link is found.
    last_received: Millis,
    /// The keep-alive in force: ours, or the broker's Server Keep Alive [MQTT-3.2.2-21].
    keep_alive_ms: u64,
    /// A PINGREQ is out and its PINGRESP due by then.
    pingresp_by: Option<Millis>,
    connack_deadline: Option<Millis>,
    /// Packet ids in use (id 0 is never free): our unacknowledged publishes, SUBSCRIBEs
    /// awaiting SUBACK. Lowest free first, so a few words cover the usual traffic.
    ids: IdSet,
    /// Every filter asked for, restored when the broker has no session.
    subscriptions: Vec<SubscriptionStatus>,
    /// Bytes of a packet not yet complete: packets are checked whole before the codec sees them.
    partial: Vec<u8>,
    /// Bytes still to come of a packet being skipped (3.1.1: over our Maximum Packet Size).
    skip: usize,
    /// SUBSCRIBE packet id → its filters and when it is late, to name them when SUBACK answers.
    pending_subacks: Vec<PendingSuback>,
    /// Publishes not yet handed to the wire: made offline, or held back by the broker's Receive
    /// Maximum. First in, first out, so a later report never overtakes an earlier one.
    queue: VecDeque<Message>,
    /// Topic and payload bytes in `queue`.
    queued_bytes: usize,
    /// Our QoS 1/2 publishes sent and not yet acknowledged (PUBACK, or PUBREC for QoS 2), in
    /// the order sent, kept whole to send again (the broker's Receive Maximum bounds how many).
    inflight: VecDeque<(u16, Message)>,
    /// Our QoS 2 publishes past PUBREC: PUBREL sent, PUBCOMP awaited. They still count
    /// against the Receive Maximum [MQTT-4.9.0-2].
    awaiting_pubcomp: Vec<u16>,
    /// Packet ids of QoS 1 publishes received and not yet acknowledged (manual_ack).
    unacked: Vec<u16>,
    /// Packet ids of QoS 2 publishes received (and passed on) whose PUBREL has not come: a
    /// resent one is not passed on twice [MQTT-4.3.3-10].
    received_qos2: IdSet,
    /// Publishes sent on a lost connection and never acknowledged, with their packet ids (kept
    /// reserved): sent again first, with DUP, when the broker kept the session
    /// [MQTT-4.4.0-1], or as new publishes when it did not.
    resend: VecDeque<(u16, Message)>,
    /// What the broker announced in the last CONNACK.
    limits: ServerLimits,
    /// Downgrades already said on this connection (Maximum QoS, Retain Available).
    said_qos: bool,
    said_retain: bool,
}

#[derive(Debug, Clone)]
struct PendingSuback {
    packet_id: u16,
    filters: Vec<String>,
    /// When it is late; `None` once reported late.
    late_at: Option<Millis>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("options", &self.options)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that will connect with `options` once the shell opens a transport.
    pub fn new(options: Options) -> Self {
        Self {
            options,
            state: State::AwaitingTransport,
            outputs: VecDeque::new(),
            last_sent: Millis(0),
            last_received: Millis(0),
            keep_alive_ms: 0,
            pingresp_by: None,
            connack_deadline: None,
            ids: IdSet::without_zero(),
            subscriptions: Vec::new(),
            partial: Vec::new(),
            skip: 0,
            pending_subacks: Vec::new(),
            queue: VecDeque::new(),
            queued_bytes: 0,
            inflight: VecDeque::new(),
            awaiting_pubcomp: Vec::new(),
            unacked: Vec::new(),
            received_qos2: IdSet::default(),
            resend: VecDeque::new(),
            limits: ServerLimits::default(),
            said_qos: false,
            said_retain: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The options this session connects with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Publishes waiting to be sent (for a connection, or for the broker's Receive Maximum).
    pub fn queued(&self) -> usize {
        self.queue.len() + self.resend.len()
    }

    /// QoS 1/2 publishes sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.inflight.len() + self.awaiting_pubcomp.len()
    }

    /// What the broker announced in the last accepted CONNACK.
    pub fn server_limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// Every subscription asked for, and where it stands.
    pub fn subscriptions(&self) -> &[SubscriptionStatus] {
        &self.subscriptions
    }

    /// The transport is open: send CONNECT.
    pub fn handle_transport_opened(&mut self, now: Millis) {
        if self.state != State::AwaitingTransport {
            return;
        }
        let o = &self.options;
        let packet = codec::connect(&codec::Connect {
            v5: o.version == ProtocolVersion::V5,
            client_id: &o.client_id,
            keep_alive_secs: o.keep_alive_secs,
            clean_start: o.clean_start,
            session_expiry_secs: o.session_expiry_secs,
            receive_maximum: o.receive_maximum,
            maximum_packet_size: o.maximum_packet_size,
            will: o
                .will
                .as_ref()
                .map(|w| (w.topic.as_str(), &w.payload[..], w.qos, w.retain)),
            username: o.username.as_deref(),
            password: o.password.as_deref(),
        });
        match packet {
            Ok(packet) => {
                self.keep_alive_ms = u64::from(self.options.keep_alive_secs) * 1000;
                self.pingresp_by = None;
                self.transmit(now, packet);
                self.state = State::AwaitingConnAck;
                self.connack_deadline = Some(now + self.options.connack_timeout_ms);
            }
            Err(e) => self.fail(e),
        }
    }

    /// Bytes from the transport: any slice of the stream, part of a packet or several.
    pub fn handle_input(&mut self, now: Millis, bytes: &[u8]) {
        if matches!(self.state, State::AwaitingTransport | State::AwaitingClose) {
            return;
        }
        let skipped = self.skip.min(bytes.len());
        self.skip -= skipped;
        let bytes = &bytes[skipped..];
        // Whole packets are decoded where they lie, in this input; only an unfinished one is
        // kept, and only then does it cost a copy.
        let mut held = std::mem::take(&mut self.partial);
        let input: &[u8] = if held.is_empty() {
            bytes
        } else {
            held.extend_from_slice(bytes);
            &held
        };
        let v5 = self.v5();
        let mut at = 0;
        while self.state != State::AwaitingClose {
            let rest = &input[at..];
            // [MQTT-3.1.2-24]-style: a packet over our Maximum Packet Size is refused as soon as
            // its length is known, before it is buffered (a 32 MB PUBLISH must not become 32 MB
            // of memory first).
            if let (Some(max), Some((remaining, header))) =
                (self.options.maximum_packet_size, remaining_length(rest))
                && header + remaining > max as usize
            {
                let size = header + remaining;
                let too_large = |what: &str| Error::PacketTooLarge {
                    what: what.to_owned(),
                    size,
                    maximum: max,
                    whose: "device's",
                };
                if v5 {
                    // Over the Maximum Packet Size we announced: DISCONNECT 0x95 (§3.14.2.1).
                    return self.refuse(now, 0x95, too_large("a packet from the broker"));
                }
                // A 3.1.1 broker was never told our limit: closing would only bring the same
                // packet again on the next connection (a retained one, a queued one), and the
                // next. It is skipped, unbuffered, and said; the connection goes on.
                self.outputs.push_back(Output::Event(Event::Error(too_large(
                    "a packet from the broker (skipped)",
                ))));
                let here = size.min(rest.len());
                at += here;
                self.skip = size - here;
                continue;
            }
            let Some((len, header)) = packet_len(rest) else {
                break;
            };
            let decoded = codec::decode(v5, &rest[..len], header);
            at += len;
            self.last_received = now;
            match decoded {
                Ok(packet) => self.on_packet(now, packet),
                Err(why) => return self.refuse_input(now, why),
            }
        }
        let rest = &input[at..];
        // Malformed as soon as a fourth length byte still says "more follows" [MQTT-1.5.5].
        if rest.len() >= 5 && packet_len(rest).is_none() && !remaining_length_ok(rest) {
            return self.refuse_input(
                now,
                Refusal::malformed("malformed remaining length [MQTT-1.5.5]"),
            );
        }
        if self.state != State::AwaitingClose {
            if held.is_empty() {
                self.partial.extend_from_slice(rest);
            } else {
                held.drain(..at);
                self.partial = held;
            }
        }
        // Acknowledgements may have opened the broker's Receive Maximum window.
        self.flush(now);
    }

    /// The transport closed (by either side): forget the connection, keep the session.
    pub fn handle_transport_closed(&mut self, _now: Millis) {
        if self.state == State::AwaitingTransport {
            return;
        }
        self.take_unacknowledged();
        // Not acknowledged on that connection: the broker sends them again on the next.
        self.unacked.clear();
        self.state = State::AwaitingTransport;
        self.partial.clear();
        self.skip = 0;
        self.pingresp_by = None;
        self.connack_deadline = None;
        for pending in self.pending_subacks.drain(..) {
            self.ids.remove(pending.packet_id);
        }
        // Unanswered SUBSCRIBEs go out again on the next connection.
        let mut changed = false;
        for s in &mut self.subscriptions {
            if matches!(s.state, SubscriptionState::Pending { .. }) {
                s.state = SubscriptionState::Unsent;
                changed = true;
            }
        }
        if changed {
            self.report_subscriptions();
        }
        self.outputs.push_back(Output::Event(Event::Disconnected));
    }

    /// A deadline given by [`Output::Idle`] passed (maybe long ago).
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.state == State::AwaitingConnAck && self.connack_deadline.is_some_and(|d| d <= now) {
            self.connack_deadline = None;
            self.fail(Error::ConnAckTimeout(self.options.connack_timeout_ms));
            return;
        }
        if self.state == State::Connected && self.pingresp_by.is_some_and(|at| at <= now) {
            self.pingresp_by = None;
            let ms = self.keep_alive_ms / 2;
            self.outputs
                .push_back(Output::Event(Event::Error(Error::PingrespTimeout(ms))));
            // A deaf broker is a lost connection. No DISCONNECT: it would not be read, and
            // Keep Alive timeout (0x8D) is the server's reason to send, not the client's.
            self.state = State::AwaitingClose;
            self.outputs.push_back(Output::Close);
            return;
        }
        if let Some(at) = self.ping_due()
            && at <= now
        {
            self.transmit(now, codec::PINGREQ.to_vec());
            // Half the keep-alive for the answer (none without a keep-alive).
            self.pingresp_by = Some(now + self.keep_alive_ms / 2);
        }
        let mut late = Vec::new();
        for pending in &mut self.pending_subacks {
            if pending.late_at.is_some_and(|at| at <= now) {
                pending.late_at = None;
                late.extend(pending.filters.iter().cloned());
                self.outputs
                    .push_back(Output::Event(Event::Error(Error::SubackTimeout {
                        filters: pending.filters.clone(),
                        ms: self.options.suback_timeout_ms,
                    })));
            }
        }
        if !late.is_empty() {
            for s in &mut self.subscriptions {
                if late.contains(&s.filter) {
                    s.state = SubscriptionState::Pending { late: true };
                }
            }
            self.report_subscriptions();
        }
    }

    /// User intent: subscribe, publish, disconnect.
    pub fn handle_command(&mut self, now: Millis, command: Command) {
        match command {
            Command::Subscribe(filters) => {
                let mut fresh = Vec::new();
                for (filter, qos) in filters {
                    if let Err(e) = validate_filter(&filter) {
                        self.outputs.push_back(Output::Event(Event::Error(e)));
                        continue;
                    }
                    self.subscriptions.retain(|s| s.filter != filter);
                    self.subscriptions.push(SubscriptionStatus {
                        filter: filter.clone(),
                        qos,
                        state: SubscriptionState::Unsent,
                    });
                    fresh.push((filter, qos));
                }
                if !fresh.is_empty() {
                    if self.state == State::Connected {
                        self.send_subscribe(now, fresh);
                    }
                    self.report_subscriptions();
                }
            }
            Command::Publish(message) => {
                if let Err(e) = validate_topic_name(&message.topic) {
                    self.outputs.push_back(Output::Event(Event::Error(e)));
                } else {
                    self.enqueue(message);
                    self.flush(now);
                }
            }
            Command::Acknowledge(n) => {
                if self.state != State::Connected {
                    return;
                }
                let n = n.min(self.unacked.len());
                for id in self.unacked.drain(..n).collect::<Vec<_>>() {
                    self.transmit(now, codec::ack(PUBACK, id));
                }
            }
            Command::Disconnect => {
                if self.state == State::Connected {
                    let v5 = self.v5();
                    self.transmit(now, codec::disconnect(v5, 0));
                }
                if self.state != State::AwaitingTransport {
                    self.state = State::AwaitingClose;
                    self.outputs.push_back(Output::Close);
                }
            }
        }
    }

    /// The next thing for the shell to do; call until it returns [`Output::Idle`].
    #[must_use]
    pub fn poll_output(&mut self) -> Output {
        self.outputs.pop_front().unwrap_or_else(|| Output::Idle {
            deadline: self
                .ping_due()
                .into_iter()
                .chain(self.pingresp_by.filter(|_| self.state == State::Connected))
                .chain(
                    self.connack_deadline
                        .filter(|_| self.state == State::AwaitingConnAck),
                )
                .chain(self.pending_subacks.iter().filter_map(|p| p.late_at))
                .min(),
        })
    }

    fn v5(&self) -> bool {
        self.options.version == ProtocolVersion::V5
    }

    /// Hands one packet to the shell; the keep-alive runs from it.
    fn transmit(&mut self, now: Millis, packet: Vec<u8>) {
        self.last_sent = now;
        self.outputs.push_back(Output::Transmit(packet));
    }

    /// When PINGREQ is due, while connected with a keep-alive.
    fn ping_due(&self) -> Option<Millis> {
        (self.state == State::Connected && self.keep_alive_ms > 0 && self.pingresp_by.is_none())
            .then(|| self.last_sent.min(self.last_received) + self.keep_alive_ms)
    }

    /// A broker that broke the protocol: MQTT 5 says why (DISCONNECT with `code`) before
    /// closing; 3.1.1 can only close.
    fn refuse(&mut self, now: Millis, code: u8, error: Error) {
        if self.state == State::Connected && self.v5() {
            self.transmit(now, codec::disconnect(true, code));
        }
        self.fail(error);
    }

    /// Bytes that are not the MQTT a broker may send (Malformed Packet or Protocol Error).
    fn refuse_input(&mut self, now: Millis, refusal: Refusal) {
        self.refuse(now, refusal.code, Error::Protocol(refusal.why));
    }

    fn report_subscriptions(&mut self) {
        self.outputs.push_back(Output::Event(Event::Subscriptions(
            self.subscriptions.clone(),
        )));
    }

    /// Builds a SUBSCRIBE for `filters` with packet id `packet_id`; `Err` names what went
    /// wrong.
    fn build_subscribe(
        &self,
        packet_id: u16,
        filters: &[(String, Qos)],
    ) -> Result<Vec<u8>, String> {
        let v5 = self.v5();
        codec::subscribe(
            v5,
            packet_id,
            filters,
            self.options.no_local && v5,
            self.options.no_retained && v5,
        )
    }

    /// Sends `filters` in as few SUBSCRIBE packets as the broker's Maximum Packet Size allows
    /// [MQTT-3.1.2-24]; a filter that fits in no packet is marked unsendable, never dropped
    /// silently.
    fn send_subscribe(&mut self, now: Millis, filters: Vec<(String, Qos)>) {
        let maximum = self
            .limits
            .maximum_packet_size
            .map_or(usize::MAX, |m| m as usize);
        let mut batch: Vec<(String, Qos)> = Vec::new();
        for entry in filters {
            batch.push(entry);
            // Packet ids do not change a packet's size, so 1 stands in while measuring.
            let size = self.build_subscribe(1, &batch).map(|p| p.len());
            if size.is_ok_and(|size| size <= maximum) {
                continue;
            }
            let Some(last) = batch.pop() else { continue };
            if !batch.is_empty() {
                self.send_subscribe_packet(now, std::mem::take(&mut batch));
            }
            match self
                .build_subscribe(1, std::slice::from_ref(&last))
                .map(|p| p.len())
            {
                Ok(size) if size <= maximum => batch.push(last),
                Ok(size) => {
                    let maximum = self.limits.maximum_packet_size.unwrap_or(u32::MAX);
                    let why = format!(
                        "its SUBSCRIBE is {size} bytes, over the broker's Maximum Packet Size \
                         of {maximum} bytes"
                    );
                    let error = Error::PacketTooLarge {
                        what: format!("SUBSCRIBE to {}", last.0),
                        size,
                        maximum,
                        whose: "broker's",
                    };
                    self.unsendable(&last.0, why, error);
                }
                Err(e) => {
                    let why = format!("could not build SUBSCRIBE: {e}");
                    self.unsendable(&last.0, why.clone(), Error::Protocol(why));
                }
            }
        }
        if !batch.is_empty() {
            self.send_subscribe_packet(now, batch);
        }
    }

    /// `why` leaves the filter out (the status line names it); `error` is for the log.
    fn unsendable(&mut self, filter: &str, why: String, error: Error) {
        if let Some(s) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
            s.state = SubscriptionState::Unsendable(why);
        }
        self.outputs.push_back(Output::Event(Event::Error(error)));
    }

    fn send_subscribe_packet(&mut self, now: Millis, filters: Vec<(String, Qos)>) {
        let Some(packet_id) = self.ids.acquire() else {
            return self.fail(Error::Protocol(
                "no packet id free for SUBSCRIBE: 65,535 in use".to_owned(),
            ));
        };
        match self.build_subscribe(packet_id, &filters) {
            Ok(packet) => {
                for s in &mut self.subscriptions {
                    if filters.iter().any(|(f, _)| *f == s.filter) {
                        s.state = SubscriptionState::Pending { late: false };
                    }
                }
                self.pending_subacks.push(PendingSuback {
                    packet_id,
                    filters: filters.into_iter().map(|(f, _)| f).collect(),
                    late_at: Some(now + self.options.suback_timeout_ms),
                });
                self.transmit(now, packet);
            }
            Err(e) => {
                // Filters were validated, so this is our bug, not the user's: report, go on.
                self.ids.remove(packet_id);
                self.outputs
                    .push_back(Output::Event(Event::Error(Error::Protocol(format!(
                        "could not build SUBSCRIBE: {e}"
                    )))));
            }
        }
    }

    /// The QoS and retain flag a publish may carry to this broker, saying once per connection
    /// what had to change.
    fn fit_to_broker(&mut self, mut message: Message) -> Message {
        if message.qos > self.limits.maximum_qos {
            if !self.said_qos {
                self.said_qos = true;
                self.outputs.push_back(Output::Event(Event::Error(Error::Downgraded(format!(
                    "the broker allows QoS {} at most: publishes asking for more go out at QoS {} \
                     (first: {})",
                    self.limits.maximum_qos as u8, self.limits.maximum_qos as u8, message.topic
                )))));
            }
            message.qos = self.limits.maximum_qos;
        }
        if message.retain && !self.limits.retain_available {
            if !self.said_retain {
                self.said_retain = true;
                self.outputs
                    .push_back(Output::Event(Event::Error(Error::Downgraded(format!(
                        "the broker has no retained messages: publishes go out without the retain \
                     flag (first: {})",
                        message.topic
                    )))));
            }
            message.retain = false;
        }
        message
    }

    /// Moves our unacknowledged publishes to `resend` when a connection ends, ahead of those
    /// still waiting from before, keeping their packet ids reserved.
    fn take_unacknowledged(&mut self) {
        let older = std::mem::take(&mut self.resend);
        self.resend = self.inflight.drain(..).chain(older).collect();
    }

    /// Sends what waits, in order — unacknowledged publishes of the last connection first —
    /// as far as the connection and the broker's Receive Maximum allow.
    fn flush(&mut self, now: Millis) {
        while self.state == State::Connected {
            let resend = !self.resend.is_empty();
            let front = if resend {
                self.resend.front().map(|(_, m)| m)
            } else {
                self.queue.front()
            };
            let Some(front) = front else {
                break;
            };
            let qos = front.qos.min(self.limits.maximum_qos);
            if qos != Qos::AtMostOnce
                && self.in_flight() >= usize::from(self.limits.receive_maximum)
            {
                break; // a PUBACK will open the window
            }
            let (id, message) = if resend {
                match self.resend.pop_front() {
                    Some((id, message)) => (Some(id), message),
                    None => break,
                }
            } else {
                match self.queue.pop_front() {
                    Some(message) => (None, message),
                    None => break,
                }
            };
            if id.is_none() {
                self.queued_bytes = self.queued_bytes.saturating_sub(message_bytes(&message));
            }
            if let Err(message) = self.send_publish(now, message, id) {
                // No packet id free: wait for acknowledgements, keeping the order.
                self.queued_bytes += message_bytes(&message);
                self.queue.push_front(message);
                break;
            }
        }
    }

    /// Sends one publish now (`resend`: again, with DUP, under its reserved packet id); gives
    /// it back when no packet id is free.
    fn send_publish(
        &mut self,
        now: Millis,
        message: Message,
        resend: Option<u16>,
    ) -> Result<(), Message> {
        let message = self.fit_to_broker(message);
        let packet_id = match (message.qos, resend) {
            (Qos::AtMostOnce, reserved) => {
                if let Some(id) = reserved {
                    self.ids.remove(id);
                }
                None
            }
            (_, Some(id)) => Some(id),
            (_, None) => match self.ids.acquire() {
                Some(id) => Some(id),
                None => return Err(message),
            },
        };
        let dup = resend.is_some() && packet_id.is_some();
        let built = codec::publish(
            self.v5(),
            &message.topic,
            &message.payload,
            message.qos,
            message.retain,
            dup,
            packet_id,
        );
        let refused = match built {
            Ok(packet) => match self.limits.maximum_packet_size {
                // [MQTT-3.1.2-24]: never send the broker more than it accepts; refuse this one
                // and go on with the rest.
                Some(maximum) if packet.len() > maximum as usize => Error::PacketTooLarge {
                    what: format!("PUBLISH to {}", message.topic),
                    size: packet.len(),
                    maximum,
                    whose: "broker's",
                },
                _ => {
                    self.transmit(now, packet);
                    if let Some(id) = packet_id {
                        // Kept whole: sent again if the connection drops before its PUBACK,
                        // and a refusing PUBACK says which publish it refused.
                        self.inflight.push_back((id, message));
                    }
                    return Ok(());
                }
            },
            Err(reason) => Error::InvalidTopic {
                topic: message.topic,
                reason,
            },
        };
        if let Some(id) = packet_id {
            self.ids.remove(id);
        }
        self.outputs.push_back(Output::Event(Event::Error(refused)));
        Ok(())
    }

    fn enqueue(&mut self, message: Message) {
        let capacity = self.options.offline_queue_capacity.max(1);
        let capacity_bytes = self.options.offline_queue_bytes;
        self.queued_bytes += message_bytes(&message);
        self.queue.push_back(message);
        // Drop-oldest: for device state the newest report is the one that matters.
        while self.queue.len() > capacity
            || (self.queued_bytes > capacity_bytes && self.queue.len() > 1)
        {
            let Some(dropped) = self.queue.pop_front() else {
                break;
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(message_bytes(&dropped));
            let capacity = if self.queue.len() >= capacity {
                format!("{capacity} messages")
            } else {
                format!("{capacity_bytes} bytes")
            };
            self.outputs
                .push_back(Output::Event(Event::Error(Error::QueueOverflow {
                    topic: dropped.topic,
                    capacity,
                })));
        }
    }

    /// A fatal error: report it and ask for the transport to close.
    fn fail(&mut self, error: Error) {
        self.outputs.push_back(Output::Event(Event::Error(error)));
        if !matches!(self.state, State::AwaitingTransport | State::AwaitingClose) {
            self.state = State::AwaitingClose;
            self.outputs.push_back(Output::Close);
        }
    }

    fn on_connected(&mut self, now: Millis, session_present: bool, limits: ServerLimits) {
        self.state = State::Connected;
        self.connack_deadline = None;
        self.said_qos = false;
        self.said_retain = false;
        // [MQTT-3.2.2-16]: reconnect with the id the broker assigned, to find the session again.
        if let Some(id) = &limits.assigned_client_id {
            self.options.client_id.clone_from(id);
        }
        // [MQTT-3.2.2-21]: the broker's keep-alive, when it sets one, replaces ours. A PINGREQ
        // unanswered for half of it means a dead link, even when no TCP or WebSocket close
        // ever comes.
        if let Some(secs) = limits.server_keep_alive {
            self.keep_alive_ms = u64::from(secs) * 1000;
        }
        self.limits = limits;
        self.outputs
            .push_back(Output::Event(Event::Limits(self.limits.clone())));
        self.outputs
            .push_back(Output::Event(Event::Connected { session_present }));
        if !session_present {
            // The broker forgot the session: what it never acknowledged goes out again as new
            // publishes (at least once), ahead of what waited. A QoS 2 publish past PUBREC had
            // reached it: done. Its PUBRELs for ours are gone with it.
            for (id, message) in self.resend.drain(..).rev() {
                self.ids.remove(id);
                self.queued_bytes += message_bytes(&message);
                self.queue.push_front(message);
            }
            for id in std::mem::take(&mut self.awaiting_pubcomp) {
                self.ids.remove(id);
            }
            self.received_qos2 = IdSet::default();
        } else {
            // [MQTT-4.4.0-1]: PUBRELs not yet completed go again.
            for id in self.awaiting_pubcomp.clone() {
                self.transmit(now, codec::ack(PUBREL, id));
            }
        }
        for s in &mut self.subscriptions {
            // Without a session nothing is granted any more; with one, what was granted stays,
            // and what could not be sent may fit this broker's limits.
            if !session_present || !matches!(s.state, SubscriptionState::Granted(_)) {
                s.state = SubscriptionState::Unsent;
            }
        }
        let restore: Vec<(String, Qos)> = self
            .subscriptions
            .iter()
            .filter(|s| s.state == SubscriptionState::Unsent)
            .map(|s| (s.filter.clone(), s.qos))
            .collect();
        if !restore.is_empty() {
            self.send_subscribe(now, restore);
            self.report_subscriptions();
        }
        self.flush(now);
    }

    fn on_suback(&mut self, now: Millis, packet_id: u16, results: Vec<Result<Qos, String>>) {
        let Some(pos) = self
            .pending_subacks
            .iter()
            .position(|p| p.packet_id == packet_id)
        else {
            return self.refuse_input(
                now,
                Refusal::protocol(format!(
                    "a SUBACK for packet id {packet_id}, which no SUBSCRIBE awaits"
                )),
            );
        };
        let pending = self.pending_subacks.swap_remove(pos);
        self.ids.remove(packet_id);
        if results.len() != pending.filters.len() {
            return self.refuse_input(
                now,
                Refusal::protocol(format!(
                    "a SUBACK with {} codes for {} filters [MQTT-3.8.4-6]",
                    results.len(),
                    pending.filters.len()
                )),
            );
        }
        for (filter, result) in pending.filters.into_iter().zip(results) {
            let (state, event) = match result {
                Ok(granted) => (
                    SubscriptionState::Granted(granted),
                    Event::Subscribed {
                        filter: filter.clone(),
                        granted,
                    },
                ),
                Err(reason) => (
                    SubscriptionState::Refused(reason.clone()),
                    Event::Error(Error::SubscribeRefused {
                        filter: filter.clone(),
                        reason,
                    }),
                ),
            };
            if let Some(s) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
                s.state = state;
            }
            self.outputs.push_back(Output::Event(event));
        }
        self.report_subscriptions();
    }

    fn on_packet(&mut self, now: Millis, packet: Incoming) {
        let v5 = self.v5();
        match packet {
            // [MQTT-3.2.0-2]: one CONNACK per connection; another one is not a new session.
            Incoming::ConnAck { .. } if self.state != State::AwaitingConnAck => {
                self.refuse_input(
                    now,
                    Refusal::protocol("a second CONNACK on one connection [MQTT-3.2.0-2]"),
                );
            }
            // [MQTT-3.2.2-3] / v5 3.2.2.2: session present tells us whether to resubscribe.
            Incoming::ConnAck {
                session_present,
                code: 0,
                props,
            } => match ServerLimits::from_properties(&props) {
                Ok(limits) => self.on_connected(now, session_present, limits),
                Err(why) => self.refuse_input(now, Refusal::protocol(why)),
            },
            Incoming::ConnAck { code, props, .. } => {
                // Below 0x80 in answer to a v5 CONNECT: a 3.1.1 broker's return code.
                let name = if v5 && code >= 0x80 {
                    codec::reason_name(code)
                } else {
                    codec::return_code_name(code)
                };
                let why = with_reason(refusal(name), codec::reason_string(&props));
                self.fail(Error::ConnectRefused(why));
            }
            _ if self.state != State::Connected => {
                self.refuse_input(
                    now,
                    Refusal::protocol("a packet before CONNACK [MQTT-3.2.0-1]"),
                );
            }
            Incoming::SubAck { packet_id, codes } => {
                let results = codes
                    .iter()
                    .map(|&code| match code {
                        0 => Ok(Qos::AtMostOnce),
                        1 => Ok(Qos::AtLeastOnce),
                        2 => Ok(Qos::ExactlyOnce),
                        _ if !v5 => Err("Failure".to_owned()),
                        other => Err(codec::reason_name(other).to_owned()),
                    })
                    .collect();
                self.on_suback(now, packet_id, results);
            }
            Incoming::Publish {
                topic,
                payload,
                qos,
                retain,
                packet_id,
            } => {
                let fresh = match (qos, packet_id) {
                    (Qos::AtLeastOnce, Some(id)) if self.options.manual_ack => {
                        self.unacked.push(id);
                        true
                    }
                    (Qos::AtLeastOnce, Some(id)) => {
                        self.transmit(now, codec::ack(PUBACK, id));
                        true
                    }
                    // QoS 2: passed on once, whatever the broker resends before PUBREL.
                    (Qos::ExactlyOnce, Some(id)) => {
                        self.transmit(now, codec::ack(PUBREC, id));
                        self.received_qos2.insert(id)
                    }
                    _ => true,
                };
                if fresh {
                    self.outputs
                        .push_back(Output::Event(Event::Received(Message {
                            topic,
                            payload,
                            qos,
                            retain,
                        })));
                }
            }
            Incoming::Ack {
                kind: PUBREL,
                packet_id,
                ..
            } => {
                self.received_qos2.remove(packet_id);
                self.transmit(now, codec::ack(PUBCOMP, packet_id));
            }
            Incoming::Ack {
                kind: PUBCOMP,
                packet_id,
                ..
            } => {
                if let Some(at) = self.awaiting_pubcomp.iter().position(|&i| i == packet_id) {
                    self.awaiting_pubcomp.swap_remove(at);
                    self.ids.remove(packet_id);
                    self.outputs
                        .push_back(Output::Event(Event::Acknowledged { packet_id }));
                }
            }
            // PUBACK, or PUBREC for a QoS 2 publish of ours.
            Incoming::Ack {
                kind,
                packet_id,
                code,
            } => {
                let Some(at) = self.inflight.iter().position(|(i, _)| *i == packet_id) else {
                    // Not ours (any more): nothing waits on it.
                    return;
                };
                // PUBACK answers QoS 1, PUBREC QoS 2 [MQTT-4.3.2], [MQTT-4.3.3].
                let expected = if kind == PUBREC {
                    Qos::ExactlyOnce
                } else {
                    Qos::AtLeastOnce
                };
                if self.inflight[at].1.qos != expected {
                    return self.refuse_input(
                        now,
                        Refusal::protocol(format!(
                            "a {} for a publish of another QoS",
                            packet_name(kind)
                        )),
                    );
                }
                let Some((_, message)) = self.inflight.remove(at) else {
                    return;
                };
                let refused = code >= 0x80;
                if kind == PUBREC && !refused {
                    self.awaiting_pubcomp.push(packet_id);
                    self.transmit(now, codec::ack(PUBREL, packet_id));
                    return;
                }
                self.ids.remove(packet_id);
                // A broker that refuses a publish (not authorized, quota) still acknowledges
                // it, with a reason code: the layer above hears why, not only "acknowledged".
                if refused {
                    self.outputs
                        .push_back(Output::Event(Event::Error(Error::PublishRefused {
                            topic: message.topic,
                            reason: codec::reason_name(code).to_owned(),
                        })));
                }
                self.outputs
                    .push_back(Output::Event(Event::Acknowledged { packet_id }));
            }
            Incoming::PingResp => self.pingresp_by = None,
            Incoming::UnsubAck => {}
            Incoming::Disconnect { code, reason } => {
                let name = if code == 0 {
                    "normal disconnection"
                } else {
                    codec::reason_name(code)
                };
                self.fail(Error::Disconnected(with_reason(name.to_owned(), reason)));
            }
        }
    }
}

/// The reason code's name, then the broker's own words when it sent a Reason String. They
/// are a stranger's text, shown on one line: control and bidirectional-formatting characters
/// become spaces (no line breaks, nothing that reorders the rest of the line), runs of spaces
/// one, at most 200 characters (the UI renders them as text, never markup).
fn with_reason(mut name: String, reason: Option<String>) -> String {
    const SHOWN: usize = 200;
    let Some(reason) = reason else { return name };
    let breaks = |c: char| {
        c.is_control()
            || c.is_whitespace()
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    };
    let mut text = String::with_capacity(reason.len());
    for c in reason.chars() {
        let c = if breaks(c) { ' ' } else { c };
        if c != ' ' || !(text.is_empty() || text.ends_with(' ')) {
            text.push(c);
        }
    }
    text.truncate(text.trim_end().len());
    if let Some((cut, _)) = text.char_indices().nth(SHOWN) {
        text.truncate(cut);
        text.push('…');
    }
    if !text.is_empty() {
        name.push_str(": the broker says \u{201c}");
        name.push_str(&text);
        name.push('\u{201d}');
    }
    name
}

/// A CONNACK refusal in words (`NotAuthorized` → `not authorized`), with what to do about the
/// ones a user can mend: a broker that authenticates wants a user it knows.
fn refusal(code: &str) -> String {
    let mut words = String::with_capacity(code.len() + 8);
    for c in code.chars() {
        if c.is_ascii_uppercase() && !words.is_empty() {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    if matches!(
        code,
        "NotAuthorized" | "BadUserNameOrPassword" | "BadAuthenticationMethod"
    ) {
        words.push_str(" (this broker wants a user name and password it knows)");
    }
    if matches!(
        code,
        "UnacceptableProtocolVersion" | "UnsupportedProtocolVersion"
    ) {
        words.push_str(" (this broker speaks the other MQTT version: pick it in the form)");
    }
    words
}

/// Decodes the remaining length at `bytes[1..]`: `Some((value, header_len))`, `None` while
/// incomplete. More than four length bytes is malformed ([MQTT-1.5.5]) and reported as `None`
/// with `remaining_length_ok` false.
fn remaining_length(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value = 0usize;
    for i in 0..4 {
        let b = *bytes.get(1 + i)?;
        value |= usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, 2 + i));
        }
    }
    None
}

fn remaining_length_ok(bytes: &[u8]) -> bool {
    // Four continuation bytes in a row can never end: malformed.
    !(bytes.len() >= 5 && bytes[1..5].iter().all(|b| b & 0x80 != 0))
}

/// Length and header length of the first complete packet in `bytes`, if there is one.
fn packet_len(bytes: &[u8]) -> Option<(usize, usize)> {
    let (remaining, header) = remaining_length(bytes)?;
    let total = header + remaining;
    (bytes.len() >= total).then_some((total, header))
}

/// [MQTT-4.7.3-1] non-empty; [MQTT-4.7.1-2/3] wildcards only as whole levels.
fn validate_filter(filter: &str) -> Result<(), Error> {
    let refuse = |reason: &str| {
        Err(Error::InvalidTopic {
            topic: filter.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if filter.is_empty() {
        return refuse("a topic filter must not be empty");
    }
    let levels: Vec<&str> = filter.split('/').collect();
    for (i, level) in levels.iter().enumerate() {
        if level.contains('#') && (*level != "#" || i + 1 != levels.len()) {
            return refuse("# must be a whole level and the last one");
        }
        if level.contains('+') && *level != "+" {
            return refuse("+ must be a whole level");
        }
    }
    Ok(())
}

/// What a message costs the send queue's byte bound.
fn message_bytes(message: &Message) -> usize {
    message.topic.len() + message.payload.len()
}

/// [MQTT-4.7.3-1] non-empty; [MQTT-3.3.2-2] no wildcards in a topic name.
fn validate_topic_name(topic: &str) -> Result<(), Error> {
    codec::check_topic_name(topic).map_err(|reason| Error::InvalidTopic {
        topic: topic.to_owned(),
        reason,
    })
}

fn packet_name(kind: u8) -> &'static str {
    if kind == PUBREC { "PUBREC" } else { "PUBACK" }
}

/// A set of packet ids, one bit each, grown a word at a time as higher ids are used.
#[derive(Debug, Default)]
struct IdSet(Vec<u64>);

impl IdSet {
    /// A set where id 0, never a valid packet id [MQTT-2.2.1-3], is always taken.
    fn without_zero() -> Self {
        Self(vec![1])
    }

    /// Takes the lowest free id, if any is left.
    fn acquire(&mut self) -> Option<u16> {
        let word = match self.0.iter().position(|w| *w != u64::MAX) {
            Some(word) => word,
            None if self.0.len() < 1024 => {
                self.0.push(0);
                self.0.len() - 1
            }
            None => return None,
        };
        let bit = self.0[word].trailing_ones() as usize;
        self.0[word] |= 1 << bit;
        u16::try_from(word * 64 + bit).ok()
    }

    /// Adds `id`; false when it was already in.
    fn insert(&mut self, id: u16) -> bool {
        let (word, bit) = (usize::from(id / 64), 1u64 << (id % 64));
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        let fresh = self.0[word] & bit == 0;
        self.0[word] |= bit;
        fresh
    }

    /// Frees `id`.
    fn remove(&mut self, id: u16) {
        if let Some(word) = self.0.get_mut(usize::from(id / 64)) {
            *word &= !(1 << (id % 64));
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_acknowledgements_may_wait_for_the_end_of_a_burst() {
        let mut s = connected(ProtocolVersion::V5, 0);
        // QoS 1 PUBLISH "a/b", packet id 7, property length 0, payload "x".
        s.handle_input(
            Millis(2),
            &[0x32, 0x09, 0, 3, b'a', b'/', b'b', 0, 7, 0, b'x'],
        );
        let (tx, ..) = drain(&mut s);
        assert_eq!(tx.len(), 1, "one PUBACK: {tx:?}");
        assert!(only_acknowledges(&tx[0]), "{:?}", tx[0]);
        s.handle_command(
            Millis(3),
            Command::Publish(Message::new("t".to_owned(), "x", Qos::AtLeastOnce)),
        );
        let (tx, ..) = drain(&mut s);
        assert!(
            !tx.is_empty() && !tx.iter().any(|p| only_acknowledges(p)),
            "{tx:?}"
        );
        assert!(!only_acknowledges(&[]));
        assert!(!only_acknowledges(&PINGREQ));
        assert!(only_acknowledges(&[0x50, 2, 0, 1])); // PUBREC
        assert!(only_acknowledges(&[0x70, 2, 0, 1])); // PUBCOMP
        assert!(!only_acknowledges(&[0x62, 2, 0, 1])); // PUBREL: ours to drive
    }

    use super::*;

    // Byte-annotated broker packets.
    const CONNACK_V311_OK: [u8; 4] = [0x20, 0x02, 0x00, 0x00]; // CONNACK, len 2, no session, accepted
    const CONNACK_V311_SESSION: [u8; 4] = [0x20, 0x02, 0x01, 0x00]; // session present
    const CONNACK_V311_BAD_AUTH: [u8; 4] = [0x20, 0x02, 0x00, 0x04]; // bad user name or password
    const CONNACK_V5_OK: [u8; 5] = [0x20, 0x03, 0x00, 0x00, 0x00]; // + property length 0
    const PINGREQ: [u8; 2] = [0xC0, 0x00];

    fn drain(s: &mut Session) -> (Vec<Vec<u8>>, Vec<Event>, bool, Option<Millis>) {
        let (mut tx, mut ev, mut close) = (Vec::new(), Vec::new(), false);
        loop {
            match s.poll_output() {
                Output::Transmit(b) => tx.push(b),
                Output::Event(e) => ev.push(e),
                Output::Close => close = true,
                Output::Idle { deadline } => return (tx, ev, close, deadline),
            }
        }
    }

    /// A session whose CONNECT went out, waiting for the CONNACK.
    fn awaiting_connack(options: Options) -> Session {
        let mut s = Session::new(options);
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
        s
    }

    /// Feeds `bytes` to the session and returns its events, asserting it asked to close.
    fn closes_on(s: &mut Session, bytes: &[u8]) -> Vec<Event> {
        s.handle_input(Millis(2), bytes);
        let (_, ev, close, _) = drain(s);
        assert!(close, "{ev:?}");
        ev
    }

    fn connected(version: ProtocolVersion, keep_alive_secs: u16) -> Session {
        let mut s = Session::new(Options {
            version,
            keep_alive_secs,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        let connack: &[u8] = match version {
            ProtocolVersion::V3_1_1 => &CONNACK_V311_OK,
            ProtocolVersion::V5 => &CONNACK_V5_OK,
        };
        s.handle_input(Millis(1), connack);
        let (_, ev, _, _) = drain(&mut s);
        assert!(
            ev.contains(&Event::Connected {
                session_present: false
            }),
            "{ev:?}"
        );
        s
    }

    /// PUBLISH QoS 0 `a/b` "hi" (v3.1.1 layout: no property length).
    fn publish_v311(topic: &str, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x30,
            (2 + topic.len() + payload.len()) as u8,
            0,
            topic.len() as u8,
        ];
        p.extend_from_slice(topic.as_bytes());
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn connect_is_sent_when_the_transport_opens_with_the_requested_protocol_level() {
        for (version, level) in [(ProtocolVersion::V3_1_1, 4u8), (ProtocolVersion::V5, 5u8)] {
            let mut s = Session::new(Options {
                version,
                username: Some("u".into()),
                password: Some("p".into()),
                ..Options::new("dev-1")
            });
            assert_eq!(s.state(), State::AwaitingTransport);
            s.handle_transport_opened(Millis(0));
            let (tx, _, _, deadline) = drain(&mut s);
            assert_eq!(tx.len(), 1);
            let connect = &tx[0];
            assert_eq!(connect[0], 0x10, "CONNECT fixed header");
            // Variable header: 00 04 'M' 'Q' 'T' 'T' level flags
            assert_eq!(&connect[2..8], b"\x00\x04MQTT");
            assert_eq!(connect[8], level);
            assert_eq!(connect[9] & 0xC0, 0xC0, "username and password flags");
            assert_eq!(connect[9] & 0x02, 0, "persistent session by default");
            assert_eq!(s.state(), State::AwaitingConnAck);
            assert_eq!(deadline, Some(Millis(10_000)), "CONNACK deadline armed");
        }
    }

    #[test]
    fn connack_split_across_inputs_connects_only_when_complete() {
        let mut s = awaiting_connack(Options::new("dev-1"));
        for (i, byte) in CONNACK_V5_OK.iter().enumerate() {
            s.handle_input(Millis(1), &[*byte]);
            let (_, ev, _, _) = drain(&mut s);
            let done = i + 1 == CONNACK_V5_OK.len();
            assert_eq!(!ev.is_empty(), done, "byte {i}: {ev:?}");
        }
        assert_eq!(s.state(), State::Connected);
    }

    #[test]
    fn several_packets_in_one_input_are_all_decoded() {
        let mut s = awaiting_connack(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        let mut bytes = CONNACK_V311_OK.to_vec();
        bytes.extend(publish_v311("a/b", b"one"));
        bytes.extend(publish_v311("a/c", b"two"));
        s.handle_input(Millis(1), &bytes);
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close);
        assert_eq!(
            ev,
            vec![
                Event::Limits(ServerLimits::default()),
                Event::Connected {
                    session_present: false
                },
                Event::Received(Message::new("a/b", "one", Qos::AtMostOnce)),
                Event::Received(Message::new("a/c", "two", Qos::AtMostOnce)),
            ]
        );
    }

    #[test]
    fn garbage_input_reports_a_protocol_error_and_asks_to_close() {
        let mut s = connected(ProtocolVersion::V5, 60);
        // 0xF0 is AUTH with reserved flags set: malformed for a client.
        let ev = closes_on(&mut s, &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        assert!(
            ev.iter()
                .any(|e| matches!(e, Event::Error(Error::Protocol(_)))),
            "{ev:?}"
        );
        assert_eq!(s.state(), State::AwaitingClose);
        s.handle_transport_closed(Millis(6));
        assert_eq!(s.state(), State::AwaitingTransport);
    }

    #[test]
    fn a_qos1_publish_with_packet_id_zero_is_a_protocol_error_not_a_panic() {
        // Found by the mqtt_input fuzz target in mqtt-protocol-core, the codec we used then (it
        // unwrapped a failed PUBACK build); kept for ours.
        let mut s = connected(ProtocolVersion::V3_1_1, 60);
        // PUBLISH QoS 1, len 9: topic "" (00 00), packet id 00 00, payload 5 bytes.
        s.handle_input(
            Millis(2),
            &[0x32, 0x09, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5],
        );
        let (tx, ev, close, _) = drain(&mut s);
        assert!(close && tx.is_empty(), "{tx:?}");
        assert!(
            matches!(&ev[..], [Event::Error(Error::Protocol(why))] if why.contains("MQTT-2.2.1-3")),
            "{ev:?}"
        );
        let mut s = connected(ProtocolVersion::V5, 60);
        closes_on(&mut s, &[0x40, 0x02, 0x00, 0x00]); // PUBACK for packet id 0
    }

    #[test]
    fn a_remaining_length_that_never_ends_is_malformed() {
        let mut s = connected(ProtocolVersion::V5, 60);
        // Four length bytes, each saying "more follows": no fifth byte is waited for.
        s.handle_input(Millis(2), &[0x30, 0xFF, 0xFF, 0xFF, 0xFF]);
        let (tx, ev, close, _) = drain(&mut s);
        assert!(close, "{ev:?}");
        assert!(
            matches!(&ev[..], [Event::Error(Error::Protocol(why))] if why.contains("MQTT-1.5.5")),
            "{ev:?}"
        );
        assert_eq!(
            tx,
            vec![vec![0xE0, 0x01, 0x81]],
            "DISCONNECT: Malformed Packet"
        );
    }

    #[test]
    fn refused_connack_is_reported_with_its_reason() {
        let mut s = awaiting_connack(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        s.handle_input(Millis(1), &CONNACK_V311_BAD_AUTH);
        let (_, ev, close, _) = drain(&mut s);
        assert!(close);
        match &ev[..] {
            [Event::Error(Error::ConnectRefused(why))] => {
                assert!(why.to_lowercase().contains("user"), "{why}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn missing_connack_times_out_at_the_deadline_not_before() {
        let mut s = awaiting_connack(Options::new("dev-1"));
        s.handle_timeout(Millis(9_999));
        let (_, ev, close, _) = drain(&mut s);
        assert!(ev.is_empty() && !close);
        s.handle_timeout(Millis(10_000));
        let (_, ev, close, _) = drain(&mut s);
        assert!(close);
        assert_eq!(ev, vec![Event::Error(Error::ConnAckTimeout(10_000))]);
    }

    #[test]
    fn keep_alive_deadline_follows_the_interval_and_a_late_timer_still_pings_once() {
        let mut s = connected(ProtocolVersion::V5, 30);
        let (_, _, _, deadline) = drain(&mut s);
        // [MQTT-3.1.2-23]: the interval runs from the last packet sent, CONNECT at t=0.
        assert_eq!(deadline, Some(Millis(30_000)));
        // The tab was throttled: the timer fires 50 s late. One PINGREQ, no disconnect.
        s.handle_timeout(Millis(80_000));
        let (tx, ev, close, deadline) = drain(&mut s);
        assert_eq!(tx, vec![PINGREQ.to_vec()]);
        assert!(ev.is_empty() && !close);
        assert!(deadline.is_some_and(|d| d > Millis(80_000)), "{deadline:?}");
        // PINGRESP arrives.
        s.handle_input(Millis(80_010), &[0xD0, 0x00]);
        assert_eq!(s.state(), State::Connected);
    }

    #[test]
    fn an_unanswered_pingreq_closes_after_half_the_keep_alive_and_a_pingresp_cancels_it() {
        for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
            let mut s = connected(version, 30);
            drain(&mut s);
            s.handle_timeout(Millis(30_000));
            let (tx, _, _, deadline) = drain(&mut s);
            assert_eq!(tx, vec![PINGREQ.to_vec()]);
            assert_eq!(deadline, Some(Millis(45_000)), "15 s for the PINGRESP");
            s.handle_timeout(Millis(44_999));
            assert!(!drain(&mut s).2, "not before the timeout");
            s.handle_timeout(Millis(45_000));
            let (tx, ev, close, _) = drain(&mut s);
            assert_eq!(ev, vec![Event::Error(Error::PingrespTimeout(15_000))]);
            assert!(close, "{version:?}: a deaf broker is a lost connection");
            assert_eq!(s.state(), State::AwaitingClose);
            // Keep Alive timeout (0x8D) is a server's DISCONNECT reason; a deaf broker would
            // not read ours anyway.
            assert!(tx.is_empty(), "{tx:02x?}");
            // Answered in time, nothing closes.
            let mut s = connected(version, 30);
            s.handle_timeout(Millis(30_000));
            drain(&mut s);
            s.handle_input(Millis(30_010), &[0xD0, 0x00]);
            let (_, _, _, deadline) = drain(&mut s);
            assert_eq!(
                deadline,
                Some(Millis(60_000)),
                "the next ping, no PINGRESP wait"
            );
            s.handle_timeout(Millis(45_000));
            assert!(!drain(&mut s).2);
            assert_eq!(s.state(), State::Connected);
        }
    }

    #[test]
    fn subscriptions_made_before_connecting_are_sent_after_connack_and_granted() {
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        s.handle_command(
            Millis(0),
            Command::Subscribe(vec![(
                "$emqx/things/t1/shadow/update/delta".into(),
                Qos::AtLeastOnce,
            )]),
        );
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
        s.handle_input(Millis(1), &CONNACK_V311_OK);
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx.len(), 1);
        assert_eq!(tx[0][0], 0x82, "SUBSCRIBE");
        let packet_id = u16::from_be_bytes([tx[0][2], tx[0][3]]);
        let [hi, lo] = packet_id.to_be_bytes();
        s.handle_input(Millis(2), &[0x90, 0x03, hi, lo, 0x01]); // SUBACK granted QoS 1
        let (_, ev, _, _) = drain(&mut s);
        let status = SubscriptionStatus {
            filter: "$emqx/things/t1/shadow/update/delta".into(),
            qos: Qos::AtLeastOnce,
            state: SubscriptionState::Granted(Qos::AtLeastOnce),
        };
        assert_eq!(
            ev,
            vec![
                Event::Subscribed {
                    filter: "$emqx/things/t1/shadow/update/delta".into(),
                    granted: Qos::AtLeastOnce
                },
                Event::Subscriptions(vec![status])
            ]
        );
        // Reconnect where the broker kept the session: nothing to resubscribe.
        s.handle_transport_closed(Millis(3));
        s.handle_transport_opened(Millis(4));
        drain(&mut s);
        s.handle_input(Millis(5), &CONNACK_V311_SESSION);
        let (tx, _, _, _) = drain(&mut s);
        assert!(tx.is_empty(), "{tx:?}");
        // Reconnect where it did not: resubscribe.
        s.handle_transport_closed(Millis(6));
        s.handle_transport_opened(Millis(7));
        drain(&mut s);
        s.handle_input(Millis(8), &CONNACK_V311_OK);
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx.len(), 1);
        assert_eq!(tx[0][0], 0x82);
    }

    #[test]
    fn publishes_made_offline_are_queued_bounded_and_flushed_on_connect() {
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            offline_queue_capacity: 2,
            ..Options::new("dev-1")
        });
        for n in 0..3 {
            s.handle_command(
                Millis(0),
                Command::Publish(Message::new(format!("t/{n}"), "x", Qos::AtMostOnce)),
            );
        }
        let (_, ev, _, _) = drain(&mut s);
        assert_eq!(
            ev,
            vec![Event::Error(Error::QueueOverflow {
                topic: "t/0".into(),
                capacity: "2 messages".into()
            })]
        );
        assert_eq!(s.queued(), 2);
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
        s.handle_input(Millis(1), &CONNACK_V311_OK);
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(
            tx,
            vec![publish_v311("t/1", b"x"), publish_v311("t/2", b"x")]
        );
        assert_eq!(s.queued(), 0);
    }

    #[test]
    fn wildcards_in_a_topic_name_and_malformed_filters_are_refused() {
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("a/+", "x", Qos::AtMostOnce)),
        );
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![("a/#/b".into(), Qos::AtMostOnce)]),
        );
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![("a/b+".into(), Qos::AtMostOnce)]),
        );
        let (tx, ev, close, _) = drain(&mut s);
        assert!(tx.is_empty() && !close);
        assert_eq!(ev.len(), 3);
        assert!(
            ev.iter()
                .all(|e| matches!(e, Event::Error(Error::InvalidTopic { .. })))
        );
    }

    #[test]
    fn mqtt5_connect_carries_session_expiry_receive_maximum_and_the_will() {
        let mut s = Session::new(Options {
            receive_maximum: Some(20),
            will: Some(Message::new(
                "$emqx/things/t1/events/offline",
                "{}",
                Qos::AtLeastOnce,
            )),
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        let (tx, _, _, _) = drain(&mut s);
        let connect = &tx[0];
        assert_eq!(connect[9] & 0x04, 0x04, "will flag");
        assert_eq!((connect[9] >> 3) & 0x03, 1, "will QoS 1");
        // Properties follow keep-alive: length, then 0x11 session expiry (u32), 0x21 receive
        // maximum (u16), 0x27 our Maximum Packet Size (u32, 256 KiB). No 0x22 Topic Alias
        // Maximum: aliases stay off.
        let props = &connect[13..13 + connect[12] as usize];
        assert_eq!(
            props,
            &[0x11, 0, 0, 0x0E, 0x10, 0x21, 0, 20, 0x27, 0, 0x04, 0, 0]
        );
    }

    #[test]
    fn an_unacknowledged_qos1_publish_is_resent_with_dup_when_the_session_survives() {
        let mut s = awaiting_connack(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        s.handle_input(Millis(1), &CONNACK_V311_OK);
        drain(&mut s);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("a/b", "x", Qos::AtLeastOnce)),
        );
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx[0][0], 0x32, "PUBLISH QoS 1");
        // The connection drops before PUBACK; the broker kept the session.
        s.handle_transport_closed(Millis(3));
        assert_eq!((s.queued(), s.in_flight()), (1, 0), "held for the resend");
        s.handle_transport_opened(Millis(4));
        drain(&mut s);
        s.handle_input(Millis(5), &CONNACK_V311_SESSION);
        let (tx, ev, _, _) = drain(&mut s);
        assert!(ev.contains(&Event::Connected {
            session_present: true
        }));
        assert_eq!(tx.len(), 1, "{tx:?}");
        assert_eq!(tx[0][0], 0x3A, "PUBLISH QoS 1 with DUP [MQTT-3.3.1-1]");
        let [hi, lo] = [tx[0][7], tx[0][8]];
        s.handle_input(Millis(6), &[0x40, 0x02, hi, lo]); // PUBACK
        let (_, ev, _, _) = drain(&mut s);
        assert_eq!(
            ev,
            vec![Event::Acknowledged {
                packet_id: u16::from_be_bytes([hi, lo])
            }]
        );
    }

    #[test]
    fn no_local_and_no_retained_set_their_subscription_option_bits_on_mqtt5_only() {
        for (version, connack, no_retained, expected) in [
            (ProtocolVersion::V5, &CONNACK_V5_OK[..], false, 0x05u8), // QoS 1 | No Local
            (ProtocolVersion::V5, &CONNACK_V5_OK[..], true, 0x25u8),  // … | Retain Handling 2
            (ProtocolVersion::V3_1_1, &CONNACK_V311_OK[..], true, 0x01u8), // QoS 1 only
        ] {
            let mut s = Session::new(Options {
                version,
                no_local: true,
                no_retained,
                ..Options::new("cloud")
            });
            s.handle_transport_opened(Millis(0));
            s.handle_input(Millis(1), connack);
            drain(&mut s);
            s.handle_command(
                Millis(2),
                Command::Subscribe(vec![("a/b".into(), Qos::AtLeastOnce)]),
            );
            let (tx, _, _, _) = drain(&mut s);
            assert_eq!(
                *tx[0].last().unwrap(),
                expected,
                "{version:?} no_retained {no_retained}: {:02x?}",
                tx[0]
            );
        }
    }

    #[test]
    fn the_password_never_appears_in_debug_output() {
        let o = Options {
            password: Some("hunter2".into()),
            ..Options::new("dev-1")
        };
        let shown = format!("{o:?} {:?}", Session::new(o.clone()));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"), "that there is one is shown: {shown}");
        assert_eq!(
            shown.matches("dev-1").count(),
            2,
            "the rest is shown: {shown}"
        );
    }

    // -- the limits a broker sets (MQTT 5 CONNACK properties) --

    /// A v5 CONNACK (accepted, session as given) carrying `props` (id, value bytes...).
    fn connack_v5(session_present: bool, props: &[u8]) -> Vec<u8> {
        let mut p = vec![
            0x20,
            (3 + props.len()) as u8,
            u8::from(session_present),
            0x00,
        ];
        p.push(props.len() as u8);
        p.extend_from_slice(props);
        p
    }

    /// A v5 session connected to a broker that announced `props`.
    fn connected_v5_with(options: Options, props: &[u8]) -> (Session, Vec<Event>) {
        let mut s = awaiting_connack(options);
        s.handle_input(Millis(1), &connack_v5(false, props));
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close, "{ev:?}");
        (s, ev)
    }

    /// The filters of a v5 SUBSCRIBE packet.
    fn subscribe_filters(packet: &[u8]) -> Vec<String> {
        assert_eq!(packet[0], 0x82, "SUBSCRIBE");
        let (len, header) = remaining_length(packet).unwrap();
        assert_eq!(packet.len(), header + len, "one whole packet");
        let mut at = header + 2; // packet id
        at += 1; // property length 0
        let mut filters = Vec::new();
        while at < packet.len() {
            let n = usize::from(u16::from_be_bytes([packet[at], packet[at + 1]]));
            filters.push(String::from_utf8(packet[at + 2..at + 2 + n].to_vec()).unwrap());
            at += 2 + n + 1; // filter, options
        }
        filters
    }

    fn puback_for(publish: &[u8]) -> Vec<u8> {
        // v5 PUBLISH QoS 1: header, topic (u16 + bytes), packet id.
        let (_, header) = remaining_length(publish).unwrap();
        let topic_len = usize::from(u16::from_be_bytes([publish[header], publish[header + 1]]));
        let id = &publish[header + 2 + topic_len..header + 4 + topic_len];
        vec![0x40, 0x02, id[0], id[1]]
    }

    #[test]
    fn a_qos2_publish_is_passed_on_once_and_its_handshake_completed() {
        let mut s = connected(ProtocolVersion::V5, 60);
        // QoS 2 PUBLISH "a/b", packet id 5, property length 0, payload "x"; then the same again
        // with DUP, as a broker resends it before our PUBREC reached it.
        let publish = [0x34, 0x09, 0, 3, b'a', b'/', b'b', 0, 5, 0, b'x'];
        s.handle_input(Millis(2), &publish);
        let (tx, ev, ..) = drain(&mut s);
        assert_eq!(tx, vec![vec![0x50, 2, 0, 5]], "PUBREC");
        assert!(
            matches!(&ev[..], [Event::Received(m)] if m.qos == Qos::ExactlyOnce),
            "{ev:?}"
        );
        let mut again = publish;
        again[0] |= 0x08;
        s.handle_input(Millis(3), &again);
        let (tx, ev, ..) = drain(&mut s);
        assert_eq!(tx, vec![vec![0x50, 2, 0, 5]], "PUBREC again");
        assert!(ev.is_empty(), "not passed on twice: {ev:?}");
        s.handle_input(Millis(4), &[0x62, 2, 0, 5]);
        let (tx, _, close, _) = drain(&mut s);
        assert_eq!(tx, vec![vec![0x70, 2, 0, 5]], "PUBCOMP");
        assert!(!close);
        // Released: the same id is a new message now.
        s.handle_input(Millis(5), &publish);
        let (_, ev, ..) = drain(&mut s);
        assert_eq!(ev.len(), 1, "{ev:?}");
    }

    #[test]
    fn a_qos2_publish_of_ours_holds_its_slot_until_pubcomp_and_its_pubrel_is_resent() {
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x21, 0, 1]);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("a/b", "x", Qos::ExactlyOnce)),
        );
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("a/c", "y", Qos::AtLeastOnce)),
        );
        let (tx, ..) = drain(&mut s);
        assert_eq!(tx.len(), 1, "Receive Maximum 1: {tx:?}");
        assert_eq!(tx[0][0], 0x34, "QoS 2");
        s.handle_input(Millis(3), &[0x50, 2, 0, 1]); // PUBREC 1
        let (tx, ev, ..) = drain(&mut s);
        assert_eq!(tx, vec![vec![0x62, 2, 0, 1]], "PUBREL, and a/c still waits");
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!((s.in_flight(), s.queued()), (1, 1));
        // The link drops before PUBCOMP; the broker kept the session.
        s.handle_transport_closed(Millis(4));
        s.handle_transport_opened(Millis(5));
        drain(&mut s);
        s.handle_input(Millis(6), &connack_v5(true, &[0x21, 0, 1]));
        let (tx, ..) = drain(&mut s);
        assert_eq!(
            tx,
            vec![vec![0x62, 2, 0, 1]],
            "PUBREL again, nothing else yet"
        );
        s.handle_input(Millis(7), &[0x70, 2, 0, 1]); // PUBCOMP 1
        let (tx, ev, ..) = drain(&mut s);
        assert_eq!(ev, vec![Event::Acknowledged { packet_id: 1 }]);
        assert_eq!(tx.len(), 1, "the window opened for a/c: {tx:?}");
        assert_eq!(&tx[0][4..7], b"a/c");
    }

    #[test]
    fn what_a_broker_may_not_send_closes_with_a_named_protocol_error() {
        let protocol_error = |s: &mut Session, bytes: &[u8]| {
            let ev = closes_on(s, bytes);
            match &ev[..] {
                [Event::Error(Error::Protocol(why))] => why.clone(),
                other => panic!("{bytes:02x?}: {other:?}"),
            }
        };
        // A topic alias, which we never allowed (no Topic Alias Maximum in CONNECT).
        let why = protocol_error(
            &mut connected(ProtocolVersion::V5, 60),
            &[0x30, 0x0A, 0, 3, b'a', b'/', b'b', 3, 0x23, 0, 1, b'x'],
        );
        assert!(why.contains("topic alias"), "{why}");
        // A SUBACK with more codes than the SUBSCRIBE had filters.
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![("a/b".into(), Qos::AtLeastOnce)]),
        );
        drain(&mut s);
        let why = protocol_error(&mut s, &[0x90, 0x05, 0, 1, 0, 1, 1]);
        assert!(why.contains("2 codes for 1 filters"), "{why}");
        // A PUBLISH before CONNACK.
        let mut s = awaiting_connack(Options::new("dev-1"));
        let why = protocol_error(&mut s, &[0x30, 0x06, 0, 3, b'a', b'/', b'b', 0]);
        assert!(why.contains("before CONNACK"), "{why}");
        // A Receive Maximum of 0.
        let mut s = awaiting_connack(Options::new("dev-1"));
        let why = protocol_error(&mut s, &connack_v5(false, &[0x21, 0, 0]));
        assert!(why.contains("limit of 0"), "{why}");
        // A topic name that is not UTF-8, and a PUBACK with bytes after its properties.
        let why = protocol_error(
            &mut connected(ProtocolVersion::V3_1_1, 60),
            &[0x30, 0x05, 0, 2, 0xC3, 0x28, b'x'],
        );
        assert!(why.contains("UTF-8"), "{why}");
        let mut s = connected(ProtocolVersion::V5, 60);
        let why = protocol_error(&mut s, &[0x40, 0x05, 0, 7, 0, 0, 9]);
        assert!(why.contains("left over"), "{why}");
    }

    #[test]
    fn a_link_that_only_sends_still_pings_when_it_hears_nothing() {
        // QoS 0 telemetry every 20 s never lets the send side idle for a keep-alive; a link
        // that died without a close must still be found.
        let mut s = connected(ProtocolVersion::V5, 60);
        for t in [20_000, 40_000] {
            s.handle_command(
                Millis(t),
                Command::Publish(Message::new("t", "x", Qos::AtMostOnce)),
            );
            drain(&mut s);
        }
        let (_, _, _, deadline) = drain(&mut s);
        assert_eq!(deadline, Some(Millis(60_001)), "a keep-alive after CONNACK");
        s.handle_timeout(Millis(60_001));
        let (tx, _, _, deadline) = drain(&mut s);
        assert_eq!(tx, vec![PINGREQ.to_vec()]);
        assert_eq!(
            deadline,
            Some(Millis(90_001)),
            "the PINGRESP's deadline, not another ping"
        );
        s.handle_timeout(Millis(90_001));
        let (_, ev, close, _) = drain(&mut s);
        assert!(close, "{ev:?}");
    }

    #[test]
    fn a_311_broker_answering_a_v5_connect_reads_as_the_wrong_version() {
        let mut s = awaiting_connack(Options::new("dev-1"));
        // A 3.1.1 CONNACK: no properties, return code 1.
        let ev = closes_on(&mut s, &[0x20, 0x02, 0x00, 0x01]);
        assert!(
            matches!(&ev[..], [Event::Error(Error::ConnectRefused(why))]
                if why.starts_with("unacceptable protocol version") && why.contains("other MQTT version")),
            "{ev:?}"
        );
    }

    #[test]
    fn version_rules_of_311_hold_on_both_sides() {
        // A 3.1.1 PUBACK is the packet id alone: a reason code is bytes left over.
        let mut s = connected(ProtocolVersion::V3_1_1, 60);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("a", "x", Qos::AtLeastOnce)),
        );
        drain(&mut s);
        let ev = closes_on(&mut s, &[0x40, 0x03, 0, 1, 0x80]);
        assert!(
            matches!(&ev[..], [Event::Error(Error::Protocol(_))]),
            "{ev:?}"
        );
        // [MQTT-3.1.2-22]: no password without a username in 3.1.1.
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            password: Some("p".into()),
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        let (tx, ev, _, _) = drain(&mut s);
        assert!(tx.is_empty());
        assert!(
            matches!(&ev[..], [Event::Error(Error::InvalidOption(why))] if why.contains("username")),
            "{ev:?}"
        );
    }

    #[test]
    fn no_local_is_left_off_shared_subscriptions() {
        // [MQTT-3.8.3-4]: No Local on a $share filter is a protocol error.
        let mut s = Session::new(Options {
            no_local: true,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        s.handle_input(Millis(1), &CONNACK_V5_OK);
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![
                ("a/b".into(), Qos::AtLeastOnce),
                ("$share/g/c".into(), Qos::AtLeastOnce),
            ]),
        );
        let (tx, ..) = drain(&mut s);
        let sub = tx.iter().find(|p| p[0] == 0x82).expect("SUBSCRIBE");
        // header 2, packet id 2, property length 1, then "a/b" (5) + options, "$share/g/c".
        assert_eq!(sub[10], 0x05, "a/b: QoS 1 + No Local");
        assert_eq!(sub[sub.len() - 1], 0x01, "$share/g/c: QoS 1 only");
    }

    #[test]
    fn a_311_packet_over_our_maximum_is_skipped_not_a_reason_to_reconnect_forever() {
        // 3.1.1 cannot announce our Maximum Packet Size: a retained 2 KB message would come
        // back on every connection. It is skipped as it streams in, and said once.
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            maximum_packet_size: Some(1024),
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        s.handle_input(Millis(1), &CONNACK_V311_OK);
        drain(&mut s);
        // PUBLISH QoS 0, remaining length 2048 (0x80 0x10): topic "a/b", then payload.
        let mut big = vec![0x30, 0x80, 0x10, 0, 3, b'a', b'/', b'b'];
        big.extend(vec![b'x'; 2048 - 5]);
        let mut stream = big.clone();
        stream.extend(publish_v311("a/c", b"after"));
        // In three pieces, the cut inside the big one.
        s.handle_input(Millis(2), &stream[..100]);
        s.handle_input(Millis(2), &stream[100..1500]);
        s.handle_input(Millis(2), &stream[1500..]);
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close, "{ev:?}");
        assert!(
            matches!(
                &ev[..],
                [Event::Error(Error::PacketTooLarge { size: 2051, maximum: 1024, .. }), Event::Received(m)]
                    if m.topic == "a/c"
            ),
            "{ev:?}"
        );
        assert!(s.partial.is_empty(), "nothing of it buffered");
        assert_eq!(s.state(), State::Connected);
    }

    #[test]
    fn an_acknowledgement_of_the_wrong_kind_is_a_protocol_error() {
        // A PUBREC for a QoS 1 publish, then a PUBACK for a QoS 2 one.
        for (qos, answer) in [(Qos::AtLeastOnce, 0x50u8), (Qos::ExactlyOnce, 0x40)] {
            let mut s = connected(ProtocolVersion::V5, 60);
            s.handle_command(Millis(2), Command::Publish(Message::new("a", "x", qos)));
            drain(&mut s);
            let ev = closes_on(&mut s, &[answer, 2, 0, 1]);
            assert!(
                matches!(&ev[..], [Event::Error(Error::Protocol(why))] if why.contains("another QoS")),
                "{ev:?}"
            );
        }
    }

    #[test]
    fn a_refused_packet_is_answered_with_the_reason_that_fits_it() {
        // Bytes that do not hold the packet's fields: Malformed Packet. A rule broken:
        // Protocol Error. Either way v5 says so in DISCONNECT before closing.
        for (bytes, reason) in [
            (&[0x40, 0x05, 0, 7, 0, 0, 9][..], 0x81), // PUBACK, a byte left over
            (&[0x40, 0x01, 0][..], 0x81),             // PUBACK, its id cut short
            (&[0x36, 0x07, 0, 3, b'a', b'/', b'b', 0, b'x'][..], 0x82), // QoS 3
        ] {
            let mut s = connected(ProtocolVersion::V5, 60);
            s.handle_input(Millis(2), bytes);
            let (tx, ev, close, _) = drain(&mut s);
            assert!(close, "{bytes:02x?}: {ev:?}");
            assert_eq!(tx, vec![vec![0xE0, 0x01, reason]], "{bytes:02x?}");
        }
        // A SUBACK for no SUBSCRIBE, and one with a code too many: rules broken, so Protocol
        // Error, like every other refused packet.
        for (suback, why) in [
            (&[0x90, 0x04, 0, 9, 0, 0][..], "which no SUBSCRIBE awaits"),
            (&[0x90, 0x05, 0, 1, 0, 1, 1], "2 codes for 1 filters"),
        ] {
            let mut s = connected(ProtocolVersion::V5, 60);
            s.handle_command(
                Millis(2),
                Command::Subscribe(vec![("a/b".into(), Qos::AtLeastOnce)]),
            );
            drain(&mut s);
            s.handle_input(Millis(3), suback);
            let (tx, ev, close, _) = drain(&mut s);
            assert!(close, "{suback:02x?}: {ev:?}");
            assert!(
                matches!(&ev[..], [Event::Error(Error::Protocol(w))] if w.contains(why)),
                "{ev:?}"
            );
            assert_eq!(tx, vec![vec![0xE0, 0x01, 0x82]], "{suback:02x?}");
        }
    }

    const MAX_PACKET_256: [u8; 5] = [0x27, 0, 0, 0x01, 0x00]; // Maximum Packet Size 256
    const RECEIVE_MAX_2: [u8; 3] = [0x21, 0, 2]; // Receive Maximum 2

    #[test]
    fn every_connack_limit_is_read_and_reported_before_connected() {
        let mut props = Vec::new();
        props.extend_from_slice(&MAX_PACKET_256);
        props.extend_from_slice(&RECEIVE_MAX_2);
        props.extend_from_slice(&[0x22, 0, 5]); // Topic Alias Maximum 5
        props.extend_from_slice(&[0x24, 0]); // Maximum QoS 0
        props.extend_from_slice(&[0x25, 0]); // Retain Available: no
        props.extend_from_slice(&[0x28, 0]); // Wildcard Subscription Available: no
        props.extend_from_slice(&[0x13, 0, 10]); // Server Keep Alive 10 s
        props.extend_from_slice(&[0x12, 0, 4, b'a', b'u', b't', b'o']); // Assigned Client Id
        let (s, ev) = connected_v5_with(Options::new(""), &props);
        let expected = ServerLimits {
            maximum_packet_size: Some(256),
            receive_maximum: 2,
            topic_alias_maximum: 5,
            maximum_qos: Qos::AtMostOnce,
            retain_available: false,
            wildcard_subscriptions: false,
            server_keep_alive: Some(10),
            assigned_client_id: Some("auto".into()),
        };
        assert_eq!(
            ev,
            vec![
                Event::Limits(expected.clone()),
                Event::Connected {
                    session_present: false
                }
            ]
        );
        assert_eq!(s.server_limits(), &expected);
        assert_eq!(
            expected.to_string(),
            "max packet 256 B · receive max 2 · QoS 0 only · no retain · no wildcard \
             subscriptions · topic aliases 5 · keep-alive 10 s · client id auto (assigned)"
        );
    }

    #[test]
    fn a_broker_with_qos_1_at_most_and_one_topic_alias_is_not_a_default_broker() {
        // Maximum QoS 1, Topic Alias Maximum 1: the smallest values that differ.
        let (s, _) = connected_v5_with(Options::new("d"), &[0x24, 1, 0x22, 0, 1]);
        assert_eq!(s.server_limits().maximum_qos, Qos::AtLeastOnce);
        assert!(!s.server_limits().is_default());
        assert_eq!(
            s.server_limits().to_string(),
            "QoS 1 at most · topic aliases 1"
        );
        assert_eq!(ServerLimits::default().to_string(), "no limits announced");
    }

    #[test]
    fn an_mqtt311_broker_announces_nothing_so_the_defaults_apply() {
        let s = connected(ProtocolVersion::V3_1_1, 60);
        assert!(s.server_limits().is_default());
        assert_eq!(s.server_limits().receive_maximum, 65_535);
    }

    /// The 13 filters a Fleets device subscribes to (fleets-protocol.md), for thing `t1`.
    fn fleets_filters() -> Vec<(String, Qos)> {
        let t = "$emqx/things/thermostat-001";
        [
            format!("{t}/shadow/update/delta"),
            format!("{t}/shadow/update"),
            format!("{t}/jobs/notify"),
            format!("{t}/jobs/notify-next"),
            format!("{t}/jobs/get/accepted"),
            format!("{t}/jobs/get/rejected"),
            format!("{t}/jobs/start-next/accepted"),
            format!("{t}/jobs/start-next/rejected"),
            format!("{t}/jobs/+/get/accepted"),
            format!("{t}/jobs/+/get/rejected"),
            format!("{t}/jobs/+/update/accepted"),
            format!("{t}/jobs/+/update/rejected"),
            "$emqx/commands/things/thermostat-001/executions/+/request".to_owned(),
        ]
        .into_iter()
        .map(|f| (f, Qos::AtLeastOnce))
        .collect()
    }

    #[test]
    fn subscribe_is_split_into_packets_that_fit_the_broker_maximum_packet_size() {
        // [MQTT-3.1.2-24] the client must not send a packet larger than Maximum Packet Size.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &MAX_PACKET_256);
        s.handle_command(Millis(2), Command::Subscribe(fleets_filters()));
        let (tx, ev, close, _) = drain(&mut s);
        assert!(!close);
        assert!(
            tx.len() > 1,
            "13 filters need more than one 256-byte packet"
        );
        let mut sent = Vec::new();
        for packet in &tx {
            assert!(packet.len() <= 256, "{} bytes", packet.len());
            sent.extend(subscribe_filters(packet));
        }
        let wanted: Vec<String> = fleets_filters().into_iter().map(|(f, _)| f).collect();
        assert_eq!(sent, wanted, "every filter once, in order");
        assert!(!ev.iter().any(|e| matches!(e, Event::Error(_))), "{ev:?}");
        // Each SUBACK grants its own filters; all 13 end granted.
        for packet in &tx {
            let n = subscribe_filters(packet).len();
            let (_, header) = remaining_length(packet).unwrap();
            let mut suback = vec![0x90, (3 + n) as u8, packet[header], packet[header + 1], 0];
            suback.extend(std::iter::repeat_n(0x01, n));
            s.handle_input(Millis(3), &suback);
        }
        let granted = s
            .subscriptions()
            .iter()
            .filter(|s| s.state == SubscriptionState::Granted(Qos::AtLeastOnce))
            .count();
        assert_eq!(granted, 13);
    }

    #[test]
    fn a_filter_that_fits_no_packet_is_unsendable_and_said_while_the_others_go_out() {
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x27, 0, 0, 0, 64]);
        let long = format!("a/{}", "x".repeat(80));
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![
                ("a/b".into(), Qos::AtLeastOnce),
                (long.clone(), Qos::AtLeastOnce),
                ("a/c".into(), Qos::AtLeastOnce),
            ]),
        );
        let (tx, ev, close, _) = drain(&mut s);
        assert!(!close);
        let sent: Vec<String> = tx.iter().flat_map(|p| subscribe_filters(p)).collect();
        assert_eq!(sent, vec!["a/b".to_owned(), "a/c".to_owned()]);
        assert!(
            ev.iter().any(|e| matches!(e,
                Event::Error(Error::PacketTooLarge { what, maximum: 64, .. }) if what.contains(&long))),
            "{ev:?}"
        );
        let status = s.subscriptions().iter().find(|s| s.filter == long).unwrap();
        assert!(
            matches!(&status.state, SubscriptionState::Unsendable(why) if why.contains("64")),
            "{status:?}"
        );
        assert!(status.problem().is_some());
    }

    #[test]
    fn a_publish_over_the_broker_maximum_is_refused_and_the_next_one_still_goes_out() {
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &MAX_PACKET_256);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("big", vec![b'x'; 300], Qos::AtLeastOnce)),
        );
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("small", "x", Qos::AtLeastOnce)),
        );
        let (tx, ev, close, _) = drain(&mut s);
        assert!(!close);
        assert_eq!(tx.len(), 1, "only the small one");
        assert_eq!(&tx[0][4..9], b"small");
        assert!(
            ev.iter().any(|e| matches!(e,
                Event::Error(Error::PacketTooLarge { what, maximum: 256, .. }) if what == "PUBLISH to big")),
            "{ev:?}"
        );
        assert_eq!((s.queued(), s.in_flight()), (0, 1), "nothing wedged");
    }

    #[test]
    fn receive_maximum_holds_publishes_until_a_puback_opens_the_window() {
        // [MQTT-4.9.0-2]: no more than Receive Maximum QoS 1/2 publishes unacknowledged.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &RECEIVE_MAX_2);
        for n in 0..5 {
            s.handle_command(
                Millis(2),
                Command::Publish(Message::new(format!("t/{n}"), "x", Qos::AtLeastOnce)),
            );
        }
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx.len(), 2);
        assert_eq!((s.in_flight(), s.queued()), (2, 3));
        let mut sent = tx;
        let mut acked = 0;
        while acked < sent.len() {
            s.handle_input(Millis(3), &puback_for(&sent[acked]));
            acked += 1;
            let (tx, _, _, _) = drain(&mut s);
            sent.extend(tx);
            assert!(s.in_flight() <= 2);
        }
        let topics: Vec<&[u8]> = sent.iter().map(|p| &p[4..7]).collect();
        assert_eq!(
            topics,
            [&b"t/0"[..], b"t/1", b"t/2", b"t/3", b"t/4"],
            "in order"
        );
        assert_eq!((s.in_flight(), s.queued()), (0, 0));
    }

    #[test]
    fn receive_maximum_still_counts_right_after_a_resumed_session_resends() {
        // Two QoS 1 publishes unacknowledged when the link drops; the broker keeps the session
        // and the session resends them. Their PUBACKs must free exactly two slots.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &RECEIVE_MAX_2);
        for n in 0..2 {
            s.handle_command(
                Millis(2),
                Command::Publish(Message::new(format!("t/{n}"), "x", Qos::AtLeastOnce)),
            );
        }
        drain(&mut s);
        s.handle_transport_closed(Millis(3));
        assert_eq!((s.queued(), s.in_flight()), (2, 0), "waiting to be resent");
        s.handle_transport_opened(Millis(4));
        drain(&mut s);
        s.handle_input(Millis(5), &connack_v5(true, &RECEIVE_MAX_2));
        let (resent, _, _, _) = drain(&mut s);
        assert_eq!(resent.len(), 2, "{resent:?}");
        for p in &resent {
            s.handle_input(Millis(6), &puback_for(p));
        }
        drain(&mut s);
        for n in 2..4 {
            s.handle_command(
                Millis(7),
                Command::Publish(Message::new(format!("t/{n}"), "x", Qos::AtLeastOnce)),
            );
        }
        let (tx, ev, _, _) = drain(&mut s);
        assert_eq!(tx.len(), 2, "{ev:?}");
        assert!(!ev.iter().any(|e| matches!(e, Event::Error(_))), "{ev:?}");
    }

    #[test]
    fn maximum_qos_0_sends_qos1_publishes_at_qos0_and_says_so_once() {
        // [MQTT-3.2.2-11]: never send a PUBLISH above the broker's Maximum QoS.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x24, 0]);
        for n in 0..2 {
            s.handle_command(
                Millis(2),
                Command::Publish(Message::new(format!("t/{n}"), "x", Qos::AtLeastOnce)),
            );
        }
        let (tx, ev, _, _) = drain(&mut s);
        assert_eq!(tx.iter().map(|p| p[0]).collect::<Vec<_>>(), [0x30, 0x30]);
        let notes = ev
            .iter()
            .filter(|e| matches!(e, Event::Error(Error::Downgraded(_))))
            .count();
        assert_eq!(notes, 1, "{ev:?}");
        assert_eq!(s.in_flight(), 0, "QoS 0 waits for no PUBACK");
    }

    #[test]
    fn without_retain_available_the_retain_flag_is_cleared() {
        // [MQTT-3.2.2-14]
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x25, 0]);
        let mut m = Message::new("t", "x", Qos::AtMostOnce);
        m.retain = true;
        s.handle_command(Millis(2), Command::Publish(m));
        let (tx, ev, _, _) = drain(&mut s);
        assert_eq!(tx[0][0], 0x30, "no retain bit");
        assert!(
            ev.iter()
                .any(|e| matches!(e, Event::Error(Error::Downgraded(_))))
        );
    }

    #[test]
    fn the_server_keep_alive_replaces_ours() {
        // [MQTT-3.2.2-21]: the client must use the Server Keep Alive.
        let (mut s, _) = connected_v5_with(
            Options {
                keep_alive_secs: 60,
                ..Options::new("dev-1")
            },
            &[0x13, 0, 10],
        );
        let (_, _, _, deadline) = drain(&mut s);
        // Ten seconds from the last packet sent, CONNECT at t=0 [MQTT-3.1.2-23].
        assert_eq!(deadline, Some(Millis(10_000)));
        s.handle_timeout(Millis(10_000));
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx, vec![PINGREQ.to_vec()]);
    }

    #[test]
    fn an_assigned_client_identifier_is_used_on_the_next_connect() {
        let (mut s, _) = connected_v5_with(Options::new(""), &[0x12, 0, 4, b'a', b'u', b't', b'o']);
        s.handle_transport_closed(Millis(2));
        s.handle_transport_opened(Millis(3));
        let (tx, _, _, _) = drain(&mut s);
        let connect = &tx[0];
        let props_len = usize::from(connect[12]);
        let id_at = 13 + props_len;
        assert_eq!(&connect[id_at..id_at + 6], b"\x00\x04auto");
    }

    #[test]
    fn our_maximum_packet_size_is_announced_and_a_larger_packet_closes_before_it_is_buffered() {
        let mut s = Session::new(Options {
            maximum_packet_size: Some(1024),
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        let (tx, _, _, _) = drain(&mut s);
        let connect = &tx[0];
        let props = &connect[13..13 + connect[12] as usize];
        assert!(
            props.windows(5).any(|w| w == [0x27, 0, 0, 0x04, 0x00]),
            "Maximum Packet Size 1024 in CONNECT: {props:02x?}"
        );
        s.handle_input(Millis(1), &CONNACK_V5_OK);
        drain(&mut s);
        // Exactly 1024 bytes is allowed: header 3 (0x30, length 1021 in two bytes), topic
        // "a/b" (5), property length (1), payload 1015.
        let mut packet = vec![0x30, 0xFD, 0x07, 0, 3, b'a', b'/', b'b', 0];
        packet.extend(vec![b'x'; 1015]);
        assert_eq!(packet.len(), 1024);
        s.handle_input(Millis(2), &packet);
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close, "{ev:?}");
        assert!(matches!(&ev[..], [Event::Received(m)] if m.payload.len() == 1015));
        // One byte more is refused; here only its fixed header has arrived.
        s.handle_input(Millis(2), &[0x30, 0xFE, 0x07]);
        let (tx, ev, close, _) = drain(&mut s);
        assert!(close);
        assert_eq!(
            tx,
            vec![vec![0xE0, 0x01, 0x95]],
            "DISCONNECT, Packet too large"
        );
        assert!(
            ev.iter().any(|e| matches!(
                e,
                Event::Error(Error::PacketTooLarge {
                    size: 1025,
                    maximum: 1024,
                    whose: "device's",
                    ..
                })
            )),
            "{ev:?}"
        );
        assert!(s.partial.is_empty(), "nothing buffered");
    }

    #[test]
    fn the_send_queue_is_bounded_by_bytes_too() {
        let mut s = Session::new(Options {
            offline_queue_bytes: 12,
            ..Options::new("dev-1")
        });
        // Topic and payload count: 2 + 4 bytes each, so two fit in 12 and a third does not.
        for topic in ["ab", "cd", "ef"] {
            s.handle_command(
                Millis(0),
                Command::Publish(Message::new(topic, "abcd", Qos::AtMostOnce)),
            );
        }
        let (_, ev, _, _) = drain(&mut s);
        assert_eq!(
            ev,
            vec![Event::Error(Error::QueueOverflow {
                topic: "ab".into(),
                capacity: "12 bytes".into()
            })]
        );
        assert_eq!(s.queued(), 2);
        // One publish larger than the whole bound is still kept: the bound drops the oldest
        // to make room, never the newest.
        let mut s = Session::new(Options {
            offline_queue_bytes: 4,
            ..Options::new("dev-1")
        });
        s.handle_command(
            Millis(0),
            Command::Publish(Message::new("big", "abcdef", Qos::AtMostOnce)),
        );
        let (_, ev, _, _) = drain(&mut s);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(s.queued(), 1);
    }

    #[test]
    fn a_subscribe_without_suback_is_reported_late_at_the_timeout() {
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[]);
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![("a/b".into(), Qos::AtLeastOnce)]),
        );
        let (_, _, _, deadline) = drain(&mut s);
        assert_eq!(deadline, Some(Millis(10_002)));
        s.handle_timeout(Millis(10_001));
        let (_, ev, _, _) = drain(&mut s);
        assert!(ev.is_empty(), "not before the deadline: {ev:?}");
        s.handle_timeout(Millis(10_002));
        let (_, ev, _, _) = drain(&mut s);
        assert!(
            ev.iter()
                .any(|e| matches!(e, Event::Error(Error::SubackTimeout { .. }))),
            "{ev:?}"
        );
        assert_eq!(
            s.subscriptions()[0].state,
            SubscriptionState::Pending { late: true }
        );
        // A late SUBACK still counts.
        let (tx_id_hi, tx_id_lo) = (0, 1);
        s.handle_input(Millis(10_003), &[0x90, 0x04, tx_id_hi, tx_id_lo, 0, 0x01]);
        assert_eq!(
            s.subscriptions()[0].state,
            SubscriptionState::Granted(Qos::AtLeastOnce)
        );
    }

    // -- rules pinned down for the mutation score (issue 20) --

    #[test]
    fn a_refused_mqtt5_connack_is_an_error_not_a_connection() {
        // v5 §3.2.2.2: a reason code of 0x80 or above means the server refused; it closes.
        let mut s = awaiting_connack(Options::new("dev-1"));
        s.handle_input(Millis(1), &[0x20, 0x03, 0x00, 0x87, 0x00]); // 0x87 Not authorized
        let (_, ev, close, _) = drain(&mut s);
        assert!(close);
        assert!(
            matches!(&ev[..], [Event::Error(Error::ConnectRefused(why))] if why.starts_with("not authorized (this broker wants a user name")),
            "{ev:?}"
        );
        assert_ne!(s.state(), State::Connected);
    }

    #[test]
    fn an_mqtt5_publish_from_the_broker_is_received_whole() {
        let mut s = connected(ProtocolVersion::V5, 60);
        // PUBLISH QoS 0, topic "a/b", property length 0, payload "hi".
        s.handle_input(
            Millis(2),
            &[0x30, 0x08, 0, 3, b'a', b'/', b'b', 0, b'h', b'i'],
        );
        let (_, ev, _, _) = drain(&mut s);
        assert_eq!(
            ev,
            vec![Event::Received(Message::new("a/b", "hi", Qos::AtMostOnce))]
        );
    }

    #[test]
    fn a_packet_longer_than_127_bytes_has_a_two_byte_length_and_decodes_whole() {
        // [MQTT-1.5.5]: remaining length is a variable byte integer, 7 bits a byte, low first.
        let mut s = connected(ProtocolVersion::V3_1_1, 60);
        let payload = vec![b'x'; 200];
        let mut packet = vec![0x30, 0xCD, 0x01, 0, 3, b'a', b'/', b'b']; // 205 = 0x4D + 1 * 128
        packet.extend_from_slice(&payload);
        s.handle_input(Millis(2), &packet);
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close);
        assert_eq!(
            ev,
            vec![Event::Received(Message::new(
                "a/b",
                payload,
                Qos::AtMostOnce
            ))]
        );
    }

    #[test]
    fn a_disconnect_from_the_broker_says_why_and_closes() {
        let mut s = connected(ProtocolVersion::V5, 60);
        let ev = closes_on(&mut s, &[0xE0, 0x01, 0x8B]); // 0x8B Server shutting down
        assert!(
            matches!(&ev[..], [Event::Error(Error::Disconnected(why))] if why.contains("ServerShuttingDown")),
            "{ev:?}"
        );
    }

    #[test]
    fn the_brokers_reason_string_is_shown_after_the_code_cleaned_and_cut_to_a_line() {
        // v5 §3.14.2.2.3 / §3.2.2.3.9: a Reason String is for people; we show it, but it is a
        // stranger's text: no control characters, and at most 200 characters.
        let mut s = connected(ProtocolVersion::V5, 60);
        let text = "maintenance\nat\u{202E} 10:00\u{7}".as_bytes();
        let mut packet = vec![0xE0, (5 + text.len()) as u8, 0x8B, (3 + text.len()) as u8];
        packet.extend_from_slice(&[0x1F, 0, text.len() as u8]);
        packet.extend_from_slice(text);
        let ev = closes_on(&mut s, &packet);
        assert_eq!(
            ev,
            vec![Event::Error(Error::Disconnected(
                "ServerShuttingDown: the broker says \u{201c}maintenance at 10:00\u{201d}".into()
            ))]
        );
        // Nothing left once cleaned: nothing said.
        assert_eq!(
            with_reason("X".into(), Some("\u{7}\n \u{2066}".into())),
            "X"
        );

        let long = "é".repeat(250);
        let mut props = vec![0x1F];
        props.extend_from_slice(&(long.len() as u16).to_be_bytes());
        props.extend_from_slice(long.as_bytes());
        // Remaining length 507 and property length 503, each a two-byte varint.
        assert_eq!(props.len(), 503);
        let mut connack = vec![0x20, 0xFB, 0x03, 0x00, 0x87, 0xF7, 0x03];
        connack.extend_from_slice(&props);
        let mut s = awaiting_connack(Options::new("dev-1"));
        s.handle_input(Millis(1), &connack);
        let (_, ev, close, _) = drain(&mut s);
        assert!(close);
        let [Event::Error(Error::ConnectRefused(why))] = &ev[..] else {
            panic!("{ev:?}");
        };
        let said = why.split('\u{201c}').nth(1).expect("the broker's words");
        assert!(
            why.starts_with("not authorized (this broker wants"),
            "{why}"
        );
        assert_eq!(said, format!("{}…\u{201d}", "é".repeat(200)));
    }

    #[test]
    fn sending_moves_the_keep_alive_deadline_and_disconnecting_cancels_it() {
        // [MQTT-3.1.2-23]: PINGREQ is due keep-alive seconds after the last packet *sent*.
        let mut s = connected(ProtocolVersion::V5, 60);
        let (_, _, _, deadline) = drain(&mut s);
        assert_eq!(deadline, Some(Millis(60_000)));
        s.handle_command(
            Millis(30_000),
            Command::Publish(Message::new("a/b", "x", Qos::AtLeastOnce)),
        );
        let (tx, _, _, deadline) = drain(&mut s);
        // Nothing heard since CONNACK at t=1: the ping stays due then, sending or not.
        assert_eq!(deadline, Some(Millis(60_001)));
        s.handle_input(Millis(30_000), &puback_for(&tx[0]));
        let (_, _, _, deadline) = drain(&mut s);
        assert_eq!(deadline, Some(Millis(90_000)), "sent and heard at 30 s");
        s.handle_command(Millis(31_000), Command::Disconnect);
        let (_, _, close, deadline) = drain(&mut s);
        assert!(close);
        assert_eq!(deadline, None, "no PINGREQ after DISCONNECT");
    }

    #[test]
    fn an_empty_topic_name_is_refused_before_it_reaches_the_codec() {
        let mut s = connected(ProtocolVersion::V3_1_1, 60);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("", "x", Qos::AtMostOnce)),
        );
        let (tx, ev, _, _) = drain(&mut s);
        assert!(tx.is_empty());
        assert!(
            matches!(&ev[..], [Event::Error(Error::InvalidTopic { reason, .. })] if reason.contains("non-empty")),
            "{ev:?}"
        );
    }

    #[test]
    fn an_mqtt5_puback_is_reported_as_acknowledged() {
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("a/b", "x", Qos::AtLeastOnce)),
        );
        let (tx, _, _, _) = drain(&mut s);
        s.handle_input(Millis(3), &puback_for(&tx[0]));
        let (_, ev, _, _) = drain(&mut s);
        assert!(matches!(&ev[..], [Event::Acknowledged { .. }]), "{ev:?}");
    }

    #[test]
    fn a_puback_that_refuses_names_the_topic_and_the_reason() {
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new(
                "$emqx/things/b/shadow/update",
                "x",
                Qos::AtLeastOnce,
            )),
        );
        let (tx, _, _, _) = drain(&mut s);
        // v5 PUBACK with reason 0x87 (Not authorized), as an ACL-checking broker sends it.
        let mut refusal = puback_for(&tx[0]);
        refusal[1] = 0x03;
        refusal.push(0x87);
        s.handle_input(Millis(3), &refusal);
        let (_, ev, _, _) = drain(&mut s);
        match &ev[..] {
            [
                Event::Error(Error::PublishRefused { topic, reason }),
                Event::Acknowledged { .. },
            ] => {
                assert_eq!(topic, "$emqx/things/b/shadow/update");
                assert!(reason.to_lowercase().contains("authorized"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn disconnecting_without_a_connection_asks_to_close_nothing() {
        let mut s = Session::new(Options::new("dev-1"));
        s.handle_command(Millis(0), Command::Disconnect);
        let (tx, ev, close, _) = drain(&mut s);
        assert!(tx.is_empty() && ev.is_empty() && !close);
        assert_eq!(s.state(), State::AwaitingTransport);
    }

    #[test]
    fn a_session_expiry_of_zero_is_left_out_of_connect() {
        // 0 is MQTT 5's default (the session ends with the connection): nothing to say.
        let mut s = Session::new(Options {
            session_expiry_secs: 0,
            maximum_packet_size: None,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx[0][12], 0, "no properties: {:02x?}", tx[0]);
    }

    #[test]
    fn what_the_broker_allows_passes_unchanged_and_unremarked() {
        // Maximum QoS 1 and retain available: a retained QoS 1 publish goes out as it is.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x24, 1]);
        let mut m = Message::new("t", "x", Qos::AtLeastOnce);
        m.retain = true;
        s.handle_command(Millis(2), Command::Publish(m));
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("t", "y", Qos::AtMostOnce)),
        );
        let (tx, ev, _, _) = drain(&mut s);
        assert_eq!(tx[0][0], 0x33, "QoS 1 with retain");
        assert_eq!(tx[1][0], 0x30);
        assert!(ev.is_empty(), "{ev:?}");
        // Without retain available, a publish that never asked for retain is not remarked on.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x25, 0]);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("t", "y", Qos::AtMostOnce)),
        );
        let (_, ev, _, _) = drain(&mut s);
        assert!(ev.is_empty(), "{ev:?}");
    }

    #[test]
    fn a_publish_of_exactly_the_broker_maximum_is_sent() {
        // PUBLISH QoS 0 "t" + 11 bytes: 2 + 2 + 1 + 1 (property length) + 11 = 17 bytes.
        let (mut s, _) = connected_v5_with(Options::new("dev-1"), &[0x27, 0, 0, 0, 17]);
        s.handle_command(
            Millis(2),
            Command::Publish(Message::new("t", "hello world", Qos::AtMostOnce)),
        );
        let (tx, ev, _, _) = drain(&mut s);
        assert_eq!(tx.len(), 1, "{ev:?}");
        assert_eq!(tx[0].len(), 17);
    }

    #[test]
    fn unacknowledged_publishes_go_out_again_as_new_ones_when_the_broker_lost_the_session() {
        // At least once: the broker forgot them with the session, so they are sent anew (no
        // DUP) ahead of what waited, and still within its Receive Maximum and the byte bound.
        let (mut s, _) = connected_v5_with(
            Options {
                offline_queue_bytes: 7,
                ..Options::new("dev-1")
            },
            &[],
        );
        for n in 0..2 {
            s.handle_command(
                Millis(2),
                Command::Publish(Message::new(format!("t/{n}"), "x", Qos::AtLeastOnce)),
            );
        }
        drain(&mut s);
        s.handle_transport_closed(Millis(3));
        s.handle_transport_opened(Millis(4));
        drain(&mut s);
        s.handle_input(Millis(5), &connack_v5(false, &[0x21, 0, 1])); // Receive Maximum 1
        let (tx, _, _, _) = drain(&mut s);
        assert_eq!(tx.len(), 1);
        assert_eq!(tx[0][0], 0x32, "QoS 1, no DUP");
        assert_eq!(&tx[0][4..7], b"t/0");
        assert_eq!(s.queued(), 1, "t/1 waits for the window");
        // t/1 (4 bytes) waits; one more (4) is past 7 bytes: the oldest waiting goes.
        s.handle_command(
            Millis(6),
            Command::Publish(Message::new("t/2", "x", Qos::AtLeastOnce)),
        );
        let (_, ev, _, _) = drain(&mut s);
        assert!(
            matches!(&ev[..], [Event::Error(Error::QueueOverflow { topic, .. })] if topic == "t/1"),
            "{ev:?}"
        );
    }

    #[test]
    fn a_second_connack_is_a_protocol_error_not_a_new_session() {
        // [MQTT-3.2.0-2]: the server sends one CONNACK per connection.
        let mut s = connected(ProtocolVersion::V5, 60);
        let ev = closes_on(&mut s, &CONNACK_V5_OK);
        assert!(
            matches!(&ev[..], [Event::Error(Error::Protocol(why))] if why.contains("second CONNACK")),
            "{ev:?}"
        );
        assert_eq!(s.state(), State::AwaitingClose);
    }

    #[test]
    fn a_codec_refusal_of_a_packet_closes_the_connection() {
        // A SUBACK for a SUBSCRIBE never sent is a protocol error: the codec asks to close,
        // and the session does.
        let mut s = connected(ProtocolVersion::V5, 60);
        closes_on(&mut s, &[0x90, 0x04, 0, 7, 0, 0x01]);
        assert_eq!(s.state(), State::AwaitingClose);
    }

    #[test]
    fn with_manual_ack_a_qos1_publish_is_acknowledged_only_when_asked_and_not_after_a_drop() {
        for (version, connack, publish) in [
            // QoS 1 PUBLISH "a/b", packet id 7, (v5: property length 0), payload "x".
            (
                ProtocolVersion::V5,
                &CONNACK_V5_OK[..],
                &[0x32, 0x09, 0, 3, b'a', b'/', b'b', 0, 7, 0, b'x'][..],
            ),
            (
                ProtocolVersion::V3_1_1,
                &CONNACK_V311_OK[..],
                &[0x32, 0x08, 0, 3, b'a', b'/', b'b', 0, 7, b'x'][..],
            ),
        ] {
            let options = Options {
                version,
                manual_ack: true,
                ..Options::new("cloud")
            };
            let mut s = Session::new(options.clone());
            s.handle_transport_opened(Millis(0));
            s.handle_input(Millis(1), connack);
            drain(&mut s);
            s.handle_input(Millis(2), publish);
            let (tx, ev, _, _) = drain(&mut s);
            assert!(tx.is_empty(), "{version:?}: no PUBACK yet: {tx:02x?}");
            assert!(
                matches!(&ev[..], [Event::Received(m)] if m.payload == b"x"),
                "{ev:?}"
            );
            // A second one arrives before the first is handled: only the first is acknowledged.
            let mut second = publish.to_vec();
            let at = second.len() - if version == ProtocolVersion::V5 { 3 } else { 2 };
            second[at] = 8;
            s.handle_input(Millis(2), &second);
            drain(&mut s);
            s.handle_command(Millis(3), Command::Acknowledge(1));
            let (tx, _, _, _) = drain(&mut s);
            assert_eq!(tx.len(), 1, "{version:?}");
            assert_eq!(&tx[0][..4], &[0x40, 0x02, 0, 7], "{version:?}: PUBACK 7");
            s.handle_command(Millis(4), Command::Acknowledge(5));
            let (tx, _, _, _) = drain(&mut s);
            assert_eq!(tx.len(), 1, "{version:?}: only what there is");
            assert_eq!(&tx[0][..4], &[0x40, 0x02, 0, 8], "{version:?}: PUBACK 8");

            // Received, then the connection drops: no PUBACK on the next one (the broker
            // sends it again instead).
            s.handle_input(Millis(5), publish);
            drain(&mut s);
            s.handle_transport_closed(Millis(6));
            s.handle_transport_opened(Millis(7));
            s.handle_input(Millis(8), connack);
            drain(&mut s);
            s.handle_command(Millis(9), Command::Acknowledge(1));
            assert!(drain(&mut s).0.is_empty(), "{version:?}");
        }
        // Without it, as before: PUBACK at once.
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_input(
            Millis(2),
            &[0x32, 0x09, 0, 3, b'a', b'/', b'b', 0, 7, 0, b'x'],
        );
        assert_eq!(&drain(&mut s).0[0][..4], &[0x40, 0x02, 0, 7]);
    }

    #[test]
    fn packet_identifiers_are_checked_where_each_packet_carries_one() {
        // [MQTT-2.2.1-3]: non-zero packet identifiers, found after the topic in a QoS 1 PUBLISH
        // and first in PUBACK and friends; a QoS 0 PUBLISH has none to check.
        let refused = |bytes: &[u8]| {
            closes_on(&mut connected(ProtocolVersion::V5, 60), bytes)
                .iter()
                .any(|e| matches!(e, Event::Error(Error::Protocol(_))))
        };
        // QoS 1 PUBLISH "a/b", packet id 0, property length 0, payload "x".
        assert!(refused(&[
            0x32, 0x09, 0, 3, b'a', b'/', b'b', 0, 0, 0, b'x'
        ]));
        // The same in 3.1.1 (no property length): the id is the two bytes after the topic.
        let mut s = connected(ProtocolVersion::V3_1_1, 60);
        let ev = closes_on(&mut s, &[0x32, 0x08, 0, 3, b'a', b'/', b'b', 0, 0, b'x']);
        assert!(
            matches!(&ev[..], [Event::Error(Error::Protocol(_))]),
            "{ev:?}"
        );
        // PUBACK with packet id 0.
        assert!(refused(&[0x40, 0x02, 0, 0]));
        // QoS 3 does not exist [MQTT-3.3.1-4].
        assert!(refused(&[0x36, 0x07, 0, 3, b'a', b'/', b'b', 0, b'x']));
        // QoS 0 PUBLISH whose payload starts with two zero bytes: received as it is.
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_input(Millis(2), &[0x30, 0x08, 0, 3, b'a', b'/', b'b', 0, 0, 0]);
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close);
        assert_eq!(
            ev,
            vec![Event::Received(Message::new(
                "a/b",
                vec![0, 0],
                Qos::AtMostOnce
            ))]
        );
    }

    #[test]
    fn wildcards_as_whole_levels_are_accepted() {
        // [MQTT-4.7.1-2]: `#` alone or last; [MQTT-4.7.1-3]: `+` a whole level.
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_command(
            Millis(2),
            Command::Subscribe(vec![
                ("a/#".into(), Qos::AtLeastOnce),
                ("#".into(), Qos::AtLeastOnce),
                ("+/b/+".into(), Qos::AtLeastOnce),
            ]),
        );
        let (tx, ev, _, _) = drain(&mut s);
        assert!(!ev.iter().any(|e| matches!(e, Event::Error(_))), "{ev:?}");
        assert_eq!(subscribe_filters(&tx[0]), ["a/#", "#", "+/b/+"]);
        s.handle_command(
            Millis(3),
            Command::Subscribe(vec![("#/a".into(), Qos::AtLeastOnce)]),
        );
        let (_, ev, _, _) = drain(&mut s);
        assert!(
            matches!(&ev[..], [Event::Error(Error::InvalidTopic { .. })]),
            "{ev:?}"
        );
    }

    #[test]
    fn with_every_packet_id_in_use_publishes_wait_in_order_and_count_against_the_bound() {
        // A SUBSCRIBE awaiting its SUBACK holds one packet id, so after 65,534 unacknowledged
        // QoS 1 publishes none is left (an MQTT 3.1.1 broker sets no Receive Maximum): the
        // next publish waits for an id, and still counts in the queue's byte bound.
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            offline_queue_bytes: 8,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        s.handle_input(Millis(1), &CONNACK_V311_OK);
        s.handle_command(
            Millis(1),
            Command::Subscribe(vec![("a/b".into(), Qos::AtLeastOnce)]),
        );
        drain(&mut s);
        for _ in 0..u16::MAX {
            s.handle_command(
                Millis(2),
                Command::Publish(Message::new("t", "xyz", Qos::AtLeastOnce)),
            );
            while !matches!(s.poll_output(), Output::Idle { .. }) {}
        }
        assert_eq!((s.in_flight(), s.queued()), (65_534, 1));
        // 4 bytes wait; 4 more fit the 8-byte bound, and 4 more push the oldest out.
        s.handle_command(
            Millis(3),
            Command::Publish(Message::new("u", "xyz", Qos::AtLeastOnce)),
        );
        let (_, ev, _, _) = drain(&mut s);
        assert!(ev.is_empty(), "{ev:?}");
        s.handle_command(
            Millis(3),
            Command::Publish(Message::new("v", "xyz", Qos::AtLeastOnce)),
        );
        let (_, ev, _, _) = drain(&mut s);
        assert!(
            matches!(&ev[..], [Event::Error(Error::QueueOverflow { topic, .. })] if topic == "t"),
            "{ev:?}"
        );
    }
}
