//! The demo's broker as `make demo` starts it (scripts/broker: mosquitto with the
//! dynamic-security plugin) and thingsim-cloud managing its users: nobody connects without
//! credentials, a thing's credentials reach only its own topics and only the device side of
//! them, and re-issued credentials end the old ones.

mod common;

use std::time::{Duration, Instant};

use common::CloudProcess;
use common::broker::DemoBroker;
use serde_json::{Value, json};
use thingsim_cloud::tcp::TcpClient;
use thingsim_mqtt::{Command, Error, Event, Message, Options, Qos};

fn cloud(broker: &DemoBroker) -> CloudProcess {
    CloudProcess::start_with_env(
        &broker.addr,
        &["--broker-users", "dynsec"],
        &[
            ("THINGSIM_BROKER_USERNAME", "thingsim-cloud"),
            ("THINGSIM_BROKER_PASSWORD", &broker.cloud_password),
        ],
    )
}

fn login(broker: &DemoBroker, client_id: &str, credentials: &Value) -> anyhow::Result<TcpClient> {
    let options = Options {
        username: credentials["username"].as_str().map(str::to_owned),
        password: credentials["password"].as_str().map(str::to_owned),
        ..Options::new(client_id)
    };
    TcpClient::connect(&broker.addr, options, Duration::from_secs(5))
}

/// Every event for `ms`.
fn events(client: &mut TcpClient, ms: u64) -> Vec<Event> {
    let end = Instant::now() + Duration::from_millis(ms);
    let mut seen = Vec::new();
    while Instant::now() < end {
        match client.next_event(Duration::from_millis(20)) {
            Ok(Some(e)) => seen.push(e),
            Ok(None) => {}
            Err(_) => break,
        }
    }
    seen
}

fn refused_publishes(seen: &[Event]) -> Vec<String> {
    seen.iter()
        .filter_map(|e| match e {
            Event::Error(Error::PublishRefused { topic, .. }) => Some(topic.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn strangers_cannot_connect_and_a_thing_reaches_only_the_device_side_of_its_own_topics() {
    let broker = DemoBroker::start();
    let cloud = cloud(&broker);

    // No credentials, or made-up ones: the broker refuses the connection.
    let anonymous = TcpClient::connect(
        &broker.addr,
        Options::new("stranger"),
        Duration::from_secs(5),
    );
    let why = format!(
        "{:#}",
        anonymous.err().expect("an anonymous client connected")
    );
    assert!(why.contains("refused"), "{why}");
    let guess = json!({ "username": "lamp-a", "password": "guess" });
    assert!(login(&broker, "dev-lamp-a", &guess).is_err());

    // Registering gives credentials, shown once; a thing asked for by name is registered too.
    let (status, a) = cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({ "thingName": "lamp-a", "clientId": "dev-lamp-a" })),
        None,
    );
    assert_eq!(status, 201, "{a}");
    let a = a["credentials"].clone();
    assert_eq!(a["username"], "lamp-a");
    assert_eq!(a["password"].as_str().map(str::len), Some(24));
    let (status, b) = cloud.call("POST", "/api/v1/things/lamp-b/credentials", None, None);
    assert_eq!(status, 201, "{b}");
    assert_ne!(b["credentials"]["password"], a["password"]);

    // lamp-a's credentials with another client id: refused (the registered id is the one).
    assert!(login(&broker, "not-lamp-a", &a).is_err());

    let mut lamp_a = login(&broker, "dev-lamp-a", &a).expect("lamp-a's credentials work");
    // Its own topics: subscribing works; another thing's: refused.
    lamp_a
        .command(Command::Subscribe(vec![
            (
                "$emqx/things/lamp-a/shadow/update/delta".into(),
                Qos::AtLeastOnce,
            ),
            ("$emqx/things/lamp-b/#".into(), Qos::AtLeastOnce),
        ]))
        .unwrap();
    let seen = events(&mut lamp_a, 500);
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Subscribed { filter, .. } if filter.contains("lamp-a"))),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|e| matches!(e, Event::Error(Error::SubscribeRefused { filter, .. }) if filter.contains("lamp-b"))),
        "{seen:?}"
    );

    // Publishing as another thing, or as the cloud on its own topics: refused by the broker,
    // so the cloud never hears it.
    let forged = [
        "$emqx/things/lamp-b/shadow/update",
        "$emqx/commands/things/lamp-b/executions/e1/response",
        "$emqx/things/lamp-a/shadow/update/delta",
        "$emqx/things/lamp-a/jobs/notify-next",
        "$emqx/commands/things/lamp-a/executions/e1/request",
    ];
    for topic in forged {
        lamp_a
            .command(Command::Publish(Message::new(
                topic,
                r#"{"state":{"reported":{"on":true}}}"#,
                Qos::AtLeastOnce,
            )))
            .unwrap();
    }
    // Its own report goes through.
    lamp_a
        .command(Command::Publish(Message::new(
            "$emqx/things/lamp-a/shadow/update",
            r#"{"state":{"reported":{"on":true}}}"#,
            Qos::AtLeastOnce,
        )))
        .unwrap();
    let seen = events(&mut lamp_a, 1_000);
    let mut refused = refused_publishes(&seen);
    refused.sort();
    let mut expected: Vec<String> = forged.iter().map(|t| (*t).to_owned()).collect();
    expected.sort();
    assert_eq!(refused, expected);
    assert_eq!(
        cloud
            .call("GET", "/api/v1/things/lamp-b/shadow", None, None)
            .1["version"],
        0,
        "lamp-b's shadow is untouched"
    );
    assert_eq!(
        cloud
            .call("GET", "/api/v1/things/lamp-a/shadow", None, None)
            .1["reported"],
        json!({ "on": true }),
        "lamp-a's own report counts"
    );

    // New credentials end the old ones: the connection is closed and the old password fails.
    let (status, again) = cloud.call(
        "POST",
        "/api/v1/things/lamp-a/credentials",
        Some(&json!({ "clientId": "dev-lamp-a" })),
        None,
    );
    assert_eq!(status, 200, "{again}");
    let closed = events(&mut lamp_a, 1_000);
    assert!(!lamp_a.is_connected(), "still connected: {closed:?}");
    assert!(login(&broker, "dev-lamp-a", &a).is_err());
    assert!(login(&broker, "dev-lamp-a", &again["credentials"]).is_ok());

    // The cloud's own user is not a thing's to take.
    let (status, answer) = cloud.call(
        "POST",
        "/api/v1/things/thingsim-cloud/credentials",
        None,
        None,
    );
    assert_eq!(status, 502, "{answer}");
    let cloud_user = json!({ "username": "thingsim-cloud", "password": broker.cloud_password });
    assert!(login(&broker, "someone", &cloud_user).is_ok());
}

#[test]
fn without_managed_users_asking_for_credentials_says_so() {
    let broker = common::broker::Broker::start();
    let cloud = CloudProcess::start(&broker.addr, &[]);
    let (status, answer) = cloud.call("POST", "/api/v1/things/lamp/credentials", None, None);
    assert_eq!(status, 501, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .is_some_and(|e| e.contains("--broker-users")),
        "{answer}"
    );
}

#[test]
fn the_thing_list_says_online_from_its_messages_and_offline_from_its_last_will() {
    let broker = DemoBroker::start();
    let cloud = cloud(&broker);
    let (_, registered) = cloud.call(
        "POST",
        "/api/v1/things",
        Some(&json!({ "thingName": "plug-1" })),
        None,
    );
    let connection = || {
        let (_, list) = cloud.call("GET", "/api/v1/things", None, None);
        let me = list["data"][0].clone();
        (
            me["connection"].as_str().unwrap_or_default().to_owned(),
            me["offlineReason"].clone(),
        )
    };
    assert_eq!(connection().0, "unknown", "registered, never heard");
    let credentials = &registered["credentials"];
    let options = Options {
        username: credentials["username"].as_str().map(str::to_owned),
        password: credentials["password"].as_str().map(str::to_owned),
        will: Some(Message::new(
            "$emqx/things/plug-1/events/offline",
            r#"{"reason":"lost"}"#,
            Qos::AtLeastOnce,
        )),
        ..Options::new("dev-plug-1")
    };
    let mut plug = TcpClient::connect(&broker.addr, options, Duration::from_secs(5)).unwrap();
    plug.command(Command::Publish(Message::new(
        "$emqx/things/plug-1/shadow/update",
        r#"{"state":{"reported":{"on":true}}}"#,
        Qos::AtLeastOnce,
    )))
    .unwrap();
    events(&mut plug, 300);
    assert_eq!(connection().0, "online");
    // The connection dies without a DISCONNECT: the broker sends the Last Will.
    drop(plug);
    let give_up = Instant::now() + Duration::from_secs(5);
    while connection().0 != "offline" {
        assert!(Instant::now() < give_up, "still {:?}", connection());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        connection()
            .1
            .as_str()
            .is_some_and(|r| r.contains("Last Will")),
        "{:?}",
        connection()
    );
}
