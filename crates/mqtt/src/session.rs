use std::collections::VecDeque;
use std::fmt;

use mqtt_protocol_core::mqtt::{
    self,
    connection::{Event as CoreEvent, TimerKind},
    packet::{
        GenericPacket, GenericPacketTrait, Packet, ReceiveMaximum, SessionExpiryInterval, SubEntry,
        SubOpts, v3_1_1, v5_0,
    },
};

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

impl Qos {
    fn to_core(self) -> mqtt::packet::Qos {
        match self {
            Self::AtMostOnce => mqtt::packet::Qos::AtMostOnce,
            Self::AtLeastOnce => mqtt::packet::Qos::AtLeastOnce,
            Self::ExactlyOnce => mqtt::packet::Qos::ExactlyOnce,
        }
    }

    fn from_core(qos: mqtt::packet::Qos) -> Self {
        match qos {
            mqtt::packet::Qos::AtMostOnce => Self::AtMostOnce,
            mqtt::packet::Qos::AtLeastOnce => Self::AtLeastOnce,
            mqtt::packet::Qos::ExactlyOnce => Self::ExactlyOnce,
        }
    }
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
    /// How many publishes made while offline are kept; past that the oldest is dropped.
    pub offline_queue_capacity: usize,
}

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
            receive_maximum: None,
            will: None,
            no_local: false,
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
}

/// What happened, for the layer above and the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
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

/// A subscription the session remembers, to restore it when the broker has no session.
#[derive(Debug, Clone)]
struct Subscription {
    filter: String,
    qos: Qos,
    /// Granted by a SUBACK on a session the broker still has.
    granted: bool,
}

/// The MQTT client session: see the crate docs for the run loop.
pub struct Session {
    options: Options,
    conn: mqtt::Connection<mqtt::role::Client>,
    state: State,
    outputs: VecDeque<Output>,
    /// Timers mqtt-protocol-core asked for (keep-alive), as absolute deadlines so a late
    /// `handle_timeout` (a throttled background tab) fires them on the first call after.
    timers: Vec<(TimerKind, Millis)>,
    connack_deadline: Option<Millis>,
    subscriptions: Vec<Subscription>,
    /// Bytes of a packet not yet complete: packets are checked whole before the codec sees them.
    partial: Vec<u8>,
    /// SUBSCRIBE packet id → its filters, to name them when SUBACK answers.
    pending_subacks: Vec<(u16, Vec<String>)>,
    offline_queue: VecDeque<Message>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("options", &self.options)
            .field("state", &self.state)
            .field("timers", &self.timers)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session that will connect with `options` once the shell opens a transport.
    pub fn new(options: Options) -> Self {
        let version = match options.version {
            ProtocolVersion::V3_1_1 => mqtt::Version::V3_1_1,
            ProtocolVersion::V5 => mqtt::Version::V5_0,
        };
        let mut conn = mqtt::Connection::<mqtt::role::Client>::new(version);
        // PUBACK for incoming QoS 1 and the QoS 2 handshake are pure protocol duty.
        conn.set_auto_pub_response(true);
        Self {
            options,
            conn,
            state: State::AwaitingTransport,
            outputs: VecDeque::new(),
            timers: Vec::new(),
            connack_deadline: None,
            subscriptions: Vec::new(),
            partial: Vec::new(),
            pending_subacks: Vec::new(),
            offline_queue: VecDeque::new(),
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

    /// Publishes waiting for a connection.
    pub fn queued(&self) -> usize {
        self.offline_queue.len()
    }

    /// The transport is open: send CONNECT.
    pub fn handle_transport_opened(&mut self, now: Millis) {
        if self.state != State::AwaitingTransport {
            return;
        }
        match self.connect_packet() {
            Ok(packet) => {
                let events = self.conn.send(packet);
                self.absorb(now, events);
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
        self.partial.extend_from_slice(bytes);
        // Hand the codec whole packets only, each checked first: mqtt-protocol-core 0.7.9
        // panics (unwrap on its PUBACK builder) on a QoS 1 PUBLISH with packet id 0, found by
        // the mqtt_input fuzz target. A peer must never be able to crash the device.
        while self.state != State::AwaitingClose {
            let Some((len, header)) = packet_len(&self.partial) else {
                break;
            };
            let packet: Vec<u8> = self.partial.drain(..len).collect();
            if let Err(why) = check_packet(&packet, header) {
                self.partial.clear();
                self.fail(Error::Protocol(why));
                return;
            }
            let mut cursor = mqtt::common::Cursor::new(&packet[..]);
            while (cursor.position() as usize) < packet.len() && self.state != State::AwaitingClose
            {
                let events = self.conn.recv(&mut cursor);
                self.absorb(now, events);
            }
        }
        if self.partial.len() > 5
            && packet_len(&self.partial).is_none()
            && !remaining_length_ok(&self.partial)
        {
            self.partial.clear();
            self.fail(Error::Protocol(
                "malformed remaining length [MQTT-1.5.5]".to_owned(),
            ));
        }
    }

    /// The transport closed (by either side): forget the connection, keep the session.
    pub fn handle_transport_closed(&mut self, now: Millis) {
        if self.state == State::AwaitingTransport {
            return;
        }
        let events = self.conn.notify_closed();
        self.absorb(now, events);
        self.state = State::AwaitingTransport;
        self.partial.clear();
        self.timers.clear();
        self.connack_deadline = None;
        self.pending_subacks.clear();
        self.outputs.push_back(Output::Event(Event::Disconnected));
    }

    /// A deadline given by [`Output::Idle`] passed (maybe long ago).
    pub fn handle_timeout(&mut self, now: Millis) {
        if self.state == State::AwaitingConnAck && self.connack_deadline.is_some_and(|d| d <= now) {
            self.connack_deadline = None;
            self.fail(Error::ConnAckTimeout(self.options.connack_timeout_ms));
            return;
        }
        let (due, pending): (Vec<_>, Vec<_>) =
            self.timers.drain(..).partition(|&(_, at)| at <= now);
        self.timers = pending;
        for (kind, _) in due {
            let events = self.conn.notify_timer_fired(kind);
            self.absorb(now, events);
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
                    self.subscriptions.push(Subscription {
                        filter: filter.clone(),
                        qos,
                        granted: false,
                    });
                    fresh.push((filter, qos));
                }
                if self.state == State::Connected && !fresh.is_empty() {
                    self.send_subscribe(now, fresh);
                }
            }
            Command::Publish(message) => {
                if let Err(e) = validate_topic_name(&message.topic) {
                    self.outputs.push_back(Output::Event(Event::Error(e)));
                } else if self.state == State::Connected {
                    self.send_publish(now, message);
                } else {
                    self.enqueue(message);
                }
            }
            Command::Disconnect => {
                if self.state == State::Connected {
                    let packet: Packet = match self.options.version {
                        ProtocolVersion::V3_1_1 => v3_1_1::Disconnect::new().into(),
                        ProtocolVersion::V5 => v5_0::Disconnect::builder()
                            .build()
                            .map_or_else(|_| v3_1_1::Disconnect::new().into(), Into::into),
                    };
                    let events = self.conn.send(packet);
                    self.absorb(now, events);
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
                .timers
                .iter()
                .map(|&(_, at)| at)
                .chain(
                    self.connack_deadline
                        .filter(|_| self.state == State::AwaitingConnAck),
                )
                .min(),
        })
    }

    fn connect_packet(&self) -> Result<Packet, Error> {
        let o = &self.options;
        let bad = |what: &str, e: mqtt::result_code::MqttError| {
            Error::InvalidOption(format!("{what}: {e}"))
        };
        Ok(match o.version {
            ProtocolVersion::V3_1_1 => {
                let mut b = v3_1_1::Connect::builder()
                    .client_id(o.client_id.as_str())
                    .map_err(|e| bad("client id", e))?
                    .keep_alive(o.keep_alive_secs)
                    .clean_start(o.clean_start);
                if let Some(user) = &o.username {
                    b = b.user_name(user.as_str()).map_err(|e| bad("username", e))?;
                }
                if let Some(pass) = &o.password {
                    b = b
                        .password(pass.as_bytes().to_vec())
                        .map_err(|e| bad("password", e))?;
                }
                b.build().map_err(|e| bad("CONNECT", e))?.into()
            }
            ProtocolVersion::V5 => {
                let mut b = v5_0::Connect::builder()
                    .client_id(o.client_id.as_str())
                    .map_err(|e| bad("client id", e))?
                    .keep_alive(o.keep_alive_secs)
                    .clean_start(o.clean_start);
                let mut props = Vec::new();
                if o.session_expiry_secs > 0 {
                    let expiry = SessionExpiryInterval::new(o.session_expiry_secs)
                        .map_err(|e| bad("session expiry", e))?;
                    props.push(expiry.into());
                }
                if let Some(max) = o.receive_maximum {
                    let max = ReceiveMaximum::new(max).map_err(|e| bad("receive maximum", e))?;
                    props.push(max.into());
                }
                if !props.is_empty() {
                    b = b.props(props);
                }
                if let Some(w) = &o.will {
                    b = b
                        .will_message(
                            w.topic.as_str(),
                            w.payload.clone(),
                            w.qos.to_core(),
                            w.retain,
                        )
                        .map_err(|e| bad("last will", e))?;
                }
                if let Some(user) = &o.username {
                    b = b.user_name(user.as_str()).map_err(|e| bad("username", e))?;
                }
                if let Some(pass) = &o.password {
                    b = b
                        .password(pass.as_bytes().to_vec())
                        .map_err(|e| bad("password", e))?;
                }
                b.build().map_err(|e| bad("CONNECT", e))?.into()
            }
        })
    }

    fn send_subscribe(&mut self, now: Millis, filters: Vec<(String, Qos)>) {
        let packet_id = match self.conn.acquire_packet_id() {
            Ok(id) => id,
            Err(e) => {
                return self.fail(Error::Protocol(format!("no packet id for SUBSCRIBE: {e}")));
            }
        };
        let entries: Result<Vec<SubEntry>, _> = filters
            .iter()
            .map(|(f, q)| {
                let no_local = self.options.no_local && self.options.version == ProtocolVersion::V5;
                SubEntry::new(
                    f.as_str(),
                    SubOpts::new().set_qos(q.to_core()).set_nl(no_local),
                )
            })
            .collect();
        let built: Result<Packet, _> = entries.and_then(|entries| match self.options.version {
            ProtocolVersion::V3_1_1 => v3_1_1::Subscribe::builder()
                .packet_id(packet_id)
                .entries(entries)
                .build()
                .map(Into::into),
            ProtocolVersion::V5 => v5_0::Subscribe::builder()
                .packet_id(packet_id)
                .entries(entries)
                .build()
                .map(Into::into),
        });
        match built {
            Ok(packet) => {
                self.pending_subacks
                    .push((packet_id, filters.into_iter().map(|(f, _)| f).collect()));
                let events = self.conn.send(packet);
                self.absorb(now, events);
            }
            Err(e) => {
                // Filters were validated, so this is our bug, not the user's: report, go on.
                let _ = self.conn.release_packet_id(packet_id);
                self.outputs
                    .push_back(Output::Event(Event::Error(Error::Protocol(format!(
                        "could not build SUBSCRIBE: {e}"
                    )))));
            }
        }
    }

    fn send_publish(&mut self, now: Millis, message: Message) {
        let packet_id = if message.qos == Qos::AtMostOnce {
            None
        } else {
            match self.conn.acquire_packet_id() {
                Ok(id) => Some(id),
                Err(_) => {
                    // All 65535 ids in flight: hold it until acks free some.
                    self.enqueue(message);
                    return;
                }
            }
        };
        let built: Result<Packet, _> = match self.options.version {
            ProtocolVersion::V3_1_1 => {
                let b = v3_1_1::Publish::builder()
                    .topic_name(message.topic.as_str())
                    .map(|b| b.qos(message.qos.to_core()).retain(message.retain))
                    .map(|b| b.payload(message.payload.clone()));
                b.and_then(|b| match packet_id {
                    Some(id) => b.packet_id(id).build(),
                    None => b.build(),
                })
                .map(Into::into)
            }
            ProtocolVersion::V5 => {
                let b = v5_0::Publish::builder()
                    .topic_name(message.topic.as_str())
                    .map(|b| b.qos(message.qos.to_core()).retain(message.retain))
                    .map(|b| b.payload(message.payload.clone()));
                b.and_then(|b| match packet_id {
                    Some(id) => b.packet_id(id).build(),
                    None => b.build(),
                })
                .map(Into::into)
            }
        };
        match built {
            Ok(packet) => {
                let events = self.conn.send(packet);
                self.absorb(now, events);
            }
            Err(e) => {
                if let Some(id) = packet_id {
                    let _ = self.conn.release_packet_id(id);
                }
                self.outputs
                    .push_back(Output::Event(Event::Error(Error::InvalidTopic {
                        topic: message.topic,
                        reason: e.to_string(),
                    })));
            }
        }
    }

    fn enqueue(&mut self, message: Message) {
        let capacity = self.options.offline_queue_capacity;
        // Drop-oldest: for device state the newest report is the one that matters.
        while self.offline_queue.len() >= capacity.max(1) {
            if let Some(dropped) = self.offline_queue.pop_front() {
                self.outputs
                    .push_back(Output::Event(Event::Error(Error::QueueOverflow {
                        topic: dropped.topic,
                        capacity,
                    })));
            }
        }
        self.offline_queue.push_back(message);
    }

    /// A fatal error: report it and ask for the transport to close.
    fn fail(&mut self, error: Error) {
        self.outputs.push_back(Output::Event(Event::Error(error)));
        if self.state != State::AwaitingTransport {
            self.state = State::AwaitingClose;
            self.outputs.push_back(Output::Close);
        }
    }

    fn on_connected(&mut self, now: Millis, session_present: bool) {
        self.state = State::Connected;
        self.connack_deadline = None;
        self.outputs
            .push_back(Output::Event(Event::Connected { session_present }));
        if !session_present {
            for s in &mut self.subscriptions {
                s.granted = false;
            }
        }
        let restore: Vec<(String, Qos)> = self
            .subscriptions
            .iter()
            .filter(|s| !s.granted)
            .map(|s| (s.filter.clone(), s.qos))
            .collect();
        if !restore.is_empty() {
            self.send_subscribe(now, restore);
        }
        while self.state == State::Connected {
            let Some(message) = self.offline_queue.pop_front() else {
                break;
            };
            self.send_publish(now, message);
        }
    }

    fn on_suback(&mut self, packet_id: u16, results: Vec<Result<Qos, String>>) {
        let Some(pos) = self
            .pending_subacks
            .iter()
            .position(|(id, _)| *id == packet_id)
        else {
            return;
        };
        let (_, filters) = self.pending_subacks.swap_remove(pos);
        for (filter, result) in filters.into_iter().zip(results) {
            let event = match result {
                Ok(granted) => {
                    if let Some(s) = self.subscriptions.iter_mut().find(|s| s.filter == filter) {
                        s.granted = true;
                    }
                    Event::Subscribed { filter, granted }
                }
                Err(reason) => {
                    self.subscriptions.retain(|s| s.filter != filter);
                    Event::Error(Error::SubscribeRefused { filter, reason })
                }
            };
            self.outputs.push_back(Output::Event(event));
        }
    }

    /// Turns mqtt-protocol-core's requests and notifications into our outputs.
    fn absorb(&mut self, now: Millis, events: Vec<CoreEvent>) {
        for event in events {
            match event {
                CoreEvent::RequestSendPacket { packet, .. } => {
                    self.outputs
                        .push_back(Output::Transmit(packet.to_continuous_buffer()));
                }
                CoreEvent::NotifyPacketReceived(packet) => self.on_packet(now, packet),
                CoreEvent::NotifyPacketIdReleased(_) => {}
                CoreEvent::RequestTimerReset { kind, duration_ms } => {
                    self.timers.retain(|&(k, _)| k != kind);
                    self.timers.push((kind, now + duration_ms));
                }
                CoreEvent::RequestTimerCancel(kind) => self.timers.retain(|&(k, _)| k != kind),
                CoreEvent::NotifyError(e) => {
                    self.outputs
                        .push_back(Output::Event(Event::Error(Error::Protocol(e.to_string()))));
                }
                CoreEvent::RequestClose => {
                    if self.state != State::AwaitingClose {
                        self.state = State::AwaitingClose;
                        self.outputs.push_back(Output::Close);
                    }
                }
            }
        }
    }

    fn on_packet(&mut self, now: Millis, packet: GenericPacket<u16>) {
        match packet {
            // [MQTT-3.2.2-3] / v5 3.2.2.2: session present tells us whether to resubscribe.
            Packet::V3_1_1Connack(p) if p.return_code().is_success() => {
                self.on_connected(now, p.session_present());
            }
            Packet::V3_1_1Connack(p) => {
                self.fail(Error::ConnectRefused(p.return_code().to_string()))
            }
            Packet::V5_0Connack(p)
                if p.reason_code() == mqtt::result_code::ConnectReasonCode::Success =>
            {
                self.on_connected(now, p.session_present());
            }
            Packet::V5_0Connack(p) => self.fail(Error::ConnectRefused(p.reason_code().to_string())),
            Packet::V3_1_1Suback(p) => {
                let results = p
                    .return_codes()
                    .iter()
                    .map(|rc| match rc {
                        mqtt::result_code::SubackReturnCode::Failure => Err(rc.to_string()),
                        mqtt::result_code::SubackReturnCode::SuccessMaximumQos0 => {
                            Ok(Qos::AtMostOnce)
                        }
                        mqtt::result_code::SubackReturnCode::SuccessMaximumQos1 => {
                            Ok(Qos::AtLeastOnce)
                        }
                        mqtt::result_code::SubackReturnCode::SuccessMaximumQos2 => {
                            Ok(Qos::ExactlyOnce)
                        }
                    })
                    .collect();
                self.on_suback(p.packet_id(), results);
            }
            Packet::V5_0Suback(p) => {
                use mqtt::result_code::SubackReasonCode as R;
                let results = p
                    .reason_codes()
                    .iter()
                    .map(|rc| match rc {
                        R::GrantedQos0 => Ok(Qos::AtMostOnce),
                        R::GrantedQos1 => Ok(Qos::AtLeastOnce),
                        R::GrantedQos2 => Ok(Qos::ExactlyOnce),
                        other => Err(other.to_string()),
                    })
                    .collect();
                self.on_suback(p.packet_id(), results);
            }
            Packet::V3_1_1Publish(p) => {
                self.outputs
                    .push_back(Output::Event(Event::Received(Message {
                        topic: p.topic_name().to_owned(),
                        payload: p.payload().as_slice().to_vec(),
                        qos: Qos::from_core(p.qos()),
                        retain: p.retain(),
                    })))
            }
            Packet::V5_0Publish(p) => {
                self.outputs
                    .push_back(Output::Event(Event::Received(Message {
                        topic: p.topic_name().to_owned(),
                        payload: p.payload().as_slice().to_vec(),
                        qos: Qos::from_core(p.qos()),
                        retain: p.retain(),
                    })))
            }
            Packet::V3_1_1Puback(p) => self.outputs.push_back(Output::Event(Event::Acknowledged {
                packet_id: p.packet_id(),
            })),
            Packet::V5_0Puback(p) => self.outputs.push_back(Output::Event(Event::Acknowledged {
                packet_id: p.packet_id(),
            })),
            Packet::V5_0Disconnect(p) => {
                let reason = p
                    .reason_code()
                    .map_or_else(|| "normal disconnection".to_owned(), |rc| rc.to_string());
                self.fail(Error::Disconnected(reason));
            }
            // PINGRESP, UNSUBACK, PUBREC/PUBREL/PUBCOMP are handled inside mqtt-protocol-core.
            _ => {}
        }
    }
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

/// Checks a whole packet (fixed header `header` bytes long) for what the codec would
/// otherwise trip over.
fn check_packet(packet: &[u8], header: usize) -> Result<(), String> {
    let body = &packet[header..];
    let kind = packet[0] >> 4;
    let packet_id = |at: usize| {
        body.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
    };
    let id = match kind {
        // PUBLISH: QoS 1 and 2 carry a packet id after the topic name.
        3 => match (packet[0] >> 1) & 0x03 {
            0 => return Ok(()),
            3 => return Err("PUBLISH with QoS 3 [MQTT-3.3.1-4]".to_owned()),
            _ => {
                let topic_len = packet_id(0).map(usize::from);
                topic_len.and_then(|l| packet_id(2 + l))
            }
        },
        // PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK start with the packet id.
        4..=7 | 9 | 11 => packet_id(0),
        _ => return Ok(()),
    };
    match id {
        Some(0) => Err("packet identifier 0 is not allowed [MQTT-2.2.1-3]".to_owned()),
        Some(_) => Ok(()),
        None => Err("packet too short for its packet identifier".to_owned()),
    }
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

/// [MQTT-4.7.3-1] non-empty; [MQTT-3.3.2-2] no wildcards in a topic name.
fn validate_topic_name(topic: &str) -> Result<(), Error> {
    if topic.is_empty() || topic.contains(['+', '#']) {
        return Err(Error::InvalidTopic {
            topic: topic.to_owned(),
            reason: "a topic name must be non-empty and contain no + or #".to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
        let mut s = Session::new(Options::new("dev-1"));
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
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
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
        let mut bytes = CONNACK_V311_OK.to_vec();
        bytes.extend(publish_v311("a/b", b"one"));
        bytes.extend(publish_v311("a/c", b"two"));
        s.handle_input(Millis(1), &bytes);
        let (_, ev, close, _) = drain(&mut s);
        assert!(!close);
        assert_eq!(
            ev,
            vec![
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
        s.handle_input(Millis(5), &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        let (_, ev, close, _) = drain(&mut s);
        assert!(close, "{ev:?}");
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
        // Found by the mqtt_input fuzz target (mqtt-protocol-core unwraps a failed PUBACK build).
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
        s.handle_input(Millis(2), &[0x40, 0x02, 0x00, 0x00]); // PUBACK for packet id 0
        let (_, ev, close, _) = drain(&mut s);
        assert!(close, "{ev:?}");
    }

    #[test]
    fn a_remaining_length_that_never_ends_is_malformed() {
        let mut s = connected(ProtocolVersion::V5, 60);
        s.handle_input(Millis(2), &[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        let (_, ev, close, _) = drain(&mut s);
        assert!(close, "{ev:?}");
        assert!(
            matches!(&ev[..], [Event::Error(Error::Protocol(_))]),
            "{ev:?}"
        );
    }

    #[test]
    fn refused_connack_is_reported_with_its_reason() {
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
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
        let mut s = Session::new(Options::new("dev-1"));
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
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
        assert_eq!(
            ev,
            vec![Event::Subscribed {
                filter: "$emqx/things/t1/shadow/update/delta".into(),
                granted: Qos::AtLeastOnce
            }]
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
                capacity: 2
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
        // maximum (u16). No 0x22 Topic Alias Maximum: aliases stay off.
        let props = &connect[13..13 + connect[12] as usize];
        assert_eq!(props, &[0x11, 0, 0, 0x0E, 0x10, 0x21, 0, 20]);
    }

    #[test]
    fn an_unacknowledged_qos1_publish_is_resent_with_dup_when_the_session_survives() {
        let mut s = Session::new(Options {
            version: ProtocolVersion::V3_1_1,
            ..Options::new("dev-1")
        });
        s.handle_transport_opened(Millis(0));
        drain(&mut s);
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
    fn no_local_sets_the_subscription_option_bit_on_mqtt5_only() {
        for (version, connack, expected) in [
            (ProtocolVersion::V5, &CONNACK_V5_OK[..], 0x05u8), // QoS 1 | No Local
            (ProtocolVersion::V3_1_1, &CONNACK_V311_OK[..], 0x01u8), // QoS 1 only
        ] {
            let mut s = Session::new(Options {
                version,
                no_local: true,
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
                "{version:?}: {:02x?}",
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
    }
}
