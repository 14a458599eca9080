//! The fleet view's runner: one task owns the [`Fleet`] (a world of many devices on real
//! time); commands from the page and one timer feed a channel. After every input the world is
//! advanced to the wall clock, and the page gets the cards and figures at most four times a
//! second, however many devices talk.

use super::channel::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_timers::callback::Timeout;
use serde_json::Value;
use thingsim_fleet::fleet::{Card, Fleet, FleetSpec, Metrics};
use thingsim_fleet::jobs::cloud::{JobType, Rollout};
use thingsim_fleet::shadow::state::State;
use thingsim_fleet::vec_map::VecSet;

use thingsim_fleet::device::{DeviceEvent, UserCommand};
use thingsim_fleet::stack::{StackEvent, Status};
use thingsim_mqtt::Event;

use super::client::{self, ClientEvent, ClientHandle, Listener};
use super::clock;

/// The page hears this many updates a second at most.
const UPDATE_EVERY_MS: u64 = 250;

/// What the page is told.
#[derive(Debug, Clone, PartialEq)]
pub enum FleetEvent {
    /// The fleet now.
    Update {
        /// Figures.
        metrics: Metrics,
        /// One card per device.
        cards: Vec<Card>,
    },
    /// What an action did, or why it did nothing.
    Outcome(Result<String, String>),
    /// An export, ready to download: file name, MIME type, text.
    Export(&'static str, &'static str, String),
}

pub(crate) enum Input {
    /// `n` more devices in a group.
    Add {
        group: usize,
        n: usize,
    },
    AddGroup(FleetSpec),
    Remove(usize),
    /// A job for one group, or (`None`) for every group.
    RollOut {
        group: Option<usize>,
        document: Value,
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
        rollout: Rollout,
    },
    SetDesired(Option<usize>, State),
    Export {
        csv: bool,
    },
    Timer,
    Stop,
    /// A broker fleet's device said something.
    Member(usize, StackEvent),
    /// A broker fleet's job was created, or why not.
    JobCreated(Result<String, String>),
    /// A broker fleet's device could not be registered, or get its broker user: why.
    Failed(String),
    /// A broker fleet's job executions, as the API listed them.
    JobFigures(thingsim_fleet::fleet::JobFigures),
    /// A broker fleet's flapping devices drop their connections now.
    Flap,
    /// A broker fleet's device is registered (in the group) and has its broker user, when the
    /// cloud manages them: connect it.
    Connect(usize, Option<thingsim_fleet::api::BrokerCredentials>),
    /// The things whose shadow has a delta, as thingsim-cloud lists them.
    Deltas(VecSet<String>),
    /// Show one device in the full console: its news goes to `events`.
    Attach {
        thing: String,
        events: Listener,
    },
    /// The console closed; the device runs on.
    Detach,
    /// What the console asks of the attached device.
    Client(client::Input),
}

/// A handle to the running fleet; clones talk to the same task.
#[derive(Clone)]
pub struct FleetHandle {
    pub(crate) tx: UnboundedSender<Input>,
}

impl FleetHandle {
    /// Adds `n` devices to group `group`.
    pub fn add(&self, group: usize, n: usize) {
        let _ = self.tx.unbounded_send(Input::Add { group, n });
    }

    /// Adds a group of devices as `spec` describes.
    pub fn add_group(&self, spec: FleetSpec) {
        let _ = self.tx.unbounded_send(Input::AddGroup(spec));
    }

    /// Removes the newest `n` devices.
    pub fn remove(&self, n: usize) {
        let _ = self.tx.unbounded_send(Input::Remove(n));
    }

    /// Rolls a job out to one group, or (`None`) to every group.
    pub fn roll_out(
        &self,
        group: Option<usize>,
        document: Value,
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
        rollout: Rollout,
    ) {
        let _ = self.tx.unbounded_send(Input::RollOut {
            group,
            document,
            job_type,
            step_timeout_minutes,
            rollout,
        });
    }

    /// Sets the same desired state on every device of one group, or (`None`) of all.
    pub fn set_desired(&self, group: Option<usize>, desired: State) {
        let _ = self.tx.unbounded_send(Input::SetDesired(group, desired));
    }

    /// Exports the figures and cards as CSV (true) or JSON.
    pub fn export(&self, csv: bool) {
        let _ = self.tx.unbounded_send(Input::Export { csv });
    }

    /// Shows `thing` in the full single-device console: what it says goes to `on_event`, and
    /// the handle carries the console's commands to it. The device stays in the fleet.
    pub fn attach(&self, thing: String, on_event: Listener) -> ClientHandle {
        let (console_tx, mut console_rx) = unbounded();
        let tx = self.tx.clone();
        let _ = tx.unbounded_send(Input::Attach {
            thing,
            events: on_event,
        });
        wasm_bindgen_futures::spawn_local(async move {
            while let Some(input) = console_rx.next().await {
                if tx.unbounded_send(Input::Client(input)).is_err() {
                    break;
                }
            }
        });
        ClientHandle { tx: console_tx }
    }

    /// The console closed.
    pub fn detach(&self) {
        let _ = self.tx.unbounded_send(Input::Detach);
    }

    /// Ends the task; the fleet's memory goes with it.
    pub fn stop(&self) {
        let _ = self.tx.unbounded_send(Input::Stop);
    }
}

/// Builds the fleet `spec` describes and runs it; `Err` says why it could not be built.
pub fn spawn(
    spec: FleetSpec,
    on_event: impl Fn(FleetEvent) + 'static,
) -> Result<FleetHandle, String> {
    let fleet = Fleet::new(clock::epoch(), spec)?;
    let (tx, rx) = unbounded();
    let handle = FleetHandle { tx: tx.clone() };
    wasm_bindgen_futures::spawn_local(run(fleet, tx, rx, on_event));
    Ok(handle)
}

async fn run(
    mut fleet: Fleet,
    tx: UnboundedSender<Input>,
    mut rx: UnboundedReceiver<Input>,
    on_event: impl Fn(FleetEvent) + 'static,
) {
    let mut _timer: Option<Timeout> = None;
    let mut last_update = 0u64;
    // The device shown in the full console, and the shadow document it last saw.
    let mut console: Option<Listener> = None;
    let mut last_document = None;
    let mut last_online = None;
    let mut input = Some(Input::Timer);
    while let Some(next) = input.take() {
        fleet.advance_to(clock::epoch());
        let asked = !matches!(next, Input::Timer);
        match next {
            Input::Add { group, n } => {
                on_event(FleetEvent::Outcome(fleet.add_to(group, n).map(|()| {
                    format!("{n} devices added; {} in all", fleet.members().len())
                })))
            }
            Input::AddGroup(spec) => {
                let name = spec.group.clone();
                on_event(FleetEvent::Outcome(fleet.add_group(spec).map(|_| {
                    format!(
                        "group {name} added; {} devices in all",
                        fleet.members().len()
                    )
                })))
            }
            Input::Remove(n) => {
                fleet.remove(n);
                on_event(FleetEvent::Outcome(Ok(format!(
                    "removed; {} left",
                    fleet.members().len()
                ))));
            }
            Input::RollOut {
                group,
                document,
                job_type,
                step_timeout_minutes,
                rollout,
            } => {
                let names: Vec<&str> = fleet
                    .groups()
                    .enumerate()
                    .filter(|(i, _)| group.is_none_or(|g| g == *i))
                    .map(|(_, s)| s.group.as_str())
                    .collect();
                let to = match names.as_slice() {
                    [one] => format!("group {one}"),
                    many => format!("groups {}", many.join(", ")),
                };
                on_event(FleetEvent::Outcome(
                    fleet
                        .roll_out_to(group, document, job_type, step_timeout_minutes, rollout)
                        .map(|id| format!("job {id} rolling out to {to}")),
                ));
            }
            Input::SetDesired(group, desired) => on_event(FleetEvent::Outcome(
                fleet
                    .set_desired_in(group, &desired)
                    .map(|n| format!("desired state set on {n} devices")),
            )),
            Input::Export { csv: true } => on_event(FleetEvent::Export(
                "thingsim-fleet.csv",
                "text/csv",
                fleet.to_csv(),
            )),
            Input::Export { csv: false } => on_event(FleetEvent::Export(
                "thingsim-fleet.json",
                "application/json",
                thingsim_fleet::json::text(&fleet.to_json()),
            )),
            Input::Timer
            | Input::Member(..)
            | Input::JobCreated(_)
            | Input::Failed(_)
            | Input::JobFigures(_)
            | Input::Flap
            | Input::Connect(..)
            | Input::Deltas(_) => {}
            Input::Attach { thing, events } => {
                last_document = None;
                match fleet.watch(Some(&thing)) {
                    Ok(()) => {
                        last_online = None;
                        if let Some(n) = fleet.device(&thing).map(|i| &fleet.world.nodes[i]) {
                            events(ClientEvent::Stack(StackEvent::Device(
                                DeviceEvent::Reported(n.device.model().state().clone()),
                            )));
                        }
                        console = Some(events);
                    }
                    Err(e) => {
                        events(ClientEvent::Stack(StackEvent::Refused {
                            source: "fleet".into(),
                            reason: e,
                        }));
                        events(status(Status::Offline));
                    }
                }
            }
            Input::Detach => {
                let _ = fleet.watch(None);
                console = None;
            }
            Input::Client(input) => {
                if let Some(events) = &console {
                    let thing = fleet.take_watched().map(|w| {
                        // What came before this input still goes out, in order.
                        forward(events, &w);
                        w.thing
                    });
                    if let Some(thing) = thing {
                        console_input(&mut fleet, thing.as_str(), input, events);
                    }
                }
            }
            Input::Stop => return,
        }
        if let Some(events) = &console {
            match fleet.take_watched() {
                Some(w) => {
                    let online = fleet.world.nodes[w.idx].online;
                    if last_online != Some(online) {
                        last_online = Some(online);
                        events(status(if online {
                            Status::Connected
                        } else {
                            Status::Reconnecting {
                                in_ms: 0,
                                last_error: Some("its connection is down".into()),
                            }
                        }));
                    }
                    forward(events, &w);
                    let document = fleet.world.cloud.shadow(&w.thing).document();
                    if last_document.as_ref() != Some(&document) {
                        last_document = Some(document.clone());
                        events(ClientEvent::Stack(StackEvent::Document(document)));
                    }
                }
                None => {
                    // Removed from the fleet while shown.
                    events(ClientEvent::Stack(StackEvent::Note {
                        source: "fleet".into(),
                        text: "this device was removed from the fleet".into(),
                    }));
                    events(status(Status::Offline));
                    console = None;
                }
            }
        }
        // The world's own pace can be many events a millisecond; the page's is a few a second.
        let now = clock::epoch().0;
        if asked || now.saturating_sub(last_update) >= UPDATE_EVERY_MS {
            last_update = now;
            on_event(FleetEvent::Update {
                metrics: fleet.metrics(),
                cards: fleet.cards(),
            });
        }
        let wait = fleet
            .next_deadline()
            .map_or(UPDATE_EVERY_MS, |at| at.saturating_since(clock::epoch()))
            .min(UPDATE_EVERY_MS);
        let tx = tx.clone();
        _timer = Some(Timeout::new(u32::try_from(wait).unwrap_or(0), move || {
            let _ = tx.unbounded_send(Input::Timer);
        }));
        input = rx.next().await;
    }
}

/// How long a connection dropped from the console stays down in the sandbox.
const RECONNECT_MS: u64 = 2_000;

fn status(status: Status) -> ClientEvent {
    ClientEvent::Stack(StackEvent::Status(status))
}

/// The watched device's news, as the console hears a device's.
fn forward(events: &Listener, w: &thingsim_fleet::fleet::Watched) {
    for wire in &w.wire {
        events(ClientEvent::Stack(if wire.outgoing {
            StackEvent::Sent(wire.message.clone())
        } else {
            StackEvent::Mqtt(Event::Received(wire.message.clone()))
        }));
    }
    for event in &w.events {
        events(ClientEvent::Stack(StackEvent::Device(event.clone())));
    }
    for event in &w.cloud {
        events(ClientEvent::Cloud(event.clone()));
    }
}

/// What the console asks of the watched device, done on the fleet's world.
fn console_input(fleet: &mut Fleet, thing: &str, input: client::Input, events: &Listener) {
    let Some(idx) = fleet.device(thing) else {
        return;
    };
    match input {
        client::Input::Device(command) => fleet.world.command(idx, command),
        client::Input::Operate(operation) => {
            let outcome = fleet
                .world
                .with_cloud(|cloud, now| cloud.operate(now, operation));
            events(ClientEvent::Operated(outcome));
        }
        client::Input::DropConnection => fleet.drop_link(thing, RECONNECT_MS),
        client::Input::Resume => fleet.world.command(idx, UserCommand::Resync),
        // The console closing is a detach (the device stays in the fleet); no session here, so
        // raw MQTT and socket inputs do not apply.
        client::Input::Stop
        | client::Input::Command(_)
        | client::Input::Transport(..)
        | client::Input::HttpAnswer(..)
        | client::Input::Reopen
        | client::Input::Flush
        | client::Input::Timer => {}
    }
}
