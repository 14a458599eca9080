//! Jobs end to end between the cloud role and a device's agent, with simulated time and a
//! link that can lose messages while the device is offline.

use std::collections::VecDeque;

use serde_json::{Value, json};
use thingsim_fleet::jobs::agent::{AgentOutput, AgentState, JobEvent, JobsAgent};
use thingsim_fleet::jobs::cloud::{JobState, JobType, JobsCloud, Outgoing};
use thingsim_fleet::jobs::{JobRejected, JobStatus, RejectCode, StatusDetails};
use thingsim_fleet::topics::{JobsTopic, Reply};
use thingsim_fleet::{ThingName, Topic};

struct World {
    cloud: JobsCloud,
    agent: JobsAgent,
    thing: ThingName,
    now: u64,
    online: bool,
    events: Vec<JobEvent>,
    to_device: VecDeque<Outgoing>,
}

impl World {
    fn new() -> Self {
        Self {
            cloud: JobsCloud::default(),
            agent: JobsAgent::default(),
            thing: ThingName::new("lamp-1").unwrap(),
            now: 1_000,
            online: true,
            events: Vec::new(),
            to_device: VecDeque::new(),
        }
    }

    fn firmware() -> Value {
        json!({"action": "updateFirmware", "params": {"version": "2.1.5", "url": "https://example.com/fw"}})
    }

    fn create(&mut self, step_timeout: Option<u64>) -> String {
        let (id, out) = self
            .cloud
            .create_job(
                self.now,
                "fw",
                Self::firmware(),
                std::slice::from_ref(&self.thing),
                JobType::Snapshot,
                step_timeout,
            )
            .unwrap();
        self.deliver(out);
        id
    }

    /// Hands cloud output to the device (dropped while offline) and runs both sides until quiet.
    fn deliver(&mut self, out: Vec<Outgoing>) {
        self.to_device.extend(out);
        self.settle();
    }

    fn settle(&mut self) {
        loop {
            while let Some(output) = self.agent.poll_output() {
                match output {
                    AgentOutput::Publish(Topic::Jobs(topic), payload) if self.online => {
                        let out =
                            self.cloud
                                .handle_request(self.now, &self.thing, &topic, &payload);
                        self.to_device.extend(out);
                    }
                    AgentOutput::Publish(..) => {}
                    AgentOutput::Event(e) => self.events.push(e),
                }
            }
            let Some(message) = self.to_device.pop_front() else {
                break;
            };
            if !self.online {
                continue;
            }
            assert_eq!(message.thing, self.thing);
            let Topic::Jobs(topic) = message.topic else {
                panic!("not a jobs topic")
            };
            self.agent.handle_message(&topic, &message.payload);
        }
    }

    fn update(&mut self, status: JobStatus, progress: &str) {
        let mut details = StatusDetails::new();
        details.insert("progress".into(), progress.into());
        self.agent.update(status, details, None).unwrap();
        self.settle();
    }

    fn status(&self, job: &str) -> JobStatus {
        self.cloud.execution(&self.thing, job).unwrap().status
    }

    fn started(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Started(x) => Some(x.job_id.clone()),
                _ => None,
            })
            .collect()
    }

    fn rejections(&self) -> Vec<&JobRejected> {
        self.events
            .iter()
            .filter_map(|e| match e {
                JobEvent::Rejected { rejection, .. } => Some(rejection),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_job_runs_from_notification_through_progress_to_succeeded() {
    let mut w = World::new();
    let job = w.create(None);
    assert_eq!(w.started(), vec![job.clone()]);
    let Some(JobEvent::Started(execution)) =
        w.events.iter().find(|e| matches!(e, JobEvent::Started(_)))
    else {
        unreachable!()
    };
    assert_eq!(
        execution.job_document,
        Some(World::firmware()),
        "start-next carries the document"
    );
    assert_eq!(w.status(&job), JobStatus::InProgress);

    w.update(JobStatus::InProgress, "50");
    let details = &w.cloud.execution(&w.thing, &job).unwrap().status_details;
    assert_eq!(details.get("progress").map(String::as_str), Some("50"));
    w.update(JobStatus::Succeeded, "100");
    assert_eq!(w.status(&job), JobStatus::Succeeded);
    assert_eq!(w.cloud.job(&job).unwrap().state, JobState::Completed);
    assert_eq!(w.agent.state(), &AgentState::Idle);
    assert_eq!(
        w.events.last(),
        Some(&JobEvent::Idle),
        "notify-next with nothing pending"
    );
    assert!(w.rejections().is_empty());
}

#[test]
fn a_device_can_fail_or_reject_a_job() {
    for end in [JobStatus::Failed, JobStatus::Rejected] {
        let mut w = World::new();
        let job = w.create(None);
        w.update(end, "0");
        assert_eq!(w.status(&job), end);
        assert_eq!(w.agent.state(), &AgentState::Idle);
    }
}

/// A late update straight to the cloud, as a device that missed the news would send it.
fn late_update(w: &mut World, job: &str) -> JobRejected {
    let topic = JobsTopic::JobUpdate(job.to_owned(), Reply::Request);
    let out = w
        .cloud
        .handle_request(w.now, &w.thing, &topic, br#"{"status":"SUCCEEDED"}"#);
    assert_eq!(
        out[0].topic,
        Topic::Jobs(JobsTopic::JobUpdate(job.to_owned(), Reply::Rejected))
    );
    serde_json::from_slice(&out[0].payload).unwrap()
}

#[test]
fn a_silent_step_times_out_and_the_device_learns_it_from_the_pending_list() {
    let mut w = World::new();
    let job = w.create(Some(1));
    assert_eq!(w.cloud.poll_timeout(), Some(w.now + 60));
    w.now += 59;
    let out = w.cloud.handle_timeout(w.now);
    assert!(out.is_empty());
    w.now += 1;
    let out = w.cloud.handle_timeout(w.now);
    w.deliver(out);
    assert_eq!(w.status(&job), JobStatus::TimedOut);
    assert_eq!(
        w.agent.state(),
        &AgentState::Idle,
        "notify no longer lists it: the agent let go"
    );
    assert!(
        w.agent
            .update(JobStatus::InProgress, StatusDetails::new(), None)
            .is_err()
    );
    assert_eq!(
        late_update(&mut w, &job).code,
        RejectCode::TerminalStateReached
    );
}

#[test]
fn cancelling_a_running_job_stops_the_device() {
    let mut w = World::new();
    let job = w.create(None);
    let out = w.cloud.cancel_job(w.now, &job).unwrap();
    w.deliver(out);
    assert_eq!(w.status(&job), JobStatus::Canceled);
    assert_eq!(w.cloud.job(&job).unwrap().state, JobState::Canceled);
    assert_eq!(w.agent.state(), &AgentState::Idle);
    let rejection = late_update(&mut w, &job);
    assert_eq!(rejection.code, RejectCode::TerminalStateReached);
    assert_eq!(
        w.status(&job),
        JobStatus::Canceled,
        "a cancelled execution stays cancelled"
    );
}

#[test]
fn an_agent_that_missed_the_news_is_stopped_by_terminal_state_reached() {
    let mut w = World::new();
    let job = w.create(None);
    w.online = false;
    let out = w.cloud.cancel_job(w.now, &job).unwrap();
    w.deliver(out); // lost
    w.online = true;
    w.update(JobStatus::Succeeded, "100");
    assert_eq!(
        w.rejections().last().map(|r| r.code),
        Some(RejectCode::TerminalStateReached)
    );
    assert_eq!(w.agent.state(), &AgentState::Idle);
    assert_eq!(w.status(&job), JobStatus::Canceled);
}

#[test]
fn a_job_queued_while_another_runs_starts_when_the_first_ends() {
    let mut w = World::new();
    let first = w.create(None);
    let second = w.create(None);
    assert_eq!(w.started(), vec![first.clone()]);
    assert_eq!(w.status(&second), JobStatus::Queued);
    w.update(JobStatus::Succeeded, "100");
    assert_eq!(w.started(), vec![first, second.clone()]);
    assert_eq!(w.status(&second), JobStatus::InProgress);
}

#[test]
fn reconnecting_mid_job_recovers_what_was_lost_while_offline() {
    let mut w = World::new();
    let first = w.create(None);
    w.online = false;
    let out = w.cloud.cancel_job(w.now, &first).unwrap();
    w.deliver(out); // lost
    let second = w.create(None); // its notifications are lost too
    assert_eq!(
        w.agent.current().map(|e| e.job_id.clone()),
        Some(first.clone()),
        "still believes"
    );
    w.online = true;
    w.agent.handle_connected();
    w.settle();
    assert_eq!(w.status(&second), JobStatus::InProgress);
    assert_eq!(w.started(), vec![first, second.clone()]);
    assert_eq!(w.agent.current().map(|e| e.job_id.clone()), Some(second));
}

#[test]
fn illegal_transitions_stale_versions_bad_json_and_unknown_jobs_are_rejected() {
    let mut w = World::new();
    let (job, _) = w
        .cloud
        .create_job(
            w.now,
            "fw",
            World::firmware(),
            &[w.thing.clone()],
            JobType::Snapshot,
            None,
        )
        .unwrap();
    let ask = |w: &mut World, topic: JobsTopic, payload: &[u8]| -> JobRejected {
        let out = w.cloud.handle_request(w.now, &w.thing, &topic, payload);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            matches!(
                &out[0].topic,
                Topic::Jobs(
                    JobsTopic::JobUpdate(_, Reply::Rejected)
                        | JobsTopic::Get(Reply::Rejected)
                        | JobsTopic::StartNext(Reply::Rejected)
                        | JobsTopic::JobGet(_, Reply::Rejected)
                )
            ),
            "{:?}",
            out[0].topic
        );
        serde_json::from_slice(&out[0].payload).unwrap()
    };
    let update = |job: &str| JobsTopic::JobUpdate(job.to_owned(), Reply::Request);

    let r = ask(
        &mut w,
        update(&job),
        br#"{"status":"SUCCEEDED","clientToken":"t1"}"#,
    );
    assert_eq!(
        (r.code, r.client_token.as_deref()),
        (RejectCode::InvalidStateTransition, Some("t1"))
    );
    let r = ask(&mut w, update(&job), br#"{"status":"TIMED_OUT"}"#);
    assert_eq!(
        r.code,
        RejectCode::InvalidRequest,
        "a device may not set cloud statuses"
    );
    let r = ask(
        &mut w,
        update(&job),
        br#"{"status":"IN_PROGRESS","expectedVersion":9}"#,
    );
    assert_eq!(r.code, RejectCode::VersionMismatch);
    assert_eq!(r.execution_state.map(|s| s.version_number), Some(1));
    let r = ask(&mut w, update(&job), b"{oops");
    assert_eq!(r.code, RejectCode::InvalidJson);
    let r = ask(&mut w, update("job-404"), br#"{"status":"IN_PROGRESS"}"#);
    assert_eq!(r.code, RejectCode::ResourceNotFound);
    let r = ask(&mut w, JobsTopic::StartNext(Reply::Request), b"[1,2]");
    assert_eq!(r.code, RejectCode::InvalidJson);
    assert_eq!(w.status(&job), JobStatus::Queued, "nothing changed");

    // The agent survives garbage on every topic it listens to.
    for topic in [
        JobsTopic::Notify,
        JobsTopic::NotifyNext,
        JobsTopic::StartNext(Reply::Accepted),
        JobsTopic::JobUpdate(job, Reply::Rejected),
    ] {
        w.agent.handle_message(&topic, b"\xff not json");
    }
    w.settle();
    assert_eq!(
        w.events
            .iter()
            .filter(|e| matches!(e, JobEvent::Malformed(_)))
            .count(),
        4
    );
    assert_eq!(w.agent.state(), &AgentState::Idle);
}

#[test]
fn invalid_job_documents_are_refused_at_creation() {
    let mut cloud = JobsCloud::default();
    let thing = ThingName::new("t").unwrap();
    for (doc, why) in [
        (json!(5), "JSON object"),
        (json!({}), "needs an \"action\""),
        (json!({"action": ""}), "non-empty string"),
        (
            json!({"action": "reboot", "params": [1]}),
            "\"params\" must be an object",
        ),
    ] {
        let err = cloud
            .create_job(
                1,
                "x",
                doc,
                std::slice::from_ref(&thing),
                JobType::Snapshot,
                None,
            )
            .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    assert!(
        cloud
            .create_job(
                1,
                "x",
                json!({"action": "reboot"}),
                &[],
                JobType::Snapshot,
                None
            )
            .is_err()
    );
    assert_eq!(cloud.jobs().count(), 0);
}

#[test]
fn a_continuous_job_reaches_things_added_later_and_a_cancelled_one_does_not() {
    let mut cloud = JobsCloud::default();
    let (a, b, c) = (
        ThingName::new("a").unwrap(),
        ThingName::new("b").unwrap(),
        ThingName::new("c").unwrap(),
    );
    let doc = json!({"action": "reboot"});
    let (job, _) = cloud
        .create_job(
            1,
            "x",
            doc,
            std::slice::from_ref(&a),
            JobType::Continuous,
            None,
        )
        .unwrap();
    let out = cloud.add_target(2, &job, &b).unwrap();
    assert!(
        out.iter().all(|o| o.thing == b) && out.len() == 2,
        "notify and notify-next for b"
    );
    assert_eq!(
        cloud.execution(&b, &job).map(|e| e.status),
        Some(JobStatus::Queued)
    );
    assert!(
        cloud.add_target(3, &job, &b).unwrap().is_empty(),
        "once per thing"
    );
    cloud.cancel_job(4, &job).unwrap();
    assert!(cloud.add_target(5, &job, &c).unwrap().is_empty());
    assert_eq!(cloud.execution(&c, &job), None);
    assert!(cloud.add_target(6, "job-404", &c).is_err());
}
