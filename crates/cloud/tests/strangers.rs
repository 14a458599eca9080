//! What a stranger on the broker can leave or send, against the real binary and mosquitto:
//! retained messages waiting on device topics, and a publish of 8 MB.

mod common;

use std::time::Duration;

use common::CloudProcess;
use common::broker::Broker;
use serde_json::json;
use thingsim_cloud::tcp::TcpClient;
use thingsim_mqtt::{Command, Message, Options, Qos};

fn stranger(broker: &Broker) -> TcpClient {
    TcpClient::connect(
        &broker.addr,
        Options::new("stranger"),
        Duration::from_secs(5),
    )
    .unwrap()
}

fn publish(client: &mut TcpClient, message: Message) {
    client.command(Command::Publish(message)).unwrap();
    // Long enough for the PUBACK (and the broker to pass it on).
    for _ in 0..20 {
        let _ = client.next_event(Duration::from_millis(25));
    }
}

#[test]
fn what_a_stranger_left_retained_changes_nothing_however_often_the_cloud_starts() {
    let broker = Broker::start();
    let mut s = stranger(&broker);
    for (topic, payload) in [
        (
            "$emqx/things/ghost/shadow/update",
            r#"{"state":{"reported":{"on":true}}}"#,
        ),
        (
            "$emqx/commands/things/ghost/executions/exec-1/response",
            r#"{"commandId":"c1","status":"SUCCEEDED"}"#,
        ),
        ("$emqx/things/ghost/events/alarm", r#"{"level":"fire"}"#),
    ] {
        let mut m = Message::new(topic, payload, Qos::AtLeastOnce);
        m.retain = true;
        publish(&mut s, m);
    }
    for _ in 0..2 {
        let cloud = CloudProcess::start(&broker.addr, &[]);
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(
            cloud.call("GET", "/api/v1/things", None, None).1["data"],
            json!([]),
            "nothing registered from what was left retained"
        );
    }
}

#[test]
fn an_eight_megabyte_publish_never_reaches_the_cloud_and_it_stays_small() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    let mut s = stranger(&broker);
    let big = format!(r#"{{"blob":"{}"}}"#, "x".repeat(8 * 1024 * 1024));
    publish(
        &mut s,
        Message::new("$emqx/things/t/events/huge", big, Qos::AtLeastOnce),
    );
    std::thread::sleep(Duration::from_millis(300));
    let status = std::fs::read_to_string(format!("/proc/{}/status", cloud.pid())).unwrap();
    let rss_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(rss_kb < 64 * 1024, "peak resident memory {rss_kb} kB");
    assert!(
        !cloud
            .lines
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("huge")),
        "the cloud never saw it"
    );
    // And it is still there for everyone else.
    assert_eq!(cloud.call("GET", "/api/v1/things", None, None).0, 200);
}
