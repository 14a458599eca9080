//! A fleet in the sandbox: many devices of one template in one [`World`], named from a pattern
//! (`lamp-{n}` from a start index, so tabs or machines can split a range), all in one thing
//! group, each given a behaviour from a seeded outcome mix — so a roll-out shows what a real
//! one does: most devices succeed, some reject, fail at a step, stall, drop off mid-job, refuse
//! commands or flap.
//!
//! The mix is assigned exactly, not by chance per device: 20 % of 50 devices is 10 devices,
//! which ones is decided by the seed. The same URL gives the same fleet and the same outcomes.

use crate::vec_map::VecMap;
use std::fmt::Write as _;

use serde_json::Value;
use thingsim_mqtt::{Millis, SeededRng};

use crate::ThingName;
use crate::cloud::CloudEvent;
use crate::commands::{CommandResponse, CommandStatus};
use crate::device::{DeviceEvent, DeviceOptions, JobBehaviour, UserCommand};
use crate::jobs::JobStatus;
use crate::jobs::cloud::{JobType, NewJob, Rollout};
use crate::model::{DeviceModel, Generator, Kind, Template};
use crate::shadow::state::State;
use crate::world::{Wire, World};

/// How many devices one fleet may hold in the page.
pub const MAX_DEVICES: u32 = 5_000;

/// How long a device that drops off mid-job stays away.
pub const OFFLINE_MS: u64 = 300_000;

/// The outcome mix: percentages of the fleet (their sum at most 100; the rest is healthy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Mix {
    /// Reject every job.
    pub reject: u32,
    /// Fail jobs at step `fail_step`.
    pub fail: u32,
    /// The step at which they fail (1-based).
    pub fail_step: u32,
    /// Start jobs and never report again (the step timeout ends them).
    pub stall: u32,
    /// Drop the connection at the first job step and stay away [`OFFLINE_MS`].
    pub offline: u32,
    /// Answer every command REJECTED.
    pub reject_commands: u32,
    /// Disconnect and reconnect every `flap_every_s` seconds.
    pub flap: u32,
    /// Seconds between flaps.
    pub flap_every_s: u64,
}

/// What one device of the fleet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Everything works.
    Healthy,
    /// Rejects jobs.
    RejectJobs,
    /// Fails jobs at this step.
    FailJobs(u32),
    /// Stalls jobs.
    StallJobs,
    /// Drops off at the first job step.
    OfflineMidJob,
    /// Rejects commands.
    RejectCommands,
    /// Disconnects and reconnects every so many seconds.
    Flap(u64),
}

impl Behaviour {
    /// The command that sets a device up to behave so, when it needs one (the sandbox's and
    /// a real broker's fleets give it alike).
    pub fn setup(self) -> Option<UserCommand> {
        match self {
            Self::RejectJobs => Some(UserCommand::SetJobBehaviour(JobBehaviour::Reject)),
            Self::FailJobs(step) => {
                Some(UserCommand::SetJobBehaviour(JobBehaviour::FailAtStep(step)))
            }
            Self::StallJobs => Some(UserCommand::SetJobBehaviour(JobBehaviour::Stall)),
            Self::RejectCommands => Some(UserCommand::SetAutoAnswer(false)),
            Self::Healthy | Self::OfflineMidJob | Self::Flap(_) => None,
        }
    }

    /// What a device behaving so does about `event`: one that refuses commands answers each
    /// REJECTED.
    pub fn answer(self, event: &DeviceEvent) -> Option<UserCommand> {
        match (self, event) {
            (Self::RejectCommands, DeviceEvent::CommandReceived { execution_id, .. }) => {
                Some(UserCommand::AnswerCommand {
                    execution_id: execution_id.clone(),
                    response: CommandResponse::error(
                        CommandStatus::Rejected,
                        "this device refuses commands",
                    ),
                })
            }
            _ => None,
        }
    }

    /// A word for a card.
    pub fn label(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::RejectJobs => "rejects jobs",
            Self::FailJobs(_) => "fails jobs",
            Self::StallJobs => "stalls jobs",
            Self::OfflineMidJob => "drops off mid-job",
            Self::RejectCommands => "rejects commands",
            Self::Flap(_) => "flaps",
        }
    }
}

impl Mix {
    /// `reject:5,fail:10@2,stall:5,offline:5,cmdreject:5,flap:5@30` (any subset, any order).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut mix = Self {
            fail_step: 2,
            flap_every_s: 30,
            ..Self::default()
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = part.split_once(':').ok_or_else(|| {
                format!("mix: {} is not name:percent", thingsim_mqtt::quoted(part))
            })?;
            let (percent, extra) = match value.split_once('@') {
                Some((p, e)) => (p, Some(e)),
                None => (value, None),
            };
            let percent: u32 = percent
                .parse()
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| format!("mix: {name} needs a percentage from 0 to 100"))?;
            let extra = |what: &str| -> Result<Option<u64>, String> {
                extra
                    .map(|e| {
                        e.parse::<u64>()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| format!("mix: {name}@… needs a whole {what} from 1"))
                    })
                    .transpose()
            };
            match name {
                "reject" => mix.reject = percent,
                "fail" => {
                    mix.fail = percent;
                    if let Some(step) = extra("step")? {
                        mix.fail_step = u32::try_from(step).unwrap_or(u32::MAX);
                    }
                }
                "stall" => mix.stall = percent,
                "offline" => mix.offline = percent,
                "cmdreject" => mix.reject_commands = percent,
                "flap" => {
                    mix.flap = percent;
                    if let Some(secs) = extra("number of seconds")? {
                        mix.flap_every_s = secs;
                    }
                }
                other => {
                    return Err(format!(
                        "mix: unknown outcome {}; use reject, fail, stall, offline, cmdreject \
                         or flap",
                        thingsim_mqtt::quoted(other)
                    ));
                }
            }
        }
        if mix.total() > 100 {
            return Err(format!(
                "mix: the outcomes add up to {} %, over 100",
                mix.total()
            ));
        }
        Ok(mix)
    }

    fn total(&self) -> u32 {
        self.reject + self.fail + self.stall + self.offline + self.reject_commands + self.flap
    }

    /// The behaviours of `count` devices: exactly `percent × count / 100` (rounded) of each,
    /// spread over the fleet by `seed`.
    pub fn assign(&self, count: usize, seed: u64) -> Vec<Behaviour> {
        let share = |p: u32| (p as usize * count + 50) / 100;
        let mut behaviours = Vec::with_capacity(count);
        for (percent, behaviour) in [
            (self.reject, Behaviour::RejectJobs),
            (self.fail, Behaviour::FailJobs(self.fail_step)),
            (self.stall, Behaviour::StallJobs),
            (self.offline, Behaviour::OfflineMidJob),
            (self.reject_commands, Behaviour::RejectCommands),
            (self.flap, Behaviour::Flap(self.flap_every_s)),
        ] {
            let n = share(percent).min(count - behaviours.len());
            behaviours.extend(std::iter::repeat_n(behaviour, n));
        }
        behaviours.resize(count, Behaviour::Healthy);
        // Fisher–Yates with the seed: which devices misbehave is the seed's choice.
        let mut rng = SeededRng::new(seed);
        for i in (1..count).rev() {
            let j = (rng.next_u64() % (i as u64 + 1)) as usize;
            behaviours.swap(i, j);
        }
        behaviours
    }
}

/// What to build: the URL's `view=fleet&template=…&count=…&pattern=…&start=…&seed=…&mix=…`.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetSpec {
    /// The devices' template.
    pub template: &'static Template,
    /// How many devices to start with.
    pub count: u32,
    /// Their names: `{n}` is replaced by the device number.
    pub pattern: String,
    /// The first device number.
    pub start: u64,
    /// Seeds the outcome mix and the readings.
    pub seed: u64,
    /// The outcome mix.
    pub mix: Mix,
    /// The thing group every device joins.
    pub group: String,
    /// Milliseconds between telemetry reports (`None`: only on change).
    pub telemetry_ms: Option<u64>,
    /// How the readings move.
    pub generator: Generator,
    /// ± this percent on every reporting interval.
    pub jitter_percent: u32,
}

/// The names a fleet of `template` gets unless told otherwise: `smart-light-{n}`.
fn named_after(template: &Template) -> String {
    format!("{}-{{n}}", template.id)
}

impl FleetSpec {
    /// The default fleet of `template`: 20 devices named after it, healthy.
    pub fn new(template: &'static Template) -> Self {
        Self {
            template,
            count: 20,
            pattern: named_after(template),
            start: 1,
            seed: 1,
            mix: Mix::parse("").unwrap_or_default(),
            group: "fleet".to_owned(),
            telemetry_ms: Some(5_000),
            generator: Generator::Walk,
            jitter_percent: 0,
        }
    }

    /// The name of device number `n`, or why the pattern cannot make one.
    pub fn name(&self, n: u64) -> Result<ThingName, String> {
        if !self.pattern.contains("{n}") {
            return Err("pattern: put {n} where the device number goes, like lamp-{n}".into());
        }
        ThingName::new(&self.pattern.replace("{n}", &n.to_string()))
            .map_err(|e| format!("pattern: {e}"))
    }

    /// The model of device number `n`: its own seed, so no two devices wander alike.
    pub fn model(&self, n: u64) -> DeviceModel {
        DeviceModel::new(self.template, self.seed ^ n.rotate_left(17))
            .with_generator(self.generator)
            .with_jitter(self.jitter_percent)
    }

    /// What its devices are, how their readings move and how often they report, in a line.
    pub fn about(&self) -> String {
        let every = match self.telemetry_ms {
            Some(ms) if ms % 1000 == 0 => format!("every {} s", ms / 1000),
            Some(ms) => format!("every {ms} ms"),
            None => "on change".to_owned(),
        };
        let jitter = if self.jitter_percent > 0 && self.telemetry_ms.is_some() {
            format!(" ± {} %", self.jitter_percent)
        } else {
            String::new()
        };
        format!(
            "{} · {} · {every}{jitter}",
            self.template.name,
            self.generator.label()
        )
    }

    /// The devices' timing.
    pub fn options(&self) -> DeviceOptions {
        DeviceOptions {
            job_step_ms: 1_000,
            telemetry_ms: self.telemetry_ms,
        }
    }

    /// Applies URL parameters (decoded key–value pairs) over `self`; what is wrong is said
    /// per parameter.
    pub fn apply_query(&mut self, pairs: &[(String, String)]) -> Vec<String> {
        let mut errors = Vec::new();
        for (key, value) in pairs {
            let (key, value) = (key.as_str(), value.clone());
            let number = |what: &str, max: u64| {
                value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= max)
                    .ok_or_else(|| format!("{what}: a whole number up to {max}"))
            };
            let result = match key {
                "template" => crate::model::TEMPLATES
                    .iter()
                    .copied()
                    .find(|t| t.id == value)
                    .map(|t| {
                        // Names nobody chose follow the template, whichever comes first in
                        // the URL: a fleet of lights is not `thermostat-1`, `thermostat-2`…
                        if self.pattern == named_after(self.template) {
                            self.pattern = named_after(t);
                        }
                        self.template = t;
                    })
                    .ok_or_else(|| {
                        format!("template: no template {}", thingsim_mqtt::quoted(&value))
                    }),
                "count" => number("count", u64::from(MAX_DEVICES))
                    .map(|n| self.count = u32::try_from(n).unwrap_or(MAX_DEVICES)),
                "start" => number("start", 1 << 53).map(|n| self.start = n),
                "seed" => number("seed", u64::MAX).map(|n| self.seed = n),
                "pattern" => {
                    self.pattern = value.clone();
                    self.name(self.start).map(|_| ())
                }
                "mix" => Mix::parse(&value).map(|m| self.mix = m),
                "telemetry" => number("telemetry (s)", 3600)
                    .map(|secs| self.telemetry_ms = (secs > 0).then_some(secs * 1000)),
                "generator" => Generator::parse(&value).map(|g| self.generator = g),
                "jitter" => number("jitter (%)", 100)
                    .map(|p| self.jitter_percent = u32::try_from(p).unwrap_or(100)),
                "group" if !value.is_empty() => {
                    self.group = value.clone();
                    Ok(())
                }
                _ => Ok(()), // the page's own parameters (view, mode, …)
            };
            if let Err(e) = result {
                errors.push(e);
            }
        }
        errors
    }
}

/// One device of the fleet.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its index in the world.
    pub idx: usize,
    /// Its group: an index into [`Fleet::groups`].
    pub group: usize,
    /// Its thing name.
    pub thing: ThingName,
    /// What it does.
    pub behaviour: Behaviour,
    /// The job it runs and the percent done, from its events.
    pub job: Option<(String, u32)>,
    /// When it comes back (dropped off mid-job, or flapping).
    back_at: Option<Millis>,
    /// When it next drops (flapping).
    flap_at: Option<Millis>,
    dropped_for_job: bool,
}

/// What one card of the grid shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    /// Thing name.
    pub thing: String,
    /// Connected.
    pub online: bool,
    /// The key reading, formatted with its unit.
    pub reading: String,
    /// The cloud has desired state the device has not reached.
    pub delta_pending: bool,
    /// Its execution of the latest job, if any.
    pub job: Option<JobStatus>,
    /// Percent done of the job it runs.
    pub progress: Option<u32>,
    /// What it was told to do.
    pub behaviour: Behaviour,
    /// Its group: an index into [`Metrics::groups`].
    pub group: usize,
}

/// Live figures for the fleet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Metrics {
    /// Simulated now.
    pub at: Millis,
    /// Devices.
    pub devices: usize,
    /// Of which connected.
    pub connected: usize,
    /// Opening a connection (a real broker's fleet).
    pub connecting: usize,
    /// Lost or refused, reconnecting (a real broker's fleet).
    pub failed: usize,
    /// Messages from devices to the broker, since the start.
    pub messages_in: u64,
    /// Messages from the broker to devices, since the start.
    pub messages_out: u64,
    /// Devices whose shadow has a delta.
    pub delta_pending: usize,
    /// Desired set → reported matches, in ms: (p50, p95) over the samples so far.
    pub convergence_ms: Option<(u64, u64)>,
    /// Convergence samples.
    pub converged: usize,
    /// The latest job's executions by status (and those still waiting for the roll-out).
    pub job: Option<JobFigures>,
    /// The same per group, in the order the groups were made.
    pub groups: Vec<GroupFigures>,
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupFigures {
    /// The thing group's name.
    pub name: String,
    /// What its devices are, how their readings move and how often they report.
    pub about: String,
    /// Its devices' template id.
    pub template: &'static str,
    /// Devices.
    pub devices: usize,
    /// Of which connected.
    pub connected: usize,
    /// Devices whose shadow has a delta.
    pub delta_pending: usize,
    /// Desired set → reported matches, in ms: (p50, p95).
    pub convergence_ms: Option<(u64, u64)>,
    /// The latest job's executions of its devices, by status.
    pub job: VecMap<String, usize>,
}

/// One job's executions by status.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobFigures {
    /// Its id.
    pub job_id: String,
    /// Count per status.
    pub by_status: VecMap<String, usize>,
    /// Targets the roll-out has not reached yet.
    pub waiting: usize,
    /// Why it was aborted.
    pub aborted: Option<String>,
}

/// A fleet in one world.
#[derive(Debug)]
pub struct Fleet {
    /// The world it runs in.
    pub world: World,
    groups: Vec<Group>,
    members: Vec<Member>,
    /// Desired state set and not yet reached: thing → (when, its group).
    converging: VecMap<ThingName, (Millis, usize)>,
    latest_job: Option<String>,
    /// One device shown in full (the single-device console): its news, kept for the caller.
    watched: Option<Watched>,
}

/// What one watched device said since the caller last asked.
#[derive(Debug)]
pub struct Watched {
    /// Its thing.
    pub thing: ThingName,
    /// Its place in the world (it stays put while watched: removing it ends the watch).
    pub idx: usize,
    /// Its events.
    pub events: Vec<DeviceEvent>,
    /// The cloud's news about it.
    pub cloud: Vec<CloudEvent>,
    /// Every message on its link.
    pub wire: Vec<Wire>,
}

/// One group of the fleet: how its devices are made, and what is measured of it.
#[derive(Debug)]
struct Group {
    spec: FleetSpec,
    /// The next device number.
    next_number: u64,
    /// Its devices now.
    size: usize,
    /// Convergence times, ms.
    samples: Vec<u64>,
}

impl Fleet {
    /// The fleet `spec` describes, connected at `now`.
    pub fn new(now: Millis, spec: FleetSpec) -> Result<Self, String> {
        let mut world = World::new(now);
        world.cloud.seed_ids(spec.seed);
        let mut fleet = Self {
            world,
            groups: Vec::new(),
            members: Vec::new(),
            converging: VecMap::new(),
            latest_job: None,
            watched: None,
        };
        fleet.add_group(spec)?;
        Ok(fleet)
    }

    /// Adds a group of `spec.count` devices as `spec` describes (its own template, names,
    /// mix, data generator and reporting); returns its index.
    pub fn add_group(&mut self, spec: FleetSpec) -> Result<usize, String> {
        spec.name(spec.start)?;
        if self.groups.iter().any(|g| g.spec.group == spec.group) {
            return Err(format!(
                "group: there is a group {} already",
                thingsim_mqtt::quoted(&spec.group)
            ));
        }
        check_total(self.members.len() + spec.count as usize)?;
        self.world
            .cloud
            .create_group(&spec.group)
            .map_err(|e| e.to_string())?;
        let count = spec.count as usize;
        self.groups.push(Group {
            next_number: spec.start,
            spec,
            size: 0,
            samples: Vec::new(),
        });
        let g = self.groups.len() - 1;
        if let Err(e) = self.add_to(g, count) {
            // Nothing half-made stays: the devices added so far and the group go.
            let made = self.groups[g].size;
            self.remove(made);
            let gone = self.groups.pop().map(|g| g.spec.group);
            if let Some(name) = gone {
                self.world.cloud.delete_group(&name);
            }
            return Err(e);
        }
        Ok(g)
    }

    /// How each group was made, in order.
    pub fn groups(&self) -> impl Iterator<Item = &FleetSpec> {
        self.groups.iter().map(|g| &g.spec)
    }

    fn group_names(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.spec.group.as_str()).collect()
    }

    /// The first group's spec (the one the URL describes).
    pub fn spec(&self) -> &FleetSpec {
        &self.groups[0].spec
    }

    /// The devices, in the order they were added.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// Adds `n` devices to the first group.
    pub fn add(&mut self, n: usize) -> Result<(), String> {
        self.add_to(0, n)
    }

    /// Adds `n` devices to group `g` (numbered on from its last), with behaviours from its mix
    /// for the group's new size; each joins the thing group (so CONTINUOUS jobs reach it).
    pub fn add_to(&mut self, g: usize, n: usize) -> Result<(), String> {
        check_total(self.members.len() + n)?;
        let group = self
            .groups
            .get(g)
            .ok_or_else(|| format!("no group number {g}"))?;
        let spec = &group.spec;
        // The whole group's assignment, so adding in steps gives what one step would.
        let behaviours = spec.mix.assign(group.size + n, spec.seed);
        let options = spec.options();
        let mut made = Vec::with_capacity(n);
        let numbered = (group.next_number..).zip(behaviours.into_iter().skip(group.size));
        for (number, behaviour) in numbered {
            let thing = spec.name(number)?;
            if self.world.cloud.has_thing(&thing) {
                return Err(format!(
                    "{thing} is in the fleet already: give this group another pattern or start"
                ));
            }
            made.push((thing, spec.model(number), behaviour));
        }
        let name = spec.group.clone();
        for (thing, model, behaviour) in made {
            let idx = self.world.add_model(thing.clone(), model, options);
            let now = self.world.now;
            self.world
                .with_cloud(|c, now| c.add_to_group(now, &name, &thing))
                .map_err(|e| e.to_string())?;
            if let Some(command) = behaviour.setup() {
                self.world.command(idx, command);
            }
            let flap_at = match behaviour {
                Behaviour::Flap(secs) => Some(now + secs * 1000),
                _ => None,
            };
            self.members.push(Member {
                idx,
                group: g,
                thing,
                behaviour,
                job: None,
                back_at: None,
                flap_at,
                dropped_for_job: false,
            });
            self.groups[g].size += 1;
            self.groups[g].next_number += 1;
        }
        Ok(())
    }

    /// Removes the newest `n` devices; their memory is freed.
    pub fn remove(&mut self, n: usize) {
        let keep = self.members.len().saturating_sub(n);
        // The sandbox's cloud exists for this fleet: a removed device's thing goes with it.
        if self
            .watched
            .as_ref()
            .is_some_and(|w| self.members[keep..].iter().any(|m| m.thing == w.thing))
        {
            let _ = self.watch(None);
        }
        for m in &self.members[keep..] {
            self.converging.remove(&m.thing);
            self.world.cloud.delete_thing(&m.thing);
            // The newest go first, so a group's numbers stay a run from its start.
            let group = &mut self.groups[m.group];
            group.size -= 1;
            group.next_number -= 1;
        }
        self.world.remove_last(self.members.len() - keep);
        self.members.truncate(keep);
        self.members.shrink_to_fit();
    }

    /// Runs the fleet up to `now`: the world, then what each device's behaviour does about
    /// what happened.
    pub fn advance_to(&mut self, now: Millis) {
        // One deadline at a time: a behaviour answers an event when it happens (a device drops
        // off at its first job step, not after the job is done).
        while let Some(next) = self.next_deadline().filter(|at| *at <= now) {
            self.world.advance_to(next.max(self.world.now));
            self.react();
            self.timers();
        }
        self.world.advance_to(now);
        self.react();
        self.converged();
    }

    /// The earliest moment anything is due.
    pub fn next_deadline(&self) -> Option<Millis> {
        [self.world.next_deadline(), self.own_deadline()]
            .into_iter()
            .flatten()
            .min()
    }

    fn own_deadline(&self) -> Option<Millis> {
        self.members
            .iter()
            .flat_map(|m| [m.back_at, m.flap_at])
            .flatten()
            .min()
    }

    /// Reconnects and flaps that are due.
    fn timers(&mut self) {
        let now = self.world.now;
        for i in 0..self.members.len() {
            let m = &mut self.members[i];
            let idx = m.idx;
            if m.back_at.is_some_and(|at| at <= now) {
                m.back_at = None;
                if let Behaviour::Flap(secs) = m.behaviour {
                    m.flap_at = Some(now + secs * 1000);
                }
                self.world.connect(idx);
            } else if m.flap_at.is_some_and(|at| at <= now) {
                m.flap_at = None;
                m.back_at = Some(now + 2_000);
                self.world.disconnect(idx);
            }
        }
    }

    /// Takes every device's news: job progress for the cards, and the behaviours that answer
    /// events (reject a command, drop off mid-job).
    fn react(&mut self) {
        let now = self.world.now;
        for i in 0..self.members.len() {
            let idx = self.members[i].idx;
            if self.world.nodes[idx].events.is_empty() {
                continue;
            }
            let events = self.world.take_events(idx);
            if let Some(w) = self.watched.as_mut().filter(|w| w.idx == idx) {
                w.events.extend(events.iter().cloned());
            }
            for event in events {
                match event {
                    DeviceEvent::JobProgress {
                        job_id, percent, ..
                    } => {
                        let m = &mut self.members[i];
                        m.job = Some((job_id, percent));
                        if m.behaviour == Behaviour::OfflineMidJob && !m.dropped_for_job {
                            m.dropped_for_job = true;
                            m.back_at = Some(now + OFFLINE_MS);
                            self.world.disconnect(idx);
                        }
                    }
                    other => {
                        if let Some(command) = self.members[i].behaviour.answer(&other) {
                            self.world.command(idx, command);
                        }
                    }
                }
            }
        }
        // The cloud's news is not shown per event in a fleet (its state is read when asked),
        // except what concerns a watched device.
        let cloud = self.world.take_cloud_events();
        if let Some(w) = self.watched.as_mut() {
            w.cloud
                .extend(cloud.into_iter().filter(|e| concerns(e, &w.thing)));
            let idx = w.idx;
            w.wire.extend(
                self.world
                    .take_wire()
                    .into_iter()
                    .filter(|wire| wire.device == idx),
            );
        }
    }

    fn converged(&mut self) {
        let now = self.world.now;
        let cloud = &self.world.cloud;
        let mut done = Vec::new();
        for (thing, (since, g)) in &self.converging {
            if !cloud.delta_pending(thing) {
                done.push((thing.clone(), *g, now.saturating_since(*since)));
            }
        }
        for (thing, g, ms) in done {
            self.converging.remove(&thing);
            self.groups[g].samples.push(ms);
        }
    }

    /// Sets the same desired state on every device, and starts timing convergence.
    pub fn set_desired(&mut self, desired: &State) -> Result<(), String> {
        self.set_desired_in(None, desired).map(|_| ())
    }

    /// Sets the same desired state on the devices of group `g` (`None`: every group), and
    /// starts timing convergence; returns how many devices it reached.
    pub fn set_desired_in(&mut self, g: Option<usize>, desired: &State) -> Result<usize, String> {
        let things: Vec<(ThingName, usize)> = self
            .members
            .iter()
            .filter(|m| g.is_none_or(|g| m.group == g))
            .map(|m| (m.thing.clone(), m.group))
            .collect();
        for (thing, group) in &things {
            self.world
                .with_cloud(|c, now| c.set_desired(now, thing, desired.clone()))
                .map_err(|e| e.to_string())?;
            self.converging
                .insert(thing.clone(), (self.world.now, *group));
        }
        Ok(things.len())
    }

    /// Rolls a job out to every group of the fleet; returns its id.
    pub fn roll_out(
        &mut self,
        document: Value,
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
        rollout: Rollout,
    ) -> Result<String, String> {
        self.roll_out_to(None, document, job_type, step_timeout_minutes, rollout)
    }

    /// Rolls a job out to group `g` (`None`: every group); returns its id.
    pub fn roll_out_to(
        &mut self,
        g: Option<usize>,
        document: Value,
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
        rollout: Rollout,
    ) -> Result<String, String> {
        let target_groups: Vec<String> = self
            .groups
            .iter()
            .enumerate()
            .filter(|(i, _)| g.is_none_or(|g| *i == g))
            .map(|(_, group)| group.spec.group.clone())
            .collect();
        if target_groups.is_empty() {
            return Err("no such group".into());
        }
        let job = NewJob {
            description: format!("roll-out to {}", target_groups.join(", ")),
            document,
            job_type,
            step_timeout_minutes,
            target_groups,
            rollout,
        };
        let id = self
            .world
            .with_cloud(|c, now| c.create_fleet_job(now, job, &[]))
            .map_err(|e| e.to_string())?;
        self.latest_job = Some(id.clone());
        Ok(id)
    }

    /// Shows one device in full from now on (`None`: none): its events, the cloud's news
    /// about it and the messages on its link are kept for [`Fleet::take_watched`]. Only while
    /// a device is watched does the world record messages at all.
    pub fn watch(&mut self, thing: Option<&str>) -> Result<(), String> {
        self.watched = None;
        self.world.trace = false;
        self.world.take_wire();
        let Some(name) = thing else { return Ok(()) };
        let m = self
            .members
            .iter()
            .find(|m| m.thing.as_str() == name)
            .ok_or_else(|| format!("{name} is not in the fleet"))?;
        self.watched = Some(Watched {
            thing: m.thing.clone(),
            idx: m.idx,
            events: Vec::new(),
            cloud: Vec::new(),
            wire: Vec::new(),
        });
        self.world.trace = true;
        Ok(())
    }

    /// The watched device's news since the last call; `None` when no device is watched (or
    /// the watched one was removed).
    pub fn take_watched(&mut self) -> Option<Watched> {
        let w = self.watched.as_mut()?;
        Some(Watched {
            thing: w.thing.clone(),
            idx: w.idx,
            events: std::mem::take(&mut w.events),
            cloud: std::mem::take(&mut w.cloud),
            wire: std::mem::take(&mut w.wire),
        })
    }

    /// A device's place in the world, by thing name.
    pub fn device(&self, thing: &str) -> Option<usize> {
        self.members
            .iter()
            .find(|m| m.thing.as_str() == thing)
            .map(|m| m.idx)
    }

    /// Drops a device's connection as a network failure would; it comes back after
    /// `down_ms`.
    pub fn drop_link(&mut self, thing: &str, down_ms: u64) {
        let now = self.world.now;
        if let Some(m) = self.members.iter_mut().find(|m| m.thing.as_str() == thing)
            && self.world.nodes[m.idx].online
        {
            m.back_at = Some(now + down_ms);
            let idx = m.idx;
            self.world.disconnect(idx);
        }
    }

    /// The cards of the grid, in fleet order.
    pub fn cards(&self) -> Vec<Card> {
        self.members
            .iter()
            .map(|m| {
                let node = &self.world.nodes[m.idx];
                let reading =
                    key_reading(node.device.model().template(), node.device.model().state());
                let job = self
                    .latest_job
                    .as_ref()
                    .and_then(|j| self.world.cloud.job_execution(&m.thing, j))
                    .map(|e| e.status);
                Card {
                    thing: m.thing.to_string(),
                    online: node.online,
                    reading,
                    delta_pending: self.world.cloud.delta_pending(&m.thing),
                    progress: m
                        .job
                        .as_ref()
                        .filter(|_| job == Some(JobStatus::InProgress))
                        .map(|(_, p)| *p),
                    job,
                    behaviour: m.behaviour,
                    group: m.group,
                }
            })
            .collect()
    }

    /// Live figures.
    pub fn metrics(&self) -> Metrics {
        let cloud = &self.world.cloud;
        let job = self.latest_job.as_ref().map(|id| {
            let mut by_status = VecMap::new();
            for e in cloud.job_executions(id) {
                *by_status.entry(format!("{:?}", e.status)).or_insert(0) += 1;
            }
            let job = cloud.job(id);
            JobFigures {
                job_id: id.clone(),
                by_status,
                waiting: job.map_or(0, |j| j.waiting.len()),
                aborted: job.and_then(|j| j.abort_reason.clone()),
            }
        });
        let mut all: Vec<u64> = self
            .groups
            .iter()
            .flat_map(|g| g.samples.iter().copied())
            .collect();
        all.sort_unstable();
        let mut groups: Vec<GroupFigures> = self
            .groups
            .iter()
            .map(|g| {
                let mut sorted = g.samples.clone();
                sorted.sort_unstable();
                GroupFigures {
                    name: g.spec.group.clone(),
                    about: g.spec.about(),
                    template: g.spec.template.id,
                    convergence_ms: percentile(&sorted, 50).zip(percentile(&sorted, 95)),
                    ..GroupFigures::default()
                }
            })
            .collect();
        for m in &self.members {
            let f = &mut groups[m.group];
            f.devices += 1;
            f.connected += usize::from(self.world.nodes[m.idx].online);
            f.delta_pending += usize::from(cloud.delta_pending(&m.thing));
            if let Some(e) = self
                .latest_job
                .as_ref()
                .and_then(|j| cloud.job_execution(&m.thing, j))
            {
                *f.job.entry(format!("{:?}", e.status)).or_insert(0) += 1;
            }
        }
        let sorted = all;
        Metrics {
            at: self.world.now,
            devices: self.members.len(),
            connected: self
                .members
                .iter()
                .filter(|m| self.world.nodes[m.idx].online)
                .count(),
            // In the sandbox a connection is up or down at once.
            connecting: 0,
            failed: 0,
            messages_in: self.world.from_devices,
            messages_out: self.world.to_devices,
            delta_pending: self
                .members
                .iter()
                .filter(|m| cloud.delta_pending(&m.thing))
                .count(),
            convergence_ms: percentile(&sorted, 50).zip(percentile(&sorted, 95)),
            converged: sorted.len(),
            job,
            groups,
        }
    }

    /// The cards as CSV (for a spreadsheet).
    pub fn to_csv(&self) -> String {
        cards_csv(&self.cards(), &self.group_names())
    }

    /// The metrics and the cards as JSON.
    pub fn to_json(&self) -> Value {
        let m = self.metrics();
        serde_json::json!({
            "at": m.at.0, "devices": m.devices, "connected": m.connected,
            "messagesIn": m.messages_in, "messagesOut": m.messages_out,
            "deltaPending": m.delta_pending,
            "convergenceMs": m.convergence_ms.map(|(p50, p95)| serde_json::json!({"p50": p50, "p95": p95})),
            "job": m.job.map(|j| serde_json::json!({
                "jobId": j.job_id, "byStatus": j.by_status, "waiting": j.waiting, "aborted": j.aborted,
            })),
            "groups": groups_json(&m.groups),
            "devicesDetail": cards_json(&self.cards(), &self.group_names()),
        })
    }
}

/// Whether a cloud event is about `thing`.
fn concerns(event: &CloudEvent, thing: &ThingName) -> bool {
    match event {
        CloudEvent::ShadowUpdated { thing: t, .. }
        | CloudEvent::ShadowRejected { thing: t, .. }
        | CloudEvent::DeviceEvent { thing: t, .. } => t == thing,
        CloudEvent::Command(e) => e.thing_name == thing.as_str(),
        CloudEvent::Refused { topic, .. } => {
            crate::Topic::parse(topic).is_some_and(|(t, _)| &t == thing)
        }
    }
}

/// Whether a page may hold `total` devices, or why not.
fn check_total(total: usize) -> Result<(), String> {
    if total > MAX_DEVICES as usize {
        Err(format!(
            "at most {MAX_DEVICES} devices in one page; {total} asked for"
        ))
    } else {
        Ok(())
    }
}

/// The `p`th percentile of `sorted` samples (nearest rank), none for no samples.
pub fn percentile(sorted: &[u64], p: usize) -> Option<u64> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get((sorted.len() * p / 100).min(last)).copied()
}

/// Group figures as JSON, one object per group.
pub fn groups_json(groups: &[GroupFigures]) -> Value {
    groups
        .iter()
        .map(|g| {
            serde_json::json!({
                "group": g.name, "about": g.about, "devices": g.devices,
                "connected": g.connected, "deltaPending": g.delta_pending,
                "convergenceMs": g.convergence_ms.map(|(p50, p95)| serde_json::json!({"p50": p50, "p95": p95})),
                "jobByStatus": g.job,
            })
        })
        .collect()
}

/// Cards as JSON, one object per device.
pub fn cards_json(cards: &[Card], groups: &[&str]) -> Value {
    cards
        .iter()
        .map(|c| {
            serde_json::json!({
                "thing": c.thing, "group": groups.get(c.group), "online": c.online, "reading": c.reading,
                "deltaPending": c.delta_pending,
                "jobStatus": c.job.map(|s| format!("{s:?}")),
                "progress": c.progress, "behaviour": c.behaviour.label(),
            })
        })
        .collect()
}

/// Cards as CSV: a header, then a line per device.
pub fn cards_csv(cards: &[Card], groups: &[&str]) -> String {
    let mut out =
        String::from("thing,group,online,reading,delta_pending,job_status,progress,behaviour\n");
    for c in cards {
        let _ = writeln!(
            out,
            "{},\"{}\",{},\"{}\",{},{},{},{}",
            c.thing,
            groups.get(c.group).unwrap_or(&"").replace('"', "\"\""),
            c.online,
            c.reading.replace('"', "\"\""),
            c.delta_pending,
            c.job.map(|s| format!("{s:?}")).unwrap_or_default(),
            c.progress.map(|p| p.to_string()).unwrap_or_default(),
            c.behaviour.label()
        );
    }
    out
}

/// The key reading of a device of `template` in `state`, with its label and unit: the first
/// numeric reading, else the first property.
pub fn key_reading(template: &Template, state: &State) -> String {
    let key = template
        .properties
        .iter()
        .find(|p| !p.writable && matches!(p.kind, Kind::Number { .. }))
        .or_else(|| template.properties.first());
    key.and_then(|p| {
        let v = state.get(p.key)?;
        let unit = match p.kind {
            Kind::Number { unit, .. } => unit,
            _ => "",
        };
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Some(format!("{} {text} {unit}", p.label).trim_end().to_owned())
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SMART_LIGHT, SMART_PLUG};

    #[test]
    fn a_page_holds_the_maximum_and_not_one_more() {
        assert!(check_total(MAX_DEVICES as usize).is_ok());
        assert!(
            check_total(MAX_DEVICES as usize + 1)
                .unwrap_err()
                .contains("at most")
        );
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50), Some(51));
        assert_eq!(percentile(&samples, 95), Some(96));
        assert_eq!(percentile(&samples, 100), Some(100));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn the_key_reading_is_the_first_numeric_reading_with_its_unit() {
        let plug = DeviceModel::new(&SMART_PLUG, 1);
        assert_eq!(key_reading(&SMART_PLUG, plug.state()), "Power 60.0 W");
        let light = DeviceModel::new(&SMART_LIGHT, 1);
        assert_eq!(
            key_reading(&SMART_LIGHT, light.state()),
            "On false",
            "no reading: the first property"
        );
        assert_eq!(key_reading(&SMART_PLUG, &State::new()), "");
    }

    #[test]
    fn the_mix_has_defaults_allows_exactly_one_hundred_and_clamps_rounding() {
        let mix = Mix::parse("fail:10,flap:10").unwrap();
        assert_eq!((mix.fail_step, mix.flap_every_s), (2, 30));
        assert!(Mix::parse("fail:50,reject:50").is_ok(), "100 % is allowed");
        assert!(Mix::parse("stall:30,offline:30,cmdreject:30,flap:30").is_err());
        assert!(Mix::parse("reject:40,fail:40,stall:21").is_err());
        // Rounding up twice would ask for 4 of 3 devices: the last share is cut.
        let three = Mix::parse("reject:50,fail:50").unwrap().assign(3, 1);
        let n = |b: Behaviour| three.iter().filter(|x| **x == b).count();
        assert_eq!(
            (n(Behaviour::RejectJobs), n(Behaviour::FailJobs(2))),
            (2, 1)
        );
        for (b, word) in [
            (Behaviour::Healthy, "healthy"),
            (Behaviour::RejectJobs, "rejects jobs"),
            (Behaviour::FailJobs(1), "fails jobs"),
            (Behaviour::StallJobs, "stalls jobs"),
            (Behaviour::OfflineMidJob, "drops off mid-job"),
            (Behaviour::RejectCommands, "rejects commands"),
            (Behaviour::Flap(5), "flaps"),
        ] {
            assert_eq!(b.label(), word);
        }
    }
}
