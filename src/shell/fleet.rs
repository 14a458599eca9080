//! The fleet view's runner: one task owns the [`Fleet`] (a world of many devices on real
//! time); commands from the page and one timer feed a channel. After every input the world is
//! advanced to the wall clock, and the page gets the cards and figures at most four times a
//! second, however many devices talk.

use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use gloo_timers::callback::Timeout;
use serde_json::Value;
use thingsim_fleet::fleet::{Card, Fleet, FleetSpec, Metrics};
use thingsim_fleet::jobs::cloud::{JobType, Rollout};
use thingsim_fleet::shadow::state::State;

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
    Add(usize),
    Remove(usize),
    RollOut {
        document: Value,
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
        rollout: Rollout,
    },
    SetDesired(State),
    Export {
        csv: bool,
    },
    Timer,
    Stop,
    /// A broker fleet's device said something.
    Member(usize, thingsim_fleet::stack::StackEvent),
    /// A broker fleet's job was created, or why not.
    JobCreated(Result<String, String>),
    /// A broker fleet's job executions, as the API listed them.
    JobFigures(thingsim_fleet::fleet::JobFigures),
    /// A broker fleet's flapping devices drop their connections now.
    Flap,
    /// A broker fleet's device is registered (in the group): connect it.
    Connect(usize),
}

/// A handle to the running fleet; clones talk to the same task.
#[derive(Clone)]
pub struct FleetHandle {
    pub(crate) tx: UnboundedSender<Input>,
}

impl FleetHandle {
    /// Adds `n` devices.
    pub fn add(&self, n: usize) {
        let _ = self.tx.unbounded_send(Input::Add(n));
    }

    /// Removes the newest `n` devices.
    pub fn remove(&self, n: usize) {
        let _ = self.tx.unbounded_send(Input::Remove(n));
    }

    /// Rolls a job out to the fleet's group.
    pub fn roll_out(
        &self,
        document: Value,
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
        rollout: Rollout,
    ) {
        let _ = self.tx.unbounded_send(Input::RollOut {
            document,
            job_type,
            step_timeout_minutes,
            rollout,
        });
    }

    /// Sets the same desired state on every device.
    pub fn set_desired(&self, desired: State) {
        let _ = self.tx.unbounded_send(Input::SetDesired(desired));
    }

    /// Exports the figures and cards as CSV (true) or JSON.
    pub fn export(&self, csv: bool) {
        let _ = self.tx.unbounded_send(Input::Export { csv });
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
    let mut input = Some(Input::Timer);
    while let Some(next) = input.take() {
        fleet.advance_to(clock::epoch());
        let asked = !matches!(next, Input::Timer);
        match next {
            Input::Add(n) => {
                on_event(FleetEvent::Outcome(fleet.add(n).map(|()| {
                    format!("{n} devices added; {} in all", fleet.members().len())
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
                document,
                job_type,
                step_timeout_minutes,
                rollout,
            } => on_event(FleetEvent::Outcome(
                fleet
                    .roll_out(document, job_type, step_timeout_minutes, rollout)
                    .map(|id| format!("job {id} rolling out to group {}", fleet.spec.group)),
            )),
            Input::SetDesired(desired) => {
                on_event(FleetEvent::Outcome(fleet.set_desired(&desired).map(|()| {
                    format!("desired state set on {} devices", fleet.members().len())
                })))
            }
            Input::Export { csv: true } => on_event(FleetEvent::Export(
                "thingsim-fleet.csv",
                "text/csv",
                fleet.to_csv(),
            )),
            Input::Export { csv: false } => on_event(FleetEvent::Export(
                "thingsim-fleet.json",
                "application/json",
                fleet.to_json().to_string(),
            )),
            Input::Timer
            | Input::Member(..)
            | Input::JobCreated(_)
            | Input::JobFigures(_)
            | Input::Flap
            | Input::Connect(_) => {}
            Input::Stop => return,
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
