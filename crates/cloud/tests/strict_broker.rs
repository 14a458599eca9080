//! A strict MQTT 5 broker: mosquitto with a 256-byte Maximum Packet Size, Receive Maximum 2,
//! no retained messages and a 10 s keep-alive ceiling (and, on one run, QoS 0 only). The device
//! and thingsim-cloud must honour every limit and still do all three Fleets mechanisms; where a
//! limit cannot be met, the device must say so rather than look connected.

mod common;

use common::broker::Broker;
use common::{CloudProcess, NativeDevice};
use std::time::{Duration, Instant};

use serde_json::json;
use thingsim_console::panels::{Feed, LinkView};
use thingsim_fleet::device::DeviceOptions;
use thingsim_fleet::model::THERMOSTAT;
use thingsim_mqtt::{Event, Options, SubscriptionState};

const STRICT: &str = "max_packet_size 256\nmax_inflight_messages 2\nretain_available false\nmax_keepalive 10\nset_tcp_nodelay true";

fn link(dev: &NativeDevice) -> LinkView {
    let session = dev.client().session();
    let mut link = LinkView::default();
    link.handle_mqtt_event(&Event::Limits(session.server_limits().clone()));
    link.handle_mqtt_event(&Event::Subscriptions(session.subscriptions().to_vec()));
    link
}

/// Runs the device until `cond` holds, at most 15 s; on failure, shows what both sides said.
fn wait(dev: &mut NativeDevice, cloud: &CloudProcess, what: &str, mut cond: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(15);
    while !cond() {
        if Instant::now() > give_up {
            let log = cloud.lines.lock().map(|l| l.join("\n")).unwrap_or_default();
            panic!(
                "timed out waiting until {what}; the device's session said {:?}; the cloud said:\n{log}",
                dev.errors
            );
        }
        dev.run_for(50);
    }
}

fn every_mechanism_works_under(extra: &str, thing: &str) {
    let broker = Broker::start_with(&format!("{STRICT}\n{extra}"));
    let cloud = CloudProcess::start(&broker.addr, &[]);
    let options = DeviceOptions {
        job_step_ms: 100,
        telemetry_ms: None,
    };
    let mut dev = NativeDevice::connect(&broker.addr, thing, &THERMOSTAT, options);

    // What the broker announced reached the session, and its keep-alive replaced ours (60 s).
    let limits = dev.client().session().server_limits().clone();
    assert_eq!(limits.maximum_packet_size, Some(256), "{limits:?}");
    assert_eq!(limits.receive_maximum, 2, "{limits:?}");
    assert!(!limits.retain_available, "{limits:?}");
    assert_eq!(limits.server_keep_alive, Some(10), "{limits:?}");

    // All 13 filters granted, in SUBSCRIBE packets that each fit 256 bytes.
    dev.run_until("all 13 subscriptions granted", |d| {
        let subs = d.client().session().subscriptions();
        subs.len() == 13
            && subs
                .iter()
                .all(|s| matches!(s.state, SubscriptionState::Granted(_)))
    });
    assert_eq!(
        link(&dev).connected_text(),
        Some(("subscribed 13/13".to_owned(), false))
    );

    // Shadow: desired through the API → delta → applied and reported.
    let (status, body) = cloud.call(
        "PUT",
        &format!("/api/v1/things/{thing}/shadow/desired"),
        Some(&json!({"state": {"desired": {"targetTemperature": 24}}})),
        None,
    );
    assert_eq!(status, 200, "{body}");
    wait(&mut dev, &cloud, "the delta applied and reported", || {
        let (_, doc) = cloud.call("GET", &format!("/api/v1/things/{thing}/shadow"), None, None);
        doc["reported"]["targetTemperature"] == json!(24.0) && doc["delta"] == json!({})
    });

    // Command round trip.
    let (status, e) = cloud.call(
        "POST",
        "/api/v1/commands",
        Some(&json!({"thingName": thing, "action": "setTemperature", "params": {"value": 22}})),
        None,
    );
    assert_eq!(status, 201, "{e}");
    let path = format!(
        "/api/v1/commands/executions/{}",
        e["executionId"].as_str().unwrap_or_default()
    );
    wait(&mut dev, &cloud, "the command answered", || {
        cloud.call("GET", &path, None, None).1["status"] == json!("SUCCEEDED")
    });

    // A job to SUCCEEDED.
    let (status, job) = cloud.call(
        "POST",
        "/api/v1/jobs",
        Some(&json!({"targets": {"thingNames": [thing]}, "document": {"action": "reboot"}})),
        None,
    );
    assert_eq!(status, 201, "{job}");
    let path = format!(
        "/api/v1/jobs/{}/executions",
        job["jobId"].as_str().unwrap_or_default()
    );
    wait(&mut dev, &cloud, "the job SUCCEEDED", || {
        let (_, executions) = cloud.call("GET", &path, None, None);
        executions["data"][0]["status"] == json!("SUCCEEDED")
    });

    // Nothing was ever too large, and the window never overflowed.
    assert!(
        !dev.errors
            .iter()
            .any(|e| e.contains("Maximum Packet Size") || e.contains("protocol error")),
        "{:?}",
        dev.errors
    );
    assert!(dev.client().session().in_flight() <= 2);
    let cloud_log = cloud.lines.lock().map(|l| l.join("\n")).unwrap_or_default();
    assert!(
        !cloud_log.contains("Maximum Packet Size"),
        "the cloud sent something too large:\n{cloud_log}"
    );
}

#[test]
fn a_strict_broker_still_gets_the_shadow_commands_and_jobs_through() {
    every_mechanism_works_under("", "strict-1");
}

#[test]
fn a_qos0_only_broker_still_gets_the_shadow_commands_and_jobs_through() {
    every_mechanism_works_under("max_qos 0", "strict-2");
}

#[test]
fn keep_alive_follows_the_broker_s_ceiling_so_an_idle_device_stays_connected() {
    // We ask for 60 s; the broker allows 10 and would drop us after 15 s of silence.
    let broker = Broker::start_with(STRICT);
    let options = DeviceOptions {
        job_step_ms: 100,
        telemetry_ms: None,
    };
    let mut dev = NativeDevice::connect(&broker.addr, "idle-1", &THERMOSTAT, options);
    dev.run_for(17_000);
    assert!(dev.client().is_connected(), "{:?}", dev.errors);
}

#[test]
fn a_limit_the_device_cannot_meet_is_said_not_hidden() {
    // 128 bytes cannot carry a SUBSCRIBE for a thing with a 100-character name.
    let broker = Broker::start_with("max_packet_size 128");
    let thing = "t".repeat(100);
    let options = DeviceOptions::default();
    let mut dev = NativeDevice::connect_with(
        &broker.addr,
        &thing,
        &THERMOSTAT,
        options,
        Options::new("deaf-1"),
    );
    dev.run_for(500);
    let subs = dev.client().session().subscriptions().to_vec();
    assert_eq!(subs.len(), 13);
    let unsendable: Vec<&str> = subs
        .iter()
        .filter(|s| matches!(s.state, SubscriptionState::Unsendable(_)))
        .map(|s| s.filter.as_str())
        .collect();
    assert!(
        unsendable
            .iter()
            .any(|f| f.ends_with("/shadow/update/delta")),
        "{subs:?}"
    );
    let (text, warning) = link(&dev).connected_text().unwrap_or_default();
    assert!(warning, "{text}");
    assert!(text.contains("not listening"), "{text}");
    assert!(
        link(&dev)
            .deaf(Feed::Commands)
            .is_some_and(|why| why.contains("128 bytes")),
        "{:?}",
        link(&dev).deaf(Feed::Commands)
    );
    // Its first report did not fit either: refused with the reason, and the link stays up.
    assert!(
        dev.errors
            .iter()
            .any(|e| e.contains("PUBLISH to") && e.contains("Maximum Packet Size of 128")),
        "{:?}",
        dev.errors
    );
    assert!(dev.client().is_connected());
}
