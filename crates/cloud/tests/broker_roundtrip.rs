//! Against a real mosquitto (started here on free ports): the native session connects with
//! both protocol levels, and No Local keeps a client's own publishes from coming back.

mod common;

use common::broker::Broker;
use std::time::{Duration, Instant};

use thingsim_cloud::tcp::TcpClient;
use thingsim_mqtt::{Command, Event, Message, Options, ProtocolVersion, Qos};

fn wait_for(client: &mut TcpClient, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
    let give_up = Instant::now() + Duration::from_secs(10);
    while Instant::now() < give_up {
        if let Some(e) = client.next_event(Duration::from_millis(200)).unwrap()
            && pred(&e)
        {
            return e;
        }
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn native_session_subscribes_publishes_and_receives_its_own_message_at_both_levels() {
    let broker = Broker::start();
    for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        let options = Options {
            version,
            keep_alive_secs: 5,
            ..Options::new(format!("it-{version:?}"))
        };
        let mut c = TcpClient::connect(&broker.addr, options, Duration::from_secs(5)).unwrap();
        let topic = format!("$emqx/things/t-{version:?}/shadow/update/delta");
        c.command(Command::Subscribe(vec![(topic.clone(), Qos::AtLeastOnce)]))
            .unwrap();
        wait_for(&mut c, "SUBACK", |e| matches!(e, Event::Subscribed { .. }));
        c.command(Command::Publish(Message::new(
            &topic,
            r#"{"version":1,"state":{}}"#,
            Qos::AtLeastOnce,
        )))
        .unwrap();
        // PUBACK and our own message may come in either order.
        let (mut acked, mut received) = (false, None);
        while !acked || received.is_none() {
            match wait_for(&mut c, "PUBACK and the message", |e| {
                matches!(e, Event::Acknowledged { .. } | Event::Received(_))
            }) {
                Event::Received(m) => received = Some(m),
                _ => acked = true,
            }
        }
        assert_eq!(
            received,
            Some(Message::new(
                &topic,
                r#"{"version":1,"state":{}}"#,
                Qos::AtLeastOnce
            ))
        );
    }
}

#[test]
fn no_local_keeps_our_own_publishes_from_coming_back() {
    let broker = Broker::start();
    let options = Options {
        no_local: true,
        ..Options::new("nl-1")
    };
    let mut c = TcpClient::connect(&broker.addr, options, Duration::from_secs(5)).unwrap();
    c.command(Command::Subscribe(vec![(
        "nl/topic".into(),
        Qos::AtLeastOnce,
    )]))
    .unwrap();
    wait_for(&mut c, "SUBACK", |e| matches!(e, Event::Subscribed { .. }));
    c.command(Command::Publish(Message::new(
        "nl/topic",
        "mine",
        Qos::AtLeastOnce,
    )))
    .unwrap();
    wait_for(&mut c, "PUBACK", |e| {
        matches!(e, Event::Acknowledged { .. })
    });
    let give_up = Instant::now() + Duration::from_millis(500);
    while Instant::now() < give_up {
        let e = c.next_event(Duration::from_millis(50)).unwrap();
        assert!(
            !matches!(e, Some(Event::Received(_))),
            "own publish came back: {e:?}"
        );
    }
}
