//! Acknowledged means stored, on the MQTT path: against the real binary and mosquitto, a report
//! that cannot be stored stays unacknowledged and is applied once when the disk is back, and a
//! `kill -9` in the middle of a burst loses none of the reports the broker took.

mod common;

use std::time::{Duration, Instant};

use common::CloudProcess;
use common::broker::Broker;
use serde_json::{Value, json};
use thingsim_cloud::tcp::TcpClient;
use thingsim_mqtt::{Command, Event, Message, Options, Qos};

fn data_dir(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("thingsim-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let arg = dir.to_string_lossy().into_owned();
    (dir, arg)
}

fn report(thing: &str, state: Value) -> Message {
    Message::new(
        format!("$emqx/things/{thing}/shadow/update"),
        json!({ "state": { "reported": state } }).to_string(),
        Qos::AtLeastOnce,
    )
}

/// Publishes and waits for the broker's PUBACK.
fn publish_acked(client: &mut TcpClient, message: Message) {
    client.command(Command::Publish(message)).unwrap();
    let give_up = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < give_up, "the broker never acknowledged");
        if let Some(Event::Acknowledged { .. }) =
            client.next_event(Duration::from_millis(20)).unwrap()
        {
            return;
        }
    }
}

fn until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(secs);
    while !ok() {
        assert!(Instant::now() < give_up, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_report_that_cannot_be_stored_stays_unacknowledged_and_is_applied_once_when_the_disk_is_back() {
    let broker = Broker::start();
    let (dir, arg) = data_dir("durable-locked");
    let cloud = CloudProcess::start(&broker.addr, &["--data", &arg]);
    let shadow =
        |cloud: &CloudProcess| cloud.call("GET", "/api/v1/things/t-1/shadow", None, None).1;
    let mut device = TcpClient::connect(
        &broker.addr,
        Options::new("dev-t-1"),
        Duration::from_secs(5),
    )
    .unwrap();
    publish_acked(&mut device, report("t-1", json!({"n": 0})));
    until("the first report is stored", 10, || {
        shadow(&cloud)["version"] == json!(1)
    });

    let lock = rusqlite::Connection::open(dir.join("thingsim-cloud.sqlite3")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    publish_acked(&mut device, report("t-1", json!({"n": 1})));
    cloud.wait_line("message left unacknowledged");
    std::thread::sleep(Duration::from_millis(1_500));
    let now = shadow(&cloud);
    assert_eq!(
        now["reported"]["n"],
        json!(0),
        "not applied while it cannot be stored: {now}"
    );
    assert_eq!(now["version"], json!(1));

    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    until("the report is applied after the lock goes", 20, || {
        shadow(&cloud)["reported"]["n"] == json!(1)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(shadow(&cloud)["version"], json!(2), "applied exactly once");
    // And it is on disk: a second cloud on the same folder sees it.
    drop(cloud);
    let again = CloudProcess::start(
        &broker.addr,
        &["--data", &arg, "--client-id", "thingsim-cloud-2"],
    );
    assert_eq!(shadow(&again)["reported"]["n"], json!(1));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_in_the_middle_of_a_burst_of_a_thousand_reports_loses_none() {
    let broker = Broker::start();
    let (dir, arg) = data_dir("durable-kill");
    let mut cloud = CloudProcess::start(&broker.addr, &["--data", &arg]);
    let mut device =
        TcpClient::connect(&broker.addr, Options::new("burst"), Duration::from_secs(5)).unwrap();
    let mut acked = 0;
    for i in 0..1_000 {
        device
            .command(Command::Publish(report(&format!("b-{i}"), json!({"i": i}))))
            .unwrap();
        // Read what came back (the broker's PUBACKs open its window for more), counting it.
        while let Some(event) = device.next_event(Duration::from_millis(1)).unwrap() {
            acked += usize::from(matches!(event, Event::Acknowledged { .. }));
        }
        if i == 300 {
            let pid = cloud.pid().to_string();
            assert!(
                std::process::Command::new("kill")
                    .args(["-9", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            cloud.wait_exit(Duration::from_secs(5));
        }
    }
    // Every publish acknowledged by the broker.
    let give_up = Instant::now() + Duration::from_secs(20);
    while acked < 1_000 && Instant::now() < give_up {
        if let Some(Event::Acknowledged { .. }) =
            device.next_event(Duration::from_millis(20)).unwrap()
        {
            acked += 1;
        }
    }
    assert_eq!(acked, 1_000, "the broker took every report");
    let cloud = CloudProcess::start(&broker.addr, &["--data", &arg]);
    let count = || {
        cloud.call("GET", "/api/v1/things", None, None).1["data"]
            .as_array()
            .map_or(0, Vec::len)
    };
    let give_up = Instant::now() + Duration::from_secs(30);
    while count() < 1_000 && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(100));
    }
    if count() != 1_000 {
        let missing: Vec<String> = (0..1_000)
            .map(|i| format!("b-{i}"))
            .filter(|t| {
                cloud
                    .call("GET", &format!("/api/v1/things/{t}/shadow"), None, None)
                    .0
                    != 200
            })
            .collect();
        panic!(
            "{} of 1,000 reports in the cloud after the restart; missing {missing:?}",
            count()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
