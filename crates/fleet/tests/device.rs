//! The composed device on its own: what it publishes, reports and schedules for each input,
//! with no broker and no cloud in between (scenarios.rs runs it inside the world).

mod common;

use common::{firmware_job, job_status};
use serde_json::{Map, Value, json};
use thingsim_fleet::device::{Device, DeviceEvent, DeviceOptions, DeviceOutput, UserCommand};
use thingsim_fleet::jobs::JobStatus;
use thingsim_fleet::model::{DOOR_LOCK, DeviceModel, ENERGY_METER, THERMOSTAT, Template};
use thingsim_fleet::shadow::cloud::ShadowDocument;
use thingsim_fleet::world::World;
use thingsim_fleet::{ThingName, Topic};
use thingsim_mqtt::{Command, Event, Message, Millis, Qos};

const START: Millis = Millis(1_748_390_400_000);
const THING: &str = "dev-1";

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

/// What one drain of the device gave: messages to publish, events, and the deadline it asked
/// for.
#[derive(Debug, Default)]
struct Drained {
    published: Vec<Message>,
    events: Vec<DeviceEvent>,
    deadline: Option<Millis>,
}

impl Drained {
    fn json(&self, topic_end: &str) -> Vec<Value> {
        self.published
            .iter()
            .filter(|m| m.topic.ends_with(topic_end))
            .map(|m| serde_json::from_slice(&m.payload).unwrap_or(Value::Null))
            .collect()
    }

    fn reported(&self) -> Vec<&Map<String, Value>> {
        self.events
            .iter()
            .filter_map(|e| match e {
                DeviceEvent::Reported(state) => Some(state),
                _ => None,
            })
            .collect()
    }
}

fn drain(d: &mut Device) -> Drained {
    let mut out = Drained::default();
    loop {
        match d.poll_output() {
            DeviceOutput::Mqtt(Command::Publish(m)) => out.published.push(m),
            DeviceOutput::Mqtt(_) => {}
            DeviceOutput::Event(e) => out.events.push(e),
            DeviceOutput::Idle { deadline } => {
                out.deadline = deadline;
                return out;
            }
        }
    }
}

/// A connected device whose startup output is drained.
fn device(template: &'static Template, telemetry_ms: Option<u64>) -> Device {
    let options = DeviceOptions {
        telemetry_ms,
        ..DeviceOptions::default()
    };
    let thing = ThingName::new(THING).unwrap();
    let mut d = Device::new(START, thing, DeviceModel::new(template, 1), options);
    d.handle_mqtt_event(
        START,
        &Event::Connected {
            session_present: false,
        },
    );
    drain(&mut d);
    d
}

fn delta(d: &mut Device, version: u64, state: Value) -> Drained {
    let payload = json!({"version": version, "timestamp": 1, "state": state});
    let message = Message::new(
        format!("$emqx/things/{THING}/shadow/update/delta"),
        payload.to_string(),
        Qos::AtLeastOnce,
    );
    d.handle_mqtt_event(START, &Event::Received(message));
    drain(d)
}

fn document(version: u64, delta: Value) -> ShadowDocument {
    ShadowDocument {
        reported: Map::new(),
        desired: obj(delta.clone()),
        delta: obj(delta),
        version,
        updated_at: 1,
    }
}

#[test]
fn the_device_remembers_the_newest_shadow_version_and_drops_older_deltas() {
    let mut d = device(&THERMOSTAT, None);
    assert_eq!(d.shadow_version(), None);
    let out = delta(&mut d, 7, json!({"targetTemperature": 25}));
    assert_eq!(d.shadow_version(), Some(7));
    assert_eq!(
        out.reported(),
        vec![&obj(json!({"targetTemperature": 25.0}))]
    );
    let out = delta(&mut d, 5, json!({"targetTemperature": 18}));
    assert_eq!(
        out.events,
        vec![DeviceEvent::DeltaStale { got: 5, seen: 7 }]
    );
    assert!(out.published.is_empty());
    assert_eq!(d.shadow_version(), Some(7));
}

/// A delta is applied, then reported: the events say so in that order, so the console's
/// timeline reads "delta applied" before "reported".
#[test]
fn a_delta_is_told_as_applied_before_the_report_it_brings() {
    let mut d = device(&THERMOSTAT, None);
    let out = delta(&mut d, 3, json!({"targetTemperature": 25}));
    let kinds: Vec<&str> = out
        .events
        .iter()
        .filter_map(|e| match e {
            DeviceEvent::DeltaApplied { .. } => Some("applied"),
            DeviceEvent::Reported(_) => Some("reported"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["applied", "reported"]);
}

#[test]
fn the_startup_document_is_applied_once_and_an_older_one_is_named_stale() {
    let mut d = device(&THERMOSTAT, None);
    // Nothing to apply is not news: no report, no "applied" line in the log.
    d.handle_shadow_document(&document(3, json!({})));
    let out = drain(&mut d);
    assert!(out.events.is_empty() && out.published.is_empty(), "{out:?}");
    d.handle_shadow_document(&document(4, json!({"targetTemperature": 23})));
    let out = drain(&mut d);
    assert_eq!(
        out.reported(),
        vec![&obj(json!({"targetTemperature": 23.0}))]
    );
    // An HTTPS device polls the same document again and again: silence.
    d.handle_shadow_document(&document(4, json!({"targetTemperature": 23})));
    assert!(drain(&mut d).events.is_empty());
    d.handle_shadow_document(&document(2, json!({"targetTemperature": 30})));
    assert_eq!(
        drain(&mut d).events,
        vec![DeviceEvent::DeltaStale { got: 2, seen: 4 }]
    );
    assert_eq!(d.model().state()["targetTemperature"], json!(23.0));
}

#[test]
fn offline_the_device_neither_reports_nor_resyncs_and_catches_up_on_reconnect() {
    let mut d = device(&ENERGY_METER, Some(1_000));
    d.handle_mqtt_event(START, &Event::Disconnected);
    drain(&mut d);
    d.handle_timeout(START + 1_000);
    d.handle_command(START + 1_000, UserCommand::Resync);
    let out = drain(&mut d);
    assert!(out.published.is_empty(), "{:?}", out.published);
    assert!(out.reported().is_empty());
    d.handle_mqtt_event(
        START + 1_500,
        &Event::Connected {
            session_present: true,
        },
    );
    let out = drain(&mut d);
    assert_eq!(out.reported(), vec![d.model().state()], "the whole state");
    assert_eq!(out.json("/jobs/get").len(), 1, "and what jobs are pending");
}

#[test]
fn resync_reports_the_whole_state_and_asks_for_pending_jobs() {
    let mut d = device(&THERMOSTAT, None);
    d.handle_command(START + 10, UserCommand::Resync);
    let out = drain(&mut d);
    assert_eq!(out.reported(), vec![d.model().state()]);
    assert_eq!(out.json("/shadow/update").len(), 1);
    assert_eq!(out.json("/jobs/get").len(), 1);
}

#[test]
fn the_device_wakes_for_the_fastest_reading_interval_and_never_without_one() {
    let mut d = device(&THERMOSTAT, None);
    assert_eq!(drain(&mut d).deadline, None);
    d.handle_command(START, UserCommand::SetTelemetry(Some(5_000)));
    assert_eq!(drain(&mut d).deadline, Some(START + 5_000));
    d.handle_command(
        START,
        UserCommand::SetMetricInterval {
            key: "temperature".into(),
            every: Some(2_000),
        },
    );
    assert_eq!(drain(&mut d).deadline, Some(START + 2_000));
    d.handle_command(START, UserCommand::UseDefaultInterval("temperature".into()));
    assert_eq!(drain(&mut d).deadline, Some(START + 5_000));
    d.handle_command(START, UserCommand::SetTelemetry(None));
    assert_eq!(drain(&mut d).deadline, None);
    // Zero is never, not "at once, forever".
    d.handle_command(START, UserCommand::SetTelemetry(Some(0)));
    d.handle_command(
        START,
        UserCommand::SetMetricInterval {
            key: "temperature".into(),
            every: Some(0),
        },
    );
    assert_eq!(drain(&mut d).deadline, None);
    assert_eq!(drain(&mut device(&THERMOSTAT, Some(0))).deadline, None);
}

#[test]
fn readings_advance_by_the_time_that_passed() {
    let hour = 3_600_000;
    let mut d = device(&ENERGY_METER, Some(hour));
    let before = d.model().state()["energy"].as_f64().unwrap();
    d.handle_timeout(START + hour);
    let out = drain(&mut d);
    let state = d.model().state();
    let (power, energy) = (
        state["power"].as_f64().unwrap(),
        state["energy"].as_f64().unwrap(),
    );
    assert_eq!(out.reported()[0]["energy"], json!(energy));
    // One hour at `power` W adds power / 1000 kWh.
    assert!(
        (energy - (before + power / 1_000.0)).abs() < 0.000_5 + 1e-9,
        "{before} + {power} W × 1 h = {energy}"
    );
    assert_eq!(out.deadline, Some(START + 2 * hour));
}

#[test]
fn a_tick_that_changes_no_reading_publishes_nothing() {
    // The lock's battery drains a percent a day; a second changes nothing a report would show.
    let mut d = device(&DOOR_LOCK, Some(1_000));
    d.handle_timeout(START + 1_000);
    let out = drain(&mut d);
    assert!(out.published.is_empty(), "{:?}", out.published);
    assert_eq!(out.deadline, Some(START + 2_000));
}

#[test]
fn events_carry_epoch_seconds_and_each_report_its_own_client_token() {
    let mut d = device(&THERMOSTAT, None);
    d.handle_command(
        START + 1_999,
        UserCommand::PublishEvent {
            kind: "alarm".into(),
            payload: json!({"level": 2}),
        },
    );
    let out = drain(&mut d);
    assert_eq!(
        out.json("/events/alarm"),
        vec![json!({"timestamp": START.0 / 1000 + 1, "data": {"level": 2}})]
    );
    for value in [22, 23] {
        d.handle_command(
            START,
            UserCommand::SetProperty {
                key: "targetTemperature".into(),
                value: json!(value),
            },
        );
    }
    let tokens: Vec<Value> = drain(&mut d)
        .json("/shadow/update")
        .into_iter()
        .map(|u| u["clientToken"].clone())
        .collect();
    // The report on connecting was the first.
    assert_eq!(tokens, vec![json!("dev-1-2"), json!("dev-1-3")]);
}

// Jobs need the cloud's answers: these run in the world.

fn world_with_job(stepping: bool, telemetry_ms: Option<u64>) -> (World, String) {
    let mut w = World::new(START);
    let options = DeviceOptions {
        job_step_ms: 1_000,
        telemetry_ms,
    };
    w.add_device(THING, &THERMOSTAT, options);
    w.command(0, UserCommand::SetStepping(stepping));
    w.run_for(100);
    let job = firmware_job(&mut w, THING, None);
    w.run_for(50);
    (w, job)
}

fn progress(events: &[DeviceEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, DeviceEvent::JobProgress { .. }))
        .count()
}

fn rejection(w: &mut World, job: &str, code: &str) {
    let topic = format!("$emqx/things/{THING}/jobs/{job}/update/rejected");
    let payload = json!({"code": code, "message": "test", "timestamp": 1});
    w.inject(
        0,
        Message::new(topic, payload.to_string(), Qos::AtLeastOnce),
    );
}

#[test]
fn step_through_shows_the_step_and_a_job_the_cloud_ended_stops() {
    let (mut w, job) = world_with_job(true, None);
    assert_eq!(w.nodes[0].device.current_job(), Some((job.as_str(), 0)));
    w.command(0, UserCommand::NextStep);
    // A second request before the cloud answered the first is not another step.
    w.command(0, UserCommand::NextStep);
    w.run_for(50);
    assert_eq!(w.nodes[0].device.current_job(), Some((job.as_str(), 1)));
    assert_eq!(progress(&w.take_events(0)), 1);
    // Another job ended, or ours refused for another reason: keep going.
    rejection(&mut w, "other-job", "TerminalStateReached");
    rejection(&mut w, &job, "VersionMismatch");
    assert_eq!(w.nodes[0].device.current_job(), Some((job.as_str(), 1)));
    rejection(&mut w, &job, "TerminalStateReached");
    assert_eq!(w.nodes[0].device.current_job(), None);
}

#[test]
fn offline_no_job_step_runs_and_steps_keep_their_interval() {
    // Telemetry wakes the device every 100 ms; steps still come only every 1,000 ms.
    let (mut w, job) = world_with_job(false, Some(100));
    w.take_events(0);
    w.run_for(800);
    assert_eq!(progress(&w.take_events(0)), 0, "too early for a step");
    w.run_for(300);
    assert_eq!(progress(&w.take_events(0)), 1);
    w.disconnect(0);
    w.run_for(5_000);
    let events = w.take_events(0);
    assert_eq!(progress(&events), 0, "offline");
    assert!(
        !events.iter().any(|e| matches!(e, DeviceEvent::Reported(_))),
        "offline: {events:?}"
    );
    w.command(0, UserCommand::SetStepping(true));
    w.command(0, UserCommand::NextStep);
    assert_eq!(progress(&w.take_events(0)), 0, "offline, even by hand");
    w.connect(0);
    w.command(0, UserCommand::SetStepping(false));
    w.run_for(10_000);
    assert_eq!(job_status(&w, THING, &job), JobStatus::Succeeded);
}

#[test]
fn a_reported_topic_the_device_hears_back_changes_nothing() {
    // MQTT 3.1.1 has no No Local: the device hears its own reports and must ignore them.
    let mut d = device(&THERMOSTAT, None);
    let echo = Message::new(
        Topic::Shadow(thingsim_fleet::topics::ShadowTopic::Update)
            .assemble(&ThingName::new(THING).unwrap()),
        json!({"state": {"reported": {"targetTemperature": 30}}}).to_string(),
        Qos::AtLeastOnce,
    );
    d.handle_mqtt_event(START, &Event::Received(echo));
    let out = drain(&mut d);
    assert!(out.events.is_empty() && out.published.is_empty(), "{out:?}");
}

#[test]
fn ignoring_a_pending_command_is_news_once_and_an_unknown_one_is_none() {
    let mut w = World::new(START);
    w.add_device(THING, &THERMOSTAT, DeviceOptions::default());
    w.command(0, UserCommand::SetAutoAnswer(false));
    w.run_for(100);
    let thing = ThingName::new(THING).unwrap();
    let id = w.with_cloud(|c, now| c.send_command(now, &thing, "reboot", Map::new(), 30));
    w.run_for(100);
    w.take_events(0);
    for _ in 0..2 {
        w.command(
            0,
            UserCommand::IgnoreCommand {
                execution_id: id.clone(),
            },
        );
    }
    assert_eq!(
        w.take_events(0),
        vec![DeviceEvent::CommandIgnored { execution_id: id }]
    );
    assert_eq!(w.nodes[0].device.pending_commands().count(), 0);
}

#[test]
fn a_retained_command_request_is_refused_and_the_same_one_sent_now_runs() {
    let mut d = device(&THERMOSTAT, None);
    // Forged and left retained, with timestamp 0 (no TTL clock): replayed at every subscribe.
    let mut forged = Message::new(
        format!("$emqx/commands/things/{THING}/executions/exec-9/request"),
        br#"{"commandId":"c9","action":"reboot","timestamp":0,"ttl":30}"#.to_vec(),
        Qos::AtLeastOnce,
    );
    forged.retain = true;
    d.handle_mqtt_event(START, &Event::Received(forged.clone()));
    let out = drain(&mut d);
    assert!(out.json("/response").is_empty(), "not run, not answered");
    assert!(
        out.events.iter().any(
            |e| matches!(e, DeviceEvent::Refused { reason, .. } if reason.contains("retained"))
        ),
        "{:?}",
        out.events
    );
    forged.retain = false;
    d.handle_mqtt_event(START, &Event::Received(forged));
    let out = drain(&mut d);
    assert_eq!(out.json("/response").len(), 1, "sent now, it runs");
}
