//! The device role of jobs: follow notifications, start the next job, report progress, and
//! keep running whatever the cloud sends.
//!
//! ```text
//!            notify-next (a job)             start-next/accepted
//!   Idle ───────────────────────▶ AwaitingStartNext ─────────────▶ Running(job)
//!    ▲                                   │ nothing pending                │ update(status)
//!    │                                   ▼                                ▼
//!    └──────────────── terminal update accepted / TerminalStateReached ◀──┘
//! ```
//! Outputs are drained with [`JobsAgent::poll_output`] (sans-I/O taxonomy, design.md §2).

use std::collections::VecDeque;

use super::{
    ExecutionReply, ExecutionState, JobExecution, JobRejected, JobRequest, JobStatus, JobUpdate,
    Notify, PendingJobs, RejectCode, StatusDetails, decode, encode,
};
use crate::topics::{JobsTopic, Reply};
use crate::{Error, Result, Topic};

/// What the agent wants done or wants known.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentOutput {
    /// Publish `payload` on this topic of our thing (QoS 1).
    Publish(Topic, Vec<u8>),
    /// Something the UI and the device model should hear about.
    Event(JobEvent),
}

/// Things that happened.
#[derive(Debug, Clone, PartialEq)]
pub enum JobEvent {
    /// The cloud's pending lists (from `notify` or `get/accepted`): (in progress, queued) ids.
    Pending {
        /// Started jobs.
        in_progress: Vec<String>,
        /// Waiting jobs.
        queued: Vec<String>,
    },
    /// A job was started: run its document.
    Started(JobExecution),
    /// An update was accepted.
    Updated {
        /// The job.
        job_id: String,
        /// Its state now.
        state: ExecutionState,
    },
    /// Nothing is pending.
    Idle,
    /// A request was refused.
    Rejected {
        /// The job it was about, when known.
        job_id: Option<String>,
        /// The cloud's answer.
        rejection: JobRejected,
    },
    /// A payload could not be read; nothing changed.
    Malformed(Error),
}

/// Where the agent stands, named for what it awaits.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentState {
    /// No job; waiting for a notification.
    Idle,
    /// `start-next` sent with this token.
    AwaitingStartNext {
        /// The request's client token.
        token: String,
    },
    /// Working on a job.
    Running(JobExecution),
}

/// The jobs agent of one device.
#[derive(Debug)]
pub struct JobsAgent {
    state: AgentState,
    next_token: u64,
    outputs: VecDeque<AgentOutput>,
    /// Start the next job as soon as one is announced (off: the user steps through).
    pub auto_start: bool,
}

impl Default for JobsAgent {
    fn default() -> Self {
        Self {
            state: AgentState::Idle,
            next_token: 0,
            outputs: VecDeque::new(),
            auto_start: true,
        }
    }
}

impl JobsAgent {
    /// Where the agent stands.
    pub fn state(&self) -> &AgentState {
        &self.state
    }

    /// The job being run, if any.
    pub fn current(&self) -> Option<&JobExecution> {
        match &self.state {
            AgentState::Running(e) => Some(e),
            _ => None,
        }
    }

    /// After (re)connecting: ask for the pending list, and for the next job (or the current
    /// job's fate, which may have changed while offline).
    pub fn handle_connected(&mut self) {
        if !self.ask_pending() {
            // Any start-next in flight was lost with the connection: ask again.
            self.start_next();
        }
    }

    /// A poll (HTTPS devices are told nothing): ask for the pending list, the running job's
    /// fate, and the next job when idle and starting jobs on its own.
    pub fn check(&mut self) {
        if !self.ask_pending() && self.state == AgentState::Idle && self.auto_start {
            self.start_next();
        }
    }

    /// Asks for the pending list and, while a job runs, for its fate; returns whether one runs.
    fn ask_pending(&mut self) -> bool {
        let _ = self.request(JobsTopic::Get(Reply::Request));
        let AgentState::Running(e) = &self.state else {
            return false;
        };
        let topic = JobsTopic::JobGet(e.job_id.clone(), Reply::Request);
        let _ = self.request(topic);
        true
    }

    /// Asks the cloud for the next job (user intent when `auto_start` is off).
    pub fn start_next(&mut self) {
        if matches!(self.state, AgentState::Running(_)) {
            return;
        }
        let token = self.request(JobsTopic::StartNext(Reply::Request));
        self.state = AgentState::AwaitingStartNext { token };
    }

    /// Reports the current job's status (progress with IN_PROGRESS, or an end).
    pub fn update(
        &mut self,
        status: JobStatus,
        details: StatusDetails,
        step_timeout_in_minutes: Option<u64>,
    ) -> Result<()> {
        let Some(current) = self.current() else {
            return Err(Error::Unknown {
                what: "running job",
                id: String::new(),
            });
        };
        let job_id = current.job_id.clone();
        let update = JobUpdate {
            status,
            status_details: Some(details),
            expected_version: Some(current.version_number),
            step_timeout_in_minutes,
            include_job_document: false,
            client_token: Some(self.token()),
        };
        self.publish(JobsTopic::JobUpdate(job_id, Reply::Request), &update);
        Ok(())
    }

    /// A message on one of our jobs topics.
    pub fn handle_message(&mut self, topic: &JobsTopic, payload: &[u8]) {
        if let Err(e) = self.dispatch(topic, payload) {
            self.event(JobEvent::Malformed(e));
        }
    }

    /// Next output; `None` when drained.
    pub fn poll_output(&mut self) -> Option<AgentOutput> {
        self.outputs.pop_front()
    }

    fn dispatch(&mut self, topic: &JobsTopic, payload: &[u8]) -> Result<()> {
        match topic {
            JobsTopic::Notify => {
                let n: Notify = decode("jobs notify", payload)?;
                let ids = |s| {
                    n.jobs
                        .get(&s)
                        .map(|v| v.iter().map(|e| e.job_id.clone()).collect())
                        .unwrap_or_default()
                };
                self.pending(ids(JobStatus::InProgress), ids(JobStatus::Queued));
            }
            JobsTopic::Get(Reply::Accepted) => {
                let p: PendingJobs = decode("jobs get reply", payload)?;
                let ids =
                    |v: &[super::JobExecutionSummary]| v.iter().map(|e| e.job_id.clone()).collect();
                self.pending(ids(&p.in_progress_jobs), ids(&p.queued_jobs));
            }
            JobsTopic::NotifyNext => {
                let reply: ExecutionReply = decode("jobs notify-next", payload)?;
                match (&self.state, reply.execution) {
                    (AgentState::Idle, Some(_)) if self.auto_start => self.start_next(),
                    (AgentState::Idle, None) => self.event(JobEvent::Idle),
                    _ => {}
                }
            }
            JobsTopic::StartNext(Reply::Accepted) => {
                let reply: ExecutionReply = decode("start-next reply", payload)?;
                let ours = matches!(&self.state, AgentState::AwaitingStartNext { token } if reply.client_token.as_ref() == Some(token));
                if !ours {
                    return Ok(()); // an answer to an earlier request we no longer wait for
                }
                match reply.execution {
                    Some(execution) if !execution.status.is_terminal() => {
                        self.state = AgentState::Running(execution.clone());
                        self.event(JobEvent::Started(execution));
                    }
                    _ => {
                        self.state = AgentState::Idle;
                        self.event(JobEvent::Idle);
                    }
                }
            }
            JobsTopic::JobGet(job_id, Reply::Accepted) => {
                let reply: ExecutionReply = decode("job get reply", payload)?;
                if let (AgentState::Running(current), Some(execution)) =
                    (&self.state, reply.execution)
                    && current.job_id == *job_id
                {
                    if execution.status.is_terminal() {
                        // Cancelled or timed out while we were away; the notify-next that
                        // followed may be lost too, so ask for the next job ourselves.
                        self.finish(
                            job_id,
                            execution.status,
                            execution.status_details,
                            execution.version_number,
                        );
                        if self.auto_start {
                            self.start_next();
                        }
                    } else {
                        self.state = AgentState::Running(execution);
                    }
                }
            }
            JobsTopic::JobUpdate(job_id, Reply::Accepted) => {
                let accepted: super::UpdateAccepted = decode("job update reply", payload)?;
                let s = accepted.execution_state;
                if let AgentState::Running(current) = &mut self.state
                    && current.job_id == *job_id
                {
                    if s.status.is_terminal() {
                        self.finish(job_id, s.status, s.status_details, s.version_number);
                    } else {
                        current.status = s.status;
                        current.status_details = s.status_details.clone();
                        current.version_number = s.version_number;
                        self.event(JobEvent::Updated {
                            job_id: job_id.clone(),
                            state: s,
                        });
                    }
                }
            }
            JobsTopic::Get(Reply::Rejected)
            | JobsTopic::StartNext(Reply::Rejected)
            | JobsTopic::JobGet(_, Reply::Rejected)
            | JobsTopic::JobUpdate(_, Reply::Rejected) => {
                let rejection: JobRejected = decode("jobs rejection", payload)?;
                let job_id = match topic {
                    JobsTopic::JobGet(id, _) | JobsTopic::JobUpdate(id, _) => Some(id.clone()),
                    _ => None,
                };
                if matches!(topic, JobsTopic::StartNext(_)) {
                    self.state = AgentState::Idle;
                }
                let ended = matches!(
                    rejection.code,
                    RejectCode::TerminalStateReached | RejectCode::ResourceNotFound
                );
                if ended
                    && let (Some(id), AgentState::Running(current)) = (&job_id, &self.state)
                    && current.job_id == *id
                {
                    // The cloud ended it (cancelled, timed out, removed): stop working on it.
                    self.state = AgentState::Idle;
                }
                self.event(JobEvent::Rejected { job_id, rejection });
            }
            // Requests are ours to send, not to receive (we hear our own with MQTT 3.1.1).
            JobsTopic::Get(Reply::Request)
            | JobsTopic::StartNext(Reply::Request)
            | JobsTopic::JobGet(_, Reply::Request)
            | JobsTopic::JobUpdate(_, Reply::Request) => {}
        }
        Ok(())
    }

    /// The pending lists are authoritative: when the job we run is no longer on them, the
    /// cloud ended it (step timeout, cancel) without telling us directly; ask for its fate.
    fn pending(&mut self, in_progress: Vec<String>, queued: Vec<String>) {
        if let AgentState::Running(current) = &self.state
            && !in_progress.contains(&current.job_id)
            && !queued.contains(&current.job_id)
        {
            let topic = JobsTopic::JobGet(current.job_id.clone(), Reply::Request);
            let _ = self.request(topic);
        }
        self.event(JobEvent::Pending {
            in_progress,
            queued,
        });
    }

    fn finish(
        &mut self,
        job_id: &str,
        status: JobStatus,
        status_details: StatusDetails,
        version_number: u64,
    ) {
        self.state = AgentState::Idle;
        self.event(JobEvent::Updated {
            job_id: job_id.to_owned(),
            state: ExecutionState {
                status,
                status_details,
                version_number,
            },
        });
    }

    /// Publishes a request whose body is only a fresh client token; returns the token.
    fn request(&mut self, topic: JobsTopic) -> String {
        let token = self.token();
        let body = JobRequest {
            client_token: Some(token.clone()),
            ..JobRequest::default()
        };
        self.publish(topic, &body);
        token
    }

    fn token(&mut self) -> String {
        self.next_token += 1;
        format!("jobs-{}", self.next_token)
    }

    fn publish<T: serde::Serialize>(&mut self, topic: JobsTopic, body: &T) {
        self.outputs
            .push_back(AgentOutput::Publish(Topic::Jobs(topic), encode(body)));
    }

    fn event(&mut self, event: JobEvent) {
        self.outputs.push_back(AgentOutput::Event(event));
    }
}
