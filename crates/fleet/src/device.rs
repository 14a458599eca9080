//! The device role, composed: a [`DeviceModel`] kept in sync through the shadow, answering
//! commands, running jobs and publishing events, above an MQTT session.
//!
//! Sans-I/O like the session beneath it: the shell feeds it the session's events
//! ([`Device::handle_mqtt_event`]), user intent ([`Device::handle_command`]), the shadow
//! document from the startup GET ([`Device::handle_shadow_document`]) and timeouts, and drains
//! [`Device::poll_output`] for session commands (subscribe, publish) and events for the UI.
//!
//! ```text
//!   session ──Event──▶ Device ──Command──▶ session
//!   user ─UserCommand─▶   │   ──DeviceEvent──▶ UI
//!   timer ─handle_timeout─┘   ──Idle{deadline}──▶ timer
//! ```

use crate::vec_map::VecMap;
use std::collections::VecDeque;

use serde_json::{Map, Value};
use thingsim_mqtt::{Command, Event, Message, Millis, Qos};

use crate::commands::{CommandAgent, CommandRequest, CommandResponse, RequestVerdict};
use crate::jobs::agent::{AgentOutput, JobEvent, JobsAgent};
use crate::jobs::{JobStatus, RejectCode, StatusDetails, validate_job_document};
use crate::model::{DeviceModel, StepOutcome};
use crate::shadow::cloud::ShadowDocument;
use crate::shadow::device::{DeltaVerdict, DeviceShadow};
use crate::shadow::state::State;
use crate::shadow::{Delta, Update};
use crate::topics::{CommandTopic, ShadowTopic};
use crate::{ThingName, Topic};

/// How the device treats the jobs it is given (the console's unhappy-path toggles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobBehaviour {
    /// Run every step and succeed (unless the model fails).
    #[default]
    Run,
    /// Refuse every job (REJECTED).
    Reject,
    /// Report FAILED at this step (1-based).
    FailAtStep(u32),
    /// Start, then never report again (the cloud's step timeout ends it).
    Stall,
}

/// A reporting interval: 0 ms means never (a timer due now, again and again, would spin).
fn interval(every: Option<u64>) -> Option<u64> {
    every.filter(|ms| *ms > 0)
}

/// User intent.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    /// Change a writable property from the UI (reported at once).
    SetProperty {
        /// Property key.
        key: String,
        /// New value.
        value: Value,
    },
    /// Answer a pending command by hand.
    AnswerCommand {
        /// Execution id.
        execution_id: String,
        /// The answer.
        response: CommandResponse,
    },
    /// Leave a pending command unanswered (to show a timeout).
    IgnoreCommand {
        /// Execution id.
        execution_id: String,
    },
    /// Let the model answer commands (on by default).
    SetAutoAnswer(bool),
    /// Publish an event on `events/{kind}`.
    PublishEvent {
        /// Event type (one topic level).
        kind: String,
        /// JSON body.
        payload: Value,
    },
    /// How to treat jobs.
    SetJobBehaviour(JobBehaviour),
    /// Start jobs as soon as they are announced (on by default).
    SetAutoStartJobs(bool),
    /// Ask for the next job now.
    StartNextJob,
    /// Report readings every so many milliseconds (`None` or 0: off).
    SetTelemetry(Option<u64>),
    /// Report one reading on its own interval (`None` or 0: never), overriding `SetTelemetry`.
    SetMetricInterval {
        /// The reading's key.
        key: String,
        /// Milliseconds between its reports.
        every: Option<u64>,
    },
    /// Report this reading on the common interval again.
    UseDefaultInterval(String),
    /// Run job steps only on [`UserCommand::NextStep`] (true) or on a timer (false, default).
    SetStepping(bool),
    /// Run the current job's next step now (step-through mode).
    NextStep,
    /// Extra `statusDetails` sent with every job update (the device's own keys win).
    SetStatusDetails(StatusDetails),
    /// Re-sync after the page was hidden or asleep: report the actual state and ask the jobs
    /// service what happened meanwhile.
    Resync,
    /// Ask the jobs service what is pending, and for the next job when idle (an HTTPS
    /// device's poll: nothing is pushed to it).
    CheckJobs,
}

/// What happened, for the UI and tests.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceEvent {
    /// A report was published.
    Reported(State),
    /// A delta was applied; refused keys stay in the delta (the device cannot reach them).
    DeltaApplied {
        /// Shadow version of the delta.
        version: u64,
        /// Keys applied, with the values as applied.
        applied: State,
        /// Keys refused, with why.
        refused: Vec<(String, String)>,
    },
    /// A delta at or below the version already seen was dropped.
    DeltaStale {
        /// Its version.
        got: u64,
        /// The newest seen.
        seen: u64,
    },
    /// A command request arrived (and waits for an answer unless auto-answer is on).
    CommandReceived {
        /// Execution id.
        execution_id: String,
        /// The request.
        request: CommandRequest,
    },
    /// A command was answered.
    CommandAnswered {
        /// Execution id.
        execution_id: String,
        /// The answer sent.
        response: CommandResponse,
    },
    /// The user left a pending command unanswered (the cloud's TTL will end it).
    CommandIgnored {
        /// Execution id.
        execution_id: String,
    },
    /// A request arrived after its TTL: not executed.
    CommandExpired {
        /// Execution id.
        execution_id: String,
        /// The request.
        request: CommandRequest,
    },
    /// Jobs protocol news.
    Job(JobEvent),
    /// A job step ran.
    JobProgress {
        /// The job.
        job_id: String,
        /// Percent done.
        percent: u32,
        /// What the step did.
        step: String,
    },
    /// An event was published.
    EventPublished {
        /// Its type.
        kind: String,
    },
    /// A payload or user input was refused; nothing changed, the device keeps running.
    Refused {
        /// Where it came from (a topic, or "ui").
        source: String,
        /// Why.
        reason: String,
    },
}

/// What the shell has to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceOutput {
    /// Hand this to the MQTT session.
    Mqtt(Command),
    /// Tell the UI.
    Event(DeviceEvent),
    /// Nothing more until input or `deadline`.
    Idle {
        /// When to call [`Device::handle_timeout`].
        deadline: Option<Millis>,
    },
}

/// Device timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceOptions {
    /// Milliseconds between job steps.
    pub job_step_ms: u64,
    /// Milliseconds between telemetry reports (`None`: off).
    pub telemetry_ms: Option<u64>,
}

impl Default for DeviceOptions {
    fn default() -> Self {
        Self {
            job_step_ms: 1_000,
            telemetry_ms: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct JobRun {
    job_id: String,
    document: Value,
    step: u32,
    /// When to run the next step; `None` while an update awaits its answer, stalled, or
    /// stepping by hand.
    next_at: Option<Millis>,
    /// An update was sent and its answer has not come.
    awaiting_answer: bool,
}

/// One virtual device (device role).
#[derive(Debug)]
pub struct Device {
    thing: ThingName,
    model: DeviceModel,
    shadow: DeviceShadow,
    commands: CommandAgent,
    jobs: JobsAgent,
    job_run: Option<JobRun>,
    behaviour: JobBehaviour,
    stepping: bool,
    extra_details: StatusDetails,
    auto_answer: bool,
    connected: bool,
    options: DeviceOptions,
    next_telemetry: Option<Millis>,
    /// Per-reading intervals that override `options.telemetry_ms`.
    metric_every: VecMap<String, Option<u64>>,
    /// When each reading is next due.
    metric_due: VecMap<String, Millis>,
    /// Readings that changed since they were last reported.
    unreported: State,
    last_tick: Millis,
    next_token: u64,
    outputs: VecDeque<DeviceOutput>,
}

impl Device {
    /// A device for `thing`; its first output subscribes to every Fleets topic of the thing
    /// (the session keeps and restores the subscriptions itself).
    pub fn new(now: Millis, thing: ThingName, model: DeviceModel, options: DeviceOptions) -> Self {
        let options = DeviceOptions {
            telemetry_ms: interval(options.telemetry_ms),
            ..options
        };
        let filters = Topic::device_subscriptions(&thing)
            .into_iter()
            .map(|f| (f, Qos::AtLeastOnce))
            .collect();
        let mut device = Self {
            thing,
            model,
            shadow: DeviceShadow::default(),
            commands: CommandAgent::default(),
            jobs: JobsAgent::default(),
            job_run: None,
            behaviour: JobBehaviour::Run,
            stepping: false,
            extra_details: StatusDetails::new(),
            auto_answer: true,
            connected: false,
            options,
            next_telemetry: options.telemetry_ms.map(|ms| now + ms),
            metric_every: VecMap::new(),
            metric_due: VecMap::new(),
            unreported: State::new(),
            last_tick: now,
            next_token: 0,
            outputs: VecDeque::new(),
        };
        device.schedule_tick(now);
        device
            .outputs
            .push_back(DeviceOutput::Mqtt(Command::Subscribe(filters)));
        device
    }

    /// The thing name.
    pub fn thing(&self) -> &ThingName {
        &self.thing
    }

    /// The model (its state is what the device reports).
    pub fn model(&self) -> &DeviceModel {
        &self.model
    }

    /// The newest shadow version seen.
    pub fn shadow_version(&self) -> Option<u64> {
        self.shadow.seen_version()
    }

    /// Commands waiting for a manual answer.
    pub fn pending_commands(&self) -> impl Iterator<Item = (&String, &CommandRequest)> {
        self.commands.pending().iter()
    }

    /// The job being run, and its step.
    pub fn current_job(&self) -> Option<(&str, u32)> {
        self.job_run.as_ref().map(|r| (r.job_id.as_str(), r.step))
    }

    /// The session reported something.
    pub fn handle_mqtt_event(&mut self, now: Millis, event: &Event) {
        match event {
            Event::Connected { .. } => {
                self.connected = true;
                // Re-sync: report the actual state (it may have changed offline) and ask the
                // jobs service what happened meanwhile. The shadow document comes from the
                // startup GET (handle_shadow_document).
                self.resync(now);
                let next = self.next_step_at(now);
                if let Some(run) = &mut self.job_run {
                    // An update sent before the link went down will not be answered.
                    run.awaiting_answer = false;
                    if run.next_at.is_none() {
                        run.next_at = next;
                    }
                }
            }
            Event::Disconnected => self.connected = false,
            Event::Received(message) => self.handle_message(now, message),
            _ => {}
        }
    }

    /// The shadow document from the startup GET (fleets-protocol.md, "Startup flow"): apply its
    /// delta when it is newer than what the device has seen.
    pub fn handle_shadow_document(&mut self, document: &ShadowDocument) {
        match self.shadow.handle_document(document) {
            DeltaVerdict::Apply(state) if !state.is_empty() => {
                self.apply_desired(document.version, &state)
            }
            DeltaVerdict::Apply(_) => {}
            // The same document again (an HTTPS device polls it) is not news.
            DeltaVerdict::Stale { got, seen } if got == seen => {}
            DeltaVerdict::Stale { got, seen } => self.event(DeviceEvent::DeltaStale { got, seen }),
        }
    }

    /// User intent.
    pub fn handle_command(&mut self, now: Millis, command: UserCommand) {
        match command {
            UserCommand::SetProperty { key, value } => match self.model.write(&key, &value) {
                Ok(Some(actual)) => {
                    let mut changed = State::new();
                    changed.insert(key, actual);
                    self.report(changed);
                }
                Ok(None) => {}
                Err(reason) => self.event(DeviceEvent::Refused {
                    source: "ui".into(),
                    reason,
                }),
            },
            UserCommand::AnswerCommand {
                execution_id,
                response,
            } => self.answer(&execution_id, response),
            UserCommand::IgnoreCommand { execution_id } => {
                if self.commands.drop_pending(&execution_id) {
                    self.event(DeviceEvent::CommandIgnored { execution_id });
                }
            }
            UserCommand::SetAutoAnswer(on) => self.auto_answer = on,
            UserCommand::PublishEvent { kind, payload } => self.publish_event(now, &kind, payload),
            UserCommand::SetJobBehaviour(b) => self.behaviour = b,
            UserCommand::SetAutoStartJobs(on) => self.jobs.auto_start = on,
            UserCommand::StartNextJob => {
                self.jobs.start_next();
                self.drain_jobs(now);
            }
            UserCommand::SetTelemetry(every) => {
                self.options.telemetry_ms = interval(every);
                self.schedule_tick(now);
            }
            UserCommand::SetMetricInterval { key, every } => {
                self.metric_every.insert(key.clone(), interval(every));
                self.metric_due.remove(&key);
                self.schedule_tick(now);
            }
            UserCommand::UseDefaultInterval(key) => {
                self.metric_every.remove(&key);
                self.metric_due.remove(&key);
                self.schedule_tick(now);
            }
            UserCommand::SetStepping(on) => {
                self.stepping = on;
                let next = self.next_step_at(now);
                if let Some(run) = self.job_run.as_mut().filter(|r| !r.awaiting_answer) {
                    run.next_at = next;
                }
            }
            UserCommand::NextStep => {
                let ready = self.job_run.as_ref().is_some_and(|r| !r.awaiting_answer);
                if ready && self.connected {
                    self.job_step(now);
                }
            }
            UserCommand::SetStatusDetails(details) => self.extra_details = details,
            UserCommand::Resync if self.connected => self.resync(now),
            UserCommand::Resync => {}
            UserCommand::CheckJobs => {
                self.jobs.check();
                self.drain_jobs(now);
            }
        }
    }

    /// The next tick, at the fastest interval moved by the model's jitter.
    fn schedule_tick(&mut self, now: Millis) {
        self.next_telemetry = self.tick_every().map(|ms| now + self.model.jittered(ms));
    }

    /// How often the model ticks: the fastest of the default and the per-reading intervals.
    fn tick_every(&self) -> Option<u64> {
        self.metric_every
            .values()
            .copied()
            .chain([self.options.telemetry_ms])
            .flatten()
            .min()
    }

    fn resync(&mut self, now: Millis) {
        self.report(self.model.state().clone());
        self.jobs.handle_connected();
        self.drain_jobs(now);
    }

    /// When the next job step runs on its own: never while stalled or stepping by hand.
    fn next_step_at(&self, now: Millis) -> Option<Millis> {
        (self.behaviour != JobBehaviour::Stall && !self.stepping)
            .then(|| now + self.options.job_step_ms)
    }

    /// A deadline from [`DeviceOutput::Idle`] passed.
    pub fn handle_timeout(&mut self, now: Millis) {
        if let Some(at) = self.next_telemetry
            && at <= now
        {
            let dt = now.saturating_since(self.last_tick) as f64 / 1000.0;
            self.last_tick = now;
            let changed = self.model.tick(dt);
            crate::shadow::state::merge(&mut self.unreported, &changed);
            // Each reading goes out on its own interval; the model ticks at the fastest one.
            let mut due = State::new();
            let keys: Vec<String> = self.unreported.keys().cloned().collect();
            for key in keys {
                let every = self
                    .metric_every
                    .get(&key)
                    .copied()
                    .unwrap_or(self.options.telemetry_ms);
                match every {
                    None => {
                        self.unreported.remove(&key);
                    }
                    Some(ms) if self.metric_due.get(&key).is_none_or(|at| *at <= now) => {
                        if let Some(v) = self.unreported.remove(&key) {
                            due.insert(key.clone(), v);
                        }
                        self.metric_due.insert(key, now + ms);
                    }
                    Some(_) => {}
                }
            }
            if self.connected && !due.is_empty() {
                self.report(due);
            }
            self.schedule_tick(now);
        }
        let due = self
            .job_run
            .as_ref()
            .is_some_and(|r| r.next_at.is_some_and(|at| at <= now));
        if due && self.connected {
            self.job_step(now);
        }
    }

    /// The next output; drain until `Idle`.
    #[must_use]
    pub fn poll_output(&mut self) -> DeviceOutput {
        self.outputs
            .pop_front()
            .unwrap_or_else(|| DeviceOutput::Idle {
                // Job steps wait for the connection (handle_mqtt_event reschedules them).
                deadline: [
                    self.next_telemetry,
                    self.job_run
                        .as_ref()
                        .and_then(|r| r.next_at)
                        .filter(|_| self.connected),
                ]
                .into_iter()
                .flatten()
                .min(),
            })
    }

    fn handle_message(&mut self, now: Millis, message: &Message) {
        let Some((thing, topic)) = Topic::parse(&message.topic) else {
            return;
        };
        if thing != self.thing {
            return;
        }
        match topic {
            Topic::Shadow(ShadowTopic::UpdateDelta) => match Delta::from_slice(&message.payload) {
                Ok(delta) => match self.shadow.handle_delta(&delta) {
                    DeltaVerdict::Apply(state) => self.apply_desired(delta.version, &state),
                    DeltaVerdict::Stale { got, seen } => {
                        self.event(DeviceEvent::DeltaStale { got, seen })
                    }
                },
                Err(e) => self.refuse(&message.topic, e.to_string()),
            },
            // Desired documents from the cloud and our own reports: the delta carries what
            // matters, so nothing to do here.
            Topic::Shadow(ShadowTopic::Update) => {}
            // A retained request is one somebody left on the topic, not one the cloud sends
            // now: replayed at every subscribe, it would run again on every connect.
            Topic::Command(CommandTopic::Request(_)) if message.retain => self.refuse(
                &message.topic,
                "a retained command request: left on the topic, not sent now; not run".into(),
            ),
            Topic::Command(CommandTopic::Request(execution_id)) => {
                let secs = now.0 / 1000;
                match self
                    .commands
                    .handle_request(secs, &execution_id, &message.payload)
                {
                    RequestVerdict::Execute(request) => {
                        self.event(DeviceEvent::CommandReceived {
                            execution_id: execution_id.clone(),
                            request: request.clone(),
                        });
                        if self.auto_answer {
                            let before = self.model.state().clone();
                            let response = self.model.run_command(&request.action, &request.params);
                            self.answer(&execution_id, response);
                            let changed = crate::shadow::state::delta(self.model.state(), &before);
                            if !changed.is_empty() {
                                self.report(changed);
                            }
                        }
                    }
                    RequestVerdict::Respond(response) | RequestVerdict::Duplicate(response) => {
                        self.publish(
                            Topic::Command(CommandTopic::Response(execution_id.clone())),
                            response.to_vec(),
                        );
                        self.event(DeviceEvent::CommandAnswered {
                            execution_id,
                            response,
                        });
                    }
                    RequestVerdict::InProgress => {}
                    RequestVerdict::Expired { request } => {
                        self.event(DeviceEvent::CommandExpired {
                            execution_id,
                            request,
                        });
                    }
                }
            }
            Topic::Jobs(jobs_topic) => {
                self.jobs.handle_message(&jobs_topic, &message.payload);
                self.drain_jobs(now);
            }
            // Our own outgoing topics echoed back (MQTT 3.1.1 has no No Local).
            Topic::Command(CommandTopic::Response(_)) | Topic::Event(_) => {}
        }
    }

    fn apply_desired(&mut self, version: u64, desired: &State) {
        let (applied, refused) = self.model.apply_desired(desired);
        // Applied, then reported: the events (and the console's timeline) in that order.
        let report = (!applied.is_empty()).then(|| applied.clone());
        self.event(DeviceEvent::DeltaApplied {
            version,
            applied,
            refused,
        });
        if let Some(applied) = report {
            self.report(applied);
        }
    }

    fn answer(&mut self, execution_id: &str, response: CommandResponse) {
        match self.commands.respond(execution_id, response.clone()) {
            Ok(payload) => {
                self.publish(
                    Topic::Command(CommandTopic::Response(execution_id.to_owned())),
                    payload,
                );
                self.event(DeviceEvent::CommandAnswered {
                    execution_id: execution_id.to_owned(),
                    response,
                });
            }
            Err(e) => self.event(DeviceEvent::Refused {
                source: "ui".into(),
                reason: e.to_string(),
            }),
        }
    }

    fn publish_event(&mut self, now: Millis, kind: &str, payload: Value) {
        let topic = Topic::Event(kind.to_owned());
        if !crate::topics::is_one_level(kind) {
            return self.event(DeviceEvent::Refused {
                source: "ui".into(),
                reason: format!(
                    "event type {}: one topic level, no /, + or #",
                    thingsim_mqtt::quoted(kind)
                ),
            });
        }
        let mut body = Map::new();
        body.insert("timestamp".into(), Value::from(now.0 / 1000));
        body.insert("data".into(), payload);
        self.publish(topic, serde_json::to_vec(&body).unwrap_or_default());
        self.event(DeviceEvent::EventPublished {
            kind: kind.to_owned(),
        });
    }

    fn drain_jobs(&mut self, now: Millis) {
        while let Some(output) = self.jobs.poll_output() {
            match output {
                AgentOutput::Publish(topic, payload) => self.publish(topic, payload),
                AgentOutput::Event(event) => {
                    self.on_job_event(now, &event);
                    self.event(DeviceEvent::Job(event));
                }
            }
        }
    }

    fn on_job_event(&mut self, now: Millis, event: &JobEvent) {
        match event {
            JobEvent::Started(execution) => {
                let document = execution.job_document.clone().unwrap_or(Value::Null);
                let verdict = validate_job_document(&document)
                    .map_err(|e| e.to_string())
                    .and_then(|()| self.model.check_job(&document).map(|_| ()));
                let refusal = match (verdict, self.behaviour) {
                    (Err(reason), _) => Some(reason),
                    (Ok(()), JobBehaviour::Reject) => {
                        Some("the device refuses jobs (reject toggle)".to_owned())
                    }
                    (Ok(()), _) => None,
                };
                if let Some(reason) = refusal {
                    self.job_update(now, JobStatus::Rejected, &[("reason", reason)]);
                    return;
                }
                self.job_run = Some(JobRun {
                    job_id: execution.job_id.clone(),
                    document,
                    step: 0,
                    next_at: self.next_step_at(now),
                    awaiting_answer: false,
                });
            }
            JobEvent::Updated { job_id, state } => {
                let next = self.next_step_at(now);
                if let Some(run) = self.job_run.as_mut().filter(|r| &r.job_id == job_id) {
                    run.awaiting_answer = false;
                    if state.status.is_terminal() {
                        self.job_run = None;
                    } else {
                        run.next_at = next;
                    }
                }
            }
            JobEvent::Rejected {
                job_id: Some(job_id),
                rejection,
            } => {
                let ended = matches!(
                    rejection.code,
                    RejectCode::TerminalStateReached | RejectCode::ResourceNotFound
                );
                if ended && self.job_run.as_ref().is_some_and(|r| &r.job_id == job_id) {
                    self.job_run = None;
                }
            }
            _ => {}
        }
    }

    /// Runs the next step; the one after is scheduled when this step's update is accepted.
    fn job_step(&mut self, now: Millis) {
        let Some(run) = self.job_run.as_mut() else {
            return;
        };
        run.step += 1;
        run.next_at = None; // until the update is accepted
        run.awaiting_answer = true;
        let (step, job_id, document) = (run.step, run.job_id.clone(), run.document.clone());
        if self.behaviour == JobBehaviour::FailAtStep(step) {
            self.job_update(
                now,
                JobStatus::Failed,
                &[("reason", format!("failed at step {step} (fail toggle)"))],
            );
            return;
        }
        let before = self.model.state().clone();
        match self.model.job_step(&document, step) {
            StepOutcome::Progress {
                percent,
                step: what,
            } => {
                self.event(DeviceEvent::JobProgress {
                    job_id,
                    percent,
                    step: what.clone(),
                });
                self.job_update(
                    now,
                    JobStatus::InProgress,
                    &[("progress", percent.to_string()), ("step", what)],
                );
            }
            StepOutcome::Done { summary } => {
                self.event(DeviceEvent::JobProgress {
                    job_id,
                    percent: 100,
                    step: "done".into(),
                });
                let changed = crate::shadow::state::delta(self.model.state(), &before);
                if !changed.is_empty() {
                    self.report(changed);
                }
                self.job_update(
                    now,
                    JobStatus::Succeeded,
                    &[("progress", "100".into()), ("summary", summary)],
                );
            }
            StepOutcome::Failed { reason } => {
                self.job_update(now, JobStatus::Failed, &[("reason", reason)])
            }
        }
    }

    fn job_update(&mut self, now: Millis, status: JobStatus, details: &[(&str, String)]) {
        let mut all = self.extra_details.clone();
        all.extend(details.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        let details = all;
        if let Err(e) = self.jobs.update(status, details, None) {
            self.event(DeviceEvent::Refused {
                source: "jobs".into(),
                reason: e.to_string(),
            });
        }
        self.drain_jobs(now);
    }

    fn report(&mut self, state: State) {
        self.next_token += 1;
        let update = Update {
            client_token: Some(format!("{}-{}", self.thing, self.next_token)),
            ..Update::reported(state.clone())
        };
        self.publish(Topic::Shadow(ShadowTopic::Update), update.to_vec());
        self.event(DeviceEvent::Reported(state));
    }

    fn refuse(&mut self, source: &str, reason: String) {
        self.event(DeviceEvent::Refused {
            source: source.to_owned(),
            reason,
        });
    }

    fn publish(&mut self, topic: Topic, payload: Vec<u8>) {
        let message = Message::new(topic.assemble(&self.thing), payload, Qos::AtLeastOnce);
        self.outputs
            .push_back(DeviceOutput::Mqtt(Command::Publish(message)));
    }

    fn event(&mut self, event: DeviceEvent) {
        self.outputs.push_back(DeviceOutput::Event(event));
    }
}
