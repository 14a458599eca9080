//! What the fleet view shows and takes, pure: which cards a filter keeps, which rows of the
//! grid are in view, and the roll-out form as typed.

use serde_json::Value;
use thingsim_fleet::device::DeviceEvent;
use thingsim_fleet::fleet::{Behaviour, Card, FleetSpec, key_reading};
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::jobs::agent::JobEvent;
use thingsim_fleet::jobs::cloud::{AbortRule, JobType, Rollout};
use thingsim_fleet::model::Template;
use thingsim_fleet::shadow::state::State;
use thingsim_fleet::stack::{StackEvent, Status};
use thingsim_fleet::vec_map::VecMap;

/// Whether the page URL asks for the fleet view (`view=fleet`).
pub fn wants_fleet_view(query: &str) -> bool {
    query
        .trim_start_matches('?')
        .split('&')
        .any(|pair| pair == "view=fleet")
}

/// Devices one page may connect to one broker. Chromium allows 255 WebSockets per broker
/// host:port for the whole browser (every tab shares them); this leaves room for the others.
pub const MAX_BROKER_DEVICES: usize = 200;

/// New connections a second unless the user asks otherwise: Chromium opens one WebSocket
/// handshake at a time per host, and a broker takes a burst less kindly than a stream.
pub const DEFAULT_CONNECT_RATE: u32 = 20;

/// Whether `count` devices may connect to a broker from this page, or why not.
pub fn check_broker_count(count: usize) -> Result<(), String> {
    if count > MAX_BROKER_DEVICES {
        Err(format!(
            "{count} devices on one broker is more than a browser can hold: Chromium allows 255 \
             WebSockets per broker host and port, shared by every tab. At most \
             {MAX_BROKER_DEVICES} here; split the range over tabs or machines (start={{n}})"
        ))
    } else {
        Ok(())
    }
}

/// Where one device's connection stands, for the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Waiting for its turn to connect.
    #[default]
    Waiting,
    /// Opening the WebSocket, waiting for CONNACK.
    Connecting,
    /// Connected.
    Connected,
    /// Lost or refused; reconnecting.
    Failed,
    /// Stopped.
    Offline,
}

/// One device on a real broker, as the fleet view shows it: folded from its stack's events.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberView {
    /// Thing name.
    pub thing: String,
    /// What it was told to do.
    pub behaviour: Behaviour,
    /// Its connection.
    pub link: Link,
    /// What it last reported.
    pub state: State,
    /// The job it last ran, its status and percent done.
    pub job: Option<(String, JobStatus, u32)>,
    /// Messages it sent and received.
    pub sent: u64,
    /// Messages it received.
    pub received: u64,
    /// The cloud has desired state it has not reached (from the cloud's thing list: a
    /// device cannot know a delta it has not heard).
    pub delta_pending: bool,
}

impl MemberView {
    /// A device about to connect, starting from its model's state.
    pub fn new(thing: String, behaviour: Behaviour, state: State) -> Self {
        Self {
            thing,
            behaviour,
            link: Link::Waiting,
            state,
            job: None,
            sent: 0,
            received: 0,
            delta_pending: false,
        }
    }

    /// Folds one event of its stack.
    pub fn handle(&mut self, event: &StackEvent) {
        match event {
            StackEvent::Status(status) => {
                self.link = match status {
                    Status::Connecting => Link::Connecting,
                    Status::Connected => Link::Connected,
                    Status::Reconnecting { .. } => Link::Failed,
                    Status::Offline => Link::Offline,
                };
            }
            StackEvent::Sent(_) => self.sent += 1,
            StackEvent::Mqtt(thingsim_mqtt::Event::Received(_)) => self.received += 1,
            StackEvent::Device(DeviceEvent::Reported(state)) => {
                for (k, v) in state {
                    self.state.insert(k.clone(), v.clone());
                }
            }
            StackEvent::Device(DeviceEvent::JobProgress {
                job_id, percent, ..
            }) => self.job = Some((job_id.clone(), JobStatus::InProgress, *percent)),
            StackEvent::Device(DeviceEvent::Job(JobEvent::Started(execution))) => {
                self.job = Some((execution.job_id.clone(), JobStatus::InProgress, 0));
            }
            StackEvent::Device(DeviceEvent::Job(JobEvent::Updated { job_id, state })) => {
                let percent = self.job.as_ref().map_or(0, |(_, _, p)| *p);
                self.job = Some((job_id.clone(), state.status, percent));
            }
            _ => {}
        }
    }

    /// Its card.
    pub fn card(&self, template: &Template) -> Card {
        let running = self
            .job
            .as_ref()
            .filter(|(_, status, _)| *status == JobStatus::InProgress);
        Card {
            thing: self.thing.clone(),
            online: self.link == Link::Connected,
            reading: key_reading(template, &self.state),
            delta_pending: self.delta_pending,
            job: self.job.as_ref().map(|(_, status, _)| *status),
            progress: running.map(|(_, _, p)| *p),
            behaviour: self.behaviour,
            // A broker's fleet is one group.
            group: 0,
        }
    }
}

/// Shadow convergence on a broker, as the page sees it: from the moment it asks for desired
/// state to the moment the device has applied all of it (its report goes out in that turn).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Convergence {
    since: VecMap<String, u64>,
    samples: Vec<u64>,
}

impl Convergence {
    /// Desired state was asked for `thing` at `at` (ms).
    pub fn start(&mut self, thing: &str, at: u64) {
        self.since.insert(thing.to_owned(), at);
    }

    /// What `thing`'s device did at `at`: a delta applied with nothing refused ends its wait.
    pub fn handle(&mut self, thing: &str, event: &DeviceEvent, at: u64) {
        if let DeviceEvent::DeltaApplied { refused, .. } = event
            && refused.is_empty()
            && let Some(since) = self.since.remove(thing)
        {
            self.samples.push(at.saturating_sub(since));
        }
    }

    /// A device left the fleet.
    pub fn forget(&mut self, thing: &str) {
        self.since.remove(thing);
    }

    /// (p50, p95) in ms, and how many samples.
    pub fn figures(&self) -> (Option<(u64, u64)>, usize) {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let p = |q| thingsim_fleet::fleet::percentile(&sorted, q);
        (p(50).zip(p(95)), sorted.len())
    }
}

/// Messages a second in and out over the last [`RATE_WINDOW_MS`]: devices made together
/// report together, so the count between two updates swings between nothing and a burst.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    samples: std::collections::VecDeque<(u64, u64, u64)>,
}

/// How far back [`Rates`] looks.
pub const RATE_WINDOW_MS: u64 = 2_000;

impl Rates {
    /// The totals (messages in, out) at `at` ms; returns the rates over the window.
    pub fn push(&mut self, at: u64, messages_in: u64, messages_out: u64) -> (f64, f64) {
        // Counters that went back (devices removed, a new fleet) start the window over.
        if self
            .samples
            .back()
            .is_some_and(|(t, i, o)| at < *t || messages_in < *i || messages_out < *o)
        {
            self.samples.clear();
        }
        self.samples.push_back((at, messages_in, messages_out));
        while self.samples.len() > 2 && at.saturating_sub(self.samples[1].0) >= RATE_WINDOW_MS {
            self.samples.pop_front();
        }
        let (t0, i0, o0) = self.samples[0];
        let secs = at.saturating_sub(t0) as f64 / 1000.0;
        if secs <= 0.0 {
            return (0.0, 0.0);
        }
        (
            (messages_in - i0) as f64 / secs,
            (messages_out - o0) as f64 / secs,
        )
    }
}

/// Waiting, connecting, connected and failed devices.
pub fn link_counts<'a>(members: impl IntoIterator<Item = &'a MemberView>) -> [usize; 4] {
    let mut counts = [0; 4];
    for m in members {
        match m.link {
            Link::Waiting => counts[0] += 1,
            Link::Connecting => counts[1] += 1,
            Link::Connected => counts[2] += 1,
            Link::Failed | Link::Offline => counts[3] += 1,
        }
    }
    counts
}

/// Which cards the grid shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Every device.
    #[default]
    All,
    /// Not connected.
    Offline,
    /// Desired state not reached.
    DeltaPending,
    /// The latest job failed, was rejected or timed out.
    JobFailed,
}

impl Filter {
    /// Every filter, in the order the page lists them, with its words.
    pub const ALL: [(Self, &'static str, &'static str); 4] = [
        (Self::All, "all", "all"),
        (Self::Offline, "offline", "offline"),
        (Self::DeltaPending, "delta", "delta pending"),
        (Self::JobFailed, "failed", "job failed"),
    ];

    /// From its URL / select value.
    pub fn parse(value: &str) -> Self {
        Self::ALL
            .iter()
            .find(|(_, v, _)| *v == value)
            .map_or(Self::All, |(f, ..)| *f)
    }

    /// Whether `card` passes.
    pub fn keeps(self, card: &Card) -> bool {
        match self {
            Self::All => true,
            Self::Offline => !card.online,
            Self::DeltaPending => card.delta_pending,
            Self::JobFailed => matches!(
                card.job,
                Some(JobStatus::Failed | JobStatus::Rejected | JobStatus::TimedOut)
            ),
        }
    }
}

/// The grid's geometry: cards per row, and the height of a row in pixels.
pub const COLUMNS: usize = 5;
/// Height of one row of cards, in pixels.
pub const ROW_PX: f64 = 84.0;
/// Rows rendered beyond the visible ones, above and below.
pub const OVERSCAN_ROWS: usize = 2;

/// The range of cards to render for a viewport `height` px tall scrolled `top` px down, out
/// of `total`: only those, so a thousand devices cost a few dozen elements.
pub fn window(total: usize, top: f64, height: f64) -> std::ops::Range<usize> {
    let rows = total.div_ceil(COLUMNS);
    let first = ((top.max(0.0) / ROW_PX) as usize).saturating_sub(OVERSCAN_ROWS);
    let shown = (height.max(ROW_PX) / ROW_PX).ceil() as usize + 2 * OVERSCAN_ROWS;
    let first = first.min(rows.saturating_sub(1));
    let last = (first + shown).min(rows);
    (first * COLUMNS).min(total)..(last * COLUMNS).min(total)
}

/// The form that adds a group to the fleet, as typed: the same words as the fleet URL's
/// parameters, read by the same rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupForm {
    /// Thing group name.
    pub name: String,
    /// Template id.
    pub template: String,
    /// Devices.
    pub count: String,
    /// Names: `{n}` is the device number.
    pub pattern: String,
    /// The first number.
    pub start: String,
    /// `walk`, `sine@s`, `step@s` or `constant`.
    pub generator: String,
    /// Seconds between reports (0: only on change).
    pub every: String,
    /// ± percent on each interval.
    pub jitter: String,
    /// The outcome mix (`fail:10@2,…`).
    pub mix: String,
}

impl Default for GroupForm {
    fn default() -> Self {
        Self {
            name: "sensors".to_owned(),
            template: "environment-sensor".to_owned(),
            count: "20".to_owned(),
            pattern: "sensor-{n}".to_owned(),
            start: "1".to_owned(),
            generator: "sine@60".to_owned(),
            every: "1".to_owned(),
            jitter: "20".to_owned(),
            mix: String::new(),
        }
    }
}

impl GroupForm {
    /// The group's spec, seeded from the fleet's seed and the group's place, or every
    /// problem in words.
    pub fn to_spec(&self, seed: u64) -> Result<FleetSpec, String> {
        let template = Template::by_id(self.template.trim()).ok_or_else(|| {
            format!(
                "template: no template {}",
                thingsim_mqtt::quoted(self.template.trim())
            )
        })?;
        let name = self.name.trim();
        if name.is_empty() {
            return Err("group: give the group a name".into());
        }
        let mut spec = FleetSpec {
            seed,
            group: name.to_owned(),
            ..FleetSpec::new(template)
        };
        let pairs: Vec<(String, String)> = [
            ("count", &self.count),
            ("start", &self.start),
            ("pattern", &self.pattern),
            ("generator", &self.generator),
            ("telemetry", &self.every),
            ("jitter", &self.jitter),
            ("mix", &self.mix),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect();
        let errors = spec.apply_query(&pairs);
        if errors.is_empty() {
            Ok(spec)
        } else {
            Err(errors.join("; "))
        }
    }
}

/// Which groups an action is for: the select's value, "" for every group.
pub fn parse_target(value: &str) -> Option<usize> {
    value.parse().ok()
}

/// The roll-out form, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollOutForm {
    /// The job document (JSON).
    pub document: String,
    /// CONTINUOUS (true) or SNAPSHOT.
    pub continuous: bool,
    /// Minutes a step may take ("" for no limit).
    pub step_timeout: String,
    /// New executions a minute ("" for all at once).
    pub per_minute: String,
    /// Abort above this failure percentage ("" for never).
    pub abort_percent: String,
    /// ...once this many finished.
    pub abort_after: String,
}

impl Default for RollOutForm {
    fn default() -> Self {
        Self {
            document: r#"{"action": "updateFirmware", "params": {"version": "3.0.0"}}"#.to_owned(),
            continuous: false,
            step_timeout: String::new(),
            per_minute: String::new(),
            abort_percent: String::new(),
            abort_after: "10".to_owned(),
        }
    }
}

/// What the form asks for, checked.
pub type RollOutRequest = (Value, JobType, Option<u64>, Rollout);

impl RollOutForm {
    /// Checks every field; the first problem, in words, when one is wrong.
    pub fn validate(&self) -> Result<RollOutRequest, String> {
        let document = thingsim_fleet::json::value(self.document.as_bytes())
            .map_err(|e| format!("job document: not JSON ({e})"))?;
        thingsim_fleet::jobs::validate_job_document(&document)
            .map_err(|e| format!("job document: {e}"))?;
        let optional = |text: &str, what: &str, range: std::ops::RangeInclusive<u64>| {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse::<u64>()
                .ok()
                .filter(|n| range.contains(n))
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "{what}: a whole number from {} to {}",
                        range.start(),
                        range.end()
                    )
                })
        };
        let step = optional(&self.step_timeout, "step timeout (min)", 1..=10_080)?;
        let per_minute = optional(&self.per_minute, "per minute", 1..=100_000)?;
        let percent = optional(&self.abort_percent, "abort above (%)", 0..=100)?;
        let after = optional(&self.abort_after, "abort after (finished)", 1..=100_000)?;
        let abort = percent.map(|p| AbortRule {
            failure_percent: u32::try_from(p).unwrap_or(100),
            min_finished: u32::try_from(after.unwrap_or(1)).unwrap_or(u32::MAX),
        });
        let job_type = if self.continuous {
            JobType::Continuous
        } else {
            JobType::Snapshot
        };
        let rollout = Rollout {
            max_per_minute: per_minute.map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            abort,
        };
        Ok((document, job_type, step, rollout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(online: bool, delta: bool, job: Option<JobStatus>) -> Card {
        Card {
            thing: "t".into(),
            online,
            reading: String::new(),
            delta_pending: delta,
            job,
            progress: None,
            behaviour: Behaviour::Healthy,
            group: 0,
        }
    }

    #[test]
    fn the_url_asks_for_the_fleet_view_only_with_view_fleet() {
        assert!(wants_fleet_view("?view=fleet&count=50"));
        assert!(wants_fleet_view("count=5&view=fleet"));
        assert!(!wants_fleet_view("?view=fleetx"));
        assert!(!wants_fleet_view("?mode=sandbox"));
    }

    #[test]
    fn each_filter_keeps_what_it_names() {
        let cards = [
            card(true, false, Some(JobStatus::Succeeded)),
            card(false, false, None),
            card(true, true, Some(JobStatus::InProgress)),
            card(true, false, Some(JobStatus::Failed)),
            card(true, false, Some(JobStatus::Rejected)),
            card(true, false, Some(JobStatus::TimedOut)),
        ];
        let kept = |f: Filter| cards.iter().filter(|c| f.keeps(c)).count();
        assert_eq!(
            (
                kept(Filter::All),
                kept(Filter::Offline),
                kept(Filter::DeltaPending),
                kept(Filter::JobFailed)
            ),
            (6, 1, 1, 3)
        );
        for (filter, value, _) in Filter::ALL {
            assert_eq!(Filter::parse(value), filter);
        }
        assert_eq!(Filter::parse("nonsense"), Filter::All);
    }

    #[test]
    fn only_the_rows_in_view_are_rendered() {
        // 1,000 cards: 200 rows; a 420 px viewport shows 5 rows, rendered with 2 more above
        // and below (at the top, all 4 below).
        assert_eq!(window(1_000, 0.0, 420.0), 0..45);
        let w = window(1_000, 100.0 * ROW_PX, 420.0);
        assert_eq!(w, (98 * COLUMNS)..(107 * COLUMNS));
        assert_eq!(
            window(1_000, 1e9, 420.0).end,
            1_000,
            "scrolled past the end: the last rows"
        );
        assert!(window(1_000, 1e9, 420.0).start < 1_000);
        assert_eq!(window(7, 0.0, 420.0), 0..7);
        assert_eq!(window(0, 0.0, 420.0), 0..0);
    }

    #[test]
    fn a_broker_fleet_is_capped_and_each_device_is_folded_from_its_events() {
        assert!(check_broker_count(200).is_ok());
        assert!(
            check_broker_count(201)
                .unwrap_err()
                .contains("255 WebSockets")
        );
        let model = thingsim_fleet::model::DeviceModel::new(&thingsim_fleet::model::SMART_PLUG, 1);
        let mut m = MemberView::new("plug-1".into(), Behaviour::Healthy, model.state().clone());
        m.handle(&StackEvent::Status(Status::Connecting));
        assert_eq!(link_counts(std::slice::from_ref(&m)), [0, 1, 0, 0]);
        m.handle(&StackEvent::Status(Status::Connected));
        let reported = serde_json::json!({"power": 12.5})
            .as_object()
            .cloned()
            .unwrap();
        m.handle(&StackEvent::Device(DeviceEvent::Reported(reported)));
        m.handle(&StackEvent::Device(DeviceEvent::JobProgress {
            job_id: "j".into(),
            percent: 40,
            step: "writing".into(),
        }));
        let card = m.card(&thingsim_fleet::model::SMART_PLUG);
        assert_eq!(
            (card.online, card.reading.as_str(), card.progress),
            (true, "Power 12.5 W", Some(40))
        );
        m.handle(&StackEvent::Device(DeviceEvent::Job(JobEvent::Updated {
            job_id: "j".into(),
            state: thingsim_fleet::jobs::ExecutionState {
                status: JobStatus::Failed,
                status_details: Default::default(),
                version_number: 3,
            },
        })));
        let card = m.card(&thingsim_fleet::model::SMART_PLUG);
        assert_eq!((card.job, card.progress), (Some(JobStatus::Failed), None));
        m.handle(&StackEvent::Status(Status::Reconnecting {
            in_ms: 1_000,
            last_error: None,
        }));
        assert_eq!(link_counts(&[m]), [0, 0, 0, 1]);
    }

    #[test]
    fn the_roll_out_form_is_checked_and_read() {
        let mut form = RollOutForm::default();
        let (doc, job_type, step, rollout) = form.validate().unwrap();
        assert_eq!(doc["action"], "updateFirmware");
        assert_eq!(
            (job_type, step, rollout),
            (JobType::Snapshot, None, Rollout::default())
        );
        form.continuous = true;
        form.step_timeout = "2".into();
        form.per_minute = "20".into();
        form.abort_percent = "10".into();
        let (_, job_type, step, rollout) = form.validate().unwrap();
        assert_eq!((job_type, step), (JobType::Continuous, Some(2)));
        assert_eq!(rollout.max_per_minute, Some(20));
        assert_eq!(
            rollout.abort,
            Some(AbortRule {
                failure_percent: 10,
                min_finished: 10
            })
        );
        for (field, value, says) in [
            (0, "{", "not JSON"),
            (0, "{}", "job document"),
            (1, "0", "step timeout"),
            (2, "many", "per minute"),
            (3, "101", "abort above"),
        ] {
            let mut bad = RollOutForm::default();
            match field {
                0 => bad.document = value.into(),
                1 => bad.step_timeout = value.into(),
                2 => bad.per_minute = value.into(),
                _ => bad.abort_percent = value.into(),
            }
            let error = bad.validate().unwrap_err();
            assert!(error.contains(says), "{value}: {error}");
        }
    }

    #[test]
    fn the_group_form_reads_like_the_url_and_says_every_problem() {
        let spec = GroupForm::default().to_spec(9).unwrap();
        assert_eq!(spec.group, "sensors");
        assert_eq!(spec.template.id, "environment-sensor");
        assert_eq!((spec.count, spec.seed, spec.jitter_percent), (20, 9, 20));
        assert_eq!(spec.telemetry_ms, Some(1_000));
        assert_eq!(spec.generator.label(), "sine@60");
        assert_eq!(spec.name(3).unwrap().as_str(), "sensor-3");
        let bad = GroupForm {
            generator: "saw".into(),
            jitter: "150".into(),
            pattern: "no-number".into(),
            ..GroupForm::default()
        };
        let e = bad.to_spec(1).unwrap_err();
        assert!(
            e.contains("generator") && e.contains("jitter") && e.contains("{n}"),
            "{e}"
        );
        let nameless = GroupForm {
            name: " ".into(),
            ..GroupForm::default()
        };
        assert!(nameless.to_spec(1).unwrap_err().contains("name"));
        let toaster = GroupForm {
            template: "toaster".into(),
            ..GroupForm::default()
        };
        assert!(toaster.to_spec(1).unwrap_err().contains("toaster"));
        assert_eq!(parse_target(""), None);
        assert_eq!(parse_target("1"), Some(1));
    }

    #[test]
    fn convergence_counts_a_delta_applied_whole_from_when_it_was_asked() {
        let applied = |refused: Vec<(String, String)>| DeviceEvent::DeltaApplied {
            version: 2,
            applied: State::new(),
            refused,
        };
        let mut c = Convergence::default();
        assert_eq!(c.figures(), (None, 0));
        c.start("a", 1_000);
        c.start("b", 1_000);
        c.start("c", 1_000);
        c.handle("a", &applied(Vec::new()), 1_040);
        // Refused keys stay in the delta: not converged.
        c.handle(
            "b",
            &applied(vec![("power".into(), "read-only".into())]),
            1_050,
        );
        // Not asked: nothing to count.
        c.handle("z", &applied(Vec::new()), 1_060);
        c.forget("c");
        c.handle("c", &applied(Vec::new()), 1_070);
        c.handle("a", &applied(Vec::new()), 1_090);
        assert_eq!(c.figures(), (Some((40, 40)), 1));
        c.handle("b", &applied(Vec::new()), 1_100);
        assert_eq!(c.figures(), (Some((100, 100)), 2));
    }

    #[test]
    fn rates_smooth_bursts_over_the_window_and_restart_when_counters_go_back() {
        let mut r = Rates::default();
        assert_eq!(r.push(0, 0, 0), (0.0, 0.0));
        // 200 messages in one burst a second, updates four times a second.
        let mut total = 0;
        let mut last = (0.0, 0.0);
        for tick in 1..=20u64 {
            if tick % 4 == 0 {
                total += 200;
            }
            last = r.push(tick * 250, total, total / 2);
        }
        assert!((last.0 - 200.0).abs() < 30.0, "{last:?}");
        assert!((last.1 - 100.0).abs() < 15.0, "{last:?}");
        assert_eq!(r.push(5_250, 10, 5), (0.0, 0.0), "counters went back");
        assert_eq!(r.push(6_250, 110, 5), (100.0, 0.0));
    }
}
