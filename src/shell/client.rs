//! The browser run loop: one task owns the [`Session`]; the WebSocket, the timer and the UI
//! all feed one channel, so nothing else ever touches the session (str0m's invariant).
//!
//! ```text
//!  WsTransport ─┐
//!  Timeout ─────┼─▶ channel ─▶ run(): handle_*(now, …) ─▶ drain poll_output() ─▶ socket / UI
//!  ClientHandle ┘                                          └▶ arm one timer for the deadline
//! ```

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_timers::callback::Timeout;
use thingsim_fleet::cloud::{CloudEvent, Operation};
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOutput, UserCommand};
use thingsim_fleet::shadow::cloud::ShadowDocument;
use thingsim_mqtt::{
    Backoff, BrokerUrl, Command, Event, Message, Millis, Options, Output, Session, State,
};

use super::clock;
use super::websocket::{TransportEvent, WsTransport};

/// Connection status as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Opening the WebSocket and waiting for CONNACK.
    Connecting,
    /// CONNACK accepted.
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

/// What the client reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// The status changed.
    Status(Status),
    /// The session reported something (a message, an error, a grant).
    Mqtt(Event),
    /// A publish was handed to the session (sent now or queued while offline).
    Sent(Message),
    /// The device (when the client runs one) reported something.
    Device(DeviceEvent),
    /// What an operation on the in-page cloud did (sandbox).
    Operated(Result<String, String>),
    /// The in-page cloud's shadow document changed (sandbox).
    Document(ShadowDocument),
    /// The in-page cloud reported something (sandbox).
    Cloud(CloudEvent),
    /// An HTTPS device's request or its answer.
    Http(HttpExchange),
    /// An HTTPS device polled its shadow.
    Polled {
        /// When.
        at: Millis,
        /// How often it polls while all is well.
        poll_ms: u64,
    },
    /// The cloud refused a change (HTTPS), with why.
    Refused {
        /// The request.
        source: String,
        /// Why.
        reason: String,
    },
}

/// One line of an HTTPS device's traffic, for the log: the credentials never appear.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExchange {
    /// Request (true) or answer.
    pub outgoing: bool,
    /// `POST /api/v1/…` (answers: `200 POST /api/v1/… in 12 ms`).
    pub line: String,
    /// Body as text.
    pub body: String,
}

impl HttpExchange {
    /// A request as it leaves (the Authorization header is not part of it).
    pub fn request(request: &thingsim_fleet::https::HttpRequest) -> Self {
        Self {
            outgoing: true,
            line: format!("{} {} (auth: Basic ••••)", request.method, request.path),
            body: request
                .body
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }

    /// Its answer, or why none came.
    pub fn response(
        request: &thingsim_fleet::https::HttpRequest,
        answer: &Result<(u16, Vec<u8>), String>,
        ms: u64,
    ) -> Self {
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

pub(crate) enum Input {
    Transport(u32, TransportEvent),
    Command(Command),
    Device(UserCommand),
    Operate(Operation),
    Document(ShadowDocument),
    HttpAnswer(
        thingsim_fleet::https::HttpRequest,
        Result<(u16, Vec<u8>), String>,
        u64,
    ),
    DropConnection,
    Resume,
    Timer,
    Reopen,
    Stop,
}

/// A cheap handle to a running client (WebSocket or sandbox); clones talk to the same task.
#[derive(Clone)]
pub struct ClientHandle {
    pub(crate) tx: UnboundedSender<Input>,
}

impl ClientHandle {
    /// Operator intent for the in-page cloud (sandbox; a broker client has no cloud to ask).
    pub fn operate(&self, operation: Operation) {
        let _ = self.tx.unbounded_send(Input::Operate(operation));
    }

    /// The thing's shadow document from a GET (the Fleets startup flow): the device applies
    /// its delta when it is newer than what it has seen.
    pub fn shadow_document(&self, document: ShadowDocument) {
        let _ = self.tx.unbounded_send(Input::Document(document));
    }

    /// Drops the connection as a network failure would; the client reconnects with backoff.
    pub fn drop_connection(&self) {
        let _ = self.tx.unbounded_send(Input::DropConnection);
    }

    /// The page is visible again after a background tab or sleep: reconnect now if waiting,
    /// else re-sync the device.
    pub fn resume(&self) {
        let _ = self.tx.unbounded_send(Input::Resume);
    }

    /// Hands `command` to the session (queued by it while offline).
    pub fn command(&self, command: Command) {
        let _ = self.tx.unbounded_send(Input::Command(command));
    }

    /// Hands user intent to the device the client runs (ignored without one).
    pub fn device(&self, command: UserCommand) {
        let _ = self.tx.unbounded_send(Input::Device(command));
    }

    /// Disconnects cleanly and ends the task.
    pub fn stop(&self) {
        let _ = self.tx.unbounded_send(Input::Stop);
    }
}

/// Starts a client for `url` that reconnects with backoff until stopped. `seed` feeds the
/// backoff jitter (draw it from `Math.random()`; the core draws no randomness itself). With a
/// `device`, the client runs it: socket ⇄ Session ⇄ Device.
pub fn spawn(
    url: BrokerUrl,
    options: Options,
    seed: u64,
    device: Option<Device>,
    on_event: impl Fn(ClientEvent) + 'static,
) -> ClientHandle {
    let (tx, rx) = unbounded();
    let handle = ClientHandle { tx: tx.clone() };
    wasm_bindgen_futures::spawn_local(run(url, options, seed, device, tx, rx, on_event));
    handle
}

async fn run(
    url: BrokerUrl,
    options: Options,
    seed: u64,
    mut device: Option<Device>,
    tx: UnboundedSender<Input>,
    mut rx: UnboundedReceiver<Input>,
    on_event: impl Fn(ClientEvent) + 'static,
) {
    let mut session = Session::new(options);
    let mut backoff = Backoff::new(1_000, 30_000, seed);
    let mut generation = 0u32;
    let mut last_error = None;
    let mut stopping = false;
    // Dropping a gloo Timeout cancels it, so each reassignment disarms the previous timer.
    let mut _timer: Option<Timeout> = None;
    let mut reopen: Option<Timeout> = None;

    let open = |generation: &mut u32, last_error: &mut Option<String>| {
        *generation += 1;
        let (g, tx) = (*generation, tx.clone());
        on_event(ClientEvent::Status(Status::Connecting));
        WsTransport::open(url.as_str(), move |e| {
            let _ = tx.unbounded_send(Input::Transport(g, e));
        })
        .map_err(|e| *last_error = Some(e))
        .ok()
    };
    let mut transport = open(&mut generation, &mut last_error);

    while let Some(input) = rx.next().await {
        let now = clock::now();
        match input {
            // A socket we already dropped may have queued events before it was detached.
            Input::Transport(g, _) if g != generation => continue,
            Input::Transport(_, TransportEvent::Opened) => session.handle_transport_opened(now),
            Input::Transport(_, TransportEvent::Data(bytes)) => session.handle_input(now, &bytes),
            Input::Transport(_, TransportEvent::Closed { code, reason }) => {
                transport = None;
                if session.state() != State::AwaitingClose {
                    last_error.get_or_insert_with(|| describe_close(code, &reason));
                }
                session.handle_transport_closed(now);
            }
            Input::Command(command) => {
                if let Command::Publish(message) = &command {
                    on_event(ClientEvent::Sent(message.clone()));
                }
                session.handle_command(now, command);
            }
            Input::Device(command) => {
                if let Some(device) = device.as_mut() {
                    device.handle_command(clock::epoch(), command);
                }
            }
            Input::Operate(_) => on_event(ClientEvent::Operated(Err(
                "this client talks to a broker; the cloud panel works in sandbox and local mode"
                    .to_owned(),
            ))),
            Input::DropConnection => {
                if transport.take().is_some() {
                    generation += 1; // whatever the old socket still says is stale
                    last_error = Some("the connection was dropped by hand".to_owned());
                    session.handle_transport_closed(now);
                }
            }
            Input::Resume => {
                if reopen.take().is_some() && !stopping {
                    backoff.reset();
                    transport = open(&mut generation, &mut last_error);
                } else if let Some(device) = device.as_mut() {
                    device.handle_command(clock::epoch(), UserCommand::Resync);
                }
            }
            Input::Timer => {
                session.handle_timeout(now);
                if let Some(device) = device.as_mut() {
                    device.handle_timeout(clock::epoch());
                }
            }
            Input::Reopen => {
                reopen = None;
                if !stopping {
                    transport = open(&mut generation, &mut last_error);
                }
            }
            Input::Document(document) => {
                if let Some(device) = device.as_mut() {
                    device.handle_shadow_document(&document);
                }
            }
            Input::HttpAnswer(..) => {}
            Input::Stop => {
                stopping = true;
                reopen = None;
                session.handle_command(now, Command::Disconnect);
            }
        }

        // Drain the session, feed its events to the device, hand the device's commands back to
        // the session, until neither has anything more to say.
        let (session_deadline, device_deadline) = loop {
            let mut for_device = Vec::new();
            let session_deadline = loop {
                match session.poll_output() {
                    Output::Transmit(bytes) => {
                        if let Some(Err(e)) =
                            transport.as_ref().map(|t: &WsTransport| t.send(&bytes))
                        {
                            last_error = Some(e);
                        }
                    }
                    Output::Event(event) => {
                        match &event {
                            Event::Connected { .. } => {
                                backoff.reset();
                                last_error = None;
                                on_event(ClientEvent::Status(Status::Connected));
                            }
                            Event::Error(e) => last_error = Some(e.to_string()),
                            _ => {}
                        }
                        if device.is_some() {
                            for_device.push(event.clone());
                        }
                        on_event(ClientEvent::Mqtt(event));
                    }
                    Output::Close => {
                        transport = None;
                        session.handle_transport_closed(now);
                    }
                    Output::Idle { deadline } => break deadline,
                }
            };
            let Some(device) = device.as_mut() else {
                break (session_deadline, None);
            };
            let epoch = clock::epoch();
            for event in &for_device {
                device.handle_mqtt_event(epoch, event);
            }
            let mut handed_over = false;
            let device_deadline = loop {
                match device.poll_output() {
                    DeviceOutput::Mqtt(command) => {
                        if let Command::Publish(message) = &command {
                            on_event(ClientEvent::Sent(message.clone()));
                        }
                        session.handle_command(now, command);
                        handed_over = true;
                    }
                    DeviceOutput::Event(event) => on_event(ClientEvent::Device(event)),
                    DeviceOutput::Idle { deadline } => break deadline,
                }
            };
            if !handed_over && for_device.is_empty() {
                break (session_deadline, device_deadline);
            }
        };
        // The session's deadlines are on the monotonic clock, the device's on the wall clock.
        let deadline = [
            session_deadline.map(|at| Millis(now.0 + u64::from(ms_until(at, now)))),
            device_deadline.map(|at| Millis(now.0 + u64::from(ms_until(at, clock::epoch())))),
        ]
        .into_iter()
        .flatten()
        .min();
        _timer = deadline.map(|at| {
            let tx = tx.clone();
            Timeout::new(ms_until(at, now), move || {
                let _ = tx.unbounded_send(Input::Timer);
            })
        });

        if transport.is_none() && session.state() == State::AwaitingTransport && reopen.is_none() {
            if stopping {
                on_event(ClientEvent::Status(Status::Offline));
                return;
            }
            let in_ms = backoff.next_delay();
            on_event(ClientEvent::Status(Status::Reconnecting {
                in_ms,
                last_error: last_error.take(),
            }));
            let tx = tx.clone();
            reopen = Some(Timeout::new(
                u32::try_from(in_ms).unwrap_or(u32::MAX),
                move || {
                    let _ = tx.unbounded_send(Input::Reopen);
                },
            ));
        }
    }
}

fn ms_until(at: Millis, now: Millis) -> u32 {
    u32::try_from(at.saturating_since(now)).unwrap_or(u32::MAX)
}

/// Browsers hide why a WebSocket failed (1006 for refused, unreachable and TLS errors alike).
fn describe_close(code: u16, reason: &str) -> String {
    match (code, reason.is_empty()) {
        (1006, _) => "the WebSocket closed abnormally (broker unreachable, refused, or not \
                      speaking MQTT over WebSocket at this URL)"
            .to_owned(),
        (_, false) => format!("the WebSocket closed ({code}): {reason}"),
        (_, true) => format!("the WebSocket closed ({code})"),
    }
}
