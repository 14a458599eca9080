//! The browser runner of a [`DeviceStack`]: it only moves bytes, requests and timers. One task
//! owns the stack; the WebSocket, fetch answers, the timer and the UI all feed one channel, so
//! nothing else ever touches it (str0m's invariant). The same runner carries an MQTT device
//! (WebSocket, plus fetch for the startup shadow GET) and an HTTPS device (fetch only).
//!
//! ```text
//!  WsTransport ──┐
//!  fetch answer ─┤
//!  Timeout ──────┼─▶ channel ─▶ run(): stack.handle_*(now, …) ─▶ drain poll_output()
//!  ClientHandle ─┘                      ─▶ socket / fetch / UI; arm one timer
//! ```

use super::channel::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_timers::callback::Timeout;
use thingsim_fleet::cloud::{CloudEvent, Operation};
use thingsim_fleet::device::UserCommand;
use thingsim_fleet::stack::{DeviceStack, HttpAnswer, StackEvent, StackOutput};
use thingsim_mqtt::{BrokerUrl, Command, Millis};

pub use thingsim_fleet::stack::Status;

use super::clock;
use super::websocket::{TransportEvent, WsTransport};

/// What a client (a device stack or the sandbox) reports to its owner.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientEvent {
    /// What the device stack reported (the sandbox reports the same kinds).
    Stack(StackEvent),
    /// What an operation on the in-page cloud did (sandbox).
    Operated(Result<String, String>),
    /// The in-page cloud reported something (sandbox).
    Cloud(CloudEvent),
}

/// Where a device's news goes when something else runs it (a fleet's device in the console).
pub type Listener = std::rc::Rc<dyn Fn(ClientEvent)>;

/// Where the device's API is, and the `Authorization` value for it.
#[derive(Debug, Clone)]
pub struct Api {
    /// Base URL, no trailing slash.
    pub base: String,
    /// `Basic …`.
    pub auth: String,
}

pub(crate) enum Input {
    Transport(u32, TransportEvent),
    Command(Command),
    Device(UserCommand),
    Operate(Operation),
    HttpAnswer(u64, HttpAnswer),
    DropConnection,
    Resume,
    Timer,
    Reopen,
    /// Send what was held back for the end of a burst (see `Link::urgent`).
    Flush,
    Stop,
}

/// A cheap handle to a running client (device stack or sandbox); clones talk to the same task.
#[derive(Clone)]
pub struct ClientHandle {
    pub(crate) tx: UnboundedSender<Input>,
}

impl ClientHandle {
    /// Operator intent for the in-page cloud (sandbox; a device stack has no cloud to ask).
    pub fn operate(&self, operation: Operation) {
        let _ = self.tx.unbounded_send(Input::Operate(operation));
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

    /// Hands `command` to the MQTT session (queued by it while offline).
    pub fn command(&self, command: Command) {
        let _ = self.tx.unbounded_send(Input::Command(command));
    }

    /// Hands user intent to the device (ignored by a bare MQTT client).
    pub fn device(&self, command: UserCommand) {
        let _ = self.tx.unbounded_send(Input::Device(command));
    }

    /// Disconnects cleanly and ends the task.
    pub fn stop(&self) {
        let _ = self.tx.unbounded_send(Input::Stop);
    }
}

/// Runs `stack`: its transport is a WebSocket to `url` (MQTT stacks), its requests go to `api`
/// (the startup GET, or everything for an HTTPS device).
pub fn spawn(
    stack: DeviceStack,
    url: Option<BrokerUrl>,
    api: Option<Api>,
    on_event: impl Fn(ClientEvent) + 'static,
) -> ClientHandle {
    let (tx, rx) = unbounded();
    let handle = ClientHandle { tx: tx.clone() };
    wasm_bindgen_futures::spawn_local(run(stack, url, api, tx, rx, on_event));
    handle
}

async fn run(
    mut stack: DeviceStack,
    url: Option<BrokerUrl>,
    api: Option<Api>,
    tx: UnboundedSender<Input>,
    mut rx: UnboundedReceiver<Input>,
    on_event: impl Fn(ClientEvent) + 'static,
) {
    let mut link = Link {
        transport: None,
        generation: 0,
        pending: Vec::new(),
        urgent: false,
        flush_later: None,
        last_flush: None,
        timer: None,
    };
    let mut news = Vec::new();
    let mut input: Option<Input> = None;
    loop {
        let mut now = clock::now();
        stack.handle_wall_clock(now, clock::epoch());
        // None on the first pass: drain what starting produced.
        if let Some(input) = input.take() {
            apply(&mut stack, &mut link, now, input, &on_event);
        }
        let deadline = loop {
            match stack.poll_output() {
                StackOutput::Open => {
                    link.flush(&mut stack, now);
                    link.generation += 1;
                    let Some(url) = &url else {
                        stack.handle_transport_closed(now, Some("no broker URL".to_owned()));
                        continue;
                    };
                    let (g, tx) = (link.generation, tx.clone());
                    match WsTransport::open(url.as_str(), move |e| {
                        let _ = tx.unbounded_send(Input::Transport(g, e));
                    }) {
                        Ok(t) => link.transport = Some(t),
                        Err(e) => stack.handle_transport_closed(now, Some(e)),
                    }
                }
                StackOutput::Transmit(bytes) => {
                    link.urgent |= !thingsim_mqtt::only_acknowledges(&bytes);
                    link.pending.extend_from_slice(&bytes);
                }
                StackOutput::Close => {
                    // A DISCONNECT queued before the close still goes out.
                    link.flush(&mut stack, now);
                    link.transport = None;
                    link.generation += 1; // whatever the old socket still says is stale
                }
                StackOutput::Request(request) => {
                    let (tx, api) = (tx.clone(), api.clone());
                    wasm_bindgen_futures::spawn_local(async move {
                        let answer = match &api {
                            Some(api) => super::http::send(&api.base, &api.auth, &request).await,
                            None => Err("no API configured".to_owned()),
                        };
                        let _ = tx.unbounded_send(Input::HttpAnswer(request.id, answer));
                    });
                }
                StackOutput::Event(event) => news.push(event),
                StackOutput::Stopped => {
                    link.flush(&mut stack, now);
                    news.drain(..).for_each(|e| on_event(ClientEvent::Stack(e)));
                    return;
                }
                StackOutput::Idle { deadline } => {
                    // Whatever is already queued (a burst of frames) is handled before anything
                    // is sent, so the answers to all of it leave in one WebSocket message.
                    if let Some(next) = rx.try_recv() {
                        now = clock::now();
                        stack.handle_wall_clock(now, clock::epoch());
                        apply(&mut stack, &mut link, now, next, &on_event);
                        continue;
                    }
                    if link.pending.is_empty() {
                        break deadline;
                    }
                    // Bare PUBACKs, or anything in a burst (a send already went out this
                    // millisecond): they wait one task, for the inputs the browser has already
                    // queued, and leave with what those add in one message. A lone report goes
                    // at once.
                    if !link.urgent || link.last_flush == Some(now) {
                        if link.flush_later.is_none() {
                            let tx = tx.clone();
                            link.flush_later = Some(Timeout::new(0, move || {
                                let _ = tx.unbounded_send(Input::Flush);
                            }));
                        }
                        break deadline;
                    }
                    // A failed send is news to the stack, which may have more to say.
                    link.flush(&mut stack, now);
                }
            }
        };
        // The page hears the news after the bytes have left: a report or a PUBACK does not
        // wait for the view to update.
        news.drain(..).for_each(|e| on_event(ClientEvent::Stack(e)));
        // Re-armed only when the deadline moves: most inputs leave it where it was.
        if link.timer.as_ref().map(|t| t.0) != Some(deadline) {
            link.timer = Some((
                deadline,
                deadline.map(|at| {
                    let tx = tx.clone();
                    Timeout::new(ms_until(at, now), move || {
                        let _ = tx.unbounded_send(Input::Timer);
                    })
                }),
            ));
        }
        match rx.next().await {
            Some(next) => input = Some(next),
            None => return,
        }
    }
}

/// The socket of the current connection, the bytes for it not yet sent, and the timers.
/// Dropping a gloo Timeout cancels it, so replacing one disarms the one before.
struct Link {
    transport: Option<WsTransport>,
    generation: u32,
    pending: Vec<u8>,
    /// Something in `pending` besides acknowledgements: send at once.
    urgent: bool,
    flush_later: Option<Timeout>,
    /// When bytes last went out.
    last_flush: Option<Millis>,
    /// The stack's deadline and the timer armed for it.
    timer: Option<(Option<Millis>, Option<Timeout>)>,
}

impl Link {
    /// Sends what is pending as one WebSocket message (MQTT over WebSocket lets packets share
    /// a frame); bytes for a socket that is gone are dropped, as the session expects.
    fn flush(&mut self, stack: &mut DeviceStack, now: Millis) {
        self.flush_later = None;
        self.urgent = false;
        if self.pending.is_empty() {
            return;
        }
        self.last_flush = Some(now);
        if let Some(Err(e)) = self.transport.as_ref().map(|t| t.send(&self.pending)) {
            stack.handle_transport_error(now, e);
        }
        self.pending.clear();
    }
}

fn apply(
    stack: &mut DeviceStack,
    link: &mut Link,
    now: Millis,
    input: Input,
    on_event: &impl Fn(ClientEvent),
) {
    match input {
        // A socket we already dropped may have queued events before it was detached.
        Input::Transport(g, _) if g != link.generation => {}
        Input::Transport(_, TransportEvent::Opened) => stack.handle_transport_opened(now),
        Input::Transport(_, TransportEvent::Data(bytes)) => {
            stack.handle_transport_data(now, &bytes);
        }
        Input::Transport(_, TransportEvent::Closed { code, reason }) => {
            link.transport = None;
            link.pending.clear();
            link.urgent = false;
            stack.handle_transport_closed(now, Some(describe_close(code, &reason)));
        }
        Input::Command(command) => stack.handle_mqtt_command(now, command),
        Input::Device(command) => stack.handle_user(now, command),
        Input::Operate(_) => on_event(ClientEvent::Operated(Err(
            "this device talks to a broker or an API; the cloud panel works in sandbox and local \
             mode"
                .to_owned(),
        ))),
        Input::HttpAnswer(id, answer) => stack.handle_response(now, id, answer),
        Input::DropConnection => stack.handle_drop(now),
        Input::Resume => stack.handle_resume(now),
        Input::Timer | Input::Reopen => {
            link.timer = None; // spent: the next deadline needs a new one, even if the same
            stack.handle_timeout(now);
        }
        Input::Flush => link.flush(stack, now),
        Input::Stop => stack.handle_stop(now),
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

/// A bare MQTT client to `url`, no device: a test's peer, or a tool's.
pub fn connect(
    url: BrokerUrl,
    options: thingsim_mqtt::Options,
    seed: u64,
    on_event: impl Fn(ClientEvent) + 'static,
) -> ClientHandle {
    let link = thingsim_fleet::stack::MqttLink {
        options,
        api: false,
    };
    let stack = DeviceStack::mqtt(clock::now(), clock::epoch(), None, link, seed);
    spawn(stack, Some(url), None, on_event)
}
