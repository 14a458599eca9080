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

// -- rules pinned down for the mutation score (issue 20) --

/// The `jobs/get/accepted` answer the cloud gives `thing`: (in progress, queued) job ids.
fn pending_of(cloud: &mut JobsCloud, now: u64, thing: &ThingName) -> (Vec<String>, Vec<String>) {
    let out = cloud.handle_request(now, thing, &JobsTopic::Get(Reply::Request), b"{}");
    let [answer] = out.as_slice() else {
        panic!("one answer: {out:?}")
    };
    assert_eq!(answer.topic, Topic::Jobs(JobsTopic::Get(Reply::Accepted)));
    let body: Value = serde_json::from_slice(&answer.payload).unwrap();
    let ids = |key: &str| -> Vec<String> {
        body[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["jobId"].as_str().unwrap().to_owned())
            .collect()
    };
    (ids("inProgressJobs"), ids("queuedJobs"))
}

#[test]
fn each_thing_is_told_only_its_own_pending_jobs() {
    // AWS Jobs GetPendingJobExecutions: the executions *of this thing*, in progress and queued.
    let mut w = World::new();
    let other = ThingName::new("lamp-2").unwrap();
    let both = [w.thing.clone(), other.clone()];
    let (shared, _) = w
        .cloud
        .create_job(
            w.now,
            "both",
            World::firmware(),
            &both,
            JobType::Snapshot,
            None,
        )
        .unwrap();
    let (own, _) = w
        .cloud
        .create_job(
            w.now + 1,
            "one",
            World::firmware(),
            std::slice::from_ref(&other),
            JobType::Snapshot,
            None,
        )
        .unwrap();
    assert_eq!(
        pending_of(&mut w.cloud, w.now, &w.thing),
        (vec![], vec![shared.clone()])
    );
    assert_eq!(
        pending_of(&mut w.cloud, w.now, &other),
        (vec![], vec![shared.clone(), own.clone()])
    );
    // lamp-1 starts its job: it moves to in progress for lamp-1 only.
    let out = w.cloud.handle_request(
        w.now,
        &w.thing,
        &JobsTopic::StartNext(Reply::Request),
        b"{}",
    );
    assert!(!out.is_empty());
    assert_eq!(
        pending_of(&mut w.cloud, w.now, &w.thing),
        (vec![shared.clone()], vec![])
    );
    assert_eq!(
        pending_of(&mut w.cloud, w.now, &other),
        (vec![], vec![shared, own])
    );
}

#[test]
fn every_status_change_increments_the_execution_version() {
    // "versionNumber increments on every update; expectedVersion is checked against it".
    let mut w = World::new();
    let job = w.create(None);
    let version = |w: &World| w.cloud.execution(&w.thing, &job).unwrap().version_number;
    assert_eq!(w.status(&job), JobStatus::InProgress, "auto-started");
    assert_eq!(version(&w), 2, "queued 1, started 2");
    w.update(JobStatus::InProgress, "50");
    assert_eq!(version(&w), 3);
    w.update(JobStatus::Succeeded, "100");
    assert_eq!(version(&w), 4);
}

#[test]
fn cancelling_a_job_leaves_executions_that_already_ended_as_they_ended() {
    let mut w = World::new();
    let other = ThingName::new("lamp-2").unwrap();
    let (job, out) = w
        .cloud
        .create_job(
            w.now,
            "both",
            World::firmware(),
            &[w.thing.clone(), other.clone()],
            JobType::Snapshot,
            None,
        )
        .unwrap();
    let mine = out.into_iter().filter(|o| o.thing == w.thing).collect();
    w.deliver(mine);
    w.update(JobStatus::Succeeded, "100");
    assert_eq!(w.status(&job), JobStatus::Succeeded);
    w.cloud.cancel_job(w.now, &job).unwrap();
    assert_eq!(
        w.status(&job),
        JobStatus::Succeeded,
        "finished stays finished"
    );
    assert_eq!(
        w.cloud.execution(&other, &job).unwrap().status,
        JobStatus::Canceled
    );
}

#[test]
fn the_step_timer_runs_the_given_minutes_from_now() {
    // AWS: stepTimeoutInMinutes from the start, and again from an update that names one.
    let mut w = World::new();
    w.create(Some(2));
    assert_eq!(w.cloud.poll_timeout(), Some(w.now + 2 * 60));
    w.now += 30;
    w.agent
        .update(JobStatus::InProgress, StatusDetails::new(), Some(3))
        .unwrap();
    w.settle();
    assert_eq!(w.cloud.poll_timeout(), Some(w.now + 3 * 60));
}

#[test]
fn a_zero_minute_step_timeout_means_no_step_timer() {
    let mut w = World::new();
    let job = w.create(Some(0));
    assert_eq!(w.status(&job), JobStatus::InProgress);
    assert_eq!(w.cloud.poll_timeout(), None);
    w.now += 3600;
    assert!(w.cloud.handle_timeout(w.now).is_empty());
    assert_eq!(w.status(&job), JobStatus::InProgress);
}

#[test]
fn a_poll_asks_for_the_pending_list_and_the_next_job_when_idle() {
    // An HTTPS device is told nothing: `check` is how it learns of jobs.
    let mut agent = JobsAgent::default();
    agent.check();
    let topics = published_topics(&mut agent);
    assert_eq!(
        topics,
        vec![
            JobsTopic::Get(Reply::Request),
            JobsTopic::StartNext(Reply::Request)
        ]
    );
}

#[test]
fn without_auto_start_a_notify_next_starts_nothing() {
    let mut w = World::new();
    w.agent.auto_start = false;
    let job = w.create(None);
    assert_eq!(w.status(&job), JobStatus::Queued, "waits for the user");
    assert!(w.started().is_empty());
    w.agent.start_next();
    w.settle();
    assert_eq!(w.status(&job), JobStatus::InProgress);
}

#[test]
fn without_auto_start_a_poll_only_asks_for_the_pending_list() {
    let mut agent = JobsAgent::default();
    agent.auto_start = false;
    agent.check();
    let topics = published_topics(&mut agent);
    assert_eq!(topics, vec![JobsTopic::Get(Reply::Request)]);
}

#[test]
fn a_start_next_answered_with_an_execution_that_already_ended_leaves_the_agent_idle() {
    let mut agent = JobsAgent::default();
    agent.start_next();
    let token = std::iter::from_fn(|| agent.poll_output())
        .find_map(|o| match o {
            AgentOutput::Publish(Topic::Jobs(JobsTopic::StartNext(Reply::Request)), payload) => {
                serde_json::from_slice::<Value>(&payload).ok()?["clientToken"]
                    .as_str()
                    .map(str::to_owned)
            }
            _ => None,
        })
        .expect("a start-next request with a client token");
    let reply = json!({
        "timestamp": 1,
        "clientToken": token,
        "execution": {"jobId": "job-1", "status": "SUCCEEDED", "versionNumber": 3, "executionNumber": 1},
    });
    agent.handle_message(
        &JobsTopic::StartNext(Reply::Accepted),
        reply.to_string().as_bytes(),
    );
    assert_eq!(agent.state(), &AgentState::Idle);
    let events: Vec<AgentOutput> = std::iter::from_fn(|| agent.poll_output()).collect();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, AgentOutput::Event(JobEvent::Idle))),
        "{events:?}"
    );
}

#[test]
fn a_start_next_asking_for_a_zero_minute_step_gets_no_step_timer() {
    let (mut cloud, thing) = (JobsCloud::default(), ThingName::new("lamp-1").unwrap());
    firmware_job(&mut cloud, &thing, Some(5));
    cloud.handle_request(
        1_000,
        &thing,
        &JobsTopic::StartNext(Reply::Request),
        br#"{"stepTimeoutInMinutes":0}"#,
    );
    assert_eq!(cloud.poll_timeout(), None, "0 minutes: no step timer");
}

#[test]
fn a_job_started_by_an_update_gets_the_job_s_step_timer_from_then() {
    // Started with `{jobId}/update` IN_PROGRESS instead of start-next: the job's default step
    // timeout runs from that update.
    let (mut cloud, thing) = (JobsCloud::default(), ThingName::new("lamp-1").unwrap());
    let (job, _) = firmware_job(&mut cloud, &thing, Some(2));
    assert_eq!(cloud.poll_timeout(), None, "queued: no timer yet");
    cloud.handle_request(
        1_300,
        &thing,
        &JobsTopic::JobUpdate(job.clone(), Reply::Request),
        br#"{"status":"IN_PROGRESS"}"#,
    );
    assert_eq!(
        cloud.execution(&thing, &job).unwrap().status,
        JobStatus::InProgress
    );
    assert_eq!(cloud.poll_timeout(), Some(1_300 + 2 * 60));
}

#[test]
fn started_at_is_the_first_start_and_a_job_completes_on_its_own_executions() {
    let mut w = World::new();
    let first = w.create(None);
    let second = w.create(None);
    assert_eq!(w.status(&second), JobStatus::Queued, "one job at a time");
    let started = |w: &World, job: &str| w.cloud.execution(&w.thing, job).unwrap().started_at;
    assert_eq!(started(&w, &first), Some(1_000));
    w.now += 10;
    w.update(JobStatus::InProgress, "50");
    assert_eq!(
        started(&w, &first),
        Some(1_000),
        "progress does not restart it"
    );
    w.update(JobStatus::Succeeded, "100");
    assert_eq!(w.cloud.job(&first).unwrap().state, JobState::Completed);
    // The second started when the first ended; the first's completion is its own.
    assert_eq!(w.status(&second), JobStatus::InProgress);
    assert_eq!(w.cloud.job(&second).unwrap().state, JobState::InProgress);
    // A job refused while queued never started.
    let other = ThingName::new("lamp-2").unwrap();
    let (third, _) = w
        .cloud
        .create_job(
            w.now,
            "fw",
            World::firmware(),
            std::slice::from_ref(&other),
            JobType::Snapshot,
            None,
        )
        .unwrap();
    w.cloud.handle_request(
        w.now,
        &other,
        &JobsTopic::JobUpdate(third.clone(), Reply::Request),
        br#"{"status":"REJECTED"}"#,
    );
    let execution = w.cloud.execution(&other, &third).unwrap();
    assert_eq!(execution.status, JobStatus::Rejected);
    assert_eq!(execution.started_at, None);
}

/// A firmware job for `thing` alone, created at t = 1,000 s with this step timeout.
fn firmware_job(
    cloud: &mut JobsCloud,
    thing: &ThingName,
    step_timeout: Option<u64>,
) -> (String, Vec<Outgoing>) {
    cloud
        .create_job(
            1_000,
            "fw",
            World::firmware(),
            std::slice::from_ref(thing),
            JobType::Snapshot,
            step_timeout,
        )
        .unwrap()
}

/// The jobs topics an agent published, in order.
fn published_topics(agent: &mut JobsAgent) -> Vec<JobsTopic> {
    published(agent).into_iter().map(|(t, _)| t).collect()
}

/// The jobs topics an agent published, in order, with their payloads.
fn published(agent: &mut JobsAgent) -> Vec<(JobsTopic, Value)> {
    std::iter::from_fn(|| agent.poll_output())
        .filter_map(|o| match o {
            AgentOutput::Publish(Topic::Jobs(t), payload) => {
                Some((t, serde_json::from_slice(&payload).unwrap_or(Value::Null)))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn on_reconnect_an_idle_agent_asks_for_its_next_job_and_a_busy_one_for_its_job() {
    let mut idle = JobsAgent::default();
    idle.handle_connected();
    let topics: Vec<JobsTopic> = published(&mut idle).into_iter().map(|(t, _)| t).collect();
    assert_eq!(
        topics,
        vec![
            JobsTopic::Get(Reply::Request),
            JobsTopic::StartNext(Reply::Request)
        ]
    );
    let mut w = World::new();
    let job = w.create(None);
    assert_eq!(w.status(&job), JobStatus::InProgress);
    w.agent.handle_connected();
    let topics = published_topics(&mut w.agent);
    assert_eq!(
        topics,
        vec![
            JobsTopic::Get(Reply::Request),
            JobsTopic::JobGet(job, Reply::Request)
        ]
    );
}

#[test]
fn every_request_carries_a_client_token_of_its_own() {
    // Replies are matched to requests by clientToken (design: request/response pairs).
    let mut agent = JobsAgent::default();
    agent.check();
    agent.start_next();
    let tokens: Vec<String> = published(&mut agent)
        .into_iter()
        .filter_map(|(_, body)| body["clientToken"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(tokens.len(), 3, "{tokens:?}");
    let mut unique = tokens.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 3, "{tokens:?}");
    assert!(tokens.iter().all(|t| !t.is_empty()));
}

#[test]
fn notify_lists_only_the_statuses_that_have_jobs() {
    // AWS JobExecutionsChanged: `jobs` maps a status to its executions; empty lists are left
    // out.
    let (mut cloud, thing) = (JobsCloud::default(), ThingName::new("lamp-1").unwrap());
    // The statuses listed by the notify among `out`.
    let notified = |out: &[Outgoing]| -> Vec<String> {
        let notify = out
            .iter()
            .find(|o| o.topic == Topic::Jobs(JobsTopic::Notify))
            .expect("a notify");
        let body: Value = serde_json::from_slice(&notify.payload).unwrap();
        body["jobs"].as_object().unwrap().keys().cloned().collect()
    };
    let (_, out) = firmware_job(&mut cloud, &thing, None);
    assert_eq!(notified(&out), ["QUEUED"]);
    let out = cloud.handle_request(1_000, &thing, &JobsTopic::StartNext(Reply::Request), b"{}");
    assert_eq!(notified(&out), ["IN_PROGRESS"]);
}

#[test]
fn a_job_created_with_a_zero_minute_step_has_no_timer_however_it_starts() {
    let (mut cloud, thing) = (JobsCloud::default(), ThingName::new("lamp-1").unwrap());
    let (job, _) = firmware_job(&mut cloud, &thing, Some(0));
    assert_eq!(cloud.job(&job).unwrap().step_timeout_minutes, None);
    cloud.handle_request(
        1_000,
        &thing,
        &JobsTopic::JobUpdate(job, Reply::Request),
        br#"{"status":"IN_PROGRESS"}"#,
    );
    assert_eq!(cloud.poll_timeout(), None);
}
