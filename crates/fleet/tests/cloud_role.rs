//! The composed cloud role's own API, the way thingsim-cloud's HTTP side and the sandbox call
//! it: times come in as wall-clock milliseconds and are kept in the documents' epoch seconds.

use serde_json::{Value, json};
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::{Cloud, CloudEvent, CloudOutput, OFFLINE_AFTER_MS, Presence};
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::jobs::cloud::JobType;
use thingsim_fleet::shadow::Update;
use thingsim_fleet::shadow::state::State;
use thingsim_fleet::topics::{JobsTopic, Reply};
use thingsim_mqtt::{Message, Millis, Qos};

/// 2023-11-14T22:13:20.123Z: 1,700,000,000 s and 123 ms.
const NOW: Millis = Millis(1_700_000_000_123);
const SECS: u64 = 1_700_000_000;

fn obj(v: Value) -> State {
    v.as_object().cloned().unwrap_or_default()
}

fn thing(name: &str) -> ThingName {
    ThingName::new(name).unwrap()
}

/// Everything the cloud wants to publish, and the events, until it is idle.
fn drain(cloud: &mut Cloud) -> (Vec<Message>, Vec<CloudEvent>, Option<Millis>) {
    let (mut published, mut events) = (Vec::new(), Vec::new());
    loop {
        match cloud.poll_output() {
            CloudOutput::Publish(m) => published.push(m),
            CloudOutput::Event(e) => events.push(e),
            CloudOutput::Idle { deadline } => return (published, events, deadline),
        }
    }
}

#[test]
fn things_are_registered_once_and_listed() {
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    assert!(!cloud.has_thing(&t));
    assert!(cloud.create_thing(&t));
    assert!(!cloud.create_thing(&t), "already there");
    assert!(cloud.has_thing(&t));
    assert!(!cloud.has_thing(&thing("lamp-2")));
    assert_eq!(cloud.things().collect::<Vec<_>>(), vec![&t]);
}

#[test]
fn presence_comes_from_what_the_cloud_hears_its_last_will_and_silence() {
    let mut cloud = Cloud::default();
    let (lamp, ghost) = (thing("lamp-1"), thing("ghost"));
    cloud.create_thing(&lamp);
    assert_eq!(
        cloud.presence(NOW, &lamp),
        Presence::Unknown,
        "registered, never heard"
    );
    let at = |ms: u64| Millis(NOW.0 + ms);
    let event = |t: &str, kind: &str| {
        Message::new(
            format!("$emqx/things/{t}/events/{kind}"),
            "{}",
            Qos::AtLeastOnce,
        )
    };
    cloud.handle_message(at(0), &event("lamp-1", "alarm"));
    assert_eq!(
        cloud.presence(at(1_000), &lamp),
        Presence::Online { last_seen: at(0) }
    );
    assert_eq!(
        cloud.presence(at(OFFLINE_AFTER_MS), &lamp).as_str(),
        "online"
    );
    assert!(matches!(
        cloud.presence(at(OFFLINE_AFTER_MS + 1), &lamp),
        Presence::Offline { why, .. } if why.contains("90 s")
    ));
    cloud.handle_message(at(100_000), &event("lamp-1", "offline"));
    assert!(matches!(
        cloud.presence(at(100_001), &lamp),
        Presence::Offline { why, .. } if why.contains("Last Will")
    ));
    cloud.handle_message(
        at(101_000),
        &Message::new(
            "$emqx/things/lamp-1/shadow/update",
            r#"{"state":{"reported":{"on":true}}}"#,
            Qos::AtLeastOnce,
        ),
    );
    assert_eq!(
        cloud.presence(at(101_001), &lamp).as_str(),
        "online",
        "back"
    );
    // An unregistered name is not tracked by its events; a first report registers and counts.
    cloud.handle_message(at(0), &event("ghost", "alarm"));
    assert_eq!(cloud.presence(at(1), &ghost), Presence::Unknown);
    cloud.handle_message(
        at(2),
        &Message::new(
            "$emqx/things/ghost/shadow/update",
            r#"{"state":{"reported":{"on":true}}}"#,
            Qos::AtLeastOnce,
        ),
    );
    assert_eq!(
        cloud.presence(at(3), &ghost),
        Presence::Online { last_seen: at(2) }
    );
    // Deleted: forgotten.
    cloud.delete_thing(&ghost);
    assert_eq!(cloud.presence(at(4), &ghost), Presence::Unknown);
}

#[test]
fn desired_state_is_stamped_in_seconds_and_its_own_echo_is_ignored() {
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    cloud
        .set_desired(NOW, &t, obj(json!({"on": true})))
        .unwrap();
    cloud
        .set_desired(NOW, &t, obj(json!({"level": 3})))
        .unwrap();
    let (published, _, _) = drain(&mut cloud);
    let updates: Vec<Message> = published
        .into_iter()
        .filter(|m| m.topic == "$emqx/things/lamp-1/shadow/update")
        .collect();
    assert_eq!(updates.len(), 2);
    let first: Value = serde_json::from_slice(&updates[0].payload).unwrap();
    assert!(
        first["clientToken"]
            .as_str()
            .is_some_and(|t| t.starts_with("cloud-") && t.len() == 42),
        "tagged with an unguessable token, to know its echo: {first}"
    );
    let document = cloud.shadow(&t).document();
    assert_eq!(document.version, 2);
    assert_eq!(document.updated_at, SECS);
    // Both publishes come back (MQTT 3.1.1 has no No Local): neither is applied again.
    for echo in &updates {
        cloud.handle_message(NOW, echo);
    }
    assert_eq!(cloud.shadow(&t).document().version, 2);
}

#[test]
fn a_desired_update_at_the_wrong_version_is_409_and_changes_nothing() {
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    let refused = cloud
        .set_desired_at_version(NOW, &t, obj(json!({"on": true})), Some(5))
        .unwrap_err();
    assert_eq!(refused.code, 409);
    let (published, _, _) = drain(&mut cloud);
    assert!(published.is_empty(), "{published:?}");
    let accepted = cloud
        .set_desired_at_version(NOW, &t, obj(json!({"on": true})), Some(0))
        .unwrap();
    assert_eq!(accepted.version, 1);
}

#[test]
fn an_http_report_is_stamped_in_seconds() {
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    cloud
        .report(NOW, &t, &Update::reported(obj(json!({"on": true}))))
        .unwrap();
    assert_eq!(cloud.shadow(&t).document().updated_at, SECS);
}

/// A snapshot reboot job for `t`, created at `NOW`.
fn reboot_job(cloud: &mut Cloud, t: &ThingName) -> String {
    cloud
        .create_job(
            NOW,
            "fw",
            json!({"action": "reboot"}),
            std::slice::from_ref(t),
            JobType::Snapshot,
            None,
        )
        .unwrap()
}

#[test]
fn jobs_over_http_answer_like_their_mqtt_twins_and_keep_seconds() {
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    let job = reboot_job(&mut cloud, &t);
    assert_eq!(
        cloud.job(&job).map(|j| j.job_id.as_str()),
        Some(job.as_str())
    );
    assert_eq!(cloud.jobs().count(), 1);
    let executions = cloud.job_executions(&job);
    assert_eq!(executions.len(), 1);
    assert_eq!(executions[0].queued_at, SECS);

    let pending = cloud
        .jobs_request(NOW, &t, &JobsTopic::Get(Reply::Request), b"{}")
        .unwrap();
    let pending: Value = serde_json::from_slice(&pending).unwrap();
    assert_eq!(pending["queuedJobs"][0]["jobId"], json!(job));
    assert_eq!(pending["timestamp"], json!(SECS));
    let refused = cloud
        .jobs_request(NOW, &t, &JobsTopic::Get(Reply::Request), b"not json")
        .unwrap_err();
    assert!(String::from_utf8_lossy(&refused).contains("InvalidJson"));

    cloud.cancel_job(Millis(NOW.0 + 5_000), &job).unwrap();
    let execution = cloud.job_execution(&t, &job).unwrap();
    assert_eq!(execution.status, JobStatus::Canceled);
    assert_eq!(execution.last_updated_at, SECS + 5);
}

#[test]
fn an_http_event_reaches_the_operator() {
    let mut cloud = Cloud::default();
    cloud.device_event(&thing("lamp-1"), "overheat", json!({"t": 90}));
    let (_, events, _) = drain(&mut cloud);
    assert!(
        events.iter().any(|e| matches!(e,
            CloudEvent::DeviceEvent { kind, payload, .. } if kind == "overheat" && payload == &json!({"t": 90}))),
        "{events:?}"
    );
}

#[test]
fn a_command_times_out_on_the_second_its_ttl_ends_not_before() {
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    let id = cloud.send_command(NOW, &t, "reboot", Default::default(), 1);
    let (_, _, deadline) = drain(&mut cloud);
    assert_eq!(
        deadline,
        Some(Millis((SECS + 1) * 1000)),
        "the timer the shell arms"
    );
    cloud.handle_timeout(Millis(NOW.0 + 500));
    assert_eq!(
        cloud.execution(&id).map(|e| e.status),
        Some(thingsim_fleet::commands::CommandStatus::Sent)
    );
    cloud.handle_timeout(Millis((SECS + 1) * 1000));
    assert_eq!(
        cloud.execution(&id).map(|e| e.status),
        Some(thingsim_fleet::commands::CommandStatus::TimedOut)
    );
}

#[test]
fn a_cloud_restored_from_its_snapshot_knows_everything_and_reuses_no_token() {
    // thingsim-cloud saves `snapshot()` and starts from `restore()`: nothing acknowledged may
    // be lost, and a restarted cloud must not tag a new desired update like an old one.
    let mut cloud = Cloud::default();
    let t = thing("lamp-1");
    cloud
        .set_desired(NOW, &t, obj(json!({"on": true})))
        .unwrap();
    let id = cloud.send_command(NOW, &t, "reboot", Default::default(), 30);
    let job = reboot_job(&mut cloud, &t);
    let snapshot = cloud.snapshot();
    let mut restored = Cloud::restore(snapshot.clone());
    assert_eq!(restored.snapshot(), snapshot);
    assert_eq!(restored.shadow(&t).document().version, 1);
    assert!(restored.execution(&id).is_some());
    assert!(restored.job(&job).is_some());
    drain(&mut restored);
    restored
        .set_desired(NOW, &t, obj(json!({"on": false})))
        .unwrap();
    let (published, _, _) = drain(&mut restored);
    let update: Value = serde_json::from_slice(&published[0].payload).unwrap();
    let (published, _, _) = {
        cloud
            .set_desired(NOW, &t, obj(json!({"on": false})))
            .unwrap();
        drain(&mut cloud)
    };
    let last = published
        .iter()
        .rfind(|m| m.topic.ends_with("/shadow/update"))
        .unwrap();
    let first: Value = serde_json::from_slice(&last.payload).unwrap();
    assert_eq!(
        update["clientToken"], first["clientToken"],
        "the counter goes on: the restored cloud's next token is the original's next"
    );
    assert_eq!(restored.snapshot().next_token, 2);
}

#[test]
fn each_operation_is_the_management_api_request_that_performs_it() {
    use thingsim_fleet::cloud::Operation;
    let t = thing("lamp@1");
    let cases = [
        (
            Operation::SetDesired {
                thing: t.clone(),
                desired: obj(json!({"on": true})),
            },
            (
                "PUT",
                "/api/v1/things/lamp%401/shadow/desired",
                json!({"state": {"desired": {"on": true}}}),
            ),
        ),
        (
            Operation::SendCommand {
                thing: t.clone(),
                action: "reboot".into(),
                params: obj(json!({"now": 1})),
                ttl: 9,
            },
            (
                "POST",
                "/api/v1/commands",
                json!({"thingName": "lamp@1", "action": "reboot", "params": {"now": 1}, "ttl": 9}),
            ),
        ),
        (
            Operation::CreateJob {
                thing: t,
                document: json!({"action": "reboot"}),
                step_timeout_minutes: Some(2),
            },
            (
                "POST",
                "/api/v1/jobs",
                json!({
                    "description": "from the thingsim console",
                    "targets": {"thingNames": ["lamp@1"]},
                    "document": {"action": "reboot"},
                    "type": "SNAPSHOT",
                    "stepTimeoutInMinutes": 2,
                }),
            ),
        ),
        (
            Operation::CancelJob {
                job_id: "job/1".into(),
            },
            ("POST", "/api/v1/jobs/job%2F1/cancel", Value::Null),
        ),
    ];
    for (operation, (method, path, body)) in cases {
        let (m, p, b) = operation.http();
        assert_eq!(
            (m.as_str(), p, b),
            (method, path.to_owned(), body),
            "{operation:?}"
        );
    }
}
