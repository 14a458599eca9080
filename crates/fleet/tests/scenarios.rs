//! Every Fleets flow end to end in the in-memory world: devices, broker and cloud on simulated
//! time, with network delay, duplicates and disconnects.

mod common;

use common::{firmware_job, job_status};
use serde_json::{Map, Value, json};
use thingsim_fleet::cloud::CloudEvent;
use thingsim_fleet::commands::CommandStatus;
use thingsim_fleet::device::{DeviceEvent, DeviceOptions, JobBehaviour, UserCommand};
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::jobs::agent::JobEvent;
use thingsim_fleet::jobs::cloud::JobType;
use thingsim_fleet::model::{ENVIRONMENT_SENSOR, SMART_LIGHT, THERMOSTAT};
use thingsim_fleet::shadow::Delta;
use thingsim_fleet::world::{Netem, World};
use thingsim_fleet::{ThingName, Topic};
use thingsim_mqtt::{Message, Millis, Qos};

const START: Millis = Millis(1_748_390_400_000);

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn thing(name: &str) -> ThingName {
    ThingName::new(name).unwrap()
}

fn world_with_thermostat() -> (World, usize) {
    let mut w = World::new(START);
    w.netem = Netem {
        delay_ms: 20,
        ..Netem::default()
    };
    let idx = w.add_device("thermostat-001", &THERMOSTAT, DeviceOptions::default());
    w.run_for(100);
    (w, idx)
}

fn reported(w: &World, name: &str, key: &str) -> Value {
    w.cloud
        .shadow(&thing(name))
        .reported
        .get(key)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_new_device_reports_its_state_and_desired_state_converges() {
    let (mut w, d) = world_with_thermostat();
    assert_eq!(
        reported(&w, "thermostat-001", "targetTemperature"),
        json!(21.0)
    );
    let accepted = w.with_cloud(|c, now| {
        c.set_desired(
            now,
            &thing("thermostat-001"),
            obj(json!({"targetTemperature": 24})),
        )
    });
    assert!(accepted.unwrap().delta.is_some());
    w.run_for(500);
    assert_eq!(
        reported(&w, "thermostat-001", "targetTemperature"),
        json!(24.0)
    );
    assert!(
        w.cloud.shadow(&thing("thermostat-001")).delta().is_empty(),
        "converged"
    );
    assert!(w.nodes[d].events.iter().any(|e| matches!(e, DeviceEvent::DeltaApplied { applied, .. } if applied.contains_key("targetTemperature"))));
}

#[test]
fn a_device_reports_what_it_can_reach_not_what_was_asked() {
    let (mut w, _) = world_with_thermostat();
    w.with_cloud(|c, now| {
        c.set_desired(
            now,
            &thing("thermostat-001"),
            obj(json!({"targetTemperature": 60, "temperature": 10})),
        )
    })
    .unwrap();
    w.run_for(500);
    assert_eq!(
        reported(&w, "thermostat-001", "targetTemperature"),
        json!(35.0),
        "clamped to the hardware limit"
    );
    let delta = w.cloud.shadow(&thing("thermostat-001")).delta();
    assert_eq!(
        delta,
        obj(json!({"targetTemperature": 60, "temperature": 10})),
        "the delta tells the truth"
    );
}

#[test]
fn duplicate_and_out_of_order_deltas_are_ignored() {
    let (mut w, d) = world_with_thermostat();
    w.netem.duplicate_every = Some(1);
    w.with_cloud(|c, now| {
        c.set_desired(
            now,
            &thing("thermostat-001"),
            obj(json!({"targetTemperature": 25})),
        )
    })
    .unwrap();
    w.run_for(500);
    w.netem.duplicate_every = None;
    assert!(
        w.nodes[d]
            .events
            .iter()
            .any(|e| matches!(e, DeviceEvent::DeltaStale { .. })),
        "the duplicate was seen and dropped"
    );
    // An old delta arriving late must not undo the newer state.
    let stale = Delta {
        version: 1,
        timestamp: 0,
        state: obj(json!({"targetTemperature": 10})),
        metadata: Map::new(),
    };
    let topic = Topic::Shadow(thingsim_fleet::topics::ShadowTopic::UpdateDelta)
        .assemble(&thing("thermostat-001"));
    w.inject(d, Message::new(topic, stale.to_vec(), Qos::AtLeastOnce));
    w.run_for(200);
    assert_eq!(
        reported(&w, "thermostat-001", "targetTemperature"),
        json!(25.0)
    );
    assert!(matches!(
        w.nodes[d].events.last(),
        Some(DeviceEvent::DeltaStale { got: 1, .. })
    ));
}

#[test]
fn desired_state_changed_while_offline_is_applied_on_reconnect() {
    for persistent in [true, false] {
        let (mut w, d) = world_with_thermostat();
        w.nodes[d].persistent = persistent;
        w.disconnect(d);
        w.with_cloud(|c, now| {
            c.set_desired(now, &thing("thermostat-001"), obj(json!({"mode": "heat"})))
        })
        .unwrap();
        w.run_for(5_000);
        assert_eq!(
            reported(&w, "thermostat-001", "mode"),
            json!("auto"),
            "offline: nothing changes"
        );
        w.connect(d);
        w.run_for(500);
        // Persistent: the queued delta; clean: the startup shadow GET. Either way it converges.
        assert_eq!(
            reported(&w, "thermostat-001", "mode"),
            json!("heat"),
            "persistent={persistent}"
        );
        assert!(w.cloud.shadow(&thing("thermostat-001")).delta().is_empty());
    }
}

#[test]
fn a_command_round_trip_succeeds_and_its_effect_is_reported() {
    let (mut w, _) = world_with_thermostat();
    let id = w.with_cloud(|c, now| {
        c.send_command(
            now,
            &thing("thermostat-001"),
            "setTemperature",
            obj(json!({"value": 23.5})),
            30,
        )
    });
    w.run_for(500);
    let e = w.cloud.execution(&id).unwrap();
    assert_eq!(e.status, CommandStatus::Succeeded);
    assert_eq!(e.result, obj(json!({"targetTemperature": 23.5})));
    assert_eq!(
        reported(&w, "thermostat-001", "targetTemperature"),
        json!(23.5)
    );
}

#[test]
fn a_command_with_bad_params_or_an_unknown_action_is_rejected_with_the_reason() {
    let (mut w, _) = world_with_thermostat();
    let bad = w.with_cloud(|c, now| {
        c.send_command(
            now,
            &thing("thermostat-001"),
            "setTemperature",
            obj(json!({"value": "hot"})),
            30,
        )
    });
    let unknown =
        w.with_cloud(|c, now| c.send_command(now, &thing("thermostat-001"), "fly", Map::new(), 30));
    w.run_for(500);
    for (id, why) in [(bad, "a number"), (unknown, "unknown action")] {
        let e = w.cloud.execution(&id).unwrap();
        assert_eq!(e.status, CommandStatus::Rejected);
        assert!(
            e.result["error"].as_str().unwrap_or_default().contains(why),
            "{:?}",
            e.result
        );
    }
    assert_eq!(
        reported(&w, "thermostat-001", "targetTemperature"),
        json!(21.0)
    );
}

#[test]
fn an_unanswered_command_times_out_and_a_late_answer_changes_nothing() {
    let (mut w, d) = world_with_thermostat();
    w.command(d, UserCommand::SetAutoAnswer(false));
    let id = w.with_cloud(|c, now| {
        c.send_command(now, &thing("thermostat-001"), "reboot", Map::new(), 5)
    });
    w.run_for(4_000);
    assert_eq!(w.cloud.execution(&id).unwrap().status, CommandStatus::Sent);
    assert!(
        w.nodes[d].device.pending_commands().any(|(e, _)| *e == id),
        "waiting for the user"
    );
    w.run_for(2_000);
    assert_eq!(
        w.cloud.execution(&id).unwrap().status,
        CommandStatus::TimedOut
    );
    w.command(
        d,
        UserCommand::AnswerCommand {
            execution_id: id.clone(),
            response: thingsim_fleet::commands::CommandResponse {
                status: CommandStatus::Succeeded,
                result: Map::new(),
            },
        },
    );
    w.run_for(500);
    assert_eq!(
        w.cloud.execution(&id).unwrap().status,
        CommandStatus::TimedOut
    );
}

#[test]
fn a_command_that_arrives_after_its_ttl_is_not_executed() {
    let (mut w, d) = world_with_thermostat();
    w.netem.delay_ms = 6_000;
    let id = w.with_cloud(|c, now| {
        c.send_command(
            now,
            &thing("thermostat-001"),
            "setTemperature",
            obj(json!({"value": 30})),
            5,
        )
    });
    w.run_for(10_000);
    assert!(w.nodes[d].events.iter().any(
        |e| matches!(e, DeviceEvent::CommandExpired { execution_id, .. } if *execution_id == id)
    ));
    assert_eq!(
        w.cloud.execution(&id).unwrap().status,
        CommandStatus::TimedOut
    );
    assert_eq!(
        w.nodes[d].device.model().state()["targetTemperature"],
        json!(21.0),
        "not executed"
    );
}

#[test]
fn a_firmware_job_runs_with_progress_to_succeeded() {
    let (mut w, d) = world_with_thermostat();
    let job = firmware_job(&mut w, "thermostat-001", None);
    w.run_for(2_500);
    assert_eq!(
        job_status(&w, "thermostat-001", &job),
        JobStatus::InProgress
    );
    let progress = &w
        .cloud
        .job_execution(&thing("thermostat-001"), &job)
        .unwrap()
        .status_details;
    assert!(progress.contains_key("progress"), "{progress:?}");
    w.run_for(10_000);
    assert_eq!(job_status(&w, "thermostat-001", &job), JobStatus::Succeeded);
    assert_eq!(reported(&w, "thermostat-001", "firmware"), json!("2.1.5"));
    let percents: Vec<u32> = w.nodes[d]
        .events
        .iter()
        .filter_map(|e| match e {
            DeviceEvent::JobProgress { percent, .. } => Some(*percent),
            _ => None,
        })
        .collect();
    assert_eq!(percents, vec![20, 40, 60, 80, 100]);
}

#[test]
fn jobs_fail_are_rejected_or_time_out_as_the_device_behaves() {
    for (behaviour, expected) in [
        (JobBehaviour::FailAtStep(3), JobStatus::Failed),
        (JobBehaviour::Reject, JobStatus::Rejected),
        (JobBehaviour::Stall, JobStatus::TimedOut),
    ] {
        let (mut w, d) = world_with_thermostat();
        w.command(d, UserCommand::SetJobBehaviour(behaviour));
        let job = firmware_job(&mut w, "thermostat-001", Some(1));
        w.run_for(70_000);
        assert_eq!(
            job_status(&w, "thermostat-001", &job),
            expected,
            "{behaviour:?}"
        );
        assert_eq!(
            w.nodes[d].device.current_job(),
            None,
            "{behaviour:?}: the device let go"
        );
    }
}

#[test]
fn a_job_the_model_cannot_run_is_rejected_with_the_reason() {
    let (mut w, _) = world_with_thermostat();
    let name = thing("thermostat-001");
    let job = w
        .with_cloud(|c, now| {
            c.create_job(
                now,
                "x",
                json!({"action": "dance"}),
                &[name],
                JobType::Snapshot,
                None,
            )
        })
        .unwrap();
    w.run_for(1_000);
    let e = w
        .cloud
        .job_execution(&thing("thermostat-001"), &job)
        .unwrap();
    assert_eq!(e.status, JobStatus::Rejected);
    assert!(
        e.status_details["reason"].contains("unknown job action"),
        "{:?}",
        e.status_details
    );
}

#[test]
fn cancelling_a_running_job_stops_the_device() {
    let (mut w, d) = world_with_thermostat();
    let job = firmware_job(&mut w, "thermostat-001", None);
    w.run_for(1_500);
    w.with_cloud(|c, now| c.cancel_job(now, &job)).unwrap();
    w.run_for(10_000);
    assert_eq!(job_status(&w, "thermostat-001", &job), JobStatus::Canceled);
    assert_eq!(w.nodes[d].device.current_job(), None);
    assert_eq!(
        reported(&w, "thermostat-001", "firmware"),
        json!("2.1.4"),
        "never installed"
    );
}

#[test]
fn a_job_created_while_another_runs_waits_its_turn() {
    let (mut w, _) = world_with_thermostat();
    let first = firmware_job(&mut w, "thermostat-001", None);
    w.run_for(1_500);
    let second = w
        .with_cloud(|c, now| {
            c.create_job(
                now,
                "reboot",
                json!({"action": "reboot"}),
                &[thing("thermostat-001")],
                JobType::Snapshot,
                None,
            )
        })
        .unwrap();
    w.run_for(1_000);
    assert_eq!(job_status(&w, "thermostat-001", &second), JobStatus::Queued);
    w.run_for(15_000);
    assert_eq!(
        job_status(&w, "thermostat-001", &first),
        JobStatus::Succeeded
    );
    assert_eq!(
        job_status(&w, "thermostat-001", &second),
        JobStatus::Succeeded
    );
}

#[test]
fn reconnecting_mid_job_loses_no_notification() {
    let (mut w, d) = world_with_thermostat();
    let first = firmware_job(&mut w, "thermostat-001", None);
    w.run_for(2_500);
    w.disconnect(d);
    let second = w
        .with_cloud(|c, now| {
            c.create_job(
                now,
                "reboot",
                json!({"action": "reboot"}),
                &[thing("thermostat-001")],
                JobType::Snapshot,
                None,
            )
        })
        .unwrap();
    w.run_for(30_000);
    assert_eq!(
        job_status(&w, "thermostat-001", &first),
        JobStatus::InProgress,
        "paused while offline"
    );
    w.connect(d);
    w.run_for(20_000);
    assert_eq!(
        job_status(&w, "thermostat-001", &first),
        JobStatus::Succeeded
    );
    assert_eq!(
        job_status(&w, "thermostat-001", &second),
        JobStatus::Succeeded
    );
}

#[test]
fn malformed_json_on_every_device_topic_is_refused_and_the_device_keeps_working() {
    let (mut w, d) = world_with_thermostat();
    let t = thing("thermostat-001");
    use thingsim_fleet::topics::{CommandTopic, JobsTopic, Reply, ShadowTopic};
    let topics = [
        Topic::Shadow(ShadowTopic::UpdateDelta),
        Topic::Command(CommandTopic::Request("exec-x".into())),
        Topic::Jobs(JobsTopic::Notify),
        Topic::Jobs(JobsTopic::NotifyNext),
        Topic::Jobs(JobsTopic::StartNext(Reply::Accepted)),
        Topic::Jobs(JobsTopic::JobUpdate("job-x".into(), Reply::Accepted)),
        Topic::Jobs(JobsTopic::Get(Reply::Rejected)),
    ];
    for topic in &topics {
        w.inject(
            d,
            Message::new(topic.assemble(&t), "{\"not\": json", Qos::AtLeastOnce),
        );
    }
    w.run_for(500);
    let refused = w.nodes[d]
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                DeviceEvent::Refused { .. } | DeviceEvent::Job(JobEvent::Malformed(_))
            )
        })
        .count();
    assert_eq!(
        refused, 6,
        "all but the command, which is answered REJECTED"
    );
    assert!(w.nodes[d].events.iter().any(|e| matches!(e, DeviceEvent::CommandAnswered { response, .. } if response.status == CommandStatus::Rejected)));
    // Still converges afterwards.
    w.with_cloud(|c, now| c.set_desired(now, &t, obj(json!({"power": false}))))
        .unwrap();
    w.run_for(500);
    assert_eq!(reported(&w, "thermostat-001", "power"), json!(false));
}

#[test]
fn malformed_and_hostile_payloads_to_the_cloud_are_refused_and_change_nothing() {
    let (mut w, d) = world_with_thermostat();
    let t = thing("thermostat-001");
    let before = w.cloud.shadow(&t);
    let shadow = Topic::Shadow(thingsim_fleet::topics::ShadowTopic::Update).assemble(&t);
    w.publish_from(d, Message::new(&shadow, "][", Qos::AtLeastOnce));
    w.publish_from(
        d,
        Message::new(
            &shadow,
            format!(
                r#"{{"state":{{"reported":{{"x":"{}"}}}}}}"#,
                "y".repeat(10_000)
            ),
            Qos::AtLeastOnce,
        ),
    );
    w.publish_from(
        d,
        Message::new(
            &shadow,
            r#"{"state":{"reported":{"a":1}},"version":999}"#,
            Qos::AtLeastOnce,
        ),
    );
    w.publish_from(
        d,
        Message::new(
            "$emqx/commands/things/thermostat-001/executions/exec-404/response",
            "{}",
            Qos::AtLeastOnce,
        ),
    );
    w.run_for(500);
    assert_eq!(w.cloud.shadow(&t), before);
    let codes: Vec<u16> = w
        .cloud_events
        .iter()
        .filter_map(|e| match e {
            CloudEvent::ShadowRejected { rejection, .. } => Some(rejection.code),
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![400, 413, 409]);
    assert!(w.cloud_events.iter().any(|e| matches!(e, CloudEvent::Refused { reason, .. } if reason.contains("unknown command execution"))));
}

#[test]
fn events_reach_the_cloud_and_bad_event_types_are_refused() {
    let (mut w, d) = world_with_thermostat();
    w.command(
        d,
        UserCommand::PublishEvent {
            kind: "overheat".into(),
            payload: json!({"temperature": 80}),
        },
    );
    w.command(
        d,
        UserCommand::PublishEvent {
            kind: "a/b".into(),
            payload: json!({}),
        },
    );
    w.run_for(500);
    assert!(w.cloud_events.iter().any(|e| matches!(e, CloudEvent::DeviceEvent { kind, payload, .. } if kind == "overheat" && payload["data"]["temperature"] == json!(80))));
    assert!(w.nodes[d].events.iter().any(
        |e| matches!(e, DeviceEvent::Refused { reason, .. } if reason.contains("one topic level"))
    ));
}

#[test]
fn telemetry_reports_readings_and_several_devices_stay_independent() {
    let mut w = World::new(START);
    let sensor = w.add_device(
        "env-1",
        &ENVIRONMENT_SENSOR,
        DeviceOptions {
            telemetry_ms: Some(1_000),
            ..DeviceOptions::default()
        },
    );
    let _light = w.add_device("light-1", &SMART_LIGHT, DeviceOptions::default());
    w.run_for(10_500);
    let reports = w.nodes[sensor]
        .events
        .iter()
        .filter(|e| matches!(e, DeviceEvent::Reported(_)))
        .count();
    assert!(reports >= 9, "a report per second: {reports}");
    w.with_cloud(|c, now| {
        c.set_desired(
            now,
            &thing("light-1"),
            obj(json!({"on": true, "color": "#00FF00"})),
        )
    })
    .unwrap();
    w.run_for(500);
    assert_eq!(reported(&w, "light-1", "color"), json!("#00ff00"));
    assert_eq!(reported(&w, "env-1", "color"), Value::Null, "no cross-talk");
}

#[test]
fn a_cloud_restored_from_a_snapshot_mid_job_finishes_the_job() {
    let (mut w, _) = world_with_thermostat();
    let job = firmware_job(&mut w, "thermostat-001", None);
    let cmd = w.with_cloud(|c, now| {
        c.send_command(now, &thing("thermostat-001"), "reboot", Map::new(), 30)
    });
    w.run_for(2_500);
    assert_eq!(
        job_status(&w, "thermostat-001", &job),
        JobStatus::InProgress
    );
    // What a backend writes to disk, read back as a fresh process would.
    let stored = serde_json::to_string(&w.cloud.snapshot()).unwrap();
    w.cloud = thingsim_fleet::cloud::Cloud::restore(serde_json::from_str(&stored).unwrap());
    w.run_for(10_000);
    assert_eq!(job_status(&w, "thermostat-001", &job), JobStatus::Succeeded);
    assert_eq!(
        w.cloud.execution(&cmd).unwrap().status,
        CommandStatus::Succeeded
    );
    assert_eq!(reported(&w, "thermostat-001", "firmware"), json!("2.1.5"));
    let restored: thingsim_fleet::cloud::CloudSnapshot = serde_json::from_str(&stored).unwrap();
    assert!(
        serde_json::from_str::<thingsim_fleet::cloud::CloudSnapshot>(
            &stored.replace("thermostat-001", "bad/name")
        )
        .is_err(),
        "names are validated on load"
    );
    assert_eq!(restored.shadows.len(), 1);
}

#[test]
fn step_through_runs_one_step_per_request_and_sends_the_users_status_details() {
    let (mut w, _) = world_with_thermostat();
    w.command(0, UserCommand::SetStepping(true));
    w.command(
        0,
        UserCommand::SetStatusDetails(
            [("operator".to_owned(), "ana".to_owned())]
                .into_iter()
                .collect(),
        ),
    );
    let job = firmware_job(&mut w, "thermostat-001", None);
    w.run_for(30_000);
    let details = |w: &World| {
        w.cloud
            .job_execution(&thing("thermostat-001"), &job)
            .unwrap()
            .status_details
            .clone()
    };
    assert_eq!(
        job_status(&w, "thermostat-001", &job),
        JobStatus::InProgress
    );
    assert!(
        !details(&w).contains_key("progress"),
        "no step without a request"
    );
    w.command(0, UserCommand::NextStep);
    w.command(0, UserCommand::NextStep); // the first step's answer is not back: ignored
    w.run_for(1_000);
    assert_eq!(details(&w).get("progress").map(String::as_str), Some("20"));
    assert_eq!(details(&w).get("operator").map(String::as_str), Some("ana"));
    w.command(0, UserCommand::SetStepping(false));
    w.run_for(10_000);
    assert_eq!(job_status(&w, "thermostat-001", &job), JobStatus::Succeeded);
}

#[test]
fn each_reading_can_report_on_its_own_interval() {
    use thingsim_fleet::model::ENERGY_METER;
    let count = |key: &str, events: &[DeviceEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, DeviceEvent::Reported(s) if s.contains_key(key) && s.len() < 4))
            .count()
    };
    let mut w = World::new(START);
    let d = w.add_device("meter-1", &ENERGY_METER, DeviceOptions::default());
    w.command(
        d,
        UserCommand::SetProperty {
            key: "relay".into(),
            value: json!(true),
        },
    );
    w.command(d, UserCommand::SetTelemetry(Some(1_000)));
    w.command(
        d,
        UserCommand::SetMetricInterval {
            key: "power".into(),
            every: None,
        },
    );
    w.command(
        d,
        UserCommand::SetMetricInterval {
            key: "voltage".into(),
            every: Some(5_000),
        },
    );
    w.take_events(d);
    w.run_for(10_500);
    let events = w.take_events(d);
    assert_eq!(count("power", &events), 0, "power off");
    let voltage = count("voltage", &events);
    assert!((1..=3).contains(&voltage), "voltage every 5 s: {voltage}");
    // Back on, every second.
    w.command(
        d,
        UserCommand::SetMetricInterval {
            key: "power".into(),
            every: Some(1_000),
        },
    );
    w.run_for(5_500);
    let power = count("power", &w.take_events(d));
    assert!((4..=6).contains(&power), "power every second: {power}");
}
