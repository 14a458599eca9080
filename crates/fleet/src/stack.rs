//! The whole device, composed once: a [`Device`] over its link to the cloud — an MQTT
//! [`Session`] (with reconnect backoff and the Fleets startup shadow GET) or the HTTPS
//! [`HttpsLink`]. Every runner (the browser's WebSocket and fetch, native tests) only moves
//! bytes, requests and timers; every decision is made here, on simulated time in the tests.
//!
//! ```text
//!   transport bytes ─┐                         ┌─▶ Open / Transmit / Close (the transport)
//!   HTTP answers ────┤                         ├─▶ Request (fetch)
//!   user intent ─────┼─▶ DeviceStack::handle_* ┼─▶ Event (the UI)
//!   timer ───────────┘     Session|HttpsLink   └─▶ Idle { deadline } (one timer)
//!                          ⇅ Device
//! ```
//!
//! One clock: every `now` is the runner's monotonic time. The wall clock enters as a value
//! ([`DeviceStack::handle_wall_clock`]); the device and the HTTPS link, which stamp what they
//! send with it, see `now + offset`, and their deadlines come back on the monotonic clock.
//!
//! The startup flow (Fleets docs, "Device Shadow Sync"): connect → subscribe → `GET
//! /api/v1/thing-datas/{name}/shadow` → apply a non-empty delta → report. An MQTT stack makes
//! the GET when it was given an API ([`MqttLink::api`]); without one it relies on the broker
//! queueing the delta for its persistent session, and says so once.

use std::collections::VecDeque;

use thingsim_mqtt::{
    Backoff, Command, Event, Message, Millis, Options, Output, Session, State, SubscriptionState,
};

use crate::api::Route;
use crate::device::{Device, DeviceEvent, DeviceOutput, UserCommand};
use crate::https::{HttpRequest, HttpsLink, LinkEvent, LinkOutput, parse_shadow};
use crate::shadow::cloud::ShadowDocument;

/// The first reconnect delay and the longest (ms); jitter halves each at random.
const RECONNECT_MS: (u64, u64) = (1_000, 30_000);

/// More rounds between the device and its link for one input than any real exchange needs.
const MAX_ROUNDS: u32 = 10_000;

/// An HTTP answer: `Ok((status, body))`, or `Err(reason)` when none came.
pub type HttpAnswer = Result<(u16, Vec<u8>), String>;

/// Connection status as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Opening the transport and waiting for CONNACK (or the first API answer).
    Connecting,
    /// Connected: CONNACK accepted, or the API answers.
    Connected,
    /// Lost or failed; the next attempt starts after `in_ms`.
    Reconnecting {
        /// Delay before the next attempt.
        in_ms: u64,
        /// Why the last attempt ended, when known.
        last_error: Option<String>,
    },
    /// Stopped on request.
    Offline,
}

/// One line of HTTP traffic for the log: the credentials never appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpExchange {
    /// Request (true) or answer.
    pub outgoing: bool,
    /// `POST /api/v1/…` (answers: `200 POST /api/v1/… in 12 ms`).
    pub line: String,
    /// Body as text.
    pub body: String,
}

impl HttpExchange {
    /// A request as it leaves (the runner adds the Authorization header).
    pub fn request(request: &HttpRequest) -> Self {
        Self {
            outgoing: true,
            line: format!("{} {} (auth: Basic ••••)", request.method, request.path),
            body: request
                .body
                .as_ref()
                .map(crate::json::text)
                .unwrap_or_default(),
        }
    }

    /// Its answer `ms` later, or why none came.
    pub fn response(request: &HttpRequest, answer: &HttpAnswer, ms: u64) -> Self {
        let (line, body) = match answer {
            Ok((status, body)) => (
                format!("{status} {} {} in {ms} ms", request.method, request.path),
                String::from_utf8_lossy(body).into_owned(),
            ),
            Err(e) => (
                format!("failed {} {} after {ms} ms", request.method, request.path),
                e.clone(),
            ),
        };
        Self {
            outgoing: false,
            line,
            body,
        }
    }
}

/// What happened, for the UI and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum StackEvent {
    /// The status changed.
    Status(Status),
    /// The session reported something (a message, an error, a grant).
    Mqtt(Event),
    /// A publish was handed to the session (sent now or queued while offline).
    Sent(Message),
    /// The device reported something.
    Device(DeviceEvent),
    /// The cloud's shadow document, as a GET returned it.
    Document(ShadowDocument),
    /// A request or its answer.
    Http(HttpExchange),
    /// An HTTPS device polled its shadow.
    Polled {
        /// When (wall clock).
        at: Millis,
        /// How often it polls while all is well.
        poll_ms: u64,
    },
    /// The cloud refused something, with why (the device keeps running).
    Refused {
        /// The request.
        source: String,
        /// Why.
        reason: String,
    },
    /// Something a person should know about how the device syncs.
    Note {
        /// What it concerns.
        source: String,
        /// The words.
        text: String,
    },
}

/// What the runner has to do next. Drain with [`DeviceStack::poll_output`] until `Idle`.
#[derive(Debug, Clone, PartialEq)]
pub enum StackOutput {
    /// Open a transport to the broker; answer with `handle_transport_opened` or `…_closed`.
    Open,
    /// Send these bytes as one binary WebSocket message.
    Transmit(Vec<u8>),
    /// Drop the transport; whatever it still says is stale.
    Close,
    /// Send this request to the API (the runner adds base URL and credentials) and hand the
    /// answer to [`DeviceStack::handle_response`].
    Request(HttpRequest),
    /// Tell the UI.
    Event(StackEvent),
    /// Stopped on request: the runner may end.
    Stopped,
    /// Nothing more until input or `deadline` (monotonic).
    Idle {
        /// When to call [`DeviceStack::handle_timeout`].
        deadline: Option<Millis>,
    },
}

/// An MQTT link's settings.
#[derive(Debug, Clone)]
pub struct MqttLink {
    /// The session's options.
    pub options: Options,
    /// Whether an API for the startup shadow GET is there (the runner knows its URL and
    /// credentials).
    pub api: bool,
}

#[derive(Debug)]
struct Mqtt {
    session: Session,
    backoff: Backoff,
    /// A transport is open (or opening).
    transport: bool,
    /// When to open the next transport.
    reopen_at: Option<Millis>,
    last_error: Option<String>,
    api: bool,
    /// Make the startup GET once the subscriptions are answered.
    startup_wanted: bool,
    said_no_api: bool,
}

#[derive(Debug)]
enum Link {
    Mqtt(Box<Mqtt>),
    Https(Box<HttpsLink>),
}

/// The composed device (see the module docs).
#[derive(Debug)]
pub struct DeviceStack {
    link: Link,
    device: Option<Device>,
    /// Wall clock minus monotonic clock.
    offset: i128,
    /// Requests in flight: what was asked, and when (monotonic). A few at most: a Vec is
    /// smaller in the page than a map.
    requests: Vec<(HttpRequest, Millis)>,
    /// Ids for the stack's own requests (the startup GET), above the HTTPS link's.
    next_id: u64,
    stopping: bool,
    stopped: bool,
    outputs: VecDeque<StackOutput>,
    /// The last `Idle` deadlines of the device and of the link (wall clock; the session's and
    /// the reopen timer are monotonic and read where they live).
    device_deadline: Option<Millis>,
    link_deadline: Option<Millis>,
    session_deadline: Option<Millis>,
}

impl DeviceStack {
    /// A device over MQTT; `device: None` makes a bare MQTT client (a test's peer). `epoch` is
    /// the wall clock at `now`; `seed` feeds the reconnect jitter.
    pub fn mqtt(
        now: Millis,
        epoch: Millis,
        device: Option<Device>,
        link: MqttLink,
        seed: u64,
    ) -> Self {
        let mut options = link.options;
        // A device subscribes to its own `shadow/update` (for the cloud's documents) and would
        // get every report it sends back: one more message in, and one PUBACK out, for each.
        // MQTT 5 No Local spares both; nothing a device subscribes to needs its own publishes.
        options.no_local |= device.is_some();
        let mut stack = Self::new(
            now,
            epoch,
            device,
            Link::Mqtt(Box::new(Mqtt {
                session: Session::new(options),
                backoff: Backoff::new(RECONNECT_MS.0, RECONNECT_MS.1, seed),
                transport: false,
                reopen_at: None,
                last_error: None,
                api: link.api,
                startup_wanted: false,
                said_no_api: false,
            })),
        );
        stack.open();
        stack
    }

    /// A device over the HTTPS ThingDatas API, polling every `poll_ms`.
    pub fn https(now: Millis, epoch: Millis, device: Device, poll_ms: u64, seed: u64) -> Self {
        let thing = device.thing().clone();
        let mut stack = Self::new(
            now,
            epoch,
            Some(device),
            Link::Https(Box::new(HttpsLink::new(epoch, thing, poll_ms, seed))),
        );
        stack.emit(StackEvent::Status(Status::Connecting));
        // The first poll goes out at once, not after the first interval.
        stack.handle_timeout(now);
        stack
    }

    fn new(now: Millis, epoch: Millis, device: Option<Device>, link: Link) -> Self {
        Self {
            link,
            device,
            offset: i128::from(epoch.0) - i128::from(now.0),
            requests: Vec::new(),
            next_id: 1 << 48,
            stopping: false,
            stopped: false,
            outputs: VecDeque::new(),
            device_deadline: None,
            link_deadline: None,
            session_deadline: None,
        }
    }

    /// The device, when there is one.
    pub fn device(&self) -> Option<&Device> {
        self.device.as_ref()
    }

    /// The MQTT session, when the link is MQTT.
    pub fn session(&self) -> Option<&Session> {
        match &self.link {
            Link::Mqtt(m) => Some(&m.session),
            Link::Https(_) => None,
        }
    }

    /// The wall clock at monotonic `now`.
    pub fn epoch(&self, now: Millis) -> Millis {
        let at = i128::from(now.0) + self.offset;
        Millis(u64::try_from(at.max(0)).unwrap_or(u64::MAX))
    }

    fn monotonic(&self, epoch: Millis) -> Millis {
        let at = i128::from(epoch.0) - self.offset;
        Millis(u64::try_from(at.max(0)).unwrap_or(u64::MAX))
    }

    fn emit(&mut self, event: StackEvent) {
        self.outputs.push_back(StackOutput::Event(event));
    }

    /// The wall clock reads `epoch` at `now` (it may have jumped: a sleep, an NTP step).
    pub fn handle_wall_clock(&mut self, now: Millis, epoch: Millis) {
        self.offset = i128::from(epoch.0) - i128::from(now.0);
    }

    /// The transport asked for by [`StackOutput::Open`] is open.
    pub fn handle_transport_opened(&mut self, now: Millis) {
        if let Link::Mqtt(m) = &mut self.link {
            m.session.handle_transport_opened(now);
        }
        self.pump(now);
    }

    /// Bytes arrived on the transport.
    pub fn handle_transport_data(&mut self, now: Millis, bytes: &[u8]) {
        if let Link::Mqtt(m) = &mut self.link {
            m.session.handle_input(now, bytes);
        }
        self.pump(now);
    }

    /// The transport closed by itself (`why`, when the runner can tell), or could not open.
    pub fn handle_transport_closed(&mut self, now: Millis, why: Option<String>) {
        if let Link::Mqtt(m) = &mut self.link {
            if !m.transport {
                return;
            }
            m.transport = false;
            // A reason the session or a failed send gave first stays: it is the better one.
            if let Some(why) = why {
                m.last_error.get_or_insert(why);
            }
            m.session.handle_transport_closed(now);
        }
        self.pump(now);
    }

    /// Sending on the transport failed (it will close; this is why).
    pub fn handle_transport_error(&mut self, now: Millis, error: String) {
        if let Link::Mqtt(m) = &mut self.link {
            m.last_error = Some(error);
        }
        self.pump(now);
    }

    /// The answer to request `id`.
    pub fn handle_response(&mut self, now: Millis, id: u64, answer: HttpAnswer) {
        let Some(at) = self.requests.iter().position(|(r, _)| r.id == id) else {
            return;
        };
        let (request, sent) = self.requests.swap_remove(at);
        let ms = now.saturating_since(sent);
        self.emit(StackEvent::Http(HttpExchange::response(
            &request, &answer, ms,
        )));
        let epoch = self.epoch(now);
        match &mut self.link {
            Link::Https(link) => link.handle_response(epoch, id, answer),
            Link::Mqtt(_) => self.handle_startup_answer(epoch, answer),
        }
        self.pump(now);
    }

    fn handle_startup_answer(&mut self, epoch: Millis, answer: HttpAnswer) {
        let source = "startup shadow GET".to_owned();
        match answer {
            Ok((200, body)) => match parse_shadow(&body, epoch) {
                Ok(document) => {
                    if let Some(device) = self.device.as_mut() {
                        device.handle_shadow_document(&document);
                    }
                    self.emit(StackEvent::Document(document));
                }
                Err(reason) => self.emit(StackEvent::Refused { source, reason }),
            },
            Ok((404, _)) => self.emit(StackEvent::Note {
                source,
                text: "the cloud does not know this thing yet; its first report registers it"
                    .to_owned(),
            }),
            Ok((status, body)) => {
                let reason = match status {
                    401 | 403 => format!(
                        "{status}: the API key and secret were refused; the device still hears \
                         deltas over MQTT"
                    ),
                    _ => format!("{status} {}", String::from_utf8_lossy(&body)),
                };
                self.emit(StackEvent::Refused { source, reason });
            }
            Err(reason) => self.emit(StackEvent::Refused { source, reason }),
        }
    }

    /// User intent for the device (ignored without one).
    pub fn handle_user(&mut self, now: Millis, command: UserCommand) {
        let epoch = self.epoch(now);
        if let Some(device) = self.device.as_mut() {
            device.handle_command(epoch, command);
        }
        self.pump(now);
    }

    /// A command straight to the MQTT session (a bare client's subscribe or publish).
    pub fn handle_mqtt_command(&mut self, now: Millis, command: Command) {
        if let Link::Mqtt(m) = &mut self.link {
            if let Command::Publish(message) = &command {
                self.outputs
                    .push_back(StackOutput::Event(StackEvent::Sent(message.clone())));
            }
            m.session.handle_command(now, command);
        }
        self.pump(now);
    }

    /// A timer armed for an `Idle` deadline fired (late is fine: what is due runs).
    pub fn handle_timeout(&mut self, now: Millis) {
        let epoch = self.epoch(now);
        match &mut self.link {
            Link::Mqtt(m) => {
                m.session.handle_timeout(now);
                if m.reopen_at.is_some_and(|at| at <= now) {
                    m.reopen_at = None;
                    self.open();
                }
            }
            Link::Https(link) => link.handle_timeout(epoch),
        }
        if let Some(device) = self.device.as_mut() {
            device.handle_timeout(epoch);
        }
        self.pump(now);
    }

    /// Drop the connection as a network failure would; the stack reconnects with backoff.
    pub fn handle_drop(&mut self, now: Millis) {
        if let Link::Mqtt(m) = &mut self.link
            && m.transport
        {
            m.transport = false;
            m.last_error = Some("the connection was dropped by hand".to_owned());
            self.outputs.push_back(StackOutput::Close);
            m.session.handle_transport_closed(now);
        }
        self.pump(now);
    }

    /// The page is visible again after a background tab or sleep: reconnect now if waiting,
    /// else re-sync (report, ask for jobs, and GET the shadow again where there is an API).
    pub fn handle_resume(&mut self, now: Millis) {
        let epoch = self.epoch(now);
        match &mut self.link {
            Link::Mqtt(m) if m.reopen_at.is_some() && !self.stopping => {
                m.reopen_at = None;
                m.backoff.reset();
                self.open();
            }
            Link::Mqtt(m) => {
                m.startup_wanted = m.api && m.session.state() == State::Connected;
                if let Some(device) = self.device.as_mut() {
                    device.handle_command(epoch, UserCommand::Resync);
                }
            }
            Link::Https(link) => link.poll_now(epoch),
        }
        self.pump(now);
    }

    /// Disconnect cleanly and stop.
    pub fn handle_stop(&mut self, now: Millis) {
        self.stopping = true;
        match &mut self.link {
            Link::Mqtt(m) => {
                m.reopen_at = None;
                m.session.handle_command(now, Command::Disconnect);
            }
            Link::Https(_) => self.finish(),
        }
        self.pump(now);
    }

    fn finish(&mut self) {
        if !self.stopped {
            self.stopped = true;
            self.emit(StackEvent::Status(Status::Offline));
            self.outputs.push_back(StackOutput::Stopped);
        }
    }

    fn open(&mut self) {
        if let Link::Mqtt(m) = &mut self.link {
            m.transport = true;
            self.outputs.push_back(StackOutput::Open);
            self.outputs
                .push_back(StackOutput::Event(StackEvent::Status(Status::Connecting)));
        }
    }

    /// What to do next.
    pub fn poll_output(&mut self) -> StackOutput {
        if let Some(output) = self.outputs.pop_front() {
            return output;
        }
        StackOutput::Idle {
            deadline: if self.stopped { None } else { self.deadline() },
        }
    }

    fn deadline(&self) -> Option<Millis> {
        let reopen = match &self.link {
            Link::Mqtt(m) => m.reopen_at,
            Link::Https(_) => None,
        };
        let wall = [self.device_deadline, self.link_deadline]
            .into_iter()
            .flatten()
            .min()
            .map(|at| self.monotonic(at));
        [wall, self.session_deadline, reopen]
            .into_iter()
            .flatten()
            .min()
    }

    /// Passes outputs between the device and its link until neither has anything to say.
    fn pump(&mut self, now: Millis) {
        let epoch = self.epoch(now);
        // The device and its link answer each other a handful of times per input; a
        // conversation that never ends is a bug, and a hung page would hide it.
        let quiet = (0..MAX_ROUNDS).any(|_| !match &mut self.link {
            Link::Mqtt(_) => self.pump_mqtt(now, epoch),
            Link::Https(_) => self.pump_https(now, epoch),
        });
        debug_assert!(quiet, "the device and its link never went quiet");
        let Link::Mqtt(m) = &mut self.link else {
            return;
        };
        let startup = m.startup_wanted && subscriptions_answered(&m.session);
        if startup {
            m.startup_wanted = false;
        }
        let mut finish = false;
        if !m.transport && m.session.state() == State::AwaitingTransport && m.reopen_at.is_none() {
            if self.stopping {
                finish = true;
            } else {
                let in_ms = m.backoff.next_delay();
                m.reopen_at = Some(Millis(now.0.saturating_add(in_ms)));
                let last_error = m.last_error.take();
                self.emit(StackEvent::Status(Status::Reconnecting {
                    in_ms,
                    last_error,
                }));
            }
        }
        if finish {
            self.finish();
        }
        if startup && let Some(device) = &self.device {
            let path = Route::DeviceShadow(device.thing().as_str().to_owned()).path();
            let id = self.next_id;
            self.next_id += 1;
            self.request(
                now,
                HttpRequest {
                    id,
                    method: "GET",
                    path,
                    body: None,
                },
            );
        }
    }

    fn request(&mut self, now: Millis, request: HttpRequest) {
        self.emit(StackEvent::Http(HttpExchange::request(&request)));
        self.requests.push((request.clone(), now));
        self.outputs.push_back(StackOutput::Request(request));
    }

    /// One round between the session and the device; true when something passed between them.
    fn pump_mqtt(&mut self, now: Millis, epoch: Millis) -> bool {
        let Link::Mqtt(m) = &mut self.link else {
            return false;
        };
        let mut for_device = Vec::new();
        loop {
            match m.session.poll_output() {
                Output::Transmit(bytes) => {
                    if m.transport {
                        self.outputs.push_back(StackOutput::Transmit(bytes));
                    }
                }
                Output::Event(event) => {
                    match &event {
                        Event::Connected { .. } => {
                            m.backoff.reset();
                            m.last_error = None;
                            m.startup_wanted = m.api && self.device.is_some();
                            self.outputs
                                .push_back(StackOutput::Event(StackEvent::Status(
                                    Status::Connected,
                                )));
                            if !m.api && !m.said_no_api && self.device.is_some() {
                                m.said_no_api = true;
                                let text = if m.session.options().clean_start {
                                    "no Fleets API given, and a clean session: a desired state \
                                     set while the device was away does not reach it until it \
                                     changes again"
                                } else {
                                    "no Fleets API given: a desired state set while the device \
                                     was away reaches it only as the delta the broker queued for \
                                     its persistent session"
                                };
                                self.outputs.push_back(StackOutput::Event(StackEvent::Note {
                                    source: "startup".to_owned(),
                                    text: text.to_owned(),
                                }));
                            }
                        }
                        Event::Error(e) => m.last_error = Some(e.to_string()),
                        _ => {}
                    }
                    if self.device.is_some() {
                        for_device.push(event.clone());
                    }
                    self.outputs
                        .push_back(StackOutput::Event(StackEvent::Mqtt(event)));
                }
                Output::Close => {
                    if m.transport {
                        m.transport = false;
                        self.outputs.push_back(StackOutput::Close);
                    }
                    m.session.handle_transport_closed(now);
                }
                Output::Idle { deadline } => {
                    self.session_deadline = deadline;
                    break;
                }
            }
        }
        let Some(device) = self.device.as_mut() else {
            return false;
        };
        for event in &for_device {
            device.handle_mqtt_event(epoch, event);
        }
        let outputs = &mut self.outputs;
        let handed_over = drain_device(
            device,
            outputs,
            &mut self.device_deadline,
            |command, outputs| {
                if let Command::Publish(message) = &command {
                    outputs.push_back(StackOutput::Event(StackEvent::Sent(message.clone())));
                }
                m.session.handle_command(now, command);
            },
        );
        handed_over || !for_device.is_empty()
    }

    /// One round between the HTTPS link and the device.
    fn pump_https(&mut self, now: Millis, epoch: Millis) -> bool {
        let Link::Https(link) = &mut self.link else {
            return false;
        };
        let Some(device) = self.device.as_mut() else {
            return false;
        };
        let mut busy = drain_device(
            device,
            &mut self.outputs,
            &mut self.device_deadline,
            |c, _| {
                link.handle_device_command(c);
            },
        );
        let mut requests = Vec::new();
        loop {
            match link.poll_output() {
                LinkOutput::Request(request) => requests.push(request),
                LinkOutput::Deliver(event) => {
                    busy = true;
                    device.handle_mqtt_event(epoch, &event);
                }
                LinkOutput::Document(document) => {
                    busy = true;
                    device.handle_shadow_document(&document);
                    self.outputs
                        .push_back(StackOutput::Event(StackEvent::Document(document)));
                }
                LinkOutput::CheckJobs => {
                    busy = true;
                    device.handle_command(epoch, UserCommand::CheckJobs);
                }
                LinkOutput::Event(event) => {
                    let event = link_event(event, link.poll_ms());
                    self.outputs.push_back(StackOutput::Event(event));
                }
                LinkOutput::Idle { deadline } => {
                    self.link_deadline = deadline;
                    break;
                }
            }
        }
        for request in requests {
            self.request(now, request);
        }
        busy
    }
}

/// Drains `device`: its session commands to `to_link`, its events to the UI, its deadline kept.
/// True when it handed the link something.
fn drain_device(
    device: &mut Device,
    outputs: &mut VecDeque<StackOutput>,
    deadline: &mut Option<Millis>,
    mut to_link: impl FnMut(Command, &mut VecDeque<StackOutput>),
) -> bool {
    let mut handed_over = false;
    loop {
        match device.poll_output() {
            DeviceOutput::Mqtt(command) => {
                to_link(command, outputs);
                handed_over = true;
            }
            DeviceOutput::Event(event) => {
                outputs.push_back(StackOutput::Event(StackEvent::Device(event)));
            }
            DeviceOutput::Idle { deadline: at } => {
                *deadline = at;
                return handed_over;
            }
        }
    }
}

/// Every subscription has its SUBACK (or never will): the startup GET may go.
fn subscriptions_answered(session: &Session) -> bool {
    session.state() == State::Connected
        && session.subscriptions().iter().all(|s| {
            !matches!(
                s.state,
                SubscriptionState::Unsent | SubscriptionState::Pending { late: false }
            )
        })
}

fn link_event(event: LinkEvent, poll_ms: u64) -> StackEvent {
    match event {
        LinkEvent::Online => StackEvent::Status(Status::Connected),
        LinkEvent::Offline {
            reason,
            retry_in_ms,
        } => StackEvent::Status(Status::Reconnecting {
            in_ms: retry_in_ms,
            last_error: Some(reason),
        }),
        LinkEvent::Polled { at } => StackEvent::Polled { at, poll_ms },
        LinkEvent::Refused { request, reason } => StackEvent::Refused {
            source: request,
            reason,
        },
    }
}
