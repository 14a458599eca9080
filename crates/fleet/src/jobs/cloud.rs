//! The cloud role of jobs: jobs with per-thing executions, the notifications, the answers to
//! device requests, step timeouts and cancellation.

use crate::vec_map::{VecMap, VecSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    ExecutionReply, ExecutionState, JobExecution, JobExecutionSummary, JobRejected, JobRequest,
    JobStatus, JobUpdate, Notify, PendingJobs, RejectCode, UpdateAccepted, decode, encode,
    validate_job_document,
};
use crate::topics::{JobsTopic, Reply};
use crate::{Error, Result, ThingName, Topic};

/// A message the cloud publishes to one thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The thing it is for.
    pub thing: ThingName,
    /// Which topic of that thing.
    pub topic: Topic,
    /// JSON payload.
    pub payload: Vec<u8>,
}

impl Outgoing {
    /// The full topic string.
    pub fn topic_string(&self) -> String {
        self.topic.assemble(&self.thing)
    }
}

/// SNAPSHOT jobs target the things named at creation; CONTINUOUS jobs also things added to
/// their group later (group membership is the caller's: it calls [`JobsCloud::add_target`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobType {
    /// Current targets once.
    #[default]
    Snapshot,
    /// Also later targets.
    Continuous,
}

crate::wire_names::wire_names!(JobType {
    Snapshot => "SNAPSHOT",
    Continuous => "CONTINUOUS",
});

/// Where a job as a whole stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Some execution is not terminal.
    InProgress,
    /// Every execution is terminal.
    Completed,
    /// Cancelled.
    Canceled,
}

crate::wire_names::wire_names!(JobState {
    InProgress => "IN_PROGRESS",
    Completed => "COMPLETED",
    Canceled => "CANCELED",
});

/// A job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    /// Id (a topic level).
    pub job_id: String,
    /// Free text.
    pub description: String,
    /// What to do.
    pub document: Value,
    /// SNAPSHOT or CONTINUOUS.
    pub job_type: JobType,
    /// Minutes a device may stay IN_PROGRESS without an update (None: no limit).
    pub step_timeout_minutes: Option<u64>,
    /// Where it stands.
    pub state: JobState,
    /// Epoch seconds.
    pub created_at: u64,
    /// Groups it targets: a CONTINUOUS job also reaches things that join them later.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_groups: Vec<String>,
    /// How fast it reaches its targets and when it gives up.
    #[serde(default)]
    pub rollout: Rollout,
    /// Targets not reached yet: the roll-out's rate holds them back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
    /// The current minute of the roll-out: when it began (epoch seconds) and how many
    /// executions it created.
    #[serde(default)]
    pub window: (u64, u32),
    /// Why the roll-out was aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort_reason: Option<String>,
}

/// How fast a job reaches its targets, and when it gives up: beyond the Fleets docs, what a
/// careful roll-out needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollout {
    /// At most this many new executions a minute (`None`: every target at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_minute: Option<u32>,
    /// Cancel the job when too many executions fail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abort: Option<AbortRule>,
}

/// Abort when more than `failure_percent` of the finished executions failed, once at least
/// `min_finished` have finished. Failed means FAILED, REJECTED or TIMED_OUT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AbortRule {
    /// 0–100.
    pub failure_percent: u32,
    /// Finished executions before the rule applies.
    pub min_finished: u32,
}

/// A job to create: everything but its targets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewJob {
    /// Free text.
    pub description: String,
    /// What to do.
    pub document: Value,
    /// SNAPSHOT or CONTINUOUS.
    pub job_type: JobType,
    /// Minutes a device may stay IN_PROGRESS without an update.
    pub step_timeout_minutes: Option<u64>,
    /// Groups it targets (for CONTINUOUS jobs, later members too).
    pub target_groups: Vec<String>,
    /// Rate and abort rule.
    pub rollout: Rollout,
}

/// One execution with its step deadline, as a backend stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tracked {
    /// The execution.
    pub execution: JobExecution,
    /// When the current step times out (epoch seconds).
    pub step_deadline: Option<u64>,
}

/// Everything [`JobsCloud`] knows, for persistence.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JobsSnapshot {
    /// The job id counter.
    pub next_job: u64,
    /// What job ids are drawn from, with the counter.
    #[serde(default)]
    pub id_seed: u64,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// Per-thing executions.
    pub executions: Vec<Tracked>,
}

/// Jobs and executions of every thing.
#[derive(Debug, Default)]
pub struct JobsCloud {
    next_job: u64,
    id_seed: u64,
    jobs: VecMap<String, Job>,
    /// Job ids in the order they were created (ids are random).
    order: Vec<String>,
    executions: VecMap<(ThingName, String), Tracked>,
}

impl JobsCloud {
    /// Everything, for persistence.
    pub fn snapshot(&self) -> JobsSnapshot {
        JobsSnapshot {
            next_job: self.next_job,
            id_seed: self.id_seed,
            jobs: self.jobs().cloned().collect(),
            executions: self.executions.values().cloned().collect(),
        }
    }

    /// Back from a snapshot; executions whose thing name no longer validates are dropped.
    pub fn restore(snapshot: JobsSnapshot) -> Self {
        Self {
            next_job: snapshot.next_job,
            id_seed: snapshot.id_seed,
            order: snapshot.jobs.iter().map(|j| j.job_id.clone()).collect(),
            jobs: snapshot
                .jobs
                .into_iter()
                .map(|j| (j.job_id.clone(), j))
                .collect(),
            executions: snapshot
                .executions
                .into_iter()
                .filter_map(|t| {
                    let thing = ThingName::new(&t.execution.thing_name).ok()?;
                    Some(((thing, t.execution.job_id.clone()), t))
                })
                .collect(),
        }
    }

    /// Forgets the oldest finished jobs (completed or canceled) with their executions until at
    /// most `keep` jobs remain.
    fn prune(&mut self, keep: usize) {
        let mut over = self.jobs.len().saturating_sub(keep);
        if over == 0 {
            return;
        }
        let mut gone = VecSet::new();
        for id in &self.order {
            if over == 0 {
                break;
            }
            if self
                .jobs
                .get(id)
                .is_some_and(|j| j.state != JobState::InProgress)
            {
                gone.insert(id.clone());
                over -= 1;
            }
        }
        self.order.retain(|id| !gone.contains(id));
        self.jobs.retain(|id, _| !gone.contains(id));
        self.executions.retain(|(_, id), _| !gone.contains(id));
    }

    /// Job ids are UUIDs (version 4 layout) drawn from `seed` and a counter: the same seed
    /// gives the same ids (a seeded scenario), another seed others. A backend seeds it once
    /// per process.
    pub fn seed_ids(&mut self, seed: u64) {
        self.id_seed = seed;
    }

    fn new_job_id(&mut self) -> String {
        let jobs = &self.jobs;
        draw_id(self.id_seed, &mut self.next_job, |id| jobs.contains_key(id))
    }

    /// Creates a job for `things` and returns its id and the notifications to publish. The
    /// document must be an object with an `action` string.
    pub fn create_job(
        &mut self,
        now: u64,
        description: &str,
        document: Value,
        things: &[ThingName],
        job_type: JobType,
        step_timeout_minutes: Option<u64>,
    ) -> Result<(String, Vec<Outgoing>)> {
        let job = NewJob {
            description: description.to_owned(),
            document,
            job_type,
            step_timeout_minutes,
            ..NewJob::default()
        };
        self.create(now, job, things)
    }

    /// Creates `job` for `things` (group members already resolved), releasing as many
    /// executions as its roll-out rate allows now; the rest wait for [`JobsCloud::handle_timeout`].
    pub fn create(
        &mut self,
        now: u64,
        job: NewJob,
        things: &[ThingName],
    ) -> Result<(String, Vec<Outgoing>)> {
        validate_job_document(&job.document)?;
        if things.is_empty() && job.target_groups.is_empty() {
            return Err(Error::Malformed {
                document: "job",
                reason: "it needs at least one target thing".to_owned(),
            });
        }
        if let Some(rule) = job.rollout.abort
            && rule.failure_percent > 100
        {
            return Err(Error::Malformed {
                document: "job",
                reason: "abort failurePercent is a percentage: 0 to 100".to_owned(),
            });
        }
        if job.rollout.max_per_minute == Some(0) {
            return Err(Error::Malformed {
                document: "job",
                reason: "maxPerMinute must be at least 1".to_owned(),
            });
        }
        self.prune(MAX_JOBS - 1);
        let job_id = self.new_job_id();
        self.order.push(job_id.clone());
        self.jobs.insert(
            job_id.clone(),
            Job {
                job_id: job_id.clone(),
                description: job.description,
                document: job.document,
                job_type: job.job_type,
                step_timeout_minutes: job.step_timeout_minutes.filter(|&m| m > 0),
                // A job with only empty groups waits for members (CONTINUOUS) or is done.
                state: JobState::InProgress,
                created_at: now,
                target_groups: job.target_groups,
                rollout: job.rollout,
                waiting: Vec::new(),
                window: (now, 0),
                abort_reason: None,
            },
        );
        let mut out = Vec::new();
        for thing in things {
            out.extend(self.add_target(now, &job_id, thing)?);
        }
        self.refresh_job_states();
        Ok((job_id, out))
    }

    /// Queues `job_id` for one more thing (a CONTINUOUS job's new group member, or the
    /// creation of any job). A thing that already has an execution of the job is left alone.
    pub fn add_target(
        &mut self,
        now: u64,
        job_id: &str,
        thing: &ThingName,
    ) -> Result<Vec<Outgoing>> {
        let job = self.jobs.get(job_id).ok_or_else(|| unknown_job(job_id))?;
        if job.state == JobState::Canceled {
            return Ok(Vec::new());
        }
        let key = (thing.clone(), job_id.to_owned());
        if self.executions.contains_key(&key) || job.waiting.iter().any(|w| w == thing.as_str()) {
            return Ok(Vec::new());
        }
        if !self.take_slot(now, job_id) {
            if let Some(job) = self.jobs.get_mut(job_id) {
                job.waiting.push(thing.to_string());
            }
            return Ok(Vec::new());
        }
        self.executions.insert(
            key,
            Tracked {
                execution: JobExecution {
                    job_id: job_id.to_owned(),
                    thing_name: thing.to_string(),
                    job_document: None,
                    status: JobStatus::Queued,
                    status_details: Default::default(),
                    queued_at: now,
                    started_at: None,
                    last_updated_at: now,
                    version_number: 1,
                    execution_number: 1,
                    approximate_seconds_before_timed_out: None,
                },
                step_deadline: None,
            },
        );
        if let Some(job) = self.jobs.get_mut(job_id) {
            job.state = JobState::InProgress;
        }
        Ok(self.notifications(now, thing))
    }

    /// Cancels a job: every execution not yet terminal becomes CANCELED.
    pub fn cancel_job(&mut self, now: u64, job_id: &str) -> Result<Vec<Outgoing>> {
        let job = self
            .jobs
            .get_mut(job_id)
            .ok_or_else(|| unknown_job(job_id))?;
        job.state = JobState::Canceled;
        job.waiting.clear();
        let mut touched = Vec::new();
        for ((thing, id), tracked) in &mut self.executions {
            if id == job_id && !tracked.execution.status.is_terminal() {
                set_status(&mut tracked.execution, now, JobStatus::Canceled);
                tracked.step_deadline = None;
                touched.push(thing.clone());
            }
        }
        Ok(touched
            .iter()
            .flat_map(|t| self.notifications(now, t))
            .collect())
    }

    /// Times out executions whose step deadline passed.
    pub fn handle_timeout(&mut self, now: u64) -> Vec<Outgoing> {
        let mut touched = Vec::new();
        for ((thing, _), tracked) in &mut self.executions {
            if tracked.step_deadline.is_some_and(|d| d <= now) {
                set_status(&mut tracked.execution, now, JobStatus::TimedOut);
                tracked.step_deadline = None;
                touched.push(thing.clone());
            }
        }
        let mut out: Vec<Outgoing> = touched
            .iter()
            .flat_map(|t| self.notifications(now, t))
            .collect();
        out.extend(self.check_aborts(now));
        out.extend(self.release_waiting(now));
        self.refresh_job_states();
        out
    }

    /// The next step deadline or roll-out minute, for the shell's timer.
    pub fn poll_timeout(&self) -> Option<u64> {
        let windows = self
            .jobs
            .values()
            .filter(|j| !j.waiting.is_empty() && j.state != JobState::Canceled)
            .map(|j| j.window.0 + 60);
        self.executions
            .values()
            .filter_map(|t| t.step_deadline)
            .chain(windows)
            .min()
    }

    /// Whether job `job_id` may create one more execution now (and counts it).
    fn take_slot(&mut self, now: u64, job_id: &str) -> bool {
        let Some(job) = self.jobs.get_mut(job_id) else {
            return false;
        };
        let Some(max) = job.rollout.max_per_minute else {
            return true;
        };
        if now >= job.window.0 + 60 {
            job.window = (now, 0);
        }
        if job.window.1 < max {
            job.window.1 += 1;
            true
        } else {
            false
        }
    }

    /// Creates the executions that waited for a new roll-out minute.
    fn release_waiting(&mut self, now: u64) -> Vec<Outgoing> {
        let due: Vec<String> = self
            .jobs
            .values()
            .filter(|j| {
                !j.waiting.is_empty() && j.state != JobState::Canceled && now >= j.window.0 + 60
            })
            .map(|j| j.job_id.clone())
            .collect();
        let mut out = Vec::new();
        for job_id in due {
            let waiting = self
                .jobs
                .get_mut(&job_id)
                .map(|j| std::mem::take(&mut j.waiting))
                .unwrap_or_default();
            for name in waiting {
                if let Ok(thing) = ThingName::new(&name) {
                    out.extend(self.add_target(now, &job_id, &thing).unwrap_or_default());
                }
            }
        }
        out
    }

    /// Cancels the jobs whose abort rule now holds.
    fn check_aborts(&mut self, now: u64) -> Vec<Outgoing> {
        let mut abort = Vec::new();
        for job in self.jobs.values() {
            let Some(rule) = job.rollout.abort else {
                continue;
            };
            if job.state == JobState::Canceled {
                continue;
            }
            let (mut finished, mut failed) = (0u32, 0u32);
            for ((_, id), t) in &self.executions {
                if *id != job.job_id {
                    continue;
                }
                match t.execution.status {
                    JobStatus::Succeeded => finished += 1,
                    JobStatus::Failed | JobStatus::Rejected | JobStatus::TimedOut => {
                        finished += 1;
                        failed += 1;
                    }
                    _ => {}
                }
            }
            if finished >= rule.min_finished.max(1)
                && u64::from(failed) * 100 > u64::from(rule.failure_percent) * u64::from(finished)
            {
                abort.push((
                    job.job_id.clone(),
                    format!(
                        "{failed} of {finished} finished executions failed, over the abort \
                         threshold of {} %",
                        rule.failure_percent
                    ),
                ));
            }
        }
        let mut out = Vec::new();
        for (job_id, reason) in abort {
            out.extend(self.cancel_job(now, &job_id).unwrap_or_default());
            if let Some(job) = self.jobs.get_mut(&job_id) {
                job.abort_reason = Some(reason);
            }
        }
        out
    }

    /// A device published on one of its jobs request topics. Answers on `/accepted` or
    /// `/rejected`; malformed requests get `InvalidJson` and change nothing.
    pub fn handle_request(
        &mut self,
        now: u64,
        thing: &ThingName,
        topic: &JobsTopic,
        payload: &[u8],
    ) -> Vec<Outgoing> {
        let reply = |topic: JobsTopic, payload: Vec<u8>| Outgoing {
            thing: thing.clone(),
            topic: Topic::Jobs(topic),
            payload,
        };
        match topic {
            JobsTopic::Get(Reply::Request) => {
                match decode::<JobRequest>("jobs get request", payload) {
                    Ok(request) => {
                        let (in_progress_jobs, queued_jobs) = self.pending(thing);
                        let body = PendingJobs {
                            timestamp: now,
                            in_progress_jobs,
                            queued_jobs,
                            client_token: request.client_token,
                        };
                        vec![reply(JobsTopic::Get(Reply::Accepted), encode(&body))]
                    }
                    Err(e) => vec![reply(
                        JobsTopic::Get(Reply::Rejected),
                        rejected(now, RejectCode::InvalidJson, e.to_string(), None, None),
                    )],
                }
            }
            JobsTopic::StartNext(Reply::Request) => {
                let request = match decode::<JobRequest>("start-next request", payload) {
                    Ok(request) => request,
                    Err(e) => {
                        return vec![reply(
                            JobsTopic::StartNext(Reply::Rejected),
                            rejected(now, RejectCode::InvalidJson, e.to_string(), None, None),
                        )];
                    }
                };
                let mut out = Vec::new();
                let execution = match self.next_key(thing) {
                    Some(key) => {
                        let step = request
                            .step_timeout_in_minutes
                            .or_else(|| self.jobs.get(&key.1).and_then(|j| j.step_timeout_minutes));
                        let tracked = self.executions.get_mut(&key).map(|t| {
                            if t.execution.status == JobStatus::Queued {
                                set_status(&mut t.execution, now, JobStatus::InProgress);
                                if let Some(details) = request.status_details.clone() {
                                    t.execution.status_details = details;
                                }
                                t.step_deadline = step.filter(|&m| m > 0).map(|m| now + m * 60);
                            }
                            JobExecution {
                                approximate_seconds_before_timed_out: t
                                    .step_deadline
                                    .map(|d| d.saturating_sub(now)),
                                ..t.execution.clone()
                            }
                        });
                        out.extend(self.notifications(now, thing));
                        tracked.map(|e| self.with_document(e))
                    }
                    None => None,
                };
                let body = ExecutionReply {
                    timestamp: now,
                    execution,
                    client_token: request.client_token,
                };
                out.insert(
                    0,
                    reply(JobsTopic::StartNext(Reply::Accepted), encode(&body)),
                );
                out
            }
            JobsTopic::JobGet(job_id, Reply::Request) => {
                let back = |r| JobsTopic::JobGet(job_id.clone(), r);
                match decode::<JobRequest>("job get request", payload) {
                    Err(e) => vec![reply(
                        back(Reply::Rejected),
                        rejected(now, RejectCode::InvalidJson, e.to_string(), None, None),
                    )],
                    Ok(request) => match self.executions.get(&(thing.clone(), job_id.clone())) {
                        Some(t) => {
                            let body = ExecutionReply {
                                timestamp: now,
                                execution: Some(self.with_document(t.execution.clone())),
                                client_token: request.client_token,
                            };
                            vec![reply(back(Reply::Accepted), encode(&body))]
                        }
                        None => vec![reply(
                            back(Reply::Rejected),
                            rejected(
                                now,
                                RejectCode::ResourceNotFound,
                                format!("no execution of {job_id} for {thing}"),
                                request.client_token,
                                None,
                            ),
                        )],
                    },
                }
            }
            JobsTopic::JobUpdate(job_id, Reply::Request) => {
                self.update(now, thing, job_id, payload)
            }
            // Cloud → device topics: not requests; a well-behaved device never publishes them.
            _ => Vec::new(),
        }
    }

    fn update(
        &mut self,
        now: u64,
        thing: &ThingName,
        job_id: &str,
        payload: &[u8],
    ) -> Vec<Outgoing> {
        let back = |r| Topic::Jobs(JobsTopic::JobUpdate(job_id.to_owned(), r));
        let reject = |code, message: String, token, state| Outgoing {
            thing: thing.clone(),
            topic: back(Reply::Rejected),
            payload: rejected(now, code, message, token, state),
        };
        let update = match decode::<JobUpdate>("job update", payload) {
            Ok(update) => update,
            Err(e) => return vec![reject(RejectCode::InvalidJson, e.to_string(), None, None)],
        };
        let token = update.client_token.clone();
        let step_default = self.jobs.get(job_id).and_then(|j| j.step_timeout_minutes);
        let Some(tracked) = self.executions.get_mut(&(thing.clone(), job_id.to_owned())) else {
            return vec![reject(
                RejectCode::ResourceNotFound,
                format!("no execution of {job_id} for {thing}"),
                token,
                None,
            )];
        };
        let current = &tracked.execution;
        let state_now = Some(ExecutionState {
            status: current.status,
            status_details: current.status_details.clone(),
            version_number: current.version_number,
        });
        if current.status.is_terminal() {
            let message = format!("the execution already ended as {}", current.status.as_str());
            return vec![reject(
                RejectCode::TerminalStateReached,
                message,
                token,
                state_now,
            )];
        }
        if let Some(expected) = update.expected_version
            && expected != current.version_number
        {
            let message = format!(
                "expected version {expected}, the execution is at {}",
                current.version_number
            );
            return vec![reject(
                RejectCode::VersionMismatch,
                message,
                token,
                state_now,
            )];
        }
        if !current.status.can_become(update.status) {
            let message = format!(
                "{} cannot become {}",
                current.status.as_str(),
                update.status.as_str()
            );
            let code = if matches!(
                update.status,
                JobStatus::Queued | JobStatus::TimedOut | JobStatus::Canceled | JobStatus::Removed
            ) {
                RejectCode::InvalidRequest
            } else {
                RejectCode::InvalidStateTransition
            };
            return vec![reject(code, message, token, state_now)];
        }
        let status_changed = current.status != update.status;
        set_status(&mut tracked.execution, now, update.status);
        if let Some(details) = update.status_details {
            tracked.execution.status_details = details;
        }
        // AWS rule: an update restarts the step timer only when it names a timeout; the first
        // start (from QUEUED) gets the job's default.
        tracked.step_deadline = match (update.status.is_terminal(), update.step_timeout_in_minutes)
        {
            (true, _) | (false, Some(0)) => None,
            (false, Some(minutes)) => Some(now + minutes * 60),
            (false, None) => tracked
                .step_deadline
                .or_else(|| step_default.map(|m| now + m * 60)),
        };
        let e = &tracked.execution;
        let body = UpdateAccepted {
            execution_state: ExecutionState {
                status: e.status,
                status_details: e.status_details.clone(),
                version_number: e.version_number,
            },
            job_document: update
                .include_job_document
                .then(|| self.jobs.get(job_id).map(|j| j.document.clone()))
                .flatten(),
            timestamp: now,
            client_token: token,
        };
        let mut out = vec![Outgoing {
            thing: thing.clone(),
            topic: back(Reply::Accepted),
            payload: encode(&body),
        }];
        if status_changed {
            out.extend(self.notifications(now, thing));
            out.extend(self.check_aborts(now));
            self.refresh_job_states();
        }
        out
    }

    /// A job.
    pub fn job(&self, job_id: &str) -> Option<&Job> {
        self.jobs.get(job_id)
    }

    /// All jobs, oldest first.
    pub fn jobs(&self) -> impl Iterator<Item = &Job> {
        self.order.iter().filter_map(|id| self.jobs.get(id))
    }

    /// Every execution with its step deadline, by thing and job (for a store that writes
    /// what changed without copying everything).
    pub fn tracked(&self) -> impl Iterator<Item = &Tracked> {
        self.executions.values()
    }

    /// The job counter behind the ids, for persistence.
    pub fn next_job(&self) -> u64 {
        self.next_job
    }

    /// Every thing's execution of one job.
    pub fn executions_of(&self, job_id: &str) -> Vec<&JobExecution> {
        self.executions
            .iter()
            .filter(|((_, id), _)| id == job_id)
            .map(|(_, t)| &t.execution)
            .collect()
    }

    /// Drops `thing`'s executions and takes it off every roll-out's waiting list.
    pub fn forget_thing(&mut self, thing: &ThingName) {
        self.executions.retain(|(t, _), _| t != thing);
        for job in self.jobs.values_mut() {
            job.waiting.retain(|t| t != thing.as_str());
        }
    }

    /// One thing's execution of a job.
    pub fn execution(&self, thing: &ThingName, job_id: &str) -> Option<&JobExecution> {
        self.executions
            .get(&(thing.clone(), job_id.to_owned()))
            .map(|t| &t.execution)
    }

    /// `notify` (pending lists) and `notify-next` (the next execution) for `thing`.
    fn notifications(&self, now: u64, thing: &ThingName) -> Vec<Outgoing> {
        let (in_progress, queued) = self.pending(thing);
        let mut jobs = VecMap::new();
        if !queued.is_empty() {
            jobs.insert(JobStatus::Queued, queued);
        }
        if !in_progress.is_empty() {
            jobs.insert(JobStatus::InProgress, in_progress);
        }
        let next = self
            .next_key(thing)
            .and_then(|k| self.executions.get(&k))
            .map(|t| self.with_document(t.execution.clone()));
        vec![
            Outgoing {
                thing: thing.clone(),
                topic: Topic::Jobs(JobsTopic::Notify),
                payload: encode(&Notify {
                    timestamp: now,
                    jobs,
                }),
            },
            Outgoing {
                thing: thing.clone(),
                topic: Topic::Jobs(JobsTopic::NotifyNext),
                payload: encode(&ExecutionReply {
                    timestamp: now,
                    execution: next,
                    client_token: None,
                }),
            },
        ]
    }

    /// (in progress, queued), each oldest first.
    fn pending(&self, thing: &ThingName) -> (Vec<JobExecutionSummary>, Vec<JobExecutionSummary>) {
        let mut mine: Vec<&JobExecution> = self
            .executions
            .iter()
            .filter(|((t, _), _)| t == thing)
            .map(|(_, tracked)| &tracked.execution)
            .collect();
        mine.sort_by_key(|e| (e.queued_at, e.job_id.clone()));
        let of = |status| {
            mine.iter()
                .filter(|e| e.status == status)
                .map(|e| JobExecutionSummary::from(*e))
                .collect()
        };
        (of(JobStatus::InProgress), of(JobStatus::Queued))
    }

    /// The execution a device should work on: one in progress, else the oldest queued.
    fn next_key(&self, thing: &ThingName) -> Option<(ThingName, String)> {
        let mine = || self.executions.iter().filter(move |((t, _), _)| t == thing);
        let oldest = |status| {
            mine()
                .filter(|(_, t)| t.execution.status == status)
                .min_by_key(|(_, t)| (t.execution.queued_at, t.execution.job_id.clone()))
                .map(|(k, _)| k.clone())
        };
        oldest(JobStatus::InProgress).or_else(|| oldest(JobStatus::Queued))
    }

    fn with_document(&self, mut execution: JobExecution) -> JobExecution {
        execution.job_document = self.jobs.get(&execution.job_id).map(|j| j.document.clone());
        execution
    }

    fn refresh_job_states(&mut self) {
        for job in self.jobs.values_mut() {
            if job.state == JobState::Canceled {
                continue;
            }
            // A CONTINUOUS job with groups keeps waiting for new members until canceled.
            let open_ended = job.job_type == JobType::Continuous && !job.target_groups.is_empty();
            let done = !open_ended
                && job.waiting.is_empty()
                && self
                    .executions
                    .iter()
                    .filter(|((_, id), _)| *id == job.job_id)
                    .all(|(_, t)| t.execution.status.is_terminal());
            job.state = if done {
                JobState::Completed
            } else {
                JobState::InProgress
            };
        }
    }
}

fn set_status(execution: &mut JobExecution, now: u64, status: JobStatus) {
    if status == JobStatus::InProgress && execution.started_at.is_none() {
        execution.started_at = Some(now);
    }
    execution.status = status;
    execution.last_updated_at = now;
    execution.version_number += 1;
}

fn rejected(
    now: u64,
    code: RejectCode,
    message: String,
    client_token: Option<String>,
    execution_state: Option<ExecutionState>,
) -> Vec<u8> {
    encode(&JobRejected {
        code,
        message,
        timestamp: now,
        client_token,
        execution_state,
    })
}

/// Jobs kept: past this the oldest finished ones go, with their executions.
pub const MAX_JOBS: usize = 1_000;

/// A fresh id: a UUID drawn from `seed` and the next value of `counter`, drawn again while
/// `taken` says it is in use. 122 random bits: a second draw is already a miracle; more means
/// the draw is broken, and a test build says so rather than spinning.
pub(crate) fn draw_id(seed: u64, counter: &mut u64, taken: impl Fn(&str) -> bool) -> String {
    let mut id = String::new();
    for _ in 0..8 {
        *counter += 1;
        let mut rng = thingsim_mqtt::SeededRng::new(seed ^ counter.rotate_left(32));
        id = uuid_v4(rng.next_u64(), rng.next_u64());
        if !taken(&id) {
            return id;
        }
    }
    debug_assert!(false, "ids keep colliding: {id}");
    format!("{id}-{counter}")
}

/// A UUID in the version 4 layout (RFC 9562) from 128 random bits.
fn uuid_v4(high: u64, low: u64) -> String {
    let high = (high & !0xF000) | 0x4000; // version 4
    let low = (low & !(0b11 << 62)) | (0b10 << 62); // variant 10
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

fn unknown_job(job_id: &str) -> Error {
    Error::Unknown {
        what: "job",
        id: job_id.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_cap_the_oldest_finished_jobs_go_with_their_executions() {
        let mut jobs = JobsCloud::default();
        // A thing per job: one thing with a thousand queued jobs is its own (slow) story.
        let thing = |n: usize| ThingName::new(&format!("t{n}")).unwrap();
        let mut ids: Vec<String> = Vec::new();
        for n in 0..=MAX_JOBS {
            if n == 2 {
                // The first is still in progress, the second canceled: the second goes first.
                jobs.cancel_job(2, &ids[1]).unwrap();
            }
            if n == MAX_JOBS {
                break;
            }
            let (id, _) = jobs
                .create_job(
                    1,
                    &format!("j{n}"),
                    serde_json::json!({"action": "reboot"}),
                    &[thing(n)],
                    JobType::Snapshot,
                    None,
                )
                .unwrap();
            ids.push(id);
        }
        let (newest, _) = jobs
            .create_job(
                3,
                "one more",
                serde_json::json!({"action": "reboot"}),
                &[thing(0)],
                JobType::Snapshot,
                None,
            )
            .unwrap();
        assert_eq!(jobs.jobs().count(), MAX_JOBS);
        assert!(jobs.job(&ids[0]).is_some(), "in progress: kept");
        assert!(jobs.job(&ids[1]).is_none(), "finished and oldest: gone");
        assert!(
            jobs.execution(&thing(1), &ids[1]).is_none(),
            "with its execution"
        );
        assert_eq!(jobs.jobs().last().map(|j| j.job_id.clone()), Some(newest));
    }

    #[test]
    fn uuids_carry_version_4_and_the_rfc_variant_whatever_the_bits() {
        assert_eq!(uuid_v4(0, 0), "00000000-0000-4000-8000-000000000000");
        assert_eq!(
            uuid_v4(u64::MAX, u64::MAX),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(
            uuid_v4(0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210),
            "01234567-89ab-4def-bedc-ba9876543210"
        );
    }
}
