//! The HTTP front against the real binary and a real broker, as a stranger or a slow client
//! would try it: a request that never sends its body, a Host that names another server, a
//! body far over the limit, and a change that cannot be stored.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::broker::Broker;
use common::{CloudProcess, NativeDevice};
use serde_json::{Value, json};
use thingsim_fleet::device::{DeviceOptions, UserCommand};
use thingsim_fleet::model::THERMOSTAT;

/// Headers only: the body it announces never comes.
fn stall(cloud: &CloudProcess, announced: usize) -> TcpStream {
    let mut s = TcpStream::connect(&cloud.http).unwrap();
    write!(
        s,
        "POST /api/v1/things HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {announced}\r\n\r\n",
        cloud.http
    )
    .unwrap();
    s
}

/// A raw request; the status line's code.
fn status_of(cloud: &CloudProcess, request: &str) -> u16 {
    let mut s = TcpStream::connect(&cloud.http).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut raw = [0u8; 512];
    let n = s.read(&mut raw).unwrap_or(0);
    String::from_utf8_lossy(&raw[..n])
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_client_that_never_sends_its_body_delays_no_one_else() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    let _stalled = [stall(&cloud, 100), stall(&cloud, 60_000)];
    // Half a header, too.
    let mut half = TcpStream::connect(&cloud.http).unwrap();
    half.write_all(b"GET /api/v1/things HTTP/1.1\r\nHost: ")
        .unwrap();

    let t0 = Instant::now();
    let (status, _) = cloud.call("GET", "/api/v1/things", None, None);
    assert_eq!(status, 200);
    let (status, _) = cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "t-http"})),
        None,
    );
    assert_eq!(status, 201);
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "two requests took {:?} beside the stalled ones",
        t0.elapsed()
    );
    // The MQTT side too: a device's report is applied at once.
    let mut device = NativeDevice::connect(
        &broker.addr,
        "t-http",
        &THERMOSTAT,
        DeviceOptions::default(),
    );
    let t0 = Instant::now();
    device.device.handle_command(
        common::epoch_now(),
        UserCommand::SetProperty {
            key: "targetTemperature".into(),
            value: json!(19.5),
        },
    );
    device.run_until("the cloud has the report", |_| {
        cloud
            .call("GET", "/api/v1/things/t-http/shadow", None, None)
            .1["reported"]["targetTemperature"]
            == json!(19.5)
    });
    assert!(t0.elapsed() < Duration::from_secs(1), "{:?}", t0.elapsed());
}

#[test]
fn a_host_that_names_another_server_is_refused_and_a_huge_body_is_refused_unread() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    let port = cloud.http.rsplit(':').next().unwrap().to_owned();
    let get = |host: &str| {
        format!("GET /api/v1/things HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
    };
    // DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1.
    assert_eq!(
        status_of(&cloud, &get(&format!("evil.example:{port}"))),
        421
    );
    assert_eq!(status_of(&cloud, &get("127.0.0.1:1")), 421);
    assert_eq!(status_of(&cloud, &get(&format!("localhost:{port}"))), 200);
    assert_eq!(status_of(&cloud, &get(&format!("127.0.0.1:{port}"))), 200);

    // Eight megabytes announced, none sent: refused at once, not waited for.
    let t0 = Instant::now();
    let big = format!(
        "POST /api/v1/things HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: 8388608\r\n\r\n"
    );
    assert_eq!(status_of(&cloud, &big), 413);
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert_eq!(cloud.call("GET", "/api/v1/things", None, None).0, 200);
}

#[test]
fn a_change_that_cannot_be_stored_is_undone_answered_503_and_the_cloud_carries_on() {
    let broker = Broker::start();
    let data = std::env::temp_dir().join(format!("thingsim-http-locked-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let dir = data.to_string_lossy().into_owned();
    let cloud = CloudProcess::start(&broker.addr, &["--data", &dir]);
    let names = |cloud: &CloudProcess| -> Vec<Value> {
        cloud.call("GET", "/api/v1/things", None, None).1["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["thingName"].clone())
            .collect()
    };
    assert_eq!(
        cloud
            .call(
                "POST",
                "/api/v1/things",
                Some(&json!({"thingName": "kept"})),
                None
            )
            .0,
        201
    );

    // Another process holds the database: every write fails until it lets go.
    let lock = rusqlite::Connection::open(data.join("thingsim-cloud.sqlite3")).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (status, body) = cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({"thingName": "lost"})),
        None,
    );
    assert_eq!(status, 503, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("not made"),
        "{body}"
    );
    assert_eq!(names(&cloud), [json!("kept")], "nothing changed");
    let (status, _) = cloud.call(
        "PUT",
        "/api/v1/things/kept/shadow/desired",
        Some(&json!({"state": {"desired": {"targetTemperature": 30}}})),
        None,
    );
    assert_eq!(status, 503);
    assert_eq!(
        cloud
            .call("GET", "/api/v1/things/kept/shadow", None, None)
            .1["desired"],
        json!({}),
        "the desired state that could not be stored is not there"
    );

    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    assert_eq!(
        cloud
            .call(
                "POST",
                "/api/v1/things",
                Some(&json!({"thingName": "lost"})),
                None
            )
            .0,
        201,
        "the disk is back: so are writes"
    );
    assert_eq!(names(&cloud), [json!("kept"), json!("lost")]);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn requests_one_after_another_are_not_held_back_by_the_broker_socket() {
    let broker = Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    assert_eq!(cloud.call("GET", "/api/v1/things", None, None).0, 200);
    // Each request used to wait for the owner's 20 ms socket read.
    let t0 = Instant::now();
    for _ in 0..200 {
        assert_eq!(cloud.call("GET", "/api/v1/things", None, None).0, 200);
    }
    // About 1.6 s here now, 4.8 s with the socket read fixed at 20 ms.
    assert!(
        t0.elapsed() < Duration::from_millis(3_200),
        "200 requests in a row took {:?}",
        t0.elapsed()
    );
}
