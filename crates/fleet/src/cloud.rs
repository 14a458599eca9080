//! The cloud role, composed: shadows, command executions and jobs of many things behind one
//! MQTT connection. The native stand-in (`thingsim-cloud`) and the in-page sandbox both run
//! this, so Fleets semantics exist once.
//!
//! Sans-I/O: feed it what arrives on [`Cloud::subscriptions`] ([`Cloud::handle_message`]),
//! operator intent (`set_desired`, `send_command`, `create_job`, `cancel_job`) and timeouts;
//! drain [`Cloud::poll_output`] for publishes and events.

use crate::vec_map::{VecMap, VecSet};
use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thingsim_mqtt::{Message, Millis, Qos};

use crate::api::{self, Method, Outcome, Route};
use crate::commands::{CommandTracker, Execution};
use crate::jobs::JobExecution;
use crate::jobs::cloud::{Job, JobType, JobsCloud, JobsSnapshot, NewJob, Outgoing, Rollout};
use crate::shadow::Update;
use crate::shadow::cloud::{Accepted, Rejection, Shadow};
use crate::shadow::state::State;
use crate::topics::{CommandTopic, JobsTopic, Reply, ShadowTopic};
use crate::{Result, ThingName, Topic, json};

/// What happened, for the operator's UI and logs.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudEvent {
    /// A shadow changed.
    ShadowUpdated {
        /// Whose.
        thing: ThingName,
        /// Its version now.
        version: u64,
    },
    /// An update was refused (there is no rejected topic for MQTT shadow updates in the
    /// reference, so the refusal is an event and a log line).
    ShadowRejected {
        /// Whose.
        thing: ThingName,
        /// Why.
        rejection: Rejection,
    },
    /// A command execution changed status.
    Command(Execution),
    /// A device published an event.
    DeviceEvent {
        /// Who.
        thing: ThingName,
        /// Its type.
        kind: String,
        /// Its body.
        payload: Value,
    },
    /// A payload was refused; nothing changed.
    Refused {
        /// Where it came from.
        topic: String,
        /// Why.
        reason: String,
    },
}

/// What the shell has to do next.
#[derive(Debug, Clone, PartialEq)]
pub enum CloudOutput {
    /// Publish this.
    Publish(Message),
    /// Tell the operator.
    Event(CloudEvent),
    /// Nothing more until input or `deadline`.
    Idle {
        /// When to call [`Cloud::handle_timeout`].
        deadline: Option<Millis>,
    },
}

/// Operator intent from a console's cloud panel: one type whether the cloud runs in the page
/// (sandbox, [`Cloud::operate`]) or behind thingsim-cloud's HTTP API ([`Operation::http`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// Set desired state (`null` deletes a key).
    SetDesired {
        /// Whose.
        thing: ThingName,
        /// What.
        desired: State,
    },
    /// Send a command.
    SendCommand {
        /// To whom.
        thing: ThingName,
        /// What to do.
        action: String,
        /// Its arguments.
        params: Map<String, Value>,
        /// Seconds to wait for the answer.
        ttl: u64,
    },
    /// Create a job for one thing.
    CreateJob {
        /// For whom.
        thing: ThingName,
        /// The job document.
        document: Value,
        /// Minutes each step may take (`None`: no limit).
        step_timeout_minutes: Option<u64>,
    },
    /// Cancel a job.
    CancelJob {
        /// Which.
        job_id: String,
    },
}

impl Operation {
    /// The management API request that performs it: method, path and JSON body (the routes
    /// and bodies of [`crate::api`]).
    pub fn http(&self) -> (Method, String, Value) {
        match self {
            Self::SetDesired { thing, desired } => (
                Method::Put,
                Route::Desired(thing.as_str().to_owned()).path(),
                json::object([(
                    "state",
                    json::object([("desired", Value::Object(desired.clone()))]),
                )]),
            ),
            Self::SendCommand {
                thing,
                action,
                params,
                ttl,
            } => (
                Method::Post,
                Route::Commands.path(),
                json::to_value(&api::SendCommand {
                    thing_name: thing.as_str().to_owned(),
                    action: action.clone(),
                    params: params.clone(),
                    ttl: *ttl,
                }),
            ),
            Self::CreateJob {
                thing,
                document,
                step_timeout_minutes,
            } => (
                Method::Post,
                Route::Jobs.path(),
                json::to_value(&api::CreateJob {
                    description: CONSOLE_JOB.to_owned(),
                    targets: api::Targets {
                        thing_names: vec![thing.as_str().to_owned()],
                        thing_group_names: Vec::new(),
                    },
                    document: document.clone(),
                    job_type: JobType::Snapshot,
                    step_timeout_in_minutes: *step_timeout_minutes,
                    rollout: Rollout::default(),
                }),
            ),
            Self::CancelJob { job_id } => (
                Method::Post,
                Route::JobCancel(job_id.clone()).path(),
                Value::Null,
            ),
        }
    }

    /// What the API's `answer` to [`Operation::http`] says was done.
    pub fn outcome(&self, answer: &Value) -> Outcome {
        let field = |k: &str| match answer.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(v) => json::text(v),
            None => String::new(),
        };
        match self {
            Self::SetDesired { .. } => Outcome::DesiredSet {
                version: answer.get("version").and_then(Value::as_u64).unwrap_or(0),
            },
            Self::SendCommand { action, .. } => Outcome::CommandSent {
                action: action.clone(),
                execution_id: field("executionId"),
            },
            Self::CreateJob { .. } => Outcome::JobCreated {
                job_id: field("jobId"),
            },
            Self::CancelJob { job_id } => Outcome::JobCanceled {
                job_id: job_id.clone(),
            },
        }
    }
}

/// Everything the cloud role knows, for a backend to persist and restore.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudSnapshot {
    /// Shadows of every known thing.
    pub shadows: VecMap<ThingName, Shadow>,
    /// Command executions.
    pub commands: CommandTracker,
    /// Jobs and executions.
    pub jobs: JobsSnapshot,
    /// The counter behind our own desired-update tokens.
    pub next_token: u64,
    /// Thing groups and their members.
    #[serde(default)]
    pub groups: VecMap<String, VecSet<ThingName>>,
}

/// The cloud's state by reference ([`Cloud::parts`]).
#[derive(Debug, Clone, Copy)]
pub struct CloudParts<'a> {
    /// Shadows of every known thing.
    pub shadows: &'a VecMap<ThingName, Shadow>,
    /// Command executions.
    pub commands: &'a CommandTracker,
    /// Jobs and executions.
    pub jobs: &'a JobsCloud,
    /// Thing groups and their members.
    pub groups: &'a VecMap<String, VecSet<ThingName>>,
    /// The counter behind our own desired-update tokens.
    pub next_token: u64,
}

/// The description of jobs a console creates.
const CONSOLE_JOB: &str = "from the thingsim console";

/// Things the cloud keeps: past this a new thing is refused (by the API, a report, a group),
/// so a stranger inventing names cannot grow it without end.
pub const MAX_THINGS: usize = 50_000;

/// Remembered tokens of our own desired updates, to ignore their echo on `shadow/update`.
const OWN_TOKENS: usize = 1024;

/// The cloud role for many things.
#[derive(Debug, Default)]
pub struct Cloud {
    shadows: VecMap<ThingName, Shadow>,
    groups: VecMap<String, VecSet<ThingName>>,
    commands: CommandTracker,
    jobs: JobsCloud,
    own_tokens: VecDeque<String>,
    next_token: u64,
    token_seed: u64,
    outputs: VecDeque<CloudOutput>,
    /// What the cloud last heard from each registered thing (not stored: after a restart a
    /// thing is unknown until it speaks).
    seen: VecMap<ThingName, Seen>,
}

/// When a thing last spoke, and whether that was its Last Will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    at: Millis,
    last_will: bool,
}

/// Silence after which a thing counts as offline. The cloud cannot see a device's keep-alive
/// (the broker answers it), only its messages: 90 s is one and a half times the default
/// keep-alive, and thingsim's devices report every 5 s unless told otherwise.
pub const OFFLINE_AFTER_MS: u64 = 90_000;

/// What the cloud can tell of a thing's connection from what it hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Nothing heard since the cloud started.
    Unknown,
    /// Heard within [`OFFLINE_AFTER_MS`].
    Online {
        /// Its last message.
        last_seen: Millis,
    },
    /// Its Last Will came (`events/offline`), or it has been silent too long.
    Offline {
        /// Its last message.
        last_seen: Millis,
        /// Which of the two.
        why: &'static str,
    },
}

impl Presence {
    /// As the API says it: `online`, `offline` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Online { .. } => "online",
            Self::Offline { .. } => "offline",
        }
    }
}

impl Cloud {
    /// Everything, for persistence.
    pub fn snapshot(&self) -> CloudSnapshot {
        CloudSnapshot {
            shadows: self.shadows.clone(),
            commands: self.commands.clone(),
            jobs: self.jobs.snapshot(),
            next_token: self.next_token,
            groups: self.groups.clone(),
        }
    }

    /// Back from a snapshot, where it stopped.
    pub fn restore(snapshot: CloudSnapshot) -> Self {
        Self {
            shadows: snapshot.shadows,
            commands: snapshot.commands,
            jobs: JobsCloud::restore(snapshot.jobs),
            next_token: snapshot.next_token,
            groups: snapshot.groups,
            ..Self::default()
        }
    }

    /// The filters the cloud subscribes to: every device-to-cloud topic of every thing, named
    /// explicitly because `#` never matches `$` topics [MQTT-4.7.2-1].
    pub fn subscriptions() -> Vec<(String, Qos)> {
        [
            "$emqx/things/+/shadow/update",
            "$emqx/things/+/events/+",
            "$emqx/commands/things/+/executions/+/response",
            "$emqx/things/+/jobs/get",
            "$emqx/things/+/jobs/start-next",
            "$emqx/things/+/jobs/+/get",
            "$emqx/things/+/jobs/+/update",
        ]
        .into_iter()
        .map(|f| (f.to_owned(), Qos::AtLeastOnce))
        .collect()
    }

    /// A message arrived on one of [`Cloud::subscriptions`].
    pub fn handle_message(&mut self, now: Millis, message: &Message) {
        let secs = now.0 / 1000;
        let Some((thing, topic)) = Topic::parse(&message.topic) else {
            return;
        };
        // A retained message is one somebody left on the topic, replayed to whoever
        // subscribes: a stale report, or a forged command response, not news from the device.
        if message.retain {
            return self.refuse(
                &message.topic,
                "a retained message: replayed by the broker, not sent by the device now".into(),
            );
        }
        // Any message from a registered thing says it is there; its Last Will says it is not.
        let last_will = matches!(&topic, Topic::Event(kind) if kind == "offline");
        let seen = Seen { at: now, last_will };
        if let Some(entry) = self.seen.get_mut(&thing) {
            *entry = seen;
        } else if self.shadows.contains_key(&thing) {
            self.seen.insert(thing.clone(), seen);
        }
        match topic {
            Topic::Shadow(ShadowTopic::Update) => {
                if let Ok(update) = Update::from_slice(&message.payload)
                    && update
                        .client_token
                        .as_ref()
                        .is_some_and(|t| self.own_tokens.contains(t))
                {
                    return; // our own desired update, echoed back
                }
                if !self.has_room_for(&thing) {
                    return self.refuse(
                        &message.topic,
                        format!("a new thing, and the cloud holds {MAX_THINGS} already"),
                    );
                }
                // A thing is registered by its first accepted report, not by a refused one.
                let mut shadow = self.shadows.get(&thing).cloned().unwrap_or_default();
                let result = shadow.apply_payload(secs, &message.payload);
                if result.is_ok() {
                    self.shadows.insert(thing.clone(), shadow);
                    self.seen.entry(thing.clone()).or_insert(seen);
                }
                self.after_update(&thing, result);
            }
            Topic::Command(CommandTopic::Response(execution_id)) => {
                match self
                    .commands
                    .handle_response(secs, &execution_id, &message.payload)
                {
                    Ok(execution) => {
                        let execution = execution.clone();
                        self.event(CloudEvent::Command(execution));
                    }
                    Err(e) => self.refuse(&message.topic, e.to_string()),
                }
            }
            Topic::Event(kind) if kind.chars().any(char::is_control) => self.refuse(
                &message.topic,
                "an event type with control characters".into(),
            ),
            Topic::Event(kind) => match json::document::<Value>("event", &message.payload) {
                Ok(payload) => self.event(CloudEvent::DeviceEvent {
                    thing,
                    kind,
                    payload,
                }),
                Err(e) => self.refuse(&message.topic, e.to_string()),
            },
            Topic::Jobs(
                jobs_topic @ (JobsTopic::Get(Reply::Request)
                | JobsTopic::StartNext(Reply::Request)
                | JobsTopic::JobGet(_, Reply::Request)
                | JobsTopic::JobUpdate(_, Reply::Request)),
            ) => {
                let out = self
                    .jobs
                    .handle_request(secs, &thing, &jobs_topic, &message.payload);
                self.publish_all(out);
            }
            // Cloud-to-device topics: ours to send, not to handle.
            Topic::Shadow(ShadowTopic::UpdateDelta)
            | Topic::Command(CommandTopic::Request(_))
            | Topic::Jobs(_) => {}
        }
    }

    /// Sets desired state (`null` deletes a key); publishes the update and, when there is
    /// something for the device to do, the delta.
    pub fn set_desired(
        &mut self,
        now: Millis,
        thing: &ThingName,
        desired: State,
    ) -> Result<Accepted, Rejection> {
        self.set_desired_at_version(now, thing, desired, None)
    }

    /// [`Cloud::set_desired`] with optimistic locking: a `version` other than `None` or 0 must
    /// equal the shadow's, or the update is rejected with 409 and changes nothing.
    pub fn set_desired_at_version(
        &mut self,
        now: Millis,
        thing: &ThingName,
        desired: State,
        version: Option<u64>,
    ) -> Result<Accepted, Rejection> {
        // Unguessable, so a stranger's update cannot pass for the cloud's own echo.
        let token = format!(
            "cloud-{}",
            crate::jobs::cloud::draw_id(self.token_seed, &mut self.next_token, |_| false)
        );
        if self.own_tokens.len() == OWN_TOKENS {
            self.own_tokens.pop_front();
        }
        self.own_tokens.push_back(token.clone());
        let update = Update {
            client_token: Some(token),
            version,
            ..Update::desired(desired)
        };
        let secs = now.0 / 1000;
        let result = self
            .shadows
            .entry(thing.clone())
            .or_default()
            .apply(secs, &update);
        if result.is_ok() {
            self.publish(
                Topic::Shadow(ShadowTopic::Update).assemble(thing),
                update.to_vec(),
            );
        }
        self.after_update(thing, result.clone());
        result
    }

    /// A report that did not come over MQTT (the ThingDatas HTTP API): same rules, same delta.
    pub fn report(
        &mut self,
        now: Millis,
        thing: &ThingName,
        update: &Update,
    ) -> Result<Accepted, Rejection> {
        let result = self
            .shadows
            .entry(thing.clone())
            .or_default()
            .apply(now.0 / 1000, update);
        self.after_update(thing, result.clone());
        result
    }

    /// A jobs request that arrived over HTTP (ThingDatas): answered like its MQTT twin. Returns
    /// the reply (`Ok` for `/accepted`, `Err` for `/rejected`, both as JSON payloads); the
    /// notifications that follow are published as usual.
    pub fn jobs_request(
        &mut self,
        now: Millis,
        thing: &ThingName,
        topic: &JobsTopic,
        payload: &[u8],
    ) -> Result<Vec<u8>, Vec<u8>> {
        let mut out = self
            .jobs
            .handle_request(now.0 / 1000, thing, topic, payload);
        let reply = if out.is_empty() {
            None
        } else {
            Some(out.remove(0))
        };
        self.publish_all(out);
        match reply {
            Some(Outgoing {
                topic:
                    Topic::Jobs(
                        JobsTopic::Get(Reply::Accepted)
                        | JobsTopic::StartNext(Reply::Accepted)
                        | JobsTopic::JobGet(_, Reply::Accepted)
                        | JobsTopic::JobUpdate(_, Reply::Accepted),
                    ),
                payload,
                ..
            }) => Ok(payload),
            Some(o) => Err(o.payload),
            None => Err(br#"{"code":"InvalidRequest","message":"not a jobs request"}"#.to_vec()),
        }
    }

    /// An event that arrived over HTTP (ThingDatas).
    pub fn device_event(&mut self, thing: &ThingName, kind: &str, payload: Value) {
        self.event(CloudEvent::DeviceEvent {
            thing: thing.clone(),
            kind: kind.to_owned(),
            payload,
        });
    }

    /// Sends a command; returns its execution id. Without an answer within `ttl` seconds it
    /// times out.
    pub fn send_command(
        &mut self,
        now: Millis,
        thing: &ThingName,
        action: &str,
        params: Map<String, Value>,
        ttl: u64,
    ) -> String {
        let execution = self
            .commands
            .send(now.0 / 1000, thing.as_str(), action, params, ttl)
            .clone();
        let topic =
            Topic::Command(CommandTopic::Request(execution.execution_id.clone())).assemble(thing);
        self.publish(
            topic,
            serde_json::to_vec(&execution.request).unwrap_or_default(),
        );
        self.event(CloudEvent::Command(execution.clone()));
        execution.execution_id
    }

    /// Creates a job; returns its id.
    pub fn create_job(
        &mut self,
        now: Millis,
        description: &str,
        document: Value,
        things: &[ThingName],
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
    ) -> Result<String> {
        let (job_id, out) = self.jobs.create_job(
            now.0 / 1000,
            description,
            document,
            things,
            job_type,
            step_timeout_minutes,
        )?;
        self.publish_all(out);
        Ok(job_id)
    }

    /// Creates `job` for `things` and every member of its target groups (a thing in both gets
    /// one execution); returns its id. An unknown group changes nothing.
    pub fn create_fleet_job(
        &mut self,
        now: Millis,
        job: NewJob,
        things: &[ThingName],
    ) -> Result<String> {
        let mut targets: VecSet<ThingName> = things.iter().cloned().collect();
        for group in &job.target_groups {
            let members = self
                .groups
                .get(group)
                .ok_or_else(|| crate::Error::Unknown {
                    what: "thing group",
                    id: group.clone(),
                })?;
            targets.extend(members.iter().cloned());
        }
        let targets: Vec<ThingName> = targets.into_iter().collect();
        let (job_id, out) = self.jobs.create(now.0 / 1000, job, &targets)?;
        self.publish_all(out);
        Ok(job_id)
    }

    /// Job ids, command execution ids and the cloud's own client tokens are UUIDs drawn from
    /// `seed` and counters (see [`JobsCloud::seed_ids`]): the same seed gives the same ids, and
    /// a stranger cannot guess them.
    pub fn seed_ids(&mut self, seed: u64) {
        self.jobs.seed_ids(seed);
        self.commands.seed_ids(seed);
        self.token_seed = seed;
    }

    /// Creates an empty thing group; false when it exists. Names are 1 to 128 characters
    /// without control characters.
    pub fn create_group(&mut self, name: &str) -> Result<bool> {
        if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
            return Err(crate::Error::Malformed {
                document: "thing group",
                reason: "a name of 1 to 128 characters without control characters".to_owned(),
            });
        }
        if self.groups.contains_key(name) {
            return Ok(false);
        }
        self.groups.insert(name.to_owned(), VecSet::new());
        Ok(true)
    }

    fn group_mut(&mut self, group: &str) -> Result<&mut VecSet<ThingName>> {
        self.groups
            .get_mut(group)
            .ok_or_else(|| crate::Error::Unknown {
                what: "thing group",
                id: group.to_owned(),
            })
    }

    /// Adds `thing` to `group` (registering the thing when it is new). Every CONTINUOUS job
    /// that targets the group reaches it.
    pub fn add_to_group(&mut self, now: Millis, group: &str, thing: &ThingName) -> Result<()> {
        if !self.has_room_for(thing) {
            return Err(crate::Error::Malformed {
                document: "thing",
                reason: format!("the cloud holds {MAX_THINGS} things already"),
            });
        }
        let members = self.group_mut(group)?;
        if !members.insert(thing.clone()) {
            return Ok(());
        }
        self.create_thing(thing);
        let continuous: Vec<String> = self
            .jobs
            .jobs()
            .filter(|j| {
                j.job_type == JobType::Continuous && j.target_groups.iter().any(|g| g == group)
            })
            .map(|j| j.job_id.clone())
            .collect();
        for job_id in continuous {
            let out = self.jobs.add_target(now.0 / 1000, &job_id, thing)?;
            self.publish_all(out);
        }
        Ok(())
    }

    /// Takes `thing` out of `group`; its executions stay as they are.
    pub fn remove_from_group(&mut self, group: &str, thing: &ThingName) -> Result<bool> {
        let members = self.group_mut(group)?;
        Ok(members.remove(thing))
    }

    /// Deletes a thing group (its things stay); false when there was none.
    pub fn delete_group(&mut self, group: &str) -> bool {
        self.groups.remove(group).is_some()
    }

    /// Every group with its members.
    pub fn groups(&self) -> impl Iterator<Item = (&String, &VecSet<ThingName>)> {
        self.groups.iter()
    }

    /// Cancels a job.
    pub fn cancel_job(&mut self, now: Millis, job_id: &str) -> Result<()> {
        let out = self.jobs.cancel_job(now.0 / 1000, job_id)?;
        self.publish_all(out);
        Ok(())
    }

    /// Runs operator intent; `Ok` says what happened, `Err` why nothing did.
    pub fn operate(&mut self, now: Millis, operation: Operation) -> Result<String, String> {
        match operation {
            Operation::SetDesired { thing, desired } => self
                .set_desired(now, &thing, desired)
                .map(|a| Outcome::DesiredSet { version: a.version }.to_string())
                .map_err(|r| r.to_string()),
            Operation::SendCommand {
                thing,
                action,
                params,
                ttl,
            } => {
                let execution_id = self.send_command(now, &thing, &action, params, ttl);
                Ok(Outcome::CommandSent {
                    action,
                    execution_id,
                }
                .to_string())
            }
            Operation::CreateJob {
                thing,
                document,
                step_timeout_minutes,
            } => self
                .create_job(
                    now,
                    CONSOLE_JOB,
                    document,
                    &[thing],
                    JobType::Snapshot,
                    step_timeout_minutes,
                )
                .map(|job_id| Outcome::JobCreated { job_id }.to_string())
                .map_err(|e| e.to_string()),
            Operation::CancelJob { job_id } => self
                .cancel_job(now, &job_id)
                .map(|()| Outcome::JobCanceled { job_id }.to_string())
                .map_err(|e| e.to_string()),
        }
    }

    /// A deadline from [`CloudOutput::Idle`] passed: command TTLs, job step timeouts.
    pub fn handle_timeout(&mut self, now: Millis) {
        let secs = now.0 / 1000;
        for id in self.commands.handle_timeout(secs) {
            if let Some(execution) = self.commands.get(&id).cloned() {
                self.event(CloudEvent::Command(execution));
            }
        }
        let out = self.jobs.handle_timeout(secs);
        self.publish_all(out);
    }

    /// The next output; drain until `Idle`.
    #[must_use]
    pub fn poll_output(&mut self) -> CloudOutput {
        if let Some(output) = self.outputs.pop_front() {
            return output;
        }
        // A roll-out to a thousand things queues thousands of outputs at once; once they are
        // drained, the queue gives that memory back.
        if self.outputs.capacity() > 256 {
            self.outputs.shrink_to_fit();
        }
        CloudOutput::Idle {
            deadline: [self.commands.poll_timeout(), self.jobs.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
                .map(|secs| Millis(secs * 1000)),
        }
    }

    /// A thing's shadow (default: empty, version 0).
    pub fn shadow(&self, thing: &ThingName) -> Shadow {
        self.shadows.get(thing).cloned().unwrap_or_default()
    }

    /// Whether `thing`'s shadow has a delta (desired state the device has not reported),
    /// without copying the shadow.
    pub fn delta_pending(&self, thing: &ThingName) -> bool {
        self.shadows
            .get(thing)
            .is_some_and(|s| !s.delta().is_empty())
    }

    /// Whether `thing` is known or there is room for it ([`MAX_THINGS`]).
    pub fn has_room_for(&self, thing: &ThingName) -> bool {
        self.shadows.contains_key(thing) || self.shadows.len() < MAX_THINGS
    }

    /// Registers a thing (a device that reports is registered on its first report); false
    /// when it already existed or there is no room for another ([`Cloud::has_room_for`]).
    pub fn create_thing(&mut self, thing: &ThingName) -> bool {
        if self.shadows.contains_key(thing) || !self.has_room_for(thing) {
            return false;
        }
        self.shadows.insert(thing.clone(), Shadow::default());
        true
    }

    /// Deletes a thing: its shadow, its group memberships and its command and job executions
    /// (a fleet's removed device leaves nothing behind); false when it was not known.
    pub fn delete_thing(&mut self, thing: &ThingName) -> bool {
        for members in self.groups.values_mut() {
            members.remove(thing);
        }
        self.commands.forget_thing(thing.as_str());
        self.jobs.forget_thing(thing);
        self.seen.remove(thing);
        self.shadows.remove(thing).is_some()
    }

    /// What the cloud can tell of `thing`'s connection at `now`, from its messages alone.
    pub fn presence(&self, now: Millis, thing: &ThingName) -> Presence {
        match self.seen.get(thing) {
            None => Presence::Unknown,
            Some(seen) if seen.last_will => Presence::Offline {
                last_seen: seen.at,
                why: "its Last Will arrived",
            },
            Some(seen) if now.saturating_since(seen.at) > OFFLINE_AFTER_MS => Presence::Offline {
                last_seen: seen.at,
                why: "nothing heard from it for 90 s",
            },
            Some(seen) => Presence::Online { last_seen: seen.at },
        }
    }

    /// Whether the thing is known.
    pub fn has_thing(&self, thing: &ThingName) -> bool {
        self.shadows.contains_key(thing)
    }

    /// Known things.
    pub fn things(&self) -> impl Iterator<Item = &ThingName> {
        self.shadows.keys()
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.jobs()
    }

    /// Everything [`Cloud::snapshot`] copies, by reference: a store reads it to write only
    /// what changed, without a copy of every shadow per message.
    pub fn parts(&self) -> CloudParts<'_> {
        CloudParts {
            shadows: &self.shadows,
            commands: &self.commands,
            jobs: &self.jobs,
            groups: &self.groups,
            next_token: self.next_token,
        }
    }

    /// Every thing's execution of one job.
    pub fn job_executions(&self, job_id: &str) -> Vec<&JobExecution> {
        self.jobs.executions_of(job_id)
    }

    /// One command execution.
    pub fn execution(&self, execution_id: &str) -> Option<&Execution> {
        self.commands.get(execution_id)
    }

    /// One job.
    pub fn job(&self, job_id: &str) -> Option<&Job> {
        self.jobs.job(job_id)
    }

    /// One thing's execution of a job.
    pub fn job_execution(&self, thing: &ThingName, job_id: &str) -> Option<&JobExecution> {
        self.jobs.execution(thing, job_id)
    }

    fn after_update(&mut self, thing: &ThingName, result: Result<Accepted, Rejection>) {
        match result {
            Ok(accepted) => {
                if let Some(delta) = accepted.delta {
                    self.publish(
                        Topic::Shadow(ShadowTopic::UpdateDelta).assemble(thing),
                        delta.to_vec(),
                    );
                }
                self.event(CloudEvent::ShadowUpdated {
                    thing: thing.clone(),
                    version: accepted.version,
                });
            }
            Err(rejection) => self.event(CloudEvent::ShadowRejected {
                thing: thing.clone(),
                rejection,
            }),
        }
    }

    fn publish_all(&mut self, out: Vec<Outgoing>) {
        for o in out {
            self.publish(o.topic_string(), o.payload);
        }
    }

    fn publish(&mut self, topic: String, payload: Vec<u8>) {
        self.outputs.push_back(CloudOutput::Publish(Message::new(
            topic,
            payload,
            Qos::AtLeastOnce,
        )));
    }

    fn refuse(&mut self, topic: &str, reason: String) {
        self.event(CloudEvent::Refused {
            topic: topic.to_owned(),
            reason,
        });
    }

    fn event(&mut self, event: CloudEvent) {
        self.outputs.push_back(CloudOutput::Event(event));
    }
}
