//! The walking skeleton's slice, in headless Chromium against the real mosquitto: a device
//! connects over MQTT-over-WebSocket, receives a shadow delta that a second client publishes,
//! and reports back on shadow/update, which the second client receives.

#![cfg(target_arch = "wasm32")]

mod common;

use common::{expect, start, unique};
use serde_json::json;
use thingsim::shell::client::{ClientEvent, Status};
use thingsim_fleet::shadow::{Delta, Update};
use thingsim_fleet::stack::StackEvent;
use thingsim_fleet::topics::ShadowTopic;
use thingsim_fleet::{ThingName, Topic};
use thingsim_mqtt::{Command, Event, Message, Options, ProtocolVersion, Qos};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

async fn delta_then_report(version: ProtocolVersion) {
    let thing = ThingName::new(&unique("web-thermostat")).unwrap();
    let delta_topic = Topic::Shadow(ShadowTopic::UpdateDelta).assemble(&thing);
    let update_topic = Topic::Shadow(ShadowTopic::Update).assemble(&thing);
    let subscribed = |e| {
        matches!(
            e,
            ClientEvent::Stack(StackEvent::Mqtt(Event::Subscribed { .. }))
        )
        .then_some(())
    };

    let (device, mut device_rx) = start(Options {
        version,
        ..Options::new(format!("dev-{thing}"))
    });
    device.command(Command::Subscribe(vec![(
        delta_topic.clone(),
        Qos::AtLeastOnce,
    )]));
    expect(&mut device_rx, "the device's SUBACK", subscribed).await;

    let (cloud, mut cloud_rx) = start(Options {
        version,
        ..Options::new(format!("cloud-{thing}"))
    });
    cloud.command(Command::Subscribe(vec![(
        update_topic.clone(),
        Qos::AtLeastOnce,
    )]));
    expect(&mut cloud_rx, "the cloud's SUBACK", subscribed).await;

    let delta = Delta {
        version: 5,
        timestamp: 1_748_390_400,
        state: json!({"targetTemperature": 24})
            .as_object()
            .cloned()
            .unwrap(),
        metadata: Default::default(),
    };
    cloud.command(Command::Publish(Message::new(
        &delta_topic,
        delta.to_vec(),
        Qos::AtLeastOnce,
    )));

    let got = expect(&mut device_rx, "the delta", |e| match e {
        ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m))) if m.topic == delta_topic => {
            Some(m)
        }
        _ => None,
    })
    .await;
    let received = Delta::from_slice(&got.payload).expect("a delta document");
    assert_eq!(received, delta);

    let report = Update::reported(received.state);
    device.command(Command::Publish(Message::new(
        &update_topic,
        report.to_vec(),
        Qos::AtLeastOnce,
    )));
    expect(&mut device_rx, "PUBACK for the report", |e| {
        matches!(
            e,
            ClientEvent::Stack(StackEvent::Mqtt(Event::Acknowledged { .. }))
        )
        .then_some(())
    })
    .await;
    let got = expect(&mut cloud_rx, "the report", |e| match e {
        ClientEvent::Stack(StackEvent::Mqtt(Event::Received(m))) if m.topic == update_topic => {
            Some(m)
        }
        _ => None,
    })
    .await;
    assert_eq!(Update::from_slice(&got.payload).unwrap(), report);

    for (client, rx) in [(device, &mut device_rx), (cloud, &mut cloud_rx)] {
        client.stop();
        expect(rx, "offline after stop", |e| {
            (e == ClientEvent::Stack(StackEvent::Status(Status::Offline))).then_some(())
        })
        .await;
    }
}

#[wasm_bindgen_test]
async fn mqtt_5_device_receives_a_delta_and_its_report_reaches_the_other_side() {
    delta_then_report(ProtocolVersion::V5).await;
}

#[wasm_bindgen_test]
async fn mqtt_3_1_1_device_receives_a_delta_and_its_report_reaches_the_other_side() {
    delta_then_report(ProtocolVersion::V3_1_1).await;
}

#[wasm_bindgen_test]
async fn an_unreachable_broker_leads_to_reconnecting_with_a_reason() {
    let url = thingsim_mqtt::BrokerUrl::parse("ws://127.0.0.1:65534/mqtt").unwrap();
    let (tx, mut rx) = futures::channel::mpsc::unbounded();
    let client =
        thingsim::shell::client::connect(url, Options::new(unique("nobody")), 1, move |e| {
            let _ = tx.unbounded_send(e);
        });
    let (in_ms, why) = expect(&mut rx, "a reconnect schedule", |e| match e {
        ClientEvent::Stack(StackEvent::Status(Status::Reconnecting { in_ms, last_error })) => {
            Some((in_ms, last_error))
        }
        _ => None,
    })
    .await;
    assert!((500..=1_000).contains(&in_ms), "first backoff {in_ms} ms");
    assert!(
        why.is_some_and(|w| w.contains("WebSocket")),
        "the reason is shown"
    );
    client.stop();
}
