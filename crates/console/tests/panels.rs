//! The panels folded from what a device in the sandbox's world reports, and the page's inputs
//! (URLs, saved settings) of any shape.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use thingsim_console::config::ConnectForm;
use thingsim_console::panels::{CommandState, Console};
use thingsim_fleet::ThingName;
use thingsim_fleet::cloud::Operation;
use thingsim_fleet::commands::CommandStatus;
use thingsim_fleet::device::{DeviceEvent, DeviceOptions};
use thingsim_fleet::jobs::agent::JobEvent;
use thingsim_fleet::jobs::cloud::JobType;
use thingsim_fleet::model::THERMOSTAT;
use thingsim_fleet::world::{Netem, World};
use thingsim_mqtt::Millis;

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
    let d = w.add_device("thermostat-001", &THERMOSTAT, DeviceOptions::default());
    w.run_for(100);
    (w, d)
}

fn firmware_job(w: &mut World, name: &str, step_timeout: Option<u64>) -> String {
    let name = thing(name);
    w.with_cloud(|c, now| {
        c.create_job(
            now,
            "firmware 2.1.5",
            json!({"action": "updateFirmware", "params": {"version": "2.1.5"}}),
            &[name],
            JobType::Snapshot,
            step_timeout,
        )
    })
    .unwrap()
}

#[test]
fn the_sandbox_runs_operator_intent_on_real_time_and_traces_every_message() {
    let mut w = World::new(START);
    w.trace = true;
    let d = w.add_device("thermostat-001", &THERMOSTAT, DeviceOptions::default());
    let mut console = Console::new(w.now, w.nodes[d].device.model().state());
    let name = thing("thermostat-001");
    let outcome = w.with_cloud(|c, now| {
        c.operate(
            now,
            Operation::SetDesired {
                thing: name.clone(),
                desired: obj(json!({"targetTemperature": 24})),
            },
        )
    });
    assert!(outcome.is_ok(), "{outcome:?}");
    let outcome = w.with_cloud(|c, now| {
        c.operate(
            now,
            Operation::SendCommand {
                thing: name.clone(),
                action: "reboot".into(),
                params: Map::new(),
                ttl: 30,
            },
        )
    });
    assert!(outcome.unwrap().contains("reboot"));
    let refused = w.with_cloud(|c, now| {
        c.operate(
            now,
            Operation::CancelJob {
                job_id: "nope".into(),
            },
        )
    });
    assert!(refused.is_err());
    // Real time: the shell asks when something is due and advances to it.
    let mut rounds = 0;
    while let Some(at) = w.next_deadline().filter(|at| *at <= START + 5_000) {
        w.advance_to(at);
        rounds += 1;
        assert!(rounds < 10_000, "advancing to {at:?} did not move time");
    }
    for e in w.take_events(d) {
        console.handle_device_event(w.now, &e);
    }
    console.handle_document(&w.cloud.shadow(&name).document());
    assert!(console.shadow.delta().is_empty(), "{:?}", console.shadow);
    assert_eq!(
        console.shadow.reported.get("targetTemperature"),
        Some(&json!(24.0))
    );
    assert!(matches!(
        console.commands[0].state,
        CommandState::Answered(CommandStatus::Succeeded)
    ));
    let wire = w.take_wire();
    assert!(
        wire.iter()
            .any(|m| !m.outgoing && m.message.topic.ends_with("/shadow/update/delta"))
    );
    assert!(
        wire.iter()
            .any(|m| m.outgoing && m.message.topic.contains("/commands/"))
    );
    assert!(w.take_wire().is_empty(), "taken once");
}

#[test]
fn the_device_learns_how_long_its_step_may_take() {
    let (mut w, d) = world_with_thermostat();
    let mut console = Console::default();
    firmware_job(&mut w, "thermostat-001", Some(2));
    w.run_for(500);
    let started = w.nodes[d].events.iter().find_map(|e| match e {
        DeviceEvent::Job(JobEvent::Started(execution)) => Some(execution.clone()),
        _ => None,
    });
    let started = started.expect("the job started");
    assert_eq!(started.approximate_seconds_before_timed_out, Some(120));
    for e in w.take_events(d) {
        console.handle_device_event(w.now, &e);
    }
    let times_out_at = console.jobs.current.and_then(|j| j.times_out_at);
    assert!(times_out_at.is_some_and(|at| at > w.now && at <= w.now + 120_000));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The page takes text from URLs and storage: any of it is refused or ignored, never a
    /// panic, and secrets never come from a URL.
    #[test]
    fn page_inputs_never_panic(text in "[?&=%+a-zA-Z0-9:/.é✓-]{0,48}") {
        let mut form = ConnectForm::default();
        let _ = form.apply_query(&text);
        prop_assert!(form.password.is_empty() && form.api_secret.is_empty());
        let _ = form.validate();
        let _ = ConnectForm::from_saved(&text);
    }
}
