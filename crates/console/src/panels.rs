//! What the console's panels show, folded from the device's events: the page's components
//! render these and hold no protocol logic of their own.
//!
//! The device only learns the shadow through deltas and its own reports, so the shadow panel
//! shows the device's view of it; where the cloud's document is at hand (the sandbox, a GET),
//! [`Console::handle_document`] replaces that view with the cloud's.

use std::collections::VecDeque;
use thingsim_fleet::vec_map::VecMap;

use serde_json::{Map, Value};
use thingsim_mqtt::{Event, Millis, ServerLimits, SubscriptionState, SubscriptionStatus};

use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::Operation;
use thingsim_fleet::commands::{CommandRequest, CommandStatus};
use thingsim_fleet::device::DeviceEvent;
use thingsim_fleet::jobs::agent::JobEvent;
use thingsim_fleet::jobs::{JobStatus, StatusDetails};
use thingsim_fleet::shadow::cloud::ShadowDocument;
use thingsim_fleet::shadow::state::{self, State};

/// Entries kept in the shadow timeline.
pub const TIMELINE_CAP: usize = 50;
/// Commands kept in the commands panel.
pub const COMMANDS_CAP: usize = 20;
/// Published events kept in the events panel.
pub const EVENTS_CAP: usize = 20;
/// Points kept per telemetry series.
pub const SERIES_CAP: usize = 120;

/// The shadow as the panel shows it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShadowView {
    /// Desired state (from deltas, or the cloud's document).
    pub desired: State,
    /// Reported state.
    pub reported: State,
    /// Shadow version, when known.
    pub version: Option<u64>,
    /// When the shadow last changed, epoch milliseconds.
    pub updated_at: Option<Millis>,
    /// Desired keys the device cannot reach, with why (they stay in the delta).
    pub conflicts: Vec<(String, String)>,
    /// What happened to the shadow, newest first.
    pub timeline: VecDeque<Change>,
    /// Changes seen so far, the ones dropped from the timeline included.
    pub changes: u64,
}

/// The first-visit guide's three steps, in order: desired state set, a command sent, a job
/// run. Each is done once the device has seen it.
pub fn guide_steps(console: &Console) -> [bool; 3] {
    [
        !console.shadow.desired.is_empty(),
        !console.commands.is_empty(),
        console.jobs.current.is_some()
            || !console.jobs.in_progress.is_empty()
            || !console.jobs.queued.is_empty(),
    ]
}

impl ShadowView {
    /// What the device still has to apply.
    pub fn delta(&self) -> State {
        state::delta(&self.desired, &self.reported)
    }
}

/// One entry of the shadow timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Its number in the order changes came, from 0: a key that stays with it, so a view
    /// redraws only the entries that come and go, not the fifty that move down.
    pub seq: u64,
    /// When, epoch milliseconds.
    pub at: Millis,
    /// The shadow version it carried, when it carried one.
    pub version: Option<u64>,
    /// What it was.
    pub kind: ChangeKind,
    /// The keys it touched.
    pub keys: Vec<String>,
}

impl Change {
    /// The class its row is drawn with, and what it says happened.
    pub fn describe(&self) -> (&'static str, String) {
        match self.kind {
            ChangeKind::Delta => ("tl-delta", "delta applied".to_owned()),
            ChangeKind::Reported => ("tl-report", "reported".to_owned()),
            ChangeKind::Stale { seen } => {
                ("tl-stale", format!("stale delta ignored (seen v{seen})"))
            }
            ChangeKind::Conflict => ("tl-conflict", "refused by the device".to_owned()),
            ChangeKind::Document => ("tl-doc", "cloud document".to_owned()),
        }
    }
}

/// How rows drawn newest first, one per [`Change`], follow the timeline from `shown` to `next`
/// (each the changes' numbers, newest first): `(drop, add)`, the oldest rows to take away and
/// the newest to put on top, the rows between staying as they are. `None` when the two lists
/// do not line up that way (the console started again): draw them all afresh.
pub fn follow_timeline(shown: &[u64], next: &[u64]) -> Option<(usize, usize)> {
    let add = match shown.first() {
        Some(newest) => next.iter().take_while(|seq| *seq > newest).count(),
        None => next.len(),
    };
    let kept = &next[add..];
    (shown.get(..kept.len()) == Some(kept)).then(|| (shown.len() - kept.len(), add))
}

/// Kinds of shadow change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A delta arrived and was applied.
    Delta,
    /// The device reported.
    Reported,
    /// A delta at or below the version already seen was dropped (stale or out of order).
    Stale {
        /// The newest version seen.
        seen: u64,
    },
    /// A desired value the device refused.
    Conflict,
    /// The cloud's document replaced the device's view.
    Document,
}

/// A command as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandView {
    /// Execution id.
    pub execution_id: String,
    /// The request.
    pub request: CommandRequest,
    /// When it arrived, epoch milliseconds.
    pub received_at: Millis,
    /// Where it stands.
    pub state: CommandState,
}

impl CommandView {
    /// Seconds left before the cloud stops waiting for the answer.
    pub fn seconds_left(&self, now: Millis) -> u64 {
        let sent = if self.request.timestamp > 0 {
            self.request.timestamp * 1000
        } else {
            self.received_at.0
        };
        (sent + self.request.ttl * 1000).saturating_sub(now.0) / 1000
    }
}

/// Where a command stands, as the device sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandState {
    /// Waiting for an answer by hand.
    Pending,
    /// Answered with this status.
    Answered(CommandStatus),
    /// Arrived after its TTL; not executed.
    Expired,
    /// Left unanswered on purpose (the cloud will time it out).
    Ignored,
}

/// The jobs panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JobsView {
    /// Started jobs, from the last notification.
    pub in_progress: Vec<String>,
    /// Waiting jobs, from the last notification.
    pub queued: Vec<String>,
    /// The job being run, or the last one.
    pub current: Option<JobRunView>,
    /// The last refusal from the jobs service, for a person.
    pub last_rejection: Option<String>,
}

/// The current (or last) job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRunView {
    /// Job id.
    pub job_id: String,
    /// Its document, pretty.
    pub document: String,
    /// Percent done.
    pub percent: u32,
    /// The last step's description.
    pub step: String,
    /// Status as the cloud last confirmed it.
    pub status: JobStatus,
    /// The details the cloud last accepted.
    pub status_details: StatusDetails,
    /// When the cloud's step timer ends the job (from `approximateSecondsBeforeTimedOut`).
    pub times_out_at: Option<Millis>,
}

/// Everything the panels show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Console {
    /// Shadow panel.
    pub shadow: ShadowView,
    /// Commands panel, newest first.
    pub commands: Vec<CommandView>,
    /// Jobs panel.
    pub jobs: JobsView,
    /// Numeric reported values over time, per key, oldest first.
    pub series: VecMap<String, Vec<(Millis, f64)>>,
    /// Events the device published, newest first (kind, when).
    pub events: Vec<(String, Millis)>,
    /// The device's own state as it last reported it (what its controls show; the shadow's
    /// `reported` may lag behind it, e.g. between HTTPS polls).
    pub device: State,
    /// What the MQTT link hears: subscriptions and the broker's limits.
    pub link: LinkView,
}

/// What a subscription feeds: the panel that stays empty when it does not receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Deltas (the shadow panel).
    Shadow,
    /// Command requests (the commands panel).
    Commands,
    /// Job notifications and answers (the jobs panel).
    Jobs,
}

impl Feed {
    /// The feed a Fleets topic filter belongs to, by its topic family (fleets-protocol.md).
    pub fn of(filter: &str) -> Option<Self> {
        if filter.starts_with("$emqx/commands/") {
            Some(Self::Commands)
        } else if filter.contains("/shadow/") {
            Some(Self::Shadow)
        } else if filter.contains("/jobs/") {
            Some(Self::Jobs)
        } else {
            None
        }
    }
}

/// The MQTT link as the status line shows it, folded from the session's events. Empty for
/// links without subscriptions (the sandbox, an HTTPS device).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LinkView {
    /// Every subscription asked for, and where it stands.
    pub subscriptions: Vec<SubscriptionStatus>,
    /// What the broker announced in its last CONNACK.
    pub limits: Option<ServerLimits>,
}

impl LinkView {
    /// Folds one session event (others are ignored).
    pub fn handle_mqtt_event(&mut self, event: &Event) {
        match event {
            Event::Limits(limits) => self.limits = Some(limits.clone()),
            Event::Subscriptions(subscriptions) => self.subscriptions.clone_from(subscriptions),
            _ => {}
        }
    }

    /// Subscriptions that will not receive, as "filter: why".
    pub fn problems(&self) -> Vec<String> {
        self.subscriptions
            .iter()
            .filter_map(|s| s.problem().map(|why| format!("{}: {why}", s.filter)))
            .collect()
    }

    /// What to say after "connected", and whether it is a warning: "subscribed 13/13",
    /// "subscribing 5/13", or why the device is deaf. `None` without subscriptions.
    pub fn connected_text(&self) -> Option<(String, bool)> {
        let total = self.subscriptions.len();
        if total == 0 {
            return None;
        }
        let granted = self
            .subscriptions
            .iter()
            .filter(|s| matches!(s.state, SubscriptionState::Granted(_)))
            .count();
        let problems = self.problems();
        Some(match problems.first() {
            None if granted == total => (format!("subscribed {granted}/{total}"), false),
            None => (format!("subscribing {granted}/{total}…"), false),
            Some(first) => {
                let more = match problems.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                };
                (
                    format!("but not listening: subscribed {granted}/{total} — {first}{more}"),
                    true,
                )
            }
        })
    }

    /// Why a panel will receive nothing (or not everything), when a subscription it depends
    /// on is refused, unsendable or unanswered.
    pub fn deaf(&self, feed: Feed) -> Option<String> {
        let broken: Vec<String> = self
            .subscriptions
            .iter()
            .filter(|s| Feed::of(&s.filter) == Some(feed))
            .filter_map(|s| s.problem().map(|why| format!("{} ({why})", s.filter)))
            .collect();
        (!broken.is_empty()).then(|| {
            format!(
                "will not receive on {}: {}",
                if broken.len() == 1 {
                    "this subscription"
                } else {
                    "these subscriptions"
                },
                broken.join("; ")
            )
        })
    }

    /// The broker's limits, when it announced any.
    pub fn limits_text(&self) -> Option<String> {
        self.limits
            .as_ref()
            .filter(|l| !l.is_default())
            .map(|l| format!("broker limits: {l}"))
    }
}

impl Console {
    /// A console for a device whose model starts in `initial`.
    pub fn new(now: Millis, initial: &State) -> Self {
        let mut console = Self::default();
        console.record_reported(now, initial);
        console
    }

    /// Folds one device event into the panels.
    pub fn handle_device_event(&mut self, now: Millis, event: &DeviceEvent) {
        match event {
            DeviceEvent::Reported(changed) => {
                self.record_reported(now, changed);
                self.change(
                    now,
                    None,
                    ChangeKind::Reported,
                    changed.keys().cloned().collect(),
                );
            }
            DeviceEvent::DeltaApplied {
                version,
                applied,
                refused,
            } => {
                let v = self
                    .shadow
                    .version
                    .map_or(*version, |seen| seen.max(*version));
                self.shadow.version = Some(v);
                self.shadow.updated_at = Some(now);
                state::merge(&mut self.shadow.desired, applied);
                self.change(
                    now,
                    Some(*version),
                    ChangeKind::Delta,
                    applied.keys().cloned().collect(),
                );
                self.shadow
                    .conflicts
                    .retain(|(k, _)| !applied.contains_key(k));
                for (key, why) in refused {
                    self.shadow.conflicts.retain(|(k, _)| k != key);
                    self.shadow.conflicts.push((key.clone(), why.clone()));
                }
                if !refused.is_empty() {
                    let keys = refused.iter().map(|(k, _)| k.clone()).collect();
                    self.change(now, Some(*version), ChangeKind::Conflict, keys);
                }
            }
            DeviceEvent::DeltaStale { got, seen } => {
                self.change(
                    now,
                    Some(*got),
                    ChangeKind::Stale { seen: *seen },
                    Vec::new(),
                );
            }
            DeviceEvent::CommandReceived {
                execution_id,
                request,
            } => {
                if self.command_mut(execution_id).is_none() {
                    self.commands.insert(
                        0,
                        CommandView {
                            execution_id: execution_id.clone(),
                            request: request.clone(),
                            received_at: now,
                            state: CommandState::Pending,
                        },
                    );
                    self.commands.truncate(COMMANDS_CAP);
                }
            }
            DeviceEvent::CommandAnswered {
                execution_id,
                response,
            } => {
                if let Some(c) = self.command_mut(execution_id) {
                    c.state = CommandState::Answered(response.status);
                }
            }
            DeviceEvent::CommandExpired {
                execution_id,
                request,
            } => {
                self.commands.insert(
                    0,
                    CommandView {
                        execution_id: execution_id.clone(),
                        request: request.clone(),
                        received_at: now,
                        state: CommandState::Expired,
                    },
                );
                self.commands.truncate(COMMANDS_CAP);
            }
            DeviceEvent::Job(job) => self.handle_job_event(now, job),
            DeviceEvent::JobProgress {
                job_id,
                percent,
                step,
            } => {
                if let Some(run) = self.jobs.current.as_mut().filter(|r| &r.job_id == job_id) {
                    run.percent = *percent;
                    run.step.clone_from(step);
                }
            }
            DeviceEvent::CommandIgnored { execution_id } => {
                if let Some(c) = self.command_mut(execution_id) {
                    c.state = CommandState::Ignored;
                }
            }
            DeviceEvent::EventPublished { kind } => {
                self.events.insert(0, (kind.clone(), now));
                self.events.truncate(EVENTS_CAP);
            }
            DeviceEvent::Refused { .. } => {}
        }
    }

    /// The cloud's shadow document (sandbox, or a GET): it replaces the device's view.
    pub fn handle_document(&mut self, document: &ShadowDocument) {
        if self.shadow.version == Some(document.version) && self.shadow.desired == document.desired
        {
            return;
        }
        self.shadow.desired.clone_from(&document.desired);
        self.shadow.reported.clone_from(&document.reported);
        self.shadow.version = Some(document.version);
        self.shadow.updated_at = Some(Millis(document.updated_at * 1000));
    }

    fn handle_job_event(&mut self, now: Millis, event: &JobEvent) {
        match event {
            JobEvent::Pending {
                in_progress,
                queued,
            } => {
                self.jobs.in_progress.clone_from(in_progress);
                self.jobs.queued.clone_from(queued);
            }
            JobEvent::Idle => {
                self.jobs.in_progress.clear();
                self.jobs.queued.clear();
            }
            JobEvent::Started(execution) => {
                let times_out_at = execution
                    .approximate_seconds_before_timed_out
                    .map(|secs| now + secs * 1000);
                self.jobs.queued.retain(|j| j != &execution.job_id);
                self.jobs.current = Some(JobRunView {
                    job_id: execution.job_id.clone(),
                    document: execution
                        .job_document
                        .as_ref()
                        .map(pretty)
                        .unwrap_or_default(),
                    percent: 0,
                    step: "started".into(),
                    status: execution.status,
                    status_details: execution.status_details.clone(),
                    times_out_at,
                });
                self.jobs.last_rejection = None;
            }
            JobEvent::Updated { job_id, state } => {
                if let Some(run) = self.jobs.current.as_mut().filter(|r| &r.job_id == job_id) {
                    run.status = state.status;
                    run.status_details.clone_from(&state.status_details);
                }
            }
            JobEvent::Rejected { job_id, rejection } => {
                self.jobs.last_rejection = Some(match job_id {
                    Some(id) => format!("{id}: {}: {}", rejection.code.as_str(), rejection.message),
                    None => format!("{}: {}", rejection.code.as_str(), rejection.message),
                });
            }
            JobEvent::Malformed(e) => self.jobs.last_rejection = Some(e.to_string()),
        }
    }

    fn record_reported(&mut self, now: Millis, changed: &State) {
        state::merge(&mut self.shadow.reported, changed);
        state::merge(&mut self.device, changed);
        for (key, value) in changed {
            if let Some(x) = value.as_f64() {
                let series = self.series.entry(key.clone()).or_default();
                series.push((now, x));
                // One in, at most one out: the series never holds more than the cap. A
                // `Vec` and a shift of 120 points: a `VecDeque` per series type cost more wasm.
                if series.len() > SERIES_CAP {
                    series.remove(0);
                }
            }
        }
    }

    fn change(&mut self, at: Millis, version: Option<u64>, kind: ChangeKind, keys: Vec<String>) {
        self.shadow.timeline.push_front(Change {
            seq: self.shadow.changes,
            at,
            version,
            kind,
            keys,
        });
        self.shadow.changes += 1;
        self.shadow.timeline.truncate(TIMELINE_CAP);
    }

    fn command_mut(&mut self, execution_id: &str) -> Option<&mut CommandView> {
        self.commands
            .iter_mut()
            .find(|c| c.execution_id == execution_id)
    }
}

/// JSON as people read it.
pub fn pretty(value: &Value) -> String {
    thingsim_fleet::json::pretty(value)
}

/// `value` with `decimals` digits after the point, as `format!("{value:.N}")` writes it but
/// for ties, which go away from zero: integer arithmetic only, so the module carries no float
/// formatting of its own (core's brings its tables; serde_json's writes JSON). Magnitudes past
/// 9e15 / 10^N saturate; the faces and charts show nothing near that.
pub fn fixed(value: f64, decimals: u32) -> String {
    if !value.is_finite() {
        return if value.is_nan() {
            "NaN"
        } else if value > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .to_owned();
    }
    let decimals = decimals.min(9);
    let scale = 10u64.pow(decimals);
    // `as` saturates: out-of-range magnitudes become i64's limits, not undefined behaviour.
    let scaled = (value * scale as f64).round() as i64;
    let sign = if scaled < 0 || (scaled == 0 && value < 0.0) {
        "-"
    } else {
        ""
    };
    let n = scaled.unsigned_abs();
    match decimals {
        0 => format!("{sign}{n}"),
        d => format!(
            "{sign}{}.{:0width$}",
            n / scale,
            n % scale,
            width = d as usize
        ),
    }
}

/// The cloud panel's inputs as typed, turned into an [`Operation`] or a message saying what to
/// fix.
pub mod forms {
    use super::{Map, Operation, ThingName, Value};
    use thingsim_fleet::model::{InitialValue, Kind, Template, shown_number};

    fn object(text: &str, what: &str) -> Result<Map<String, Value>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Map::new());
        }
        match thingsim_fleet::json::value(text.as_bytes()) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(format!(
                "{what}: a JSON object is expected, like {{\"key\": 1}}"
            )),
            Err(e) => Err(format!("{what}: not JSON ({e})")),
        }
    }

    /// A desired state worth trying on `template`: its first writable number, moved up a bit.
    pub fn example_desired(template: &Template) -> String {
        let pick = template
            .properties
            .iter()
            .find_map(|p| match (p.kind, p.writable, p.initial) {
                (Kind::Number { min, max, step, .. }, true, InitialValue::Number(x)) => {
                    let v = (x + 10.0 * step).clamp(min, max);
                    Some(format!("{{\"{}\": {}}}", p.key, shown_number(v)))
                }
                _ => None,
            });
        pick.or_else(|| {
            template
                .properties
                .iter()
                .find_map(|p| match (p.kind, p.writable) {
                    (Kind::Bool, true) => Some(format!("{{\"{}\": false}}", p.key)),
                    _ => None,
                })
        })
        .unwrap_or_else(|| "{}".to_owned())
    }

    /// Params for `action` with each required number at the middle of its range.
    pub fn example_params(template: &Template, action: &str) -> String {
        let Some(spec) = template.commands.iter().find(|c| c.action == action) else {
            return "{}".to_owned();
        };
        let mut params = Map::new();
        for p in spec.params {
            let value = match p.kind {
                Kind::Number { min, max, .. } => {
                    let mid = ((min + max) / 2.0).round();
                    // Whole numbers as integers: `{"times": 6}`, not `6.0`.
                    serde_json::Number::from_i128(mid as i128)
                        .map_or_else(|| Value::from(mid), Value::Number)
                }
                Kind::Bool => Value::Bool(true),
                Kind::Choice(options) => {
                    Value::String(options.first().copied().unwrap_or("").to_owned())
                }
                Kind::Color => Value::String("#ff8800".to_owned()),
                Kind::Text => Value::String("1234".to_owned()),
            };
            params.insert(p.name.to_owned(), value);
        }
        serde_json::to_string(&params).unwrap_or_default()
    }

    /// A job document `template` can run: its first job action.
    pub fn example_job(template: &Template) -> String {
        let action = template
            .job_actions
            .first()
            .map_or("updateFirmware", |a| a.action);
        format!("{{\"action\": \"{action}\", \"params\": {{\"version\": \"2.2.0\"}}}}")
    }

    /// Desired state from a JSON object.
    pub fn set_desired(thing: &ThingName, desired: &str) -> Result<Operation, String> {
        let desired = object(desired, "desired state")?;
        if desired.is_empty() {
            return Err("desired state: give at least one key".into());
        }
        Ok(Operation::SetDesired {
            thing: thing.clone(),
            desired,
        })
    }

    /// A command from its action, JSON params and TTL in seconds.
    pub fn send_command(
        thing: &ThingName,
        action: &str,
        params: &str,
        ttl: &str,
    ) -> Result<Operation, String> {
        let action = action.trim();
        if action.is_empty() {
            return Err("action: enter one, e.g. reboot".into());
        }
        let ttl = ttl
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=86_400).contains(t))
            .ok_or("ttl: whole seconds from 1 to 86400")?;
        Ok(Operation::SendCommand {
            thing: thing.clone(),
            action: action.to_owned(),
            params: object(params, "params")?,
            ttl,
        })
    }

    /// A job from its JSON document and an optional step timeout in minutes.
    pub fn create_job(
        thing: &ThingName,
        document: &str,
        step_timeout: &str,
    ) -> Result<Operation, String> {
        let document = object(document, "job document")?;
        let step_timeout_minutes = match step_timeout.trim() {
            "" => None,
            t => Some(
                t.parse::<u64>()
                    .ok()
                    .filter(|m| (1..=10_080).contains(m))
                    .ok_or("step timeout: whole minutes from 1 to 10080, or empty")?,
            ),
        };
        Ok(Operation::CreateJob {
            thing: thing.clone(),
            document: Value::Object(document),
            step_timeout_minutes,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use thingsim_fleet::commands::CommandResponse;

    proptest::proptest! {
        // As `format!` writes it, except where `value * 10^N` lands within a hair of a tie
        // (x.5), which `fixed` rounds away from zero and `format!` by the exact binary value.
        #[test]
        fn fixed_writes_what_format_writes(value in -1.0e6f64..1.0e6, decimals in 0u32..4) {
            let scaled = value * 10f64.powi(decimals as i32);
            proptest::prop_assume!((scaled.fract().abs() - 0.5).abs() > 1e-6);
            proptest::prop_assert_eq!(fixed(value, decimals), format!("{value:.*}", decimals as usize));
        }
    }

    #[test]
    fn fixed_rounds_ties_away_from_zero_and_says_what_is_not_a_number() {
        assert_eq!(fixed(0.25, 1), "0.3");
        assert_eq!(fixed(-0.25, 1), "-0.3");
        assert_eq!(fixed(2.5, 0), "3");
        assert_eq!(fixed(-0.04, 1), "-0.0");
        assert_eq!(fixed(0.0, 2), "0.00");
        assert_eq!(fixed(19.95, 3), "19.950");
        assert_eq!(fixed(f64::NAN, 1), "NaN");
        assert_eq!(fixed(f64::INFINITY, 1), "inf");
        assert_eq!(fixed(f64::NEG_INFINITY, 0), "-inf");
    }

    fn obj(v: Value) -> State {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("test object"),
        }
    }

    #[test]
    fn deltas_and_reports_fold_into_desired_reported_and_a_timeline() {
        let mut c = Console::new(Millis(0), &obj(json!({"target": 20, "power": true})));
        c.handle_device_event(
            Millis(1000),
            &DeviceEvent::DeltaApplied {
                version: 3,
                applied: obj(json!({"target": 25})),
                refused: vec![("mode".into(), "not one of heat, cool".into())],
            },
        );
        assert_eq!(c.shadow.version, Some(3));
        assert_eq!(c.shadow.delta(), obj(json!({"target": 25})));
        assert_eq!(c.shadow.conflicts.len(), 1);
        c.handle_device_event(
            Millis(1100),
            &DeviceEvent::Reported(obj(json!({"target": 25}))),
        );
        assert!(c.shadow.delta().is_empty(), "converged");
        c.handle_device_event(Millis(1200), &DeviceEvent::DeltaStale { got: 2, seen: 3 });
        let kinds: Vec<ChangeKind> = c.shadow.timeline.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::Stale { seen: 3 },
                ChangeKind::Reported,
                ChangeKind::Conflict,
                ChangeKind::Delta
            ]
        );
        assert_eq!(c.series["target"].len(), 2, "numeric values are charted");
        assert!(!c.series.contains_key("power"), "booleans are not");
    }

    #[test]
    fn timeline_entries_keep_their_number_as_newer_ones_push_them_out() {
        let mut c = Console::new(Millis(0), &State::new());
        for n in 0..TIMELINE_CAP as u64 + 5 {
            c.handle_device_event(Millis(n), &DeviceEvent::Reported(obj(json!({"target": n}))));
        }
        let seqs: Vec<u64> = c.shadow.timeline.iter().map(|e| e.seq).collect();
        let newest = TIMELINE_CAP as u64 + 4;
        assert_eq!(seqs.len(), TIMELINE_CAP);
        assert_eq!(seqs[0], newest, "newest first");
        assert_eq!(seqs[TIMELINE_CAP - 1], 5, "the five oldest are gone");
        assert!(seqs.windows(2).all(|w| w[0] == w[1] + 1), "{seqs:?}");
    }

    // Two states of one console's timeline, after `before` changes and `later` more: the rows
    // drawn for the first, spliced as told, are the second's, and every row the two share
    // stays.
    proptest::proptest! {
        #[test]
        fn following_the_timeline_draws_what_it_holds(before in 0u64..130, later in 0u64..130) {
            let timeline = |changes: u64| -> Vec<u64> {
                (changes.saturating_sub(TIMELINE_CAP as u64)..changes).rev().collect()
            };
            let (shown, next) = (timeline(before), timeline(before + later));
            let (drop, add) = follow_timeline(&shown, &next).expect("one run follows the other");
            let shared = shown.iter().filter(|seq| next.contains(seq)).count();
            proptest::prop_assert_eq!(shown.len() - drop, shared);
            let mut rows = next[..add].to_vec();
            rows.extend_from_slice(&shown[..shown.len() - drop]);
            proptest::prop_assert_eq!(rows, next);
        }
    }

    #[test]
    fn a_timeline_that_started_again_is_drawn_afresh() {
        assert_eq!(
            follow_timeline(&[7, 6, 5], &[0]),
            None,
            "a new console's first change"
        );
        assert_eq!(follow_timeline(&[7, 6, 5], &[9, 8, 6, 5]), None, "a gap");
        assert_eq!(follow_timeline(&[7, 6, 5], &[]), Some((3, 0)));
        assert_eq!(follow_timeline(&[], &[1, 0]), Some((0, 2)));
        assert_eq!(follow_timeline(&[2, 1], &[2, 1]), Some((0, 0)));
        assert_eq!(follow_timeline(&[5, 4, 3], &[6, 5, 4]), Some((1, 1)));
    }

    #[test]
    fn a_command_goes_from_pending_to_answered_and_counts_down() {
        let mut c = Console::default();
        let request: CommandRequest = serde_json::from_value(
            json!({"commandId":"c1","action":"reboot","timestamp":100,"ttl":30}),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        c.handle_device_event(
            Millis(100_000),
            &DeviceEvent::CommandReceived {
                execution_id: "e1".into(),
                request,
            },
        );
        assert_eq!(c.commands[0].state, CommandState::Pending);
        assert_eq!(c.commands[0].seconds_left(Millis(110_000)), 20);
        assert_eq!(c.commands[0].seconds_left(Millis(200_000)), 0);
        c.handle_device_event(
            Millis(101_000),
            &DeviceEvent::CommandAnswered {
                execution_id: "e1".into(),
                response: CommandResponse::error(CommandStatus::Rejected, "no"),
            },
        );
        assert_eq!(
            c.commands[0].state,
            CommandState::Answered(CommandStatus::Rejected)
        );
    }

    #[test]
    fn cloud_forms_refuse_what_they_cannot_send_and_say_why() {
        let thing = ThingName::new("t").unwrap_or_else(|e| panic!("{e}"));
        assert!(forms::set_desired(&thing, r#"{"target": 22}"#).is_ok());
        for (bad, says) in [
            ("[1]", "JSON object"),
            ("{", "not JSON"),
            ("{}", "at least one"),
        ] {
            let e = forms::set_desired(&thing, bad).err().unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!(forms::send_command(&thing, "reboot", "", "30").is_ok());
        assert!(forms::send_command(&thing, "", "", "30").is_err());
        assert!(forms::send_command(&thing, "reboot", "", "0").is_err());
        assert!(forms::send_command(&thing, "reboot", "x", "30").is_err());
        assert!(forms::create_job(&thing, r#"{"action":"updateFirmware"}"#, "").is_ok());
        assert!(forms::create_job(&thing, r#"{"action":"updateFirmware"}"#, "abc").is_err());
        for t in thingsim_fleet::model::TEMPLATES {
            let desired = forms::example_desired(t);
            assert!(
                forms::set_desired(&thing, &desired).is_ok(),
                "{}: {desired}",
                t.id
            );
            assert!(forms::create_job(&thing, &forms::example_job(t), "").is_ok());
            for c in t.commands {
                let params: Map<String, Value> =
                    serde_json::from_slice(forms::example_params(t, c.action).as_bytes())
                        .unwrap_or_default();
                let mut model = thingsim_fleet::model::DeviceModel::new(t, 1);
                let answer = model.run_command(c.action, &params);
                assert_eq!(
                    answer.status,
                    CommandStatus::Succeeded,
                    "{} {}: {answer:?}",
                    t.id,
                    c.action
                );
            }
        }
    }

    fn sub(filter: &str, state: SubscriptionState) -> SubscriptionStatus {
        SubscriptionStatus {
            filter: filter.into(),
            qos: thingsim_mqtt::Qos::AtLeastOnce,
            state,
        }
    }

    #[test]
    fn the_link_says_subscribed_only_when_every_filter_is_granted() {
        let granted = SubscriptionState::Granted(thingsim_mqtt::Qos::AtLeastOnce);
        let mut link = LinkView::default();
        assert_eq!(
            link.connected_text(),
            None,
            "no subscriptions: nothing to add"
        );
        link.handle_mqtt_event(&Event::Subscriptions(vec![
            sub("$emqx/things/t/shadow/update/delta", granted.clone()),
            sub(
                "$emqx/things/t/jobs/notify-next",
                SubscriptionState::Pending { late: false },
            ),
        ]));
        assert_eq!(
            link.connected_text(),
            Some(("subscribing 1/2…".to_owned(), false))
        );
        link.handle_mqtt_event(&Event::Subscriptions(vec![
            sub("$emqx/things/t/shadow/update/delta", granted.clone()),
            sub("$emqx/things/t/jobs/notify-next", granted),
        ]));
        assert_eq!(
            link.connected_text(),
            Some(("subscribed 2/2".to_owned(), false))
        );
        assert_eq!(link.deaf(Feed::Jobs), None);
    }

    #[test]
    fn a_refused_unsendable_or_unanswered_filter_makes_the_link_deaf_and_names_the_panel() {
        let mut link = LinkView::default();
        link.handle_mqtt_event(&Event::Subscriptions(vec![
            sub(
                "$emqx/commands/things/t/executions/+/request",
                SubscriptionState::Unsendable("too large".into()),
            ),
            sub(
                "$emqx/things/t/shadow/update/delta",
                SubscriptionState::Refused("Not authorized".into()),
            ),
            sub(
                "$emqx/things/t/jobs/notify",
                SubscriptionState::Pending { late: true },
            ),
        ]));
        let (text, warn) = link.connected_text().unwrap();
        assert!(warn);
        assert!(text.starts_with("but not listening: subscribed 0/3 — $emqx/commands/things/t/executions/+/request: too large"), "{text}");
        assert!(text.ends_with("(and 2 more)"), "{text}");
        assert!(link.deaf(Feed::Commands).unwrap().contains("too large"));
        assert!(link.deaf(Feed::Shadow).unwrap().contains("Not authorized"));
        assert!(link.deaf(Feed::Jobs).unwrap().contains("no SUBACK"));
    }

    #[test]
    fn broker_limits_are_shown_only_when_announced() {
        let mut link = LinkView::default();
        link.handle_mqtt_event(&Event::Limits(ServerLimits::default()));
        assert_eq!(link.limits_text(), None);
        link.handle_mqtt_event(&Event::Limits(ServerLimits {
            maximum_packet_size: Some(256),
            ..ServerLimits::default()
        }));
        assert_eq!(
            link.limits_text().as_deref(),
            Some("broker limits: max packet 256 B")
        );
    }

    #[test]
    fn every_fleets_filter_feeds_a_panel() {
        let thing = ThingName::new("t").unwrap();
        for filter in thingsim_fleet::Topic::device_subscriptions(&thing) {
            assert!(Feed::of(&filter).is_some(), "{filter}");
        }
    }

    // -- rules pinned down for the mutation score (issue 20) --

    fn request(timestamp: u64, ttl: u64) -> CommandRequest {
        CommandRequest {
            command_id: "c".into(),
            action: "reboot".into(),
            params: Map::new(),
            timestamp,
            ttl,
        }
    }

    #[test]
    fn a_command_counts_down_from_when_the_cloud_sent_it_or_else_from_arrival() {
        let mut view = CommandView {
            execution_id: "e".into(),
            request: request(100, 30),
            received_at: Millis(105_000),
            state: CommandState::Pending,
        };
        assert_eq!(
            view.seconds_left(Millis(110_000)),
            20,
            "from the cloud's timestamp"
        );
        assert_eq!(view.seconds_left(Millis(200_000)), 0);
        view.request = request(0, 30);
        assert_eq!(
            view.seconds_left(Millis(110_000)),
            25,
            "no timestamp: from arrival"
        );
    }

    #[test]
    fn refused_desired_values_stay_as_conflicts_until_a_delta_applies_them() {
        let mut console = Console::default();
        console.handle_device_event(
            Millis(1_000),
            &DeviceEvent::DeltaApplied {
                version: 2,
                applied: obj(json!({"a": 1})),
                refused: vec![("b".into(), "too hot".into())],
            },
        );
        assert_eq!(
            console.shadow.conflicts,
            vec![("b".to_owned(), "too hot".to_owned())]
        );
        let kinds: Vec<ChangeKind> = console.shadow.timeline.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [ChangeKind::Conflict, ChangeKind::Delta],
            "newest first"
        );
        // Refused again, with another reason: one entry, the newest reason.
        console.handle_device_event(
            Millis(2_000),
            &DeviceEvent::DeltaApplied {
                version: 3,
                applied: State::new(),
                refused: vec![("b".into(), "still too hot".into())],
            },
        );
        assert_eq!(
            console.shadow.conflicts,
            vec![("b".to_owned(), "still too hot".to_owned())]
        );
        // Applied at last: no conflict left, and no conflict entry for this delta.
        console.handle_device_event(
            Millis(3_000),
            &DeviceEvent::DeltaApplied {
                version: 4,
                applied: obj(json!({"b": 30})),
                refused: vec![],
            },
        );
        assert!(console.shadow.conflicts.is_empty());
        assert_eq!(console.shadow.timeline[0].kind, ChangeKind::Delta);
    }

    #[test]
    fn an_ignored_command_is_shown_as_ignored() {
        let mut console = Console::default();
        console.handle_device_event(
            Millis(1),
            &DeviceEvent::CommandReceived {
                execution_id: "e1".into(),
                request: request(0, 30),
            },
        );
        console.handle_device_event(
            Millis(2),
            &DeviceEvent::CommandIgnored {
                execution_id: "e1".into(),
            },
        );
        assert_eq!(console.commands[0].state, CommandState::Ignored);
    }

    #[test]
    fn the_cloud_s_document_replaces_the_device_s_view_unless_it_is_the_same() {
        let mut console = Console::default();
        let document = ShadowDocument {
            reported: obj(json!({"on": false})),
            desired: obj(json!({"on": true})),
            delta: obj(json!({"on": true})),
            version: 4,
            updated_at: 1_700_000_000,
        };
        console.handle_document(&document);
        assert_eq!(console.shadow.desired, document.desired);
        assert_eq!(console.shadow.reported, document.reported);
        assert_eq!(console.shadow.version, Some(4));
        assert_eq!(console.shadow.updated_at, Some(Millis(1_700_000_000_000)));
        // The same version and desired state again (an HTTPS poll): the device's newer
        // reports are not overwritten by the poll's older copy.
        console.shadow.reported = obj(json!({"on": true}));
        console.handle_document(&document);
        assert_eq!(console.shadow.reported, obj(json!({"on": true})));
        // A newer document replaces it again, as does a changed desired state at one version.
        let newer = ShadowDocument {
            version: 5,
            ..document.clone()
        };
        console.handle_document(&newer);
        assert_eq!(console.shadow.reported, obj(json!({"on": false})));
        console.shadow.reported = obj(json!({"on": true}));
        let other = ShadowDocument {
            version: 5,
            desired: obj(json!({"on": false})),
            ..document
        };
        console.handle_document(&other);
        assert_eq!(console.shadow.desired, obj(json!({"on": false})));
    }

    #[test]
    fn a_started_job_counts_down_its_step_and_leaves_the_queue_and_news_of_other_jobs_is_ignored() {
        use thingsim_fleet::jobs::{ExecutionState, JobExecution};
        let mut console = Console::default();
        console.handle_device_event(
            Millis(0),
            &DeviceEvent::Job(JobEvent::Pending {
                in_progress: vec![],
                queued: vec!["job-1".into(), "job-2".into()],
            }),
        );
        let execution = JobExecution {
            job_id: "job-1".into(),
            thing_name: "t".into(),
            job_document: None,
            status: JobStatus::InProgress,
            status_details: StatusDetails::new(),
            queued_at: 0,
            started_at: Some(0),
            last_updated_at: 0,
            version_number: 2,
            execution_number: 1,
            approximate_seconds_before_timed_out: Some(60),
        };
        console.handle_device_event(
            Millis(5_000),
            &DeviceEvent::Job(JobEvent::Started(execution)),
        );
        assert_eq!(console.jobs.queued, vec!["job-2".to_owned()]);
        let run = console.jobs.current.clone().unwrap();
        assert_eq!(run.times_out_at, Some(Millis(65_000)));
        let state = ExecutionState {
            status: JobStatus::Succeeded,
            status_details: StatusDetails::new(),
            version_number: 3,
        };
        console.handle_device_event(
            Millis(6_000),
            &DeviceEvent::Job(JobEvent::Updated {
                job_id: "job-2".into(),
                state: state.clone(),
            }),
        );
        console.handle_device_event(
            Millis(6_000),
            &DeviceEvent::JobProgress {
                job_id: "job-2".into(),
                percent: 50,
                step: "x".into(),
            },
        );
        assert_eq!(
            console.jobs.current.as_ref(),
            Some(&run),
            "not this job's news"
        );
        console.handle_device_event(
            Millis(7_000),
            &DeviceEvent::Job(JobEvent::Updated {
                job_id: "job-1".into(),
                state,
            }),
        );
        assert_eq!(console.jobs.current.unwrap().status, JobStatus::Succeeded);
    }

    #[test]
    fn a_reading_s_chart_keeps_its_newest_points_only() {
        let mut console = Console::default();
        for n in 0..SERIES_CAP + 5 {
            console.handle_device_event(
                Millis(n as u64),
                &DeviceEvent::Reported(obj(json!({"t": n}))),
            );
        }
        let series = &console.series["t"];
        assert_eq!(series.len(), SERIES_CAP);
        assert_eq!(series.first().map(|p| p.1), Some(5.0));
    }

    #[test]
    fn the_cloud_panel_s_examples_are_what_a_person_would_type() {
        use thingsim_fleet::model::THERMOSTAT;
        assert_eq!(pretty(&json!({"a": 1})), "{\n  \"a\": 1\n}");
        // The first writable number, ten steps up: 21 °C + 10 × 0.5.
        assert_eq!(
            forms::example_desired(&THERMOSTAT),
            r#"{"targetTemperature": 26}"#
        );
        let job: Value = serde_json::from_str(&forms::example_job(&THERMOSTAT)).unwrap();
        assert!(
            job["action"].as_str().is_some_and(|a| !a.is_empty()),
            "{job}"
        );
    }
}
