//! Any bytes on any Fleets topic, to either role: no panic, and the roles keep working.

use proptest::prelude::*;
use thingsim_fleet::cloud::Cloud;
use thingsim_fleet::commands::{CommandAgent, CommandTracker};
use thingsim_fleet::device::{Device, DeviceOptions};
use thingsim_fleet::jobs::agent::JobsAgent;
use thingsim_fleet::jobs::cloud::JobsCloud;
use thingsim_fleet::model::{DeviceModel, THERMOSTAT};
use thingsim_fleet::shadow::{Delta, Update};
use thingsim_fleet::topics::{CommandTopic, JobsTopic, Reply, ShadowTopic};
use thingsim_fleet::{ThingName, Topic};
use thingsim_mqtt::{Event, Message, Millis, Qos};

fn every_topic() -> Vec<Topic> {
    let mut all = vec![
        Topic::Shadow(ShadowTopic::Update),
        Topic::Shadow(ShadowTopic::UpdateDelta),
        Topic::Event("alarm".into()),
        Topic::Command(CommandTopic::Request("e1".into())),
        Topic::Command(CommandTopic::Response("exec-1".into())),
        Topic::Jobs(JobsTopic::Notify),
        Topic::Jobs(JobsTopic::NotifyNext),
    ];
    for r in [Reply::Request, Reply::Accepted, Reply::Rejected] {
        all.push(Topic::Jobs(JobsTopic::Get(r)));
        all.push(Topic::Jobs(JobsTopic::StartNext(r)));
        all.push(Topic::Jobs(JobsTopic::JobGet("job-1".into(), r)));
        all.push(Topic::Jobs(JobsTopic::JobUpdate("job-1".into(), r)));
    }
    all
}

/// Bytes that are sometimes JSON-shaped, so the parsers get past the first character.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        "[{}\\[\\]\":,a-z0-9 .-]{0,64}".prop_map(String::into_bytes),
        Just(br#"{"state":{"reported":{"a":{"b":null}}},"version":0}"#.to_vec()),
        Just(br#"{"status":"IN_PROGRESS","expectedVersion":1}"#.to_vec()),
        Just(br#"{"execution":{"jobId":"job-1","thingName":"t","status":"QUEUED","queuedAt":0,"lastUpdatedAt":0,"versionNumber":1,"executionNumber":1}}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoders_never_panic(bytes in payload()) {
        let _ = Update::from_slice(&bytes);
        let _ = Delta::from_slice(&bytes);
        let _ = CommandAgent::default().handle_request(1, "e1", &bytes);
        let mut tracker = CommandTracker::default();
        let id = tracker.send(1, "t", "reboot", Default::default(), 30).execution_id.clone();
        let _ = tracker.handle_response(2, &id, &bytes);
    }

    #[test]
    fn both_roles_survive_anything_on_any_topic(messages in prop::collection::vec((0usize..19, payload()), 1..12)) {
        let thing = ThingName::new("t").unwrap();
        let topics = every_topic();
        let mut device = Device::new(Millis(0), thing.clone(), DeviceModel::new(&THERMOSTAT, 1), DeviceOptions::default());
        device.handle_mqtt_event(Millis(0), &Event::Connected { session_present: false });
        let mut cloud = Cloud::default();
        let mut jobs_cloud = JobsCloud::default();
        let mut agent = JobsAgent::default();
        for (i, (t, bytes)) in messages.iter().enumerate() {
            let topic = &topics[t % topics.len()];
            let message = Message::new(topic.assemble(&thing), bytes.clone(), Qos::AtLeastOnce);
            let now = Millis(i as u64 * 1000);
            device.handle_mqtt_event(now, &Event::Received(message.clone()));
            device.handle_timeout(now);
            cloud.handle_message(now, &message);
            cloud.handle_timeout(now);
            if let Topic::Jobs(j) = topic {
                let _ = jobs_cloud.handle_request(i as u64, &thing, j, bytes);
                agent.handle_message(j, bytes);
            }
            while !matches!(device.poll_output(), thingsim_fleet::device::DeviceOutput::Idle { .. }) {}
            while !matches!(cloud.poll_output(), thingsim_fleet::cloud::CloudOutput::Idle { .. }) {}
            while agent.poll_output().is_some() {}
        }
        // Still a working shadow afterwards.
        let accepted = cloud.set_desired(Millis(99_000), &thing, serde_json::json!({"mode": "heat"}).as_object().cloned().unwrap());
        prop_assert!(accepted.is_ok());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// HTTP answers of any shape are refused or ignored, never a panic (thingsim-console's own
    /// tests do the same for URLs and saved settings).
    #[test]
    fn http_answers_never_panic(bytes in payload()) {
        let _ = thingsim_fleet::https::parse_shadow(&bytes, Millis(0));
        let thing = ThingName::new("t").unwrap_or_else(|e| panic!("{e}"));
        let mut link = thingsim_fleet::https::HttpsLink::new(Millis(0), thing, 1_000, 1);
        link.handle_timeout(Millis(0));
        while !matches!(link.poll_output(), thingsim_fleet::https::LinkOutput::Idle { .. }) {}
        link.handle_response(Millis(1), 1, Ok((200, bytes.clone())));
        link.handle_response(Millis(2), 1, Ok((404, bytes)));
    }
}

fn refusals(cloud: &mut Cloud) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match cloud.poll_output() {
            thingsim_fleet::cloud::CloudOutput::Event(
                thingsim_fleet::cloud::CloudEvent::Refused { reason, .. },
            ) => out.push(reason),
            thingsim_fleet::cloud::CloudOutput::Idle { .. } => return out,
            _ => {}
        }
    }
}

#[test]
fn what_a_stranger_leaves_or_garbles_registers_nothing_and_reaches_no_log_raw() {
    let mut cloud = Cloud::default();
    let now = Millis(1_748_390_400_000);
    // A retained report, replayed by the broker to whoever subscribes: not the device's news.
    let mut retained = Message::new(
        "$emqx/things/ghost/shadow/update",
        br#"{"state":{"reported":{"on":true}}}"#.to_vec(),
        Qos::AtLeastOnce,
    );
    retained.retain = true;
    cloud.handle_message(now, &retained);
    // A malformed update from a thing nobody registered.
    cloud.handle_message(
        now,
        &Message::new(
            "$emqx/things/stranger/shadow/update",
            b"{nope".to_vec(),
            Qos::AtLeastOnce,
        ),
    );
    // An event type carrying a terminal escape.
    cloud.handle_message(
        now,
        &Message::new(
            "$emqx/things/t/events/al\u{1b}[2Jarm",
            b"{}".to_vec(),
            Qos::AtMostOnce,
        ),
    );
    let refused = refusals(&mut cloud);
    assert!(
        refused.iter().any(|r| r.contains("retained")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|r| r.contains("control characters")),
        "{refused:?}"
    );
    assert_eq!(cloud.things().count(), 0, "nothing registered");

    // The same report, not retained, is the device's: it registers the thing.
    retained.retain = false;
    cloud.handle_message(now, &retained);
    assert!(cloud.has_thing(&ThingName::new("ghost").unwrap()));
}

#[test]
fn past_the_cap_a_new_thing_is_refused_on_every_path_and_known_ones_go_on() {
    use thingsim_fleet::cloud::MAX_THINGS;
    let mut cloud = Cloud::default();
    let now = Millis(1_748_390_400_000);
    for i in 0..MAX_THINGS {
        assert!(cloud.create_thing(&ThingName::new(&format!("t{i}")).unwrap()));
    }
    let stranger = ThingName::new("one-too-many").unwrap();
    assert!(!cloud.has_room_for(&stranger));
    assert!(!cloud.create_thing(&stranger));
    cloud.create_group("g").unwrap();
    assert!(cloud.add_to_group(now, "g", &stranger).is_err());
    refusals(&mut cloud);
    let report = |thing: &str| {
        Message::new(
            format!("$emqx/things/{thing}/shadow/update"),
            br#"{"state":{"reported":{"on":true}}}"#.to_vec(),
            Qos::AtLeastOnce,
        )
    };
    cloud.handle_message(now, &report("one-too-many"));
    assert!(refusals(&mut cloud).iter().any(|r| r.contains("holds")));
    assert!(!cloud.has_thing(&stranger));
    cloud.handle_message(now, &report("t7"));
    assert_eq!(cloud.shadow(&ThingName::new("t7").unwrap()).version, 1);
    assert_eq!(cloud.things().count(), MAX_THINGS);
}
